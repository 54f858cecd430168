/* A client for the OCI distribution API (pull side) over http and https, with libcurl.
 *
 * One client talks to one repository of one registry and keeps its auth state (the Basic
 * credentials, the bearer token obtained so far) and its connection. A client is used by one
 * thread at a time; registry_client_dup() gives another thread its own connection with the
 * auth state obtained so far.
 *
 * Auth: requests go out anonymously; on 401 the WWW-Authenticate challenge decides: Basic →
 * retry with the credentials; Bearer realm=…,service=…,scope=… → GET a token from the realm
 * (with the credentials as Basic, when there are any) and retry with it. A later 401 (token
 * expired) repeats the dance once.
 *
 * Every transfer has a connect timeout and a read timeout (no byte for that long aborts it);
 * manifests, configs and tokens also have a whole-request deadline. Every body is checked
 * against its digest, and blobs against their size, before success is returned.
 *
 * Errors are CannotPullContainerError with err->status = the HTTP status, or 503 when the
 * registry could not be reached (timeouts, DNS, TLS), 502 for a digest/size mismatch. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Credentials for a pull: NULL / empty username means anonymous. For wharf's own registry
 * (and ECR) the username is "AWS" and the password the GetAuthorizationToken token. */
struct image_auth {
    const char *username;
    const char *password;
};

struct registry_opts {
    const char *const *plain_http; /* NULL-terminated host[:port] list spoken to over http;
                                      loopback hosts (localhost, 127/8, [::1]) always are */
    const char *ca_file;           /* extra CA bundle for https; NULL: the system's */
    int connect_timeout_ms;        /* default 10 s */
    int read_timeout_ms;           /* default 30 s without a byte */
    int request_timeout_ms;        /* manifests, configs, tokens: default 60 s */
};

struct registry_client;

struct registry_client *registry_client_new(const struct registry_opts *o, const char *host,
                                            const char *repository, const struct image_auth *auth);
struct registry_client *registry_client_dup(const struct registry_client *c);
void registry_client_free(struct registry_client *c);
/* "http" or "https", as chosen for this client's host. */
const char *registry_client_scheme(const struct registry_client *c);

struct registry_manifest {
    char *body;
    size_t len;
    char *content_type; /* as sent, may be NULL */
    char *digest;       /* of the body: the reference's algorithm for a digest, else sha256 */
};

/* GET /v2/<repo>/manifests/<reference> with the manifest Accept list. When reference is a
 * digest the body must hash to it. A 404 is reported as "not found". */
int registry_get_manifest(struct registry_client *c, const char *reference,
                          struct registry_manifest *ret, struct wh_err *err);
void registry_manifest_free(struct registry_manifest *m);

/* GET a blob into memory (configs): at most max bytes, size and digest checked. */
int registry_get_blob_mem(struct registry_client *c, const char *digest, int64_t size, size_t max,
                          char **ret_data, size_t *ret_len, struct wh_err *err);
/* GET a blob into a new file at path (created exclusively, mode 0600), streaming and hashing
 * as it comes; size (if >= 0) and digest checked. On failure the file is removed. */
int registry_get_blob_file(struct registry_client *c, const char *digest, int64_t size,
                           const char *path, struct wh_err *err);

/* True for errors worth another attempt: unreachable registry, 5xx, 429, 408, mismatch. */
bool registry_err_retriable(const struct wh_err *err);

/* A parsed WWW-Authenticate challenge (pure; exposed for tests). */
struct auth_challenge {
    char scheme[16]; /* "Bearer", "Basic" (as sent) */
    char *realm, *service, *scope;
};
/* Parse the first challenge of a WWW-Authenticate value: scheme, then auth-params
 * name=token or name="quoted \"string\"", comma separated. -1 when it is not one. */
int registry_parse_challenge(const char *value, struct auth_challenge *ret);
void auth_challenge_free(struct auth_challenge *c);
