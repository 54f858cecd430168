/* Shared by the Logs handlers: looking up a group or stream named by a request, ARNs. */
#pragma once
#include <jansson.h>

#include "aws/api.h"
#include "store/logs.h"

#define ERR_LOGS_NOT_FOUND "ResourceNotFoundException"

/* The group named by in's logGroupName or logGroupIdentifier (a name or an ARN). */
int logs_group_from_input(struct api_ctx *ctx, const json_t *in, struct store_log_group *ret,
                          struct wh_err *err);
int logs_group_by_name(struct api_ctx *ctx, const char *name, struct store_log_group *ret,
                       struct wh_err *err);
int logs_stream_by_name(struct api_ctx *ctx, const struct store_log_group *g, const char *name,
                        struct store_log_stream *ret, struct wh_err *err);
/* arn:aws:logs:REGION:ACCOUNT:log-group:NAME (with_star: the ":*" form the "arn" field uses). */
char *logs_group_arn(const struct api_ctx *ctx, const char *name, bool with_star);
int64_t logs_now_ms(const struct api_ctx *ctx);
