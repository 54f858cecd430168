/* src/agent/k8s_log.c, k8s_reader.c, logship_rules.c: k8s-file records, lines into events,
 * resuming, awslogs options, batches, the shipper's records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/k8s_log.h"
#include "agent/k8s_reader.h"
#include "agent/logship_rules.h"
#include "core/json.h"
#include "core/xalloc.h"

#define T0 1714557600000LL /* 2024-05-01T10:00:00Z in ms */

/* ---- timestamps and records ---------------------------------------------------------------- */

static void test_time_parse(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int rc;
        int64_t ms;
    } cases[] = {
        {"2024-05-01T10:00:00Z", 0, T0},
        {"2024-05-01T10:00:00.123456789Z", 0, T0 + 123},
        {"2024-05-01T12:00:00.5+02:00", 0, T0 + 500},
        {"2024-05-01T07:30:00.999999999-02:30", 0, T0 + 999},
        {"2024-05-01T10:00:00.1+00:00", 0, T0 + 100},
        {"1970-01-01T00:00:00Z", 0, 0},
        {"2000-02-29T00:00:00Z", 0, 951782400000LL},
        {"2024-05-01T10:00:00", -1, 0},       /* no zone */
        {"2024-05-01 10:00:00Z", -1, 0},
        {"2024-13-01T10:00:00Z", -1, 0},
        {"2024-05-01T10:00:00.Z", -1, 0},
        {"2024-05-01T10:00:00Zjunk", -1, 0},
        {"yesterday", -1, 0},
        {"", -1, 0},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        int64_t ms = -7;
        int rc = k8s_time_parse(cases[i].in, strlen(cases[i].in), &ms);
        if (rc != cases[i].rc || (rc == 0 && ms != cases[i].ms))
            fail_msg("%s: got rc %d ms %lld, expected rc %d ms %lld", cases[i].in, rc,
                     (long long)ms, cases[i].rc, (long long)cases[i].ms);
    }
}

static void test_record_parse(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int rc;
        enum k8s_stream stream;
        bool partial;
        const char *text;
    } cases[] = {
        {"2024-05-01T10:00:00.000000001+00:00 stdout F hello world", 0, K8S_STDOUT, false,
         "hello world"},
        {"2024-05-01T10:00:00Z stderr P part", 0, K8S_STDERR, true, "part"},
        {"2024-05-01T10:00:00Z stdout F ", 0, K8S_STDOUT, false, ""},
        {"2024-05-01T10:00:00Z stdout F", 0, K8S_STDOUT, false, ""},
        {"2024-05-01T10:00:00Z stdout F  two spaces", 0, K8S_STDOUT, false, " two spaces"},
        {"2024-05-01T10:00:00Z stdout F:x:y tagged", 0, K8S_STDOUT, false, "tagged"},
        {"2024-05-01T10:00:00Z stdin F no", -1, 0, false, NULL},
        {"2024-05-01T10:00:00Z stdout X no", -1, 0, false, NULL},
        {"2024-05-01T10:00:00Z stdout Fx no", -1, 0, false, NULL},
        {"garbage stdout F no", -1, 0, false, NULL},
        {"", -1, 0, false, NULL},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct k8s_record r;
        int rc = k8s_record_parse(cases[i].in, strlen(cases[i].in), &r);
        if (rc != cases[i].rc)
            fail_msg("'%s': rc %d, expected %d", cases[i].in, rc, cases[i].rc);
        if (rc < 0)
            continue;
        assert_int_equal(r.stream, cases[i].stream);
        assert_int_equal(r.partial, cases[i].partial);
        if (r.len != strlen(cases[i].text) || memcmp(r.text, cases[i].text, r.len) != 0)
            fail_msg("'%s': text '%.*s', expected '%s'", cases[i].in, (int)r.len, r.text,
                     cases[i].text);
    }
}

/* ---- UTF-8 --------------------------------------------------------------------------------- */

static void test_utf8_split(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t max, consumed, effective;
    } cases[] = {
        {"abcdef", 4, 4, 4},
        {"abc", 4, 3, 3},
        {"ab\xC3\xA9z", 3, 2, 2},           /* é (2 bytes) does not fit after "ab" in 3 */
        {"ab\xC3\xA9z", 4, 4, 4},
        {"\xE2\x82\xAC\xE2\x82\xAC", 5, 3, 3}, /* € € */
        {"a\xFFz", 3, 1, 1},                 /* the invalid byte counts 3 */
        {"a\xFFz", 4, 2, 4},
        {"\xED\xA0\x80", 9, 3, 9},           /* a surrogate: 3 invalid bytes */
        {"\xC0\x80", 6, 2, 6},               /* overlong */
        {"\xF0\x9F\x98\x80!", 4, 4, 4},      /* 😀 */
        {"\xF0\x9F\x98", 20, 3, 9},          /* cut short: each byte invalid */
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        size_t eff;
        size_t n = k8s_utf8_split(cases[i].in, strlen(cases[i].in), cases[i].max, &eff);
        if (n != cases[i].consumed || eff != cases[i].effective)
            fail_msg("case %zu: consumed %zu eff %zu, expected %zu %zu", i, n, eff,
                     cases[i].consumed, cases[i].effective);
    }
    size_t len;
    cleanup_free char *s = k8s_utf8_sanitize("a\xFF\xC3\xA9\xED\xA0\x80z\0y", 10, &len);
    static const char want[] = "a\xEF\xBF\xBD\xC3\xA9\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDz\0y";
    assert_int_equal(len, sizeof(want) - 1);
    assert_memory_equal(s, want, len);
}

/* ---- the reader ------------------------------------------------------------------------------- */

struct got {
    struct k8s_event *v;
    size_t n;
};

static void collect(void *arg, struct k8s_event *ev)
{
    struct got *g = arg;
    g->v = xrealloc(g->v, (g->n + 1) * sizeof(*g->v));
    g->v[g->n++] = *ev;
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->v[i].msg);
    free(g->v);
    *g = (struct got){0};
}

/* Feed file[from, len) in pieces of `chunk` bytes (0: at once); finish when asked. */
static struct got read_all(const char *file, size_t len, const struct k8s_pos *pos, size_t max,
                           size_t chunk, bool finish)
{
    struct got g = {0};
    struct k8s_reader *r = k8s_reader_new(pos, max);
    size_t off = (size_t)k8s_reader_offset(r);
    while (off < len) {
        size_t n = chunk && len - off > chunk ? chunk : len - off;
        k8s_reader_feed(r, file + off, n, collect, &g);
        off += n;
    }
    if (finish)
        k8s_reader_finish(r, collect, &g);
    k8s_reader_free(r);
    return g;
}

#define R(ms, s, tag, text) "2024-05-01T10:00:00." ms "Z " s " " tag " " text "\n"

struct want {
    int64_t ms;
    enum k8s_stream stream;
    const char *msg;
};

static const struct {
    const char *name;
    const char *file;
    size_t max;
    bool finish;
    struct want ev[8];
} reader_cases[] = {
    {"lines", R("001", "stdout", "F", "one") R("002", "stdout", "F", "two"), 100, false,
     {{1, K8S_STDOUT, "one"}, {2, K8S_STDOUT, "two"}}},
    {"partial lines are joined, first record's time",
     R("001", "stdout", "P", "hel") R("002", "stdout", "P", "lo ") R("003", "stdout", "F", "you"),
     100, false, {{1, K8S_STDOUT, "hello you"}}},
    {"stderr between a stdout line's parts",
     R("001", "stdout", "P", "out-") R("002", "stderr", "F", "err") R("003", "stdout", "F", "end"),
     100, false, {{2, K8S_STDERR, "err"}, {1, K8S_STDOUT, "out-end"}}},
    {"empty lines are no events",
     R("001", "stdout", "F", "") R("002", "stdout", "F", "x") "2024-05-01T10:00:00.003Z stdout F\n",
     100, false, {{2, K8S_STDOUT, "x"}}},
    {"a torn last record waits", R("001", "stdout", "F", "a") "2024-05-01T10:00:00.002Z stdout F b",
     100, false, {{1, K8S_STDOUT, "a"}}},
    {"a torn last record is read at the end of a finished file",
     R("001", "stdout", "F", "a") "2024-05-01T10:00:00.002Z stdout F b", 100, true,
     {{1, K8S_STDOUT, "a"}, {2, K8S_STDOUT, "b"}}},
    {"an unfinished line waits", R("001", "stdout", "P", "no newline yet"), 100, false, {{0}}},
    {"an unfinished line ends with its finished file",
     R("001", "stdout", "P", "no newline") R("002", "stderr", "P", "e"), 100, true,
     {{1, K8S_STDOUT, "no newline"}, {2, K8S_STDERR, "e"}}},
    {"long lines are split", R("001", "stdout", "F", "abcdefghij"), 4, false,
     {{1, K8S_STDOUT, "abcd"}, {1, K8S_STDOUT, "efgh"}, {1, K8S_STDOUT, "ij"}}},
    {"a split never cuts a character",
     R("001", "stdout", "P", "ab\xE2\x82") R("002", "stdout", "F", "\xAC" "cd"), 4, false,
     {{1, K8S_STDOUT, "ab"}, {1, K8S_STDOUT, "\xE2\x82\xAC" "c"}, {1, K8S_STDOUT, "d"}}},
    {"invalid UTF-8 becomes U+FFFD", R("001", "stderr", "F", "a\xFF"), 100, false,
     {{1, K8S_STDERR, "a\xEF\xBF\xBD"}}},
    {"malformed records are skipped",
     "not a record\n" R("001", "stdout", "F", "ok") "2024-05-01T10:00:00Z stdin F x\n", 100, false,
     {{1, K8S_STDOUT, "ok"}}},
};

static void check_events(const char *name, const struct got *g, const struct want *want)
{
    size_t n = 0;
    while (n < 8 && want[n].msg)
        n++;
    if (g->n != n)
        fail_msg("%s: %zu events, expected %zu", name, g->n, n);
    for (size_t i = 0; i < n; i++) {
        const struct k8s_event *e = &g->v[i];
        if (e->ts_ms != T0 + want[i].ms || e->stream != want[i].stream ||
            e->len != strlen(want[i].msg) || memcmp(e->msg, want[i].msg, e->len) != 0)
            fail_msg("%s: event %zu is (%lld, %d, '%s'), expected (%lld, %d, '%s')", name, i,
                     (long long)(e->ts_ms - T0), e->stream, e->msg, (long long)want[i].ms,
                     want[i].stream, want[i].msg);
    }
}

static void test_reader_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(reader_cases); i++) {
        const char *f = reader_cases[i].file;
        for (size_t chunk = 0; chunk < 8; chunk += 3) { /* at once, by 3 bytes, by 6 */
            struct got g = read_all(f, strlen(f), &K8S_POS_START, reader_cases[i].max, chunk,
                                    reader_cases[i].finish);
            check_events(reader_cases[i].name, &g, reader_cases[i].ev);
            got_free(&g);
        }
    }
}

/* A torn record completed by a later write is read once, whole. */
static void test_reader_torn_then_completed(void **state)
{
    (void)state;
    const char *a = R("001", "stdout", "F", "first") "2024-05-01T10:00:00.002Z stdout F sec";
    const char *b = "ond\n";
    struct got g = {0};
    struct k8s_reader *r = k8s_reader_new(&K8S_POS_START, 100);
    k8s_reader_feed(r, a, strlen(a), collect, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(k8s_reader_offset(r), strlen(a));
    k8s_reader_feed(r, b, strlen(b), collect, &g);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.v[1].msg, "second");
    k8s_reader_free(r);
    got_free(&g);
}

/* Lines over 256 KiB: the shim's 8 KiB P records joined, then cut at 262,118 bytes. */
static void test_reader_256k(void **state)
{
    (void)state;
    size_t total = 600000, piece = 8192;
    size_t cap = total + (total / piece + 2) * 64;
    char *file = xmalloc(cap);
    size_t len = 0;
    for (size_t done = 0; done < total;) {
        size_t n = total - done < piece ? total - done : piece;
        bool last = done + n == total;
        len += (size_t)sprintf(file + len, "2024-05-01T10:00:00.%03zuZ stdout %s ", done / piece,
                               last ? "F" : "P");
        for (size_t k = 0; k < n; k++)
            file[len++] = (char)('a' + (done + k) % 26);
        file[len++] = '\n';
        done += n;
    }
    struct got g = read_all(file, len, &K8S_POS_START, K8S_MAX_EVENT_BYTES, 65536, false);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.v[0].len, 262118);
    assert_int_equal(g.v[1].len, 262118);
    assert_int_equal(g.v[2].len, total - 2 * 262118);
    size_t at = 0;
    for (size_t i = 0; i < g.n; i++) {
        assert_int_equal(g.v[i].ts_ms, T0);
        for (size_t k = 0; k < g.v[i].len; k++, at++)
            if (g.v[i].msg[k] != (char)('a' + at % 26))
                fail_msg("event %zu byte %zu is wrong", i, k);
    }
    got_free(&g);
    free(file);
}

static bool same_event(const struct k8s_event *a, const struct k8s_event *b)
{
    return a->ts_ms == b->ts_ms && a->stream == b->stream && a->len == b->len &&
           memcmp(a->msg, b->msg, a->len) == 0 && a->pos.key_off == b->pos.key_off &&
           a->pos.key_idx == b->pos.key_idx;
}

/* Resuming from any event's position gives exactly the events after it, whatever the feed. */
static void resume_everywhere(const char *name, const char *file, size_t len, size_t max,
                              bool finish)
{
    struct got all = read_all(file, len, &K8S_POS_START, max, 0, finish);
    for (size_t i = 0; i < all.n; i++) {
        for (size_t chunk = 0; chunk < 12; chunk += 5) {
            struct got rest = read_all(file, len, &all.v[i].pos, max, chunk, finish);
            if (rest.n != all.n - i - 1)
                fail_msg("%s: from event %zu (chunk %zu): %zu events, expected %zu", name, i,
                         chunk, rest.n, all.n - i - 1);
            for (size_t k = 0; k < rest.n; k++)
                if (!same_event(&rest.v[k], &all.v[i + 1 + k]))
                    fail_msg("%s: from event %zu: event %zu differs ('%s' vs '%s')", name, i, k,
                             rest.v[k].msg, all.v[i + 1 + k].msg);
            got_free(&rest);
        }
    }
    got_free(&all);
}

static void test_reader_resume(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(reader_cases); i++)
        resume_everywhere(reader_cases[i].name, reader_cases[i].file,
                          strlen(reader_cases[i].file), reader_cases[i].max,
                          reader_cases[i].finish);
    /* Interleaved long lines of both streams, split early, finished by the end of the file. */
    const char *mix = R("001", "stdout", "P", "0123456789") R("002", "stderr", "P", "abcdefg")
        R("003", "stdout", "P", "0123\xC3\xA9") R("004", "stderr", "F", "hij")
        R("005", "stdout", "F", "") R("006", "stdout", "F", "short")
        R("007", "stderr", "P", "tail-without-end") R("008", "stdout", "F", "last");
    resume_everywhere("mixed", mix, strlen(mix), 6, true);
    resume_everywhere("mixed, unfinished", mix, strlen(mix), 6, false);
}

/* ---- awslogs options ------------------------------------------------------------------------ */

static void test_conf_parse(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int rc;
        const char *group, *region, *stream;
        bool create;
        const char *err;
    } cases[] = {
        {"{\"logDriver\":\"awslogs\",\"options\":{\"awslogs-group\":\"/ecs/app\","
         "\"awslogs-region\":\"eu-west-1\",\"awslogs-stream-prefix\":\"web\","
         "\"awslogs-create-group\":\"true\"}}",
         1, "/ecs/app", "eu-west-1", "web/main/0123abcd", true, NULL},
        {"{\"logDriver\":\"awslogs\",\"options\":{\"awslogs-group\":\"g\"}}", 1, "g",
         "us-east-1", "0123abcd-main", false, NULL},
        {"{\"logDriver\":\"awslogs\",\"options\":{\"awslogs-group\":\"g\","
         "\"awslogs-stream\":\"mine\",\"awslogs-create-group\":\"False\"}}",
         1, "g", "us-east-1", "mine", false, NULL},
        {"{\"logDriver\":\"json-file\",\"options\":{\"max-size\":\"1m\"}}", 0, NULL, NULL, NULL,
         false, NULL},
        {"{}", 0, NULL, NULL, NULL, false, NULL},
        {"{\"logDriver\":\"awslogs\",\"options\":{\"awslogs-region\":\"us-east-1\"}}", -1, NULL,
         NULL, NULL, false, "awslogs-group is required"},
        {"{\"logDriver\":\"awslogs\",\"options\":{\"awslogs-group\":\"g\",\"colour\":\"red\"}}",
         -1, NULL, NULL, NULL, false, "unknown log opt 'colour'"},
        {"{\"logDriver\":\"awslogs\",\"options\":{\"awslogs-group\":\"g\","
         "\"awslogs-create-group\":\"yes\"}}",
         -1, NULL, NULL, NULL, false, "awslogs-create-group 'yes'"},
        {"{\"logDriver\":\"awslogs\",\"options\":{\"awslogs-group\":\"g\","
         "\"awslogs-region\":\"Mars 1\"}}",
         -1, NULL, NULL, NULL, false, "awslogs-region 'Mars 1'"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_auto_t *j = json_loads(cases[i].json, 0, NULL);
        assert_non_null(j);
        struct logship_conf c = {0};
        const char *ignored = NULL;
        struct wh_err err = {0};
        int rc = logship_conf_parse(j, "0123abcd", "main", "0123abcd-main", "us-east-1", &c,
                                    &ignored, &err);
        if (rc != cases[i].rc)
            fail_msg("case %zu: rc %d (%s), expected %d", i, rc, err.msg, cases[i].rc);
        if (rc == 1) {
            assert_string_equal(c.group, cases[i].group);
            assert_string_equal(c.region, cases[i].region);
            assert_string_equal(c.stream, cases[i].stream);
            assert_int_equal(c.create_group, cases[i].create);
        }
        if (cases[i].err && !strstr(err.msg, cases[i].err))
            fail_msg("case %zu: error '%s' lacks '%s'", i, err.msg, cases[i].err);
        logship_conf_clear(&c);
    }
}

/* ---- batches --------------------------------------------------------------------------------- */

static struct k8s_event *events(size_t n, size_t len, int64_t step_ms)
{
    struct k8s_event *v = xcalloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = (struct k8s_event){.ts_ms = T0 + (int64_t)i * step_ms, .len = len};
    return v;
}

static void test_batch_len(void **state)
{
    (void)state;
    static const struct {
        size_t n, len;
        int64_t step;
        size_t want;
    } cases[] = {
        {0, 10, 1, 0},
        {5, 10, 1, 5},
        {25000, 10, 0, 10000},                 /* at most 10,000 events */
        {10, 262118, 0, 4},                    /* 4 × (262118 + 26) = 1 MiB exactly */
        {10, 262119, 0, 3},
        {2000, 1000, 0, 1022},                 /* 1022 × 1026 ≤ 1 MiB < 1023 × 1026 */
        {10, 10, 6LL * 3600 * 1000, 5},        /* 24 h span: t0 .. t0 + 24 h */
        {3, 10, 25LL * 3600 * 1000, 1},        /* a lone event always makes a batch */
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        cleanup_free struct k8s_event *v = events(cases[i].n, cases[i].len, cases[i].step);
        size_t got = logship_batch_len(v, cases[i].n);
        if (got != cases[i].want)
            fail_msg("case %zu: %zu events, expected %zu", i, got, cases[i].want);
    }
    /* The span counts the earliest and latest, not the first and last. */
    struct k8s_event v[3] = {{.ts_ms = T0 + 1000, .len = 1}, {.ts_ms = T0, .len = 1},
                             {.ts_ms = T0 + 24LL * 3600 * 1000 + 500, .len = 1}};
    assert_int_equal(logship_batch_len(v, 3), 2);
}

static void test_batch_order(void **state)
{
    (void)state;
    struct k8s_event v[5] = {{.ts_ms = 5}, {.ts_ms = 3}, {.ts_ms = 5}, {.ts_ms = 1}, {.ts_ms = 3}};
    cleanup_free size_t *o = logship_batch_order(v, 5);
    static const size_t want[] = {3, 1, 4, 0, 2};
    assert_memory_equal(o, want, sizeof(want));
    struct k8s_event s[3] = {{.ts_ms = 1}, {.ts_ms = 1}, {.ts_ms = 2}};
    cleanup_free size_t *o2 = logship_batch_order(s, 3);
    static const size_t want2[] = {0, 1, 2};
    assert_memory_equal(o2, want2, sizeof(want2));
}

static void test_seq_parse(void **state)
{
    (void)state;
    assert_int_equal(logship_seq_parse("00000000000000000042"), 42);
    assert_int_equal(logship_seq_parse(NULL), 0);
    assert_int_equal(logship_seq_parse(""), 0);
    assert_int_equal(logship_seq_parse("49590302"), 49590302);
    assert_int_equal(logship_seq_parse("abc"), 0);
}

/* ---- records ----------------------------------------------------------------------------------- */

static void test_rec_json(void **state)
{
    (void)state;
    struct logship_rec r = {
        .task_arn = "arn:aws:ecs:us-east-1:123456789012:task/c/0123456789abcdef0123456789abcdef",
        .container = "web", .log_path = "/data/logs/t/web.log",
        .conf = {"/ecs/g", "us-east-1", "p/web/0123456789abcdef0123456789abcdef", true},
        .ino = 12345, .exited = true, .acked = {{100, 80}, 100, 2},
        .has_pending = true, .pending_to = {{300, 300}, 250, (INT64_C(1) << 40) + 1},
        .pending_seq = 77};
    json_auto_t *j = logship_rec_to_json(&r);
    struct logship_rec back;
    struct wh_err err = {0};
    assert_int_equal(logship_rec_from_json(j, &back, &err), 0);
    assert_string_equal(back.task_arn, r.task_arn);
    assert_string_equal(back.container, "web");
    assert_string_equal(back.conf.stream, r.conf.stream);
    assert_true(back.conf.create_group && back.exited && !back.done && back.has_pending);
    assert_int_equal(back.ino, 12345);
    assert_memory_equal(&back.acked, &r.acked, sizeof(r.acked));
    assert_memory_equal(&back.pending_to, &r.pending_to, sizeof(r.pending_to));
    assert_int_equal(back.pending_seq, 77);
    logship_rec_clear(&back);
    json_object_del(j, "acked");
    assert_int_equal(logship_rec_from_json(j, &back, &err), -1);

    cleanup_free char *f = logship_rec_file_name(r.task_arn, "web");
    assert_string_equal(f, "0123456789abcdef0123456789abcdef-web.json");
    char longname[256];
    memset(longname, 'x', 255);
    longname[255] = 0;
    cleanup_free char *h = logship_rec_file_name(r.task_arn, longname);
    assert_int_equal(strlen(h), 32 + 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_record_parse),
        cmocka_unit_test(test_utf8_split),
        cmocka_unit_test(test_reader_cases),
        cmocka_unit_test(test_reader_torn_then_completed),
        cmocka_unit_test(test_reader_256k),
        cmocka_unit_test(test_reader_resume),
        cmocka_unit_test(test_conf_parse),
        cmocka_unit_test(test_batch_len),
        cmocka_unit_test(test_batch_order),
        cmocka_unit_test(test_seq_parse),
        cmocka_unit_test(test_rec_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
