#include "aws/services.h"

#include <stddef.h>

#include "ecr/api.h"
#include "ecs/agent_api.h"
#include "ecs/api.h"
#include "logs/api.h"

const struct api_service *const aws_services[] = {
    &ecs_api_service,
    &ecs_agent_api_service,
    &ecr_api_service,
    &logs_api_service,
    NULL,
};
