/* Task definition verbs over the task_definitions table (schema_ecs.c). */
#include "store/taskdefs.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "core/arn.h"
#include "core/xalloc.h"

#define COLUMNS                                                                                    \
    "family, revision, arn, status, body, registered_at, registered_by, deregistered_at, "       \
    "delete_requested_at"

static char *col_str(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? xstrdup((const char *)t) : NULL;
}

/* A row selected with COLUMNS (or its first four columns when short). */
static void row_read(sqlite3_stmt *s, struct store_taskdef *td, bool short_row)
{
    td->family = col_str(s, 0);
    td->revision = sqlite3_column_int64(s, 1);
    td->arn = col_str(s, 2);
    td->status = col_str(s, 3);
    if (short_row)
        return;
    td->body = col_str(s, 4);
    td->registered_at = sqlite3_column_double(s, 5);
    td->registered_by = col_str(s, 6);
    td->deregistered_at = sqlite3_column_double(s, 7);
    td->delete_requested_at = sqlite3_column_double(s, 8);
}

static void td_clear(struct store_taskdef *td)
{
    free(td->family);
    free(td->arn);
    free(td->status);
    free(td->body);
    free(td->registered_by);
}

void store_taskdef_free(struct store_taskdef *td)
{
    if (!td)
        return;
    td_clear(td);
    free(td);
}

void store_taskdefs_free(struct store_taskdef *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        td_clear(&v[i]);
    free(v);
}

static void bind_scope(sqlite3_stmt *s, const char *account, const char *region)
{
    sqlite3_bind_text(s, 1, account, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, region, -1, SQLITE_TRANSIENT);
}

/* Step a statement expected to yield at most one COLUMNS row. */
static int fetch_one(struct store *st, sqlite3_stmt *s, const char *what,
                     struct store_taskdef **ret_td, struct wh_err *err)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        store_done(s);
        return -ENOENT;
    }
    if (rc != SQLITE_ROW) {
        store_done(s);
        return store_fail(st, what, err);
    }
    struct store_taskdef *td = xcalloc(1, sizeof(*td));
    row_read(s, td, false);
    store_done(s);
    *ret_td = td;
    return 0;
}

int store_taskdef_get(struct store *st, const char *account, const char *region,
                      const char *family, int64_t revision, struct store_taskdef **ret_td,
                      struct wh_err *err)
{
    static const char sql[] = "SELECT " COLUMNS " FROM task_definitions "
                              "WHERE account = ?1 AND region = ?2 AND family = ?3 AND revision = ?4";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    bind_scope(s, account, region);
    sqlite3_bind_text(s, 3, family, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, revision);
    return fetch_one(st, s, "reading a task definition", ret_td, err);
}

int store_taskdef_get_latest_active(struct store *st, const char *account, const char *region,
                                    const char *family, struct store_taskdef **ret_td,
                                    struct wh_err *err)
{
    static const char sql[] = "SELECT " COLUMNS " FROM task_definitions "
                              "WHERE account = ?1 AND region = ?2 AND family = ?3 "
                              "AND status = 'ACTIVE' ORDER BY revision DESC LIMIT 1";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    bind_scope(s, account, region);
    sqlite3_bind_text(s, 3, family, -1, SQLITE_TRANSIENT);
    return fetch_one(st, s, "reading a task definition", ret_td, err);
}

struct register_args {
    const char *account, *region, *family, *body, *registered_by;
    double now;
    struct store_taskdef *out;
};

static int next_revision(struct store *st, const struct register_args *a, int64_t *ret_rev,
                         struct wh_err *err)
{
    static const char sql[] = "SELECT coalesce(max(revision), 0) + 1 FROM task_definitions "
                              "WHERE account = ?1 AND region = ?2 AND family = ?3";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    bind_scope(s, a->account, a->region);
    sqlite3_bind_text(s, 3, a->family, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_ROW) {
        store_done(s);
        return store_fail(st, "computing the next revision", err);
    }
    *ret_rev = sqlite3_column_int64(s, 0);
    store_done(s);
    return 0;
}

static int register_tx(struct store *st, void *arg, struct wh_err *err)
{
    static const char sql[] =
        "INSERT INTO task_definitions (account, region, family, revision, arn, status, body, "
        "registered_at, registered_by) VALUES (?1, ?2, ?3, ?4, ?5, 'ACTIVE', ?6, ?7, ?8)";
    struct register_args *a = arg;
    int64_t rev = 0;
    int r = next_revision(st, a, &rev, err);
    if (r < 0)
        return r;
    cleanup_free char *res = xasprintf("task-definition/%s:%lld", a->family, (long long)rev);
    cleanup_free char *arn = arn_make("ecs", a->region, a->account, res);
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    bind_scope(s, a->account, a->region);
    sqlite3_bind_text(s, 3, a->family, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, rev);
    sqlite3_bind_text(s, 5, arn, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 6, a->body, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(s, 7, a->now);
    if (a->registered_by)
        sqlite3_bind_text(s, 8, a->registered_by, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc != SQLITE_DONE)
        return store_fail(st, "inserting a task definition", err);
    struct store_taskdef *td = xcalloc(1, sizeof(*td));
    td->family = xstrdup(a->family);
    td->revision = rev;
    td->arn = TAKE_PTR(arn);
    td->status = xstrdup("ACTIVE");
    td->body = xstrdup(a->body);
    td->registered_at = a->now;
    td->registered_by = a->registered_by ? xstrdup(a->registered_by) : NULL;
    a->out = td;
    return 0;
}

int store_taskdef_register(struct store *st, const char *account, const char *region,
                           const char *family, const char *body, const char *registered_by,
                           double now, struct store_taskdef **ret_td, struct wh_err *err)
{
    struct register_args a = {account, region, family, body, registered_by, now, NULL};
    int r = store_tx(st, register_tx, &a, err);
    if (r < 0) {
        store_taskdef_free(a.out);
        return r;
    }
    *ret_td = a.out;
    return 0;
}

struct transition_args {
    const char *account, *region, *family, *from, *to;
    int64_t revision;
    double now;
};

static int transition_tx(struct store *st, void *arg, struct wh_err *err)
{
    static const char sql_inactive[] =
        "UPDATE task_definitions SET status = 'INACTIVE', deregistered_at = ?6 "
        "WHERE account = ?1 AND region = ?2 AND family = ?3 AND revision = ?4 AND status = ?5";
    static const char sql_delete[] =
        "UPDATE task_definitions SET status = 'DELETE_IN_PROGRESS', delete_requested_at = ?6 "
        "WHERE account = ?1 AND region = ?2 AND family = ?3 AND revision = ?4 AND status = ?5";
    const struct transition_args *a = arg;
    struct store_taskdef *cur = NULL;
    int r = store_taskdef_get(st, a->account, a->region, a->family, a->revision, &cur, err);
    if (r < 0)
        return r;
    bool match = strcmp(cur->status, a->from) == 0;
    store_taskdef_free(cur);
    if (!match)
        return -EAGAIN;
    const char *sql = strcmp(a->to, "INACTIVE") == 0 ? sql_inactive : sql_delete;
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    bind_scope(s, a->account, a->region);
    sqlite3_bind_text(s, 3, a->family, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, a->revision);
    sqlite3_bind_text(s, 5, a->from, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(s, 6, a->now);
    int rc = sqlite3_step(s);
    store_done(s);
    return rc == SQLITE_DONE ? 0 : store_fail(st, "updating a task definition's status", err);
}

int store_taskdef_transition(struct store *st, const char *account, const char *region,
                             const char *family, int64_t revision, const char *from,
                             const char *to, double now, struct wh_err *err)
{
    if (strcmp(to, "INACTIVE") != 0 && strcmp(to, "DELETE_IN_PROGRESS") != 0)
        return -EINVAL;
    struct transition_args a = {account, region, family, from, to, revision, now};
    return store_tx(st, transition_tx, &a, err);
}

/* Collect short rows (family, revision, arn, status) from a bound statement. */
static int collect_rows(struct store *st, sqlite3_stmt *s, struct store_taskdef **ret_v,
                        size_t *ret_n, struct wh_err *err)
{
    struct store_taskdef *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            v = xrealloc(v, cap * sizeof(*v));
        }
        memset(&v[n], 0, sizeof(v[n]));
        row_read(s, &v[n++], true);
    }
    store_done(s);
    if (rc != SQLITE_DONE) {
        store_taskdefs_free(v, n);
        return store_fail(st, "listing task definitions", err);
    }
    *ret_v = v;
    *ret_n = n;
    return 0;
}

int store_taskdefs_list(struct store *st, const char *account, const char *region,
                        const struct store_taskdef_query *q, struct store_taskdef **ret_v,
                        size_t *ret_n, struct wh_err *err)
{
    static const char sql_asc[] =
        "SELECT family, revision, arn, status FROM task_definitions "
        "WHERE account = ?1 AND region = ?2 AND status = ?3 AND (?4 IS NULL OR family = ?4) "
        "AND (?5 IS NULL OR family > ?5 OR (family = ?5 AND revision > ?6)) "
        "ORDER BY family ASC, revision ASC LIMIT ?7";
    static const char sql_desc[] =
        "SELECT family, revision, arn, status FROM task_definitions "
        "WHERE account = ?1 AND region = ?2 AND status = ?3 AND (?4 IS NULL OR family = ?4) "
        "AND (?5 IS NULL OR family < ?5 OR (family = ?5 AND revision < ?6)) "
        "ORDER BY family DESC, revision DESC LIMIT ?7";
    sqlite3_stmt *s = store_stmt(st, q->desc ? sql_desc : sql_asc, err);
    if (!s)
        return -EIO;
    bind_scope(s, account, region);
    sqlite3_bind_text(s, 3, q->status, -1, SQLITE_TRANSIENT);
    if (q->family)
        sqlite3_bind_text(s, 4, q->family, -1, SQLITE_TRANSIENT);
    if (q->after_family)
        sqlite3_bind_text(s, 5, q->after_family, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 6, q->after_revision);
    sqlite3_bind_int64(s, 7, q->limit);
    return collect_rows(st, s, ret_v, ret_n, err);
}

int store_taskdef_families(struct store *st, const char *account, const char *region,
                           const char *prefix, const char *status, const char *after,
                           unsigned limit, char ***ret_families, size_t *ret_n,
                           struct wh_err *err)
{
    /* substr rather than LIKE: '_' is both a wildcard and a common family character. */
    static const char sql[] =
        "SELECT family FROM task_definitions "
        "WHERE account = ?1 AND region = ?2 "
        "AND (?3 IS NULL OR substr(family, 1, length(?3)) = ?3) "
        "AND (?4 IS NULL OR family > ?4) "
        "GROUP BY family "
        "HAVING ?5 = 'ALL' OR (?5 = 'ACTIVE') = (max(status = 'ACTIVE') = 1) "
        "ORDER BY family ASC LIMIT ?6";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    bind_scope(s, account, region);
    if (prefix)
        sqlite3_bind_text(s, 3, prefix, -1, SQLITE_TRANSIENT);
    if (after)
        sqlite3_bind_text(s, 4, after, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 5, status, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 6, limit);
    char **v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            v = xrealloc(v, cap * sizeof(*v));
        }
        v[n++] = col_str(s, 0);
    }
    store_done(s);
    if (rc != SQLITE_DONE) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return store_fail(st, "listing task definition families", err);
    }
    *ret_families = v;
    *ret_n = n;
    return 0;
}
