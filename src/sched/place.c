#include "sched/place.h"

#include <string.h>

#include "core/xalloc.h"

int sched_strategy_parse(const char *type, const char *field, struct sched_strategy *ret,
                         struct wh_err *err)
{
    struct sched_strategy s = {.field = field};
    if (strcmp(type, "binpack") == 0) {
        s.type = SCHED_BINPACK;
        if (!field || (strcmp(field, "cpu") != 0 && strcmp(field, "memory") != 0))
            return wh_err_set(err, 400, "InvalidParameterException",
                              "binpack placement strategy field must be cpu or memory, not '%s'",
                              field ? field : "");
    } else if (strcmp(type, "spread") == 0) {
        s.type = SCHED_SPREAD;
        if (!field || (strcmp(field, "instanceId") != 0 && strcmp(field, "host") != 0 &&
                       (strncmp(field, "attribute:", 10) != 0 || !field[10])))
            return wh_err_set(err, 400, "InvalidParameterException",
                              "spread placement strategy field must be instanceId, host or "
                              "attribute:NAME, not '%s'",
                              field ? field : "");
    } else if (strcmp(type, "random") == 0) {
        s.type = SCHED_RANDOM;
        if (field && *field)
            return wh_err_set(err, 400, "InvalidParameterException",
                              "random placement strategy takes no field, got '%s'", field);
    } else {
        return wh_err_set(err, 400, "InvalidParameterException",
                          "placement strategy type must be binpack, spread or random, not '%s'",
                          type);
    }
    *ret = s;
    return 0;
}

/* Per-call scratch beside the snapshot: what this request already put on each instance. */
struct work {
    struct sched_instance *insts;
    size_t n;
    const struct sched_request *req;
    unsigned *placed_here;
    size_t *cand;
    size_t ncand;
};

static bool port_used(const uint16_t *used, size_t n, uint16_t p)
{
    for (size_t i = 0; i < n; i++)
        if (used[i] == p)
            return true;
    return false;
}

static size_t group_tasks(const struct sched_instance *in, const char *group)
{
    if (!group)
        return in->ntask_groups;
    size_t c = 0;
    for (size_t i = 0; i < in->ntask_groups; i++)
        if (in->task_groups[i] && strcmp(in->task_groups[i], group) == 0)
            c++;
    return c;
}

/* NULL when instance i can take one more task, else the ECS reason it cannot. */
static const char *reject_reason(const struct work *w, size_t i)
{
    const struct sched_instance *in = &w->insts[i];
    const struct sched_request *r = w->req;
    if (!in->active)
        return "INACTIVE";
    if (!in->agent_connected)
        return "AGENT";
    for (size_t c = 0; c < r->nconstraints; c++) {
        const struct sched_constraint *k = &r->constraints[c];
        if (k->type == SCHED_MEMBER_OF && !query_eval(k->expr, in))
            return "MemberOf";
        if (k->type == SCHED_DISTINCT_INSTANCE &&
            (w->placed_here[i] > 0 || (r->group && group_tasks(in, r->group) > 0)))
            return "DistinctInstance";
    }
    if (in->remaining_cpu < r->cpu)
        return "RESOURCE:CPU";
    if (in->remaining_memory < r->memory)
        return "RESOURCE:MEMORY";
    bool ports = r->nports_tcp + r->nports_udp > 0;
    if (ports && w->placed_here[i] > 0)
        return "RESOURCE:PORTS"; /* the same request's ports are already bound there */
    for (size_t p = 0; p < r->nports_tcp; p++)
        if (port_used(in->used_tcp, in->nused_tcp, r->ports_tcp[p]))
            return "RESOURCE:PORTS";
    for (size_t p = 0; p < r->nports_udp; p++)
        if (port_used(in->used_udp, in->nused_udp, r->ports_udp[p]))
            return "RESOURCE:PORTS";
    return NULL;
}

static const char *spread_value(const struct sched_instance *in, const char *field)
{
    if (strcmp(field, "instanceId") == 0 || strcmp(field, "host") == 0)
        return in->arn;
    const char *v = sched_instance_attr(in, field + 10, NULL);
    return v ? v : "";
}

/* Tasks of the request's group on all instances whose field has this value, so spread
 * evens out across values, not only across the current candidates. */
static size_t spread_count(const struct work *w, const char *field, const char *value)
{
    size_t total = 0;
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(spread_value(&w->insts[i], field), value) == 0)
            total += group_tasks(&w->insts[i], w->req->group) + w->placed_here[i];
    return total;
}

/* Keep the candidates whose score is lowest. */
static void keep_lowest(struct work *w, const int64_t *score)
{
    int64_t best = INT64_MAX;
    for (size_t c = 0; c < w->ncand; c++)
        if (score[c] < best)
            best = score[c];
    size_t k = 0;
    for (size_t c = 0; c < w->ncand; c++)
        if (score[c] == best)
            w->cand[k++] = w->cand[c];
    w->ncand = k;
}

static void apply_strategy(struct work *w, const struct sched_strategy *s, sched_rng_fn rng,
                           void *rng_arg)
{
    if (w->ncand <= 1)
        return;
    if (s->type == SCHED_RANDOM) {
        w->cand[0] = w->cand[rng(rng_arg) % w->ncand];
        w->ncand = 1;
        return;
    }
    cleanup_free int64_t *score = xcalloc(w->ncand, sizeof(int64_t));
    for (size_t c = 0; c < w->ncand; c++) {
        const struct sched_instance *in = &w->insts[w->cand[c]];
        if (s->type == SCHED_BINPACK)
            score[c] = strcmp(s->field, "cpu") == 0 ? in->remaining_cpu : in->remaining_memory;
        else
            score[c] = (int64_t)spread_count(w, s->field, spread_value(in, s->field));
    }
    keep_lowest(w, score);
}

static void consume(struct work *w, size_t i)
{
    struct sched_instance *in = &w->insts[i];
    in->remaining_cpu -= w->req->cpu;
    in->remaining_memory -= w->req->memory;
    in->running_tasks++;
    w->placed_here[i]++;
}

int sched_place(struct sched_instance *insts, size_t ninsts, const struct sched_request *req,
                sched_rng_fn rng, void *rng_arg, struct sched_result *ret_result)
{
    struct work w = {.insts = insts, .n = ninsts, .req = req};
    w.placed_here = xcalloc(ninsts ? ninsts : 1, sizeof(unsigned));
    w.cand = xcalloc(ninsts ? ninsts : 1, sizeof(size_t));
    const char **reasons = xcalloc(ninsts ? ninsts : 1, sizeof(char *));
    struct sched_result r = {.placed = xcalloc(req->count ? req->count : 1, sizeof(long))};
    bool any_failed = false;
    for (unsigned t = 0; t < req->count; t++) {
        w.ncand = 0;
        for (size_t i = 0; i < ninsts; i++) {
            reasons[i] = reject_reason(&w, i);
            if (!reasons[i])
                w.cand[w.ncand++] = i;
        }
        for (size_t s = 0; s < req->nstrategies && w.ncand > 1; s++)
            apply_strategy(&w, &req->strategies[s], rng, rng_arg);
        if (w.ncand == 0) {
            r.placed[t] = -1;
            any_failed = true;
            continue;
        }
        size_t pick = w.cand[w.ncand > 1 ? rng(rng_arg) % w.ncand : 0];
        consume(&w, pick);
        r.placed[t] = (long)pick;
    }
    r.nplaced = req->count;
    if (any_failed) {
        r.failures = xcalloc(ninsts ? ninsts : 1, sizeof(*r.failures));
        for (size_t i = 0; i < ninsts; i++)
            if (reasons[i] && strcmp(reasons[i], "INACTIVE") != 0)
                r.failures[r.nfailures++] = (struct sched_failure){i, reasons[i]};
    }
    free(reasons);
    free(w.placed_here);
    free(w.cand);
    *ret_result = r;
    return 0;
}

void sched_result_free(struct sched_result *r)
{
    if (!r)
        return;
    free(r->placed);
    free(r->failures);
    r->placed = NULL;
    r->failures = NULL;
}
