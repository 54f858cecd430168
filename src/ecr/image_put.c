/* PutImage and PutImageTagMutability. PutImage stores through the registry's
 * registry_manifest_put (registry/manifests.h), the same path as a /v2/ manifest PUT, so
 * parsing, the referenced-blob check and tag immutability cannot differ between the two. */
#include <string.h>

#include "core/json.h"
#include "core/xalloc.h"
#include "ecr/common.h"
#include "ecr/handlers.h"
#include "ecr/mutability.h"
#include "ecr/policy_eval.h"
#include "registry/blobstore.h"
#include "registry/errors.h"
#include "registry/manifests.h"
#include "registry/names.h"

/* The manifest's digest, in the algorithm of the claimed imageDigest (sha256 by default). */
static int manifest_digest(const char *claimed, const char *body, size_t len, char out[136],
                           struct wh_err *err)
{
    struct registry_digest d = {.alg = DIGEST_SHA256};
    if (claimed && registry_digest_parse(claimed, &d) < 0)
        return api_invalid(err,
                           "Invalid parameter at 'imageDigest': '%s' is not a sha256 or "
                           "sha512 digest",
                           claimed);
    blob_digest_of(d.alg, body, len, out);
    if (claimed && strcmp(out, claimed) != 0)
        return ecr_err(err, ECR_DIGEST_MISMATCH,
                       "The provided image digest '%s' does not match the digest of the image "
                       "manifest, %s",
                       claimed, out);
    return 0;
}

/* ImageAlreadyExistsException when the image is there and already carries the tag (or no tag
 * was asked for): ECR refuses a PutImage that would change nothing. */
static int check_new(struct api_ctx *ctx, const struct store_repo *repo, const char *digest,
                     const char *tag, struct wh_err *err)
{
    struct store_image im = {0};
    int r = store_image_get(ctx->st, repo->id, digest, &im, err);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return -1;
    bool has = !tag;
    for (size_t i = 0; tag && i < im.ntags; i++)
        has |= strcmp(im.tags[i], tag) == 0;
    store_image_clear(&im);
    if (!has)
        return 0;
    return ecr_err(err, ECR_IMAGE_EXISTS,
                   "Image with digest '%s' and tag '%s' already exists in the repository with "
                   "name '%s' in registry with id '%s'",
                   digest, tag ? tag : "null", repo->name, ctx->account);
}

/* Every reference of the manifest that the repository lacks, for ECR's message; 0 when none. */
static int check_refs(struct api_ctx *ctx, const struct store_repo *repo,
                      const struct manifest_info *mi, struct wh_err *err)
{
    json_auto_t *missing = json_array();
    for (size_t i = 0; i < mi->nrefs; i++) {
        const struct store_manifest_ref *ref = &mi->refs[i];
        int64_t size;
        struct store_image im = {0};
        int r = ref->is_manifest ? store_image_get(ctx->st, repo->id, ref->digest, &im, err)
                                 : store_blob_get(ctx->st, repo->id, ref->digest, &size, err);
        store_image_clear(&im);
        if (r == -ENOENT)
            json_array_append_new(missing, json_string(ref->digest));
        else if (r < 0)
            return -1;
    }
    if (json_array_size(missing) == 0)
        return 0;
    cleanup_free char *list = json_text(missing);
    if (mi->is_index)
        return ecr_err(err, ECR_REFERENCED_NOT_FOUND,
                       "Manifests with digests '%s' referenced by the image index are not in the "
                       "repository with name '%s' in the registry with id '%s'",
                       list, repo->name, ctx->account);
    return ecr_err(err, ECR_LAYERS_NOT_FOUND,
                   "Layers with digests '%s' required for pushing image into repository with "
                   "name '%s' in the registry with id '%s' do not exist",
                   list, repo->name, ctx->account);
}

/* The registry's OCI error as ECR's (the message kept). */
static int put_error(int r, const char *tag, const struct store_repo *repo, bool is_index,
                     struct wh_err *err)
{
    char msg[sizeof(err->msg)];
    memcpy(msg, err->msg, sizeof(msg));
    if (r == -EEXIST)
        return ecr_err(err, ECR_TAG_EXISTS,
                       "The image tag '%s' already exists in the '%s' repository and cannot be "
                       "overwritten because the repository is immutable.",
                       tag, repo->name);
    if (strcmp(err->type, OCI_MANIFEST_BLOB_UNKNOWN) == 0)
        return ecr_err(err, is_index ? ECR_REFERENCED_NOT_FOUND : ECR_LAYERS_NOT_FOUND, "%s", msg);
    if (strcmp(err->type, OCI_DIGEST_INVALID) == 0)
        return ecr_err(err, ECR_DIGEST_MISMATCH, "%s", msg);
    if (strcmp(err->type, OCI_MANIFEST_INVALID) == 0 || strcmp(err->type, OCI_TAG_INVALID) == 0)
        return api_invalid(err, "Invalid parameter at 'imageManifest': %s", msg);
    return -1;
}

int ecr_put_image(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    if (ecr_repo_load(ctx, in, &repo, err) < 0 ||
        ecr_policy_check(ctx, &repo, ECR_ACTION_PUSH, err) < 0)
        return -1;
    const char *body = json_str(in, "imageManifest");
    size_t len = strlen(body);
    const char *tag = json_str(in, "imageTag");
    const char *media_type = json_str(in, "imageManifestMediaType");
    if (tag && !registry_tag_valid(tag))
        return api_invalid(err,
                           "Invalid parameter at 'imageTag': '%s' must match "
                           "[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}",
                           tag);
    char digest[136];
    if (manifest_digest(json_str(in, "imageDigest"), body, len, digest, err) < 0 ||
        check_new(ctx, &repo, digest, tag, err) < 0)
        return -1;
    struct manifest_info mi;
    if (manifest_parse(body, len, media_type, &mi, err) < 0)
        return put_error(-1, tag, &repo, false, err);
    bool is_index = mi.is_index;
    json_auto_t *mt = json_string(mi.media_type);
    int r = check_refs(ctx, &repo, &mi, err);
    manifest_info_clear(&mi);
    if (r < 0)
        return -1;
    char stored[136];
    r = registry_manifest_put(ctx->app, &repo, tag ? tag : digest, body, len, media_type,
                              ctx->now, stored, NULL, err);
    if (r < 0)
        return put_error(r, tag, &repo, is_index, err);
    json_t *image =
        json_pack("{s:s, s:s, s:o, s:s, s:O}", "registryId", repo.account, "repositoryName",
                  repo.name, "imageId", ecr_image_id_json(stored, tag), "imageManifest", body,
                  "imageManifestMediaType", mt);
    *ret_out = json_pack("{s:o}", "image", image);
    return 0;
}

int ecr_put_image_tag_mutability(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                 struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    if (ecr_repo_load(ctx, in, &repo, err) < 0)
        return -1;
    const char *mutability = json_str(in, "imageTagMutability");
    const json_t *filters = json_arr(in, "imageTagMutabilityExclusionFilters");
    if (ecr_mutability_check(mutability, filters, err) < 0)
        return -1;
    cleanup_free char *filters_text = filters ? json_text(filters) : NULL;
    int r = store_repo_set_mutability(ctx->st, repo.id, mutability, filters_text, err);
    if (r == -ENOENT)
        return ecr_repo_not_found(ctx, repo.name, err);
    if (r < 0)
        return -1;
    json_t *out = json_pack("{s:s, s:s, s:s}", "registryId", repo.account, "repositoryName",
                            repo.name, "imageTagMutability", mutability);
    if (filters)
        json_object_set_new(out, "imageTagMutabilityExclusionFilters", json_deep_copy(filters));
    *ret_out = out;
    return 0;
}
