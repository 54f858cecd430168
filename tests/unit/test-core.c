/* Unit tests for src/core and the credentials parser: ARNs, pagination tokens, base64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "aws/credentials.h"
#include "core/arn.h"
#include "core/crypto.h"
#include "core/page.h"
#include "core/xalloc.h"

static void test_arn_make_and_parse(void **state)
{
    (void)state;
    cleanup_free char *a = arn_make("ecs", "us-west-2", "123456789012", "cluster/web");
    assert_string_equal(a, "arn:aws:ecs:us-west-2:123456789012:cluster/web");
    struct arn p;
    assert_int_equal(arn_parse(a, &p), 0);
    assert_string_equal(p.partition, "aws");
    assert_string_equal(p.service, "ecs");
    assert_string_equal(p.region, "us-west-2");
    assert_string_equal(p.account, "123456789012");
    assert_string_equal(p.resource, "cluster/web");
    /* Resources may hold colons (task-definition/family:3). */
    assert_int_equal(arn_parse("arn:aws:ecs:r:1:task-definition/f:3", &p), 0);
    assert_string_equal(p.resource, "task-definition/f:3");
}

static void test_arn_parse_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "web", "arn:", "arn:aws", "arn:aws:ecs:us-east-1:1", "arn:aws:ecs:us-east-1:1:",
        "arn::ecs:r:1:x", "arn:aws::r:1:x", "notarn:aws:ecs:r:1:x",
    };
    struct arn p;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        if (arn_parse(bad[i], &p) == 0)
            fail_msg("arn_parse accepted '%s'", bad[i]);
    }
}

static void test_page_token_roundtrip(void **state)
{
    (void)state;
    static const char *const keys[] = {"", "a", "cluster-name_1", "family\x01:7", "ünïcode"};
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        cleanup_free char *tok = page_token_encode(keys[i]);
        cleanup_free char *back = NULL;
        assert_int_equal(page_token_decode(tok, &back), 0);
        assert_string_equal(back, keys[i]);
    }
}

static void test_page_token_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "garbage!", "d2hhcmYy", /* "wharf2" */
                                      "aGVsbG8=" /* "hello" */};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        char *key = NULL;
        if (page_token_decode(bad[i], &key) == 0) {
            free(key);
            fail_msg("page_token_decode accepted '%s'", bad[i]);
        }
    }
}

static void test_base64(void **state)
{
    (void)state;
    static const struct {
        const char *plain, *b64;
    } cases[] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"AWS:pw", "QVdTOnB3"}};
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        cleanup_free char *e = base64_encode(cases[i].plain, strlen(cases[i].plain));
        assert_string_equal(e, cases[i].b64);
        uint8_t out[64];
        long n = base64_decode(cases[i].b64, out);
        assert_int_equal(n, (long)strlen(cases[i].plain));
        assert_memory_equal(out, cases[i].plain, (size_t)n);
    }
    uint8_t out[8];
    assert_int_equal(base64_decode("Zm9v!", out), -1);
    assert_int_equal(base64_decode("Zg==Zg", out), -1);
}

static void test_credentials_parse(void **state)
{
    (void)state;
    const char *text = "# provisioned by ops\n"
                       "[default]\n"
                       "aws_access_key_id = AKIAONE\n"
                       "aws_secret_access_key=secret/one\n"
                       "\n"
                       "[ci]\n"
                       "  aws_access_key_id = AKIATWO  \n"
                       "aws_secret_access_key = secret+two\n"
                       "region = us-west-2\n"
                       "[incomplete]\n"
                       "aws_access_key_id = AKIATHREE\n";
    struct credentials *c = NULL;
    assert_int_equal(credentials_parse(text, &c, NULL), 0);
    assert_int_equal(credentials_count(c), 2);
    assert_string_equal(credentials_secret(c, "AKIAONE"), "secret/one");
    assert_string_equal(credentials_secret(c, "AKIATWO"), "secret+two");
    assert_null(credentials_secret(c, "AKIATHREE"));
    assert_null(credentials_secret(c, "akiaone"));
    assert_string_equal(credentials_first_key(c), "AKIAONE");
    credentials_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arn_make_and_parse),  cmocka_unit_test(test_arn_parse_rejects),
        cmocka_unit_test(test_page_token_roundtrip), cmocka_unit_test(test_page_token_rejects),
        cmocka_unit_test(test_base64),              cmocka_unit_test(test_credentials_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
