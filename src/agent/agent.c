/* Registration: what the host offers (resources, attributes) and the instance identity kept
 * in DATA/instance.json so that a restart re-registers with the same ARN. */
#include "agent/agent.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "agent/aws_client.h"
#include "agent/net/task_net.h"
#include "core/crypto.h"
#include "core/fsutil.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

#define ECS_TARGET "AmazonEC2ContainerServiceV20141113."
#define CAP "com.amazonaws.ecs.capability."

void agent_config_free(struct agent_config *c)
{
    free(c->endpoint);
    free(c->cluster);
    free(c->credentials);
    free(c->profile);
    free(c->region);
    free(c->data_dir);
    free(c->az);
    free(c->runtime);
    for (size_t i = 0; i < c->n_attrs; i++) {
        free(c->attrs[i].name);
        free(c->attrs[i].value);
    }
    free(c->attrs);
    memset(c, 0, sizeof(*c));
}

int agent_attr_parse(const char *s, struct agent_attr *ret)
{
    const char *eq = strchr(s, '=');
    if (!eq || eq == s)
        return -1;
    ret->name = xstrndup(s, (size_t)(eq - s));
    ret->value = xstrdup(eq + 1);
    return 0;
}

/* MemTotal in KiB, or 0. */
static int64_t meminfo_total_kib(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    if (!f)
        return 0;
    char line[256];
    long long kib = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "MemTotal: %lld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* The memory limit of this process's cgroup (v2 memory.max or v1 memory.limit_in_bytes), in
 * bytes; 0 when unlimited or unknown. */
static int64_t cgroup_memory_limit(void)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return 0;
    char line[1024], v1[1024] = "", v2[1024] = "";
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = 0;
        if (strcmp(c1 + 1, "memory") == 0)
            snprintf(v1, sizeof(v1), "%s", c2 + 1);
        else if (strcmp(line, "0") == 0 && c1[1] == 0)
            snprintf(v2, sizeof(v2), "%s", c2 + 1);
    }
    fclose(f);
    char path[1200];
    if (v1[0])
        snprintf(path, sizeof(path), "/sys/fs/cgroup/memory%s/memory.limit_in_bytes", v1);
    else
        snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.max", v2);
    cleanup_free char *text = NULL;
    if (fs_read_file(path, 128, &text, NULL) < 0)
        return 0;
    long long v = 0;
    if (sscanf(text, "%lld", &v) != 1 || v <= 0 || v >= (1ll << 60))
        return 0;
    return v;
}

void agent_host_probe(struct agent_host *ret)
{
    struct agent_host h = {0};
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    h.cpus = n > 0 ? n : 1;
    int64_t mib = meminfo_total_kib() / 1024;
    int64_t lim = cgroup_memory_limit() / (1024 * 1024);
    if (lim > 0 && (mib == 0 || lim < mib))
        mib = lim;
    h.memory_mib = mib;
    struct utsname u;
    const char *m = uname(&u) == 0 ? u.machine : "x86_64";
    snprintf(h.arch, sizeof(h.arch), "%.15s",
             strcmp(m, "aarch64") == 0 || strcmp(m, "arm64") == 0 ? "arm64" : m);
    *ret = h;
}

json_t *agent_resources_json(const struct agent_host *h, int64_t reserve_mib)
{
    int64_t mem = h->memory_mib - reserve_mib;
    if (mem < 0)
        mem = 0;
    return json_pack("[{s:s,s:s,s:I},{s:s,s:s,s:I},{s:s,s:s,s:[s,s,s,s,s]},{s:s,s:s,s:[]}]",
                     "name", "CPU", "type", "INTEGER", "integerValue", (json_int_t)(h->cpus * 1024),
                     "name", "MEMORY", "type", "INTEGER", "integerValue", (json_int_t)mem,
                     "name", "PORTS", "type", "STRINGSET", "stringSetValue", "22", "2375", "2376",
                     "51678", "51679",
                     "name", "PORTS_UDP", "type", "STRINGSET", "stringSetValue");
}

/* What this agent really implements. The docker-remote-api versions stand for the container
 * features ECS gates behind them (1.18 ulimits and labels, 1.21 memoryReservation, 1.22 tmpfs
 * and shm size, 1.24 health checks, 1.25 init, 1.29 health check start periods), all of which
 * the OCI spec builder implements; task-eni is awsvpc (src/agent/net/). awslogs waits for the
 * logs issue. */
static const char *const capabilities[] = {
    CAP "docker-remote-api.1.17", CAP "docker-remote-api.1.18", CAP "docker-remote-api.1.19",
    CAP "docker-remote-api.1.20", CAP "docker-remote-api.1.21", CAP "docker-remote-api.1.22",
    CAP "docker-remote-api.1.23", CAP "docker-remote-api.1.24", CAP "docker-remote-api.1.25",
    CAP "docker-remote-api.1.26", CAP "docker-remote-api.1.27", CAP "docker-remote-api.1.28",
    CAP "docker-remote-api.1.29",
    CAP "logging-driver.json-file",
    CAP "logging-driver.none",
    CAP "privileged-container",
    CAP "ecr-auth",
    "ecs.capability.container-health-check",
    "ecs.capability.container-ordering",
    "ecs.capability.task-cpu-mem-limit",
    "ecs.capability.task-eni", /* awsvpc: src/agent/net/ */
    "ecs.capability.docker-plugin.local",
    "ecs.capability.private-registry-authentication.secretsmanager",
};

static void attr_set(json_t *attrs, const char *name, const char *value)
{
    size_t i;
    json_t *a;
    json_array_foreach(attrs, i, a) {
        const char *n = json_str(a, "name");
        if (n && strcmp(n, name) == 0) {
            if (value)
                json_object_set_new(a, "value", json_string(value));
            else
                json_object_del(a, "value");
            return;
        }
    }
    json_t *o = json_pack("{s:s}", "name", name);
    if (value)
        json_object_set_new(o, "value", json_string(value));
    json_array_append_new(attrs, o);
}

json_t *agent_attributes_json(const struct agent_config *c, const struct agent_host *h)
{
    json_t *attrs = json_array();
    attr_set(attrs, "ecs.os-type", "linux");
    attr_set(attrs, "ecs.os-family", "LINUX");
    attr_set(attrs, "ecs.cpu-architecture", h->arch);
    cleanup_free char *az = c->az ? xstrdup(c->az) : xasprintf("%sa", c->region);
    attr_set(attrs, "ecs.availability-zone", az);
    for (size_t i = 0; i < ARRAY_SIZE(capabilities); i++)
        attr_set(attrs, capabilities[i], NULL);
    if (c->capacity == AGENT_CAPACITY_FARGATE)
        attr_set(attrs, "wharf.capacity", "FARGATE");
    for (size_t i = 0; i < c->n_attrs; i++)
        attr_set(attrs, c->attrs[i].name, c->attrs[i].value);
    return attrs;
}

json_t *agent_register_request(const struct agent_config *c, const struct agent_host *h,
                               const char *instance_arn, const char *instance_id)
{
    cleanup_free char *az = c->az ? xstrdup(c->az) : xasprintf("%sa", c->region);
    json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:s}", "instanceId", instance_id,
                            "availabilityZone", az, "region", c->region, "architecture",
                            h->arch, "instanceType", "wharf");
    cleanup_free char *doc_text = json_text(doc);
    json_decref(doc);
    json_t *req = json_pack("{s:s,s:s,s:o,s:o,s:{s:s,s:s,s:s}}", "cluster", c->cluster,
                            "instanceIdentityDocument", doc_text, "totalResources",
                            agent_resources_json(h, c->memory_reserve_mib), "attributes",
                            agent_attributes_json(c, h), "versionInfo", "agentVersion",
                            AGENT_VERSION, "agentHash", "wharf", "dockerVersion", "runc");
    if (instance_arn)
        json_object_set_new(req, "containerInstanceArn", json_string(instance_arn));
    return req;
}

void agent_new_instance_id(char out[20])
{
    out[0] = 'i';
    out[1] = '-';
    random_hex(out + 2, 17);
}

/* DATA/instance.json: {"containerInstanceArn", "instanceId", "cluster", "endpoint"}. */
static json_t *identity_load(const char *path)
{
    cleanup_free char *text = NULL;
    if (fs_read_file(path, 1 << 16, &text, NULL) < 0)
        return NULL;
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j || !json_is_object(j)) {
        log_warn("%s is damaged (%s); registering afresh", path, j ? "not an object" : je.text);
        json_decref(j);
        return NULL;
    }
    return j;
}

static int identity_save(const char *path, const struct agent *a)
{
    json_auto_t *j = json_pack("{s:s,s:s,s:s,s:s}", "containerInstanceArn", a->instance_arn,
                               "instanceId", a->instance_id, "cluster", a->cfg.cluster,
                               "endpoint", a->cfg.endpoint);
    cleanup_free char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    return fs_write_atomic(path, text, strlen(text), 0600);
}

void agent_request_stop(struct agent *a)
{
    a->stopping = 1;
    uint64_t one = 1;
    ssize_t w = write(a->stop_fd, &one, sizeof(one));
    (void)w;
}

void agent_sleep(struct agent *a, double s)
{
    double until = time_monotonic() + s;
    while (!a->stopping) {
        double left = until - time_monotonic();
        if (left <= 0)
            break;
        struct pollfd pf = {.fd = a->stop_fd, .events = POLLIN};
        poll(&pf, 1, (int)(left * 1000) + 1);
    }
}

static bool retriable(const struct wh_err *e)
{
    return e->status == 0 || e->status >= 500 || e->status == 429;
}

/* One RegisterContainerInstance, retried while the failure is transient. */
static int register_once(struct agent *a, const struct agent_host *h, const char *arn,
                         json_t **ret_out, struct wh_err *err)
{
    json_auto_t *req = agent_register_request(&a->cfg, h, arn, a->instance_id);
    for (int attempt = 0;; attempt++) {
        int r = aws_client_call(a->aws, "ecs", ECS_TARGET "RegisterContainerInstance", req, 30000,
                                ret_out, err);
        if (r == 0 || !retriable(err) || a->stopping)
            return r;
        int delay = attempt < 5 ? 1 << attempt : 30;
        log_warn("registration with %s failed (%s); retrying in %d s", a->cfg.endpoint,
                 err->msg, delay);
        agent_sleep(a, delay);
    }
}

int agent_register(struct agent *a, struct wh_err *err)
{
    cleanup_free char *path = xasprintf("%s/instance.json", a->cfg.data_dir);
    json_auto_t *id = identity_load(path);
    const char *arn = NULL;
    if (id && json_str(id, "instanceId") && json_str(id, "cluster") &&
        strcmp(json_str(id, "cluster"), a->cfg.cluster) == 0)
        arn = json_str(id, "containerInstanceArn");
    free(a->instance_id);
    if (arn && json_str(id, "instanceId")) {
        a->instance_id = xstrdup(json_str(id, "instanceId"));
    } else {
        char buf[20];
        agent_new_instance_id(buf);
        a->instance_id = xstrdup(buf);
    }
    struct agent_host h;
    agent_host_probe(&h);
    json_auto_t *out = NULL;
    int r = register_once(a, &h, arn, &out, err);
    if (r < 0 && arn && !a->stopping) {
        log_warn("re-registration as %s refused (%s: %s); registering as a new instance", arn,
                 err->type, err->msg);
        r = register_once(a, &h, NULL, &out, err);
    }
    if (r < 0)
        return wh_err_prefix(err, "RegisterContainerInstance on %s", a->cfg.endpoint);
    const json_t *ci = json_object_get(out, "containerInstance");
    const char *new_arn = json_str(ci, "containerInstanceArn");
    if (!new_arn)
        return wh_err_set(err, 0, "ProtocolError",
                          "RegisterContainerInstance answered without containerInstanceArn");
    free(a->instance_arn);
    a->instance_arn = xstrdup(new_arn);
    free(a->cluster_arn);
    const char *cl = json_str(ci, "clusterArn");
    a->cluster_arn = xstrdup(cl ? cl : a->cfg.cluster);
    task_net_registered(a, ci); /* the task subnets wharfd carved for this instance */
    r = identity_save(path, a);
    if (r < 0)
        return wh_err_set(err, 0, "IOError", "cannot write %s: %s", path, strerror(-r));
    log_info("registered as %s (%s, %" PRId64 " CPU units, %" PRId64 " MiB)", a->instance_arn,
             a->instance_id, h.cpus * 1024,
             h.memory_mib > a->cfg.memory_reserve_mib ? h.memory_mib - a->cfg.memory_reserve_mib : 0);
    return 0;
}
