/* SQLite core: connections, statement cache, transactions and migrations. */
#include "store/store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "store/schema.h"

/* Open-addressed by the SQL string's address; every statement wharf has fits many times. */
#define STMT_CACHE 1024

struct conn {
    struct conn *next;
    struct store *st;
    sqlite3 *db;
    int tx_depth;
    struct {
        const char *sql;
        sqlite3_stmt *stmt;
    } cache[STMT_CACHE];
    unsigned ncache;
};

struct store {
    char *path;
    pthread_key_t key;
    /* Writers of this process queue here rather than in SQLite's busy handler, whose
     * sleeps grow to 100 ms: a write transaction waits for the previous one, not for a timer. */
    pthread_mutex_t write_lock;
    /* WAL checkpoints run on a thread of their own, so no request pays for copying the log
     * back into the database and its fsync. */
    pthread_t ckpt_thread;
    pthread_mutex_t ckpt_lock;
    pthread_cond_t ckpt_cond;
    bool ckpt_wanted, ckpt_stop, ckpt_running;
    pthread_mutex_t lock; /* guards conns */
    struct conn *conns;
};

static void conn_close(struct conn *c)
{
    for (unsigned i = 0; i < STMT_CACHE; i++)
        if (c->cache[i].stmt)
            sqlite3_finalize(c->cache[i].stmt);
    sqlite3_close(c->db);
    free(c);
}

static void unlink_conn(struct store *st, struct conn *c)
{
    pthread_mutex_lock(&st->lock);
    for (struct conn **pp = &st->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    pthread_mutex_unlock(&st->lock);
}

/* Thread exit closes that thread's connection. */
static void conn_destructor(void *p)
{
    struct conn *c = p;
    unlink_conn(c->st, c);
    conn_close(c);
}

/* Busy (another connection writes): retry soon and often, for up to 10 s in all. SQLite's own
 * busy_timeout sleeps in steps of up to 100 ms, which dominates short transactions. */
static int busy_wait(void *arg, int count)
{
    (void)arg;
    if (count >= 20000)
        return 0;
    usleep(count < 100 ? 50 : 500);
    return 1;
}

static int exec(sqlite3 *db, const char *sql, struct wh_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        wh_err_set(err, 500, "ServerException", "store: %s (in: %.80s)", msg ? msg : "?", sql);
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

#define CKPT_PAGES 1000

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    struct store *st = arg;
    if (pages >= CKPT_PAGES && st->ckpt_running) {
        pthread_mutex_lock(&st->ckpt_lock);
        st->ckpt_wanted = true;
        pthread_cond_signal(&st->ckpt_cond);
        pthread_mutex_unlock(&st->ckpt_lock);
    }
    return SQLITE_OK;
}

static struct conn *conn_open(struct store *st, struct wh_err *err)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(st->path, &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        wh_err_set(err, 500, "ServerException", "cannot open database %s: %s", st->path,
                   db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_handler(db, busy_wait, NULL);
    /* WAL: readers never block the writer. synchronous=FULL: a commit is on disk before the
     * request is acknowledged, so not even a power cut loses it. */
    if (exec(db,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
             "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-8000;",
             err) < 0) {
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_wal_autocheckpoint(db, 0);
    sqlite3_wal_hook(db, wal_hook, st);
    struct conn *c = xcalloc(1, sizeof(*c));
    c->st = st;
    c->db = db;
    pthread_mutex_lock(&st->lock);
    c->next = st->conns;
    st->conns = c;
    pthread_mutex_unlock(&st->lock);
    return c;
}

static struct conn *conn_get(struct store *st, struct wh_err *err)
{
    struct conn *c = pthread_getspecific(st->key);
    if (c)
        return c;
    c = conn_open(st, err);
    if (c)
        pthread_setspecific(st->key, c);
    return c;
}

sqlite3 *store_db(struct store *st)
{
    struct conn *c = conn_get(st, NULL);
    return c ? c->db : NULL;
}

sqlite3_stmt *store_stmt(struct store *st, const char *sql, struct wh_err *err)
{
    struct conn *c = conn_get(st, err);
    if (!c)
        return NULL;
    size_t h = ((uintptr_t)sql >> 3) * 0x9E3779B97F4A7C15ULL >> 54; /* 10 bits */
    for (unsigned probe = 0; probe < STMT_CACHE; probe++, h = (h + 1) % STMT_CACHE) {
        if (c->cache[h].sql == sql)
            return c->cache[h].stmt;
        if (!c->cache[h].sql)
            break;
    }
    if (c->ncache >= STMT_CACHE * 3 / 4) {
        /* Unreachable with a fixed set of statements; refuse rather than leak. */
        wh_err_set(err, 500, "ServerException", "store: statement cache is full (%u)", c->ncache);
        return NULL;
    }
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
    if (rc != SQLITE_OK) {
        wh_err_set(err, 500, "ServerException", "store: cannot prepare statement: %s",
                   sqlite3_errmsg(c->db));
        return NULL;
    }
    c->cache[h].sql = sql;
    c->cache[h].stmt = stmt;
    c->ncache++;
    return stmt;
}

void store_done(sqlite3_stmt *stmt)
{
    if (!stmt)
        return;
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

int store_fail(struct store *st, const char *what, struct wh_err *err)
{
    struct conn *c = pthread_getspecific(st->key);
    wh_err_set(err, 500, "ServerException", "store: %s failed: %s", what,
               c ? sqlite3_errmsg(c->db) : "no connection");
    return -EIO;
}

int store_tx(struct store *st, store_tx_fn fn, void *arg, struct wh_err *err)
{
    struct conn *c = conn_get(st, err);
    if (!c)
        return -EIO;
    if (c->tx_depth > 0) {
        c->tx_depth++;
        int r = fn(st, arg, err);
        c->tx_depth--;
        return r;
    }
    pthread_mutex_lock(&st->write_lock);
    int r = exec(c->db, "BEGIN IMMEDIATE", err);
    if (r < 0) {
        pthread_mutex_unlock(&st->write_lock);
        return r;
    }
    c->tx_depth = 1;
    r = fn(st, arg, err);
    c->tx_depth = 0;
    if (r == 0)
        r = exec(c->db, "COMMIT", err);
    if (r < 0) {
        char *msg = NULL;
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, &msg);
        sqlite3_free(msg);
    }
    pthread_mutex_unlock(&st->write_lock);
    return r;
}

static int migrate_component(struct store *st, sqlite3 *db, const struct store_schema *s,
                             struct wh_err *err)
{
    sqlite3_stmt *q = NULL;
    int done = 0;
    if (sqlite3_prepare_v2(db, "SELECT version FROM schema_versions WHERE component = ?", -1, &q,
                           NULL) != SQLITE_OK)
        return store_fail(st, "reading schema_versions", err);
    sqlite3_bind_text(q, 1, s->component, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW)
        done = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    if (done > (int)s->nsteps)
        return wh_err_set(err, 500, "ServerException",
                          "store: schema of %s is at version %d but this wharfd knows only %u "
                          "(data from a newer wharf?)",
                          s->component, done, s->nsteps);
    for (unsigned v = (unsigned)done; v < s->nsteps; v++) {
        if (exec(db, s->steps[v], err) < 0)
            return wh_err_prefix(err, "migration %s/%u: ", s->component, v + 1);
        log_info("store: applied migration %s/%u", s->component, v + 1);
    }
    if ((unsigned)done == s->nsteps)
        return 0;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO schema_versions(component, version) VALUES(?, ?) "
                           "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                           -1, &q, NULL) != SQLITE_OK)
        return store_fail(st, "writing schema_versions", err);
    sqlite3_bind_text(q, 1, s->component, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, (int)s->nsteps);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : store_fail(st, "writing schema_versions", err);
}

static int migrate(struct store *st, struct wh_err *err)
{
    struct conn *c = conn_get(st, err);
    if (!c)
        return -EIO;
    int r = exec(c->db,
                 "BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS schema_versions("
                 "component TEXT PRIMARY KEY, version INTEGER NOT NULL)",
                 err);
    for (size_t i = 0; r == 0 && store_schemas[i]; i++)
        r = migrate_component(st, c->db, store_schemas[i], err);
    if (r == 0)
        return exec(c->db, "COMMIT", err);
    char *msg = NULL;
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, &msg);
    sqlite3_free(msg);
    return r;
}

static void *checkpointer(void *arg)
{
    struct store *st = arg;
    struct wh_err err = {0};
    struct conn *c = conn_get(st, &err);
    pthread_mutex_lock(&st->ckpt_lock);
    while (!st->ckpt_stop) {
        if (!st->ckpt_wanted) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 5; /* and now and then, to keep the log short when idle */
            pthread_cond_timedwait(&st->ckpt_cond, &st->ckpt_lock, &ts);
            if (st->ckpt_stop)
                break;
        }
        st->ckpt_wanted = false;
        pthread_mutex_unlock(&st->ckpt_lock);
        if (c && sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) !=
                     SQLITE_OK)
            log_warn("store: checkpoint failed: %s", sqlite3_errmsg(c->db));
        pthread_mutex_lock(&st->ckpt_lock);
    }
    pthread_mutex_unlock(&st->ckpt_lock);
    return NULL;
}

int store_open(const char *path, struct store **ret_store, struct wh_err *err)
{
    struct store *st = xcalloc(1, sizeof(*st));
    st->path = xstrdup(path);
    pthread_mutex_init(&st->lock, NULL);
    pthread_mutex_init(&st->write_lock, NULL);
    pthread_key_create(&st->key, conn_destructor);
    pthread_mutex_init(&st->ckpt_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&st->ckpt_cond, &ca);
    pthread_condattr_destroy(&ca);
    int r = migrate(st, err);
    if (r < 0) {
        store_close(st);
        return r;
    }
    st->ckpt_running = pthread_create(&st->ckpt_thread, NULL, checkpointer, st) == 0;
    *ret_store = st;
    return 0;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    if (st->ckpt_running) {
        pthread_mutex_lock(&st->ckpt_lock);
        st->ckpt_stop = true;
        pthread_cond_signal(&st->ckpt_cond);
        pthread_mutex_unlock(&st->ckpt_lock);
        pthread_join(st->ckpt_thread, NULL);
        st->ckpt_running = false;
    }
    /* A clean stop leaves no log behind. */
    struct conn *mine = pthread_getspecific(st->key);
    if (mine)
        sqlite3_wal_checkpoint_v2(mine->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    /* Connections of threads still alive (the caller's own, at least). */
    pthread_setspecific(st->key, NULL);
    pthread_mutex_lock(&st->lock);
    struct conn *c = st->conns;
    st->conns = NULL;
    pthread_mutex_unlock(&st->lock);
    while (c) {
        struct conn *next = c->next;
        conn_close(c);
        c = next;
    }
    pthread_key_delete(st->key);
    pthread_mutex_destroy(&st->lock);
    pthread_mutex_destroy(&st->write_lock);
    pthread_mutex_destroy(&st->ckpt_lock);
    pthread_cond_destroy(&st->ckpt_cond);
    free(st->path);
    free(st);
}

int store_ping(struct store *st, struct wh_err *err)
{
    static const char sql[] = "SELECT count(*) FROM schema_versions";
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return -EIO;
    int rc = sqlite3_step(s);
    store_done(s);
    return rc == SQLITE_ROW ? 0 : store_fail(st, "ping", err);
}
