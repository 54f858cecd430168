/* Starting and stopping a service's tasks for the controller, inside its transaction: tasks
 * of the PRIMARY deployment are built like RunTask's (task_build.c) with startedBy the
 * deployment id, group "service:NAME" and serviceName set, placed with sched_place over a
 * snapshot of the candidate instances, written with their instances' version bumps; stopped
 * tasks get stopCode ServiceSchedulerInitiated. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "ecs/instance_view.h"
#include "store/services.h"
#include "store/tasks.h"

struct store;

struct service_launch {
    struct store *st;
    double now;
    const struct store_service *s;
    const struct store_deployment *d; /* the PRIMARY */
    const json_t *td_body;            /* its task definition */
    const json_t *dep_config, *svc_config;
    unsigned index; /* tasks the deployment has: the capacity-provider rotation goes on */
    /* out: ARNs of the tasks started, instances whose desired state moved (to wake), and the
     * "unable to place" event when some task found no instance (NULL when all were placed) */
    char **started;
    size_t nstarted;
    char **notify;
    size_t nnotify;
    char *unplaced;
};

void service_launch_clear(struct service_launch *l);

/* Place and write count tasks over the cluster's instances (EC2) or the Fargate capacity. */
int service_launch_replica(struct service_launch *l, unsigned count, struct wh_err *err);
/* One task on each of the instances views[on[i]]. */
int service_launch_daemon(struct service_launch *l, const struct instance_view *views,
                          size_t nviews, const size_t *on, size_t n, struct wh_err *err);

/* Stop t for the service (stopCode ServiceSchedulerInitiated, reason); with no agent to act on
 * it (agent_gone) it is STOPPED at once. Records the instance to wake in l. */
int service_stop_task(struct service_launch *l, struct store_task *t, const char *reason,
                      bool agent_gone, struct wh_err *err);

/* Add instance_arn to l's wake list once. */
void service_launch_notify(struct service_launch *l, const char *instance_arn);
