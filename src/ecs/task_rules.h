/* Pure rules of tasks and container instances: status order, launch type resolution, what a
 * task needs from an instance, what an instance has left, task health. No store and no
 * request context, so unit tests (tests/unit/test-ecs-tasks.c) reach them directly; failures
 * are InvalidParameterException unless said otherwise. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct store_task_container;

/* ---- statuses ---- */

/* Rank of a task lastStatus in PROVISIONING → PENDING → ACTIVATING → RUNNING → DEACTIVATING →
 * STOPPING → DEPROVISIONING → STOPPED; -1 when s is none of them. */
int task_status_rank(const char *s);
/* Rank of a container lastStatus in PENDING → RUNNING → STOPPED; -1 when unknown. */
int container_status_rank(const char *s);
/* PROVISIONING, PENDING or ACTIVATING: what clusters and instances count as pending. */
bool task_status_pending(const char *s);

/* ---- launch type ---- */

enum task_launch { TASK_LAUNCH_EC2, TASK_LAUNCH_FARGATE };

struct task_launch_plan {
    enum task_launch type;
    const json_t *strategy; /* the capacity provider strategy in force (borrowed), or NULL */
};

/* Decide where RunTask's tasks go: launchType EC2 or FARGATE as given; else the request's
 * capacityProviderStrategy; else the cluster's default strategy when it has one; else EC2.
 * A strategy's providers must be associated with the cluster (cluster_providers) and be
 * FARGATE / FARGATE_SPOT (wharf has no Auto Scaling providers). Both launchType and a strategy,
 * or launchType EXTERNAL / MANAGED_INSTANCES, are refused. */
int task_launch_resolve(const char *launch_type, const json_t *strategy,
                        const json_t *cluster_default, const json_t *cluster_providers,
                        struct task_launch_plan *ret_plan, struct wh_err *err);
/* The capacity provider of task i (0-based) under strategy: the provider with a base takes the
 * first `base` tasks, the rest go round the providers in proportion to their weights. */
const char *task_strategy_provider(const json_t *strategy, unsigned i);

/* ---- what a task needs ---- */

#define TASK_MAX_PORTS 256

struct task_needs {
    int64_t cpu, memory;            /* units and MiB held on the instance */
    char cpu_text[24], mem_text[24]; /* task-level cpu / memory ECS reports; "" when none */
    uint16_t tcp[TASK_MAX_PORTS], udp[TASK_MAX_PORTS]; /* fixed host ports */
    size_t ntcp, nudp;
};

/* Check overrides (a TaskOverride; NULL for none) against the task definition body (the
 * stored, normalized definition) and compute what one task needs: task-level cpu/memory
 * (overrides first) or else the sum of its containers' cpu and memory (memoryReservation where
 * memory is absent; container overrides first), and the fixed host ports of bridge and host
 * network modes. Fargate tasks need a Fargate task size. */
int task_needs_compute(const json_t *body, const json_t *overrides, bool fargate,
                       struct task_needs *ret_needs, struct wh_err *err);
/* The definition may run as FARGATE: its compatibilities include FARGATE. */
bool task_def_fargate_ok(const json_t *body);

/* ---- what an instance has left ---- */

#define INSTANCE_MAX_PORTS 1024

struct instance_load {
    int64_t cpu, memory; /* held by the tasks that are not STOPPED */
    unsigned running, pending;
    uint16_t tcp[INSTANCE_MAX_PORTS], udp[INSTANCE_MAX_PORTS]; /* reserved + used host ports */
    size_t ntcp, nudp;
};

/* Start from the instance's reserved ports (JSON text arrays of numbers or numeric strings;
 * NULL for none). */
void instance_load_init(struct instance_load *l, const char *reserved_tcp,
                        const char *reserved_udp);
/* Add one task that is not STOPPED: its cpu/memory, its ports (JSON text arrays) and its
 * status for the running/pending counts. */
void instance_load_add(struct instance_load *l, int64_t cpu, int64_t memory,
                       const char *ports_tcp, const char *ports_udp, const char *last_status);
/* Add only the host ports a task holds (JSON text arrays; NULL for none). */
void instance_load_add_ports(struct instance_load *l, const char *ports_tcp,
                             const char *ports_udp);

/* ---- health ---- */

/* UNHEALTHY if an essential container is UNHEALTHY; HEALTHY if every essential container with
 * a health check is HEALTHY (and there is at least one); else UNKNOWN. */
const char *task_health(const struct store_task_container *c, size_t n);

/* ---- references ---- */

/* The ARN a request's task or container instance reference names: an ARN as it is, or an id
 * completed with the cluster name ("task/CLUSTER/ID", "container-instance/CLUSTER/ID"). kind is
 * "task" or "container-instance". New heap string. */
char *ecs_ref_arn(const char *ref, const char *kind, const char *cluster_name, const char *region,
                  const char *account);
/* The cluster name inside a task or container instance ARN (…:task/CLUSTER/ID), or NULL. New
 * heap string. */
char *ecs_arn_cluster_name(const char *arn);
