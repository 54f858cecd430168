/* What ECS derives from a task definition's content at registration: the container instance
 * attributes its tasks need (requiresAttributes) and the launch types it suits
 * (compatibilities). Pure functions over the normalized body (see taskdef_json.h). */
#pragma once
#include <jansson.h>

/* [{"name": ...}, ...] in ECS's order, each attribute once. The rules are a table in
 * taskdef_attrs.c covering the common parameters, not every one ECS knows. */
json_t *taskdef_requires_attributes(const json_t *body);
/* EC2 always; EXTERNAL and MANAGED_INSTANCES when requested; FARGATE when the definition
 * passes the Fargate rules (awsvpc, a Fargate task size, no Fargate-incompatible parameter). */
json_t *taskdef_compatibilities(const json_t *body);
