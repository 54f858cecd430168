/* requiresAttributes and compatibilities as ECS reports them. Each attribute is one row: a
 * task-level condition or a condition on any container, with an optional argument. */
#include "ecs/taskdef_attrs.h"

#include <stdbool.h>
#include <string.h>

#include "core/json.h"
#include "core/xalloc.h"
#include "ecs/taskdef_validate.h"

#define CAP "com.amazonaws.ecs.capability."

static bool streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static const char *log_driver(const json_t *c)
{
    return json_str(json_object_get(c, "logConfiguration"), "logDriver");
}

/* Images in ECR: ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]/... */
static bool ecr_image(const json_t *c)
{
    const char *img = json_str(c, "image");
    const char *slash = img ? strchr(img, '/') : NULL;
    if (!slash)
        return false;
    const char *dkr = strstr(img, ".dkr.ecr.");
    const char *aws = strstr(img, ".amazonaws.com");
    return dkr && aws && dkr < slash && aws < slash;
}

/* Container conditions: c is the container, td the body, arg the row's argument. */
static bool c_log_driver(const json_t *td, const json_t *c, const char *arg)
{
    (void)td;
    return streq(log_driver(c), arg);
}
static bool c_awslogs_exec_role(const json_t *td, const json_t *c, const char *arg)
{
    (void)arg;
    return streq(log_driver(c), "awslogs") && json_str(td, "executionRoleArn");
}
static bool c_awslogs_create_group(const json_t *td, const json_t *c, const char *arg)
{
    (void)td, (void)arg;
    const json_t *opts = json_object_get(json_object_get(c, "logConfiguration"), "options");
    return streq(log_driver(c), "awslogs") && json_str(opts, "awslogs-create-group");
}
static bool c_ecr(const json_t *td, const json_t *c, const char *arg)
{
    (void)td, (void)arg;
    return ecr_image(c);
}
static bool c_ecr_exec_role(const json_t *td, const json_t *c, const char *arg)
{
    (void)arg;
    return ecr_image(c) && json_str(td, "executionRoleArn");
}
static bool c_has(const json_t *td, const json_t *c, const char *arg)
{
    (void)td;
    const json_t *v = json_object_get(c, arg);
    if (json_is_array(v))
        return json_array_size(v) > 0;
    if (json_is_object(v))
        return json_object_size(v) > 0;
    return v && !json_is_false(v) && !json_is_null(v);
}
static bool c_health_start_period(const json_t *td, const json_t *c, const char *arg)
{
    (void)td, (void)arg;
    return json_object_get(json_object_get(c, "healthCheck"), "startPeriod") != NULL;
}
static bool c_linux_param(const json_t *td, const json_t *c, const char *arg)
{
    (void)td;
    const json_t *v = json_object_get(json_object_get(c, "linuxParameters"), arg);
    return v && !json_is_false(v) && !(json_is_array(v) && json_array_size(v) == 0);
}
/* secrets by store: "asm" when valueFrom is a Secrets Manager ARN, "ssm" otherwise. */
static bool c_secrets(const json_t *td, const json_t *c, const char *arg)
{
    (void)td;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(c, "secrets"), i, s)
    {
        const char *from = json_str(s, "valueFrom");
        bool asm_ = from && strncmp(from, "arn:", 4) == 0 && strstr(from, ":secretsmanager:");
        if (asm_ == streq(arg, "asm"))
            return true;
    }
    return false;
}
static bool c_firelens(const json_t *td, const json_t *c, const char *arg)
{
    (void)td;
    return streq(json_str(json_object_get(c, "firelensConfiguration"), "type"), arg);
}

/* Task conditions. */
static bool t_has(const json_t *td, const json_t *c, const char *arg)
{
    (void)c;
    return json_object_get(td, arg) != NULL;
}
static bool t_awsvpc(const json_t *td, const json_t *c, const char *arg)
{
    (void)c, (void)arg;
    return streq(json_str(td, "networkMode"), "awsvpc");
}
static bool t_docker_volume(const json_t *td, const json_t *c, const char *arg)
{
    (void)c, (void)arg;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(td, "volumes"), i, v)
    {
        const json_t *dv = json_object_get(v, "dockerVolumeConfiguration");
        const char *driver = json_str(dv, "driver");
        if (dv && (!driver || streq(driver, "local")))
            return true;
    }
    return false;
}

struct attr_rule {
    const char *name;
    bool per_container; /* cond is tried on each container, else once on the task */
    bool (*cond)(const json_t *td, const json_t *c, const char *arg);
    const char *arg;
};

/* In the order ECS lists them. */
static const struct attr_rule rules[] = {
    {CAP "logging-driver.awslogs", true, c_log_driver, "awslogs"},
    {CAP "logging-driver.json-file", true, c_log_driver, "json-file"},
    {CAP "logging-driver.syslog", true, c_log_driver, "syslog"},
    {CAP "logging-driver.journald", true, c_log_driver, "journald"},
    {CAP "logging-driver.gelf", true, c_log_driver, "gelf"},
    {CAP "logging-driver.fluentd", true, c_log_driver, "fluentd"},
    {CAP "logging-driver.splunk", true, c_log_driver, "splunk"},
    {CAP "logging-driver.awsfirelens", true, c_log_driver, "awsfirelens"},
    {"ecs.capability.execution-role-awslogs", true, c_awslogs_exec_role, NULL},
    {CAP "ecr-auth", true, c_ecr, NULL},
    {CAP "docker-remote-api.1.19", true, c_log_driver, "awslogs"},
    {CAP "docker-remote-api.1.21", true, c_has, "memoryReservation"},
    {"ecs.capability.env-files.s3", true, c_has, "environmentFiles"},
    {CAP "task-iam-role", false, t_has, "taskRoleArn"},
    {CAP "privileged-container", true, c_has, "privileged"},
    {"ecs.capability.private-registry-authentication.secretsmanager", true, c_has,
     "repositoryCredentials"},
    {"ecs.capability.container-health-check", true, c_has, "healthCheck"},
    {"ecs.capability.execution-role-ecr-pull", true, c_ecr_exec_role, NULL},
    {"ecs.capability.secrets.ssm.environment-variables", true, c_secrets, "ssm"},
    {"ecs.capability.secrets.asm.environment-variables", true, c_secrets, "asm"},
    {"ecs.capability.firelens.fluentbit", true, c_firelens, "fluentbit"},
    {"ecs.capability.firelens.fluentd", true, c_firelens, "fluentd"},
    {CAP "docker-remote-api.1.18", true, c_has, "dockerLabels"},
    {CAP "docker-remote-api.1.18", true, c_has, "ulimits"},
    {CAP "docker-remote-api.1.18", false, t_awsvpc, NULL},
    {"ecs.capability.task-eni", false, t_awsvpc, NULL},
    {CAP "docker-remote-api.1.25", true, c_linux_param, "initProcessEnabled"},
    {CAP "docker-remote-api.1.29", true, c_health_start_period, NULL},
    {CAP "docker-remote-api.1.29", true, c_awslogs_create_group, NULL},
    {"ecs.capability.container-ordering", true, c_has, "dependsOn"},
    {"ecs.capability.container-ordering", true, c_has, "startTimeout"},
    {"ecs.capability.pid-ipc-namespace-sharing", false, t_has, "pidMode"},
    {"ecs.capability.pid-ipc-namespace-sharing", false, t_has, "ipcMode"},
    {"ecs.capability.docker-plugin.local", false, t_docker_volume, NULL},
};

static bool rule_applies(const struct attr_rule *r, const json_t *td)
{
    if (!r->per_container)
        return r->cond(td, NULL, r->arg);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(td, "containerDefinitions"), i, c) {
        if (r->cond(td, c, r->arg))
            return true;
    }
    return false;
}

static bool listed(const json_t *attrs, const char *name)
{
    size_t i;
    json_t *a;
    json_array_foreach(attrs, i, a) {
        if (streq(json_str(a, "name"), name))
            return true;
    }
    return false;
}

json_t *taskdef_requires_attributes(const json_t *body)
{
    json_t *attrs = json_array();
    for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
        if (!listed(attrs, rules[i].name) && rule_applies(&rules[i], body))
            json_array_append_new(attrs, json_pack("{s:s}", "name", rules[i].name));
    return attrs;
}

static bool requested(const json_t *body, const char *what)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(body, "requiresCompatibilities"), i, v) {
        if (streq(json_string_value(v), what))
            return true;
    }
    return false;
}

json_t *taskdef_compatibilities(const json_t *body)
{
    json_t *c = json_array();
    if (requested(body, "EXTERNAL"))
        json_array_append_new(c, json_string("EXTERNAL"));
    json_array_append_new(c, json_string("EC2"));
    if (requested(body, "MANAGED_INSTANCES"))
        json_array_append_new(c, json_string("MANAGED_INSTANCES"));
    if (taskdef_check_fargate(body, NULL) == 0)
        json_array_append_new(c, json_string("FARGATE"));
    return c;
}
