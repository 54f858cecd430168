/* GET/HEAD /v2/<name>/blobs/<digest> (with Range) and DELETE. Bodies go out by sendfile from
 * the blob file. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/xalloc.h"
#include "registry/blobstore.h"
#include "registry/errors.h"
#include "registry/registry.h"
#include "registry/request.h"

/* The digest of the path, parsed; DIGEST_INVALID when it is not one. */
static int path_digest(struct reg_req *rq, struct registry_digest *ret)
{
    int r = registry_digest_parse(rq->path.ref, ret);
    if (r == -ENOTSUP)
        return oci_err(&rq->err, OCI_DIGEST_INVALID, "digest algorithm of '%s' is not supported "
                       "(sha256 and sha512 are)", rq->path.ref);
    if (r < 0)
        return oci_err(&rq->err, OCI_DIGEST_INVALID, "'%s' is not a valid digest", rq->path.ref);
    return 0;
}

int blobs_get_begin(struct reg_req *rq, struct http_resp *resp)
{
    struct registry_digest d;
    if (path_digest(rq, &d) < 0)
        return -1;
    int64_t size;
    double linked_at;
    bool referenced;
    int r = store_blob_stat(rq->app->st, rq->repo.id, rq->path.ref, &size, &linked_at,
                            &referenced, &rq->err);
    if (r == -ENOENT)
        return oci_err(&rq->err, OCI_BLOB_UNKNOWN, "blob %s is unknown to repository %s",
                       rq->path.ref, rq->path.name);
    if (r < 0)
        return -1;
    /* A client told "exists" skips the upload: keep an unreferenced blob out of the
     * collector's reach until its manifest can arrive (registry/gc.h). */
    if (!referenced && rq->now - linked_at > rq->app->cfg.registry_gc_grace / 4) {
        r = store_blob_link(rq->app->st, rq->repo.id, rq->path.ref, rq->now, &rq->err);
        if (r == -ENOENT) /* collected a moment ago */
            return oci_err(&rq->err, OCI_BLOB_UNKNOWN, "blob %s is unknown to repository %s",
                           rq->path.ref, rq->path.name);
        if (r < 0)
            return -1;
    }
    int fd;
    uint64_t fsize;
    r = blobstore_open_blob(reg_registry(rq)->bs, &d, &fd, &fsize);
    if (r == -ENOENT)
        return oci_err(&rq->err, OCI_BLOB_UNKNOWN, "blob %s is being removed", rq->path.ref);
    if (r < 0)
        return wh_err_set(&rq->err, 500, "ServerException", "cannot open blob %s: %s",
                          rq->path.ref, strerror(-r));
    uint64_t start = 0, end = fsize ? fsize - 1 : 0;
    int status = 200;
    const char *range = http_req_header(rq->http, "Range");
    if (range) {
        r = registry_range_parse(range, fsize, &start, &end);
        if (r == -ERANGE) {
            close(fd);
            oci_err(&rq->err, OCI_RANGE_INVALID, "range %s is outside the blob's %" PRIu64
                    " bytes", range, fsize);
            rq->err.status = 416;
            char cr[64];
            snprintf(cr, sizeof(cr), "bytes */%" PRIu64, fsize);
            http_resp_add_header(resp, "Content-Range", cr);
            return -1;
        }
        if (r == 0)
            status = 206;
    }
    resp->status = status;
    resp->content_type = "application/octet-stream";
    resp->fd = fd;
    resp->fd_offset = start;
    resp->len = fsize ? end - start + 1 : 0;
    if (status == 206) {
        char cr[96];
        snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start, end, fsize);
        http_resp_add_header(resp, "Content-Range", cr);
    }
    http_resp_add_header(resp, "Docker-Content-Digest", rq->path.ref);
    http_resp_add_header(resp, "Accept-Ranges", "bytes");
    cleanup_free char *etag = xasprintf("\"%s\"", rq->path.ref);
    http_resp_add_header(resp, "ETag", etag);
    return 1;
}

int blobs_delete_begin(struct reg_req *rq, struct http_resp *resp)
{
    struct registry_digest d;
    if (path_digest(rq, &d) < 0)
        return -1;
    int r = store_blob_unlink(rq->app->st, rq->repo.id, rq->path.ref, &rq->err);
    if (r == -ENOENT)
        return oci_err(&rq->err, OCI_BLOB_UNKNOWN, "blob %s is unknown to repository %s",
                       rq->path.ref, rq->path.name);
    if (r < 0)
        return -1;
    /* The file stays until garbage collection finds no repository or manifest holding it. */
    reg_resp_empty(resp, 202);
    http_resp_add_header(resp, "Docker-Content-Digest", rq->path.ref);
    return 1;
}
