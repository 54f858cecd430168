#include "agent/flight.h"

#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

struct flight {
    char *key;
    bool done;
    int rc;
    char *value;
    struct wh_err err;
    pthread_cond_t cv;
    int refs;
    struct flight *next;
};

void flight_group_init(struct flight_group *g)
{
    pthread_mutex_init(&g->mu, NULL);
    g->calls = NULL;
}

void flight_group_destroy(struct flight_group *g)
{
    pthread_mutex_destroy(&g->mu);
}

static void unlink_call(struct flight_group *g, struct flight *c)
{
    for (struct flight **pp = &g->calls; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            return;
        }
}

/* Hand the outcome to one caller and drop its reference; called with the lock held. */
static int collect(struct flight *c, char **ret_value, struct wh_err *err)
{
    int rc = c->rc;
    if (rc < 0 && err)
        *err = c->err;
    if (rc == 0 && ret_value)
        *ret_value = c->value ? xstrdup(c->value) : NULL;
    if (--c->refs == 0) {
        pthread_cond_destroy(&c->cv);
        free(c->key);
        free(c->value);
        free(c);
    }
    return rc;
}

int flight_do(struct flight_group *g, const char *key, flight_fn fn, void *arg, char **ret_value,
              bool *ret_shared, struct wh_err *err)
{
    pthread_mutex_lock(&g->mu);
    struct flight *c = g->calls;
    while (c && strcmp(c->key, key) != 0)
        c = c->next;
    if (c) {
        c->refs++;
        while (!c->done)
            pthread_cond_wait(&c->cv, &g->mu);
        int rc = collect(c, ret_value, err);
        pthread_mutex_unlock(&g->mu);
        if (ret_shared)
            *ret_shared = true;
        return rc;
    }
    c = xcalloc(1, sizeof(*c));
    c->key = xstrdup(key);
    c->refs = 1;
    pthread_cond_init(&c->cv, NULL);
    c->next = g->calls;
    g->calls = c;
    pthread_mutex_unlock(&g->mu);

    char *value = NULL;
    int rc = fn(arg, &value, &c->err);

    pthread_mutex_lock(&g->mu);
    c->rc = rc < 0 ? -1 : 0;
    c->value = value;
    c->done = true;
    unlink_call(g, c);
    pthread_cond_broadcast(&c->cv);
    rc = collect(c, ret_value, err);
    pthread_mutex_unlock(&g->mu);
    if (ret_shared)
        *ret_shared = false;
    return rc;
}
