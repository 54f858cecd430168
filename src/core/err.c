#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int wh_err_set(struct wh_err *err, int status, const char *type, const char *fmt, ...)
{
    if (!err)
        return -1;
    err->status = status;
    snprintf(err->type, sizeof(err->type), "%s", type);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

int wh_err_prefix(struct wh_err *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char prefix[256], old[sizeof(err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    /* Truncation is fine: a long message keeps its start, which names the field. */
    size_t n = strnlen(prefix, sizeof(err->msg) - 1);
    memcpy(err->msg, prefix, n);
    size_t rest = strnlen(old, sizeof(err->msg) - 1 - n);
    memcpy(err->msg + n, old, rest);
    err->msg[n + rest] = 0;
    return -1;
}

bool wh_err_isset(const struct wh_err *err)
{
    return err && err->type[0];
}
