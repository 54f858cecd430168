/* UpdateService: desired count, deployment configuration, placement, grace period and tag
 * propagation change the service in place; a new task definition, forceNewDeployment or new
 * values for what shapes the tasks (network, platform, capacity providers, ...) start a new
 * PRIMARY deployment that the controller rolls out. */
#include <string.h>

#include "core/json.h"
#include "core/xalloc.h"
#include "ecs/clusters.h"
#include "ecs/handlers.h"
#include "ecs/service_controller.h"
#include "ecs/service_json.h"
#include "ecs/service_rules.h"
#include "ecs/services.h"
#include "ecs/taskdef_ref.h"

struct update {
    struct api_ctx *ctx;
    const json_t *in;
    struct store_cluster c;
    struct store_service s;
    struct store_deployment primary;
    struct store_taskdef *td; /* the new one, when given */
    json_t *body;
    json_t *svc_cfg, *dep_cfg; /* current, then new */
    struct task_launch_plan plan;
    json_t *def_strategy, *providers, *cur_strategy;
    bool daemon;
};

static void update_clear(struct update *u)
{
    store_cluster_clear(&u->c);
    store_service_clear(&u->s);
    store_deployment_clear(&u->primary);
    store_taskdef_free(u->td);
    json_decref(u->body);
    json_decref(u->svc_cfg);
    json_decref(u->dep_cfg);
    json_decref(u->def_strategy);
    json_decref(u->providers);
    json_decref(u->cur_strategy);
}

/* The service and its PRIMARY deployment, read inside the transaction. */
static int load(struct update *u, struct wh_err *err)
{
    store_service_clear(&u->s);
    store_deployment_clear(&u->primary);
    int r = ecs_service_resolve(u->ctx, &u->c, json_str(u->in, "service"), &u->s, err);
    if (r == -ENOENT)
        return wh_err_set(err, 400, ERR_SERVICE_NOT_FOUND, "Service not found.");
    if (r < 0)
        return r;
    if (strcmp(u->s.status, "ACTIVE") != 0)
        return wh_err_set(err, 400, ERR_SERVICE_NOT_ACTIVE, "Service was not ACTIVE.");
    struct store_deployment *d = NULL;
    size_t n = 0;
    if ((r = store_deployments_of(u->ctx->st, u->s.arn, false, &d, &n, err)) < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        if (strcmp(d[i].status, "PRIMARY") == 0) {
            u->primary = d[i];
            memset(&d[i], 0, sizeof(d[i]));
            break;
        }
    store_deployments_free(d, n);
    if (!u->primary.id)
        return wh_err_set(err, 500, "ServerException", "service %s has no PRIMARY deployment",
                          u->s.arn);
    u->daemon = strcmp(u->s.scheduling_strategy, "DAEMON") == 0;
    json_decref(u->svc_cfg);
    json_decref(u->dep_cfg);
    u->svc_cfg = json_parse_trusted(u->s.config);
    u->dep_cfg = json_parse_trusted(u->primary.config);
    return 0;
}

/* Where new tasks go: the request's capacity providers, else what the PRIMARY has. */
static int resolve_launch(struct update *u, const json_t *body, struct wh_err *err)
{
    const json_t *given = json_object_get(u->in, "capacityProviderStrategy");
    const json_t *cur = json_object_get(u->dep_cfg, "capacityProviderStrategy");
    if (json_array_size(given) > 0) {
        if (task_launch_resolve(NULL, given, u->def_strategy, u->providers, &u->plan, err) < 0)
            return -1;
        u->cur_strategy = json_deep_copy(given);
        u->plan.strategy = u->cur_strategy;
    } else if (json_array_size(cur) > 0) {
        u->cur_strategy = json_deep_copy(cur);
        u->plan = (struct task_launch_plan){TASK_LAUNCH_FARGATE, u->cur_strategy};
    } else if (task_launch_resolve(json_str(u->dep_cfg, "launchType"), NULL, NULL, NULL,
                                   &u->plan, err) < 0) {
        return -1;
    }
    bool fargate = u->plan.type == TASK_LAUNCH_FARGATE;
    if (fargate && !task_def_fargate_ok(body))
        return api_invalid(err, "Task definition does not support launch_type FARGATE.");
    if (fargate && u->daemon)
        return api_invalid(err, "The DAEMON scheduling strategy is not supported with the "
                                "FARGATE launch type or Fargate capacity providers.");
    struct task_needs needs;
    return task_needs_compute(body, NULL, fargate, &needs, err);
}

/* The body of the definition the service runs now, whatever its status. */
static int current_body(struct update *u, json_t **ret, struct wh_err *err)
{
    struct taskdef_ref ref;
    int foreign = 0;
    if (taskdef_ref_parse(u->s.task_definition, u->ctx->region, u->ctx->account, &ref,
                          &foreign) < 0 || foreign)
        return wh_err_set(err, 500, "ServerException", "service %s runs a bad definition %s",
                          u->s.arn, u->s.task_definition);
    struct store_taskdef *td = NULL;
    int r = store_taskdef_get(u->ctx->st, u->ctx->account, u->ctx->region, ref.family,
                              ref.revision, &td, err);
    if (r == -ENOENT)
        return wh_err_set(err, 500, "ServerException", "definition %s of service %s is gone",
                          u->s.task_definition, u->s.arn);
    if (r < 0)
        return r;
    *ret = json_parse_trusted(td->body);
    store_taskdef_free(td);
    return 0;
}

static int apply_counts(struct update *u, struct wh_err *err)
{
    const json_t *dc = json_object_get(u->in, "desiredCount");
    if (!dc || json_is_null(dc))
        return 0;
    if (u->daemon)
        return api_invalid(err, "desiredCount: a DAEMON service runs one task on each container "
                                "instance; its desired count cannot be set");
    if (json_integer_value(dc) < 0)
        return api_invalid(err, "desiredCount %lld cannot be negative",
                           (long long)json_integer_value(dc));
    u->s.desired_count = json_integer_value(dc);
    return 0;
}

/* Service-level members: deployment configuration, placement, grace period, tags. */
static int apply_service_config(struct update *u, bool fargate, struct wh_err *err)
{
    const json_t *in = u->in;
    json_t *dc = NULL;
    if (service_deployment_config(json_object_get(in, "deploymentConfiguration"),
                                  json_object_get(u->svc_cfg, "deploymentConfiguration"),
                                  u->daemon, &dc, err) < 0)
        return -1;
    json_object_set_new(u->svc_cfg, "deploymentConfiguration", dc);
    static const char *const keys[] = {"placementConstraints", "placementStrategy",
                                       "healthCheckGracePeriodSeconds", "enableECSManagedTags",
                                       "propagateTags", "loadBalancers", "serviceRegistries",
                                       "availabilityZoneRebalancing"};
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        json_t *v = json_object_get(in, keys[i]);
        if (v && !json_is_null(v))
            json_object_set(u->svc_cfg, keys[i], v);
    }
    return service_placement_check(json_object_get(u->svc_cfg, "placementConstraints"),
                                   json_object_get(u->svc_cfg, "placementStrategy"), fargate,
                                   u->daemon, err);
}

static int update_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct update *u = arg;
    int r = load(u, err);
    if (r < 0 || (r = apply_counts(u, err)) < 0)
        return r;
    json_auto_t *cur_body = NULL;
    if (!u->td && (r = current_body(u, &cur_body, err)) < 0)
        return r;
    const json_t *body = u->td ? u->body : cur_body;
    if (resolve_launch(u, body, err) < 0)
        return -1;
    bool fargate = u->plan.type == TASK_LAUNCH_FARGATE;
    if (apply_service_config(u, fargate, err) < 0)
        return -1;
    const json_t *net = json_object_get(u->in, "networkConfiguration");
    if (service_network_check(body, net ? net : json_object_get(u->dep_cfg,
                                                                "networkConfiguration"),
                              err) < 0)
        return -1;
    json_auto_t *settings = ecs_service_settings(&u->s, &u->primary);
    const char *new_td = u->td ? u->td->arn : NULL;
    bool deploy = service_update_deploys(u->in, new_td, u->s.task_definition, settings);
    cleanup_free char *svc_cfg = json_text(u->svc_cfg);
    free(u->s.config);
    u->s.config = xstrdup(svc_cfg);
    u->s.launch_class = (free(u->s.launch_class), xstrdup(fargate ? "FARGATE" : "EC2"));
    if (new_td)
        u->s.task_definition = (free(u->s.task_definition), xstrdup(new_td));
    if (json_object_get(u->in, "serviceConnectConfiguration")) {
        free(u->s.namespace_);
        u->s.namespace_ = ecs_service_namespace(u->in, &u->c);
    }
    u->s.steady = false;
    u->s.updated_at = u->ctx->now;
    if ((r = store_service_update(st, &u->s, err)) < 0)
        return r;
    if (!deploy) { /* in place: the PRIMARY follows the desired count */
        u->primary.desired_count = u->s.desired_count;
        u->primary.updated_at = u->ctx->now;
        return store_deployment_update(st, &u->primary, err);
    }
    json_auto_t *dep = ecs_service_deployment_config(u->in, u->dep_cfg, &u->plan);
    cleanup_free char *dep_text = json_text(dep);
    return ecs_service_deploy(st, &u->s, u->s.task_definition, dep_text, NULL, u->ctx->now, NULL,
                              err);
}

int ecs_update_service(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    struct update u = {.ctx = ctx, .in = in};
    int r = ecs_cluster_resolve(ctx, json_str(in, "cluster"), ECS_CLUSTER_ANY_STATUS, &u.c, err);
    const char *td = json_str(in, "taskDefinition");
    if (r == 0 && td)
        r = ecs_service_taskdef(ctx, td, &u.td, &u.body, err);
    if (r == 0) {
        u.def_strategy = json_parse_trusted(u.c.default_strategy);
        u.providers = json_parse_trusted(u.c.capacity_providers);
        r = store_tx(ctx->st, update_tx, &u, err);
    }
    json_t *j = NULL;
    if (r == 0 && (r = ecs_service_to_json(ctx->st, &u.s, false, &j, err)) == 0) {
        service_controller_kick(u.c.arn);
        *ret_out = json_pack("{s:o}", "service", j);
    }
    update_clear(&u);
    return r;
}
