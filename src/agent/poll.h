/* The long poll: PollDesiredTasks with the version the agent last saw and waitSeconds 20 (one
 * suspended HTTP request in wharfd, answered when the instance's desired state changes),
 * each answer handed to the reconciler. Errors back off (1 s doubling to 30 s, with jitter);
 * an instance wharfd no longer knows is registered again. Never polls in a tight loop. */
#pragma once

struct agent;

#define POLL_WAIT_SECONDS 20
#define POLL_TIMEOUT_MS 30000

/* Until agent->stopping. */
void poll_loop(struct agent *a);
/* The delay before retry number `failures` (1, 2, …) in seconds, before jitter. Pure. */
double poll_backoff(int failures);
