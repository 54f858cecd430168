/* Shared ECR handler plumbing (see common.h). */
#include "ecr/common.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "core/json.h"
#include "core/page.h"
#include "core/xalloc.h"
#include "ecr/policy_eval.h"
#include "ecr/uri.h"
#include "registry/names.h"


int ecr_err(struct wh_err *err, const char *type, const char *fmt, ...)
{
    if (!err)
        return -1;
    err->status = 400;
    snprintf(err->type, sizeof(err->type), "%s", type);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

int ecr_registry_check(const struct api_ctx *ctx, const json_t *in, struct wh_err *err)
{
    const char *id = json_str(in, "registryId");
    if (id && strcmp(id, ctx->account) != 0)
        return api_invalid(err,
                           "registryId '%s' is not this registry: wharf serves the registry "
                           "of account %s",
                           id, ctx->account);
    return 0;
}

int ecr_repo_not_found(const struct api_ctx *ctx, const char *name, struct wh_err *err)
{
    return ecr_err(err, ECR_REPO_NOT_FOUND,
                   "The repository with name '%s' does not exist in the registry with id '%s'",
                   name, ctx->account);
}

int ecr_repo_find(struct api_ctx *ctx, const char *name, struct store_repo *ret, struct wh_err *err)
{
    int r = store_repo_get(ctx->st, ctx->account, ctx->region, name, ret, err);
    if (r == -ENOENT)
        return ecr_repo_not_found(ctx, name, err);
    return r < 0 ? -1 : 0;
}

int ecr_repo_load(struct api_ctx *ctx, const json_t *in, struct store_repo *ret, struct wh_err *err)
{
    if (ecr_registry_check(ctx, in, err) < 0)
        return -1;
    return ecr_repo_find(ctx, json_str(in, "repositoryName"), ret, err);
}

json_t *ecr_repo_to_json(const struct api_ctx *ctx, const struct store_repo *r)
{
    cleanup_free char *uri = ecr_repository_uri(ctx->cfg, r->account, r->region, r->name);
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:s, s:{s:b}, s:{s:s}}", "repositoryArn", r->arn, "registryId",
        r->account, "repositoryName", r->name, "repositoryUri", uri, "createdAt",
        json_timestamp(r->created_at), "imageTagMutability", r->image_tag_mutability,
        "imageScanningConfiguration", "scanOnPush", r->scan_on_push, "encryptionConfiguration",
        "encryptionType", r->encryption_type ? r->encryption_type : "AES256");
    if (r->kms_key)
        json_object_set_new(json_object_get(j, "encryptionConfiguration"), "kmsKey",
                            json_string(r->kms_key));
    if (r->mutability_exclusions)
        json_object_set_new(j, "imageTagMutabilityExclusionFilters",
                            json_parse_trusted(r->mutability_exclusions));
    return j;
}

json_t *ecr_image_id_json(const char *digest, const char *tag)
{
    json_t *j = json_object();
    json_set_str(j, "imageDigest", digest);
    json_set_str(j, "imageTag", tag);
    return j;
}

json_t *ecr_image_failure(const json_t *image_id, const char *code, const char *reason)
{
    return json_pack("{s:O, s:s, s:s}", "imageId", image_id, "failureCode", code, "failureReason",
                     reason);
}

void ecr_resolved_clear(struct ecr_resolved *r)
{
    free(r->digest);
    memset(r, 0, sizeof(*r));
}

static int fail(struct ecr_resolved *r, const char *code, const char *reason)
{
    r->fail_code = code;
    snprintf(r->fail_reason, sizeof(r->fail_reason), "%s", reason);
    return 0;
}

int ecr_image_id_resolve(struct store *st, int64_t repo_id, const json_t *id,
                         struct ecr_resolved *ret, struct wh_err *err)
{
    memset(ret, 0, sizeof(*ret));
    const char *digest = json_str(id, "imageDigest");
    const char *tag = json_str(id, "imageTag");
    struct registry_digest d;
    if (!digest && !tag)
        return fail(ret, "MissingDigestAndTag",
                    "Invalid request parameters: both tag and "
                    "digest cannot be null");
    if (digest && registry_digest_parse(digest, &d) < 0)
        return fail(ret, "InvalidImageDigest",
                    "Invalid request parameters: image digest "
                    "should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'");
    if (tag && !registry_tag_valid(tag))
        return fail(ret, "InvalidImageTag", "Invalid request parameters: image tag is not valid");
    cleanup_free char *found = NULL;
    if (tag) {
        int r = store_tag_resolve(st, repo_id, tag, &found, err);
        if (r == -ENOENT)
            return fail(ret, "ImageNotFound", "Requested image not found");
        if (r < 0)
            return r;
        if (digest && strcmp(found, digest) != 0)
            return fail(ret, "ImageTagDoesNotMatchDigest",
                        "Invalid request parameters: given tag does not map to the given digest");
        ret->digest = TAKE_PTR(found);
        return 0;
    }
    struct store_image im;
    int r = store_image_get(st, repo_id, digest, &im, err);
    if (r == -ENOENT)
        return fail(ret, "ImageNotFound", "Requested image not found");
    if (r < 0)
        return r;
    store_image_clear(&im);
    ret->digest = xstrdup(digest);
    return 0;
}

int ecr_policy_check(const struct api_ctx *ctx, const struct store_repo *r, const char *action,
                     struct wh_err *err)
{
    if (ecr_policy_allows(r->policy_text, ctx->principal_arn, action))
        return 0;
    return ecr_err(err, ECR_ACCESS_DENIED,
                   "User: %s is not authorized to perform: %s on resource: %s because the "
                   "repository policy does not allow it",
                   ctx->principal_arn, action, r->arn);
}

int ecr_page_after(const json_t *in, char **ret_after, struct wh_err *err)
{
    const char *tok = json_str(in, "nextToken");
    *ret_after = NULL;
    if (!tok)
        return 0;
    if (page_token_decode(tok, ret_after) < 0)
        return api_invalid(err,
                           "Invalid parameter at 'nextToken': '%.64s' is not a token this "
                           "registry issued",
                           tok);
    return 0;
}

unsigned ecr_page_limit(const json_t *in, unsigned def)
{
    int64_t n = json_int(in, "maxResults", 0);
    return n > 0 ? (unsigned)n : def;
}
