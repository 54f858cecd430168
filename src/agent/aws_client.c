#include "agent/aws_client.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent/http_client.h"
#include "aws/sigv4.h"
#include "core/crypto.h"
#include "core/fsutil.h"
#include "core/json.h"
#include "core/xalloc.h"

struct aws_client {
    char *endpoint, *host, *region, *access_key, *secret;
    char *conn_host, *port; /* where to connect (host is what is signed: host[:port]) */
    const volatile int *abort_flag;
};

void aws_client_set_abort(struct aws_client *c, const volatile int *flag)
{
    c->abort_flag = flag;
}

/* The first profile with both keys, or the named one. */
static int read_keys(const char *path, const char *profile, char **ret_key, char **ret_secret,
                     struct wh_err *err)
{
    cleanup_free char *text = NULL;
    int r = fs_read_file(path, 1 << 20, &text, NULL);
    if (r < 0)
        return wh_err_set(err, 0, "ConfigError", "cannot read credentials file %s: %s", path,
                          strerror(-r));
    char *key = NULL, *secret = NULL, *section = NULL;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        while (*line == ' ' || *line == '\t')
            line++;
        if (*line == '[') {
            if (key && secret && (!profile || (section && strcmp(section, profile) == 0)))
                break;
            free(key);
            free(secret);
            key = secret = NULL;
            free(section);
            char *end = strchr(line, ']');
            section = xstrndup(line + 1, end ? (size_t)(end - line - 1) : strlen(line + 1));
            continue;
        }
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        char *k = line, *v = eq + 1;
        *eq = 0;
        for (char *e = eq - 1; e >= k && (*e == ' ' || *e == '\t'); e--)
            *e = 0;
        while (*v == ' ' || *v == '\t')
            v++;
        for (char *e = v + strlen(v) - 1; e >= v && (*e == ' ' || *e == '\t' || *e == '\r'); e--)
            *e = 0;
        if (strcmp(k, "aws_access_key_id") == 0) {
            free(key);
            key = xstrdup(v);
        } else if (strcmp(k, "aws_secret_access_key") == 0) {
            free(secret);
            secret = xstrdup(v);
        }
    }
    bool ok = key && secret && (!profile || (section && strcmp(section, profile) == 0));
    free(section);
    if (!ok) {
        free(key);
        free(secret);
        return wh_err_set(err, 0, "ConfigError", "credentials file %s has no %s%s%s key pair",
                          path, profile ? "profile '" : "usable", profile ? profile : "",
                          profile ? "'" : "");
    }
    *ret_key = key;
    *ret_secret = secret;
    return 0;
}

int aws_client_new(const char *endpoint, const char *region, const char *credentials_file,
                   const char *profile, struct aws_client **ret_client, struct wh_err *err)
{
    char *conn_host, *port;
    if (http_parse_url(endpoint, &conn_host, &port, err) < 0)
        return -1;
    const char *h = endpoint + strlen("http://");
    struct aws_client *c = xcalloc(1, sizeof(*c));
    c->conn_host = conn_host;
    c->port = port;
    if (read_keys(credentials_file, profile, &c->access_key, &c->secret, err) < 0) {
        aws_client_free(c);
        return -1;
    }
    c->endpoint = xstrdup(endpoint);
    size_t hl = strcspn(h, "/");
    c->host = xstrndup(h, hl);
    c->region = xstrdup(region);
    *ret_client = c;
    return 0;
}

void aws_client_free(struct aws_client *c)
{
    if (!c)
        return;
    free(c->endpoint);
    free(c->host);
    free(c->region);
    free(c->access_key);
    free(c->secret);
    free(c->conn_host);
    free(c->port);
    free(c);
}

const char *aws_client_endpoint(const struct aws_client *c)
{
    return c->endpoint;
}

const char *aws_client_region(const struct aws_client *c)
{
    return c->region;
}

void aws_client_sign(const char *access_key, const char *secret, const char *region,
                     const char *service, const char *host, const char *target,
                     const char *body, size_t body_len, time_t now, char out_auth[2048],
                     char out_date[64])
{
    struct tm tm;
    gmtime_r(&now, &tm);
    struct sigv4_auth auth = {0};
    strftime(auth.amz_date, sizeof(auth.amz_date), "%Y%m%dT%H%M%SZ", &tm);
    memcpy(auth.date, auth.amz_date, 8);
    snprintf(auth.access_key, sizeof(auth.access_key), "%s", access_key);
    snprintf(auth.region, sizeof(auth.region), "%s", region);
    snprintf(auth.service, sizeof(auth.service), "%s", service);
    snprintf(auth.signed_headers, sizeof(auth.signed_headers),
             "content-type;host;x-amz-date;x-amz-target");
    char body_hash[SHA256_HEX_LEN + 1];
    sha256_hex(body, body_len, body_hash);
    struct sigv4_header headers[] = {
        {"Content-Type", "application/x-amz-json-1.1"},
        {"Host", host},
        {"X-Amz-Date", auth.amz_date},
        {"X-Amz-Target", target},
    };
    struct sigv4_request req = {.method = "POST", .path = "/", .headers = headers,
                                .nheaders = 4, .payload_hash = body_hash};
    char sig[65];
    sigv4_signature(&req, &auth, secret, sig);
    snprintf(out_auth, 2048,
             "Authorization: AWS4-HMAC-SHA256 Credential=%.128s/%s/%.32s/%.32s/aws4_request, "
             "SignedHeaders=%s, Signature=%s",
             access_key, auth.date, region, service, auth.signed_headers, sig);
    snprintf(out_date, 64, "X-Amz-Date: %s", auth.amz_date);
}

int aws_client_call(struct aws_client *c, const char *service, const char *target,
                    const json_t *in, long timeout_ms, json_t **ret_out, struct wh_err *err)
{
    cleanup_free char *body = json_text(in);
    size_t body_len = strlen(body);
    char auth[2048], date[64], tgt[256];
    aws_client_sign(c->access_key, c->secret, c->region, service, c->host, target, body,
                    body_len, time(NULL), auth, date);
    snprintf(tgt, sizeof(tgt), "X-Amz-Target: %s", target);
    const char *hdrs[] = {"Content-Type: application/x-amz-json-1.1", tgt, date, auth, NULL};
    struct http_request rq = {
        .host = c->conn_host, .port = c->port, .method = "POST", .path = "/",
        .headers = hdrs, .body = body, .body_len = body_len,
        .connect_timeout_ms = 5000, .timeout_ms = (int)timeout_ms,
        .abort_flag = c->abort_flag,
    };
    struct http_response resp;
    if (http_do(&rq, &resp, err) < 0)
        return wh_err_prefix(err, "%s to %s: ", target, c->endpoint);
    long status = resp.status;
    json_error_t je;
    json_t *out = resp.body_len ? json_loadb(resp.body, resp.body_len, 0, &je) : json_object();
    if (!out) {
        wh_err_set(err, (int)status, "TransportError", "%s: answer is not JSON (HTTP %ld): %.200s",
                   target, status, resp.body);
        http_response_free(&resp);
        return -1;
    }
    http_response_free(&resp);
    if (status != 200) {
        const char *type = json_str(out, "__type");
        const char *msg = json_str(out, "message");
        wh_err_set(err, (int)status, type ? type : "UnknownError", "%s", msg ? msg : "");
        json_decref(out);
        return -1;
    }
    *ret_out = out;
    return 0;
}
