/* Task network records on disk, and what they describe. */
#include "agent/net/netstate.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/net/cni.h"
#include "agent/net/netconf.h"
#include "core/fsutil.h"
#include "core/json.h"
#include "core/xalloc.h"

#define DOC_MAX (4u << 20)

int netstate_load(const char *dir, const char *task_id, json_t **ret_doc)
{
    cleanup_free char *path = xasprintf("%s/%s.json", dir, task_id);
    cleanup_free char *text = NULL;
    int r = fs_read_file(path, DOC_MAX, &text, NULL);
    if (r < 0)
        return r;
    json_t *doc = json_loads(text, 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return -EINVAL;
    }
    *ret_doc = doc;
    return 0;
}

int netstate_save(const char *dir, const char *task_id, const json_t *doc)
{
    cleanup_free char *path = xasprintf("%s/%s.json", dir, task_id);
    cleanup_free char *text = json_dumps(doc, JSON_COMPACT);
    return fs_write_replace(path, text, strlen(text), 0600);
}

int netstate_remove(const char *dir, const char *task_id)
{
    cleanup_free char *path = xasprintf("%s/%s.json", dir, task_id);
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

void netstate_ids_free(char **ids)
{
    for (size_t i = 0; ids && ids[i]; i++)
        free(ids[i]);
    free(ids);
}

int netstate_list(const char *dir, char ***ret_ids, size_t *ret_n)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    char **ids = xcalloc(1, sizeof(char *));
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        char *id = xstrndup(de->d_name, len - 5);
        if (!net_task_id_valid(id)) {
            free(id);
            continue;
        }
        ids = xrealloc(ids, (n + 2) * sizeof(char *));
        ids[n++] = id;
        ids[n] = NULL;
    }
    closedir(d);
    *ret_ids = ids;
    *ret_n = n;
    return 0;
}

void net_task_net_clear(struct net_task_net *r)
{
    for (size_t i = 0; i < r->nctrs; i++) {
        free(r->ctrs[i].netns);
        free(r->ctrs[i].ip);
        free(r->ctrs[i].mac);
        free(r->ctrs[i].bindings);
    }
    free(r->ctrs);
    free(r->netns);
    free(r->ip);
    free(r->mac);
    free(r->subnet);
    free(r->gateway);
    free(r->ifname);
    memset(r, 0, sizeof(*r));
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

/* An attachment's interface into the task (container -1) or container c. */
static int apply_attachment(const json_t *a, struct net_task_net *r, struct wh_err *err)
{
    long c = (long)json_int(a, "container", -1);
    const char *netns = json_str(a, "netns");
    struct cni_iface f;
    if (cni_result_iface(json_object_get(a, "result"), netns, json_str(a, "ifname"), &f,
                         err) < 0)
        return -1;
    if (c < 0) {
        r->netns = dup_or_null(netns);
        r->ip = f.ip;
        r->mac = f.mac;
        r->gateway = f.gateway;
        r->ifname = f.name;
        r->subnet = dup_or_null(json_str(a, "subnet"));
        for (size_t i = 0; i < r->nctrs; i++) {
            r->ctrs[i].netns = dup_or_null(netns);
            r->ctrs[i].ip = dup_or_null(f.ip);
            r->ctrs[i].mac = dup_or_null(f.mac);
        }
        return 0;
    }
    if ((size_t)c >= r->nctrs) {
        cni_iface_clear(&f);
        return wh_err_set(err, 500, "ServerException", "network record: container %ld of %zu",
                          c, r->nctrs);
    }
    struct net_ctr_net *cn = &r->ctrs[c];
    cn->netns = dup_or_null(netns);
    cn->ip = f.ip;
    cn->mac = f.mac;
    free(f.name);
    free(f.gateway);
    return 0;
}

static void apply_bindings(const json_t *doc, struct net_task_net *r)
{
    size_t i;
    const json_t *b;
    json_array_foreach(json_object_get(doc, "bindings"), i, b) {
        long c = (long)json_int(b, "container", -1);
        if (c < 0 || (size_t)c >= r->nctrs)
            continue;
        struct net_ctr_net *cn = &r->ctrs[c];
        cn->bindings = xrealloc(cn->bindings, (cn->nbindings + 1) * sizeof(*cn->bindings));
        const char *proto = json_str(b, "protocol");
        cn->bindings[cn->nbindings++] = (struct net_binding){
            .container_port = (uint16_t)json_int(b, "containerPort", 0),
            .host_port = (uint16_t)json_int(b, "hostPort", 0),
            .udp = proto && strcmp(proto, "udp") == 0,
        };
    }
}

int netstate_to_net(const json_t *doc, struct net_task_net *ret, struct wh_err *err)
{
    struct net_task_net r = {0};
    if (net_mode_parse(json_str(doc, "mode"), &r.mode) < 0)
        return wh_err_set(err, 500, "ServerException", "network record: mode '%s'",
                          json_str(doc, "mode") ? json_str(doc, "mode") : "");
    r.host = r.mode == NET_MODE_HOST;
    r.nctrs = (size_t)json_int(doc, "containers", 0);
    r.ctrs = xcalloc(r.nctrs + 1, sizeof(*r.ctrs));
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(doc, "attachments"), i, a) {
        if (apply_attachment(a, &r, err) < 0) {
            net_task_net_clear(&r);
            return -1;
        }
    }
    apply_bindings(doc, &r);
    *ret = r;
    return 0;
}

json_t *net_bindings_json(const struct net_ctr_net *c)
{
    json_t *a = json_array();
    for (size_t i = 0; i < c->nbindings; i++)
        json_array_append_new(a, json_pack("{s:s, s:i, s:i, s:s}", "bindIP", "0.0.0.0",
                                           "containerPort", c->bindings[i].container_port,
                                           "hostPort", c->bindings[i].host_port, "protocol",
                                           c->bindings[i].udp ? "udp" : "tcp"));
    return a;
}

static void detail(json_t *a, const char *name, const char *value)
{
    if (value)
        json_array_append_new(a, json_pack("{s:s, s:s}", "name", name, "value", value));
}

json_t *net_eni_details_json(const struct net_task_net *r)
{
    if (r->mode != NET_MODE_AWSVPC || !r->ip)
        return NULL;
    json_t *a = json_array();
    detail(a, "privateIPv4Address", r->ip);
    detail(a, "macAddress", r->mac);
    char dashed[16], dns[48];
    snprintf(dashed, sizeof(dashed), "%s", r->ip);
    for (char *p = dashed; *p; p++)
        if (*p == '.')
            *p = '-';
    snprintf(dns, sizeof(dns), "ip-%s.ec2.internal", dashed);
    detail(a, "privateDnsName", dns);
    if (r->gateway && r->subnet && strchr(r->subnet, '/')) {
        cleanup_free char *gw = xasprintf("%s%s", r->gateway, strchr(r->subnet, '/'));
        detail(a, "subnetGatewayIpv4Address", gw);
    }
    return a;
}
