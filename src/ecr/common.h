/* What every ECR handler shares: the error codes, the repository lookup (scoped by account and
 * region, RepositoryNotFoundException), the one repository_to_json, image identifiers and
 * pagination. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "aws/api.h"
#include "store/registry.h"

/* ECR's error codes; every one is an HTTP 400 (ServerException aside). */
#define ECR_REPO_NOT_FOUND "RepositoryNotFoundException"
#define ECR_REPO_EXISTS "RepositoryAlreadyExistsException"
#define ECR_REPO_NOT_EMPTY "RepositoryNotEmptyException"
#define ECR_IMAGE_NOT_FOUND "ImageNotFoundException"
#define ECR_IMAGE_EXISTS "ImageAlreadyExistsException"
#define ECR_TAG_EXISTS "ImageTagAlreadyExistsException"
#define ECR_DIGEST_MISMATCH "ImageDigestDoesNotMatchException"
#define ECR_LAYERS_NOT_FOUND "LayersNotFoundException"
#define ECR_REFERENCED_NOT_FOUND "ReferencedImagesNotFoundException"
#define ECR_POLICY_NOT_FOUND "RepositoryPolicyNotFoundException"
#define ECR_LIFECYCLE_NOT_FOUND "LifecyclePolicyNotFoundException"
#define ECR_PREVIEW_NOT_FOUND "LifecyclePolicyPreviewNotFoundException"
#define ECR_UPLOAD_NOT_FOUND "UploadNotFoundException"
#define ECR_INVALID_LAYER_PART "InvalidLayerPartException"
#define ECR_INVALID_LAYER "InvalidLayerException"
#define ECR_LAYER_EXISTS "LayerAlreadyExistsException"
#define ECR_EMPTY_UPLOAD "EmptyUploadException"
#define ECR_INVALID_TAG_PARAM "InvalidTagParameterException"
#define ECR_TOO_MANY_TAGS "TooManyTagsException"
#define ECR_ACCESS_DENIED "AccessDeniedException"

struct wharf_app;


/* Fill err with a 400 of the given ECR type; returns -1. */
int ecr_err(struct wh_err *err, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The request's optional registryId must be the caller's account (wharf serves one registry
 * per account). InvalidParameterException otherwise. */
int ecr_registry_check(const struct api_ctx *ctx, const json_t *in, struct wh_err *err);

/* The repository named by in's repositoryName (after ecr_registry_check), in the caller's
 * account and region. RepositoryNotFoundException (ECR's message) when there is none. */
int ecr_repo_load(struct api_ctx *ctx, const json_t *in, struct store_repo *ret,
                  struct wh_err *err);
int ecr_repo_find(struct api_ctx *ctx, const char *name, struct store_repo *ret,
                  struct wh_err *err);
int ecr_repo_not_found(const struct api_ctx *ctx, const char *name, struct wh_err *err);

/* The Repository shape, shared by Create/Describe/DeleteRepository. */
json_t *ecr_repo_to_json(const struct api_ctx *ctx, const struct store_repo *r);

/* {"imageDigest", "imageTag"} with the members that are not NULL. */
json_t *ecr_image_id_json(const char *digest, const char *tag);
/* An ImageFailure: {imageId (copied), failureCode, failureReason}. */
json_t *ecr_image_failure(const json_t *image_id, const char *code, const char *reason);

/* An ImageIdentifier resolved in a repository. */
struct ecr_resolved {
    char *digest;          /* the manifest's digest (owned); NULL when the id failed */
    const char *fail_code; /* ImageFailureCode when the id failed */
    char fail_reason[160];
};
/* Resolve {imageDigest?, imageTag?}: MissingDigestAndTag, InvalidImageDigest, InvalidImageTag,
 * ImageNotFound and ImageTagDoesNotMatchDigest are reported in ret (return 0); only store
 * failures return < 0. */
int ecr_image_id_resolve(struct store *st, int64_t repo_id, const json_t *id,
                         struct ecr_resolved *ret, struct wh_err *err);
void ecr_resolved_clear(struct ecr_resolved *r);

/* The repository policy's verdict on the caller for a data-plane action ("ecr:PutImage");
 * AccessDeniedException when refused (see ecr/policy_eval.h for the semantics). */
int ecr_policy_check(const struct api_ctx *ctx, const struct store_repo *r, const char *action,
                     struct wh_err *err);

/* Pagination: the key a nextToken carries (NULL when there is none); InvalidParameterException
 * for a token wharf did not make. */
int ecr_page_after(const json_t *in, char **ret_after, struct wh_err *err);
/* maxResults, or def when absent (the model already bounds it). */
unsigned ecr_page_limit(const json_t *in, unsigned def);
