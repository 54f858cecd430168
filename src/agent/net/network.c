/* Task networking: open, setup, teardown (GC and census are in gc.c). */
#include "agent/net/network.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/net/iptables.h"
#include "agent/net/netns.h"
#include "agent/net/netpriv.h"
#include "agent/net/netstate.h"
#include "core/crypto.h"
#include "core/fsutil.h"
#include "core/json.h"
#include "core/log.h"
#include "core/xalloc.h"

static const char *const required_plugins[] = {"bridge", "host-local", "firewall", "portmap",
                                               NULL};

/* ---- sysctls ---- */

/* Write value to a /proc/sys file unless it already holds it: 1 written, 0 already so, -1. */
static int sysctl_set(const char *path, const char *value, struct wh_err *err)
{
    char cur[32] = "";
    FILE *f = fopen(path, "re");
    if (f) {
        if (!fgets(cur, sizeof(cur), f))
            cur[0] = 0;
        fclose(f);
    }
    cur[strcspn(cur, "\n")] = 0;
    if (strcmp(cur, value) == 0)
        return 0;
    f = fopen(path, "we");
    bool ok = f && fputs(value, f) >= 0;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok)
        return wh_err_set(err, 500, "ServerException", "cannot set %s to %s: %s", path, value,
                          strerror(errno));
    log_info("net: set %s = %s (was %s)", path, value, cur[0] ? cur : "unreadable");
    return 1;
}

/* route_localnet on a bridge that forwards loopback host services (it exists after ADD). */
void net_bridge_after_add(struct net *n, const struct net_bridge *b)
{
    if (!n->nservices)
        return;
    cleanup_free char *path = xasprintf("/proc/sys/net/ipv4/conf/%s/route_localnet", b->bridge);
    struct wh_err err = {0};
    if (sysctl_set(path, "1", &err) < 0)
        log_warn("net: %s: tasks cannot reach loopback host services", err.msg);
}

/* ---- open ---- */

static char *data_tag(const char *data_dir)
{
    cleanup_free char *real = realpath(data_dir, NULL);
    const char *d = real ? real : data_dir;
    char hex[SHA256_HEX_LEN + 1];
    sha256_hex(d, strlen(d), hex);
    hex[12] = 0;
    return xstrdup(hex);
}

static int bridge_init(struct net_bridge *b, const char *kind, const char *subnet,
                       const char *dev, const char *tag, struct wh_err *err)
{
    b->bridge = dev ? xstrdup(dev)
                    : xasprintf("wh-%.6s-%s", tag, strcmp(kind, "awsvpc") == 0 ? "vpc" : "br");
    b->name = xasprintf("wharf-%s-%.6s", kind, tag);
    if (!subnet)
        return 0;
    cleanup_free char *field = xasprintf("%s subnet", kind);
    if (net_subnet_parse(subnet, field, &b->subnet, err) < 0)
        return -1;
    b->configured = true;
    return 0;
}

/* Warn when a subnet overlaps a route of the host that is not through our bridges. */
static void check_routes(const struct net *n)
{
    FILE *f = fopen("/proc/net/route", "re");
    char line[256];
    while (f && fgets(line, sizeof(line), f)) {
        char dev[64];
        unsigned dst, gw, flags, mask;
        if (sscanf(line, "%63s %x %x %x %*d %*d %*d %x", dev, &dst, &gw, &flags, &mask) != 5 ||
            mask == 0)
            continue;
        const struct net_bridge *bs[] = {&n->awsvpc, &n->bridge};
        for (size_t i = 0; i < 2; i++) {
            const struct net_bridge *b = bs[i];
            uint32_t d = __builtin_bswap32(dst), m = __builtin_bswap32(mask);
            int prefix = __builtin_popcount(m);
            if (!b->configured || strcmp(dev, n->awsvpc.bridge) == 0 ||
                strcmp(dev, n->bridge.bridge) == 0 ||
                !net_subnet_overlaps(d, prefix, b->subnet.net, b->subnet.prefix))
                continue;
            log_warn("net: task subnet %s overlaps the host's route to %u.%u.%u.%u/%d via %s",
                     b->subnet.cidr, d >> 24, (d >> 16) & 255, (d >> 8) & 255, d & 255, prefix,
                     dev);
        }
    }
    if (f)
        fclose(f);
}

/* Hold again the ports of every task set up before. */
static void load_ports(struct net *n)
{
    char **ids = NULL;
    size_t cnt = 0;
    if (netstate_list(n->tasks_dir, &ids, &cnt) < 0)
        return;
    for (size_t i = 0; i < cnt; i++) {
        json_auto_t *doc = NULL;
        if (netstate_load(n->tasks_dir, ids[i], &doc) < 0)
            continue;
        size_t k;
        const json_t *b;
        json_array_foreach(json_object_get(doc, "bindings"), k, b) {
            const char *proto = json_str(b, "protocol");
            net_ports_hold(&n->ports, (uint16_t)json_int(b, "hostPort", 0),
                           proto && strcmp(proto, "udp") == 0, ids[i]);
        }
    }
    netstate_ids_free(ids);
}

static int make_dirs(struct net *n, struct wh_err *err)
{
    const char *dirs[] = {n->tasks_dir, n->ipam_dir, n->run_dir};
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        int r = fs_mkdir_p(dirs[i], 0700);
        if (r < 0)
            return wh_err_set(err, 500, "ServerException", "cannot create %s: %s", dirs[i],
                              strerror(-r));
    }
    return 0;
}

static int expose_services(struct net *n, struct wh_err *err)
{
    const struct net_bridge *bs[] = {&n->awsvpc, &n->bridge};
    for (size_t i = 0; i < 2; i++) {
        if (!bs[i]->configured)
            continue;
        if (ipt_prune_host_services(n->ipt, bs[i]->subnet.gateway, n->services, n->nservices,
                                    err) < 0)
            return -1;
        for (size_t k = 0; k < n->nservices; k++)
            if (ipt_expose_host_port(n->ipt, bs[i]->bridge, bs[i]->subnet.gateway,
                                     n->services[k], err) < 0)
                return -1;
    }
    return 0;
}

static int open_checks(struct net *n, const struct net_config *cfg, struct wh_err *err)
{
    if (cni_init(&n->cni, cfg->cni_path, cfg->timeout_ms, required_plugins, err) < 0)
        return -1;
    if (!(n->ipt = ipt_find()))
        return wh_err_set(err, 500, "ServerException",
                          "iptables not found (Debian package iptables): the CNI plugins need it");
    if (make_dirs(n, err) < 0)
        return -1;
    if (sysctl_set("/proc/sys/net/ipv4/ip_forward", "1", err) < 0)
        return -1;
    return expose_services(n, err);
}

int net_open(const struct net_config *cfg, struct net **ret, struct wh_err *err)
{
    struct net *n = xcalloc(1, sizeof(*n));
    pthread_mutex_init(&n->mu, NULL);
    pthread_rwlock_init(&n->gc_lock, NULL);
    net_pool_init(n);
    cleanup_free char *tag = data_tag(cfg->data_dir);
    n->net_dir = xasprintf("%s/net", cfg->data_dir);
    n->tasks_dir = xasprintf("%s/tasks", n->net_dir);
    n->ipam_dir = xasprintf("%s/ipam", n->net_dir);
    n->run_dir = cfg->run_dir ? xstrdup(cfg->run_dir) : xasprintf("/run/wharf/%s/netns", tag);
    n->own_run_dir = !cfg->run_dir;
    n->nservices = cfg->n_host_services;
    n->services = xcalloc(n->nservices + 1, sizeof(uint16_t));
    if (n->nservices)
        memcpy(n->services, cfg->host_services, n->nservices * sizeof(uint16_t));
    int r = bridge_init(&n->awsvpc, "awsvpc", cfg->awsvpc_subnet,
                        cfg->awsvpc_bridge, tag, err);
    if (r == 0)
        r = bridge_init(&n->bridge, "bridge", cfg->bridge_subnet,
                        cfg->bridge_bridge, tag, err);
    if (r == 0 && n->awsvpc.configured && n->bridge.configured &&
        net_subnet_overlaps(n->awsvpc.subnet.net, n->awsvpc.subnet.prefix,
                            n->bridge.subnet.net, n->bridge.subnet.prefix))
        r = wh_err_set(err, 400, "InvalidParameterException",
                       "the awsvpc subnet %s and the bridge subnet %s overlap",
                       n->awsvpc.subnet.cidr, n->bridge.subnet.cidr);
    if (r == 0)
        r = open_checks(n, cfg, err);
    if (r < 0) {
        net_close(n);
        return -1;
    }
    check_routes(n);
    load_ports(n);
    log_info("net: awsvpc %s on %s, bridge %s on %s, namespaces in %s, CNI plugins from %s",
             n->awsvpc.configured ? n->awsvpc.subnet.cidr : "(no subnet)", n->awsvpc.bridge,
             n->bridge.configured ? n->bridge.subnet.cidr : "(no subnet)", n->bridge.bridge,
             n->run_dir, n->cni.path);
    net_pool_start(n, cfg->awsvpc_warm);
    *ret = n;
    return 0;
}

void net_close(struct net *n)
{
    if (!n)
        return;
    net_pool_stop(n);
    net_release_host(n);
    cni_free(&n->cni);
    const struct net_bridge *bs[] = {&n->awsvpc, &n->bridge};
    for (size_t i = 0; i < 2; i++) {
        free(bs[i]->bridge);
        free(bs[i]->name);
    }
    net_ports_free(&n->ports);
    pthread_mutex_destroy(&n->mu);
    pthread_rwlock_destroy(&n->gc_lock);
    free(n->services);
    free(n->ipt);
    free(n->net_dir);
    free(n->tasks_dir);
    free(n->ipam_dir);
    free(n->run_dir);
    free(n);
}

json_t *net_bridge_conflist(const struct net *n, const struct net_bridge *b,
                            const struct net_portmap *pm, size_t npm)
{
    struct net_bridge_net bn = {.name = b->name, .bridge = b->bridge, .subnet = &b->subnet,
                                .ipam_dir = n->ipam_dir};
    return net_conflist(&bn, pm, npm);
}
