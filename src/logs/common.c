#include "logs/common.h"

#include <string.h>

#include "core/arn.h"
#include "core/json.h"
#include "core/xalloc.h"

int64_t logs_now_ms(const struct api_ctx *ctx)
{
    return (int64_t)(ctx->now * 1000.0);
}

char *logs_group_arn(const struct api_ctx *ctx, const char *name, bool with_star)
{
    return xasprintf("arn:aws:logs:%s:%s:log-group:%s%s", ctx->region, ctx->account, name,
                     with_star ? ":*" : "");
}

int logs_group_by_name(struct api_ctx *ctx, const char *name, struct store_log_group *ret,
                       struct wh_err *err)
{
    int r = store_log_group_get(ctx->st, ctx->account, ctx->region, name, ret, err);
    if (r == -ENOENT)
        return wh_err_set(err, 400, ERR_LOGS_NOT_FOUND, "The specified log group does not exist.");
    return r;
}

int logs_group_from_input(struct api_ctx *ctx, const json_t *in, struct store_log_group *ret,
                          struct wh_err *err)
{
    const char *name = json_str(in, "logGroupName");
    const char *ident = json_str(in, "logGroupIdentifier");
    if (name && ident)
        return api_invalid(err, "LogGroup name and LogGroup ARN are mutually exclusive "
                                "parameters.");
    if (!name && !ident)
        return api_invalid(err, "Either logGroupName or logGroupIdentifier must be specified.");
    if (ident && arn_looks_like(ident)) {
        struct arn a;
        if (arn_parse(ident, &a) < 0 || strcmp(a.service, "logs") != 0 ||
            strncmp(a.resource, "log-group:", 10) != 0)
            return api_invalid(err, "logGroupIdentifier '%s' is not a log group ARN", ident);
        if (strcmp(a.region, ctx->region) != 0 || strcmp(a.account, ctx->account) != 0)
            return wh_err_set(err, 400, ERR_LOGS_NOT_FOUND,
                              "The specified log group does not exist.");
        char *g = a.resource + 10;
        size_t n = strlen(g);
        if (n >= 2 && strcmp(g + n - 2, ":*") == 0)
            g[n - 2] = 0;
        return logs_group_by_name(ctx, g, ret, err);
    }
    return logs_group_by_name(ctx, name ? name : ident, ret, err);
}

int logs_stream_by_name(struct api_ctx *ctx, const struct store_log_group *g, const char *name,
                        struct store_log_stream *ret, struct wh_err *err)
{
    int r = store_log_stream_get(ctx->st, g->id, name, ret, err);
    if (r == -ENOENT)
        return wh_err_set(err, 400, ERR_LOGS_NOT_FOUND,
                          "The specified log stream does not exist.");
    return r;
}
