#include "ecs/task_merge.h"

#include <string.h>

#include "aws/api.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "ecs/task_rules.h"

static void set_str(char **field, const char *v)
{
    char *old = *field;
    *field = v ? xstrdup(v) : NULL;
    free(old);
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Set *field to v when v is given and differs; returns whether it changed. */
static bool update_str(char **field, const char *v)
{
    if (!v || str_eq(*field, v))
        return false;
    set_str(field, v);
    return true;
}

static bool update_json(char **field, const json_t *v)
{
    if (!v)
        return false;
    cleanup_free char *text = json_text(v);
    return update_str(field, text);
}

/* Set a timestamp the first time; returns whether it changed. */
static bool first_time(double *field, double v)
{
    if (*field > 0 || v <= 0)
        return false;
    *field = v;
    return true;
}

static struct store_task_container *find_container(struct store_task *t, const char *name)
{
    for (size_t i = 0; name && i < t->ncontainers; i++)
        if (strcmp(t->containers[i].name, name) == 0)
            return &t->containers[i];
    return NULL;
}

static bool health_valid(const char *h)
{
    return !h || strcmp(h, "HEALTHY") == 0 || strcmp(h, "UNHEALTHY") == 0 ||
           strcmp(h, "UNKNOWN") == 0;
}

/* Add port to a JSON text array of host ports unless it is there. */
static void add_port(char **ports, json_int_t port)
{
    json_auto_t *a = json_parse_trusted(*ports ? *ports : "[]");
    size_t i;
    const json_t *v;
    json_array_foreach(a, i, v)
        if (json_integer_value(v) == port)
            return;
    json_array_append_new(a, json_integer(port));
    free(*ports);
    *ports = json_text(a);
}

/* The host ports of the agent's networkBindings (dynamic ones included) are held by the task
 * from now on, so placement never gives them to a task that maps them statically. */
static void hold_binding_ports(struct store_task *t, const json_t *bindings)
{
    size_t i;
    const json_t *b;
    json_array_foreach(bindings, i, b) {
        json_int_t port = json_int(b, "hostPort", 0);
        const char *proto = json_str(b, "protocol");
        if (port > 0 && port <= 65535)
            add_port(proto && strcmp(proto, "udp") == 0 ? &t->ports_udp : &t->ports_tcp, port);
    }
}

int task_merge_container(struct store_task *t, const json_t *report, const char *field,
                         struct wh_err *err)
{
    const char *name = json_str(report, "containerName");
    struct store_task_container *c = find_container(t, name);
    if (!c)
        return api_invalid(err, "%s.containerName '%s' is not a container of task %s", field,
                           name ? name : "", t->arn);
    const char *status = json_str(report, "status");
    int have = container_status_rank(c->last_status), got = status ? container_status_rank(status)
                                                                   : have;
    if (got < 0)
        return api_invalid(err, "%s.status '%s' is not PENDING, RUNNING or STOPPED", field,
                           status);
    const char *health = json_str(report, "healthStatus");
    if (!health_valid(health))
        return api_invalid(err, "%s.healthStatus '%s' is not HEALTHY, UNHEALTHY or UNKNOWN",
                           field, health);
    if (got < have)
        return 0; /* an older report than what is known */
    bool changed = false;
    if (got > have) {
        set_str(&c->last_status, status);
        changed = true;
    }
    changed |= update_str(&c->runtime_id, json_str(report, "runtimeId"));
    changed |= update_str(&c->image_digest, json_str(report, "imageDigest"));
    if (!c->reason)
        changed |= update_str(&c->reason, json_str(report, "reason"));
    const json_t *code = json_object_get(report, "exitCode");
    if (json_is_integer(code) && (!c->has_exit_code || c->exit_code != json_integer_value(code))) {
        c->has_exit_code = true;
        c->exit_code = json_integer_value(code);
        changed = true;
    }
    const json_t *bindings = json_object_get(report, "networkBindings");
    if (update_json(&c->network_bindings, bindings)) {
        hold_binding_ports(t, bindings);
        changed = true;
    }
    if (health && strcmp(c->last_status, "STOPPED") != 0)
        changed |= update_str(&c->health_status, health);
    return changed;
}

static void set_attachments_status(struct store_task *t, const char *status)
{
    json_auto_t *a = json_parse_trusted(t->attachments);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
        json_object_set_new(v, "status", json_string(status));
    free(t->attachments);
    t->attachments = json_text(a ? a : json_array());
}

/* What stopping implies, the first time the task is STOPPED. */
static void on_stopped(struct store_task *t, const json_t *report, double now)
{
    const char *code = json_str(report, "stopCode");
    const char *reason = json_str(report, "reason");
    t->stopped_at = now;
    first_time(&t->stopping_at, now);
    double exec = json_is_number(json_object_get(report, "executionStoppedAt"))
                      ? json_number_value(json_object_get(report, "executionStoppedAt"))
                      : now;
    first_time(&t->execution_stopped_at, exec);
    set_str(&t->desired_status, "STOPPED");
    const char *pull_error = NULL;
    for (size_t i = 0; i < t->ncontainers; i++) {
        struct store_task_container *c = &t->containers[i];
        if (strcmp(c->last_status, "STOPPED") != 0)
            set_str(&c->last_status, "STOPPED");
        if (c->reason && strncmp(c->reason, "CannotPullContainerError", 24) == 0 && !pull_error)
            pull_error = c->reason;
    }
    if (!t->stop_code) {
        if (!code)
            code = pull_error || t->started_at == 0 ? "TaskFailedToStart"
                                                     : "EssentialContainerExited";
        set_str(&t->stop_code, code);
    }
    if (!t->stopped_reason) {
        if (!reason && pull_error)
            reason = pull_error;
        if (!reason)
            reason = strcmp(t->stop_code, "EssentialContainerExited") == 0
                         ? "Essential container in task exited"
                         : "Task failed to start";
        set_str(&t->stopped_reason, reason);
    }
    set_attachments_status(t, "DELETED");
}

static bool stop_code_valid(const char *c)
{
    static const char *const codes[] = {"TaskFailedToStart", "EssentialContainerExited",
                                        "UserInitiated", "ServiceSchedulerInitiated",
                                        "SpotInterruption", "TerminationNotice"};
    for (size_t i = 0; c && i < ARRAY_SIZE(codes); i++)
        if (strcmp(c, codes[i]) == 0)
            return true;
    return !c;
}

static int merge_containers(struct store_task *t, const json_t *report, bool *changed,
                            struct wh_err *err)
{
    size_t i;
    const json_t *cr;
    json_array_foreach(json_object_get(report, "containers"), i, cr) {
        char field[48];
        snprintf(field, sizeof(field), "containers[%zu]", i);
        int r = task_merge_container(t, cr, field, err);
        if (r < 0)
            return -1;
        *changed |= r > 0;
    }
    return 0;
}

/* An attachment's detail by name: set when v differs; returns whether it changed. */
static bool set_detail(json_t *att, const char *name, const char *v)
{
    json_t *details = json_object_get(att, "details");
    if (!json_is_array(details)) {
        details = json_array();
        json_object_set_new(att, "details", details);
    }
    size_t i;
    json_t *d;
    json_array_foreach(details, i, d) {
        const char *n = json_str(d, "name");
        if (!n || strcmp(n, name) != 0)
            continue;
        if (str_eq(json_str(d, "value"), v))
            return false;
        json_object_set_new(d, "value", json_string(v));
        return true;
    }
    json_array_append_new(details, json_pack("{s:s, s:s}", "name", name, "value", v));
    return true;
}

static const char *detail_of(const json_t *att, const char *name)
{
    size_t i;
    const json_t *d;
    json_array_foreach(json_object_get(att, "details"), i, d)
        if (str_eq(json_str(d, "name"), name))
            return json_str(d, "value");
    return NULL;
}

/* The attachment of t a report names: by id, or the last component of an attachment ARN. */
static json_t *find_attachment(json_t *atts, const char *ref)
{
    const char *slash = ref ? strrchr(ref, '/') : NULL;
    const char *id = slash ? slash + 1 : ref;
    size_t i;
    json_t *a;
    json_array_foreach(atts, i, a)
        if (id && str_eq(json_str(a, "id"), id))
            return a;
    return NULL;
}

/* Every container's networkInterfaces from the ENI attachment's address. */
static bool set_interfaces(struct store_task *t, const json_t *att)
{
    const char *ip = detail_of(att, "privateIPv4Address");
    if (!ip)
        return false;
    json_auto_t *ifs = json_pack("[{s:s, s:s}]", "attachmentId", json_str(att, "id"),
                                 "privateIpv4Address", ip);
    bool changed = false;
    for (size_t i = 0; i < t->ncontainers; i++)
        changed |= update_json(&t->containers[i].network_interfaces, ifs);
    return changed;
}

/* The agent's attachments[] (ECS's {attachmentArn, status}; wharf's agent adds "details", the
 * ENI's address, MAC, DNS name, as docs/agent-protocol.md says). Details fill the attachment
 * wharfd made at RunTask; subnetId and networkInterfaceId stay wharfd's; the status follows the
 * task's (merge_status). */
static bool merge_attachments(struct store_task *t, const json_t *report)
{
    const json_t *reps = json_object_get(report, "attachments");
    if (!json_array_size(reps))
        return false;
    json_auto_t *atts = json_parse_trusted(t->attachments ? t->attachments : "[]");
    bool changed = false;
    size_t i, k;
    const json_t *rep, *d;
    json_array_foreach(reps, i, rep) {
        json_t *att = find_attachment(atts, json_str(rep, "attachmentArn"));
        if (!att)
            continue;
        json_array_foreach(json_object_get(rep, "details"), k, d) {
            const char *n = json_str(d, "name"), *v = json_str(d, "value");
            if (n && v && strcmp(n, "subnetId") != 0 && strcmp(n, "networkInterfaceId") != 0)
                changed |= set_detail(att, n, v);
        }
        changed |= set_interfaces(t, att);
    }
    if (changed) {
        free(t->attachments);
        t->attachments = json_text(atts);
    }
    return changed;
}

static bool merge_times(struct store_task *t, const json_t *report)
{
    bool changed = false;
    const json_t *v = json_object_get(report, "pullStartedAt");
    if (json_is_number(v))
        changed |= first_time(&t->pull_started_at, json_number_value(v));
    v = json_object_get(report, "pullStoppedAt");
    if (json_is_number(v))
        changed |= first_time(&t->pull_stopped_at, json_number_value(v));
    return changed;
}

/* Move the task's own status forward and apply what reaching it implies. */
static bool merge_status(struct store_task *t, const char *status, const json_t *report,
                         double now)
{
    int have = task_status_rank(t->last_status), got = task_status_rank(status);
    if (!status || got <= have)
        return false;
    set_str(&t->last_status, status);
    if (got >= task_status_rank("RUNNING") && have < task_status_rank("RUNNING") &&
        strcmp(status, "STOPPED") != 0) {
        first_time(&t->started_at, now);
        set_str(&t->connectivity, "CONNECTED");
        first_time(&t->connectivity_at, now);
        set_attachments_status(t, "ATTACHED");
    }
    if (strcmp(status, "STOPPED") == 0)
        on_stopped(t, report, now);
    return true;
}

void task_merge_finish(struct store_task *t, bool changed)
{
    const char *h = task_health(t->containers, t->ncontainers);
    if (!str_eq(t->health_status, h)) {
        set_str(&t->health_status, h);
        changed = true;
    }
    if (changed)
        t->version++;
}

int task_merge_report(struct store_task *t, const json_t *report, double now, struct wh_err *err)
{
    const char *status = json_str(report, "status");
    if (status && task_status_rank(status) < 0)
        return api_invalid(err, "status '%s' is not a task status", status);
    const char *code = json_str(report, "stopCode");
    if (!stop_code_valid(code))
        return api_invalid(err, "stopCode '%s' is not a task stop code", code);
    bool changed = false;
    if (merge_containers(t, report, &changed, err) < 0)
        return -1;
    changed |= merge_times(t, report);
    changed |= merge_attachments(t, report);
    changed |= merge_status(t, status, report, now);
    int64_t before = t->version;
    task_merge_finish(t, changed);
    return t->version != before;
}

bool task_mark_stopping(struct store_task *t, const char *stop_code, const char *reason,
                        double now)
{
    if (strcmp(t->desired_status, "STOPPED") == 0)
        return false;
    set_str(&t->desired_status, "STOPPED");
    first_time(&t->stopping_at, now);
    if (!t->stop_code)
        set_str(&t->stop_code, stop_code);
    if (!t->stopped_reason)
        set_str(&t->stopped_reason, reason);
    t->version++;
    return true;
}

void task_mark_stopped(struct store_task *t, double now)
{
    if (strcmp(t->last_status, "STOPPED") == 0)
        return;
    set_str(&t->last_status, "STOPPED");
    on_stopped(t, NULL, now);
    t->version++;
}
