#include "aws/services.h"

#include <stddef.h>

#include "ecs/api.h"

const struct api_service *const aws_services[] = {
    &ecs_api_service,
    NULL,
};
