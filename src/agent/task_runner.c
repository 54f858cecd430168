/* A task's thread: provision, run (ordering, exits, stops), finish, clean up. */
#include "agent/task_runner.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/deps.h"
#include "agent/engine.h"
#include "agent/health.h"
#include "agent/images.h"
#include "agent/logship.h"
#include "agent/report.h"
#include "agent/runtime.h"
#include "agent/task_setup.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

#define DEFAULT_STOP_TIMEOUT_S 30 /* ECS_CONTAINER_STOP_TIMEOUT */
#define EXIT_RECORD_MS 10000
#define UNWATCHED_MS 1000 /* how often a container with no pidfd is looked at */
#define REASON_ESSENTIAL "Essential container in task exited"

/* ---- the task object ------------------------------------------------------------------- */

char *task_runtime_id(const char *task_id, const char *name)
{
    char *id = xasprintf("%s-%s", task_id, name);
    if (strlen(id) <= 128)
        return id;
    free(id);
    char hex[SHA256_HEX_LEN + 1];
    sha256_hex(name, strlen(name), hex);
    return xasprintf("%.64s-%.16s", task_id, hex);
}

struct task *task_new(struct agent *a, struct task_rec *rec, bool recovered)
{
    struct task *t = xcalloc(1, sizeof(*t));
    t->agent = a;
    t->rec = rec;
    t->recovered = recovered;
    t->refs = 1;
    pthread_mutex_init(&t->mu, NULL);
    t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    t->live = xcalloc(rec->n ? rec->n : 1, sizeof(*t->live));
    for (size_t i = 0; i < rec->n; i++) {
        t->live[i].pidfd = -1;
        t->live[i].stop_signal = rec->c[i].stop_signal;
    }
    return t;
}

/* Atomic: references are taken with t->mu held (the reporter's queue) and without. */
void task_ref(struct task *t)
{
    __atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
}

void task_unref(struct task *t)
{
    if (!t)
        return;
    if (__atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    for (size_t i = 0; i < t->rec->n; i++) {
        if (t->live[i].pidfd >= 0)
            close(t->live[i].pidfd);
        free(t->live[i].rootfs_dir);
    }
    free(t->live);
    if (t->wake_fd >= 0)
        close(t->wake_fd);
    task_rec_free(t->rec);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

void task_wake(struct task *t)
{
    uint64_t one = 1;
    ssize_t w = write(t->wake_fd, &one, sizeof(one));
    (void)w;
}

void task_request_stop(struct task *t)
{
    pthread_mutex_lock(&t->mu);
    bool was = t->rec->desired_stop;
    t->rec->desired_stop = true;
    if (!was) {
        task_changed_locked(t);
        task_save_locked(t);
    }
    pthread_mutex_unlock(&t->mu);
    task_wake(t);
}

void task_changed_locked(struct task *t)
{
    t->dirty = true;
    reporter_kick(t->agent->rep, t);
}

void task_save_locked(struct task *t)
{
    if (!t->dirty)
        return;
    int r = state_save(t->agent->engine->state_dir, t->rec);
    if (r < 0)
        log_error("%s: cannot save the task record: %s", t->rec->arn, strerror(-r));
    else
        t->dirty = false;
}

static void save(struct task *t)
{
    pthread_mutex_lock(&t->mu);
    task_save_locked(t);
    pthread_mutex_unlock(&t->mu);
}

/* ---- steps ------------------------------------------------------------------------------ */

static bool leaving(const struct task *t)
{
    return t->agent->stopping;
}

static bool stopping(struct task *t)
{
    return t->rec->stop_requested_at > 0;
}

/* Stopping, or wharfd wants it stopped: no point pulling or creating more. */
static bool giving_up(struct task *t)
{
    pthread_mutex_lock(&t->mu);
    bool v = t->rec->desired_stop || t->rec->stop_requested_at > 0;
    pthread_mutex_unlock(&t->mu);
    return v;
}

/* Start stopping the task (once); code/reason are kept only when none was set before. */
static void begin_stop_locked(struct task *t, const char *code, const char *reason)
{
    struct task_rec *r = t->rec;
    if (r->stop_requested_at == 0)
        r->stop_requested_at = time_now();
    if (code && !r->stop_code && !r->desired_stop) {
        r->stop_code = xstrdup(code);
        free(r->stopped_reason);
        r->stopped_reason = xstrdup(reason);
    }
    task_changed_locked(t);
}

static void begin_stop(struct task *t, const char *code, const char *reason)
{
    pthread_mutex_lock(&t->mu);
    begin_stop_locked(t, code, reason);
    pthread_mutex_unlock(&t->mu);
}

/* Container i is over, with or without an exit code. */
static void ctr_stopped_locked(struct task *t, size_t i, bool has_exit, int code, const char *reason)
{
    struct ctr_rec *c = &t->rec->c[i];
    if (c->phase == CTR_STOPPED)
        return;
    c->phase = CTR_STOPPED;
    logship_container_exited(t->agent->logship, t->rec->arn, c->name); /* ships the rest */
    c->has_exit = has_exit;
    c->exit_code = code;
    c->finished_at = time_now();
    if (reason && !c->reason)
        c->reason = xstrdup(reason);
    struct ctr_live *l = &t->live[i];
    if (l->pidfd >= 0) {
        close(l->pidfd);
        l->pidfd = -1;
    }
    health_stop(l->hc);
    l->hc = NULL;
    task_changed_locked(t);
}

static int pidfd_of(pid_t pid)
{
    return pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
}

/* Signal container i's process as `runc kill` does (its init process), through its pidfd:
 * no runc process to start, and no pid reuse race. Falls back to runc kill. */
static int signal_ctr(struct task *t, size_t i, int sig, struct wh_err *err)
{
    struct ctr_live *l = &t->live[i];
    if (l->pidfd >= 0) {
        if (syscall(SYS_pidfd_send_signal, l->pidfd, sig, NULL, 0) == 0 || errno == ESRCH)
            return 0;
    }
    return rt_kill(&t->agent->engine->rt, t->rec->c[i].runtime_id, sig, err);
}

/* Pull every container's image once, then create the containers. On failure the task ends
 * (TaskFailedToStart) with the reason on the container that failed. */
static void provision(struct task *t)
{
    struct wh_err err = {0};
    pthread_mutex_lock(&t->mu);
    if (t->rec->phase == TASK_NONE)
        t->rec->phase = TASK_PENDING;
    if (t->rec->pull_started_at == 0)
        t->rec->pull_started_at = time_now();
    task_changed_locked(t);
    task_save_locked(t);
    pthread_mutex_unlock(&t->mu);
    double t0 = time_monotonic();
    int st = setup_task(t, &err);
    log_debug("%s: task set up in %.1f ms", t->rec->arn, (time_monotonic() - t0) * 1000);
    if (st < 0) {
        begin_stop(t, "TaskFailedToStart", err.msg);
        log_error("%s: %s", t->rec->arn, err.msg);
        return;
    }
    size_t n = t->rec->n;
    struct pulled_image **imgs = xcalloc(n, sizeof(*imgs));
    for (size_t i = 0; i < n && !leaving(t); i++) {
        if (t->rec->c[i].phase != CTR_NONE || giving_up(t))
            continue;
        double p0 = time_monotonic();
        int pr = setup_pull(t, i, &imgs[i], &err);
        log_debug("%s: container %s: image in %.1f ms", t->rec->arn, t->rec->c[i].name,
                  (time_monotonic() - p0) * 1000);
        if (pr < 0) {
            log_warn("%s: container %s: %s", t->rec->arn, t->rec->c[i].name, err.msg);
            pthread_mutex_lock(&t->mu);
            ctr_stopped_locked(t, i, false, 0, err.msg);
            begin_stop_locked(t, "TaskFailedToStart", err.msg);
            pthread_mutex_unlock(&t->mu);
        }
    }
    pthread_mutex_lock(&t->mu);
    if (t->rec->pull_stopped_at == 0)
        t->rec->pull_stopped_at = time_now();
    task_changed_locked(t);
    pthread_mutex_unlock(&t->mu);
    for (size_t i = 0; i < n && !leaving(t); i++) {
        if (!imgs[i] || giving_up(t))
            continue;
        if (setup_create(t, i, imgs[i], &err) < 0) {
            log_warn("%s: %s", t->rec->arn, err.msg);
            pthread_mutex_lock(&t->mu);
            ctr_stopped_locked(t, i, false, 0, err.msg);
            if (deps_essential(t->rec, i))
                begin_stop_locked(t, "TaskFailedToStart", err.msg);
            pthread_mutex_unlock(&t->mu);
            continue;
        }
        t->live[i].pidfd = pidfd_of(t->live[i].pid);
        pthread_mutex_lock(&t->mu);
        t->rec->c[i].phase = CTR_CREATED;
        task_changed_locked(t);
        pthread_mutex_unlock(&t->mu);
    }
    for (size_t i = 0; i < n; i++)
        pulled_image_free(imgs[i]);
    free(imgs);
}

static void start_health(struct task *t, size_t i)
{
    const json_t *hc = json_object_get(task_rec_ctr_def(t->rec, i), "healthCheck");
    if (!hc)
        return;
    struct health_cfg cfg;
    struct wh_err err = {0};
    if (health_cfg_parse(hc, &cfg, &err) < 0) {
        log_warn("%s: container %s: %s", t->rec->arn, t->rec->c[i].name, err.msg);
        return;
    }
    t->live[i].hc = health_start(t, i, &cfg, time_monotonic());
    health_cfg_free(&cfg);
}

/* The task is RUNNING once its essential containers have started; true when it just became so. */
static bool promote_locked(struct task *t)
{
    if (t->rec->phase != TASK_PENDING || stopping(t) || !deps_essentials_started(t->rec))
        return false;
    t->rec->phase = TASK_RUNNING;
    log_info("%s: RUNNING", t->rec->arn);
    return true;
}

/* Start container i (dependencies satisfied). */
static void start_one(struct task *t, size_t i)
{
    struct wh_err err = {0};
    struct ctr_rec *c = &t->rec->c[i];
    if (!t->cpu_limited) {
        if (setup_task_cpu(t, &err) < 0) { /* the task would run without its CPU limit */
            pthread_mutex_lock(&t->mu);
            ctr_stopped_locked(t, i, false, 0, err.msg);
            begin_stop_locked(t, "TaskFailedToStart", err.msg);
            pthread_mutex_unlock(&t->mu);
            return;
        }
        t->cpu_limited = true;
    }
    double t0 = time_monotonic();
    int r = rt_start(&t->agent->engine->rt, c->runtime_id, t->live[i].pid, &err);
    log_debug("%s: container %s: started in %.1f ms", t->rec->arn, c->name,
              (time_monotonic() - t0) * 1000);
    if (r < 0) {
        cleanup_free char *reason = xasprintf("CannotStartContainerError: %s", err.msg);
        log_warn("%s: container %s: %s", t->rec->arn, c->name, reason);
        pthread_mutex_lock(&t->mu);
        ctr_stopped_locked(t, i, false, 0, reason);
        if (deps_essential(t->rec, i))
            begin_stop_locked(t, "TaskFailedToStart", reason);
        pthread_mutex_unlock(&t->mu);
        return;
    }
    pthread_mutex_lock(&t->mu);
    c->phase = CTR_RUNNING;
    c->started_at = time_now();
    promote_locked(t); /* before the kick: one report says both */
    task_changed_locked(t);
    pthread_mutex_unlock(&t->mu);
    start_health(t, i);
}

/* Containers whose dependencies are met start; those whose dependencies never will are
 * given up (an essential one ends the task). */
static void start_ready(struct task *t)
{
    double now = time_monotonic();
    for (size_t i = 0; i < t->rec->n && !stopping(t); i++) {
        if (t->rec->c[i].phase != CTR_CREATED)
            continue;
        char *why = NULL;
        pthread_mutex_lock(&t->mu);
        enum dep_verdict v = deps_check(t->rec, i, &why);
        pthread_mutex_unlock(&t->mu);
        struct ctr_live *l = &t->live[i];
        int start_timeout = (int)json_int(task_rec_ctr_def(t->rec, i), "startTimeout", 0);
        if (v == DEP_WAIT && start_timeout > 0) {
            if (!l->wait_until)
                l->wait_until = now + start_timeout;
            else if (now >= l->wait_until) {
                v = DEP_NEVER;
                why = xasprintf("dependencies not met within startTimeout %d s", start_timeout);
            }
        }
        if (v == DEP_READY) {
            start_one(t, i);
        } else if (v == DEP_NEVER) {
            cleanup_free char *reason =
                xasprintf("DependencyError: container %s: %s", t->rec->c[i].name, why);
            signal_ctr(t, i, SIGKILL, NULL);
            pthread_mutex_lock(&t->mu);
            ctr_stopped_locked(t, i, false, 0, reason);
            if (deps_essential(t->rec, i))
                begin_stop_locked(t, "TaskFailedToStart", reason);
            pthread_mutex_unlock(&t->mu);
        }
        free(why);
    }
}

/* The process of container i is gone: read its exit from its shim. */
static void on_exit_of(struct task *t, size_t i)
{
    struct ctr_rec *c = &t->rec->c[i];
    struct rt_exit ex = {.code = -1};
    int r = rt_wait(&t->agent->engine->rt, c->runtime_id, EXIT_RECORD_MS, &ex);
    bool has = r == 0 && ex.code >= 0;
    const char *reason = ex.oom  ? RT_OOM_REASON
                         : r < 0 ? "the container's exit code was lost (its wharf-shim is gone)"
                                 : NULL;
    bool was_started = c->phase == CTR_RUNNING;
    pthread_mutex_lock(&t->mu);
    ctr_stopped_locked(t, i, has && was_started, ex.code, was_started ? reason : NULL);
    if (has)
        log_info("%s: container %s exited %d%s", t->rec->arn, c->name, ex.code,
                 ex.oom ? " (OOM-killed)" : "");
    else
        log_info("%s: container %s is gone (exit code unknown)", t->rec->arn, c->name);
    if (deps_essential(t->rec, i) && !stopping(t))
        begin_stop_locked(t, "EssentialContainerExited", REASON_ESSENTIAL);
    pthread_mutex_unlock(&t->mu);
}

static int stop_timeout_of(const struct task *t, size_t i)
{
    int64_t v = json_int(task_rec_ctr_def(t->rec, i), "stopTimeout", 0);
    return v > 0 ? (int)v : DEFAULT_STOP_TIMEOUT_S;
}

/* While stopping: the stop signal to running containers, SIGKILL at their deadline; never
 * started ones are done at once. */
static void drive_stop(struct task *t)
{
    double now = time_monotonic();
    for (size_t i = 0; i < t->rec->n; i++) {
        struct ctr_rec *c = &t->rec->c[i];
        struct ctr_live *l = &t->live[i];
        struct wh_err err = {0};
        if (c->phase == CTR_NONE || c->phase == CTR_CREATED) {
            if (c->phase == CTR_CREATED)
                signal_ctr(t, i, SIGKILL, NULL);
            pthread_mutex_lock(&t->mu);
            ctr_stopped_locked(t, i, false, 0, NULL);
            pthread_mutex_unlock(&t->mu);
        } else if (c->phase == CTR_RUNNING && !l->term_sent) {
            int sig = l->stop_signal > 0 ? l->stop_signal : SIGTERM;
            if (signal_ctr(t, i, sig, &err) < 0)
                log_warn("%s: %s", t->rec->arn, err.msg);
            l->term_sent = true;
            l->kill_at = now + stop_timeout_of(t, i);
        } else if (c->phase == CTR_RUNNING && l->kill_at && now >= l->kill_at) {
            log_info("%s: container %s did not stop within %d s: SIGKILL", t->rec->arn, c->name,
                     stop_timeout_of(t, i));
            if (signal_ctr(t, i, SIGKILL, &err) < 0)
                log_warn("%s: %s", t->rec->arn, err.msg);
            l->kill_at = 0;
        }
    }
}

static bool all_stopped(const struct task *t)
{
    for (size_t i = 0; i < t->rec->n; i++)
        if (t->rec->c[i].phase != CTR_STOPPED)
            return false;
    return true;
}

/* Sleep until a wake-up, a container's exit or the next deadline; returns the containers
 * whose process is gone through exited[]. */
static void wait_events(struct task *t, bool *exited)
{
    size_t n = t->rec->n;
    struct pollfd *pf = xcalloc(n + 1, sizeof(*pf));
    size_t *idx = xcalloc(n + 1, sizeof(*idx));
    size_t np = 0;
    pf[np++] = (struct pollfd){.fd = t->wake_fd, .events = POLLIN};
    double deadline = 0;
    bool unwatched = false;
    for (size_t i = 0; i < n; i++) {
        struct ctr_live *l = &t->live[i];
        if (l->pidfd >= 0) {
            idx[np] = i;
            pf[np++] = (struct pollfd){.fd = l->pidfd, .events = POLLIN};
        } else if (t->rec->c[i].phase == CTR_RUNNING || t->rec->c[i].phase == CTR_CREATED) {
            unwatched = true;
        }
        double d = l->kill_at ? l->kill_at : 0;
        if (t->rec->c[i].phase == CTR_CREATED && l->wait_until)
            d = d && d < l->wait_until ? d : l->wait_until;
        if (d && (!deadline || d < deadline))
            deadline = d;
    }
    int timeout = -1;
    if (deadline) {
        double left = deadline - time_monotonic();
        timeout = left <= 0 ? 0 : (int)(left * 1000) + 1;
    }
    /* A container without a pidfd (pidfd_open failed after a restart) wakes no poll: look
     * for its exit file every UNWATCHED_MS instead (exited_unwatched). */
    if (unwatched && (timeout < 0 || timeout > UNWATCHED_MS))
        timeout = UNWATCHED_MS;
    int r = poll(pf, (nfds_t)np, timeout);
    if (r > 0) {
        if (pf[0].revents & POLLIN) {
            uint64_t v;
            ssize_t rd = read(t->wake_fd, &v, sizeof(v));
            (void)rd;
        }
        for (size_t k = 1; k < np; k++)
            if (pf[k].revents & (POLLIN | POLLHUP | POLLERR))
                exited[idx[k]] = true;
    }
    free(pf);
    free(idx);
}

/* A container whose process exited while nobody watched (no pidfd: lost after a restart). */
static bool exited_unwatched(struct task *t, size_t i)
{
    struct rt_exit ex;
    return t->live[i].pidfd < 0 && (t->rec->c[i].phase == CTR_RUNNING ||
                                    t->rec->c[i].phase == CTR_CREATED) &&
           rt_exit_status(&t->agent->engine->rt, t->rec->c[i].runtime_id, &ex) == 0;
}

/* Run until every container has stopped (true), or the agent leaves (false). */
static bool run(struct task *t)
{
    size_t n = t->rec->n;
    bool *exited = xcalloc(n ? n : 1, sizeof(bool));
    bool done = false;
    while (!leaving(t)) {
        for (size_t i = 0; i < n; i++) {
            if (exited[i] || exited_unwatched(t, i))
                on_exit_of(t, i);
            exited[i] = false;
        }
        pthread_mutex_lock(&t->mu);
        bool want_stop = t->rec->desired_stop;
        pthread_mutex_unlock(&t->mu);
        if (want_stop && !stopping(t))
            begin_stop(t, NULL, NULL);
        if (stopping(t))
            drive_stop(t);
        else
            start_ready(t);
        pthread_mutex_lock(&t->mu);
        if (promote_locked(t))
            task_changed_locked(t);
        pthread_mutex_unlock(&t->mu);
        if (all_stopped(t)) {
            done = true;
            break;
        }
        save(t);
        wait_events(t, exited);
    }
    free(exited);
    return done;
}

static void finish(struct task *t)
{
    pthread_mutex_lock(&t->mu);
    struct task_rec *r = t->rec;
    if (r->phase != TASK_STOPPED) {
        double last = 0;
        for (size_t i = 0; i < r->n; i++)
            if (r->c[i].finished_at > last)
                last = r->c[i].finished_at;
        r->execution_stopped_at = last > 0 ? last : time_now();
        r->phase = TASK_STOPPED;
        task_changed_locked(t);
        log_info("%s: STOPPED%s%s", r->arn, r->stop_code ? " " : "",
                 r->stop_code ? r->stop_code : "");
    }
    task_save_locked(t);
    pthread_mutex_unlock(&t->mu);
}

static void cleanup(struct task *t)
{
    if (t->rec->cleaned)
        return;
    if (setup_cleanup(t) < 0)
        return; /* tried again by the next agent start */
    pthread_mutex_lock(&t->mu);
    t->rec->cleaned = true;
    task_changed_locked(t);
    task_save_locked(t);
    pthread_mutex_unlock(&t->mu);
}

/* ---- recovery after an agent restart ----------------------------------------------------- */

/* Find container i again: running (watch its pid), exited meanwhile (its exit from its shim's
 * file), created but not started, or gone. */
static void recover_ctr(struct task *t, size_t i)
{
    struct ctr_rec *c = &t->rec->c[i];
    struct rt *rt = &t->agent->engine->rt;
    if (c->phase == CTR_STOPPED)
        return;
    if (c->phase == CTR_NONE || !c->runtime_id) { /* maybe created, not recorded: start over */
        setup_discard(t, i);
        return;
    }
    struct rt_exit ex;
    int have = rt_exit_status(rt, c->runtime_id, &ex);
    struct rt_state st = {.status = RT_GONE};
    struct wh_err err = {0};
    if (have < 0 && rt_state(rt, c->runtime_id, &st, &err) < 0)
        st.status = RT_GONE;
    if (have < 0 && st.status == RT_STOPPED)
        /* it exited just now: the shim drains its output, then writes the exit file */
        have = rt_wait(rt, c->runtime_id, EXIT_RECORD_MS, &ex);
    if (have == 0) {
        bool started = c->phase == CTR_RUNNING;
        pthread_mutex_lock(&t->mu);
        ctr_stopped_locked(t, i, started && ex.code >= 0, ex.code,
                           started && ex.oom ? RT_OOM_REASON : NULL);
        log_info("%s: container %s exited while the agent was away (%d)", t->rec->arn, c->name,
                 ex.code);
        if (deps_essential(t->rec, i) && started && !stopping(t))
            begin_stop_locked(t, "EssentialContainerExited", REASON_ESSENTIAL);
        pthread_mutex_unlock(&t->mu);
        return;
    }
    if (st.status == RT_GONE || st.status == RT_STOPPED) {
        pthread_mutex_lock(&t->mu);
        ctr_stopped_locked(t, i, false, 0, "the container disappeared while the agent was away");
        pthread_mutex_unlock(&t->mu);
        return;
    }
    t->live[i].pid = st.pid;
    t->live[i].pidfd = pidfd_of(st.pid);
    if (c->phase == CTR_CREATED && st.status != RT_CREATED) {
        /* started just before the agent went away, without a record of it */
        pthread_mutex_lock(&t->mu);
        c->phase = CTR_RUNNING;
        c->started_at = time_now();
        task_changed_locked(t);
        pthread_mutex_unlock(&t->mu);
    }
    if (c->phase == CTR_RUNNING)
        start_health(t, i);
}

static void recover(struct task *t)
{
    for (size_t i = 0; i < t->rec->n; i++)
        recover_ctr(t, i);
    if (stopping(t)) /* a stop was under way: signal again, with a fresh deadline */
        for (size_t i = 0; i < t->rec->n; i++)
            t->live[i].term_sent = false;
    pthread_mutex_lock(&t->mu);
    task_changed_locked(t); /* re-sends whatever wharfd may not have */
    task_save_locked(t);
    pthread_mutex_unlock(&t->mu);
}

/* ---- the thread --------------------------------------------------------------------------- */

static bool needs_provisioning(const struct task *t)
{
    for (size_t i = 0; i < t->rec->n; i++)
        if (t->rec->c[i].phase == CTR_NONE)
            return true;
    return false;
}

static void *runner(void *arg)
{
    struct task *t = arg;
    if (t->recovered && t->rec->phase != TASK_STOPPED)
        recover(t);
    if (t->rec->phase != TASK_STOPPED) {
        pthread_mutex_lock(&t->mu);
        if (t->rec->desired_stop && t->rec->stop_requested_at == 0)
            begin_stop_locked(t, NULL, NULL);
        pthread_mutex_unlock(&t->mu);
        if (!stopping(t) && needs_provisioning(t))
            provision(t);
        if (!run(t))
            return NULL; /* the agent leaves; containers keep running */
        finish(t);
    }
    cleanup(t);
    pthread_mutex_lock(&t->mu);
    t->finished = true;
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

int task_start(struct task *t)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 512 << 10);
    int r = pthread_create(&t->thread, &attr, runner, t);
    pthread_attr_destroy(&attr);
    if (r != 0)
        return -r;
    t->thread_started = true;
    return 0;
}

void task_join(struct task *t)
{
    if (t->thread_started) {
        pthread_join(t->thread, NULL);
        t->thread_started = false;
    }
}
