/* The long poll: PollDesiredTasks with the version the agent last saw and waitSeconds 20 (one
 * suspended HTTP request in wharfd, answered when the instance's desired state changes),
 * each answer handed to the reconciler. Errors back off (1 s doubling to 30 s, with jitter);
 * an instance wharfd no longer knows is registered again. Never polls in a tight loop, even
 * when wharfd answers at once (poll_pause). */
#pragma once
#include <stdbool.h>

struct agent;

#define POLL_WAIT_SECONDS 20
#define POLL_TIMEOUT_MS 30000

/* Until agent->stopping. */
void poll_loop(struct agent *a);
/* The delay before retry number `failures` (1, 2, …) in seconds, before jitter. Pure. */
double poll_backoff(int failures);

/* Answers that come back at once must not make a tight loop either: a wharfd shutting down
 * answers every poll without parking it, and one that cannot park (its waiters thread failed
 * to start) never does. wharfd parks a poll until the version moves, so an answer within
 * POLL_MIN_INTERVAL_S with nothing new (version unchanged) is one of those: it is followed by
 * a pause to the end of that interval. A changed version never waits (a task to start).
 * took_s: the call's duration. Returns the pause in seconds. Pure. */
#define POLL_MIN_INTERVAL_S 1.0
double poll_pause(double took_s, bool changed);
