/* The list of components' migrations, run in this order at store_open. */
#pragma once
#include "store/store.h"

extern const struct store_schema store_schema_ecs;
extern const struct store_schema store_schema_ecr;
/* NULL-terminated. */
extern const struct store_schema *const store_schemas[];
