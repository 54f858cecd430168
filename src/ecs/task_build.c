#include "ecs/task_build.h"

#include <stdio.h>
#include <string.h>

#include "core/arn.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/xalloc.h"

static char *opt_dup(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

/* A container's cpu / memory / memoryReservation as ECS reports them: the override, else the
 * definition's, as a string; NULL when neither sets it. */
static char *container_size(const json_t *def, const json_t *ovr, const char *key)
{
    const json_t *v = ovr ? json_object_get(ovr, key) : NULL;
    if (!json_is_integer(v))
        v = json_object_get(def, key);
    if (!json_is_integer(v))
        return NULL;
    return xasprintf("%lld", (long long)json_integer_value(v));
}

static const json_t *override_for(const json_t *request, const char *name)
{
    size_t i;
    const json_t *o;
    json_array_foreach(json_object_get(json_object_get(request, "overrides"), "containerOverrides"),
                       i, o) {
        const char *n = json_str(o, "name");
        if (n && strcmp(n, name) == 0)
            return o;
    }
    return NULL;
}

static void build_containers(const struct task_build *b, const char *task_id,
                             struct store_task *t)
{
    const json_t *defs = json_object_get(b->body, "containerDefinitions");
    t->ncontainers = json_array_size(defs);
    t->containers = xcalloc(t->ncontainers + 1, sizeof(*t->containers));
    size_t i;
    const json_t *d;
    json_array_foreach(defs, i, d) {
        const char *name = json_str(d, "name");
        const json_t *o = override_for(b->request, name);
        char uuid[37];
        random_uuid(uuid);
        cleanup_free char *res = xasprintf("container/%s/%s/%s", b->cluster_name, task_id, uuid);
        t->containers[i] = (struct store_task_container){
            .name = xstrdup(name),
            .container_arn = arn_make("ecs", b->region, b->account, res),
            .image = xstrdup(json_str(d, "image") ? json_str(d, "image") : ""),
            .last_status = xstrdup("PENDING"),
            .health_status = xstrdup("UNKNOWN"),
            .cpu = container_size(d, o, "cpu"),
            .memory = container_size(d, o, "memory"),
            .memory_reservation = container_size(d, o, "memoryReservation"),
            .essential = json_bool(d, "essential", true),
            .health_check = json_object_get(d, "healthCheck") != NULL,
            .network_bindings = xstrdup("[]"),
            .network_interfaces = xstrdup("[]"),
        };
    }
}

static char *ports_text(const uint16_t *p, size_t n)
{
    json_auto_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer(p[i]));
    return json_text(a);
}

/* The TaskOverride ECS echoes: the request's, with the lists it always has. */
static char *overrides_text(const json_t *request)
{
    const json_t *o = json_object_get(request, "overrides");
    json_auto_t *j = o ? json_deep_copy(o) : json_object();
    if (!json_object_get(j, "containerOverrides"))
        json_object_set_new(j, "containerOverrides", json_array());
    if (!json_object_get(j, "inferenceAcceleratorOverrides"))
        json_object_set_new(j, "inferenceAcceleratorOverrides", json_array());
    return json_text(j);
}

/* awsvpc tasks get an ElasticNetworkInterface attachment, as on ECS; its status follows the
 * task (PRECREATED, ATTACHED once RUNNING, DELETED once STOPPED). */
static char *attachments_text(const struct task_build *b)
{
    const char *mode = json_str(b->body, "networkMode");
    if (!mode || strcmp(mode, "awsvpc") != 0)
        return xstrdup("[]");
    const json_t *vpc =
        json_object_get(json_object_get(b->request, "networkConfiguration"), "awsvpcConfiguration");
    const char *subnet = json_string_value(json_array_get(json_object_get(vpc, "subnets"), 0));
    char id[37], eni[18];
    random_uuid(id);
    random_hex(eni, 17);
    cleanup_free char *eni_id = xasprintf("eni-%s", eni);
    json_auto_t *a = json_pack("[{s:s, s:s, s:s, s:[{s:s, s:s}, {s:s, s:s}]}]", "id", id, "type",
                               "ElasticNetworkInterface", "status", "PRECREATED", "details",
                               "name", "subnetId", "value", subnet ? subnet : "", "name",
                               "networkInterfaceId", "value", eni_id);
    return json_text(a);
}

void task_build_row(const struct task_build *b, const char *instance_arn, struct store_task *ret)
{
    char task_id[33];
    random_hex(task_id, 32);
    cleanup_free char *res = xasprintf("task/%s/%s", b->cluster_name, task_id);
    bool fargate = strcmp(b->launch_type, "FARGATE") == 0;
    const json_t *netcfg = json_object_get(b->request, "networkConfiguration");
    *ret = (struct store_task){
        .account = xstrdup(b->account),
        .region = xstrdup(b->region),
        .cluster_arn = xstrdup(b->cluster_arn),
        .arn = arn_make("ecs", b->region, b->account, res),
        .task_definition_arn = xstrdup(b->task_definition_arn),
        .family = xstrdup(b->family),
        .container_instance_arn = opt_dup(instance_arn),
        .launch_type = xstrdup(b->launch_type),
        .capacity_provider_name = opt_dup(b->capacity_provider),
        .group = xstrdup(b->group),
        .started_by = opt_dup(json_str(b->request, "startedBy")),
        .last_status = xstrdup("PROVISIONING"),
        .desired_status = xstrdup("RUNNING"),
        .cpu = b->needs->cpu_text[0] ? xstrdup(b->needs->cpu_text) : NULL,
        .memory = b->needs->mem_text[0] ? xstrdup(b->needs->mem_text) : NULL,
        .cpu_units = b->needs->cpu,
        .memory_mib = b->needs->memory,
        .ports_tcp = ports_text(b->needs->tcp, b->needs->ntcp),
        .ports_udp = ports_text(b->needs->udp, b->needs->nudp),
        .overrides = overrides_text(b->request),
        .attachments = attachments_text(b),
        .network_configuration = netcfg ? json_text(netcfg) : NULL,
        .created_at = b->now,
        .health_status = xstrdup("UNKNOWN"),
        .platform_version = fargate ? xstrdup("1.4.0") : NULL,
        .platform_family = fargate ? xstrdup("Linux") : NULL,
        .enable_execute_command = json_bool(b->request, "enableExecuteCommand", false),
        .version = 1,
    };
    build_containers(b, task_id, ret);
}
