/* Unit tests for src/registry's pure parts: names, tags, digests, /v2/ paths, ranges, Accept
 * negotiation, tag mutability, registry passwords and manifest parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/xalloc.h"
#include "registry/errors.h"
#include "registry/manifests.h"
#include "registry/names.h"
#include "registry/token.h"

static void test_names(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        bool ok;
    } cases[] = {
        {"team/app/web", true}, {"ab", true}, {"a.b_c__d---e/f", true}, {"0/1", true},
        {"a", false}, {"", false}, {"Team/app", false}, {"team/../app", false},
        {"team/%2e%2e/app", false}, {"team/%2E/app", false}, {"team//app", false},
        {"/team", false}, {"team/", false}, {"-a/b", false}, {"a-/b", false},
        {"a..b", false}, {"a___b", false}, {"a._b", false}, {"a b", false}, {"a/./b", false},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        bool got = registry_name_valid(cases[i].name, strlen(cases[i].name));
        if (got != cases[i].ok)
            fail_msg("registry_name_valid('%s') = %d, expected %d", cases[i].name, got,
                     cases[i].ok);
    }
    char long_name[300];
    memset(long_name, 'a', sizeof(long_name));
    assert_true(registry_name_valid(long_name, 256));
    assert_false(registry_name_valid(long_name, 257));
}

static void test_tags(void **state)
{
    (void)state;
    static const char *const good[] = {"latest", "v1.2.3", "_x", "A-b_C.d", "1"};
    static const char *const bad[] = {"", ".x", "-x", "a:b", "a/b", "a b", "ü"};
    for (size_t i = 0; i < ARRAY_SIZE(good); i++)
        if (!registry_tag_valid(good[i]))
            fail_msg("tag '%s' refused", good[i]);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        if (registry_tag_valid(bad[i]))
            fail_msg("tag '%s' accepted", bad[i]);
    char t[130];
    memset(t, 'a', 129);
    t[128] = 0;
    assert_true(registry_tag_valid(t));
    t[128] = 'a';
    t[129] = 0;
    assert_false(registry_tag_valid(t));
}

static void test_digests(void **state)
{
    (void)state;
    char s256[80], s512[140];
    snprintf(s256, sizeof(s256), "sha256:%064d", 0);
    snprintf(s512, sizeof(s512), "sha512:%0128d", 7);
    struct registry_digest d;
    assert_int_equal(registry_digest_parse(s256, &d), 0);
    assert_int_equal(d.alg, DIGEST_SHA256);
    assert_int_equal(strlen(d.hex), 64);
    assert_int_equal(registry_digest_parse(s512, &d), 0);
    assert_int_equal(d.alg, DIGEST_SHA512);
    static const struct {
        const char *s;
        int want;
    } bad[] = {
        {"sha256:abc", -EINVAL},
        {"sha256:" "ABCDEF0000000000000000000000000000000000000000000000000000000000", -EINVAL},
        {"sha256", -EINVAL},
        {":abc", -EINVAL},
        {"sha256:", -EINVAL},
        {"md5:d41d8cd98f00b204e9800998ecf8427e", -ENOTSUP},
        {"multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", -ENOTSUP},
        {"sha256:../../etc/passwd", -EINVAL},
        {"SHA256:abc", -EINVAL},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        int got = registry_digest_parse(bad[i].s, &d);
        if (got != bad[i].want)
            fail_msg("registry_digest_parse('%s') = %d, expected %d", bad[i].s, got,
                     bad[i].want);
    }
    assert_true(registry_ref_is_digest(s256));
    assert_false(registry_ref_is_digest("latest"));
}

static void test_paths(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        int r;
        enum registry_path_kind kind;
        const char *name, *ref;
    } cases[] = {
        {"/v2/", 0, RP_BASE, "", ""},
        {"/v2", 0, RP_BASE, "", ""},
        {"/v2/token", 0, RP_TOKEN, "", ""},
        {"/v2/_catalog", 0, RP_CATALOG, "", ""},
        {"/v2/team/app/web/manifests/latest", 0, RP_MANIFEST, "team/app/web", "latest"},
        {"/v2/a/manifests/b/manifests/v1", 0, RP_MANIFEST, "a/manifests/b", "v1"},
        {"/v2/ab/blobs/sha256:00", 0, RP_BLOB, "ab", "sha256:00"},
        {"/v2/ab/blobs/uploads/", 0, RP_UPLOAD_START, "ab", ""},
        {"/v2/ab/blobs/uploads", 0, RP_UPLOAD_START, "ab", ""},
        {"/v2/x/y/blobs/uploads/1234-5678", 0, RP_UPLOAD, "x/y", "1234-5678"},
        {"/v2/x/y/tags/list", 0, RP_TAGS, "x/y", ""},
        {"/v2/x/y/referrers/sha256:1", 0, RP_REFERRERS, "x/y", "sha256:1"},
        {"/v2/Bad/tags/list", -EINVAL, 0, NULL, NULL},
        {"/v2/a/../b/tags/list", -EINVAL, 0, NULL, NULL},
        {"/v2/a/%2e%2e/b/manifests/x", -EINVAL, 0, NULL, NULL},
        {"/v2/ab/nothing", -ENOENT, 0, NULL, NULL},
        {"/v2/ab/manifests/", -ENOENT, 0, NULL, NULL},
        {"/v3/", -ENOENT, 0, NULL, NULL},
        {"/v2x", -ENOENT, 0, NULL, NULL},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct registry_path p;
        int r = registry_path_parse(cases[i].path, &p);
        if (r != cases[i].r)
            fail_msg("registry_path_parse('%s') = %d, expected %d", cases[i].path, r,
                     cases[i].r);
        if (r < 0)
            continue;
        if (p.kind != cases[i].kind || strcmp(p.name, cases[i].name) != 0 ||
            strcmp(p.ref, cases[i].ref) != 0)
            fail_msg("registry_path_parse('%s') = {%d, '%s', '%s'}, expected {%d, '%s', '%s'}",
                     cases[i].path, p.kind, p.name, p.ref, cases[i].kind, cases[i].name,
                     cases[i].ref);
    }
}

static void test_ranges(void **state)
{
    (void)state;
    static const struct {
        const char *h;
        uint64_t size;
        int r;
        uint64_t start, end;
    } cases[] = {
        {"bytes=0-9", 100, 0, 0, 9},
        {"bytes=90-", 100, 0, 90, 99},
        {"bytes=90-200", 100, 0, 90, 99},
        {"bytes=-10", 100, 0, 90, 99},
        {"bytes=-1000", 100, 0, 0, 99},
        {"bytes=100-", 100, -ERANGE, 0, 0},
        {"bytes=-0", 100, -ERANGE, 0, 0},
        {"bytes=0-", 0, -ERANGE, 0, 0},
        {"bytes=5-4", 100, -EINVAL, 0, 0},
        {"bytes=0-1,3-4", 100, -EINVAL, 0, 0},
        {"lines=0-1", 100, -EINVAL, 0, 0},
        {"bytes=a-b", 100, -EINVAL, 0, 0},
        {"bytes=99999999999999999999-", 100, -EINVAL, 0, 0},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        uint64_t s = 0, e = 0;
        int r = registry_range_parse(cases[i].h, cases[i].size, &s, &e);
        if (r != cases[i].r || (r == 0 && (s != cases[i].start || e != cases[i].end)))
            fail_msg("range '%s' of %llu: %d [%llu, %llu], expected %d [%llu, %llu]",
                     cases[i].h, (unsigned long long)cases[i].size, r, (unsigned long long)s,
                     (unsigned long long)e, cases[i].r, (unsigned long long)cases[i].start,
                     (unsigned long long)cases[i].end);
    }
    static const struct {
        const char *h;
        int r;
        uint64_t start, end;
    } cr[] = {
        {"0-99", 0, 0, 99},       {"bytes 100-199", 0, 100, 199}, {"bytes=5-5", 0, 5, 5},
        {"0-99/200", 0, 0, 99},   {"bytes 0-99/*", 0, 0, 99},     {"9-1", -EINVAL, 0, 0},
        {"-5", -EINVAL, 0, 0},    {"5-", -EINVAL, 0, 0},          {"0-1x", -EINVAL, 0, 0},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cr); i++) {
        uint64_t s = 0, e = 0;
        int r = registry_content_range_parse(cr[i].h, &s, &e);
        if (r != cr[i].r || (r == 0 && (s != cr[i].start || e != cr[i].end)))
            fail_msg("Content-Range '%s': %d [%llu, %llu]", cr[i].h, r, (unsigned long long)s,
                     (unsigned long long)e);
    }
}

static void test_accept(void **state)
{
    (void)state;
    const char *oci = MT_OCI_MANIFEST_V1, *docker = MT_DOCKER_MANIFEST_V2;
    assert_true(registry_accept_allows(NULL, oci));
    assert_true(registry_accept_allows("*/*", oci));
    assert_true(registry_accept_allows("application/json", oci));
    assert_true(registry_accept_allows(MT_OCI_MANIFEST_V1, oci));
    assert_true(registry_accept_allows(MT_DOCKER_MANIFEST_V2 "; q=0.5 , " MT_OCI_MANIFEST_V1,
                                       oci));
    assert_false(registry_accept_allows(MT_DOCKER_MANIFEST_V2, oci));
    assert_false(registry_accept_allows(MT_OCI_INDEX_V1 "," MT_DOCKER_LIST_V2, docker));
    assert_true(registry_accept_allows(MT_OCI_INDEX_V1 ", */*", docker));
}

static void test_mutability(void **state)
{
    (void)state;
    const char *ex = "[{\"filterType\":\"WILDCARD\",\"filter\":\"release-*\"},"
                     "{\"filterType\":\"WILDCARD\",\"filter\":\"*-rc\"}]";
    assert_false(registry_tag_immutable("MUTABLE", NULL, "v1"));
    assert_false(registry_tag_immutable(NULL, NULL, "v1"));
    assert_true(registry_tag_immutable("IMMUTABLE", NULL, "v1"));
    assert_true(registry_tag_immutable("IMMUTABLE_WITH_EXCLUSION", ex, "v1"));
    assert_false(registry_tag_immutable("IMMUTABLE_WITH_EXCLUSION", ex, "release-1"));
    assert_false(registry_tag_immutable("IMMUTABLE_WITH_EXCLUSION", ex, "2.0-rc"));
    assert_false(registry_tag_immutable("MUTABLE_WITH_EXCLUSION", ex, "v1"));
    assert_true(registry_tag_immutable("MUTABLE_WITH_EXCLUSION", ex, "release-"));
    assert_true(registry_wildcard_match("a*b*c", "aXXbYYc"));
    assert_true(registry_wildcard_match("*", ""));
    assert_false(registry_wildcard_match("a*b", "aXXc"));
    assert_false(registry_wildcard_match("abc", "abcd"));
}

static void test_password(void **state)
{
    (void)state;
    uint8_t key[REGISTRY_TOKEN_KEY_LEN] = {1, 2, 3};
    uint8_t other[REGISTRY_TOKEN_KEY_LEN] = {9};
    cleanup_free char *pw =
        registry_password_make(key, "123456789012", "eu-west-1", "AKIAEXAMPLE", 1000.0);
    struct registry_principal p;
    struct wh_err err = {0};
    assert_int_equal(registry_password_check(key, pw, 999.0, &p, &err), 0);
    assert_string_equal(p.account, "123456789012");
    assert_string_equal(p.region, "eu-west-1");
    assert_string_equal(p.access_key, "AKIAEXAMPLE");
    assert_true(p.expires == 1000.0);
    assert_int_equal(registry_password_check(key, pw, 1000.0, &p, &err), -1);
    assert_string_equal(err.type, OCI_UNAUTHORIZED);
    assert_non_null(strstr(err.msg, "expired"));
    assert_int_equal(registry_password_check(other, pw, 999.0, &p, &err), -1);
    assert_non_null(strstr(err.msg, "signature"));
    static const char *const junk[] = {"", "wharf1.", "wharf1..", "AWS", "wharf1.!!!.00"};
    for (size_t i = 0; i < ARRAY_SIZE(junk); i++)
        if (registry_password_check(key, junk[i], 0, &p, &err) == 0)
            fail_msg("password '%s' accepted", junk[i]);
}

static void test_manifest_parse(void **state)
{
    (void)state;
    const char *d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const char *d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    cleanup_free char *m = xasprintf(
        "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"application/x.cfg\","
        "\"digest\":\"%s\",\"size\":10},\"layers\":[{\"mediaType\":\"l\",\"digest\":\"%s\","
        "\"size\":5},{\"mediaType\":\"l\",\"digest\":\"%s\",\"size\":5}],\"subject\":{"
        "\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":3}}",
        MT_OCI_MANIFEST_V1, d1, d2, d2, MT_OCI_MANIFEST_V1, d1);
    struct manifest_info mi;
    struct wh_err err = {0};
    assert_int_equal(manifest_parse(m, strlen(m), NULL, &mi, &err), 0);
    assert_string_equal(mi.media_type, MT_OCI_MANIFEST_V1);
    assert_int_equal(mi.nrefs, 2); /* the repeated layer counts once */
    assert_int_equal(mi.image_size, 20);
    assert_string_equal(mi.artifact_type, "application/x.cfg");
    assert_string_equal(mi.subject_digest, d1);
    assert_string_equal(mi.config_digest, d1);
    manifest_info_clear(&mi);
    /* The Content-Type may not contradict the body. */
    assert_int_equal(manifest_parse(m, strlen(m), MT_DOCKER_MANIFEST_V2, &mi, &err), -1);
    assert_string_equal(err.type, OCI_MANIFEST_INVALID);
    static const char *const bad[] = {
        "", "[]", "{\"schemaVersion\":1}", "{\"schemaVersion\":2,\"mediaType\":\"text/plain\"}",
        "{\"schemaVersion\":2,\"layers\":[]}",
        ("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"sha256:1\",\"size\":1},"
         "\"layers\":[]}"), /* parenthesised: one element split over two lines */
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"size\":1}]}",
        "{\"schemaVersion\":2,\"schemaVersion\":2}",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        memset(&err, 0, sizeof(err));
        if (manifest_parse(bad[i], strlen(bad[i]), NULL, &mi, &err) == 0)
            fail_msg("manifest '%s' accepted", bad[i]);
        assert_string_equal(err.type, OCI_MANIFEST_INVALID);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),     cmocka_unit_test(test_tags),
        cmocka_unit_test(test_digests),   cmocka_unit_test(test_paths),
        cmocka_unit_test(test_ranges),    cmocka_unit_test(test_accept),
        cmocka_unit_test(test_mutability), cmocka_unit_test(test_password),
        cmocka_unit_test(test_manifest_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
