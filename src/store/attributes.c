/* Attribute rows in SQLite. */
#include "store/attributes.h"

#include <sqlite3.h>

#include "core/xalloc.h"
#include "store/task_rows.h"

void store_attributes_free(struct store_attribute *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].target_id);
        free(v[i].target_type);
        free(v[i].name);
        free(v[i].value);
    }
    free(v);
}

int store_attribute_put(struct store *st, const char *cluster_arn,
                        const struct store_attribute *a, struct wh_err *err)
{
    static const char sql[] =
        "INSERT INTO attributes (cluster_arn, target_id, target_type, name, value)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (cluster_arn, target_id, name)"
        " DO UPDATE SET value = excluded.value, target_type = excluded.target_type";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    bind_text(s, 1, cluster_arn);
    bind_text(s, 2, a->target_id);
    bind_text(s, 3, a->target_type ? a->target_type : "container-instance");
    bind_text(s, 4, a->name);
    bind_text(s, 5, a->value);
    int rc = sqlite3_step(s);
    store_done(s);
    return rc == SQLITE_DONE ? 0 : store_fail(st, "writing an attribute", err);
}

int store_attribute_delete(struct store *st, const char *cluster_arn, const char *target_id,
                           const char *name, struct wh_err *err)
{
    static const char sql[] =
        "DELETE FROM attributes WHERE cluster_arn = ? AND target_id = ? AND name = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    bind_text(s, 1, cluster_arn);
    bind_text(s, 2, target_id);
    bind_text(s, 3, name);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc != SQLITE_DONE)
        return store_fail(st, "deleting an attribute", err);
    return sqlite3_changes(store_db(st)) > 0 ? 0 : -ENOENT;
}

static int collect(struct store *st, sqlite3_stmt *s, struct store_attribute **ret_v,
                   size_t *ret_n, struct wh_err *err)
{
    struct store_attribute *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            v = xrealloc(v, cap * sizeof(*v));
        }
        v[n++] = (struct store_attribute){row_text(s, 0), row_text(s, 1), row_text(s, 2),
                                          row_text(s, 3)};
    }
    store_done(s);
    if (rc != SQLITE_DONE) {
        store_attributes_free(v, n);
        return store_fail(st, "reading attributes", err);
    }
    *ret_v = v;
    *ret_n = n;
    return 0;
}

int store_attributes_of(struct store *st, const char *cluster_arn, const char *target_id,
                        struct store_attribute **ret_v, size_t *ret_n, struct wh_err *err)
{
    static const char sql[] = "SELECT target_id, target_type, name, value FROM attributes"
                              " WHERE cluster_arn = ? AND target_id = ? ORDER BY name";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    bind_text(s, 1, cluster_arn);
    bind_text(s, 2, target_id);
    return collect(st, s, ret_v, ret_n, err);
}

int store_attributes_list(struct store *st, const char *cluster_arn,
                          const struct store_attribute_query *q, struct store_attribute **ret_v,
                          size_t *ret_n, struct wh_err *err)
{
    static const char sql[] =
        "SELECT target_id, target_type, name, value FROM attributes"
        " WHERE cluster_arn = ?1 AND (?2 IS NULL OR target_type = ?2)"
        " AND (?3 IS NULL OR name = ?3) AND (?4 IS NULL OR value = ?4)"
        " AND (target_id, name) > (?5, ?6) ORDER BY target_id, name LIMIT ?7";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    bind_text(s, 1, cluster_arn);
    bind_text(s, 2, q->target_type);
    bind_text(s, 3, q->name);
    bind_text(s, 4, q->value);
    bind_text(s, 5, q->after_target ? q->after_target : "");
    bind_text(s, 6, q->after_name ? q->after_name : "");
    sqlite3_bind_int64(s, 7, q->limit ? (int64_t)q->limit : -1);
    return collect(st, s, ret_v, ret_n, err);
}
