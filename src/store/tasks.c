/* Task and task container rows in SQLite. */
#include "store/tasks.h"

#include <sqlite3.h>
#include <string.h>

#include "core/xalloc.h"
#include "store/task_rows.h"

static void container_clear(struct store_task_container *c)
{
    char **strs[] = {&c->name,   &c->container_arn,   &c->image,
                     &c->image_digest, &c->runtime_id, &c->last_status,
                     &c->reason, &c->health_status, &c->cpu,
                     &c->memory, &c->memory_reservation, &c->network_bindings,
                     &c->network_interfaces};
    for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
        free(*strs[i]);
    memset(c, 0, sizeof(*c));
}

void store_task_clear(struct store_task *t)
{
    char **strs[] = {&t->account,        &t->region,
                     &t->cluster_arn,    &t->arn,
                     &t->task_definition_arn, &t->family,
                     &t->container_instance_arn, &t->launch_type,
                     &t->capacity_provider_name, &t->group,
                     &t->started_by,     &t->service_name,
                     &t->last_status,    &t->desired_status,
                     &t->cpu,            &t->memory,
                     &t->ports_tcp,      &t->ports_udp,
                     &t->overrides,      &t->attachments,
                     &t->network_configuration, &t->connectivity,
                     &t->stop_code,      &t->stopped_reason,
                     &t->health_status,  &t->platform_version,
                     &t->platform_family};
    for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
        free(*strs[i]);
    for (size_t i = 0; i < t->ncontainers; i++)
        container_clear(&t->containers[i]);
    free(t->containers);
    memset(t, 0, sizeof(*t));
}

void store_tasks_free(struct store_task *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_task_clear(&v[i]);
    free(v);
}

void store_task_arns_free(char **arns)
{
    for (char **p = arns; p && *p; p++)
        free(*p);
    free(arns);
}

/* ---- columns ---- */

#define TASK_COLUMNS                                                                               \
    "account, region, cluster_arn, arn, task_definition_arn, family, container_instance_arn,"     \
    " launch_type, capacity_provider_name, task_group, started_by, service_name, last_status,"     \
    " desired_status, cpu, memory, ports_tcp, ports_udp, overrides, attachments,"                 \
    " network_configuration, connectivity, stop_code, stopped_reason, health_status,"             \
    " platform_version, platform_family,"                                                          \
    " created_at, pull_started_at, pull_stopped_at, started_at, stopping_at, stopped_at,"         \
    " execution_stopped_at, connectivity_at, cpu_units, memory_mib, enable_execute_command,"      \
    " version"
#define TASK_NTEXT 27

/* The text members in TASK_COLUMNS order. */
static void task_texts(const struct store_task *t, const char *v[TASK_NTEXT])
{
    const char *src[TASK_NTEXT] = {
        t->account,     t->region,         t->cluster_arn,     t->arn,
        t->task_definition_arn, t->family, t->container_instance_arn, t->launch_type,
        t->capacity_provider_name, t->group, t->started_by,    t->service_name,
        t->last_status, t->desired_status, t->cpu,             t->memory,
        t->ports_tcp ? t->ports_tcp : "[]", t->ports_udp ? t->ports_udp : "[]",
        t->overrides ? t->overrides : "{}", t->attachments ? t->attachments : "[]",
        t->network_configuration, t->connectivity, t->stop_code, t->stopped_reason,
        t->health_status ? t->health_status : "UNKNOWN", t->platform_version,
        t->platform_family};
    memcpy(v, src, sizeof(src));
}

#define TASK_NTIMES 8
static void task_times_get(const struct store_task *t, double v[TASK_NTIMES])
{
    const double src[TASK_NTIMES] = {t->created_at,  t->pull_started_at, t->pull_stopped_at,
                                     t->started_at,  t->stopping_at,     t->stopped_at,
                                     t->execution_stopped_at, t->connectivity_at};
    memcpy(v, src, sizeof(src));
}

static void task_times_set(struct store_task *t, const double v[TASK_NTIMES])
{
    double *dst[TASK_NTIMES] = {&t->created_at,  &t->pull_started_at, &t->pull_stopped_at,
                                &t->started_at,  &t->stopping_at,     &t->stopped_at,
                                &t->execution_stopped_at, &t->connectivity_at};
    for (int i = 0; i < TASK_NTIMES; i++)
        *dst[i] = v[i];
}


static void read_task(sqlite3_stmt *s, struct store_task *t)
{
    memset(t, 0, sizeof(*t));
    char **strs[TASK_NTEXT] = {
        &t->account,     &t->region,         &t->cluster_arn,     &t->arn,
        &t->task_definition_arn, &t->family, &t->container_instance_arn, &t->launch_type,
        &t->capacity_provider_name, &t->group, &t->started_by,    &t->service_name,
        &t->last_status, &t->desired_status, &t->cpu,             &t->memory,
        &t->ports_tcp,   &t->ports_udp,      &t->overrides,       &t->attachments,
        &t->network_configuration, &t->connectivity, &t->stop_code, &t->stopped_reason,
        &t->health_status, &t->platform_version, &t->platform_family};
    for (int i = 0; i < TASK_NTEXT; i++)
        *strs[i] = row_text(s, i);
    double times[TASK_NTIMES];
    for (int i = 0; i < TASK_NTIMES; i++)
        times[i] = row_time(s, TASK_NTEXT + i);
    task_times_set(t, times);
    int c = TASK_NTEXT + TASK_NTIMES;
    t->cpu_units = sqlite3_column_int64(s, c);
    t->memory_mib = sqlite3_column_int64(s, c + 1);
    t->enable_execute_command = sqlite3_column_int(s, c + 2) != 0;
    t->version = sqlite3_column_int64(s, c + 3);
}

/* ---- containers ---- */

#define CONTAINER_COLUMNS                                                                          \
    "name, container_arn, image, image_digest, runtime_id, last_status, reason, health_status,"   \
    " cpu, memory, memory_reservation, network_bindings, network_interfaces, exit_code,"          \
    " essential, health_check"

static int insert_container(struct store *st, const char *task_arn, int idx,
                            const struct store_task_container *c, struct wh_err *err)
{
    static const char sql[] = "INSERT INTO task_containers (task_arn, idx, " CONTAINER_COLUMNS
                              ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    const char *text[] = {c->name,         c->container_arn,
                          c->image,        c->image_digest,
                          c->runtime_id,   c->last_status,
                          c->reason,       c->health_status ? c->health_status : "UNKNOWN",
                          c->cpu,          c->memory,
                          c->memory_reservation,
                          c->network_bindings ? c->network_bindings : "[]",
                          c->network_interfaces ? c->network_interfaces : "[]"};
    bind_text(s, 1, task_arn);
    sqlite3_bind_int(s, 2, idx);
    for (size_t i = 0; i < ARRAY_SIZE(text); i++)
        bind_text(s, (int)i + 3, text[i]);
    int k = (int)ARRAY_SIZE(text) + 3;
    if (c->has_exit_code)
        sqlite3_bind_int64(s, k, c->exit_code);
    else
        sqlite3_bind_null(s, k);
    sqlite3_bind_int(s, k + 1, c->essential);
    sqlite3_bind_int(s, k + 2, c->health_check);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc == SQLITE_CONSTRAINT)
        return -EEXIST;
    return rc == SQLITE_DONE ? 0 : store_fail(st, "writing a task container", err);
}

static int read_containers(struct store *st, struct store_task *t, struct wh_err *err)
{
    static const char sql[] = "SELECT " CONTAINER_COLUMNS
                              " FROM task_containers WHERE task_arn = ? ORDER BY idx";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    bind_text(s, 1, t->arn);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (t->ncontainers == cap) {
            cap = cap ? 2 * cap : 4;
            t->containers = xrealloc(t->containers, cap * sizeof(*t->containers));
        }
        struct store_task_container *c = &t->containers[t->ncontainers++];
        *c = (struct store_task_container){
            .name = row_text(s, 0),
            .container_arn = row_text(s, 1),
            .image = row_text(s, 2),
            .image_digest = row_text(s, 3),
            .runtime_id = row_text(s, 4),
            .last_status = row_text(s, 5),
            .reason = row_text(s, 6),
            .health_status = row_text(s, 7),
            .cpu = row_text(s, 8),
            .memory = row_text(s, 9),
            .memory_reservation = row_text(s, 10),
            .network_bindings = row_text(s, 11),
            .network_interfaces = row_text(s, 12),
            .has_exit_code = sqlite3_column_type(s, 13) != SQLITE_NULL,
            .exit_code = sqlite3_column_int64(s, 13),
            .essential = sqlite3_column_int(s, 14) != 0,
            .health_check = sqlite3_column_int(s, 15) != 0,
        };
    }
    store_done(s);
    return rc == SQLITE_DONE ? 0 : store_fail(st, "reading task containers", err);
}

static int update_container(struct store *st, const char *task_arn, int idx,
                            const struct store_task_container *c, struct wh_err *err)
{
    static const char sql[] =
        "UPDATE task_containers SET image_digest = ?, runtime_id = ?, last_status = ?,"
        " reason = ?, health_status = ?, network_bindings = ?, network_interfaces = ?,"
        " exit_code = ? WHERE task_arn = ? AND idx = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    bind_text(s, 1, c->image_digest);
    bind_text(s, 2, c->runtime_id);
    bind_text(s, 3, c->last_status);
    bind_text(s, 4, c->reason);
    bind_text(s, 5, c->health_status ? c->health_status : "UNKNOWN");
    bind_text(s, 6, c->network_bindings ? c->network_bindings : "[]");
    bind_text(s, 7, c->network_interfaces ? c->network_interfaces : "[]");
    if (c->has_exit_code)
        sqlite3_bind_int64(s, 8, c->exit_code);
    else
        sqlite3_bind_null(s, 8);
    bind_text(s, 9, task_arn);
    sqlite3_bind_int(s, 10, idx);
    int rc = sqlite3_step(s);
    store_done(s);
    return rc == SQLITE_DONE ? 0 : store_fail(st, "updating a task container", err);
}

/* ---- tasks ---- */

int store_task_insert(struct store *st, const struct store_task *t, struct wh_err *err)
{
    static const char sql[] =
        "INSERT INTO tasks (" TASK_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
        " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    const char *text[TASK_NTEXT];
    task_texts(t, text);
    for (int i = 0; i < TASK_NTEXT; i++)
        bind_text(s, i + 1, text[i]);
    double times[TASK_NTIMES];
    task_times_get(t, times);
    for (int i = 0; i < TASK_NTIMES; i++)
        bind_time(s, TASK_NTEXT + i + 1, times[i]);
    int c = TASK_NTEXT + TASK_NTIMES + 1;
    sqlite3_bind_int64(s, c, t->cpu_units);
    sqlite3_bind_int64(s, c + 1, t->memory_mib);
    sqlite3_bind_int(s, c + 2, t->enable_execute_command);
    sqlite3_bind_int64(s, c + 3, t->version > 0 ? t->version : 1);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc == SQLITE_CONSTRAINT)
        return -EEXIST;
    if (rc != SQLITE_DONE)
        return store_fail(st, "writing a task", err);
    for (size_t i = 0; i < t->ncontainers; i++) {
        int r = insert_container(st, t->arn, (int)i, &t->containers[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}

int store_task_get(struct store *st, const char *account, const char *region, const char *arn,
                   struct store_task *ret_task, struct wh_err *err)
{
    static const char sql[] =
        "SELECT " TASK_COLUMNS " FROM tasks WHERE arn = ? AND account = ? AND region = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    bind_text(s, 1, arn);
    bind_text(s, 2, account);
    bind_text(s, 3, region);
    struct store_task t;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        read_task(s, &t);
    store_done(s);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? -ENOENT : store_fail(st, "reading a task", err);
    int r = read_containers(st, &t, err);
    if (r < 0) {
        store_task_clear(&t);
        return r;
    }
    *ret_task = t;
    return 0;
}

int store_task_update(struct store *st, const struct store_task *t, struct wh_err *err)
{
    static const char sql[] =
        "UPDATE tasks SET container_instance_arn = ?, last_status = ?, desired_status = ?,"
        " attachments = ?, connectivity = ?, stop_code = ?, stopped_reason = ?,"
        " health_status = ?, pull_started_at = ?, pull_stopped_at = ?, started_at = ?,"
        " stopping_at = ?, stopped_at = ?, execution_stopped_at = ?, connectivity_at = ?,"
        " version = ?, ports_tcp = ?, ports_udp = ? WHERE arn = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    bind_text(s, 1, t->container_instance_arn);
    bind_text(s, 2, t->last_status);
    bind_text(s, 3, t->desired_status);
    bind_text(s, 4, t->attachments ? t->attachments : "[]");
    bind_text(s, 5, t->connectivity);
    bind_text(s, 6, t->stop_code);
    bind_text(s, 7, t->stopped_reason);
    bind_text(s, 8, t->health_status ? t->health_status : "UNKNOWN");
    const double times[] = {t->pull_started_at, t->pull_stopped_at, t->started_at,
                            t->stopping_at,     t->stopped_at,      t->execution_stopped_at,
                            t->connectivity_at};
    for (size_t i = 0; i < ARRAY_SIZE(times); i++)
        bind_time(s, 9 + (int)i, times[i]);
    sqlite3_bind_int64(s, 16, t->version);
    bind_text(s, 17, t->ports_tcp ? t->ports_tcp : "[]");
    bind_text(s, 18, t->ports_udp ? t->ports_udp : "[]");
    bind_text(s, 19, t->arn);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc != SQLITE_DONE)
        return store_fail(st, "updating a task", err);
    if (sqlite3_changes(store_db(st)) == 0)
        return -ENOENT;
    for (size_t i = 0; i < t->ncontainers; i++) {
        int r = update_container(st, t->arn, (int)i, &t->containers[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}

int store_tasks_on_instance(struct store *st, const char *instance_arn, bool with_containers,
                            struct store_task **ret_v, size_t *ret_n, struct wh_err *err)
{
    static const char sql[] = "SELECT " TASK_COLUMNS " FROM tasks"
                              " WHERE container_instance_arn = ? AND last_status != 'STOPPED'"
                              " ORDER BY arn";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    bind_text(s, 1, instance_arn);
    struct store_task *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            v = xrealloc(v, cap * sizeof(*v));
        }
        read_task(s, &v[n++]);
    }
    store_done(s);
    int r = rc == SQLITE_DONE ? 0 : store_fail(st, "reading an instance's tasks", err);
    for (size_t i = 0; r == 0 && with_containers && i < n; i++)
        r = read_containers(st, &v[i], err);
    if (r < 0) {
        store_tasks_free(v, n);
        return r;
    }
    *ret_v = v;
    *ret_n = n;
    return 0;
}

int store_tasks_of_service(struct store *st, const char *cluster_arn, const char *service_name,
                           struct store_task **ret_v, size_t *ret_n, struct wh_err *err)
{
    /* Over the partial index tasks_service_live (schema_ecs_services.c). */
    static const char sql[] = "SELECT " TASK_COLUMNS " FROM tasks"
                              " WHERE cluster_arn = ? AND service_name = ?"
                              " AND last_status != 'STOPPED' ORDER BY created_at, arn";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    bind_text(s, 1, cluster_arn);
    bind_text(s, 2, service_name);
    struct store_task *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            v = xrealloc(v, cap * sizeof(*v));
        }
        read_task(s, &v[n++]);
    }
    store_done(s);
    if (rc != SQLITE_DONE) {
        store_tasks_free(v, n);
        return store_fail(st, "reading a service's tasks", err);
    }
    *ret_v = v;
    *ret_n = n;
    return 0;
}

/* ListTasks: one statement per index; the filters not served by the index still apply. */
#define LIST_FILTERS                                                                               \
    " cluster_arn = ?1 AND desired_status = ?2 AND arn > ?3"                                       \
    " AND (?4 IS NULL OR container_instance_arn = ?4) AND (?5 IS NULL OR family = ?5)"             \
    " AND (?6 IS NULL OR started_by = ?6) AND (?7 IS NULL OR service_name = ?7)"                   \
    " AND (?8 IS NULL OR launch_type = ?8)"
static const char list_plain[] =
    "SELECT arn FROM tasks WHERE" LIST_FILTERS " ORDER BY arn LIMIT ?9";
static const char list_instance[] = "SELECT arn FROM tasks WHERE container_instance_arn = ?4 AND"
                                    LIST_FILTERS " ORDER BY arn LIMIT ?9";
static const char list_family[] =
    "SELECT arn FROM tasks WHERE family = ?5 AND" LIST_FILTERS " ORDER BY arn LIMIT ?9";
static const char list_started_by[] =
    "SELECT arn FROM tasks WHERE started_by = ?6 AND" LIST_FILTERS " ORDER BY arn LIMIT ?9";
static const char list_service[] =
    "SELECT arn FROM tasks WHERE service_name = ?7 AND" LIST_FILTERS " ORDER BY arn LIMIT ?9";

static const char *list_sql(const struct store_task_query *q)
{
    if (q->instance_arn)
        return list_instance;
    if (q->service_name)
        return list_service;
    if (q->started_by)
        return list_started_by;
    if (q->family)
        return list_family;
    return list_plain;
}

int store_tasks_list(struct store *st, const struct store_task_query *q, char ***ret_arns,
                     size_t *ret_n, struct wh_err *err)
{
    sqlite3_stmt *s = store_stmt(st, list_sql(q), err);
    if (!s)
        return -EIO;
    const char *text[] = {q->cluster_arn, q->desired_status, q->after ? q->after : "",
                          q->instance_arn, q->family, q->started_by, q->service_name,
                          q->launch_type};
    for (size_t i = 0; i < ARRAY_SIZE(text); i++)
        bind_text(s, (int)i + 1, text[i]);
    sqlite3_bind_int64(s, 9, q->limit ? (int64_t)q->limit : -1);
    char **arns = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n + 1 >= cap) {
            cap = cap ? 2 * cap : 16;
            arns = xrealloc(arns, cap * sizeof(*arns));
        }
        arns[n++] = row_text(s, 0);
        arns[n] = NULL;
    }
    store_done(s);
    if (rc != SQLITE_DONE) {
        store_task_arns_free(arns);
        return store_fail(st, "listing tasks", err);
    }
    if (!arns)
        arns = xcalloc(1, sizeof(*arns));
    *ret_arns = arns;
    *ret_n = n;
    return 0;
}
