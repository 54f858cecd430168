#include "agent/aws_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "aws/sigv4.h"
#include "core/crypto.h"
#include "core/fsutil.h"
#include "core/json.h"
#include "core/xalloc.h"

struct aws_client {
    char *endpoint, *host, *region, *access_key, *secret;
    const volatile int *abort_flag;
};

void aws_client_set_abort(struct aws_client *c, const volatile int *flag)
{
    c->abort_flag = flag;
}

/* libcurl calls this at least once a second during a transfer, idle or not. */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    const volatile int *flag = arg;
    return *flag ? 1 : 0;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
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
    pthread_once(&curl_once, curl_init_once);
    const char *h = strstr(endpoint, "://");
    if (!h || strncmp(endpoint, "http", 4) != 0)
        return wh_err_set(err, 0, "ConfigError", "endpoint %s: expected http://HOST:PORT", endpoint);
    h += 3;
    struct aws_client *c = xcalloc(1, sizeof(*c));
    if (read_keys(credentials_file, profile, &c->access_key, &c->secret, err) < 0) {
        free(c);
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

struct buf {
    char *p;
    size_t len;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;
    size_t add = size * n;
    if (b->len + add > (64u << 20))
        return 0; /* refuse absurd answers */
    b->p = xrealloc(b->p, b->len + add + 1);
    memcpy(b->p + b->len, data, add);
    b->len += add;
    b->p[b->len] = 0;
    return add;
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
    CURL *h = curl_easy_init();
    if (!h)
        return wh_err_set(err, 0, "TransportError", "curl_easy_init failed");
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, "Content-Type: application/x-amz-json-1.1");
    hdrs = curl_slist_append(hdrs, tgt);
    hdrs = curl_slist_append(hdrs, date);
    hdrs = curl_slist_append(hdrs, auth);
    hdrs = curl_slist_append(hdrs, "Expect:");
    struct buf resp = {0};
    cleanup_free char *url = xasprintf("%s/", c->endpoint);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (c->abort_flag) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)c->abort_flag);
    }
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK) {
        free(resp.p);
        return wh_err_set(err, 0, "TransportError", "%s to %s: %s", target, c->endpoint,
                          curl_easy_strerror(rc));
    }
    json_error_t je;
    json_t *out = resp.p ? json_loads(resp.p, 0, &je) : json_object();
    if (!out) {
        wh_err_set(err, (int)status, "TransportError", "%s: answer is not JSON (HTTP %ld): %.200s",
                   target, status, resp.p);
        free(resp.p);
        return -1;
    }
    free(resp.p);
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
