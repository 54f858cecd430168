/* The agent's reports: SubmitTaskStateChange and SubmitContainerStateChange. The merge rules
 * (monotonic, idempotent) are in task_merge.c; here a report finds its task, is merged and
 * written in one transaction. A task that stops by itself also changes its desired status, so
 * its instance's version moves and the agent's poll sees it gone. */
#include <string.h>

#include "core/arn.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "ecs/cluster_rules.h"
#include "ecs/handlers.h"
#include "ecs/service_controller.h"
#include "ecs/service_tasks.h"
#include "ecs/task_merge.h"
#include "ecs/task_rules.h"
#include "http/waiters.h"
#include "store/instances.h"
#include "store/tasks.h"

struct report_args {
    struct api_ctx *ctx;
    const json_t *in;
    bool container; /* SubmitContainerStateChange */
    char *arn;
    char *wake; /* instance to wake after commit, or NULL */
    char *kick; /* cluster whose service controller to wake, or NULL */
};

/* The task ARN a report names: agents send full ARNs (a Fargate task's cluster is not the
 * agent's); an id is completed with the report's cluster. */
static char *report_task_arn(struct api_ctx *ctx, const json_t *in)
{
    const char *task = json_str(in, "task");
    if (!task || !*task)
        return NULL;
    if (arn_looks_like(task))
        return xstrdup(task);
    cleanup_free char *cluster = ecs_cluster_ref_name(json_str(in, "cluster"), ctx->region,
                                                      ctx->account);
    return cluster ? ecs_ref_arn(task, "task", cluster, ctx->region, ctx->account) : NULL;
}

static int merge(struct report_args *a, struct store_task *t, struct wh_err *err)
{
    if (!a->container)
        return task_merge_report(t, a->in, a->ctx->now, err);
    int r = task_merge_container(t, a->in, "request", err);
    if (r < 0)
        return r;
    int64_t before = t->version;
    task_merge_finish(t, r > 0);
    return t->version != before;
}

static int report_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct report_args *a = arg;
    cleanup_task struct store_task t = {0};
    int r = store_task_get(st, a->ctx->account, a->ctx->region, a->arn, &t, err);
    if (r == -ENOENT)
        return api_invalid(err, "The referenced task %s was not found.", a->arn);
    if (r < 0)
        return r;
    bool was_stopped = strcmp(t.desired_status, "STOPPED") == 0;
    if ((r = merge(a, &t, err)) <= 0)
        return r;
    if ((r = store_task_update(st, &t, err)) < 0)
        return r;
    if (t.service_name) { /* its deployment's failures; the controller looks again */
        r = service_task_reported(st, &t, !was_stopped, a->ctx->now, err);
        if (r < 0)
            return r;
        free(a->kick);
        a->kick = xstrdup(t.cluster_arn);
    }
    if (!was_stopped && strcmp(t.desired_status, "STOPPED") == 0 && t.container_instance_arn) {
        r = store_instance_bump(st, t.container_instance_arn, err);
        if (r == 0)
            a->wake = xstrdup(t.container_instance_arn);
    }
    return r == -ENOENT ? 0 : r;
}

static int report(struct api_ctx *ctx, json_t *in, bool container, json_t **ret_out,
                  struct wh_err *err)
{
    if (container && !json_str(in, "containerName"))
        return api_invalid(err, "containerName is required");
    struct report_args a = {ctx, in, container, report_task_arn(ctx, in), NULL, NULL};
    if (!a.arn)
        return api_invalid(err, "task is required: the task's ARN");
    int r = store_tx(ctx->st, report_tx, &a, err);
    if (r == 0 && a.wake)
        waiters_notify(a.wake);
    if (r == 0 && a.kick)
        service_controller_kick(a.kick);
    free(a.arn);
    free(a.wake);
    free(a.kick);
    if (r < 0)
        return r;
    *ret_out = json_pack("{s:s}", "acknowledgment", "ACK");
    return 0;
}

int ecs_submit_task_state_change(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                 struct wh_err *err)
{
    return report(ctx, in, false, ret_out, err);
}

int ecs_submit_container_state_change(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                      struct wh_err *err)
{
    return report(ctx, in, true, ret_out, err);
}
