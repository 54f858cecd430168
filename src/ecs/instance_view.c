#include "ecs/instance_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/xalloc.h"
#include "ecs/instance_subnets.h"
#include "store/task_loads.h"
#include "store/tasks.h"

#define AGENT_WAIT_SECONDS 20.0

double ecs_agent_timeout(void)
{
    const char *e = getenv("WHARF_AGENT_TIMEOUT_SECONDS");
    double v = e && *e ? strtod(e, NULL) : 0;
    return v > 0 ? v : 3 * AGENT_WAIT_SECONDS;
}

bool ecs_agent_connected(const struct store_instance *in, double now)
{
    return in->last_poll > 0 && now - in->last_poll < ecs_agent_timeout();
}

void instance_view_clear(struct instance_view *v)
{
    store_instance_clear(&v->inst);
    store_attributes_free(v->attrs, v->nattrs);
    for (size_t i = 0; i < v->ngroups; i++)
        free((char *)v->groups[i].name);
    free(v->groups);
    free(v->sattrs);
    memset(v, 0, sizeof(*v));
}

void instance_views_free(struct instance_view *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        instance_view_clear(&v[i]);
    free(v);
}

/* Count one more task of group (few distinct groups per instance: a linear search). */
static void add_group(struct instance_view *v, const char *group)
{
    for (size_t i = 0; i < v->ngroups; i++)
        if (strcmp(v->groups[i].name, group) == 0) {
            v->groups[i].count++;
            return;
        }
    v->groups[v->ngroups++] = (struct sched_group){xstrdup(group), 1};
}

int instance_view_load(struct store *st, struct store_instance *inst, struct instance_view *ret,
                       struct wh_err *err)
{
    struct instance_view v = {.inst = *inst};
    memset(inst, 0, sizeof(*inst));
    int r = store_attributes_of(st, v.inst.cluster_arn, v.inst.arn, &v.attrs, &v.nattrs, err);
    struct store_task *tasks = NULL;
    size_t ntasks = 0;
    if (r == 0)
        r = store_tasks_on_instance(st, v.inst.arn, false, &tasks, &ntasks, err);
    if (r < 0) {
        instance_view_clear(&v);
        return r;
    }
    instance_load_init(&v.load, v.inst.ports_tcp, v.inst.ports_udp);
    v.groups = xcalloc(ntasks + 1, sizeof(*v.groups));
    for (size_t i = 0; i < ntasks; i++) {
        const struct store_task *t = &tasks[i];
        instance_load_add(&v.load, t->cpu_units, t->memory_mib, t->ports_tcp, t->ports_udp,
                          t->last_status);
        add_group(&v, t->group);
    }
    store_tasks_free(tasks, ntasks);
    v.sattrs = xcalloc(v.nattrs + 1, sizeof(*v.sattrs));
    for (size_t i = 0; i < v.nattrs; i++)
        v.sattrs[i] = (struct sched_attr){v.attrs[i].name, v.attrs[i].value};
    *ret = v;
    return 0;
}

/* ---- many instances at once ---- */

/* The lists a bulk load merges, each ordered by instance ARN, and where each one is. */
struct bulk {
    struct store_task_load *loads;
    size_t nloads, li;
    struct store_task_ports *ports;
    size_t nports, pi;
    struct store_attribute *attrs; /* the cluster's, or NULL: read per instance */
    size_t nattrs, ai;
    struct instance_load reserved; /* the last reserved ports parsed, of these texts */
    char *rtcp, *rudp;
};

static void bulk_free(struct bulk *b)
{
    store_task_loads_free(b->loads, b->nloads);
    store_task_ports_free(b->ports, b->nports);
    store_attributes_free(b->attrs, b->nattrs);
    free(b->rtcp);
    free(b->rudp);
}

/* Attributes of v from the cluster's list (moved out of it), else from the store. */
static int bulk_attrs(struct store *st, struct bulk *b, struct instance_view *v,
                      struct wh_err *err)
{
    if (!b->attrs)
        return store_attributes_of(st, v->inst.cluster_arn, v->inst.arn, &v->attrs, &v->nattrs,
                                   err);
    while (b->ai < b->nattrs && strcmp(b->attrs[b->ai].target_id, v->inst.arn) < 0)
        b->ai++;
    size_t from = b->ai;
    while (b->ai < b->nattrs && strcmp(b->attrs[b->ai].target_id, v->inst.arn) == 0)
        b->ai++;
    v->nattrs = b->ai - from;
    v->attrs = xcalloc(v->nattrs + 1, sizeof(*v->attrs));
    memcpy(v->attrs, &b->attrs[from], v->nattrs * sizeof(*v->attrs));
    memset(&b->attrs[from], 0, v->nattrs * sizeof(*v->attrs));
    return 0;
}

static bool same_text(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* v's reserved ports: most instances reserve the same ones, so the last parse is reused when
 * the text is the same (v->load is zeroed). */
static void bulk_reserved(struct bulk *b, struct instance_view *v)
{
    const struct store_instance *in = &v->inst;
    if (!same_text(in->ports_tcp, b->rtcp) || !same_text(in->ports_udp, b->rudp)) {
        instance_load_init(&b->reserved, in->ports_tcp, in->ports_udp);
        free(b->rtcp);
        free(b->rudp);
        b->rtcp = in->ports_tcp ? xstrdup(in->ports_tcp) : NULL;
        b->rudp = in->ports_udp ? xstrdup(in->ports_udp) : NULL;
    }
    memcpy(v->load.tcp, b->reserved.tcp, b->reserved.ntcp * sizeof(uint16_t));
    memcpy(v->load.udp, b->reserved.udp, b->reserved.nudp * sizeof(uint16_t));
    v->load.ntcp = b->reserved.ntcp;
    v->load.nudp = b->reserved.nudp;
}

/* v's load: its reserved ports, its groups' sums, then its port-holding tasks. */
static void bulk_load(struct bulk *b, struct instance_view *v)
{
    bulk_reserved(b, v);
    while (b->li < b->nloads && strcmp(b->loads[b->li].instance_arn, v->inst.arn) < 0)
        b->li++;
    size_t from = b->li;
    while (b->li < b->nloads && strcmp(b->loads[b->li].instance_arn, v->inst.arn) == 0)
        b->li++;
    v->groups = xcalloc(b->li - from + 1, sizeof(*v->groups));
    for (size_t i = from; i < b->li; i++) {
        const struct store_task_load *l = &b->loads[i];
        v->load.cpu += l->cpu;
        v->load.memory += l->memory;
        v->load.running += (unsigned)l->running;
        v->load.pending += (unsigned)l->pending;
        v->groups[v->ngroups++] = (struct sched_group){xstrdup(l->group), (unsigned)l->tasks};
    }
    while (b->pi < b->nports && strcmp(b->ports[b->pi].instance_arn, v->inst.arn) < 0)
        b->pi++;
    for (; b->pi < b->nports && strcmp(b->ports[b->pi].instance_arn, v->inst.arn) == 0; b->pi++)
        instance_load_add_ports(&v->load, b->ports[b->pi].tcp, b->ports[b->pi].udp);
}

static int bulk_read(struct store *st, const char *account, const char *region,
                     const struct store_instance_query *q, struct bulk *b, struct wh_err *err)
{
    int r = store_task_loads(st, account, region, q, &b->loads, &b->nloads, err);
    if (r == 0)
        r = store_task_ports_held(st, account, region, q, &b->ports, &b->nports, err);
    if (r == 0 && q->cluster_arn) {
        struct store_attribute_query aq = {0};
        r = store_attributes_list(st, q->cluster_arn, &aq, &b->attrs, &b->nattrs, err);
    }
    return r;
}

int instance_views_list(struct store *st, const char *account, const char *region,
                        const struct store_instance_query *q, struct instance_view **ret_v,
                        size_t *ret_n, struct wh_err *err)
{
    struct store_instance *rows = NULL;
    size_t n = 0;
    struct bulk b = {0};
    int r = store_instances_list(st, account, region, q, &rows, &n, err);
    if (r == 0)
        r = bulk_read(st, account, region, q, &b, err);
    struct instance_view *v = xcalloc(n + 1, sizeof(*v));
    size_t done = 0;
    for (; r == 0 && done < n; done++) {
        v[done].inst = rows[done];
        memset(&rows[done], 0, sizeof(rows[done]));
        r = bulk_attrs(st, &b, &v[done], err);
        bulk_load(&b, &v[done]);
        v[done].sattrs = xcalloc(v[done].nattrs + 1, sizeof(*v[done].sattrs));
        for (size_t i = 0; i < v[done].nattrs; i++)
            v[done].sattrs[i] = (struct sched_attr){v[done].attrs[i].name, v[done].attrs[i].value};
    }
    store_instances_free(rows, n); /* loaded rows were moved out (zeroed) */
    bulk_free(&b);
    if (r < 0) {
        instance_views_free(v, done);
        return r;
    }
    *ret_v = v;
    *ret_n = n;
    return 0;
}

void instance_view_sched(const struct instance_view *v, double now, struct sched_instance *ret)
{
    *ret = (struct sched_instance){
        .arn = v->inst.arn,
        .ec2_instance_id = v->inst.ec2_instance_id,
        .agent_version = v->inst.agent_version,
        .registered_at = v->inst.registered_at,
        .active = strcmp(v->inst.status, "ACTIVE") == 0,
        .agent_connected = ecs_agent_connected(&v->inst, now),
        .attrs = v->sattrs,
        .nattrs = v->nattrs,
        .remaining_cpu = v->inst.total_cpu - v->load.cpu,
        .remaining_memory = v->inst.total_memory - v->load.memory,
        .used_tcp = v->load.tcp,
        .used_udp = v->load.udp,
        .nused_tcp = v->load.ntcp,
        .nused_udp = v->load.nudp,
        .groups = v->groups,
        .ngroups = v->ngroups,
        .running_tasks = v->load.running,
    };
}

/* ---- JSON ---- */

static json_t *resource_int(const char *name, int64_t value)
{
    return json_pack("{s:s, s:s, s:f, s:I, s:I}", "name", name, "type", "INTEGER", "doubleValue",
                     0.0, "longValue", (json_int_t)0, "integerValue", (json_int_t)value);
}

static json_t *resource_ports(const char *name, const uint16_t *ports, size_t n)
{
    json_t *set = json_array();
    for (size_t i = 0; i < n; i++) {
        char buf[8];
        snprintf(buf, sizeof(buf), "%u", ports[i]);
        json_array_append_new(set, json_string(buf));
    }
    return json_pack("{s:s, s:s, s:f, s:I, s:I, s:o}", "name", name, "type", "STRINGSET",
                     "doubleValue", 0.0, "longValue", (json_int_t)0, "integerValue",
                     (json_int_t)0, "stringSetValue", set);
}

static json_t *resources_json(int64_t cpu, int64_t memory, const struct instance_load *ports)
{
    return json_pack("[o, o, o, o]", resource_int("CPU", cpu), resource_int("MEMORY", memory),
                     resource_ports("PORTS", ports->tcp, ports->ntcp),
                     resource_ports("PORTS_UDP", ports->udp, ports->nudp));
}

static json_t *attributes_json(const struct instance_view *v)
{
    json_t *a = json_array();
    for (size_t i = 0; i < v->nattrs; i++) {
        json_t *o = json_pack("{s:s}", "name", v->attrs[i].name);
        json_set_str(o, "value", v->attrs[i].value);
        json_array_append_new(a, o);
    }
    /* The task subnets wharfd carved for the instance (docs/agent-protocol.md). */
    const char *subnets[][2] = {{ECS_SUBNET_ATTR_AWSVPC, v->inst.subnet_awsvpc},
                                {ECS_SUBNET_ATTR_BRIDGE, v->inst.subnet_bridge}};
    for (size_t i = 0; i < ARRAY_SIZE(subnets); i++)
        if (subnets[i][1])
            json_array_append_new(a, json_pack("{s:s, s:s}", "name", subnets[i][0], "value",
                                               subnets[i][1]));
    return a;
}

json_t *instance_to_json(const struct instance_view *v, double now, json_t *tags)
{
    const struct store_instance *in = &v->inst;
    struct instance_load reserved;
    instance_load_init(&reserved, in->ports_tcp, in->ports_udp);
    json_t *j = json_pack(
        "{s:s, s:s, s:I, s:o, s:o, s:o, s:s, s:b, s:i, s:i, s:o, s:o, s:o}",
        "containerInstanceArn", in->arn, "ec2InstanceId", in->ec2_instance_id, "version",
        (json_int_t)in->desired_version, "versionInfo", json_parse_trusted(in->version_info),
        "remainingResources",
        resources_json(in->total_cpu - v->load.cpu, in->total_memory - v->load.memory, &v->load),
        "registeredResources", resources_json(in->total_cpu, in->total_memory, &reserved),
        "status", in->status, "agentConnected", ecs_agent_connected(in, now), "runningTasksCount",
        (int)v->load.running, "pendingTasksCount", (int)v->load.pending, "attributes",
        attributes_json(v), "registeredAt", json_timestamp(in->registered_at), "attachments",
        json_array());
    json_set_str(j, "statusReason", in->status_reason);
    if (strcmp(in->capacity, "FARGATE") == 0)
        json_object_set_new(j, "capacityProviderName", json_string("FARGATE"));
    if (tags)
        json_object_set_new(j, "tags", tags);
    return j;
}
