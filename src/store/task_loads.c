/* Instance loads in SQLite: the task_loads table and the port-holding tasks' index. */
#include "store/task_loads.h"

#include <sqlite3.h>
#include <string.h>

#include "core/xalloc.h"
#include "store/task_rows.h"

/* The instances as store_instances_list picks them (cluster, or capacity in account/region). */
#define BY_CLUSTER                                                                                 \
    " WHERE +i.account = ?1 AND +i.region = ?2 AND i.cluster_arn = ?3"                             \
    " AND (?4 IS NULL OR i.capacity = ?4) AND (?5 OR i.status != 'INACTIVE')"                      \
    " AND (?6 IS NULL OR i.status = ?6)"
#define BY_CAPACITY                                                                                \
    " WHERE i.account = ?1 AND i.region = ?2 AND (?3 IS NULL) AND i.capacity = ?4"                 \
    " AND (?5 OR i.status != 'INACTIVE') AND (?6 IS NULL OR i.status = ?6)"

#define LOADS                                                                                      \
    "SELECT l.instance_arn, l.task_group, l.tasks, l.running, l.pending, l.cpu, l.memory"         \
    " FROM container_instances i JOIN task_loads l ON l.instance_arn = i.arn"
static const char loads_cluster[] = LOADS BY_CLUSTER " ORDER BY l.instance_arn";
static const char loads_capacity[] = LOADS BY_CAPACITY " ORDER BY l.instance_arn";

/* The join's condition repeats the partial index's WHERE, so tasks_ports_live serves it. */
#define PORTS                                                                                      \
    "SELECT t.container_instance_arn, t.ports_tcp, t.ports_udp"                                    \
    " FROM container_instances i JOIN tasks t ON t.container_instance_arn = i.arn"                 \
    " AND t.last_status != 'STOPPED' AND (t.ports_tcp != '[]' OR t.ports_udp != '[]')"
static const char ports_cluster[] = PORTS BY_CLUSTER " ORDER BY i.arn";
static const char ports_capacity[] = PORTS BY_CAPACITY " ORDER BY i.arn";

static sqlite3_stmt *prepare(struct store *st, const char *by_cluster, const char *by_capacity,
                             const char *account, const char *region,
                             const struct store_instance_query *q, struct wh_err *err)
{
    sqlite3_stmt *s = store_stmt(st, q->cluster_arn ? by_cluster : by_capacity, err);
    if (!s)
        return NULL;
    bind_text(s, 1, account);
    bind_text(s, 2, region);
    bind_text(s, 3, q->cluster_arn);
    bind_text(s, 4, q->capacity);
    sqlite3_bind_int(s, 5, q->include_inactive);
    bind_text(s, 6, q->status);
    return s;
}

void store_task_loads_free(struct store_task_load *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].instance_arn);
        free(v[i].group);
    }
    free(v);
}

int store_task_loads(struct store *st, const char *account, const char *region,
                     const struct store_instance_query *q, struct store_task_load **ret_v,
                     size_t *ret_n, struct wh_err *err)
{
    sqlite3_stmt *s = prepare(st, loads_cluster, loads_capacity, account, region, q, err);
    if (!s)
        return -EIO;
    struct store_task_load *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            v = xrealloc(v, cap * sizeof(*v));
        }
        v[n++] = (struct store_task_load){row_text(s, 0), row_text(s, 1),
                                          sqlite3_column_int64(s, 2), sqlite3_column_int64(s, 3),
                                          sqlite3_column_int64(s, 4), sqlite3_column_int64(s, 5),
                                          sqlite3_column_int64(s, 6)};
    }
    store_done(s);
    if (rc != SQLITE_DONE) {
        store_task_loads_free(v, n);
        return store_fail(st, "reading the instances' loads", err);
    }
    *ret_v = v;
    *ret_n = n;
    return 0;
}

void store_task_ports_free(struct store_task_ports *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].instance_arn);
        free(v[i].tcp);
        free(v[i].udp);
    }
    free(v);
}

int store_task_ports_held(struct store *st, const char *account, const char *region,
                          const struct store_instance_query *q, struct store_task_ports **ret_v,
                          size_t *ret_n, struct wh_err *err)
{
    sqlite3_stmt *s = prepare(st, ports_cluster, ports_capacity, account, region, q, err);
    if (!s)
        return -EIO;
    struct store_task_ports *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            v = xrealloc(v, cap * sizeof(*v));
        }
        v[n++] = (struct store_task_ports){row_text(s, 0), row_text(s, 1), row_text(s, 2)};
    }
    store_done(s);
    if (rc != SQLITE_DONE) {
        store_task_ports_free(v, n);
        return store_fail(st, "reading the instances' host ports", err);
    }
    *ret_v = v;
    *ret_n = n;
    return 0;
}
