/* ECS tables. Every resource row carries account and region: one wharfd serves every region
 * and keeps them apart. Document-like parts of a resource (a task definition's container
 * definitions, a cluster's settings) are JSON text columns; whatever is filtered, sorted or
 * counted is a real column with an index. */
#include "store/schema.h"

#include "core/xalloc.h"

static const char *const steps[] = {
    /* 1: clusters, task definitions, tags, account settings */
    "CREATE TABLE clusters ("
    "  id INTEGER PRIMARY KEY,"
    "  account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,"
    "  arn TEXT NOT NULL UNIQUE,"
    "  status TEXT NOT NULL,"
    "  settings TEXT NOT NULL DEFAULT '[]',"
    "  configuration TEXT,"
    "  capacity_providers TEXT NOT NULL DEFAULT '[]',"
    "  default_strategy TEXT NOT NULL DEFAULT '[]',"
    "  service_connect_defaults TEXT,"
    "  created_at REAL NOT NULL,"
    "  UNIQUE (account, region, name));"
    "CREATE TABLE task_definitions ("
    "  id INTEGER PRIMARY KEY,"
    "  account TEXT NOT NULL, region TEXT NOT NULL,"
    "  family TEXT NOT NULL, revision INTEGER NOT NULL,"
    "  arn TEXT NOT NULL UNIQUE,"
    "  status TEXT NOT NULL,"
    "  body TEXT NOT NULL,"
    "  registered_at REAL NOT NULL, registered_by TEXT,"
    "  deregistered_at REAL,"
    "  delete_requested_at REAL,"
    "  UNIQUE (account, region, family, revision));"
    "CREATE INDEX task_definitions_status ON task_definitions(account, region, status, family);"
    "CREATE TABLE tags ("
    "  resource_arn TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    "  PRIMARY KEY (resource_arn, key)) WITHOUT ROWID;"
    "CREATE TABLE account_settings ("
    "  account TEXT NOT NULL, region TEXT NOT NULL,"
    "  principal_arn TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,"
    "  PRIMARY KEY (account, region, principal_arn, name)) WITHOUT ROWID;",
};

const struct store_schema store_schema_ecs = {"ecs", steps, ARRAY_SIZE(steps)};
