#include "ecs/task_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/api.h"
#include "core/arn.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "ecs/cluster_rules.h"
#include "ecs/taskdef_validate.h"
#include "store/tasks.h"

/* ---- statuses ---- */

static int rank_in(const char *s, const char *const *order, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(s, order[i]) == 0)
            return (int)i;
    return -1;
}

int task_status_rank(const char *s)
{
    static const char *const order[] = {"PROVISIONING", "PENDING",  "ACTIVATING",
                                        "RUNNING",      "DEACTIVATING", "STOPPING",
                                        "DEPROVISIONING", "STOPPED"};
    return rank_in(s, order, ARRAY_SIZE(order));
}

int container_status_rank(const char *s)
{
    static const char *const order[] = {"PENDING", "RUNNING", "STOPPED"};
    return rank_in(s, order, ARRAY_SIZE(order));
}

bool task_status_pending(const char *s)
{
    int r = task_status_rank(s);
    return r >= 0 && r <= 2;
}

/* ---- launch type ---- */

static bool provider_listed(const json_t *providers, const char *name)
{
    size_t i;
    const json_t *p;
    json_array_foreach(providers, i, p) {
        if (json_is_string(p) && strcmp(json_string_value(p), name) == 0)
            return true;
    }
    return false;
}

static int strategy_check(const json_t *strategy, const json_t *cluster_providers,
                          struct wh_err *err)
{
    if (ecs_capacity_strategy_check(strategy, NULL, "capacityProviderStrategy", err) < 0)
        return -1;
    size_t i;
    const json_t *item;
    json_array_foreach(strategy, i, item) {
        const char *cp = json_str(item, "capacityProvider");
        if (!provider_listed(cluster_providers, cp))
            return api_invalid(err,
                               "capacityProviderStrategy[%zu]: the specified capacity provider "
                               "strategy cannot contain a capacity provider that is not "
                               "associated with the cluster ('%s'). Associate the capacity "
                               "provider with the cluster or specify a valid capacity provider "
                               "and try again.",
                               i, cp);
    }
    return 0;
}

int task_launch_resolve(const char *launch_type, const json_t *strategy,
                        const json_t *cluster_default, const json_t *cluster_providers,
                        struct task_launch_plan *ret_plan, struct wh_err *err)
{
    bool has_strategy = json_array_size(strategy) > 0;
    if (launch_type && has_strategy)
        return api_invalid(err, "Specifying both a launchType and capacityProviderStrategy is "
                                "not supported.");
    if (launch_type) {
        if (strcmp(launch_type, "EC2") == 0)
            *ret_plan = (struct task_launch_plan){TASK_LAUNCH_EC2, NULL};
        else if (strcmp(launch_type, "FARGATE") == 0)
            *ret_plan = (struct task_launch_plan){TASK_LAUNCH_FARGATE, NULL};
        else
            return api_invalid(err, "launchType %s is not supported by wharf; use EC2 or FARGATE",
                               launch_type);
        return 0;
    }
    if (!has_strategy && json_array_size(cluster_default) > 0)
        strategy = cluster_default;
    else if (!has_strategy) {
        *ret_plan = (struct task_launch_plan){TASK_LAUNCH_EC2, NULL};
        return 0;
    } else if (strategy_check(strategy, cluster_providers, err) < 0)
        return -1;
    *ret_plan = (struct task_launch_plan){TASK_LAUNCH_FARGATE, strategy};
    return 0;
}

const char *task_strategy_provider(const json_t *strategy, unsigned i)
{
    size_t n = json_array_size(strategy);
    if (n == 0)
        return NULL;
    int64_t total = 0;
    for (size_t k = 0; k < n; k++) {
        const json_t *item = json_array_get(strategy, k);
        int64_t base = json_int(item, "base", 0);
        if (base > 0 && i < base)
            return json_str(item, "capacityProvider");
        if (base > 0)
            i -= (unsigned)base;
        total += json_int(item, "weight", 0);
    }
    if (total == 0)
        return json_str(json_array_get(strategy, 0), "capacityProvider");
    int64_t pos = (int64_t)i % total;
    for (size_t k = 0; k < n; k++) {
        const json_t *item = json_array_get(strategy, k);
        pos -= json_int(item, "weight", 0);
        if (pos < 0)
            return json_str(item, "capacityProvider");
    }
    return json_str(json_array_get(strategy, n - 1), "capacityProvider");
}

/* ---- what a task needs ---- */

bool task_def_fargate_ok(const json_t *body)
{
    return provider_listed(json_object_get(body, "compatibilities"), "FARGATE");
}

static const json_t *override_for(const json_t *overrides, const char *name)
{
    size_t i;
    const json_t *o;
    json_array_foreach(json_object_get(overrides, "containerOverrides"), i, o) {
        const char *n = json_str(o, "name");
        if (n && strcmp(n, name) == 0)
            return o;
    }
    return NULL;
}

static int check_container_overrides(const json_t *body, const json_t *overrides,
                                     struct wh_err *err)
{
    const json_t *containers = json_object_get(body, "containerDefinitions");
    size_t i;
    const json_t *o;
    json_array_foreach(json_object_get(overrides, "containerOverrides"), i, o) {
        const char *n = json_str(o, "name");
        if (!n)
            return api_invalid(err, "overrides.containerOverrides[%zu].name is required", i);
        if (!taskdef_container_by_name(containers, n))
            return api_invalid(err,
                               "Override for container named %s is not a container in the "
                               "TaskDefinition.",
                               n);
        const char *fields[] = {"cpu", "memory", "memoryReservation"};
        for (size_t f = 0; f < ARRAY_SIZE(fields); f++)
            if (json_int(o, fields[f], 0) < 0)
                return api_invalid(err, "overrides.containerOverrides[%zu].%s %lld is negative",
                                   i, fields[f], (long long)json_int(o, fields[f], 0));
    }
    return 0;
}

/* A member of the container override if present, else of the definition. */
static int64_t container_value(const json_t *def, const json_t *ovr, const char *key)
{
    if (ovr && json_object_get(ovr, key))
        return json_int(ovr, key, 0);
    return json_int(def, key, 0);
}

/* Task-level size from overrides or the definition: -1 when neither sets it. */
static int task_size(const json_t *body, const json_t *overrides, const char *key,
                     int64_t (*parse)(const char *), int64_t *ret, struct wh_err *err)
{
    const char *o = json_str(overrides, key);
    const char *s = o ? o : json_str(body, key);
    *ret = -1;
    if (!s)
        return 0;
    int64_t v = parse(s);
    if (v <= 0)
        return api_invalid(err, "%s%s '%s' is not a valid task %s", o ? "overrides." : "", key, s,
                           key);
    *ret = v;
    return 0;
}

static int add_port(uint16_t *ports, size_t *n, int64_t p, struct wh_err *err)
{
    if (p <= 0)
        return 0;
    if (p > 65535)
        return api_invalid(err, "host port %lld is out of range 1..65535", (long long)p);
    if (*n == TASK_MAX_PORTS)
        return api_invalid(err, "the task maps more than %d fixed host ports", TASK_MAX_PORTS);
    ports[(*n)++] = (uint16_t)p;
    return 0;
}

/* Fixed host ports: bridge mappings with a hostPort, host mode's (hostPort = containerPort). */
static int host_ports(const json_t *body, struct task_needs *n, struct wh_err *err)
{
    const char *mode = json_str(body, "networkMode");
    bool host = mode && strcmp(mode, "host") == 0;
    if (mode && !host && strcmp(mode, "bridge") != 0)
        return 0; /* awsvpc and none: the task's own namespace, nothing on the host */
    size_t i, j;
    const json_t *c, *pm;
    json_array_foreach(json_object_get(body, "containerDefinitions"), i, c) {
        json_array_foreach(json_object_get(c, "portMappings"), j, pm) {
            int64_t p = json_int(pm, "hostPort", 0);
            if (host && p == 0)
                p = json_int(pm, "containerPort", 0);
            const char *proto = json_str(pm, "protocol");
            bool udp = proto && strcmp(proto, "udp") == 0;
            if (add_port(udp ? n->udp : n->tcp, udp ? &n->nudp : &n->ntcp, p, err) < 0)
                return -1;
        }
    }
    return 0;
}

int task_needs_compute(const json_t *body, const json_t *overrides, bool fargate,
                       struct task_needs *ret_needs, struct wh_err *err)
{
    struct task_needs n;
    memset(&n, 0, sizeof(n));
    if (check_container_overrides(body, overrides, err) < 0)
        return -1;
    int64_t cpu, mem;
    if (task_size(body, overrides, "cpu", taskdef_parse_cpu, &cpu, err) < 0 ||
        task_size(body, overrides, "memory", taskdef_parse_memory, &mem, err) < 0)
        return -1;
    if (fargate && (cpu < 0 || mem < 0 || !taskdef_fargate_pair_valid(cpu, mem)))
        return api_invalid(err,
                           "No Fargate configuration exists for given values: cpu %lld, memory "
                           "%lld.",
                           (long long)cpu, (long long)mem);
    if (cpu >= 0)
        snprintf(n.cpu_text, sizeof(n.cpu_text), "%lld", (long long)cpu);
    if (mem >= 0)
        snprintf(n.mem_text, sizeof(n.mem_text), "%lld", (long long)mem);
    int64_t sum_cpu = 0, sum_mem = 0;
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(body, "containerDefinitions"), i, c) {
        const json_t *o = override_for(overrides, json_str(c, "name"));
        sum_cpu += container_value(c, o, "cpu");
        int64_t m = container_value(c, o, "memory");
        sum_mem += m > 0 ? m : container_value(c, o, "memoryReservation");
    }
    n.cpu = cpu >= 0 ? cpu : sum_cpu;
    n.memory = mem >= 0 ? mem : sum_mem;
    if (host_ports(body, &n, err) < 0)
        return -1;
    *ret_needs = n;
    return 0;
}

/* ---- what an instance has left ---- */

static void add_ports_text(uint16_t *ports, size_t *n, const char *text)
{
    json_auto_t *a = text ? json_loads(text, 0, NULL) : NULL;
    size_t i;
    const json_t *v;
    json_array_foreach(a, i, v) {
        long long p = json_is_integer(v)  ? json_integer_value(v)
                      : json_is_string(v) ? strtoll(json_string_value(v), NULL, 10)
                                          : 0;
        if (p <= 0 || p > 65535 || *n == INSTANCE_MAX_PORTS)
            continue;
        bool seen = false;
        for (size_t k = 0; k < *n && !seen; k++)
            seen = ports[k] == p;
        if (!seen)
            ports[(*n)++] = (uint16_t)p;
    }
}

void instance_load_init(struct instance_load *l, const char *reserved_tcp,
                        const char *reserved_udp)
{
    memset(l, 0, sizeof(*l));
    add_ports_text(l->tcp, &l->ntcp, reserved_tcp);
    add_ports_text(l->udp, &l->nudp, reserved_udp);
}

void instance_load_add(struct instance_load *l, int64_t cpu, int64_t memory,
                       const char *ports_tcp, const char *ports_udp, const char *last_status)
{
    if (task_status_rank(last_status) == task_status_rank("STOPPED"))
        return;
    l->cpu += cpu;
    l->memory += memory;
    if (last_status && strcmp(last_status, "RUNNING") == 0)
        l->running++;
    else if (task_status_pending(last_status))
        l->pending++;
    add_ports_text(l->tcp, &l->ntcp, ports_tcp);
    add_ports_text(l->udp, &l->nudp, ports_udp);
}

void instance_load_add_ports(struct instance_load *l, const char *ports_tcp,
                             const char *ports_udp)
{
    add_ports_text(l->tcp, &l->ntcp, ports_tcp);
    add_ports_text(l->udp, &l->nudp, ports_udp);
}

/* ---- health ---- */

const char *task_health(const struct store_task_container *c, size_t n)
{
    size_t checked = 0, healthy = 0;
    for (size_t i = 0; i < n; i++) {
        if (!c[i].essential)
            continue;
        const char *h = c[i].health_status ? c[i].health_status : "UNKNOWN";
        if (strcmp(h, "UNHEALTHY") == 0)
            return "UNHEALTHY";
        if (!c[i].health_check)
            continue;
        checked++;
        healthy += strcmp(h, "HEALTHY") == 0;
    }
    return checked > 0 && healthy == checked ? "HEALTHY" : "UNKNOWN";
}

/* ---- references ---- */

char *ecs_ref_arn(const char *ref, const char *kind, const char *cluster_name, const char *region,
                  const char *account)
{
    if (arn_looks_like(ref))
        return xstrdup(ref);
    cleanup_free char *res = xasprintf("%s/%s/%s", kind, cluster_name, ref);
    return arn_make("ecs", region, account, res);
}

char *ecs_arn_cluster_name(const char *arn)
{
    struct arn a;
    if (arn_parse(arn, &a) < 0)
        return NULL;
    const char *slash = strchr(a.resource, '/');
    const char *end = slash ? strchr(slash + 1, '/') : NULL;
    if (!end || end == slash + 1)
        return NULL;
    return xstrndup(slash + 1, (size_t)(end - slash - 1));
}
