#include "core/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "core/xalloc.h"

struct capture {
    int fd;
    char *buf;
    size_t len, cap, max;
};

static const char *env_path(const char *const *envp)
{
    for (; envp && *envp; envp++)
        if (strncmp(*envp, "PATH=", 5) == 0)
            return *envp + 5;
    return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

/* Resolve argv[0] before fork: the child must only exec, and errors are clearer here. */
static char *resolve(const char *name, const char *const *envp)
{
    if (strchr(name, '/'))
        return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
    cleanup_free char *path = xstrdup(env_path(envp));
    char *save = NULL;
    for (char *dir = strtok_r(path, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char *cand = xasprintf("%s/%s", dir, name);
        if (access(cand, X_OK) == 0)
            return cand;
        free(cand);
    }
    return NULL;
}

static void child(const struct proc_opts *o, const char *exe, int in_fd, int out_fd, int err_fd,
                  int errpipe)
{
    /* Only async-signal-safe calls from here on. */
    setpgid(0, 0);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        goto fail;
    /* Move fd 4's source out of the way of fd 3 first; dup2 of an fd onto itself would keep
     * its close-on-exec flag, so that case clears the flag instead. */
    int fd2 = o->extra_fd2 > 2 ? o->extra_fd2 : -1;
    if (fd2 == 3 && o->extra_fd >= 0 && o->extra_fd != 3 && (fd2 = fcntl(fd2, F_DUPFD, 5)) < 0)
        goto fail;
    if (o->extra_fd >= 0 && (o->extra_fd == 3 ? fcntl(3, F_SETFD, 0) : dup2(o->extra_fd, 3)) < 0)
        goto fail;
    if (fd2 >= 0 && (fd2 == 4 ? fcntl(4, F_SETFD, 0) : dup2(fd2, 4)) < 0)
        goto fail;
    if (o->cwd && chdir(o->cwd) < 0)
        goto fail;
    static const char *const empty_env[] = {NULL};
    execve(exe, (char *const *)o->argv, (char *const *)(o->envp ? o->envp : empty_env));
fail:;
    int e = errno;
    ssize_t w = write(errpipe, &e, sizeof(e));
    (void)w;
    _exit(127);
}

/* vfork: the parent is a multi-threaded daemon, and copying its page tables for a child that
 * only sets up fds and execs costs more than the exec. The child makes only
 * async-signal-safe system calls before execve or _exit. Kept out of line so no caller's
 * locals live across the vfork. */
static __attribute__((noinline)) pid_t spawn(const struct proc_opts *o, const char *exe, int in_fd,
                                             int out_fd, int err_fd, int errpipe)
{
    pid_t pid = vfork();
    if (pid == 0)
        child(o, exe, in_fd, out_fd, err_fd, errpipe);
    return pid;
}

static bool drain(struct capture *c)
{
    char tmp[16384];
    ssize_t n = read(c->fd, tmp, sizeof(tmp));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0) {
        close(c->fd);
        c->fd = -1;
        return false;
    }
    size_t keep = c->len < c->max ? c->max - c->len : 0;
    if ((size_t)n < keep)
        keep = (size_t)n;
    if (keep) {
        if (c->len + keep + 1 > c->cap) {
            c->cap = (c->len + keep + 1) * 2;
            c->buf = xrealloc(c->buf, c->cap);
        }
        memcpy(c->buf + c->len, tmp, keep);
        c->len += keep;
    }
    return true;
}

static int pidfd_open_(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int proc_run(const struct proc_opts *o, struct proc_result *ret_res, struct wh_err *err)
{
    cleanup_free char *exe = resolve(o->argv[0], o->envp);
    if (!exe)
        return wh_err_set(err, 500, "ServerException", "cannot run %s: not found or not executable",
                          o->argv[0]);
    int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1}, ep[2] = {-1, -1};
    int devnull = -1;
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0)
        goto pipe_fail;
    if (o->input) {
        if (pipe2(in, O_CLOEXEC) < 0)
            goto pipe_fail;
    } else if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        goto pipe_fail;
    }
    pid_t pid = spawn(o, exe, o->input ? in[0] : devnull, out[1], er[1], ep[1]);
    if (pid < 0)
        goto pipe_fail;
    close(out[1]);
    close(er[1]);
    close(ep[1]);
    if (devnull >= 0)
        close(devnull);
    if (in[0] >= 0)
        close(in[0]);

    int exec_errno = 0;
    ssize_t n;
    while ((n = read(ep[0], &exec_errno, sizeof(exec_errno))) < 0 && errno == EINTR)
        ;
    close(ep[0]);
    if (n == sizeof(exec_errno)) {
        waitpid(pid, NULL, 0);
        close(out[0]);
        close(er[0]);
        if (in[1] >= 0)
            close(in[1]);
        return wh_err_set(err, 500, "ServerException", "cannot exec %s: %s", exe,
                          strerror(exec_errno));
    }

    /* Feed stdin first; inputs are small (a JSON document, a config). Broken pipe is fine. */
    if (in[1] >= 0) {
        const char *p = o->input;
        size_t left = o->input_len;
        while (left) {
            ssize_t w = write(in[1], p, left);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            p += w;
            left -= (size_t)w;
        }
        close(in[1]);
    }

    size_t max = o->max_output ? o->max_output : (1u << 20);
    struct capture caps[2] = {{.fd = out[0], .max = max}, {.fd = er[0], .max = max}};
    int pidfd = pidfd_open_(pid);
    double deadline = o->timeout_ms > 0 ? time_monotonic() + o->timeout_ms / 1000.0 : 0;
    bool timed_out = false, exited = false;
    while (caps[0].fd >= 0 || caps[1].fd >= 0 || !exited) {
        struct pollfd pf[3];
        int np = 0, idx[2] = {-1, -1};
        for (int i = 0; i < 2; i++)
            if (caps[i].fd >= 0) {
                idx[i] = np;
                pf[np++] = (struct pollfd){.fd = caps[i].fd, .events = POLLIN};
            }
        int pidx = -1;
        if (!exited && pidfd >= 0) {
            pidx = np;
            pf[np++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
        }
        int wait_ms = -1;
        if (deadline && !timed_out) {
            double left = deadline - time_monotonic();
            wait_ms = left <= 0 ? 0 : (int)(left * 1000) + 1;
        }
        if (pidfd < 0 && np == 0)
            break; /* no pidfd: fall through to a blocking waitpid */
        int pr = poll(pf, (nfds_t)np, wait_ms);
        if (pr < 0 && errno != EINTR)
            break;
        if (pr == 0 && deadline && !timed_out) {
            /* Kill the whole group: a child's own children must not keep the pipes open. */
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            timed_out = true;
            continue;
        }
        for (int i = 0; i < 2; i++)
            if (idx[i] >= 0 && (pf[idx[i]].revents & (POLLIN | POLLHUP | POLLERR)))
                drain(&caps[i]);
        if (pidx >= 0 && (pf[pidx].revents & POLLIN))
            exited = true;
    }
    for (int i = 0; i < 2; i++)
        if (caps[i].fd >= 0)
            close(caps[i].fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (pidfd >= 0)
        close(pidfd);

    struct proc_result r = {.timed_out = timed_out};
    if (WIFSIGNALED(status)) {
        r.signaled = true;
        r.term_signal = WTERMSIG(status);
    } else {
        r.exit_code = WEXITSTATUS(status);
    }
    r.out = caps[0].buf ? caps[0].buf : xstrdup("");
    r.out[caps[0].len] = 0;
    r.out_len = caps[0].len;
    r.err = caps[1].buf ? caps[1].buf : xstrdup("");
    r.err[caps[1].len] = 0;
    r.err_len = caps[1].len;
    *ret_res = r;
    return 0;

pipe_fail:;
    int e = errno;
    int fds[] = {in[0], in[1], out[0], out[1], er[0], er[1], ep[0], ep[1], devnull};
    for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return wh_err_set(err, 500, "ServerException", "cannot start %s: %s", exe, strerror(e));
}

void proc_result_free(struct proc_result *r)
{
    if (!r)
        return;
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

bool proc_ok(const struct proc_result *r)
{
    return !r->timed_out && !r->signaled && r->exit_code == 0;
}

const char *proc_describe(const struct proc_result *r, int timeout_ms)
{
    static _Thread_local char buf[512];
    if (r->timed_out) {
        snprintf(buf, sizeof(buf), "timed out after %d ms", timeout_ms);
    } else if (r->signaled) {
        snprintf(buf, sizeof(buf), "killed by signal %d", r->term_signal);
    } else {
        const char *e = r->err && r->err[0] ? r->err : (r->out ? r->out : "");
        size_t n = strcspn(e, "\n");
        snprintf(buf, sizeof(buf), "exited %d%s%.*s", r->exit_code, n ? ": " : "",
                 (int)(n > 400 ? 400 : n), e);
    }
    return buf;
}
