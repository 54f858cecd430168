/* src/logs/render.c: rendered JSON text is what jansson would have written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/xalloc.h"
#include "logs/render.h"

static void test_strings_as_jansson(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t n;
    } cases[] = {
        {"", 0},
        {"plain text", 10},
        {"quote \" backslash \\ slash /", 27},
        {"\n\r\t\b\f", 5},
        {"\x01\x1f\x7f", 3},
        {"nul\0inside", 10},
        {"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", 15},
        {"\xE2\x80\xA8 line separator", 19},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_t *j = json_stringn(cases[i].s, cases[i].n);
        assert_non_null(j);
        char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        struct logs_text t = {0};
        logs_text_str(&t, cases[i].s, cases[i].n);
        char *got = logs_text_take(&t);
        if (strcmp(got, want) != 0)
            fail_msg("case %zu: rendered %s, jansson writes %s", i, got, want);
        free(got);
        free(want);
        json_decref(j);
    }
}

static void test_ints_and_document(void **state)
{
    (void)state;
    static const int64_t v[] = {0, 7, -1, 1714557600123LL, INT64_MAX, INT64_MIN};
    struct logs_text t = {0};
    logs_text_lit(&t, "[");
    for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
        if (i)
            logs_text_lit(&t, ",");
        logs_text_int(&t, v[i]);
    }
    logs_text_lit(&t, "]");
    char *got = logs_text_take(&t);
    assert_string_equal(got, "[0,7,-1,1714557600123,9223372036854775807,-9223372036854775808]");
    json_error_t je;
    json_t *j = json_loads(got, 0, &je);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_array_get(j, 5)), INT64_MIN);
    json_decref(j);
    free(got);
    /* Taking from an empty text gives an empty string. */
    char *empty = logs_text_take(&t);
    assert_string_equal(empty, "");
    free(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_as_jansson),
        cmocka_unit_test(test_ints_and_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
