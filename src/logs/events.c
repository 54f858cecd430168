/* Log events: PutLogEvents, GetLogEvents, FilterLogEvents. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/page.h"
#include "core/xalloc.h"
#include "logs/common.h"
#include "logs/handlers.h"
#include "logs/render.h"
#include "logs/rules.h"

#define MAX_RESPONSE_BYTES (1u << 20)

int logs_put_log_events(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_log_group struct store_log_group g = {0};
    cleanup_log_stream struct store_log_stream s = {0};
    int r = logs_group_by_name(ctx, json_str(in, "logGroupName"), &g, err);
    if (r < 0 || (r = logs_stream_by_name(ctx, &g, json_str(in, "logStreamName"), &s, err)) < 0)
        return r;
    json_t *events = json_object_get(in, "logEvents");
    size_t n = json_array_size(events);
    cleanup_free struct logs_batch_event *be = xcalloc(n ? n : 1, sizeof(*be));
    cleanup_free struct store_log_event *se = xcalloc(n ? n : 1, sizeof(*se));
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(events, i);
        json_t *m = json_object_get(e, "message");
        se[i].ts = be[i].ts = json_int(e, "timestamp", 0);
        se[i].message = json_string_value(m);
        se[i].message_len = be[i].len = json_string_length(m);
    }
    int64_t now = logs_now_ms(ctx);
    struct logs_batch_verdict v;
    if (logs_batch_check(be, n, now, g.retention_days, &v, err) < 0)
        return -1;
    r = store_log_events_put(ctx->st, g.id, s.id, se + v.accept_from, v.accept_to - v.accept_from,
                             now, err);
    if (r < 0)
        return r;
    char tok[32];
    snprintf(tok, sizeof(tok), "%020lld", (long long)(s.next_seq + (int64_t)(v.accept_to - v.accept_from)));
    json_t *out = json_pack("{s:s}", "nextSequenceToken", tok);
    if (v.too_old_end >= 0 || v.expired_end >= 0 || v.too_new_start >= 0) {
        json_t *rej = json_object();
        if (v.too_new_start >= 0)
            json_object_set_new(rej, "tooNewLogEventStartIndex", json_integer(v.too_new_start));
        if (v.too_old_end >= 0)
            json_object_set_new(rej, "tooOldLogEventEndIndex", json_integer(v.too_old_end));
        if (v.expired_end >= 0)
            json_object_set_new(rej, "expiredLogEventEndIndex", json_integer(v.expired_end));
        json_object_set_new(out, "rejectedLogEventsInfo", rej);
    }
    *ret_out = out;
    return 0;
}

static void event_text(struct logs_text *t, const struct store_log_event *e)
{
    logs_text_lit(t, "{\"timestamp\":");
    logs_text_int(t, e->ts);
    logs_text_lit(t, ",\"message\":");
    logs_text_str(t, e->message, e->message_len);
    logs_text_lit(t, ",\"ingestionTime\":");
    logs_text_int(t, e->ingestion);
    logs_text_lit(t, "}");
}

/* Events older than the retention period are gone even before the sweeper runs. */
static int64_t retention_floor(const struct api_ctx *ctx, const struct store_log_group *g,
                               int64_t from)
{
    if (!g->retention_days)
        return from;
    int64_t floor = logs_now_ms(ctx) - g->retention_days * 86400000LL;
    return from > floor ? from : floor;
}

int logs_get_log_events(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_log_group struct store_log_group g = {0};
    cleanup_log_stream struct store_log_stream s = {0};
    int r = logs_group_from_input(ctx, in, &g, err);
    if (r < 0 || (r = logs_stream_by_name(ctx, &g, json_str(in, "logStreamName"), &s, err)) < 0)
        return r;
    int64_t from = retention_floor(ctx, &g, json_int(in, "startTime", INT64_MIN));
    int64_t to = json_int(in, "endTime", INT64_MAX);
    int64_t limit = json_int(in, "limit", 10000);
    const char *tok = json_str(in, "nextToken");
    char dir = json_bool(in, "startFromHead", false) ? 'f' : 'b';
    struct store_log_pos pos = {0}, *after = NULL;
    if (tok) {
        if (logs_token_parse(tok, &dir, &pos.ts, &pos.seq) < 0)
            return api_invalid(err, "The specified nextToken is invalid.");
        after = &pos;
    }
    bool backward = dir == 'b';
    struct store_log_events ev = {0};
    r = store_log_events_read(ctx->st, s.id, from, to, after, backward, (unsigned)limit,
                              MAX_RESPONSE_BYTES, &ev, err);
    if (r < 0)
        return r;
    /* Up to 10,000 events: rendered as text, not as jansson objects (render.h). */
    struct logs_text t = {0};
    logs_text_lit(&t, "{\"events\":[");
    for (size_t i = 0; i < ev.n; i++) {
        if (i)
            logs_text_lit(&t, ",");
        event_text(&t, &ev.v[backward ? ev.n - 1 - i : i]);
    }
    char fwd[48], bwd[48];
    if (ev.n) {
        const struct store_log_event *first = &ev.v[backward ? ev.n - 1 : 0];
        const struct store_log_event *last = &ev.v[backward ? 0 : ev.n - 1];
        logs_token_make('f', last->ts, last->seq, fwd);
        logs_token_make('b', first->ts, first->seq, bwd);
    } else {
        /* Nothing (new): the caller's own token comes back, as AWS does. */
        logs_token_make('f', pos.ts, pos.seq, fwd);
        logs_token_make('b', pos.ts, pos.seq, bwd);
    }
    store_log_events_free(&ev);
    logs_text_lit(&t, "],\"nextForwardToken\":");
    logs_text_str(&t, fwd, strlen(fwd));
    logs_text_lit(&t, ",\"nextBackwardToken\":");
    logs_text_str(&t, bwd, strlen(bwd));
    logs_text_lit(&t, "}");
    ctx->raw_out = logs_text_take(&t);
    (void)ret_out;
    return 0;
}

/* ---- FilterLogEvents: a merge of the streams' ordered events ---- */

struct cursor {
    const struct store_log_stream *stream;
    struct store_log_events buf;
    size_t at;
    bool done;            /* nothing more in range */
    struct store_log_pos last_read;
    bool has_last;
};

static int refill(struct api_ctx *ctx, struct cursor *c, int64_t from, int64_t to,
                  struct wh_err *err)
{
    store_log_events_free(&c->buf);
    c->at = 0;
    int r = store_log_events_read(ctx->st, c->stream->id, from, to,
                                  c->has_last ? &c->last_read : NULL, false, 500,
                                  MAX_RESPONSE_BYTES, &c->buf, err);
    if (r < 0)
        return r;
    if (c->buf.n == 0) {
        c->done = true;
        return 0;
    }
    const struct store_log_event *l = &c->buf.v[c->buf.n - 1];
    c->last_read = (struct store_log_pos){l->ts, c->stream->id, l->seq};
    c->has_last = true;
    return 0;
}

static void filtered_event_text(struct logs_text *t, size_t i, const char *stream,
                                const struct store_log_event *e, const char *id)
{
    if (i)
        logs_text_lit(t, ",");
    logs_text_lit(t, "{\"logStreamName\":");
    logs_text_str(t, stream, strlen(stream));
    logs_text_lit(t, ",\"timestamp\":");
    logs_text_int(t, e->ts);
    logs_text_lit(t, ",\"message\":");
    logs_text_str(t, e->message, e->message_len);
    logs_text_lit(t, ",\"ingestionTime\":");
    logs_text_int(t, e->ingestion);
    logs_text_lit(t, ",\"eventId\":");
    logs_text_str(t, id, strlen(id));
    logs_text_lit(t, "}");
}

static bool before(const struct store_log_event *a, const struct store_log_event *b)
{
    if (a->ts != b->ts)
        return a->ts < b->ts;
    if (a->stream_id != b->stream_id)
        return a->stream_id < b->stream_id;
    return a->seq < b->seq;
}

static bool after_pos(const struct store_log_event *e, const struct store_log_pos *p)
{
    if (e->ts != p->ts)
        return e->ts > p->ts;
    if (e->stream_id != p->stream_id)
        return e->stream_id > p->stream_id;
    return e->seq > p->seq;
}

static int select_streams(struct api_ctx *ctx, const json_t *in, const struct store_log_group *g,
                          struct store_log_stream **ret, size_t *ret_n, struct wh_err *err)
{
    json_t *names = json_object_get(in, "logStreamNames");
    const char *prefix = json_str(in, "logStreamNamePrefix");
    if (names && prefix)
        return api_invalid(err, "logStreamNames and logStreamNamePrefix are mutually exclusive "
                                "parameters.");
    struct store_log_stream *v = NULL;
    size_t n = 0;
    if (names) {
        size_t i;
        json_t *nm;
        json_array_foreach(names, i, nm) {
            struct store_log_stream s = {0};
            int r = store_log_stream_get(ctx->st, g->id, json_string_value(nm), &s, err);
            if (r == -ENOENT)
                continue;
            if (r < 0) {
                store_log_streams_free(v, n);
                return r;
            }
            v = xrealloc(v, (n + 1) * sizeof(*v));
            v[n++] = s;
        }
    } else {
        int r = store_log_streams_list(ctx->st, g->id, prefix, STORE_LOG_BY_NAME, false, NULL,
                                       100000, &v, &n, err);
        if (r < 0)
            return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

int logs_filter_log_events(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_log_group struct store_log_group g = {0};
    int r = logs_group_from_input(ctx, in, &g, err);
    if (r < 0)
        return r;
    struct logs_filter *filter = NULL;
    const char *pattern = json_str(in, "filterPattern");
    if (logs_filter_parse(pattern ? pattern : "", &filter, err) < 0)
        return -1;
    int64_t from = retention_floor(ctx, &g, json_int(in, "startTime", INT64_MIN));
    int64_t to = json_int(in, "endTime", INT64_MAX);
    int64_t limit = json_int(in, "limit", 10000);
    struct store_log_pos resume = {0};
    bool resuming = false;
    const char *tok = json_str(in, "nextToken");
    if (tok) {
        cleanup_free char *key = NULL;
        long long a, b, c;
        if (page_token_decode(tok, &key) < 0 || sscanf(key, "%lld/%lld/%lld", &a, &b, &c) != 3) {
            logs_filter_free(filter);
            return api_invalid(err, "The specified nextToken is invalid.");
        }
        resume = (struct store_log_pos){a, b, c};
        resuming = true;
        if (from < a)
            from = a;
    }
    struct store_log_stream *streams = NULL;
    size_t ns = 0;
    if ((r = select_streams(ctx, in, &g, &streams, &ns, err)) < 0) {
        logs_filter_free(filter);
        return r;
    }
    struct cursor *cur = xcalloc(ns ? ns : 1, sizeof(*cur));
    /* Events are rendered as text (render.h); the streams searched are few. */
    struct logs_text events = {0};
    json_t *searched = json_array();
    size_t bytes = 0, n_events = 0;
    bool more = false;
    struct store_log_pos last = {0};
    for (size_t i = 0; i < ns && r == 0; i++) {
        cur[i].stream = &streams[i];
        r = refill(ctx, &cur[i], from, to, err);
        json_array_append_new(searched, json_pack("{s:s, s:b}", "logStreamName", streams[i].name,
                                                  "searchedCompletely", true));
    }
    while (r == 0) {
        struct cursor *best = NULL;
        for (size_t i = 0; i < ns; i++)
            if (!cur[i].done && (!best || before(&cur[i].buf.v[cur[i].at], &best->buf.v[best->at])))
                best = &cur[i];
        if (!best)
            break;
        const struct store_log_event *e = &best->buf.v[best->at];
        if ((int64_t)n_events >= limit || bytes + e->message_len > MAX_RESPONSE_BYTES) {
            more = true;
            break;
        }
        if ((!resuming || after_pos(e, &resume)) && logs_filter_match(filter, e->message, e->message_len)) {
            char id[64];
            snprintf(id, sizeof(id), "%019lld%010lld%010lld", (long long)e->ts,
                     (long long)e->stream_id, (long long)e->seq);
            filtered_event_text(&events, n_events++, best->stream->name, e, id);
            bytes += e->message_len;
        }
        last = (struct store_log_pos){e->ts, e->stream_id, e->seq};
        if (++best->at == best->buf.n)
            r = refill(ctx, best, from, to, err);
    }
    for (size_t i = 0; i < ns; i++)
        store_log_events_free(&cur[i].buf);
    free(cur);
    store_log_streams_free(streams, ns);
    logs_filter_free(filter);
    if (r < 0) {
        free(logs_text_take(&events));
        json_decref(searched);
        return r;
    }
    struct logs_text t = {0};
    logs_text_lit(&t, "{\"events\":[");
    logs_text_raw(&t, events.p, events.len);
    free(logs_text_take(&events));
    logs_text_lit(&t, "],\"searchedLogStreams\":");
    cleanup_free char *searched_text = json_text(searched);
    json_decref(searched);
    logs_text_raw(&t, searched_text, strlen(searched_text));
    if (more) {
        cleanup_free char *key = xasprintf("%lld/%lld/%lld", (long long)last.ts,
                                           (long long)last.stream_id, (long long)last.seq);
        cleanup_free char *tok = page_token_encode(key);
        logs_text_lit(&t, ",\"nextToken\":");
        logs_text_str(&t, tok, strlen(tok));
    }
    logs_text_lit(&t, "}");
    ctx->raw_out = logs_text_take(&t);
    (void)ret_out;
    return 0;
}
