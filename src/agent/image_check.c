#include "agent/image_check.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "agent/http_client.h"
#include "agent/manifest.h"
#include "core/crypto.h"
#include "core/xalloc.h"

#define CHECK_TIMEOUT_MS 10000

static bool plain_http(const struct registry_opts *o, const char *host)
{
    if (image_host_is_loopback(host))
        return true;
    for (const char *const *l = o->plain_http; l && *l; l++)
        if (strcasecmp(*l, host) == 0)
            return true;
    return false;
}

char *image_check_tag(const struct registry_opts *o, const struct image_ref *ref,
                      const struct image_auth *auth)
{
    if (!ref->tag || ref->digest || !plain_http(o, ref->domain) || ref->domain[0] == '[')
        return NULL;
    const char *colon = strrchr(ref->domain, ':');
    cleanup_free char *host = colon ? xstrndup(ref->domain, (size_t)(colon - ref->domain))
                                    : xstrdup(ref->domain);
    const char *port = colon ? colon + 1 : "80";
    cleanup_free char *path = xasprintf("/v2/%s/manifests/%s", ref->path, ref->tag);
    cleanup_free char *authz = NULL;
    if (auth && auth->username && auth->username[0]) {
        cleanup_free char *pair = xasprintf("%s:%s", auth->username,
                                            auth->password ? auth->password : "");
        cleanup_free char *b64 = base64_encode(pair, strlen(pair));
        explicit_bzero(pair, strlen(pair));
        authz = xasprintf("Authorization: Basic %s", b64);
        explicit_bzero(b64, strlen(b64));
    }
    const char *headers[] = {"Accept: " MANIFEST_ACCEPT, authz, NULL};
    struct http_request rq = {.host = host, .port = port, .method = "GET", .path = path,
                              .headers = headers, .connect_timeout_ms = CHECK_TIMEOUT_MS,
                              .timeout_ms = CHECK_TIMEOUT_MS};
    struct http_response r = {0};
    struct wh_err err = {0};
    char *digest = NULL;
    if (http_do(&rq, &r, &err) == 0 && r.status == 200 && r.body_len > 0) {
        uint8_t md[SHA256_LEN];
        sha256(r.body, r.body_len, md);
        char hex[2 * SHA256_LEN + 1];
        hex_encode(md, sizeof(md), hex);
        digest = xasprintf("sha256:%s", hex);
    }
    if (authz)
        explicit_bzero(authz, strlen(authz));
    http_response_free(&r);
    return digest;
}
