/* ECS clusters: CreateCluster, DescribeClusters, ListClusters, UpdateCluster,
 * UpdateClusterSettings, PutClusterCapacityProviders and DeleteCluster.
 *
 * A deleted cluster stays as a row with status INACTIVE: DescribeClusters still shows it,
 * ListClusters and every mutation do not, and CreateCluster with its name starts it afresh. */
#include "ecs/clusters.h"

#include <string.h>

#include "core/arn.h"
#include "core/json.h"
#include "core/page.h"
#include "core/xalloc.h"
#include "ecs/account_settings.h"
#include "ecs/cluster_rules.h"
#include "ecs/handlers.h"
#include "ecs/tagging.h"

#define DESCRIBE_MAX 100
#define LIST_MAX 100

static int not_found(struct wh_err *err)
{
    return wh_err_set(err, 400, ERR_CLUSTER_NOT_FOUND, "Cluster not found.");
}

int ecs_cluster_resolve(struct api_ctx *ctx, const char *ref, unsigned flags,
                        struct store_cluster *ret_cluster, struct wh_err *err)
{
    cleanup_free char *name = ecs_cluster_ref_name(ref, ctx->region, ctx->account);
    if (!name)
        return not_found(err);
    struct store_cluster c = {0};
    int r = store_cluster_get(ctx->st, ctx->account, ctx->region, name, &c, err);
    if (r == -ENOENT)
        return not_found(err);
    if (r < 0)
        return r;
    if ((flags & ECS_CLUSTER_ACTIVE) && strcmp(c.status, "ACTIVE") != 0) {
        store_cluster_clear(&c);
        return wh_err_set(err, 400, ERR_CLUSTER_NOT_FOUND, "The referenced cluster was inactive.");
    }
    *ret_cluster = c;
    return 0;
}

unsigned ecs_cluster_include_mask(const json_t *include)
{
    static const struct {
        const char *name;
        unsigned bit;
    } map[] = {
        {"SETTINGS", ECS_CLUSTER_INCLUDE_SETTINGS},
        {"STATISTICS", ECS_CLUSTER_INCLUDE_STATISTICS},
        {"TAGS", ECS_CLUSTER_INCLUDE_TAGS},
        {"CONFIGURATIONS", ECS_CLUSTER_INCLUDE_CONFIGURATIONS},
    };
    unsigned mask = 0;
    size_t i;
    const json_t *v;
    json_array_foreach(include, i, v) {
        for (size_t m = 0; m < ARRAY_SIZE(map); m++)
            if (json_is_string(v) && strcmp(json_string_value(v), map[m].name) == 0)
                mask |= map[m].bit;
    }
    return mask;
}

static json_t *statistics_json(const struct store_cluster_counts *k)
{
    const struct {
        const char *name;
        int64_t value;
    } stats[] = {
        {"runningEC2TasksCount", k->running_ec2_tasks},
        {"runningFargateTasksCount", k->running_fargate_tasks},
        {"pendingEC2TasksCount", k->pending_ec2_tasks},
        {"pendingFargateTasksCount", k->pending_fargate_tasks},
        {"activeEC2ServiceCount", k->active_ec2_services},
        {"activeFargateServiceCount", k->active_fargate_services},
        {"drainingEC2ServiceCount", k->draining_ec2_services},
        {"drainingFargateServiceCount", k->draining_fargate_services},
    };
    json_t *a = json_array();
    for (size_t i = 0; i < ARRAY_SIZE(stats); i++) {
        char buf[24];
        snprintf(buf, sizeof(buf), "%lld", (long long)stats[i].value);
        json_array_append_new(a, json_pack("{s:s, s:s}", "name", stats[i].name, "value", buf));
    }
    return a;
}

int ecs_cluster_to_json(struct store *st, const struct store_cluster *c, unsigned include,
                        json_t **ret_json, struct wh_err *err)
{
    struct store_cluster_counts k;
    int r = store_cluster_counts(st, c->arn, &k, err);
    if (r < 0)
        return r;
    json_t *tags = NULL;
    if (include & ECS_CLUSTER_INCLUDE_TAGS) {
        r = ecs_tags_json(st, c->arn, &tags, err);
        if (r < 0)
            return r;
    }
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "clusterArn", c->arn,
        "clusterName", c->name, "status", c->status, "registeredContainerInstancesCount",
        (json_int_t)k.registered_container_instances, "runningTasksCount",
        (json_int_t)(k.running_ec2_tasks + k.running_fargate_tasks), "pendingTasksCount",
        (json_int_t)(k.pending_ec2_tasks + k.pending_fargate_tasks), "activeServicesCount",
        (json_int_t)(k.active_ec2_services + k.active_fargate_services), "statistics",
        (include & ECS_CLUSTER_INCLUDE_STATISTICS) ? statistics_json(&k) : json_array(), "tags",
        tags ? tags : json_array(), "settings",
        (include & ECS_CLUSTER_INCLUDE_SETTINGS) ? json_parse_trusted(c->settings) : json_array(),
        "capacityProviders", json_parse_trusted(c->capacity_providers),
        "defaultCapacityProviderStrategy", json_parse_trusted(c->default_strategy));
    if ((include & ECS_CLUSTER_INCLUDE_CONFIGURATIONS) && c->configuration)
        json_object_set_new(j, "configuration", json_parse_trusted(c->configuration));
    if (c->service_connect_defaults)
        json_object_set_new(j, "serviceConnectDefaults",
                            json_parse_trusted(c->service_connect_defaults));
    *ret_json = j;
    return 0;
}

/* {"cluster": c} with the parts mutations return. */
static int reply_cluster(struct store *st, const struct store_cluster *c, json_t **ret_out,
                         struct wh_err *err)
{
    json_t *j = NULL;
    int r = ecs_cluster_to_json(st, c, ECS_CLUSTER_INCLUDE_MUTATION, &j, err);
    if (r < 0)
        return r;
    *ret_out = json_pack("{s:o}", "cluster", j);
    return 0;
}

static void set_json(char **field, const json_t *v)
{
    free(*field);
    *field = v ? json_text(v) : NULL;
}

/* serviceConnectDefaults of a request into the stored {namespace: ARN}; "" clears it. */
static int service_connect_apply(struct api_ctx *ctx, const json_t *scd, struct store_cluster *c,
                                 struct wh_err *err)
{
    if (!scd)
        return 0;
    const char *ns = json_str(scd, "namespace");
    if (!ns || !*ns) {
        set_json(&c->service_connect_defaults, NULL);
        return 0;
    }
    cleanup_free char *ns_arn = NULL;
    if (ecs_service_connect_namespace_arn(ns, ctx->region, ctx->account, &ns_arn, err) < 0)
        return -1;
    json_auto_t *j = json_pack("{s:s}", "namespace", ns_arn);
    set_json(&c->service_connect_defaults, j);
    return 0;
}

/* ---- CreateCluster ---- */

struct create_args {
    struct api_ctx *ctx;
    const json_t *in;
    const char *name;
    struct store_cluster c; /* out: the cluster as it now is */
};

static int create_check(const json_t *in, struct wh_err *err)
{
    const json_t *providers = json_object_get(in, "capacityProviders");
    json_auto_t *none = json_array();
    json_auto_t *settings = NULL;
    if (ecs_tags_validate(json_object_get(in, "tags"), "tags", err) < 0 ||
        ecs_cluster_settings_merge(NULL, json_object_get(in, "settings"), "settings", &settings,
                                   err) < 0 ||
        ecs_cluster_configuration_check(json_object_get(in, "configuration"), err) < 0 ||
        ecs_capacity_providers_check(providers, "capacityProviders", err) < 0 ||
        ecs_capacity_strategy_check(json_object_get(in, "defaultCapacityProviderStrategy"),
                                    providers ? providers : none, "defaultCapacityProviderStrategy",
                                    err) < 0)
        return -1;
    return 0;
}

/* A fresh cluster row from the request; containerInsights defaults to the caller's
 * effective account setting, as in ECS. */
static int create_build(struct create_args *a, struct wh_err *err)
{
    struct api_ctx *ctx = a->ctx;
    cleanup_free char *insights = NULL, *from = NULL;
    int r = ecs_account_setting_effective(ctx->st, ctx->account, ctx->region, ctx->principal_arn,
                                          "containerInsights", &insights, &from, err);
    if (r < 0)
        return r;
    json_auto_t *base = json_pack("[{s:s, s:s}]", "name", "containerInsights", "value", insights);
    json_auto_t *settings = NULL;
    if (ecs_cluster_settings_merge(base, json_object_get(a->in, "settings"), "settings", &settings,
                                   err) < 0)
        return -1;
    const json_t *providers = json_object_get(a->in, "capacityProviders");
    json_auto_t *strategy =
        ecs_capacity_strategy_normalize(json_object_get(a->in, "defaultCapacityProviderStrategy"));
    cleanup_free char *resource = xasprintf("cluster/%s", a->name);
    struct store_cluster *c = &a->c;
    *c = (struct store_cluster){
        .account = xstrdup(ctx->account),
        .region = xstrdup(ctx->region),
        .name = xstrdup(a->name),
        .arn = arn_make("ecs", ctx->region, ctx->account, resource),
        .status = xstrdup("ACTIVE"),
        .settings = json_text(settings),
        .capacity_providers = providers ? json_text(providers) : xstrdup("[]"),
        .default_strategy = json_text(strategy),
        .created_at = ctx->now,
    };
    set_json(&c->configuration, json_object_get(a->in, "configuration"));
    return service_connect_apply(ctx, json_object_get(a->in, "serviceConnectDefaults"), c, err);
}

static int create_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct create_args *a = arg;
    struct api_ctx *ctx = a->ctx;
    int r = store_cluster_get(st, ctx->account, ctx->region, a->name, &a->c, err);
    if (r == 0 && strcmp(a->c.status, "ACTIVE") == 0)
        return 0; /* idempotent on the name: the existing cluster, unchanged */
    bool reactivate = r == 0;
    if (r < 0 && r != -ENOENT)
        return r;
    store_cluster_clear(&a->c);
    if (create_build(a, err) < 0)
        return -1;
    if ((r = store_cluster_put(st, &a->c, err)) < 0)
        return r;
    /* A re-created cluster starts afresh: the old incarnation's tags go. */
    if (reactivate && (r = ecs_tags_drop(st, a->c.arn, err)) < 0)
        return r;
    const json_t *tags = json_object_get(a->in, "tags");
    return tags ? ecs_tags_apply(st, a->c.arn, tags, err) : 0;
}

int ecs_create_cluster(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    const char *name = json_str(in, "clusterName");
    if (!name)
        name = "default";
    if (!ecs_cluster_name_valid(name))
        return api_invalid(err,
                           "clusterName '%s' is not valid: up to %d letters (uppercase and "
                           "lowercase), numbers, underscores and hyphens are allowed",
                           name, ECS_CLUSTER_NAME_MAX);
    if (create_check(in, err) < 0)
        return -1;
    struct create_args a = {.ctx = ctx, .in = in, .name = name};
    int r = store_tx(ctx->st, create_tx, &a, err);
    if (r == 0)
        r = reply_cluster(ctx->st, &a.c, ret_out, err);
    store_cluster_clear(&a.c);
    return r;
}

/* ---- DescribeClusters ---- */

static bool seen_arn(const json_t *clusters, const json_t *failures, const char *arn)
{
    const json_t *lists[] = {clusters, failures};
    for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
        size_t i;
        const json_t *v;
        json_array_foreach(lists[l], i, v) {
            const char *a = json_str(v, l == 0 ? "clusterArn" : "arn");
            if (a && strcmp(a, arn) == 0)
                return true;
        }
    }
    return false;
}

static int describe_one(struct api_ctx *ctx, const char *ref, unsigned include, json_t *clusters,
                        json_t *failures, struct wh_err *err)
{
    cleanup_free char *name = ecs_cluster_ref_name(ref, ctx->region, ctx->account);
    cleanup_cluster struct store_cluster c = {0};
    int r = name ? store_cluster_get(ctx->st, ctx->account, ctx->region, name, &c, err) : -ENOENT;
    if (r == -ENOENT) {
        cleanup_free char *res = xasprintf("cluster/%s", ref);
        cleanup_free char *arn =
            arn_looks_like(ref) ? xstrdup(ref) : arn_make("ecs", ctx->region, ctx->account, res);
        if (!seen_arn(clusters, failures, arn))
            json_array_append_new(failures,
                                  json_pack("{s:s, s:s}", "arn", arn, "reason", "MISSING"));
        return 0;
    }
    if (r < 0)
        return r;
    if (seen_arn(clusters, failures, c.arn))
        return 0;
    json_t *j = NULL;
    if ((r = ecs_cluster_to_json(ctx->st, &c, include, &j, err)) < 0)
        return r;
    json_array_append_new(clusters, j);
    return 0;
}

int ecs_describe_clusters(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    const json_t *refs = json_object_get(in, "clusters");
    json_auto_t *dflt = json_pack("[s]", "default");
    if (!json_array_size(refs))
        refs = dflt;
    if (json_array_size(refs) > DESCRIBE_MAX)
        return api_invalid(err, "clusters has %zu entries; at most %d can be described at once",
                           json_array_size(refs), DESCRIBE_MAX);
    unsigned include = ecs_cluster_include_mask(json_object_get(in, "include"));
    json_auto_t *clusters = json_array(), *failures = json_array();
    size_t i;
    const json_t *ref;
    json_array_foreach(refs, i, ref) {
        if (!json_is_string(ref))
            return api_invalid(err, "clusters[%zu] must be a string", i);
        int r = describe_one(ctx, json_string_value(ref), include, clusters, failures, err);
        if (r < 0)
            return r;
    }
    *ret_out = json_pack("{s:O, s:O}", "clusters", clusters, "failures", failures);
    return 0;
}

/* ---- ListClusters ---- */

int ecs_list_clusters(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    int64_t max = json_int(in, "maxResults", LIST_MAX);
    if (max < 1 || max > LIST_MAX)
        return api_invalid(err, "maxResults %lld is out of range 1..%d", (long long)max, LIST_MAX);
    cleanup_free char *after = NULL;
    const char *tok = json_str(in, "nextToken");
    if (tok && page_token_decode(tok, &after) < 0)
        return api_invalid(err, "nextToken '%.64s' is not a token this service returned", tok);
    char **names = NULL;
    size_t n = 0;
    /* One row more than the page tells whether another page follows. */
    int r = store_clusters_list_active(ctx->st, ctx->account, ctx->region, after, (unsigned)max + 1,
                                       &names, &n, err);
    if (r < 0)
        return r;
    bool more = n > (size_t)max;
    if (more)
        n = (size_t)max;
    json_t *arns = json_array();
    for (size_t i = 0; i < n; i++) {
        cleanup_free char *res = xasprintf("cluster/%s", names[i]);
        cleanup_free char *arn = arn_make("ecs", ctx->region, ctx->account, res);
        json_array_append_new(arns, json_string(arn));
    }
    json_t *out = json_pack("{s:o}", "clusterArns", arns);
    if (more) {
        cleanup_free char *next = page_token_encode(names[n - 1]);
        json_object_set_new(out, "nextToken", json_string(next));
    }
    store_cluster_names_free(names);
    *ret_out = out;
    return 0;
}

/* ---- Mutations of an existing cluster: one transaction of resolve, change, write ---- */

typedef int (*cluster_change_fn)(struct api_ctx *ctx, const json_t *in, struct store_cluster *c,
                                 struct wh_err *err);

struct mutate_args {
    struct api_ctx *ctx;
    const json_t *in;
    cluster_change_fn change;
    struct store_cluster c; /* out */
};

static int mutate_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct mutate_args *a = arg;
    int r = ecs_cluster_resolve(a->ctx, json_str(a->in, "cluster"), ECS_CLUSTER_ACTIVE, &a->c, err);
    if (r < 0)
        return r;
    if ((r = a->change(a->ctx, a->in, &a->c, err)) < 0)
        return r;
    return store_cluster_put(st, &a->c, err);
}

static int mutate(struct api_ctx *ctx, const json_t *in, cluster_change_fn change, json_t **ret_out,
                  struct wh_err *err)
{
    struct mutate_args a = {.ctx = ctx, .in = in, .change = change};
    int r = store_tx(ctx->st, mutate_tx, &a, err);
    if (r == 0)
        r = reply_cluster(ctx->st, &a.c, ret_out, err);
    store_cluster_clear(&a.c);
    return r;
}

static int change_settings(const json_t *in, struct store_cluster *c, struct wh_err *err)
{
    const json_t *changes = json_object_get(in, "settings");
    if (!changes)
        return 0;
    json_auto_t *old = json_parse_trusted(c->settings);
    json_auto_t *merged = NULL;
    if (ecs_cluster_settings_merge(old, changes, "settings", &merged, err) < 0)
        return -1;
    set_json(&c->settings, merged);
    return 0;
}

/* ---- UpdateCluster, UpdateClusterSettings ---- */

static int change_update(struct api_ctx *ctx, const json_t *in, struct store_cluster *c,
                         struct wh_err *err)
{
    if (change_settings(in, c, err) < 0)
        return -1;
    const json_t *cfg = json_object_get(in, "configuration");
    if (cfg) {
        json_auto_t *old = json_parse_trusted(c->configuration);
        json_auto_t *merged = ecs_cluster_configuration_merge(old, cfg);
        if (ecs_cluster_configuration_check(merged, err) < 0)
            return -1;
        set_json(&c->configuration, merged);
    }
    return service_connect_apply(ctx, json_object_get(in, "serviceConnectDefaults"), c, err);
}

int ecs_update_cluster(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    return mutate(ctx, in, change_update, ret_out, err);
}

static int change_settings_only(struct api_ctx *ctx, const json_t *in, struct store_cluster *c,
                                struct wh_err *err)
{
    (void)ctx;
    return change_settings(in, c, err);
}

int ecs_update_cluster_settings(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                struct wh_err *err)
{
    return mutate(ctx, in, change_settings_only, ret_out, err);
}

/* ---- PutClusterCapacityProviders ---- */

static int change_providers(struct api_ctx *ctx, const json_t *in, struct store_cluster *c,
                            struct wh_err *err)
{
    (void)ctx;
    /* Both members are required by the model: the call replaces both, [] clearing them. */
    json_auto_t *none = json_array();
    const json_t *providers = json_object_get(in, "capacityProviders");
    const json_t *strategy = json_object_get(in, "defaultCapacityProviderStrategy");
    if (!providers)
        providers = none;
    if (ecs_capacity_providers_check(providers, "capacityProviders", err) < 0 ||
        ecs_capacity_strategy_check(strategy, providers, "defaultCapacityProviderStrategy", err) <
            0)
        return -1;
    /* TODO(services): ResourceInUseException when a provider being removed is used by a
     * service's strategy, once services exist. */
    json_auto_t *normal = ecs_capacity_strategy_normalize(strategy);
    set_json(&c->capacity_providers, providers);
    set_json(&c->default_strategy, normal);
    return 0;
}

int ecs_put_cluster_capacity_providers(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                       struct wh_err *err)
{
    return mutate(ctx, in, change_providers, ret_out, err);
}

/* ---- DeleteCluster ---- */

static int change_delete(struct api_ctx *ctx, const json_t *in, struct store_cluster *c,
                         struct wh_err *err)
{
    (void)in;
    struct store_cluster_counts k;
    int r = store_cluster_counts(ctx->st, c->arn, &k, err);
    if (r < 0)
        return r;
    if (k.registered_container_instances > 0)
        return wh_err_set(err, 400, "ClusterContainsContainerInstancesException",
                          "The Cluster cannot be deleted while Container Instances are active "
                          "or draining. (%s has %lld)",
                          c->name, (long long)k.registered_container_instances);
    int64_t services = k.active_ec2_services + k.active_fargate_services + k.draining_ec2_services +
                       k.draining_fargate_services;
    if (services > 0)
        return wh_err_set(err, 400, "ClusterContainsServicesException",
                          "The Cluster cannot be deleted while Services are active. (%s has "
                          "%lld)",
                          c->name, (long long)services);
    int64_t tasks = k.running_ec2_tasks + k.running_fargate_tasks + k.pending_ec2_tasks +
                    k.pending_fargate_tasks;
    if (tasks > 0)
        return wh_err_set(err, 400, "ClusterContainsTasksException",
                          "The Cluster cannot be deleted while Tasks are active. (%s has %lld)",
                          c->name, (long long)tasks);
    free(c->status);
    c->status = xstrdup("INACTIVE");
    return 0;
}

int ecs_delete_cluster(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    return mutate(ctx, in, change_delete, ret_out, err);
}
