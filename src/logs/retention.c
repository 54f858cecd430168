#include "logs/retention.h"

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "store/logs.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_t thread;
static bool running, stopping;
static struct store *store;
static int interval;

static void sweep(void)
{
    struct wh_err err = {0};
    struct store_log_group *g = NULL;
    size_t n = 0;
    if (store_log_groups_with_retention(store, &g, &n, &err) < 0) {
        log_warn("logs retention: %s", err.msg);
        return;
    }
    int64_t now = time_now_ms();
    for (size_t i = 0; i < n; i++) {
        int64_t gone = store_log_events_expire(store, g[i].id, now - g[i].retention_days * 86400000LL, &err);
        if (gone < 0)
            log_warn("logs retention: group %s: %s", g[i].name, err.msg);
        else if (gone > 0)
            log_info("logs retention: deleted %lld expired events of %s", (long long)gone, g[i].name);
    }
    store_log_groups_free(g, n);
}

static void *loop(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += interval;
        pthread_cond_timedwait(&cond, &lock, &ts);
        if (stopping)
            break;
        pthread_mutex_unlock(&lock);
        sweep();
        pthread_mutex_lock(&lock);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

void logs_retention_start(struct store *st, int interval_seconds)
{
    store = st;
    interval = interval_seconds > 0 ? interval_seconds : 60;
    stopping = false;
    running = pthread_create(&thread, NULL, loop, NULL) == 0;
}

void logs_retention_stop(void)
{
    if (!running)
        return;
    pthread_mutex_lock(&lock);
    stopping = true;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
    running = false;
}
