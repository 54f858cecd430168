/* The lifecycle scheduler: a thread in wharfd that applies every repository's lifecycle policy
 * (every account and region) once per interval, the first pass one interval after start.
 * wharfd's --lifecycle-interval sets the interval (default 60 minutes; 0 turns the thread
 * off). WharfApplyLifecyclePolicy runs one repository's policy on demand. */
#pragma once
#include "core/err.h"

struct store;
struct ecr_lifecycle_sched;

#define ECR_LIFECYCLE_DEFAULT_INTERVAL (60 * 60.0)

/* "90s", "15m", "2h" or a bare number of minutes ("60") into seconds; "0" disables. -1 when
 * malformed, under a second or longer than 7 days. */
int ecr_lifecycle_interval_parse(const char *s, double *ret_seconds);

/* One pass over every repository with a lifecycle policy; *ret_deleted (may be NULL) counts
 * the images expired. A repository that fails is logged and skipped, the pass goes on. */
int ecr_lifecycle_run_all(struct store *st, double now, unsigned *ret_deleted);

/* Start the thread (interval_s > 0). 0 or -errno. */
int ecr_lifecycle_sched_start(struct store *st, double interval_s,
                              struct ecr_lifecycle_sched **ret_sched);
/* Wake the thread, wait for the pass in progress to finish, join. NULL is fine. */
void ecr_lifecycle_sched_stop(struct ecr_lifecycle_sched *s);
