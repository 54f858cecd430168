#include "ecs/instance_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/xalloc.h"
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
        free(v->groups[i]);
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
    v.groups = xcalloc(ntasks + 1, sizeof(char *));
    for (size_t i = 0; i < ntasks; i++) {
        const struct store_task *t = &tasks[i];
        instance_load_add(&v.load, t->cpu_units, t->memory_mib, t->ports_tcp, t->ports_udp,
                          t->last_status);
        v.groups[v.ngroups++] = xstrdup(t->group);
    }
    store_tasks_free(tasks, ntasks);
    v.sattrs = xcalloc(v.nattrs + 1, sizeof(*v.sattrs));
    for (size_t i = 0; i < v.nattrs; i++)
        v.sattrs[i] = (struct sched_attr){v.attrs[i].name, v.attrs[i].value};
    *ret = v;
    return 0;
}

int instance_views_list(struct store *st, const char *account, const char *region,
                        const struct store_instance_query *q, struct instance_view **ret_v,
                        size_t *ret_n, struct wh_err *err)
{
    struct store_instance *rows = NULL;
    size_t n = 0;
    int r = store_instances_list(st, account, region, q, &rows, &n, err);
    if (r < 0)
        return r;
    struct instance_view *v = xcalloc(n + 1, sizeof(*v));
    size_t done = 0;
    for (; r == 0 && done < n; done++)
        r = instance_view_load(st, &rows[done], &v[done], err);
    store_instances_free(rows, n); /* loaded rows were moved out (zeroed) */
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
        .task_groups = (const char *const *)v->groups,
        .ntask_groups = v->ngroups,
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
