/* ECS container instances: DescribeContainerInstances, ListContainerInstances,
 * UpdateContainerInstancesState and DeregisterContainerInstance (RegisterContainerInstance is
 * in instance_register.c). Users see only their clusters' EC2 instances; wharf-managed
 * Fargate capacity never shows here. */
#include "ecs/instances.h"

#include <string.h>

#include "core/json.h"
#include "core/page.h"
#include "core/xalloc.h"
#include "ecs/clusters.h"
#include "ecs/handlers.h"
#include "ecs/instance_view.h"
#include "ecs/service_controller.h"
#include "ecs/tagging.h"
#include "ecs/task_merge.h"
#include "ecs/task_rules.h"
#include "http/waiters.h"
#include "sched/query.h"
#include "store/tasks.h"

#define DESCRIBE_MAX 100
#define UPDATE_MAX 10
#define LIST_MAX 100

int ecs_instance_resolve(struct api_ctx *ctx, const struct store_cluster *c, const char *ref,
                         struct store_instance *ret_inst, struct wh_err *err)
{
    cleanup_free char *arn =
        ecs_ref_arn(ref, "container-instance", c->name, ctx->region, ctx->account);
    struct store_instance in = {0};
    int r = store_instance_get(ctx->st, ctx->account, ctx->region, arn, &in, err);
    if (r < 0)
        return r;
    if (strcmp(in.cluster_arn, c->arn) != 0 || strcmp(in.capacity, "EC2") != 0) {
        store_instance_clear(&in);
        return -ENOENT;
    }
    *ret_inst = in;
    return 0;
}

/* The ContainerInstance of inst (moved into a view). */
static int instance_json(struct api_ctx *ctx, struct store_instance *inst, bool tags,
                         json_t **ret_json, struct wh_err *err)
{
    struct instance_view v;
    int r = instance_view_load(ctx->st, inst, &v, err);
    if (r < 0)
        return r;
    json_t *t = NULL;
    if (tags && (r = ecs_tags_json(ctx->st, v.inst.arn, &t, err)) < 0) {
        instance_view_clear(&v);
        return r;
    }
    *ret_json = instance_to_json(&v, ctx->now, t);
    instance_view_clear(&v);
    return 0;
}

static void add_failure(json_t *failures, struct api_ctx *ctx, const struct store_cluster *c,
                        const char *ref, const char *reason)
{
    cleanup_free char *arn =
        ecs_ref_arn(ref, "container-instance", c->name, ctx->region, ctx->account);
    json_array_append_new(failures, json_pack("{s:s, s:s}", "arn", arn, "reason", reason));
}

/* ---- DescribeContainerInstances ---- */

int ecs_describe_container_instances(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                     struct wh_err *err)
{
    const json_t *refs = json_object_get(in, "containerInstances");
    if (json_array_size(refs) > DESCRIBE_MAX)
        return api_invalid(err, "containerInstances has %zu entries; at most %d can be described",
                           json_array_size(refs), DESCRIBE_MAX);
    cleanup_cluster struct store_cluster c = {0};
    int r = ecs_cluster_resolve(ctx, json_str(in, "cluster"), ECS_CLUSTER_ANY_STATUS, &c, err);
    if (r < 0)
        return r;
    bool tags = ecs_tags_included(in);
    json_auto_t *list = json_array(), *failures = json_array();
    size_t i;
    const json_t *ref;
    json_array_foreach(refs, i, ref) {
        struct store_instance inst = {0};
        r = ecs_instance_resolve(ctx, &c, json_string_value(ref), &inst, err);
        if (r == -ENOENT) {
            add_failure(failures, ctx, &c, json_string_value(ref), "MISSING");
            continue;
        }
        json_t *j = NULL;
        if (r == 0)
            r = instance_json(ctx, &inst, tags, &j, err);
        store_instance_clear(&inst);
        if (r < 0)
            return r;
        json_array_append_new(list, j);
    }
    *ret_out = json_pack("{s:O, s:O}", "containerInstances", list, "failures", failures);
    return 0;
}

/* ---- ListContainerInstances ---- */

struct list_page {
    json_t *arns;
    char *last;
    bool more;
};

/* Instances of the cluster after `after` that pass the filter, up to max (+1 to see more). */
static int list_filtered(struct api_ctx *ctx, const struct store_instance_query *q,
                         const struct query *filter, int64_t max, struct list_page *page,
                         struct wh_err *err)
{
    struct instance_view *v = NULL;
    size_t n = 0;
    int r = instance_views_list(ctx->st, ctx->account, ctx->region, q, &v, &n, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        struct sched_instance si;
        instance_view_sched(&v[i], ctx->now, &si);
        if (filter && !query_eval(filter, &si))
            continue;
        if (json_array_size(page->arns) == (size_t)max) {
            page->more = true;
            break;
        }
        json_array_append_new(page->arns, json_string(v[i].inst.arn));
        free(page->last);
        page->last = xstrdup(v[i].inst.arn);
    }
    instance_views_free(v, n);
    return 0;
}

static int list_status(const char *status, struct wh_err *err)
{
    if (status && strcmp(status, "ACTIVE") != 0 && strcmp(status, "DRAINING") != 0 &&
        strcmp(status, "REGISTERING") != 0 && strcmp(status, "DEREGISTERING") != 0 &&
        strcmp(status, "REGISTRATION_FAILED") != 0)
        return api_invalid(err, "status '%s' is not a container instance status", status);
    return 0;
}

int ecs_list_container_instances(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                 struct wh_err *err)
{
    const char *status = json_str(in, "status");
    int64_t max = json_int(in, "maxResults", LIST_MAX);
    if (list_status(status, err) < 0)
        return -1;
    if (max < 1 || max > LIST_MAX)
        return api_invalid(err, "maxResults %lld is out of range 1..%d", (long long)max, LIST_MAX);
    cleanup_free char *after = NULL;
    const char *tok = json_str(in, "nextToken");
    if (tok && page_token_decode(tok, &after) < 0)
        return api_invalid(err, "nextToken '%.64s' is not a token this service returned", tok);
    struct query *filter = NULL;
    const char *ftext = json_str(in, "filter");
    if (ftext && *ftext && query_parse(ftext, &filter, err) < 0)
        return -1;
    cleanup_cluster struct store_cluster c = {0};
    int r = ecs_cluster_resolve(ctx, json_str(in, "cluster"), ECS_CLUSTER_ANY_STATUS, &c, err);
    struct store_instance_query q = {.cluster_arn = c.arn, .capacity = "EC2", .status = status,
                                     .after = after};
    struct list_page page = {.arns = json_array()};
    if (r == 0)
        r = list_filtered(ctx, &q, filter, max, &page, err);
    query_free(filter);
    if (r < 0) {
        json_decref(page.arns);
        free(page.last);
        return r;
    }
    json_t *out = json_pack("{s:o}", "containerInstanceArns", page.arns);
    if (page.more) {
        cleanup_free char *next = page_token_encode(page.last);
        json_object_set_new(out, "nextToken", json_string(next));
    }
    free(page.last);
    *ret_out = out;
    return 0;
}

/* ---- UpdateContainerInstancesState ---- */

struct state_args {
    struct api_ctx *ctx;
    const json_t *refs;
    const char *status;
    struct store_cluster *c;
    json_t *arns, *failures; /* out: instances to describe, failures */
};

static int state_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct state_args *a = arg;
    size_t i;
    const json_t *ref;
    json_array_foreach(a->refs, i, ref) {
        cleanup_instance struct store_instance inst = {0};
        int r = ecs_instance_resolve(a->ctx, a->c, json_string_value(ref), &inst, err);
        if (r == -ENOENT || (r == 0 && strcmp(inst.status, "INACTIVE") == 0)) {
            add_failure(a->failures, a->ctx, a->c, json_string_value(ref),
                        r == 0 ? "INACTIVE" : "MISSING");
            continue;
        }
        if (r < 0)
            return r;
        if (strcmp(inst.status, a->status) != 0 &&
            (r = store_instance_set_status(st, inst.arn, a->status, NULL, err)) < 0)
            return r;
        json_array_append_new(a->arns, json_string(inst.arn));
    }
    return 0;
}

static int describe_arns(struct api_ctx *ctx, const json_t *arns, json_t *list,
                         struct wh_err *err)
{
    size_t i;
    const json_t *arn;
    json_array_foreach(arns, i, arn) {
        struct store_instance inst = {0};
        int r = store_instance_get(ctx->st, ctx->account, ctx->region, json_string_value(arn),
                                   &inst, err);
        json_t *j = NULL;
        if (r == 0)
            r = instance_json(ctx, &inst, false, &j, err);
        store_instance_clear(&inst);
        if (r < 0)
            return r;
        json_array_append_new(list, j);
    }
    return 0;
}

int ecs_update_container_instances_state(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                         struct wh_err *err)
{
    const char *status = json_str(in, "status");
    if (!status || (strcmp(status, "ACTIVE") != 0 && strcmp(status, "DRAINING") != 0))
        return api_invalid(err, "status '%s' is not valid: container instances can be set to "
                                "ACTIVE or DRAINING",
                           status ? status : "");
    const json_t *refs = json_object_get(in, "containerInstances");
    if (json_array_size(refs) > UPDATE_MAX)
        return api_invalid(err, "containerInstances has %zu entries; at most %d can be updated",
                           json_array_size(refs), UPDATE_MAX);
    cleanup_cluster struct store_cluster c = {0};
    int r = ecs_cluster_resolve(ctx, json_str(in, "cluster"), ECS_CLUSTER_ACTIVE, &c, err);
    if (r < 0)
        return r;
    json_auto_t *arns = json_array(), *failures = json_array(), *list = json_array();
    struct state_args a = {ctx, refs, status, &c, arns, failures};
    if ((r = store_tx(ctx->st, state_tx, &a, err)) < 0)
        return r;
    size_t i;
    const json_t *arn;
    json_array_foreach(arns, i, arn)
        waiters_notify(json_string_value(arn));
    service_controller_kick(c.arn); /* services move their tasks off draining instances */
    if ((r = describe_arns(ctx, arns, list, err)) < 0)
        return r;
    *ret_out = json_pack("{s:O, s:O}", "containerInstances", list, "failures", failures);
    return 0;
}

/* ---- DeregisterContainerInstance ---- */

struct dereg_args {
    struct api_ctx *ctx;
    const char *ref;
    bool force;
    struct store_cluster *c;
    struct store_instance inst; /* out */
};

/* Force: every task still on the instance is to stop; with no agent to stop them they are
 * STOPPED at once. */
static int stop_tasks(struct store *st, struct dereg_args *a, struct store_task *tasks, size_t n,
                      struct wh_err *err)
{
    bool agent = ecs_agent_connected(&a->inst, a->ctx->now);
    for (size_t i = 0; i < n; i++) {
        struct store_task *t = &tasks[i];
        task_mark_stopping(t, "UserInitiated", "Container instance deregistered", a->ctx->now);
        if (!agent)
            task_mark_stopped(t, a->ctx->now);
        int r = store_task_update(st, t, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int dereg_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct dereg_args *a = arg;
    store_instance_clear(&a->inst);
    int r = ecs_instance_resolve(a->ctx, a->c, a->ref, &a->inst, err);
    if (r == -ENOENT)
        return api_invalid(err, "The referenced container instance %s was not found.", a->ref);
    if (r < 0)
        return r;
    struct store_task *tasks = NULL;
    size_t n = 0;
    if ((r = store_tasks_on_instance(st, a->inst.arn, true, &tasks, &n, err)) < 0)
        return r;
    if (n > 0 && !a->force)
        r = api_invalid(err, "Found running tasks on the instance.");
    else
        r = stop_tasks(st, a, tasks, n, err);
    store_tasks_free(tasks, n);
    if (r == 0 && strcmp(a->inst.status, "INACTIVE") != 0)
        r = store_instance_set_status(st, a->inst.arn, "INACTIVE", NULL, err);
    return r;
}

int ecs_deregister_container_instance(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                      struct wh_err *err)
{
    cleanup_cluster struct store_cluster c = {0};
    int r = ecs_cluster_resolve(ctx, json_str(in, "cluster"), ECS_CLUSTER_ANY_STATUS, &c, err);
    if (r < 0)
        return r;
    struct dereg_args a = {ctx, json_str(in, "containerInstance"), json_bool(in, "force", false),
                           &c};
    r = store_tx(ctx->st, dereg_tx, &a, err);
    if (r == 0) {
        waiters_notify(a.inst.arn);
        service_controller_kick(c.arn);
        json_auto_t *arns = json_pack("[s]", a.inst.arn), *list = json_array();
        r = describe_arns(ctx, arns, list, err);
        if (r == 0)
            *ret_out = json_pack("{s:O}", "containerInstance", json_array_get(list, 0));
    }
    store_instance_clear(&a.inst);
    return r;
}
