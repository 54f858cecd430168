/* RegisterContainerInstance: an agent joins a cluster, or re-registers with its ARN after a
 * restart (same row, same tasks, resources and attributes refreshed). An agent that sets the
 * attribute wharf.capacity=FARGATE registers wharf-managed Fargate capacity instead, which
 * belongs to no user cluster (docs/agent-protocol.md). */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/arn.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "ecs/attributes.h"
#include "ecs/cluster_rules.h"
#include "ecs/clusters.h"
#include "ecs/handlers.h"
#include "ecs/instance_subnets.h"
#include "ecs/instance_view.h"
#include "ecs/instances.h"
#include "ecs/service_controller.h"
#include "ecs/tagging.h"
#include "store/attributes.h"
#include "store/instances.h"

struct reg_resources {
    int64_t cpu, memory;
    char *tcp, *udp; /* JSON text arrays of port strings */
};

static int64_t resource_number(const json_t *r)
{
    const char *keys[] = {"integerValue", "longValue"};
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        if (json_is_integer(json_object_get(r, keys[i])) && json_int(r, keys[i], 0) != 0)
            return json_int(r, keys[i], 0);
    const json_t *d = json_object_get(r, "doubleValue");
    return json_is_number(d) ? (int64_t)json_number_value(d) : 0;
}

static int resource_ports(const json_t *r, size_t i, char **ret, struct wh_err *err)
{
    json_auto_t *out = json_array();
    size_t k;
    const json_t *p;
    json_array_foreach(json_object_get(r, "stringSetValue"), k, p) {
        const char *s = json_string_value(p);
        char *end = NULL;
        long v = s ? strtol(s, &end, 10) : -1;
        if (!s || !*s || *end || v < 0 || v > 65535)
            return api_invalid(err, "totalResources[%zu].stringSetValue[%zu] '%s' is not a port",
                               i, k, s ? s : "");
        json_array_append_new(out, json_string(s));
    }
    free(*ret);
    *ret = json_text(out);
    return 0;
}

static int parse_resources(const json_t *list, struct reg_resources *ret, struct wh_err *err)
{
    size_t i;
    const json_t *r;
    json_array_foreach(list, i, r) {
        const char *name = json_str(r, "name");
        if (!name)
            continue;
        int rc = 0;
        if (strcmp(name, "CPU") == 0)
            ret->cpu = resource_number(r);
        else if (strcmp(name, "MEMORY") == 0)
            ret->memory = resource_number(r);
        else if (strcmp(name, "PORTS") == 0)
            rc = resource_ports(r, i, &ret->tcp, err);
        else if (strcmp(name, "PORTS_UDP") == 0)
            rc = resource_ports(r, i, &ret->udp, err);
        if (rc < 0)
            return -1;
    }
    if (ret->cpu <= 0 || ret->memory <= 0)
        return api_invalid(err, "totalResources must give CPU and MEMORY as positive integers "
                                "(CPU units and MiB)");
    return 0;
}

/* instanceIdentityDocument: a JSON document with instanceId, else a new id i-<17 hex>. */
static char *instance_id(const char *doc)
{
    json_auto_t *j = doc ? json_loads(doc, 0, NULL) : NULL;
    const char *id = json_str(j, "instanceId");
    if (id && *id && strlen(id) < 128)
        return xstrdup(id);
    char hex[18];
    random_hex(hex, 17);
    return xasprintf("i-%s", hex);
}

static bool wants_fargate(const json_t *attrs)
{
    size_t i;
    const json_t *a;
    json_array_foreach(attrs, i, a) {
        const char *n = json_str(a, "name"), *v = json_str(a, "value");
        if (n && strcmp(n, WHARF_CAPACITY_ATTRIBUTE) == 0 && v && strcmp(v, "FARGATE") == 0)
            return true;
    }
    return false;
}

static int check_request(const json_t *in, struct reg_resources *res, struct wh_err *err)
{
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(in, "attributes"), i, a) {
        char field[48];
        snprintf(field, sizeof(field), "attributes[%zu]", i);
        if (ecs_attribute_check(a, field, err) < 0)
            return -1;
    }
    if (ecs_tags_validate(json_object_get(in, "tags"), "tags", err) < 0)
        return -1;
    return parse_resources(json_object_get(in, "totalResources"), res, err);
}

struct reg_args {
    struct api_ctx *ctx;
    const json_t *in;
    bool fargate;
    char *cluster_arn, *cluster_name;
    struct reg_resources res;
    struct store_instance inst; /* out */
};

/* The row to write: the existing one when re-registering (its ARN, registeredAt, version). */
static int build_row(struct reg_args *a, struct store *st, struct wh_err *err)
{
    struct api_ctx *ctx = a->ctx;
    const char *arn = json_str(a->in, "containerInstanceArn");
    struct store_instance *in = &a->inst;
    if (arn) {
        int r = store_instance_get(st, ctx->account, ctx->region, arn, in, err);
        if (r == -ENOENT || (r == 0 && strcmp(in->cluster_arn, a->cluster_arn) != 0))
            return api_invalid(err, "containerInstanceArn %s is not registered in cluster %s",
                               arn, a->cluster_arn);
        if (r < 0)
            return r;
    } else {
        char id[33];
        random_hex(id, 32);
        cleanup_free char *res = xasprintf("container-instance/%s/%s", a->cluster_name, id);
        *in = (struct store_instance){
            .account = xstrdup(ctx->account),
            .region = xstrdup(ctx->region),
            .cluster_arn = xstrdup(a->cluster_arn),
            .arn = arn_make("ecs", ctx->region, ctx->account, res),
            .registered_at = ctx->now,
            .desired_version = 1,
        };
    }
    const json_t *vi = json_object_get(a->in, "versionInfo");
    free(in->ec2_instance_id);
    in->ec2_instance_id = instance_id(json_str(a->in, "instanceIdentityDocument"));
    free(in->capacity);
    in->capacity = xstrdup(a->fargate ? "FARGATE" : "EC2");
    free(in->status);
    in->status = xstrdup("ACTIVE");
    free(in->status_reason);
    in->status_reason = NULL;
    free(in->agent_version);
    in->agent_version = json_str(vi, "agentVersion") ? xstrdup(json_str(vi, "agentVersion")) : NULL;
    free(in->version_info);
    in->version_info = vi ? json_text(vi) : xstrdup("{}");
    in->last_poll = ctx->now; /* registering is a sign of life too */
    in->total_cpu = a->res.cpu;
    in->total_memory = a->res.memory;
    free(in->ports_tcp);
    in->ports_tcp = a->res.tcp ? xstrdup(a->res.tcp) : xstrdup("[]");
    free(in->ports_udp);
    in->ports_udp = a->res.udp ? xstrdup(a->res.udp) : xstrdup("[]");
    return 0;
}

/* The instance's task subnets: kept from its last registration while they are in the pool
 * and no other instance holds them, else the lowest free pair of the pool. */
static int assign_subnets(struct reg_args *a, struct store *st, struct wh_err *err)
{
    struct store_instance *in = &a->inst;
    const char *pool = a->ctx->cfg && a->ctx->cfg->task_subnet_pool ? a->ctx->cfg->task_subnet_pool
                                                                    : ECS_SUBNET_POOL_DEFAULT;
    char **used = NULL;
    size_t n = 0;
    int r = store_instances_subnets(st, in->arn, &used, &n, err);
    if (r < 0)
        return r;
    const char *const *u = (const char *const *)used;
    char aw[24], br[24];
    if (!ecs_subnets_still_free(pool, in->subnet_awsvpc, in->subnet_bridge, u, n) &&
        (r = ecs_subnets_pick(pool, u, n, aw, br, err)) == 0) {
        free(in->subnet_awsvpc);
        free(in->subnet_bridge);
        in->subnet_awsvpc = xstrdup(aw);
        in->subnet_bridge = xstrdup(br);
    }
    store_subnets_free(used);
    return r;
}

static int reg_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct reg_args *a = arg;
    int r = build_row(a, st, err);
    if (r == 0)
        r = assign_subnets(a, st, err);
    if (r < 0)
        return r;
    if ((r = store_instance_put(st, &a->inst, err)) < 0)
        return r;
    size_t i;
    const json_t *attr;
    json_array_foreach(json_object_get(a->in, "attributes"), i, attr) {
        struct store_attribute row = {a->inst.arn, (char *)"container-instance",
                                      (char *)json_str(attr, "name"),
                                      (char *)json_str(attr, "value")};
        if ((r = store_attribute_put(st, a->cluster_arn, &row, err)) < 0)
            return r;
    }
    const json_t *tags = json_object_get(a->in, "tags");
    return json_array_size(tags) ? ecs_tags_apply(st, a->inst.arn, tags, err) : 0;
}

/* The cluster the instance joins: a user cluster (ACTIVE) or, for Fargate capacity, the name
 * given with no cluster row behind it. */
static int reg_cluster(struct reg_args *a, struct wh_err *err)
{
    struct api_ctx *ctx = a->ctx;
    const char *ref = json_str(a->in, "cluster");
    if (a->fargate) {
        a->cluster_name = ecs_cluster_ref_name(ref ? ref : WHARF_FARGATE_CLUSTER, ctx->region,
                                               ctx->account);
        if (!a->cluster_name)
            return api_invalid(err, "cluster '%s' is not a cluster name", ref);
        cleanup_free char *res = xasprintf("cluster/%s", a->cluster_name);
        a->cluster_arn = arn_make("ecs", ctx->region, ctx->account, res);
        return 0;
    }
    cleanup_cluster struct store_cluster c = {0};
    int r = ecs_cluster_resolve(ctx, ref, ECS_CLUSTER_ACTIVE, &c, err);
    if (r < 0)
        return r;
    a->cluster_arn = TAKE_PTR(c.arn);
    a->cluster_name = TAKE_PTR(c.name);
    return 0;
}

static int reply(struct api_ctx *ctx, struct reg_args *a, json_t **ret_out, struct wh_err *err)
{
    struct instance_view v;
    int r = instance_view_load(ctx->st, &a->inst, &v, err);
    if (r < 0)
        return r;
    json_t *tags = NULL;
    if ((r = ecs_tags_json(ctx->st, v.inst.arn, &tags, err)) == 0)
        *ret_out = json_pack("{s:o}", "containerInstance", instance_to_json(&v, ctx->now, tags));
    instance_view_clear(&v);
    return r;
}

int ecs_register_container_instance(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                    struct wh_err *err)
{
    struct reg_args a = {.ctx = ctx, .in = in};
    a.fargate = wants_fargate(json_object_get(in, "attributes"));
    int r = check_request(in, &a.res, err);
    if (r == 0)
        r = reg_cluster(&a, err);
    if (r == 0)
        r = store_tx(ctx->st, reg_tx, &a, err);
    if (r == 0) /* DAEMON services follow new instances; Fargate capacity serves all */
        service_controller_kick(a.fargate ? NULL : a.cluster_arn);
    if (r == 0)
        r = reply(ctx, &a, ret_out, err);
    store_instance_clear(&a.inst);
    free(a.cluster_arn);
    free(a.cluster_name);
    free(a.res.tcp);
    free(a.res.udp);
    return r;
}
