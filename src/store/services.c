/* Service, deployment and service event rows in SQLite. */
#include "store/services.h"

#include <sqlite3.h>
#include <string.h>

#include "core/xalloc.h"
#include "store/task_rows.h"

void store_service_clear(struct store_service *s)
{
    char **strs[] = {&s->account,      &s->region,        &s->cluster_arn, &s->name,
                     &s->arn,          &s->status,        &s->scheduling_strategy,
                     &s->launch_class, &s->task_definition, &s->config,  &s->client_token,
                     &s->namespace_,   &s->created_by};
    for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
        free(*strs[i]);
    memset(s, 0, sizeof(*s));
}

void store_deployment_clear(struct store_deployment *d)
{
    char **strs[] = {&d->id,     &d->service_arn,   &d->status,
                     &d->task_definition, &d->config, &d->rollout_state,
                     &d->rollout_state_reason};
    for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
        free(*strs[i]);
    memset(d, 0, sizeof(*d));
}

void store_deployments_free(struct store_deployment *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_deployment_clear(&v[i]);
    free(v);
}

void store_service_events_free(struct store_service_event *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].id);
        free(v[i].message);
    }
    free(v);
}

void store_service_arns_free(char **arns)
{
    for (char **p = arns; p && *p; p++)
        free(*p);
    free(arns);
}

/* ---- services ---- */

#define SERVICE_COLUMNS                                                                            \
    "account, region, cluster_arn, name, arn, status, scheduling_strategy, launch_class,"         \
    " task_definition, config, client_token, namespace, created_by, desired_count, created_at,"   \
    " updated_at, steady, version"
#define SERVICE_NTEXT 13

static void service_texts(const struct store_service *s, const char *v[SERVICE_NTEXT])
{
    const char *src[SERVICE_NTEXT] = {s->account,      s->region,       s->cluster_arn,
                                      s->name,         s->arn,          s->status,
                                      s->scheduling_strategy, s->launch_class,
                                      s->task_definition, s->config ? s->config : "{}",
                                      s->client_token, s->namespace_,   s->created_by};
    memcpy(v, src, sizeof(src));
}

static void read_service(sqlite3_stmt *q, struct store_service *s)
{
    memset(s, 0, sizeof(*s));
    char **strs[SERVICE_NTEXT] = {&s->account,      &s->region,       &s->cluster_arn,
                                  &s->name,         &s->arn,          &s->status,
                                  &s->scheduling_strategy, &s->launch_class,
                                  &s->task_definition, &s->config,   &s->client_token,
                                  &s->namespace_,   &s->created_by};
    for (int i = 0; i < SERVICE_NTEXT; i++)
        *strs[i] = row_text(q, i);
    s->desired_count = sqlite3_column_int64(q, SERVICE_NTEXT);
    s->created_at = row_time(q, SERVICE_NTEXT + 1);
    s->updated_at = row_time(q, SERVICE_NTEXT + 2);
    s->steady = sqlite3_column_int(q, SERVICE_NTEXT + 3) != 0;
    s->version = sqlite3_column_int64(q, SERVICE_NTEXT + 4);
}

static int get_one(struct store *st, sqlite3_stmt *q, struct store_service *ret,
                   struct wh_err *err)
{
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        read_service(q, ret);
    store_done(q);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : store_fail(st, "reading a service", err);
}

int store_service_get(struct store *st, const char *cluster_arn, const char *name,
                      struct store_service *ret, struct wh_err *err)
{
    static const char sql[] =
        "SELECT " SERVICE_COLUMNS " FROM services WHERE cluster_arn = ? AND name = ?";
    sqlite3_stmt *q = store_stmt(st, sql, err);
    if (!q)
        return -EIO;
    bind_text(q, 1, cluster_arn);
    bind_text(q, 2, name);
    return get_one(st, q, ret, err);
}

int store_service_get_arn(struct store *st, const char *arn, struct store_service *ret,
                          struct wh_err *err)
{
    static const char sql[] = "SELECT " SERVICE_COLUMNS " FROM services WHERE arn = ?";
    sqlite3_stmt *q = store_stmt(st, sql, err);
    if (!q)
        return -EIO;
    bind_text(q, 1, arn);
    return get_one(st, q, ret, err);
}

int store_service_insert(struct store *st, const struct store_service *s, struct wh_err *err)
{
    static const char sql[] = "INSERT INTO services (" SERVICE_COLUMNS
                              ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)";
    sqlite3_stmt *q = store_stmt(st, sql, err);
    if (!q)
        return -EIO;
    const char *text[SERVICE_NTEXT];
    service_texts(s, text);
    for (int i = 0; i < SERVICE_NTEXT; i++)
        bind_text(q, i + 1, text[i]);
    sqlite3_bind_int64(q, SERVICE_NTEXT + 1, s->desired_count);
    sqlite3_bind_double(q, SERVICE_NTEXT + 2, s->created_at);
    sqlite3_bind_double(q, SERVICE_NTEXT + 3, s->updated_at);
    sqlite3_bind_int(q, SERVICE_NTEXT + 4, s->steady);
    int rc = sqlite3_step(q);
    store_done(q);
    if (rc == SQLITE_CONSTRAINT)
        return -EEXIST;
    return rc == SQLITE_DONE ? 0 : store_fail(st, "writing a service", err);
}

int store_service_update(struct store *st, const struct store_service *s, struct wh_err *err)
{
    static const char sql[] =
        "UPDATE services SET status = ?, launch_class = ?, task_definition = ?, config = ?,"
        " namespace = ?, desired_count = ?, updated_at = ?, steady = ?, version = version + 1"
        " WHERE arn = ?";
    sqlite3_stmt *q = store_stmt(st, sql, err);
    if (!q)
        return -EIO;
    bind_text(q, 1, s->status);
    bind_text(q, 2, s->launch_class);
    bind_text(q, 3, s->task_definition);
    bind_text(q, 4, s->config ? s->config : "{}");
    bind_text(q, 5, s->namespace_);
    sqlite3_bind_int64(q, 6, s->desired_count);
    sqlite3_bind_double(q, 7, s->updated_at);
    sqlite3_bind_int(q, 8, s->steady);
    bind_text(q, 9, s->arn);
    int rc = sqlite3_step(q);
    store_done(q);
    if (rc != SQLITE_DONE)
        return store_fail(st, "updating a service", err);
    return sqlite3_changes(store_db(st)) ? 0 : -ENOENT;
}

int store_service_delete(struct store *st, const char *arn, struct wh_err *err)
{
    static const char sql[] = "DELETE FROM services WHERE arn = ?";
    sqlite3_stmt *q = store_stmt(st, sql, err);
    if (!q)
        return -EIO;
    bind_text(q, 1, arn);
    int rc = sqlite3_step(q);
    store_done(q);
    return rc == SQLITE_DONE ? 0 : store_fail(st, "deleting a service", err);
}

/* Collect the first column of every row as a NULL-terminated array of heap strings. */
static int collect_arns(struct store *st, sqlite3_stmt *q, const char *what, char ***ret_arns,
                        size_t *ret_n, struct wh_err *err)
{
    char **v = xcalloc(1, sizeof(char *));
    size_t n = 0, cap = 1;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (n + 1 >= cap) {
            cap *= 2;
            v = xrealloc(v, cap * sizeof(char *));
        }
        v[n++] = row_text(q, 0);
        v[n] = NULL;
    }
    store_done(q);
    if (rc != SQLITE_DONE) {
        store_service_arns_free(v);
        return store_fail(st, what, err);
    }
    *ret_arns = v;
    *ret_n = n;
    return 0;
}

int store_services_list(struct store *st, const struct store_service_query *qry, char ***ret_arns,
                        size_t *ret_n, struct wh_err *err)
{
    static const char sql[] =
        "SELECT arn FROM services WHERE cluster_arn = ?1 AND status IN ('ACTIVE', 'DRAINING')"
        " AND arn > ?2 AND (?3 IS NULL OR launch_class = ?3)"
        " AND (?4 IS NULL OR scheduling_strategy = ?4) ORDER BY arn LIMIT ?5";
    sqlite3_stmt *q = store_stmt(st, sql, err);
    if (!q)
        return -EIO;
    bind_text(q, 1, qry->cluster_arn);
    bind_text(q, 2, qry->after ? qry->after : "");
    bind_text(q, 3, qry->launch_class);
    bind_text(q, 4, qry->scheduling_strategy);
    sqlite3_bind_int64(q, 5, qry->limit ? (int64_t)qry->limit : -1);
    return collect_arns(st, q, "listing services", ret_arns, ret_n, err);
}

int store_services_by_namespace(struct store *st, const char *account, const char *region,
                                const char *namespace_, const char *after, unsigned limit,
                                char ***ret_arns, size_t *ret_n, struct wh_err *err)
{
    static const char sql[] =
        "SELECT arn FROM services WHERE account = ? AND region = ? AND namespace = ?"
        " AND arn > ? AND status IN ('ACTIVE', 'DRAINING') ORDER BY arn LIMIT ?";
    sqlite3_stmt *q = store_stmt(st, sql, err);
    if (!q)
        return -EIO;
    bind_text(q, 1, account);
    bind_text(q, 2, region);
    bind_text(q, 3, namespace_);
    bind_text(q, 4, after ? after : "");
    sqlite3_bind_int64(q, 5, limit ? (int64_t)limit : -1);
    return collect_arns(st, q, "listing services by namespace", ret_arns, ret_n, err);
}

int store_services_live(struct store *st, const char *cluster_arn, char ***ret_arns,
                        size_t *ret_n, struct wh_err *err)
{
    static const char all[] = "SELECT arn FROM services WHERE status != 'INACTIVE' ORDER BY arn";
    static const char one[] = "SELECT arn FROM services WHERE cluster_arn = ?"
                              " AND status IN ('ACTIVE', 'DRAINING') ORDER BY arn";
    sqlite3_stmt *q = store_stmt(st, cluster_arn ? one : all, err);
    if (!q)
        return -EIO;
    if (cluster_arn)
        bind_text(q, 1, cluster_arn);
    return collect_arns(st, q, "listing live services", ret_arns, ret_n, err);
}

/* ---- deployments ---- */

#define DEPLOYMENT_COLUMNS                                                                         \
    "id, service_arn, status, task_definition, config, rollout_state, rollout_state_reason,"      \
    " seq, desired_count, failed_tasks, cb_failures, last_failure_at, created_at, updated_at"

static void read_deployment(sqlite3_stmt *q, struct store_deployment *d)
{
    *d = (struct store_deployment){
        .id = row_text(q, 0),
        .service_arn = row_text(q, 1),
        .status = row_text(q, 2),
        .task_definition = row_text(q, 3),
        .config = row_text(q, 4),
        .rollout_state = row_text(q, 5),
        .rollout_state_reason = row_text(q, 6),
        .seq = sqlite3_column_int64(q, 7),
        .desired_count = sqlite3_column_int64(q, 8),
        .failed_tasks = sqlite3_column_int64(q, 9),
        .cb_failures = sqlite3_column_int64(q, 10),
        .last_failure_at = row_time(q, 11),
        .created_at = row_time(q, 12),
        .updated_at = row_time(q, 13),
    };
}

int store_deployments_of(struct store *st, const char *service_arn, bool with_inactive,
                         struct store_deployment **ret_v, size_t *ret_n, struct wh_err *err)
{
    static const char sql[] = "SELECT " DEPLOYMENT_COLUMNS " FROM service_deployments"
                              " WHERE service_arn = ?1 AND (?2 OR status != 'INACTIVE')"
                              " ORDER BY seq DESC";
    sqlite3_stmt *q = store_stmt(st, sql, err);
    if (!q)
        return -EIO;
    bind_text(q, 1, service_arn);
    sqlite3_bind_int(q, 2, with_inactive);
    struct store_deployment *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4;
            v = xrealloc(v, cap * sizeof(*v));
        }
        read_deployment(q, &v[n++]);
    }
    store_done(q);
    if (rc != SQLITE_DONE) {
        store_deployments_free(v, n);
        return store_fail(st, "reading deployments", err);
    }
    *ret_v = v;
    *ret_n = n;
    return 0;
}

int store_deployment_get(struct store *st, const char *id, struct store_deployment *ret,
                         struct wh_err *err)
{
    static const char sql[] =
        "SELECT " DEPLOYMENT_COLUMNS " FROM service_deployments WHERE id = ?";
    sqlite3_stmt *q = store_stmt(st, sql, err);
    if (!q)
        return -EIO;
    bind_text(q, 1, id);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        read_deployment(q, ret);
    store_done(q);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : store_fail(st, "reading a deployment", err);
}

int store_deployment_insert(struct store *st, struct store_deployment *d, struct wh_err *err)
{
    static const char sql[] =
        "INSERT INTO service_deployments (id, service_arn, status, task_definition, config,"
        " rollout_state, rollout_state_reason, seq, desired_count, failed_tasks, cb_failures,"
        " last_failure_at, created_at, updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, (SELECT COALESCE(MAX(seq), 0) + 1"
        "  FROM service_deployments WHERE service_arn = ?2), ?8, ?9, ?10, ?11, ?12, ?13)"
        " RETURNING seq";
    sqlite3_stmt *q = store_stmt(st, sql, err);
    if (!q)
        return -EIO;
    const char *text[] = {d->id,     d->service_arn,   d->status,
                          d->task_definition, d->config ? d->config : "{}",
                          d->rollout_state, d->rollout_state_reason};
    for (size_t i = 0; i < ARRAY_SIZE(text); i++)
        bind_text(q, (int)i + 1, text[i]);
    sqlite3_bind_int64(q, 8, d->desired_count);
    sqlite3_bind_int64(q, 9, d->failed_tasks);
    sqlite3_bind_int64(q, 10, d->cb_failures);
    bind_time(q, 11, d->last_failure_at);
    sqlite3_bind_double(q, 12, d->created_at);
    sqlite3_bind_double(q, 13, d->updated_at);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        d->seq = sqlite3_column_int64(q, 0);
        rc = sqlite3_step(q);
    }
    store_done(q);
    if (rc == SQLITE_CONSTRAINT)
        return -EEXIST;
    return rc == SQLITE_DONE ? 0 : store_fail(st, "writing a deployment", err);
}

int store_deployment_update(struct store *st, const struct store_deployment *d,
                            struct wh_err *err)
{
    static const char sql[] =
        "UPDATE service_deployments SET status = ?, desired_count = ?, rollout_state = ?,"
        " rollout_state_reason = ?, failed_tasks = ?, cb_failures = ?, last_failure_at = ?,"
        " updated_at = ? WHERE id = ?";
    sqlite3_stmt *q = store_stmt(st, sql, err);
    if (!q)
        return -EIO;
    bind_text(q, 1, d->status);
    sqlite3_bind_int64(q, 2, d->desired_count);
    bind_text(q, 3, d->rollout_state);
    bind_text(q, 4, d->rollout_state_reason);
    sqlite3_bind_int64(q, 5, d->failed_tasks);
    sqlite3_bind_int64(q, 6, d->cb_failures);
    bind_time(q, 7, d->last_failure_at);
    sqlite3_bind_double(q, 8, d->updated_at);
    bind_text(q, 9, d->id);
    int rc = sqlite3_step(q);
    store_done(q);
    if (rc != SQLITE_DONE)
        return store_fail(st, "updating a deployment", err);
    return sqlite3_changes(store_db(st)) ? 0 : -ENOENT;
}

int store_deployments_prune(struct store *st, const char *service_arn, unsigned keep,
                            struct wh_err *err)
{
    static const char sql[] =
        "DELETE FROM service_deployments WHERE service_arn = ?1 AND status = 'INACTIVE'"
        " AND seq < (SELECT seq FROM service_deployments WHERE service_arn = ?1"
        "  AND status = 'INACTIVE' ORDER BY seq DESC LIMIT 1 OFFSET ?2)";
    sqlite3_stmt *q = store_stmt(st, sql, err);
    if (!q)
        return -EIO;
    bind_text(q, 1, service_arn);
    sqlite3_bind_int64(q, 2, keep ? keep - 1 : 0);
    int rc = sqlite3_step(q);
    store_done(q);
    return rc == SQLITE_DONE ? 0 : store_fail(st, "pruning deployments", err);
}

/* ---- events ---- */

int store_service_event_add(struct store *st, const char *service_arn, const char *id,
                            double created_at, const char *message, unsigned keep,
                            struct wh_err *err)
{
    static const char ins[] =
        "INSERT INTO service_events (service_arn, id, created_at, message) VALUES (?, ?, ?, ?)";
    static const char prune[] =
        "DELETE FROM service_events WHERE service_arn = ?1 AND seq <= (SELECT seq"
        " FROM service_events WHERE service_arn = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)";
    sqlite3_stmt *q = store_stmt(st, ins, err);
    if (!q)
        return -EIO;
    bind_text(q, 1, service_arn);
    bind_text(q, 2, id);
    sqlite3_bind_double(q, 3, created_at);
    bind_text(q, 4, message);
    int rc = sqlite3_step(q);
    store_done(q);
    if (rc != SQLITE_DONE)
        return store_fail(st, "writing a service event", err);
    if (!(q = store_stmt(st, prune, err)))
        return -EIO;
    bind_text(q, 1, service_arn);
    sqlite3_bind_int64(q, 2, keep);
    rc = sqlite3_step(q);
    store_done(q);
    return rc == SQLITE_DONE ? 0 : store_fail(st, "pruning service events", err);
}

int store_service_events(struct store *st, const char *service_arn, unsigned limit,
                         struct store_service_event **ret_v, size_t *ret_n, struct wh_err *err)
{
    static const char sql[] = "SELECT id, created_at, message FROM service_events"
                              " WHERE service_arn = ? ORDER BY seq DESC LIMIT ?";
    sqlite3_stmt *q = store_stmt(st, sql, err);
    if (!q)
        return -EIO;
    bind_text(q, 1, service_arn);
    sqlite3_bind_int64(q, 2, limit);
    struct store_service_event *v = xcalloc(limit + 1, sizeof(*v));
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW && n < limit)
        v[n++] = (struct store_service_event){row_text(q, 0), row_time(q, 1), row_text(q, 2)};
    store_done(q);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        store_service_events_free(v, n);
        return store_fail(st, "reading service events", err);
    }
    *ret_v = v;
    *ret_n = n;
    return 0;
}

/* ---- task counts ---- */

void store_service_task_counts_free(struct store_service_task_count *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].started_by);
    free(v);
}

int store_service_task_counts(struct store *st, const char *cluster_arn, const char *name,
                              struct store_service_task_count **ret_v, size_t *ret_n,
                              struct wh_err *err)
{
    /* Over the partial index tasks_service_live: STOPPED history is never read. */
    static const char sql[] =
        "SELECT started_by, COUNT(*) FILTER (WHERE last_status = 'RUNNING'),"
        " COUNT(*) FILTER (WHERE last_status IN ('PROVISIONING', 'PENDING', 'ACTIVATING')),"
        " COUNT(*) FROM tasks WHERE cluster_arn = ? AND service_name = ?"
        " AND last_status != 'STOPPED' GROUP BY started_by";
    sqlite3_stmt *q = store_stmt(st, sql, err);
    if (!q)
        return -EIO;
    bind_text(q, 1, cluster_arn);
    bind_text(q, 2, name);
    struct store_service_task_count *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4;
            v = xrealloc(v, cap * sizeof(*v));
        }
        v[n++] = (struct store_service_task_count){row_text(q, 0), sqlite3_column_int64(q, 1),
                                                   sqlite3_column_int64(q, 2),
                                                   sqlite3_column_int64(q, 3)};
    }
    store_done(q);
    if (rc != SQLITE_DONE) {
        store_service_task_counts_free(v, n);
        return store_fail(st, "counting a service's tasks", err);
    }
    *ret_v = v;
    *ret_n = n;
    return 0;
}
