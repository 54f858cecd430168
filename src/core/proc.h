/* The one way wharf starts a child process: an argument vector (never a shell), an explicit
 * environment, captured and capped stdout/stderr, and a deadline after which the child is
 * killed. exec failures come back as errors (through a close-on-exec pipe), not as a child
 * exiting 127. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/err.h"

struct proc_opts {
    const char *const *argv; /* argv[0]: absolute path, or a name searched in envp's PATH */
    const char *const *envp; /* NULL-terminated; NULL means an empty environment */
    const char *cwd;         /* NULL: inherit */
    const void *input;       /* written to the child's stdin, then closed; NULL: /dev/null */
    size_t input_len;
    size_t max_output;       /* cap per stream; the rest is read and dropped (default 1 MiB) */
    int timeout_ms;          /* > 0: SIGKILL the child (its process group) at the deadline */
    int extra_fd;            /* >= 0: passed to the child as fd 3 (e.g. a sync pipe) */
    int extra_fd2;           /* > 2: passed to the child as fd 4 (0: none) */
};

struct proc_result {
    int exit_code;   /* valid when !signaled */
    int term_signal; /* valid when signaled */
    bool signaled;
    bool timed_out;
    char *out, *err; /* NUL-terminated captures (possibly truncated) */
    size_t out_len, err_len;
};

/* Run to completion. Returns 0 when the child ran (whatever its exit status), -1 with err
 * filled when it could not be started. */
int proc_run(const struct proc_opts *o, struct proc_result *ret_res, struct wh_err *err);
void proc_result_free(struct proc_result *r);
/* True when the child exited 0 in time. */
bool proc_ok(const struct proc_result *r);
/* A short description for error messages: "exited 1: <first line of stderr>", "killed by
 * signal 9", "timed out after N ms". Static per-thread buffer. */
const char *proc_describe(const struct proc_result *r, int timeout_ms);
