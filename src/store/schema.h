/* The list of components' migrations, run in this order at store_open. */
#pragma once
#include "store/store.h"

extern const struct store_schema store_schema_ecs;
extern const struct store_schema store_schema_ecr;
extern const struct store_schema store_schema_ecr_api;
extern const struct store_schema store_schema_ecs_tasks;
extern const struct store_schema store_schema_ecs_services;
extern const struct store_schema store_schema_logs;
/* NULL-terminated. */
extern const struct store_schema *const store_schemas[];
