/* The local agent child: spawn (fork/exec with an argv, no shell), supervise, stop. */
#include "wharfd/local_agent.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

#define BACKOFF_MIN_S 1.0
#define BACKOFF_MAX_S 30.0
#define STABLE_S 60.0 /* a child up this long resets the backoff */

struct local_agent {
    char *argv[20];
    pthread_t thread;
    pthread_mutex_t mu;
    int stop_fd;      /* eventfd: stop supervising */
    pid_t pid;        /* current child, 0 when none */
    int pidfd;
};

char *local_agent_endpoint(const char *listen_host, int port)
{
    if (!listen_host || !*listen_host || strcmp(listen_host, "0.0.0.0") == 0 ||
        strcmp(listen_host, "*") == 0)
        return xasprintf("http://127.0.0.1:%d", port);
    if (strcmp(listen_host, "::") == 0 || strcmp(listen_host, "[::]") == 0)
        return xasprintf("http://[::1]:%d", port);
    if (strchr(listen_host, ':') && listen_host[0] != '[')
        return xasprintf("http://[%s]:%d", listen_host, port);
    return xasprintf("http://%s:%d", listen_host, port);
}

/* In the child: only async-signal-safe calls until exec. */
static void child(char *const *argv, int errpipe, pid_t parent)
{
    setpgid(0, 0); /* its own group: a terminal's ^C reaches wharfd, which stops it */
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* wharfd gone (even kill -9): the agent leaves */
    if (getppid() != parent)
        _exit(0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || dup2(devnull, 0) < 0)
        goto fail;
    /* stdout/stderr stay wharfd's (its log); every other fd closes on exec. */
    syscall(SYS_close_range, 3, ~0u, 4 /* CLOSE_RANGE_CLOEXEC */);
    static char *const env[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    execve(argv[0], argv, env);
fail:;
    int e = errno;
    ssize_t w = write(errpipe, &e, sizeof(e));
    (void)w;
    _exit(127);
}

/* Start one child: 0 with its pid, or -errno (exec's error comes back on a CLOEXEC pipe). */
static int spawn(struct local_agent *la, pid_t *ret_pid)
{
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) < 0)
        return -errno;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(ep[0]);
        close(ep[1]);
        return -e;
    }
    if (pid == 0)
        child(la->argv, ep[1], parent);
    close(ep[1]);
    int exec_errno = 0;
    ssize_t n;
    while ((n = read(ep[0], &exec_errno, sizeof(exec_errno))) < 0 && errno == EINTR)
        ;
    close(ep[0]);
    if (n == sizeof(exec_errno)) {
        waitpid(pid, NULL, 0);
        return -exec_errno;
    }
    *ret_pid = pid;
    return 0;
}

static const char *describe(int status, char buf[64])
{
    if (WIFSIGNALED(status))
        snprintf(buf, 64, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, 64, "exited %d", WEXITSTATUS(status));
    return buf;
}

/* Wait for the child or a stop; true when asked to stop (child still running). */
static bool wait_child(struct local_agent *la, int pidfd)
{
    struct pollfd pf[2] = {{.fd = la->stop_fd, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
    for (;;) {
        int r = poll(pf, 2, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (pf[0].revents & POLLIN)
            return true;
        if (r > 0 && (pf[1].revents & POLLIN))
            return false;
    }
}

/* Sleep s seconds or until a stop; true when asked to stop. */
static bool nap(struct local_agent *la, double s)
{
    struct pollfd pf = {.fd = la->stop_fd, .events = POLLIN};
    return poll(&pf, 1, (int)(s * 1000)) > 0;
}

static void *supervise(void *arg)
{
    struct local_agent *la = arg;
    double backoff = BACKOFF_MIN_S;
    for (;;) {
        pid_t pid = 0;
        int r = spawn(la, &pid);
        if (r < 0) {
            log_error("local agent: cannot start %s: %s", la->argv[0], strerror(-r));
        } else {
            int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
            pthread_mutex_lock(&la->mu);
            la->pid = pid;
            la->pidfd = pidfd;
            pthread_mutex_unlock(&la->mu);
            log_info("local agent: started %s (pid %d)", la->argv[0], (int)pid);
            double started = time_monotonic();
            if (pidfd < 0 || wait_child(la, pidfd))
                return NULL; /* stopping: local_agent_stop reaps it */
            int status = 0;
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            pthread_mutex_lock(&la->mu);
            la->pid = 0;
            la->pidfd = -1;
            pthread_mutex_unlock(&la->mu);
            close(pidfd);
            if (time_monotonic() - started > STABLE_S)
                backoff = BACKOFF_MIN_S;
            char buf[64];
            log_warn("local agent (pid %d) %s; restarting it in %.0f s", (int)pid,
                     describe(status, buf), backoff);
        }
        if (nap(la, backoff))
            return NULL;
        backoff = backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff * 2;
    }
}

int local_agent_start(const struct local_agent_opts *o, struct local_agent **ret,
                      struct wh_err *err)
{
    char *path = o->agent_path ? xstrdup(o->agent_path) : fs_beside_self("wharf-agent");
    if (!path || access(path, X_OK) < 0) {
        wh_err_set(err, 500, "ServerException",
                   "local capacity: %s not found beside wharfd (build it, or run with "
                   "--no-local-capacity)", path ? path : "wharf-agent");
        free(path);
        return -1;
    }
    struct local_agent *la = xcalloc(1, sizeof(*la));
    const char *args[] = {path, "--endpoint", o->endpoint, "--capacity", "fargate", "--cluster",
                          "wharf-fargate", "--attribute", "wharf.capacity=FARGATE",
                          "--credentials", o->credentials, "--data-dir", o->data_dir,
                          "--region", o->region, "--log-level",
                          log_level_name(log_get_level()), NULL};
    for (size_t i = 0; args[i]; i++)
        la->argv[i] = i == 0 ? path : xstrdup(args[i]);
    pthread_mutex_init(&la->mu, NULL);
    la->pidfd = -1;
    la->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (la->stop_fd < 0 || pthread_create(&la->thread, NULL, supervise, la) != 0) {
        wh_err_set(err, 500, "ServerException", "local capacity: cannot start its supervisor");
        if (la->stop_fd >= 0)
            close(la->stop_fd);
        for (size_t i = 0; la->argv[i]; i++)
            free(la->argv[i]);
        free(la);
        return -1;
    }
    *ret = la;
    return 0;
}

/* Wait up to timeout_ms for pid (via pidfd) to exit; true when it did. */
static bool wait_exit(int pidfd, int timeout_ms)
{
    struct pollfd pf = {.fd = pidfd, .events = POLLIN};
    double deadline = time_monotonic() + timeout_ms / 1000.0;
    for (;;) {
        int left = (int)((deadline - time_monotonic()) * 1000);
        int r = poll(&pf, 1, left > 0 ? left : 0);
        if (r > 0)
            return true;
        if (r == 0 || errno != EINTR)
            return false;
    }
}

void local_agent_stop(struct local_agent *la, int timeout_ms)
{
    if (!la)
        return;
    uint64_t one = 1;
    ssize_t w = write(la->stop_fd, &one, sizeof(one));
    (void)w;
    pthread_join(la->thread, NULL);
    if (la->pid > 0) {
        kill(la->pid, SIGTERM);
        if (la->pidfd < 0 || !wait_exit(la->pidfd, timeout_ms)) {
            log_warn("local agent (pid %d) did not leave within %d ms: SIGKILL", (int)la->pid,
                     timeout_ms);
            kill(la->pid, SIGKILL);
        }
        int status;
        while (waitpid(la->pid, &status, 0) < 0 && errno == EINTR)
            ;
        log_info("local agent stopped");
    }
    if (la->pidfd >= 0)
        close(la->pidfd);
    close(la->stop_fd);
    for (size_t i = 0; la->argv[i]; i++)
        free(la->argv[i]);
    pthread_mutex_destroy(&la->mu);
    free(la);
}

struct local_agent *local_agent_start_for(const struct wharf_config *cfg, int port)
{
    cleanup_free char *endpoint = local_agent_endpoint(cfg->listen_host, port);
    cleanup_free char *creds = xasprintf("%s/credentials", cfg->data_dir);
    cleanup_free char *dir = xasprintf("%s/agent", cfg->data_dir);
    struct local_agent_opts o = {.endpoint = endpoint, .credentials = creds, .data_dir = dir,
                                 .region = cfg->region};
    struct local_agent *la = NULL;
    struct wh_err err = {0};
    if (local_agent_start(&o, &la, &err) < 0) {
        log_warn("%s", err.msg);
        return NULL;
    }
    return la;
}
