/* Fetching and unpacking layers into the store (the half of layer_store.h that needs
 * libarchive, linked by the pull helper only). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/image_ref.h"
#include "agent/layer_store_internal.h"
#include "agent/rmtree.h"
#include "agent/unpack.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/xalloc.h"

struct ensure {
    struct layer_store *ls;
    const struct layer_desc *d;
    layer_fetch_fn fetch;
    void *arg;
    const char *id;
};

static int commit_layer(struct layer_store *ls, const struct layer_desc *d, const char *id,
                        const char *tmpdir, struct wh_err *err)
{
    if (!ls->no_sync) {
        int fd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || syncfs(fd) < 0) {
            int e = errno;
            if (fd >= 0)
                close(fd);
            return ls_io_err(err, "sync", tmpdir, e);
        }
        close(fd);
    }
    cleanup_free char *final = xasprintf("%s/layers/%s", ls->dir, id);
    if (rename(tmpdir, final) < 0)
        return ls_io_err(err, "rename into", final, errno);
    json_auto_t *rec = json_pack("{s:s, s:s?, s:s?, s:I, s:f}", "digest", d->digest, "diffID",
                                 d->diff_id, "mediaType", d->media_type, "size",
                                 (json_int_t)d->size, "unpackedAt", (double)time(NULL));
    cleanup_free char *path = xasprintf("%s/layers/%s.json", ls->dir, id);
    int r = ls_write_json(path, rec);
    if (r < 0) {
        rmtree(final);
        return ls_io_err(err, "write", path, -r);
    }
    return 0;
}

/* Hold DIR/locks/<id> while a layer is made: pull helpers are separate processes, and two
 * pulling images that share a layer must not both unpack it (or remove a directory the other
 * has just renamed into place). The kernel drops the lock when a holder dies. */
static int lock_layer(struct layer_store *ls, const char *id, struct wh_err *err)
{
    cleanup_free char *path = xasprintf("%s/locks/%s", ls->dir, id);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return ls_io_err(err, "open", path, errno);
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            return ls_io_err(err, "lock", path, e);
        }
    }
    return fd;
}

static int ensure_locked(struct ensure *e, char **ret_value, struct wh_err *err)
{
    struct layer_store *ls = e->ls;
    int st = ls_layer_state(ls, e->id, e->d->digest, err);
    if (st != 0)
        return st < 0 ? -1 : 0;
    /* A directory without a record is what a crash between rename and record leaves. */
    cleanup_free char *final = xasprintf("%s/layers/%s", ls->dir, e->id);
    rmtree(final);

    char rnd[17];
    random_hex(rnd, 16);
    cleanup_free char *blob = xasprintf("%s/tmp/%s-%s", ls->dir, e->id, rnd);
    if (e->fetch(e->arg, e->d, blob, err) < 0)
        return -1;
    cleanup_free char *tmpdir = xasprintf("%s/layers/.tmp-%s-%s", ls->dir, e->id, rnd);
    if (mkdir(tmpdir, 0755) < 0) {
        int en = errno;
        unlink(blob);
        return ls_io_err(err, "create", tmpdir, en);
    }
    struct unpack_opts uo = ls->unpack;
    cleanup_free char *what = xasprintf("layer %s", e->d->digest);
    uo.what = what;
    struct unpack_stats us;
    int r = unpack_layer(blob, tmpdir, &uo, &us, err);
    unlink(blob);
    if (r < 0)
        wh_err_prefix(err, "failed to extract ");
    if (r == 0)
        r = commit_layer(ls, e->d, e->id, tmpdir, err);
    if (r < 0) {
        rmtree(tmpdir);
        return -1;
    }
    pthread_mutex_lock(&ls->mu);
    ls->stats.unpacks++;
    ls->stats.bytes += us.bytes;
    pthread_mutex_unlock(&ls->mu);
    *ret_value = xstrdup("fresh");
    return 0;
}

static int ensure_run(void *arg, char **ret_value, struct wh_err *err)
{
    struct ensure *e = arg;
    int fd = lock_layer(e->ls, e->id, err);
    if (fd < 0)
        return -1;
    int r = ensure_locked(e, ret_value, err);
    close(fd);
    return r;
}

int layer_store_ensure(struct layer_store *ls, const struct layer_desc *d, layer_fetch_fn fetch,
                       void *arg, char **ret_dir, bool *ret_fresh, struct wh_err *err)
{
    if (!image_digest_valid(d->digest))
        return wh_err_set(err, 500, PULL_ERR, "layer digest '%s' is not valid", d->digest);
    char id[LAYER_ID_LEN + 1];
    ls_layer_id(d->digest, id);
    struct ensure e = {ls, d, fetch, arg, id};
    cleanup_free char *fresh = NULL;
    /* Keyed by the short id: two digests sharing one would also be serialized, and the
     * second finds the collision instead of racing on the directory. */
    if (flight_do(&ls->layers, id, ensure_run, &e, &fresh, NULL, err) < 0)
        return -1;
    if (!fresh) {
        pthread_mutex_lock(&ls->mu);
        ls->stats.hits++;
        pthread_mutex_unlock(&ls->mu);
    }
    if (ret_fresh)
        *ret_fresh = fresh != NULL;
    *ret_dir = xasprintf("%s/layers/%s", ls->dir, id);
    return 0;
}
