/* Log streams: create, delete, describe. */
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/page.h"
#include "core/xalloc.h"
#include "logs/common.h"
#include "logs/handlers.h"

static json_t *stream_to_json(struct api_ctx *ctx, const struct store_log_group *g,
                              const struct store_log_stream *s)
{
    cleanup_free char *arn = xasprintf("arn:aws:logs:%s:%s:log-group:%s:log-stream:%s",
                                       ctx->region, ctx->account, g->name, s->name);
    json_t *j = json_pack("{s:s, s:I, s:s, s:I}", "logStreamName", s->name, "creationTime",
                          (json_int_t)s->created_at, "arn", arn, "storedBytes",
                          (json_int_t)s->stored_bytes);
    if (s->last_ingestion) {
        json_object_set_new(j, "firstEventTimestamp", json_integer(s->first_event));
        json_object_set_new(j, "lastEventTimestamp", json_integer(s->last_event));
        json_object_set_new(j, "lastIngestionTime", json_integer(s->last_ingestion));
        char tok[32];
        snprintf(tok, sizeof(tok), "%020lld", (long long)s->next_seq);
        json_object_set_new(j, "uploadSequenceToken", json_string(tok));
    }
    return j;
}

int logs_create_log_stream(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_log_group struct store_log_group g = {0};
    int r = logs_group_by_name(ctx, json_str(in, "logGroupName"), &g, err);
    if (r < 0)
        return r;
    r = store_log_stream_create(ctx->st, g.id, json_str(in, "logStreamName"), logs_now_ms(ctx), err);
    if (r == -EEXIST)
        return wh_err_set(err, 400, "ResourceAlreadyExistsException",
                          "The specified log stream already exists");
    if (r < 0)
        return r;
    *ret_out = json_object();
    return 0;
}

int logs_delete_log_stream(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_log_group struct store_log_group g = {0};
    cleanup_log_stream struct store_log_stream s = {0};
    int r = logs_group_by_name(ctx, json_str(in, "logGroupName"), &g, err);
    if (r < 0 || (r = logs_stream_by_name(ctx, &g, json_str(in, "logStreamName"), &s, err)) < 0 ||
        (r = store_log_stream_delete(ctx->st, s.id, err)) < 0)
        return r;
    *ret_out = json_object();
    return 0;
}

int logs_describe_log_streams(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                              struct wh_err *err)
{
    const char *order_s = json_str(in, "orderBy");
    bool by_time = order_s && strcmp(order_s, "LastEventTime") == 0;
    const char *prefix = json_str(in, "logStreamNamePrefix");
    if (by_time && prefix)
        return api_invalid(err, "Cannot order by LastEventTime with a logStreamNamePrefix.");
    cleanup_log_group struct store_log_group g = {0};
    int r = logs_group_from_input(ctx, in, &g, err);
    if (r < 0)
        return r;
    int64_t limit = json_int(in, "limit", 50);
    cleanup_free char *after = NULL;
    const char *tok = json_str(in, "nextToken");
    if (tok && page_token_decode(tok, &after) < 0)
        return api_invalid(err, "The specified nextToken is invalid.");
    struct store_log_stream *v = NULL;
    size_t n = 0;
    r = store_log_streams_list(ctx->st, g.id, prefix,
                               by_time ? STORE_LOG_BY_LAST_EVENT : STORE_LOG_BY_NAME,
                               json_bool(in, "descending", false), after, (unsigned)limit + 1, &v,
                               &n, err);
    if (r < 0)
        return r;
    json_t *arr = json_array();
    for (size_t i = 0; i < n && (int64_t)i < limit; i++)
        json_array_append_new(arr, stream_to_json(ctx, &g, &v[i]));
    json_t *out = json_pack("{s:o}", "logStreams", arr);
    if ((int64_t)n > limit) {
        const struct store_log_stream *last = &v[limit - 1];
        cleanup_free char *key = by_time ? xasprintf("%lld/%lld", (long long)last->last_event,
                                                     (long long)last->id)
                                         : xstrdup(last->name);
        cleanup_free char *t = page_token_encode(key);
        json_object_set_new(out, "nextToken", json_string(t));
    }
    store_log_streams_free(v, n);
    *ret_out = out;
    return 0;
}
