/* Registry authentication: Basic and Bearer, the challenge, the token endpoint. */
#include "registry/auth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/crypto.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "registry/errors.h"
#include "registry/request.h"

#define SERVICE "wharf"

/* The password of "Basic base64(user:password)"; user must be AWS, as ECR's is. */
static int basic_password(const char *b64, char **ret, struct wh_err *err)
{
    size_t n = strlen(b64);
    if (n > 8192)
        return oci_err(err, OCI_UNAUTHORIZED, "the Authorization header is too long");
    cleanup_free uint8_t *raw = xmalloc(n + 4);
    long len = base64_decode(b64, raw);
    if (len < 0 || memchr(raw, 0, (size_t)len))
        return oci_err(err, OCI_UNAUTHORIZED, "the Basic credentials are not valid base64");
    raw[len] = 0;
    char *colon = strchr((char *)raw, ':');
    if (!colon)
        return oci_err(err, OCI_UNAUTHORIZED, "the Basic credentials hold no ':'");
    *colon = 0;
    if (strcmp((char *)raw, "AWS") != 0)
        return oci_err(err, OCI_UNAUTHORIZED,
                       "user '%.64s' is not accepted: log in as user AWS with the password of "
                       "`aws ecr get-login-password`",
                       (char *)raw);
    *ret = xstrdup(colon + 1);
    return 0;
}

int registry_auth(const struct wharf_app *app, const char *authorization, double now,
                  struct registry_principal *ret, char **ret_password, struct wh_err *err)
{
    if (!authorization || !*authorization)
        return oci_err(err, OCI_UNAUTHORIZED,
                       "authentication required: log in as user AWS with the password of "
                       "`aws ecr get-login-password`");
    cleanup_free char *password = NULL;
    if (strncasecmp(authorization, "Basic ", 6) == 0) {
        if (basic_password(authorization + 6, &password, err) < 0)
            return -1;
    } else if (strncasecmp(authorization, "Bearer ", 7) == 0) {
        password = xstrdup(authorization + 7);
    } else {
        return oci_err(err, OCI_UNAUTHORIZED, "unsupported Authorization scheme");
    }
    struct registry_principal p;
    if (registry_token_verify(app, password, now, &p, err) < 0)
        return -1;
    *ret = p;
    if (ret_password)
        *ret_password = TAKE_PTR(password);
    return 0;
}

void registry_auth_challenge(const struct http_req *req, struct http_resp *resp,
                             const struct wh_err *err)
{
    oci_render_error(resp, err);
    const char *host = http_req_header(req, "Host");
    /* A Host header is the client's own; keep only characters a host:port may hold. */
    char safe[256];
    size_t n = 0;
    for (const char *p = host ? host : "localhost"; *p && n < sizeof(safe) - 1; p++)
        if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]", *p))
            safe[n++] = *p;
    safe[n] = 0;
    cleanup_free char *challenge =
        xasprintf("Bearer realm=\"http://%s/v2/token\",service=\"" SERVICE "\"", safe);
    http_resp_add_header(resp, "WWW-Authenticate", challenge);
}

int token_begin(struct reg_req *rq, struct http_resp *resp)
{
    /* routes.c authenticated the request (Basic or Bearer) before calling us. */
    char issued[32];
    time_t t = (time_t)rq->now;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(issued, sizeof(issued), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_auto_t *j = json_pack("{s:s, s:s, s:I, s:s}", "token", rq->password, "access_token",
                               rq->password, "expires_in",
                               (json_int_t)(rq->who.expires - rq->now), "issued_at", issued);
    reg_resp_json(resp, 200, "application/json", json_text(j));
    return 1;
}
