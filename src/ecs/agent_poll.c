/* PollDesiredTasks: the agent's long poll. The answer is the instance's whole desired state
 * (every task placed on it that is not STOPPED, with its task definition); when the agent
 * already knows the current version the request is parked (no thread held) until the version
 * moves (waiters_notify on the instance ARN) or waitSeconds pass. Every poll records the
 * agent as seen. */
#include <string.h>

#include "core/json.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "ecs/agent_api.h"
#include "ecs/task_json.h"
#include "ecs/taskdef_json.h"
#include "ecs/taskdef_ref.h"
#include "store/instances.h"
#include "store/taskdefs.h"
#include "store/tasks.h"

#define WAIT_DEFAULT 20
#define WAIT_MAX 30

struct poll_req {
    const char *arn;
    int64_t known; /* -1: none, answer at once */
    int64_t wait;
};

/* No botocore model covers this call: check the members here. */
static int parse(const json_t *in, struct poll_req *ret, struct wh_err *err)
{
    const json_t *arn = json_object_get(in, "containerInstanceArn");
    const json_t *known = json_object_get(in, "knownVersion");
    const json_t *wait = json_object_get(in, "waitSeconds");
    if (!json_is_string(arn) || !*json_string_value(arn))
        return api_invalid(err, "containerInstanceArn is required: the ARN the agent registered");
    if (known && !json_is_null(known) && !json_is_integer(known))
        return api_invalid(err, "knownVersion must be an integer");
    if (wait && !json_is_null(wait) &&
        (!json_is_integer(wait) || json_integer_value(wait) < 0 ||
         json_integer_value(wait) > WAIT_MAX))
        return api_invalid(err, "waitSeconds must be an integer in 0..%d", WAIT_MAX);
    *ret = (struct poll_req){
        .arn = json_string_value(arn),
        .known = json_is_integer(known) ? json_integer_value(known) : -1,
        .wait = json_is_integer(wait) ? json_integer_value(wait) : WAIT_DEFAULT,
    };
    return 0;
}

/* The task definition of t as DescribeTaskDefinition gives it. */
static int taskdef_json(struct store *st, const struct store_task *t, json_t **ret,
                        struct wh_err *err)
{
    struct taskdef_ref ref;
    int foreign = 0;
    if (taskdef_ref_parse(t->task_definition_arn, t->region, t->account, &ref, &foreign) < 0 ||
        foreign)
        return wh_err_set(err, 500, "ServerException", "task %s has a bad definition ARN %s",
                          t->arn, t->task_definition_arn);
    struct store_taskdef *td = NULL;
    int r = store_taskdef_get(st, t->account, t->region, ref.family, ref.revision, &td, err);
    if (r == -ENOENT)
        return wh_err_set(err, 500, "ServerException", "task definition %s of task %s is gone",
                          t->task_definition_arn, t->arn);
    if (r < 0)
        return r;
    *ret = taskdef_to_json(td);
    store_taskdef_free(td);
    return 0;
}

static int task_entry(struct store *st, const struct store_task *t, json_t **ret,
                      struct wh_err *err)
{
    json_t *j = NULL, *td = NULL;
    int r = ecs_task_to_json(st, t, false, &j, err);
    if (r == 0 && (r = taskdef_json(st, t, &td, err)) < 0)
        json_decref(j);
    if (r < 0)
        return r;
    json_object_set_new(j, "taskDefinition", td);
    if (t->network_configuration)
        json_object_set_new(j, "networkConfiguration",
                            json_parse_trusted(t->network_configuration));
    if (t->container_instance_arn) /* also for Fargate tasks: the agent may check it */
        json_object_set_new(j, "containerInstanceArn", json_string(t->container_instance_arn));
    *ret = j;
    return 0;
}

static int answer(struct api_ctx *ctx, const struct store_instance *in, json_t **ret_out,
                  struct wh_err *err)
{
    struct store_task *tasks = NULL;
    size_t n = 0;
    int r = store_tasks_on_instance(ctx->st, in->arn, true, &tasks, &n, err);
    if (r < 0)
        return r;
    json_auto_t *list = json_array();
    for (size_t i = 0; i < n && r == 0; i++) {
        json_t *j = NULL;
        if ((r = task_entry(ctx->st, &tasks[i], &j, err)) == 0)
            json_array_append_new(list, j);
    }
    store_tasks_free(tasks, n);
    if (r < 0)
        return r;
    *ret_out = json_pack("{s:I, s:s, s:O}", "version", (json_int_t)in->desired_version, "status",
                         in->status, "tasks", list);
    return 0;
}

int ecs_agent_poll_desired_tasks(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                 struct wh_err *err)
{
    struct poll_req p = {0};
    if (parse(in, &p, err) < 0)
        return -1;
    api_wait_prepare(ctx, p.arn); /* before reading the version it compares */
    cleanup_instance struct store_instance inst = {0};
    int r = store_instance_get(ctx->st, ctx->account, ctx->region, p.arn, &inst, err);
    if (r == -ENOENT)
        return wh_err_set(err, 400, "ClientException",
                          "container instance %s is not registered: register again", p.arn);
    if (r < 0)
        return r;
    double now = time_now();
    if ((r = store_instance_touch(ctx->st, inst.arn, now, err)) < 0)
        return r;
    /* ctx->now is when the request first arrived, also when a parked request runs again. */
    double left = ctx->now + (double)p.wait - now;
    if (p.known == inst.desired_version && !ctx->no_wait && left > 0.005) {
        ctx->wait_until = time_monotonic() + left;
        return API_WAIT;
    }
    return answer(ctx, &inst, ret_out, err);
}
