/* Registry documents and protocol bits of the pull (src/agent/manifest.c, digest.c and the
 * WWW-Authenticate parser of registry_client.c): pure functions over untrusted bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent/digest.h"
#include "agent/manifest.h"
#include "agent/registry_client.h"
#include "core/xalloc.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static void test_kind(void **state)
{
    (void)state;
    static const struct {
        const char *body, *ct;
        int rc;
        enum manifest_kind kind;
    } cases[] = {
        {"{\"mediaType\":\"" MT_OCI_MANIFEST "\"}", NULL, 0, MANIFEST_IMAGE},
        {"{\"mediaType\":\"" MT_DOCKER_MANIFEST "\"}", NULL, 0, MANIFEST_IMAGE},
        {"{\"mediaType\":\"" MT_OCI_INDEX "\"}", NULL, 0, MANIFEST_INDEX},
        {"{\"mediaType\":\"" MT_DOCKER_LIST "\"}", NULL, 0, MANIFEST_INDEX},
        {"{}", MT_OCI_INDEX "; charset=utf-8", 0, MANIFEST_INDEX},
        {"{\"config\":{},\"layers\":[]}", "application/json", 0, MANIFEST_IMAGE},
        {"{\"manifests\":[]}", NULL, 0, MANIFEST_INDEX},
        {"{\"schemaVersion\":1,\"fsLayers\":[]}", NULL, -1, 0},
        {"{\"mediaType\":\"application/vnd.example\"}", NULL, -1, 0},
        {"[1,2]", NULL, -1, 0},
        {"not json", NULL, -1, 0},
        {"{\"mediaType\":\"a\",\"mediaType\":\"b\"}", NULL, -1, 0},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        enum manifest_kind k = 99;
        struct wh_err err = {0};
        int rc = manifest_kind(cases[i].body, strlen(cases[i].body), cases[i].ct, &k, &err);
        if (rc != cases[i].rc)
            fail_msg("case %zu '%s': rc %d, want %d (%s)", i, cases[i].body, rc, cases[i].rc,
                     err.msg);
        if (rc == 0 && k != cases[i].kind)
            fail_msg("case %zu: kind %d, want %d", i, k, cases[i].kind);
    }
}

static const char index_doc[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_INDEX "\",\"manifests\":["
    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":10,"
    " \"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":11,"
    " \"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" D3 "\",\"size\":12,"
    " \"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
    "{\"mediaType\":\"" MT_OCI_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":13,"
    " \"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}}]}";

static void test_index_select(void **state)
{
    (void)state;
    static const struct {
        const char *arch, *variant, *digest;
    } cases[] = {
        {"amd64", NULL, D3}, {"arm64", "v8", D2}, {"arm", "v7", D1}, {"arm", "v6", NULL},
        {"s390x", NULL, NULL},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct descriptor d = {0};
        struct wh_err err = {0};
        int rc = manifest_index_select(index_doc, strlen(index_doc), "linux", cases[i].arch,
                                       cases[i].variant, &d, &err);
        if (cases[i].digest) {
            if (rc < 0)
                fail_msg("%s: %s", cases[i].arch, err.msg);
            assert_string_equal(d.digest, cases[i].digest);
        } else {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err.msg, "no match for platform linux/"));
        }
        descriptor_free(&d);
    }
    /* A lone entry without a platform is taken; a bad digest is refused. */
    const char lone[] = "{\"manifests\":[{\"digest\":\"" D2 "\",\"size\":5}]}";
    struct descriptor d;
    assert_int_equal(manifest_index_select(lone, strlen(lone), "linux", "amd64", NULL, &d, NULL),
                     0);
    assert_string_equal(d.digest, D2);
    descriptor_free(&d);
    const char evil[] = "{\"manifests\":[{\"digest\":\"sha256:../../x\",\"size\":5,"
                        "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
    struct wh_err err = {0};
    assert_int_equal(
        manifest_index_select(evil, strlen(evil), "linux", "amd64", NULL, &d, &err), -1);
    assert_non_null(strstr(err.msg, "manifests[0].digest 'sha256:../../x'"));
}

static void test_parse_image(void **state)
{
    (void)state;
    const char good[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\","
        "\"config\":{\"mediaType\":\"" MT_OCI_CONFIG "\",\"digest\":\"" D1 "\",\"size\":100},"
        "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
        "\"digest\":\"" D2 "\",\"size\":200},"
        "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"" D3
        "\",\"size\":300}]}";
    struct image_manifest m;
    assert_int_equal(manifest_parse_image(good, strlen(good), &m, NULL), 0);
    assert_string_equal(m.config.digest, D1);
    assert_int_equal(m.n_layers, 2);
    assert_string_equal(m.layers[0].digest, D2);
    assert_int_equal(m.layers[1].size, 300);
    image_manifest_free(&m);

    static const struct {
        const char *body, *why;
    } bad[] = {
        {"{\"config\":{\"digest\":\"" D1 "\",\"size\":-1},\"layers\":[]}", "config.size"},
        {"{\"config\":{\"digest\":\"" D1 "\",\"size\":1,\"mediaType\":\"application/x-helm\"},"
         "\"layers\":[]}",
         "not a container image"},
        {"{\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[{\"digest\":\"" D2
         "\",\"size\":1,\"mediaType\":\"text/plain\"}]}",
         "layers[0].mediaType 'text/plain'"},
        {"{\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[{\"digest\":\"md5:x\","
         "\"size\":1}]}",
         "layers[0].digest 'md5:x'"},
        {"{\"config\":{\"digest\":\"" D1 "\",\"size\":1}}", "no layers array"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct wh_err err = {0};
        assert_int_equal(manifest_parse_image(bad[i].body, strlen(bad[i].body), &m, &err), -1);
        if (!strstr(err.msg, bad[i].why))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].why);
    }
}

static void test_config(void **state)
{
    (void)state;
    const char cfg[] =
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{"
        "\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":null,\"Env\":[\"PATH=/bin\",\"A=b c\"],"
        "\"WorkingDir\":\"/srv\",\"User\":\"1000:1000\",\"ExposedPorts\":{\"80/tcp\":{}},"
        "\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":1000000000},"
        "\"StopSignal\":\"SIGQUIT\"},"
        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2 "\"]}}";
    struct image_config c;
    assert_int_equal(image_config_parse(cfg, strlen(cfg), &c, NULL), 0);
    assert_string_equal(c.entrypoint[0], "/bin/sh");
    assert_string_equal(c.entrypoint[1], "-c");
    assert_null(c.entrypoint[2]);
    assert_null(c.cmd);
    assert_string_equal(c.env[1], "A=b c");
    assert_string_equal(c.working_dir, "/srv");
    assert_string_equal(c.user, "1000:1000");
    assert_string_equal(c.exposed_ports, "{\"80/tcp\":{}}");
    assert_non_null(strstr(c.healthcheck, "\"Test\":[\"CMD\",\"true\"]"));
    assert_string_equal(c.stop_signal, "SIGQUIT");
    assert_int_equal(c.n_diff_ids, 2);
    assert_string_equal(c.diff_ids[1], D2);
    assert_string_equal(c.architecture, "amd64");
    image_config_free(&c);

    /* "set to []" is not "not set" (Docker's precedence needs the difference). */
    const char empty[] = "{\"config\":{\"Cmd\":[]},\"rootfs\":{\"diff_ids\":[]}}";
    assert_int_equal(image_config_parse(empty, strlen(empty), &c, NULL), 0);
    assert_non_null(c.cmd);
    assert_null(c.cmd[0]);
    assert_null(c.entrypoint);
    image_config_free(&c);

    static const struct {
        const char *body, *why;
    } bad[] = {
        {"{\"config\":{\"Cmd\":\"ls\"}}", "config.Cmd is not an array"},
        {"{\"config\":{\"Env\":[1]}}", "config.Env[0] is not a string"},
        {"{\"rootfs\":{\"diff_ids\":[\"nope\"]}}", "rootfs.diff_ids[0] 'nope'"},
        {"{\"config\":[]}", "'config' is not an object"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct wh_err err = {0};
        assert_int_equal(image_config_parse(bad[i].body, strlen(bad[i].body), &c, &err), -1);
        if (!strstr(err.msg, bad[i].why))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].why);
    }
}

static void test_arch(void **state)
{
    (void)state;
    const char *v;
    assert_string_equal(manifest_arch_from_machine("x86_64", &v), "amd64");
    assert_null(v);
    assert_string_equal(manifest_arch_from_machine("aarch64", &v), "arm64");
    assert_string_equal(v, "v8");
    assert_string_equal(manifest_arch_from_machine("armv7l", &v), "arm");
    assert_string_equal(v, "v7");
    assert_string_equal(manifest_arch_from_machine("mips", &v), "mips");
}

static void test_challenge(void **state)
{
    (void)state;
    struct auth_challenge c;
    assert_int_equal(registry_parse_challenge(
                         "Bearer realm=\"https://auth.example/token\",service=\"registry.example\","
                         "scope=\"repository:team/app:pull\"",
                         &c),
                     0);
    assert_string_equal(c.scheme, "Bearer");
    assert_string_equal(c.realm, "https://auth.example/token");
    assert_string_equal(c.service, "registry.example");
    assert_string_equal(c.scope, "repository:team/app:pull");
    auth_challenge_free(&c);

    /* Tokens unquoted, spaces around '=', escapes, odd case, unknown params. */
    assert_int_equal(registry_parse_challenge("bearer  Realm = http://h:5000/t , error=\"x\","
                                              " service=\"a\\\"b\"",
                                              &c),
                     0);
    assert_string_equal(c.scheme, "bearer");
    assert_string_equal(c.realm, "http://h:5000/t");
    assert_string_equal(c.service, "a\"b");
    assert_null(c.scope);
    auth_challenge_free(&c);

    assert_int_equal(registry_parse_challenge("Basic realm=\"Registry Realm\"", &c), 0);
    assert_string_equal(c.scheme, "Basic");
    assert_string_equal(c.realm, "Registry Realm");
    auth_challenge_free(&c);

    /* A second challenge ends the first. */
    assert_int_equal(registry_parse_challenge("Basic realm=\"r\", Bearer realm=\"x\"", &c), 0);
    assert_string_equal(c.realm, "r");
    auth_challenge_free(&c);

    assert_int_equal(registry_parse_challenge("", &c), -1);
    assert_int_equal(registry_parse_challenge("   ", &c), -1);
}

static void test_digest(void **state)
{
    (void)state;
    cleanup_free char *a = digest_compute("sha256", "abc", 3);
    assert_string_equal(a, "sha256:ba7816bf8f01cfea414140de5dae2223"
                           "b00361a396177a9cb410ff61f20015ad");
    cleanup_free char *b = digest_compute("sha512:whatever", "", 0);
    assert_string_equal(b, "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
                           "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
    assert_null(digest_compute("md5", "", 0));
    assert_null(digest_compute("sha2567:", "", 0));
    struct digester *d = digester_new(D1);
    digester_update(d, "a", 1);
    digester_update(d, "bc", 2);
    cleanup_free char *c = digester_finish(d);
    assert_string_equal(c, a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind),   cmocka_unit_test(test_index_select),
        cmocka_unit_test(test_parse_image), cmocka_unit_test(test_config),
        cmocka_unit_test(test_arch),   cmocka_unit_test(test_challenge),
        cmocka_unit_test(test_digest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
