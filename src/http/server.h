/* The HTTP server: libmicrohttpd with a thread pool, routes chosen by method and path.
 *
 * libmicrohttpd calls the access handler several times per request; this layer turns that
 * into one route callback sequence: on_begin (headers known, may answer at once), on_data
 * (streaming routes only) and on_end (body complete; fills the response). Buffered routes get
 * the whole body in req->body, refused with 413 past route->max_body before it is read. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct MHD_Connection;
struct http_req;

struct http_header {
    char *name;
    char *value;
};

struct http_resp {
    int status;
    const char *content_type; /* static string */
    char *body;               /* owned; may be NULL */
    size_t len;
    int fd;                   /* >= 0: send len bytes of this file from fd_offset (owned) */
    uint64_t fd_offset;
    struct http_header *headers;
    size_t nheaders;
};

struct http_route {
    const char *name;  /* metrics label when the route does not set req->action */
    size_t max_body;   /* buffered routes: refuse larger bodies with 413 */
    /* Optional: called once headers are in. Return true when resp was filled and the request
     * is answered without reading the body. */
    bool (*on_begin)(struct http_req *req, struct http_resp *resp);
    /* Streaming routes: each body chunk; return false to stop (resp filled by on_end). */
    bool (*on_data)(struct http_req *req, const char *data, size_t len);
    void (*on_end)(struct http_req *req, struct http_resp *resp);
    void (*on_free)(struct http_req *req); /* release req->route_state */
};

struct http_req {
    struct MHD_Connection *conn;
    const struct http_route *route;
    const char *method;
    const char *path;  /* raw (still percent-encoded) path */
    char *body;
    size_t body_len, body_cap;
    bool body_too_large;
    char request_id[37];
    const char *action; /* what the log line and metrics call this request */
    double started;     /* monotonic seconds */
    void *route_state;
    bool suspended;     /* set by http_req_suspend during on_end */
    void *app;          /* the server's app pointer */
};

/* Chooses the route for a request; NULL means 404. */
typedef const struct http_route *(*http_router_fn)(const char *method, const char *path);

struct http_server;
struct http_server_config {
    const char *host;
    int port;
    unsigned threads;
    http_router_fn router;
    void *app;
};

int http_server_start(const struct http_server_config *cfg, struct http_server **ret_srv);
/* Stop accepting, let in-flight requests finish (up to grace_ms), then stop. */
void http_server_stop(struct http_server *srv, int grace_ms);
int http_server_port(const struct http_server *srv);

/* Request accessors. Header lookup is case-insensitive. Query values are raw (percent-encoded). */
const char *http_req_header(const struct http_req *req, const char *name);
const char *http_req_query(const struct http_req *req, const char *name);
/* Calls fn for every header / query argument in order received. */
void http_req_each_header(const struct http_req *req,
                          void (*fn)(void *arg, const char *name, const char *value), void *arg);
void http_req_each_query(const struct http_req *req,
                         void (*fn)(void *arg, const char *name, const char *value), void *arg);

/* Long polls. Called from a route's on_end that leaves resp unfilled: the connection is
 * parked without holding a thread. http_req_resume (any thread, only after the suspend) makes
 * the server call on_end again for the same request. */
void http_req_suspend(struct http_req *req);
void http_req_resume(struct http_req *req);

/* Response helpers. */
void http_resp_add_header(struct http_resp *resp, const char *name, const char *value);
void http_resp_set_body(struct http_resp *resp, int status, const char *content_type, char *body,
                        size_t len);
