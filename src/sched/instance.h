/* The scheduler's view of a container instance: a plain snapshot, no JSON and no store, so
 * placement and the query language are pure functions unit tests reach without a daemon. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sched_attr {
    const char *name;
    const char *value; /* NULL for attributes that are set without a value */
};

/* How many running/pending tasks of one task group an instance holds. */
struct sched_group {
    const char *name; /* "service:web", "family:batch" */
    unsigned count;
};

struct sched_instance {
    const char *arn;
    const char *ec2_instance_id;
    const char *agent_version;
    double registered_at; /* epoch seconds */
    bool active;          /* status ACTIVE (not DRAINING/INACTIVE) */
    bool agent_connected;
    const struct sched_attr *attrs;
    size_t nattrs;
    int64_t remaining_cpu, remaining_memory;
    const uint16_t *used_tcp, *used_udp; /* host ports taken by running/pending tasks */
    size_t nused_tcp, nused_udp;
    const struct sched_group *groups; /* distinct groups of its running/pending tasks */
    size_t ngroups;
    unsigned running_tasks;
};

/* The value of attribute name on inst, or NULL (absent). *ret_present tells a value-less
 * attribute from an absent one. */
const char *sched_instance_attr(const struct sched_instance *inst, const char *name,
                                bool *ret_present);
/* Tasks of group on inst; every task when group is NULL. */
unsigned sched_instance_group_count(const struct sched_instance *inst, const char *group);
