/* Container instances in the store: one row per registration (re-registration keeps the row),
 * scoped by account and region. Capacity EC2 rows belong to a user cluster; FARGATE rows are
 * wharf-managed capacity serving every cluster of their account and region (see
 * docs/agent-protocol.md). Return values follow store.h. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct store_instance {
    char *account;
    char *region;
    char *cluster_arn;
    char *arn;
    char *ec2_instance_id;
    char *capacity;      /* "EC2" | "FARGATE" */
    char *status;        /* "ACTIVE" | "DRAINING" | "INACTIVE" */
    char *status_reason; /* may be NULL */
    char *agent_version; /* may be NULL */
    char *version_info;  /* JSON text: ECS VersionInfo */
    int64_t total_cpu, total_memory;
    char *ports_tcp, *ports_udp; /* JSON text: reserved host ports, ["22", "2376"] */
    double registered_at;
    double last_poll; /* 0: never polled */
    int64_t desired_version;
    char *subnet_awsvpc, *subnet_bridge; /* task subnets (CIDR), NULL until carved */
};

void store_instance_clear(struct store_instance *in);
#define cleanup_instance __attribute__((cleanup(store_instance_clear)))
void store_instances_free(struct store_instance *v, size_t n);

/* The instance with this ARN in account/region; -ENOENT. */
int store_instance_get(struct store *st, const char *account, const char *region, const char *arn,
                       struct store_instance *ret_inst, struct wh_err *err);
/* Insert in, or (same ARN) replace its registration: cluster, instance id, capacity, status,
 * reason, agent, resources, last_poll. registered_at and desired_version of an existing row
 * are kept. */
int store_instance_put(struct store *st, const struct store_instance *in, struct wh_err *err);
/* Set status (and status_reason, NULL clears it) and bump desired_version, so the agent's
 * poll sees the change; -ENOENT when there is no such row. */
int store_instance_set_status(struct store *st, const char *arn, const char *status,
                              const char *reason, struct wh_err *err);
/* Record an agent poll at time now. */
int store_instance_touch(struct store *st, const char *arn, double now, struct wh_err *err);
/* desired_version += 1 (a task placed on the instance changed its desired state). */
int store_instance_bump(struct store *st, const char *arn, struct wh_err *err);

struct store_instance_query {
    const char *cluster_arn; /* this cluster's instances, or NULL: the whole account/region */
    const char *capacity;    /* "EC2" | "FARGATE"; NULL for both (only with cluster_arn) */
    bool include_inactive;   /* else ACTIVE and DRAINING only */
    const char *status;      /* exact status, or NULL */
    const char *after;       /* ARN to resume after, or NULL */
    unsigned limit;          /* 0: no limit */
};
/* The task subnets held by every instance that is not INACTIVE, except the one with ARN
 * except (NULL: none), across all accounts and regions: hosts share one network
 * (NULL-terminated heap array of CIDR texts, two per instance). */
int store_instances_subnets(struct store *st, const char *except, char ***ret_v, size_t *ret_n,
                            struct wh_err *err);
void store_subnets_free(char **v);

/* Instances matching q, in ARN order. */
int store_instances_list(struct store *st, const char *account, const char *region,
                         const struct store_instance_query *q, struct store_instance **ret_v,
                         size_t *ret_n, struct wh_err *err);
