/* One controller pass over one service, in one transaction: read the service, its deployments,
 * its tasks that are not STOPPED and the instances they are on; decide with
 * deploy_plan_replica / deploy_plan_daemon; stop and start tasks (service_launch.c); move the
 * rollout (COMPLETED, or FAILED and rolled back by the circuit breaker); retire drained
 * deployments; record events; finish a DRAINING service as INACTIVE once its tasks are gone. */
#pragma once
#include "core/err.h"

struct store;

/* *ret_due: when the service wants another pass although nothing happens (a back-off or a
 * grace period ending), 0 when not. */
int service_reconcile(struct store *st, const char *service_arn, double now, double *ret_due,
                      struct wh_err *err);
