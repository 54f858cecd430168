/* Tasks and their containers in the store, scoped by account and region (the ARN carries both).
 * Timestamps are epoch seconds, 0 when not reached yet. JSON documents (overrides,
 * attachments, network bindings, ...) are text. Return values follow store.h. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct store_task_container {
    char *name;
    char *container_arn;
    char *image;
    char *image_digest; /* may be NULL */
    char *runtime_id;   /* may be NULL */
    char *last_status;  /* PENDING | RUNNING | STOPPED */
    bool has_exit_code;
    int64_t exit_code;
    char *reason;        /* may be NULL */
    char *health_status; /* HEALTHY | UNHEALTHY | UNKNOWN */
    char *cpu, *memory, *memory_reservation; /* as the definition gives them; may be NULL */
    bool essential;
    bool health_check; /* the definition has a healthCheck */
    char *network_bindings;   /* JSON text array */
    char *network_interfaces; /* JSON text array */
};

struct store_task {
    char *account;
    char *region;
    char *cluster_arn;
    char *arn;
    char *task_definition_arn;
    char *family;
    char *container_instance_arn; /* may be NULL (never placed) */
    char *launch_type;            /* EC2 | FARGATE */
    char *capacity_provider_name; /* may be NULL */
    char *group;
    char *started_by;   /* may be NULL */
    char *service_name; /* may be NULL */
    char *last_status;
    char *desired_status;
    char *cpu, *memory; /* the task-level strings ECS reports; may be NULL */
    int64_t cpu_units, memory_mib; /* what the task holds on its instance */
    char *ports_tcp, *ports_udp;   /* JSON text: fixed host ports held, [80, 443] */
    char *overrides;               /* JSON text TaskOverride */
    char *attachments;             /* JSON text [Attachment] */
    char *network_configuration;   /* JSON text or NULL */
    double created_at, pull_started_at, pull_stopped_at, started_at, stopping_at, stopped_at,
        execution_stopped_at, connectivity_at;
    char *connectivity; /* CONNECTED | DISCONNECTED | NULL */
    char *stop_code, *stopped_reason;
    char *health_status;
    char *platform_version, *platform_family; /* may be NULL */
    bool enable_execute_command;
    int64_t version;
    struct store_task_container *containers;
    size_t ncontainers;
};

void store_task_clear(struct store_task *t);
#define cleanup_task __attribute__((cleanup(store_task_clear)))
void store_tasks_free(struct store_task *v, size_t n);

/* Insert t with its containers (ARNs must be new). */
int store_task_insert(struct store *st, const struct store_task *t, struct wh_err *err);
/* The task with this ARN in account/region, with its containers in definition order;
 * -ENOENT. */
int store_task_get(struct store *st, const char *account, const char *region, const char *arn,
                   struct store_task *ret_task, struct wh_err *err);
/* Write the mutable parts of t (statuses, timestamps, reasons, health, version, attachments,
 * desired state, host ports held) and of each of its containers (matched by position). */
int store_task_update(struct store *st, const struct store_task *t, struct wh_err *err);

/* The tasks on an instance that are not STOPPED, in ARN order; containers only when asked. */
int store_tasks_on_instance(struct store *st, const char *instance_arn, bool with_containers,
                            struct store_task **ret_v, size_t *ret_n, struct wh_err *err);

/* A service's tasks (service_name in cluster_arn) that are not STOPPED, oldest first, without
 * their containers. */
int store_tasks_of_service(struct store *st, const char *cluster_arn, const char *service_name,
                           struct store_task **ret_v, size_t *ret_n, struct wh_err *err);

struct store_task_query {
    const char *cluster_arn;    /* required */
    const char *desired_status; /* required: RUNNING | PENDING | STOPPED */
    /* At most one of these is used through its index; the others filter too. */
    const char *instance_arn, *family, *started_by, *service_name, *launch_type;
    const char *after; /* ARN to resume after, or NULL */
    unsigned limit;
};
/* ARNs of the tasks matching q, in ARN order (NULL-terminated heap array). */
int store_tasks_list(struct store *st, const struct store_task_query *q, char ***ret_arns,
                     size_t *ret_n, struct wh_err *err);
void store_task_arns_free(char **arns);
