/* Pure rules of ECS clusters: names, references, settings, capacity provider strategies,
 * configuration and Service Connect defaults. No store access, so unit tests reach them
 * directly; failures are InvalidParameterException unless said otherwise. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"

#define ECS_CLUSTER_NAME_MAX 255
#define ECS_STRATEGY_MAX_PROVIDERS 20
#define ECS_STRATEGY_WEIGHT_MAX 1000
#define ECS_STRATEGY_BASE_MAX 100000

/* name matches ^[a-zA-Z0-9_-]{1,255}$. */
bool ecs_cluster_name_valid(const char *name);
/* The cluster name a request's `cluster` member refers to: a name as it is, or an ECS cluster
 * ARN of this region and account (arn:aws:ecs:REGION:ACCOUNT:cluster/NAME). NULL → "default".
 * Returns a new string, or NULL when ref cannot name a cluster here (a malformed name, an ARN
 * of another kind, region or account): the caller reports the cluster as not found. */
char *ecs_cluster_ref_name(const char *ref, const char *region, const char *account);

/* Apply a request's settings ([{name, value}]) to base (the cluster's current settings, may be
 * NULL) and return the new list through ret_settings; names keep their first position. Checks
 * every value (containerInsights: enabled, disabled or enhanced). field: "settings". */
int ecs_cluster_settings_merge(const json_t *base, const json_t *changes, const char *field,
                               json_t **ret_settings, struct wh_err *err);

/* FARGATE and FARGATE_SPOT, the providers every cluster can use without creating them. */
bool ecs_capacity_provider_builtin(const char *name);
/* A cluster's capacityProviders: every name exists and appears once. */
int ecs_capacity_providers_check(const json_t *providers, const char *field, struct wh_err *err);
/* A capacity provider strategy ([{capacityProvider, weight, base}]): at most 20 items, each
 * provider once and in `allowed` (the cluster's capacityProviders; NULL: no such check),
 * weight 0..1000, base 0..100000, at most one item with a base above 0, and when there are
 * several items at least one weight above 0. */
int ecs_capacity_strategy_check(const json_t *strategy, const json_t *allowed, const char *field,
                                struct wh_err *err);
/* The strategy as ECS echoes it: every item with weight and base (0 when not given). */
json_t *ecs_capacity_strategy_normalize(const json_t *strategy);

/* ClusterConfiguration: executeCommandConfiguration.logConfiguration is required when logging
 * is OVERRIDE and refused otherwise. */
int ecs_cluster_configuration_check(const json_t *cfg, struct wh_err *err);
/* UpdateCluster's configuration: each member given replaces the old one. New reference. */
json_t *ecs_cluster_configuration_merge(const json_t *old, const json_t *changes);

/* The Cloud Map namespace ARN of serviceConnectDefaults.namespace: an ARN is kept when it is a
 * servicediscovery namespace of this region and account (else NamespaceNotFoundException); a
 * name maps to the ARN of the HTTP namespace ECS would create for it, the same one each time
 * (arn:aws:servicediscovery:REGION:ACCOUNT:namespace/ns-<16 hex digits>). New heap string. */
int ecs_service_connect_namespace_arn(const char *ns, const char *region, const char *account,
                                      char **ret_arn, struct wh_err *err);
