/* GetAuthorizationToken: the password of `aws ecr get-login-password`, issued by the registry
 * (registry/token.h) for the caller's account, region and access key; valid 12 hours. */
#include <string.h>

#include "core/json.h"
#include "core/xalloc.h"
#include "ecr/common.h"
#include "ecr/handlers.h"
#include "ecr/uri.h"
#include "registry/token.h"

int ecr_get_authorization_token(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                struct wh_err *err)
{
    const json_t *ids = json_arr(in, "registryIds");
    size_t i;
    const json_t *id;
    json_array_foreach(ids, i, id) {
        if (strcmp(json_string_value(id), ctx->account) != 0)
            return api_invalid(err,
                               "registryIds[%zu] '%s' is not this registry: wharf serves "
                               "the registry of account %s",
                               i, json_string_value(id), ctx->account);
    }
    double expires = 0;
    cleanup_free char *token = registry_token_issue(ctx->app, ctx->account, ctx->region,
                                                    ctx->access_key, ctx->now, &expires);
    cleanup_free char *host = ecr_registry_host(ctx->cfg, ctx->account, ctx->region);
    cleanup_free char *endpoint = xasprintf("http://%s", host);
    json_t *entry = json_pack("{s:s, s:o, s:s}", "authorizationToken", token, "expiresAt",
                              json_timestamp(expires), "proxyEndpoint", endpoint);
    *ret_out = json_pack("{s:[o]}", "authorizationData", entry);
    return 0;
}
