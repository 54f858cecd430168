#include "ecr/lifecycle_sched.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "ecr/lifecycle_run.h"
#include "store/ecr_extra.h"

#define MAX_INTERVAL (7 * 24 * 3600.0)
#define REPO_BATCH 100

int ecr_lifecycle_interval_parse(const char *s, double *ret_seconds)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0)
        return -1;
    double unit = 60;
    if (*end == 's')
        unit = 1;
    else if (*end == 'm')
        unit = 60;
    else if (*end == 'h')
        unit = 3600;
    else if (*end)
        return -1;
    if (*end && end[1])
        return -1;
    /* Sub-second passes would only spin; zero is "off". */
    if (v * unit > MAX_INTERVAL || (v > 0 && v * unit < 1))
        return -1;
    *ret_seconds = v * unit;
    return 0;
}

static unsigned run_repo(struct store *st, const struct store_repo *r, double now)
{
    struct wh_err err = {0};
    struct ecr_lc_verdict *v = NULL;
    size_t n = 0;
    if (ecr_lifecycle_apply(st, r, now, &v, &n, &err) < 0) {
        log_warn("lifecycle: %s: %s", r->arn, err.msg);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        log_info("lifecycle: %s: expired %s (rule %d)", r->arn, v[i].digest, v[i].rule);
    ecr_lc_verdicts_free(v, n);
    return (unsigned)n;
}

int ecr_lifecycle_run_all(struct store *st, double now, unsigned *ret_deleted)
{
    unsigned deleted = 0;
    int64_t after = 0;
    for (;;) {
        struct wh_err err = {0};
        struct store_repo *v = NULL;
        size_t n = 0;
        if (store_ecr_lifecycle_repos(st, after, REPO_BATCH, &v, &n, &err) < 0) {
            log_warn("lifecycle: listing repositories: %s", err.msg);
            return -EIO;
        }
        for (size_t i = 0; i < n; i++)
            deleted += run_repo(st, &v[i], now);
        if (n)
            after = v[n - 1].id;
        store_repos_free(v, n);
        if (n < REPO_BATCH)
            break;
    }
    if (ret_deleted)
        *ret_deleted = deleted;
    return 0;
}

struct ecr_lifecycle_sched {
    struct store *st;
    double interval;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
};

/* Sleep until deadline (CLOCK_MONOTONIC) or stop; true when stopping. */
static bool wait_until(struct ecr_lifecycle_sched *s, const struct timespec *deadline)
{
    pthread_mutex_lock(&s->lock);
    while (!s->stopping && pthread_cond_timedwait(&s->wake, &s->lock, deadline) != ETIMEDOUT)
        ;
    bool stop = s->stopping;
    pthread_mutex_unlock(&s->lock);
    return stop;
}

static void *sched_main(void *arg)
{
    struct ecr_lifecycle_sched *s = arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (;;) {
        double secs = floor(s->interval);
        next.tv_sec += (time_t)secs;
        next.tv_nsec += (long)((s->interval - secs) * 1e9);
        if (next.tv_nsec >= 1000000000L) {
            next.tv_sec++;
            next.tv_nsec -= 1000000000L;
        }
        if (wait_until(s, &next))
            break;
        unsigned deleted = 0;
        if (ecr_lifecycle_run_all(s->st, time_now(), &deleted) == 0 && deleted)
            log_info("lifecycle: pass done, %u image%s expired", deleted, deleted == 1 ? "" : "s");
        clock_gettime(CLOCK_MONOTONIC, &next); /* a long pass does not cause a burst */
    }
    return NULL;
}

int ecr_lifecycle_sched_start(struct store *st, double interval_s,
                              struct ecr_lifecycle_sched **ret_sched)
{
    struct ecr_lifecycle_sched *s = xcalloc(1, sizeof(*s));
    s->st = st;
    s->interval = interval_s;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->lock, NULL);
    int r = pthread_create(&s->thread, NULL, sched_main, s);
    if (r != 0) {
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return -r;
    }
    *ret_sched = s;
    return 0;
}

void ecr_lifecycle_sched_stop(struct ecr_lifecycle_sched *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
