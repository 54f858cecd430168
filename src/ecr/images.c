/* ListImages, DescribeImages, BatchGetImage, BatchDeleteImage. */
#include <string.h>

#include "core/json.h"
#include "core/page.h"
#include "core/xalloc.h"
#include "ecr/common.h"
#include "ecr/handlers.h"
#include "ecr/policy_eval.h"
#include "store/ecr_extra.h"

#define LIST_DEFAULT_PAGE 100

static enum store_tag_filter tag_filter(const json_t *in)
{
    const char *s = json_str(json_object_get(in, "filter"), "tagStatus");
    if (s && strcmp(s, "TAGGED") == 0)
        return STORE_TAGS_TAGGED;
    if (s && strcmp(s, "UNTAGGED") == 0)
        return STORE_TAGS_UNTAGGED;
    return STORE_TAGS_ANY;
}

/* imageStatus ARCHIVED selects nothing: wharf never archives. */
static bool archived_only(const json_t *in)
{
    const char *s = json_str(json_object_get(in, "filter"), "imageStatus");
    return s && (strcmp(s, "ARCHIVED") == 0 || strcmp(s, "ACTIVATING") == 0);
}

/* A page of a repository's images (by digest), for ListImages and DescribeImages. */
static int image_page(struct api_ctx *ctx, const json_t *in, int64_t repo_id,
                      struct store_image **ret_v, size_t *ret_n, char **ret_next,
                      struct wh_err *err)
{
    cleanup_free char *after = NULL;
    if (ecr_page_after(in, &after, err) < 0)
        return -1;
    *ret_next = NULL;
    if (archived_only(in)) {
        *ret_v = NULL;
        *ret_n = 0;
        return 0;
    }
    bool more = false;
    if (store_image_list(ctx->st, repo_id, tag_filter(in), after,
                         ecr_page_limit(in, LIST_DEFAULT_PAGE), ret_v, ret_n, &more, err) < 0)
        return -1;
    if (more && *ret_n)
        *ret_next = page_token_encode((*ret_v)[*ret_n - 1].digest);
    return 0;
}

static json_t *with_next(json_t *out, char *next)
{
    if (next)
        json_object_set_new(out, "nextToken", json_string(next));
    free(next);
    return out;
}

int ecr_list_images(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    if (ecr_repo_load(ctx, in, &repo, err) < 0)
        return -1;
    struct store_image *v = NULL;
    size_t n = 0;
    char *next = NULL;
    if (image_page(ctx, in, repo.id, &v, &n, &next, err) < 0)
        return -1;
    json_t *ids = json_array();
    for (size_t i = 0; i < n; i++) {
        if (v[i].ntags == 0)
            json_array_append_new(ids, ecr_image_id_json(v[i].digest, NULL));
        for (size_t t = 0; t < v[i].ntags; t++)
            json_array_append_new(ids, ecr_image_id_json(v[i].digest, v[i].tags[t]));
    }
    store_images_free(v, n);
    *ret_out = with_next(json_pack("{s:o}", "imageIds", ids), next);
    return 0;
}

/* The ImageDetail shape. */
static json_t *image_to_json(const struct store_repo *repo, const struct store_image *im)
{
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:I, s:o, s:s, s:s}", "registryId", repo->account,
                  "repositoryName", repo->name, "imageDigest", im->digest, "imageSizeInBytes",
                  (json_int_t)im->image_size, "imagePushedAt", json_timestamp(im->pushed_at),
                  "imageManifestMediaType", im->media_type, "imageStatus", "ACTIVE");
    if (im->ntags) {
        json_t *tags = json_array();
        for (size_t i = 0; i < im->ntags; i++)
            json_array_append_new(tags, json_string(im->tags[i]));
        json_object_set_new(j, "imageTags", tags);
    }
    json_set_str(j, "artifactMediaType", im->artifact_type);
    json_set_str(j, "subjectManifestDigest", im->subject_digest);
    if (im->last_pulled_at > 0)
        json_object_set_new(j, "lastRecordedPullTime", json_timestamp(im->last_pulled_at));
    return j;
}

static int image_not_found(const struct api_ctx *ctx, const struct store_repo *repo,
                           const json_t *id, struct wh_err *err)
{
    const char *d = json_str(id, "imageDigest"), *t = json_str(id, "imageTag");
    return ecr_err(err, ECR_IMAGE_NOT_FOUND,
                   "The image with imageId {imageDigest:'%s', imageTag:'%s'} does not exist "
                   "within the repository with name '%s' in the registry with id '%s'",
                   d ? d : "null", t ? t : "null", repo->name, ctx->account);
}

/* DescribeImages by imageIds: every id must name an image (ImageNotFoundException); an image
 * named twice is described once. */
static int describe_ids(struct api_ctx *ctx, const struct store_repo *repo, const json_t *ids,
                        json_t *out, struct wh_err *err)
{
    size_t i;
    const json_t *id;
    json_array_foreach(ids, i, id) {
        struct ecr_resolved res;
        if (ecr_image_id_resolve(ctx->st, repo->id, id, &res, err) < 0)
            return -1;
        if (!res.digest) {
            bool missing = strcmp(res.fail_code, "ImageNotFound") == 0 ||
                           strcmp(res.fail_code, "ImageTagDoesNotMatchDigest") == 0;
            if (missing)
                return image_not_found(ctx, repo, id, err);
            return api_invalid(err, "imageIds[%zu]: %s", i, res.fail_reason);
        }
        bool dup = false;
        for (size_t k = 0; k < json_array_size(out); k++)
            dup |= strcmp(json_str(json_array_get(out, k), "imageDigest"), res.digest) == 0;
        struct store_image im = {0};
        int r = dup ? 0 : store_image_get(ctx->st, repo->id, res.digest, &im, err);
        ecr_resolved_clear(&res);
        if (r == -ENOENT)
            return image_not_found(ctx, repo, id, err);
        if (r < 0)
            return -1;
        if (!dup)
            json_array_append_new(out, image_to_json(repo, &im));
        store_image_clear(&im);
    }
    return 0;
}

int ecr_describe_images(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    if (ecr_repo_load(ctx, in, &repo, err) < 0)
        return -1;
    json_auto_t *details = json_array();
    const json_t *ids = json_arr(in, "imageIds");
    if (ids) {
        if (describe_ids(ctx, &repo, ids, details, err) < 0)
            return -1;
        *ret_out = json_pack("{s:O}", "imageDetails", details);
        return 0;
    }
    struct store_image *v = NULL;
    size_t n = 0;
    char *next = NULL;
    if (image_page(ctx, in, repo.id, &v, &n, &next, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        json_array_append_new(details, image_to_json(&repo, &v[i]));
    store_images_free(v, n);
    *ret_out = with_next(json_pack("{s:O}", "imageDetails", details), next);
    return 0;
}

static bool accepted(const json_t *types, const char *media_type)
{
    if (!types)
        return true;
    size_t i;
    const json_t *t;
    json_array_foreach(types, i, t) {
        if (strcmp(json_string_value(t), media_type) == 0)
            return true;
    }
    return false;
}

/* One imageId of BatchGetImage: an Image into images or an ImageFailure into failures. */
static int get_one(struct api_ctx *ctx, const struct store_repo *repo, const json_t *id,
                   const json_t *types, json_t *images, json_t *failures, struct wh_err *err)
{
    struct ecr_resolved res;
    if (ecr_image_id_resolve(ctx->st, repo->id, id, &res, err) < 0)
        return -1;
    if (!res.digest) {
        json_array_append_new(failures, ecr_image_failure(id, res.fail_code, res.fail_reason));
        return 0;
    }
    cleanup_free char *body = NULL;
    size_t len = 0;
    struct store_image im = {0};
    int r = store_manifest_body(ctx->st, repo->id, res.digest, &im, &body, &len, err);
    json_t *manifest = r == 0 ? json_stringn(body, len) : NULL;
    if (r == -ENOENT || (r == 0 && !manifest)) {
        json_array_append_new(failures,
                              ecr_image_failure(id, "ImageNotFound", "Requested image not found"));
    } else if (r == 0 && !accepted(types, im.media_type)) {
        cleanup_free char *reason = xasprintf("The image's manifest media type %s is not among "
                                              "acceptedMediaTypes",
                                              im.media_type);
        json_array_append_new(failures, ecr_image_failure(id, "ImageNotFound", reason));
        json_decref(manifest);
    } else if (r == 0) {
        json_array_append_new(
            images, json_pack("{s:s, s:s, s:o, s:o, s:s}", "registryId", repo->account,
                              "repositoryName", repo->name, "imageId",
                              ecr_image_id_json(res.digest, json_str(id, "imageTag")),
                              "imageManifest", manifest, "imageManifestMediaType", im.media_type));
        r = store_manifest_touch_pull(ctx->st, repo->id, res.digest, ctx->now, err);
    }
    store_image_clear(&im);
    ecr_resolved_clear(&res);
    return r < 0 && r != -ENOENT ? -1 : 0;
}

int ecr_batch_get_image(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    if (ecr_repo_load(ctx, in, &repo, err) < 0 ||
        ecr_policy_check(ctx, &repo, ECR_ACTION_PULL, err) < 0)
        return -1;
    json_auto_t *images = json_array();
    json_auto_t *failures = json_array();
    const json_t *types = json_arr(in, "acceptedMediaTypes");
    size_t i;
    const json_t *id;
    json_array_foreach(json_object_get(in, "imageIds"), i, id) {
        if (get_one(ctx, &repo, id, types, images, failures, err) < 0)
            return -1;
    }
    *ret_out = json_pack("{s:O, s:O}", "images", images, "failures", failures);
    return 0;
}

struct delete_arg {
    int64_t repo_id;
    const char *digest;
    const char *tag; /* NULL: delete by digest */
    json_t *deleted; /* ImageIdentifiers removed */
    char *parent;    /* the index that holds the image, when that refused the delete */
};

/* Delete the manifest (and its tags) unless an index of the repository references it. */
static int delete_manifest(struct store *st, struct delete_arg *a, struct wh_err *err)
{
    int r = store_ecr_manifest_parent(st, a->repo_id, a->digest, &a->parent, err);
    if (r == 0)
        return -EBUSY;
    if (r != -ENOENT)
        return r;
    return store_manifest_delete(st, a->repo_id, a->digest, err);
}

static int delete_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct delete_arg *a = arg;
    struct store_image im = {0};
    int r = store_image_get(st, a->repo_id, a->digest, &im, err);
    if (r < 0)
        return r;
    if (a->tag) {
        /* Untagging; the image goes with its last tag (as ECR does), unless an index holds it. */
        r = store_tag_delete(st, a->repo_id, a->tag, err);
        json_array_append_new(a->deleted, ecr_image_id_json(a->digest, a->tag));
        if (r == 0 && im.ntags == 1) {
            r = delete_manifest(st, a, err);
            if (r == -EBUSY)
                r = 0;
        }
    } else {
        r = delete_manifest(st, a, err);
        for (size_t i = 0; r == 0 && i < im.ntags; i++)
            json_array_append_new(a->deleted, ecr_image_id_json(a->digest, im.tags[i]));
        if (r == 0 && im.ntags == 0)
            json_array_append_new(a->deleted, ecr_image_id_json(a->digest, NULL));
    }
    store_image_clear(&im);
    return r;
}

static int delete_one(struct api_ctx *ctx, const struct store_repo *repo, const json_t *id,
                      json_t *deleted, json_t *failures, struct wh_err *err)
{
    struct ecr_resolved res;
    if (ecr_image_id_resolve(ctx->st, repo->id, id, &res, err) < 0)
        return -1;
    if (!res.digest) {
        json_array_append_new(failures, ecr_image_failure(id, res.fail_code, res.fail_reason));
        return 0;
    }
    json_auto_t *removed = json_array();
    struct delete_arg a = {.repo_id = repo->id,
                           .digest = res.digest,
                           .tag = json_str(id, "imageTag"),
                           .deleted = removed};
    int r = store_tx(ctx->st, delete_tx, &a, err);
    if (r == 0) {
        json_array_extend(deleted, removed);
    } else if (r == -ENOENT) {
        json_array_append_new(failures,
                              ecr_image_failure(id, "ImageNotFound", "Requested image not found"));
    } else if (r == -EBUSY) {
        cleanup_free char *reason =
            xasprintf("Requested image referenced by manifest list: [%s]", a.parent);
        json_array_append_new(failures,
                              ecr_image_failure(id, "ImageReferencedByManifestList", reason));
    }
    free(a.parent);
    ecr_resolved_clear(&res);
    return r < 0 && r != -ENOENT && r != -EBUSY ? -1 : 0;
}

int ecr_batch_delete_image(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    if (ecr_repo_load(ctx, in, &repo, err) < 0)
        return -1;
    json_auto_t *deleted = json_array();
    json_auto_t *failures = json_array();
    size_t i;
    const json_t *id;
    json_array_foreach(json_object_get(in, "imageIds"), i, id) {
        if (delete_one(ctx, &repo, id, deleted, failures, err) < 0)
            return -1;
    }
    *ret_out = json_pack("{s:O, s:O}", "imageIds", deleted, "failures", failures);
    return 0;
}
