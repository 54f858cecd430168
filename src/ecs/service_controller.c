#include "ecs/service_controller.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "ecs/service_reconcile.h"
#include "store/services.h"

#define MAX_DIRTY 64 /* clusters remembered one by one; more make the next pass a full one */

struct service_controller {
    struct store *st;
    double resync;
    pthread_t thread;
    bool stop;
    bool all;                /* a pass over every service is wanted */
    char *dirty[MAX_DIRTY];  /* clusters kicked since the last pass */
    size_t ndirty;
    double due;              /* wall clock of the earliest due service, 0: none */
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

void service_controller_kick(const char *cluster_arn)
{
    pthread_mutex_lock(&lock);
    struct service_controller *c = running;
    if (c && !c->all) {
        bool seen = false;
        for (size_t i = 0; cluster_arn && i < c->ndirty && !seen; i++)
            seen = strcmp(c->dirty[i], cluster_arn) == 0;
        if (!cluster_arn || c->ndirty == MAX_DIRTY)
            c->all = true;
        else if (!seen)
            c->dirty[c->ndirty++] = xstrdup(cluster_arn);
    }
    if (c)
        pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
}

int service_controller_pass(struct store *st, const char *cluster_arn, double now,
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
        double due = 0;
        if (service_reconcile(st, arns[i], now, &due, &err) < 0)
            log_warn("services: %s: %s", arns[i], err.msg);
        if (due > 0 && (*ret_due == 0 || due < *ret_due))
            *ret_due = due;
    }
    store_service_arns_free(arns);
    return (int)n;
}

/* Wait (lock held) until there is work: a kick, the resync or a due service. */
static void wait_for_work(struct service_controller *c, double next_resync)
{
    while (!c->stop && !c->all && c->ndirty == 0) {
        double now = time_now();
        double until = next_resync;
        if (c->due > 0 && c->due < until)
            until = c->due;
        if (now >= until) {
            c->all = true;
            break;
        }
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
    pthread_mutex_lock(&lock);
    c->all = true;
    while (!c->stop) {
        wait_for_work(c, next_resync);
        if (c->stop)
            break;
        bool all = c->all;
        size_t n = c->ndirty;
        char *dirty[MAX_DIRTY];
        memcpy(dirty, c->dirty, n * sizeof(char *));
        c->ndirty = 0;
        c->all = false;
        c->due = 0;
        pthread_mutex_unlock(&lock);
        double now = time_now(), due = 0, d;
        if (all)
            next_resync = now + c->resync;
        if (all)
            service_controller_pass(c->st, NULL, now, &due);
        for (size_t i = 0; i < n; i++) {
            if (!all) {
                service_controller_pass(c->st, dirty[i], now, &d);
                if (d > 0 && (due == 0 || d < due))
                    due = d;
            }
            free(dirty[i]);
        }
        pthread_mutex_lock(&lock);
        if (due > 0 && (c->due == 0 || due < c->due))
            c->due = due;
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
    for (size_t i = 0; i < c->ndirty; i++)
        free(c->dirty[i]);
    free(c);
}
