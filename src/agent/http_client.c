#include "agent/http_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/xalloc.h"

#define TE "TransportError"

void http_response_free(struct http_response *r)
{
    if (!r)
        return;
    free(r->body);
    *r = (struct http_response){0};
}

/* ---- parsing (pure) ---------------------------------------------------------------- */

static const char *find_crlf(const char *p, const char *end)
{
    for (; p + 1 < end; p++)
        if (p[0] == '\r' && p[1] == '\n')
            return p;
    return NULL;
}

/* The value of header name in the head [p, end) (lines "Name: value\r\n"), or NULL. */
static const char *header(const char *p, const char *end, const char *name, size_t *ret_len)
{
    size_t nl = strlen(name);
    for (const char *e; p < end && (e = find_crlf(p, end + 2)); p = e + 2) {
        if ((size_t)(e - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = e;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            *ret_len = (size_t)(ve - v);
            return v;
        }
    }
    return NULL;
}

static bool value_is(const char *v, size_t len, const char *want)
{
    return v && len == strlen(want) && strncasecmp(v, want, len) == 0;
}

/* Decode a chunked body starting at p. 1 done (*ret_end past the trailer), 0 need more,
 * -1 malformed. */
static int dechunk(const char *p, const char *end, char **ret_body, size_t *ret_len,
                   const char **ret_end, struct wh_err *err)
{
    char *body = NULL;
    size_t len = 0;
    for (;;) {
        const char *e = find_crlf(p, end);
        if (!e)
            goto more;
        char *num_end;
        errno = 0;
        unsigned long long n = strtoull(p, &num_end, 16);
        if (num_end == p || errno || (*num_end != '\r' && *num_end != ';'))
            goto bad;
        if (n > HTTP_MAX_BODY || len + n > HTTP_MAX_BODY) {
            free(body);
            return wh_err_set(err, 0, TE, "response body over %u bytes", HTTP_MAX_BODY);
        }
        p = e + 2;
        if (n == 0) {
            /* Trailer fields, then an empty line. */
            for (;;) {
                const char *t = find_crlf(p, end);
                if (!t)
                    goto more;
                bool last = t == p;
                p = t + 2;
                if (last)
                    break;
            }
            body = xrealloc(body, len + 1);
            body[len] = 0;
            *ret_body = body;
            *ret_len = len;
            *ret_end = p;
            return 1;
        }
        if ((size_t)(end - p) < n + 2)
            goto more;
        if (p[n] != '\r' || p[n + 1] != '\n')
            goto bad;
        body = xrealloc(body, len + n + 1);
        memcpy(body + len, p, n);
        len += n;
        p += n + 2;
    }
more:
    free(body);
    return 0;
bad:
    free(body);
    return wh_err_set(err, 0, TE, "malformed chunked response body near '%.20s'", p);
}

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "HTTP/1.x SSS[ reason]": the minor version (>= 0) and *ret the status, or -1. */
static int parse_status(const char *p, const char *e, int *ret, struct wh_err *err)
{
    size_t n = (size_t)(e - p);
    if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ' ||
        !digit(p[9]) || !digit(p[10]) || !digit(p[11]) || (n > 12 && p[12] != ' ') ||
        p[9] == '0')
        return wh_err_set(err, 0, TE, "malformed status line '%.*s'", (int)(n < 80 ? n : 80), p);
    *ret = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    return p[7] - '0';
}

/* Body by Content-Length: 1 done, 0 need more, -1 error. */
static int body_sized(const char *cl, size_t cl_len, const char *body, const char *end, bool eof,
                      struct http_response *r, const char **ret_stop, struct wh_err *err)
{
    char *ce;
    errno = 0;
    unsigned long long n = strtoull(cl, &ce, 10);
    if (ce != cl + cl_len || cl_len == 0 || errno || *cl == '-')
        return wh_err_set(err, 0, TE, "bad Content-Length '%.*s'", (int)cl_len, cl);
    if (n > HTTP_MAX_BODY)
        return wh_err_set(err, 0, TE, "Content-Length %llu over %u bytes", n, HTTP_MAX_BODY);
    if ((size_t)(end - body) < n) {
        if (eof)
            return wh_err_set(err, 0, TE, "connection closed after %zu of %llu body bytes",
                              (size_t)(end - body), n);
        return 0;
    }
    r->body = xstrndup(body, (size_t)n);
    r->body_len = (size_t)n;
    *ret_stop = body + n;
    return 1;
}

/* Body up to the close (no length given); the connection cannot be reused. */
static int body_to_close(const char *body, const char *end, bool eof, struct http_response *r,
                         const char **ret_stop, struct wh_err *err)
{
    if ((size_t)(end - body) > HTTP_MAX_BODY)
        return wh_err_set(err, 0, TE, "response body over %u bytes", HTTP_MAX_BODY);
    if (!eof)
        return 0;
    r->body = xstrndup(body, (size_t)(end - body));
    r->body_len = (size_t)(end - body);
    r->keep_alive = false;
    *ret_stop = end;
    return 1;
}

static int body_chunked(const char *body, const char *end, bool eof, struct http_response *r,
                        const char **ret_stop, struct wh_err *err)
{
    int c = dechunk(body, end, &r->body, &r->body_len, ret_stop, err);
    if (c == 0 && eof)
        return wh_err_set(err, 0, TE, "connection closed inside a chunked body");
    return c;
}

int http_parse_response(const char *buf, size_t len, bool eof, struct http_response *ret,
                        size_t *ret_used, struct wh_err *err)
{
    const char *end = buf + len, *head_end = memmem(buf, len, "\r\n\r\n", 4);
    if (!head_end) {
        if (len > HTTP_MAX_HEAD)
            return wh_err_set(err, 0, TE, "response head over %u bytes", HTTP_MAX_HEAD);
        if (eof)
            return wh_err_set(err, 0, TE, "connection closed after %zu bytes, before the "
                                          "response head ended", len);
        return 0;
    }
    const char *line_end = find_crlf(buf, head_end + 2);
    int status = 0;
    int minor = parse_status(buf, line_end, &status, err);
    if (minor < 0)
        return -1;
    const char *hdrs = line_end + 2, *body = head_end + 4, *stop = body;
    if (status < 200) { /* an interim answer (100 Continue): the real one follows */
        size_t used;
        int r = http_parse_response(body, (size_t)(end - body), eof, ret, &used, err);
        if (r == 1)
            *ret_used = (size_t)(body - buf) + used;
        return r;
    }
    size_t vl = 0, tl = 0, cl_len = 0;
    const char *conn = header(hdrs, head_end, "Connection", &vl);
    const char *te = header(hdrs, head_end, "Transfer-Encoding", &tl);
    const char *cl = header(hdrs, head_end, "Content-Length", &cl_len);
    bool keep = minor >= 1 ? !value_is(conn, vl, "close") : value_is(conn, vl, "keep-alive");
    struct http_response r = {.status = status, .keep_alive = keep};
    int done;
    if (status == 204 || status == 304) {
        r.body = xstrdup("");
        done = 1;
    } else if (te && !value_is(te, tl, "identity")) {
        if (!value_is(te, tl, "chunked"))
            return wh_err_set(err, 0, TE, "unsupported Transfer-Encoding '%.*s'", (int)tl, te);
        done = body_chunked(body, end, eof, &r, &stop, err);
    } else if (cl) {
        done = body_sized(cl, cl_len, body, end, eof, &r, &stop, err);
    } else {
        done = body_to_close(body, end, eof, &r, &stop, err);
    }
    if (done == 1) {
        *ret = r;
        *ret_used = (size_t)(stop - buf);
    }
    return done;
}

int http_parse_url(const char *url, char **ret_host, char **ret_port, struct wh_err *err)
{
    if (strncasecmp(url, "https://", 8) == 0)
        return wh_err_set(err, 0, "ConfigError", "endpoint %s: https is not supported; the "
                          "agent speaks plain http to wharfd (use http://HOST:PORT)", url);
    if (strncasecmp(url, "http://", 7) != 0)
        return wh_err_set(err, 0, "ConfigError", "endpoint %s: expected http://HOST:PORT", url);
    const char *h = url + 7;
    size_t hl = strcspn(h, "/?#");
    if (hl == 0)
        return wh_err_set(err, 0, "ConfigError", "endpoint %s: no host", url);
    const char *colon = NULL;
    if (h[0] == '[') { /* [v6]:port */
        const char *rb = memchr(h, ']', hl);
        if (!rb)
            return wh_err_set(err, 0, "ConfigError", "endpoint %s: unclosed '['", url);
        colon = rb + 1 < h + hl && rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = memchr(h, ':', hl);
    }
    const char *port = colon ? colon + 1 : "80";
    size_t pl = colon ? (size_t)(h + hl - port) : 2;
    if (pl == 0 || strspn(port, "0123456789") < pl)
        return wh_err_set(err, 0, "ConfigError", "endpoint %s: bad port", url);
    *ret_host = xstrndup(h, colon ? (size_t)(colon - h) : hl);
    *ret_port = xstrndup(port, pl);
    return 0;
}

/* ---- transport --------------------------------------------------------------------- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline, in slices of at most a second so the abort flag is
 * seen. 1 ready, or -1 with err (timeout, abort). */
static int wait_fd(int fd, short events, long long deadline, const struct http_request *rq,
                   const char *what, struct wh_err *err)
{
    for (;;) {
        if (rq->abort_flag && *rq->abort_flag)
            return wh_err_set(err, 0, TE, "%s %s:%s: aborted", what, rq->host, rq->port);
        long long left = deadline - now_ms();
        if (left <= 0)
            return wh_err_set(err, 0, TE, "%s %s:%s: timed out", what, rq->host, rq->port);
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, (int)(left < 1000 ? left : 1000));
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return wh_err_set(err, 0, TE, "poll: %s", strerror(errno));
    }
}

static int dial(const struct http_request *rq, long long deadline, struct wh_err *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    char host[256];
    size_t hl = strlen(rq->host);
    if (rq->host[0] == '[' && hl > 2)
        snprintf(host, sizeof(host), "%.*s", (int)(hl - 2), rq->host + 1);
    else
        snprintf(host, sizeof(host), "%s", rq->host);
    int g = getaddrinfo(host, rq->port, &hints, &ai);
    if (g != 0)
        return wh_err_set(err, 0, TE, "resolve %s: %s", host, gai_strerror(g));
    int fd = -1;
    struct wh_err last = {0};
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) {
            wh_err_set(&last, 0, TE, "socket: %s", strerror(errno));
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        int e = errno, soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (e == EINPROGRESS && wait_fd(fd, POLLOUT, deadline, rq, "connect to", &last) > 0 &&
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
            break;
        if (e != EINPROGRESS || soerr)
            wh_err_set(&last, 0, TE, "connect to %s:%s: %s", rq->host, rq->port,
                       strerror(soerr ? soerr : e));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0) {
        if (err)
            *err = last;
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static int send_all(int fd, const char *p, size_t len, long long deadline,
                    const struct http_request *rq, struct wh_err *err)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n, len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return wh_err_set(err, 0, TE, "send to %s:%s: %s", rq->host, rq->port,
                              strerror(errno));
        if (wait_fd(fd, POLLOUT, deadline, rq, "send to", err) < 0)
            return -1;
    }
    return 0;
}

/* Read until a whole response parses. ret_nothing: the peer closed before sending a byte
 * (a kept connection the server had dropped: worth one retry on a new one). */
static int recv_response(int fd, long long deadline, const struct http_request *rq,
                         struct http_response *ret, bool *ret_nothing, struct wh_err *err)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    *ret_nothing = false;
    for (;;) {
        if (cap - len < 16384) {
            cap = cap ? cap * 2 : 32768;
            buf = xrealloc(buf, cap);
        }
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(fd, POLLIN, deadline, rq, "waiting for", err) < 0)
                break;
            continue;
        }
        if (n < 0 || (n == 0 && len == 0)) {
            *ret_nothing = len == 0;
            wh_err_set(err, 0, TE, "receive from %s:%s: %s", rq->host, rq->port,
                       n < 0 ? strerror(errno) : "connection closed");
            break;
        }
        len += (size_t)n;
        size_t used;
        int r = http_parse_response(buf, len, n == 0, ret, &used, err);
        if (r < 0)
            break;
        if (r == 1) {
            if (used != len)
                ret->keep_alive = false; /* bytes we did not ask for: do not trust it */
            free(buf);
            return 0;
        }
        if (n == 0)
            break;
    }
    free(buf);
    return -1;
}

/* One kept connection per thread (the agent's threads each talk to one wharfd). */
struct kept {
    int fd;
    char *key; /* "host:port" */
};
static pthread_key_t kept_key;
static pthread_once_t kept_once = PTHREAD_ONCE_INIT;

static void kept_free(void *p)
{
    struct kept *k = p;
    if (k->fd >= 0)
        close(k->fd);
    free(k->key);
    free(k);
}

static void kept_init(void)
{
    if (pthread_key_create(&kept_key, kept_free) != 0)
        abort();
}

static struct kept *kept_get(void)
{
    pthread_once(&kept_once, kept_init);
    struct kept *k = pthread_getspecific(kept_key);
    if (!k) {
        k = xcalloc(1, sizeof(*k));
        k->fd = -1;
        if (pthread_setspecific(kept_key, k) != 0)
            abort();
    }
    return k;
}

static char *request_head(const struct http_request *rq)
{
    size_t n = 0;
    while (rq->headers && rq->headers[n])
        n++;
    size_t cap = 256 + strlen(rq->path) + strlen(rq->host);
    for (size_t i = 0; i < n; i++)
        cap += strlen(rq->headers[i]) + 2;
    char *h = xmalloc(cap);
    bool def_port = strcmp(rq->port, "80") == 0;
    int off = snprintf(h, cap, "%s %s HTTP/1.1\r\nHost: %s%s%s\r\nContent-Length: %zu\r\n",
                       rq->method, rq->path, rq->host, def_port ? "" : ":",
                       def_port ? "" : rq->port, rq->body_len);
    for (size_t i = 0; i < n; i++)
        off += snprintf(h + off, cap - (size_t)off, "%s\r\n", rq->headers[i]);
    snprintf(h + off, cap - (size_t)off, "\r\n");
    return h;
}

int http_do(const struct http_request *rq, struct http_response *ret, struct wh_err *err)
{
    long long start = now_ms();
    long long deadline = start + (rq->timeout_ms > 0 ? rq->timeout_ms : 60000);
    int cto = rq->connect_timeout_ms > 0 ? rq->connect_timeout_ms : 5000;
    cleanup_free char *key = xasprintf("%s:%s", rq->host, rq->port);
    cleanup_free char *head = request_head(rq);
    struct kept *k = kept_get();
    if (k->fd >= 0 && (!k->key || strcmp(k->key, key) != 0)) {
        close(k->fd);
        k->fd = -1;
    }
    for (int attempt = 0;; attempt++) {
        bool reused = k->fd >= 0;
        int fd = k->fd;
        k->fd = -1;
        if (fd < 0) {
            long long cd = start + cto < deadline ? now_ms() + cto : deadline;
            if ((fd = dial(rq, cd, err)) < 0)
                return -1;
        }
        bool nothing = true; /* stays true if sending fails */
        int r = send_all(fd, head, strlen(head), deadline, rq, err);
        if (r == 0 && rq->body_len)
            r = send_all(fd, rq->body, rq->body_len, deadline, rq, err);
        if (r == 0)
            r = recv_response(fd, deadline, rq, ret, &nothing, err);
        if (r == 0 && ret->keep_alive) {
            k->fd = fd;
            free(k->key);
            k->key = xstrdup(key);
        } else {
            close(fd);
        }
        /* A kept connection the server closed meanwhile fails before any answer: the
         * request was not processed, so it is safe to send it once more on a new one. */
        if (r < 0 && reused && nothing && attempt == 0)
            continue;
        return r;
    }
}
