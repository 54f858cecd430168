/* What container instances hold, for placement snapshots: per (instance, task group) counts
 * and sums of the tasks placed there that are not STOPPED, kept by triggers on the tasks table
 * (schema_ecs_services.c), and the fixed host ports of the few tasks that hold any. Both read
 * the instances store_instances_list selects for the same query (its after/limit aside), in one
 * statement each, whatever the number of tasks. Return values follow store.h. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "store/instances.h"
#include "store/store.h"

struct store_task_load {
    char *instance_arn;
    char *group;
    int64_t tasks, running, pending; /* not STOPPED; RUNNING; PROVISIONING..ACTIVATING */
    int64_t cpu, memory;             /* units and MiB held */
};

/* Ordered by instance ARN. */
int store_task_loads(struct store *st, const char *account, const char *region,
                     const struct store_instance_query *q, struct store_task_load **ret_v,
                     size_t *ret_n, struct wh_err *err);
void store_task_loads_free(struct store_task_load *v, size_t n);

struct store_task_ports {
    char *instance_arn;
    char *tcp, *udp; /* JSON text arrays */
};

/* Tasks not STOPPED that hold fixed host ports, ordered by instance ARN. */
int store_task_ports_held(struct store *st, const char *account, const char *region,
                          const struct store_instance_query *q, struct store_task_ports **ret_v,
                          size_t *ret_n, struct wh_err *err);
void store_task_ports_free(struct store_task_ports *v, size_t n);
