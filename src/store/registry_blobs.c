/* Blob rows, repository links, upload sessions and blob garbage-collection queries. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "core/xalloc.h"
#include "store/registry.h"

int store_blob_get(struct store *st, int64_t repo_id, const char *digest, int64_t *ret_size,
                   struct wh_err *err)
{
    static const char any_sql[] = "SELECT size FROM blobs WHERE digest = ?2";
    static const char repo_sql[] =
        "SELECT b.size FROM repository_blobs l JOIN blobs b ON b.digest = l.digest"
        " WHERE l.repo_id = ?1 AND l.digest = ?2";
    sqlite3_stmt *s = store_stmt(st, repo_id ? repo_sql : any_sql, err);
    if (!s)
        return -EIO;
    if (repo_id)
        sqlite3_bind_int64(s, 1, repo_id);
    sqlite3_bind_text(s, 2, digest, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    int64_t size = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    store_done(s);
    if (rc == SQLITE_ROW) {
        *ret_size = size;
        return 0;
    }
    return rc == SQLITE_DONE ? -ENOENT : store_fail(st, "reading a blob", err);
}

int store_blob_stat(struct store *st, int64_t repo_id, const char *digest, int64_t *ret_size,
                    double *ret_linked_at, bool *ret_referenced, struct wh_err *err)
{
    static const char sql[] =
        "SELECT b.size, l.linked_at,"
        " EXISTS (SELECT 1 FROM manifest_references r WHERE r.digest = l.digest)"
        " FROM repository_blobs l JOIN blobs b ON b.digest = l.digest"
        " WHERE l.repo_id = ? AND l.digest = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, repo_id);
    sqlite3_bind_text(s, 2, digest, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *ret_size = sqlite3_column_int64(s, 0);
        *ret_linked_at = sqlite3_column_double(s, 1);
        *ret_referenced = sqlite3_column_int(s, 2) != 0;
    }
    store_done(s);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : store_fail(st, "reading a blob", err);
}

static int link_blob(struct store *st, int64_t repo_id, const char *digest, double now,
                     struct wh_err *err)
{
    static const char sql[] =
        "INSERT INTO repository_blobs (repo_id, digest, linked_at) VALUES (?, ?, ?)"
        " ON CONFLICT (repo_id, digest) DO UPDATE SET linked_at = excluded.linked_at";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, repo_id);
    sqlite3_bind_text(s, 2, digest, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 3, now);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc == SQLITE_CONSTRAINT)
        return -ENOENT; /* the blob (or the repository) is gone */
    return rc == SQLITE_DONE ? 0 : store_fail(st, "linking a blob", err);
}

struct commit_arg {
    int64_t repo_id;
    const char *digest;
    int64_t size;
    double now;
};

static int commit_tx(struct store *st, void *arg, struct wh_err *err)
{
    static const char sql[] = "INSERT INTO blobs (digest, size, created_at) VALUES (?, ?, ?)"
                              " ON CONFLICT (digest) DO NOTHING";
    struct commit_arg *a = arg;
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, a->digest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, a->size);
    sqlite3_bind_double(s, 3, a->now);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc != SQLITE_DONE)
        return store_fail(st, "recording a blob", err);
    return link_blob(st, a->repo_id, a->digest, a->now, err);
}

int store_blob_commit(struct store *st, int64_t repo_id, const char *digest, int64_t size,
                      double now, struct wh_err *err)
{
    struct commit_arg a = {repo_id, digest, size, now};
    return store_tx(st, commit_tx, &a, err);
}

int store_blob_link(struct store *st, int64_t repo_id, const char *digest, double now,
                    struct wh_err *err)
{
    return link_blob(st, repo_id, digest, now, err);
}

int store_blob_unlink(struct store *st, int64_t repo_id, const char *digest, struct wh_err *err)
{
    static const char sql[] = "DELETE FROM repository_blobs WHERE repo_id = ? AND digest = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, repo_id);
    sqlite3_bind_text(s, 2, digest, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc != SQLITE_DONE)
        return store_fail(st, "unlinking a blob", err);
    return sqlite3_changes(store_db(st)) > 0 ? 0 : -ENOENT;
}

int store_blob_known(struct store *st, const char *digest, struct wh_err *err)
{
    int64_t size;
    int r = store_blob_get(st, 0, digest, &size, err);
    return r == 0 ? 1 : r == -ENOENT ? 0 : r;
}

/* ---- uploads ---- */

int store_upload_create(struct store *st, const struct store_upload *u, struct wh_err *err)
{
    static const char sql[] = "INSERT INTO uploads (uuid, repo_id, received, created_at,"
                              " updated_at) VALUES (?, ?, ?, ?, ?)";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, u->uuid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, u->repo_id);
    sqlite3_bind_int64(s, 3, u->received);
    sqlite3_bind_double(s, 4, u->created_at);
    sqlite3_bind_double(s, 5, u->updated_at);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc == SQLITE_CONSTRAINT)
        return -EEXIST;
    return rc == SQLITE_DONE ? 0 : store_fail(st, "creating an upload", err);
}

static void upload_from_row(sqlite3_stmt *s, struct store_upload *u)
{
    *u = (struct store_upload){
        .repo_id = sqlite3_column_int64(s, 1),
        .received = sqlite3_column_int64(s, 2),
        .created_at = sqlite3_column_double(s, 3),
        .updated_at = sqlite3_column_double(s, 4),
    };
    const unsigned char *t = sqlite3_column_text(s, 0);
    snprintf(u->uuid, sizeof(u->uuid), "%s", t ? (const char *)t : "");
}

int store_upload_get(struct store *st, const char *uuid, struct store_upload *ret,
                     struct wh_err *err)
{
    static const char sql[] = "SELECT uuid, repo_id, received, created_at, updated_at"
                              " FROM uploads WHERE uuid = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, uuid, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        upload_from_row(s, ret);
    store_done(s);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : store_fail(st, "reading an upload", err);
}

int store_upload_set_received(struct store *st, const char *uuid, int64_t received, double now,
                              struct wh_err *err)
{
    static const char sql[] = "UPDATE uploads SET received = ?, updated_at = ? WHERE uuid = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, received);
    sqlite3_bind_double(s, 2, now);
    sqlite3_bind_text(s, 3, uuid, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc != SQLITE_DONE)
        return store_fail(st, "updating an upload", err);
    return sqlite3_changes(store_db(st)) > 0 ? 0 : -ENOENT;
}

int store_upload_delete(struct store *st, const char *uuid, struct wh_err *err)
{
    static const char sql[] = "DELETE FROM uploads WHERE uuid = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, uuid, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc != SQLITE_DONE)
        return store_fail(st, "deleting an upload", err);
    return sqlite3_changes(store_db(st)) > 0 ? 0 : -ENOENT;
}

int store_upload_stale(struct store *st, double before, unsigned limit,
                       struct store_upload **ret_v, size_t *ret_n, struct wh_err *err)
{
    static const char sql[] = "SELECT uuid, repo_id, received, created_at, updated_at"
                              " FROM uploads WHERE updated_at < ? ORDER BY updated_at LIMIT ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_double(s, 1, before);
    sqlite3_bind_int64(s, 2, limit ? (int64_t)limit : -1);
    struct store_upload *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            v = xrealloc(v, cap * sizeof(*v));
        }
        upload_from_row(s, &v[n++]);
    }
    store_done(s);
    if (rc != SQLITE_DONE) {
        free(v);
        return store_fail(st, "listing stale uploads", err);
    }
    *ret_v = v;
    *ret_n = n;
    return 0;
}

/* ---- garbage collection ---- */

/* A blob is collectable when no manifest anywhere references it and neither its commit nor any
 * repository's link to it is recent. The same condition guards the delete, inside its
 * transaction, so a manifest push that lands in between wins. */
#define GC_CANDIDATE                                                                               \
    " b.created_at < ?1"                                                                           \
    " AND NOT EXISTS (SELECT 1 FROM manifest_references r WHERE r.digest = b.digest)"            \
    " AND NOT EXISTS (SELECT 1 FROM repository_blobs l WHERE l.digest = b.digest"                \
    "                 AND l.linked_at >= ?1)"

int store_gc_blob_candidates(struct store *st, double before, unsigned limit, char ***ret_digests,
                             size_t *ret_n, struct wh_err *err)
{
    static const char sql[] = "SELECT b.digest FROM blobs b WHERE" GC_CANDIDATE " LIMIT ?2";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_double(s, 1, before);
    sqlite3_bind_int64(s, 2, limit ? (int64_t)limit : -1);
    char **v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            v = xrealloc(v, cap * sizeof(*v));
        }
        v[n++] = xstrdup((const char *)sqlite3_column_text(s, 0));
    }
    store_done(s);
    if (rc != SQLITE_DONE) {
        store_strv_free(v, n);
        return store_fail(st, "listing collectable blobs", err);
    }
    *ret_digests = v;
    *ret_n = n;
    return 0;
}

struct forget_arg {
    const char *digest;
    double before;
};

static int forget_tx(struct store *st, void *arg, struct wh_err *err)
{
    static const char check[] = "SELECT 1 FROM blobs b WHERE b.digest = ?2 AND" GC_CANDIDATE;
    static const char del_links[] = "DELETE FROM repository_blobs WHERE digest = ?";
    static const char del_blob[] = "DELETE FROM blobs WHERE digest = ?";
    struct forget_arg *a = arg;
    sqlite3_stmt *s = store_stmt(st, check, err);
    if (!s)
        return -EIO;
    sqlite3_bind_double(s, 1, a->before);
    sqlite3_bind_text(s, 2, a->digest, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc == SQLITE_DONE)
        return -EBUSY;
    if (rc != SQLITE_ROW)
        return store_fail(st, "re-checking a collectable blob", err);
    const char *const dels[] = {del_links, del_blob};
    for (size_t i = 0; i < ARRAY_SIZE(dels); i++) {
        s = store_stmt(st, dels[i], err);
        if (!s)
            return -EIO;
        sqlite3_bind_text(s, 1, a->digest, -1, SQLITE_STATIC);
        rc = sqlite3_step(s);
        store_done(s);
        if (rc != SQLITE_DONE)
            return store_fail(st, "forgetting a blob", err);
    }
    return 0;
}

int store_gc_blob_forget(struct store *st, const char *digest, double before, struct wh_err *err)
{
    struct forget_arg a = {digest, before};
    return store_tx(st, forget_tx, &a, err);
}
