/* Blob garbage collection and its thread. */
#include "registry/gc.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "registry/blobstore.h"
#include "registry/registry.h"
#include "registry/uploads.h"
#include "store/registry.h"

#define UPLOAD_TTL (24 * 3600.0)
#define BATCH 500

struct registry_gc {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
};

static int collect_blobs(struct wharf_app *app, double before, size_t *ret_n,
                         struct wh_err *err)
{
    struct registry *reg = app->registry;
    char **v = NULL;
    size_t n = 0, removed = 0;
    if (store_gc_blob_candidates(app->st, before, BATCH, &v, &n, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        struct registry_digest d;
        if (registry_digest_parse(v[i], &d) < 0)
            continue;
        blobstore_gc_lock(reg->bs, true);
        int r = store_gc_blob_forget(app->st, v[i], before, err);
        if (r == 0)
            r = blobstore_remove(reg->bs, &d);
        blobstore_gc_unlock(reg->bs);
        if (r == 0) {
            removed++;
            log_info("registry gc: removed blob %s", v[i]);
        } else if (r != -EBUSY) {
            log_warn("registry gc: blob %s: %s", v[i], wh_err_isset(err) ? err->msg : strerror(-r));
        }
    }
    store_strv_free(v, n);
    *ret_n = removed;
    return 0;
}

/* A blob file whose row never got written (kill -9 between rename and commit). */
static void orphan_check(struct wharf_app *app, const char *alg, const char *path,
                         const char *hex, double before, size_t *removed)
{
    struct stat stbuf;
    if (stat(path, &stbuf) < 0 || (double)stbuf.st_mtime >= before)
        return;
    cleanup_free char *digest = xasprintf("%s:%s", alg, hex);
    struct registry_digest d;
    if (registry_digest_parse(digest, &d) < 0)
        return;
    blobstore_gc_lock(app->registry->bs, true);
    if (store_blob_known(app->st, digest, NULL) == 0 &&
        blobstore_remove(app->registry->bs, &d) == 0) {
        (*removed)++;
        log_info("registry gc: removed orphan blob file %s", digest);
    }
    blobstore_gc_unlock(app->registry->bs);
}

static void collect_orphans(struct wharf_app *app, double before, size_t *ret_n)
{
    static const char *const algs[] = {"sha256", "sha512"};
    size_t removed = 0;
    for (size_t a = 0; a < ARRAY_SIZE(algs); a++) {
        cleanup_free char *root = xasprintf("%s/blobs/%s", app->cfg.data_dir, algs[a]);
        DIR *shards = opendir(root);
        if (!shards)
            continue;
        struct dirent *sd;
        while ((sd = readdir(shards))) {
            if (sd->d_name[0] == '.')
                continue;
            cleanup_free char *sdir = xasprintf("%s/%s", root, sd->d_name);
            DIR *files = opendir(sdir);
            if (!files)
                continue;
            struct dirent *fd;
            while ((fd = readdir(files))) {
                if (fd->d_name[0] == '.')
                    continue;
                cleanup_free char *path = xasprintf("%s/%s", sdir, fd->d_name);
                orphan_check(app, algs[a], path, fd->d_name, before, &removed);
            }
            closedir(files);
        }
        closedir(shards);
    }
    *ret_n = removed;
}

int registry_gc_run(struct wharf_app *app, double now, double grace,
                    struct registry_gc_stats *ret, struct wh_err *err)
{
    struct registry_gc_stats s = {0};
    int r = upload_reap(app->registry, app->st, now - UPLOAD_TTL, err);
    if (r < 0)
        return -1;
    s.uploads_reaped = (size_t)r;
    if (collect_blobs(app, now - grace, &s.blobs_removed, err) < 0)
        return -1;
    collect_orphans(app, now - grace, &s.orphans_removed);
    if (ret)
        *ret = s;
    return 0;
}

static void *gc_main(void *arg)
{
    struct wharf_app *app = arg;
    struct registry_gc *gc = app->registry->gc;
    double interval = app->cfg.registry_gc_interval;
    pthread_mutex_lock(&gc->lock);
    while (!gc->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        double t = (double)until.tv_sec + until.tv_nsec / 1e9 + interval;
        until.tv_sec = (time_t)t;
        until.tv_nsec = (long)((t - (double)until.tv_sec) * 1e9);
        pthread_cond_timedwait(&gc->cond, &gc->lock, &until);
        if (gc->stop)
            break;
        pthread_mutex_unlock(&gc->lock);
        struct wh_err err = {0};
        struct registry_gc_stats s;
        if (registry_gc_run(app, time_now(), app->cfg.registry_gc_grace, &s, &err) < 0)
            log_warn("registry gc: %s", err.msg);
        else if (s.blobs_removed || s.orphans_removed || s.uploads_reaped)
            log_info("registry gc: %zu blobs, %zu orphan files, %zu abandoned uploads removed",
                     s.blobs_removed, s.orphans_removed, s.uploads_reaped);
        pthread_mutex_lock(&gc->lock);
    }
    pthread_mutex_unlock(&gc->lock);
    return NULL;
}

int registry_gc_start(struct wharf_app *app)
{
    if (app->cfg.registry_gc_interval <= 0)
        return 0;
    struct registry_gc *gc = xcalloc(1, sizeof(*gc));
    pthread_mutex_init(&gc->lock, NULL);
    pthread_cond_init(&gc->cond, NULL);
    app->registry->gc = gc;
    int r = pthread_create(&gc->thread, NULL, gc_main, app);
    if (r != 0) {
        log_error("registry gc: cannot start its thread: %s", strerror(r));
        app->registry->gc = NULL;
        free(gc);
        return -r;
    }
    return 0;
}

void registry_gc_stop(struct wharf_app *app)
{
    struct registry_gc *gc = app->registry ? app->registry->gc : NULL;
    if (!gc)
        return;
    pthread_mutex_lock(&gc->lock);
    gc->stop = true;
    pthread_cond_signal(&gc->cond);
    pthread_mutex_unlock(&gc->lock);
    pthread_join(gc->thread, NULL);
    pthread_cond_destroy(&gc->cond);
    pthread_mutex_destroy(&gc->lock);
    free(gc);
    app->registry->gc = NULL;
}
