/* ECS services in the store: the service row, its deployments and its events, scoped by
 * account and region (the ARNs carry both). JSON documents (a service's and a deployment's
 * settings) are text written and read by src/ecs/. Return values follow store.h. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct store_service {
    char *account;
    char *region;
    char *cluster_arn;
    char *name;
    char *arn;
    char *status;              /* ACTIVE | DRAINING | INACTIVE */
    char *scheduling_strategy; /* REPLICA | DAEMON */
    char *launch_class;        /* EC2 | FARGATE */
    int64_t desired_count;
    char *task_definition; /* the PRIMARY deployment's ARN */
    char *config;          /* JSON text: the service-level settings */
    char *client_token;    /* may be NULL */
    char *namespace_;      /* may be NULL */
    double created_at, updated_at;
    char *created_by; /* may be NULL */
    bool steady;      /* the controller found it steady on its last pass */
    int64_t version;  /* moves with every write */
};

void store_service_clear(struct store_service *s);
#define cleanup_service __attribute__((cleanup(store_service_clear)))

struct store_deployment {
    char *id; /* ecs-svc/NNNNNNNNNNNNNNNNNNN */
    char *service_arn;
    int64_t seq;
    char *status; /* PRIMARY | ACTIVE | INACTIVE */
    char *task_definition;
    char *config; /* JSON text: launch type, network configuration, ... of its tasks */
    int64_t desired_count;
    char *rollout_state, *rollout_state_reason; /* may be NULL */
    int64_t failed_tasks; /* tasks that failed in all */
    int64_t cb_failures;  /* the circuit breaker's count: since the last healthy task */
    double last_failure_at;
    double created_at, updated_at;
};

void store_deployment_clear(struct store_deployment *d);
void store_deployments_free(struct store_deployment *v, size_t n);

struct store_service_event {
    char *id;
    double created_at;
    char *message;
};

void store_service_events_free(struct store_service_event *v, size_t n);

/* ---- services ---- */

/* The service called name in cluster_arn, any status; -ENOENT. */
int store_service_get(struct store *st, const char *cluster_arn, const char *name,
                      struct store_service *ret, struct wh_err *err);
int store_service_get_arn(struct store *st, const char *arn, struct store_service *ret,
                          struct wh_err *err);
/* Insert s (version 1); -EEXIST when the cluster has a service of that name. */
int store_service_insert(struct store *st, const struct store_service *s, struct wh_err *err);
/* Write the mutable columns of s (status, desired count, task definition, config, launch
 * class, namespace, updated_at, steady) and move its version; -ENOENT. */
int store_service_update(struct store *st, const struct store_service *s, struct wh_err *err);
/* Remove a service row with its deployments and events (an INACTIVE one whose name is
 * taken again). */
int store_service_delete(struct store *st, const char *arn, struct wh_err *err);

struct store_service_query {
    const char *cluster_arn;         /* required */
    const char *launch_class;        /* EC2 | FARGATE or NULL */
    const char *scheduling_strategy; /* REPLICA | DAEMON or NULL */
    const char *after;               /* ARN to resume after, or NULL */
    unsigned limit;
};
/* ARNs of the cluster's ACTIVE and DRAINING services matching q, in ARN order
 * (NULL-terminated heap array; store_task_arns_free-compatible). */
int store_services_list(struct store *st, const struct store_service_query *q, char ***ret_arns,
                        size_t *ret_n, struct wh_err *err);
/* ARNs of account/region's ACTIVE and DRAINING services in namespace, in ARN order. */
int store_services_by_namespace(struct store *st, const char *account, const char *region,
                                const char *namespace_, const char *after, unsigned limit,
                                char ***ret_arns, size_t *ret_n, struct wh_err *err);
/* ARNs of every service that is not INACTIVE, of one cluster or (NULL) of all. */
int store_services_live(struct store *st, const char *cluster_arn, char ***ret_arns,
                        size_t *ret_n, struct wh_err *err);
void store_service_arns_free(char **arns);

/* ---- deployments ---- */

/* A service's deployments, newest first; INACTIVE ones only when asked. */
int store_deployments_of(struct store *st, const char *service_arn, bool with_inactive,
                         struct store_deployment **ret_v, size_t *ret_n, struct wh_err *err);
int store_deployment_get(struct store *st, const char *id, struct store_deployment *ret,
                         struct wh_err *err);
/* Insert d; its seq is one more than the service's last. */
int store_deployment_insert(struct store *st, struct store_deployment *d, struct wh_err *err);
/* Write status, desired count, rollout state and reason, counters and updated_at. */
int store_deployment_update(struct store *st, const struct store_deployment *d,
                            struct wh_err *err);
/* Keep the newest `keep` INACTIVE deployments of a service, drop older ones. */
int store_deployments_prune(struct store *st, const char *service_arn, unsigned keep,
                            struct wh_err *err);

/* ---- events ---- */

/* Add an event; only the newest `keep` of the service are kept. */
int store_service_event_add(struct store *st, const char *service_arn, const char *id,
                            double created_at, const char *message, unsigned keep,
                            struct wh_err *err);
/* The newest `limit` events, newest first. */
int store_service_events(struct store *st, const char *service_arn, unsigned limit,
                         struct store_service_event **ret_v, size_t *ret_n, struct wh_err *err);

/* ---- task counts ---- */

struct store_service_task_count {
    char *started_by; /* the deployment id, or NULL */
    int64_t running, pending, live; /* RUNNING; PROVISIONING..ACTIVATING; not STOPPED */
};
/* A service's tasks that are not STOPPED, counted per deployment (startedBy). */
int store_service_task_counts(struct store *st, const char *cluster_arn, const char *name,
                              struct store_service_task_count **ret_v, size_t *ret_n,
                              struct wh_err *err);
void store_service_task_counts_free(struct store_service_task_count *v, size_t n);
