/* The CloudWatch Logs service (Logs_20140328.*), the subset the awslogs driver and `aws logs`
 * need. */
#pragma once
#include "aws/api.h"

extern const struct api_service logs_api_service;
