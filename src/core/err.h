/* The error contract: functions return 0 or a negative value; where the caller needs a
 * message, they fill a struct wh_err. `type` is the wire error code (AWS "__type" such as
 * "ClusterNotFoundException", or an OCI code such as "BLOB_UNKNOWN"), `status` the HTTP status. */
#pragma once
#include <stdbool.h>

struct wh_err {
    int status;
    char type[64];
    char msg[1024];
};

/* Fill err (if not NULL) and return -1, so callers can `return wh_err_set(...)`. */
int wh_err_set(struct wh_err *err, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prefix the message with context ("containerDefinitions[1]: ..."); returns -1. */
int wh_err_prefix(struct wh_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool wh_err_isset(const struct wh_err *err);
