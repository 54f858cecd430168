/* Container health checks as Docker runs them for ECS: a command run inside the container
 * (CMD: as given; CMD-SHELL: /bin/sh -c) every interval, failing after timeout; `retries`
 * consecutive failures make the container UNHEALTHY, one success HEALTHY; failures during
 * startPeriod do not count. One thread per checked container, sleeping between probes. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "agent/state.h"
#include "core/err.h"

struct task;

struct health_cfg {
    char **argv;        /* NULL-terminated */
    int interval_s;     /* default 30 */
    int timeout_s;      /* default 5 */
    int retries;        /* default 3 */
    int start_period_s; /* default 0 */
};

/* From a container definition's healthCheck (pure). -1 with err naming the field when the
 * command is not ["CMD", …] or ["CMD-SHELL", "…"]. */
int health_cfg_parse(const json_t *hc, struct health_cfg *ret, struct wh_err *err);
void health_cfg_free(struct health_cfg *c);

/* The status after one probe (pure): *failures counts consecutive counted failures. */
enum ctr_health health_step(enum ctr_health cur, bool ok, bool in_start_period, int retries,
                            int *failures);

struct health;
/* Start probing container i of t (its runtime id) started at `started_mono` (monotonic). Takes
 * ownership of cfg. The thread updates t->rec->c[i].health and wakes the runner. */
struct health *health_start(struct task *t, size_t i, struct health_cfg *cfg, double started_mono);
/* Stop probing (does not wait for a probe in flight; the thread cleans up after itself). */
void health_stop(struct health *h);
