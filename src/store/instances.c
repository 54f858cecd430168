/* Container instance rows in SQLite. */
#include "store/instances.h"

#include <sqlite3.h>
#include <string.h>

#include "core/xalloc.h"
#include "store/task_rows.h"

void store_instance_clear(struct store_instance *in)
{
    free(in->account);
    free(in->region);
    free(in->cluster_arn);
    free(in->arn);
    free(in->ec2_instance_id);
    free(in->capacity);
    free(in->status);
    free(in->status_reason);
    free(in->agent_version);
    free(in->version_info);
    free(in->ports_tcp);
    free(in->ports_udp);
    free(in->subnet_awsvpc);
    free(in->subnet_bridge);
    memset(in, 0, sizeof(*in));
}

void store_instances_free(struct store_instance *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_instance_clear(&v[i]);
    free(v);
}

#define COLUMNS                                                                                    \
    "account, region, cluster_arn, arn, ec2_instance_id, capacity, status, status_reason,"        \
    " agent_version, version_info, total_cpu, total_memory, ports_tcp, ports_udp,"                \
    " registered_at, last_poll, desired_version, subnet_awsvpc, subnet_bridge"

static void read_row(sqlite3_stmt *s, struct store_instance *in)
{
    *in = (struct store_instance){
        .account = row_text(s, 0),
        .region = row_text(s, 1),
        .cluster_arn = row_text(s, 2),
        .arn = row_text(s, 3),
        .ec2_instance_id = row_text(s, 4),
        .capacity = row_text(s, 5),
        .status = row_text(s, 6),
        .status_reason = row_text(s, 7),
        .agent_version = row_text(s, 8),
        .version_info = row_text(s, 9),
        .total_cpu = sqlite3_column_int64(s, 10),
        .total_memory = sqlite3_column_int64(s, 11),
        .ports_tcp = row_text(s, 12),
        .ports_udp = row_text(s, 13),
        .registered_at = row_time(s, 14),
        .last_poll = row_time(s, 15),
        .desired_version = sqlite3_column_int64(s, 16),
        .subnet_awsvpc = row_text(s, 17),
        .subnet_bridge = row_text(s, 18),
    };
}

int store_instance_get(struct store *st, const char *account, const char *region, const char *arn,
                       struct store_instance *ret_inst, struct wh_err *err)
{
    static const char sql[] = "SELECT " COLUMNS " FROM container_instances"
                              " WHERE arn = ? AND account = ? AND region = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    bind_text(s, 1, arn);
    bind_text(s, 2, account);
    bind_text(s, 3, region);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        read_row(s, ret_inst);
    store_done(s);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : store_fail(st, "reading a container instance", err);
}

int store_instance_put(struct store *st, const struct store_instance *in, struct wh_err *err)
{
    static const char sql[] =
        "INSERT INTO container_instances (" COLUMNS ")"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (arn) DO UPDATE SET cluster_arn = excluded.cluster_arn,"
        " ec2_instance_id = excluded.ec2_instance_id, capacity = excluded.capacity,"
        " status = excluded.status, status_reason = excluded.status_reason,"
        " agent_version = excluded.agent_version, version_info = excluded.version_info,"
        " total_cpu = excluded.total_cpu, total_memory = excluded.total_memory,"
        " ports_tcp = excluded.ports_tcp, ports_udp = excluded.ports_udp,"
        " last_poll = excluded.last_poll, subnet_awsvpc = excluded.subnet_awsvpc,"
        " subnet_bridge = excluded.subnet_bridge";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    const char *text[] = {in->account,       in->region,        in->cluster_arn,
                          in->arn,           in->ec2_instance_id, in->capacity,
                          in->status,        in->status_reason, in->agent_version,
                          in->version_info ? in->version_info : "{}"};
    for (size_t i = 0; i < ARRAY_SIZE(text); i++)
        bind_text(s, (int)i + 1, text[i]);
    sqlite3_bind_int64(s, 11, in->total_cpu);
    sqlite3_bind_int64(s, 12, in->total_memory);
    bind_text(s, 13, in->ports_tcp ? in->ports_tcp : "[]");
    bind_text(s, 14, in->ports_udp ? in->ports_udp : "[]");
    sqlite3_bind_double(s, 15, in->registered_at);
    sqlite3_bind_double(s, 16, in->last_poll);
    sqlite3_bind_int64(s, 17, in->desired_version > 0 ? in->desired_version : 1);
    bind_text(s, 18, in->subnet_awsvpc);
    bind_text(s, 19, in->subnet_bridge);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc == SQLITE_CONSTRAINT)
        return -EEXIST;
    return rc == SQLITE_DONE ? 0 : store_fail(st, "writing a container instance", err);
}

/* Run a one-row UPDATE whose first parameters are bound by the caller; -ENOENT when no row
 * changed. */
static int update_one(struct store *st, sqlite3_stmt *s, const char *what, struct wh_err *err)
{
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc != SQLITE_DONE)
        return store_fail(st, what, err);
    return sqlite3_changes(store_db(st)) > 0 ? 0 : -ENOENT;
}

int store_instance_set_status(struct store *st, const char *arn, const char *status,
                              const char *reason, struct wh_err *err)
{
    static const char sql[] = "UPDATE container_instances SET status = ?, status_reason = ?,"
                              " desired_version = desired_version + 1 WHERE arn = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    bind_text(s, 1, status);
    bind_text(s, 2, reason);
    bind_text(s, 3, arn);
    return update_one(st, s, "updating a container instance's status", err);
}

int store_instance_touch(struct store *st, const char *arn, double now, struct wh_err *err)
{
    static const char sql[] = "UPDATE container_instances SET last_poll = ? WHERE arn = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_double(s, 1, now);
    bind_text(s, 2, arn);
    return update_one(st, s, "recording an agent's poll", err);
}

int store_instance_bump(struct store *st, const char *arn, struct wh_err *err)
{
    static const char sql[] =
        "UPDATE container_instances SET desired_version = desired_version + 1 WHERE arn = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    bind_text(s, 1, arn);
    return update_one(st, s, "bumping a container instance's version", err);
}

void store_subnets_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

int store_instances_subnets(struct store *st, const char *except, char ***ret_v, size_t *ret_n,
                            struct wh_err *err)
{
    static const char sql[] = "SELECT subnet_awsvpc, subnet_bridge FROM container_instances"
                              " WHERE subnet_awsvpc IS NOT NULL AND status != 'INACTIVE'"
                              " AND arn != ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    bind_text(s, 1, except ? except : "");
    char **v = xcalloc(1, sizeof(char *));
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        v = xrealloc(v, (n + 3) * sizeof(char *));
        for (int i = 0; i < 2; i++)
            if (sqlite3_column_type(s, i) != SQLITE_NULL)
                v[n++] = row_text(s, i);
        v[n] = NULL;
    }
    store_done(s);
    if (rc != SQLITE_DONE) {
        store_subnets_free(v);
        return store_fail(st, "reading the instances' task subnets", err);
    }
    *ret_v = v;
    *ret_n = n;
    return 0;
}

/* Two statements so each uses its index: by cluster (container_instances_cluster; the unary +
 * keeps the planner off the capacity index), or by capacity in account/region. ?5 (include
 * INACTIVE) and ?6 (exact status) narrow both. */
static const char list_by_cluster[] =
    "SELECT " COLUMNS " FROM container_instances"
    " WHERE +account = ?1 AND +region = ?2 AND cluster_arn = ?3 AND (?4 IS NULL OR capacity = ?4)"
    " AND (?5 OR status != 'INACTIVE') AND (?6 IS NULL OR status = ?6) AND arn > ?7"
    " ORDER BY arn LIMIT ?8";
static const char list_by_capacity[] =
    "SELECT " COLUMNS " FROM container_instances"
    " WHERE account = ?1 AND region = ?2 AND (?3 IS NULL) AND capacity = ?4"
    " AND (?5 OR status != 'INACTIVE') AND (?6 IS NULL OR status = ?6) AND arn > ?7"
    " ORDER BY arn LIMIT ?8";

int store_instances_list(struct store *st, const char *account, const char *region,
                         const struct store_instance_query *q, struct store_instance **ret_v,
                         size_t *ret_n, struct wh_err *err)
{
    sqlite3_stmt *s = store_stmt(st, q->cluster_arn ? list_by_cluster : list_by_capacity, err);
    if (!s)
        return -EIO;
    bind_text(s, 1, account);
    bind_text(s, 2, region);
    bind_text(s, 3, q->cluster_arn);
    bind_text(s, 4, q->capacity);
    sqlite3_bind_int(s, 5, q->include_inactive);
    bind_text(s, 6, q->status);
    bind_text(s, 7, q->after ? q->after : "");
    sqlite3_bind_int64(s, 8, q->limit ? (int64_t)q->limit : -1);
    struct store_instance *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            v = xrealloc(v, cap * sizeof(*v));
        }
        read_row(s, &v[n++]);
    }
    store_done(s);
    if (rc != SQLITE_DONE) {
        store_instances_free(v, n);
        return store_fail(st, "listing container instances", err);
    }
    *ret_v = v;
    *ret_n = n;
    return 0;
}
