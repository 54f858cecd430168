/* Container ordering within a task (dependsOn) and when a task counts as RUNNING. Pure
 * functions over a task record. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "agent/state.h"

enum dep_verdict { DEP_WAIT, DEP_READY, DEP_NEVER };

/* May container i start now? START: the dependency has started; COMPLETE: it has exited;
 * SUCCESS: it has exited 0; HEALTHY: its health check passed. NEVER when a condition cannot
 * come true any more (the dependency exited non-zero for SUCCESS, exited or went UNHEALTHY
 * for HEALTHY, never started, or is not in the task); *ret_why (new string) says which. */
enum dep_verdict deps_check(const struct task_rec *t, size_t i, char **ret_why);

/* True once every essential container has started (ECS's RUNNING). */
bool deps_essentials_started(const struct task_rec *t);
bool deps_essential(const struct task_rec *t, size_t i);
