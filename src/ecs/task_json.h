/* The ECS Task shape, shared by RunTask, StartTask, StopTask and DescribeTasks (and the agent's
 * poll, which adds its own members). */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"
#include "store/tasks.h"

struct store;

/* t as ECS returns it: members in botocore's order, timestamps only once reached, no
 * containerInstanceArn for FARGATE tasks, availabilityZone from the instance's
 * ecs.availability-zone attribute, tags when asked. */
int ecs_task_to_json(struct store *st, const struct store_task *t, bool with_tags,
                     json_t **ret_json, struct wh_err *err);
/* One container of t as ECS's Container shape. */
json_t *ecs_task_container_json(const struct store_task *t, const struct store_task_container *c);
