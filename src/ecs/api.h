/* The ECS service (AmazonEC2ContainerServiceV20141113.*). */
#pragma once
#include "aws/api.h"

extern const struct api_service ecs_api_service;
