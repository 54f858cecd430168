/* Resource tags in SQLite. */
#include "store/tags.h"

#include <sqlite3.h>

#include "core/xalloc.h"

void store_resource_tags_free(struct store_resource_tag *tags, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(tags[i].key);
        free(tags[i].value);
    }
    free(tags);
}

int store_resource_tags_get(struct store *st, const char *arn, struct store_resource_tag **ret_tags,
                            size_t *ret_n, struct wh_err *err)
{
    static const char sql[] = "SELECT key, value FROM tags WHERE resource_arn = ? ORDER BY key";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, arn, -1, SQLITE_STATIC);
    struct store_resource_tag *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            v = xrealloc(v, cap * sizeof(*v));
        }
        v[n].key = xstrdup((const char *)sqlite3_column_text(s, 0));
        v[n].value = xstrdup((const char *)sqlite3_column_text(s, 1));
        n++;
    }
    store_done(s);
    if (rc != SQLITE_DONE) {
        store_resource_tags_free(v, n);
        return store_fail(st, "reading tags", err);
    }
    *ret_tags = v;
    *ret_n = n;
    return 0;
}

int store_resource_tag_put(struct store *st, const char *arn, const char *key, const char *value,
                           struct wh_err *err)
{
    static const char sql[] =
        "INSERT INTO tags (resource_arn, key, value) VALUES (?, ?, ?)"
        " ON CONFLICT (resource_arn, key) DO UPDATE SET value = excluded.value";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, arn, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    store_done(s);
    return rc == SQLITE_DONE ? 0 : store_fail(st, "writing a tag", err);
}

static int exec_arn_key(struct store *st, const char *sql, const char *arn, const char *key,
                        const char *what, struct wh_err *err)
{
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, arn, -1, SQLITE_STATIC);
    if (key)
        sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    store_done(s);
    return rc == SQLITE_DONE ? 0 : store_fail(st, what, err);
}

int store_resource_tag_delete(struct store *st, const char *arn, const char *key,
                              struct wh_err *err)
{
    static const char sql[] = "DELETE FROM tags WHERE resource_arn = ? AND key = ?";
    return exec_arn_key(st, sql, arn, key, "deleting a tag", err);
}

int store_resource_tags_delete_all(struct store *st, const char *arn, struct wh_err *err)
{
    static const char sql[] = "DELETE FROM tags WHERE resource_arn = ?";
    return exec_arn_key(st, sql, arn, NULL, "deleting tags", err);
}

int store_resource_tags_count(struct store *st, const char *arn, struct wh_err *err)
{
    static const char sql[] = "SELECT count(*) FROM tags WHERE resource_arn = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, arn, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    int n = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    store_done(s);
    return rc == SQLITE_ROW ? n : store_fail(st, "counting tags", err);
}

int store_resource_status(struct store *st, const char *arn, char **ret_status, struct wh_err *err)
{
    /* One lookup over every table of taggable resources; add a UNION arm per new table
     * (services, tasks, container instances, capacity providers). */
    static const char sql[] = "SELECT status FROM clusters WHERE arn = ?1"
                              " UNION ALL SELECT status FROM task_definitions WHERE arn = ?1"
                              " UNION ALL SELECT last_status FROM tasks WHERE arn = ?1"
                              " UNION ALL SELECT status FROM container_instances WHERE arn = ?1";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, arn, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        store_done(s);
        return rc == SQLITE_DONE ? -ENOENT : store_fail(st, "looking up a resource", err);
    }
    *ret_status = xstrdup((const char *)sqlite3_column_text(s, 0));
    store_done(s);
    return 0;
}
