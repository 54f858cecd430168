/* DescribeRegistry: the account's registry; wharf does not replicate, so no rules. */
#include "core/json.h"
#include "ecr/handlers.h"

int ecr_describe_registry(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    (void)in;
    (void)err;
    *ret_out = json_pack("{s:s, s:{s:[]}}", "registryId", ctx->account, "replicationConfiguration",
                         "rules");
    return 0;
}
