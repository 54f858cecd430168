/* Task placement: which container instance each task of a request goes to, as ECS decides it.
 *
 * Pure: the caller passes a snapshot of the cluster's instances and a random source; nothing
 * is read or written elsewhere. Instances are filtered (status, agent, resources, ports,
 * constraints), then the strategies narrow the candidates in order (binpack, spread, random)
 * as ECS chains them; ties left at the end are broken at random. Each task placed consumes
 * the snapshot's resources, so a request for several tasks never over-commits an instance. */
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
    const char *group; /* task group, counted by spread and distinctInstance */
    const struct sched_constraint *constraints;
    size_t nconstraints;
    const struct sched_strategy *strategies;
    size_t nstrategies;
    unsigned count;
};

struct sched_failure {
    size_t instance; /* index into the snapshot */
    const char *reason; /* "RESOURCE:CPU", "RESOURCE:MEMORY", "RESOURCE:PORTS", "MemberOf",
                           "DistinctInstance", "AGENT", "INACTIVE" */
};

struct sched_result {
    long *placed;   /* count entries: instance index, or -1 when the task could not be placed */
    unsigned nplaced;
    struct sched_failure *failures; /* why instances were passed over (one per instance) */
    size_t nfailures;
};

typedef uint64_t (*sched_rng_fn)(void *arg);

/* Parse and validate ECS placementConstraints / placementStrategy fields. */
int sched_strategy_parse(const char *type, const char *field, struct sched_strategy *ret,
                         struct wh_err *err);

/* Place req->count tasks. insts is modified: remaining resources, ports and groups of the
 * chosen instances are updated as tasks land (the caller passes a scratch copy). */
int sched_place(struct sched_instance *insts, size_t ninsts, const struct sched_request *req,
                sched_rng_fn rng, void *rng_arg, struct sched_result *ret_result);
void sched_result_free(struct sched_result *r);
