/* Task definitions as JSON: the stored body made from a RegisterTaskDefinition request, and the
 * TaskDefinition shape that Register, Describe, Deregister and Delete all return. */
#pragma once
#include <jansson.h>

struct store_taskdef;

/* The definition's content from a validated request: every member but family and tags, with
 * ECS's defaults filled in (container cpu 0, essential true, empty environment, mountPoints,
 * volumesFrom and portMappings; port protocol tcp and hostPort as the network mode implies;
 * health check interval 30, timeout 5, retries 3; task volumes and placementConstraints []),
 * cpu and memory as numeric strings ("1 vCPU" → "1024", "2 GB" → "2048"), and the derived
 * requiresAttributes and compatibilities. */
json_t *taskdef_body_new(const json_t *req);
/* The TaskDefinition: body plus arn, family, revision, status and timestamps from the row,
 * members in the order of botocore's model. */
json_t *taskdef_to_json(const struct store_taskdef *td);
