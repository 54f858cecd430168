#include "ecs/task_create.h"

#include <string.h>

#include "core/arn.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "ecs/clusters.h"
#include "ecs/instance_view.h"
#include "ecs/instances.h"
#include "ecs/tagging.h"
#include "ecs/task_build.h"
#include "ecs/task_json.h"
#include "ecs/task_rules.h"
#include "ecs/taskdef_ref.h"
#include "ecs/taskdef_validate.h"
#include "http/waiters.h"
#include "sched/place.h"
#include "store/taskdefs.h"
#include "store/tasks.h"

#define RUN_MAX 10
#define MAX_CONSTRAINTS 10
#define MAX_STRATEGIES 5
#define STARTED_BY_MAX 128
#define GROUP_MAX 255

struct create {
    struct api_ctx *ctx;
    const json_t *in;
    bool start;
    struct store_cluster c;
    struct store_taskdef *td;
    json_t *body;
    struct task_launch_plan plan;
    json_t *strategy; /* the capacity provider strategy in force (plan.strategy), or NULL */
    struct task_needs needs;
    unsigned count;
    char *group;
    struct sched_constraint cons[2 * MAX_CONSTRAINTS];
    size_t ncons;
    struct sched_strategy strat[MAX_STRATEGIES];
    size_t nstrat;
    json_t *tags; /* for every task: the definition's (propagateTags) and the request's */
    /* out of the transaction */
    struct store_task *made;
    size_t nmade;
    json_t *failures;
    char **notify; /* instance ARNs whose desired version moved */
    size_t nnotify;
};

static void create_clear(struct create *k)
{
    store_cluster_clear(&k->c);
    store_taskdef_free(k->td);
    json_decref(k->body);
    json_decref(k->strategy);
    free(k->group);
    for (size_t i = 0; i < k->ncons; i++)
        query_free(k->cons[i].expr);
    json_decref(k->tags);
    store_tasks_free(k->made, k->nmade);
    json_decref(k->failures);
    for (size_t i = 0; i < k->nnotify; i++)
        free(k->notify[i]);
    free(k->notify);
}

/* ---- the request ---- */

static int load_taskdef(struct create *k, struct wh_err *err)
{
    struct api_ctx *ctx = k->ctx;
    const char *s = json_str(k->in, "taskDefinition");
    struct taskdef_ref ref;
    int foreign = 0, r;
    if (taskdef_ref_parse(s, ctx->region, ctx->account, &ref, &foreign) < 0)
        return api_invalid(err, "taskDefinition '%s' is not a family, family:revision or task "
                                "definition ARN",
                           s ? s : "");
    if (foreign)
        r = -ENOENT;
    else if (ref.revision == 0)
        r = store_taskdef_get_latest_active(ctx->st, ctx->account, ctx->region, ref.family,
                                            &k->td, err);
    else
        r = store_taskdef_get(ctx->st, ctx->account, ctx->region, ref.family, ref.revision,
                              &k->td, err);
    if (r == -ENOENT)
        return wh_err_set(err, 400, "ClientException", "TaskDefinition not found.");
    if (r < 0)
        return r;
    if (strcmp(k->td->status, "ACTIVE") != 0)
        return wh_err_set(err, 400, "ClientException", "TaskDefinition is inactive");
    k->body = json_parse_trusted(k->td->body);
    return 0;
}

static int parse_constraint(struct create *k, const json_t *pc, const char *field,
                            struct wh_err *err)
{
    if (sched_constraint_parse(json_str(pc, "type"), json_str(pc, "expression"),
                               &k->cons[k->ncons], err) < 0)
        return wh_err_prefix(err, "%s: ", field);
    k->ncons++;
    return 0;
}

static int parse_placement(struct create *k, struct wh_err *err)
{
    const json_t *pcs = json_object_get(k->in, "placementConstraints");
    const json_t *pss = json_object_get(k->in, "placementStrategy");
    if (json_array_size(pcs) > MAX_CONSTRAINTS || json_array_size(pss) > MAX_STRATEGIES)
        return api_invalid(err, "at most %d placementConstraints and %d placementStrategy items "
                                "can be given",
                           MAX_CONSTRAINTS, MAX_STRATEGIES);
    if (k->plan.type == TASK_LAUNCH_FARGATE && (json_array_size(pcs) || json_array_size(pss)))
        return api_invalid(err, "Task placement constraints and strategies are not supported "
                                "for launch type FARGATE.");
    const json_t *lists[] = {pcs, json_object_get(k->body, "placementConstraints")};
    for (size_t l = 0; l < ARRAY_SIZE(lists) && k->plan.type == TASK_LAUNCH_EC2; l++) {
        size_t i;
        const json_t *pc;
        json_array_foreach(lists[l], i, pc) {
            char field[64];
            snprintf(field, sizeof(field), "%s[%zu]",
                     l ? "taskDefinition.placementConstraints" : "placementConstraints", i);
            if (parse_constraint(k, pc, field, err) < 0)
                return -1;
        }
    }
    size_t i;
    const json_t *ps;
    json_array_foreach(pss, i, ps) {
        if (sched_strategy_parse(json_str(ps, "type") ? json_str(ps, "type") : "",
                                 json_str(ps, "field"), &k->strat[k->nstrat], err) < 0)
            return wh_err_prefix(err, "placementStrategy[%zu]: ", i);
        k->nstrat++;
    }
    if (k->nstrat == 0 && !k->start)
        k->strat[k->nstrat++] = (struct sched_strategy){SCHED_RANDOM, NULL};
    return 0;
}

static int parse_basics(struct create *k, struct wh_err *err)
{
    const json_t *in = k->in;
    int64_t count = json_int(in, "count", 1);
    if (!k->start && (count < 1 || count > RUN_MAX))
        return api_invalid(err, "count %lld is out of range 1..%d", (long long)count, RUN_MAX);
    k->count = (unsigned)count;
    const char *by = json_str(in, "startedBy"), *group = json_str(in, "group");
    if (by && strlen(by) > STARTED_BY_MAX)
        return api_invalid(err, "startedBy is longer than %d characters", STARTED_BY_MAX);
    if (group && (strlen(group) > GROUP_MAX || !*group))
        return api_invalid(err, "group '%.64s' must be 1 to %d characters", group, GROUP_MAX);
    k->group = group ? xstrdup(group) : xasprintf("family:%s", k->td->family);
    return ecs_tags_validate(json_object_get(in, "tags"), "tags", err);
}

static int resolve_launch(struct create *k, struct wh_err *err)
{
    if (k->start) {
        k->plan = (struct task_launch_plan){TASK_LAUNCH_EC2, NULL};
        return 0;
    }
    json_auto_t *def = json_parse_trusted(k->c.default_strategy);
    json_auto_t *providers = json_parse_trusted(k->c.capacity_providers);
    if (task_launch_resolve(json_str(k->in, "launchType"),
                            json_object_get(k->in, "capacityProviderStrategy"), def, providers,
                            &k->plan, err) < 0)
        return -1;
    /* plan.strategy points into def or the request: keep a copy that lives as long as k. */
    k->strategy = k->plan.strategy ? json_deep_copy(k->plan.strategy) : NULL;
    k->plan.strategy = k->strategy;
    if (k->plan.type == TASK_LAUNCH_FARGATE && !task_def_fargate_ok(k->body))
        return api_invalid(err, "Task definition does not support launch_type FARGATE.");
    return 0;
}

/* The tags each task gets: the definition's with propagateTags TASK_DEFINITION, then the
 * request's over them. */
static int collect_tags(struct create *k, struct wh_err *err)
{
    const char *prop = json_str(k->in, "propagateTags");
    k->tags = json_array();
    if (prop && strcmp(prop, "TASK_DEFINITION") == 0) {
        json_t *t = NULL;
        if (ecs_tags_json(k->ctx->st, k->td->arn, &t, err) < 0)
            return -1;
        json_array_extend(k->tags, t);
        json_decref(t);
    }
    const json_t *req = json_object_get(k->in, "tags");
    if (req)
        json_array_extend(k->tags, (json_t *)req);
    return 0;
}

static int prepare(struct create *k, struct wh_err *err)
{
    int r = ecs_cluster_resolve(k->ctx, json_str(k->in, "cluster"), ECS_CLUSTER_ACTIVE, &k->c, err);
    if (r < 0 || (r = load_taskdef(k, err)) < 0)
        return r;
    if (parse_basics(k, err) < 0 || resolve_launch(k, err) < 0 || parse_placement(k, err) < 0)
        return -1;
    if (task_needs_compute(k->body, json_object_get(k->in, "overrides"),
                           k->plan.type == TASK_LAUNCH_FARGATE, &k->needs, err) < 0)
        return -1;
    return collect_tags(k, err);
}

/* ---- placement and writing (one transaction) ---- */

static uint64_t rng(void *arg)
{
    (void)arg;
    uint64_t v;
    random_bytes(&v, sizeof(v));
    return v;
}

/* Append {arn, reason} once (Fargate failures all name the cluster). */
static void add_failure(struct create *k, const char *arn, const char *reason)
{
    size_t i;
    const json_t *f;
    json_array_foreach(k->failures, i, f) {
        if (strcmp(json_str(f, "arn"), arn) == 0 && strcmp(json_str(f, "reason"), reason) == 0)
            return;
    }
    json_array_append_new(k->failures, json_pack("{s:s, s:s}", "arn", arn, "reason", reason));
}

static void add_notify(struct create *k, const char *arn)
{
    for (size_t i = 0; i < k->nnotify; i++)
        if (strcmp(k->notify[i], arn) == 0)
            return;
    k->notify = xrealloc(k->notify, (k->nnotify + 1) * sizeof(char *));
    k->notify[k->nnotify++] = xstrdup(arn);
}

/* The candidates: the cluster's EC2 instances, every Fargate capacity instance of the account
 * and region, or StartTask's named instances (missing ones become failures). */
static int load_candidates(struct create *k, struct instance_view **ret_v, size_t *ret_n,
                           struct wh_err *err)
{
    struct api_ctx *ctx = k->ctx;
    if (!k->start) {
        bool fargate = k->plan.type == TASK_LAUNCH_FARGATE;
        struct store_instance_query q = {.cluster_arn = fargate ? NULL : k->c.arn,
                                         .capacity = fargate ? "FARGATE" : "EC2"};
        return instance_views_list(ctx->st, ctx->account, ctx->region, &q, ret_v, ret_n, err);
    }
    const json_t *refs = json_object_get(k->in, "containerInstances");
    struct instance_view *v = xcalloc(json_array_size(refs) + 1, sizeof(*v));
    size_t n = 0, i;
    const json_t *ref;
    json_array_foreach(refs, i, ref) {
        struct store_instance in = {0};
        int r = ecs_instance_resolve(ctx, &k->c, json_string_value(ref), &in, err);
        if (r == 0)
            r = instance_view_load(ctx->st, &in, &v[n], err);
        store_instance_clear(&in);
        if (r == 0) {
            n++;
        } else if (r == -ENOENT) {
            cleanup_free char *arn = ecs_ref_arn(json_string_value(ref), "container-instance",
                                                 k->c.name, ctx->region, ctx->account);
            add_failure(k, arn, "MISSING");
        } else {
            instance_views_free(v, n);
            return r;
        }
    }
    *ret_v = v;
    *ret_n = n;
    return 0;
}

static int write_task(struct create *k, struct store *st, unsigned i, const char *instance_arn,
                      struct wh_err *err)
{
    const char *provider = k->strategy ? task_strategy_provider(k->strategy, i) : NULL;
    struct task_build b = {
        .account = k->ctx->account,
        .region = k->ctx->region,
        .cluster_arn = k->c.arn,
        .cluster_name = k->c.name,
        .task_definition_arn = k->td->arn,
        .family = k->td->family,
        .body = k->body,
        .request = k->in,
        .needs = &k->needs,
        .launch_type = k->plan.type == TASK_LAUNCH_FARGATE ? "FARGATE" : "EC2",
        .capacity_provider = provider,
        .group = k->group,
        .now = k->ctx->now,
    };
    k->made = xrealloc(k->made, (k->nmade + 1) * sizeof(*k->made));
    struct store_task *t = &k->made[k->nmade++];
    task_build_row(&b, instance_arn, t);
    int r = store_task_insert(st, t, err);
    if (r == 0 && json_array_size(k->tags))
        r = ecs_tags_apply(st, t->arn, k->tags, err);
    if (r == 0)
        add_notify(k, instance_arn);
    return r;
}

static struct sched_request sched_req(const struct create *k, unsigned count)
{
    return (struct sched_request){
        .cpu = k->needs.cpu,
        .memory = k->needs.memory,
        .ports_tcp = k->needs.tcp,
        .ports_udp = k->needs.udp,
        .nports_tcp = k->needs.ntcp,
        .nports_udp = k->needs.nudp,
        .group = k->group,
        .constraints = k->cons,
        .nconstraints = k->ncons,
        .strategies = k->strat,
        .nstrategies = k->nstrat,
        .count = count,
    };
}

/* Place count tasks over snap (n instances) and write those placed; failures name the
 * instance, or the cluster for Fargate capacity (which users never see). */
static int place(struct create *k, struct store *st, struct sched_instance *snap, size_t n,
                 unsigned count, unsigned *next_index, struct wh_err *err)
{
    struct sched_request req = sched_req(k, count);
    struct sched_result res;
    sched_place(snap, n, &req, rng, NULL, &res);
    int r = 0;
    bool failed = false;
    for (unsigned t = 0; t < res.nplaced && r == 0; t++) {
        if (res.placed[t] < 0)
            failed = true;
        else
            r = write_task(k, st, (*next_index)++, snap[res.placed[t]].arn, err);
    }
    bool fargate = k->plan.type == TASK_LAUNCH_FARGATE;
    for (size_t f = 0; f < res.nfailures && r == 0; f++)
        add_failure(k, fargate ? k->c.arn : snap[res.failures[f].instance].arn,
                    res.failures[f].reason);
    if (failed && res.nfailures == 0 && n > 0)
        add_failure(k, fargate ? k->c.arn : snap[0].arn, "INACTIVE");
    sched_result_free(&res);
    return r;
}

static int bump_instances(struct create *k, struct store *st, struct wh_err *err)
{
    for (size_t i = 0; i < k->nnotify; i++) {
        int r = store_instance_bump(st, k->notify[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int create_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct create *k = arg;
    struct instance_view *v = NULL;
    size_t n = 0;
    int r = load_candidates(k, &v, &n, err);
    if (r < 0)
        return r;
    struct sched_instance *snap = xcalloc(n + 1, sizeof(*snap));
    for (size_t i = 0; i < n; i++)
        instance_view_sched(&v[i], k->ctx->now, &snap[i]);
    unsigned index = 0;
    if (k->start) {
        for (size_t i = 0; i < n && r == 0; i++)
            r = place(k, st, &snap[i], 1, 1, &index, err);
    } else if (n == 0 && k->plan.type == TASK_LAUNCH_EC2) {
        r = api_invalid(err, "No Container Instances were found in your cluster.");
    } else if (n == 0) {
        add_failure(k, k->c.arn, "RESOURCE:FARGATE");
    } else {
        r = place(k, st, snap, n, k->count, &index, err);
    }
    free(snap);
    instance_views_free(v, n);
    if (r == 0)
        r = bump_instances(k, st, err);
    return r;
}

static int reply(struct create *k, json_t **ret_out, struct wh_err *err)
{
    json_auto_t *tasks = json_array();
    for (size_t i = 0; i < k->nmade; i++) {
        json_t *j = NULL;
        int r = ecs_task_to_json(k->ctx->st, &k->made[i], false, &j, err);
        if (r < 0)
            return r;
        json_array_append_new(tasks, j);
    }
    *ret_out = json_pack("{s:O, s:O}", "tasks", tasks, "failures", k->failures);
    return 0;
}

int ecs_tasks_create(struct api_ctx *ctx, const json_t *in, bool start, json_t **ret_out,
                     struct wh_err *err)
{
    struct create k = {.ctx = ctx, .in = in, .start = start, .failures = json_array()};
    int r = prepare(&k, err);
    if (r == 0) {
        r = store_tx(ctx->st, create_tx, &k, err);
        if (r < 0) { /* rolled back: nothing was made */
            store_tasks_free(k.made, k.nmade);
            k.made = NULL;
            k.nmade = 0;
        }
    }
    for (size_t i = 0; r == 0 && i < k.nnotify; i++)
        waiters_notify(k.notify[i]);
    if (r == 0)
        r = reply(&k, ret_out, err);
    create_clear(&k);
    return r;
}
