/* ECS clusters for the other ECS resources: resolving a request's `cluster` member and
 * rendering a cluster the way every action returns it. */
#pragma once
#include <jansson.h>

#include "aws/api.h"
#include "store/clusters.h"

#define ERR_CLUSTER_NOT_FOUND "ClusterNotFoundException"

enum ecs_cluster_flags {
    ECS_CLUSTER_ANY_STATUS = 0,
    ECS_CLUSTER_ACTIVE = 1 << 0, /* an INACTIVE cluster is not found either */
};

/* The cluster a request names: ref is a name, an ARN of ctx's region and account, or NULL for
 * "default". ClusterNotFoundException ("Cluster not found.") when there is none, and with
 * ECS_CLUSTER_ACTIVE also when it is INACTIVE ("The referenced cluster was inactive.");
 * -EIO on store failure. ret_cluster is cleared by the caller (cleanup_cluster). */
int ecs_cluster_resolve(struct api_ctx *ctx, const char *ref, unsigned flags,
                        struct store_cluster *ret_cluster, struct wh_err *err);

/* DescribeClusters' include values; create, update and delete responses use
 * ECS_CLUSTER_INCLUDE_MUTATION. Parts not included appear as empty lists (statistics, tags,
 * settings) or not at all (configuration), as in ECS. */
enum ecs_cluster_include {
    ECS_CLUSTER_INCLUDE_SETTINGS = 1 << 0,
    ECS_CLUSTER_INCLUDE_STATISTICS = 1 << 1,
    ECS_CLUSTER_INCLUDE_TAGS = 1 << 2,
    ECS_CLUSTER_INCLUDE_CONFIGURATIONS = 1 << 3,
    ECS_CLUSTER_INCLUDE_MUTATION = ECS_CLUSTER_INCLUDE_SETTINGS | ECS_CLUSTER_INCLUDE_TAGS |
                                   ECS_CLUSTER_INCLUDE_CONFIGURATIONS,
};
/* DescribeClusters' include list ([SETTINGS, ...]) as a mask; ATTACHMENTS adds nothing. */
unsigned ecs_cluster_include_mask(const json_t *include);

/* The ECS Cluster shape of c, with the counts read from the store. */
int ecs_cluster_to_json(struct store *st, const struct store_cluster *c, unsigned include,
                        json_t **ret_json, struct wh_err *err);
