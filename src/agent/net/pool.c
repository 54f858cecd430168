/* Warm awsvpc attachments: made ahead, taken by awsvpc task setups (netpriv.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>
#include <time.h>

#include "agent/net/netpriv.h"
#include "agent/net/netstate.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

#define POOL_PREFIX "pool."
#define RETRY_S 10 /* after a failed make (a plugin missing, the subnet full) */

static void pool_id(char out[NET_ID_MAX])
{
    unsigned char b[8] = {0};
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
        unsigned long long t = (unsigned long long)(time_monotonic() * 1e9);
        memcpy(b, &t, sizeof(b));
    }
    int w = snprintf(out, NET_ID_MAX, POOL_PREFIX);
    for (size_t i = 0; i < sizeof(b); i++)
        w += snprintf(out + w, NET_ID_MAX - (size_t)w, "%02x", b[i]);
}

/* Make one attachment under id: the awsvpc setup of a task with no containers. The caller
 * holds gc_lock (read). */
static int make_one(struct net *n, const char *id, struct wh_err *err)
{
    struct net_task_req req = {.task_id = id, .mode = NET_MODE_AWSVPC};
    struct net_task_net res = {0};
    int r = net_setup_fresh(n, &req, &res, err);
    net_task_net_clear(&res);
    return r;
}

char *net_pool_make_now(struct net *n, struct wh_err *err)
{
    char id[NET_ID_MAX];
    pool_id(id);
    return make_one(n, id, err) < 0 ? NULL : xstrdup(id);
}

bool net_pool_give(struct net *n, const char *id)
{
    struct net_pool *p = &n->pool;
    if (!p->started)
        return false;
    pthread_mutex_lock(&p->mu);
    /* Room for twice the target: a task that took one gives it back after the refill has
     * replaced it, and turning it away would mean a DEL now and an ADD for the next. */
    bool room = !p->stop && (int)p->nready < 2 * p->target;
    if (room) {
        p->ready = xrealloc(p->ready, (p->nready + 1) * sizeof(*p->ready));
        p->ready[p->nready++] = xstrdup(id);
    }
    pthread_mutex_unlock(&p->mu);
    return room;
}

bool net_pool_on(const struct net *n)
{
    return n->pool.started;
}

static void wait_s(struct net_pool *p, int s)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += s;
    while (!p->stop && pthread_cond_timedwait(&p->cv, &p->mu, &ts) != ETIMEDOUT)
        ;
}

static void *refill(void *arg)
{
    struct net *n = arg;
    struct net_pool *p = &n->pool;
    /* The plugins this thread forks inherit its niceness: a task starting now (its runc
     * create, its own plugins) gets the CPU first. */
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), 10) < 0)
        log_debug("net: pool: cannot lower its priority: %s", strerror(errno));
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        if ((int)p->nready >= p->target || p->busy > 0) {
            pthread_cond_wait(&p->cv, &p->mu);
            continue;
        }
        pool_id(p->making);
        pthread_mutex_unlock(&p->mu);
        struct wh_err err = {0};
        double t0 = time_monotonic();
        pthread_rwlock_rdlock(&n->gc_lock);
        int r = make_one(n, p->making, &err);
        pthread_rwlock_unlock(&n->gc_lock);
        pthread_mutex_lock(&p->mu);
        if (r == 0) {
            log_debug("net: pool: %s ready in %.1f ms", p->making,
                      (time_monotonic() - t0) * 1000);
            p->ready = xrealloc(p->ready, (p->nready + 1) * sizeof(*p->ready));
            p->ready[p->nready++] = xstrdup(p->making);
            p->making[0] = 0;
        } else {
            p->making[0] = 0;
            log_warn("net: pool: cannot make a warm awsvpc attachment (retrying in %d s): %s",
                     RETRY_S, err.msg);
            wait_s(p, RETRY_S);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

void net_pool_init(struct net *n)
{
    struct net_pool *p = &n->pool;
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
}

void net_pool_start(struct net *n, int target)
{
    struct net_pool *p = &n->pool;
    p->target = target;
    if (target <= 0 || !n->awsvpc.configured)
        return;
    p->started = pthread_create(&p->thread, NULL, refill, n) == 0;
    if (!p->started)
        log_warn("net: pool: cannot start its thread; awsvpc tasks set up their own networks");
}

void net_pool_stop(struct net *n)
{
    struct net_pool *p = &n->pool;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (p->started)
        pthread_join(p->thread, NULL);
    p->started = false;
    for (size_t i = 0; i < p->nready; i++) {
        struct wh_err err = {0};
        if (net_task_teardown(n, p->ready[i], &err) < 0)
            log_warn("net: pool: %s: %s (the next GC removes it)", p->ready[i], err.msg);
        free(p->ready[i]);
    }
    free(p->ready);
    p->ready = NULL;
    p->nready = 0;
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
}

char *net_pool_take(struct net *n)
{
    struct net_pool *p = &n->pool;
    if (!p->started)
        return NULL;
    pthread_mutex_lock(&p->mu);
    char *id = NULL;
    if (p->nready > 0) {
        id = p->ready[0];
        memmove(p->ready, p->ready + 1, (p->nready - 1) * sizeof(*p->ready));
        p->nready--;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return id;
}

void net_pool_busy(struct net *n, int delta)
{
    struct net_pool *p = &n->pool;
    if (!p->started)
        return;
    pthread_mutex_lock(&p->mu);
    p->busy += delta;
    if (p->busy == 0)
        pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

bool net_pool_owns(struct net *n, const char *id)
{
    struct net_pool *p = &n->pool;
    if (!p->started || strncmp(id, POOL_PREFIX, strlen(POOL_PREFIX)) != 0)
        return false;
    pthread_mutex_lock(&p->mu);
    bool owns = strcmp(p->making, id) == 0;
    for (size_t i = 0; i < p->nready && !owns; i++)
        owns = strcmp(p->ready[i], id) == 0;
    pthread_mutex_unlock(&p->mu);
    return owns;
}
