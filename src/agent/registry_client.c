#include "agent/registry_client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "agent/digest.h"
#include "agent/image_ref.h"
#include "agent/manifest.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/xalloc.h"

#define PULL_ERR "CannotPullContainerError"
#define ERRBODY_MAX 4096
#define TOKEN_MAX (64u << 10)

struct registry_client {
    struct registry_opts o;
    char *host, *repo;
    const char *scheme;
    char *user, *pass;
    char *auth_header; /* "Authorization: …" once a challenge was answered */
    CURL *curl;
};

struct membuf {
    char *buf;
    size_t len, cap, max;
};

/* One request's response: headers of the final response, and where the body goes. */
struct response {
    CURL *curl;
    long status;
    char *content_type, *www_auth, *docker_digest;
    struct membuf mem; /* 2xx body when fd < 0 */
    int fd;            /* 2xx body goes to this file when >= 0 */
    struct digester *dg;
    int64_t expect; /* -1: unknown */
    int64_t got;
    bool oversize;
    int write_errno;
    struct membuf errbody; /* non-2xx body, capped */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        abort();
}

static bool host_listed(const char *const *list, const char *host)
{
    for (; list && *list; list++)
        if (strcasecmp(*list, host) == 0)
            return true;
    return false;
}

struct registry_client *registry_client_new(const struct registry_opts *o, const char *host,
                                            const char *repository, const struct image_auth *auth)
{
    pthread_once(&global_once, global_init);
    struct registry_client *c = xcalloc(1, sizeof(*c));
    c->o = *o;
    if (c->o.connect_timeout_ms <= 0)
        c->o.connect_timeout_ms = 10000;
    if (c->o.read_timeout_ms <= 0)
        c->o.read_timeout_ms = 30000;
    if (c->o.request_timeout_ms <= 0)
        c->o.request_timeout_ms = 60000;
    c->host = xstrdup(host);
    c->repo = xstrdup(repository);
    c->scheme = image_host_is_loopback(host) || host_listed(o->plain_http, host) ? "http" : "https";
    if (auth && auth->username && auth->username[0]) {
        c->user = xstrdup(auth->username);
        c->pass = xstrdup(auth->password ? auth->password : "");
    }
    c->curl = curl_easy_init();
    if (!c->curl)
        abort();
    return c;
}

struct registry_client *registry_client_dup(const struct registry_client *c)
{
    struct image_auth a = {c->user, c->pass};
    struct registry_client *d = registry_client_new(&c->o, c->host, c->repo, &a);
    d->scheme = c->scheme;
    d->auth_header = c->auth_header ? xstrdup(c->auth_header) : NULL;
    return d;
}

void registry_client_free(struct registry_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->host);
    free(c->repo);
    free(c->user);
    if (c->pass)
        explicit_bzero(c->pass, strlen(c->pass));
    free(c->pass);
    if (c->auth_header)
        explicit_bzero(c->auth_header, strlen(c->auth_header));
    free(c->auth_header);
    free(c);
}

const char *registry_client_scheme(const struct registry_client *c)
{
    return c->scheme;
}

bool registry_err_retriable(const struct wh_err *err)
{
    return err->status >= 500 || err->status == 429 || err->status == 408;
}

/* ---- WWW-Authenticate ---------------------------------------------------------------- */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Read a token or a quoted-string at *pp into a new string. */
static char *read_value(const char **pp)
{
    const char *p = *pp;
    if (*p != '"') {
        size_t n = strcspn(p, ", \t");
        *pp = p + n;
        return xstrndup(p, n);
    }
    p++;
    char *out = xmalloc(strlen(p) + 1);
    size_t n = 0;
    while (*p && *p != '"') {
        if (*p == '\\' && p[1])
            p++;
        out[n++] = *p++;
    }
    out[n] = 0;
    if (*p == '"')
        p++;
    *pp = p;
    return out;
}

int registry_parse_challenge(const char *value, struct auth_challenge *ret)
{
    const char *p = skip_ws(value);
    size_t n = strcspn(p, " \t,");
    if (n == 0 || n >= sizeof(ret->scheme))
        return -1;
    struct auth_challenge ch = {0};
    memcpy(ch.scheme, p, n);
    p = skip_ws(p + n);
    while (*p) {
        size_t kn = strcspn(p, "= \t,");
        const char *key = p;
        p = skip_ws(p + kn);
        if (*p != '=') {
            if (kn == 0 && *p == ',') {
                p = skip_ws(p + 1);
                continue;
            }
            break; /* the next challenge's scheme */
        }
        p = skip_ws(p + 1);
        char *val = read_value(&p);
        char **slot = NULL;
        if (kn == 5 && strncasecmp(key, "realm", 5) == 0)
            slot = &ch.realm;
        else if (kn == 7 && strncasecmp(key, "service", 7) == 0)
            slot = &ch.service;
        else if (kn == 5 && strncasecmp(key, "scope", 5) == 0)
            slot = &ch.scope;
        if (slot && !*slot)
            *slot = val;
        else
            free(val);
        p = skip_ws(p);
        if (*p == ',')
            p = skip_ws(p + 1);
    }
    *ret = ch;
    return 0;
}

void auth_challenge_free(struct auth_challenge *c)
{
    if (!c)
        return;
    free(c->realm);
    free(c->service);
    free(c->scope);
    *c = (struct auth_challenge){0};
}

/* ---- one HTTP exchange --------------------------------------------------------------- */

static bool membuf_add(struct membuf *m, const char *p, size_t n)
{
    if (m->len + n > m->max)
        return false;
    if (m->len + n + 1 > m->cap) {
        m->cap = (m->len + n + 1) * 2;
        if (m->cap > m->max + 1)
            m->cap = m->max + 1;
        m->buf = xrealloc(m->buf, m->cap);
    }
    memcpy(m->buf + m->len, p, n);
    m->len += n;
    m->buf[m->len] = 0;
    return true;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static size_t on_body(char *p, size_t sz, size_t nmemb, void *arg)
{
    struct response *r = arg;
    size_t n = sz * nmemb;
    long code = 0;
    curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code < 200 || code >= 300) {
        size_t room = r->errbody.max - r->errbody.len;
        membuf_add(&r->errbody, p, n < room ? n : room);
        return n;
    }
    if (r->expect >= 0 && r->got + (int64_t)n > r->expect) {
        r->oversize = true;
        return 0;
    }
    if (r->fd >= 0) {
        if (!write_all(r->fd, p, n)) {
            r->write_errno = errno ? errno : EIO;
            return 0;
        }
    } else if (!membuf_add(&r->mem, p, n)) {
        r->oversize = true;
        return 0;
    }
    if (r->dg)
        digester_update(r->dg, p, n);
    r->got += (int64_t)n;
    return n;
}

static void set_hdr(char **slot, const char *v, size_t n)
{
    free(*slot);
    *slot = xstrndup(v, n);
}

static size_t on_header(char *p, size_t sz, size_t nmemb, void *arg)
{
    struct response *r = arg;
    size_t n = sz * nmemb;
    if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        /* A new response (after a redirect or a 100): forget the previous one's headers. */
        free(r->content_type);
        free(r->www_auth);
        free(r->docker_digest);
        r->content_type = r->www_auth = r->docker_digest = NULL;
        return n;
    }
    const char *colon = memchr(p, ':', n);
    if (!colon)
        return n;
    size_t kn = (size_t)(colon - p);
    const char *v = colon + 1;
    while (v < p + n && (*v == ' ' || *v == '\t'))
        v++;
    size_t vn = (size_t)(p + n - v);
    while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' '))
        vn--;
    if (kn == 12 && strncasecmp(p, "Content-Type", kn) == 0)
        set_hdr(&r->content_type, v, vn);
    else if (kn == 21 && strncasecmp(p, "Docker-Content-Digest", kn) == 0)
        set_hdr(&r->docker_digest, v, vn);
    else if (kn == 16 && strncasecmp(p, "WWW-Authenticate", kn) == 0 &&
             (!r->www_auth || (strncasecmp(r->www_auth, "Bearer", 6) != 0 &&
                               vn >= 6 && strncasecmp(v, "Bearer", 6) == 0)))
        set_hdr(&r->www_auth, v, vn); /* prefer a Bearer challenge when several are sent */
    return n;
}

static void response_reset(struct response *r)
{
    free(r->content_type);
    free(r->www_auth);
    free(r->docker_digest);
    r->content_type = r->www_auth = r->docker_digest = NULL;
    r->errbody.len = 0;
    r->status = 0;
}

static void response_free(struct response *r)
{
    response_reset(r);
    free(r->errbody.buf);
    free(r->mem.buf);
    digester_free(r->dg);
    *r = (struct response){.fd = -1};
}

/* Configure the handle for one GET. whole: also cap the whole request's duration. */
static struct curl_slist *setup(struct registry_client *c, CURL *h, const char *url,
                                const char *accept, const char *auth, struct response *r,
                                bool whole, char *errbuf)
{
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->o.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)((c->o.read_timeout_ms + 999) / 1000));
    if (whole)
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->o.request_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "wharf-agent");
    if (c->o.ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->o.ca_file);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    struct curl_slist *hdrs = NULL;
    if (accept) {
        cleanup_free char *a = xasprintf("Accept: %s", accept);
        hdrs = curl_slist_append(hdrs, a);
    }
    if (auth)
        hdrs = curl_slist_append(hdrs, auth);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    r->curl = h;
    return hdrs;
}

/* The "CODE: message" of an OCI error body, or its first line. */
static void server_message(const struct response *r, char *out, size_t n)
{
    out[0] = 0;
    if (!r->errbody.len)
        return;
    json_auto_t *j = json_loadb(r->errbody.buf, r->errbody.len, 0, NULL);
    json_t *e = json_array_get(json_object_get(j, "errors"), 0);
    if (e) {
        const char *code = json_str(e, "code"), *msg = json_str(e, "message");
        snprintf(out, n, "%s%s%s", code ? code : "", code && msg ? ": " : "", msg ? msg : "");
        return;
    }
    size_t len = strcspn(r->errbody.buf, "\r\n");
    snprintf(out, n, "%.*s", (int)(len > 200 ? 200 : len), r->errbody.buf);
}

static int net_error(const char *url, CURLcode cc, const char *errbuf, struct wh_err *err)
{
    return wh_err_set(err, 503, PULL_ERR, "GET %s: %s", url,
                      errbuf[0] ? errbuf : curl_easy_strerror(cc));
}

static int fetch_token(struct registry_client *c, const struct auth_challenge *ch,
                       struct wh_err *err);

/* "Authorization: Basic base64(user:pass)" */
static char *basic_header(const struct registry_client *c)
{
    cleanup_free char *up = xasprintf("%s:%s", c->user, c->pass);
    cleanup_free char *b64 = base64_encode(up, strlen(up));
    explicit_bzero(up, strlen(up));
    return xasprintf("Authorization: Basic %s", b64);
}

/* Answer a 401: true when a new Authorization header is ready to retry with. */
static int answer_challenge(struct registry_client *c, const struct response *r, int round,
                            struct wh_err *err)
{
    struct auth_challenge ch;
    if (!r->www_auth || registry_parse_challenge(r->www_auth, &ch) < 0)
        return 0;
    int ret = 0;
    if (strcasecmp(ch.scheme, "Bearer") == 0) {
        if (fetch_token(c, &ch, err) < 0)
            ret = -1;
        else
            ret = 1;
    } else if (strcasecmp(ch.scheme, "Basic") == 0 && c->user && round == 0) {
        free(c->auth_header);
        c->auth_header = basic_header(c);
        ret = 1;
    }
    auth_challenge_free(&ch);
    return ret;
}

/* GET url into r, answering up to two auth challenges. 0 with r->status set (any status), or
 * -1 when the registry could not be reached or the body did not fit. */
static int do_get(struct registry_client *c, const char *url, const char *accept,
                  struct response *r, bool whole, struct wh_err *err)
{
    for (int round = 0;; round++) {
        response_reset(r);
        char errbuf[CURL_ERROR_SIZE] = "";
        struct curl_slist *hdrs = setup(c, c->curl, url, accept, c->auth_header, r, whole, errbuf);
        CURLcode cc = curl_easy_perform(c->curl);
        curl_slist_free_all(hdrs);
        if (r->oversize)
            return wh_err_set(err, 502, PULL_ERR, "GET %s: response is larger than %s", url,
                              r->expect >= 0 ? "the size in the manifest" : "allowed");
        if (r->write_errno)
            return wh_err_set(err, 500, PULL_ERR, "GET %s: cannot write: %s", url,
                              strerror(r->write_errno));
        if (cc != CURLE_OK)
            return net_error(url, cc, errbuf, err);
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
        if (r->status != 401 || round >= 2)
            return 0;
        int a = answer_challenge(c, r, round, err);
        if (a < 0)
            return -1;
        if (a == 0)
            return 0;
    }
}

static int status_error(const struct response *r, const char *url, const char *what,
                        struct wh_err *err)
{
    char msg[512];
    server_message(r, msg, sizeof(msg));
    const char *sep = msg[0] ? ": server message: " : "";
    if (r->status == 401 || r->status == 403)
        return wh_err_set(err, (int)r->status, PULL_ERR,
                          "pull access denied, repository does not exist or may require "
                          "authorization%s%s",
                          sep, msg);
    if (r->status == 404)
        return wh_err_set(err, 404, PULL_ERR, "%s", what);
    return wh_err_set(err, (int)r->status, PULL_ERR, "GET %s: unexpected status %ld%s%s", url,
                      r->status, sep, msg);
}

/* realm?service=…&scope=… (the challenge's scope, else pull access to our repository). */
static char *token_url(struct registry_client *c, const struct auth_challenge *ch)
{
    cleanup_free char *def_scope = xasprintf("repository:%s:pull", c->repo);
    char *svc = curl_easy_escape(c->curl, ch->service ? ch->service : "", 0);
    char *scope = curl_easy_escape(c->curl, ch->scope ? ch->scope : def_scope, 0);
    char *url = xasprintf("%s%cservice=%s&scope=%s", ch->realm,
                          strchr(ch->realm, '?') ? '&' : '?', svc, scope);
    curl_free(svc);
    curl_free(scope);
    return url;
}

/* The token of a 200 token response, "token" or (OAuth2 style) "access_token". */
static int take_token(struct registry_client *c, const struct response *r, const char *realm,
                      struct wh_err *err)
{
    json_auto_t *j = r->mem.buf ? json_loadb(r->mem.buf, r->mem.len, 0, NULL) : NULL;
    const char *tok = json_str(j, "token");
    if (!tok || !tok[0])
        tok = json_str(j, "access_token");
    if (!tok || !tok[0] || strpbrk(tok, "\r\n"))
        return wh_err_set(err, 502, PULL_ERR, "token response from %s has no token", realm);
    free(c->auth_header);
    c->auth_header = xasprintf("Authorization: Bearer %s", tok);
    return 0;
}

static int fetch_token(struct registry_client *c, const struct auth_challenge *ch,
                       struct wh_err *err)
{
    if (!ch->realm || (strncmp(ch->realm, "https://", 8) != 0 && strncmp(ch->realm, "http://", 7)))
        return wh_err_set(err, 401, PULL_ERR, "bearer challenge has no usable realm: '%s'",
                          ch->realm ? ch->realm : "");
    cleanup_free char *url = token_url(c, ch);
    cleanup_free char *basic = c->user ? basic_header(c) : NULL;
    CURL *h = curl_easy_init();
    if (!h)
        abort();
    struct response r = {.fd = -1, .expect = -1};
    r.mem.max = TOKEN_MAX;
    r.errbody.max = ERRBODY_MAX;
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = setup(c, h, url, "application/json", basic, &r, true, errbuf);
    CURLcode cc = curl_easy_perform(h);
    curl_slist_free_all(hdrs);
    if (cc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    int ret;
    if (cc != CURLE_OK && r.oversize) {
        ret = wh_err_set(err, 502, PULL_ERR, "token response from %s is too large", ch->realm);
    } else if (cc != CURLE_OK) {
        ret = net_error(ch->realm, cc, errbuf, err);
    } else if (r.status != 200) {
        char msg[512];
        server_message(&r, msg, sizeof(msg));
        ret = wh_err_set(err, r.status == 401 || r.status == 403 ? 401 : 502, PULL_ERR,
                         "pull access denied: token request to %s failed with status %ld%s%s",
                         ch->realm, r.status, msg[0] ? ": " : "", msg);
    } else {
        ret = take_token(c, &r, ch->realm, err);
    }
    if (r.mem.buf)
        explicit_bzero(r.mem.buf, r.mem.len);
    if (basic)
        explicit_bzero(basic, strlen(basic));
    response_free(&r);
    curl_easy_cleanup(h);
    return ret;
}

/* ---- manifests and blobs ------------------------------------------------------------- */

int registry_get_manifest(struct registry_client *c, const char *reference,
                          struct registry_manifest *ret, struct wh_err *err)
{
    cleanup_free char *url = xasprintf("%s://%s/v2/%s/manifests/%s", c->scheme, c->host, c->repo,
                                       reference);
    struct response r = {.fd = -1, .expect = -1};
    r.mem.max = MANIFEST_MAX_BYTES;
    r.errbody.max = ERRBODY_MAX;
    int rc = do_get(c, url, MANIFEST_ACCEPT, &r, true, err);
    if (rc == 0 && r.status != 200)
        rc = status_error(&r, url, "not found", err);
    if (rc < 0) {
        response_free(&r);
        return -1;
    }
    bool by_digest = image_digest_valid(reference);
    char *digest = digest_compute(by_digest ? reference : "sha256", r.mem.buf ? r.mem.buf : "",
                                  r.mem.len);
    if (by_digest && strcmp(digest, reference) != 0) {
        wh_err_set(err, 502, PULL_ERR, "manifest %s: digest mismatch: content hashes to %s",
                   reference, digest);
        free(digest);
        response_free(&r);
        return -1;
    }
    if (!by_digest && r.docker_digest && strncmp(r.docker_digest, "sha256:", 7) == 0 &&
        strcmp(r.docker_digest, digest) != 0) {
        wh_err_set(err, 502, PULL_ERR,
                   "manifest %s: Docker-Content-Digest %s does not match the content (%s)",
                   reference, r.docker_digest, digest);
        free(digest);
        response_free(&r);
        return -1;
    }
    *ret = (struct registry_manifest){
        .body = r.mem.buf ? TAKE_PTR(r.mem.buf) : xstrdup(""),
        .len = r.mem.len,
        .content_type = TAKE_PTR(r.content_type),
        .digest = digest,
    };
    response_free(&r);
    return 0;
}

void registry_manifest_free(struct registry_manifest *m)
{
    if (!m)
        return;
    free(m->body);
    free(m->content_type);
    free(m->digest);
    *m = (struct registry_manifest){0};
}

/* GET a blob into r (memory or file), then check size and digest. */
static int get_blob(struct registry_client *c, const char *digest, int64_t size,
                    struct response *r, struct wh_err *err)
{
    r->dg = digester_new(digest);
    if (!r->dg)
        return wh_err_set(err, 500, PULL_ERR, "blob %s: unsupported digest algorithm", digest);
    r->expect = size;
    r->errbody.max = ERRBODY_MAX;
    cleanup_free char *url = xasprintf("%s://%s/v2/%s/blobs/%s", c->scheme, c->host, c->repo,
                                       digest);
    cleanup_free char *what = xasprintf("blob %s not found", digest);
    if (do_get(c, url, NULL, r, r->fd < 0, err) < 0)
        return wh_err_prefix(err, "blob %s: ", digest);
    if (r->status != 200) {
        status_error(r, url, what, err);
        return r->status == 404 ? -1 : wh_err_prefix(err, "blob %s: ", digest);
    }
    if (size >= 0 && r->got != size)
        return wh_err_set(err, 502, PULL_ERR,
                          "blob %s: size mismatch: got %lld bytes, expected %lld", digest,
                          (long long)r->got, (long long)size);
    struct digester *dg = TAKE_PTR(r->dg);
    cleanup_free char *got = digester_finish(dg);
    if (strcmp(got, digest) != 0)
        return wh_err_set(err, 502, PULL_ERR, "blob %s: digest mismatch: content hashes to %s",
                          digest, got);
    return 0;
}

int registry_get_blob_mem(struct registry_client *c, const char *digest, int64_t size, size_t max,
                          char **ret_data, size_t *ret_len, struct wh_err *err)
{
    if (size > (int64_t)max)
        return wh_err_set(err, 500, PULL_ERR, "blob %s: size %lld is over the %zu-byte limit",
                          digest, (long long)size, max);
    struct response r = {.fd = -1};
    r.mem.max = max;
    int rc = get_blob(c, digest, size, &r, err);
    if (rc == 0) {
        *ret_data = r.mem.buf ? TAKE_PTR(r.mem.buf) : xstrdup("");
        *ret_len = r.mem.len;
    }
    response_free(&r);
    return rc;
}

int registry_get_blob_file(struct registry_client *c, const char *digest, int64_t size,
                           const char *path, struct wh_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return wh_err_set(err, 500, PULL_ERR, "blob %s: cannot create %s: %s", digest, path,
                          strerror(errno));
    struct response r = {.fd = fd};
    int rc = get_blob(c, digest, size, &r, err);
    r.fd = -1;
    response_free(&r);
    if (close(fd) < 0 && rc == 0)
        rc = wh_err_set(err, 500, PULL_ERR, "blob %s: cannot write %s: %s", digest, path,
                        strerror(errno));
    if (rc < 0)
        unlink(path);
    return rc;
}
