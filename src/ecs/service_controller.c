#include "ecs/service_controller.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "core/arn.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "ecs/service_reconcile.h"
#include "store/services.h"

#define MAX_CLUSTERS 64 /* clusters remembered one by one; more make the next pass a full one */

/* Clusters with a time: kicked (time 0: now) or due (a service asked to be looked at then). */
struct marks {
    char *arn[MAX_CLUSTERS];
    double at[MAX_CLUSTERS];
    size_t n;
    bool all; /* overflowed: every cluster */
    double all_at;
};

struct service_controller {
    struct store *st;
    double resync;
    pthread_t thread;
    bool stop;
    struct marks kicked, due;
};

/* The running controller for kicks; guarded by lock, which also guards its fields. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond;
static pthread_once_t cond_once = PTHREAD_ONCE_INIT;
static struct service_controller *running;

static void cond_init(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&cond, &a);
    pthread_condattr_destroy(&a);
}

/* Remember cluster_arn (NULL: all) at time at, keeping the earliest time per cluster. */
static void mark(struct marks *m, const char *cluster_arn, double at)
{
    if (!cluster_arn || m->all) {
        if (!m->all || at < m->all_at)
            m->all_at = at;
        m->all = true;
        return;
    }
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->arn[i], cluster_arn) == 0) {
            if (at < m->at[i])
                m->at[i] = at;
            return;
        }
    if (m->n == MAX_CLUSTERS) {
        mark(m, NULL, at);
        return;
    }
    m->arn[m->n] = xstrdup(cluster_arn);
    m->at[m->n++] = at;
}

static double earliest(const struct marks *m)
{
    double t = m->all ? m->all_at : 0;
    for (size_t i = 0; i < m->n; i++)
        if (t == 0 || m->at[i] < t)
            t = m->at[i];
    return t;
}

/* Move the marks due by now from `from` into `to`. */
static void take_due(struct marks *from, struct marks *to, double now)
{
    if (from->all && from->all_at <= now) {
        mark(to, NULL, 0);
        from->all = false;
    }
    size_t k = 0;
    for (size_t i = 0; i < from->n; i++) {
        if (from->at[i] <= now) {
            mark(to, from->arn[i], 0);
            free(from->arn[i]);
        } else {
            from->arn[k] = from->arn[i];
            from->at[k++] = from->at[i];
        }
    }
    from->n = k;
}

static void marks_clear(struct marks *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->arn[i]);
    memset(m, 0, sizeof(*m));
}

void service_controller_kick(const char *cluster_arn)
{
    pthread_mutex_lock(&lock);
    if (running) {
        mark(&running->kicked, cluster_arn, 0);
        pthread_cond_signal(&cond);
    }
    pthread_mutex_unlock(&lock);
}

/* The cluster of a service ARN (…:service/CLUSTER/NAME): a new heap string, or NULL. */
static char *cluster_of(const char *service_arn)
{
    struct arn a;
    if (arn_parse(service_arn, &a) < 0 || strncmp(a.resource, "service/", 8) != 0)
        return NULL;
    const char *name = a.resource + 8, *slash = strchr(name, '/');
    if (!slash)
        return NULL;
    cleanup_free char *res = xasprintf("cluster/%.*s", (int)(slash - name), name);
    return arn_make(a.service, a.region, a.account, res);
}

/* Reconcile the live services of cluster_arn (NULL: all); each one that wants another look
 * later goes to due (when given) and into *ret_due (the earliest). */
static int pass(struct store *st, const char *cluster_arn, double now, struct marks *due,
                double *ret_due)
{
    struct wh_err err = {0};
    char **arns = NULL;
    size_t n = 0;
    *ret_due = 0;
    if (store_services_live(st, cluster_arn, &arns, &n, &err) < 0) {
        log_warn("services: cannot list services: %s", err.msg);
        return -EIO;
    }
    for (size_t i = 0; i < n; i++) {
        double at = 0;
        if (service_reconcile(st, arns[i], now, &at, &err) < 0)
            log_warn("services: %s: %s", arns[i], err.msg);
        if (at <= 0)
            continue;
        if (*ret_due == 0 || at < *ret_due)
            *ret_due = at;
        if (due) {
            cleanup_free char *cluster = cluster_of(arns[i]);
            pthread_mutex_lock(&lock);
            mark(due, cluster, at);
            pthread_mutex_unlock(&lock);
        }
    }
    store_service_arns_free(arns);
    return (int)n;
}

int service_controller_pass(struct store *st, const char *cluster_arn, double now,
                            double *ret_due)
{
    return pass(st, cluster_arn, now, NULL, ret_due);
}

/* Wait (lock held) until there is work: a kick, the resync or a due cluster; the work is then
 * in c->kicked. */
static void wait_for_work(struct service_controller *c, double next_resync)
{
    for (;;) {
        if (c->stop)
            return;
        double now = time_now();
        if (now >= next_resync)
            mark(&c->kicked, NULL, 0);
        take_due(&c->due, &c->kicked, now);
        if (c->kicked.all || c->kicked.n)
            return;
        double until = next_resync, d = earliest(&c->due);
        if (d > 0 && d < until)
            until = d;
        double wait = until - now;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (time_t)wait;
        ts.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&cond, &lock, &ts);
    }
}

static void *loop(void *arg)
{
    struct service_controller *c = arg;
    double next_resync = 0; /* the first pass is a full one: carry on after a restart */
    double due;
    pthread_mutex_lock(&lock);
    while (!c->stop) {
        wait_for_work(c, next_resync);
        if (c->stop)
            break;
        struct marks work = c->kicked;
        memset(&c->kicked, 0, sizeof(c->kicked));
        pthread_mutex_unlock(&lock);
        double now = time_now();
        if (work.all) {
            next_resync = now + c->resync;
            pass(c->st, NULL, now, &c->due, &due);
        } else {
            for (size_t i = 0; i < work.n; i++)
                pass(c->st, work.arn[i], now, &c->due, &due);
        }
        marks_clear(&work);
        pthread_mutex_lock(&lock);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

int service_controller_start(struct store *st, double resync_seconds,
                             struct service_controller **ret)
{
    pthread_once(&cond_once, cond_init);
    struct service_controller *c = xcalloc(1, sizeof(*c));
    c->st = st;
    c->resync = resync_seconds > 0 ? resync_seconds : 5;
    pthread_mutex_lock(&lock);
    running = c;
    pthread_mutex_unlock(&lock);
    if (pthread_create(&c->thread, NULL, loop, c) != 0) {
        pthread_mutex_lock(&lock);
        running = NULL;
        pthread_mutex_unlock(&lock);
        free(c);
        return -EAGAIN;
    }
    *ret = c;
    return 0;
}

void service_controller_stop(struct service_controller *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&lock);
    c->stop = true;
    running = NULL;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    pthread_join(c->thread, NULL);
    marks_clear(&c->kicked);
    marks_clear(&c->due);
    free(c);
}
