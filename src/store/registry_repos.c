/* Repository rows (ECR repositories). */
#include <sqlite3.h>
#include <string.h>

#include "core/xalloc.h"
#include "store/registry.h"

#define REPO_COLS                                                                                  \
    "id, account, region, name, arn, created_at, image_tag_mutability, mutability_exclusions,"   \
    " scan_on_push, encryption_type, kms_key, policy_text, lifecycle_policy_text,"                \
    " lifecycle_updated_at"

void store_repo_clear(struct store_repo *r)
{
    free(r->account);
    free(r->region);
    free(r->name);
    free(r->arn);
    free(r->image_tag_mutability);
    free(r->mutability_exclusions);
    free(r->encryption_type);
    free(r->kms_key);
    free(r->policy_text);
    free(r->lifecycle_policy_text);
    memset(r, 0, sizeof(*r));
}

void store_repos_free(struct store_repo *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        store_repo_clear(&v[i]);
    free(v);
}

static char *col_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? xstrdup((const char *)t) : NULL;
}

static void repo_from_row(sqlite3_stmt *s, struct store_repo *r)
{
    *r = (struct store_repo){
        .id = sqlite3_column_int64(s, 0),
        .account = col_text(s, 1),
        .region = col_text(s, 2),
        .name = col_text(s, 3),
        .arn = col_text(s, 4),
        .created_at = sqlite3_column_double(s, 5),
        .image_tag_mutability = col_text(s, 6),
        .mutability_exclusions = col_text(s, 7),
        .scan_on_push = sqlite3_column_int(s, 8) != 0,
        .encryption_type = col_text(s, 9),
        .kms_key = col_text(s, 10),
        .policy_text = col_text(s, 11),
        .lifecycle_policy_text = col_text(s, 12),
        .lifecycle_updated_at = sqlite3_column_double(s, 13),
    };
}

int store_repo_create(struct store *st, const struct store_repo *r, int64_t *ret_id,
                      struct wh_err *err)
{
    static const char sql[] =
        "INSERT INTO repositories (account, region, name, arn, created_at, image_tag_mutability,"
        " mutability_exclusions, scan_on_push, encryption_type, kms_key)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, r->account, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, r->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, r->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, r->arn, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 5, r->created_at);
    sqlite3_bind_text(s, 6, r->image_tag_mutability ? r->image_tag_mutability : STORE_MUTABLE, -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(s, 7, r->mutability_exclusions, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 8, r->scan_on_push);
    sqlite3_bind_text(s, 9, r->encryption_type ? r->encryption_type : "AES256", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 10, r->kms_key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc == SQLITE_CONSTRAINT)
        return -EEXIST;
    if (rc != SQLITE_DONE)
        return store_fail(st, "creating a repository", err);
    if (ret_id)
        *ret_id = sqlite3_last_insert_rowid(store_db(st));
    return 0;
}

int store_repo_get(struct store *st, const char *account, const char *region, const char *name,
                   struct store_repo *ret, struct wh_err *err)
{
    static const char sql[] = "SELECT " REPO_COLS " FROM repositories"
                              " WHERE account = ? AND region = ? AND name = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, region, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        repo_from_row(s, ret);
    store_done(s);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : store_fail(st, "reading a repository", err);
}

int store_repo_list(struct store *st, const char *account, const char *region, const char *after,
                    unsigned limit, struct store_repo **ret_v, size_t *ret_n, bool *ret_more,
                    struct wh_err *err)
{
    static const char sql[] = "SELECT " REPO_COLS " FROM repositories"
                              " WHERE account = ? AND region = ? AND name > ?"
                              " ORDER BY name LIMIT ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, region, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, after ? after : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, limit ? (int64_t)limit + 1 : -1);
    struct store_repo *v = NULL;
    size_t n = 0, cap = 0;
    bool more = false;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (limit && n == limit) {
            more = true;
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            v = xrealloc(v, cap * sizeof(*v));
        }
        repo_from_row(s, &v[n++]);
    }
    store_done(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        store_repos_free(v, n);
        return store_fail(st, "listing repositories", err);
    }
    *ret_v = v;
    *ret_n = n;
    if (ret_more)
        *ret_more = more;
    return 0;
}

int store_repo_count_images(struct store *st, int64_t repo_id, int64_t *ret_n, struct wh_err *err)
{
    static const char sql[] = "SELECT count(*) FROM manifests WHERE repo_id = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, repo_id);
    int rc = sqlite3_step(s);
    int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    store_done(s);
    if (rc != SQLITE_ROW)
        return store_fail(st, "counting images", err);
    *ret_n = n;
    return 0;
}

struct delete_arg {
    const char *account, *region, *name;
    bool force;
    struct store_repo repo;
};

static int delete_tx(struct store *st, void *arg, struct wh_err *err)
{
    static const char del[] = "DELETE FROM repositories WHERE id = ?";
    struct delete_arg *a = arg;
    int r = store_repo_get(st, a->account, a->region, a->name, &a->repo, err);
    if (r < 0)
        return r;
    if (!a->force) {
        int64_t n = 0;
        r = store_repo_count_images(st, a->repo.id, &n, err);
        if (r < 0)
            return r;
        if (n > 0)
            return -ENOTEMPTY;
    }
    sqlite3_stmt *s = store_stmt(st, del, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, a->repo.id);
    int rc = sqlite3_step(s);
    store_done(s);
    return rc == SQLITE_DONE ? 0 : store_fail(st, "deleting a repository", err);
}

int store_repo_delete(struct store *st, const char *account, const char *region, const char *name,
                      bool force, struct store_repo *ret, struct wh_err *err)
{
    struct delete_arg a = {account, region, name, force, {0}};
    int r = store_tx(st, delete_tx, &a, err);
    if (r == 0 && ret)
        *ret = a.repo;
    else
        store_repo_clear(&a.repo);
    return r;
}

/* One UPDATE of a repository row; -ENOENT when no row changed. */
static int update_row(struct store *st, sqlite3_stmt *s, const char *what, struct wh_err *err)
{
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc != SQLITE_DONE)
        return store_fail(st, what, err);
    return sqlite3_changes(store_db(st)) > 0 ? 0 : -ENOENT;
}

int store_repo_set_mutability(struct store *st, int64_t repo_id, const char *mutability,
                              const char *exclusions_json, struct wh_err *err)
{
    static const char sql[] = "UPDATE repositories SET image_tag_mutability = ?,"
                              " mutability_exclusions = ? WHERE id = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, mutability, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, exclusions_json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, repo_id);
    return update_row(st, s, "setting image tag mutability", err);
}

int store_repo_set_scan_on_push(struct store *st, int64_t repo_id, bool scan_on_push,
                                struct wh_err *err)
{
    static const char sql[] = "UPDATE repositories SET scan_on_push = ? WHERE id = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int(s, 1, scan_on_push);
    sqlite3_bind_int64(s, 2, repo_id);
    return update_row(st, s, "setting scan on push", err);
}

int store_repo_set_policy(struct store *st, int64_t repo_id, const char *policy_text,
                          struct wh_err *err)
{
    static const char sql[] = "UPDATE repositories SET policy_text = ? WHERE id = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, policy_text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, repo_id);
    return update_row(st, s, "setting a repository policy", err);
}

int store_repo_set_lifecycle(struct store *st, int64_t repo_id, const char *policy_text,
                             double now, struct wh_err *err)
{
    static const char sql[] = "UPDATE repositories SET lifecycle_policy_text = ?,"
                              " lifecycle_updated_at = ? WHERE id = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, policy_text, -1, SQLITE_STATIC);
    if (policy_text)
        sqlite3_bind_double(s, 2, now);
    else
        sqlite3_bind_null(s, 2);
    sqlite3_bind_int64(s, 3, repo_id);
    return update_row(st, s, "setting a lifecycle policy", err);
}
