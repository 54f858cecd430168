/* The ECS Service shape, shared by CreateService, UpdateService, DeleteService and
 * DescribeServices: the service row with its deployments (PRIMARY and ACTIVE), their task
 * counts, its newest events and, when asked, its tags. taskSets is always empty (wharf has
 * only the ECS deployment controller). */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"
#include "store/services.h"

struct store;

int ecs_service_to_json(struct store *st, const struct store_service *s, bool with_tags,
                        json_t **ret_json, struct wh_err *err);

/* The deployment-level settings (launch type or capacity providers, platform, network, ...)
 * and the service-level ones merged, as UpdateService compares them. New reference. */
json_t *ecs_service_settings(const struct store_service *s, const struct store_deployment *primary);
