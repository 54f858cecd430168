/* Parked long-poll requests, keyed by what they wait for (a container instance ARN, say).
 * A waiter wakes when someone notifies its key or its deadline passes; either way the route's
 * on_end runs again and decides whether to answer or wait more. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct http_req;

/* Start the deadline thread. */
void waiters_start(void);
/* Resume every waiter and stop the thread (before the HTTP server stops). After this,
 * waiters_wait refuses (returns false) so requests answer at once. */
void waiters_stop(void);
/* How many times key was notified. A handler reads it before it reads the state it waits on
 * and passes it to waiters_wait, so a notify that lands in between is never lost. */
uint64_t waiters_generation(const char *key);

enum waiters_result { WAITERS_PARKED, WAITERS_CHANGED, WAITERS_STOPPING };
/* Park req (from its route's on_end, with the response left empty) until key is notified or
 * the monotonic deadline passes. WAITERS_CHANGED: key was notified since generation gen was
 * read (look again now); WAITERS_STOPPING: shutting down, answer now. */
enum waiters_result waiters_wait(struct http_req *req, const char *key, double deadline,
                                 uint64_t gen);
/* Wake every request parked on key. */
void waiters_notify(const char *key);
/* Number of parked requests (metrics, tests). */
unsigned waiters_count(void);
