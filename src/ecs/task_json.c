#include "ecs/task_json.h"

#include <string.h>

#include "core/json.h"
#include "core/xalloc.h"
#include "ecs/tagging.h"
#include "store/attributes.h"
#include "store/instances.h"

json_t *ecs_task_container_json(const struct store_task *t, const struct store_task_container *c)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "containerArn", c->container_arn, "taskArn",
                          t->arn, "name", c->name, "image", c->image);
    json_set_str(j, "imageDigest", c->image_digest);
    json_set_str(j, "runtimeId", c->runtime_id);
    json_set_str(j, "lastStatus", c->last_status);
    if (c->has_exit_code)
        json_object_set_new(j, "exitCode", json_integer(c->exit_code));
    json_set_str(j, "reason", c->reason);
    json_object_set_new(j, "networkBindings", json_parse_trusted(c->network_bindings));
    json_object_set_new(j, "networkInterfaces", json_parse_trusted(c->network_interfaces));
    json_set_str(j, "healthStatus", c->health_status);
    json_set_str(j, "cpu", c->cpu);
    json_set_str(j, "memory", c->memory);
    json_set_str(j, "memoryReservation", c->memory_reservation);
    return j;
}

/* The instance's ecs.availability-zone attribute into *ret_az (NULL when none). */
static int availability_zone(struct store *st, const struct store_task *t, char **ret_az,
                             struct wh_err *err)
{
    *ret_az = NULL;
    if (!t->container_instance_arn)
        return 0;
    cleanup_instance struct store_instance in = {0};
    int r = store_instance_get(st, t->account, t->region, t->container_instance_arn, &in, err);
    if (r < 0)
        return r == -ENOENT ? 0 : r;
    struct store_attribute *attrs = NULL;
    size_t n = 0;
    if ((r = store_attributes_of(st, in.cluster_arn, in.arn, &attrs, &n, err)) < 0)
        return r;
    for (size_t i = 0; i < n && !*ret_az; i++)
        if (strcmp(attrs[i].name, "ecs.availability-zone") == 0 && attrs[i].value)
            *ret_az = xstrdup(attrs[i].value);
    store_attributes_free(attrs, n);
    return 0;
}

static void set_time(json_t *j, const char *key, double t)
{
    if (t > 0)
        json_object_set_new(j, key, json_timestamp(t));
}

static json_t *containers_json(const struct store_task *t)
{
    json_t *a = json_array();
    for (size_t i = 0; i < t->ncontainers; i++)
        json_array_append_new(a, ecs_task_container_json(t, &t->containers[i]));
    return a;
}

/* The members before the timestamps, in botocore's order. */
static json_t *head_json(const struct store_task *t, const char *az)
{
    bool fargate = strcmp(t->launch_type, "FARGATE") == 0;
    json_t *j = json_object();
    json_object_set_new(j, "attachments", json_parse_trusted(t->attachments));
    json_object_set_new(j, "attributes", json_array());
    json_set_str(j, "availabilityZone", az);
    json_set_str(j, "capacityProviderName", t->capacity_provider_name);
    json_set_str(j, "clusterArn", t->cluster_arn);
    json_set_str(j, "connectivity", t->connectivity);
    set_time(j, "connectivityAt", t->connectivity_at);
    if (!fargate)
        json_set_str(j, "containerInstanceArn", t->container_instance_arn);
    json_object_set_new(j, "containers", containers_json(t));
    json_set_str(j, "cpu", t->cpu);
    set_time(j, "createdAt", t->created_at);
    json_set_str(j, "desiredStatus", t->desired_status);
    json_object_set_new(j, "enableExecuteCommand", json_boolean(t->enable_execute_command));
    set_time(j, "executionStoppedAt", t->execution_stopped_at);
    json_set_str(j, "group", t->group);
    json_set_str(j, "healthStatus", t->health_status);
    json_set_str(j, "lastStatus", t->last_status);
    json_set_str(j, "launchType", t->launch_type);
    json_set_str(j, "memory", t->memory);
    json_object_set_new(j, "overrides", json_parse_trusted(t->overrides));
    json_set_str(j, "platformVersion", t->platform_version);
    json_set_str(j, "platformFamily", t->platform_family);
    return j;
}

int ecs_task_to_json(struct store *st, const struct store_task *t, bool with_tags,
                     json_t **ret_json, struct wh_err *err)
{
    cleanup_free char *az = NULL;
    int r = availability_zone(st, t, &az, err);
    if (r < 0)
        return r;
    json_t *j = head_json(t, az);
    set_time(j, "pullStartedAt", t->pull_started_at);
    set_time(j, "pullStoppedAt", t->pull_stopped_at);
    set_time(j, "startedAt", t->started_at);
    json_set_str(j, "startedBy", t->started_by);
    json_set_str(j, "stopCode", t->stop_code);
    set_time(j, "stoppedAt", t->stopped_at);
    json_set_str(j, "stoppedReason", t->stopped_reason);
    set_time(j, "stoppingAt", t->stopping_at);
    json_t *tags = NULL;
    if (with_tags && ecs_tags_json(st, t->arn, &tags, err) < 0) {
        json_decref(j);
        return -EIO;
    }
    json_object_set_new(j, "tags", tags ? tags : json_array());
    json_set_str(j, "taskArn", t->arn);
    json_set_str(j, "taskDefinitionArn", t->task_definition_arn);
    json_object_set_new(j, "version", json_integer(t->version));
    if (strcmp(t->launch_type, "FARGATE") == 0)
        json_object_set_new(j, "ephemeralStorage", json_pack("{s:i}", "sizeInGiB", 20));
    *ret_json = j;
    return 0;
}
