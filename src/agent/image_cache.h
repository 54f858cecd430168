/* Answering a pull from the layer store alone (no registry): shared by the agent, which
 * tries it before starting a pull helper, and the helper, which falls back on it when the
 * registry cannot be asked. Reads only; no network, no unpacking. */
#pragma once
#include <stdbool.h>

#include "agent/image_ref.h"
#include "agent/layer_store.h"

/* True when the image (manifest digest) and all its layers are here. */
bool image_cache_have(struct layer_store *ls, const char *digest);
/* The image digest a repo digest stands for (an index → its platform manifest; otherwise
 * itself). New string. */
char *image_cache_image_for(struct layer_store *ls, const char *repo_digest);
/* "<repo digest> <image digest>" (new string) when the reference pins a digest, or (with
 * by_tag) when the tag's last resolution is recorded, and that image is here; else NULL.
 * canonical: image_ref_string(ref). */
char *image_cache_lookup(struct layer_store *ls, const struct image_ref *ref,
                         const char *canonical, bool by_tag);
