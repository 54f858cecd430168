/* agent/http_client.c: response parsing as a pure function over the bytes read so far
 * (Content-Length, chunked, to-close bodies, keep-alive, partial input, malformed input),
 * URL parsing, and one real exchange with a tiny server thread (keep-alive reuse). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/http_client.h"

struct pcase {
    const char *in;
    bool eof;
    int want;          /* 1 complete, 0 more, -1 error */
    int status;
    const char *body;
    bool keep;
    size_t used;       /* 0: strlen(in) */
    const char *err;   /* substring of the error */
};

static void test_parse_table(void **state)
{
    (void)state;
    static const struct pcase cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", false, 1, 200, "{}", true},
        {"HTTP/1.1 200 OK\r\ncontent-length:  5 \r\n\r\nhello", false, 1, 200, "hello", true},
        {"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc", false,
         1, 400, "abc", false},
        {"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", false, 1, 200, "x", false},
        {"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx", false, 1,
         200, "x", true},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n"
         "0\r\nX-Trailer: 1\r\n\r\n",
         false, 1, 200, "Wikipedia", true},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\n",
         false, 1, 200, "0123456789", true},
        {"HTTP/1.1 200 OK\r\n\r\nuntil close", true, 1, 200, "until close", false},
        {"HTTP/1.1 204 No Content\r\n\r\n", false, 1, 204, "", true},
        {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
         false, 1, 201, "ok", true},
        {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 20", false, 0},
        /* two responses back to back: only the first is taken */
        {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\n", false, 1, 200, "a",
         true, 39},
        /* incomplete */
        {"HTTP/1.1 200 OK\r\nContent-Len", false, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", false, 0},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWi", false, 0},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n0\r\n", false, 0},
        {"HTTP/1.1 200 OK\r\n\r\nno length yet", false, 0},
        /* malformed or cut */
        {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true, -1, 0, NULL, false, 0,
         "closed after 3 of 10"},
        {"HTTP/1.1 200 OK\r\nContent-Len", true, -1, 0, NULL, false, 0, "before the response"},
        {"HTTP/2 200\r\n\r\n", false, -1, 0, NULL, false, 0, "malformed status line"},
        {"HTTP/1.1 20x OK\r\n\r\n", false, -1, 0, NULL, false, 0, "malformed status line"},
        {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, -1, 0, NULL, false, 0,
         "bad Content-Length"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", false, -1, 0, NULL, false, 0,
         "over"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, -1, 0, NULL,
         false, 0, "malformed chunked"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", false, -1, 0, NULL,
         false, 0, "malformed chunked"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, -1, 0, NULL, false, 0,
         "unsupported Transfer-Encoding"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct pcase *c = &cases[i];
        struct http_response r = {0};
        struct wh_err err = {0};
        size_t used = 0;
        int got = http_parse_response(c->in, strlen(c->in), c->eof, &r, &used, &err);
        if (got != c->want)
            fail_msg("case %zu: got %d want %d (%s) for %s", i, got, c->want, err.msg, c->in);
        if (got == 1) {
            assert_int_equal(r.status, c->status);
            assert_string_equal(r.body, c->body);
            assert_int_equal(r.body_len, strlen(c->body));
            if (r.keep_alive != c->keep)
                fail_msg("case %zu: keep_alive %d", i, r.keep_alive);
            assert_int_equal(used, c->used ? c->used : strlen(c->in));
        }
        if (got < 0 && !strstr(err.msg, c->err))
            fail_msg("case %zu: error '%s' lacks '%s'", i, err.msg, c->err);
        http_response_free(&r);
    }
}

static void test_parse_every_prefix(void **state)
{
    (void)state;
    /* A response arriving a byte at a time is incomplete at every shorter prefix. */
    static const char in[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    for (size_t n = 0; n < strlen(in); n++) {
        struct http_response r = {0};
        size_t used;
        assert_int_equal(http_parse_response(in, n, false, &r, &used, NULL), 0);
    }
    struct http_response r = {0};
    size_t used;
    assert_int_equal(http_parse_response(in, strlen(in), false, &r, &used, NULL), 1);
    assert_string_equal(r.body, "abcde");
    http_response_free(&r);
}

static void test_parse_url(void **state)
{
    (void)state;
    static const struct {
        const char *url, *host, *port, *err;
    } cases[] = {
        {"http://127.0.0.1:4566", "127.0.0.1", "4566", NULL},
        {"http://wharf.local/", "wharf.local", "80", NULL},
        {"http://[::1]:8080/x", "[::1]", "8080", NULL},
        {"https://127.0.0.1:4566", NULL, NULL, "https is not supported"},
        {"ftp://x", NULL, NULL, "expected http://HOST:PORT"},
        {"http://h:port", NULL, NULL, "bad port"},
        {"http://", NULL, NULL, "no host"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *h = NULL, *p = NULL;
        struct wh_err err = {0};
        int r = http_parse_url(cases[i].url, &h, &p, &err);
        if (cases[i].err) {
            assert_int_equal(r, -1);
            if (!strstr(err.msg, cases[i].err))
                fail_msg("%s: '%s' lacks '%s'", cases[i].url, err.msg, cases[i].err);
            continue;
        }
        assert_int_equal(r, 0);
        assert_string_equal(h, cases[i].host);
        assert_string_equal(p, cases[i].port);
        free(h);
        free(p);
    }
}

/* A server answering N requests on one connection, counting its accepts. */
struct srv {
    int lfd, accepts, port;
};

static void *serve(void *arg)
{
    struct srv *s = arg;
    for (int served = 0; served < 3;) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        s->accepts++;
        char buf[8192];
        size_t len = 0;
        for (;;) {
            ssize_t n = read(fd, buf + len, sizeof(buf) - len - 1);
            if (n <= 0)
                break;
            len += (size_t)n;
            buf[len] = 0;
            char *end = strstr(buf, "\r\n\r\n");
            if (!end || strlen(end + 4) < 2) /* the test bodies are 2 bytes */
                continue;
            static const char ans[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                      "2\r\nok\r\n0\r\n\r\n";
            if (write(fd, ans, strlen(ans)) < 0)
                break;
            len = 0;
            if (++served == 3)
                break;
        }
        close(fd);
    }
    return NULL;
}

static void test_exchange_keeps_connection(void **state)
{
    (void)state;
    struct srv s = {0};
    s.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t al = sizeof(a);
    getsockname(s.lfd, (struct sockaddr *)&a, &al);
    assert_int_equal(listen(s.lfd, 4), 0);
    pthread_t t;
    pthread_create(&t, NULL, serve, &s);
    char port[16];
    snprintf(port, sizeof(port), "%d", ntohs(a.sin_port));
    const char *hdrs[] = {"X-Test: 1", NULL};
    struct http_request rq = {.host = "127.0.0.1", .port = port, .method = "POST", .path = "/",
                              .headers = hdrs, .body = "{}", .body_len = 2, .timeout_ms = 5000};
    for (int i = 0; i < 3; i++) {
        struct http_response r;
        struct wh_err err = {0};
        if (http_do(&rq, &r, &err) < 0)
            fail_msg("request %d: %s", i, err.msg);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "ok");
        http_response_free(&r);
    }
    pthread_join(t, NULL);
    assert_int_equal(s.accepts, 1);
    close(s.lfd);
    /* Nobody listens any more: a clear transport error naming the address. */
    struct http_response r;
    struct wh_err err = {0};
    rq.timeout_ms = 2000;
    assert_int_equal(http_do(&rq, &r, &err), -1);
    assert_string_equal(err.type, "TransportError");
    assert_non_null(strstr(err.msg, "127.0.0.1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_parse_every_prefix),
        cmocka_unit_test(test_parse_url),
        cmocka_unit_test(test_exchange_keeps_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
