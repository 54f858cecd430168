#include "ecs/service_rules.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "aws/api.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/xalloc.h"

int service_name_check(const char *name, struct wh_err *err)
{
    size_t n = name ? strlen(name) : 0;
    bool ok = n >= 1 && n <= 255;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)name[i]) || name[i] == '-' || name[i] == '_';
    if (!ok)
        return api_invalid(err, "serviceName '%.255s' must be 1 to 255 letters, numbers, "
                                "hyphens and underscores",
                           name ? name : "");
    return 0;
}

/* ---- deploymentConfiguration ---- */

static json_t *deployment_defaults(bool daemon)
{
    return json_pack("{s:{s:b, s:b}, s:i, s:i}", "deploymentCircuitBreaker", "enable", 0,
                     "rollback", 0, "maximumPercent", daemon ? 100 : 200,
                     "minimumHealthyPercent", daemon ? 0 : 100);
}

static int percent_checks(const json_t *cfg, bool daemon, struct wh_err *err)
{
    json_int_t max = json_integer_value(json_object_get(cfg, "maximumPercent"));
    json_int_t min = json_integer_value(json_object_get(cfg, "minimumHealthyPercent"));
    if (min < 0 || min > 100)
        return api_invalid(err, "deploymentConfiguration.minimumHealthyPercent %lld is out of "
                                "range 0..100",
                           (long long)min);
    if (daemon && max != 100)
        return api_invalid(err, "deploymentConfiguration.maximumPercent %lld: a DAEMON service "
                                "runs one task per instance, so it must be 100",
                           (long long)max);
    if (max < 100)
        return api_invalid(err, "deploymentConfiguration.maximumPercent %lld must be at least "
                                "100",
                           (long long)max);
    if (max < min)
        return api_invalid(err, "deploymentConfiguration.maximumPercent %lld is below "
                                "minimumHealthyPercent %lld",
                           (long long)max, (long long)min);
    return 0;
}

int service_deployment_config(const json_t *given, const json_t *prev, bool daemon,
                              json_t **ret, struct wh_err *err)
{
    json_auto_t *cfg = prev ? json_deep_copy(prev) : deployment_defaults(daemon);
    const char *strategy = json_str(given, "strategy");
    if (strategy && strcmp(strategy, "ROLLING") != 0)
        return api_invalid(err, "deploymentConfiguration.strategy %s is not supported by "
                                "wharf: deployments are ROLLING",
                           strategy);
    static const char *const keys[] = {"maximumPercent", "minimumHealthyPercent",
                                       "deploymentCircuitBreaker", "alarms", "strategy",
                                       "bakeTimeInMinutes"};
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        json_t *v = json_object_get(given, keys[i]);
        if (v && !json_is_null(v))
            json_object_set(cfg, keys[i], v);
    }
    if (daemon && !json_object_get(given, "maximumPercent") && !prev)
        json_object_set_new(cfg, "maximumPercent", json_integer(100));
    if (percent_checks(cfg, daemon, err) < 0)
        return -1;
    *ret = json_incref(cfg);
    return 0;
}

/* ---- placement ---- */

int service_placement_check(const json_t *constraints, const json_t *strategies, bool fargate,
                            bool daemon, struct wh_err *err)
{
    size_t nc = json_array_size(constraints), ns = json_array_size(strategies);
    if (nc > SERVICE_MAX_CONSTRAINTS || ns > SERVICE_MAX_STRATEGIES)
        return api_invalid(err, "at most %d placementConstraints and %d placementStrategy items "
                                "can be given (got %zu and %zu)",
                           SERVICE_MAX_CONSTRAINTS, SERVICE_MAX_STRATEGIES, nc, ns);
    if (fargate && (nc || ns))
        return api_invalid(err, "Task placement constraints and strategies are not supported "
                                "for launch type FARGATE.");
    if (daemon && ns)
        return api_invalid(err, "placementStrategy: a DAEMON service places one task on each "
                                "container instance and takes no placement strategy");
    struct service_placement p;
    int r = service_placement_parse(constraints, NULL, strategies, daemon, &p, err);
    if (r == 0)
        service_placement_clear(&p);
    return r;
}

int service_placement_parse(const json_t *constraints, const json_t *td_constraints,
                            const json_t *strategies, bool daemon, struct service_placement *ret,
                            struct wh_err *err)
{
    struct service_placement p = {0};
    const json_t *lists[] = {constraints, td_constraints};
    for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
        size_t i;
        const json_t *c;
        json_array_foreach(lists[l], i, c) {
            if (p.ncons == ARRAY_SIZE(p.cons))
                break;
            if (sched_constraint_parse(json_str(c, "type"), json_str(c, "expression"),
                                       &p.cons[p.ncons], err) < 0) {
                service_placement_clear(&p);
                return wh_err_prefix(err, "%s[%zu]: ",
                                     l ? "taskDefinition.placementConstraints"
                                       : "placementConstraints",
                                     i);
            }
            p.ncons++;
        }
    }
    size_t i;
    const json_t *s;
    json_array_foreach(strategies, i, s) {
        if (p.nstrat == SERVICE_MAX_STRATEGIES)
            break;
        const char *type = json_str(s, "type");
        if (sched_strategy_parse(type ? type : "", json_str(s, "field"), &p.strat[p.nstrat],
                                 err) < 0) {
            service_placement_clear(&p);
            return wh_err_prefix(err, "placementStrategy[%zu]: ", i);
        }
        p.nstrat++;
    }
    if (p.nstrat == 0 && !daemon) {
        p.strat[p.nstrat++] = (struct sched_strategy){SCHED_SPREAD,
                                                      "attribute:ecs.availability-zone"};
        p.strat[p.nstrat++] = (struct sched_strategy){SCHED_SPREAD, "instanceId"};
    }
    *ret = p;
    return 0;
}

void service_placement_clear(struct service_placement *p)
{
    for (size_t i = 0; i < p->ncons; i++)
        query_free(p->cons[i].expr);
    memset(p, 0, sizeof(*p));
}

/* ---- network, updates, ids ---- */

int service_network_check(const json_t *td_body, const json_t *netcfg, struct wh_err *err)
{
    const char *mode = json_str(td_body, "networkMode");
    bool awsvpc = mode && strcmp(mode, "awsvpc") == 0;
    const json_t *vpc = json_object_get(netcfg, "awsvpcConfiguration");
    if (awsvpc && !vpc)
        return api_invalid(err, "Network Configuration must be provided when networkMode "
                                "'awsvpc' is specified.");
    if (awsvpc && json_array_size(json_object_get(vpc, "subnets")) == 0)
        return api_invalid(err, "networkConfiguration.awsvpcConfiguration.subnets can not be "
                                "empty.");
    if (!awsvpc && vpc)
        return api_invalid(err, "Network Configuration is not valid for the given networkMode "
                                "of this task definition ('%s').",
                           mode ? mode : "bridge");
    return 0;
}

bool service_update_deploys(const json_t *in, const char *new_td, const char *current_td,
                            const json_t *current)
{
    if (json_bool(in, "forceNewDeployment", false))
        return true;
    if (new_td && strcmp(new_td, current_td) != 0)
        return true;
    static const char *const shaping[] = {
        "networkConfiguration",        "platformVersion",  "capacityProviderStrategy",
        "loadBalancers",               "serviceRegistries", "serviceConnectConfiguration",
        "volumeConfigurations",        "vpcLatticeConfigurations", "enableExecuteCommand",
    };
    for (size_t i = 0; i < ARRAY_SIZE(shaping); i++) {
        const json_t *v = json_object_get(in, shaping[i]);
        if (v && !json_is_null(v) && !json_equal(v, json_object_get(current, shaping[i])))
            return true;
    }
    return false;
}

void service_deployment_id(char out[28])
{
    uint64_t v;
    random_bytes(&v, sizeof(v));
    /* 19 digits, the first not zero, as ECS's ids look */
    v = 1000000000000000000ULL + v % 8000000000000000000ULL;
    snprintf(out, 28, "ecs-svc/%019" PRIu64, v);
}

/* ---- events ---- */

const char *service_arn_id(const char *arn)
{
    const char *slash = strrchr(arn, '/');
    return slash ? slash + 1 : arn;
}

static char *tasks_msg(const char *service, const char *verb, char *const *arns, size_t n)
{
    size_t len = strlen(service) + strlen(verb) + 64;
    for (size_t i = 0; i < n; i++)
        len += strlen(service_arn_id(arns[i])) + 8;
    char *m = xmalloc(len);
    int k = snprintf(m, len, "(service %s) %s %zu %stasks:", service, verb, n,
                     strcmp(verb, "has stopped") == 0 ? "running " : "");
    for (size_t i = 0; i < n; i++)
        k += snprintf(m + k, len - (size_t)k, " (task %s)", service_arn_id(arns[i]));
    snprintf(m + k, len - (size_t)k, ".");
    return m;
}

char *service_msg_started(const char *service, char *const *task_arns, size_t n)
{
    return tasks_msg(service, "has started", task_arns, n);
}

char *service_msg_stopped(const char *service, char *const *task_arns, size_t n)
{
    return tasks_msg(service, "has stopped", task_arns, n);
}

char *service_msg_steady(const char *service)
{
    return xasprintf("(service %s) has reached a steady state.", service);
}

char *service_msg_unplaced(const char *service, const char *instance_arn, const char *reason)
{
    static const char head[] = "was unable to place a task because no container instance met "
                               "all of its requirements.";
    static const char tail[] = "For more information, see the Troubleshooting section of the "
                               "Amazon ECS Developer Guide.";
    if (!instance_arn)
        return xasprintf("(service %s) %s Reason: No Container Instances were found in your "
                         "cluster. %s",
                         service, head, tail);
    return xasprintf("(service %s) %s The closest matching (container-instance %s) %s. %s",
                     service, head, service_arn_id(instance_arn), sched_reason_phrase(reason),
                     tail);
}

char *service_msg_unhealthy(const char *service, const char *task_arn)
{
    return xasprintf("(service %s) (task %s) failed container health checks.", service,
                     service_arn_id(task_arn));
}

char *service_msg_completed(const char *service, const char *deployment)
{
    return xasprintf("(service %s) (deployment %s) deployment completed.", service, deployment);
}

char *service_msg_failed(const char *service, const char *deployment)
{
    return xasprintf("(service %s) (deployment %s) deployment failed: tasks failed to start.",
                     service, deployment);
}

char *service_msg_rollback(const char *service, const char *deployment)
{
    return xasprintf("(service %s) rolling back to deployment %s.", service, deployment);
}
