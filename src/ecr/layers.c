/* The ECR layer-upload API (InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload) and
 * BatchCheckLayerAvailability / GetDownloadUrlForLayer, on the registry's upload sessions and
 * blob store (registry/uploads.h): one blob store, whichever API pushes. */
#include <string.h>

#include "core/crypto.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "ecr/common.h"
#include "ecr/handlers.h"
#include "ecr/policy_eval.h"
#include "ecr/uri.h"
#include "registry/errors.h"
#include "registry/names.h"
#include "registry/uploads.h"

/* Parts travel base64 inside a JSON body of at most 4 MiB: ask for 2 MiB parts. */
#define PART_SIZE (2u << 20)

/* The OCI code of an upload failure as ECR's exception (keeps the message). */
static int upload_error(const char *uuid, struct wh_err *err)
{
    static const struct {
        const char *oci, *ecr;
    } map[] = {
        {OCI_BLOB_UPLOAD_UNKNOWN, ECR_UPLOAD_NOT_FOUND},
        {OCI_RANGE_INVALID, ECR_INVALID_LAYER_PART},
        {OCI_BLOB_UPLOAD_INVALID, ECR_INVALID_LAYER_PART},
        {OCI_DIGEST_INVALID, ECR_INVALID_LAYER},
        {OCI_SIZE_INVALID, ECR_INVALID_LAYER},
    };
    for (size_t i = 0; i < ARRAY_SIZE(map); i++)
        if (strcmp(err->type, map[i].oci) == 0) {
            snprintf(err->type, sizeof(err->type), "%s", map[i].ecr);
            err->status = 400;
            if (strcmp(map[i].ecr, ECR_UPLOAD_NOT_FOUND) == 0)
                snprintf(err->msg, sizeof(err->msg),
                         "Upload with id '%s' does not exist in the repository", uuid);
            return -1;
        }
    return -1; /* a store or I/O failure stays a ServerException */
}

int ecr_initiate_layer_upload(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    if (ecr_repo_load(ctx, in, &repo, err) < 0 ||
        ecr_policy_check(ctx, &repo, ECR_ACTION_UPLOAD_START, err) < 0)
        return -1;
    char uuid[37];
    if (registry_upload_begin(ctx->app, repo.id, ctx->now, uuid, err) < 0)
        return -1;
    *ret_out = json_pack("{s:s, s:I}", "uploadId", uuid, "partSize", (json_int_t)PART_SIZE);
    return 0;
}

int ecr_upload_layer_part(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    if (ecr_repo_load(ctx, in, &repo, err) < 0 ||
        ecr_policy_check(ctx, &repo, ECR_ACTION_UPLOAD_PART, err) < 0)
        return -1;
    const char *uuid = json_str(in, "uploadId");
    const char *b64 = json_str(in, "layerPartBlob");
    int64_t first = json_int(in, "partFirstByte", 0), last = json_int(in, "partLastByte", 0);
    cleanup_free uint8_t *data = xmalloc(strlen(b64) / 4 * 3 + 3);
    long len = base64_decode(b64, data);
    if (len < 0)
        return api_invalid(err, "layerPartBlob is not valid base64");
    if (len == 0 || last != first + len - 1)
        return ecr_err(err, ECR_INVALID_LAYER_PART,
                       "The part of %ld bytes does not span partFirstByte %lld to partLastByte "
                       "%lld",
                       len, (long long)first, (long long)last);
    uint64_t got = 0;
    if (registry_upload_part(ctx->app, repo.id, uuid, (uint64_t)first, data, (size_t)len,
                             ctx->now, &got, err) < 0)
        return upload_error(uuid, err);
    *ret_out = json_pack("{s:s, s:s, s:s, s:I}", "registryId", repo.account, "repositoryName",
                         repo.name, "uploadId", uuid, "lastByteReceived", (json_int_t)got);
    return 0;
}

/* Before completing: the session exists here, holds bytes, and the layer is new. */
static int check_complete(struct api_ctx *ctx, const struct store_repo *repo, const char *uuid,
                          const char *digest, struct wh_err *err)
{
    struct store_upload u;
    int r = store_upload_get(ctx->st, uuid, &u, err);
    if (r == -ENOENT || (r == 0 && u.repo_id != repo->id))
        return ecr_err(err, ECR_UPLOAD_NOT_FOUND,
                       "Upload with id '%s' does not exist in the repository", uuid);
    if (r < 0)
        return -1;
    if (u.received == 0)
        return ecr_err(err, ECR_EMPTY_UPLOAD, "The upload with id '%s' has no layer parts", uuid);
    int64_t size;
    r = store_blob_get(ctx->st, repo->id, digest, &size, err);
    if (r == 0)
        return ecr_err(err, ECR_LAYER_EXISTS,
                       "The layer with digest '%s' already exists in the repository with name "
                       "'%s' in registry with id '%s'",
                       digest, repo->name, ctx->account);
    return r == -ENOENT ? 0 : -1;
}

int ecr_complete_layer_upload(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    if (ecr_repo_load(ctx, in, &repo, err) < 0 ||
        ecr_policy_check(ctx, &repo, ECR_ACTION_UPLOAD_COMPLETE, err) < 0)
        return -1;
    const char *uuid = json_str(in, "uploadId");
    const json_t *digests = json_object_get(in, "layerDigests");
    if (json_array_size(digests) != 1)
        return api_invalid(err, "layerDigests must hold exactly one digest, not %zu",
                           json_array_size(digests));
    const char *digest = json_string_value(json_array_get(digests, 0));
    struct registry_digest d;
    if (registry_digest_parse(digest, &d) < 0)
        return ecr_err(err, ECR_INVALID_LAYER, "Invalid layer digest '%s'", digest);
    if (check_complete(ctx, &repo, uuid, digest, err) < 0)
        return -1;
    if (registry_upload_complete(ctx->app, repo.id, uuid, digest, ctx->now, err) < 0)
        return upload_error(uuid, err);
    *ret_out = json_pack("{s:s, s:s, s:s, s:s}", "registryId", repo.account, "repositoryName",
                         repo.name, "uploadId", uuid, "layerDigest", digest);
    return 0;
}

static json_t *layer_failure(const char *digest, const char *code, const char *reason)
{
    return json_pack("{s:s, s:s, s:s}", "layerDigest", digest, "failureCode", code, "failureReason",
                     reason);
}

int ecr_batch_check_layer_availability(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                       struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    if (ecr_repo_load(ctx, in, &repo, err) < 0 ||
        ecr_policy_check(ctx, &repo, ECR_ACTION_LAYER_CHECK, err) < 0)
        return -1;
    json_auto_t *layers = json_array();
    json_auto_t *failures = json_array();
    size_t i;
    const json_t *j;
    json_array_foreach(json_object_get(in, "layerDigests"), i, j) {
        const char *digest = json_string_value(j);
        struct registry_digest d;
        int64_t size = 0;
        if (registry_digest_parse(digest, &d) < 0) {
            json_array_append_new(
                failures, layer_failure(digest, "InvalidLayerDigest", "Invalid layer digest"));
            continue;
        }
        int r = store_blob_get(ctx->st, repo.id, digest, &size, err);
        if (r == -ENOENT)
            json_array_append_new(
                failures, layer_failure(digest, "MissingLayerDigest", "Could not find layer"));
        else if (r < 0)
            return -1;
        else
            json_array_append_new(layers, json_pack("{s:s, s:s, s:I}", "layerDigest", digest,
                                                    "layerAvailability", "AVAILABLE", "layerSize",
                                                    (json_int_t)size));
    }
    *ret_out = json_pack("{s:O, s:O}", "layers", layers, "failures", failures);
    return 0;
}

int ecr_get_download_url_for_layer(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                   struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    if (ecr_repo_load(ctx, in, &repo, err) < 0 ||
        ecr_policy_check(ctx, &repo, ECR_ACTION_LAYER_PULL, err) < 0)
        return -1;
    const char *digest = json_str(in, "layerDigest");
    struct registry_digest d;
    int64_t size;
    int r = registry_digest_parse(digest, &d) < 0
                ? -ENOENT
                : store_blob_get(ctx->st, repo.id, digest, &size, err);
    if (r == -ENOENT)
        return ecr_err(err, ECR_LAYERS_NOT_FOUND,
                       "The repository with name '%s' in registry with id '%s' does not contain "
                       "a layer with digest '%s'",
                       repo.name, ctx->account, digest);
    if (r < 0)
        return -1;
    cleanup_free char *host = ecr_registry_host(ctx->cfg, repo.account, repo.region);
    cleanup_free char *url = xasprintf("http://%s/v2/%s/blobs/%s", host, repo.name, digest);
    *ret_out = json_pack("{s:s, s:s}", "downloadUrl", url, "layerDigest", digest);
    return 0;
}
