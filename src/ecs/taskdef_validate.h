/* Task definition validation: the semantic rules ECS applies in RegisterTaskDefinition, as pure
 * functions over the request JSON (already checked against the botocore model for types, enums
 * and required members). Every failure is a ClientException (400) naming the container, the
 * field and the value, worded as ECS words it where its wording is known. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

#define TD_ERR_CLIENT "ClientException"
#define TD_MAX_CONTAINERS 10

/* Fill err as a ClientException (400); returns -1. */
int td_fail(struct wh_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Family, container and volume names: ^[a-zA-Z0-9_-]{1,255}$. */
bool taskdef_name_valid(const char *s);
/* Task-level cpu: "1024" (CPU units) or "1 vCPU", "0.25 vcpu", "2vCPU" → CPU units; -1 when the
 * text is neither or not a whole number of units. */
int64_t taskdef_parse_cpu(const char *s);
/* Task-level memory: "512" (MiB) or "1 GB", "0.5GB" → MiB; -1 when neither. */
int64_t taskdef_parse_memory(const char *s);
/* Whether (cpu units, memory MiB) is one of Fargate's task sizes. */
bool taskdef_fargate_pair_valid(int64_t cpu, int64_t memory);
/* The Fargate rules: awsvpc, task cpu and memory forming a Fargate size, and none of the
 * parameters Fargate lacks (privileged, devices, host volumes, ...). Works on a request and on a
 * stored body alike. 0 or -1 with a ClientException. */
int taskdef_check_fargate(const json_t *td, struct wh_err *err);
/* All RegisterTaskDefinition rules (tags excepted: see ecs/tagging.h). 0 or -1. */
int taskdef_validate(const json_t *req, struct wh_err *err);

/* Internal: what the container checks (taskdef_containers.c) need to know of the task. */
struct td_view {
    const json_t *req;
    const json_t *containers; /* the containerDefinitions array */
    const char *network_mode; /* as given, or "bridge" */
    bool fargate;             /* requiresCompatibilities holds FARGATE */
    int64_t cpu, memory;      /* task level, -1 when not set */
};
/* Each container's own rules, then the rules across containers (names, dependsOn, links,
 * volumesFrom, mount points, host ports, totals against the task size). */
int taskdef_check_containers(const struct td_view *v, struct wh_err *err);
/* portMappings of container c against the network mode (taskdef_ports.c). */
int taskdef_check_ports(const struct td_view *v, const json_t *c, struct wh_err *err);
/* Host ports and port mapping names used twice across the task (taskdef_ports.c). */
int taskdef_check_port_conflicts(const struct td_view *v, struct wh_err *err);
/* The container named name, or NULL. */
const json_t *taskdef_container_by_name(const json_t *containers, const char *name);
