/* Pure rules of ECS services: names, deployment configuration defaults and bounds, placement
 * and network checks, what an UpdateService changes, deployment ids and the wording of
 * service events. No store and no request context: tests/unit/test-ecs-services.c reaches
 * them directly. Failures are InvalidParameterException naming the member and the value. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "sched/place.h"

#define SERVICE_EVENTS_KEPT 100 /* events a service keeps, newest first */
#define SERVICE_DEPLOYMENTS_KEPT 10 /* INACTIVE deployments kept for rollbacks */
#define SERVICE_MAX_CONSTRAINTS 10
#define SERVICE_MAX_STRATEGIES 5

/* serviceName: 1..255 letters, digits, hyphens and underscores. */
int service_name_check(const char *name, struct wh_err *err);

/* The deploymentConfiguration in force: the request's members (given, may be NULL) over the
 * previous configuration (prev, NULL at creation) over the defaults (REPLICA: maximumPercent
 * 200, minimumHealthyPercent 100; DAEMON: 100 and 0; circuit breaker off). Checks:
 * minimumHealthyPercent 0..100, maximumPercent >= 100 and >= minimumHealthyPercent (DAEMON:
 * exactly 100), rolling deployments only. New reference in *ret. */
int service_deployment_config(const json_t *given, const json_t *prev, bool daemon,
                              json_t **ret, struct wh_err *err);

/* placementConstraints / placementStrategy of a service: at most 10 and 5, each valid;
 * none with FARGATE; no strategy for DAEMON. */
int service_placement_check(const json_t *constraints, const json_t *strategies, bool fargate,
                            bool daemon, struct wh_err *err);

/* What the scheduler applies to a service's tasks: its constraints and the task definition's,
 * its strategies or by default (REPLICA) spread over attribute:ecs.availability-zone then
 * instanceId, as ECS spreads services. */
struct service_placement {
    struct sched_constraint cons[2 * SERVICE_MAX_CONSTRAINTS];
    size_t ncons;
    struct sched_strategy strat[SERVICE_MAX_STRATEGIES + 2];
    size_t nstrat;
};
int service_placement_parse(const json_t *constraints, const json_t *td_constraints,
                            const json_t *strategies, bool daemon, struct service_placement *ret,
                            struct wh_err *err);
void service_placement_clear(struct service_placement *p);

/* networkConfiguration against the definition's networkMode: awsvpc needs one with subnets,
 * other modes take none. */
int service_network_check(const json_t *td_body, const json_t *netcfg, struct wh_err *err);

/* Whether an UpdateService request changes what the tasks run (a new deployment): a
 * different task definition, forceNewDeployment, or new values for the members that shape
 * tasks (network, platform version, capacity providers, load balancers, registries, Service
 * Connect, volumes, VPC Lattice, enableExecuteCommand). current: the PRIMARY deployment's
 * settings merged with the service's. */
bool service_update_deploys(const json_t *in, const char *new_td, const char *current_td,
                            const json_t *current);

/* A new deployment id: "ecs-svc/" and 19 digits. */
void service_deployment_id(char out[28]);

/* ---- events, as ECS words them ---- */

/* "(service web) has started 2 tasks: (task ID) (task ID)." (IDs, not ARNs) */
char *service_msg_started(const char *service, char *const *task_arns, size_t n);
/* "(service web) has stopped 2 running tasks: (task ID) (task ID)." */
char *service_msg_stopped(const char *service, char *const *task_arns, size_t n);
char *service_msg_steady(const char *service);
/* "(service web) was unable to place a task because no container instance met all of its
 * requirements. The closest matching (container-instance ID) has insufficient CPU units
 * available. For more information, see the Troubleshooting section of the Amazon ECS
 * Developer Guide." instance_arn NULL: "Reason: No Container Instances were found in your
 * cluster." */
char *service_msg_unplaced(const char *service, const char *instance_arn, const char *reason);
/* "(service web) (task ID) failed container health checks." */
char *service_msg_unhealthy(const char *service, const char *task_arn);
/* "(service web) (deployment ecs-svc/N) deployment completed." */
char *service_msg_completed(const char *service, const char *deployment);
/* "(service web) (deployment ecs-svc/N) deployment failed: tasks failed to start." */
char *service_msg_failed(const char *service, const char *deployment);
/* "(service web) rolling back to deployment ecs-svc/N." */
char *service_msg_rollback(const char *service, const char *deployment);

/* The last part of an ARN (a task's or an instance's id). */
const char *service_arn_id(const char *arn);
