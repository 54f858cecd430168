/* Do a piece of work once per key at a time ("single flight"): while one thread runs the
 * work for a key, other threads asking for the same key wait for it (mutex + a condition
 * variable per in-flight key) and share its outcome instead of doing it again. Once the work
 * is done the key is forgotten: the next caller runs it again (callers make the work cheap
 * to repeat, e.g. by finding its result on disk). */
#pragma once
#include <pthread.h>
#include <stdbool.h>

#include "core/err.h"

struct flight;

struct flight_group {
    pthread_mutex_t mu;
    struct flight *calls;
};

void flight_group_init(struct flight_group *g);
void flight_group_destroy(struct flight_group *g);

/* The work: returns 0 (optionally with a new string in *ret_value) or -1 with err filled. */
typedef int (*flight_fn)(void *arg, char **ret_value, struct wh_err *err);

/* Run fn for key, or wait for the run already in flight. Every caller gets the same return
 * value, error and a copy of the value (*ret_value may be NULL). *ret_shared (may be NULL)
 * is true for callers that waited instead of running fn. */
int flight_do(struct flight_group *g, const char *key, flight_fn fn, void *arg, char **ret_value,
              bool *ret_shared, struct wh_err *err);
