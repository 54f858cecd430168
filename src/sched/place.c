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

int sched_constraint_parse(const char *type, const char *expression, struct sched_constraint *ret,
                           struct wh_err *err)
{
    if (type && strcmp(type, "distinctInstance") == 0) {
        if (expression && *expression)
            return wh_err_set(err, 400, "InvalidParameterException",
                              "distinctInstance takes no expression, got '%s'", expression);
        *ret = (struct sched_constraint){SCHED_DISTINCT_INSTANCE, NULL};
        return 0;
    }
    if (!type || strcmp(type, "memberOf") != 0)
        return wh_err_set(err, 400, "InvalidParameterException",
                          "type '%s' is not memberOf or distinctInstance", type ? type : "");
    if (!expression || !*expression)
        return wh_err_set(err, 400, "InvalidParameterException",
                          "memberOf needs an expression");
    struct query *q = NULL;
    if (query_parse(expression, &q, err) < 0)
        return -1;
    *ret = (struct sched_constraint){SCHED_MEMBER_OF, q};
    return 0;
}

/* ---- spread values ---- */

/* The distinct values of one spread field over the snapshot, and the tasks of the request's
 * group on the instances holding each value. */
struct spread {
    size_t *val;   /* per instance: value id */
    int64_t *tasks; /* per value id */
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static const char *spread_value(const struct sched_instance *in, const char *field)
{
    const char *v = sched_instance_attr(in, field + 10, NULL);
    return v ? v : ""; /* instances without the attribute form one more bucket */
}

/* Intern every instance's value of an attribute field: open addressing over 2n slots. */
static void spread_index(struct spread *sp, const struct sched_instance *insts, size_t n,
                         const char *field)
{
    size_t cap = 2 * n + 2;
    const char **keys = xcalloc(cap, sizeof(char *));
    size_t *ids = xcalloc(cap, sizeof(size_t));
    size_t next = 0;
    for (size_t i = 0; i < n; i++) {
        const char *v = spread_value(&insts[i], field);
        size_t h = hash_str(v) % cap;
        while (keys[h] && strcmp(keys[h], v) != 0)
            h = (h + 1) % cap;
        if (!keys[h]) {
            keys[h] = v;
            ids[h] = next++;
        }
        sp->val[i] = ids[h];
    }
    free(keys);
    free(ids);
}

/* ---- per-call scratch ---- */

struct work {
    struct sched_instance *insts;
    size_t n;
    const struct sched_request *req;
    unsigned *placed_here;  /* what this request put on each instance */
    unsigned *group_tasks;  /* the group's tasks on each instance before this request */
    const char **reasons;   /* per instance: NULL (can take a task) or why not */
    size_t *cand;
    size_t ncand;
    int64_t *score;
    struct spread *spread; /* per strategy; NULL members for other types */
};

static bool port_used(const uint16_t *used, size_t n, uint16_t p)
{
    for (size_t i = 0; i < n; i++)
        if (used[i] == p)
            return true;
    return false;
}

static bool ports_conflict(const struct sched_instance *in, const struct sched_request *r)
{
    for (size_t p = 0; p < r->nports_tcp; p++)
        if (port_used(in->used_tcp, in->nused_tcp, r->ports_tcp[p]))
            return true;
    for (size_t p = 0; p < r->nports_udp; p++)
        if (port_used(in->used_udp, in->nused_udp, r->ports_udp[p]))
            return true;
    return false;
}

/* NULL when instance i can take one more task, else the ECS reason it cannot. */
static const char *reject_reason(const struct work *w, size_t i)
{
    const struct sched_instance *in = &w->insts[i];
    const struct sched_request *r = w->req;
    if (!in->active)
        return SCHED_REASON_INACTIVE;
    if (!in->agent_connected)
        return SCHED_REASON_AGENT;
    for (size_t c = 0; c < r->nconstraints; c++) {
        const struct sched_constraint *k = &r->constraints[c];
        if (k->type == SCHED_MEMBER_OF &&
            !query_eval_placed(k->expr, in, r->group, w->placed_here[i]))
            return SCHED_REASON_MEMBER_OF;
        if (k->type == SCHED_DISTINCT_INSTANCE &&
            (w->placed_here[i] > 0 || (r->group && w->group_tasks[i] > 0)))
            return SCHED_REASON_DISTINCT;
    }
    if (in->remaining_cpu < r->cpu)
        return SCHED_REASON_CPU;
    if (in->remaining_memory < r->memory)
        return SCHED_REASON_MEMORY;
    bool ports = r->nports_tcp + r->nports_udp > 0;
    if (ports && (w->placed_here[i] > 0 || ports_conflict(in, r)))
        return SCHED_REASON_PORTS; /* a task of this request holds them there already */
    return NULL;
}

static void work_init(struct work *w, struct sched_instance *insts, size_t n,
                      const struct sched_request *req)
{
    size_t m = n ? n : 1;
    *w = (struct work){.insts = insts, .n = n, .req = req};
    w->placed_here = xcalloc(m, sizeof(unsigned));
    w->group_tasks = xcalloc(m, sizeof(unsigned));
    w->reasons = xcalloc(m, sizeof(char *));
    w->cand = xcalloc(m, sizeof(size_t));
    w->score = xcalloc(m, sizeof(int64_t));
    w->spread = xcalloc(req->nstrategies + 1, sizeof(*w->spread));
    for (size_t i = 0; i < n; i++)
        w->group_tasks[i] = sched_instance_group_count(&insts[i], req->group);
    for (size_t s = 0; s < req->nstrategies; s++) {
        const struct sched_strategy *st = &req->strategies[s];
        if (st->type != SCHED_SPREAD)
            continue;
        struct spread *sp = &w->spread[s];
        sp->val = xcalloc(m, sizeof(size_t));
        sp->tasks = xcalloc(m, sizeof(int64_t));
        if (strncmp(st->field, "attribute:", 10) == 0)
            spread_index(sp, insts, n, st->field);
        else /* instanceId, host: one value per instance */
            for (size_t i = 0; i < n; i++)
                sp->val[i] = i;
        for (size_t i = 0; i < n; i++)
            sp->tasks[sp->val[i]] += w->group_tasks[i];
    }
}

static void work_free(struct work *w)
{
    for (size_t s = 0; s < w->req->nstrategies; s++) {
        free(w->spread[s].val);
        free(w->spread[s].tasks);
    }
    free(w->spread);
    free(w->placed_here);
    free(w->group_tasks);
    free(w->reasons);
    free(w->cand);
    free(w->score);
}

/* Keep the candidates whose score is lowest. */
static void keep_lowest(struct work *w)
{
    int64_t best = INT64_MAX;
    for (size_t c = 0; c < w->ncand; c++)
        if (w->score[c] < best)
            best = w->score[c];
    size_t k = 0;
    for (size_t c = 0; c < w->ncand; c++)
        if (w->score[c] == best)
            w->cand[k++] = w->cand[c];
    w->ncand = k;
}

static void apply_strategy(struct work *w, size_t s, sched_rng_fn rng, void *rng_arg)
{
    const struct sched_strategy *st = &w->req->strategies[s];
    if (st->type == SCHED_RANDOM) {
        w->cand[0] = w->cand[rng(rng_arg) % w->ncand];
        w->ncand = 1;
        return;
    }
    bool cpu = st->type == SCHED_BINPACK && strcmp(st->field, "cpu") == 0;
    const struct spread *sp = &w->spread[s];
    for (size_t c = 0; c < w->ncand; c++) {
        const struct sched_instance *in = &w->insts[w->cand[c]];
        if (st->type == SCHED_BINPACK)
            w->score[c] = cpu ? in->remaining_cpu : in->remaining_memory;
        else
            w->score[c] = sp->tasks[sp->val[w->cand[c]]];
    }
    keep_lowest(w);
}

static void consume(struct work *w, size_t i)
{
    struct sched_instance *in = &w->insts[i];
    in->remaining_cpu -= w->req->cpu;
    in->remaining_memory -= w->req->memory;
    in->running_tasks++;
    w->placed_here[i]++;
    for (size_t s = 0; s < w->req->nstrategies; s++)
        if (w->spread[s].tasks)
            w->spread[s].tasks[w->spread[s].val[i]]++;
    w->reasons[i] = reject_reason(w, i); /* the only instance whose verdict can change */
}

/* One task: candidates, strategies in order, a random pick among the ties. -1: none. */
static long place_one(struct work *w, sched_rng_fn rng, void *rng_arg)
{
    w->ncand = 0;
    for (size_t i = 0; i < w->n; i++)
        if (!w->reasons[i])
            w->cand[w->ncand++] = i;
    for (size_t s = 0; s < w->req->nstrategies && w->ncand > 1; s++)
        apply_strategy(w, s, rng, rng_arg);
    if (w->ncand == 0)
        return -1;
    size_t pick = w->cand[w->ncand > 1 ? rng(rng_arg) % w->ncand : 0];
    consume(w, pick);
    return (long)pick;
}

int sched_place(struct sched_instance *insts, size_t ninsts, const struct sched_request *req,
                sched_rng_fn rng, void *rng_arg, struct sched_result *ret_result)
{
    struct work w;
    work_init(&w, insts, ninsts, req);
    for (size_t i = 0; i < ninsts; i++)
        w.reasons[i] = reject_reason(&w, i);
    struct sched_result r = {.placed = xcalloc(req->count ? req->count : 1, sizeof(long))};
    bool any_failed = false;
    for (unsigned t = 0; t < req->count; t++) {
        r.placed[t] = place_one(&w, rng, rng_arg);
        any_failed |= r.placed[t] < 0;
    }
    r.nplaced = req->count;
    if (any_failed) {
        r.failures = xcalloc(ninsts ? ninsts : 1, sizeof(*r.failures));
        for (size_t i = 0; i < ninsts; i++)
            if (w.reasons[i] && strcmp(w.reasons[i], SCHED_REASON_INACTIVE) != 0)
                r.failures[r.nfailures++] = (struct sched_failure){i, w.reasons[i]};
    }
    work_free(&w);
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

/* ---- reasons as ECS words them ---- */

static const struct {
    const char *reason;
    const char *phrase;
} phrases[] = {
    {SCHED_REASON_INACTIVE, "is not ACTIVE"},
    {SCHED_REASON_AGENT, "encountered error \"AGENT\""},
    {SCHED_REASON_MEMBER_OF, "encountered error \"MemberOf placement constraint unsatisfied.\""},
    {SCHED_REASON_DISTINCT,
     "encountered error \"DistinctInstance placement constraint unsatisfied.\""},
    {SCHED_REASON_CPU, "has insufficient CPU units available"},
    {SCHED_REASON_MEMORY, "has insufficient memory available"},
    {SCHED_REASON_PORTS, "is already using a port required by your task"},
};

static int reason_rank(const char *reason)
{
    for (size_t i = 0; i < ARRAY_SIZE(phrases); i++)
        if (strcmp(phrases[i].reason, reason) == 0)
            return (int)i;
    return -1;
}

const struct sched_failure *sched_result_closest(const struct sched_result *r)
{
    const struct sched_failure *best = NULL;
    for (size_t i = 0; i < r->nfailures; i++)
        if (!best || reason_rank(r->failures[i].reason) > reason_rank(best->reason))
            best = &r->failures[i];
    return best;
}

const char *sched_reason_phrase(const char *reason)
{
    int i = reason_rank(reason);
    return i >= 0 ? phrases[i].phrase : "cannot take the task";
}
