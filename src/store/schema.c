#include "store/schema.h"

#include <stddef.h>

const struct store_schema *const store_schemas[] = {
    &store_schema_ecs,
    &store_schema_ecr,
    NULL,
};
