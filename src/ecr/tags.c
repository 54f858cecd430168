/* ECR tags on repositories: TagResource, UntagResource, ListTagsForResource and the helpers
 * CreateRepository uses (see tags.h). */
#include "ecr/tags.h"

#include <string.h>

#include "aws/api.h"
#include "core/arn.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "ecr/common.h"
#include "ecr/handlers.h"
#include "ecs/tagging.h"
#include "store/store.h"
#include "store/tags.h"

/* [{Key, Value}] -> [{key, value}] */
static json_t *to_ecs(const json_t *tags)
{
    json_t *out = json_array();
    size_t i;
    const json_t *t;
    json_array_foreach(tags, i, t) {
        json_t *o = json_object();
        json_set_str(o, "key", json_str(t, "Key"));
        json_set_str(o, "value", json_str(t, "Value"));
        json_array_append_new(out, o);
    }
    return out;
}

/* ECS's messages speak of tags[i].key; ECR's fields are capitalised. */
static void rename_error(struct wh_err *err, const char *type)
{
    if (!err || strcmp(err->type, "ServerException") == 0)
        return;
    snprintf(err->type, sizeof(err->type), "%s", type);
    err->status = 400;
    for (char *p = err->msg; (p = strstr(p, "].key")); p += 5)
        p[2] = 'K';
    for (char *p = err->msg; (p = strstr(p, "].value")); p += 7)
        p[2] = 'V';
}

int ecr_tags_validate(const json_t *tags, const char *field, struct wh_err *err)
{
    if (!tags)
        return 0;
    if (json_array_size(tags) > ECS_MAX_TAGS)
        return ecr_err(err, ECR_TOO_MANY_TAGS, "%s has %zu tags; a repository can have at most %d",
                       field, json_array_size(tags), ECS_MAX_TAGS);
    json_auto_t *t = to_ecs(tags);
    if (ecs_tags_validate(t, field, err) == 0)
        return 0;
    rename_error(err, ECR_INVALID_TAG_PARAM);
    return -1;
}

int ecr_tags_apply(struct store *st, const char *arn, const json_t *tags, struct wh_err *err)
{
    if (!tags || json_array_size(tags) == 0)
        return 0;
    if (ecr_tags_validate(tags, "tags", err) < 0)
        return -1;
    json_auto_t *t = to_ecs(tags);
    int r = ecs_tags_apply(st, arn, t, err);
    if (r < 0 && err && strcmp(err->type, "LimitExceededException") == 0)
        rename_error(err, ECR_TOO_MANY_TAGS);
    return r;
}

int ecr_tags_json(struct store *st, const char *arn, json_t **ret_tags, struct wh_err *err)
{
    json_t *ecs = NULL;
    if (ecs_tags_json(st, arn, &ecs, err) < 0)
        return -1;
    json_t *out = json_array();
    size_t i;
    const json_t *t;
    json_array_foreach(ecs, i, t)
        json_array_append_new(
            out, json_pack("{s:s, s:s}", "Key", json_str(t, "key"), "Value", json_str(t, "value")));
    json_decref(ecs);
    *ret_tags = out;
    return 0;
}

/* resourceArn must be a repository of the caller's account and region that exists. */
static int resolve(struct api_ctx *ctx, const char *arn, struct store_repo *ret, struct wh_err *err)
{
    struct arn a;
    if (arn_parse(arn, &a) < 0 || strcmp(a.service, "ecr") != 0 ||
        strncmp(a.resource, "repository/", 11) != 0 || !a.resource[11])
        return api_invalid(err,
                           "Invalid parameter at 'resourceArn': '%s' is not the ARN of an "
                           "ECR repository",
                           arn);
    if (strcmp(a.account, ctx->account) != 0 || strcmp(a.region, ctx->region) != 0)
        return ecr_err(err, ECR_REPO_NOT_FOUND,
                       "The repository with name '%s' does not exist in the registry with id "
                       "'%s' in region %s",
                       a.resource + 11, a.account, a.region);
    return ecr_repo_find(ctx, a.resource + 11, ret, err);
}

struct tag_op {
    const char *arn;
    const json_t *tags; /* TagResource */
    const json_t *keys; /* UntagResource */
};

static int tag_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct tag_op *op = arg;
    return ecr_tags_apply(st, op->arn, op->tags, err);
}

int ecr_tag_resource(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    const char *arn = json_str(in, "resourceArn");
    if (resolve(ctx, arn, &repo, err) < 0)
        return -1;
    struct tag_op op = {.arn = repo.arn, .tags = json_object_get(in, "tags")};
    if (store_tx(ctx->st, tag_tx, &op, err) < 0)
        return -1;
    *ret_out = json_object();
    return 0;
}

static int untag_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct tag_op *op = arg;
    size_t i;
    const json_t *k;
    json_array_foreach(op->keys, i, k) {
        if (store_resource_tag_delete(st, op->arn, json_string_value(k), err) < 0)
            return -1;
    }
    return 0;
}

int ecr_untag_resource(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    if (resolve(ctx, json_str(in, "resourceArn"), &repo, err) < 0)
        return -1;
    const json_t *keys = json_object_get(in, "tagKeys");
    size_t i;
    const json_t *k;
    json_array_foreach(keys, i, k) {
        if (!json_is_string(k) || !*json_string_value(k))
            return ecr_err(err, ECR_INVALID_TAG_PARAM, "tagKeys[%zu] must be a non-empty string",
                           i);
    }
    struct tag_op op = {.arn = repo.arn, .keys = keys};
    if (store_tx(ctx->st, untag_tx, &op, err) < 0)
        return -1;
    *ret_out = json_object();
    return 0;
}

int ecr_list_tags_for_resource(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                               struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    if (resolve(ctx, json_str(in, "resourceArn"), &repo, err) < 0)
        return -1;
    json_t *tags = NULL;
    if (ecr_tags_json(ctx->st, repo.arn, &tags, err) < 0)
        return -1;
    *ret_out = json_pack("{s:o}", "tags", tags);
    return 0;
}
