/* Task-level rules of RegisterTaskDefinition: family, sizes, compatibilities, volumes,
 * placement. Container rules are in taskdef_containers.c. */
#include "ecs/taskdef_validate.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/xalloc.h"

int td_fail(struct wh_err *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    err->status = 400;
    snprintf(err->type, sizeof(err->type), "%s", TD_ERR_CLIENT);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

bool taskdef_name_valid(const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    if (n < 1 || n > 255)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return false;
    return true;
}

/* "<number>[ ]<unit>" with the unit compared case-insensitively, or a bare integer (unit
 * optional): the value times scale, when that is a whole number. */
static int64_t parse_scaled(const char *s, const char *unit, int64_t scale)
{
    if (!s)
        return -1;
    while (*s == ' ')
        s++;
    bool digits = true;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            digits = false;
    if (digits && *s) {
        if (strlen(s) > 12)
            return -1;
        return strtoll(s, NULL, 10);
    }
    if (!isdigit((unsigned char)*s) && *s != '.')
        return -1;
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0 || v > 1e9)
        return -1;
    while (*end == ' ')
        end++;
    if (strcasecmp(end, unit) != 0)
        return -1;
    double r = v * (double)scale;
    if (fabs(r - round(r)) > 1e-6)
        return -1;
    return (int64_t)round(r);
}

int64_t taskdef_parse_cpu(const char *s)
{
    return parse_scaled(s, "vcpu", 1024);
}

int64_t taskdef_parse_memory(const char *s)
{
    return parse_scaled(s, "gb", 1024);
}

/* Fargate task sizes: for each cpu, memory from lo to hi in steps. */
static const struct {
    int64_t cpu, lo, hi, step;
} fargate_sizes[] = {
    {256, 512, 1024, 512},     {256, 2048, 2048, 1},      {512, 1024, 4096, 1024},
    {1024, 2048, 8192, 1024},  {2048, 4096, 16384, 1024}, {4096, 8192, 30720, 1024},
    {8192, 16384, 61440, 4096}, {16384, 32768, 122880, 8192},
};

bool taskdef_fargate_pair_valid(int64_t cpu, int64_t memory)
{
    for (size_t i = 0; i < ARRAY_SIZE(fargate_sizes); i++)
        if (fargate_sizes[i].cpu == cpu && memory >= fargate_sizes[i].lo &&
            memory <= fargate_sizes[i].hi &&
            (memory - fargate_sizes[i].lo) % fargate_sizes[i].step == 0)
            return true;
    return false;
}

static bool str_in_array(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

static const char *network_mode(const json_t *td)
{
    const char *m = json_str(td, "networkMode");
    return m ? m : "bridge";
}

/* Container parameters Fargate does not offer; the first found is reported. */
static const char *fargate_container_problem(const json_t *c)
{
    if (json_bool(c, "privileged", false))
        return "privileged";
    const json_t *lp = json_object_get(c, "linuxParameters");
    if (json_arr(lp, "devices"))
        return "linuxParameters.devices";
    if (json_arr(lp, "tmpfs"))
        return "linuxParameters.tmpfs";
    if (json_object_get(lp, "sharedMemorySize"))
        return "linuxParameters.sharedMemorySize";
    if (json_object_get(lp, "maxSwap"))
        return "linuxParameters.maxSwap";
    if (json_object_get(lp, "swappiness"))
        return "linuxParameters.swappiness";
    const json_t *add = json_object_get(json_object_get(lp, "capabilities"), "add");
    size_t i;
    json_t *cap;
    json_array_foreach(add, i, cap) {
        if (!json_is_string(cap) || strcmp(json_string_value(cap), "SYS_PTRACE") != 0)
            return "linuxParameters.capabilities.add (only SYS_PTRACE may be added)";
    }
    if (json_arr(c, "links"))
        return "links";
    if (json_int(c, "stopTimeout", 0) > 120)
        return "stopTimeout above 120 seconds";
    return NULL;
}

static int fargate_task_problems(const json_t *td, struct wh_err *err)
{
    if (json_object_get(td, "ipcMode"))
        return td_fail(err, "Fargate does not support 'ipcMode'.");
    const char *pid = json_str(td, "pidMode");
    if (pid && strcmp(pid, "host") == 0)
        return td_fail(err, "Fargate does not support pidMode 'host'.");
    if (json_arr(td, "placementConstraints"))
        return td_fail(err, "Fargate does not support task definition placement constraints.");
    if (json_arr(td, "inferenceAccelerators"))
        return td_fail(err, "Fargate does not support 'inferenceAccelerators'.");
    size_t i;
    json_t *vol;
    json_array_foreach(json_object_get(td, "volumes"), i, vol)
    {
        const char *name = json_str(vol, "name");
        if (json_str(json_object_get(vol, "host"), "sourcePath"))
            return td_fail(err,
                           "Invalid setting for volume '%s'. host.sourcePath is not supported on "
                           "Fargate.",
                           name ? name : "");
        if (json_object_get(vol, "dockerVolumeConfiguration"))
            return td_fail(err,
                           "Invalid setting for volume '%s'. dockerVolumeConfiguration is not "
                           "supported on Fargate.",
                           name ? name : "");
    }
    return 0;
}

int taskdef_check_fargate(const json_t *td, struct wh_err *err)
{
    if (strcmp(network_mode(td), "awsvpc") != 0)
        return td_fail(err, "Fargate only supports network mode 'awsvpc'.");
    const char *cs = json_str(td, "cpu"), *ms = json_str(td, "memory");
    if (!cs)
        return td_fail(err, "Fargate requires that 'cpu' be defined at the task level.");
    if (!ms)
        return td_fail(err, "Fargate requires that 'memory' be defined at the task level.");
    int64_t cpu = taskdef_parse_cpu(cs), mem = taskdef_parse_memory(ms);
    if (cpu < 0 || mem < 0 || !taskdef_fargate_pair_valid(cpu, mem)) {
        char c[32], m[32];
        snprintf(c, sizeof(c), "%lld", (long long)cpu);
        snprintf(m, sizeof(m), "%lld", (long long)mem);
        return td_fail(err,
                       "No Fargate configuration exists for given values: %s CPU, %s memory. See "
                       "the Amazon ECS documentation for the valid values.",
                       cpu < 0 ? cs : c, mem < 0 ? ms : m);
    }
    if (fargate_task_problems(td, err) < 0)
        return -1;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(td, "containerDefinitions"), i, c)
    {
        const char *name = json_str(c, "name");
        const char *what = fargate_container_problem(c);
        if (what)
            return td_fail(err, "Invalid setting for container '%s'. %s is not supported on Fargate.",
                           name ? name : "", what);
        const char *driver = json_str(json_object_get(c, "logConfiguration"), "logDriver");
        if (driver && strcmp(driver, "awslogs") == 0 && !json_str(td, "executionRoleArn"))
            return td_fail(err, "Fargate requires task definition to have execution role ARN to "
                                "support log driver awslogs.");
    }
    return 0;
}

/* Task cpu and memory: parsed, in range. ret_* are -1 when not set. */
static int check_size(const json_t *req, int64_t *ret_cpu, int64_t *ret_mem, struct wh_err *err)
{
    int64_t cpu = -1, mem = -1;
    const char *cs = json_str(req, "cpu"), *ms = json_str(req, "memory");
    if (cs) {
        cpu = taskdef_parse_cpu(cs);
        if (cpu < 0)
            return td_fail(err,
                           "Invalid 'cpu' setting for task: '%s' is neither a number of CPU units "
                           "(1024) nor of vCPUs (1 vCPU).",
                           cs);
        if (cpu < 128 || cpu > 196608)
            return td_fail(err,
                           "Invalid 'cpu' setting for task: %lld CPU units is outside the supported "
                           "range 128..196608.",
                           (long long)cpu);
    }
    if (ms) {
        mem = taskdef_parse_memory(ms);
        if (mem < 0)
            return td_fail(err,
                           "Invalid 'memory' setting for task: '%s' is neither a number of MiB "
                           "(1024) nor of GB (1 GB).",
                           ms);
        if (mem < 6)
            return td_fail(err,
                           "Invalid 'memory' setting for task: %lld MiB is below the minimum of 6 "
                           "MiB.",
                           (long long)mem);
    }
    *ret_cpu = cpu;
    *ret_mem = mem;
    return 0;
}

static const char *const volume_kinds[] = {
    "host",
    "dockerVolumeConfiguration",
    "efsVolumeConfiguration",
    "fsxWindowsFileServerVolumeConfiguration",
    "s3filesVolumeConfiguration",
};

static int check_volume(const json_t *vols, size_t i, const json_t *vol, struct wh_err *err)
{
    const char *name = json_str(vol, "name");
    if (!name || !*name)
        return td_fail(err, "volumes[%zu].name should not be null or empty.", i);
    if (!taskdef_name_valid(name))
        return td_fail(err,
                       "Invalid volume name '%s'. Up to 255 letters (uppercase and lowercase), "
                       "numbers, underscores, and hyphens are allowed.",
                       name);
    for (size_t j = 0; j < i; j++)
        if (strcmp(json_str(json_array_get(vols, j), "name"), name) == 0)
            return td_fail(err, "Duplicate volume name '%s': volumes[%zu] and volumes[%zu].", name,
                           j, i);
    const char *kind = NULL;
    for (size_t k = 0; k < ARRAY_SIZE(volume_kinds); k++) {
        if (!json_object_get(vol, volume_kinds[k]))
            continue;
        if (kind)
            return td_fail(err, "Invalid setting for volume '%s'. Specify only one of %s and %s.",
                           name, kind, volume_kinds[k]);
        kind = volume_kinds[k];
    }
    const json_t *dv = json_object_get(vol, "dockerVolumeConfiguration");
    const char *scope = json_str(dv, "scope");
    if (json_bool(dv, "autoprovision", false) && (!scope || strcmp(scope, "shared") != 0))
        return td_fail(err,
                       "Invalid setting for volume '%s'. autoprovision can only be set when the "
                       "scope is 'shared'.",
                       name);
    return 0;
}

static int check_volumes(const json_t *req, struct wh_err *err)
{
    const json_t *vols = json_object_get(req, "volumes");
    size_t i;
    json_t *vol;
    json_array_foreach(vols, i, vol) {
        if (check_volume(vols, i, vol, err) < 0)
            return -1;
    }
    return 0;
}

static int check_compatibilities(const json_t *req, bool *ret_fargate, struct wh_err *err)
{
    const json_t *rc = json_object_get(req, "requiresCompatibilities");
    bool fargate = str_in_array(rc, "FARGATE");
    if (fargate && taskdef_check_fargate(req, err) < 0)
        return -1;
    if (str_in_array(rc, "EXTERNAL") && strcmp(network_mode(req), "awsvpc") == 0)
        return td_fail(err, "External compatibility does not support network mode 'awsvpc'.");
    *ret_fargate = fargate;
    return 0;
}

static int check_misc(const json_t *req, const json_t *containers, struct wh_err *err)
{
    const json_t *pcs = json_object_get(req, "placementConstraints");
    if (json_array_size(pcs) > 10)
        return td_fail(err, "Too many placement constraints: %zu (at most 10).",
                       json_array_size(pcs));
    size_t i;
    json_t *pc;
    json_array_foreach(pcs, i, pc)
    {
        const char *expr = json_str(pc, "expression");
        if (!expr || !*expr)
            return td_fail(err, "placementConstraints[%zu]: a memberOf constraint needs an "
                                "expression.", i);
    }
    const json_t *proxy = json_object_get(req, "proxyConfiguration");
    const char *pname = json_str(proxy, "containerName");
    if (proxy && !taskdef_container_by_name(containers, pname ? pname : ""))
        return td_fail(err,
                       "Invalid setting for proxyConfiguration. containerName '%s' is not a "
                       "container of this task definition.",
                       pname ? pname : "");
    const json_t *eph = json_object_get(req, "ephemeralStorage");
    if (eph) {
        int64_t gib = json_int(eph, "sizeInGiB", 0);
        if (gib < 21 || gib > 200)
            return td_fail(err,
                           "Invalid setting for ephemeralStorage. sizeInGiB %lld is outside the "
                           "range 21..200.",
                           (long long)gib);
    }
    return 0;
}

int taskdef_validate(const json_t *req, struct wh_err *err)
{
    const char *family = json_str(req, "family");
    if (!taskdef_name_valid(family))
        return td_fail(err,
                       "Invalid family '%s'. Up to 255 letters (uppercase and lowercase), numbers, "
                       "underscores, and hyphens are allowed.",
                       family ? family : "");
    const json_t *containers = json_object_get(req, "containerDefinitions");
    size_t n = json_array_size(containers);
    if (n == 0)
        return td_fail(err, "Container list cannot be empty.");
    if (n > TD_MAX_CONTAINERS)
        return td_fail(err,
                       "Too many containers: %zu. A task definition can have at most %d "
                       "containers.",
                       n, TD_MAX_CONTAINERS);
    struct td_view v = {.req = req, .containers = containers, .network_mode = network_mode(req)};
    if (check_size(req, &v.cpu, &v.memory, err) < 0)
        return -1;
    if (check_compatibilities(req, &v.fargate, err) < 0)
        return -1;
    if (check_volumes(req, err) < 0)
        return -1;
    if (taskdef_check_containers(&v, err) < 0)
        return -1;
    return check_misc(req, containers, err);
}
