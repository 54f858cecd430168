#include "ecs/service_tasks.h"

#include <string.h>

#include "sched/deploy.h"
#include "store/services.h"

static bool has_health_check(const struct store_task *t)
{
    for (size_t i = 0; i < t->ncontainers; i++)
        if (t->containers[i].essential && t->containers[i].health_check)
            return true;
    return false;
}

bool service_task_healthy(const struct store_task *t)
{
    return deploy_task_healthy(strcmp(t->last_status, "RUNNING") == 0 &&
                                   strcmp(t->desired_status, "RUNNING") == 0,
                               t->health_status, has_health_check(t));
}

int service_task_reported(struct store *st, const struct store_task *t, bool was_running_desired,
                          bool was_healthy, double now, struct wh_err *err)
{
    if (!t->service_name || !t->started_by)
        return 0;
    bool failed = was_running_desired && strcmp(t->desired_status, "STOPPED") == 0;
    bool healthy = !was_healthy && service_task_healthy(t);
    if (!failed && !healthy)
        return 0;
    struct store_deployment d = {0};
    int r = store_deployment_get(st, t->started_by, &d, err);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    if (failed) {
        d.failed_tasks++;
        d.cb_failures++;
        d.last_failure_at = now;
    } else {
        d.cb_failures = 0;
    }
    d.updated_at = now;
    r = store_deployment_update(st, &d, err);
    store_deployment_clear(&d);
    return r;
}
