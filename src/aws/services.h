/* Every AWS service wharfd speaks; dispatch looks targets up here. */
#pragma once
#include "aws/api.h"

/* NULL-terminated. */
extern const struct api_service *const aws_services[];
