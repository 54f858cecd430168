#include "http/waiters.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "core/timeutil.h"
#include "core/xalloc.h"
#include "http/server.h"

struct waiter {
    struct waiter *next;
    struct http_req *req;
    char *key;
    double deadline;
};

/* A list is enough: waiters are one per connected agent, and notify is rare next to polls. */
struct generation {
    struct generation *next;
    char *key;
    uint64_t gen;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct generation *generations; /* one per key ever notified (instances: few) */
static pthread_cond_t cond;
static struct waiter *list;
static unsigned count;
static bool running, stopping;
static pthread_t thread;

/* Unlink and resume; caller holds the lock. */
static void wake(struct waiter **pp)
{
    struct waiter *w = *pp;
    *pp = w->next;
    count--;
    http_req_resume(w->req);
    free(w->key);
    free(w);
}

static void *deadline_loop(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!stopping) {
        double now = time_monotonic(), next = now + 1.0;
        for (struct waiter **pp = &list; *pp;) {
            if ((*pp)->deadline <= now) {
                wake(pp);
                continue;
            }
            if ((*pp)->deadline < next)
                next = (*pp)->deadline;
            pp = &(*pp)->next;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        double wait = next - now;
        ts.tv_sec += (time_t)wait;
        ts.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&cond, &lock, &ts);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

void waiters_start(void)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&cond, &ca);
    pthread_condattr_destroy(&ca);
    stopping = false;
    running = pthread_create(&thread, NULL, deadline_loop, NULL) == 0;
}

void waiters_stop(void)
{
    if (!running)
        return;
    pthread_mutex_lock(&lock);
    stopping = true;
    while (list)
        wake(&list);
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
    running = false;
    pthread_cond_destroy(&cond);
    pthread_mutex_lock(&lock);
    while (generations) {
        struct generation *g = generations;
        generations = g->next;
        free(g->key);
        free(g);
    }
    pthread_mutex_unlock(&lock);
}

/* Caller holds the lock. */
static struct generation *generation_of(const char *key, bool create)
{
    for (struct generation *g = generations; g; g = g->next)
        if (strcmp(g->key, key) == 0)
            return g;
    if (!create)
        return NULL;
    struct generation *g = xcalloc(1, sizeof(*g));
    g->key = xstrdup(key);
    g->next = generations;
    generations = g;
    return g;
}

uint64_t waiters_generation(const char *key)
{
    pthread_mutex_lock(&lock);
    struct generation *g = generation_of(key, false);
    uint64_t gen = g ? g->gen : 0;
    pthread_mutex_unlock(&lock);
    return gen;
}

enum waiters_result waiters_wait(struct http_req *req, const char *key, double deadline,
                                 uint64_t gen)
{
    pthread_mutex_lock(&lock);
    if (stopping || !running) {
        pthread_mutex_unlock(&lock);
        return WAITERS_STOPPING;
    }
    struct generation *g = generation_of(key, false);
    if ((g ? g->gen : 0) != gen) {
        pthread_mutex_unlock(&lock);
        return WAITERS_CHANGED;
    }
    struct waiter *w = xcalloc(1, sizeof(*w));
    w->req = req;
    w->key = xstrdup(key);
    w->deadline = deadline;
    /* Suspend under the lock: a notify can then never resume a connection not yet parked. */
    http_req_suspend(req);
    w->next = list;
    list = w;
    count++;
    pthread_cond_signal(&cond); /* the deadline may be the earliest */
    pthread_mutex_unlock(&lock);
    return WAITERS_PARKED;
}

void waiters_notify(const char *key)
{
    pthread_mutex_lock(&lock);
    generation_of(key, true)->gen++;
    for (struct waiter **pp = &list; *pp;) {
        if (strcmp((*pp)->key, key) == 0)
            wake(pp);
        else
            pp = &(*pp)->next;
    }
    pthread_mutex_unlock(&lock);
}

unsigned waiters_count(void)
{
    pthread_mutex_lock(&lock);
    unsigned n = count;
    pthread_mutex_unlock(&lock);
    return n;
}
