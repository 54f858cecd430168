/* Cluster rows. A cluster is keyed by (account, region, name); its ARN is unique too. The
 * document-like parts (settings, configuration, capacity providers, default strategy, Service
 * Connect defaults) are JSON text written and read by src/ecs/clusters.c. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct store_cluster {
    char *account;
    char *region;
    char *name;
    char *arn;
    char *status;                   /* "ACTIVE" or "INACTIVE" */
    char *settings;                 /* JSON text: [{name, value}] */
    char *configuration;            /* JSON text or NULL */
    char *capacity_providers;       /* JSON text: ["FARGATE", ...] */
    char *default_strategy;         /* JSON text: [{capacityProvider, weight, base}] */
    char *service_connect_defaults; /* JSON text {namespace} or NULL */
    double created_at;
};

/* Free the members (not c itself); c is zeroed, so a second call is harmless. */
void store_cluster_clear(struct store_cluster *c);
#define cleanup_cluster __attribute__((cleanup(store_cluster_clear)))

/* The cluster called name in account/region, whatever its status; -ENOENT when none. */
int store_cluster_get(struct store *st, const char *account, const char *region, const char *name,
                      struct store_cluster *ret_cluster, struct wh_err *err);
/* Insert c, or replace every column of the row with c's (account, region, name). */
int store_cluster_put(struct store *st, const struct store_cluster *c, struct wh_err *err);
/* Names of ACTIVE clusters in account/region, sorted, those after `after` (NULL: from the
 * start), at most limit. *ret_names is a NULL-terminated array of heap strings. */
int store_clusters_list_active(struct store *st, const char *account, const char *region,
                               const char *after, unsigned limit, char ***ret_names, size_t *ret_n,
                               struct wh_err *err);
void store_cluster_names_free(char **names);

/* What DescribeClusters reports and DeleteCluster checks, by launch type. */
struct store_cluster_counts {
    int64_t registered_container_instances;
    int64_t running_ec2_tasks, running_fargate_tasks;
    int64_t pending_ec2_tasks, pending_fargate_tasks;
    int64_t active_ec2_services, active_fargate_services;
    int64_t draining_ec2_services, draining_fargate_services;
};
int store_cluster_counts(struct store *st, const char *cluster_arn,
                         struct store_cluster_counts *ret_counts, struct wh_err *err);
