/* CloudWatch Logs storage: groups, streams and events. Times are epoch milliseconds. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct store_log_group {
    int64_t id;
    char *name;
    int64_t created_at;
    int64_t retention_days; /* 0: never expire */
    char *kms_key_id;
    char *log_group_class;
    bool deletion_protection;
    int64_t stored_bytes;
};

struct store_log_stream {
    int64_t id;
    int64_t group_id;
    char *name;
    int64_t created_at;
    int64_t first_event, last_event, last_ingestion; /* 0 when the stream has no event */
    int64_t next_seq;
    int64_t stored_bytes;
};

struct store_log_event {
    int64_t stream_id;
    int64_t ts, seq, ingestion;
    const char *message; /* borrowed (input) or owned by the event list (output) */
    size_t message_len;
};

/* A position in a stream's (ts, seq) order, or across streams in (ts, stream, seq) order. */
struct store_log_pos {
    int64_t ts, stream_id, seq;
};

void store_log_group_clear(struct store_log_group *g);
void store_log_stream_clear(struct store_log_stream *s);
#define cleanup_log_group __attribute__((cleanup(store_log_group_clear)))
#define cleanup_log_stream __attribute__((cleanup(store_log_stream_clear)))

int store_log_group_create(struct store *st, const char *account, const char *region,
                           const struct store_log_group *g, struct wh_err *err); /* -EEXIST */
int store_log_group_get(struct store *st, const char *account, const char *region,
                        const char *name, struct store_log_group *ret, struct wh_err *err);
/* Groups whose name starts with prefix (NULL: all) and sorts after `after`, at most limit. */
int store_log_groups_list(struct store *st, const char *account, const char *region,
                          const char *prefix, const char *after, unsigned limit,
                          struct store_log_group **ret, size_t *ret_n, struct wh_err *err);
void store_log_groups_free(struct store_log_group *v, size_t n);
int store_log_group_set_retention(struct store *st, int64_t group_id, int64_t days,
                                  struct wh_err *err);
/* Delete the group, its streams and events. */
int store_log_group_delete(struct store *st, int64_t group_id, struct wh_err *err);

int store_log_stream_create(struct store *st, int64_t group_id, const char *name, int64_t now,
                            struct wh_err *err); /* -EEXIST */
int store_log_stream_get(struct store *st, int64_t group_id, const char *name,
                         struct store_log_stream *ret, struct wh_err *err);
enum store_log_stream_order { STORE_LOG_BY_NAME, STORE_LOG_BY_LAST_EVENT };
/* Streams of a group: by name (prefix filter, after a name) or by last event time; descending
 * reverses. `after` is the name (by name) or "lastEvent/id" (by time) of the previous page's
 * last stream. */
int store_log_streams_list(struct store *st, int64_t group_id, const char *prefix,
                           enum store_log_stream_order order, bool descending, const char *after,
                           unsigned limit, struct store_log_stream **ret, size_t *ret_n,
                           struct wh_err *err);
void store_log_streams_free(struct store_log_stream *v, size_t n);
int store_log_stream_delete(struct store *st, int64_t stream_id, struct wh_err *err);

/* Append events (already sorted by ts) to a stream in one transaction; assigns each its seq
 * and updates the stream's and group's counters. */
int store_log_events_put(struct store *st, int64_t group_id, int64_t stream_id,
                         struct store_log_event *events, size_t n, int64_t ingestion,
                         struct wh_err *err);

/* Events of one stream with from_ts <= ts < to_ts, strictly after `after` (forward) or
 * strictly before it (backward, returned newest first), at most limit and about max_bytes of
 * messages. after NULL: from the start (forward) or the end (backward). */
struct store_log_events {
    struct store_log_event *v;
    size_t n;
};
int store_log_events_read(struct store *st, int64_t stream_id, int64_t from_ts, int64_t to_ts,
                          const struct store_log_pos *after, bool backward, unsigned limit,
                          size_t max_bytes, struct store_log_events *ret, struct wh_err *err);
void store_log_events_free(struct store_log_events *e);

/* Delete events of the group older than cutoff (ms); returns the number deleted. */
int64_t store_log_events_expire(struct store *st, int64_t group_id, int64_t cutoff,
                                struct wh_err *err);
/* Every group with a retention policy in every account and region (for the sweeper). */
int store_log_groups_with_retention(struct store *st, struct store_log_group **ret, size_t *ret_n,
                                    struct wh_err *err);
