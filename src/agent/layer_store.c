#include "agent/layer_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/flight.h"
#include "agent/layer_store_internal.h"
#include "agent/image_ref.h"
#include "agent/rmtree.h"
#include "core/crypto.h"
#include "core/fsutil.h"
#include "core/json.h"
#include "core/xalloc.h"

#define RECORD_MAX (64u << 20)


int ls_io_err(struct wh_err *err, const char *what, const char *path, int e)
{
    return wh_err_set(err, 500, PULL_ERR, "cannot %s %s: %s", what, path, strerror(e));
}

/* What a crash mid-pull leaves: unpacks not renamed into place, downloads not finished.
 * Nobody else uses the store while it is being opened. */
static void sweep(const char *dir)
{
    static const char *const subdirs[] = {"layers", "tmp"};
    for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
        cleanup_free char *sub = xasprintf("%s/%s", dir, subdirs[i]);
        DIR *d = opendir(sub);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            bool tmp = i == 1 ? de->d_name[0] != '.' : strncmp(de->d_name, ".tmp-", 5) == 0;
            if (tmp) {
                cleanup_free char *p = xasprintf("%s/%s", sub, de->d_name);
                rmtree(p);
            }
        }
        if (d)
            closedir(d);
    }
}

int layer_store_open(const struct layer_store_opts *o, struct layer_store **ret,
                     struct wh_err *err)
{
    static const char *const subdirs[] = {"layers", "images", "refs", "tmp", "locks"};
    int r = fs_mkdir_p(o->dir, 0700);
    if (r < 0)
        return ls_io_err(err, "create", o->dir, -r);
    char real[PATH_MAX];
    if (!realpath(o->dir, real))
        return ls_io_err(err, "resolve", o->dir, errno);
    for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
        cleanup_free char *p = xasprintf("%s/%s", real, subdirs[i]);
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            return ls_io_err(err, "create", p, errno);
    }
    if (!o->no_sweep)
        sweep(real);
    struct layer_store *ls = xcalloc(1, sizeof(*ls));
    ls->dir = xstrdup(real);
    ls->unpack = o->unpack;
    ls->no_sync = o->no_sync;
    flight_group_init(&ls->layers);
    pthread_mutex_init(&ls->mu, NULL);
    *ret = ls;
    return 0;
}

void layer_store_close(struct layer_store *ls)
{
    if (!ls)
        return;
    flight_group_destroy(&ls->layers);
    pthread_mutex_destroy(&ls->mu);
    free(ls->dir);
    free(ls);
}

const char *layer_store_dir(const struct layer_store *ls)
{
    return ls->dir;
}

void layer_store_stats(struct layer_store *ls, struct layer_store_stats *ret)
{
    pthread_mutex_lock(&ls->mu);
    *ret = ls->stats;
    pthread_mutex_unlock(&ls->mu);
}

void ls_layer_id(const char *digest, char out[LAYER_ID_LEN + 1])
{
    const char *hex = strchr(digest, ':');
    snprintf(out, LAYER_ID_LEN + 1, "%s", hex ? hex + 1 : digest);
}

/* A JSON file we wrote; NULL when absent or unreadable (errno-style code in *ret_r). */
static json_t *read_json(const char *path, int *ret_r)
{
    cleanup_free char *data = NULL;
    size_t len;
    int r = fs_read_file(path, RECORD_MAX, &data, &len);
    if (r < 0) {
        *ret_r = r;
        return NULL;
    }
    json_t *j = json_loadb(data, len, 0, NULL);
    *ret_r = j ? 0 : -EBADMSG;
    return j;
}

int ls_write_json(const char *path, json_t *j)
{
    cleanup_free char *text = json_dumps(j, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    return fs_write_atomic(path, text, strlen(text), 0600);
}

/* 1: the layer is complete; 0: it is not; -1: its id is taken by another digest. */
int ls_layer_state(struct layer_store *ls, const char *id, const char *digest,
                       struct wh_err *err)
{
    cleanup_free char *rec = xasprintf("%s/layers/%s.json", ls->dir, id);
    int r;
    json_auto_t *j = read_json(rec, &r);
    if (!j)
        return 0;
    const char *have = json_str(j, "digest");
    if (!have || strcmp(have, digest) != 0)
        return wh_err_set(err, 500, PULL_ERR, "layer %s: its short id %s is taken by layer %s",
                          digest, id, have ? have : "(unknown)");
    cleanup_free char *dir = xasprintf("%s/layers/%s", ls->dir, id);
    struct stat st;
    if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return 1;
    unlink(rec); /* a record without its directory: someone removed it by hand */
    return 0;
}

char *layer_store_layer_dir(struct layer_store *ls, const char *digest)
{
    char id[LAYER_ID_LEN + 1];
    ls_layer_id(digest, id);
    if (ls_layer_state(ls, id, digest, NULL) != 1)
        return NULL;
    return xasprintf("%s/layers/%s", ls->dir, id);
}

/* ---- image records ------------------------------------------------------------------- */

static char *image_path(struct layer_store *ls, const char *digest)
{
    return xasprintf("%s/images/%s.json", ls->dir, digest);
}

int layer_store_image_put(struct layer_store *ls, const struct image_record *rec,
                          struct wh_err *err)
{
    if (!image_digest_valid(rec->digest))
        return wh_err_set(err, 500, PULL_ERR, "image digest '%s' is not valid", rec->digest);
    json_t *cfg = json_loads(rec->config_json, 0, NULL);
    if (!cfg)
        return wh_err_set(err, 500, PULL_ERR, "image %s: config is not JSON", rec->digest);
    json_t *layers = json_array();
    for (size_t i = 0; i < rec->n_layers; i++) {
        const struct image_layer *l = &rec->layers[i];
        json_array_append_new(layers, json_pack("{s:s, s:s?, s:s?, s:I}", "digest", l->digest,
                                                "diffID", l->diff_id, "mediaType", l->media_type,
                                                "size", (json_int_t)l->size));
    }
    json_auto_t *j = json_pack("{s:s, s:s?, s:s, s:o, s:o, s:f}", "digest", rec->digest,
                               "mediaType", rec->media_type, "configDigest", rec->config_digest,
                               "layers", layers, "config", cfg, "pulledAt", (double)time(NULL));
    cleanup_free char *path = image_path(ls, rec->digest);
    int r = ls_write_json(path, j);
    return r < 0 ? ls_io_err(err, "write", path, -r) : 0;
}

static char *dup_str(const json_t *o, const char *key)
{
    const char *s = json_str(o, key);
    return s ? xstrdup(s) : NULL;
}

static int record_from_json(const json_t *j, struct image_record *r)
{
    json_t *layers = json_object_get(j, "layers");
    json_t *cfg = json_object_get(j, "config");
    if (!json_str(j, "digest") || !json_str(j, "configDigest") || !json_is_array(layers) ||
        !json_is_object(cfg))
        return -1;
    *r = (struct image_record){
        .digest = dup_str(j, "digest"),
        .media_type = dup_str(j, "mediaType"),
        .config_digest = dup_str(j, "configDigest"),
        .config_json = json_dumps(cfg, JSON_COMPACT | JSON_PRESERVE_ORDER),
        .layers = xcalloc(json_array_size(layers) + 1, sizeof(*r->layers)),
    };
    size_t i;
    json_t *l;
    json_array_foreach(layers, i, l) {
        if (!json_str(l, "digest") || !image_digest_valid(json_str(l, "digest"))) {
            image_record_free(r);
            return -1;
        }
        r->layers[i] = (struct image_layer){
            .digest = dup_str(l, "digest"),
            .diff_id = dup_str(l, "diffID"),
            .media_type = dup_str(l, "mediaType"),
            .size = json_int(l, "size", 0),
        };
        r->n_layers++;
    }
    return 0;
}

int layer_store_image_get(struct layer_store *ls, const char *digest, struct image_record *ret,
                          struct wh_err *err)
{
    if (!image_digest_valid(digest))
        return -ENOENT;
    cleanup_free char *path = image_path(ls, digest);
    int r;
    json_auto_t *j = read_json(path, &r);
    if (!j)
        return r == -ENOENT ? -ENOENT
                            : wh_err_set(err, 500, PULL_ERR, "image record %s is damaged: %s",
                                         path, strerror(-r));
    struct image_record rec;
    if (record_from_json(j, &rec) < 0)
        return wh_err_set(err, 500, PULL_ERR, "image record %s is damaged", path);
    for (size_t i = 0; i < rec.n_layers; i++) {
        char id[LAYER_ID_LEN + 1];
        ls_layer_id(rec.layers[i].digest, id);
        if (ls_layer_state(ls, id, rec.layers[i].digest, NULL) != 1) {
            image_record_free(&rec);
            return -ENOENT;
        }
    }
    utimensat(AT_FDCWD, path, NULL, 0);
    *ret = rec;
    return 0;
}

void image_record_free(struct image_record *r)
{
    if (!r)
        return;
    free(r->digest);
    free(r->media_type);
    free(r->config_digest);
    free(r->config_json);
    for (size_t i = 0; i < r->n_layers; i++) {
        free(r->layers[i].digest);
        free(r->layers[i].diff_id);
        free(r->layers[i].media_type);
    }
    free(r->layers);
    *r = (struct image_record){0};
}

/* ---- reference cache ----------------------------------------------------------------- */

static char *ref_path(struct layer_store *ls, const char *key)
{
    char hex[SHA256_HEX_LEN + 1];
    sha256_hex(key, strlen(key), hex);
    return xasprintf("%s/refs/%s", ls->dir, hex);
}

int layer_store_ref_put(struct layer_store *ls, const char *key, const char *digest)
{
    json_auto_t *j = json_pack("{s:s, s:s}", "key", key, "digest", digest);
    cleanup_free char *path = ref_path(ls, key);
    return ls_write_json(path, j);
}

char *layer_store_ref_get(struct layer_store *ls, const char *key)
{
    cleanup_free char *path = ref_path(ls, key);
    int r;
    json_auto_t *j = read_json(path, &r);
    const char *k = json_str(j, "key"), *d = json_str(j, "digest");
    if (!k || !d || strcmp(k, key) != 0 || !image_digest_valid(d))
        return NULL;
    return xstrdup(d);
}

/* ---- garbage collection -------------------------------------------------------------- */

struct strset {
    char **v;
    size_t n, cap;
};

static void strset_add(struct strset *s, const char *x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = xstrdup(x);
}

static bool strset_has(const struct strset *s, const char *x)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], x) == 0)
            return true;
    return false;
}

static void strset_free(struct strset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

static bool listed(const char *const *keep, size_t n, const char *digest)
{
    for (size_t i = 0; i < n; i++)
        if (keep[i] && strcmp(keep[i], digest) == 0)
            return true;
    return false;
}

/* Pass 1: drop unwanted image records; collect the layer ids the others need. */
static int gc_images(struct layer_store *ls, const char *const *keep, size_t n_keep,
                     int64_t min_age_s, struct strset *need, struct strset *images,
                     struct layer_store_gc_stats *st)
{
    cleanup_free char *dir = xasprintf("%s/images", ls->dir);
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        cleanup_free char *path = xasprintf("%s/%s", dir, de->d_name);
        if (strstr(de->d_name, ".tmp-") && unlink(path) == 0) /* an unfinished record write */
            st->leftovers_removed++;
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        cleanup_free char *digest = xstrndup(de->d_name, n - 5);
        struct stat sb;
        int r;
        json_auto_t *j = read_json(path, &r);
        struct image_record rec;
        bool ok = j && image_digest_valid(digest) && record_from_json(j, &rec) == 0;
        bool young = stat(path, &sb) == 0 && now - sb.st_mtime < min_age_s;
        if (ok && (listed(keep, n_keep, digest) || young)) {
            strset_add(images, digest);
            for (size_t i = 0; i < rec.n_layers; i++) {
                char id[LAYER_ID_LEN + 1];
                ls_layer_id(rec.layers[i].digest, id);
                strset_add(need, id);
            }
        } else if (unlink(path) == 0) {
            st->images_removed++;
        }
        if (ok)
            image_record_free(&rec);
    }
    closedir(d);
    return 0;
}

/* Pass 2: layers no kept image needs, and leftovers of interrupted unpacks. */
static int gc_layers(struct layer_store *ls, const struct strset *need,
                     struct layer_store_gc_stats *st)
{
    cleanup_free char *dir = xasprintf("%s/layers", ls->dir);
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int ret = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
            continue;
        cleanup_free char *path = xasprintf("%s/%s", dir, n);
        size_t len = strlen(n);
        if (n[0] == '.') { /* .tmp-*: an unpack that never finished */
            if (rmtree(path) == 0)
                st->leftovers_removed++;
            continue;
        }
        if (len == LAYER_ID_LEN + 5 && strcmp(n + LAYER_ID_LEN, ".json") == 0) {
            cleanup_free char *id = xstrndup(n, LAYER_ID_LEN);
            if (strset_has(need, id))
                continue;
            /* Record first: from here on the layer is incomplete, whatever happens next. */
            cleanup_free char *ldir = xasprintf("%s/%s", dir, id);
            if (unlink(path) == 0) {
                int r = rmtree(ldir);
                if (r < 0 && !ret)
                    ret = r;
                st->layers_removed++;
            }
            continue;
        }
        if (len == LAYER_ID_LEN && !strset_has(need, n)) {
            cleanup_free char *rec = xasprintf("%s.json", path);
            if (access(rec, F_OK) < 0 && rmtree(path) == 0)
                st->leftovers_removed++;
        } else if (strstr(n, ".tmp-") && unlink(path) == 0) { /* an unfinished record write */
            st->leftovers_removed++;
        }
    }
    closedir(d);
    return ret;
}

/* Pass 3: refs to removed images, and downloads that never finished. */
static void gc_refs_and_tmp(struct layer_store *ls, const struct strset *images,
                            struct layer_store_gc_stats *st)
{
    cleanup_free char *refs = xasprintf("%s/refs", ls->dir);
    DIR *d = opendir(refs);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        cleanup_free char *path = xasprintf("%s/%s", refs, de->d_name);
        int r;
        json_auto_t *j = read_json(path, &r);
        const char *digest = json_str(j, "digest");
        if ((!digest || !strset_has(images, digest)) && unlink(path) == 0)
            st->refs_removed++;
    }
    if (d)
        closedir(d);
    cleanup_free char *tmp = xasprintf("%s/tmp", ls->dir);
    d = opendir(tmp);
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        cleanup_free char *path = xasprintf("%s/%s", tmp, de->d_name);
        if (rmtree(path) == 0)
            st->leftovers_removed++;
    }
    if (d)
        closedir(d);
}

/* Pass 4: the lock files of layers no longer here. No pull helper runs during GC (images.c
 * holds them off), so nobody holds or waits on these. Not counted: they are bookkeeping. */
static void gc_locks(struct layer_store *ls)
{
    cleanup_free char *locks = xasprintf("%s/locks", ls->dir);
    DIR *d = opendir(locks);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        cleanup_free char *rec = xasprintf("%s/layers/%s.json", ls->dir, de->d_name);
        if (access(rec, F_OK) < 0 && errno == ENOENT)
            unlinkat(dirfd(d), de->d_name, 0);
    }
    if (d)
        closedir(d);
}

int layer_store_gc(struct layer_store *ls, const char *const *keep, size_t n_keep,
                   int64_t min_age_s, struct layer_store_gc_stats *ret, struct wh_err *err)
{
    struct layer_store_gc_stats st = {0};
    struct strset need = {0}, images = {0};
    int r = gc_images(ls, keep, n_keep, min_age_s, &need, &images, &st);
    if (r == 0)
        r = gc_layers(ls, &need, &st);
    if (r == 0) {
        gc_refs_and_tmp(ls, &images, &st);
        gc_locks(ls);
    }
    strset_free(&need);
    strset_free(&images);
    if (r < 0)
        return wh_err_set(err, 500, "ServerException", "image GC in %s: %s", ls->dir,
                          strerror(-r));
    if (ret)
        *ret = st;
    return 0;
}
