/* wharf-shim: the monitor of one container (what conmon did for us, at a tenth of its cost).
 *
 *   wharf-shim --runtime PATH --root DIR --bundle DIR --id ID --log FILE --exit-dir DIR
 *              [--timeout-ms N] [--runtime-fd]
 *   fd 3: the sync pipe; with --runtime-fd, fd 4 is the runtime, exec'd instead of PATH (a
 *   sealed memfd copy of runc: runc init then skips making its own copy)
 *
 * It forks and its first process exits at once (the caller waits for that); the second runs
 * in its own session as a child subreaper:
 *   1. `RUNTIME --root DIR --log BUNDLE/runc.log --log-format json create --bundle BUNDLE
 *      --pid-file BUNDLE/pidfile ID`, with stdout and stderr on two pipes, which the container
 *      inherits; its own pid goes to BUNDLE/shim.pid first.
 *   2. One line on the sync pipe: "ok PID" (the container's process), or "error MESSAGE"
 *      (the runtime's own error) and exit 1.
 *   3. The container's output, as k8s-file records appended to FILE, until the container's
 *      process (re-parented to us when `create` exits) has exited and its pipes are drained.
 *   4. Its exit code (128+N for signal N) to EXIT_DIR/ID, written whole then renamed into
 *      place: once the file is there, every line of output is in FILE.
 * Everything it needs survives the agent: the agent may stop and start again meanwhile. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/shim/shim_log.h"

#define SYNC_FD 3
#define RUNTIME_FD 4
#define CHUNK 8192         /* conmon's buffer too: longer lines become P records */
#define DRAIN_IDLE_MS 1000 /* after the exit: output that stops coming for this long is done */

struct opts {
    const char *runtime, *root, *bundle, *id, *log, *exit_dir;
    int timeout_ms;
    bool runtime_fd;
};

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "wharf-shim: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"runtime", required_argument, NULL, 'r'}, {"root", required_argument, NULL, 'R'},
        {"bundle", required_argument, NULL, 'b'},  {"id", required_argument, NULL, 'i'},
        {"log", required_argument, NULL, 'l'},     {"exit-dir", required_argument, NULL, 'e'},
        {"timeout-ms", required_argument, NULL, 't'}, {"runtime-fd", no_argument, NULL, 'F'},
        {NULL, 0, NULL, 0},
    };
    *o = (struct opts){.timeout_ms = 30000};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'r': o->runtime = optarg; break;
        case 'R': o->root = optarg; break;
        case 'b': o->bundle = optarg; break;
        case 'i': o->id = optarg; break;
        case 'l': o->log = optarg; break;
        case 'e': o->exit_dir = optarg; break;
        case 't': o->timeout_ms = atoi(optarg); break;
        case 'F': o->runtime_fd = true; break;
        default: die("unknown option %s", argv[optind - 1]);
        }
    }
    const char *need[] = {o->runtime, o->root, o->bundle, o->id, o->log, o->exit_dir};
    static const char *const names[] = {"--runtime", "--root", "--bundle", "--id", "--log",
                                        "--exit-dir"};
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
        if (!need[i])
            die("%s is required", names[i]);
    if (strchr(o->id, '/') || o->id[0] == '.' || o->timeout_ms <= 0)
        die("bad --id or --timeout-ms (id %s)", o->id);
}

static char *path2(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p)
        die("%s", "out of memory");
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* a full disk loses output, never blocks the container */
        p += w;
        n -= (size_t)w;
    }
}

/* Write text to dir/name whole: a temporary name first, then renamed into place. */
static int write_file(const char *dir, const char *name, const char *text)
{
    char *path = path2(dir, name), *tmp = malloc(strlen(path) + 8);
    if (!tmp)
        die("%s", "out of memory");
    sprintf(tmp, "%s.shim~", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), r = -1;
    if (fd >= 0) {
        write_all(fd, text, strlen(text));
        r = close(fd) == 0 && rename(tmp, path) == 0 ? 0 : -1;
    }
    if (r < 0)
        unlink(tmp);
    free(path);
    free(tmp);
    return r;
}

static int read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = 0;
    return (int)n;
}

static void sync_line(const char *line, size_t n)
{
    write_all(SYNC_FD, line, n);
    close(SYNC_FD);
}

static void sync_error(const char *msg)
{
    char line[4096];
    sync_line(line, shim_sync_error(msg, line, sizeof(line)));
}

/* Exec the runtime: from fd 4 when we were given it, else by its path. */
static void exec_runtime(const struct opts *o, int out_w, int err_w)
{
    char *bundle_log = path2(o->bundle, "runc.log"), *pidfile = path2(o->bundle, "pidfile");
    char *root = malloc(strlen(o->root) + 8), *log = malloc(strlen(bundle_log) + 8);
    if (!root || !log)
        _exit(127);
    sprintf(root, "--root=%s", o->root);
    sprintf(log, "--log=%s", bundle_log);
    char *argv[] = {(char *)o->runtime, root, log, "--log-format=json", "create", "--bundle",
                    (char *)o->bundle, "--pid-file", pidfile, (char *)o->id, NULL};
    /* GOMAXPROCS=1: see runtime.c's child_env */
    static char *const env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                "GOMAXPROCS=1", NULL};
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
        _exit(127);
    if (o->runtime_fd) {
        fcntl(RUNTIME_FD, F_SETFD, FD_CLOEXEC); /* an ELF binary runs from a close-on-exec fd */
        syscall(SYS_execveat, RUNTIME_FD, "", argv, env, AT_EMPTY_PATH);
    }
    execve(o->runtime, argv, env);
    _exit(127);
}

/* Until the runtime's `create` has exited: its exit status, or -1 after the timeout (it is
 * killed). Output of the pipes is not read meanwhile: the container does not run yet. */
static int wait_create(pid_t pid, int sfd, int timeout_ms)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = timeout_ms - ((now.tv_sec - t0.tv_sec) * 1000 +
                                  (now.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        struct pollfd pf = {.fd = sfd, .events = POLLIN};
        if (poll(&pf, 1, (int)left) > 0) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof(si)) == sizeof(si))
                ;
        }
    }
}

struct stream {
    int fd;
    const char *name;
};

/* Read what one stream has and append it to the log as records; false at its end. */
static bool pump(struct stream *s, int log_fd, char *buf, char *rec)
{
    ssize_t n = read(s->fd, buf, CHUNK);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0) {
        close(s->fd);
        s->fd = -1;
        return false;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char ts[SHIM_TS_MAX];
    shim_timestamp(&now, ts);
    write_all(log_fd, rec, shim_records(ts, s->name, buf, (size_t)n, rec));
    return true;
}

static int exit_code(int st)
{
    return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

/* Relay output until the container's process has exited and its pipes are drained (or have
 * been quiet for DRAIN_IDLE_MS: something outside its PID namespace may hold them); returns
 * its wait status. Every other child re-parented to us is reaped and ignored. */
static int monitor(pid_t ctr, struct stream s[2], int sfd, int log_fd)
{
    static char buf[CHUNK];
    char *rec = malloc(shim_records_max(SHIM_TS_MAX, CHUNK));
    if (!rec)
        die("%s", "out of memory");
    bool exited = false, check = true; /* check: reap before the first SIGCHLD too */
    int status = 0;
    while (!exited || s[0].fd >= 0 || s[1].fd >= 0) {
        struct pollfd pf[3] = {{.fd = s[0].fd, .events = POLLIN},
                               {.fd = s[1].fd, .events = POLLIN},
                               {.fd = exited ? -1 : sfd, .events = POLLIN}};
        int r = poll(pf, 3, check ? 0 : exited ? DRAIN_IDLE_MS : -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0 && exited)
            break; /* drained: quiet since the exit */
        for (int i = 0; i < 2; i++)
            if (pf[i].revents)
                pump(&s[i], log_fd, buf, rec);
        if (pf[2].revents || check) {
            check = false;
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof(si)) == sizeof(si))
                ;
            int st;
            pid_t p;
            while ((p = waitpid(-1, &st, WNOHANG)) > 0)
                if (p == ctr) {
                    exited = true;
                    status = st;
                }
            if (p < 0 && errno == ECHILD && !exited) {
                exited = true; /* not ours after all (it died before re-parenting): unknown */
                status = -1;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (s[i].fd >= 0)
            close(s[i].fd);
    free(rec);
    return status;
}

int main(int argc, char **argv)
{
    struct opts o;
    parse(argc, argv, &o);
    if (fcntl(SYNC_FD, F_SETFD, FD_CLOEXEC) < 0)
        die("%s", "fd 3 (the sync pipe) is not open");
    int log_fd = open(o.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        char msg[512];
        snprintf(msg, sizeof(msg), "cannot open the log %s: %s", o.log, strerror(errno));
        sync_error(msg);
        return 1;
    }
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
        sync_error("pipe failed");
        return 1;
    }
    /* The caller waits for this process only: the monitor goes on in the child. */
    pid_t d = fork();
    if (d < 0) {
        sync_error("fork failed");
        return 1;
    }
    if (d > 0)
        _exit(0);
    /* The caller reads our stdout and stderr until they close: they must, now. */
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd < 3 && devnull >= 0; fd++)
        dup2(devnull, fd);
    if (devnull > 2)
        close(devnull);
    setsid();
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    char pid_text[32];
    snprintf(pid_text, sizeof(pid_text), "%ld\n", (long)getpid());
    if (sfd < 0 || write_file(o.bundle, "shim.pid", pid_text) < 0) {
        sync_error("cannot start monitoring (signalfd or shim.pid)");
        return 1;
    }

    pid_t rt = fork();
    if (rt == 0) {
        /* ignored signals stay ignored across exec, down to the container's programs */
        signal(SIGPIPE, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        sigprocmask(SIG_UNBLOCK, &chld, NULL);
        exec_runtime(&o, out[1], err[1]);
    }
    close(out[1]);
    close(err[1]);
    if (o.runtime_fd)
        close(RUNTIME_FD); /* a shim outlives the agent's copy of runc: do not pin it */
    int st = rt < 0 ? -1 : wait_create(rt, sfd, o.timeout_ms);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char *rlog_path = path2(o.bundle, "runc.log"), rlog[65536], msg[4096];
        int n = read_small(rlog_path, rlog, sizeof(rlog));
        free(rlog_path);
        if (rt < 0)
            snprintf(msg, sizeof(msg), "cannot fork the runtime: %s", strerror(errno));
        else if (st == -1)
            snprintf(msg, sizeof(msg), "%s create timed out after %d ms", o.runtime, o.timeout_ms);
        else if (n <= 0 || shim_runtime_error(rlog, (size_t)n, msg, sizeof(msg)) < 0)
            snprintf(msg, sizeof(msg), "%s create failed (exit %d) and logged no error",
                     o.runtime, exit_code(st));
        sync_error(msg);
        return 1;
    }
    char *pidfile = path2(o.bundle, "pidfile"), text[32];
    long ctr = read_small(pidfile, text, sizeof(text)) > 0 ? strtol(text, NULL, 10) : 0;
    free(pidfile);
    if (ctr <= 0) {
        sync_error("the runtime wrote no container pid");
        return 1;
    }
    char line[64];
    sync_line(line, shim_sync_ok((pid_t)ctr, line, sizeof(line)));

    struct stream s[2] = {{out[0], "stdout"}, {err[0], "stderr"}};
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(err[0], F_SETFL, O_NONBLOCK);
    int status = monitor((pid_t)ctr, s, sfd, log_fd);
    close(log_fd);
    char code[16];
    snprintf(code, sizeof(code), "%d", status == -1 ? -1 : exit_code(status));
    return write_file(o.exit_dir, o.id, code) == 0 ? 0 : 1;
}
