/* The pure parts of wharf-shim (wharf-shim.c): container output as k8s-file records (the
 * format k8s_log.h reads, as conmon wrote it), the runtime's error from its JSON log, and the
 * one line the shim writes on its sync pipe. libc only: the shim is linked static. */
#pragma once
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* "2024-05-01T10:00:00.123456789Z" and its NUL. */
#define SHIM_TS_MAX 32

/* ts (CLOCK_REALTIME) as an RFC 3339 UTC timestamp with nanoseconds; returns its length. */
size_t shim_timestamp(const struct timespec *ts, char out[SHIM_TS_MAX]);

/* The bytes shim_records writes for one chunk of len bytes at most. */
size_t shim_records_max(size_t ts_len, size_t len);
/* One chunk read from a stream ("stdout" or "stderr") as records: each line that ends in the
 * chunk becomes "TS STREAM F line\n", and a last part without its newline "TS STREAM P part\n"
 * (the line goes on in the stream's next chunk). out must hold shim_records_max bytes.
 * Returns the length written (0 for an empty chunk). */
size_t shim_records(const char *ts, const char *stream, const char *data, size_t len, char *out);

/* The message of the last error (level "error" or "fatal") in runc's --log-format=json log,
 * unescaped into out (cap bytes with its NUL, cut if longer). 0, or -1 when there is none. */
int shim_runtime_error(const char *log, size_t len, char *out, size_t cap);

/* The sync line for the agent: "ok PID\n", or "error MESSAGE\n" with every control character
 * of the message made a space. Returns its length (at most cap - 1, always NUL-terminated). */
size_t shim_sync_ok(pid_t pid, char *out, size_t cap);
size_t shim_sync_error(const char *msg, char *out, size_t cap);
