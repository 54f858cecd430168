/* Pure CloudWatch Logs rules: PutLogEvents batch checks, retention values, filter patterns and
 * GetLogEvents tokens. No store, no clock: callers pass "now" (epoch milliseconds). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define LOGS_MAX_BATCH_BYTES 1048576
#define LOGS_EVENT_OVERHEAD 26
#define LOGS_MAX_EVENT_BYTES 262144 /* message plus the overhead */
#define LOGS_MAX_AGE_MS (14LL * 24 * 3600 * 1000)
#define LOGS_MAX_FUTURE_MS (2LL * 3600 * 1000)
#define LOGS_MAX_SPAN_MS (24LL * 3600 * 1000)

struct logs_batch_event {
    int64_t ts;
    size_t len; /* message bytes */
};

/* What PutLogEvents accepts of a batch: events [accept_from, accept_to) are stored; the
 * others are reported in rejectedLogEventsInfo (-1 when absent). */
struct logs_batch_verdict {
    long too_old_end;     /* tooOldLogEventEndIndex */
    long expired_end;     /* expiredLogEventEndIndex */
    long too_new_start;   /* tooNewLogEventStartIndex */
    size_t accept_from, accept_to;
};

/* Whole-batch errors (order, size, span) are InvalidParameterException with AWS's wording. */
int logs_batch_check(const struct logs_batch_event *ev, size_t n, int64_t now_ms,
                     int64_t retention_days, struct logs_batch_verdict *ret, struct wh_err *err);

/* One of 1, 3, 5, 7, 14, 30, ... 3653. */
bool logs_retention_valid(int64_t days);

/* Unstructured filter patterns: terms (all must appear), "quoted phrases", -term (must not
 * appear), ?term (at least one of the ?-terms). Empty matches everything. */
struct logs_filter;
int logs_filter_parse(const char *pattern, struct logs_filter **ret, struct wh_err *err);
bool logs_filter_match(const struct logs_filter *f, const char *msg, size_t len);
void logs_filter_free(struct logs_filter *f);

/* GetLogEvents tokens: "f/<ts><seq>/s" (forward: after this event) and "b/…/s" (backward:
 * before it), fixed width so they compare like positions. */
void logs_token_make(char dir, int64_t ts, int64_t seq, char out[48]);
int logs_token_parse(const char *tok, char *ret_dir, int64_t *ret_ts, int64_t *ret_seq);
