/* dependsOn conditions over a task record. */
#include "agent/deps.h"

#include <string.h>

#include "core/json.h"
#include "core/xalloc.h"

bool deps_essential(const struct task_rec *t, size_t i)
{
    return json_bool(task_rec_ctr_def(t, i), "essential", true);
}

static bool started(const struct ctr_rec *c)
{
    return c->started_at > 0;
}

/* One condition on dependency d. */
static enum dep_verdict one(const struct ctr_rec *d, const char *cond, char **ret_why)
{
    bool stopped = d->phase == CTR_STOPPED;
    if (stopped && !started(d)) {
        *ret_why = xasprintf("dependency %s (%s) never started", d->name, cond);
        return DEP_NEVER;
    }
    if (strcmp(cond, "START") == 0)
        return started(d) ? DEP_READY : DEP_WAIT;
    if (strcmp(cond, "COMPLETE") == 0)
        return stopped ? DEP_READY : DEP_WAIT;
    if (strcmp(cond, "SUCCESS") == 0) {
        if (!stopped)
            return DEP_WAIT;
        if (d->has_exit && d->exit_code == 0)
            return DEP_READY;
        *ret_why = d->has_exit ? xasprintf("dependency %s exited %d (SUCCESS needs 0)", d->name,
                                           d->exit_code)
                               : xasprintf("dependency %s stopped without an exit code (SUCCESS)",
                                           d->name);
        return DEP_NEVER;
    }
    if (strcmp(cond, "HEALTHY") == 0) {
        if (d->health == HEALTH_HEALTHY)
            return DEP_READY;
        if (d->health == HEALTH_NONE) {
            *ret_why = xasprintf("dependency %s has no healthCheck (HEALTHY)", d->name);
            return DEP_NEVER;
        }
        if (d->health == HEALTH_UNHEALTHY || stopped) {
            *ret_why = xasprintf("dependency %s is %s (HEALTHY)", d->name,
                                 stopped ? "stopped" : "UNHEALTHY");
            return DEP_NEVER;
        }
        return DEP_WAIT;
    }
    *ret_why = xasprintf("dependency %s: unknown condition %s", d->name, cond);
    return DEP_NEVER;
}

enum dep_verdict deps_check(const struct task_rec *t, size_t i, char **ret_why)
{
    const json_t *deps = json_object_get(task_rec_ctr_def(t, i), "dependsOn");
    enum dep_verdict v = DEP_READY;
    size_t k;
    const json_t *dep;
    json_array_foreach(deps, k, dep) {
        const char *name = json_str(dep, "containerName");
        const char *cond = json_str(dep, "condition");
        struct ctr_rec *d = name ? task_rec_ctr((struct task_rec *)t, name) : NULL;
        if (!d) {
            *ret_why = xasprintf("dependsOn[%zu] names container '%s', which is not in the task",
                                 k, name ? name : "");
            return DEP_NEVER;
        }
        enum dep_verdict one_v = one(d, cond ? cond : "START", ret_why);
        if (one_v == DEP_NEVER)
            return DEP_NEVER;
        if (one_v == DEP_WAIT)
            v = DEP_WAIT;
    }
    return v;
}

bool deps_essentials_started(const struct task_rec *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (deps_essential(t, i) && !started(&t->c[i]))
            return false;
    return true;
}
