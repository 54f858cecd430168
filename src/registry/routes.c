/* The /v2/ request pipeline: parse the path, pick the endpoint, authenticate, load (or, with
 * --create-repository-on-push, make) the repository, then hand over to the endpoint's
 * callbacks. Every response carries Docker-Distribution-API-Version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "core/arn.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "ecr/policy_eval.h"
#include "registry/auth.h"
#include "registry/errors.h"
#include "registry/registry.h"
#include "registry/request.h"
#include "registry/uploads.h"


static int base_begin(struct reg_req *rq, struct http_resp *resp)
{
    (void)rq;
    reg_resp_json(resp, 200, "application/json", xstrdup("{}"));
    return 1;
}

/* HEAD is served by the GET row. `policy` is the ECR action a repository policy must allow. */
#define E(k, m, f, fn_begin, fn_data, fn_end, act, pol)                                            \
    {.kind = k, .method = m, .flags = f, .begin = fn_begin, .data = fn_data, .end = fn_end,       \
     .action = "registry." act, .policy = pol}
static const struct reg_endpoint endpoints[] = {
    E(RP_BASE, "GET", 0, base_begin, NULL, NULL, "Base", NULL),
    E(RP_TOKEN, "GET", 0, token_begin, NULL, NULL, "Token", NULL),
    E(RP_CATALOG, "GET", 0, catalog_begin, NULL, NULL, "Catalog", NULL),
    E(RP_MANIFEST, "GET", EP_REPO, manifests_get_begin, NULL, NULL, "GetManifest",
      ECR_ACTION_PULL),
    E(RP_MANIFEST, "PUT", EP_REPO | EP_PUSH | EP_BUFFER, NULL, NULL, manifests_put_end,
      "PutManifest", ECR_ACTION_PUSH),
    E(RP_MANIFEST, "DELETE", EP_REPO, manifests_delete_begin, NULL, NULL, "DeleteManifest",
      "ecr:BatchDeleteImage"),
    E(RP_BLOB, "GET", EP_REPO, blobs_get_begin, NULL, NULL, "GetBlob", ECR_ACTION_LAYER_PULL),
    E(RP_BLOB, "DELETE", EP_REPO, blobs_delete_begin, NULL, NULL, "DeleteBlob",
      "ecr:BatchDeleteImage"),
    E(RP_UPLOAD_START, "POST", EP_REPO | EP_PUSH, uploads_post_begin, uploads_data, uploads_end,
      "StartUpload", ECR_ACTION_UPLOAD_START),
    E(RP_UPLOAD, "GET", EP_REPO, uploads_get_begin, NULL, NULL, "GetUpload",
      ECR_ACTION_UPLOAD_PART),
    E(RP_UPLOAD, "PATCH", EP_REPO, uploads_patch_begin, uploads_data, uploads_end, "PatchUpload",
      ECR_ACTION_UPLOAD_PART),
    E(RP_UPLOAD, "PUT", EP_REPO, uploads_put_begin, uploads_data, uploads_end, "PutUpload",
      ECR_ACTION_UPLOAD_COMPLETE),
    E(RP_UPLOAD, "DELETE", EP_REPO, uploads_delete_begin, NULL, NULL, "DeleteUpload",
      ECR_ACTION_UPLOAD_PART),
    E(RP_TAGS, "GET", EP_REPO, tags_list_begin, NULL, NULL, "ListTags", "ecr:ListImages"),
    E(RP_REFERRERS, "GET", EP_REPO, referrers_begin, NULL, NULL, "Referrers", ECR_ACTION_PULL),
};
#undef E

/* ---- helpers for the endpoint files ---- */

bool reg_is_head(const struct reg_req *rq)
{
    return strcmp(rq->http->method, "HEAD") == 0;
}

struct registry *reg_registry(const struct reg_req *rq)
{
    return rq->app->registry;
}

void reg_resp_empty(struct http_resp *resp, int status)
{
    http_resp_set_body(resp, status, NULL, NULL, 0);
}

void reg_resp_json(struct http_resp *resp, int status, const char *content_type, char *body)
{
    http_resp_set_body(resp, status, content_type, body, strlen(body));
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *reg_query(const struct reg_req *rq, const char *name)
{
    const char *raw = http_req_query(rq->http, name);
    if (!raw)
        return NULL;
    char *out = xmalloc(strlen(raw) + 1), *o = out;
    for (const char *p = raw; *p; p++) {
        if (*p == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
            *o++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = 0;
    return out;
}

/* ---- the pipeline ---- */

static const struct reg_endpoint *find_endpoint(enum registry_path_kind kind, const char *method,
                                                bool *ret_path_known)
{
    if (strcmp(method, "HEAD") == 0)
        method = "GET";
    *ret_path_known = false;
    for (size_t i = 0; i < ARRAY_SIZE(endpoints); i++) {
        if (endpoints[i].kind != kind)
            continue;
        *ret_path_known = true;
        if (strcmp(endpoints[i].method, method) == 0)
            return &endpoints[i];
    }
    return NULL;
}

static int create_on_push(struct reg_req *rq)
{
    const struct registry_principal *w = &rq->who;
    cleanup_free char *res = xasprintf("repository/%s", rq->path.name);
    cleanup_free char *arn = arn_make("ecr", w->region, w->account, res);
    struct store_repo r = {
        .account = (char *)w->account,
        .region = (char *)w->region,
        .name = rq->path.name,
        .arn = arn,
        .created_at = rq->now,
    };
    int ret = store_repo_create(rq->app->st, &r, NULL, &rq->err);
    if (ret < 0 && ret != -EEXIST) /* -EEXIST: a concurrent push made it first */
        return -1;
    if (ret == 0)
        log_info("registry: created repository %s on push", arn);
    return store_repo_get(rq->app->st, w->account, w->region, rq->path.name, &rq->repo,
                          &rq->err) < 0
               ? -1
               : 0;
}

static int load_repo(struct reg_req *rq)
{
    const struct registry_principal *w = &rq->who;
    int r = store_repo_get(rq->app->st, w->account, w->region, rq->path.name, &rq->repo,
                           &rq->err);
    if (r == 0)
        return 0;
    if (r != -ENOENT)
        return -1;
    if ((rq->ep->flags & EP_PUSH) && rq->app->cfg.create_repository_on_push)
        return create_on_push(rq);
    return oci_err(&rq->err, OCI_NAME_UNKNOWN,
                   "The repository with name '%s' does not exist in the registry with id '%s' "
                   "(region %s)",
                   rq->path.name, w->account, w->region);
}

int reg_policy_check(struct reg_req *rq, const struct store_repo *repo, const char *action)
{
    char principal[64];
    snprintf(principal, sizeof(principal), "arn:aws:iam::%s:root", rq->who.account);
    if (ecr_policy_allows(repo->policy_text, principal, action))
        return 0;
    return oci_err(&rq->err, OCI_DENIED,
                   "User: %s is not authorized to perform: %s on resource: %s because the "
                   "repository policy does not allow it",
                   principal, action, repo->arn);
}

/* The repository policy's verdict on this request (a HEAD of a blob is a layer check). */
static int policy_check(struct reg_req *rq)
{
    const char *action = rq->ep->policy;
    if (!action)
        return 0;
    if (reg_is_head(rq) && strcmp(action, ECR_ACTION_LAYER_PULL) == 0)
        action = ECR_ACTION_LAYER_CHECK;
    return reg_policy_check(rq, &rq->repo, action);
}

/* Everything before the endpoint's own callbacks. 1 answered, 0 go on, -1 error. */
static int prepare(struct reg_req *rq, struct http_resp *resp)
{
    int r = registry_path_parse(rq->http->path, &rq->path);
    if (r == -ENOENT)
        return oci_err(&rq->err, OCI_NAME_UNKNOWN, "no registry endpoint at %s", rq->http->path);
    bool known;
    if (r == 0) {
        rq->ep = find_endpoint(rq->path.kind, rq->http->method, &known);
        if (!rq->ep)
            return oci_err(&rq->err, OCI_UNSUPPORTED, "%s is not supported on %s",
                           rq->http->method, rq->http->path);
        rq->http->action = rq->ep->action;
    }
    if (registry_auth(rq->app, http_req_header(rq->http, "Authorization"), rq->now, &rq->who,
                      &rq->password, &rq->err) < 0)
        return -1;
    if (r == -EINVAL)
        return oci_err(&rq->err, OCI_NAME_INVALID,
                       "invalid repository name in %s: components of [a-z0-9] joined by '.', "
                       "'_', '__' or '-', separated by '/', 2 to 256 characters",
                       rq->http->path);
    if (r < 0)
        return oci_err(&rq->err, OCI_NAME_INVALID, "reference too long in %s", rq->http->path);
    if ((rq->ep->flags & EP_REPO) && (load_repo(rq) < 0 || policy_check(rq) < 0))
        return -1;
    return rq->ep->begin ? rq->ep->begin(rq, resp) : 0;
}

static void finish_resp(struct reg_req *rq, struct http_resp *resp)
{
    if (rq->failed) {
        if (strcmp(rq->err.type, OCI_UNAUTHORIZED) == 0)
            registry_auth_challenge(rq->http, resp, &rq->err);
        else
            oci_render_error(resp, &rq->err);
        if (rq->err.status >= 500)
            log_warn("request %s %s %s: %s", rq->http->request_id, rq->http->method,
                     rq->http->path, rq->err.msg);
    }
    http_resp_add_header(resp, "Docker-Distribution-API-Version", "registry/2.0");
}

/* A refused request's body up to this size is read and dropped, so the client (which may
 * not read a response before it has sent its body) sees the answer; beyond it, the
 * connection closes. */
#define DRAIN_MAX (64u << 20)

/* Whether a body follows the headers, and whether it is small enough to drain. */
static bool has_body(const struct http_req *req, bool *ret_drainable)
{
    const char *cl = http_req_header(req, "Content-Length");
    const char *te = http_req_header(req, "Transfer-Encoding");
    *ret_drainable = !te && cl && strtoull(cl, NULL, 10) <= DRAIN_MAX;
    return (cl && strcmp(cl, "0") != 0) || te;
}

static bool on_begin(struct http_req *req, struct http_resp *resp)
{
    struct reg_req *rq = xcalloc(1, sizeof(*rq));
    req->route_state = rq;
    rq->http = req;
    rq->app = req->app;
    rq->now = time_now();
    int r = prepare(rq, resp);
    if (r == 0)
        return false;
    rq->failed = r < 0;
    finish_resp(rq, resp);
    bool drainable;
    if (has_body(req, &drainable) && !drainable)
        return true; /* answer now: the body is not read (and the connection closes) */
    /* Answer from on_end, after the (small) body: the connection stays alive. */
    rq->pending = *resp;
    rq->has_pending = true;
    *resp = (struct http_resp){.fd = -1};
    return false;
}

static bool append_body(struct reg_req *rq, const char *data, size_t len)
{
    if (rq->len + len > REG_BUFFER_MAX) {
        oci_err(&rq->err, OCI_SIZE_INVALID, "the body exceeds %u bytes", REG_BUFFER_MAX);
        rq->err.status = 413;
        rq->failed = true;
        return true; /* on_data drains the rest */
    }
    if (rq->len + len + 1 > rq->cap) {
        rq->cap = (rq->len + len + 1) * 2;
        if (rq->cap > REG_BUFFER_MAX + 1)
            rq->cap = REG_BUFFER_MAX + 1;
        rq->body = xrealloc(rq->body, rq->cap);
    }
    memcpy(rq->body + rq->len, data, len);
    rq->len += len;
    rq->body[rq->len] = 0;
    return true;
}

static bool on_data(struct http_req *req, const char *data, size_t len)
{
    struct reg_req *rq = req->route_state;
    if (rq->has_pending || rq->failed) { /* answered: drop the body */
        rq->drained += len;
        return rq->drained <= DRAIN_MAX;
    }
    if (rq->ep->flags & EP_BUFFER)
        return append_body(rq, data, len);
    if (rq->ep->data && rq->ep->data(rq, data, len) < 0) {
        rq->failed = true;
        return false;
    }
    return true; /* (a body nobody wants is ignored) */
}

static void on_end(struct http_req *req, struct http_resp *resp)
{
    struct reg_req *rq = req->route_state;
    if (rq->has_pending) {
        *resp = rq->pending;
        rq->has_pending = false;
        return;
    }
    if (!rq->failed) {
        if (rq->ep->end)
            rq->failed = rq->ep->end(rq, resp) < 0;
        else
            reg_resp_empty(resp, 204);
    }
    if (rq->sess)
        uploads_abandon(rq);
    finish_resp(rq, resp);
}

static void on_free(struct http_req *req)
{
    struct reg_req *rq = req->route_state;
    if (!rq)
        return;
    if (rq->sess)
        uploads_abandon(rq); /* the client went away mid-body */
    if (rq->has_pending) { /* never sent: release what it holds */
        struct http_resp *p = &rq->pending;
        free(p->body);
        for (size_t i = 0; i < p->nheaders; i++) {
            free(p->headers[i].name);
            free(p->headers[i].value);
        }
        free(p->headers);
        if (p->fd >= 0)
            close(p->fd);
    }
    store_repo_clear(&rq->repo);
    free(rq->password);
    free(rq->body);
    free(rq);
    req->route_state = NULL;
}

const struct http_route registry_route = {
    .name = "registry",
    .on_begin = on_begin,
    .on_data = on_data,
    .on_end = on_end,
    .on_free = on_free,
};
