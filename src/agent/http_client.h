/* A small HTTP/1.1 client for the agent's calls to wharfd: plain http over TCP (no TLS, no
 * redirects, no proxies), one request at a time per thread, the connection kept for the
 * thread's next request to the same host. Timeouts are enforced with poll(); an abort flag
 * is checked at least once a second so a parked long poll can be left at shutdown.
 *
 * Responses may carry Content-Length, Transfer-Encoding: chunked, or neither (body up to the
 * close). The parser is a pure function over the bytes read so far (http_parse_response),
 * which is what the unit tests reach. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define HTTP_MAX_HEAD (64u << 10)
#define HTTP_MAX_BODY (64u << 20)

struct http_response {
    int status;
    bool keep_alive; /* the server lets the connection be reused */
    char *body;      /* NUL-terminated (bodies are JSON here) */
    size_t body_len;
};
void http_response_free(struct http_response *r);

/* Parse a response from buf[0..len). eof: the peer has closed (a body without length ends
 * there). Returns 1 and fills *ret (and *ret_used, the bytes it took) when the response is
 * complete, 0 when more bytes are needed, -1 with err when it is malformed or too large. */
int http_parse_response(const char *buf, size_t len, bool eof, struct http_response *ret,
                        size_t *ret_used, struct wh_err *err);

/* "http://HOST[:PORT][/…]" → host (for Host:) and port; -1 with a message otherwise (an
 * https:// URL is refused by name: the agent speaks plain http only). */
int http_parse_url(const char *url, char **ret_host, char **ret_port, struct wh_err *err);

struct http_request {
    const char *host, *port;    /* where to connect; host is also the Host: header */
    const char *method, *path;
    const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
    const void *body;
    size_t body_len;
    int connect_timeout_ms;     /* default 5 s */
    int timeout_ms;             /* the whole exchange; default 60 s */
    const volatile int *abort_flag; /* non-zero: give up within a second; may be NULL */
};

/* Send the request and read the whole response. Transport failures are err type
 * "TransportError" naming the host and what failed. */
int http_do(const struct http_request *rq, struct http_response *ret, struct wh_err *err);
