/* Reporting to wharfd: SubmitTaskStateChange when a task's status moves (with all its
 * containers), SubmitContainerStateChange when only a container changed (an exit while the task
 * goes on, a health status). What to send is computed from the task record's current values
 * against what wharfd acknowledged (the rep_* fields), so a report lost in transit, a refused
 * one or an agent restart loses nothing: the difference is simply sent again. Reports are
 * idempotent and monotonic on the server.
 *
 * A few worker threads send; a task is sent by one worker at a time; failures are retried with
 * backoff (0.5 s doubling to 30 s) until acknowledged. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "agent/state.h"

struct agent;
struct task;
struct reporter;

/* What a report carried, to apply once it is acknowledged. */
struct report_snap {
    bool task_level;        /* SubmitTaskStateChange (else one container) */
    enum task_phase phase;
    size_t ctr;             /* the container, for a container-level report */
    struct report_ctr {
        enum ctr_phase phase;
        bool has_exit;
        enum ctr_health health;
        bool reason;
    } *ctrs;                /* task-level: every container; container-level: [0] */
    size_t n;
};

/* The next report for t, or 0 when wharfd knows everything: 1 with the target (an
 * "AmazonEC2ContainerServiceV20141113.*" action name), the request and the snapshot. Pure. */
int report_next(const struct task_rec *t, const char **ret_target, json_t **ret_req,
                struct report_snap *ret_snap);
/* Record an acknowledged report in t's rep_* fields. Pure. */
void report_acked(struct task_rec *t, const struct report_snap *s);
void report_snap_free(struct report_snap *s);

int reporter_start(struct agent *a, int workers, struct reporter **ret);
/* Leave: workers finish the call in flight and exit (unsent reports stay in the records). */
void reporter_stop(struct reporter *r);
/* t changed: send what wharfd does not know yet. Takes a reference while queued. */
void reporter_kick(struct reporter *r, struct task *t);
/* True when t has nothing left to report (r may be NULL). */
bool reporter_settled(struct reporter *r, struct task *t);
