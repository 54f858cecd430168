#include "http/server.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "http/metrics.h"

struct http_server {
    struct MHD_Daemon *daemon;
    http_router_fn router;
    void *app;
    atomic_long inflight;
    int port;
};

/* Per-request state that the route does not see. */
struct req_wrap {
    struct http_req req;
    int status;
    bool answered;
};

static const struct http_route not_found_route = {.name = "NotFound"};

const char *http_req_header(const struct http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_req_query(const struct http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct each_arg {
    void (*fn)(void *arg, const char *name, const char *value);
    void *arg;
};

static enum MHD_Result each_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    (void)kind;
    struct each_arg *ea = cls;
    ea->fn(ea->arg, key, value ? value : "");
    return MHD_YES;
}

void http_req_each_header(const struct http_req *req,
                          void (*fn)(void *arg, const char *name, const char *value), void *arg)
{
    struct each_arg ea = {fn, arg};
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, each_cb, &ea);
}

void http_req_each_query(const struct http_req *req,
                         void (*fn)(void *arg, const char *name, const char *value), void *arg)
{
    struct each_arg ea = {fn, arg};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, each_cb, &ea);
}

void http_resp_add_header(struct http_resp *resp, const char *name, const char *value)
{
    resp->headers = xrealloc(resp->headers, (resp->nheaders + 1) * sizeof(*resp->headers));
    resp->headers[resp->nheaders].name = xstrdup(name);
    resp->headers[resp->nheaders].value = xstrdup(value);
    resp->nheaders++;
}

void http_resp_set_body(struct http_resp *resp, int status, const char *content_type, char *body,
                        size_t len)
{
    free(resp->body);
    resp->status = status;
    resp->content_type = content_type;
    resp->body = body;
    resp->len = len;
}

static void resp_clear(struct http_resp *resp)
{
    free(resp->body);
    for (size_t i = 0; i < resp->nheaders; i++) {
        free(resp->headers[i].name);
        free(resp->headers[i].value);
    }
    free(resp->headers);
    if (resp->fd >= 0)
        close(resp->fd);
}

/* A file body goes out by pread into MHD's buffer, not by sendfile: on loopback (the agent
 * beside wharfd, skopeo on the same host) sendfile's page-cache skbs reach the reader slower
 * than copied data (a 256 MiB blob: 0.14 s instead of 0.19 s), for a little more CPU here. */
#define FILE_BLOCK (256u << 10)

struct file_body {
    int fd;
    uint64_t base;
};

static ssize_t file_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct file_body *fb = cls;
    ssize_t n;
    do
        n = pread(fb->fd, buf, max, (off_t)(fb->base + pos));
    while (n < 0 && errno == EINTR);
    /* MHD never asks past len: 0 means the file shrank under us, and the connection is cut
     * rather than a short body sent as whole. */
    return n > 0 ? n : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void file_free(void *cls)
{
    struct file_body *fb = cls;
    close(fb->fd);
    free(fb);
}

/* MHD allocates (and zeroes) a block of this size with every response: a HEAD reads none of
 * the file, a small file no more than its size. */
static size_t file_block(const struct http_req *req, uint64_t len)
{
    if (len == 0 || strcmp(req->method, MHD_HTTP_METHOD_HEAD) == 0)
        return 1;
    return len < FILE_BLOCK ? (size_t)len : FILE_BLOCK;
}

/* The response for resp's file; takes resp->fd, closed with the response or on failure. */
static struct MHD_Response *file_response(const struct http_req *req, struct http_resp *resp)
{
    struct file_body *fb = xmalloc(sizeof(*fb));
    *fb = (struct file_body){.fd = resp->fd, .base = resp->fd_offset};
    resp->fd = -1;
    struct MHD_Response *r = MHD_create_response_from_callback(
        resp->len, file_block(req, resp->len), file_read, fb, file_free);
    if (!r)
        file_free(fb);
    return r;
}

/* Hand a filled http_resp to MHD; takes ownership of everything in it. */
static enum MHD_Result send_resp(struct req_wrap *w, struct http_resp *resp)
{
    struct MHD_Response *r;
    if (resp->fd >= 0) {
        r = file_response(&w->req, resp);
    } else {
        r = MHD_create_response_from_buffer(resp->len, resp->body, MHD_RESPMEM_MUST_FREE);
        resp->body = NULL;
    }
    if (!r) {
        resp_clear(resp);
        return MHD_NO;
    }
    if (resp->content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    for (size_t i = 0; i < resp->nheaders; i++)
        MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
    if (resp->status == 0)
        resp->status = 500;
    w->status = resp->status;
    w->answered = true;
    enum MHD_Result ret = MHD_queue_response(w->req.conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    resp_clear(resp);
    return ret;
}

static void simple_resp(struct http_resp *resp, int status, const char *msg)
{
    http_resp_set_body(resp, status, "text/plain", xstrdup(msg), strlen(msg));
}

static enum MHD_Result first_call(struct http_server *srv, struct MHD_Connection *conn,
                                  const char *url, const char *method, void **con_cls)
{
    struct req_wrap *w = xcalloc(1, sizeof(*w));
    *con_cls = w;
    atomic_fetch_add(&srv->inflight, 1);
    struct http_req *req = &w->req;
    req->conn = conn;
    req->method = method;
    req->path = url;
    req->app = srv->app;
    req->started = time_monotonic();
    random_uuid(req->request_id);
    req->route = srv->router(method, url);
    if (!req->route)
        req->route = &not_found_route;
    req->action = req->route->name;

    struct http_resp resp = {.fd = -1};
    if (req->route == &not_found_route) {
        simple_resp(&resp, 404, "not found\n");
        return send_resp(w, &resp);
    }
    const char *cl = http_req_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && !req->route->on_data && req->route->max_body) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || *end || n > req->route->max_body) {
            req->body_too_large = true;
            /* Answered now: the body is never read. */
            if (req->route->on_end)
                req->route->on_end(req, &resp);
            else
                simple_resp(&resp, 413, "request body too large\n");
            return send_resp(w, &resp);
        }
    }
    if (req->route->on_begin && req->route->on_begin(req, &resp))
        return send_resp(w, &resp);
    resp_clear(&resp);
    return MHD_YES;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct http_server *srv = cls;
    if (!*con_cls)
        return first_call(srv, conn, url, method, con_cls);
    struct req_wrap *w = *con_cls;
    struct http_req *req = &w->req;
    if (w->answered) {
        /* A response is already queued; discard whatever body is still arriving. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->route->on_data) {
            if (!req->route->on_data(req, upload_data, n))
                goto finish;
            return MHD_YES;
        }
        if (req->body_too_large || (req->route->max_body && req->body_len + n > req->route->max_body)) {
            req->body_too_large = true; /* chunked upload with no Content-Length */
            return MHD_YES;
        }
        if (req->body_len + n + 1 > req->body_cap) {
            req->body_cap = (req->body_len + n + 1) * 2;
            req->body = xrealloc(req->body, req->body_cap);
        }
        memcpy(req->body + req->body_len, upload_data, n);
        req->body_len += n;
        req->body[req->body_len] = 0;
        return MHD_YES;
    }
finish:;
    struct http_resp resp = {.fd = -1};
    req->suspended = false; /* on_end runs again after a resume */
    if (req->body_too_large && !req->route->on_end)
        simple_resp(&resp, 413, "request body too large\n");
    else if (req->route->on_end)
        req->route->on_end(req, &resp);
    else
        simple_resp(&resp, 500, "route has no handler\n");
    if (req->suspended && resp.status == 0) {
        resp_clear(&resp);
        return MHD_YES; /* parked: http_req_resume() brings it back to on_end */
    }
    return send_resp(w, &resp);
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    struct http_server *srv = cls;
    struct req_wrap *w = *con_cls;
    if (!w)
        return;
    *con_cls = NULL;
    struct http_req *req = &w->req;
    double latency = time_monotonic() - req->started;
    int status = w->answered ? w->status : 499; /* client went away before an answer */
    const char *action = req->action ? req->action : req->route->name;
    metrics_observe(action, status, latency);
    log_info("request %s %s %s %s status=%d latency_ms=%.3f%s", req->request_id, req->method,
             req->path, action, status, latency * 1000,
             toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection closed early)");
    if (req->route->on_free)
        req->route->on_free(req);
    free(req->body);
    free(w);
    atomic_fetch_sub(&srv->inflight, 1);
}

/* Keep the path and query values raw: SigV4 signs the encoded form, and the registry must
 * see "%2e" to refuse it rather than a decoded "." that looks harmless. */
static size_t keep_raw(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[512];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t n = strlen(buf);
    while (n && buf[n - 1] == '\n')
        buf[--n] = 0;
    log_warn("http: %s", buf);
}

int http_server_start(const struct http_server_config *cfg, struct http_server **ret_srv)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
    if (inet_pton(AF_INET, cfg->host, &sa.sin_addr) != 1) {
        log_error("--listen host %s is not an IPv4 address", cfg->host);
        return -EINVAL;
    }
    struct http_server *srv = xcalloc(1, sizeof(*srv));
    srv->router = cfg->router;
    srv->app = cfg->app;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, access_cb, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads ? cfg->threads : 4),
        MHD_OPTION_NOTIFY_COMPLETED, completed_cb, srv, MHD_OPTION_UNESCAPE_CALLBACK, keep_raw,
        NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)300, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)10000, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_END);
    if (!srv->daemon) {
        int e = errno ? errno : EADDRINUSE;
        log_error("cannot listen on %s:%d: %s", cfg->host, cfg->port, strerror(e));
        free(srv);
        return -e;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : cfg->port;
    *ret_srv = srv;
    return 0;
}

void http_req_suspend(struct http_req *req)
{
    req->suspended = true;
    MHD_suspend_connection(req->conn);
}

void http_req_resume(struct http_req *req)
{
    MHD_resume_connection(req->conn);
}

int http_server_port(const struct http_server *srv)
{
    return srv->port;
}

void http_server_stop(struct http_server *srv, int grace_ms)
{
    if (!srv)
        return;
    MHD_socket s = MHD_quiesce_daemon(srv->daemon);
    if (s != MHD_INVALID_SOCKET)
        close(s);
    for (int waited = 0; waited < grace_ms && atomic_load(&srv->inflight) > 0; waited += 10)
        usleep(10000);
    MHD_stop_daemon(srv->daemon);
    free(srv);
}
