/* The service controller: a thread in wharfd that keeps every service's tasks as its
 * deployments want them. It is event-driven (a task state change, a service change or a
 * container instance change kicks it for that cluster) with a periodic resync over every live
 * service, and a wake-up at the earliest time a service asked to be looked at again (a grace
 * period or a launch back-off ending). Each pass over a service reads its snapshot, decides
 * with the pure functions of src/sched/deploy.h and writes in one short transaction
 * (service_reconcile.c); all state is in the store, so after a restart the first pass carries
 * on wherever a deployment was. */
#pragma once

struct store;
struct service_controller;

/* Start the thread over st: a first pass over every live service at once, then passes on
 * kicks, every resync_seconds and when a service is due. */
int service_controller_start(struct store *st, double resync_seconds,
                             struct service_controller **ret);
/* Stop and join the thread (NULL is fine). */
void service_controller_stop(struct service_controller *c);

/* Wake the controller for the services of cluster_arn (NULL: every service). Cheap, never
 * blocks on a pass; a no-op when no controller runs. Call after the change committed. */
void service_controller_kick(const char *cluster_arn);

/* One pass over the live services of cluster_arn (NULL: all) at time now, in the caller's
 * thread (the controller's own passes, tests, benches). *ret_due: the earliest time a service
 * wants another pass, 0 when none. Returns the number of services passed over, or -EIO. */
int service_controller_pass(struct store *st, const char *cluster_arn, double now,
                            double *ret_due);
