/* Manifests and image tags. */
#include <sqlite3.h>
#include <string.h>

#include "core/xalloc.h"
#include "store/registry.h"

#define IMAGE_COLS                                                                                 \
    "digest, media_type, artifact_type, subject_digest, config_digest, size, image_size,"         \
    " pushed_at, last_pulled_at"

void store_strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void store_image_clear(struct store_image *im)
{
    free(im->digest);
    free(im->media_type);
    free(im->artifact_type);
    free(im->subject_digest);
    free(im->config_digest);
    store_strv_free(im->tags, im->ntags);
    memset(im, 0, sizeof(*im));
}

void store_images_free(struct store_image *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        store_image_clear(&v[i]);
    free(v);
}

static char *col_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? xstrdup((const char *)t) : NULL;
}

static void image_from_row(sqlite3_stmt *s, struct store_image *im)
{
    *im = (struct store_image){
        .digest = col_text(s, 0),
        .media_type = col_text(s, 1),
        .artifact_type = col_text(s, 2),
        .subject_digest = col_text(s, 3),
        .config_digest = col_text(s, 4),
        .size = sqlite3_column_int64(s, 5),
        .image_size = sqlite3_column_int64(s, 6),
        .pushed_at = sqlite3_column_double(s, 7),
        .last_pulled_at = sqlite3_column_double(s, 8),
    };
}

/* Growable array of strings. */
struct strv {
    char **v;
    size_t n, cap;
};

static void strv_push(struct strv *sv, char *s)
{
    if (sv->n == sv->cap) {
        sv->cap = sv->cap ? sv->cap * 2 : 8;
        sv->v = xrealloc(sv->v, sv->cap * sizeof(*sv->v));
    }
    sv->v[sv->n++] = s;
}

static int load_tags(struct store *st, int64_t repo_id, struct store_image *im, struct wh_err *err)
{
    static const char sql[] = "SELECT tag FROM image_tags WHERE repo_id = ? AND manifest_digest = ?"
                              " ORDER BY tag";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, repo_id);
    sqlite3_bind_text(s, 2, im->digest, -1, SQLITE_STATIC);
    struct strv sv = {0};
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        strv_push(&sv, col_text(s, 0));
    store_done(s);
    if (rc != SQLITE_DONE) {
        store_strv_free(sv.v, sv.n);
        return store_fail(st, "reading image tags", err);
    }
    im->tags = sv.v;
    im->ntags = sv.n;
    return 0;
}

/* Step through an image query's rows into an array, loading tags when asked. */
static int collect_images(struct store *st, sqlite3_stmt *s, int64_t repo_id, unsigned limit,
                          bool with_tags, struct store_image **ret_v, size_t *ret_n,
                          bool *ret_more, struct wh_err *err)
{
    struct store_image *v = NULL;
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
        image_from_row(s, &v[n++]);
    }
    store_done(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        store_images_free(v, n);
        return store_fail(st, "listing images", err);
    }
    for (size_t i = 0; with_tags && i < n; i++)
        if (load_tags(st, repo_id, &v[i], err) < 0) {
            store_images_free(v, n);
            return -EIO;
        }
    *ret_v = v;
    *ret_n = n;
    if (ret_more)
        *ret_more = more;
    return 0;
}

int store_image_list(struct store *st, int64_t repo_id, enum store_tag_filter filter,
                     const char *after, unsigned limit, struct store_image **ret_v, size_t *ret_n,
                     bool *ret_more, struct wh_err *err)
{
    static const char sql[] =
        "SELECT " IMAGE_COLS " FROM manifests m WHERE repo_id = ?1 AND digest > ?2"
        " AND (?3 = 0 OR (?3 = 1) = EXISTS (SELECT 1 FROM image_tags t"
        "      WHERE t.repo_id = m.repo_id AND t.manifest_digest = m.digest))"
        " ORDER BY digest LIMIT ?4";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, repo_id);
    sqlite3_bind_text(s, 2, after ? after : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, (int)filter);
    sqlite3_bind_int64(s, 4, limit ? (int64_t)limit + 1 : -1);
    return collect_images(st, s, repo_id, limit, true, ret_v, ret_n, ret_more, err);
}

int store_image_get(struct store *st, int64_t repo_id, const char *digest,
                    struct store_image *ret, struct wh_err *err)
{
    static const char sql[] = "SELECT " IMAGE_COLS " FROM manifests"
                              " WHERE repo_id = ? AND digest = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, repo_id);
    sqlite3_bind_text(s, 2, digest, -1, SQLITE_STATIC);
    struct store_image im;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        image_from_row(s, &im);
    store_done(s);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? -ENOENT : store_fail(st, "reading an image", err);
    if (load_tags(st, repo_id, &im, err) < 0) {
        store_image_clear(&im);
        return -EIO;
    }
    *ret = im;
    return 0;
}

int store_tag_resolve(struct store *st, int64_t repo_id, const char *tag, char **ret_digest,
                      struct wh_err *err)
{
    static const char sql[] = "SELECT manifest_digest FROM image_tags WHERE repo_id = ? AND tag = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, repo_id);
    sqlite3_bind_text(s, 2, tag, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *ret_digest = col_text(s, 0);
    store_done(s);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : store_fail(st, "resolving a tag", err);
}

int store_manifest_body(struct store *st, int64_t repo_id, const char *digest,
                        struct store_image *ret_image, char **ret_body, size_t *ret_len,
                        struct wh_err *err)
{
    static const char sql[] = "SELECT " IMAGE_COLS ", body FROM manifests"
                              " WHERE repo_id = ? AND digest = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, repo_id);
    sqlite3_bind_text(s, 2, digest, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const void *b = sqlite3_column_blob(s, 9);
        size_t len = (size_t)sqlite3_column_bytes(s, 9);
        char *body = xmalloc(len + 1);
        if (len)
            memcpy(body, b, len);
        body[len] = 0;
        *ret_body = body;
        *ret_len = len;
        if (ret_image)
            image_from_row(s, ret_image);
    }
    store_done(s);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : store_fail(st, "reading a manifest", err);
}

/* 1 when the reference exists for the repository, 0 when not, <0 on error. */
static int ref_exists(struct store *st, int64_t repo_id, const struct store_manifest_ref *ref,
                      struct wh_err *err)
{
    static const char blob_sql[] = "SELECT 1 FROM repository_blobs WHERE repo_id = ? AND digest = ?";
    static const char man_sql[] = "SELECT 1 FROM manifests WHERE repo_id = ? AND digest = ?";
    sqlite3_stmt *s = store_stmt(st, ref->is_manifest ? man_sql : blob_sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, repo_id);
    sqlite3_bind_text(s, 2, ref->digest, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_fail(st, "checking a manifest reference", err);
    return rc == SQLITE_ROW;
}

/* -EEXIST when tag exists and points at a digest other than digest. */
static int check_immutable(struct store *st, int64_t repo_id, const char *tag, const char *digest,
                           struct wh_err *err)
{
    cleanup_free char *cur = NULL;
    int r = store_tag_resolve(st, repo_id, tag, &cur, err);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    return strcmp(cur, digest) == 0 ? 0 : -EEXIST;
}

static int move_tag(struct store *st, int64_t repo_id, const char *tag, const char *digest,
                    double now, struct wh_err *err)
{
    static const char sql[] =
        "INSERT INTO image_tags (repo_id, tag, manifest_digest, pushed_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (repo_id, tag) DO UPDATE SET manifest_digest = excluded.manifest_digest,"
        " pushed_at = excluded.pushed_at WHERE manifest_digest != excluded.manifest_digest";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, repo_id);
    sqlite3_bind_text(s, 2, tag, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, digest, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 4, now);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc == SQLITE_CONSTRAINT)
        return -ENOENT; /* no such manifest */
    return rc == SQLITE_DONE ? 0 : store_fail(st, "moving a tag", err);
}

static int insert_manifest(struct store *st, const struct store_manifest_put *in,
                           struct wh_err *err)
{
    static const char sql[] =
        "INSERT INTO manifests (repo_id, digest, media_type, artifact_type, subject_digest,"
        " config_digest, size, image_size, pushed_at, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (repo_id, digest) DO NOTHING";
    static const char ref_sql[] =
        "INSERT OR IGNORE INTO manifest_references (repo_id, manifest_digest, digest, kind)"
        " VALUES (?, ?, ?, ?)";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, in->repo_id);
    const char *text[] = {in->digest, in->media_type, in->artifact_type, in->subject_digest,
                          in->config_digest};
    for (size_t i = 0; i < ARRAY_SIZE(text); i++)
        sqlite3_bind_text(s, (int)i + 2, text[i], -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, (int64_t)in->len);
    sqlite3_bind_int64(s, 8, in->image_size);
    sqlite3_bind_double(s, 9, in->now);
    sqlite3_bind_blob(s, 10, in->body, (int)in->len, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc != SQLITE_DONE)
        return store_fail(st, "storing a manifest", err);
    for (size_t i = 0; i < in->nrefs; i++) {
        s = store_stmt(st, ref_sql, err);
        if (!s)
            return -EIO;
        sqlite3_bind_int64(s, 1, in->repo_id);
        sqlite3_bind_text(s, 2, in->digest, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, in->refs[i].digest, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, in->refs[i].is_manifest ? "manifest" : "blob", -1, SQLITE_STATIC);
        rc = sqlite3_step(s);
        store_done(s);
        if (rc != SQLITE_DONE)
            return store_fail(st, "storing manifest references", err);
    }
    return 0;
}

struct put_arg {
    const struct store_manifest_put *in;
    char *missing;
};

static int put_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct put_arg *a = arg;
    const struct store_manifest_put *in = a->in;
    for (size_t i = 0; i < in->nrefs; i++) {
        int r = ref_exists(st, in->repo_id, &in->refs[i], err);
        if (r < 0)
            return r;
        if (r == 0) {
            a->missing = xstrdup(in->refs[i].digest);
            return -ENOENT;
        }
    }
    if (in->tag && in->immutable) {
        int r = check_immutable(st, in->repo_id, in->tag, in->digest, err);
        if (r < 0)
            return r;
    }
    int r = insert_manifest(st, in, err);
    if (r < 0)
        return r;
    return in->tag ? move_tag(st, in->repo_id, in->tag, in->digest, in->now, err) : 0;
}

int store_manifest_put(struct store *st, const struct store_manifest_put *in, char **ret_missing,
                       struct wh_err *err)
{
    struct put_arg a = {in, NULL};
    int r = store_tx(st, put_tx, &a, err);
    if (r == -ENOENT && ret_missing)
        *ret_missing = TAKE_PTR(a.missing);
    free(a.missing);
    return r;
}

int store_manifest_delete(struct store *st, int64_t repo_id, const char *digest,
                          struct wh_err *err)
{
    static const char sql[] = "DELETE FROM manifests WHERE repo_id = ? AND digest = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, repo_id);
    sqlite3_bind_text(s, 2, digest, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc != SQLITE_DONE)
        return store_fail(st, "deleting a manifest", err);
    return sqlite3_changes(store_db(st)) > 0 ? 0 : -ENOENT;
}

int store_manifest_touch_pull(struct store *st, int64_t repo_id, const char *digest, double now,
                              struct wh_err *err)
{
    static const char sql[] =
        "UPDATE manifests SET last_pulled_at = ?1 WHERE repo_id = ?2 AND digest = ?3"
        " AND (last_pulled_at IS NULL OR last_pulled_at < ?1 - 60)";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_double(s, 1, now);
    sqlite3_bind_int64(s, 2, repo_id);
    sqlite3_bind_text(s, 3, digest, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    store_done(s);
    return rc == SQLITE_DONE ? 0 : store_fail(st, "recording a pull", err);
}

struct tag_arg {
    int64_t repo_id;
    const char *tag, *digest;
    bool immutable;
    double now;
};

static int tag_put_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct tag_arg *a = arg;
    if (a->immutable) {
        int r = check_immutable(st, a->repo_id, a->tag, a->digest, err);
        if (r < 0)
            return r;
    }
    return move_tag(st, a->repo_id, a->tag, a->digest, a->now, err);
}

int store_tag_put(struct store *st, int64_t repo_id, const char *tag, const char *digest,
                  bool immutable, double now, struct wh_err *err)
{
    struct tag_arg a = {repo_id, tag, digest, immutable, now};
    return store_tx(st, tag_put_tx, &a, err);
}

int store_tag_delete(struct store *st, int64_t repo_id, const char *tag, struct wh_err *err)
{
    static const char sql[] = "DELETE FROM image_tags WHERE repo_id = ? AND tag = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, repo_id);
    sqlite3_bind_text(s, 2, tag, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc != SQLITE_DONE)
        return store_fail(st, "deleting a tag", err);
    return sqlite3_changes(store_db(st)) > 0 ? 0 : -ENOENT;
}

int store_tag_list(struct store *st, int64_t repo_id, const char *after, unsigned limit,
                   char ***ret_tags, size_t *ret_n, bool *ret_more, struct wh_err *err)
{
    static const char sql[] = "SELECT tag FROM image_tags WHERE repo_id = ? AND tag > ?"
                              " ORDER BY tag LIMIT ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, repo_id);
    sqlite3_bind_text(s, 2, after ? after : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, limit ? (int64_t)limit + 1 : -1);
    struct strv sv = {0};
    bool more = false;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (limit && sv.n == limit) {
            more = true;
            break;
        }
        strv_push(&sv, col_text(s, 0));
    }
    store_done(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        store_strv_free(sv.v, sv.n);
        return store_fail(st, "listing tags", err);
    }
    *ret_tags = sv.v;
    *ret_n = sv.n;
    if (ret_more)
        *ret_more = more;
    return 0;
}

int store_referrers_list(struct store *st, int64_t repo_id, const char *subject_digest,
                         const char *artifact_type, struct store_image **ret_v, size_t *ret_n,
                         struct wh_err *err)
{
    static const char sql[] = "SELECT " IMAGE_COLS " FROM manifests"
                              " WHERE repo_id = ?1 AND subject_digest = ?2"
                              " AND (?3 IS NULL OR artifact_type = ?3) ORDER BY digest";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, repo_id);
    sqlite3_bind_text(s, 2, subject_digest, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, artifact_type, -1, SQLITE_STATIC);
    return collect_images(st, s, repo_id, 0, false, ret_v, ret_n, NULL, err);
}
