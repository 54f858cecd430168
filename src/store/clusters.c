/* Cluster rows in SQLite. */
#include "store/clusters.h"

#include <sqlite3.h>
#include <string.h>

#include "core/xalloc.h"

void store_cluster_clear(struct store_cluster *c)
{
    free(c->account);
    free(c->region);
    free(c->name);
    free(c->arn);
    free(c->status);
    free(c->settings);
    free(c->configuration);
    free(c->capacity_providers);
    free(c->default_strategy);
    free(c->service_connect_defaults);
    memset(c, 0, sizeof(*c));
}

void store_cluster_names_free(char **names)
{
    for (char **p = names; p && *p; p++)
        free(*p);
    free(names);
}

static char *col_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? xstrdup((const char *)t) : NULL;
}

int store_cluster_get(struct store *st, const char *account, const char *region, const char *name,
                      struct store_cluster *ret_cluster, struct wh_err *err)
{
    static const char sql[] =
        "SELECT arn, status, settings, configuration, capacity_providers, default_strategy,"
        " service_connect_defaults, created_at FROM clusters"
        " WHERE account = ? AND region = ? AND name = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, region, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        store_done(s);
        return rc == SQLITE_DONE ? -ENOENT : store_fail(st, "reading a cluster", err);
    }
    *ret_cluster = (struct store_cluster){
        .account = xstrdup(account),
        .region = xstrdup(region),
        .name = xstrdup(name),
        .arn = col_text(s, 0),
        .status = col_text(s, 1),
        .settings = col_text(s, 2),
        .configuration = col_text(s, 3),
        .capacity_providers = col_text(s, 4),
        .default_strategy = col_text(s, 5),
        .service_connect_defaults = col_text(s, 6),
        .created_at = sqlite3_column_double(s, 7),
    };
    store_done(s);
    return 0;
}

int store_cluster_put(struct store *st, const struct store_cluster *c, struct wh_err *err)
{
    static const char sql[] =
        "INSERT INTO clusters (account, region, name, arn, status, settings, configuration,"
        " capacity_providers, default_strategy, service_connect_defaults, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (account, region, name) DO UPDATE SET arn = excluded.arn,"
        " status = excluded.status, settings = excluded.settings,"
        " configuration = excluded.configuration,"
        " capacity_providers = excluded.capacity_providers,"
        " default_strategy = excluded.default_strategy,"
        " service_connect_defaults = excluded.service_connect_defaults,"
        " created_at = excluded.created_at";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    const char *text[] = {c->account,
                          c->region,
                          c->name,
                          c->arn,
                          c->status,
                          c->settings ? c->settings : "[]",
                          c->configuration,
                          c->capacity_providers ? c->capacity_providers : "[]",
                          c->default_strategy ? c->default_strategy : "[]",
                          c->service_connect_defaults};
    for (size_t i = 0; i < ARRAY_SIZE(text); i++)
        sqlite3_bind_text(s, (int)i + 1, text[i], -1, SQLITE_STATIC);
    sqlite3_bind_double(s, (int)ARRAY_SIZE(text) + 1, c->created_at);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc == SQLITE_CONSTRAINT)
        return -EEXIST;
    return rc == SQLITE_DONE ? 0 : store_fail(st, "writing a cluster", err);
}

int store_clusters_list_active(struct store *st, const char *account, const char *region,
                               const char *after, unsigned limit, char ***ret_names, size_t *ret_n,
                               struct wh_err *err)
{
    /* ARNs share the prefix arn:aws:ecs:REGION:ACCOUNT:cluster/, so name order is ARN order;
     * the UNIQUE (account, region, name) index serves both the filter and the order. */
    static const char sql[] = "SELECT name FROM clusters"
                              " WHERE account = ? AND region = ? AND status = 'ACTIVE'"
                              " AND name > ? ORDER BY name LIMIT ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, region, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, after ? after : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, limit);
    size_t n = 0;
    char **names = xcalloc(limit + 1, sizeof(*names));
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < limit)
        names[n++] = col_text(s, 0);
    store_done(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        store_cluster_names_free(names);
        return store_fail(st, "listing clusters", err);
    }
    *ret_names = names;
    *ret_n = n;
    return 0;
}

int store_cluster_counts(struct store *st, const char *cluster_arn,
                         struct store_cluster_counts *ret_counts, struct wh_err *err)
{
    /* Instances: the cluster's own (EC2) ones, ACTIVE or DRAINING; wharf-managed FARGATE
     * capacity is nobody's. Tasks: RUNNING, and pending = PROVISIONING / PENDING / ACTIVATING,
     * by launch type (EC2 and EXTERNAL count as EC2). Services: ACTIVE and DRAINING, by
     * where their tasks run. All over (cluster_arn, status) indexes. */
    static const char sql[] =
        /* Status lists as CTEs joined on the indexes: a constant IN (...) list makes SQLite
         * build a temporary b-tree on every run, a quarter of DescribeClusters' cost. */
        "WITH st(v) AS NOT MATERIALIZED (VALUES ('RUNNING'), ('PROVISIONING'), ('PENDING'),"
        "  ('ACTIVATING')),"
        " ci(v) AS NOT MATERIALIZED (VALUES ('ACTIVE'), ('DRAINING')),"
        " inst(n) AS NOT MATERIALIZED (SELECT COUNT(*) FROM ci CROSS JOIN container_instances i"
        "  ON i.cluster_arn = ?1 AND i.status = ci.v AND i.capacity = 'EC2')"
        " SELECT (SELECT n FROM inst),"
        " (SELECT COUNT(*) FROM services WHERE cluster_arn = ?1 AND status = 'ACTIVE'"
        "  AND launch_class != 'FARGATE'),"
        " (SELECT COUNT(*) FROM services WHERE cluster_arn = ?1 AND status = 'ACTIVE'"
        "  AND launch_class = 'FARGATE'),"
        " (SELECT COUNT(*) FROM services WHERE cluster_arn = ?1 AND status = 'DRAINING'"
        "  AND launch_class != 'FARGATE'),"
        " (SELECT COUNT(*) FROM services WHERE cluster_arn = ?1 AND status = 'DRAINING'"
        "  AND launch_class = 'FARGATE'),"
        " COUNT(*) FILTER (WHERE last_status = 'RUNNING' AND launch_type != 'FARGATE'),"
        " COUNT(*) FILTER (WHERE last_status = 'RUNNING' AND launch_type = 'FARGATE'),"
        " COUNT(*) FILTER (WHERE last_status != 'RUNNING' AND launch_type != 'FARGATE'),"
        " COUNT(*) FILTER (WHERE last_status != 'RUNNING' AND launch_type = 'FARGATE')"
        " FROM st CROSS JOIN tasks t ON t.cluster_arn = ?1 AND t.last_status = st.v";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, cluster_arn, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        store_done(s);
        return store_fail(st, "counting a cluster's instances and tasks", err);
    }
    struct store_cluster_counts k = {
        .registered_container_instances = sqlite3_column_int64(s, 0),
        .active_ec2_services = sqlite3_column_int64(s, 1),
        .active_fargate_services = sqlite3_column_int64(s, 2),
        .draining_ec2_services = sqlite3_column_int64(s, 3),
        .draining_fargate_services = sqlite3_column_int64(s, 4),
        .running_ec2_tasks = sqlite3_column_int64(s, 5),
        .running_fargate_tasks = sqlite3_column_int64(s, 6),
        .pending_ec2_tasks = sqlite3_column_int64(s, 7),
        .pending_fargate_tasks = sqlite3_column_int64(s, 8),
    };
    *ret_counts = k;
    store_done(s);
    return 0;
}
