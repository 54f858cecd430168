/* The blob upload endpoints: POST (start, monolithic with ?digest=, cross-repository mount
 * with ?mount=&from=), PATCH (a chunk, Content-Range checked), PUT (complete), GET (status)
 * and DELETE (cancel). Bodies stream into the upload file through uploads.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "ecr/policy_eval.h"
#include "registry/errors.h"
#include "registry/registry.h"
#include "registry/request.h"
#include "registry/uploads.h"

static void add_location(struct http_resp *resp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_location(struct http_resp *resp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cleanup_free char *loc = xvasprintf(fmt, ap);
    va_end(ap);
    http_resp_add_header(resp, "Location", loc);
}

/* The upload's state headers: Location, Range ("0-<last byte>", "0-0" when empty), UUID. */
static void state_headers(struct reg_req *rq, struct http_resp *resp, const char *uuid,
                          uint64_t offset)
{
    add_location(resp, "/v2/%s/blobs/uploads/%s", rq->path.name, uuid);
    char range[48];
    snprintf(range, sizeof(range), "0-%" PRIu64, offset ? offset - 1 : 0);
    http_resp_add_header(resp, "Range", range);
    http_resp_add_header(resp, "Docker-Upload-UUID", uuid);
}

static void created(struct reg_req *rq, struct http_resp *resp, const char *digest)
{
    reg_resp_empty(resp, 201);
    add_location(resp, "/v2/%s/blobs/%s", rq->path.name, digest);
    http_resp_add_header(resp, "Docker-Content-Digest", digest);
}

/* ?digest= checked and kept in rq->digest. */
static int take_digest(struct reg_req *rq, const char *digest, struct registry_digest *ret)
{
    int r = registry_digest_parse(digest, ret);
    if (r < 0)
        return oci_err(&rq->err, OCI_DIGEST_INVALID, "digest '%.140s' is not a %s", digest,
                       r == -ENOTSUP ? "supported algorithm (sha256, sha512)" : "valid digest");
    snprintf(rq->digest, sizeof(rq->digest), "%s", digest);
    return 0;
}

/* A cross-repository mount; 1 when mounted (resp filled), 0 when the blob is not there to
 * mount (the caller starts an upload instead, as the spec says), -1 on error. */
static int try_mount(struct reg_req *rq, struct http_resp *resp, const char *digest,
                     const char *from)
{
    struct registry_digest d;
    if (take_digest(rq, digest, &d) < 0)
        return -1;
    if (!from || !registry_name_valid(from, strlen(from)))
        return 0;
    struct store_repo src = {0};
    int r = store_repo_get(rq->app->st, rq->who.account, rq->who.region, from, &src, &rq->err);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return -1;
    if (reg_policy_check(rq, &src, ECR_ACTION_LAYER_PULL) < 0) {
        store_repo_clear(&src);
        return -1;
    }
    int64_t size;
    r = store_blob_get(rq->app->st, src.id, digest, &size, &rq->err);
    store_repo_clear(&src);
    if (r == 0)
        r = store_blob_link(rq->app->st, rq->repo.id, digest, rq->now, &rq->err);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return -1;
    created(rq, resp, digest);
    return 1;
}

int uploads_post_begin(struct reg_req *rq, struct http_resp *resp)
{
    struct registry *reg = reg_registry(rq);
    cleanup_free char *mount = reg_query(rq, "mount");
    cleanup_free char *from = reg_query(rq, "from");
    cleanup_free char *digest = reg_query(rq, "digest");
    if (mount) {
        int r = try_mount(rq, resp, mount, from);
        if (r != 0)
            return r;
    }
    struct registry_digest d = {.alg = DIGEST_SHA256};
    if (digest && take_digest(rq, digest, &d) < 0)
        return -1;
    struct upload_session *s;
    if (upload_start(reg, rq->app->st, rq->repo.id, d.alg == DIGEST_SHA512, rq->now, &s,
                     &rq->err) < 0)
        return -1;
    if (digest) { /* monolithic: the body is the blob */
        rq->sess = s;
        rq->sess_new = true;
        return 0;
    }
    if (upload_release(reg, rq->app->st, s, rq->now, &rq->err) < 0)
        return -1;
    reg_resp_empty(resp, 202);
    state_headers(rq, resp, upload_uuid(s), 0);
    return 1;
}

static int acquire(struct reg_req *rq)
{
    return upload_acquire(reg_registry(rq), rq->app->st, rq->path.ref, rq->repo.id, &rq->sess,
                          &rq->err);
}

/* A Content-Range must start where the upload stands; 416 (with the state) when not. */
static int check_content_range(struct reg_req *rq, struct http_resp *resp)
{
    const char *cr = http_req_header(rq->http, "Content-Range");
    if (!cr)
        return 0;
    uint64_t start, end, at = upload_offset(rq->sess);
    if (registry_content_range_parse(cr, &start, &end) < 0)
        oci_err(&rq->err, OCI_RANGE_INVALID, "Content-Range '%.60s' is not START-END", cr);
    else if (start != at)
        oci_err(&rq->err, OCI_RANGE_INVALID,
                "chunk %" PRIu64 "-%" PRIu64 " is out of order: the upload holds %" PRIu64
                " bytes, so the next chunk starts at %" PRIu64,
                start, end, at, at);
    else
        return 0;
    state_headers(rq, resp, rq->path.ref, at);
    upload_unhold(reg_registry(rq), rq->sess);
    rq->sess = NULL;
    return -1;
}

int uploads_patch_begin(struct reg_req *rq, struct http_resp *resp)
{
    if (acquire(rq) < 0)
        return -1;
    return check_content_range(rq, resp);
}

int uploads_put_begin(struct reg_req *rq, struct http_resp *resp)
{
    cleanup_free char *digest = reg_query(rq, "digest");
    struct registry_digest d;
    if (!digest)
        return oci_err(&rq->err, OCI_DIGEST_INVALID,
                       "completing an upload needs ?digest= naming its content");
    if (take_digest(rq, digest, &d) < 0 || acquire(rq) < 0)
        return -1;
    return check_content_range(rq, resp);
}

int uploads_data(struct reg_req *rq, const char *data, size_t len)
{
    if (!rq->sess)
        return 0;
    if (upload_write(rq->sess, data, len, &rq->err) < 0) {
        rq->sess_broken = true;
        return -1;
    }
    return 0;
}

int uploads_end(struct reg_req *rq, struct http_resp *resp)
{
    struct registry *reg = reg_registry(rq);
    struct upload_session *s = TAKE_PTR(rq->sess);
    if (!s)
        return wh_err_set(&rq->err, 500, "ServerException", "no upload held");
    if (rq->digest[0]) { /* monolithic POST or completing PUT */
        if (upload_finish(reg, rq->app->st, s, rq->digest, rq->now, NULL, &rq->err) < 0)
            return -1;
        created(rq, resp, rq->digest);
        return 0;
    }
    char uuid[37];
    snprintf(uuid, sizeof(uuid), "%s", upload_uuid(s));
    uint64_t offset = upload_offset(s);
    if (upload_release(reg, rq->app->st, s, rq->now, &rq->err) < 0)
        return -1;
    reg_resp_empty(resp, 202);
    state_headers(rq, resp, uuid, offset);
    return 0;
}

void uploads_abandon(struct reg_req *rq)
{
    struct registry *reg = reg_registry(rq);
    struct upload_session *s = TAKE_PTR(rq->sess);
    struct wh_err err = {0};
    if (rq->sess_new) {
        upload_cancel(reg, rq->app->st, s, &err);
    } else if (rq->sess_broken) {
        upload_forget(reg, s);
    } else {
        /* Keep what arrived: the client can ask where the upload stands and resume. */
        uint64_t offset = upload_offset(s);
        if (upload_release(reg, rq->app->st, s, rq->now, &err) == 0)
            log_info("request %s: upload %s interrupted, kept %" PRIu64 " bytes",
                     rq->http->request_id, rq->path.ref, offset);
    }
}

int uploads_get_begin(struct reg_req *rq, struct http_resp *resp)
{
    if (acquire(rq) < 0)
        return -1;
    struct upload_session *s = TAKE_PTR(rq->sess);
    uint64_t offset = upload_offset(s);
    upload_unhold(reg_registry(rq), s);
    reg_resp_empty(resp, 204);
    state_headers(rq, resp, rq->path.ref, offset);
    return 1;
}

int uploads_delete_begin(struct reg_req *rq, struct http_resp *resp)
{
    if (acquire(rq) < 0)
        return -1;
    struct upload_session *s = TAKE_PTR(rq->sess);
    if (upload_cancel(reg_registry(rq), rq->app->st, s, &rq->err) < 0)
        return -1;
    reg_resp_empty(resp, 204);
    return 1;
}
