#include "ecs/service_tasks.h"

#include <string.h>

#include "store/services.h"

int service_task_reported(struct store *st, const struct store_task *t, bool was_running_desired,
                          double now, struct wh_err *err)
{
    if (!t->service_name || !t->started_by || !was_running_desired ||
        strcmp(t->desired_status, "STOPPED") != 0)
        return 0;
    struct store_deployment d = {0};
    int r = store_deployment_get(st, t->started_by, &d, err);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    d.failed_tasks++;
    d.cb_failures++;
    d.last_failure_at = now;
    d.updated_at = now;
    r = store_deployment_update(st, &d, err);
    store_deployment_clear(&d);
    return r;
}
