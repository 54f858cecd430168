/* One task on this host: its record (state.h) guarded by a mutex, and the thread that runs it
 * from PENDING to STOPPED:
 *
 *   provision  pull every container's image (once per image), make the task's cgroup, network
 *              namespace and volumes, mount each container's rootfs, build its OCI spec and
 *              create it under wharf-shim (created, not started)
 *   run        start containers in dependsOn order (START, COMPLETE, SUCCESS, HEALTHY); the
 *              task is RUNNING once every essential container has started; watch exits
 *              (pidfd of each container's process), run health checks, and stop when wharfd
 *              wants it stopped or an essential container exits: the stop signal, then
 *              SIGKILL after stopTimeout (30 s by default, as ECS)
 *   cleanup    after STOPPED: delete the containers, unmount the rootfs, remove the task's
 *              cgroup, network namespace and volumes; container logs are kept
 *
 * Every change is saved to the record and handed to the reporter. The thread sleeps in poll()
 * on an eventfd and the containers' pidfds; it never polls on a timer except for deadlines. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "agent/state.h"

struct agent;
struct health;

/* Runtime facts about a container that are not persisted (found again after a restart). */
struct ctr_live {
    pid_t pid;
    int pidfd;          /* -1 when not watching */
    int stop_signal;    /* the image's StopSignal (SIGTERM by default) */
    bool term_sent;
    double kill_at;     /* monotonic: SIGKILL deadline once stopping; 0: none */
    double wait_until;  /* monotonic: dependsOn startTimeout deadline; 0: none */
    struct health *hc;  /* health-check thread, or NULL */
    char *rootfs_dir;   /* the container's directory (rootfs.h CDIR) */
};

struct task {
    struct agent *agent;
    pthread_mutex_t mu;     /* guards rec and the flags below */
    struct task_rec *rec;
    struct ctr_live *live;  /* rec->n entries; runner thread only */
    int wake_fd;            /* eventfd: desired state changed, health changed */
    pthread_t thread;
    bool thread_started;
    bool recovered;         /* built from a record found at start-up */
    bool finished;          /* the runner thread is done (STOPPED, cleaned) */
    bool listed;            /* in the last poll answer */
    bool cpu_limited;       /* the task cgroup's CPU quota is written (runner thread only) */
    int refs;
    bool dirty;             /* rec changed since the last save (t->mu) */
    /* reporter bookkeeping (guarded by the reporter's lock) */
    bool rq_queued, rq_busy, rq_dirty;
    double rq_next;         /* monotonic time before which not to retry */
    int rq_failures;
    struct task *rq_next_task;
};

/* A task for rec (takes ownership); one reference for the caller. */
struct task *task_new(struct agent *a, struct task_rec *rec, bool recovered);
void task_ref(struct task *t);
void task_unref(struct task *t);
/* Start the runner thread. */
int task_start(struct task *t);
/* Wake the runner (desired state changed). */
void task_wake(struct task *t);
/* Desired STOPPED (from wharfd, or the task is no longer listed). */
void task_request_stop(struct task *t);
/* Join the runner thread once finished (or at agent shutdown: the runner leaves its
 * containers running and returns when agent->stopping is set and it is woken). */
void task_join(struct task *t);

/* t->rec changed (t->mu held): kick the reporter; the record is saved by the runner at the
 * end of its current step (task_save_locked), so a burst of changes costs one write. */
void task_changed_locked(struct task *t);
/* Write the record now if it changed (t->mu held); logs a failed save. */
void task_save_locked(struct task *t);

/* The runtime id of a task's container: "<task id>-<name>", or "<task id>-<hash>" when the
 * name would make it longer than runc allows. New string. */
char *task_runtime_id(const char *task_id, const char *name);
