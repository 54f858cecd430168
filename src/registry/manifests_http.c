/* GET/HEAD, PUT and DELETE /v2/<name>/manifests/<reference>. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "registry/errors.h"
#include "registry/manifests.h"
#include "registry/request.h"

struct accept_buf {
    char *s;
};

static void collect_accept(void *arg, const char *name, const char *value)
{
    struct accept_buf *a = arg;
    if (strcasecmp(name, "Accept") != 0)
        return;
    char *next = xasprintf("%s%s%s", a->s ? a->s : "", a->s ? "," : "", value);
    free(a->s);
    a->s = next;
}

/* The digest a reference (tag or digest) names in the repository (new string). */
static int resolve(struct reg_req *rq, char **ret_digest)
{
    const char *ref = rq->path.ref;
    if (registry_ref_is_digest(ref)) {
        struct registry_digest d;
        if (registry_digest_parse(ref, &d) < 0)
            return oci_err(&rq->err, OCI_DIGEST_INVALID, "'%.140s' is not a valid digest", ref);
        *ret_digest = xstrdup(ref);
        return 0;
    }
    if (!registry_tag_valid(ref))
        return oci_err(&rq->err, OCI_TAG_INVALID,
                       "tag '%.140s' is invalid: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}", ref);
    int r = store_tag_resolve(rq->app->st, rq->repo.id, ref, ret_digest, &rq->err);
    if (r == -ENOENT)
        return oci_err(&rq->err, OCI_MANIFEST_UNKNOWN,
                       "manifest tagged '%s' is not in repository %s", ref, rq->path.name);
    return r < 0 ? -1 : 0;
}

int manifests_get_begin(struct reg_req *rq, struct http_resp *resp)
{
    cleanup_free char *digest = NULL;
    if (resolve(rq, &digest) < 0)
        return -1;
    struct store_image im;
    char *body;
    size_t len;
    int r = store_manifest_body(rq->app->st, rq->repo.id, digest, &im, &body, &len, &rq->err);
    if (r == -ENOENT)
        return oci_err(&rq->err, OCI_MANIFEST_UNKNOWN, "manifest %s is not in repository %s",
                       digest, rq->path.name);
    if (r < 0)
        return -1;
    struct accept_buf acc = {NULL};
    http_req_each_header(rq->http, collect_accept, &acc);
    bool ok = registry_accept_allows(acc.s, im.media_type);
    free(acc.s);
    if (!ok) {
        free(body);
        oci_err(&rq->err, OCI_MANIFEST_UNKNOWN,
                "manifest %s has media type %s, which the Accept header does not list", digest,
                im.media_type);
        store_image_clear(&im);
        return -1;
    }
    /* lastRecordedPullTime: a write only when the recorded one is over a minute old. */
    if (!reg_is_head(rq) && rq->now - im.last_pulled_at > 60) {
        struct wh_err e = {0};
        if (store_manifest_touch_pull(rq->app->st, rq->repo.id, digest, rq->now, &e) < 0)
            log_warn("request %s: %s", rq->http->request_id, e.msg);
    }
    http_resp_set_body(resp, 200, NULL, body, len);
    http_resp_add_header(resp, "Content-Type", im.media_type);
    http_resp_add_header(resp, "Docker-Content-Digest", digest);
    cleanup_free char *etag = xasprintf("\"%s\"", digest);
    http_resp_add_header(resp, "ETag", etag);
    store_image_clear(&im);
    return 1;
}

int manifests_put_end(struct reg_req *rq, struct http_resp *resp)
{
    char digest[136];
    cleanup_free char *subject = NULL;
    const char *ct = http_req_header(rq->http, "Content-Type");
    if (registry_manifest_put(rq->app, &rq->repo, rq->path.ref, rq->body ? rq->body : "",
                              rq->len, ct, rq->now, digest, &subject, &rq->err) != 0)
        return -1;
    reg_resp_empty(resp, 201);
    cleanup_free char *loc = xasprintf("/v2/%s/manifests/%s", rq->path.name, digest);
    http_resp_add_header(resp, "Location", loc);
    http_resp_add_header(resp, "Docker-Content-Digest", digest);
    if (subject)
        http_resp_add_header(resp, "OCI-Subject", subject);
    return 0;
}

int manifests_delete_begin(struct reg_req *rq, struct http_resp *resp)
{
    const char *ref = rq->path.ref;
    int r;
    if (registry_ref_is_digest(ref)) {
        struct registry_digest d;
        if (registry_digest_parse(ref, &d) < 0)
            return oci_err(&rq->err, OCI_DIGEST_INVALID, "'%.140s' is not a valid digest", ref);
        r = store_manifest_delete(rq->app->st, rq->repo.id, ref, &rq->err);
    } else {
        if (!registry_tag_valid(ref))
            return oci_err(&rq->err, OCI_TAG_INVALID, "tag '%.140s' is invalid", ref);
        r = store_tag_delete(rq->app->st, rq->repo.id, ref, &rq->err);
    }
    if (r == -ENOENT)
        return oci_err(&rq->err, OCI_MANIFEST_UNKNOWN, "manifest %s is not in repository %s",
                       ref, rq->path.name);
    if (r < 0)
        return -1;
    reg_resp_empty(resp, 202);
    return 1;
}
