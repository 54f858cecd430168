#include "logs/rules.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/xalloc.h"

int logs_batch_check(const struct logs_batch_event *ev, size_t n, int64_t now_ms,
                     int64_t retention_days, struct logs_batch_verdict *ret, struct wh_err *err)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && ev[i].ts < ev[i - 1].ts)
            return wh_err_set(err, 400, "InvalidParameterException",
                              "Log events in a single PutLogEvents request must be in "
                              "chronological order.");
        size_t size = ev[i].len + LOGS_EVENT_OVERHEAD;
        if (size > LOGS_MAX_EVENT_BYTES)
            return wh_err_set(err, 400, "InvalidParameterException",
                              "Log event too large: logEvents[%zu] is %zu bytes; the limit is %d",
                              i, size, LOGS_MAX_EVENT_BYTES);
        bytes += size;
    }
    if (bytes > LOGS_MAX_BATCH_BYTES)
        return wh_err_set(err, 400, "InvalidParameterException",
                          "Upload too large: %zu bytes exceeds limit of %d", bytes,
                          LOGS_MAX_BATCH_BYTES);
    if (n > 1 && ev[n - 1].ts - ev[0].ts > LOGS_MAX_SPAN_MS)
        return wh_err_set(err, 400, "InvalidParameterException",
                          "The batch of log events in a single PutLogEvents request cannot span "
                          "more than 24 hours.");
    struct logs_batch_verdict v = {.too_old_end = -1, .expired_end = -1, .too_new_start = -1};
    int64_t expired_before = retention_days > 0 ? now_ms - retention_days * 86400000LL : INT64_MIN;
    size_t i = 0;
    /* Sorted input: the rejected events are a prefix (old) and a suffix (new). */
    for (; i < n; i++) {
        if (ev[i].ts < now_ms - LOGS_MAX_AGE_MS)
            v.too_old_end = (long)i;
        else if (ev[i].ts < expired_before)
            v.expired_end = (long)i;
        else
            break;
    }
    v.accept_from = i;
    size_t j = n;
    while (j > i && ev[j - 1].ts > now_ms + LOGS_MAX_FUTURE_MS)
        j--;
    if (j < n)
        v.too_new_start = (long)j;
    v.accept_to = j;
    *ret = v;
    return 0;
}

bool logs_retention_valid(int64_t days)
{
    static const int64_t ok[] = {1,   3,   5,   7,   14,   30,   60,   90,   120,  150,  180,
                                 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653};
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
        if (ok[i] == days)
            return true;
    return false;
}

enum term_kind { TERM_MUST, TERM_NOT, TERM_ANY };

struct term {
    enum term_kind kind;
    char *text;
};

struct logs_filter {
    struct term *t;
    size_t n;
    bool has_any;
};

int logs_filter_parse(const char *pattern, struct logs_filter **ret, struct wh_err *err)
{
    struct logs_filter *f = xcalloc(1, sizeof(*f));
    const char *p = pattern;
    while (*p) {
        if (*p == ' ' || *p == '\t') {
            p++;
            continue;
        }
        if (f->n == 0 && (*p == '{' || *p == '[')) {
            logs_filter_free(f);
            return wh_err_set(err, 400, "InvalidParameterException",
                              "filterPattern '%s': JSON and space-delimited patterns are not "
                              "supported; use terms, \"quoted phrases\", -term and ?term",
                              pattern);
        }
        enum term_kind kind = TERM_MUST;
        if (*p == '-' || *p == '?') {
            kind = *p == '-' ? TERM_NOT : TERM_ANY;
            p++;
        }
        const char *start = p, *end;
        if (*p == '"') {
            start = ++p;
            end = strchr(p, '"');
            if (!end) {
                logs_filter_free(f);
                return wh_err_set(err, 400, "InvalidParameterException",
                                  "filterPattern '%s': unterminated quoted phrase", pattern);
            }
            p = end + 1;
        } else {
            end = p + strcspn(p, " \t");
            p = end;
        }
        if (end == start)
            continue;
        f->t = xrealloc(f->t, (f->n + 1) * sizeof(*f->t));
        f->t[f->n++] = (struct term){kind, xstrndup(start, (size_t)(end - start))};
        if (kind == TERM_ANY)
            f->has_any = true;
    }
    *ret = f;
    return 0;
}

static bool contains(const char *msg, size_t len, const char *needle)
{
    return memmem(msg, len, needle, strlen(needle)) != NULL;
}

bool logs_filter_match(const struct logs_filter *f, const char *msg, size_t len)
{
    bool any = !f->has_any;
    for (size_t i = 0; i < f->n; i++) {
        bool in = contains(msg, len, f->t[i].text);
        if (f->t[i].kind == TERM_MUST && !in)
            return false;
        if (f->t[i].kind == TERM_NOT && in)
            return false;
        if (f->t[i].kind == TERM_ANY && in)
            any = true;
    }
    return any;
}

void logs_filter_free(struct logs_filter *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        free(f->t[i].text);
    free(f->t);
    free(f);
}

void logs_token_make(char dir, int64_t ts, int64_t seq, char out[48])
{
    snprintf(out, 48, "%c/%019" PRId64 "%019" PRId64 "/s", dir, ts < 0 ? 0 : ts, seq < 0 ? 0 : seq);
}

int logs_token_parse(const char *tok, char *ret_dir, int64_t *ret_ts, int64_t *ret_seq)
{
    if (strlen(tok) != 42 || (tok[0] != 'f' && tok[0] != 'b') || tok[1] != '/' ||
        strcmp(tok + 40, "/s") != 0)
        return -1;
    for (int i = 2; i < 40; i++)
        if (tok[i] < '0' || tok[i] > '9')
            return -1;
    char a[20], b[20];
    memcpy(a, tok + 2, 19);
    a[19] = 0;
    memcpy(b, tok + 21, 19);
    b[19] = 0;
    *ret_dir = tok[0];
    *ret_ts = strtoll(a, NULL, 10);
    *ret_seq = strtoll(b, NULL, 10);
    return 0;
}
