/* Tables of ECS services: the service, its deployments (the PRIMARY, older ACTIVE ones still
 * draining, and the INACTIVE history that a circuit-breaker rollback goes back to) and its
 * events. A component of its own ("ecs-services"), migrated after "ecs-tasks" whose tasks
 * table it indexes.
 *
 * The settings a service is created or updated with are JSON text (config columns); what the
 * controller and the listings filter on is a column with an index. */
#include "store/schema.h"

#include "core/xalloc.h"

static const char *const steps[] = {
    /* 1: services, deployments, events; a service's live tasks */
    "CREATE TABLE services ("
    "  id INTEGER PRIMARY KEY,"
    "  account TEXT NOT NULL, region TEXT NOT NULL,"
    "  cluster_arn TEXT NOT NULL, name TEXT NOT NULL,"
    "  arn TEXT NOT NULL UNIQUE,"
    "  status TEXT NOT NULL,"              /* ACTIVE | DRAINING | INACTIVE */
    "  scheduling_strategy TEXT NOT NULL," /* REPLICA | DAEMON */
    "  launch_class TEXT NOT NULL,"        /* EC2 | FARGATE: where its tasks run */
    "  desired_count INTEGER NOT NULL,"
    "  task_definition TEXT NOT NULL,"     /* the PRIMARY deployment's */
    "  config TEXT NOT NULL DEFAULT '{}',"
    "  client_token TEXT,"
    "  namespace TEXT,"                    /* Service Connect namespace */
    "  created_at REAL NOT NULL, created_by TEXT, updated_at REAL NOT NULL,"
    "  steady INTEGER NOT NULL DEFAULT 0,"
    "  version INTEGER NOT NULL DEFAULT 1,"
    "  UNIQUE (cluster_arn, name));"
    "CREATE INDEX services_cluster ON services(cluster_arn, status, arn);"
    "CREATE INDEX services_namespace ON services(account, region, namespace, arn);"
    "CREATE INDEX services_live ON services(status, arn) WHERE status != 'INACTIVE';"
    "CREATE TABLE service_deployments ("
    "  id TEXT PRIMARY KEY,"               /* ecs-svc/NNNNNNNNNNNNNNNNNNN */
    "  service_arn TEXT NOT NULL REFERENCES services(arn) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL,"              /* creation order within the service */
    "  status TEXT NOT NULL,"              /* PRIMARY | ACTIVE | INACTIVE */
    "  task_definition TEXT NOT NULL,"
    "  config TEXT NOT NULL DEFAULT '{}',"
    "  desired_count INTEGER NOT NULL DEFAULT 0,"
    "  rollout_state TEXT, rollout_state_reason TEXT,"
    "  failed_tasks INTEGER NOT NULL DEFAULT 0,"
    "  cb_failures INTEGER NOT NULL DEFAULT 0,"
    "  last_failure_at REAL,"
    "  created_at REAL NOT NULL, updated_at REAL NOT NULL);"
    "CREATE INDEX service_deployments_service ON service_deployments(service_arn, seq);"
    "CREATE TABLE service_events ("
    "  seq INTEGER PRIMARY KEY,"
    "  service_arn TEXT NOT NULL REFERENCES services(arn) ON DELETE CASCADE,"
    "  id TEXT NOT NULL, created_at REAL NOT NULL, message TEXT NOT NULL);"
    "CREATE INDEX service_events_service ON service_events(service_arn, seq);"
    /* A service's tasks that are not STOPPED, without the STOPPED history around them. */
    "CREATE INDEX tasks_service_live ON tasks(cluster_arn, service_name, started_by)"
    "  WHERE last_status != 'STOPPED';",

    /* 2: what each instance holds, per task group, kept by triggers on tasks, so a placement
     * snapshot reads one row per (instance, group) rather than every task of the cluster; the
     * few tasks that hold fixed host ports, by instance. A task counts while it is placed and
     * not STOPPED: cpu and memory always, running when RUNNING, pending when PROVISIONING,
     * PENDING or ACTIVATING (as task_rules.c's instance_load_add). */
    "CREATE TABLE task_loads ("
    "  instance_arn TEXT NOT NULL, task_group TEXT NOT NULL,"
    "  tasks INTEGER NOT NULL, running INTEGER NOT NULL, pending INTEGER NOT NULL,"
    "  cpu INTEGER NOT NULL, memory INTEGER NOT NULL,"
    "  PRIMARY KEY (instance_arn, task_group)) WITHOUT ROWID;"
    "INSERT INTO task_loads SELECT container_instance_arn, task_group, COUNT(*),"
    "  COUNT(*) FILTER (WHERE last_status = 'RUNNING'),"
    "  COUNT(*) FILTER (WHERE last_status IN ('PROVISIONING', 'PENDING', 'ACTIVATING')),"
    "  SUM(cpu_units), SUM(memory_mib) FROM tasks"
    "  WHERE container_instance_arn IS NOT NULL AND last_status != 'STOPPED' GROUP BY 1, 2;"
    "CREATE TRIGGER task_loads_insert AFTER INSERT ON tasks"
    "  WHEN NEW.container_instance_arn IS NOT NULL AND NEW.last_status != 'STOPPED' BEGIN"
    "  INSERT INTO task_loads VALUES (NEW.container_instance_arn, NEW.task_group, 1,"
    "   NEW.last_status = 'RUNNING',"
    "   NEW.last_status IN ('PROVISIONING', 'PENDING', 'ACTIVATING'),"
    "   NEW.cpu_units, NEW.memory_mib)"
    "  ON CONFLICT (instance_arn, task_group) DO UPDATE SET tasks = tasks + 1,"
    "   running = running + excluded.running, pending = pending + excluded.pending,"
    "   cpu = cpu + excluded.cpu, memory = memory + excluded.memory;"
    " END;"
    "CREATE TRIGGER task_loads_update_old"
    "  AFTER UPDATE OF container_instance_arn, task_group, last_status, cpu_units, memory_mib"
    "  ON tasks WHEN OLD.container_instance_arn IS NOT NULL AND OLD.last_status != 'STOPPED'"
    "  AND (OLD.container_instance_arn IS NOT NEW.container_instance_arn"
    "   OR OLD.task_group IS NOT NEW.task_group OR OLD.last_status IS NOT NEW.last_status"
    "   OR OLD.cpu_units IS NOT NEW.cpu_units OR OLD.memory_mib IS NOT NEW.memory_mib) BEGIN"
    "  UPDATE task_loads SET tasks = tasks - 1, running = running - (OLD.last_status = 'RUNNING'),"
    "   pending = pending - (OLD.last_status IN ('PROVISIONING', 'PENDING', 'ACTIVATING')),"
    "   cpu = cpu - OLD.cpu_units, memory = memory - OLD.memory_mib"
    "   WHERE instance_arn = OLD.container_instance_arn AND task_group = OLD.task_group;"
    "  DELETE FROM task_loads WHERE instance_arn = OLD.container_instance_arn"
    "   AND task_group = OLD.task_group AND tasks <= 0;"
    " END;"
    "CREATE TRIGGER task_loads_update_new"
    "  AFTER UPDATE OF container_instance_arn, task_group, last_status, cpu_units, memory_mib"
    "  ON tasks WHEN NEW.container_instance_arn IS NOT NULL AND NEW.last_status != 'STOPPED'"
    "  AND (OLD.container_instance_arn IS NOT NEW.container_instance_arn"
    "   OR OLD.task_group IS NOT NEW.task_group OR OLD.last_status IS NOT NEW.last_status"
    "   OR OLD.cpu_units IS NOT NEW.cpu_units OR OLD.memory_mib IS NOT NEW.memory_mib) BEGIN"
    "  INSERT INTO task_loads VALUES (NEW.container_instance_arn, NEW.task_group, 1,"
    "   NEW.last_status = 'RUNNING',"
    "   NEW.last_status IN ('PROVISIONING', 'PENDING', 'ACTIVATING'),"
    "   NEW.cpu_units, NEW.memory_mib)"
    "  ON CONFLICT (instance_arn, task_group) DO UPDATE SET tasks = tasks + 1,"
    "   running = running + excluded.running, pending = pending + excluded.pending,"
    "   cpu = cpu + excluded.cpu, memory = memory + excluded.memory;"
    " END;"
    "CREATE TRIGGER task_loads_delete AFTER DELETE ON tasks"
    "  WHEN OLD.container_instance_arn IS NOT NULL AND OLD.last_status != 'STOPPED' BEGIN"
    "  UPDATE task_loads SET tasks = tasks - 1, running = running - (OLD.last_status = 'RUNNING'),"
    "   pending = pending - (OLD.last_status IN ('PROVISIONING', 'PENDING', 'ACTIVATING')),"
    "   cpu = cpu - OLD.cpu_units, memory = memory - OLD.memory_mib"
    "   WHERE instance_arn = OLD.container_instance_arn AND task_group = OLD.task_group;"
    "  DELETE FROM task_loads WHERE instance_arn = OLD.container_instance_arn"
    "   AND task_group = OLD.task_group AND tasks <= 0;"
    " END;"
    "CREATE INDEX tasks_ports_live ON tasks(container_instance_arn)"
    "  WHERE last_status != 'STOPPED' AND (ports_tcp != '[]' OR ports_udp != '[]');",
};

const struct store_schema store_schema_ecs_services = {"ecs-services", steps, ARRAY_SIZE(steps)};
