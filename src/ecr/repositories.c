/* CreateRepository, DescribeRepositories, DeleteRepository. */
#include <string.h>

#include "core/arn.h"
#include "core/json.h"
#include "core/page.h"
#include "core/xalloc.h"
#include "ecr/common.h"
#include "ecr/handlers.h"
#include "ecr/mutability.h"
#include "ecr/tags.h"
#include "ecs/tagging.h"

#define DESCRIBE_DEFAULT_PAGE 100

static int check_encryption(const json_t *enc, struct wh_err *err)
{
    const char *type = json_str(enc, "encryptionType");
    const char *key = json_str(enc, "kmsKey");
    if (key && type && strcmp(type, "AES256") == 0)
        return api_invalid(err,
                           "Invalid parameter at 'encryptionConfiguration': kmsKey '%s' "
                           "can only be given with encryptionType KMS or KMS_DSSE",
                           key);
    return 0;
}

struct create_arg {
    const struct store_repo *repo;
    const json_t *tags;
    struct store_repo created;
};

static int create_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct create_arg *a = arg;
    int r = store_repo_create(st, a->repo, NULL, err);
    if (r < 0)
        return r;
    r = ecr_tags_apply(st, a->repo->arn, a->tags, err);
    if (r < 0)
        return r;
    return store_repo_get(st, a->repo->account, a->repo->region, a->repo->name, &a->created, err);
}

int ecr_create_repository(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    if (ecr_registry_check(ctx, in, err) < 0)
        return -1;
    const char *name = json_str(in, "repositoryName");
    const json_t *enc = json_object_get(in, "encryptionConfiguration");
    const json_t *tags = json_object_get(in, "tags");
    const char *mutability = json_str(in, "imageTagMutability");
    const json_t *filters = json_object_get(in, "imageTagMutabilityExclusionFilters");
    if (ecr_mutability_check(mutability, filters, err) < 0 || check_encryption(enc, err) < 0 ||
        ecr_tags_validate(tags, "tags", err) < 0)
        return -1;
    cleanup_free char *resource = xasprintf("repository/%s", name);
    cleanup_free char *arn = arn_make("ecr", ctx->region, ctx->account, resource);
    cleanup_free char *filters_text = filters ? json_text(filters) : NULL;
    const char *enc_type = json_str(enc, "encryptionType");
    struct store_repo repo = {
        .account = (char *)ctx->account,
        .region = (char *)ctx->region,
        .name = (char *)name,
        .arn = arn,
        .created_at = ctx->now,
        .image_tag_mutability = (char *)(mutability ? mutability : STORE_MUTABLE),
        .mutability_exclusions = filters_text,
        .scan_on_push =
            json_bool(json_object_get(in, "imageScanningConfiguration"), "scanOnPush", false),
        .encryption_type = (char *)(enc_type ? enc_type : "AES256"),
        .kms_key = (char *)json_str(enc, "kmsKey"),
    };
    struct create_arg a = {.repo = &repo, .tags = tags};
    int r = store_tx(ctx->st, create_tx, &a, err);
    if (r == -EEXIST)
        return ecr_err(err, ECR_REPO_EXISTS,
                       "The repository with name '%s' already exists in the registry with id "
                       "'%s'",
                       name, ctx->account);
    if (r < 0)
        return -1;
    *ret_out = json_pack("{s:o}", "repository", ecr_repo_to_json(ctx, &a.created));
    store_repo_clear(&a.created);
    return 0;
}

static int describe_named(struct api_ctx *ctx, const json_t *names, json_t *out, struct wh_err *err)
{
    size_t i;
    const json_t *n;
    json_array_foreach(names, i, n) {
        cleanup_repo struct store_repo repo = {0};
        if (ecr_repo_find(ctx, json_string_value(n), &repo, err) < 0)
            return -1;
        json_array_append_new(out, ecr_repo_to_json(ctx, &repo));
    }
    return 0;
}

int ecr_describe_repositories(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    if (ecr_registry_check(ctx, in, err) < 0)
        return -1;
    const json_t *names = json_arr(in, "repositoryNames");
    json_auto_t *list = json_array();
    if (names) {
        if (json_object_get(in, "nextToken") || json_object_get(in, "maxResults"))
            return api_invalid(err, "nextToken and maxResults cannot be used together with "
                                    "repositoryNames");
        if (describe_named(ctx, names, list, err) < 0)
            return -1;
        *ret_out = json_pack("{s:O}", "repositories", list);
        return 0;
    }
    cleanup_free char *after = NULL;
    if (ecr_page_after(in, &after, err) < 0)
        return -1;
    struct store_repo *v = NULL;
    size_t n = 0;
    bool more = false;
    if (store_repo_list(ctx->st, ctx->account, ctx->region, after,
                        ecr_page_limit(in, DESCRIBE_DEFAULT_PAGE), &v, &n, &more, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, ecr_repo_to_json(ctx, &v[i]));
    json_t *out = json_pack("{s:O}", "repositories", list);
    if (more && n) {
        cleanup_free char *tok = page_token_encode(v[n - 1].name);
        json_object_set_new(out, "nextToken", json_string(tok));
    }
    store_repos_free(v, n);
    *ret_out = out;
    return 0;
}

struct delete_arg {
    const struct api_ctx *ctx;
    const char *name;
    bool force;
    struct store_repo deleted;
};

static int delete_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct delete_arg *a = arg;
    int r =
        store_repo_delete(st, a->ctx->account, a->ctx->region, a->name, a->force, &a->deleted, err);
    if (r < 0)
        return r;
    return ecs_tags_drop(st, a->deleted.arn, err);
}

int ecr_delete_repository(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    if (ecr_registry_check(ctx, in, err) < 0)
        return -1;
    struct delete_arg a = {
        .ctx = ctx, .name = json_str(in, "repositoryName"), .force = json_bool(in, "force", false)};
    int r = store_tx(ctx->st, delete_tx, &a, err);
    if (r == -ENOENT)
        return ecr_repo_not_found(ctx, a.name, err);
    if (r == -ENOTEMPTY)
        return ecr_err(err, ECR_REPO_NOT_EMPTY,
                       "The repository with name '%s' in registry with id '%s' cannot be "
                       "deleted because it still contains images",
                       a.name, ctx->account);
    if (r < 0)
        return -1;
    *ret_out = json_pack("{s:o}", "repository", ecr_repo_to_json(ctx, &a.deleted));
    store_repo_clear(&a.deleted);
    return 0;
}
