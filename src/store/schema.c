#include "store/schema.h"

#include <stddef.h>

const struct store_schema *const store_schemas[] = {
    &store_schema_ecs,
    &store_schema_ecr,
    &store_schema_ecr_api,
    &store_schema_ecs_tasks,
    &store_schema_ecs_services,
    &store_schema_logs,
    NULL,
};
