/* src/logs/rules.c: PutLogEvents batch rules, retention values, filter patterns, tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/xalloc.h"
#include "logs/rules.h"

#define NOW 1800000000000LL /* ms */
#define H (3600LL * 1000)
#define D (24 * H)

static void test_batch_accepts_and_rejects(void **state)
{
    (void)state;
    struct logs_batch_event ev[] = {
        {NOW - 15 * D, 5}, /* too old */
        {NOW - 10 * D, 5}, /* expired under a 7-day retention */
        {NOW - H, 5},      {NOW, 5},
        {NOW + 3 * H, 5}, /* too new */
    };
    struct logs_batch_verdict v;
    struct wh_err err = {0};
    /* 15 days .. +3 h spans more than 24 h: split the cases. */
    assert_int_equal(logs_batch_check(ev, 5, NOW, 7, &v, &err), -1);
    assert_non_null(strstr(err.msg, "cannot span more than 24 hours"));

    struct logs_batch_event fresh[] = {{NOW - H, 5}, {NOW, 5}, {NOW + 3 * H, 5}};
    assert_int_equal(logs_batch_check(fresh, 3, NOW, 0, &v, &err), 0);
    assert_int_equal(v.accept_from, 0);
    assert_int_equal(v.accept_to, 2);
    assert_int_equal(v.too_new_start, 2);
    assert_int_equal(v.too_old_end, -1);

    struct logs_batch_event old[] = {{NOW - 14 * D - 2 * H, 5}, {NOW - 14 * D - H, 5}, {NOW - 14 * D + H, 1}};
    assert_int_equal(logs_batch_check(old, 3, NOW, 0, &v, &err), 0);
    assert_int_equal(v.too_old_end, 1);
    assert_int_equal(v.accept_from, 2);
    assert_int_equal(v.accept_to, 3);

    struct logs_batch_event exp[] = {{NOW - 10 * D, 5}, {NOW - 10 * D + H, 5}};
    assert_int_equal(logs_batch_check(exp, 2, NOW, 7, &v, &err), 0);
    assert_int_equal(v.expired_end, 1);
    assert_int_equal(v.accept_from, 2);
    assert_int_equal(v.accept_to, 2);
}

static void test_batch_errors(void **state)
{
    (void)state;
    struct logs_batch_verdict v;
    struct wh_err err = {0};
    struct logs_batch_event unsorted[] = {{NOW, 1}, {NOW - 1, 1}};
    assert_int_equal(logs_batch_check(unsorted, 2, NOW, 0, &v, &err), -1);
    assert_string_equal(err.type, "InvalidParameterException");
    assert_non_null(strstr(err.msg, "chronological order"));
    struct logs_batch_event big[] = {{NOW, LOGS_MAX_EVENT_BYTES}};
    assert_int_equal(logs_batch_check(big, 1, NOW, 0, &v, &err), -1);
    assert_non_null(strstr(err.msg, "Log event too large"));
    static struct logs_batch_event many[10];
    for (int i = 0; i < 10; i++)
        many[i] = (struct logs_batch_event){NOW, 110000};
    assert_int_equal(logs_batch_check(many, 10, NOW, 0, &v, &err), -1);
    assert_non_null(strstr(err.msg, "Upload too large"));
    /* Exactly at the limit is fine: 4 × (262118 + 26) = 1048576. */
    struct logs_batch_event edge[4];
    for (int i = 0; i < 4; i++)
        edge[i] = (struct logs_batch_event){NOW, 262118};
    assert_int_equal(logs_batch_check(edge, 4, NOW, 0, &v, &err), 0);
}

static void test_retention_values(void **state)
{
    (void)state;
    assert_true(logs_retention_valid(1));
    assert_true(logs_retention_valid(3653));
    assert_true(logs_retention_valid(400));
    assert_false(logs_retention_valid(0));
    assert_false(logs_retention_valid(2));
    assert_false(logs_retention_valid(4000));
}

static void test_filter_patterns(void **state)
{
    (void)state;
    static const struct {
        const char *pattern, *msg;
        bool want;
    } cases[] = {
        {"", "anything", true},
        {"ERROR", "2024 ERROR disk full", true},
        {"ERROR", "2024 error disk full", false},
        {"ERROR disk", "ERROR disk full", true},
        {"ERROR net", "ERROR disk full", false},
        {"\"disk full\"", "ERROR disk full", true},
        {"\"full disk\"", "ERROR disk full", false},
        {"ERROR -disk", "ERROR disk full", false},
        {"ERROR -net", "ERROR disk full", true},
        {"?WARN ?ERROR", "ERROR x", true},
        {"?WARN ?ERROR", "INFO x", false},
        {"?WARN ?ERROR -x", "ERROR x", false},
        {"line-42", "line-42 done", true},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct logs_filter *f = NULL;
        assert_int_equal(logs_filter_parse(cases[i].pattern, &f, NULL), 0);
        bool got = logs_filter_match(f, cases[i].msg, strlen(cases[i].msg));
        if (got != cases[i].want)
            fail_msg("pattern '%s' on '%s': want %d got %d", cases[i].pattern, cases[i].msg,
                     cases[i].want, got);
        logs_filter_free(f);
    }
    struct logs_filter *f = NULL;
    struct wh_err err = {0};
    assert_int_equal(logs_filter_parse("\"open", &f, &err), -1);
    assert_non_null(strstr(err.msg, "unterminated"));
    assert_int_equal(logs_filter_parse("{ $.level = \"x\" }", &f, &err), -1);
    assert_non_null(strstr(err.msg, "not supported"));
}

static void test_tokens(void **state)
{
    (void)state;
    char t[48];
    logs_token_make('f', 1700000000123LL, 42, t);
    assert_int_equal(strlen(t), 42);
    char dir;
    int64_t ts, seq;
    assert_int_equal(logs_token_parse(t, &dir, &ts, &seq), 0);
    assert_int_equal(dir, 'f');
    assert_int_equal(ts, 1700000000123LL);
    assert_int_equal(seq, 42);
    logs_token_make('b', 0, 0, t);
    assert_int_equal(logs_token_parse(t, &dir, &ts, &seq), 0);
    assert_int_equal(dir, 'b');
    static const char *const bad[] = {"", "f/", "x/00000000000000000000000000000000000000/s",
                                      "f/0000000000000000000000000000000000000a/s",
                                      "f/00000000000000000000000000000000000000/x"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        assert_int_equal(logs_token_parse(bad[i], &dir, &ts, &seq), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_accepts_and_rejects), cmocka_unit_test(test_batch_errors),
        cmocka_unit_test(test_retention_values),         cmocka_unit_test(test_filter_patterns),
        cmocka_unit_test(test_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
