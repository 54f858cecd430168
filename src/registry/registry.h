/* The OCI Distribution v1.1 registry under /v2/: what it holds open while wharfd runs, and its
 * HTTP route. The request pipeline is routes.c; each endpoint family has its own file
 * (blobs.c, uploads_http.c, manifests.c, tags.c, referrers.c, auth.c). */
#pragma once
#include <stdint.h>

#include "core/err.h"
#include "http/server.h"
#include "registry/token.h"

struct wharf_config;
struct blobstore;
struct upload_table;
struct registry_gc;

struct registry {
    struct blobstore *bs;
    struct upload_table *uploads;
    uint8_t token_key[REGISTRY_TOKEN_KEY_LEN];
    struct registry_gc *gc; /* registry/gc.h; NULL when not running */
};

/* Open the blob store under cfg->data_dir, load (or make) the token key. */
int registry_open(const struct wharf_config *cfg, struct registry **ret_reg, struct wh_err *err);
void registry_close(struct registry *reg);
const uint8_t *registry_token_key(const struct registry *reg);

/* Every /v2/ request. */
extern const struct http_route registry_route;
