#include "ecs/service_json.h"

#include <string.h>

#include "core/json.h"
#include "core/xalloc.h"
#include "ecs/service_rules.h"
#include "ecs/tagging.h"

/* Copy the members of src named in keys into dst, when present. */
static void copy_members(json_t *dst, const json_t *src, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(src, keys[i]);
        if (v && !json_is_null(v))
            json_object_set(dst, keys[i], v);
    }
}

static const char *const deployment_keys[] = {
    "capacityProviderStrategy", "launchType", "platformVersion", "platformFamily",
    "networkConfiguration",
};
static const char *const deployment_extra_keys[] = {
    "serviceConnectConfiguration", "volumeConfigurations", "vpcLatticeConfigurations",
};

static const struct store_service_task_count *counts_of(const struct store_service_task_count *v,
                                                        size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].started_by && strcmp(v[i].started_by, id) == 0)
            return &v[i];
    return NULL;
}

static json_t *deployment_json(const struct store_deployment *d,
                               const struct store_service_task_count *c)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:o}", "id", d->id,
                          "status", d->status, "taskDefinition", d->task_definition,
                          "desiredCount", (json_int_t)d->desired_count, "pendingCount",
                          (json_int_t)(c ? c->pending : 0), "runningCount",
                          (json_int_t)(c ? c->running : 0), "failedTasks",
                          (json_int_t)d->failed_tasks, "createdAt",
                          json_timestamp(d->created_at), "updatedAt",
                          json_timestamp(d->updated_at));
    json_auto_t *cfg = json_parse_trusted(d->config);
    copy_members(j, cfg, deployment_keys, ARRAY_SIZE(deployment_keys));
    json_set_str(j, "rolloutState", d->rollout_state);
    json_set_str(j, "rolloutStateReason", d->rollout_state_reason);
    copy_members(j, cfg, deployment_extra_keys, ARRAY_SIZE(deployment_extra_keys));
    return j;
}

static int events_json(struct store *st, const char *arn, json_t **ret, struct wh_err *err)
{
    struct store_service_event *v = NULL;
    size_t n = 0;
    int r = store_service_events(st, arn, SERVICE_EVENTS_KEPT, &v, &n, err);
    if (r < 0)
        return r;
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:o, s:s}", "id", v[i].id, "createdAt",
                                           json_timestamp(v[i].created_at), "message",
                                           v[i].message));
    store_service_events_free(v, n);
    *ret = a;
    return 0;
}

/* Deployments (PRIMARY first, then ACTIVE newest first) and the service's task counts. */
static int deployments_json(struct store *st, const struct store_service *s, json_t **ret,
                            int64_t *ret_running, int64_t *ret_pending, json_t **ret_primary,
                            struct wh_err *err)
{
    struct store_deployment *d = NULL;
    size_t nd = 0;
    struct store_service_task_count *c = NULL;
    size_t nc = 0;
    int r = store_deployments_of(st, s->arn, false, &d, &nd, err);
    if (r == 0)
        r = store_service_task_counts(st, s->cluster_arn, s->name, &c, &nc, err);
    if (r < 0) {
        store_deployments_free(d, nd);
        return r;
    }
    *ret_running = *ret_pending = 0;
    for (size_t i = 0; i < nc; i++) {
        *ret_running += c[i].running;
        *ret_pending += c[i].pending;
    }
    json_t *a = json_array();
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < nd; i++)
            if ((strcmp(d[i].status, "PRIMARY") == 0) == (pass == 0)) {
                json_t *j = deployment_json(&d[i], counts_of(c, nc, d[i].id));
                if (pass == 0 && !*ret_primary)
                    *ret_primary = json_parse_trusted(d[i].config);
                json_array_append_new(a, j);
            }
    store_deployments_free(d, nd);
    store_service_task_counts_free(c, nc);
    *ret = a;
    return 0;
}

/* cfg[key] when it is a list, else an empty one (new reference). */
static json_t *list_of(const json_t *cfg, const char *key)
{
    json_t *v = json_object_get(cfg, key);
    return json_is_array(v) ? json_deep_copy(v) : json_array();
}

static void service_members(json_t *j, const json_t *cfg, const json_t *primary)
{
    static const char *const keys[] = {"roleArn"};
    copy_members(j, cfg, keys, ARRAY_SIZE(keys));
    json_object_set_new(j, "placementConstraints", list_of(cfg, "placementConstraints"));
    json_object_set_new(j, "placementStrategy", list_of(cfg, "placementStrategy"));
    static const char *const net[] = {"networkConfiguration"};
    copy_members(j, primary, net, 1);
    static const char *const grace[] = {"healthCheckGracePeriodSeconds"};
    copy_members(j, cfg, grace, 1);
}

int ecs_service_to_json(struct store *st, const struct store_service *s, bool with_tags,
                        json_t **ret_json, struct wh_err *err)
{
    json_t *deployments = NULL, *events = NULL, *tags = NULL;
    json_auto_t *primary = NULL;
    int64_t running = 0, pending = 0;
    int r = deployments_json(st, s, &deployments, &running, &pending, &primary, err);
    if (r == 0)
        r = events_json(st, s->arn, &events, err);
    if (r == 0 && with_tags)
        r = ecs_tags_json(st, s->arn, &tags, err);
    if (r < 0) {
        json_decref(deployments);
        json_decref(events);
        return r;
    }
    json_auto_t *cfg = json_parse_trusted(s->config);
    json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:I, s:I, s:I}", "serviceArn", s->arn,
                          "serviceName", s->name, "clusterArn", s->cluster_arn, "loadBalancers",
                          list_of(cfg, "loadBalancers"), "serviceRegistries",
                          list_of(cfg, "serviceRegistries"), "status", s->status,
                          "desiredCount", (json_int_t)s->desired_count, "runningCount",
                          (json_int_t)running, "pendingCount", (json_int_t)pending);
    static const char *const launch[] = {"launchType", "capacityProviderStrategy",
                                         "platformVersion", "platformFamily"};
    copy_members(j, primary, launch, ARRAY_SIZE(launch));
    json_object_set_new(j, "taskDefinition", json_string(s->task_definition));
    json_t *dc = json_object_get(cfg, "deploymentConfiguration");
    if (dc)
        json_object_set(j, "deploymentConfiguration", dc);
    json_object_set_new(j, "taskSets", json_array());
    json_object_set_new(j, "deployments", deployments);
    json_object_set_new(j, "events", events);
    json_object_set_new(j, "createdAt", json_timestamp(s->created_at));
    service_members(j, cfg, primary);
    json_object_set_new(j, "schedulingStrategy", json_string(s->scheduling_strategy));
    json_object_set_new(j, "deploymentController", json_pack("{s:s}", "type", "ECS"));
    if (tags)
        json_object_set_new(j, "tags", tags);
    json_set_str(j, "createdBy", s->created_by);
    json_object_set_new(j, "enableECSManagedTags",
                        json_boolean(json_bool(cfg, "enableECSManagedTags", false)));
    json_object_set_new(j, "propagateTags", json_string(json_str(cfg, "propagateTags")
                                                            ? json_str(cfg, "propagateTags")
                                                            : "NONE"));
    json_object_set_new(j, "enableExecuteCommand",
                        json_boolean(json_bool(primary, "enableExecuteCommand", false)));
    static const char *const az[] = {"availabilityZoneRebalancing"};
    copy_members(j, cfg, az, 1);
    *ret_json = j;
    return 0;
}

json_t *ecs_service_settings(const struct store_service *s, const struct store_deployment *primary)
{
    json_t *j = json_parse_trusted(s->config);
    json_auto_t *d = json_parse_trusted(primary->config);
    json_object_update(j, d);
    return j;
}
