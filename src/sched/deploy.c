#include "sched/deploy.h"

#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

/* The plan being built: which tasks stop already, and the bounds. */
struct build {
    const struct deploy_input *in;
    struct deploy_plan *p;
    bool *stopped;
    unsigned healthy; /* healthy tasks left alive */
    unsigned settled; /* settled tasks left alive */
    unsigned alive;   /* tasks left alive */
};

static void bounds(const struct deploy_input *in, struct deploy_plan *p)
{
    p->lower = (unsigned)(((unsigned long long)in->desired * in->min_healthy_pct + 99) / 100);
    p->upper = (unsigned)((unsigned long long)in->desired * in->max_pct / 100);
}

static void build_init(struct build *b, const struct deploy_input *in, struct deploy_plan *p)
{
    memset(p, 0, sizeof(*p));
    bounds(in, p);
    p->stops = xcalloc(in->ntasks + 1, sizeof(*p->stops));
    *b = (struct build){in, p, xcalloc(in->ntasks + 1, sizeof(bool)), 0, 0, (unsigned)in->ntasks};
    for (size_t i = 0; i < in->ntasks; i++) {
        b->healthy += in->tasks[i].healthy;
        b->settled += in->tasks[i].healthy && in->tasks[i].settled;
    }
}

static void stop(struct build *b, size_t i, enum deploy_stop_why why)
{
    if (b->stopped[i])
        return;
    b->stopped[i] = true;
    b->alive--;
    b->healthy -= b->in->tasks[i].healthy;
    b->settled -= b->in->tasks[i].healthy && b->in->tasks[i].settled;
    b->p->stops[b->p->nstops++] = (struct deploy_stop){i, why};
}

/* How many healthy tasks may still stop without going under the lower bound. */
static unsigned budget(const struct build *b)
{
    return b->healthy > b->p->lower ? b->healthy - b->p->lower : 0;
}

/* Stopping order among tasks that must go: PENDING first, then RUNNING but not healthy,
 * then healthy ones; newest first among equals. */
static int stop_rank(const struct deploy_task *t)
{
    return !t->running ? 0 : !t->healthy ? 1 : 2;
}

static int cmp_stop(const void *a, const void *b, void *arg)
{
    const struct deploy_task *tasks = arg;
    const struct deploy_task *x = &tasks[*(const size_t *)a];
    const struct deploy_task *y = &tasks[*(const size_t *)b];
    int rx = stop_rank(x), ry = stop_rank(y);
    if (rx != ry)
        return rx - ry;
    if (x->deployment != y->deployment) /* older deployments (higher index) first */
        return x->deployment > y->deployment ? -1 : 1;
    return (x->created_at < y->created_at) - (x->created_at > y->created_at);
}

/* Indexes of the tasks in stopping order. */
static size_t *stop_order(const struct deploy_input *in)
{
    size_t *idx = xcalloc(in->ntasks + 1, sizeof(size_t));
    for (size_t i = 0; i < in->ntasks; i++)
        idx[i] = i;
    qsort_r(idx, in->ntasks, sizeof(size_t), cmp_stop, (void *)in->tasks);
    return idx;
}

/* A task to replace: it stops at once unless it is healthy, then only within the budget. */
static void replace(struct build *b, size_t i, enum deploy_stop_why why)
{
    if (!b->in->tasks[i].healthy || budget(b) > 0)
        stop(b, i, why);
}

static void stop_unhealthy(struct build *b)
{
    for (size_t i = 0; i < b->in->ntasks; i++)
        if (b->in->tasks[i].unhealthy)
            stop(b, i, DEPLOY_STOP_UNHEALTHY);
}

void deploy_plan_replica(const struct deploy_input *in, struct deploy_plan *ret_plan)
{
    struct build b;
    build_init(&b, in, ret_plan);
    stop_unhealthy(&b);
    cleanup_free size_t *order = stop_order(in);
    /* Scale in the PRIMARY (its tasks on draining instances are replaced below). */
    unsigned keep = 0;
    for (size_t i = 0; i < in->ntasks; i++)
        keep += !b.stopped[i] && in->tasks[i].deployment == 0 && !in->tasks[i].draining;
    for (size_t k = 0; k < in->ntasks && keep > in->desired; k++) {
        size_t i = order[k];
        if (!b.stopped[i] && in->tasks[i].deployment == 0 && !in->tasks[i].draining) {
            stop(&b, i, DEPLOY_STOP_SCALE_IN);
            keep--;
        }
    }
    /* Replace tasks on draining instances first, then older deployments'. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < in->ntasks; k++) {
            size_t i = order[k];
            const struct deploy_task *t = &in->tasks[i];
            if (b.stopped[i])
                continue;
            if (pass == 0 && t->draining)
                replace(&b, i, DEPLOY_STOP_DRAINING);
            else if (pass == 1 && t->deployment != 0)
                replace(&b, i, DEPLOY_STOP_REPLACED);
        }
    unsigned need = in->desired > keep ? in->desired - keep : 0;
    unsigned room = ret_plan->upper > b.alive ? ret_plan->upper - b.alive : 0;
    ret_plan->start = in->launch_blocked ? 0 : need < room ? need : room;
    bool draining = false;
    for (size_t i = 0; i < in->ntasks; i++)
        draining |= !b.stopped[i] && in->tasks[i].draining;
    ret_plan->steady = in->ndeployments <= 1 && in->nstopping == 0 && ret_plan->nstops == 0 &&
                       ret_plan->start == 0 && !draining && b.alive == in->desired &&
                       b.settled == in->desired;
    free(b.stopped);
}

/* ---- DAEMON ---- */

unsigned deploy_daemon_desired(const struct deploy_daemon_instance *insts, size_t ninsts)
{
    unsigned n = 0;
    for (size_t i = 0; i < ninsts; i++)
        n += insts[i].eligible;
    return n;
}

struct daemon_count {
    unsigned primary, old;
};

/* Tasks per instance: those left alive, or (all) every one given, stopping or not. */
static void daemon_counts(const struct build *b, size_t ninsts, bool all, struct daemon_count *c)
{
    memset(c, 0, ninsts * sizeof(*c));
    for (size_t i = 0; i < b->in->ntasks; i++) {
        const struct deploy_task *t = &b->in->tasks[i];
        if ((b->stopped[i] && !all) || t->instance >= ninsts)
            continue;
        if (t->deployment == 0)
            c[t->instance].primary++;
        else
            c[t->instance].old++;
    }
}

void deploy_plan_daemon(const struct deploy_input *in, const struct deploy_daemon_instance *insts,
                        size_t ninsts, struct deploy_plan *ret_plan)
{
    struct build b;
    build_init(&b, in, ret_plan);
    ret_plan->upper = in->desired; /* one per instance, whatever maximumPercent says */
    ret_plan->start_on = xcalloc(ninsts + 1, sizeof(size_t));
    stop_unhealthy(&b);
    cleanup_free size_t *order = stop_order(in);
    cleanup_free struct daemon_count *c = xcalloc(ninsts + 1, sizeof(*c));
    daemon_counts(&b, ninsts, false, c);
    /* Off instances that should not run it; extra PRIMARY tasks; then older deployments'. */
    for (size_t k = 0; k < in->ntasks; k++) {
        size_t i = order[k];
        const struct deploy_task *t = &in->tasks[i];
        bool gone = t->instance >= ninsts;
        if (b.stopped[i] || (!gone && insts[t->instance].hold))
            continue;
        if (gone || !insts[t->instance].eligible)
            stop(&b, i, DEPLOY_STOP_DRAINING);
        else if (t->deployment == 0 && c[t->instance].primary > 1)
            stop(&b, i, DEPLOY_STOP_SCALE_IN), c[t->instance].primary--;
    }
    for (size_t k = 0; k < in->ntasks; k++) {
        size_t i = order[k];
        if (!b.stopped[i] && in->tasks[i].deployment != 0 && in->tasks[i].instance < ninsts &&
            !insts[in->tasks[i].instance].hold)
            replace(&b, i, DEPLOY_STOP_REPLACED);
    }
    /* Start only where none of our tasks runs, not even one stopping now: it holds the
     * instance's ports and resources until it is gone. */
    daemon_counts(&b, ninsts, true, c);
    bool any_elsewhere = false;
    for (size_t n = 0; n < ninsts; n++) {
        if (!insts[n].eligible) {
            any_elsewhere |= c[n].primary + c[n].old > 0;
            continue;
        }
        if (!in->launch_blocked && c[n].primary == 0 && c[n].old == 0)
            ret_plan->start_on[ret_plan->nstart_on++] = n;
    }
    ret_plan->steady = in->ndeployments <= 1 && in->nstopping == 0 && ret_plan->nstops == 0 &&
                       ret_plan->nstart_on == 0 && !any_elsewhere && b.alive == in->desired &&
                       b.settled == in->desired;
    free(b.stopped);
}

void deploy_plan_free(struct deploy_plan *p)
{
    if (!p)
        return;
    free(p->stops);
    free(p->start_on);
    memset(p, 0, sizeof(*p));
}

/* ---- health, circuit breaker, rollout ---- */

bool deploy_task_healthy(bool running, const char *health_status, bool has_health_check)
{
    if (!running)
        return false;
    return !has_health_check || (health_status && strcmp(health_status, "HEALTHY") == 0);
}

bool deploy_task_settled(bool healthy, double started_at, double now)
{
    return healthy && now - started_at >= DEPLOY_SETTLE_SECONDS;
}

bool deploy_task_unhealthy(bool running, const char *health_status, double started_at,
                           double grace_seconds, double now)
{
    return running && health_status && strcmp(health_status, "UNHEALTHY") == 0 &&
           now >= started_at + grace_seconds;
}

unsigned deploy_cb_threshold(unsigned desired)
{
    unsigned t = (desired + 1) / 2;
    return t < DEPLOY_CB_MIN ? DEPLOY_CB_MIN : t > DEPLOY_CB_MAX ? DEPLOY_CB_MAX : t;
}

enum deploy_verdict deploy_rollout(bool cb_enabled, unsigned cb_failures, unsigned desired,
                                   bool steady)
{
    if (cb_enabled && cb_failures >= deploy_cb_threshold(desired))
        return DEPLOY_FAILED;
    return steady ? DEPLOY_COMPLETED : DEPLOY_CARRY_ON;
}

double deploy_launch_delay(unsigned failures)
{
    double d = 0.25 * failures;
    return d > 30 ? 30 : d;
}
