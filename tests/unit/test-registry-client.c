/* The registry client (src/agent/registry_client.c) against a fake registry served here with
 * libmicrohttpd: anonymous, Basic and Bearer-token auth (the ECR flow: user "AWS" + token),
 * wrong credentials, manifest and blob digest checks, a blob longer than its descriptor,
 * server errors with OCI error bodies, and the read timeout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/digest.h"
#include "agent/registry_client.h"
#include "core/crypto.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

static const char manifest[] =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"}";
static const char blob[] = "hello, layer";
static const char other[] = "not the layer";

static struct {
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t mu;
    int token_hits;
    char token_scope[256], token_service[64];
    char *manifest_digest, *blob_digest, *other_digest;
} F;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *body,
                             const char *const *hdrs)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    for (; hdrs && hdrs[0]; hdrs += 2)
        MHD_add_response_header(r, hdrs[0], hdrs[1]);
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static bool basic_ok(struct MHD_Connection *c)
{
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    cleanup_free char *want = base64_encode("AWS:s3cret", 10);
    return a && strncmp(a, "Basic ", 6) == 0 && strcmp(a + 6, want) == 0;
}

static bool bearer_ok(struct MHD_Connection *c)
{
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    return a && strcmp(a, "Bearer tok-123") == 0;
}

static const char unauthorized[] =
    "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}";

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)cls, (void)method, (void)version, (void)upload, (void)upload_size, (void)con_cls;
    const char *json[] = {"Content-Type", "application/json", NULL};
    if (strcmp(url, "/token") == 0) {
        pthread_mutex_lock(&F.mu);
        F.token_hits++;
        const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "scope");
        const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "service");
        snprintf(F.token_scope, sizeof(F.token_scope), "%s", s ? s : "");
        snprintf(F.token_service, sizeof(F.token_service), "%s", v ? v : "");
        pthread_mutex_unlock(&F.mu);
        if (!basic_ok(c))
            return reply(c, 401, unauthorized, json);
        return reply(c, 200, "{\"token\":\"tok-123\",\"expires_in\":300}", json);
    }
    const char *mt[] = {"Content-Type", "application/vnd.oci.image.manifest.v1+json", NULL};
    if (strncmp(url, "/v2/bearer/", 11) == 0 && !bearer_ok(c)) {
        cleanup_free char *ch = xasprintf("Bearer realm=\"http://127.0.0.1:%d/token\","
                                          "service=\"fake\",scope=\"repository:bearer/app:pull\"",
                                          F.port);
        const char *h[] = {"WWW-Authenticate", ch, "Content-Type", "application/json", NULL};
        return reply(c, 401, unauthorized, h);
    }
    if (strncmp(url, "/v2/basic/", 10) == 0 && !basic_ok(c)) {
        const char *h[] = {"WWW-Authenticate", "Basic realm=\"fake\"", NULL};
        return reply(c, 401, unauthorized, h);
    }
    const char *rest = strchr(url + 4, '/'); /* after /v2/<ns> */
    rest = rest ? strchr(rest + 1, '/') : NULL; /* after /app */
    if (!rest)
        return reply(c, 404, "", NULL);
    if (strcmp(rest, "/manifests/1") == 0 ||
        (strncmp(rest, "/manifests/sha256:", 18) == 0 &&
         strcmp(rest + 11, F.manifest_digest) == 0))
        return reply(c, 200, manifest, mt);
    if (strcmp(rest, "/manifests/wrongdigest") == 0) {
        const char *h[] = {"Docker-Content-Digest", F.blob_digest, NULL};
        return reply(c, 200, manifest, h);
    }
    if (strcmp(rest, "/manifests/err500") == 0)
        return reply(c, 500,
                     "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"disk on fire\"}]}", json);
    if (strcmp(rest, "/manifests/slow") == 0) {
        sleep(3);
        return reply(c, 200, manifest, mt);
    }
    if (strncmp(rest, "/blobs/", 7) == 0) {
        const char *d = rest + 7;
        if (strcmp(d, F.blob_digest) == 0)
            return reply(c, 200, blob, NULL);
        if (strcmp(d, F.other_digest) == 0) /* serves the wrong bytes */
            return reply(c, 200, blob, NULL);
    }
    const char *h[] = {"Content-Type", "application/json", NULL};
    return reply(c, 404,
                 "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}",
                 h);
}

static int setup(void **state)
{
    (void)state;
    pthread_mutex_init(&F.mu, NULL);
    F.manifest_digest = digest_compute("sha256", manifest, strlen(manifest));
    F.blob_digest = digest_compute("sha256", blob, strlen(blob));
    F.other_digest = digest_compute("sha256", other, strlen(other));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    F.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                           NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
    assert_non_null(F.d);
    F.port = MHD_get_daemon_info(F.d, MHD_DAEMON_INFO_BIND_PORT)->port;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    MHD_stop_daemon(F.d);
    free(F.manifest_digest);
    free(F.blob_digest);
    free(F.other_digest);
    pthread_mutex_destroy(&F.mu);
    return 0;
}

static struct registry_client *client(const char *repo, const char *user, const char *pass)
{
    cleanup_free char *host = xasprintf("127.0.0.1:%d", F.port);
    struct registry_opts o = {.connect_timeout_ms = 2000, .read_timeout_ms = 1000};
    struct image_auth a = {user, pass};
    return registry_client_new(&o, host, repo, &a);
}

static void test_anonymous_manifest(void **state)
{
    (void)state;
    struct registry_client *c = client("anon/app", NULL, NULL);
    assert_string_equal(registry_client_scheme(c), "http"); /* loopback */
    struct registry_manifest m;
    struct wh_err err = {0};
    if (registry_get_manifest(c, "1", &m, &err) < 0)
        fail_msg("%s", err.msg);
    assert_string_equal(m.body, manifest);
    assert_string_equal(m.digest, F.manifest_digest);
    assert_string_equal(m.content_type, "application/vnd.oci.image.manifest.v1+json");
    registry_manifest_free(&m);
    /* By digest: checked. */
    assert_int_equal(registry_get_manifest(c, F.manifest_digest, &m, &err), 0);
    registry_manifest_free(&m);
    /* A missing one: "not found"; a lying Docker-Content-Digest: refused. */
    assert_int_equal(registry_get_manifest(c, "nope", &m, &err), -1);
    assert_string_equal(err.msg, "not found");
    assert_int_equal(err.status, 404);
    assert_false(registry_err_retriable(&err));
    assert_int_equal(registry_get_manifest(c, "wrongdigest", &m, &err), -1);
    assert_non_null(strstr(err.msg, "Docker-Content-Digest"));
    registry_client_free(c);
}

static void test_bearer_flow(void **state)
{
    (void)state;
    pthread_mutex_lock(&F.mu);
    F.token_hits = 0;
    pthread_mutex_unlock(&F.mu);
    struct registry_client *c = client("bearer/app", "AWS", "s3cret");
    struct registry_manifest m;
    struct wh_err err = {0};
    if (registry_get_manifest(c, "1", &m, &err) < 0)
        fail_msg("%s", err.msg);
    registry_manifest_free(&m);
    assert_int_equal(F.token_hits, 1);
    assert_string_equal(F.token_scope, "repository:bearer/app:pull");
    assert_string_equal(F.token_service, "fake");
    /* The token is kept: a second request and a duplicated client need no new one. */
    assert_int_equal(registry_get_manifest(c, "1", &m, &err), 0);
    registry_manifest_free(&m);
    struct registry_client *d = registry_client_dup(c);
    char *data;
    size_t len;
    assert_int_equal(
        registry_get_blob_mem(d, F.blob_digest, (int64_t)strlen(blob), 1024, &data, &len, &err),
        0);
    assert_int_equal(len, strlen(blob));
    assert_memory_equal(data, blob, len);
    free(data);
    assert_int_equal(F.token_hits, 1);
    registry_client_free(d);
    registry_client_free(c);

    /* Wrong password: the token endpoint refuses, and the error says so. */
    c = client("bearer/app", "AWS", "wrong");
    assert_int_equal(registry_get_manifest(c, "1", &m, &err), -1);
    if (!strstr(err.msg, "pull access denied: token request to http://127.0.0.1:") ||
        !strstr(err.msg, "failed with status 401: UNAUTHORIZED: authentication required"))
        fail_msg("%s", err.msg);
    assert_false(registry_err_retriable(&err));
    registry_client_free(c);
    /* Anonymous: the token endpoint is asked without credentials, and refuses. */
    c = client("bearer/app", NULL, NULL);
    assert_int_equal(registry_get_manifest(c, "1", &m, &err), -1);
    assert_int_equal(err.status, 401);
    registry_client_free(c);
}

static void test_basic_flow(void **state)
{
    (void)state;
    struct registry_client *c = client("basic/app", "AWS", "s3cret");
    struct registry_manifest m;
    struct wh_err err = {0};
    if (registry_get_manifest(c, "1", &m, &err) < 0)
        fail_msg("%s", err.msg);
    registry_manifest_free(&m);
    registry_client_free(c);
    c = client("basic/app", NULL, NULL);
    assert_int_equal(registry_get_manifest(c, "1", &m, &err), -1);
    assert_string_equal(err.msg, "pull access denied, repository does not exist or may require "
                                 "authorization: server message: UNAUTHORIZED: authentication "
                                 "required");
    registry_client_free(c);
    c = client("basic/app", "AWS", "bad");
    assert_int_equal(registry_get_manifest(c, "1", &m, &err), -1);
    assert_int_equal(err.status, 401);
    registry_client_free(c);
}

static void test_blobs(void **state)
{
    (void)state;
    struct registry_client *c = client("anon/app", NULL, NULL);
    char path[] = "/tmp/wharf-blob-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    struct wh_err err = {0};
    if (registry_get_blob_file(c, F.blob_digest, (int64_t)strlen(blob), path, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(access(path, F_OK), 0);
    /* The file exists now: creation is exclusive. */
    assert_int_equal(registry_get_blob_file(c, F.blob_digest, -1, path, &err), -1);
    unlink(path);
    /* Wrong bytes for the digest: refused, file gone. */
    assert_int_equal(registry_get_blob_file(c, F.other_digest, -1, path, &err), -1);
    cleanup_free char *want = xasprintf("blob %s: digest mismatch: content hashes to %s",
                                        F.other_digest, F.blob_digest);
    assert_string_equal(err.msg, want);
    assert_true(registry_err_retriable(&err));
    assert_int_equal(access(path, F_OK), -1);
    /* More bytes than the descriptor says: cut off. Fewer: refused. */
    assert_int_equal(registry_get_blob_file(c, F.blob_digest, 5, path, &err), -1);
    assert_non_null(strstr(err.msg, "larger than the size in the manifest"));
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(registry_get_blob_file(c, F.blob_digest, 100, path, &err), -1);
    assert_non_null(strstr(err.msg, "size mismatch: got 12 bytes, expected 100"));
    /* Memory blobs have a cap. */
    char *data;
    size_t len;
    assert_int_equal(registry_get_blob_mem(c, F.blob_digest, -1, 4, &data, &len, &err), -1);
    /* Missing blob. */
    cleanup_free char *nope = digest_compute("sha256", "x", 1);
    assert_int_equal(registry_get_blob_mem(c, nope, -1, 100, &data, &len, &err), -1);
    assert_int_equal(err.status, 404);
    registry_client_free(c);
}

static void test_server_error_and_timeout(void **state)
{
    (void)state;
    struct registry_client *c = client("anon/app", NULL, NULL);
    struct registry_manifest m;
    struct wh_err err = {0};
    assert_int_equal(registry_get_manifest(c, "err500", &m, &err), -1);
    assert_int_equal(err.status, 500);
    assert_true(registry_err_retriable(&err));
    assert_non_null(
        strstr(err.msg, "unexpected status 500: server message: UNKNOWN: disk on fire"));
    double t0 = time_monotonic();
    assert_int_equal(registry_get_manifest(c, "slow", &m, &err), -1);
    assert_true(time_monotonic() - t0 < 2.9);
    assert_int_equal(err.status, 503);
    assert_true(registry_err_retriable(&err));
    registry_client_free(c);
    /* Nobody listening: 503 too. */
    struct registry_opts o = {.connect_timeout_ms = 1000};
    c = registry_client_new(&o, "127.0.0.1:1", "x", NULL);
    assert_int_equal(registry_get_manifest(c, "1", &m, &err), -1);
    assert_int_equal(err.status, 503);
    assert_non_null(strstr(err.msg, "GET http://127.0.0.1:1/v2/x/manifests/1: "));
    registry_client_free(c);
    /* A non-loopback host is https unless listed. */
    const char *plain[] = {"registry.internal:5000", NULL};
    struct registry_opts p = {.plain_http = plain};
    c = registry_client_new(&p, "registry.internal:5000", "x", NULL);
    assert_string_equal(registry_client_scheme(c), "http");
    registry_client_free(c);
    c = registry_client_new(&p, "registry.example:5000", "x", NULL);
    assert_string_equal(registry_client_scheme(c), "https");
    registry_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_anonymous_manifest),
        cmocka_unit_test(test_bearer_flow),
        cmocka_unit_test(test_basic_flow),
        cmocka_unit_test(test_blobs),
        cmocka_unit_test(test_server_error_and_timeout),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
