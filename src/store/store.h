/* The store: wharf's state behind domain verbs. SQLite now (WAL, a connection per thread,
 * versioned migrations per component); handlers never see SQL. Resource verbs are declared in
 * the per-resource headers included at the end.
 *
 * Return values: 0 on success, -ENOENT when the thing asked for does not exist, -EEXIST on a
 * uniqueness conflict, -EIO (with err filled as a 500 ServerException) when the database fails. */
#pragma once
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct store;
struct sqlite3;
struct sqlite3_stmt;

int store_open(const char *path, struct store **ret_store, struct wh_err *err);
void store_close(struct store *st);

/* Run fn inside one write transaction (BEGIN IMMEDIATE); commit if it returns 0, else roll
 * back and return its value. Calls nest: an inner store_tx joins the outer transaction. */
typedef int (*store_tx_fn)(struct store *st, void *arg, struct wh_err *err);
int store_tx(struct store *st, store_tx_fn fn, void *arg, struct wh_err *err);

/* For the SQLite implementation files only (src/store/ *.c). */
struct sqlite3 *store_db(struct store *st);
/* A cached prepared statement for a static SQL string; reset after use with store_done(). */
struct sqlite3_stmt *store_stmt(struct store *st, const char *sql, struct wh_err *err);
void store_done(struct sqlite3_stmt *stmt);
/* Fill err from the connection's last error (500 ServerException) and return -EIO. */
int store_fail(struct store *st, const char *what, struct wh_err *err);

/* Migrations: each component (ecs, ecr, logs, ...) owns an ordered list of SQL steps; the store
 * records per component how many have run. Steps are never edited once released, only added. */
struct store_schema {
    const char *component;
    const char *const *steps;
    unsigned nsteps;
};

/* A trivial read, for /health. */
int store_ping(struct store *st, struct wh_err *err);
