/* Parked long-poll requests, keyed by what they wait for (a container instance ARN, say).
 * A waiter wakes when someone notifies its key or its deadline passes; either way the route's
 * on_end runs again and decides whether to answer or wait more. */
#pragma once
#include <stdbool.h>

struct http_req;

/* Start the deadline thread. */
void waiters_start(void);
/* Resume every waiter and stop the thread (before the HTTP server stops). After this,
 * waiters_wait refuses (returns false) so requests answer at once. */
void waiters_stop(void);
/* Park req (from its route's on_end, with the response left empty) until key is notified or
 * the monotonic deadline passes. False when shutting down: answer now instead. */
bool waiters_wait(struct http_req *req, const char *key, double deadline);
/* Wake every request parked on key. */
void waiters_notify(const char *key);
/* Number of parked requests (metrics, tests). */
unsigned waiters_count(void);
