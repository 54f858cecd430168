/* Deployment arithmetic: what a service's controller does next, as pure functions of a
 * snapshot of the service's tasks, so every rule is unit-tested without a daemon
 * (tests/unit/test-deploy.c). The caller (src/ecs/service_controller.c) loads the snapshot,
 * places the tasks a plan starts and writes the plan in one transaction.
 *
 * The rules, as ECS's rolling update (deployment controller ECS) applies them:
 *  - lower = ceil(desired × minimumHealthyPercent / 100) tasks must stay healthy;
 *    upper = floor(desired × maximumPercent / 100) tasks may be RUNNING or PENDING at most;
 *  - a task is healthy when RUNNING and, if an essential container has a health check, its
 *    health is HEALTHY; a task reported UNHEALTHY once the grace period is over is stopped and
 *    replaced whatever the bounds say (it is not healthy, so the lower bound does not move);
 *  - tasks of older deployments and tasks on DRAINING instances are replaced: their PENDING
 *    ones stop at once, their RUNNING ones only while more than `lower` healthy tasks remain;
 *    replacements for the PRIMARY deployment start while fewer than `upper` tasks are alive;
 *  - the PRIMARY scales in to desired (PENDING tasks first, then those not healthy);
 *  - steady: one deployment, desired tasks all RUNNING, healthy and settled (healthy for
 *    DEPLOY_SETTLE_SECONDS: a container that exits right after it starts never makes a
 *    deployment COMPLETED), nothing else alive. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* One task of the service whose desired status is RUNNING. */
struct deploy_task {
    size_t deployment; /* index into the service's deployments: 0 is the PRIMARY */
    size_t instance;   /* DAEMON: index into the instances given; REPLICA: unused */
    bool running;      /* lastStatus RUNNING */
    bool healthy;      /* counts towards minimumHealthyPercent (deploy_task_healthy) */
    bool settled;      /* healthy for long enough to call the service steady (deploy_task_settled) */
    bool unhealthy;    /* UNHEALTHY past the grace period (deploy_task_unhealthy): replace */
    bool draining;     /* on a DRAINING (or vanished) instance: replace */
    double created_at; /* among equals, the newest stops first */
};

struct deploy_input {
    unsigned desired;          /* REPLICA: desiredCount; DAEMON: computed from the instances */
    unsigned min_healthy_pct;  /* 0..100 */
    unsigned max_pct;          /* >= 100 (REPLICA) */
    const struct deploy_task *tasks;
    size_t ntasks;
    size_t ndeployments;       /* deployments with tasks not yet STOPPED, PRIMARY included */
    unsigned nstopping;        /* tasks desired STOPPED that have not stopped yet */
    bool launch_blocked;       /* start nothing (failed deployment, back-off after failures) */
};

enum deploy_stop_why {
    DEPLOY_STOP_UNHEALTHY,  /* failed its health checks */
    DEPLOY_STOP_DRAINING,   /* its instance is draining */
    DEPLOY_STOP_REPLACED,   /* an older deployment's task, replaced by the PRIMARY's */
    DEPLOY_STOP_SCALE_IN,   /* more tasks than desired */
};

struct deploy_stop {
    size_t task; /* index into input.tasks */
    enum deploy_stop_why why;
};

struct deploy_plan {
    unsigned lower, upper;   /* the bounds applied */
    unsigned start;          /* REPLICA: tasks to start in the PRIMARY deployment */
    size_t *start_on;        /* DAEMON: instances to start one PRIMARY task on */
    size_t nstart_on;
    struct deploy_stop *stops;
    size_t nstops;
    bool steady;
};

/* The plan for a REPLICA service. ret_plan is released with deploy_plan_free. */
void deploy_plan_replica(const struct deploy_input *in, struct deploy_plan *ret_plan);

/* One container instance of the cluster as a DAEMON service sees it. */
struct deploy_daemon_instance {
    bool eligible; /* ACTIVE and meets the constraints: should run one task */
    bool hold;     /* DRAINING but other tasks still run there: daemon tasks stop last */
};

/* The plan for a DAEMON service: one PRIMARY task per eligible instance; in->desired is the
 * number of eligible instances (deploy_daemon_desired). Tasks on instances that are not
 * eligible stop (unless held); an older deployment's task is replaced in place: it stops (within
 * the lower bound) and the PRIMARY's starts there once it is gone. */
void deploy_plan_daemon(const struct deploy_input *in, const struct deploy_daemon_instance *insts,
                        size_t ninsts, struct deploy_plan *ret_plan);
unsigned deploy_daemon_desired(const struct deploy_daemon_instance *insts, size_t ninsts);

void deploy_plan_free(struct deploy_plan *p);

/* ---- task health ---- */

/* Healthy for the lower bound: RUNNING and, when it has essential health checks, HEALTHY. */
bool deploy_task_healthy(bool running, const char *health_status, bool has_health_check);
/* Healthy and started at least DEPLOY_SETTLE_SECONDS ago. */
#define DEPLOY_SETTLE_SECONDS 3.0
bool deploy_task_settled(bool healthy, double started_at, double now);
/* To be replaced for its health: RUNNING, UNHEALTHY and started at least grace seconds ago. */
bool deploy_task_unhealthy(bool running, const char *health_status, double started_at,
                           double grace_seconds, double now);

/* ---- the circuit breaker, the rollout ---- */

/* ECS's failure threshold: 0.5 × desired count, rounded up, at least DEPLOY_CB_MIN and at most
 * DEPLOY_CB_MAX. */
#define DEPLOY_CB_MIN 3
#define DEPLOY_CB_MAX 200
unsigned deploy_cb_threshold(unsigned desired);

enum deploy_verdict {
    DEPLOY_CARRY_ON,  /* still IN_PROGRESS */
    DEPLOY_COMPLETED, /* steady: rolloutState COMPLETED */
    DEPLOY_FAILED,    /* the circuit breaker tripped: rolloutState FAILED */
};

/* What becomes of the PRIMARY deployment's rollout (IN_PROGRESS) after a plan: FAILED when the
 * circuit breaker is on and the failures since a task last settled reached the threshold;
 * COMPLETED when the plan found the service steady. (The count goes back to zero when a task
 * settles after the last failure, as ECS resets it on a healthy task.) */
enum deploy_verdict deploy_rollout(bool cb_enabled, unsigned cb_failures, unsigned desired,
                                   bool steady);

/* Seconds to wait before launching again after `failures` consecutive task failures (the
 * circuit breaker's count): 0 with none, then 0.25 s per failure, at most 30 s. */
double deploy_launch_delay(unsigned failures);
