/* Task subnets of container instances: wharfd carves each instance two /24 blocks from one
 * pool (--task-subnet-pool), one for its awsvpc tasks and one for its bridge-mode containers,
 * so that no two instances' task addresses ever overlap. The agent reads them from the
 * attributes wharf.subnet.awsvpc and wharf.subnet.bridge of its registration
 * (docs/agent-protocol.md). Pure: tests/unit/test-net.c covers it.
 *
 * The default pool, 10.213.0.0/16 (128 instances), stays clear of Docker's defaults (docker0
 * 172.17.0.0/16, user networks from 172.18.0.0/16 on and 192.168.0.0/16, Swarm overlays from
 * 10.0.0.0/24 up), podman's (10.88.0.0/16, new networks from 10.89.0.0/24 up), Kubernetes'
 * usual ones (10.96.0.0/12, 10.244.0.0/16, k3s 10.42/10.43), AWS's default VPC (172.31.0.0/16)
 * and the 10.0.0.0/16 most VPCs and LANs start with. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define ECS_SUBNET_POOL_DEFAULT "10.213.0.0/16"
#define ECS_SUBNET_PREFIX 24
#define ECS_SUBNET_ATTR_AWSVPC "wharf.subnet.awsvpc"
#define ECS_SUBNET_ATTR_BRIDGE "wharf.subnet.bridge"

/* A pool: an IPv4 CIDR block with host bits clear and a prefix of 8..23 (room for one pair). */
int ecs_subnet_pool_check(const char *pool, struct wh_err *err);

/* The lowest pair of /24 blocks of pool (even block: awsvpc, the next: bridge) that overlaps
 * none of used (CIDR texts; others are ignored). ret_* hold 19 bytes. 500 ServerException
 * naming the pool when every pair is taken. */
int ecs_subnets_pick(const char *pool, const char *const *used, size_t nused,
                     char *ret_awsvpc, char *ret_bridge, struct wh_err *err);

/* Whether both CIDRs are valid, inside pool and overlap none of used (to keep an instance's
 * subnets when it registers again). */
bool ecs_subnets_still_free(const char *pool, const char *awsvpc, const char *bridge,
                            const char *const *used, size_t nused);
