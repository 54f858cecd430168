/* Tables of the ECR JSON API that the registry does not need: lifecycle policy runs and
 * previews. A component of its own so its migrations never collide with schema_ecr.c's; it runs
 * after "ecr" (it references repositories). Rows go with their repository (ON DELETE CASCADE). */
#include "store/schema.h"

#include "core/xalloc.h"

static const char *const steps[] = {
    /* 1: lifecycle evaluation times and previews */
    "CREATE TABLE ecr_lifecycle_runs ("
    "  repo_id INTEGER PRIMARY KEY REFERENCES repositories(id) ON DELETE CASCADE,"
    "  last_evaluated_at REAL NOT NULL);"
    "CREATE TABLE ecr_lifecycle_previews ("
    "  repo_id INTEGER PRIMARY KEY REFERENCES repositories(id) ON DELETE CASCADE,"
    "  policy_text TEXT NOT NULL,"
    "  started_at REAL NOT NULL,"
    "  results TEXT NOT NULL);",
};

const struct store_schema store_schema_ecr_api = {"ecr_api", steps, ARRAY_SIZE(steps)};
