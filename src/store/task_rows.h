/* Column helpers shared by the SQLite files of instances, attributes and tasks (internal to
 * src/store/). */
#pragma once
#include <sqlite3.h>
#include <stdint.h>

#include "core/xalloc.h"

/* A text column as a new heap string, NULL for SQL NULL. */
static inline char *row_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? xstrdup((const char *)t) : NULL;
}

/* A REAL column, 0 for NULL. */
static inline double row_time(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? 0 : sqlite3_column_double(s, i);
}

/* Bind text (NULL binds SQL NULL). The string must outlive the step. */
static inline void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

/* Bind a timestamp; 0 binds NULL ("not yet"). */
static inline void bind_time(sqlite3_stmt *s, int i, double t)
{
    if (t > 0)
        sqlite3_bind_double(s, i, t);
    else
        sqlite3_bind_null(s, i);
}
