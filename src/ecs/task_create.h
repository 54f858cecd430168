/* RunTask and StartTask: one path that checks the request, places the tasks (sched_place over a
 * snapshot of the candidate instances), writes them with their instances' version bumps in one
 * transaction, wakes the agents' polls and answers {tasks, failures}. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "aws/api.h"

/* start: StartTask (the containerInstances named, EC2, one task each) instead of RunTask. */
int ecs_tasks_create(struct api_ctx *ctx, const json_t *in, bool start, json_t **ret_out,
                     struct wh_err *err);
