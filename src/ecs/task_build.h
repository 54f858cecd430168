/* A new task row from a launch request: ARNs, containers from the definition, what it holds on
 * its instance, the request's overrides and network configuration. */
#pragma once
#include <jansson.h>

#include "ecs/task_rules.h"
#include "store/tasks.h"

struct task_build {
    const char *account, *region;
    const char *cluster_arn, *cluster_name;
    const char *task_definition_arn, *family;
    const json_t *body;      /* the stored task definition body */
    const json_t *request;   /* RunTask / StartTask input */
    const struct task_needs *needs;
    const char *launch_type; /* EC2 | FARGATE */
    const char *capacity_provider; /* NULL when none */
    const char *group;
    double now;
};

/* Fill *ret (PROVISIONING, desired RUNNING, containers PENDING) for a task placed on
 * instance_arn. */
void task_build_row(const struct task_build *b, const char *instance_arn, struct store_task *ret);
