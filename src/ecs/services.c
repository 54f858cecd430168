/* ECS services: CreateService, DeleteService, DescribeServices, ListServices and
 * ListServicesByNamespace (UpdateService is in service_update.c). A handler writes the service
 * and its deployments and wakes the controller (service_controller.c), which starts and stops
 * the tasks. */
#include "ecs/services.h"

#include <string.h>

#include "core/arn.h"
#include "core/json.h"
#include "core/page.h"
#include "core/xalloc.h"
#include "ecs/clusters.h"
#include "ecs/handlers.h"
#include "ecs/service_controller.h"
#include "ecs/service_json.h"
#include "ecs/service_rules.h"
#include "ecs/tagging.h"
#include "ecs/taskdef_ref.h"

#define DESCRIBE_MAX 10
#define LIST_DEFAULT 10
#define LIST_MAX 100

/* ---- shared ---- */

static const char *ref_name(const char *ref)
{
    return arn_looks_like(ref) ? service_arn_id(ref) : ref;
}

char *ecs_service_ref_arn(struct api_ctx *ctx, const struct store_cluster *c, const char *ref)
{
    if (arn_looks_like(ref))
        return xstrdup(ref);
    cleanup_free char *res = xasprintf("service/%s/%s", c->name, ref);
    return arn_make("ecs", ctx->region, ctx->account, res);
}

int ecs_service_resolve(struct api_ctx *ctx, const struct store_cluster *c, const char *ref,
                        struct store_service *ret, struct wh_err *err)
{
    if (!ref || !*ref)
        return -ENOENT;
    if (arn_looks_like(ref)) { /* service/CLUSTER/NAME, or the old service/NAME */
        struct arn a;
        if (arn_parse(ref, &a) < 0 || strcmp(a.service, "ecs") != 0 ||
            strcmp(a.region, ctx->region) != 0 || strcmp(a.account, ctx->account) != 0 ||
            strncmp(a.resource, "service/", 8) != 0)
            return -ENOENT;
        const char *rest = a.resource + 8, *slash = strchr(rest, '/');
        if (slash && (size_t)(slash - rest) != strlen(c->name))
            return -ENOENT;
        if (slash && strncmp(rest, c->name, (size_t)(slash - rest)) != 0)
            return -ENOENT;
    }
    return store_service_get(ctx->st, c->arn, ref_name(ref), ret, err);
}

int ecs_service_taskdef(struct api_ctx *ctx, const char *ref, struct store_taskdef **ret_td,
                        json_t **ret_body, struct wh_err *err)
{
    struct taskdef_ref tr;
    int foreign = 0, r;
    if (!ref || taskdef_ref_parse(ref, ctx->region, ctx->account, &tr, &foreign) < 0)
        return api_invalid(err, "taskDefinition '%s' is not a family, family:revision or task "
                                "definition ARN",
                           ref ? ref : "");
    struct store_taskdef *td = NULL;
    if (foreign)
        r = -ENOENT;
    else if (tr.revision == 0)
        r = store_taskdef_get_latest_active(ctx->st, ctx->account, ctx->region, tr.family, &td,
                                            err);
    else
        r = store_taskdef_get(ctx->st, ctx->account, ctx->region, tr.family, tr.revision, &td,
                              err);
    if (r == -ENOENT)
        return wh_err_set(err, 400, "ClientException", "TaskDefinition not found.");
    if (r < 0)
        return r;
    if (strcmp(td->status, "ACTIVE") != 0) {
        store_taskdef_free(td);
        return wh_err_set(err, 400, "ClientException", "TaskDefinition is inactive");
    }
    *ret_body = json_parse_trusted(td->body);
    *ret_td = td;
    return 0;
}

json_t *ecs_service_deployment_config(const json_t *in, const json_t *prev,
                                      const struct task_launch_plan *plan)
{
    json_t *cfg = prev ? json_deep_copy(prev) : json_object();
    static const char *const keys[] = {"networkConfiguration", "platformVersion",
                                       "serviceConnectConfiguration", "volumeConfigurations",
                                       "vpcLatticeConfigurations", "enableExecuteCommand"};
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        json_t *v = json_object_get(in, keys[i]);
        if (v && !json_is_null(v))
            json_object_set(cfg, keys[i], v);
    }
    bool fargate = plan->type == TASK_LAUNCH_FARGATE;
    json_object_del(cfg, "launchType");
    json_object_del(cfg, "capacityProviderStrategy");
    if (plan->strategy)
        json_object_set_new(cfg, "capacityProviderStrategy", json_deep_copy(plan->strategy));
    else
        json_object_set_new(cfg, "launchType", json_string(fargate ? "FARGATE" : "EC2"));
    if (fargate && !json_object_get(cfg, "platformVersion"))
        json_object_set_new(cfg, "platformVersion", json_string("LATEST"));
    if (fargate)
        json_object_set_new(cfg, "platformFamily", json_string("Linux"));
    else
        json_object_del(cfg, "platformFamily");
    return cfg;
}

int ecs_service_deploy(struct store *st, const struct store_service *s, const char *td_arn,
                       const char *config, const char *reason, double now,
                       struct store_deployment *ret, struct wh_err *err)
{
    struct store_deployment *old = NULL;
    size_t n = 0;
    int r = store_deployments_of(st, s->arn, false, &old, &n, err);
    for (size_t i = 0; r == 0 && i < n; i++)
        if (strcmp(old[i].status, "PRIMARY") == 0) {
            free(old[i].status);
            old[i].status = xstrdup("ACTIVE");
            old[i].desired_count = 0;
            old[i].updated_at = now;
            r = store_deployment_update(st, &old[i], err);
        }
    store_deployments_free(old, n);
    if (r < 0)
        return r;
    char id[28];
    service_deployment_id(id);
    struct store_deployment d = {
        .id = xstrdup(id),
        .service_arn = xstrdup(s->arn),
        .status = xstrdup("PRIMARY"),
        .task_definition = xstrdup(td_arn),
        .config = xstrdup(config),
        .desired_count = s->desired_count,
        .rollout_state = xstrdup("IN_PROGRESS"),
        .rollout_state_reason = reason ? xstrdup(reason)
                                       : xasprintf("ECS deployment %s in progress.", id),
        .created_at = now,
        .updated_at = now,
    };
    r = store_deployment_insert(st, &d, err);
    if (r == 0 && ret)
        *ret = d;
    else
        store_deployment_clear(&d);
    return r;
}

static int reply_service(struct api_ctx *ctx, const char *arn, json_t **ret_out,
                         struct wh_err *err)
{
    cleanup_service struct store_service s = {0};
    int r = store_service_get_arn(ctx->st, arn, &s, err);
    json_t *j = NULL;
    if (r == 0 && (r = ecs_service_to_json(ctx->st, &s, false, &j, err)) == 0)
        *ret_out = json_pack("{s:o}", "service", j);
    return r;
}

/* ---- CreateService ---- */

struct create {
    struct api_ctx *ctx;
    const json_t *in;
    struct store_cluster c;
    struct store_taskdef *td;
    json_t *body;
    bool daemon;
    struct task_launch_plan plan;
    json_t *def_strategy, *providers; /* the cluster's, plan.strategy may point into them */
    json_t *svc_config, *dep_config;
    char *namespace_;
    char *arn; /* out */
    bool existed;
};

static void create_clear(struct create *k)
{
    store_cluster_clear(&k->c);
    store_taskdef_free(k->td);
    json_decref(k->body);
    json_decref(k->def_strategy);
    json_decref(k->providers);
    json_decref(k->svc_config);
    json_decref(k->dep_config);
    free(k->namespace_);
    free(k->arn);
}

static int check_counts(struct create *k, struct wh_err *err)
{
    const json_t *dc = json_object_get(k->in, "desiredCount");
    if (k->daemon && dc && !json_is_null(dc))
        return api_invalid(err, "desiredCount: a DAEMON service runs one task on each container "
                                "instance; its desired count cannot be set");
    if (!k->daemon && (!dc || json_is_null(dc)))
        return api_invalid(err, "desiredCount is required for a REPLICA service");
    if (!k->daemon && json_integer_value(dc) < 0)
        return api_invalid(err, "desiredCount %lld cannot be negative",
                           (long long)json_integer_value(dc));
    const char *ctl = json_str(json_object_get(k->in, "deploymentController"), "type");
    if (ctl && strcmp(ctl, "ECS") != 0)
        return api_invalid(err, "deploymentController.type %s is not supported by wharf: use ECS "
                                "(rolling updates)",
                           ctl);
    return 0;
}

static int resolve_launch(struct create *k, struct wh_err *err)
{
    k->def_strategy = json_parse_trusted(k->c.default_strategy);
    k->providers = json_parse_trusted(k->c.capacity_providers);
    if (task_launch_resolve(json_str(k->in, "launchType"),
                            json_object_get(k->in, "capacityProviderStrategy"), k->def_strategy,
                            k->providers, &k->plan, err) < 0)
        return -1;
    bool fargate = k->plan.type == TASK_LAUNCH_FARGATE;
    if (fargate && !task_def_fargate_ok(k->body))
        return api_invalid(err, "Task definition does not support launch_type FARGATE.");
    if (fargate && k->daemon)
        return api_invalid(err, "The DAEMON scheduling strategy is not supported with the "
                                "FARGATE launch type or Fargate capacity providers.");
    struct task_needs needs;
    return task_needs_compute(k->body, NULL, fargate, &needs, err);
}

char *ecs_service_namespace(const json_t *in, const struct store_cluster *c)
{
    const json_t *sc = json_object_get(in, "serviceConnectConfiguration");
    if (!sc || !json_bool(sc, "enabled", false))
        return NULL;
    const char *ns = json_str(sc, "namespace");
    if (ns)
        return xstrdup(ns);
    json_auto_t *d = json_parse_trusted(c->service_connect_defaults);
    ns = json_str(d, "namespace");
    return ns ? xstrdup(ns) : NULL;
}

static int build_config(struct create *k, struct wh_err *err)
{
    const json_t *in = k->in;
    json_t *dc = NULL;
    if (service_deployment_config(json_object_get(in, "deploymentConfiguration"), NULL,
                                  k->daemon, &dc, err) < 0)
        return -1;
    bool fargate = k->plan.type == TASK_LAUNCH_FARGATE;
    if (service_placement_check(json_object_get(in, "placementConstraints"),
                                json_object_get(in, "placementStrategy"), fargate, k->daemon,
                                err) < 0 ||
        service_network_check(k->body, json_object_get(in, "networkConfiguration"), err) < 0 ||
        ecs_tags_validate(json_object_get(in, "tags"), "tags", err) < 0) {
        json_decref(dc);
        return -1;
    }
    k->svc_config = json_pack("{s:o}", "deploymentConfiguration", dc);
    static const char *const keys[] = {"loadBalancers", "serviceRegistries",
                                       "placementConstraints", "placementStrategy",
                                       "healthCheckGracePeriodSeconds", "enableECSManagedTags",
                                       "propagateTags", "role", "availabilityZoneRebalancing"};
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        json_t *v = json_object_get(in, keys[i]);
        if (v && !json_is_null(v) && strcmp(keys[i], "role") != 0)
            json_object_set(k->svc_config, keys[i], v);
    }
    const char *role = json_str(in, "role"); /* a name or an ARN; ECS answers the ARN */
    if (role && *role)
        json_object_set_new(k->svc_config, "roleArn",
                            strncmp(role, "arn:", 4) == 0
                                ? json_string(role)
                                : json_sprintf("arn:aws:iam::%s:role/%s", k->ctx->account,
                                               role));
    k->dep_config = ecs_service_deployment_config(in, NULL, &k->plan);
    k->namespace_ = ecs_service_namespace(in, &k->c);
    return 0;
}

static int prepare(struct create *k, struct wh_err *err)
{
    const json_t *in = k->in;
    int r = ecs_cluster_resolve(k->ctx, json_str(in, "cluster"), ECS_CLUSTER_ACTIVE, &k->c, err);
    if (r < 0 || (r = service_name_check(json_str(in, "serviceName"), err)) < 0)
        return r;
    const char *strategy = json_str(in, "schedulingStrategy");
    k->daemon = strategy && strcmp(strategy, "DAEMON") == 0;
    if (!json_str(in, "taskDefinition"))
        return api_invalid(err, "taskDefinition is required (the ECS deployment controller "
                                "runs a task definition)");
    if ((r = ecs_service_taskdef(k->ctx, json_str(in, "taskDefinition"), &k->td, &k->body,
                                 err)) < 0)
        return r;
    if (check_counts(k, err) < 0 || resolve_launch(k, err) < 0)
        return -1;
    return build_config(k, err);
}

/* A name already taken: the same request again (clientToken) answers the service as it is;
 * a DRAINING one refuses; an INACTIVE one makes way. */
static int name_taken(struct create *k, struct store *st, struct store_service *old,
                      struct wh_err *err)
{
    const char *token = json_str(k->in, "clientToken");
    if (strcmp(old->status, "INACTIVE") == 0) {
        int r = ecs_tags_drop(st, old->arn, err);
        return r < 0 ? r : store_service_delete(st, old->arn, err);
    }
    if (strcmp(old->status, "DRAINING") == 0)
        return api_invalid(err, "Unable to Start a service that is still Draining.");
    if (token && old->client_token && strcmp(token, old->client_token) == 0) {
        k->existed = true;
        k->arn = xstrdup(old->arn);
        return 0;
    }
    return api_invalid(err, "Creation of service was not idempotent.");
}

static int create_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct create *k = arg;
    struct api_ctx *ctx = k->ctx;
    const char *name = json_str(k->in, "serviceName");
    cleanup_service struct store_service old = {0};
    int r = store_service_get(st, k->c.arn, name, &old, err);
    if (r == 0 && ((r = name_taken(k, st, &old, err)) < 0 || k->existed))
        return r;
    if (r < 0 && r != -ENOENT)
        return r;
    cleanup_free char *res = xasprintf("service/%s/%s", k->c.name, name);
    cleanup_free char *svc_cfg = json_text(k->svc_config), *dep_cfg = json_text(k->dep_config);
    struct store_service s = {
        .account = (char *)ctx->account, .region = (char *)ctx->region, .cluster_arn = k->c.arn,
        .name = (char *)name, .arn = arn_make("ecs", ctx->region, ctx->account, res),
        .status = "ACTIVE", .scheduling_strategy = k->daemon ? "DAEMON" : "REPLICA",
        .launch_class = k->plan.type == TASK_LAUNCH_FARGATE ? "FARGATE" : "EC2",
        .desired_count = k->daemon ? 0 : json_int(k->in, "desiredCount", 0),
        .task_definition = k->td->arn, .config = svc_cfg,
        .client_token = (char *)json_str(k->in, "clientToken"), .namespace_ = k->namespace_,
        .created_at = ctx->now, .updated_at = ctx->now, .created_by = (char *)ctx->principal_arn,
    };
    k->arn = s.arn;
    if ((r = store_service_insert(st, &s, err)) < 0)
        return r == -EEXIST ? api_invalid(err, "Creation of service was not idempotent.") : r;
    if (json_array_size(json_object_get(k->in, "tags")) &&
        (r = ecs_tags_apply(st, s.arn, json_object_get(k->in, "tags"), err)) < 0)
        return r;
    return ecs_service_deploy(st, &s, k->td->arn, dep_cfg, NULL, ctx->now, NULL, err);
}

int ecs_create_service(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    struct create k = {.ctx = ctx, .in = in};
    int r = prepare(&k, err);
    if (r == 0)
        r = store_tx(ctx->st, create_tx, &k, err);
    if (r == 0) {
        service_controller_kick(k.c.arn);
        r = reply_service(ctx, k.arn, ret_out, err);
    }
    create_clear(&k);
    return r;
}

/* ---- DeleteService ---- */

struct del {
    struct api_ctx *ctx;
    const json_t *in;
    struct store_cluster *c;
    char *arn; /* out */
};

static int delete_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct del *d = arg;
    cleanup_service struct store_service s = {0};
    int r = ecs_service_resolve(d->ctx, d->c, json_str(d->in, "service"), &s, err);
    if (r == -ENOENT)
        return wh_err_set(err, 400, ERR_SERVICE_NOT_FOUND, "Service not found.");
    if (r < 0)
        return r;
    d->arn = xstrdup(s.arn);
    if (strcmp(s.status, "INACTIVE") == 0)
        return wh_err_set(err, 400, ERR_SERVICE_NOT_ACTIVE, "Service was not ACTIVE.");
    if (strcmp(s.status, "DRAINING") == 0)
        return 0;
    bool replica = strcmp(s.scheduling_strategy, "REPLICA") == 0;
    if (replica && s.desired_count > 0 && !json_bool(d->in, "force", false))
        return api_invalid(err, "The service cannot be stopped while it is scaled above 0.");
    free(s.status);
    s.status = xstrdup("DRAINING");
    s.desired_count = 0;
    s.steady = false;
    s.updated_at = d->ctx->now;
    return store_service_update(st, &s, err);
}

int ecs_delete_service(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_cluster struct store_cluster c = {0};
    int r = ecs_cluster_resolve(ctx, json_str(in, "cluster"), ECS_CLUSTER_ANY_STATUS, &c, err);
    if (r < 0)
        return r;
    struct del d = {ctx, in, &c, NULL};
    r = store_tx(ctx->st, delete_tx, &d, err);
    if (r == 0) {
        service_controller_kick(c.arn);
        r = reply_service(ctx, d.arn, ret_out, err);
    }
    free(d.arn);
    return r;
}

/* ---- DescribeServices ---- */

int ecs_describe_services(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    const json_t *refs = json_object_get(in, "services");
    if (json_array_size(refs) > DESCRIBE_MAX)
        return api_invalid(err, "services has %zu entries; at most %d can be described",
                           json_array_size(refs), DESCRIBE_MAX);
    cleanup_cluster struct store_cluster c = {0};
    int r = ecs_cluster_resolve(ctx, json_str(in, "cluster"), ECS_CLUSTER_ANY_STATUS, &c, err);
    if (r < 0)
        return r;
    bool tags = ecs_tags_included(in);
    json_auto_t *list = json_array(), *failures = json_array();
    size_t i;
    const json_t *ref;
    json_array_foreach(refs, i, ref) {
        const char *s = json_string_value(ref);
        cleanup_service struct store_service svc = {0};
        r = ecs_service_resolve(ctx, &c, s, &svc, err);
        if (r == -ENOENT) {
            cleanup_free char *arn = ecs_service_ref_arn(ctx, &c, s ? s : "");
            json_array_append_new(failures,
                                  json_pack("{s:s, s:s}", "arn", arn, "reason", "MISSING"));
            continue;
        }
        json_t *j = NULL;
        if (r < 0 || (r = ecs_service_to_json(ctx->st, &svc, tags, &j, err)) < 0)
            return r;
        json_array_append_new(list, j);
    }
    *ret_out = json_pack("{s:O, s:O}", "services", list, "failures", failures);
    return 0;
}

/* ---- ListServices, ListServicesByNamespace ---- */

static int page_args(const json_t *in, int64_t *ret_max, char **ret_after, struct wh_err *err)
{
    int64_t max = json_int(in, "maxResults", LIST_DEFAULT);
    if (max < 1 || max > LIST_MAX)
        return api_invalid(err, "maxResults %lld is out of range 1..%d", (long long)max, LIST_MAX);
    const char *tok = json_str(in, "nextToken");
    if (tok && page_token_decode(tok, ret_after) < 0)
        return api_invalid(err, "nextToken '%.64s' is not a token this service returned", tok);
    *ret_max = max;
    return 0;
}

static json_t *page_out(char **arns, size_t n, int64_t max)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n && i < (size_t)max; i++)
        json_array_append_new(list, json_string(arns[i]));
    json_t *out = json_pack("{s:o}", "serviceArns", list);
    if (n > (size_t)max) {
        cleanup_free char *next = page_token_encode(arns[max - 1]);
        json_object_set_new(out, "nextToken", json_string(next));
    }
    return out;
}

int ecs_list_services(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    int64_t max = 0; /* page_args sets it on success */
    cleanup_free char *after = NULL;
    if (page_args(in, &max, &after, err) < 0)
        return -1;
    cleanup_cluster struct store_cluster c = {0};
    int r = ecs_cluster_resolve(ctx, json_str(in, "cluster"), ECS_CLUSTER_ANY_STATUS, &c, err);
    if (r < 0)
        return r;
    const char *lt = json_str(in, "launchType");
    struct store_service_query q = {
        .cluster_arn = c.arn,
        .launch_class = lt ? (strcmp(lt, "FARGATE") == 0 ? "FARGATE" : lt) : NULL,
        .scheduling_strategy = json_str(in, "schedulingStrategy"),
        .after = after,
        .limit = (unsigned)max + 1,
    };
    char **arns = NULL;
    size_t n = 0;
    if ((r = store_services_list(ctx->st, &q, &arns, &n, err)) < 0)
        return r;
    *ret_out = page_out(arns, n, max);
    store_service_arns_free(arns);
    return 0;
}

int ecs_list_services_by_namespace(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                   struct wh_err *err)
{
    int64_t max = 0; /* page_args sets it on success */
    cleanup_free char *after = NULL;
    if (page_args(in, &max, &after, err) < 0)
        return -1;
    const char *ns = json_str(in, "namespace");
    char **arns = NULL;
    size_t n = 0;
    int r = store_services_by_namespace(ctx->st, ctx->account, ctx->region, ns ? ns : "", after,
                                        (unsigned)max + 1, &arns, &n, err);
    if (r < 0)
        return r;
    *ret_out = page_out(arns, n, max);
    store_service_arns_free(arns);
    return 0;
}
