/* PollDesiredTasks in a loop. */
#include "agent/poll.h"

#include <string.h>

#include "agent/agent.h"
#include "agent/aws_client.h"
#include "agent/reconcile.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timeutil.h"

#define POLL_TARGET "WharfAgent_20261129.PollDesiredTasks"

double poll_backoff(int failures)
{
    double d = 1;
    for (int i = 1; i < failures && d < 30; i++)
        d *= 2;
    return d > 30 ? 30 : d;
}

double poll_pause(double took_s, bool changed)
{
    return changed || took_s >= POLL_MIN_INTERVAL_S ? 0 : POLL_MIN_INTERVAL_S - took_s;
}

static double jitter(double d)
{
    uint8_t b;
    random_bytes(&b, 1);
    return d * (0.75 + 0.5 * b / 255.0);
}

/* wharfd says the instance is unknown (its database was reset, or it was deregistered). */
static bool unregistered(const struct wh_err *e)
{
    return e->status == 400 && strstr(e->msg, "not registered") != NULL;
}

void poll_loop(struct agent *a)
{
    int64_t known = -1;
    int failures = 0;
    while (!a->stopping) {
        json_auto_t *req = json_pack("{s:s,s:s,s:i}", "cluster", a->cluster_arn,
                                     "containerInstanceArn", a->instance_arn, "waitSeconds",
                                     POLL_WAIT_SECONDS);
        if (known >= 0)
            json_object_set_new(req, "knownVersion", json_integer(known));
        json_auto_t *out = NULL;
        struct wh_err err = {0};
        double t0 = time_monotonic();
        if (aws_client_call(a->aws, "ecs", POLL_TARGET, req, POLL_TIMEOUT_MS, &out, &err) < 0) {
            if (a->stopping)
                break;
            failures++;
            known = -1;
            double d = jitter(poll_backoff(failures));
            log_warn("PollDesiredTasks failed (%s%s%s); retrying in %.1f s", err.type,
                     err.msg[0] ? ": " : "", err.msg, d);
            agent_sleep(a, d);
            if (unregistered(&err) && !a->stopping) {
                struct wh_err rerr = {0};
                if (agent_register(a, &rerr) < 0)
                    log_error("%s", rerr.msg);
            }
            continue;
        }
        if (failures)
            log_info("PollDesiredTasks works again");
        failures = 0;
        const json_t *v = json_object_get(out, "version");
        int64_t before = known;
        known = json_is_integer(v) ? json_integer_value(v) : -1;
        double pause = poll_pause(time_monotonic() - t0, known != before);
        reconciler_apply(a->rec, json_object_get(out, "tasks"));
        if (pause > 0)
            agent_sleep(a, pause); /* after the apply: new tasks start at once */
    }
}
