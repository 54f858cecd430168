#include "aws/dispatch.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "aws/credentials.h"
#include "aws/services.h"
#include "aws/shape.h"
#include "aws/sigv4.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "http/waiters.h"

#define MAX_HEADERS 64

int api_invalid(struct wh_err *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    err->status = 400;
    snprintf(err->type, sizeof(err->type), "%s", ERR_INVALID_PARAM);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

static void render(struct http_req *req, struct http_resp *resp, int status, char *body)
{
    http_resp_set_body(resp, status, "application/x-amz-json-1.1", body, strlen(body));
    http_resp_add_header(resp, "x-amzn-RequestId", req->request_id);
}

static void render_error(struct http_req *req, struct http_resp *resp, const struct wh_err *err)
{
    json_auto_t *j = json_pack("{s:s, s:s}", "__type", err->type, "message", err->msg);
    render(req, resp, err->status ? err->status : 400, json_text(j));
}

struct header_list {
    struct sigv4_header v[MAX_HEADERS];
    size_t n;
    bool overflow;
};

static void collect_header(void *arg, const char *name, const char *value)
{
    struct header_list *h = arg;
    if (h->n == MAX_HEADERS) {
        h->overflow = true;
        return;
    }
    h->v[h->n++] = (struct sigv4_header){name, value};
}

struct query_buf {
    char *s;
    size_t len;
};

/* libmicrohttpd splits the query; SigV4 wants it whole. The values are still raw. */
static void collect_query(void *arg, const char *name, const char *value)
{
    struct query_buf *q = arg;
    char *next = xasprintf("%s%s%s=%s", q->s ? q->s : "", q->s ? "&" : "", name, value);
    free(q->s);
    q->s = next;
}

static int authenticate(struct http_req *req, const struct api_service *svc,
                        struct sigv4_auth *auth, struct wh_err *err)
{
    const struct wharf_app *app = req->app;
    struct header_list h = {.n = 0};
    http_req_each_header(req, collect_header, &h);
    if (h.overflow)
        return wh_err_set(err, 400, "InvalidSignatureException",
                          "too many request headers (more than %d)", MAX_HEADERS);
    cleanup_free char *query = NULL;
    struct query_buf q = {0};
    http_req_each_query(req, collect_query, &q);
    query = q.s;
    char body_hash[SHA256_HEX_LEN + 1];
    sha256_hex(req->body ? req->body : "", req->body_len, body_hash);
    const char *claimed = http_req_header(req, "x-amz-content-sha256");
    if (claimed && strcmp(claimed, "UNSIGNED-PAYLOAD") != 0 && strcmp(claimed, body_hash) != 0)
        return wh_err_set(err, 400, "InvalidSignatureException",
                          "x-amz-content-sha256 %s does not match the body's SHA-256", claimed);
    struct sigv4_request sreq = {
        .method = req->method,
        .path = req->path,
        .query = query,
        .headers = h.v,
        .nheaders = h.n,
        .payload_hash = claimed ? claimed : body_hash,
    };
    if (sigv4_parse(&sreq, auth, err) < 0)
        return -1;
    const char *secret = credentials_secret(app->creds, auth->access_key);
    if (!secret)
        return wh_err_set(err, 400, "UnrecognizedClientException",
                          "The security token included in the request is invalid.");
    if (svc && strcmp(auth->service, svc->signing_name) != 0)
        return wh_err_set(err, 400, "InvalidSignatureException",
                          "Credential should be scoped to correct service: '%s'.",
                          svc->signing_name);
    return sigv4_verify(&sreq, auth, secret, time(NULL), err);
}

static const struct api_action *find_action(const char *target,
                                            const struct api_service **ret_svc)
{
    const char *dot = strchr(target, '.');
    if (!dot)
        return NULL;
    size_t plen = (size_t)(dot - target);
    for (size_t i = 0; aws_services[i]; i++) {
        const struct api_service *s = aws_services[i];
        if (strlen(s->target_prefix) != plen || strncmp(s->target_prefix, target, plen) != 0)
            continue;
        *ret_svc = s;
        for (size_t a = 0; a < s->nactions; a++)
            if (strcmp(s->actions[a].name, dot + 1) == 0)
                return &s->actions[a];
        return NULL;
    }
    return NULL;
}

static bool region_ok(const char *r)
{
    size_t n = strlen(r);
    if (n < 1 || n > 32)
        return false;
    for (const char *p = r; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    return true;
}

void api_wait_prepare(struct api_ctx *ctx, const char *key)
{
    snprintf(ctx->wait_key, sizeof(ctx->wait_key), "%s", key);
    ctx->wait_gen = waiters_generation(key);
}

/* What a parked request needs to run its handler again. */
struct continuation {
    const struct api_action *act;
    json_t *in;
    char region[33];
    char access_key[129];
    double now;
};

static void continuation_free(struct http_req *req)
{
    struct continuation *c = req->route_state;
    if (!c)
        return;
    json_decref(c->in);
    free(c);
    req->route_state = NULL;
}

/* Call the handler; park the request when it asks to wait. Returns 0 with *ret_out (or
 * *ret_raw when the handler rendered its answer), API_WAIT when parked (req->route_state then
 * owns c), -1 with err. */
static int invoke(struct http_req *req, struct continuation *c, json_t **ret_out,
                  char **ret_raw, struct wh_err *err)
{
    const struct wharf_app *app = req->app;
    char principal[64];
    snprintf(principal, sizeof(principal), "arn:aws:iam::%s:root", app->cfg.account);
    struct api_ctx ctx = {
        .app = app,
        .cfg = &app->cfg,
        .st = app->st,
        .account = app->cfg.account,
        .region = c->region,
        .principal_arn = principal,
        .access_key = c->access_key,
        .request_id = req->request_id,
        .now = c->now,
    };
    json_t *out = NULL;
    int r;
    for (;;) {
        r = c->act->fn(&ctx, c->in, &out, err);
        if (r != API_WAIT)
            break;
        json_decref(out);
        out = NULL;
        free(ctx.raw_out);
        ctx.raw_out = NULL;
        /* A woken request runs on the connection's own worker thread, which is this one, so
         * route_state can be set after parking. */
        enum waiters_result w = waiters_wait(req, ctx.wait_key, ctx.wait_until, ctx.wait_gen);
        if (w == WAITERS_PARKED) {
            req->route_state = c;
            return API_WAIT;
        }
        if (w == WAITERS_STOPPING)
            ctx.no_wait = true; /* the handler answers now */
        /* WAITERS_CHANGED: something moved while the handler looked; look again */
        if (ctx.no_wait && (r = c->act->fn(&ctx, c->in, &out, err)) == API_WAIT) {
            r = wh_err_set(err, 503, "ServiceUnavailableException", "server is shutting down");
            break;
        }
        if (ctx.no_wait)
            break;
    }
    if (r < 0) {
        json_decref(out);
        free(ctx.raw_out);
        if (!wh_err_isset(err))
            wh_err_set(err, 500, "ServerException", "%s failed without saying why", c->act->name);
        return -1;
    }
    if (ctx.raw_out) { /* rendered by the handler */
        json_decref(out);
        *ret_raw = ctx.raw_out;
        return 0;
    }
    *ret_out = out ? out : json_object();
    return 0;
}

/* Authenticate, find the action, parse and validate the input: everything before the
 * handler, done once per request. */
static struct continuation *prepare(struct http_req *req, struct wh_err *err)
{
    if (req->body_too_large) {
        wh_err_set(err, 413, "SerializationException",
                   "request body is larger than the limit of %u bytes", AWS_MAX_BODY);
        return NULL;
    }
    const char *target = http_req_header(req, "X-Amz-Target");
    const struct api_service *svc = NULL;
    const struct api_action *act = target ? find_action(target, &svc) : NULL;

    /* Authentication comes first, as on AWS: an unsigned request learns nothing. */
    struct sigv4_auth auth;
    if (authenticate(req, svc, &auth, err) < 0)
        return NULL;
    if (!target) {
        wh_err_set(err, 400, "UnknownOperationException",
                   "missing X-Amz-Target header naming the operation");
        return NULL;
    }
    if (!act) {
        wh_err_set(err, 400, "UnknownOperationException", "operation %s is not supported", target);
        return NULL;
    }
    req->action = act->name;
    if (!region_ok(auth.region)) {
        wh_err_set(err, 400, "InvalidSignatureException",
                   "credential scope region '%s' is not a region name", auth.region);
        return NULL;
    }
    json_t *in = NULL;
    if (req->body_len == 0) {
        in = json_object();
    } else {
        json_error_t je;
        in = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
        if (!in) {
            wh_err_set(err, 400, svc->validation_error,
                       "request body is not valid JSON: %s at line %d column %d", je.text, je.line,
                       je.column);
            return NULL;
        }
    }
    const struct shape_op *op = shape_model_op(svc->model, act->name);
    if (op && shape_validate_input(svc->model, op, in, svc->validation_error, err) < 0) {
        json_decref(in);
        return NULL;
    }
    struct continuation *c = xcalloc(1, sizeof(*c));
    c->act = act;
    c->in = in;
    snprintf(c->region, sizeof(c->region), "%s", auth.region);
    snprintf(c->access_key, sizeof(c->access_key), "%s", auth.access_key);
    c->now = time_now();
    return c;
}

static int run(struct http_req *req, json_t **ret_out, char **ret_raw, struct wh_err *err)
{
    struct continuation *c = req->route_state; /* set when woken from a long poll */
    req->route_state = NULL;
    if (!c && !(c = prepare(req, err)))
        return -1;
    int r = invoke(req, c, ret_out, ret_raw, err);
    if (r != API_WAIT) {
        json_decref(c->in);
        free(c);
    }
    return r;
}

static void aws_on_end(struct http_req *req, struct http_resp *resp)
{
    struct wh_err err = {0};
    json_t *out = NULL;
    char *raw = NULL;
    int r = run(req, &out, &raw, &err);
    if (r == API_WAIT)
        return; /* parked; on_end runs again when woken */
    if (r < 0)
        render_error(req, resp, &err);
    else
        render(req, resp, 200, raw ? raw : json_text(out));
    json_decref(out);
}

const struct http_route aws_route = {
    .name = "aws",
    .max_body = AWS_MAX_BODY,
    .on_end = aws_on_end,
    .on_free = continuation_free,
};
