/* ECR API bookkeeping: lifecycle runs and previews, index children. */
#include "store/ecr_extra.h"

#include <sqlite3.h>
#include <string.h>

#include "core/xalloc.h"

static char *col_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? xstrdup((const char *)t) : NULL;
}

int store_ecr_lifecycle_repos(struct store *st, int64_t after_id, unsigned limit,
                              struct store_repo **ret_v, size_t *ret_n, struct wh_err *err)
{
    static const char sql[] = "SELECT id, account, region, name, arn, lifecycle_policy_text"
                              " FROM repositories WHERE lifecycle_policy_text IS NOT NULL"
                              " AND id > ? ORDER BY id LIMIT ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, after_id);
    sqlite3_bind_int64(s, 2, limit ? (int64_t)limit : -1);
    struct store_repo *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            v = xrealloc(v, cap * sizeof(*v));
        }
        v[n++] = (struct store_repo){
            .id = sqlite3_column_int64(s, 0),
            .account = col_text(s, 1),
            .region = col_text(s, 2),
            .name = col_text(s, 3),
            .arn = col_text(s, 4),
            .lifecycle_policy_text = col_text(s, 5),
        };
    }
    store_done(s);
    if (rc != SQLITE_DONE) {
        store_repos_free(v, n);
        return store_fail(st, "listing repositories with lifecycle policies", err);
    }
    *ret_v = v;
    *ret_n = n;
    return 0;
}

int store_ecr_lifecycle_evaluated_get(struct store *st, int64_t repo_id, double *ret_at,
                                      struct wh_err *err)
{
    static const char sql[] = "SELECT last_evaluated_at FROM ecr_lifecycle_runs WHERE repo_id = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, repo_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *ret_at = sqlite3_column_double(s, 0);
    store_done(s);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : store_fail(st, "reading a lifecycle run", err);
}

int store_ecr_lifecycle_evaluated_set(struct store *st, int64_t repo_id, double at,
                                      struct wh_err *err)
{
    static const char sql[] =
        "INSERT INTO ecr_lifecycle_runs (repo_id, last_evaluated_at) VALUES (?, ?)"
        " ON CONFLICT (repo_id) DO UPDATE SET last_evaluated_at = excluded.last_evaluated_at";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, repo_id);
    sqlite3_bind_double(s, 2, at);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc == SQLITE_CONSTRAINT)
        return -ENOENT; /* the repository went away meanwhile */
    return rc == SQLITE_DONE ? 0 : store_fail(st, "recording a lifecycle run", err);
}

void store_ecr_preview_clear(struct store_ecr_preview *p)
{
    free(p->policy_text);
    free(p->results);
    memset(p, 0, sizeof(*p));
}

int store_ecr_preview_put(struct store *st, int64_t repo_id, const char *policy_text,
                          double started_at, const char *results, struct wh_err *err)
{
    static const char sql[] =
        "INSERT INTO ecr_lifecycle_previews (repo_id, policy_text, started_at, results)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (repo_id) DO UPDATE SET"
        " policy_text = excluded.policy_text, started_at = excluded.started_at,"
        " results = excluded.results";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, repo_id);
    sqlite3_bind_text(s, 2, policy_text, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 3, started_at);
    sqlite3_bind_text(s, 4, results, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc == SQLITE_CONSTRAINT)
        return -ENOENT;
    return rc == SQLITE_DONE ? 0 : store_fail(st, "storing a lifecycle preview", err);
}

int store_ecr_preview_get(struct store *st, int64_t repo_id, struct store_ecr_preview *ret,
                          struct wh_err *err)
{
    static const char sql[] = "SELECT policy_text, started_at, results FROM ecr_lifecycle_previews"
                              " WHERE repo_id = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, repo_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *ret = (struct store_ecr_preview){
            .policy_text = col_text(s, 0),
            .started_at = sqlite3_column_double(s, 1),
            .results = col_text(s, 2),
        };
    store_done(s);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : store_fail(st, "reading a lifecycle preview", err);
}

int store_ecr_manifest_parent(struct store *st, int64_t repo_id, const char *digest,
                              char **ret_parent, struct wh_err *err)
{
    static const char sql[] = "SELECT manifest_digest FROM manifest_references"
                              " WHERE repo_id = ? AND digest = ? AND kind = 'manifest'"
                              " ORDER BY manifest_digest LIMIT 1";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, repo_id);
    sqlite3_bind_text(s, 2, digest, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *ret_parent = col_text(s, 0);
    store_done(s);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : store_fail(st, "finding an image's index", err);
}

int store_ecr_manifest_children(struct store *st, int64_t repo_id, char ***ret_digests,
                                size_t *ret_n, struct wh_err *err)
{
    static const char sql[] = "SELECT DISTINCT digest FROM manifest_references"
                              " WHERE repo_id = ? AND kind = 'manifest' ORDER BY digest";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, repo_id);
    char **v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            v = xrealloc(v, cap * sizeof(*v));
        }
        v[n++] = col_text(s, 0);
    }
    store_done(s);
    if (rc != SQLITE_DONE) {
        store_strv_free(v, n);
        return store_fail(st, "listing index children", err);
    }
    *ret_digests = v;
    *ret_n = n;
    return 0;
}
