/* Pure rules of ECS clusters (see cluster_rules.h). */
#include "ecs/cluster_rules.h"

#include <stdio.h>
#include <string.h>

#include "aws/api.h"
#include "core/arn.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/xalloc.h"

bool ecs_cluster_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > ECS_CLUSTER_NAME_MAX)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            return false;
    return true;
}

char *ecs_cluster_ref_name(const char *ref, const char *region, const char *account)
{
    if (!ref)
        return xstrdup("default");
    if (!arn_looks_like(ref))
        return ecs_cluster_name_valid(ref) ? xstrdup(ref) : NULL;
    struct arn a;
    if (arn_parse(ref, &a) < 0 || strcmp(a.partition, "aws") != 0 ||
        strcmp(a.service, "ecs") != 0 || strcmp(a.region, region) != 0 ||
        strcmp(a.account, account) != 0 || strncmp(a.resource, "cluster/", 8) != 0)
        return NULL;
    const char *name = a.resource + 8;
    return ecs_cluster_name_valid(name) ? xstrdup(name) : NULL;
}

/* Valid values per cluster setting name; the model's enum limits the names. */
static const struct {
    const char *name;
    const char *const values[4];
} cluster_settings[] = {
    {"containerInsights", {"enabled", "disabled", "enhanced", NULL}},
};

static int setting_value_check(const char *name, const char *value, const char *field, size_t i,
                               struct wh_err *err)
{
    for (size_t s = 0; s < ARRAY_SIZE(cluster_settings); s++) {
        if (strcmp(cluster_settings[s].name, name) != 0)
            continue;
        for (const char *const *v = cluster_settings[s].values; *v; v++)
            if (value && strcmp(*v, value) == 0)
                return 0;
        return api_invalid(err,
                           "%s[%zu].value '%s' is not valid for %s; valid values: enabled, "
                           "disabled, enhanced",
                           field, i, value ? value : "", name);
    }
    return api_invalid(err, "%s[%zu].name '%s' is not a cluster setting", field, i, name);
}

int ecs_cluster_settings_merge(const json_t *base, const json_t *changes, const char *field,
                               json_t **ret_settings, struct wh_err *err)
{
    json_auto_t *out = base ? json_deep_copy(base) : json_array();
    size_t i;
    const json_t *c;
    json_array_foreach(changes, i, c) {
        const char *name = json_str(c, "name");
        const char *value = json_str(c, "value");
        if (!name)
            return api_invalid(err, "%s[%zu].name is required", field, i);
        if (setting_value_check(name, value, field, i, err) < 0)
            return -1;
        size_t j;
        json_t *o;
        bool found = false;
        json_array_foreach(out, j, o) {
            if (strcmp(json_str(o, "name"), name) == 0) {
                json_object_set_new(o, "value", json_string(value));
                found = true;
            }
        }
        if (!found)
            json_array_append_new(out, json_pack("{s:s, s:s}", "name", name, "value", value));
    }
    *ret_settings = TAKE_PTR(out);
    return 0;
}

bool ecs_capacity_provider_builtin(const char *name)
{
    return name && (strcmp(name, "FARGATE") == 0 || strcmp(name, "FARGATE_SPOT") == 0);
}

int ecs_capacity_providers_check(const json_t *providers, const char *field, struct wh_err *err)
{
    size_t i;
    const json_t *p;
    json_array_foreach(providers, i, p) {
        const char *name = json_string_value(p);
        if (!ecs_capacity_provider_builtin(name))
            return api_invalid(err,
                               "%s[%zu]: the specified capacity provider '%s' does not exist; "
                               "specify FARGATE or FARGATE_SPOT",
                               field, i, name ? name : "");
        for (size_t j = 0; j < i; j++)
            if (strcmp(json_string_value(json_array_get(providers, j)), name) == 0)
                return api_invalid(err, "%s[%zu]: capacity provider '%s' is given twice", field, i,
                                   name);
    }
    return 0;
}

static bool in_list(const json_t *list, const char *s)
{
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

static int strategy_item_check(const json_t *strategy, size_t i, const json_t *allowed,
                               const char *field, struct wh_err *err)
{
    const json_t *it = json_array_get(strategy, i);
    const char *cp = json_str(it, "capacityProvider");
    int64_t weight = json_int(it, "weight", 0), base = json_int(it, "base", 0);
    if (!cp || !*cp)
        return api_invalid(err, "%s[%zu].capacityProvider is required", field, i);
    if (allowed && !in_list(allowed, cp))
        return api_invalid(err,
                           "%s[%zu]: the specified capacity provider strategy cannot contain a "
                           "capacity provider that is not associated with the cluster ('%s'); "
                           "associate it with the cluster or specify a valid capacity provider",
                           field, i, cp);
    if (!allowed && !ecs_capacity_provider_builtin(cp))
        return api_invalid(err, "%s[%zu]: the specified capacity provider '%s' does not exist",
                           field, i, cp);
    for (size_t j = 0; j < i; j++)
        if (strcmp(json_str(json_array_get(strategy, j), "capacityProvider"), cp) == 0)
            return api_invalid(err, "%s[%zu]: capacity provider '%s' is given twice", field, i, cp);
    if (weight < 0 || weight > ECS_STRATEGY_WEIGHT_MAX)
        return api_invalid(err, "%s[%zu].weight %lld is out of range 0..%d", field, i,
                           (long long)weight, ECS_STRATEGY_WEIGHT_MAX);
    if (base < 0 || base > ECS_STRATEGY_BASE_MAX)
        return api_invalid(err, "%s[%zu].base %lld is out of range 0..%d", field, i,
                           (long long)base, ECS_STRATEGY_BASE_MAX);
    return 0;
}

int ecs_capacity_strategy_check(const json_t *strategy, const json_t *allowed, const char *field,
                                struct wh_err *err)
{
    size_t n = json_array_size(strategy);
    if (n > ECS_STRATEGY_MAX_PROVIDERS)
        return api_invalid(err, "%s has %zu capacity providers; at most %d are allowed", field, n,
                           ECS_STRATEGY_MAX_PROVIDERS);
    long with_base = -1;
    bool any_weight = false;
    for (size_t i = 0; i < n; i++) {
        if (strategy_item_check(strategy, i, allowed, field, err) < 0)
            return -1;
        const json_t *it = json_array_get(strategy, i);
        if (json_int(it, "weight", 0) > 0)
            any_weight = true;
        if (json_int(it, "base", 0) > 0) {
            if (with_base >= 0)
                return api_invalid(err,
                                   "%s: only one capacity provider in a strategy can have a "
                                   "base; %s[%ld] and %s[%zu] both do",
                                   field, field, with_base, field, i);
            with_base = (long)i;
        }
    }
    if (n > 1 && !any_weight)
        return api_invalid(err,
                           "%s: at least one capacity provider in a strategy of several must "
                           "have a weight greater than 0",
                           field);
    return 0;
}

json_t *ecs_capacity_strategy_normalize(const json_t *strategy)
{
    json_t *out = json_array();
    size_t i;
    const json_t *it;
    json_array_foreach(strategy, i, it) {
        json_array_append_new(out, json_pack("{s:s, s:I, s:I}", "capacityProvider",
                                             json_str(it, "capacityProvider"), "weight",
                                             (json_int_t)json_int(it, "weight", 0), "base",
                                             (json_int_t)json_int(it, "base", 0)));
    }
    return out;
}

int ecs_cluster_configuration_check(const json_t *cfg, struct wh_err *err)
{
    const json_t *ecc = json_object_get(cfg, "executeCommandConfiguration");
    if (!ecc)
        return 0;
    const char *logging = json_str(ecc, "logging");
    bool override = logging && strcmp(logging, "OVERRIDE") == 0;
    bool has_log_cfg = json_is_object(json_object_get(ecc, "logConfiguration"));
    if (override && !has_log_cfg)
        return api_invalid(err, "configuration.executeCommandConfiguration.logConfiguration is "
                                "required when logging is OVERRIDE");
    if (!override && has_log_cfg)
        return api_invalid(err,
                           "configuration.executeCommandConfiguration.logConfiguration can only "
                           "be specified when logging is OVERRIDE (logging is %s)",
                           logging ? logging : "DEFAULT");
    return 0;
}

json_t *ecs_cluster_configuration_merge(const json_t *old, const json_t *changes)
{
    json_t *out = json_is_object(old) ? json_deep_copy(old) : json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)changes, k, v) {
        if (!json_is_null(v))
            json_object_set_new(out, k, json_deep_copy(v));
    }
    return out;
}

int ecs_service_connect_namespace_arn(const char *ns, const char *region, const char *account,
                                      char **ret_arn, struct wh_err *err)
{
    if (arn_looks_like(ns)) {
        struct arn a;
        if (arn_parse(ns, &a) < 0 || strcmp(a.service, "servicediscovery") != 0 ||
            strcmp(a.region, region) != 0 || strcmp(a.account, account) != 0 ||
            strncmp(a.resource, "namespace/", 10) != 0)
            return wh_err_set(err, 400, "NamespaceNotFoundException",
                              "serviceConnectDefaults.namespace '%s' is not a Cloud Map "
                              "namespace of region %s and account %s",
                              ns, region, account);
        *ret_arn = xstrdup(ns);
        return 0;
    }
    size_t n = strlen(ns);
    if (n < 1 || n > 1024)
        return api_invalid(err, "serviceConnectDefaults.namespace must be 1..1024 characters");
    for (const char *p = ns; *p; p++)
        if (*p < '!' || *p > '~')
            return api_invalid(err,
                               "serviceConnectDefaults.namespace '%s' may contain only "
                               "printable ASCII characters without spaces",
                               ns);
    cleanup_free char *seed = xasprintf("%s/%s/%s", account, region, ns);
    char hex[SHA256_HEX_LEN + 1];
    sha256_hex(seed, strlen(seed), hex);
    hex[16] = 0;
    cleanup_free char *res = xasprintf("namespace/ns-%s", hex);
    *ret_arn = arn_make("servicediscovery", region, account, res);
    return 0;
}
