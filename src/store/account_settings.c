/* ECS account settings in SQLite. */
#include "store/account_settings.h"

#include <sqlite3.h>

#include "core/xalloc.h"

static sqlite3_stmt *prepare(struct store *st, const char *sql, const char *account,
                             const char *region, const char *principal_arn, struct wh_err *err)
{
    sqlite3_stmt *s = store_stmt(st, sql, err);
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, region, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, principal_arn, -1, SQLITE_STATIC);
    return s;
}

int store_account_setting_get(struct store *st, const char *account, const char *region,
                              const char *principal_arn, const char *name, char **ret_value,
                              struct wh_err *err)
{
    static const char sql[] =
        "SELECT value FROM account_settings"
        " WHERE account = ? AND region = ? AND principal_arn = ? AND name = ?";
    sqlite3_stmt *s = prepare(st, sql, account, region, principal_arn, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 4, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        store_done(s);
        return rc == SQLITE_DONE ? -ENOENT : store_fail(st, "reading an account setting", err);
    }
    *ret_value = xstrdup((const char *)sqlite3_column_text(s, 0));
    store_done(s);
    return 0;
}

int store_account_setting_put(struct store *st, const char *account, const char *region,
                              const char *principal_arn, const char *name, const char *value,
                              struct wh_err *err)
{
    static const char sql[] =
        "INSERT INTO account_settings (account, region, principal_arn, name, value)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (account, region, principal_arn, name)"
        " DO UPDATE SET value = excluded.value";
    sqlite3_stmt *s = prepare(st, sql, account, region, principal_arn, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 4, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    store_done(s);
    return rc == SQLITE_DONE ? 0 : store_fail(st, "writing an account setting", err);
}

int store_account_setting_delete(struct store *st, const char *account, const char *region,
                                 const char *principal_arn, const char *name, char **ret_value,
                                 struct wh_err *err)
{
    static const char sql[] = "DELETE FROM account_settings"
                              " WHERE account = ? AND region = ? AND principal_arn = ? AND name = ?"
                              " RETURNING value";
    sqlite3_stmt *s = prepare(st, sql, account, region, principal_arn, err);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 4, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    char *value = rc == SQLITE_ROW ? xstrdup((const char *)sqlite3_column_text(s, 0)) : NULL;
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(s); /* completes the statement, which commits the delete */
    store_done(s);
    if (rc != SQLITE_DONE) {
        free(value);
        return store_fail(st, "deleting an account setting", err);
    }
    if (!value)
        return -ENOENT;
    *ret_value = value;
    return 0;
}

void store_settings_free(struct store_setting *settings, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(settings[i].name);
        free(settings[i].value);
    }
    free(settings);
}

int store_account_settings_list(struct store *st, const char *account, const char *region,
                                const char *principal_arn, struct store_setting **ret_settings,
                                size_t *ret_n, struct wh_err *err)
{
    static const char sql[] = "SELECT name, value FROM account_settings"
                              " WHERE account = ? AND region = ? AND principal_arn = ?"
                              " ORDER BY name";
    sqlite3_stmt *s = prepare(st, sql, account, region, principal_arn, err);
    if (!s)
        return -EIO;
    struct store_setting *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            v = xrealloc(v, cap * sizeof(*v));
        }
        v[n].name = xstrdup((const char *)sqlite3_column_text(s, 0));
        v[n].value = xstrdup((const char *)sqlite3_column_text(s, 1));
        n++;
    }
    store_done(s);
    if (rc != SQLITE_DONE) {
        store_settings_free(v, n);
        return store_fail(st, "listing account settings", err);
    }
    *ret_settings = v;
    *ret_n = n;
    return 0;
}
