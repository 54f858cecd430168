/* How a task's state moves: the agent's reports (SubmitTaskStateChange,
 * SubmitContainerStateChange) and StopTask, as pure functions over a store_task. Reports are
 * idempotent and monotonic: a status never moves backwards, a timestamp once set stays, and a
 * report older than what is known changes nothing, so an agent may re-send freely. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"
#include "store/tasks.h"

/* Apply one container report ({containerName, status, runtimeId, imageDigest, exitCode, reason,
 * networkBindings, healthStatus}) to the container of t it names; the host ports of its
 * networkBindings are added to the ports t holds. Returns 1 when something changed, 0 when
 * not, -1 (InvalidParameterException) when the container or a status is unknown. field names
 * the report in messages ("containers[0]"). Does not bump the version. */
int task_merge_container(struct store_task *t, const json_t *report, const char *field,
                         struct wh_err *err);
/* Apply a task report ({status, reason, stopCode, pullStartedAt, pullStoppedAt,
 * executionStoppedAt, containers[], attachments[]}) at time now: containers first, then the
 * attachments' details (an awsvpc task's address and MAC, which also become every container's
 * networkInterfaces), then the task status with what reaching it implies (RUNNING: startedAt,
 * connectivity; STOPPED: stoppedAt, executionStoppedAt, desiredStatus, stopCode,
 * stoppedReason, every container STOPPED), then health. Returns 1 when t changed (version
 * bumped), 0 when not, -1. */
int task_merge_report(struct store_task *t, const json_t *report, double now,
                      struct wh_err *err);
/* After task_merge_container calls outside a task report: derived fields and the version.
 * changed is what those calls returned (any 1). */
void task_merge_finish(struct store_task *t, bool changed);

/* StopTask: desiredStatus STOPPED, stoppingAt, stopCode and stoppedReason unless already
 * stopping. Returns whether t changed (version bumped). */
bool task_mark_stopping(struct store_task *t, const char *stop_code, const char *reason,
                        double now);
/* A task its agent will never run (never picked up, agent gone): STOPPED at once. */
void task_mark_stopped(struct store_task *t, double now);
