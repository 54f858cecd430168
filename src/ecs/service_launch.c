#include "ecs/service_launch.h"

#include <string.h>

#include "core/crypto.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "ecs/instances.h"
#include "ecs/service_rules.h"
#include "ecs/tagging.h"
#include "ecs/task_build.h"
#include "ecs/task_merge.h"
#include "ecs/task_rules.h"
#include "sched/place.h"
#include "store/instances.h"

void service_launch_clear(struct service_launch *l)
{
    for (size_t i = 0; i < l->nstarted; i++)
        free(l->started[i]);
    free(l->started);
    for (size_t i = 0; i < l->nnotify; i++)
        free(l->notify[i]);
    free(l->notify);
    free(l->unplaced);
    l->started = l->notify = NULL;
    l->nstarted = l->nnotify = 0;
    l->unplaced = NULL;
}

void service_launch_notify(struct service_launch *l, const char *instance_arn)
{
    if (!instance_arn)
        return;
    for (size_t i = 0; i < l->nnotify; i++)
        if (strcmp(l->notify[i], instance_arn) == 0)
            return;
    l->notify = xrealloc(l->notify, (l->nnotify + 1) * sizeof(char *));
    l->notify[l->nnotify++] = xstrdup(instance_arn);
}

int service_stop_task(struct service_launch *l, struct store_task *t, const char *reason,
                      bool agent_gone, struct wh_err *err)
{
    if (!task_mark_stopping(t, "ServiceSchedulerInitiated", reason, l->now) && !agent_gone)
        return 0;
    if (agent_gone && strcmp(t->last_status, "STOPPED") != 0)
        task_mark_stopped(t, l->now);
    int r = store_task_update(l->st, t, err);
    if (r == 0 && t->container_instance_arn) {
        r = store_instance_bump(l->st, t->container_instance_arn, err);
        if (r == -ENOENT)
            r = 0;
        service_launch_notify(l, t->container_instance_arn);
    }
    return r;
}

/* ---- launching ---- */

static uint64_t rng(void *arg)
{
    (void)arg;
    uint64_t v;
    random_bytes(&v, sizeof(v));
    return v;
}

static bool fargate_of(const struct service_launch *l)
{
    return json_object_get(l->dep_config, "capacityProviderStrategy") ||
           (json_str(l->dep_config, "launchType") &&
            strcmp(json_str(l->dep_config, "launchType"), "FARGATE") == 0);
}

/* The tags a task gets: the service's or the definition's (propagateTags), and ECS's
 * managed ones (enableECSManagedTags). */
static int task_tags(const struct service_launch *l, json_t **ret, struct wh_err *err)
{
    json_t *tags = json_array();
    const char *prop = json_str(l->svc_config, "propagateTags");
    const char *from = !prop ? NULL
                       : strcmp(prop, "SERVICE") == 0         ? l->s->arn
                       : strcmp(prop, "TASK_DEFINITION") == 0 ? l->d->task_definition
                                                              : NULL;
    if (from) {
        json_t *t = NULL;
        int r = ecs_tags_json(l->st, from, &t, err);
        if (r < 0) {
            json_decref(tags);
            return r;
        }
        json_array_extend(tags, t);
        json_decref(t);
    }
    if (json_bool(l->svc_config, "enableECSManagedTags", false)) {
        const char *cluster = service_arn_id(l->s->cluster_arn);
        json_array_append_new(tags, json_pack("{s:s, s:s}", "key", "aws:ecs:serviceName",
                                              "value", l->s->name));
        json_array_append_new(tags, json_pack("{s:s, s:s}", "key", "aws:ecs:clusterName",
                                              "value", cluster));
    }
    *ret = tags;
    return 0;
}

struct batch {
    struct service_launch *l;
    struct task_needs needs;
    char *group;
    json_t *request; /* what task_build reads as "the request" */
    json_t *tags;
    bool fargate;
};

static void batch_clear(struct batch *b)
{
    free(b->group);
    json_decref(b->request);
    json_decref(b->tags);
}

static int batch_init(struct batch *b, struct service_launch *l, struct wh_err *err)
{
    *b = (struct batch){.l = l, .fargate = fargate_of(l)};
    if (task_needs_compute(l->td_body, NULL, b->fargate, &b->needs, err) < 0)
        return -1;
    b->group = xasprintf("service:%s", l->s->name);
    b->request = json_pack("{s:s, s:b}", "startedBy", l->d->id, "enableExecuteCommand",
                           json_bool(l->dep_config, "enableExecuteCommand", false));
    const json_t *net = json_object_get(l->dep_config, "networkConfiguration");
    if (net)
        json_object_set_new(b->request, "networkConfiguration", json_deep_copy(net));
    return task_tags(l, &b->tags, err);
}

static int write_task(struct batch *b, const char *instance_arn, struct wh_err *err)
{
    struct service_launch *l = b->l;
    const json_t *strategy = json_object_get(l->dep_config, "capacityProviderStrategy");
    const char *td_arn = l->d->task_definition;
    const char *family = json_str(l->td_body, "family");
    struct task_build tb = {
        .account = l->s->account,
        .region = l->s->region,
        .cluster_arn = l->s->cluster_arn,
        .cluster_name = service_arn_id(l->s->cluster_arn),
        .task_definition_arn = td_arn,
        .family = family ? family : "",
        .body = l->td_body,
        .request = b->request,
        .needs = &b->needs,
        .launch_type = b->fargate ? "FARGATE" : "EC2",
        .capacity_provider = strategy ? task_strategy_provider(strategy, l->index) : NULL,
        .group = b->group,
        .now = l->now,
    };
    cleanup_task struct store_task t = {0};
    task_build_row(&tb, instance_arn, &t);
    t.service_name = xstrdup(l->s->name);
    int r = store_task_insert(l->st, &t, err);
    if (r == 0 && json_array_size(b->tags))
        r = ecs_tags_apply(l->st, t.arn, b->tags, err);
    if (r == 0)
        r = store_instance_bump(l->st, instance_arn, err);
    if (r < 0)
        return r;
    l->index++;
    service_launch_notify(l, instance_arn);
    l->started = xrealloc(l->started, (l->nstarted + 1) * sizeof(char *));
    l->started[l->nstarted++] = xstrdup(t.arn);
    return 0;
}

static struct sched_request sched_req(const struct batch *b, const struct service_placement *p,
                                      unsigned count)
{
    return (struct sched_request){
        .cpu = b->needs.cpu,
        .memory = b->needs.memory,
        .ports_tcp = b->needs.tcp,
        .ports_udp = b->needs.udp,
        .nports_tcp = b->needs.ntcp,
        .nports_udp = b->needs.nudp,
        .group = b->group,
        .constraints = p->cons,
        .nconstraints = p->ncons,
        .strategies = p->strat,
        .nstrategies = p->nstrat,
        .count = count,
    };
}

/* Place count tasks over snap and write those placed; the unplaced event names the closest
 * instance (for Fargate capacity, which users never see, the reason alone). */
static int place(struct batch *b, const struct service_placement *p, struct sched_instance *snap,
                 size_t n, unsigned count, struct wh_err *err)
{
    struct service_launch *l = b->l;
    struct sched_request req = sched_req(b, p, count);
    struct sched_result res;
    sched_place(snap, n, &req, rng, NULL, &res);
    int r = 0;
    bool failed = false;
    for (unsigned t = 0; t < res.nplaced && r == 0; t++) {
        if (res.placed[t] < 0)
            failed = true;
        else
            r = write_task(b, snap[res.placed[t]].arn, err);
    }
    if (failed && !l->unplaced) {
        const struct sched_failure *f = sched_result_closest(&res);
        l->unplaced = f ? service_msg_unplaced(l->s->name, snap[f->instance].arn, f->reason)
                        : service_msg_unplaced(l->s->name, NULL, NULL);
    }
    sched_result_free(&res);
    return r;
}

static int parse_placement(struct batch *b, struct service_placement *p, bool daemon,
                           struct wh_err *err)
{
    const struct service_launch *l = b->l;
    return service_placement_parse(json_object_get(l->svc_config, "placementConstraints"),
                                   b->fargate ? NULL
                                              : json_object_get(l->td_body, "placementConstraints"),
                                   b->fargate ? NULL : json_object_get(l->svc_config,
                                                                       "placementStrategy"),
                                   daemon || b->fargate, p, err);
}

int service_launch_replica(struct service_launch *l, unsigned count, struct wh_err *err)
{
    struct batch b;
    struct service_placement p = {0};
    int r = batch_init(&b, l, err);
    if (r == 0)
        r = parse_placement(&b, &p, false, err);
    struct instance_view *v = NULL;
    size_t n = 0;
    if (r == 0) {
        struct store_instance_query q = {.cluster_arn = b.fargate ? NULL : l->s->cluster_arn,
                                         .capacity = b.fargate ? "FARGATE" : "EC2"};
        r = instance_views_list(l->st, l->s->account, l->s->region, &q, &v, &n, err);
    }
    if (r == 0 && n == 0 && !l->unplaced)
        l->unplaced = service_msg_unplaced(l->s->name, NULL, NULL);
    if (r == 0 && n > 0) {
        struct sched_instance *snap = xcalloc(n, sizeof(*snap));
        for (size_t i = 0; i < n; i++)
            instance_view_sched(&v[i], l->now, &snap[i]);
        if (p.nstrat == 0) /* Fargate capacity: spread over it */
            p.strat[p.nstrat++] = (struct sched_strategy){SCHED_SPREAD, "instanceId"};
        r = place(&b, &p, snap, n, count, err);
        free(snap);
    }
    instance_views_free(v, n);
    service_placement_clear(&p);
    batch_clear(&b);
    return r;
}

int service_launch_daemon(struct service_launch *l, const struct instance_view *views,
                          size_t nviews, const size_t *on, size_t n, struct wh_err *err)
{
    struct batch b;
    struct service_placement p = {0};
    int r = batch_init(&b, l, err);
    if (r == 0)
        r = parse_placement(&b, &p, true, err);
    for (size_t i = 0; r == 0 && i < n; i++) {
        if (on[i] >= nviews)
            continue;
        struct sched_instance one;
        instance_view_sched(&views[on[i]], l->now, &one);
        r = place(&b, &p, &one, 1, 1, err);
    }
    service_placement_clear(&p);
    batch_clear(&b);
    return r;
}
