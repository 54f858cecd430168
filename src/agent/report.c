/* State changes to wharfd: what to send (pure), and the workers that send it until it is
 * acknowledged. */
#include "agent/report.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "agent/agent.h"
#include "agent/aws_client.h"
#include "agent/task_runner.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

#define ECS_TARGET "AmazonEC2ContainerServiceV20141113."
#define REPORT_TIMEOUT_MS 15000
#define BACKOFF_MIN_S 0.5
#define BACKOFF_MAX_S 30.0

/* ---- what to send (pure) ---------------------------------------------------------------- */

static bool ctr_dirty(const struct ctr_rec *c)
{
    return strcmp(ctr_phase_name(c->phase), ctr_phase_name(c->rep_phase)) != 0 ||
           c->has_exit != c->rep_has_exit || c->health != c->rep_health ||
           (c->reason && !c->rep_reason);
}

/* The container's networkBindings from the task's network (net/task_net.h), else []. */
static json_t *ctr_bindings(const struct task_rec *t, const struct ctr_rec *c)
{
    const json_t *b = json_array_get(json_object_get(t->network, "bindings"),
                                     (size_t)(c - t->c));
    return b ? json_deep_copy(b) : json_array();
}

static json_t *ctr_json(const struct task_rec *t, const struct ctr_rec *c)
{
    json_t *o = json_pack("{s:s,s:s,s:o}", "containerName", c->name, "status",
                          ctr_phase_name(c->phase), "networkBindings", ctr_bindings(t, c));
    if (c->phase >= CTR_CREATED)
        json_set_str(o, "runtimeId", c->runtime_id);
    json_set_str(o, "imageDigest", c->image_digest);
    if (c->has_exit)
        json_object_set_new(o, "exitCode", json_integer(c->exit_code));
    json_set_str(o, "reason", c->reason);
    json_set_str(o, "healthStatus", ctr_health_name(c->health));
    return o;
}

static struct report_ctr snap_of(const struct ctr_rec *c)
{
    return (struct report_ctr){.phase = c->phase, .has_exit = c->has_exit, .health = c->health,
                               .reason = c->reason != NULL};
}

static void set_time(json_t *o, const char *key, double v)
{
    if (v > 0)
        json_object_set_new(o, key, json_timestamp(v));
}

/* The task's healthStatus as ECS derives it: UNHEALTHY if an essential container is, HEALTHY
 * when every essential container with a health check is, else UNKNOWN; NULL when none has a
 * health check. */
static const char *task_health(const struct task_rec *t)
{
    bool any = false, all_healthy = true;
    for (size_t i = 0; i < t->n; i++) {
        const json_t *def = task_rec_ctr_def(t, i);
        if (t->c[i].health == HEALTH_NONE || !json_bool(def, "essential", true))
            continue;
        any = true;
        if (t->c[i].health == HEALTH_UNHEALTHY)
            return "UNHEALTHY";
        if (t->c[i].health != HEALTH_HEALTHY)
            all_healthy = false;
    }
    return !any ? NULL : all_healthy ? "HEALTHY" : "UNKNOWN";
}

static json_t *task_request(const struct task_rec *t)
{
    json_t *ctrs = json_array();
    for (size_t i = 0; i < t->n; i++)
        json_array_append_new(ctrs, ctr_json(t, &t->c[i]));
    json_t *req = json_pack("{s:s,s:s,s:s,s:o}", "cluster", t->cluster, "task", t->arn,
                            "status", task_phase_name(t->phase), "containers", ctrs);
    set_time(req, "pullStartedAt", t->pull_started_at);
    set_time(req, "pullStoppedAt", t->pull_stopped_at);
    set_time(req, "executionStoppedAt", t->execution_stopped_at);
    if (t->phase == TASK_STOPPED) {
        json_set_str(req, "reason", t->stopped_reason);
        json_set_str(req, "stopCode", t->stop_code);
    }
    json_set_str(req, "healthStatus", task_health(t));
    const json_t *atts = json_object_get(t->network, "attachments");
    if (json_array_size(atts))
        json_object_set_new(req, "attachments", json_deep_copy(atts));
    return req;
}

static json_t *ctr_request(const struct task_rec *t, const struct ctr_rec *c)
{
    json_t *req = ctr_json(t, c);
    json_object_set_new(req, "cluster", json_string(t->cluster));
    json_object_set_new(req, "task", json_string(t->arn));
    json_set_str(req, "taskHealthStatus", task_health(t));
    return req;
}

int report_next(const struct task_rec *t, const char **ret_target, json_t **ret_req,
                struct report_snap *ret_snap)
{
    struct report_snap s = {0};
    if (t->phase != TASK_NONE && t->phase != t->rep_phase) {
        s.task_level = true;
        s.phase = t->phase;
        s.n = t->n;
        s.ctrs = xcalloc(t->n ? t->n : 1, sizeof(*s.ctrs));
        for (size_t i = 0; i < t->n; i++)
            s.ctrs[i] = snap_of(&t->c[i]);
        *ret_target = ECS_TARGET "SubmitTaskStateChange";
        *ret_req = task_request(t);
        *ret_snap = s;
        return 1;
    }
    if (t->rep_phase == TASK_NONE)
        return 0; /* wharfd has not heard of the task's progress yet: nothing per container */
    for (size_t i = 0; i < t->n; i++) {
        if (!ctr_dirty(&t->c[i]))
            continue;
        s.ctr = i;
        s.n = 1;
        s.ctrs = xcalloc(1, sizeof(*s.ctrs));
        s.ctrs[0] = snap_of(&t->c[i]);
        *ret_target = ECS_TARGET "SubmitContainerStateChange";
        *ret_req = ctr_request(t, &t->c[i]);
        *ret_snap = s;
        return 1;
    }
    return 0;
}

static void ctr_acked(struct ctr_rec *c, const struct report_ctr *s)
{
    c->rep_phase = s->phase;
    c->rep_has_exit = s->has_exit;
    c->rep_health = s->health;
    c->rep_reason = c->rep_reason || s->reason;
}

void report_acked(struct task_rec *t, const struct report_snap *s)
{
    if (s->task_level) {
        t->rep_phase = s->phase;
        for (size_t i = 0; i < s->n && i < t->n; i++)
            ctr_acked(&t->c[i], &s->ctrs[i]);
    } else if (s->ctr < t->n && s->n == 1) {
        ctr_acked(&t->c[s->ctr], &s->ctrs[0]);
    }
}

void report_snap_free(struct report_snap *s)
{
    free(s->ctrs);
    s->ctrs = NULL;
}

/* ---- the workers ------------------------------------------------------------------------ */

struct reporter {
    struct agent *agent;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct task *head, *tail; /* queued tasks, FIFO */
    bool stopping;
    pthread_t *threads;
    int n_threads;
};

static void enqueue_locked(struct reporter *r, struct task *t)
{
    if (t->rq_queued)
        return;
    task_ref(t);
    t->rq_queued = true;
    t->rq_next_task = NULL;
    if (r->tail)
        r->tail->rq_next_task = t;
    else
        r->head = t;
    r->tail = t;
    pthread_cond_signal(&r->cv);
}

void reporter_kick(struct reporter *r, struct task *t)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    t->rq_dirty = true;
    if (!t->rq_busy)
        enqueue_locked(r, t);
    pthread_mutex_unlock(&r->mu);
}

bool reporter_settled(struct reporter *r, struct task *t)
{
    bool busy = false;
    if (r) {
        pthread_mutex_lock(&r->mu);
        busy = t->rq_queued || t->rq_busy;
        pthread_mutex_unlock(&r->mu);
    }
    if (busy)
        return false;
    pthread_mutex_lock(&t->mu);
    const char *target;
    json_t *req = NULL;
    struct report_snap s;
    int more = report_next(t->rec, &target, &req, &s);
    pthread_mutex_unlock(&t->mu);
    if (more) {
        json_decref(req);
        report_snap_free(&s);
    }
    return !more;
}

/* The first queued task due now, unlinked; NULL with *ret_wait set to the earliest due time. */
static struct task *take_due_locked(struct reporter *r, double now, double *ret_wait)
{
    struct task *prev = NULL;
    double earliest = 0;
    for (struct task *t = r->head; t; prev = t, t = t->rq_next_task) {
        if (t->rq_next > now) {
            if (!earliest || t->rq_next < earliest)
                earliest = t->rq_next;
            continue;
        }
        if (prev)
            prev->rq_next_task = t->rq_next_task;
        else
            r->head = t->rq_next_task;
        if (r->tail == t)
            r->tail = prev;
        t->rq_queued = false;
        t->rq_next_task = NULL;
        return t;
    }
    *ret_wait = earliest;
    return NULL;
}

static bool retriable(const struct wh_err *e)
{
    return e->status == 0 || e->status >= 500 || e->status == 429 ||
           strstr(e->type, "Throttl") != NULL;
}

/* Send t's reports until nothing is left or a send fails; false when one failed (retry). */
static bool send_all(struct reporter *r, struct task *t)
{
    for (;;) {
        pthread_mutex_lock(&r->mu);
        t->rq_dirty = false;
        pthread_mutex_unlock(&r->mu);
        pthread_mutex_lock(&t->mu);
        const char *target;
        json_t *req = NULL;
        struct report_snap s;
        int more = report_next(t->rec, &target, &req, &s);
        pthread_mutex_unlock(&t->mu);
        if (!more)
            return true;
        json_t *out = NULL;
        struct wh_err err = {0};
        int rc = aws_client_call(r->agent->aws, "ecs", target, req, REPORT_TIMEOUT_MS, &out, &err);
        json_decref(out);
        bool acked = rc == 0;
        if (rc < 0 && !retriable(&err)) {
            /* wharfd refuses it for good (the task is gone, …): sending it again cannot help. */
            log_warn("%s: %s refused (%s: %s); not sending it again", t->rec->arn,
                     strchr(target, '.') + 1, err.type, err.msg);
            acked = true;
        }
        if (acked) {
            pthread_mutex_lock(&t->mu);
            report_acked(t->rec, &s);
            t->dirty = true; /* saved with the runner's next step: a lost ack is re-sent */
            pthread_mutex_unlock(&t->mu);
            if (rc == 0)
                log_debug("%s: %s %s acknowledged", t->rec->arn, strchr(target, '.') + 1,
                          s.task_level ? task_phase_name(s.phase) : t->rec->c[s.ctr].name);
        } else {
            log_warn("%s: %s failed (%s); will retry", t->rec->arn, strchr(target, '.') + 1,
                     err.msg);
        }
        json_decref(req);
        report_snap_free(&s);
        if (!acked)
            return false;
    }
}

static void *worker(void *arg)
{
    struct reporter *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->stopping) {
        double wait = 0;
        struct task *t = take_due_locked(r, time_monotonic(), &wait);
        if (!t) {
            if (wait) {
                struct timespec ts = {.tv_sec = (time_t)wait,
                                      .tv_nsec = (long)((wait - (double)(time_t)wait) * 1e9)};
                pthread_cond_timedwait(&r->cv, &r->mu, &ts);
            } else {
                pthread_cond_wait(&r->cv, &r->mu);
            }
            continue;
        }
        t->rq_busy = true;
        pthread_mutex_unlock(&r->mu);
        bool ok = send_all(r, t);
        pthread_mutex_lock(&r->mu);
        t->rq_busy = false;
        if (!ok) {
            t->rq_failures++;
            double d = BACKOFF_MIN_S * (double)(1 << (t->rq_failures < 7 ? t->rq_failures - 1 : 6));
            t->rq_next = time_monotonic() + (d > BACKOFF_MAX_S ? BACKOFF_MAX_S : d);
            enqueue_locked(r, t);
        } else {
            t->rq_failures = 0;
            t->rq_next = 0;
            if (t->rq_dirty)
                enqueue_locked(r, t);
        }
        pthread_mutex_unlock(&r->mu);
        task_unref(t); /* the queue's reference */
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int reporter_start(struct agent *a, int workers, struct reporter **ret)
{
    struct reporter *r = xcalloc(1, sizeof(*r));
    r->agent = a;
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* rq_next is on time_monotonic() */
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    r->threads = xcalloc((size_t)workers, sizeof(pthread_t));
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 << 10);
    for (int i = 0; i < workers; i++) {
        if (pthread_create(&r->threads[i], &attr, worker, r) != 0)
            break;
        r->n_threads++;
    }
    pthread_attr_destroy(&attr);
    if (r->n_threads == 0) {
        free(r->threads);
        free(r);
        return -EAGAIN;
    }
    *ret = r;
    return 0;
}

void reporter_stop(struct reporter *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < r->n_threads; i++)
        pthread_join(r->threads[i], NULL);
    while (r->head) {
        struct task *t = r->head;
        r->head = t->rq_next_task;
        t->rq_queued = false;
        task_unref(t);
    }
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r->threads);
    free(r);
}
