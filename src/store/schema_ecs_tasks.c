/* Tables of container instances, their attributes, tasks and task containers. A component of
 * its own ("ecs-tasks") so its migrations never collide with schema_ecs.c's.
 *
 * Timestamps are epoch seconds (REAL); 0 or NULL means "not yet". Document-like parts (version
 * info, overrides, attachments, network bindings) are JSON text; what placement, listings and
 * counts filter on is a column with an index. */
#include "store/schema.h"

#include "core/xalloc.h"

static const char *const steps[] = {
    /* 1: container instances, attributes, tasks, task containers */
    "CREATE TABLE container_instances ("
    "  id INTEGER PRIMARY KEY,"
    "  account TEXT NOT NULL, region TEXT NOT NULL,"
    "  cluster_arn TEXT NOT NULL,"
    "  arn TEXT NOT NULL UNIQUE,"
    "  ec2_instance_id TEXT NOT NULL,"
    "  capacity TEXT NOT NULL,"           /* EC2 | FARGATE (wharf-managed) */
    "  status TEXT NOT NULL,"             /* ACTIVE | DRAINING | INACTIVE */
    "  status_reason TEXT,"
    "  agent_version TEXT,"
    "  version_info TEXT NOT NULL DEFAULT '{}',"
    "  total_cpu INTEGER NOT NULL, total_memory INTEGER NOT NULL,"
    "  ports_tcp TEXT NOT NULL DEFAULT '[]', ports_udp TEXT NOT NULL DEFAULT '[]',"
    "  registered_at REAL NOT NULL,"
    "  last_poll REAL NOT NULL DEFAULT 0,"
    "  desired_version INTEGER NOT NULL DEFAULT 1);"
    "CREATE INDEX container_instances_cluster ON container_instances(cluster_arn, status, arn);"
    "CREATE INDEX container_instances_capacity"
    "  ON container_instances(account, region, capacity, status);"
    "CREATE TABLE attributes ("
    "  cluster_arn TEXT NOT NULL, target_id TEXT NOT NULL, target_type TEXT NOT NULL,"
    "  name TEXT NOT NULL, value TEXT,"
    "  PRIMARY KEY (cluster_arn, target_id, name)) WITHOUT ROWID;"
    "CREATE INDEX attributes_name ON attributes(cluster_arn, name, value);"
    "CREATE TABLE tasks ("
    "  id INTEGER PRIMARY KEY,"
    "  account TEXT NOT NULL, region TEXT NOT NULL,"
    "  cluster_arn TEXT NOT NULL,"
    "  arn TEXT NOT NULL UNIQUE,"
    "  task_definition_arn TEXT NOT NULL, family TEXT NOT NULL,"
    "  container_instance_arn TEXT,"
    "  launch_type TEXT NOT NULL, capacity_provider_name TEXT,"
    "  task_group TEXT NOT NULL, started_by TEXT, service_name TEXT,"
    "  last_status TEXT NOT NULL, desired_status TEXT NOT NULL,"
    "  cpu TEXT, memory TEXT,"
    "  cpu_units INTEGER NOT NULL DEFAULT 0, memory_mib INTEGER NOT NULL DEFAULT 0,"
    "  ports_tcp TEXT NOT NULL DEFAULT '[]', ports_udp TEXT NOT NULL DEFAULT '[]',"
    "  overrides TEXT NOT NULL DEFAULT '{}',"
    "  attachments TEXT NOT NULL DEFAULT '[]',"
    "  network_configuration TEXT,"
    "  created_at REAL NOT NULL,"
    "  pull_started_at REAL, pull_stopped_at REAL, started_at REAL, stopping_at REAL,"
    "  stopped_at REAL, execution_stopped_at REAL,"
    "  connectivity TEXT, connectivity_at REAL,"
    "  stop_code TEXT, stopped_reason TEXT, health_status TEXT NOT NULL DEFAULT 'UNKNOWN',"
    "  platform_version TEXT, platform_family TEXT,"
    "  enable_execute_command INTEGER NOT NULL DEFAULT 0,"
    "  version INTEGER NOT NULL DEFAULT 1);"
    /* ListTasks (cluster + desiredStatus, then one optional filter), DescribeClusters' counts
     * (cluster + lastStatus + launch type), an instance's load and its agent's poll. */
    "CREATE INDEX tasks_cluster_desired ON tasks(cluster_arn, desired_status, arn);"
    "CREATE INDEX tasks_cluster_last ON tasks(cluster_arn, last_status, launch_type);"
    "CREATE INDEX tasks_instance ON tasks(container_instance_arn, last_status);"
    "CREATE INDEX tasks_started_by ON tasks(cluster_arn, started_by, arn);"
    "CREATE INDEX tasks_family ON tasks(cluster_arn, family, arn);"
    "CREATE INDEX tasks_group ON tasks(cluster_arn, task_group, arn);"
    "CREATE INDEX tasks_service ON tasks(cluster_arn, service_name, arn);"
    "CREATE TABLE task_containers ("
    "  task_arn TEXT NOT NULL REFERENCES tasks(arn) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL,"
    "  name TEXT NOT NULL, container_arn TEXT NOT NULL,"
    "  image TEXT NOT NULL, image_digest TEXT, runtime_id TEXT,"
    "  last_status TEXT NOT NULL, exit_code INTEGER, reason TEXT,"
    "  health_status TEXT NOT NULL DEFAULT 'UNKNOWN',"
    "  cpu TEXT, memory TEXT, memory_reservation TEXT,"
    "  essential INTEGER NOT NULL, health_check INTEGER NOT NULL DEFAULT 0,"
    "  network_bindings TEXT NOT NULL DEFAULT '[]',"
    "  network_interfaces TEXT NOT NULL DEFAULT '[]',"
    "  PRIMARY KEY (task_arn, idx)) WITHOUT ROWID;",
    /* 2: the task subnets wharfd carved for each instance (src/ecs/instance_subnets.h); NULL
     * until it registers again. The allocation reads those of every instance not INACTIVE. */
    "ALTER TABLE container_instances ADD COLUMN subnet_awsvpc TEXT;"
    "ALTER TABLE container_instances ADD COLUMN subnet_bridge TEXT;"
    "CREATE INDEX container_instances_subnets ON container_instances(status)"
    "  WHERE subnet_awsvpc IS NOT NULL;",
};

const struct store_schema store_schema_ecs_tasks = {"ecs-tasks", steps, ARRAY_SIZE(steps)};
