/* Log groups: create, delete, describe, retention and tags. */
#include <string.h>

#include "core/arn.h"
#include "core/json.h"
#include "core/page.h"
#include "core/xalloc.h"
#include "logs/common.h"
#include "logs/handlers.h"
#include "logs/rules.h"
#include "store/tags.h"

#define LOGS_MAX_TAGS 50

static json_t *group_to_json(struct api_ctx *ctx, const struct store_log_group *g)
{
    cleanup_free char *arn = logs_group_arn(ctx, g->name, true);
    cleanup_free char *garn = logs_group_arn(ctx, g->name, false);
    json_t *j = json_pack("{s:s, s:I, s:I, s:s, s:s, s:I, s:s, s:b}", "logGroupName", g->name,
                          "creationTime", (json_int_t)g->created_at, "metricFilterCount",
                          (json_int_t)0, "arn", arn, "logGroupArn", garn, "storedBytes",
                          (json_int_t)g->stored_bytes, "logGroupClass",
                          g->log_group_class ? g->log_group_class : "STANDARD",
                          "deletionProtectionEnabled", g->deletion_protection);
    if (g->retention_days)
        json_object_set_new(j, "retentionInDays", json_integer(g->retention_days));
    json_set_str(j, "kmsKeyId", g->kms_key_id);
    return j;
}

/* Apply a tags map to arn, within the 50-tag limit counted after the merge. */
static int tags_apply(struct api_ctx *ctx, const char *arn, const json_t *tags, struct wh_err *err)
{
    if (!tags)
        return 0;
    int have = store_resource_tags_count(ctx->st, arn, err);
    if (have < 0)
        return have;
    size_t added = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)tags, k, v) {
        if (strncmp(k, "aws:", 4) == 0)
            return api_invalid(err, "tag key '%s': the aws: prefix is reserved", k);
        added++;
    }
    if ((size_t)have + added > LOGS_MAX_TAGS)
        return wh_err_set(err, 400, "TooManyTagsException",
                          "A resource can have no more than %d tags; this request would make %zu",
                          LOGS_MAX_TAGS, (size_t)have + added);
    json_object_foreach((json_t *)tags, k, v) {
        int r = store_resource_tag_put(ctx->st, arn, k, json_string_value(v), err);
        if (r < 0)
            return r;
    }
    return 0;
}

struct create_args {
    struct api_ctx *ctx;
    const json_t *in;
    struct store_log_group g;
};

static int create_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct create_args *a = arg;
    int r = store_log_group_create(st, a->ctx->account, a->ctx->region, &a->g, err);
    if (r == -EEXIST)
        return wh_err_set(err, 400, "ResourceAlreadyExistsException",
                          "The specified log group already exists");
    if (r < 0)
        return r;
    cleanup_free char *arn = logs_group_arn(a->ctx, a->g.name, false);
    return tags_apply(a->ctx, arn, json_object_get(a->in, "tags"), err);
}

int logs_create_log_group(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    struct create_args a = {.ctx = ctx, .in = in};
    a.g.name = (char *)json_str(in, "logGroupName");
    a.g.created_at = logs_now_ms(ctx);
    a.g.kms_key_id = (char *)json_str(in, "kmsKeyId");
    a.g.log_group_class = (char *)json_str(in, "logGroupClass");
    a.g.deletion_protection = json_bool(in, "deletionProtectionEnabled", false);
    json_t *tags = json_object_get(in, "tags");
    if (tags && json_object_size(tags) > LOGS_MAX_TAGS)
        return api_invalid(err, "tags: %zu tags given; the limit is %d", json_object_size(tags),
                           LOGS_MAX_TAGS);
    int r = store_tx(ctx->st, create_tx, &a, err);
    if (r < 0)
        return r;
    *ret_out = json_object();
    return 0;
}

int logs_delete_log_group(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_log_group struct store_log_group g = {0};
    int r = logs_group_by_name(ctx, json_str(in, "logGroupName"), &g, err);
    if (r < 0)
        return r;
    if (g.deletion_protection)
        return wh_err_set(err, 400, "ValidationException",
                          "Log group %s has deletion protection enabled", g.name);
    cleanup_free char *arn = logs_group_arn(ctx, g.name, false);
    if ((r = store_log_group_delete(ctx->st, g.id, err)) < 0 ||
        (r = store_resource_tags_delete_all(ctx->st, arn, err)) < 0)
        return r;
    *ret_out = json_object();
    return 0;
}

int logs_describe_log_groups(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                             struct wh_err *err)
{
    const char *prefix = json_str(in, "logGroupNamePrefix");
    const char *pattern = json_str(in, "logGroupNamePattern");
    if (prefix && pattern)
        return api_invalid(err, "logGroupNamePrefix and logGroupNamePattern are mutually "
                                "exclusive parameters.");
    int64_t limit = json_int(in, "limit", 50);
    cleanup_free char *after = NULL;
    const char *tok = json_str(in, "nextToken");
    if (tok && page_token_decode(tok, &after) < 0)
        return api_invalid(err, "The specified nextToken is invalid.");
    json_t *groups = json_array();
    cleanup_free char *last = NULL;
    bool more = false;
    /* A pattern filters after the store's prefix listing; read pages until limit are kept. */
    for (;;) {
        struct store_log_group *v = NULL;
        size_t n = 0;
        int r = store_log_groups_list(ctx->st, ctx->account, ctx->region, prefix,
                                      last ? last : after, (unsigned)limit + 1, &v, &n, err);
        if (r < 0) {
            json_decref(groups);
            return r;
        }
        size_t i;
        for (i = 0; i < n && (int64_t)json_array_size(groups) < limit; i++) {
            free(last);
            last = xstrdup(v[i].name);
            if (!pattern || strcasestr(v[i].name, pattern))
                json_array_append_new(groups, group_to_json(ctx, &v[i]));
        }
        more = i < n;
        store_log_groups_free(v, n);
        if (more || n < (size_t)limit + 1 || (int64_t)json_array_size(groups) >= limit)
            break;
    }
    json_t *out = json_pack("{s:o}", "logGroups", groups);
    if (more && last) {
        cleanup_free char *t = page_token_encode(last);
        json_object_set_new(out, "nextToken", json_string(t));
    }
    *ret_out = out;
    return 0;
}

int logs_put_retention_policy(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                              struct wh_err *err)
{
    int64_t days = json_int(in, "retentionInDays", 0);
    if (!logs_retention_valid(days))
        return api_invalid(err, "1 validation error detected: Value '%lld' at 'retentionInDays' "
                                "failed to satisfy constraint: Member must satisfy enum value "
                                "set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, "
                                "731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]",
                           (long long)days);
    cleanup_log_group struct store_log_group g = {0};
    int r = logs_group_by_name(ctx, json_str(in, "logGroupName"), &g, err);
    if (r < 0 || (r = store_log_group_set_retention(ctx->st, g.id, days, err)) < 0)
        return r;
    /* Enforced at once, not only by the next sweep. */
    int64_t cut = store_log_events_expire(ctx->st, g.id, logs_now_ms(ctx) - days * 86400000LL, err);
    if (cut < 0)
        return (int)cut;
    *ret_out = json_object();
    return 0;
}

int logs_delete_retention_policy(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                 struct wh_err *err)
{
    cleanup_log_group struct store_log_group g = {0};
    int r = logs_group_by_name(ctx, json_str(in, "logGroupName"), &g, err);
    if (r < 0 || (r = store_log_group_set_retention(ctx->st, g.id, 0, err)) < 0)
        return r;
    *ret_out = json_object();
    return 0;
}

/* The group behind a tagging ARN (with or without the trailing ":*"); its canonical ARN. */
static int group_arn_resolve(struct api_ctx *ctx, const char *arn, char **ret_arn,
                             struct wh_err *err)
{
    struct arn a;
    if (arn_parse(arn, &a) < 0 || strcmp(a.service, "logs") != 0 ||
        strncmp(a.resource, "log-group:", 10) != 0)
        return api_invalid(err, "resourceArn '%s' is not a log group ARN", arn);
    char *name = a.resource + 10;
    size_t n = strlen(name);
    if (n >= 2 && strcmp(name + n - 2, ":*") == 0)
        name[n - 2] = 0;
    if (strcmp(a.region, ctx->region) != 0 || strcmp(a.account, ctx->account) != 0)
        return wh_err_set(err, 400, ERR_LOGS_NOT_FOUND, "The specified log group does not exist.");
    cleanup_log_group struct store_log_group g = {0};
    int r = logs_group_by_name(ctx, name, &g, err);
    if (r < 0)
        return r;
    *ret_arn = logs_group_arn(ctx, g.name, false);
    return 0;
}

static json_t *tags_map(struct api_ctx *ctx, const char *arn, struct wh_err *err)
{
    struct store_resource_tag *t = NULL;
    size_t n = 0;
    if (store_resource_tags_get(ctx->st, arn, &t, &n, err) < 0)
        return NULL;
    json_t *m = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(m, t[i].key, json_string(t[i].value));
    store_resource_tags_free(t, n);
    return m;
}

struct tag_args {
    struct api_ctx *ctx;
    const char *arn;
    const json_t *tags; /* map to add */
    const json_t *keys; /* array to remove */
};

static int tag_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct tag_args *a = arg;
    size_t i;
    json_t *k;
    json_array_foreach(a->keys, i, k) {
        int r = store_resource_tag_delete(st, a->arn, json_string_value(k), err);
        if (r < 0)
            return r;
    }
    return tags_apply(a->ctx, a->arn, a->tags, err);
}

static int tag_change(struct api_ctx *ctx, const char *arn, const json_t *tags,
                      const json_t *keys, json_t **ret_out, struct wh_err *err)
{
    struct tag_args a = {ctx, arn, tags, keys};
    int r = store_tx(ctx->st, tag_tx, &a, err);
    if (r < 0)
        return r;
    *ret_out = json_object();
    return 0;
}

int logs_tag_resource(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_free char *arn = NULL;
    int r = group_arn_resolve(ctx, json_str(in, "resourceArn"), &arn, err);
    return r < 0 ? r : tag_change(ctx, arn, json_object_get(in, "tags"), NULL, ret_out, err);
}

int logs_untag_resource(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_free char *arn = NULL;
    int r = group_arn_resolve(ctx, json_str(in, "resourceArn"), &arn, err);
    return r < 0 ? r : tag_change(ctx, arn, NULL, json_object_get(in, "tagKeys"), ret_out, err);
}

int logs_list_tags_for_resource(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                struct wh_err *err)
{
    cleanup_free char *arn = NULL;
    int r = group_arn_resolve(ctx, json_str(in, "resourceArn"), &arn, err);
    if (r < 0)
        return r;
    json_t *m = tags_map(ctx, arn, err);
    if (!m)
        return -EIO;
    *ret_out = json_pack("{s:o}", "tags", m);
    return 0;
}

/* The older name-based tagging calls. */
static int group_name_arn(struct api_ctx *ctx, const json_t *in, char **ret_arn,
                          struct wh_err *err)
{
    cleanup_log_group struct store_log_group g = {0};
    int r = logs_group_by_name(ctx, json_str(in, "logGroupName"), &g, err);
    if (r < 0)
        return r;
    *ret_arn = logs_group_arn(ctx, g.name, false);
    return 0;
}

int logs_tag_log_group(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_free char *arn = NULL;
    int r = group_name_arn(ctx, in, &arn, err);
    return r < 0 ? r : tag_change(ctx, arn, json_object_get(in, "tags"), NULL, ret_out, err);
}

int logs_untag_log_group(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_free char *arn = NULL;
    int r = group_name_arn(ctx, in, &arn, err);
    return r < 0 ? r : tag_change(ctx, arn, NULL, json_object_get(in, "tags"), ret_out, err);
}

int logs_list_tags_log_group(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                             struct wh_err *err)
{
    cleanup_free char *arn = NULL;
    int r = group_name_arn(ctx, in, &arn, err);
    if (r < 0)
        return r;
    json_t *m = tags_map(ctx, arn, err);
    if (!m)
        return -EIO;
    *ret_out = json_pack("{s:o}", "tags", m);
    return 0;
}
