/* The agent's own record of each task it runs, DATA/tasks/<task id>.json, rewritten atomically
 * on every change: what wharfd asked for (the task definition, overrides), what the agent did
 * (the runtime id of every container, exit codes, health) and what wharfd has acknowledged
 * (the rep_* fields). After a restart (or kill -9) the records, with the runtime's own list of
 * containers, are how the agent finds its containers again and knows what it still has to
 * report.
 *
 * The JSON conversions are pure; state_save/state_load_all touch the disk. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

/* A container's life as the agent sees it; reported as PENDING / RUNNING / STOPPED. */
enum ctr_phase { CTR_NONE, CTR_CREATED, CTR_RUNNING, CTR_STOPPED };
/* healthStatus: NONE when the container has no healthCheck (reported as nothing). */
enum ctr_health { HEALTH_NONE, HEALTH_UNKNOWN, HEALTH_HEALTHY, HEALTH_UNHEALTHY };
/* A task's lastStatus as the agent reports it. */
enum task_phase { TASK_NONE, TASK_PENDING, TASK_RUNNING, TASK_STOPPED };

struct ctr_rec {
    char *name;
    char *runtime_id;   /* the runtime's container id, once created */
    char *image_digest; /* what the image reference resolved to (ECS's imageDigest) */
    char *image_id;     /* the platform manifest's digest: what image GC keeps */
    int stop_signal;    /* the image's StopSignal; 0: SIGTERM */
    enum ctr_phase phase;
    bool has_exit;
    int exit_code;
    char *reason;       /* "OutOfMemoryError: …", "CannotPullContainerError: …", … */
    enum ctr_health health;
    double started_at, finished_at; /* wall clock, 0: not yet */
    /* What wharfd acknowledged last. */
    enum ctr_phase rep_phase;
    bool rep_has_exit;
    enum ctr_health rep_health;
    bool rep_reason;    /* the reason was reported */
};

struct task_rec {
    char *arn;
    char *id;           /* the ARN's last component */
    char *cluster;      /* as wharfd named it in the poll answer (or the agent's cluster) */
    json_t *desired;    /* the poll answer's entry: taskDefinition, overrides, cpu, memory, … */
    bool desired_stop;  /* desiredStatus STOPPED (or no longer listed) */
    enum task_phase phase;
    double pull_started_at, pull_stopped_at, execution_stopped_at;
    double stop_requested_at; /* when the agent started stopping the task; 0: not yet */
    char *stop_code;
    char *stopped_reason;
    bool cleaned;       /* rootfs unmounted, containers deleted, cgroups removed */
    json_t *network;    /* what to report of the task's network, or NULL (net/task_net.h) */
    enum task_phase rep_phase;
    struct ctr_rec *c;  /* in the task definition's order */
    size_t n;
};

const char *task_phase_name(enum task_phase p);   /* "PENDING", …; NULL for NONE */
const char *ctr_phase_name(enum ctr_phase p);     /* NONE and CREATED are "PENDING" */
const char *ctr_health_name(enum ctr_health h);   /* NULL for NONE */

/* A new record for a desired-task entry (takes a reference to it): one container record per
 * containerDefinitions entry, health UNKNOWN for those with a healthCheck. -1 with err filled
 * when the entry has no taskArn or containers. */
int task_rec_new(json_t *desired, const char *default_cluster, struct task_rec **ret,
                 struct wh_err *err);
void task_rec_free(struct task_rec *t);
struct ctr_rec *task_rec_ctr(struct task_rec *t, const char *name);
/* The container's definition in t->desired (NULL if missing). */
const json_t *task_rec_ctr_def(const struct task_rec *t, size_t i);

json_t *task_rec_to_json(const struct task_rec *t);
int task_rec_from_json(const json_t *j, struct task_rec **ret, struct wh_err *err);

/* DATA/tasks/<id>.json, atomically (temp file, fsync, rename, fsync dir). 0 or -errno. */
int state_save(const char *dir, const struct task_rec *t);
int state_remove(const char *dir, const char *id);
/* Every record in dir (damaged ones are logged and skipped). */
int state_load_all(const char *dir, struct task_rec ***ret, size_t *ret_n, struct wh_err *err);
