#include "agent/image_cache.h"

#include <stdlib.h>

#include "core/xalloc.h"

char *image_cache_image_for(struct layer_store *ls, const char *repo_digest)
{
    cleanup_free char *key = xasprintf("index:%s", repo_digest);
    char *d = layer_store_ref_get(ls, key);
    return d ? d : xstrdup(repo_digest);
}

bool image_cache_have(struct layer_store *ls, const char *digest)
{
    struct image_record rec;
    if (layer_store_image_get(ls, digest, &rec, NULL) < 0)
        return false;
    image_record_free(&rec);
    return true;
}

char *image_cache_lookup(struct layer_store *ls, const struct image_ref *ref,
                         const char *canonical, bool by_tag)
{
    cleanup_free char *repo = NULL;
    if (ref->digest) {
        repo = xstrdup(ref->digest);
    } else if (by_tag) {
        cleanup_free char *key = xasprintf("tag:%s", canonical);
        repo = layer_store_ref_get(ls, key);
    }
    if (!repo)
        return NULL;
    cleanup_free char *img = image_cache_image_for(ls, repo);
    return image_cache_have(ls, img) ? xasprintf("%s %s", repo, img) : NULL;
}
