/* One /v2/ request as the endpoint files see it (internal to src/registry/). routes.c parses
 * the path, authenticates, loads the repository and picks the endpoint; the endpoint's
 * callbacks do the rest and report failures through rq->err (an OCI code). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "app.h"
#include "core/err.h"
#include "http/server.h"
#include "registry/names.h"
#include "registry/token.h"
#include "store/registry.h"

struct upload_session;

struct reg_req {
    struct http_req *http;
    struct wharf_app *app;
    struct registry_path path;
    struct registry_principal who;
    char *password;          /* the registry token the request authenticated with */
    struct store_repo repo; /* when the endpoint names a repository */
    const struct reg_endpoint *ep;
    double now;
    struct wh_err err;
    bool failed;             /* err is set: on_end renders it */
    /* A buffered body (manifest PUT). */
    char *body;
    size_t len, cap;
    /* An upload held by this request. */
    struct upload_session *sess;
    bool sess_new;           /* made by this request: cancelled if the request fails */
    bool sess_broken;        /* a write failed: drop what this request wrote */
    char digest[136];        /* the ?digest= that completes the upload, "" when none */
    /* A response made while the headers came in, sent from on_end (keeps the connection). */
    struct http_resp pending;
    bool has_pending;
    size_t drained;          /* body bytes dropped after the answer was decided */
};

enum reg_ep_flags {
    EP_REPO = 1 << 0,   /* names a repository, which must exist */
    EP_PUSH = 1 << 1,   /* a write: with --create-repository-on-push a missing repo is made */
    EP_BUFFER = 1 << 2, /* buffer the body (up to REG_BUFFER_MAX) into rq->body */
};

/* A manifest's largest size (the OCI spec's suggested 4 MiB). */
#define REG_BUFFER_MAX (4u << 20)

struct reg_endpoint {
    enum registry_path_kind kind;
    const char *method; /* GET also serves HEAD */
    unsigned flags;
    const char *action; /* metrics and log name */
    const char *policy; /* the ECR action a repository policy must allow, or NULL */
    /* Headers known: 1 when resp was filled (answered), 0 to go on reading the body, -1 on
     * error (rq->err set). May be NULL. */
    int (*begin)(struct reg_req *rq, struct http_resp *resp);
    /* A body chunk (streaming endpoints): 0 or -1 with rq->err set. */
    int (*data)(struct reg_req *rq, const char *data, size_t len);
    /* Body complete: 0 with resp filled, or -1 with rq->err set. */
    int (*end)(struct reg_req *rq, struct http_resp *resp);
};

/* Helpers for the endpoint files (routes.c). */
/* DENIED unless repo's policy lets the caller perform action ("ecr:BatchGetImage"). */
int reg_policy_check(struct reg_req *rq, const struct store_repo *repo, const char *action);
bool reg_is_head(const struct reg_req *rq);
/* The blob store and upload table of this wharfd. */
struct registry *reg_registry(const struct reg_req *rq);
/* Set a response with no body (status and headers only). */
void reg_resp_empty(struct http_resp *resp, int status);
void reg_resp_json(struct http_resp *resp, int status, const char *content_type, char *body);
/* A query argument, percent-decoded (new string), or NULL. */
char *reg_query(const struct reg_req *rq, const char *name);

/* The endpoints, one family per file. */
int blobs_get_begin(struct reg_req *rq, struct http_resp *resp);
int blobs_delete_begin(struct reg_req *rq, struct http_resp *resp);
int uploads_post_begin(struct reg_req *rq, struct http_resp *resp);
int uploads_get_begin(struct reg_req *rq, struct http_resp *resp);
int uploads_patch_begin(struct reg_req *rq, struct http_resp *resp);
int uploads_put_begin(struct reg_req *rq, struct http_resp *resp);
int uploads_delete_begin(struct reg_req *rq, struct http_resp *resp);
int uploads_data(struct reg_req *rq, const char *data, size_t len);
int uploads_end(struct reg_req *rq, struct http_resp *resp);
/* Called when the request ends without uploads_end (client went away, error). */
void uploads_abandon(struct reg_req *rq);
int manifests_get_begin(struct reg_req *rq, struct http_resp *resp);
int manifests_put_end(struct reg_req *rq, struct http_resp *resp);
int manifests_delete_begin(struct reg_req *rq, struct http_resp *resp);
int tags_list_begin(struct reg_req *rq, struct http_resp *resp);
int referrers_begin(struct reg_req *rq, struct http_resp *resp);
int catalog_begin(struct reg_req *rq, struct http_resp *resp);
