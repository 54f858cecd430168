#include "ecs/service_reconcile.h"

#include <string.h>

#include "core/crypto.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "ecs/instance_view.h"
#include "ecs/service_launch.h"
#include "ecs/service_rules.h"
#include "ecs/services.h"
#include "ecs/task_merge.h"
#include "ecs/taskdef_ref.h"
#include "http/waiters.h"
#include "sched/deploy.h"
#include "store/instances.h"
#include "store/taskdefs.h"

struct dep {
    struct store_deployment d;
    json_t *body, *config;
    bool has_hc; /* an essential container has a health check */
    unsigned live; /* its tasks that are not STOPPED */
    bool dirty;
};

/* An instance one of the service's tasks is on. */
struct host {
    char *arn;
    bool active, draining, agent; /* agent: connected */
};

struct rec {
    struct store *st;
    double now;
    const char *arn;
    struct store_service s;
    json_t *svc_cfg;
    bool svc_dirty, daemon;
    struct dep *deps;
    size_t ndeps, primary;
    struct store_task *tasks;
    size_t ntasks;
    long *task_dep;   /* per task: index into deps, -1 when none */
    size_t *task_host; /* per task: index into hosts */
    struct host *hosts;
    size_t nhosts;
    struct instance_view *views; /* DAEMON: the cluster's instances */
    size_t nviews;
    struct service_launch launch;
    char **stopped;
    size_t nstopped;
    char **events; /* in the order they happened */
    size_t nevents;
    double due;
};

static void rec_clear(struct rec *r)
{
    store_service_clear(&r->s);
    json_decref(r->svc_cfg);
    for (size_t i = 0; i < r->ndeps; i++) {
        store_deployment_clear(&r->deps[i].d);
        json_decref(r->deps[i].body);
        json_decref(r->deps[i].config);
    }
    free(r->deps);
    store_tasks_free(r->tasks, r->ntasks);
    free(r->task_dep);
    free(r->task_host);
    for (size_t i = 0; i < r->nhosts; i++)
        free(r->hosts[i].arn);
    free(r->hosts);
    instance_views_free(r->views, r->nviews);
    service_launch_clear(&r->launch);
    for (size_t i = 0; i < r->nstopped; i++)
        free(r->stopped[i]);
    free(r->stopped);
    for (size_t i = 0; i < r->nevents; i++)
        free(r->events[i]);
    free(r->events);
}

static void event(struct rec *r, char *msg)
{
    r->events = xrealloc(r->events, (r->nevents + 1) * sizeof(char *));
    r->events[r->nevents++] = msg;
}

static void due_at(struct rec *r, double t)
{
    if (r->due == 0 || t < r->due)
        r->due = t;
}

/* ---- the snapshot ---- */

static int load_body(struct rec *r, struct dep *d, struct wh_err *err)
{
    struct taskdef_ref ref;
    int foreign = 0;
    if (taskdef_ref_parse(d->d.task_definition, r->s.region, r->s.account, &ref, &foreign) < 0 ||
        foreign)
        return wh_err_set(err, 500, "ServerException", "deployment %s runs a bad definition %s",
                          d->d.id, d->d.task_definition);
    struct store_taskdef *td = NULL;
    int rc = store_taskdef_get(r->st, r->s.account, r->s.region, ref.family, ref.revision, &td,
                               err);
    if (rc < 0)
        return rc == -ENOENT ? wh_err_set(err, 500, "ServerException", "definition %s is gone",
                                          d->d.task_definition)
                             : rc;
    d->body = json_parse_trusted(td->body);
    store_taskdef_free(td);
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(d->body, "containerDefinitions"), i, c) {
        if (json_bool(c, "essential", true) && json_object_get(c, "healthCheck"))
            d->has_hc = true;
    }
    d->config = json_parse_trusted(d->d.config);
    return 0;
}

static int load_deployments(struct rec *r, struct wh_err *err)
{
    struct store_deployment *v = NULL;
    size_t n = 0;
    int rc = store_deployments_of(r->st, r->s.arn, false, &v, &n, err);
    if (rc < 0)
        return rc;
    r->deps = xcalloc(n + 1, sizeof(*r->deps));
    r->ndeps = n;
    r->primary = n;
    for (size_t i = 0; i < n; i++) {
        r->deps[i].d = v[i];
        if (strcmp(v[i].status, "PRIMARY") == 0 && r->primary == n)
            r->primary = i;
    }
    free(v); /* the rows moved into deps */
    if (r->primary == n)
        return wh_err_set(err, 500, "ServerException", "service %s has no PRIMARY deployment",
                          r->s.arn);
    for (size_t i = 0; i < n; i++)
        if ((rc = load_body(r, &r->deps[i], err)) < 0)
            return rc;
    return 0;
}

static size_t host_of(struct rec *r, const char *arn, struct wh_err *err, int *rc)
{
    for (size_t i = 0; i < r->nhosts; i++)
        if (strcmp(r->hosts[i].arn, arn) == 0)
            return i;
    cleanup_instance struct store_instance in = {0};
    struct host h = {.arn = xstrdup(arn)};
    *rc = store_instance_get(r->st, r->s.account, r->s.region, arn, &in, err);
    if (*rc == 0) {
        h.active = strcmp(in.status, "ACTIVE") == 0;
        h.draining = strcmp(in.status, "DRAINING") == 0;
        h.agent = ecs_agent_connected(&in, r->now);
    } else if (*rc == -ENOENT) {
        *rc = 0;
    }
    r->hosts = xrealloc(r->hosts, (r->nhosts + 1) * sizeof(*r->hosts));
    r->hosts[r->nhosts] = h;
    return r->nhosts++;
}

static int load_tasks(struct rec *r, struct wh_err *err)
{
    int rc = store_tasks_of_service(r->st, r->s.cluster_arn, r->s.name, &r->tasks, &r->ntasks,
                                    err);
    if (rc < 0)
        return rc;
    r->task_dep = xcalloc(r->ntasks + 1, sizeof(long));
    r->task_host = xcalloc(r->ntasks + 1, sizeof(size_t));
    for (size_t i = 0; i < r->ntasks && rc == 0; i++) {
        const struct store_task *t = &r->tasks[i];
        r->task_dep[i] = -1;
        for (size_t d = 0; t->started_by && d < r->ndeps; d++)
            if (strcmp(r->deps[d].d.id, t->started_by) == 0)
                r->task_dep[i] = (long)d;
        r->task_host[i] = t->container_instance_arn
                              ? host_of(r, t->container_instance_arn, err, &rc)
                              : SIZE_MAX;
    }
    return rc;
}

static bool agent_gone(const struct rec *r, size_t task)
{
    size_t h = r->task_host[task];
    return h == SIZE_MAX || !r->hosts[h].agent || (!r->hosts[h].active && !r->hosts[h].draining);
}

/* Tasks already desired STOPPED whose agent is gone will never report: STOPPED now. The rest
 * count as still stopping; every task counts for its deployment. */
static int settle_stopping(struct rec *r, unsigned *ret_stopping, struct wh_err *err)
{
    unsigned stopping = 0;
    for (size_t i = 0; i < r->ntasks; i++) {
        struct store_task *t = &r->tasks[i];
        if (strcmp(t->desired_status, "STOPPED") == 0 && agent_gone(r, i)) {
            task_mark_stopped(t, r->now);
            int rc = store_task_update(r->st, t, err);
            if (rc < 0)
                return rc;
            continue;
        }
        if (r->task_dep[i] >= 0)
            r->deps[r->task_dep[i]].live++;
        stopping += strcmp(t->desired_status, "STOPPED") == 0;
    }
    *ret_stopping = stopping;
    return 0;
}

/* Older deployments whose tasks are all STOPPED are done. */
static size_t retire(struct rec *r)
{
    size_t live = 0;
    for (size_t i = 0; i < r->ndeps; i++) {
        struct dep *d = &r->deps[i];
        if (i == r->primary || d->live > 0) {
            live++;
            continue;
        }
        free(d->d.status);
        d->d.status = xstrdup("INACTIVE");
        d->d.updated_at = r->now;
        d->dirty = true;
    }
    return live;
}

/* ---- DAEMON: which instances should run a task ---- */

static int cmp_view_arn(const void *key, const void *elem)
{
    return strcmp(key, ((const struct instance_view *)elem)->inst.arn);
}

/* The view of an instance ARN (views come in ARN order), or nviews when it is not one of the
 * cluster's instances (any more). */
static size_t view_of(const struct rec *r, const char *arn)
{
    const struct instance_view *v =
        arn ? bsearch(arn, r->views, r->nviews, sizeof(*r->views), cmp_view_arn) : NULL;
    return v ? (size_t)(v - r->views) : r->nviews;
}

static int daemon_instances(struct rec *r, struct deploy_daemon_instance **ret, struct wh_err *err)
{
    struct store_instance_query q = {.cluster_arn = r->s.cluster_arn, .capacity = "EC2"};
    int rc = instance_views_list(r->st, r->s.account, r->s.region, &q, &r->views, &r->nviews,
                                 err);
    if (rc < 0)
        return rc;
    const struct dep *p = &r->deps[r->primary];
    struct service_placement pl;
    rc = service_placement_parse(json_object_get(r->svc_cfg, "placementConstraints"),
                                 json_object_get(p->body, "placementConstraints"), NULL, true,
                                 &pl, err);
    if (rc < 0)
        return rc;
    cleanup_free unsigned *ours = xcalloc(r->nviews + 1, sizeof(unsigned));
    for (size_t t = 0; t < r->ntasks; t++)
        ours[view_of(r, r->tasks[t].container_instance_arn)]++;
    struct deploy_daemon_instance *v = xcalloc(r->nviews + 1, sizeof(*v));
    for (size_t i = 0; i < r->nviews; i++) {
        struct sched_instance si;
        instance_view_sched(&r->views[i], r->now, &si);
        bool ok = strcmp(r->views[i].inst.status, "ACTIVE") == 0;
        for (size_t c = 0; ok && c < pl.ncons; c++)
            if (pl.cons[c].type == SCHED_MEMBER_OF)
                ok = query_eval(pl.cons[c].expr, &si);
        unsigned all = r->views[i].load.running + r->views[i].load.pending;
        v[i] = (struct deploy_daemon_instance){
            .eligible = ok,
            .hold = strcmp(r->views[i].inst.status, "DRAINING") == 0 && all > ours[i],
        };
    }
    service_placement_clear(&pl);
    *ret = v;
    return 0;
}

/* ---- the plan's input ---- */

/* A PRIMARY task settled at `when`: after the deployment's last failure, the circuit breaker's
 * count starts again (as ECS resets it on a healthy task). */
static void settle_resets(struct rec *r, double when)
{
    struct dep *p = &r->deps[r->primary];
    if (p->d.cb_failures > 0 && when > p->d.last_failure_at) {
        p->d.cb_failures = 0;
        p->d.updated_at = r->now;
        p->dirty = true;
    }
}

static struct deploy_task *plan_tasks(struct rec *r, size_t **ret_index, size_t *ret_n)
{
    struct deploy_task *v = xcalloc(r->ntasks + 1, sizeof(*v));
    size_t *index = xcalloc(r->ntasks + 1, sizeof(size_t));
    size_t n = 0;
    double grace = (double)json_int(r->svc_cfg, "healthCheckGracePeriodSeconds", 0);
    for (size_t i = 0; i < r->ntasks; i++) {
        const struct store_task *t = &r->tasks[i];
        if (strcmp(t->desired_status, "RUNNING") != 0)
            continue;
        long d = r->task_dep[i];
        size_t order = d < 0 ? r->ndeps : (size_t)d == r->primary ? 0 : (size_t)d + 1;
        bool running = strcmp(t->last_status, "RUNNING") == 0;
        bool hc = d >= 0 && r->deps[d].has_hc;
        size_t h = r->task_host[i];
        bool unhealthy = deploy_task_unhealthy(running, t->health_status, t->started_at, grace,
                                               r->now);
        if (running && !unhealthy && strcmp(t->health_status, "UNHEALTHY") == 0)
            due_at(r, t->started_at + grace); /* its grace period ends then */
        bool healthy = deploy_task_healthy(running, t->health_status, hc);
        bool settled = deploy_task_settled(healthy, t->started_at, r->now);
        if (healthy && !settled)
            due_at(r, t->started_at + DEPLOY_SETTLE_SECONDS);
        if (settled && (size_t)d == r->primary)
            settle_resets(r, t->started_at + DEPLOY_SETTLE_SECONDS);
        v[n] = (struct deploy_task){
            .deployment = order,
            .instance = r->daemon ? view_of(r, t->container_instance_arn) : 0,
            .running = running,
            .healthy = healthy,
            .settled = settled,
            .unhealthy = unhealthy,
            .draining = h == SIZE_MAX || !r->hosts[h].active,
            .created_at = t->created_at,
        };
        index[n++] = i;
    }
    *ret_index = index;
    *ret_n = n;
    return v;
}

static bool launch_blocked(struct rec *r)
{
    const struct store_deployment *p = &r->deps[r->primary].d;
    if (strcmp(r->s.status, "ACTIVE") != 0)
        return true;
    if (p->rollout_state && strcmp(p->rollout_state, "FAILED") == 0)
        return true;
    double delay = deploy_launch_delay((unsigned)p->cb_failures);
    if (delay > 0 && r->now < p->last_failure_at + delay) {
        due_at(r, p->last_failure_at + delay);
        return true;
    }
    return false;
}

/* ---- applying a plan ---- */

static const char *stop_reason(const struct rec *r, enum deploy_stop_why why, char *buf,
                               size_t len)
{
    switch (why) {
    case DEPLOY_STOP_UNHEALTHY:
        return "Task failed container health checks";
    case DEPLOY_STOP_DRAINING:
        return "Container instance is draining or no longer eligible for the service";
    case DEPLOY_STOP_REPLACED:
    case DEPLOY_STOP_SCALE_IN:
        break;
    }
    snprintf(buf, len, "Scaling activity initiated by (deployment %s)",
             r->deps[r->primary].d.id);
    return buf;
}

static int apply_stops(struct rec *r, const struct deploy_plan *p, const size_t *index,
                       struct wh_err *err)
{
    for (size_t k = 0; k < p->nstops; k++) {
        size_t i = index[p->stops[k].task];
        struct store_task *t = &r->tasks[i];
        char buf[96];
        int rc = service_stop_task(&r->launch, t, stop_reason(r, p->stops[k].why, buf,
                                                                sizeof(buf)),
                                   agent_gone(r, i), err);
        if (rc < 0)
            return rc;
        if (p->stops[k].why == DEPLOY_STOP_UNHEALTHY && r->task_dep[i] >= 0) {
            struct store_deployment *d = &r->deps[r->task_dep[i]].d;
            d->failed_tasks++;
            d->cb_failures++;
            d->last_failure_at = r->now;
            r->deps[r->task_dep[i]].dirty = true;
            event(r, service_msg_unhealthy(r->s.name, t->arn));
        }
        r->stopped = xrealloc(r->stopped, (r->nstopped + 1) * sizeof(char *));
        r->stopped[r->nstopped++] = xstrdup(t->arn);
    }
    if (r->nstopped)
        event(r, service_msg_stopped(r->s.name, r->stopped, r->nstopped));
    return 0;
}

static int apply_starts(struct rec *r, const struct deploy_plan *p, struct wh_err *err)
{
    struct dep *pd = &r->deps[r->primary];
    r->launch.s = &r->s;
    r->launch.d = &pd->d;
    r->launch.td_body = pd->body;
    r->launch.dep_config = pd->config;
    r->launch.svc_config = r->svc_cfg;
    r->launch.index = pd->live;
    int rc = 0;
    if (r->daemon && p->nstart_on)
        rc = service_launch_daemon(&r->launch, r->views, r->nviews, p->start_on, p->nstart_on,
                                   err);
    else if (!r->daemon && p->start)
        rc = service_launch_replica(&r->launch, p->start, err);
    if (rc < 0)
        return rc;
    if (r->launch.nstarted)
        event(r, service_msg_started(r->s.name, r->launch.started, r->launch.nstarted));
    if (r->launch.unplaced) {
        event(r, r->launch.unplaced);
        r->launch.unplaced = NULL;
        due_at(r, r->now + 10); /* try again even if nothing changes */
    }
    return 0;
}

/* ---- the rollout ---- */

static bool cb_enabled(const struct rec *r, bool *ret_rollback)
{
    const json_t *cb = json_object_get(json_object_get(r->svc_cfg, "deploymentConfiguration"),
                                       "deploymentCircuitBreaker");
    *ret_rollback = json_bool(cb, "rollback", false);
    return json_bool(cb, "enable", false);
}

static void set_rollout(struct dep *d, const char *state, char *reason, double now)
{
    free(d->d.rollout_state);
    free(d->d.rollout_state_reason);
    d->d.rollout_state = xstrdup(state);
    d->d.rollout_state_reason = reason;
    d->d.updated_at = now;
    d->dirty = true;
}

/* Returns true when the circuit breaker asks for a rollback. */
static bool rollout(struct rec *r, bool steady, unsigned desired)
{
    struct dep *p = &r->deps[r->primary];
    if (!p->d.rollout_state || strcmp(p->d.rollout_state, "IN_PROGRESS") != 0)
        return false;
    bool rollback = false;
    bool cb = cb_enabled(r, &rollback);
    switch (deploy_rollout(cb, (unsigned)p->d.cb_failures, desired, steady)) {
    case DEPLOY_FAILED:
        set_rollout(p, "FAILED",
                    xstrdup("ECS deployment circuit breaker: tasks failed to start."), r->now);
        event(r, service_msg_failed(r->s.name, p->d.id));
        return rollback;
    case DEPLOY_COMPLETED:
        set_rollout(p, "COMPLETED", xasprintf("ECS deployment %s completed.", p->d.id), r->now);
        event(r, service_msg_completed(r->s.name, p->d.id));
        return false;
    case DEPLOY_CARRY_ON:
        break;
    }
    return false;
}

/* A new PRIMARY with the last COMPLETED deployment's definition and settings. */
static int roll_back(struct rec *r, struct wh_err *err)
{
    struct store_deployment *all = NULL;
    size_t n = 0;
    int rc = store_deployments_of(r->st, r->s.arn, true, &all, &n, err);
    if (rc < 0)
        return rc;
    const struct store_deployment *to = NULL;
    for (size_t i = 0; i < n && !to; i++)
        if (all[i].rollout_state && strcmp(all[i].rollout_state, "COMPLETED") == 0 &&
            strcmp(all[i].id, r->deps[r->primary].d.id) != 0)
            to = &all[i];
    if (to) {
        cleanup_free char *reason = xasprintf(
            "ECS deployment circuit breaker: rolling back to deploymentId %s.", to->id);
        free(r->s.task_definition);
        r->s.task_definition = xstrdup(to->task_definition);
        r->svc_dirty = true;
        rc = ecs_service_deploy(r->st, &r->s, to->task_definition, to->config, reason, r->now,
                                NULL, err);
        event(r, service_msg_rollback(r->s.name, to->id));
        due_at(r, r->now); /* go on with the rollback at once */
    }
    store_deployments_free(all, n);
    return rc;
}

/* ---- writing ---- */

static int write_back(struct rec *r, bool rollback, struct wh_err *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r->ndeps; i++)
        if (r->deps[i].dirty)
            rc = store_deployment_update(r->st, &r->deps[i].d, err);
    if (rc == 0 && rollback)
        rc = roll_back(r, err);
    if (rc == 0 && r->svc_dirty) {
        r->s.updated_at = r->now;
        rc = store_service_update(r->st, &r->s, err);
    }
    for (size_t i = 0; rc == 0 && i < r->nevents; i++) {
        char id[37];
        random_uuid(id);
        rc = store_service_event_add(r->st, r->s.arn, id, r->now, r->events[i],
                                     SERVICE_EVENTS_KEPT, err);
    }
    if (rc == 0)
        rc = store_deployments_prune(r->st, r->s.arn, SERVICE_DEPLOYMENTS_KEPT, err);
    return rc;
}

/* "Unable to place" repeats every pass while nothing changes: only when it is news. */
static int drop_repeated(struct rec *r, struct wh_err *err)
{
    struct store_service_event *last = NULL;
    size_t n = 0;
    int rc = store_service_events(r->st, r->s.arn, 1, &last, &n, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; n == 1 && i < r->nevents; i++)
        if (strcmp(r->events[i], last[0].message) == 0 && r->nevents == 1) {
            free(r->events[i]);
            r->nevents = 0;
        }
    store_service_events_free(last, n);
    return 0;
}

/* ---- the pass ---- */

static int decide(struct rec *r, unsigned stopping, size_t ndeps_live, struct wh_err *err)
{
    struct deploy_daemon_instance *di = NULL;
    if (r->daemon) {
        int rc = daemon_instances(r, &di, err);
        if (rc < 0)
            return rc;
        for (size_t i = 0; strcmp(r->s.status, "ACTIVE") != 0 && i < r->nviews; i++)
            di[i] = (struct deploy_daemon_instance){false, false}; /* deleted: all go */
    }
    unsigned desired = strcmp(r->s.status, "ACTIVE") != 0 ? 0
                       : r->daemon ? deploy_daemon_desired(di, r->nviews)
                                   : (unsigned)r->s.desired_count;
    if (r->daemon && strcmp(r->s.status, "ACTIVE") == 0 && r->s.desired_count != desired) {
        r->s.desired_count = desired;
        r->svc_dirty = true;
    }
    struct dep *p = &r->deps[r->primary];
    if (p->d.desired_count != desired) {
        p->d.desired_count = desired;
        p->dirty = true;
    }
    const json_t *dc = json_object_get(r->svc_cfg, "deploymentConfiguration");
    cleanup_free size_t *index = NULL;
    size_t n = 0;
    cleanup_free struct deploy_task *tasks = plan_tasks(r, &index, &n);
    struct deploy_input in = {
        .desired = desired,
        .min_healthy_pct = (unsigned)json_int(dc, "minimumHealthyPercent", r->daemon ? 0 : 100),
        .max_pct = (unsigned)json_int(dc, "maximumPercent", r->daemon ? 100 : 200),
        .tasks = tasks, .ntasks = n, .ndeployments = ndeps_live, .nstopping = stopping,
        .launch_blocked = launch_blocked(r),
    };
    struct deploy_plan plan;
    if (r->daemon)
        deploy_plan_daemon(&in, di, r->nviews, &plan);
    else
        deploy_plan_replica(&in, &plan);
    free(di);
    int rc = apply_stops(r, &plan, index, err);
    if (rc == 0)
        rc = apply_starts(r, &plan, err);
    bool steady = plan.steady && strcmp(r->s.status, "ACTIVE") == 0;
    deploy_plan_free(&plan);
    if (rc < 0)
        return rc;
    bool rollback = rollout(r, steady, desired);
    if (steady && !r->s.steady)
        event(r, service_msg_steady(r->s.name));
    if (steady != r->s.steady) {
        r->s.steady = steady;
        r->svc_dirty = true;
    }
    if (strcmp(r->s.status, "DRAINING") == 0 && ndeps_live <= 1 && p->live == 0) {
        free(r->s.status);
        r->s.status = xstrdup("INACTIVE");
        r->svc_dirty = true;
    }
    if ((rc = drop_repeated(r, err)) < 0)
        return rc;
    return write_back(r, rollback, err);
}

static int reconcile_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct rec *r = arg;
    int rc = store_service_get_arn(st, r->arn, &r->s, err);
    if (rc == -ENOENT)
        return 0; /* gone in the meantime */
    if (rc < 0 || strcmp(r->s.status, "INACTIVE") == 0)
        return rc;
    r->daemon = strcmp(r->s.scheduling_strategy, "DAEMON") == 0;
    r->svc_cfg = json_parse_trusted(r->s.config);
    if ((rc = load_deployments(r, err)) < 0 || (rc = load_tasks(r, err)) < 0)
        return rc;
    unsigned stopping = 0;
    if ((rc = settle_stopping(r, &stopping, err)) < 0)
        return rc;
    return decide(r, stopping, retire(r), err);
}

int service_reconcile(struct store *st, const char *service_arn, double now, double *ret_due,
                      struct wh_err *err)
{
    struct rec r = {.st = st, .now = now, .arn = service_arn};
    r.launch.st = st;
    r.launch.now = now;
    int rc = store_tx(st, reconcile_tx, &r, err);
    for (size_t i = 0; rc == 0 && i < r.launch.nnotify; i++)
        waiters_notify(r.launch.notify[i]);
    *ret_due = rc == 0 ? r.due : now + 5;
    rec_clear(&r);
    return rc;
}
