/* GET /v2/<name>/referrers/<digest>[?artifactType=]: the manifests whose subject is digest, as
 * an OCI image index. The subject itself need not exist. */
#include <string.h>

#include "core/json.h"
#include "core/xalloc.h"
#include "registry/errors.h"
#include "registry/manifests.h"
#include "registry/request.h"

/* A referrer's descriptor, with the annotations of its manifest. */
static json_t *descriptor(struct reg_req *rq, const struct store_image *im)
{
    json_t *d = json_pack("{s:s, s:s, s:I}", "mediaType", im->media_type, "digest", im->digest,
                          "size", (json_int_t)im->size);
    if (im->artifact_type)
        json_object_set_new(d, "artifactType", json_string(im->artifact_type));
    char *body;
    size_t len;
    if (store_manifest_body(rq->app->st, rq->repo.id, im->digest, NULL, &body, &len, NULL) == 0) {
        json_auto_t *m = json_loadb(body, len, 0, NULL);
        json_t *ann = json_object_get(m, "annotations");
        if (json_is_object(ann) && json_object_size(ann))
            json_object_set(d, "annotations", ann);
        free(body);
    }
    return d;
}

int referrers_begin(struct reg_req *rq, struct http_resp *resp)
{
    struct registry_digest dg;
    if (registry_digest_parse(rq->path.ref, &dg) < 0)
        return oci_err(&rq->err, OCI_DIGEST_INVALID, "'%.140s' is not a valid digest",
                       rq->path.ref);
    cleanup_free char *artifact_type = reg_query(rq, "artifactType");
    struct store_image *v = NULL;
    size_t n = 0;
    if (store_referrers_list(rq->app->st, rq->repo.id, rq->path.ref, artifact_type, &v, &n,
                             &rq->err) < 0)
        return -1;
    json_auto_t *ms = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(ms, descriptor(rq, &v[i]));
    store_images_free(v, n);
    json_auto_t *j = json_pack("{s:i, s:s, s:O}", "schemaVersion", 2, "mediaType",
                               MT_OCI_INDEX_V1, "manifests", ms);
    reg_resp_json(resp, 200, MT_OCI_INDEX_V1, json_text(j));
    if (artifact_type)
        http_resp_add_header(resp, "OCI-Filters-Applied", "artifactType");
    return 1;
}
