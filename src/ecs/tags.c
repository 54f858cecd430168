/* TagResource, UntagResource and ListTagsForResource over every taggable ECS resource.
 *
 * Resolving resourceArn follows ECS: a cluster that does not exist is ClusterNotFoundException,
 * an INACTIVE one cannot be tagged or untagged (InvalidParameterException "The specified cluster
 * is inactive...") but its tags can still be listed; any other resource that does not exist
 * (task definitions now; services, tasks, container instances once they are stored) is
 * ResourceNotFoundException. */
#include <string.h>
#include <strings.h>

#include "aws/api.h"
#include "core/arn.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "ecs/clusters.h"
#include "ecs/handlers.h"
#include "ecs/tagging.h"
#include "store/tags.h"

/* ECS resource types that carry tags (the ARN's resource part up to the first '/'). */
static const char *const taggable[] = {
    "cluster",           "task-definition", "service", "task", "container-instance",
    "capacity-provider", "task-set",
};

static int check_cluster(struct api_ctx *ctx, const char *arn, bool mutating, struct wh_err *err)
{
    cleanup_cluster struct store_cluster c = {0};
    int r = ecs_cluster_resolve(ctx, arn, ECS_CLUSTER_ANY_STATUS, &c, err);
    if (r < 0)
        return r;
    if (mutating && strcmp(c.status, "ACTIVE") != 0)
        return api_invalid(err, "The specified cluster is inactive. Specify an active cluster "
                                "and try again.");
    return 0;
}

/* resourceArn names an ECS resource of ctx's region and account that exists. */
static int resource_check(struct api_ctx *ctx, const char *arn, bool mutating, struct wh_err *err)
{
    struct arn a;
    if (arn_parse(arn, &a) < 0 || strcmp(a.service, "ecs") != 0)
        return api_invalid(err, "resourceArn '%s' is not the ARN of an ECS resource", arn);
    const char *slash = strchr(a.resource, '/');
    size_t tlen = slash ? (size_t)(slash - a.resource) : strlen(a.resource);
    bool known = false;
    for (size_t i = 0; i < ARRAY_SIZE(taggable); i++)
        if (strlen(taggable[i]) == tlen && strncmp(taggable[i], a.resource, tlen) == 0)
            known = true;
    if (!known || !slash)
        return api_invalid(err, "resourceArn '%s': ECS resources of type '%.*s' cannot be tagged",
                           arn, (int)tlen, a.resource);
    if (tlen == strlen("cluster") && strncmp(a.resource, "cluster", tlen) == 0)
        return check_cluster(ctx, arn, mutating, err);
    cleanup_free char *status = NULL;
    int r = -ENOENT;
    if (strcmp(a.region, ctx->region) == 0 && strcmp(a.account, ctx->account) == 0)
        r = store_resource_status(ctx->st, arn, &status, err);
    if (r == -ENOENT)
        return wh_err_set(err, 400, "ResourceNotFoundException",
                          "The specified resource %s could not be found.", arn);
    return r;
}

struct tag_args {
    const char *arn;
    const json_t *tags;
    const json_t *keys;
};

static int tag_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct tag_args *a = arg;
    return ecs_tags_apply(st, a->arn, a->tags, err);
}

int ecs_tag_resource(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    struct tag_args a = {.arn = json_str(in, "resourceArn"), .tags = json_object_get(in, "tags")};
    if (!a.arn)
        return api_invalid(err, "resourceArn is required");
    if (ecs_tags_validate(a.tags, "tags", err) < 0)
        return -1;
    if (resource_check(ctx, a.arn, true, err) < 0)
        return -1;
    int r = json_array_size(a.tags) ? store_tx(ctx->st, tag_tx, &a, err) : 0;
    if (r < 0)
        return r;
    *ret_out = json_object();
    return 0;
}

static int untag_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct tag_args *a = arg;
    size_t i;
    const json_t *k;
    json_array_foreach(a->keys, i, k) {
        int r = store_resource_tag_delete(st, a->arn, json_string_value(k), err);
        if (r < 0)
            return r;
    }
    return 0;
}

int ecs_untag_resource(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    struct tag_args a = {.arn = json_str(in, "resourceArn"),
                         .keys = json_object_get(in, "tagKeys")};
    if (!a.arn)
        return api_invalid(err, "resourceArn is required");
    size_t i;
    const json_t *k;
    json_array_foreach(a.keys, i, k) {
        const char *key = json_string_value(k);
        if (!key || !*key)
            return api_invalid(err, "tagKeys[%zu] must be a non-empty string", i);
        if (strncasecmp(key, "aws:", 4) == 0)
            return api_invalid(err, "tagKeys[%zu] '%s': the aws: prefix is reserved for AWS use", i,
                               key);
    }
    if (resource_check(ctx, a.arn, true, err) < 0)
        return -1;
    int r = store_tx(ctx->st, untag_tx, &a, err);
    if (r < 0)
        return r;
    *ret_out = json_object();
    return 0;
}

int ecs_list_tags_for_resource(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                               struct wh_err *err)
{
    const char *arn = json_str(in, "resourceArn");
    if (!arn)
        return api_invalid(err, "resourceArn is required");
    if (resource_check(ctx, arn, false, err) < 0)
        return -1;
    json_t *tags = NULL;
    int r = ecs_tags_json(ctx->st, arn, &tags, err);
    if (r < 0)
        return r;
    *ret_out = json_pack("{s:o}", "tags", tags);
    return 0;
}
