/* ECS tasks: RunTask and StartTask (through task_create.c), StopTask, DescribeTasks and
 * ListTasks. A task is placed on a container instance when it is created; the agent there
 * runs it and reports its state (task_state.c). */
#include <string.h>

#include "core/arn.h"
#include "core/json.h"
#include "core/page.h"
#include "core/xalloc.h"
#include "ecs/clusters.h"
#include "ecs/handlers.h"
#include "ecs/instance_view.h"
#include "ecs/service_controller.h"
#include "ecs/task_create.h"
#include "ecs/tagging.h"
#include "ecs/task_json.h"
#include "ecs/task_merge.h"
#include "ecs/task_rules.h"
#include "http/waiters.h"
#include "store/instances.h"
#include "store/tasks.h"

#define DESCRIBE_MAX 100
#define LIST_MAX 100

int ecs_run_task(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    return ecs_tasks_create(ctx, in, false, ret_out, err);
}

int ecs_start_task(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    if (json_array_size(json_object_get(in, "containerInstances")) > 10)
        return api_invalid(err, "containerInstances has %zu entries; at most 10 can be given",
                           json_array_size(json_object_get(in, "containerInstances")));
    if (json_array_size(json_object_get(in, "containerInstances")) == 0)
        return api_invalid(err, "containerInstances must name at least one container instance");
    return ecs_tasks_create(ctx, in, true, ret_out, err);
}

/* The task of cluster c that ref (ARN or id) names; -ENOENT (err untouched) when none. */
static int task_lookup(struct api_ctx *ctx, const struct store_cluster *c, const char *ref,
                       struct store_task *ret, struct wh_err *err)
{
    cleanup_free char *arn = ecs_ref_arn(ref, "task", c->name, ctx->region, ctx->account);
    struct store_task t = {0};
    int r = store_task_get(ctx->st, ctx->account, ctx->region, arn, &t, err);
    if (r < 0)
        return r;
    if (strcmp(t.cluster_arn, c->arn) != 0) {
        store_task_clear(&t);
        return -ENOENT;
    }
    *ret = t;
    return 0;
}

/* ---- StopTask ---- */

struct stop_args {
    struct api_ctx *ctx;
    const struct store_cluster *c;
    const char *ref, *reason;
    struct store_task t; /* out */
    bool wake;
};

/* Whether an agent will ever act on t: it is on an instance whose agent polls. */
static int agent_will_run(struct store *st, const struct store_task *t, double now, bool *ret,
                          struct wh_err *err)
{
    *ret = false;
    if (!t->container_instance_arn)
        return 0;
    cleanup_instance struct store_instance in = {0};
    int r = store_instance_get(st, t->account, t->region, t->container_instance_arn, &in, err);
    if (r < 0)
        return r == -ENOENT ? 0 : r;
    *ret = ecs_agent_connected(&in, now);
    return 0;
}

static int stop_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct stop_args *a = arg;
    store_task_clear(&a->t);
    int r = task_lookup(a->ctx, a->c, a->ref, &a->t, err);
    if (r == -ENOENT)
        return api_invalid(err, "The referenced task was not found.");
    if (r < 0)
        return r;
    struct store_task *t = &a->t;
    if (!task_mark_stopping(t, "UserInitiated", a->reason ? a->reason : "Task stopped by user",
                            a->ctx->now))
        return 0; /* already stopping or stopped: StopTask is idempotent */
    bool agent = false;
    if ((r = agent_will_run(st, t, a->ctx->now, &agent, err)) < 0)
        return r;
    if (!agent && strcmp(t->last_status, "PROVISIONING") == 0)
        task_mark_stopped(t, a->ctx->now);
    if ((r = store_task_update(st, t, err)) < 0)
        return r;
    a->wake = t->container_instance_arn != NULL;
    if (a->wake && (r = store_instance_bump(st, t->container_instance_arn, err)) == -ENOENT)
        r = 0;
    return r;
}

int ecs_stop_task(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    const char *reason = json_str(in, "reason");
    if (reason && strlen(reason) > 255)
        return api_invalid(err, "reason is longer than 255 characters");
    cleanup_cluster struct store_cluster c = {0};
    int r = ecs_cluster_resolve(ctx, json_str(in, "cluster"), ECS_CLUSTER_ANY_STATUS, &c, err);
    if (r < 0)
        return r;
    struct stop_args a = {ctx, &c, json_str(in, "task"), reason};
    r = store_tx(ctx->st, stop_tx, &a, err);
    if (r == 0 && a.wake)
        waiters_notify(a.t.container_instance_arn);
    if (r == 0 && a.t.service_name) /* its service replaces it */
        service_controller_kick(a.t.cluster_arn);
    json_t *j = NULL;
    if (r == 0 && (r = ecs_task_to_json(ctx->st, &a.t, false, &j, err)) == 0)
        *ret_out = json_pack("{s:o}", "task", j);
    store_task_clear(&a.t);
    return r;
}

/* ---- DescribeTasks ---- */

int ecs_describe_tasks(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    const json_t *refs = json_object_get(in, "tasks");
    if (json_array_size(refs) > DESCRIBE_MAX)
        return api_invalid(err, "tasks has %zu entries; at most %d can be described",
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
        const char *s = json_string_value(ref);
        cleanup_task struct store_task t = {0};
        r = task_lookup(ctx, &c, s, &t, err);
        if (r == -ENOENT) {
            cleanup_free char *arn = ecs_ref_arn(s, "task", c.name, ctx->region, ctx->account);
            json_array_append_new(failures,
                                  json_pack("{s:s, s:s}", "arn", arn, "reason", "MISSING"));
            continue;
        }
        json_t *j = NULL;
        if (r < 0 || (r = ecs_task_to_json(ctx->st, &t, tags, &j, err)) < 0)
            return r;
        json_array_append_new(list, j);
    }
    *ret_out = json_pack("{s:O, s:O}", "tasks", list, "failures", failures);
    return 0;
}

/* ---- ListTasks ---- */

/* ListTasks' serviceName: a name, or a service ARN (…:service/CLUSTER/NAME). */
static const char *service_ref_name(const char *ref)
{
    const char *slash = ref && arn_looks_like(ref) ? strrchr(ref, '/') : NULL;
    return slash ? slash + 1 : ref;
}

int ecs_list_tasks(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    int64_t max = json_int(in, "maxResults", LIST_MAX);
    if (max < 1 || max > LIST_MAX)
        return api_invalid(err, "maxResults %lld is out of range 1..%d", (long long)max, LIST_MAX);
    cleanup_free char *after = NULL;
    const char *tok = json_str(in, "nextToken");
    if (tok && page_token_decode(tok, &after) < 0)
        return api_invalid(err, "nextToken '%.64s' is not a token this service returned", tok);
    cleanup_cluster struct store_cluster c = {0};
    int r = ecs_cluster_resolve(ctx, json_str(in, "cluster"), ECS_CLUSTER_ANY_STATUS, &c, err);
    if (r < 0)
        return r;
    const char *ci = json_str(in, "containerInstance");
    cleanup_free char *ci_arn =
        ci ? ecs_ref_arn(ci, "container-instance", c.name, ctx->region, ctx->account) : NULL;
    const char *desired = json_str(in, "desiredStatus");
    struct store_task_query q = {
        .cluster_arn = c.arn,
        .desired_status = desired ? desired : "RUNNING",
        .instance_arn = ci_arn,
        .family = json_str(in, "family"),
        .started_by = json_str(in, "startedBy"),
        .service_name = service_ref_name(json_str(in, "serviceName")),
        .launch_type = json_str(in, "launchType"),
        .after = after,
        .limit = (unsigned)max + 1,
    };
    char **arns = NULL;
    size_t n = 0;
    if ((r = store_tasks_list(ctx->st, &q, &arns, &n, err)) < 0)
        return r;
    bool more = n > (size_t)max;
    json_t *list = json_array();
    for (size_t i = 0; i < n && i < (size_t)max; i++)
        json_array_append_new(list, json_string(arns[i]));
    json_t *out = json_pack("{s:o}", "taskArns", list);
    if (more) {
        cleanup_free char *next = page_token_encode(arns[max - 1]);
        json_object_set_new(out, "nextToken", json_string(next));
    }
    store_task_arns_free(arns);
    *ret_out = out;
    return 0;
}
