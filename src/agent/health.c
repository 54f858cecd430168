/* Health checks: configuration, the status rule, and the probing threads. */
#include "agent/health.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "agent/agent.h"
#include "agent/engine.h"
#include "agent/task_runner.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

int health_cfg_parse(const json_t *hc, struct health_cfg *ret, struct wh_err *err)
{
    const json_t *cmd = json_object_get(hc, "command");
    size_t n = json_array_size(cmd);
    const char *kind = json_string_value(json_array_get(cmd, 0));
    if (!kind || n < 2 || (strcmp(kind, "CMD") != 0 && strcmp(kind, "CMD-SHELL") != 0))
        return wh_err_set(err, 400, "InvalidParameterException",
                          "healthCheck.command must be [\"CMD\", …] or [\"CMD-SHELL\", \"…\"]");
    struct health_cfg c = {
        .interval_s = (int)json_int(hc, "interval", 30),
        .timeout_s = (int)json_int(hc, "timeout", 5),
        .retries = (int)json_int(hc, "retries", 3),
        .start_period_s = (int)json_int(hc, "startPeriod", 0),
    };
    if (strcmp(kind, "CMD-SHELL") == 0) {
        /* Docker joins the rest with spaces for the shell. */
        size_t len = 1;
        for (size_t i = 1; i < n; i++)
            len += strlen(json_string_value(json_array_get(cmd, i)) ?: "") + 1;
        char *s = xcalloc(1, len);
        for (size_t i = 1; i < n; i++) {
            if (i > 1)
                strcat(s, " ");
            strcat(s, json_string_value(json_array_get(cmd, i)) ?: "");
        }
        c.argv = xcalloc(4, sizeof(char *));
        c.argv[0] = xstrdup("/bin/sh");
        c.argv[1] = xstrdup("-c");
        c.argv[2] = s;
    } else {
        c.argv = xcalloc(n, sizeof(char *));
        for (size_t i = 1; i < n; i++)
            c.argv[i - 1] = xstrdup(json_string_value(json_array_get(cmd, i)) ?: "");
    }
    if (c.interval_s <= 0)
        c.interval_s = 30;
    if (c.timeout_s <= 0)
        c.timeout_s = 5;
    if (c.retries <= 0)
        c.retries = 3;
    *ret = c;
    return 0;
}

void health_cfg_free(struct health_cfg *c)
{
    for (size_t i = 0; c->argv && c->argv[i]; i++)
        free(c->argv[i]);
    free(c->argv);
    c->argv = NULL;
}

enum ctr_health health_step(enum ctr_health cur, bool ok, bool in_start_period, int retries,
                            int *failures)
{
    if (ok) {
        *failures = 0;
        return HEALTH_HEALTHY;
    }
    if (in_start_period)
        return cur;
    if (++*failures >= retries)
        return HEALTH_UNHEALTHY;
    return cur;
}

struct health {
    struct task *t;
    size_t i;
    struct health_cfg cfg;
    double started;
    char *id;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    int refs; /* the thread and the runner */
};

static void health_unref(struct health *h)
{
    pthread_mutex_lock(&h->mu);
    bool last = --h->refs == 0;
    pthread_mutex_unlock(&h->mu);
    if (!last)
        return;
    task_unref(h->t);
    health_cfg_free(&h->cfg);
    free(h->id);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

/* Sleep until `until` (monotonic) or a stop; true when stopped. */
static bool nap(struct health *h, double until)
{
    pthread_mutex_lock(&h->mu);
    while (!h->stop && time_monotonic() < until) {
        struct timespec ts = {.tv_sec = (time_t)until,
                              .tv_nsec = (long)((until - (double)(time_t)until) * 1e9)};
        pthread_cond_timedwait(&h->cv, &h->mu, &ts);
    }
    bool stop = h->stop;
    pthread_mutex_unlock(&h->mu);
    return stop;
}

static void *probe_loop(void *arg)
{
    struct health *h = arg;
    struct engine *e = h->t->agent->engine;
    int failures = 0;
    double next = h->started + h->cfg.interval_s;
    while (!nap(h, next)) {
        double began = time_monotonic();
        int code = -1;
        struct wh_err err = {0};
        if (engine_exec(e, h->id, (const char *const *)h->cfg.argv, h->cfg.timeout_s * 1000, &code,
                        &err) < 0)
            log_warn("health check of %s: %s", h->id, err.msg);
        bool in_start = began - h->started < h->cfg.start_period_s;
        pthread_mutex_lock(&h->t->mu);
        struct ctr_rec *c = &h->t->rec->c[h->i];
        enum ctr_health nh = health_step(c->health, code == 0, in_start, h->cfg.retries, &failures);
        bool changed = nh != c->health && c->phase == CTR_RUNNING;
        if (changed) {
            log_info("%s: container %s is %s", h->t->rec->arn, c->name, ctr_health_name(nh));
            c->health = nh;
            task_changed_locked(h->t);
        }
        pthread_mutex_unlock(&h->t->mu);
        if (changed)
            task_wake(h->t);
        next = began + h->cfg.interval_s;
    }
    health_unref(h);
    return NULL;
}

struct health *health_start(struct task *t, size_t i, struct health_cfg *cfg, double started_mono)
{
    struct health *h = xcalloc(1, sizeof(*h));
    h->t = t;
    h->i = i;
    h->cfg = *cfg;
    *cfg = (struct health_cfg){0};
    h->started = started_mono;
    h->id = xstrdup(t->rec->c[i].runtime_id);
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    h->refs = 2;
    task_ref(t);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 << 10);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    if (pthread_create(&th, &attr, probe_loop, h) != 0) {
        log_error("%s: cannot start the health-check thread", h->id);
        h->refs = 1;
        health_unref(h);
        h = NULL;
    }
    pthread_attr_destroy(&attr);
    return h;
}

void health_stop(struct health *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->stop = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    health_unref(h);
}
