/* What a service's task does to its deployment, as its agent reports it (called inside the
 * report's transaction by task_state.c): a task that stops by itself counts as a failure of
 * its deployment (failedTasks and the circuit breaker's count). The count goes back to zero
 * when a task has settled (the controller sees that, service_reconcile.c). */
#pragma once
#include <stdbool.h>

#include "core/err.h"
#include "store/tasks.h"

struct store;

/* t after the report; was_running_desired: its desired status was RUNNING before it. A task of
 * no service changes nothing. */
int service_task_reported(struct store *st, const struct store_task *t, bool was_running_desired,
                          double now, struct wh_err *err);
