/* Containers run with runc under wharf-shim (src/agent/shim/): one shim per container, in its
 * own session, is the container's parent, so containers outlive the agent; it writes
 * stdout/stderr to a k8s-file log (one timestamped record per output line, as conmon did) and
 * the exit code to EXIT_DIR/ID, so exit codes survive an agent restart. wharf's containers
 * live under their own runc --root, and every `runc create` runs from one sealed in-memory
 * copy of runc (runc init then skips copying itself).
 *
 * Layout under the data dir:
 *   runc/           runc --root (container state, apart from anyone else's containers)
 *   exits/ID        exit code, written by the shim when the container exits (watch with inotify)
 *   containers/ID/  bundle: config.json, pidfile, shim.pid, runc.log; "oom" once the agent has
 *                   seen that the kernel OOM-killed it
 * The shim is moved to the cgroup RT_SHIM_CGROUP so that stopping the agent's service does not
 * kill it. Every child process goes through proc_run. Functions are thread-safe for distinct
 * ids. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"

#define RT_OOM_REASON "OutOfMemoryError: Container killed due to memory usage"
/* Where the shims are moved, out of the agent's cgroup. */
#define RT_SHIM_CGROUP "/wharf/shim"

struct rt {
    char *runc, *shim;                 /* absolute paths */
    char *root, *exit_dir, *ctr_dir;
    int runtime_fd;  /* the sealed copy of runc, or -1 */
    bool fifo_start; /* the runtime is runc: start by its exec.fifo (rt_start) */
};

/* Find runc (NULL: search PATH /usr/sbin:/usr/bin:/sbin:/bin) and wharf-shim (NULL: beside
 * this program), copy runc into a sealed memfd and create the directories under data_dir. */
int rt_init(struct rt *rt, const char *data_dir, const char *runc, const char *shim,
            struct wh_err *err);
void rt_free(struct rt *rt);
/* The bundle directory of a container (new string). It belongs to the runtime: files the spec
 * binds (hosts, resolv.conf, hostname) live in the agent's own directories. */
char *rt_bundle_dir(const struct rt *rt, const char *id);

enum rt_status { RT_GONE, RT_CREATING, RT_CREATED, RT_RUNNING, RT_PAUSED, RT_STOPPED };
const char *rt_status_name(enum rt_status s);

struct rt_create_opts {
    const char *id;       /* [A-Za-z0-9][A-Za-z0-9_.-]{0,127} */
    const char *spec;     /* config.json text (oci_spec_build) */
    const char *log_path; /* k8s-file log; its directory must exist */
    int timeout_ms;       /* for runc create (0: 30 s) */
};

/* Write the bundle and create the container under wharf-shim; returns once runc create has
 * finished: 0 with the container's pid (status "created"), or -1 with runc's own error message
 * (as the shim relays it on its sync pipe; err->type "CannotStartContainerError"), everything
 * cleaned up again. An id that is in use is refused. */
int rt_create(const struct rt *rt, const struct rt_create_opts *o, pid_t *ret_pid,
              struct wh_err *err);
/* Start the created container (pid: its process from rt_create, or 0 if unknown): its process
 * execs its program. With runc this is what `runc start` does, done in-process: read runc
 * init's byte from ROOT/ID/exec.fifo (which lets init exec) and remove the fifo (runc's mark of
 * "created"); a Go process less per container (≈ 20 ms and its CPU here). Other runtimes, and
 * a runc whose fifo is not where 1.0–1.1 keep it, get `RUNTIME start`. */
int rt_start(const struct rt *rt, const char *id, pid_t pid, struct wh_err *err);
/* Whether a runtime binary named path gets the exec.fifo start (its basename is "runc"). Pure. */
bool rt_is_runc(const char *path);
/* rt_create + rt_start; on a failed start the container is deleted again. */
int rt_run(const struct rt *rt, const struct rt_create_opts *o, pid_t *ret_pid,
           struct wh_err *err);

struct rt_state {
    enum rt_status status;
    pid_t pid;
};
/* runc state; RT_GONE (not an error) when runc does not know the container. */
int rt_state(const struct rt *rt, const char *id, struct rt_state *ret, struct wh_err *err);

/* runc kill ID SIG; a container that is not running is not an error. */
int rt_kill(const struct rt *rt, const char *id, int sig, struct wh_err *err);
/* As `docker stop`: send sig (SIGTERM unless the image says otherwise), wait up to
 * timeout_s seconds, then SIGKILL; returns once the shim has recorded the exit. */
int rt_stop(const struct rt *rt, const char *id, int sig, int timeout_s, struct wh_err *err);

struct rt_exit {
    int code; /* 128+N when killed by signal N; -1 when the shim could not tell */
    bool oom; /* the kernel OOM-killed a process of the container: report RT_OOM_REASON */
};
/* The exit of a container that has exited: 0; -ENOENT while it has not (or is unknown). */
int rt_exit_status(const struct rt *rt, const char *id, struct rt_exit *ret);
/* Wait up to timeout_ms for the container to exit; then as rt_exit_status (-ETIMEDOUT). */
int rt_wait(const struct rt *rt, const char *id, int timeout_ms, struct rt_exit *ret);

/* runc delete --force (which removes its cgroup), the exit file and the bundle directory.
 * A container that does not exist is not an error. */
int rt_delete(const struct rt *rt, const char *id, struct wh_err *err);

struct rt_info {
    char id[136];
    enum rt_status status;
    pid_t pid;
    bool exited; /* an exit file exists: exit is valid */
    struct rt_exit exit;
};
/* Every container of this runtime root (runc list) plus exit files of containers runc no
 * longer knows, so an agent that restarts finds everything again. */
int rt_list(const struct rt *rt, struct rt_info **ret_list, size_t *ret_n, struct wh_err *err);

/* Parse the shim's sync line: "ok PID" (*ret_pid > 0) or "error MESSAGE" (*ret_pid -1, the
 * message, NULL when empty); -EINVAL for anything else. Pure. */
int rt_parse_sync(const char *line, int *ret_pid, char **ret_message);
