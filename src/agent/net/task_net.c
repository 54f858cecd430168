/* The agent's calls into task networking. */
#include "agent/net/task_net.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/agent.h"
#include "agent/net/network.h"
#include "agent/task_runner.h"
#include "core/json.h"
#include "core/log.h"
#include "core/xalloc.h"

struct task_net {
    struct net *net;     /* NULL when it could not be opened */
    char *error;         /* why, for the tasks that need it */
    char *awsvpc, *bridge;
};

uint16_t task_net_loopback_port(const char *url)
{
    const char *p = url ? strstr(url, "://") : NULL;
    bool tls = url && strncmp(url, "https", 5) == 0;
    p = p ? p + 3 : url;
    if (!p)
        return 0;
    size_t hl;
    const char *after;
    if (*p == '[') {
        const char *e = strchr(p, ']');
        if (!e)
            return 0;
        hl = (size_t)(e + 1 - p);
        after = e + 1;
    } else {
        hl = strcspn(p, ":/");
        after = p + hl;
    }
    bool loop = (hl == 9 && strncmp(p, "localhost", 9) == 0) ||
                (hl == 5 && strncmp(p, "[::1]", 5) == 0) || (hl >= 7 && strncmp(p, "127.", 4) == 0);
    if (!loop)
        return 0;
    if (*after != ':')
        return tls ? 443 : 80;
    char *end;
    long port = strtol(after + 1, &end, 10);
    return port > 0 && port <= 65535 && (*end == 0 || *end == '/') ? (uint16_t)port : 0;
}

static const char *attribute(const json_t *ci, const char *name)
{
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(ci, "attributes"), i, a) {
        const char *n = json_str(a, "name");
        if (n && strcmp(n, name) == 0)
            return json_str(a, "value");
    }
    return NULL;
}

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

void task_net_registered(struct agent *a, const json_t *ci)
{
    const char *awsvpc = attribute(ci, "wharf.subnet.awsvpc");
    const char *bridge = attribute(ci, "wharf.subnet.bridge");
    if (a->net) {
        if (!same(awsvpc, a->net->awsvpc) || !same(bridge, a->net->bridge))
            log_warn("net: wharfd now gives this instance the task subnets %s and %s; the "
                     "agent keeps %s and %s until it restarts", awsvpc ? awsvpc : "(none)",
                     bridge ? bridge : "(none)", a->net->awsvpc ? a->net->awsvpc : "(none)",
                     a->net->bridge ? a->net->bridge : "(none)");
        return;
    }
    struct task_net *tn = xcalloc(1, sizeof(*tn));
    tn->awsvpc = awsvpc ? xstrdup(awsvpc) : NULL;
    tn->bridge = bridge ? xstrdup(bridge) : NULL;
    uint16_t port = task_net_loopback_port(a->cfg.endpoint);
    struct net_config cfg = {.data_dir = a->cfg.data_dir, .awsvpc_subnet = awsvpc,
                             .bridge_subnet = bridge, .host_services = &port,
                             .n_host_services = port ? 1 : 0,
                             .awsvpc_warm = a->cfg.awsvpc_warm > 0 ? a->cfg.awsvpc_warm : 0};
    struct wh_err err = {0};
    if (net_open(&cfg, &tn->net, &err) < 0) {
        log_error("task networking is unavailable (awsvpc and bridge tasks will fail): %s",
                  err.msg);
        tn->error = xstrdup(err.msg);
    } else if (!awsvpc || !bridge) {
        log_warn("net: wharfd gave this instance no task subnets (an older wharfd?): awsvpc "
                 "and bridge tasks will fail");
    }
    a->net = tn;
}

void task_net_close(struct agent *a)
{
    struct task_net *tn = a->net;
    if (!tn)
        return;
    net_close(tn->net);
    free(tn->error);
    free(tn->awsvpc);
    free(tn->bridge);
    free(tn);
    a->net = NULL;
}

static int unavailable(const struct agent *a, struct wh_err *err)
{
    return wh_err_set(err, 500, "ResourceInitializationError",
                      "ResourceInitializationError: task networking is unavailable on this "
                      "instance: %s", a->net && a->net->error ? a->net->error : "not set up");
}

/* "arn:aws:ecs:R:A:task/C/ID" → "arn:aws:ecs:R:A:attachment/ATT". */
static char *attachment_arn(const char *task_arn, const char *att_id)
{
    const char *t = task_arn ? strstr(task_arn, ":task/") : NULL;
    if (!t)
        return xstrdup(att_id);
    return xasprintf("%.*s:attachment/%s", (int)(t - task_arn), task_arn, att_id);
}

/* What report.c sends: the ENI attachment's details (awsvpc) and every container's bindings. */
static json_t *report_json(const struct task *t, const struct net_task_net *r)
{
    json_t *atts = json_array();
    json_t *details = net_eni_details_json(r);
    size_t i;
    const json_t *att;
    json_array_foreach(json_object_get(t->rec->desired, "attachments"), i, att) {
        const char *type = json_str(att, "type"), *id = json_str(att, "id");
        if (!details || !id || !type || strcmp(type, "ElasticNetworkInterface") != 0)
            continue;
        cleanup_free char *arn = attachment_arn(t->rec->arn, id);
        json_array_append_new(atts, json_pack("{s:s, s:s, s:O}", "attachmentArn", arn,
                                              "status", "ATTACHED", "details", details));
        break;
    }
    json_decref(details);
    json_t *bindings = json_array();
    for (size_t k = 0; k < r->nctrs; k++)
        json_array_append_new(bindings, net_bindings_json(&r->ctrs[k]));
    return json_pack("{s:o, s:o}", "attachments", atts, "bindings", bindings);
}

int task_net_setup(struct task *t, struct wh_err *err)
{
    struct agent *a = t->agent;
    const json_t *d = t->rec->desired;
    struct net_task_req req;
    if (net_task_req_from_def(json_object_get(d, "taskDefinition"), json_str(d, "launchType"),
                              t->rec->id, &req, err) < 0)
        return -1;
    int r;
    struct net_task_net res = {0};
    if (!a->net || !a->net->net)
        r = req.mode == NET_MODE_AWSVPC || req.mode == NET_MODE_BRIDGE ? unavailable(a, err) : 0;
    else
        r = net_task_setup(a->net->net, &req, &res, err);
    if (r == 0 && a->net && a->net->net) {
        json_t *rep = report_json(t, &res);
        pthread_mutex_lock(&t->mu);
        json_decref(t->rec->network);
        t->rec->network = rep;
        task_changed_locked(t);
        pthread_mutex_unlock(&t->mu);
    }
    net_task_net_clear(&res);
    net_task_req_clear(&req);
    return r;
}

int task_net_container(struct task *t, size_t i, char **ret_netns, bool *ret_host,
                       struct wh_err *err)
{
    struct agent *a = t->agent;
    const json_t *d = t->rec->desired;
    struct net_task_req req;
    if (net_task_req_from_def(json_object_get(d, "taskDefinition"), json_str(d, "launchType"),
                              t->rec->id, &req, err) < 0)
        return -1;
    enum net_mode mode = req.mode;
    net_task_req_clear(&req);
    *ret_netns = NULL;
    *ret_host = mode == NET_MODE_HOST;
    if (mode == NET_MODE_HOST || mode == NET_MODE_NONE)
        return 0;
    if (!a->net || !a->net->net)
        return unavailable(a, err);
    struct net_task_net r;
    int e = net_task_get(a->net->net, t->rec->id, &r, err);
    if (e == -ENOENT)
        return wh_err_set(err, 500, "ResourceInitializationError",
                          "ResourceInitializationError: the task's network is not set up");
    if (e < 0)
        return -1;
    if (i < r.nctrs && r.ctrs[i].netns)
        *ret_netns = xstrdup(r.ctrs[i].netns);
    net_task_net_clear(&r);
    return 0;
}

bool task_net_may_reuse(const json_t *task_def)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(task_def, "containerDefinitions"), i, c) {
        if (json_bool(c, "privileged", false))
            return false;
        const json_t *caps = json_object_get(
            json_object_get(json_object_get(c, "linuxParameters"), "capabilities"), "add");
        size_t k;
        const json_t *cap;
        json_array_foreach(caps, k, cap) {
            const char *name = json_string_value(cap);
            if (!name || strcasecmp(name, "ALL") == 0 || strcasecmp(name, "NET_ADMIN") == 0 ||
                strcasecmp(name, "CAP_NET_ADMIN") == 0)
                return false;
        }
        const json_t *sc;
        json_array_foreach(json_object_get(c, "systemControls"), k, sc) {
            const char *ns = json_str(sc, "namespace");
            if (!ns || strncmp(ns, "net.", 4) == 0)
                return false;
        }
    }
    return true;
}

int task_net_teardown(struct task *t)
{
    struct agent *a = t->agent;
    if (!a->net || !a->net->net)
        return 0;
    struct wh_err err = {0};
    bool reuse = task_net_may_reuse(json_object_get(t->rec->desired, "taskDefinition"));
    if (net_task_release(a->net->net, t->rec->id, reuse, &err) < 0) {
        log_warn("%s: cleanup: network: %s", t->rec->arn, err.msg);
        return -1;
    }
    return 0;
}

void task_net_gc(struct agent *a, const char *const *ids, size_t n)
{
    if (!a->net || !a->net->net)
        return;
    struct wh_err err = {0};
    if (net_gc(a->net->net, ids, n, NULL, &err) < 0)
        log_warn("net: gc: %s", err.msg);
}
