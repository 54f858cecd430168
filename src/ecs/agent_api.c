/* The agent service's action table. */
#include "ecs/agent_api.h"

#include "core/xalloc.h"

static const struct api_action actions[] = {
    {"PollDesiredTasks", ecs_agent_poll_desired_tasks, API_MUTATES},
};

const struct api_service ecs_agent_api_service = {
    .target_prefix = WHARF_AGENT_TARGET_PREFIX,
    .signing_name = "ecs",
    .model = NULL,
    .validation_error = ERR_INVALID_PARAM,
    .actions = actions,
    .nactions = ARRAY_SIZE(actions),
};
