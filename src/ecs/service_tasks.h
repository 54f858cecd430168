/* What a service's task does to its deployment, as its agent reports it (called inside the
 * report's transaction by task_state.c): a task that stops by itself counts as a failure of
 * its deployment (failedTasks and the circuit breaker's count), a task that turns healthy
 * resets the circuit breaker's count, as ECS's does by default. */
#pragma once
#include <stdbool.h>

#include "core/err.h"
#include "store/tasks.h"

struct store;

/* RUNNING and, when an essential container has a health check, HEALTHY. */
bool service_task_healthy(const struct store_task *t);

/* t after the report; was_running_desired: its desired status was RUNNING before it;
 * was_healthy: service_task_healthy before it. A task of no service changes nothing. */
int service_task_reported(struct store *st, const struct store_task *t, bool was_running_desired,
                          bool was_healthy, double now, struct wh_err *err);
