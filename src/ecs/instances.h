/* ECS container instances for the other resources: finding the instance a request names. */
#pragma once
#include "aws/api.h"
#include "store/clusters.h"
#include "store/instances.h"

/* The wharf-managed Fargate capacity's attribute and cluster (docs/agent-protocol.md). */
#define WHARF_CAPACITY_ATTRIBUTE "wharf.capacity"
#define WHARF_FARGATE_CLUSTER "wharf-fargate"

/* The cluster's EC2 instance that ref (an ARN or an id) names, any status. -ENOENT (err left
 * alone) when there is none in that cluster; -EIO. */
int ecs_instance_resolve(struct api_ctx *ctx, const struct store_cluster *c, const char *ref,
                         struct store_instance *ret_inst, struct wh_err *err);
