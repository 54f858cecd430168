/* The agent's table of tasks and how a poll answer changes it. wharfd's answer is the whole
 * desired state of the instance, so reconciling is a comparison:
 *   - a task listed and unknown here gets a record and a runner (unless already STOPPED);
 *   - a task listed with desiredStatus STOPPED, or known here and no longer listed, is stopped;
 *   - a task that has finished (STOPPED, cleaned up, every report acknowledged) and is no
 *     longer listed is forgotten: its record is deleted.
 * At start-up the records in DATA/state are loaded first and their runners find their
 * containers again (task_runner.h); runtime containers and task directories that no record
 * knows are removed. */
#pragma once
#include <jansson.h>
#include <stddef.h>

#include "core/err.h"

struct agent;
struct reconciler;

int reconciler_new(struct agent *a, struct reconciler **ret);
/* Load the records, start their runners, remove leftovers no record knows. */
int reconciler_recover(struct reconciler *r, struct wh_err *err);
/* Apply a poll answer's "tasks". */
void reconciler_apply(struct reconciler *r, const json_t *tasks);
/* Forget finished tasks that are no longer listed. */
void reconciler_sweep(struct reconciler *r);
/* The image manifest digests that tasks here use, finished ones aside (new NULL-terminated
 * array). */
char **reconciler_images_in_use(struct reconciler *r, size_t *ret_n);
/* Counts for logs: tasks known, tasks whose runner is still going. */
void reconciler_counts(struct reconciler *r, size_t *ret_tasks, size_t *ret_active);
/* At shutdown (agent->stopping set): wake every runner, wait for them, free everything.
 * Containers keep running. */
void reconciler_free(struct reconciler *r);
