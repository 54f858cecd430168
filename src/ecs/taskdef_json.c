#include "ecs/taskdef_json.h"

#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/xalloc.h"
#include "ecs/taskdef_attrs.h"
#include "ecs/taskdef_validate.h"
#include "store/taskdefs.h"

/* Members in botocore's order, so responses read like ECS's. */
static const char *const container_members[] = {
    "name", "image", "repositoryCredentials", "cpu", "memory", "memoryReservation", "links",
    "portMappings", "essential", "restartPolicy", "entryPoint", "command", "environment",
    "environmentFiles", "mountPoints", "volumesFrom", "linuxParameters", "secrets", "dependsOn",
    "startTimeout", "stopTimeout", "versionConsistency", "hostname", "user", "workingDirectory",
    "disableNetworking", "privileged", "readonlyRootFilesystem", "dnsServers", "dnsSearchDomains",
    "extraHosts", "dockerSecurityOptions", "interactive", "pseudoTerminal", "dockerLabels",
    "ulimits", "logConfiguration", "healthCheck", "systemControls", "resourceRequirements",
    "firelensConfiguration", "credentialSpecs",
};

static const char *const taskdef_members[] = {
    "taskDefinitionArn", "containerDefinitions", "family", "taskRoleArn", "executionRoleArn",
    "networkMode", "revision", "volumes", "status", "requiresAttributes", "placementConstraints",
    "compatibilities", "runtimePlatform", "requiresCompatibilities", "cpu", "memory",
    "inferenceAccelerators", "pidMode", "ipcMode", "proxyConfiguration", "registeredAt",
    "deregisteredAt", "deleteRequestedAt", "registeredBy", "ephemeralStorage",
    "enableFaultInjection",
};

/* Copy src's members into dst in the order of names, then any others src has. */
static void copy_ordered(json_t *dst, const json_t *src, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(src, names[i]);
        if (v)
            json_object_set(dst, names[i], v);
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)src, k, v) {
        if (!json_object_get(dst, k))
            json_object_set(dst, k, v);
    }
}

static void set_default(json_t *obj, const char *key, json_t *def)
{
    if (!json_object_get(obj, key))
        json_object_set_new(obj, key, def);
    else
        json_decref(def);
}

static json_t *port_mapping_new(const json_t *pm, const char *mode)
{
    json_auto_t *m = json_deep_copy(pm);
    json_t *cp = json_object_get(m, "containerPort");
    if (cp && !json_object_get(m, "hostPort"))
        json_object_set_new(m, "hostPort", strcmp(mode, "bridge") == 0
                                               ? json_integer(0)
                                               : json_integer(json_integer_value(cp)));
    set_default(m, "protocol", json_string("tcp"));
    static const char *const order[] = {"containerPort", "hostPort", "protocol",
                                        "name", "appProtocol", "containerPortRange"};
    json_t *out = json_object();
    copy_ordered(out, m, order, ARRAY_SIZE(order));
    return out;
}

static json_t *container_new(const json_t *c, const char *mode)
{
    json_auto_t *m = json_deep_copy(c);
    set_default(m, "cpu", json_integer(0));
    set_default(m, "essential", json_true());
    set_default(m, "environment", json_array());
    set_default(m, "mountPoints", json_array());
    set_default(m, "volumesFrom", json_array());
    json_t *pms = json_array();
    size_t i;
    json_t *pm;
    json_array_foreach(json_object_get(c, "portMappings"), i, pm)
        json_array_append_new(pms, port_mapping_new(pm, mode));
    json_object_set_new(m, "portMappings", pms);
    json_t *hc = json_object_get(m, "healthCheck");
    if (hc) {
        /* startPeriod stays absent unless given: ECS reports it only then. */
        set_default(hc, "interval", json_integer(30));
        set_default(hc, "timeout", json_integer(5));
        set_default(hc, "retries", json_integer(3));
    }
    json_t *out = json_object();
    copy_ordered(out, m, container_members, ARRAY_SIZE(container_members));
    return out;
}

static void set_size(json_t *body, const char *key, int64_t (*parse)(const char *))
{
    const char *s = json_str(body, key);
    if (!s)
        return;
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", (long long)parse(s));
    json_object_set_new(body, key, json_string(buf));
}

json_t *taskdef_body_new(const json_t *req)
{
    json_t *body = json_deep_copy(req);
    json_object_del(body, "family");
    json_object_del(body, "tags");
    const char *mode = json_str(req, "networkMode");
    json_t *cs = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(req, "containerDefinitions"), i, c)
        json_array_append_new(cs, container_new(c, mode ? mode : "bridge"));
    json_object_set_new(body, "containerDefinitions", cs);
    set_default(body, "volumes", json_array());
    set_default(body, "placementConstraints", json_array());
    set_size(body, "cpu", taskdef_parse_cpu);
    set_size(body, "memory", taskdef_parse_memory);
    json_object_set_new(body, "requiresAttributes", taskdef_requires_attributes(body));
    json_object_set_new(body, "compatibilities", taskdef_compatibilities(body));
    return body;
}

json_t *taskdef_to_json(const struct store_taskdef *td)
{
    json_auto_t *m = json_parse_trusted(td->body);
    json_object_set_new(m, "taskDefinitionArn", json_string(td->arn));
    json_object_set_new(m, "family", json_string(td->family));
    json_object_set_new(m, "revision", json_integer(td->revision));
    json_object_set_new(m, "status", json_string(td->status));
    json_object_set_new(m, "registeredAt", json_timestamp(td->registered_at));
    if (td->deregistered_at > 0)
        json_object_set_new(m, "deregisteredAt", json_timestamp(td->deregistered_at));
    if (td->delete_requested_at > 0)
        json_object_set_new(m, "deleteRequestedAt", json_timestamp(td->delete_requested_at));
    if (td->registered_by)
        json_object_set_new(m, "registeredBy", json_string(td->registered_by));
    json_t *out = json_object();
    copy_ordered(out, m, taskdef_members, ARRAY_SIZE(taskdef_members));
    return out;
}
