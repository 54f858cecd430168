/* A container instance as the ECS actions see it: its row, its attributes and the load of the
 * tasks placed on it. One loader for DescribeContainerInstances, ListContainerInstances'
 * filter, RunTask's placement snapshot and the agent's calls, and one instance_to_json for
 * every action that returns a ContainerInstance. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"
#include "ecs/task_rules.h"
#include "sched/instance.h"
#include "store/attributes.h"
#include "store/instances.h"

struct store;

struct instance_view {
    struct store_instance inst;
    struct store_attribute *attrs;
    size_t nattrs;
    struct instance_load load;
    struct sched_group *groups; /* distinct groups of the tasks not STOPPED (names owned) */
    size_t ngroups;
    struct sched_attr *sattrs; /* attrs as the scheduler reads them */
};

/* Seconds without a poll after which an agent counts as disconnected: 3 × the agent's 20 s
 * wait, or WHARF_AGENT_TIMEOUT_SECONDS from the environment (tests). */
double ecs_agent_timeout(void);
bool ecs_agent_connected(const struct store_instance *in, double now);

/* Load attributes and task load for inst, whose contents move into the view (inst is left
 * zeroed). */
int instance_view_load(struct store *st, struct store_instance *inst, struct instance_view *ret,
                       struct wh_err *err);
void instance_view_clear(struct instance_view *v);
void instance_views_free(struct instance_view *v, size_t n);

/* Load every instance of the query (see store_instances_list). */
int instance_views_list(struct store *st, const char *account, const char *region,
                        const struct store_instance_query *q, struct instance_view **ret_v,
                        size_t *ret_n, struct wh_err *err);

/* The scheduler's snapshot of v; it points into v, which must outlive it. */
void instance_view_sched(const struct instance_view *v, double now, struct sched_instance *ret);

/* The ECS ContainerInstance shape; tags (a reference taken over, NULL to leave them out) are
 * added as given. */
json_t *instance_to_json(const struct instance_view *v, double now, json_t *tags);
