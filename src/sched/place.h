/* Task placement: which container instance each task of a request goes to, as ECS decides it.
 *
 * Pure: the caller passes a snapshot of the cluster's instances and a random source; nothing
 * is read or written elsewhere. Instances are filtered (status, agent, constraints, resources,
 * ports), then the strategies narrow the candidates in the order given, as ECS chains them:
 * binpack keeps the instances with the least of cpu or memory left, spread those whose value
 * of the field (instanceId, host, attribute:NAME) holds the fewest tasks of the request's
 * group, random picks one; ties left at the end are broken at random. Each task placed
 * consumes the snapshot's resources, so a request for several tasks never over-commits an
 * instance.
 *
 * Cost: O(n) per task placed over n instances (plus O(n) once per call): constraint verdicts
 * are kept per instance and only the instance that took the last task is re-evaluated, and
 * spread keeps a task count per field value rather than recounting. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "sched/instance.h"
#include "sched/query.h"

enum sched_constraint_type { SCHED_DISTINCT_INSTANCE, SCHED_MEMBER_OF };
enum sched_strategy_type { SCHED_BINPACK, SCHED_SPREAD, SCHED_RANDOM };

struct sched_constraint {
    enum sched_constraint_type type;
    struct query *expr; /* memberOf */
};

struct sched_strategy {
    enum sched_strategy_type type;
    /* binpack: "cpu" | "memory"; spread: "instanceId" | "host" | "attribute:NAME" */
    const char *field;
};

struct sched_request {
    int64_t cpu, memory; /* per task */
    const uint16_t *ports_tcp, *ports_udp; /* fixed host ports each task needs */
    size_t nports_tcp, nports_udp;
    const char *group; /* task group, counted by spread, distinctInstance and task:group */
    const struct sched_constraint *constraints;
    size_t nconstraints;
    const struct sched_strategy *strategies;
    size_t nstrategies;
    unsigned count;
};

/* Why an instance was passed over, in the order placement checks (a later reason means the
 * instance got further: see sched_result_closest). */
#define SCHED_REASON_INACTIVE "INACTIVE"
#define SCHED_REASON_AGENT "AGENT"
#define SCHED_REASON_MEMBER_OF "MemberOf"
#define SCHED_REASON_DISTINCT "DistinctInstance"
#define SCHED_REASON_CPU "RESOURCE:CPU"
#define SCHED_REASON_MEMORY "RESOURCE:MEMORY"
#define SCHED_REASON_PORTS "RESOURCE:PORTS"

struct sched_failure {
    size_t instance; /* index into the snapshot */
    const char *reason; /* one of SCHED_REASON_* (static) */
};

struct sched_result {
    long *placed;   /* count entries: instance index, or -1 when the task could not be placed */
    unsigned nplaced;
    /* When a task could not be placed: why each instance was passed over at that point, one
     * per instance, INACTIVE ones left out. */
    struct sched_failure *failures;
    size_t nfailures;
};

typedef uint64_t (*sched_rng_fn)(void *arg);

/* Parse and validate ECS placementConstraints / placementStrategy items. Messages name the
 * value; the caller prefixes the field. InvalidParameterException. */
int sched_strategy_parse(const char *type, const char *field, struct sched_strategy *ret,
                         struct wh_err *err);
/* expression is parsed with the cluster query language (memberOf); *ret owns it (query_free). */
int sched_constraint_parse(const char *type, const char *expression, struct sched_constraint *ret,
                           struct wh_err *err);

/* Place req->count tasks. insts is modified: remaining resources and running counts of the
 * chosen instances are updated as tasks land (the caller passes a scratch copy). Always 0. */
int sched_place(struct sched_instance *insts, size_t ninsts, const struct sched_request *req,
                sched_rng_fn rng, void *rng_arg, struct sched_result *ret_result);
void sched_result_free(struct sched_result *r);

/* The failure of the instance that came closest to taking the task (the latest check it
 * failed), as ECS's "closest matching container-instance"; NULL when there are none. */
const struct sched_failure *sched_result_closest(const struct sched_result *r);
/* How ECS's service events word a reason: "has insufficient CPU units available", ... */
const char *sched_reason_phrase(const char *reason);
