/* The host's image store: unpacked layers shared by all images, image records, and a small
 * reference cache. On disk, under DIR:
 *
 *   layers/<id>/        a layer unpacked (an overlayfs lowerdir); <id> = the first 12 hex
 *                       digits of the blob digest, short so that many lowerdirs fit in one
 *                       mount option
 *   layers/<id>.json    its record: digest, diffID, size, mediaType. A layer is complete
 *                       exactly when its record exists: layers are unpacked into
 *                       layers/.tmp-<id>-<rand>/, synced, renamed into place, and only then
 *                       is the record written (atomically), so a crash never leaves a
 *                       half-unpacked layer that looks complete
 *   images/<digest>.json image records: manifest digest, config digest, layers in order, the
 *                       image config JSON. The file's mtime is the image's last use
 *   refs/<sha256 of key> what a reference (tag or index digest) last resolved to
 *   tmp/                blobs being downloaded
 *   locks/<id>          flock()ed while layer <id> is being made (layer_fetch.c)
 *
 * One owner process per store directory (the agent: opening it sweeps what a crash left
 * behind); pull helpers open it with no_sweep while the owner runs them. Thread-safe.
 * Concurrent layer_store_ensure() calls for the same layer, in one process or several,
 * unpack it once (the others wait for the first). layer_store_gc() must not run concurrently with ensure/put of
 * the images it could remove: images.c serializes them with a read-write lock. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/unpack.h"
#include "core/err.h"

#define LAYER_ID_LEN 12

struct layer_store;

struct layer_store_opts {
    const char *dir;           /* created if missing (mode 0700) */
    struct unpack_opts unpack; /* .what is filled per layer */
    bool no_sync;              /* skip syncfs before committing a layer (tests) */
    bool no_sweep;             /* not the owner: leave tmp/ and layers/.tmp-* alone */
};

int layer_store_open(const struct layer_store_opts *o, struct layer_store **ret,
                     struct wh_err *err);
void layer_store_close(struct layer_store *ls);
/* The absolute store directory. */
const char *layer_store_dir(const struct layer_store *ls);

struct layer_desc {
    const char *digest;     /* blob digest (compressed), the layer's identity here */
    const char *diff_id;    /* uncompressed digest from the image config (recorded) */
    const char *media_type;
    int64_t size;
};

/* Download a layer blob into a new file at path (the store picks path in its tmp/). */
typedef int (*layer_fetch_fn)(void *arg, const struct layer_desc *d, const char *path,
                              struct wh_err *err);

/* Make sure the layer is unpacked, fetching and unpacking it if it is not; returns its
 * directory (new string). In layer_fetch.c: only the pull helper links it. ret_fresh (may be NULL): true when this call (or the one it waited
 * for) unpacked it. */
int layer_store_ensure(struct layer_store *ls, const struct layer_desc *d, layer_fetch_fn fetch,
                       void *arg, char **ret_dir, bool *ret_fresh, struct wh_err *err);
/* The directory of a complete layer (new string), or NULL. */
char *layer_store_layer_dir(struct layer_store *ls, const char *digest);

struct image_record {
    char *digest;        /* image manifest digest */
    char *media_type;    /* of the manifest */
    char *config_digest; /* the image id */
    char *config_json;   /* the image config, as pulled */
    struct image_layer {
        char *digest, *diff_id, *media_type;
        int64_t size;
    } *layers; /* bottom → top */
    size_t n_layers;
};

/* Write (replace) an image record; its layers must be complete. */
int layer_store_image_put(struct layer_store *ls, const struct image_record *rec,
                          struct wh_err *err);
/* Read an image record whose layers are all complete: 0, -ENOENT (absent, or a layer is
 * missing), or -1 with err filled for a damaged record. Marks the image used (mtime). */
int layer_store_image_get(struct layer_store *ls, const char *digest, struct image_record *ret,
                          struct wh_err *err);
void image_record_free(struct image_record *r);

/* The reference cache: key (a canonical reference, or "index:<digest>") → image digest. */
int layer_store_ref_put(struct layer_store *ls, const char *key, const char *digest);
char *layer_store_ref_get(struct layer_store *ls, const char *key);

struct layer_store_gc_stats {
    unsigned images_removed, layers_removed, refs_removed, leftovers_removed;
};

/* Remove the images not in keep[] (manifest digests) last used more than min_age_s seconds
 * ago, then every layer no remaining image needs, stale refs, and leftovers of interrupted
 * pulls (tmp/, layers/.tmp-*, layer directories without a record), and the lock files of
 * layers gone. */
int layer_store_gc(struct layer_store *ls, const char *const *keep, size_t n_keep,
                   int64_t min_age_s, struct layer_store_gc_stats *ret, struct wh_err *err);

struct layer_store_stats {
    uint64_t unpacks;    /* layers fetched and unpacked */
    uint64_t hits;       /* ensure() found the layer already there */
    uint64_t bytes;      /* file bytes unpacked */
};
void layer_store_stats(struct layer_store *ls, struct layer_store_stats *ret);
