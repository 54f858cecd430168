/* The one call of the agent protocol ECS does not have: WharfAgent_20261129.PollDesiredTasks, a
 * long poll for the tasks desired on a container instance (docs/agent-protocol.md). Its own
 * service table, signed as "ecs", with no botocore model: the handler checks its members. */
#pragma once
#include "aws/api.h"

#define WHARF_AGENT_TARGET_PREFIX "WharfAgent_20261129"

extern const struct api_service ecs_agent_api_service;

int ecs_agent_poll_desired_tasks(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                 struct wh_err *err);
