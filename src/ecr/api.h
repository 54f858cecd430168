/* The ECR service: target prefix AmazonEC2ContainerRegistry_V20150921, signing name "ecr". */
#pragma once
#include "aws/api.h"

extern const struct api_service ecr_api_service;
