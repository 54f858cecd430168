/* The task's parent cgroup (/wharf/TASK_ID), where task-level cpu and memory limits live; the
 * containers' own cgroups (/wharf/TASK_ID/NAME) are made by the runtime below it. cgroup v1
 * (each controller its own hierarchy, as on these hosts) and v2 (unified only). */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "core/err.h"

/* Where the hierarchies are mounted; tests may point it elsewhere. */
#define CGROUP_ROOT "/sys/fs/cgroup"
#define CGROUP_CFS_PERIOD_US 100000

/* Create /wharf/TASK_ID with a memory limit of memory_mib (0: none). Idempotent: an existing
 * cgroup gets the limit written again. */
int cgroup_task_create(const char *task_id, int memory_mib, struct wh_err *err);
/* Give /wharf/TASK_ID a CFS quota of cpu_units/1024 CPUs (0: none). Written once the task's
 * containers are created and before any starts: runc init's own set-up in each container
 * (≈ 100 ms of CPU) is the runtime's work, and under a 0.25-CPU quota it took four times as
 * long; the task's programs only run after the start, always under the quota. Idempotent. */
int cgroup_task_limit_cpu(const char *task_id, int cpu_units, struct wh_err *err);
/* Remove /wharf/TASK_ID (and any empty container cgroups left below it) from every hierarchy.
 * Missing is fine; a cgroup that still has processes is an error. */
int cgroup_task_remove(const char *task_id, struct wh_err *err);
/* Move process pid into the cgroup at path ("/wharf/shim", created as needed) in every
 * hierarchy, so that it no longer belongs to its parent's cgroup (a service manager stopping
 * the agent kills its cgroup). */
int cgroup_move(const char *path, pid_t pid, struct wh_err *err);
/* Whether the kernel OOM-killed a process of the cgroup at cgroups_path ("/wharf/T/NAME").
 * 0 with *ret false when the cgroup is gone. */
int cgroup_oom_killed(const char *cgroups_path, bool *ret_killed);

/* The CFS quota (µs per CGROUP_CFS_PERIOD_US) for cpu_units; pure. */
long cgroup_cfs_quota(int cpu_units);
