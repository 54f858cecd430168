/* Container rules of RegisterTaskDefinition: each container alone, then across containers. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/xalloc.h"
#include "ecs/taskdef_validate.h"

static const char *cname(const json_t *c)
{
    const char *n = json_str(c, "name");
    return n ? n : "";
}

const json_t *taskdef_container_by_name(const json_t *containers, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(containers, i, c)
    {
        const char *n = json_str(c, "name");
        if (n && name && strcmp(n, name) == 0)
            return c;
    }
    return NULL;
}

static int check_identity(const struct td_view *v, size_t i, const json_t *c, struct wh_err *err)
{
    const char *name = json_str(c, "name");
    if (!name || !*name)
        return td_fail(err, "Container.name should not be null or empty.");
    if (!taskdef_name_valid(name))
        return td_fail(err,
                       "Invalid container name '%s'. Up to 255 letters (uppercase and lowercase), "
                       "numbers, underscores, and hyphens are allowed.",
                       name);
    for (size_t j = 0; j < i; j++)
        if (strcmp(cname(json_array_get(v->containers, j)), name) == 0)
            return td_fail(err,
                           "Duplicate container name '%s': containerDefinitions[%zu] and "
                           "containerDefinitions[%zu] have it.",
                           name, j, i);
    const char *image = json_str(c, "image");
    if (!image || !*image)
        return td_fail(err, "Container.image should not be null or empty.");
    for (const char *p = image; *p; p++)
        if (isspace((unsigned char)*p))
            return td_fail(err, "Invalid setting for container '%s'. image '%s' contains a space.",
                           name, image);
    return 0;
}

static int check_memory_cpu(const struct td_view *v, const json_t *c, struct wh_err *err)
{
    const char *n = cname(c);
    const json_t *mj = json_object_get(c, "memory"), *rj = json_object_get(c, "memoryReservation");
    long long mem = json_int(c, "memory", 0), res = json_int(c, "memoryReservation", 0);
    if (!mj && !rj && v->memory < 0)
        return td_fail(err,
                       "Invalid setting for container '%s'. At least one of 'memory' or "
                       "'memoryReservation' must be specified.",
                       n);
    if (mj && mem < 6)
        return td_fail(err,
                       "Invalid 'memory' setting for container '%s'. %lld MiB is below the minimum "
                       "of 6 MiB.",
                       n, mem);
    if (rj && res < 1)
        return td_fail(err,
                       "Invalid 'memoryReservation' setting for container '%s'. %lld MiB must be "
                       "greater than 0.",
                       n, res);
    if (mj && rj && res > mem)
        return td_fail(err,
                       "Invalid setting for container '%s'. 'memoryReservation' (%lld MiB) must be "
                       "less than or equal to 'memory' (%lld MiB).",
                       n, res, mem);
    if (mj && v->memory >= 0 && mem > v->memory)
        return td_fail(err,
                       "Invalid setting for container '%s'. 'memory' (%lld MiB) is larger than the "
                       "task memory (%lld MiB).",
                       n, mem, (long long)v->memory);
    if (json_int(c, "cpu", 0) < 0)
        return td_fail(err, "Invalid 'cpu' setting for container '%s'. %lld must be 0 or more.", n,
                       (long long)json_int(c, "cpu", 0));
    return 0;
}

static int check_links(const struct td_view *v, const json_t *c, struct wh_err *err)
{
    const json_t *links = json_arr(c, "links");
    if (!links)
        return 0;
    const char *n = cname(c);
    if (strcmp(v->network_mode, "bridge") != 0)
        return td_fail(err,
                       "Invalid setting for container '%s'. Links are only supported when "
                       "networkMode=bridge, not %s.",
                       n, v->network_mode);
    size_t i;
    json_t *l;
    json_array_foreach(links, i, l)
    {
        const char *s = json_string_value(l);
        cleanup_free char *target = xstrdup(s ? s : "");
        char *alias = strchr(target, ':');
        if (alias)
            *alias++ = '\0';
        if (!taskdef_container_by_name(v->containers, target) || strcmp(target, n) == 0 ||
            (alias && !taskdef_name_valid(alias)))
            return td_fail(err,
                           "Invalid setting for container '%s'. links[%zu] '%s' must be NAME or "
                           "NAME:ALIAS naming another container of this task definition.",
                           n, i, s ? s : "");
    }
    return 0;
}

static const struct {
    const char *field;
    long long lo, hi;
} health_ranges[] = {
    {"interval", 5, 300},
    {"timeout", 2, 60},
    {"retries", 1, 10},
    {"startPeriod", 0, 300},
};

static int check_health(const json_t *c, struct wh_err *err)
{
    const json_t *hc = json_object_get(c, "healthCheck");
    if (!hc)
        return 0;
    const char *n = cname(c);
    const json_t *cmd = json_object_get(hc, "command");
    const char *first = json_string_value(json_array_get(cmd, 0));
    if (!first)
        return td_fail(err,
                       "Invalid setting for container '%s'. healthCheck.command should not be "
                       "empty.",
                       n);
    bool none = strcmp(first, "NONE") == 0;
    if (!none && strcmp(first, "CMD") != 0 && strcmp(first, "CMD-SHELL") != 0)
        return td_fail(err,
                       "Invalid setting for container '%s'. healthCheck.command must start with "
                       "CMD, CMD-SHELL or NONE, not '%s'.",
                       n, first);
    if (!none && json_array_size(cmd) < 2)
        return td_fail(err,
                       "Invalid setting for container '%s'. healthCheck.command has nothing to run "
                       "after %s.",
                       n, first);
    for (size_t i = 0; i < ARRAY_SIZE(health_ranges); i++) {
        if (!json_object_get(hc, health_ranges[i].field))
            continue;
        long long x = json_int(hc, health_ranges[i].field, 0);
        if (x < health_ranges[i].lo || x > health_ranges[i].hi)
            return td_fail(err,
                           "Invalid setting for container '%s'. healthCheck.%s %lld is outside "
                           "%lld..%lld.",
                           n, health_ranges[i].field, x, health_ranges[i].lo, health_ranges[i].hi);
    }
    return 0;
}

static const char *const ulimit_names[] = {
    "core",   "cpu",   "data",  "fsize",  "locks",  "memlock",    "msgqueue", "nice",
    "nofile", "nproc", "rss",   "rtprio", "rttime", "sigpending", "stack",
};

static bool ulimit_known(const char *s)
{
    for (size_t i = 0; i < ARRAY_SIZE(ulimit_names); i++)
        if (strcmp(ulimit_names[i], s) == 0)
            return true;
    return false;
}

static int check_ulimits(const json_t *c, struct wh_err *err)
{
    const json_t *ul = json_object_get(c, "ulimits");
    const char *n = cname(c);
    size_t i;
    json_t *u;
    json_array_foreach(ul, i, u)
    {
        const char *name = json_str(u, "name");
        if (!name || !ulimit_known(name))
            return td_fail(err, "Invalid setting for container '%s'. Unknown ulimit name '%s'.", n,
                           name ? name : "");
        for (size_t j = 0; j < i; j++)
            if (strcmp(json_str(json_array_get(ul, j), "name"), name) == 0)
                return td_fail(err, "Invalid setting for container '%s'. ulimit '%s' is set twice.",
                               n, name);
        long long soft = json_int(u, "softLimit", 0), hard = json_int(u, "hardLimit", 0);
        if (soft > hard)
            return td_fail(err,
                           "Invalid setting for container '%s'. ulimit '%s' softLimit %lld is "
                           "greater than hardLimit %lld.",
                           n, name, soft, hard);
    }
    return 0;
}

static bool has_health_check(const json_t *c)
{
    const char *first =
        json_string_value(json_array_get(json_object_get(json_object_get(c, "healthCheck"),
                                                         "command"),
                                         0));
    return first && strcmp(first, "NONE") != 0;
}

static int check_depends(const struct td_view *v, const json_t *c, struct wh_err *err)
{
    const char *n = cname(c);
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(c, "dependsOn"), i, d)
    {
        const char *target = json_str(d, "containerName"), *cond = json_str(d, "condition");
        const json_t *t = taskdef_container_by_name(v->containers, target);
        if (!t)
            return td_fail(err,
                           "Invalid setting for container '%s'. dependsOn[%zu].containerName '%s' "
                           "is not a container of this task definition.",
                           n, i, target ? target : "");
        if (t == c)
            return td_fail(err, "Invalid setting for container '%s'. A container cannot depend on "
                                "itself.", n);
        if (!cond)
            continue;
        if (strcmp(cond, "HEALTHY") == 0 && !has_health_check(t))
            return td_fail(err,
                           "Invalid setting for container '%s'. dependsOn condition HEALTHY needs "
                           "a healthCheck on container '%s'.",
                           n, target);
        if ((strcmp(cond, "COMPLETE") == 0 || strcmp(cond, "SUCCESS") == 0) &&
            json_bool(t, "essential", true))
            return td_fail(err,
                           "Invalid setting for container '%s'. dependsOn condition %s cannot be set "
                           "on the essential container '%s'.",
                           n, cond, target);
    }
    return 0;
}

static int check_mounts(const struct td_view *v, const json_t *c, struct wh_err *err)
{
    const char *n = cname(c);
    const json_t *vols = json_object_get(v->req, "volumes");
    size_t i, k;
    json_t *m, *vol;
    json_array_foreach(json_object_get(c, "mountPoints"), i, m)
    {
        const char *src = json_str(m, "sourceVolume"), *path = json_str(m, "containerPath");
        bool found = false;
        json_array_foreach(vols, k, vol) {
            const char *vname = json_str(vol, "name");
            if (src && vname && strcmp(vname, src) == 0)
                found = true;
        }
        if (!found)
            return td_fail(err,
                           "Invalid setting for container '%s'. mountPoints[%zu].sourceVolume '%s' "
                           "is not a volume of this task definition.",
                           n, i, src ? src : "");
        if (!path || !*path)
            return td_fail(err,
                           "Invalid setting for container '%s'. mountPoints[%zu].containerPath "
                           "should not be null or empty.",
                           n, i);
    }
    json_array_foreach(json_object_get(c, "volumesFrom"), i, m)
    {
        const char *src = json_str(m, "sourceContainer");
        const json_t *t = taskdef_container_by_name(v->containers, src);
        if (!t || t == c)
            return td_fail(err,
                           "Invalid setting for container '%s'. volumesFrom[%zu].sourceContainer "
                           "'%s' must name another container of this task definition.",
                           n, i, src ? src : "");
    }
    return 0;
}

static int check_linux(const json_t *c, struct wh_err *err)
{
    const json_t *lp = json_object_get(c, "linuxParameters");
    if (!lp)
        return 0;
    const char *n = cname(c);
    if (json_object_get(lp, "swappiness")) {
        long long s = json_int(lp, "swappiness", 0);
        if (s < 0 || s > 100)
            return td_fail(err,
                           "Invalid setting for container '%s'. linuxParameters.swappiness %lld is "
                           "outside 0..100.",
                           n, s);
    }
    if (json_int(lp, "maxSwap", 0) < 0)
        return td_fail(err, "Invalid setting for container '%s'. linuxParameters.maxSwap %lld is "
                            "negative.", n, (long long)json_int(lp, "maxSwap", 0));
    if (json_object_get(lp, "sharedMemorySize") && json_int(lp, "sharedMemorySize", 0) < 1)
        return td_fail(err,
                       "Invalid setting for container '%s'. linuxParameters.sharedMemorySize %lld "
                       "must be greater than 0.",
                       n, (long long)json_int(lp, "sharedMemorySize", 0));
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(lp, "tmpfs"), i, t) {
        if (json_int(t, "size", 0) < 1)
            return td_fail(err,
                           "Invalid setting for container '%s'. linuxParameters.tmpfs[%zu].size "
                           "%lld must be greater than 0.",
                           n, i, (long long)json_int(t, "size", 0));
    }
    return 0;
}

static int check_logging(const struct td_view *v, const json_t *c, struct wh_err *err)
{
    const char *driver = json_str(json_object_get(c, "logConfiguration"), "logDriver");
    if (!driver || strcmp(driver, "awsfirelens") != 0)
        return 0;
    size_t i;
    json_t *o;
    json_array_foreach(v->containers, i, o) {
        if (json_object_get(o, "firelensConfiguration"))
            return 0;
    }
    return td_fail(err,
                   "Invalid setting for container '%s'. The awsfirelens log driver needs a "
                   "container with a firelensConfiguration in the task definition.",
                   cname(c));
}

static int check_container(const struct td_view *v, const json_t *c, struct wh_err *err)
{
    if (check_memory_cpu(v, c, err) < 0 || taskdef_check_ports(v, c, err) < 0 ||
        check_links(v, c, err) < 0 || check_health(c, err) < 0 || check_ulimits(c, err) < 0 ||
        check_depends(v, c, err) < 0 || check_mounts(v, c, err) < 0 || check_linux(c, err) < 0 ||
        check_logging(v, c, err) < 0)
        return -1;
    if (json_object_get(c, "stopTimeout") && json_int(c, "stopTimeout", 0) < 0)
        return td_fail(err, "Invalid setting for container '%s'. stopTimeout %lld is negative.",
                       cname(c), (long long)json_int(c, "stopTimeout", 0));
    return 0;
}

/* dependsOn must form no cycle: depth-first search keeping the path for the message. */
static int find_cycle(const json_t *cs, size_t at, int *state, size_t *path, size_t depth,
                      struct wh_err *err)
{
    state[at] = 1;
    path[depth] = at;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(json_array_get(cs, at), "dependsOn"), i, d)
    {
        const json_t *t = taskdef_container_by_name(cs, json_str(d, "containerName"));
        if (!t)
            continue;
        size_t to = 0;
        while (json_array_get(cs, to) != t)
            to++;
        if (state[to] == 2)
            continue;
        if (state[to] == 1) {
            char buf[512] = "";
            size_t from = 0;
            while (path[from] != to)
                from++;
            for (size_t k = from; k <= depth; k++)
                snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s -> ",
                         cname(json_array_get(cs, path[k])));
            snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s",
                     cname(json_array_get(cs, to)));
            return td_fail(err, "Invalid setting for container '%s'. dependsOn forms a cycle: %s.",
                           cname(json_array_get(cs, to)), buf);
        }
        if (find_cycle(cs, to, state, path, depth + 1, err) < 0)
            return -1;
    }
    state[at] = 2;
    return 0;
}

static int check_cycles(const struct td_view *v, struct wh_err *err)
{
    size_t n = json_array_size(v->containers);
    int state[TD_MAX_CONTAINERS] = {0};
    size_t path[TD_MAX_CONTAINERS];
    for (size_t i = 0; i < n && i < TD_MAX_CONTAINERS; i++)
        if (state[i] == 0 && find_cycle(v->containers, i, state, path, 0, err) < 0)
            return -1;
    return 0;
}

static int check_totals(const struct td_view *v, struct wh_err *err)
{
    long long mem = 0, cpu = 0;
    bool essential = false;
    size_t i;
    json_t *c;
    json_array_foreach(v->containers, i, c)
    {
        mem += json_int(c, "memoryReservation", json_int(c, "memory", 0));
        cpu += json_int(c, "cpu", 0);
        essential |= json_bool(c, "essential", true);
    }
    if (!essential)
        return td_fail(err, "Invalid task definition. At least one container must be essential "
                            "(every container sets essential=false).");
    if (v->memory >= 0 && mem > v->memory)
        return td_fail(err,
                       "Invalid setting for task. The containers reserve %lld MiB of memory in "
                       "total, more than the task memory of %lld MiB.",
                       mem, (long long)v->memory);
    if (v->cpu >= 0 && cpu > v->cpu)
        return td_fail(err,
                       "Invalid setting for task. The containers reserve %lld CPU units in total, "
                       "more than the task cpu of %lld.",
                       cpu, (long long)v->cpu);
    return 0;
}

int taskdef_check_containers(const struct td_view *v, struct wh_err *err)
{
    size_t i;
    json_t *c;
    json_array_foreach(v->containers, i, c) {
        if (check_identity(v, i, c, err) < 0)
            return -1;
    }
    json_array_foreach(v->containers, i, c) {
        if (check_container(v, c, err) < 0)
            return -1;
    }
    if (check_cycles(v, err) < 0 || taskdef_check_port_conflicts(v, err) < 0)
        return -1;
    return check_totals(v, err);
}
