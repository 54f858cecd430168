/* Image references (src/agent/image_ref.c): Docker's normalization, tags, digests, and the
 * malformed references a pull must refuse before it touches the network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent/image_ref.h"
#include "core/xalloc.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct {
    const char *in;
    const char *domain, *path, *tag, *digest, *canonical;
} good[] = {
    {"busybox", "docker.io", "library/busybox", "latest", NULL, "docker.io/library/busybox:latest"},
    {"busybox:1.36", "docker.io", "library/busybox", "1.36", NULL, NULL},
    {"team/app", "docker.io", "team/app", "latest", NULL, NULL},
    {"docker.io/busybox", "docker.io", "library/busybox", "latest", NULL, NULL},
    {"index.docker.io/team/app:v1", "docker.io", "team/app", "v1", NULL, NULL},
    {"127.0.0.1:5000/team/app:tag", "127.0.0.1:5000", "team/app", "tag", NULL,
     "127.0.0.1:5000/team/app:tag"},
    {"localhost/app", "localhost", "app", "latest", NULL, NULL},
    {"localhost:4566/a/b/c:1.0-rc_1", "localhost:4566", "a/b/c", "1.0-rc_1", NULL, NULL},
    {"host.example/app@sha256:" D64, "host.example", "app", NULL, "sha256:" D64,
     "host.example/app@sha256:" D64},
    {"host/app:tag@sha256:" D64, "docker.io", "host/app", "tag", "sha256:" D64, NULL},
    {"h.io/app:tag@sha256:" D64, "h.io", "app", "tag", "sha256:" D64,
     "h.io/app:tag@sha256:" D64},
    {"123456789012.dkr.ecr.us-east-1.amazonaws.com/web:latest",
     "123456789012.dkr.ecr.us-east-1.amazonaws.com", "web", "latest", NULL, NULL},
    {"[::1]:5000/app", "[::1]:5000", "app", "latest", NULL, NULL},
    {"Host:5000/app", "Host:5000", "app", "latest", NULL, NULL},
    {"a.b/x__y/z-1.w_q", "a.b", "x__y/z-1.w_q", "latest", NULL, NULL},
    {"busybox:5000", "docker.io", "library/busybox", "5000", NULL, NULL},
    {"a.io/app@sha512:" D64 D64, "a.io", "app", NULL, "sha512:" D64 D64, NULL},
};

static void test_parse_good(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        struct image_ref r;
        struct wh_err err = {0};
        if (image_ref_parse(good[i].in, &r, &err) < 0)
            fail_msg("'%s' refused: %s", good[i].in, err.msg);
        assert_string_equal(r.domain, good[i].domain);
        assert_string_equal(r.path, good[i].path);
        if (good[i].tag)
            assert_string_equal(r.tag, good[i].tag);
        else
            assert_null(r.tag);
        if (good[i].digest) {
            assert_string_equal(r.digest, good[i].digest);
            assert_string_equal(image_ref_manifest_ref(&r), good[i].digest);
        } else {
            assert_null(r.digest);
            assert_string_equal(image_ref_manifest_ref(&r), good[i].tag);
        }
        if (good[i].canonical) {
            cleanup_free char *s = image_ref_string(&r);
            assert_string_equal(s, good[i].canonical);
        }
        image_ref_free(&r);
    }
}

static const struct {
    const char *in, *why;
} bad[] = {
    {"", "empty reference"},
    {"Busybox", "repository name must be lowercase"},
    {"host:5000/App", "repository name must be lowercase"},
    {"host:5000/app:", "invalid tag"},
    {"app:t@g", "digest must be"},
    {"app@sha256:abc", "digest must be"},
    {"app@md5:" D64, "digest must be"},
    {"app@sha256:" D64 "0", "digest must be"},
    {"app@SHA256:" D64, "digest must be"},
    {"host:5000/app:-tag", "invalid tag"},
    {"host:99999/app", "invalid registry host"},
    {"host:/app", "invalid registry host"},
    {"-host.io/app", "invalid registry host"},
    {"host..io/app", "invalid registry host"},
    {"h.io/app//x", "invalid repository name"},
    {"h.io/app/", "invalid repository name"},
    {"h.io/-app", "invalid repository name"},
    {"h.io/a..b", "invalid repository name"},
    {"h.io/a___b", "invalid repository name"},
    {"h.io/../etc", "invalid repository name"},
    {"h.io/a b", "invalid"},
    {"h.io/a%2e", "invalid repository name"},
};

static void test_parse_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct image_ref r = {0};
        struct wh_err err = {0};
        if (image_ref_parse(bad[i].in, &r, &err) == 0)
            fail_msg("'%s' accepted as %s/%s", bad[i].in, r.domain, r.path);
        assert_string_equal(err.type, "CannotPullContainerError");
        if (!strstr(err.msg, bad[i].why) || !strstr(err.msg, "invalid reference format"))
            fail_msg("'%s': message '%s' lacks '%s'", bad[i].in, err.msg, bad[i].why);
        assert_null(r.domain);
    }
    /* Over-long names. */
    char longname[400];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    struct image_ref r;
    assert_int_equal(image_ref_parse(longname, &r, NULL), -1);
    char longtag[160] = "app:";
    memset(longtag + 4, 't', 140);
    longtag[144] = 0;
    assert_int_equal(image_ref_parse(longtag, &r, NULL), -1);
}

static void test_api_host_and_loopback(void **state)
{
    (void)state;
    struct image_ref r;
    assert_int_equal(image_ref_parse("busybox", &r, NULL), 0);
    assert_true(image_ref_is_docker_hub(&r));
    assert_string_equal(image_ref_api_host(&r), "registry-1.docker.io");
    image_ref_free(&r);
    assert_int_equal(image_ref_parse("127.0.0.1:5000/app", &r, NULL), 0);
    assert_false(image_ref_is_docker_hub(&r));
    assert_string_equal(image_ref_api_host(&r), "127.0.0.1:5000");
    image_ref_free(&r);

    static const struct {
        const char *host;
        bool loop;
    } hosts[] = {
        {"localhost", true},      {"localhost:5000", true}, {"127.0.0.1", true},
        {"127.1.2.3:80", true},   {"[::1]:5000", true},     {"[::1]", true},
        {"127.example.com", false}, {"localhost.evil.io", false}, {"10.0.0.1:5000", false},
        {"[::2]:5000", false},    {"registry-1.docker.io", false},
    };
    for (size_t i = 0; i < ARRAY_SIZE(hosts); i++)
        if (image_host_is_loopback(hosts[i].host) != hosts[i].loop)
            fail_msg("image_host_is_loopback(%s) != %d", hosts[i].host, hosts[i].loop);
}

static void test_digest_valid(void **state)
{
    (void)state;
    assert_true(image_digest_valid("sha256:" D64));
    assert_true(image_digest_valid("sha512:" D64 D64));
    assert_false(image_digest_valid("sha256:" D64 D64));
    assert_false(image_digest_valid("sha512:" D64));
    assert_false(image_digest_valid("sha256:../../../etc/passwd"));
    assert_false(image_digest_valid("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef012345"
                                    "6789abcdef"));
    assert_false(image_digest_valid(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_api_host_and_loopback),
        cmocka_unit_test(test_digest_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
