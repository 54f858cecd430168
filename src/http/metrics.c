#include "http/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/xalloc.h"

static const double bucket_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                       0.05,   0.1,   0.25,   0.5,   1,    2.5, 5, 10};
#define NBUCKETS ARRAY_SIZE(bucket_bounds)

struct counter {
    struct counter *next;
    char *action;
    int status;
    unsigned long long count;
};

/* Actions are few (one per API operation), so a short list under one lock is enough. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct counter *counters;
static unsigned long long buckets[NBUCKETS + 1];
static unsigned long long observations;
static double latency_sum;

void metrics_observe(const char *action, int status, double seconds)
{
    pthread_mutex_lock(&lock);
    struct counter *c;
    for (c = counters; c; c = c->next)
        if (c->status == status && strcmp(c->action, action) == 0)
            break;
    if (!c) {
        c = xcalloc(1, sizeof(*c));
        c->action = xstrdup(action);
        c->status = status;
        c->next = counters;
        counters = c;
    }
    c->count++;
    size_t b = 0;
    while (b < NBUCKETS && seconds > bucket_bounds[b])
        b++;
    buckets[b]++;
    observations++;
    latency_sum += seconds;
    pthread_mutex_unlock(&lock);
}

char *metrics_render(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        abort();
    pthread_mutex_lock(&lock);
    fputs("# HELP wharf_requests_total Requests served, by action and HTTP status.\n"
          "# TYPE wharf_requests_total counter\n",
          f);
    for (struct counter *c = counters; c; c = c->next)
        fprintf(f, "wharf_requests_total{action=\"%s\",status=\"%d\"} %llu\n", c->action, c->status,
                c->count);
    fputs("# HELP wharf_request_duration_seconds Request latency.\n"
          "# TYPE wharf_request_duration_seconds histogram\n",
          f);
    unsigned long long cum = 0;
    for (size_t i = 0; i < NBUCKETS; i++) {
        cum += buckets[i];
        fprintf(f, "wharf_request_duration_seconds_bucket{le=\"%g\"} %llu\n", bucket_bounds[i], cum);
    }
    fprintf(f, "wharf_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", observations);
    fprintf(f, "wharf_request_duration_seconds_sum %.6f\n", latency_sum);
    fprintf(f, "wharf_request_duration_seconds_count %llu\n", observations);
    pthread_mutex_unlock(&lock);
    fclose(f);
    return buf;
}

void metrics_reset(void)
{
    pthread_mutex_lock(&lock);
    while (counters) {
        struct counter *c = counters;
        counters = c->next;
        free(c->action);
        free(c);
    }
    memset(buckets, 0, sizeof(buckets));
    observations = 0;
    latency_sum = 0;
    pthread_mutex_unlock(&lock);
}
