/* The awslogs shipper: its API, its thread, its records on disk (logship_ship.c ships). */
#include "agent/logship.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "agent/aws_client.h"
#include "agent/logship_internal.h"
#include "core/fsutil.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

#define SETUP_CALL_MS 10000L
#define FINAL_PASS_S 3.0

/* ---- clients and records -------------------------------------------------------------------- */

struct aws_client *logship_client(struct logship *ls, const char *region, struct wh_err *err)
{
    pthread_mutex_lock(&ls->mu);
    struct aws_client *c = NULL;
    for (size_t i = 0; i < ls->n_clients && !c; i++)
        if (strcmp(ls->clients[i].region, region) == 0)
            c = ls->clients[i].c;
    if (!c && aws_client_new(ls->endpoint, region, ls->credentials, ls->profile, &c, err) == 0) {
        aws_client_set_abort(c, &ls->stopping);
        ls->clients = xrealloc(ls->clients, (ls->n_clients + 1) * sizeof(*ls->clients));
        ls->clients[ls->n_clients++] = (struct client){xstrdup(region), c};
    }
    pthread_mutex_unlock(&ls->mu);
    return c;
}

/* Write w->disk (ls->mu held). */
static int write_disk_locked(struct watch *w)
{
    cleanup_free char *text = json_text(w->disk);
    int r = fs_write_atomic(w->rec_path, text, strlen(text), 0600);
    if (r < 0)
        log_error("%s: container %s: cannot write %s: %s", w->rec.task_arn, w->rec.container,
                  w->rec_path, strerror(-r));
    return r;
}

/* The shipper thread's (or a watch's before the thread has it): w->rec is its own, so only
 * the write needs the lock; logship_container_exited changes the written copy in between. */
int logship_persist(struct logship *ls, struct watch *w)
{
    json_t *j = logship_rec_to_json(&w->rec);
    pthread_mutex_lock(&ls->mu);
    if (w->exit_req)
        json_object_set_new(j, "exited", json_true());
    json_decref(w->disk);
    w->disk = j;
    int r = write_disk_locked(w);
    pthread_mutex_unlock(&ls->mu);
    return r;
}

static struct watch *watch_new(struct logship *ls, struct logship_rec *rec)
{
    struct watch *w = xcalloc(1, sizeof(*w));
    w->rec = *rec;
    *rec = (struct logship_rec){0};
    cleanup_free char *name = logship_rec_file_name(w->rec.task_arn, w->rec.container);
    w->rec_path = xasprintf("%s/%s", ls->state_dir, name);
    w->fd = w->wd = -1;
    w->disk = logship_rec_to_json(&w->rec);
    return w;
}

static struct watch *find_locked(struct logship *ls, const char *task_arn, const char *container)
{
    struct watch *lists[] = {ls->incoming, ls->active};
    for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
        for (struct watch *w = lists[i]; w; w = w->next)
            if (strcmp(w->rec.task_arn, task_arn) == 0 && strcmp(w->rec.container, container) == 0)
                return w;
    return NULL;
}

static void wake(struct logship *ls)
{
    uint64_t one = 1;
    ssize_t r = write(ls->wake_fd, &one, sizeof(one));
    (void)r;
}

static int read_rec(const char *path, struct logship_rec *ret, struct wh_err *err)
{
    cleanup_free char *text = NULL;
    int r = fs_read_file(path, 1 << 20, &text, NULL);
    if (r < 0)
        return r == -ENOENT ? -ENOENT
                            : wh_err_set(err, 0, "StateError", "%s: %s", path, strerror(-r));
    json_error_t je;
    json_auto_t *j = json_loads(text, 0, &je);
    if (!j)
        return wh_err_set(err, 0, "StateError", "%s: %s", path, je.text);
    if (logship_rec_from_json(j, ret, err) < 0)
        return wh_err_prefix(err, "%s: ", path);
    return 0;
}

/* The records of the state dir: unfinished ones become watches; finished ones are kept
 * while their log file exists (so that it is never shipped twice). */
static void load_records(struct logship *ls)
{
    DIR *d = opendir(ls->state_dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        cleanup_free char *path = xasprintf("%s/%s", ls->state_dir, de->d_name);
        if (strstr(de->d_name, ".tmp-")) { /* an atomic write cut short */
            unlink(path);
            continue;
        }
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        struct logship_rec rec = {0};
        struct wh_err err = {0};
        if (read_rec(path, &rec, &err) < 0) {
            log_error("logs: %s (left alone)", err.msg);
            continue;
        }
        if (rec.done) {
            if (access(rec.log_path, F_OK) < 0 && errno == ENOENT)
                unlink(path);
            logship_rec_clear(&rec);
            continue;
        }
        struct watch *w = watch_new(ls, &rec);
        w->next = ls->active;
        ls->active = w;
        log_info("%s: container %s: shipping its log to %s (resumed)", w->rec.task_arn,
                 w->rec.container, w->rec.conf.stream);
    }
    closedir(d);
}

/* ---- the thread -------------------------------------------------------------------------------- */

static void adopt_and_reap(struct logship *ls)
{
    pthread_mutex_lock(&ls->mu);
    while (ls->incoming) {
        struct watch *w = ls->incoming;
        ls->incoming = w->next;
        w->next = ls->active;
        ls->active = w;
    }
    struct watch **pp = &ls->active;
    while (*pp) {
        struct watch *w = *pp;
        if (w->rec.done) {
            *pp = w->next;
            ship_watch_free(ls, w);
        } else {
            pp = &w->next;
        }
    }
    pthread_mutex_unlock(&ls->mu);
}

static void wait_events(struct logship *ls, double now)
{
    double next = now + 1.0; /* a periodic look, in case an inotify event was missed */
    for (struct watch *w = ls->active; w; w = w->next) {
        double t = ship_next(w, now);
        if (t && t < next)
            next = t;
    }
    int timeout = next <= now ? 0 : (int)((next - now) * 1000) + 1;
    struct pollfd pf[2] = {{.fd = ls->wake_fd, .events = POLLIN},
                           {.fd = ls->ino_fd, .events = POLLIN}};
    if (poll(pf, 2, timeout) <= 0)
        return;
    if (pf[0].revents & POLLIN) {
        uint64_t v;
        ssize_t r = read(ls->wake_fd, &v, sizeof(v));
        (void)r;
    }
    if (pf[1].revents & POLLIN) /* which file does not matter: every watch reads its own */
        while (read(ls->ino_fd, ls->buf, 64 << 10) > 0)
            ;
}

static void *shipper(void *arg)
{
    struct logship *ls = arg;
    while (!ls->stopping) {
        adopt_and_reap(ls);
        double now = time_monotonic();
        for (struct watch *w = ls->active; w && !ls->stopping; w = w->next)
            ship_step(ls, w, now, false);
        wait_events(ls, time_monotonic());
    }
    /* The final pass: what was read goes out if wharfd answers soon; calls no longer abort. */
    pthread_mutex_lock(&ls->mu);
    for (size_t i = 0; i < ls->n_clients; i++)
        aws_client_set_abort(ls->clients[i].c, &ls->never);
    pthread_mutex_unlock(&ls->mu);
    adopt_and_reap(ls);
    double end = time_monotonic() + FINAL_PASS_S;
    for (struct watch *w = ls->active; w && time_monotonic() < end; w = w->next)
        ship_step(ls, w, time_monotonic(), true);
    return NULL;
}

/* ---- the API -------------------------------------------------------------------------------- */

int logship_start(const struct logship_opts *o, struct logship **ret, struct wh_err *err)
{
    int r = fs_mkdir_p(o->state_dir, 0700);
    if (r < 0)
        return wh_err_set(err, 0, "ConfigError", "cannot create %s: %s", o->state_dir,
                          strerror(-r));
    struct logship *ls = xcalloc(1, sizeof(*ls));
    ls->state_dir = xstrdup(o->state_dir);
    ls->endpoint = xstrdup(o->endpoint);
    ls->credentials = xstrdup(o->credentials);
    ls->profile = o->profile ? xstrdup(o->profile) : NULL;
    ls->default_region = xstrdup(o->default_region ? o->default_region : "us-east-1");
    pthread_mutex_init(&ls->mu, NULL);
    ls->buf = xmalloc(64 << 10);
    ls->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ls->ino_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (ls->wake_fd < 0 || ls->ino_fd < 0) {
        wh_err_set(err, 0, "ConfigError", "log shipper: %s", strerror(errno));
        logship_stop(ls);
        return -1;
    }
    load_records(ls);
    if ((r = pthread_create(&ls->thread, NULL, shipper, ls)) != 0) {
        wh_err_set(err, 0, "ConfigError", "log shipper thread: %s", strerror(r));
        logship_stop(ls);
        return -1;
    }
    ls->thread_started = true;
    *ret = ls;
    return 0;
}

static const char *task_id_of(const char *arn)
{
    const char *slash = strrchr(arn, '/');
    return slash ? slash + 1 : arn;
}

/* A new record for c, or the finished one of an earlier watch of it (its file goes on from
 * where that one stopped). */
static void initial_rec(struct logship *ls, const struct logship_container *c,
                        struct logship_conf *conf, struct logship_rec *ret)
{
    cleanup_free char *name = logship_rec_file_name(c->task_arn, c->container_name);
    cleanup_free char *path = xasprintf("%s/%s", ls->state_dir, name);
    struct wh_err err = {0};
    if (read_rec(path, ret, &err) == 0 && strcmp(ret->task_arn, c->task_arn) == 0 &&
        strcmp(ret->container, c->container_name) == 0) {
        ret->done = ret->exited = false;
        logship_conf_clear(&ret->conf);
        ret->conf = *conf;
        *conf = (struct logship_conf){0};
        return;
    }
    *ret = (struct logship_rec){.task_arn = xstrdup(c->task_arn),
                                .container = xstrdup(c->container_name),
                                .log_path = xstrdup(c->log_path),
                                .conf = *conf,
                                .acked = K8S_POS_START};
    *conf = (struct logship_conf){0};
}

int logship_watch(struct logship *ls, const struct logship_container *c, struct wh_err *err)
{
    if (!ls)
        return 0;
    struct logship_conf conf = {0};
    const char *ignored = NULL;
    int r = logship_conf_parse(c->log_configuration, task_id_of(c->task_arn), c->container_name,
                               c->runtime_id, ls->default_region, &conf, &ignored, err);
    if (r <= 0)
        return r < 0 ? wh_err_prefix(err, "CannotStartContainerError: failed to initialize "
                                          "logging driver: ")
                     : 0;
    pthread_mutex_lock(&ls->mu);
    bool known = find_locked(ls, c->task_arn, c->container_name) != NULL;
    pthread_mutex_unlock(&ls->mu);
    if (known) {
        logship_conf_clear(&conf);
        return 0;
    }
    bool later = ship_setup(ls, &conf, SETUP_CALL_MS, err) < 0;
    if (later && err->status >= 400 && err->status < 500) {
        logship_conf_clear(&conf);
        return wh_err_prefix(err, "CannotStartContainerError: failed to initialize logging "
                                  "driver: ");
    }
    if (later)
        log_warn("%s: container %s: %s; the log stream is created once wharfd answers",
                 c->task_arn, c->container_name, err->msg);
    *err = (struct wh_err){0};
    struct logship_rec rec;
    initial_rec(ls, c, &conf, &rec);
    struct watch *w = watch_new(ls, &rec);
    w->need_setup = later;
    if (ignored)
        log_warn("%s: container %s: %s is not supported: one event per line", c->task_arn,
                 c->container_name, ignored);
    r = logship_persist(ls, w);
    if (r == 0) {
        pthread_mutex_lock(&ls->mu);
        w->next = ls->incoming;
        ls->incoming = w;
        pthread_mutex_unlock(&ls->mu);
    }
    if (r < 0) {
        ship_watch_free(ls, w);
        return wh_err_set(err, 0, "CannotStartContainerError",
                          "CannotStartContainerError: failed to initialize logging driver: "
                          "cannot write its record: %s", strerror(-r));
    }
    log_info("%s: container %s: shipping its log to %s", c->task_arn, c->container_name,
             w->rec.conf.stream);
    wake(ls);
    return 0;
}

void logship_container_exited(struct logship *ls, const char *task_arn,
                              const char *container_name)
{
    if (!ls)
        return;
    pthread_mutex_lock(&ls->mu);
    struct watch *w = find_locked(ls, task_arn, container_name);
    if (w && !w->exit_req) {
        w->exit_req = true;
        /* On disk before the agent's task record says the container stopped: an agent that
         * restarts in between still knows the container has exited. */
        json_object_set_new(w->disk, "exited", json_true());
        write_disk_locked(w);
    }
    pthread_mutex_unlock(&ls->mu);
    if (w)
        wake(ls);
}

void logship_stop(struct logship *ls)
{
    if (!ls)
        return;
    if (ls->thread_started) {
        ls->stopping = 1;
        wake(ls);
        pthread_join(ls->thread, NULL);
    }
    struct watch *lists[] = {ls->incoming, ls->active};
    for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
        while (lists[i]) {
            struct watch *w = lists[i];
            lists[i] = w->next;
            ship_watch_free(ls, w);
        }
    for (size_t i = 0; i < ls->n_clients; i++) {
        aws_client_free(ls->clients[i].c);
        free(ls->clients[i].region);
    }
    free(ls->clients);
    if (ls->wake_fd >= 0)
        close(ls->wake_fd);
    if (ls->ino_fd >= 0)
        close(ls->ino_fd);
    pthread_mutex_destroy(&ls->mu);
    free(ls->buf);
    free(ls->state_dir);
    free(ls->endpoint);
    free(ls->credentials);
    free(ls->profile);
    free(ls->default_region);
    free(ls);
}
