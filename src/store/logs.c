#include "store/logs.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "core/xalloc.h"

static char *col_str(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? xstrdup((const char *)t) : NULL;
}

void store_log_group_clear(struct store_log_group *g)
{
    free(g->name);
    free(g->kms_key_id);
    free(g->log_group_class);
    memset(g, 0, sizeof(*g));
}

void store_log_stream_clear(struct store_log_stream *s)
{
    free(s->name);
    memset(s, 0, sizeof(*s));
}

/* ---- groups ---- */

#define GROUP_COLS                                                                                 \
    "id, name, created_at, retention_days, kms_key_id, log_group_class, deletion_protection, "     \
    "stored_bytes"

static void read_group(sqlite3_stmt *s, struct store_log_group *g)
{
    g->id = sqlite3_column_int64(s, 0);
    g->name = col_str(s, 1);
    g->created_at = sqlite3_column_int64(s, 2);
    g->retention_days = sqlite3_column_int64(s, 3);
    g->kms_key_id = col_str(s, 4);
    g->log_group_class = col_str(s, 5);
    g->deletion_protection = sqlite3_column_int(s, 6) != 0;
    g->stored_bytes = sqlite3_column_int64(s, 7);
}

int store_log_group_create(struct store *st, const char *account, const char *region,
                           const struct store_log_group *g, struct wh_err *err)
{
    static const char sql[] =
        "INSERT INTO log_groups(account, region, name, created_at, retention_days, kms_key_id, "
        "log_group_class, deletion_protection) VALUES(?,?,?,?,?,?,?,?)";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, region, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, g->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, g->created_at);
    if (g->retention_days)
        sqlite3_bind_int64(s, 5, g->retention_days);
    sqlite3_bind_text(s, 6, g->kms_key_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, g->log_group_class ? g->log_group_class : "STANDARD", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int(s, 8, g->deletion_protection);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc == SQLITE_CONSTRAINT)
        return -EEXIST;
    return rc == SQLITE_DONE ? 0 : store_fail(st, "creating a log group", err);
}

int store_log_group_get(struct store *st, const char *account, const char *region,
                        const char *name, struct store_log_group *ret, struct wh_err *err)
{
    static const char sql[] = "SELECT " GROUP_COLS " FROM log_groups "
                              "WHERE account = ? AND region = ? AND name = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, region, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        read_group(s, ret);
    store_done(s);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : store_fail(st, "reading a log group", err);
}

int store_log_groups_list(struct store *st, const char *account, const char *region,
                          const char *prefix, const char *after, unsigned limit,
                          struct store_log_group **ret, size_t *ret_n, struct wh_err *err)
{
    /* substr() rather than LIKE: names may hold % and _. */
    static const char sql[] = "SELECT " GROUP_COLS " FROM log_groups "
                              "WHERE account = ? AND region = ? AND name > ? "
                              "AND substr(name, 1, length(?4)) = ?4 ORDER BY name LIMIT ?5";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, region, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, after ? after : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, prefix ? prefix : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, (int)limit);
    struct store_log_group *v = NULL;
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        v = xrealloc(v, (n + 1) * sizeof(*v));
        memset(&v[n], 0, sizeof(v[n]));
        read_group(s, &v[n++]);
    }
    store_done(s);
    if (rc != SQLITE_DONE) {
        store_log_groups_free(v, n);
        return store_fail(st, "listing log groups", err);
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

void store_log_groups_free(struct store_log_group *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_log_group_clear(&v[i]);
    free(v);
}

int store_log_group_set_retention(struct store *st, int64_t group_id, int64_t days,
                                  struct wh_err *err)
{
    static const char sql[] = "UPDATE log_groups SET retention_days = ? WHERE id = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    if (days > 0)
        sqlite3_bind_int64(s, 1, days);
    sqlite3_bind_int64(s, 2, group_id);
    int rc = sqlite3_step(s);
    store_done(s);
    return rc == SQLITE_DONE ? 0 : store_fail(st, "setting retention", err);
}

static int exec_id(struct store *st, const char *sql, int64_t id, const char *what,
                   struct wh_err *err)
{
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    store_done(s);
    return rc == SQLITE_DONE ? 0 : store_fail(st, what, err);
}

static int group_delete_tx(struct store *st, void *arg, struct wh_err *err)
{
    static const char del_events[] =
        "DELETE FROM log_events WHERE stream_id IN (SELECT id FROM log_streams WHERE group_id = ?)";
    static const char del_streams[] = "DELETE FROM log_streams WHERE group_id = ?";
    static const char del_group[] = "DELETE FROM log_groups WHERE id = ?";
    int64_t id = *(int64_t *)arg;
    int r = exec_id(st, del_events, id, "deleting log events", err);
    if (r == 0)
        r = exec_id(st, del_streams, id, "deleting log streams", err);
    if (r == 0)
        r = exec_id(st, del_group, id, "deleting a log group", err);
    return r;
}

int store_log_group_delete(struct store *st, int64_t group_id, struct wh_err *err)
{
    return store_tx(st, group_delete_tx, &group_id, err);
}

/* ---- streams ---- */

#define STREAM_COLS                                                                                \
    "id, group_id, name, created_at, first_event, last_event, last_ingestion, next_seq, "          \
    "stored_bytes"

static void read_stream(sqlite3_stmt *s, struct store_log_stream *v)
{
    v->id = sqlite3_column_int64(s, 0);
    v->group_id = sqlite3_column_int64(s, 1);
    v->name = col_str(s, 2);
    v->created_at = sqlite3_column_int64(s, 3);
    v->first_event = sqlite3_column_int64(s, 4);
    v->last_event = sqlite3_column_int64(s, 5);
    v->last_ingestion = sqlite3_column_int64(s, 6);
    v->next_seq = sqlite3_column_int64(s, 7);
    v->stored_bytes = sqlite3_column_int64(s, 8);
}

int store_log_stream_create(struct store *st, int64_t group_id, const char *name, int64_t now,
                            struct wh_err *err)
{
    static const char sql[] =
        "INSERT INTO log_streams(group_id, name, created_at) VALUES(?, ?, ?)";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, group_id);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc == SQLITE_CONSTRAINT)
        return -EEXIST;
    return rc == SQLITE_DONE ? 0 : store_fail(st, "creating a log stream", err);
}

int store_log_stream_get(struct store *st, int64_t group_id, const char *name,
                         struct store_log_stream *ret, struct wh_err *err)
{
    static const char sql[] = "SELECT " STREAM_COLS " FROM log_streams "
                              "WHERE group_id = ? AND name = ?";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, group_id);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        read_stream(s, ret);
    store_done(s);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : store_fail(st, "reading a log stream", err);
}

int store_log_streams_list(struct store *st, int64_t group_id, const char *prefix,
                           enum store_log_stream_order order, bool descending, const char *after,
                           unsigned limit, struct store_log_stream **ret, size_t *ret_n,
                           struct wh_err *err)
{
    /* One statement per order and direction: the cursor comparison flips with the direction. */
    static const char by_name_asc[] =
        "SELECT " STREAM_COLS " FROM log_streams WHERE group_id = ?1 "
        "AND substr(name, 1, length(?2)) = ?2 AND (?3 IS NULL OR name > ?3) "
        "ORDER BY name LIMIT ?4";
    static const char by_name_desc[] =
        "SELECT " STREAM_COLS " FROM log_streams WHERE group_id = ?1 "
        "AND substr(name, 1, length(?2)) = ?2 AND (?3 IS NULL OR name < ?3) "
        "ORDER BY name DESC LIMIT ?4";
    /* By time: the cursor is "lastEvent/id"; streams without events sort first (0). */
    static const char by_time_asc[] =
        "SELECT " STREAM_COLS " FROM log_streams WHERE group_id = ?1 "
        "AND (?3 IS NULL OR (coalesce(last_event, 0), id) > (?5, ?6)) "
        "ORDER BY coalesce(last_event, 0), id LIMIT ?4";
    static const char by_time_desc[] =
        "SELECT " STREAM_COLS " FROM log_streams WHERE group_id = ?1 "
        "AND (?3 IS NULL OR (coalesce(last_event, 0), id) < (?5, ?6)) "
        "ORDER BY coalesce(last_event, 0) DESC, id DESC LIMIT ?4";
    const char *sql = order == STORE_LOG_BY_NAME ? (descending ? by_name_desc : by_name_asc)
                                                 : (descending ? by_time_desc : by_time_asc);
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, group_id);
    sqlite3_bind_text(s, 2, prefix ? prefix : "", -1, SQLITE_STATIC);
    if (after)
        sqlite3_bind_text(s, 3, after, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, (int)limit);
    if (order == STORE_LOG_BY_LAST_EVENT && after) {
        long long t = 0, id = 0;
        sscanf(after, "%lld/%lld", &t, &id);
        sqlite3_bind_int64(s, 5, t);
        sqlite3_bind_int64(s, 6, id);
    }
    struct store_log_stream *v = NULL;
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        v = xrealloc(v, (n + 1) * sizeof(*v));
        memset(&v[n], 0, sizeof(v[n]));
        read_stream(s, &v[n++]);
    }
    store_done(s);
    if (rc != SQLITE_DONE) {
        store_log_streams_free(v, n);
        return store_fail(st, "listing log streams", err);
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

void store_log_streams_free(struct store_log_stream *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_log_stream_clear(&v[i]);
    free(v);
}

static int stream_delete_tx(struct store *st, void *arg, struct wh_err *err)
{
    static const char bytes[] =
        "UPDATE log_groups SET stored_bytes = stored_bytes - "
        "(SELECT stored_bytes FROM log_streams WHERE id = ?1) "
        "WHERE id = (SELECT group_id FROM log_streams WHERE id = ?1)";
    static const char del_events[] = "DELETE FROM log_events WHERE stream_id = ?";
    static const char del_stream[] = "DELETE FROM log_streams WHERE id = ?";
    int64_t id = *(int64_t *)arg;
    int r = exec_id(st, bytes, id, "updating stored bytes", err);
    if (r == 0)
        r = exec_id(st, del_events, id, "deleting log events", err);
    if (r == 0)
        r = exec_id(st, del_stream, id, "deleting a log stream", err);
    return r;
}

int store_log_stream_delete(struct store *st, int64_t stream_id, struct wh_err *err)
{
    return store_tx(st, stream_delete_tx, &stream_id, err);
}

/* ---- events ---- */

struct put_args {
    int64_t group_id, stream_id, ingestion;
    struct store_log_event *events;
    size_t n;
};

static int put_tx(struct store *st, void *arg, struct wh_err *err)
{
    static const char next_seq[] = "SELECT next_seq FROM log_streams WHERE id = ?";
    static const char insert[] =
        "INSERT INTO log_events(stream_id, ts, seq, ingestion, message) VALUES(?,?,?,?,?)";
    static const char stream_upd[] =
        "UPDATE log_streams SET next_seq = ?2, stored_bytes = stored_bytes + ?3, "
        "first_event = min(coalesce(first_event, ?4), ?4), "
        "last_event = max(coalesce(last_event, ?5), ?5), last_ingestion = ?6 WHERE id = ?1";
    static const char group_upd[] =
        "UPDATE log_groups SET stored_bytes = stored_bytes + ?2 WHERE id = ?1";
    struct put_args *a = arg;
    sqlite3_stmt *s = store_stmt(st, next_seq, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, a->stream_id);
    int rc = sqlite3_step(s);
    int64_t seq = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    store_done(s);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? -ENOENT : store_fail(st, "reading a log stream", err);
    s = store_stmt(st, insert, err);
    if (!s)
        return -EIO;
    int64_t bytes = 0, first = a->events[0].ts, last = a->events[0].ts;
    for (size_t i = 0; i < a->n; i++) {
        struct store_log_event *e = &a->events[i];
        e->seq = seq++;
        e->stream_id = a->stream_id;
        e->ingestion = a->ingestion;
        sqlite3_bind_int64(s, 1, a->stream_id);
        sqlite3_bind_int64(s, 2, e->ts);
        sqlite3_bind_int64(s, 3, e->seq);
        sqlite3_bind_int64(s, 4, a->ingestion);
        sqlite3_bind_text(s, 5, e->message, (int)e->message_len, SQLITE_STATIC);
        rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE) {
            store_done(s);
            return store_fail(st, "storing a log event", err);
        }
        bytes += (int64_t)e->message_len;
        if (e->ts < first)
            first = e->ts;
        if (e->ts > last)
            last = e->ts;
    }
    store_done(s);
    s = store_stmt(st, stream_upd, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, a->stream_id);
    sqlite3_bind_int64(s, 2, seq);
    sqlite3_bind_int64(s, 3, bytes);
    sqlite3_bind_int64(s, 4, first);
    sqlite3_bind_int64(s, 5, last);
    sqlite3_bind_int64(s, 6, a->ingestion);
    rc = sqlite3_step(s);
    store_done(s);
    if (rc != SQLITE_DONE)
        return store_fail(st, "updating a log stream", err);
    s = store_stmt(st, group_upd, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, a->group_id);
    sqlite3_bind_int64(s, 2, bytes);
    rc = sqlite3_step(s);
    store_done(s);
    return rc == SQLITE_DONE ? 0 : store_fail(st, "updating a log group", err);
}

int store_log_events_put(struct store *st, int64_t group_id, int64_t stream_id,
                         struct store_log_event *events, size_t n, int64_t ingestion,
                         struct wh_err *err)
{
    if (n == 0)
        return 0;
    struct put_args a = {group_id, stream_id, ingestion, events, n};
    return store_tx(st, put_tx, &a, err);
}

int store_log_events_read(struct store *st, int64_t stream_id, int64_t from_ts, int64_t to_ts,
                          const struct store_log_pos *after, bool backward, unsigned limit,
                          size_t max_bytes, struct store_log_events *ret, struct wh_err *err)
{
    static const char fwd[] =
        "SELECT ts, seq, ingestion, message FROM log_events WHERE stream_id = ?1 "
        "AND ts >= ?2 AND ts < ?3 AND (ts, seq) > (?4, ?5) ORDER BY ts, seq LIMIT ?6";
    static const char bwd[] =
        "SELECT ts, seq, ingestion, message FROM log_events WHERE stream_id = ?1 "
        "AND ts >= ?2 AND ts < ?3 AND (ts, seq) < (?4, ?5) ORDER BY ts DESC, seq DESC LIMIT ?6";
    sqlite3_stmt *s = store_stmt(st, backward ? bwd : fwd, err);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, stream_id);
    sqlite3_bind_int64(s, 2, from_ts);
    sqlite3_bind_int64(s, 3, to_ts);
    if (after) {
        sqlite3_bind_int64(s, 4, after->ts);
        sqlite3_bind_int64(s, 5, after->seq);
    } else {
        sqlite3_bind_int64(s, 4, backward ? INT64_MAX : INT64_MIN);
        sqlite3_bind_int64(s, 5, backward ? INT64_MAX : INT64_MIN);
    }
    sqlite3_bind_int(s, 6, (int)limit);
    struct store_log_events out = {0};
    size_t cap = 0, bytes = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        size_t len = (size_t)sqlite3_column_bytes(s, 3);
        if (out.n > 0 && bytes + len > max_bytes)
            break;
        if (out.n == cap) {
            cap = cap ? cap * 2 : 64;
            out.v = xrealloc(out.v, cap * sizeof(*out.v));
        }
        struct store_log_event *e = &out.v[out.n++];
        e->stream_id = stream_id;
        e->ts = sqlite3_column_int64(s, 0);
        e->seq = sqlite3_column_int64(s, 1);
        e->ingestion = sqlite3_column_int64(s, 2);
        e->message = xstrndup((const char *)sqlite3_column_text(s, 3), len);
        e->message_len = len;
        bytes += len;
    }
    store_done(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        store_log_events_free(&out);
        return store_fail(st, "reading log events", err);
    }
    *ret = out;
    return 0;
}

void store_log_events_free(struct store_log_events *e)
{
    for (size_t i = 0; i < e->n; i++)
        free((char *)e->v[i].message);
    free(e->v);
    e->v = NULL;
    e->n = 0;
}

struct expire_args {
    int64_t group_id, cutoff, deleted;
};

static int expire_tx(struct store *st, void *arg, struct wh_err *err)
{
    static const char del[] =
        "DELETE FROM log_events WHERE stream_id IN (SELECT id FROM log_streams WHERE group_id = ?1) "
        "AND ts < ?2";
    /* Recompute what the deletion changed: stored bytes and first event times. */
    static const char fix_streams[] =
        "UPDATE log_streams SET "
        "stored_bytes = (SELECT coalesce(sum(length(CAST(message AS BLOB))), 0) FROM log_events "
        "                WHERE stream_id = log_streams.id), "
        "first_event = (SELECT min(ts) FROM log_events WHERE stream_id = log_streams.id) "
        "WHERE group_id = ?1 AND first_event < ?2";
    static const char fix_group[] =
        "UPDATE log_groups SET stored_bytes = "
        "(SELECT coalesce(sum(stored_bytes), 0) FROM log_streams WHERE group_id = ?1) WHERE id = ?1";
    struct expire_args *a = arg;
    const char *const sqls[] = {del, fix_streams, fix_group};
    for (size_t i = 0; i < ARRAY_SIZE(sqls); i++) {
        sqlite3_stmt *s = store_stmt(st, sqls[i], err);
        if (!s)
            return -EIO;
        sqlite3_bind_int64(s, 1, a->group_id);
        if (i < 2)
            sqlite3_bind_int64(s, 2, a->cutoff);
        int rc = sqlite3_step(s);
        if (i == 0)
            a->deleted = sqlite3_changes(store_db(st));
        store_done(s);
        if (rc != SQLITE_DONE)
            return store_fail(st, "expiring log events", err);
    }
    return 0;
}

int64_t store_log_events_expire(struct store *st, int64_t group_id, int64_t cutoff,
                                struct wh_err *err)
{
    struct expire_args a = {group_id, cutoff, 0};
    int r = store_tx(st, expire_tx, &a, err);
    return r < 0 ? r : a.deleted;
}

int store_log_groups_with_retention(struct store *st, struct store_log_group **ret, size_t *ret_n,
                                    struct wh_err *err)
{
    static const char sql[] = "SELECT " GROUP_COLS " FROM log_groups "
                              "WHERE retention_days IS NOT NULL ORDER BY id";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    struct store_log_group *v = NULL;
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        v = xrealloc(v, (n + 1) * sizeof(*v));
        memset(&v[n], 0, sizeof(v[n]));
        read_group(s, &v[n++]);
    }
    store_done(s);
    if (rc != SQLITE_DONE) {
        store_log_groups_free(v, n);
        return store_fail(st, "listing log groups", err);
    }
    *ret = v;
    *ret_n = n;
    return 0;
}
