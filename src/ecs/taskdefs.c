/* ECS task definitions: RegisterTaskDefinition, DescribeTaskDefinition, ListTaskDefinitions,
 * ListTaskDefinitionFamilies, DeregisterTaskDefinition and DeleteTaskDefinitions.
 *
 * A revision goes ACTIVE → INACTIVE (deregistered) → DELETE_IN_PROGRESS (deleted) and keeps its
 * row throughout, so revision numbers never repeat and deleted ones stay describable by ARN. */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/page.h"
#include "core/xalloc.h"
#include "ecs/handlers.h"
#include "ecs/tagging.h"
#include "ecs/taskdef_json.h"
#include "ecs/taskdef_ref.h"
#include "ecs/taskdef_validate.h"
#include "store/taskdefs.h"

#define LIST_MAX 100
#define DELETE_MAX 10

static void taskdef_freep(struct store_taskdef **p)
{
    store_taskdef_free(*p);
}
#define cleanup_taskdef __attribute__((cleanup(taskdef_freep)))

/* The definition s names: "family" (its latest ACTIVE revision, unless need_revision),
 * "family:revision" or an ARN. -EINVAL when s is malformed or lacks a needed revision, -ENOENT
 * when there is no such definition here, -EIO with err filled. */
static int lookup(struct api_ctx *ctx, const char *s, bool need_revision,
                  struct store_taskdef **ret_td, struct wh_err *err)
{
    struct taskdef_ref ref;
    int foreign;
    if (taskdef_ref_parse(s, ctx->region, ctx->account, &ref, &foreign) < 0)
        return -EINVAL;
    if (ref.revision == 0 && need_revision)
        return -EINVAL;
    if (foreign)
        return -ENOENT;
    if (ref.revision == 0)
        return store_taskdef_get_latest_active(ctx->st, ctx->account, ctx->region, ref.family,
                                               ret_td, err);
    return store_taskdef_get(ctx->st, ctx->account, ctx->region, ref.family, ref.revision, ret_td,
                             err);
}

struct register_args {
    struct api_ctx *ctx;
    const char *family, *body;
    const json_t *tags;
    struct store_taskdef *td;
};

static int register_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct register_args *a = arg;
    int r = store_taskdef_register(st, a->ctx->account, a->ctx->region, a->family, a->body,
                                   a->ctx->principal_arn, a->ctx->now, &a->td, err);
    if (r == 0 && json_array_size(a->tags) > 0)
        r = ecs_tags_apply(st, a->td->arn, a->tags, err);
    if (r < 0) {
        store_taskdef_free(a->td);
        a->td = NULL;
    }
    return r;
}

int ecs_register_task_definition(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                 struct wh_err *err)
{
    const json_t *tags = json_object_get(in, "tags");
    if (taskdef_validate(in, err) < 0 || ecs_tags_validate(tags, "tags", err) < 0)
        return -1;
    json_auto_t *body = taskdef_body_new(in);
    cleanup_free char *text = json_text(body);
    struct register_args a = {ctx, json_str(in, "family"), text, tags, NULL};
    if (store_tx(ctx->st, register_tx, &a, err) < 0)
        return -1;
    cleanup_taskdef struct store_taskdef *td = a.td;
    json_t *out = json_pack("{s:o}", "taskDefinition", taskdef_to_json(td));
    if (json_array_size(tags) > 0) {
        json_t *t = NULL;
        if (ecs_tags_json(ctx->st, td->arn, &t, err) < 0) {
            json_decref(out);
            return -1;
        }
        json_object_set_new(out, "tags", t);
    }
    *ret_out = out;
    return 0;
}

int ecs_describe_task_definition(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                 struct wh_err *err)
{
    cleanup_taskdef struct store_taskdef *td = NULL;
    int r = lookup(ctx, json_str(in, "taskDefinition"), false, &td, err);
    if (r == -EINVAL || r == -ENOENT)
        return td_fail(err, "Unable to describe task definition.");
    if (r < 0)
        return -1;
    json_auto_t *out = json_pack("{s:o}", "taskDefinition", taskdef_to_json(td));
    if (ecs_tags_included(in)) {
        json_t *t = NULL;
        if (ecs_tags_json(ctx->st, td->arn, &t, err) < 0)
            return -1;
        json_object_set_new(out, "tags", t);
    }
    *ret_out = json_incref(out);
    return 0;
}

/* maxResults (1..100, default 100) and the key nextToken resumes after (NULL at the start). */
static int page_params(const json_t *in, unsigned *ret_max, char **ret_after, struct wh_err *err)
{
    int64_t max = json_int(in, "maxResults", LIST_MAX);
    if (max < 1 || max > LIST_MAX)
        return api_invalid(err, "maxResults %lld is out of range 1..%d", (long long)max, LIST_MAX);
    const char *tok = json_str(in, "nextToken");
    char *after = NULL;
    if (tok && page_token_decode(tok, &after) < 0)
        return api_invalid(err, "nextToken '%.64s' is not a token this service returned", tok);
    *ret_max = (unsigned)max;
    *ret_after = after;
    return 0;
}

static void set_next_token(json_t *out, const char *key)
{
    cleanup_free char *tok = page_token_encode(key);
    json_object_set_new(out, "nextToken", json_string(tok));
}

int ecs_list_task_definitions(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                              struct wh_err *err)
{
    unsigned max = 0;
    cleanup_free char *after = NULL;
    if (page_params(in, &max, &after, err) < 0)
        return -1;
    const char *status = json_str(in, "status"), *sort = json_str(in, "sort");
    struct store_taskdef_query q = {
        .family = json_str(in, "familyPrefix"), /* an exact family, despite the name */
        .status = status ? status : "ACTIVE",
        .desc = sort && strcmp(sort, "DESC") == 0,
        .limit = max + 1,
    };
    struct taskdef_ref key;
    int foreign;
    if (after) {
        if (taskdef_ref_parse(after, ctx->region, ctx->account, &key, &foreign) < 0 ||
            key.revision == 0)
            return api_invalid(err, "nextToken is not a token this service returned");
        q.after_family = key.family;
        q.after_revision = key.revision;
    }
    struct store_taskdef *v = NULL;
    size_t n = 0;
    if (store_taskdefs_list(ctx->st, ctx->account, ctx->region, &q, &v, &n, err) < 0)
        return -1;
    json_t *arns = json_array();
    for (size_t i = 0; i < n && i < max; i++)
        json_array_append_new(arns, json_string(v[i].arn));
    json_t *out = json_pack("{s:o}", "taskDefinitionArns", arns);
    if (n > max) {
        cleanup_free char *k = xasprintf("%s:%lld", v[max - 1].family,
                                         (long long)v[max - 1].revision);
        set_next_token(out, k);
    }
    store_taskdefs_free(v, n);
    *ret_out = out;
    return 0;
}

int ecs_list_task_definition_families(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                      struct wh_err *err)
{
    unsigned max = 0;
    cleanup_free char *after = NULL;
    if (page_params(in, &max, &after, err) < 0)
        return -1;
    const char *status = json_str(in, "status");
    char **fams = NULL;
    size_t n = 0;
    /* Without a status ECS lists ACTIVE and INACTIVE families alike. */
    if (store_taskdef_families(ctx->st, ctx->account, ctx->region, json_str(in, "familyPrefix"),
                               status ? status : "ALL", after, max + 1, &fams, &n, err) < 0)
        return -1;
    json_t *list = json_array();
    for (size_t i = 0; i < n && i < max; i++)
        json_array_append_new(list, json_string(fams[i]));
    json_t *out = json_pack("{s:o}", "families", list);
    if (n > max)
        set_next_token(out, fams[max - 1]);
    for (size_t i = 0; i < n; i++)
        free(fams[i]);
    free(fams);
    *ret_out = out;
    return 0;
}

int ecs_deregister_task_definition(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                   struct wh_err *err)
{
    const char *s = json_str(in, "taskDefinition");
    cleanup_taskdef struct store_taskdef *td = NULL;
    int r = lookup(ctx, s, true, &td, err);
    if (r == -EINVAL)
        return td_fail(err,
                       "Invalid task definition '%s': specify the family and revision "
                       "(family:revision) or the full ARN.",
                       s ? s : "");
    if (r == -ENOENT)
        return td_fail(err, "The specified task definition does not exist: '%s'.", s);
    if (r < 0)
        return -1;
    /* Deregistering an INACTIVE (or deleted) revision changes nothing and returns it. */
    if (strcmp(td->status, "ACTIVE") == 0) {
        r = store_taskdef_transition(ctx->st, ctx->account, ctx->region, td->family,
                                     td->revision, "ACTIVE", "INACTIVE", ctx->now, err);
        if (r < 0 && r != -EAGAIN)
            return -1;
        struct store_taskdef *now = NULL;
        if (store_taskdef_get(ctx->st, ctx->account, ctx->region, td->family, td->revision, &now,
                              err) < 0)
            return -1;
        store_taskdef_free(td);
        td = now;
    }
    *ret_out = json_pack("{s:o}", "taskDefinition", taskdef_to_json(td));
    return 0;
}

static void add_failure(json_t *failures, const char *arn, const char *reason)
{
    json_array_append_new(failures, json_pack("{s:s, s:s}", "arn", arn, "reason", reason));
}

/* One DeleteTaskDefinitions item: the definition into done, or a failure. */
static int delete_one(struct api_ctx *ctx, const char *s, json_t *done, json_t *failures,
                      struct wh_err *err)
{
    cleanup_taskdef struct store_taskdef *td = NULL;
    int r = lookup(ctx, s, true, &td, err);
    if (r == -EINVAL) {
        add_failure(failures, s, "The specified task definition identifier is invalid. Specify "
                                 "a family and revision (family:revision) or a full ARN.");
        return 0;
    }
    if (r == -ENOENT) {
        add_failure(failures, s, "The specified task definition does not exist.");
        return 0;
    }
    if (r < 0)
        return -1;
    if (strcmp(td->status, "ACTIVE") == 0) {
        add_failure(failures, td->arn, "The specified task definition is still in ACTIVE status. "
                                       "Please deregister the target and try again.");
        return 0;
    }
    if (strcmp(td->status, "INACTIVE") == 0) {
        r = store_taskdef_transition(ctx->st, ctx->account, ctx->region, td->family,
                                     td->revision, "INACTIVE", "DELETE_IN_PROGRESS", ctx->now,
                                     err);
        if (r < 0 && r != -EAGAIN)
            return -1;
        struct store_taskdef *now = NULL;
        if (store_taskdef_get(ctx->st, ctx->account, ctx->region, td->family, td->revision, &now,
                              err) < 0)
            return -1;
        store_taskdef_free(td);
        td = now;
    }
    json_array_append_new(done, taskdef_to_json(td));
    return 0;
}

int ecs_delete_task_definitions(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                struct wh_err *err)
{
    const json_t *list = json_object_get(in, "taskDefinitions");
    size_t n = json_array_size(list);
    if (n == 0)
        return api_invalid(err, "taskDefinitions must name at least one task definition");
    if (n > DELETE_MAX)
        return api_invalid(err, "taskDefinitions names %zu task definitions; at most %d at once",
                           n, DELETE_MAX);
    json_auto_t *done = json_array(), *failures = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v);
        if (delete_one(ctx, s ? s : "", done, failures, err) < 0)
            return -1;
    }
    *ret_out = json_pack("{s:O, s:O}", "taskDefinitions", done, "failures", failures);
    return 0;
}
