#include "agent/runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/cgroup.h"
#include "core/fsutil.h"
#include "core/json.h"
#include "core/log.h"
#include "core/proc.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

#define RUNC_TIMEOUT_MS 30000
#define EXIT_RECORD_MS 10000 /* the shim drains the logs, then writes the exit file */
#define SEARCH_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* GOMAXPROCS=1: runc is a short-lived, mostly sequential Go program; one P spares it the
 * threads of a P per CPU (5 % of a `runc run`'s CPU here). runc init sets 1 itself. */
static const char *const child_env[] = {"PATH=" SEARCH_PATH, "GOMAXPROCS=1", NULL};

static const char *const status_names[] = {
    [RT_GONE] = "gone",       [RT_CREATING] = "creating", [RT_CREATED] = "created",
    [RT_RUNNING] = "running", [RT_PAUSED] = "paused",     [RT_STOPPED] = "stopped",
};

const char *rt_status_name(enum rt_status s)
{
    return (size_t)s < ARRAY_SIZE(status_names) ? status_names[s] : "unknown";
}

static enum rt_status status_from_name(const char *s)
{
    for (size_t i = 0; s && i < ARRAY_SIZE(status_names); i++)
        if (strcmp(s, status_names[i]) == 0)
            return (enum rt_status)i;
    return RT_GONE;
}

static bool valid_id(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 128 || id[0] == '.' || id[0] == '-' || id[0] == '_')
        return false;
    return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static int bad_id(const char *id, struct wh_err *err)
{
    return wh_err_set(err, 500, "ServerException", "'%s' is not a valid container id",
                      id ? id : "");
}

static char *find_exe(const char *given, const char *name)
{
    if (given)
        return access(given, X_OK) == 0 ? xstrdup(given) : NULL;
    cleanup_free char *path = xstrdup(SEARCH_PATH);
    char *save = NULL;
    for (char *d = strtok_r(path, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char *c = xasprintf("%s/%s", d, name);
        if (access(c, X_OK) == 0)
            return c;
        free(c);
    }
    return NULL;
}

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
/* The seals runc 1.1's init checks before it skips copying its own binary. */
#define RUNC_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* A sealed in-memory copy of runc, which every `runc create` runs from: runc init then finds
 * itself in a sealed memfd (nothing, in or out of a container, can write to it: the
 * CVE-2019-5736 guard) and skips making its own copy, a bind mount and a second exec per
 * container. -1 when the copy cannot be made: runc is then run by its path. */
static int sealed_copy(const char *path)
{
    int fd = memfd_create("runc", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) /* kernels before 6.3 know no MFD_EXEC */
        fd = memfd_create("runc", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    int src = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    bool ok = fd >= 0 && src >= 0 && fstat(src, &sb) == 0;
    for (off_t done = 0; ok && done < sb.st_size;) {
        ssize_t n = sendfile(fd, src, &done, (size_t)(sb.st_size - done));
        ok = n > 0 || (n < 0 && errno == EINTR);
    }
    if (src >= 0)
        close(src);
    if (ok && fcntl(fd, F_ADD_SEALS, RUNC_SEALS) == 0)
        return fd;
    log_warn("no sealed copy of %s (runc init will make its own): %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

int rt_init(struct rt *rt, const char *data_dir, const char *runc, const char *shim,
            struct wh_err *err)
{
    struct rt r = {.runtime_fd = -1};
    r.runc = find_exe(runc, "runc");
    if (shim)
        r.shim = access(shim, X_OK) == 0 ? xstrdup(shim) : NULL;
    else if ((r.shim = fs_beside_self("wharf-shim")) && access(r.shim, X_OK) != 0) {
        free(r.shim);
        r.shim = NULL;
    }
    if (!r.runc || !r.shim) {
        const char *missing = !r.runc ? (runc ? runc : "runc")
                                      : (shim ? shim : "wharf-shim beside this program");
        rt_free(&r);
        return wh_err_set(err, 500, "ServerException", "%s: not found or not executable",
                          missing);
    }
    r.fifo_start = rt_is_runc(r.runc);
    if (r.fifo_start)
        r.runtime_fd = sealed_copy(r.runc);
    r.root = xasprintf("%s/runc", data_dir);
    r.exit_dir = xasprintf("%s/exits", data_dir);
    r.ctr_dir = xasprintf("%s/containers", data_dir);
    const char *dirs[] = {r.root, r.exit_dir, r.ctr_dir};
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        int e = fs_mkdir_p(dirs[i], 0700);
        if (e < 0) {
            wh_err_set(err, 500, "ServerException", "cannot create %s: %s", dirs[i],
                       strerror(-e));
            rt_free(&r);
            return -1;
        }
    }
    *rt = r;
    return 0;
}

void rt_free(struct rt *rt)
{
    if (!rt)
        return;
    free(rt->runc);
    free(rt->shim);
    free(rt->root);
    free(rt->exit_dir);
    free(rt->ctr_dir);
    if (rt->runtime_fd >= 0)
        close(rt->runtime_fd);
    *rt = (struct rt){.runtime_fd = -1};
}

char *rt_bundle_dir(const struct rt *rt, const char *id)
{
    return xasprintf("%s/%s", rt->ctr_dir, id);
}

/* runc --root ROOT ARGS...; -1 with err when it cannot start or fails. */
static int runc(const struct rt *rt, const char *const *args, struct proc_result *ret,
                struct wh_err *err)
{
    const char *argv[16];
    size_t n = 0;
    cleanup_free char *root = xasprintf("--root=%s", rt->root);
    argv[n++] = rt->runc;
    argv[n++] = root;
    for (; *args && n < ARRAY_SIZE(argv) - 1; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    struct proc_opts o = {.argv = argv, .envp = child_env, .timeout_ms = RUNC_TIMEOUT_MS,
                          .max_output = 1 << 20, .extra_fd = -1};
    if (proc_run(&o, ret, err) < 0)
        return -1;
    return 0;
}

/* Run runc and require success; the error carries runc's own message. */
static int runc_ok(const struct rt *rt, const char *const *args, struct wh_err *err)
{
    struct proc_result r;
    if (runc(rt, args, &r, err) < 0)
        return -1;
    int ret = 0;
    if (!proc_ok(&r))
        ret = wh_err_set(err, 500, "ServerException", "runc %s %s: %s", args[0],
                         args[1] ? args[1] : "", proc_describe(&r, RUNC_TIMEOUT_MS));
    proc_result_free(&r);
    return ret;
}

static bool not_exist(const struct proc_result *r)
{
    return r->err && strstr(r->err, "does not exist");
}

int rt_parse_sync(const char *line, int *ret_pid, char **ret_message)
{
    size_t n = strcspn(line, "\n");
    if (strncmp(line, "ok ", 3) == 0) {
        char *e;
        long v = strtol(line + 3, &e, 10);
        if (v <= 0 || v > INT32_MAX || e != line + n)
            return -EINVAL;
        *ret_pid = (int)v;
        *ret_message = NULL;
        return 0;
    }
    if (strncmp(line, "error ", 6) != 0)
        return -EINVAL;
    *ret_pid = -1;
    *ret_message = n > 6 ? xstrndup(line + 6, n - 6) : NULL;
    return 0;
}

/* config.json without fsync: a bundle does not outlive a reboot (neither do its containers),
 * and fsync would be most of a container start. Still written whole then renamed. */
static int write_bundle(const struct rt *rt, const char *id, const char *spec,
                        struct wh_err *err)
{
    cleanup_free char *dir = rt_bundle_dir(rt, id);
    cleanup_free char *tmp = xasprintf("%s/config.json.tmp", dir);
    cleanup_free char *path = xasprintf("%s/config.json", dir);
    if (mkdir(dir, 0700) < 0)
        return wh_err_set(err, 500, "ServerException", "cannot create bundle %s: %s", dir,
                          errno == EEXIST ? "container already exists" : strerror(errno));
    int e, fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t len = strlen(spec), off = 0;
    while (fd >= 0 && off < len) {
        ssize_t w = write(fd, spec + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    e = errno;
    if (fd >= 0)
        close(fd);
    if (fd < 0 || off < len || rename(tmp, path) < 0)
        return wh_err_set(err, 500, "ServerException", "cannot write %s: %s", path,
                          strerror(fd < 0 || off < len ? e : errno));
    return 0;
}

/* Read one newline-terminated message from fd before the deadline; NULL on EOF or timeout. */
static char *read_line(int fd, int timeout_ms, bool *ret_timed_out)
{
    char buf[8192];
    size_t len = 0;
    double deadline = time_monotonic() + timeout_ms / 1000.0;
    *ret_timed_out = false;
    while (len < sizeof(buf) - 1) {
        int left = (int)((deadline - time_monotonic()) * 1000);
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int pr = left > 0 ? poll(&pf, 1, left) : 0;
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0) {
            *ret_timed_out = true;
            return NULL;
        }
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (memchr(buf, '\n', len))
            break;
    }
    if (!len)
        return NULL;
    buf[len] = 0;
    return xstrdup(buf);
}

static pid_t read_pid_file(const char *path)
{
    char *data = NULL;
    size_t len;
    if (fs_read_file(path, 64, &data, &len) < 0)
        return -1;
    long v = strtol(data, NULL, 10);
    free(data);
    return v > 0 ? (pid_t)v : -1;
}

/* Start the shim, which forks: proc_run returns when its first process has exited, and the
 * monitor goes on to run `runc create` and reports on the sync pipe (fd 3). */
static int spawn_shim(const struct rt *rt, const struct rt_create_opts *o, int sync_w,
                      struct wh_err *err)
{
    cleanup_free char *bundle = rt_bundle_dir(rt, o->id);
    int timeout = o->timeout_ms > 0 ? o->timeout_ms : RUNC_TIMEOUT_MS;
    cleanup_free char *tmo = xasprintf("%d", timeout);
    const char *argv[] = {rt->shim, "--runtime", rt->runc, "--root", rt->root, "--bundle", bundle,
                          "--id", o->id, "--log", o->log_path, "--exit-dir", rt->exit_dir,
                          "--timeout-ms", tmo, rt->runtime_fd >= 0 ? "--runtime-fd" : NULL, NULL};
    struct proc_opts po = {.argv = argv, .envp = child_env, .cwd = bundle, .timeout_ms = 10000,
                           .extra_fd = sync_w, .extra_fd2 = rt->runtime_fd > 2 ? rt->runtime_fd : 0};
    struct proc_result r;
    if (proc_run(&po, &r, err) < 0)
        return -1;
    int ret = 0;
    if (!proc_ok(&r))
        ret = wh_err_set(err, 500, "ServerException", "wharf-shim for %s: %s", o->id,
                         proc_describe(&r, po.timeout_ms));
    proc_result_free(&r);
    return ret;
}

static pid_t shim_pid(const struct rt *rt, const char *id)
{
    cleanup_free char *bundle = rt_bundle_dir(rt, id);
    cleanup_free char *path = xasprintf("%s/shim.pid", bundle);
    return read_pid_file(path);
}

/* What the shim said on the sync pipe: the container's pid, or runc create's error. */
static int await_created(const struct rt *rt, const struct rt_create_opts *o, int sync_r,
                         pid_t *ret_pid, struct wh_err *err)
{
    /* the shim times runc create out itself; this is for a shim that hangs */
    int timeout = (o->timeout_ms > 0 ? o->timeout_ms : RUNC_TIMEOUT_MS) + 5000;
    bool timed_out;
    cleanup_free char *line = read_line(sync_r, timeout, &timed_out);
    int data;
    cleanup_free char *msg = NULL;
    if (!line || rt_parse_sync(line, &data, &msg) < 0) {
        pid_t p = timed_out ? shim_pid(rt, o->id) : -1;
        if (p > 0)
            kill(p, SIGKILL);
        return wh_err_set(err, 500, "ServerException", "creating container %s: %s", o->id,
                          timed_out ? "no answer from wharf-shim"
                                    : "wharf-shim exited without reporting");
    }
    if (data <= 0)
        return wh_err_set(err, 500, "CannotStartContainerError", "%s",
                          msg && *msg ? msg : "runc create failed");
    *ret_pid = data;
    return 0;
}

/* The shim leaves the agent's cgroup for RT_SHIM_CGROUP: a service manager that stops the
 * agent by killing its cgroup must not take the containers' monitors (and their logs) along.
 * Best effort: a shim that stays is only exposed to that. */
static void detach_shim(const struct rt *rt, const char *id)
{
    pid_t p = shim_pid(rt, id);
    struct wh_err err = {0};
    if (p > 0 && cgroup_move(RT_SHIM_CGROUP, p, &err) < 0)
        log_warn("container %s: wharf-shim stays in the agent's cgroup: %s", id, err.msg);
}

static int create_one(const struct rt *rt, const struct rt_create_opts *o, pid_t *ret_pid,
                      struct wh_err *err);

/* At most this many `runc create` at once (2 per CPU): a burst of a hundred tasks otherwise
 * runs a hundred Go runtimes side by side, and they take longer together than in a queue. */
static pthread_mutex_t create_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t create_cv = PTHREAD_COND_INITIALIZER;
static int creating;

static void create_slot(int delta)
{
    static int max;
    pthread_mutex_lock(&create_mu);
    if (!max) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        max = n > 0 ? (int)(2 * n) : 4;
    }
    if (delta > 0) {
        while (creating >= max)
            pthread_cond_wait(&create_cv, &create_mu);
        creating++;
    } else {
        creating--;
        pthread_cond_signal(&create_cv);
    }
    pthread_mutex_unlock(&create_mu);
}

int rt_create(const struct rt *rt, const struct rt_create_opts *o, pid_t *ret_pid,
              struct wh_err *err)
{
    create_slot(1);
    int r = create_one(rt, o, ret_pid, err);
    create_slot(-1);
    return r;
}

static int create_one(const struct rt *rt, const struct rt_create_opts *o, pid_t *ret_pid,
                      struct wh_err *err)
{
    if (!valid_id(o->id))
        return bad_id(o->id, err);
    if (write_bundle(rt, o->id, o->spec, err) < 0)
        return -1;
    cleanup_free char *stale_exit = xasprintf("%s/%s", rt->exit_dir, o->id);
    unlink(stale_exit); /* left by an earlier container of that id that was never deleted */
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return wh_err_set(err, 500, "ServerException", "pipe: %s", strerror(errno));
    if (p[1] == 3) { /* dup2(3, 3) in the child would keep it close-on-exec */
        int fd = fcntl(p[1], F_DUPFD_CLOEXEC, 4);
        close(p[1]);
        p[1] = fd;
    }
    int r = p[1] < 0 ? wh_err_set(err, 500, "ServerException", "dup: %s", strerror(errno))
                     : spawn_shim(rt, o, p[1], err);
    if (p[1] >= 0)
        close(p[1]);
    pid_t pid = -1;
    if (r == 0)
        r = await_created(rt, o, p[0], &pid, err);
    close(p[0]);
    if (r == 0)
        detach_shim(rt, o->id);
    if (r < 0) {
        rt_delete(rt, o->id, NULL); /* ours: the bundle did not exist before */
        return -1;
    }
    *ret_pid = pid;
    return 0;
}

bool rt_is_runc(const char *path)
{
    const char *base = strrchr(path, '/');
    return strcmp(base ? base + 1 : path, "runc") == 0;
}

static bool pid_gone(pid_t pid)
{
    return pid > 0 && kill(pid, 0) < 0 && errno == ESRCH;
}

/* `runc start` without runc: 1 started, 0 no fifo to use (fall back), -1 with err. Waits in
 * 100 ms slices so that a process that died before reaching the fifo is noticed, as runc does. */
static int start_by_fifo(const struct rt *rt, const char *id, pid_t pid, struct wh_err *err)
{
    cleanup_free char *path = xasprintf("%s/%s/exec.fifo", rt->root, id);
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISFIFO(sb.st_mode)) {
        close(fd);
        return 0;
    }
    double deadline = time_monotonic() + RUNC_TIMEOUT_MS / 1000.0;
    int ret = -1;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, 100);
        if (n < 0 && errno != EINTR) {
            wh_err_set(err, 500, "ServerException", "starting %s: poll: %s", id, strerror(errno));
            break;
        }
        if (n > 0) {
            char b[16];
            ssize_t got = read(fd, b, sizeof(b));
            if (got > 0) {
                ret = 1;
                break;
            }
            if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
                wh_err_set(err, 500, "CannotStartContainerError",
                           "container %s: its init process left without starting it", id);
                break;
            }
        }
        if (pid_gone(pid)) {
            wh_err_set(err, 500, "CannotStartContainerError",
                       "container %s: its process is already dead", id);
            break;
        }
        if (time_monotonic() > deadline) {
            wh_err_set(err, 500, "ServerException", "starting %s: no answer from runc init "
                       "within %d s", id, RUNC_TIMEOUT_MS / 1000);
            break;
        }
    }
    close(fd);
    if (ret == 1 && unlink(path) < 0 && errno != ENOENT)
        log_warn("container %s: cannot remove %s: %s", id, path, strerror(errno));
    return ret;
}

int rt_start(const struct rt *rt, const char *id, pid_t pid, struct wh_err *err)
{
    if (!valid_id(id))
        return bad_id(id, err);
    if (rt->fifo_start) {
        int r = start_by_fifo(rt, id, pid, err);
        if (r != 0)
            return r < 0 ? -1 : 0;
    }
    const char *args[] = {"start", id, NULL};
    return runc_ok(rt, args, err);
}

int rt_run(const struct rt *rt, const struct rt_create_opts *o, pid_t *ret_pid,
           struct wh_err *err)
{
    pid_t pid;
    if (rt_create(rt, o, &pid, err) < 0)
        return -1;
    if (rt_start(rt, o->id, pid, err) < 0) {
        rt_delete(rt, o->id, NULL);
        return -1;
    }
    *ret_pid = pid;
    return 0;
}

int rt_state(const struct rt *rt, const char *id, struct rt_state *ret, struct wh_err *err)
{
    if (!valid_id(id))
        return bad_id(id, err);
    const char *args[] = {"state", id, NULL};
    struct proc_result r;
    if (runc(rt, args, &r, err) < 0)
        return -1;
    int rc = 0;
    if (!proc_ok(&r)) {
        if (not_exist(&r))
            *ret = (struct rt_state){.status = RT_GONE};
        else
            rc = wh_err_set(err, 500, "ServerException", "runc state %s: %s", id,
                            proc_describe(&r, RUNC_TIMEOUT_MS));
        proc_result_free(&r);
        return rc;
    }
    json_auto_t *v = json_loads(r.out, 0, NULL);
    proc_result_free(&r);
    if (!json_is_object(v))
        return wh_err_set(err, 500, "ServerException", "runc state %s: unreadable output", id);
    *ret = (struct rt_state){.status = status_from_name(json_str(v, "status")),
                             .pid = (pid_t)json_int(v, "pid", 0)};
    return 0;
}

int rt_kill(const struct rt *rt, const char *id, int sig, struct wh_err *err)
{
    if (!valid_id(id))
        return bad_id(id, err);
    char s[16];
    snprintf(s, sizeof(s), "%d", sig);
    const char *args[] = {"kill", id, s, NULL};
    struct proc_result r;
    if (runc(rt, args, &r, err) < 0)
        return -1;
    int rc = 0;
    /* Exited meanwhile, or already deleted: nothing left to signal. */
    if (!proc_ok(&r) && !not_exist(&r) && !strstr(r.err, "not running") &&
        !strstr(r.err, "process already finished"))
        rc = wh_err_set(err, 500, "ServerException", "runc kill %s %d: %s", id, sig,
                        proc_describe(&r, RUNC_TIMEOUT_MS));
    proc_result_free(&r);
    return rc;
}

/* Wait until the process behind pidfd exits; true when it did in time. */
static bool wait_pidfd(int pidfd, int timeout_ms)
{
    double deadline = time_monotonic() + timeout_ms / 1000.0;
    for (;;) {
        int left = (int)((deadline - time_monotonic()) * 1000);
        struct pollfd pf = {.fd = pidfd, .events = POLLIN};
        int pr = poll(&pf, 1, left > 0 ? left : 0);
        if (pr > 0)
            return true;
        if (pr == 0)
            return false;
        if (errno != EINTR)
            return false;
    }
}

/* Send sig, wait up to timeout_s for the container's process to go, then SIGKILL it and wait
 * again. A created (never started) container gets SIGKILL at once. */
static int terminate(const struct rt *rt, const char *id, const struct rt_state *st, int sig,
                     int timeout_s, struct wh_err *err)
{
    int pidfd = st->pid > 0 ? (int)syscall(SYS_pidfd_open, st->pid, 0) : -1;
    bool gone = false;
    int r = 0;
    if (st->status == RT_RUNNING && sig != SIGKILL) {
        r = rt_kill(rt, id, sig > 0 ? sig : SIGTERM, err);
        gone = r == 0 && pidfd >= 0 && wait_pidfd(pidfd, timeout_s > 0 ? timeout_s * 1000 : 0);
    }
    if (r == 0 && !gone) {
        r = rt_kill(rt, id, SIGKILL, err);
        if (r == 0 && pidfd >= 0)
            wait_pidfd(pidfd, EXIT_RECORD_MS);
    }
    if (pidfd >= 0)
        close(pidfd);
    return r;
}

int rt_stop(const struct rt *rt, const char *id, int sig, int timeout_s, struct wh_err *err)
{
    struct rt_state st;
    if (rt_state(rt, id, &st, err) < 0)
        return -1;
    if (st.status == RT_GONE)
        return 0;
    if (st.status != RT_STOPPED && terminate(rt, id, &st, sig, timeout_s, err) < 0)
        return -1;
    struct rt_exit ex;
    int r = rt_wait(rt, id, EXIT_RECORD_MS, &ex);
    if (r < 0 && r != -ESRCH)
        return wh_err_set(err, 500, "ServerException",
                          "container %s was stopped but its exit was not recorded: %s", id,
                          strerror(-r));
    return 0;
}

int rt_exit_status(const struct rt *rt, const char *id, struct rt_exit *ret)
{
    if (!valid_id(id))
        return -EINVAL;
    cleanup_free char *path = xasprintf("%s/%s", rt->exit_dir, id);
    char *data = NULL;
    size_t len;
    int r = fs_read_file(path, 64, &data, &len);
    if (r < 0)
        return r;
    struct rt_exit ex = {.code = (int)strtol(data, NULL, 10)};
    free(data);
    cleanup_free char *bundle = rt_bundle_dir(rt, id);
    cleanup_free char *oom = xasprintf("%s/oom", bundle);
    ex.oom = access(oom, F_OK) == 0;
    if (!ex.oom) {
        /* the counter in the container's memory cgroup is the truth until runc delete; the
         * marker keeps it after that */
        cleanup_free char *cfg = xasprintf("%s/config.json", bundle);
        char *spec = NULL;
        size_t slen;
        if (fs_read_file(cfg, 4 << 20, &spec, &slen) == 0) {
            json_auto_t *v = json_loads(spec, 0, NULL);
            const char *cg = json_str(json_object_get(v, "linux"), "cgroupsPath");
            if (cg)
                cgroup_oom_killed(cg, &ex.oom);
            free(spec);
            if (ex.oom) {
                int fd = open(oom, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                if (fd >= 0)
                    close(fd);
            }
        }
    }
    *ret = ex;
    return 0;
}

/* Wait for EXIT_DIR/ID with inotify, and stop waiting early if the shim is gone without
 * writing it (killed): -ESRCH. */
int rt_wait(const struct rt *rt, const char *id, int timeout_ms, struct rt_exit *ret)
{
    int r = rt_exit_status(rt, id, ret);
    if (r != -ENOENT)
        return r;
    int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (in < 0)
        return -errno;
    inotify_add_watch(in, rt->exit_dir, IN_MOVED_TO | IN_CLOSE_WRITE);
    pid_t cp = shim_pid(rt, id);
    int pidfd = cp > 0 ? (int)syscall(SYS_pidfd_open, cp, 0) : -1;
    double deadline = time_monotonic() + timeout_ms / 1000.0;
    bool shim_gone = cp > 0 && pidfd < 0;
    while ((r = rt_exit_status(rt, id, ret)) == -ENOENT && !shim_gone) {
        int left = (int)((deadline - time_monotonic()) * 1000);
        if (left <= 0) {
            r = -ETIMEDOUT;
            break;
        }
        struct pollfd pf[2] = {{.fd = in, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
        int pr = poll(pf, pidfd >= 0 ? 2 : 1, left);
        if (pr > 0 && (pf[0].revents & POLLIN)) {
            char buf[4096];
            while (read(in, buf, sizeof(buf)) > 0)
                ;
        }
        if (pr > 0 && pidfd >= 0 && (pf[1].revents & POLLIN))
            shim_gone = true; /* one more look at the exit file, then give up */
    }
    if (r == -ENOENT && shim_gone)
        r = rt_exit_status(rt, id, ret) == 0 ? 0 : -ESRCH;
    if (pidfd >= 0)
        close(pidfd);
    close(in);
    return r;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

int rt_delete(const struct rt *rt, const char *id, struct wh_err *err)
{
    if (!valid_id(id))
        return bad_id(id, err);
    const char *args[] = {"delete", "--force", id, NULL};
    struct proc_result r;
    if (runc(rt, args, &r, err) < 0)
        return -1;
    if (!proc_ok(&r) && !not_exist(&r)) {
        wh_err_set(err, 500, "ServerException", "runc delete %s: %s", id,
                   proc_describe(&r, RUNC_TIMEOUT_MS));
        proc_result_free(&r);
        return -1;
    }
    proc_result_free(&r);
    cleanup_free char *exit_file = xasprintf("%s/%s", rt->exit_dir, id);
    cleanup_free char *bundle = rt_bundle_dir(rt, id);
    unlink(exit_file);
    if (nftw(bundle, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
        return wh_err_set(err, 500, "ServerException", "cannot remove %s: %s", bundle,
                          strerror(errno));
    return 0;
}

static void list_add(struct rt_info **l, size_t *n, const char *id, enum rt_status st, pid_t pid)
{
    *l = xrealloc(*l, (*n + 1) * sizeof(**l));
    struct rt_info *i = &(*l)[(*n)++];
    *i = (struct rt_info){.status = st, .pid = pid};
    snprintf(i->id, sizeof(i->id), "%s", id);
}

int rt_list(const struct rt *rt, struct rt_info **ret_list, size_t *ret_n, struct wh_err *err)
{
    const char *args[] = {"list", "--format=json", NULL};
    struct proc_result r;
    if (runc(rt, args, &r, err) < 0)
        return -1;
    if (!proc_ok(&r)) {
        wh_err_set(err, 500, "ServerException", "runc list: %s", proc_describe(&r, RUNC_TIMEOUT_MS));
        proc_result_free(&r);
        return -1;
    }
    json_auto_t *v = json_loads(r.out, JSON_DECODE_ANY, NULL);
    proc_result_free(&r);
    struct rt_info *l = NULL;
    size_t n = 0, i;
    json_t *c;
    json_array_foreach(v, i, c) {
        const char *id = json_str(c, "id");
        if (id && valid_id(id))
            list_add(&l, &n, id, status_from_name(json_str(c, "status")),
                     (pid_t)json_int(c, "pid", 0));
    }
    /* Exit files of containers runc no longer knows (deleted by hand, or a lost runc root). */
    DIR *d = opendir(rt->exit_dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (!valid_id(de->d_name))
            continue;
        bool known = false;
        for (size_t k = 0; k < n && !known; k++)
            known = strcmp(l[k].id, de->d_name) == 0;
        if (!known)
            list_add(&l, &n, de->d_name, RT_GONE, 0);
    }
    if (d)
        closedir(d);
    for (size_t k = 0; k < n; k++)
        l[k].exited = rt_exit_status(rt, l[k].id, &l[k].exit) == 0;
    *ret_list = l;
    *ret_n = n;
    return 0;
}
