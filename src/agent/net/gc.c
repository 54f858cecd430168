/* net_gc and net_census: what this agent's networking left on the host. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/net/iptables.h"
#include "agent/net/netns.h"
#include "agent/net/netpriv.h"
#include "agent/net/netstate.h"
#include "core/fsutil.h"
#include "core/json.h"
#include "core/log.h"
#include "core/xalloc.h"

struct gc {
    struct net *n;
    const char *const *known;
    size_t nknown;
    char **adopted; /* warm attachments (pool.c) that known tasks took: their ids */
    size_t nadopted;
    struct net_census removed;
    int r;
    struct wh_err *err;
};

static void gc_fail(struct gc *g, const struct wh_err *e)
{
    log_warn("net: gc: %s", e->msg);
    if (g->r == 0 && g->err)
        *g->err = *e;
    g->r = -1;
}

static bool known_task(const struct gc *g, const char *task)
{
    for (size_t i = 0; i < g->nknown; i++)
        if (g->known[i] && strcmp(g->known[i], task) == 0)
            return true;
    for (size_t i = 0; i < g->nadopted; i++)
        if (strcmp(g->adopted[i], task) == 0)
            return true;
    return net_pool_owns(g->n, task);
}

/* The attachments of known tasks that are named for someone else: warm ones they took. */
static void find_adopted(struct gc *g)
{
    for (size_t i = 0; i < g->nknown; i++) {
        json_auto_t *doc = NULL;
        if (!g->known[i] || netstate_load(g->n->tasks_dir, g->known[i], &doc) < 0)
            continue;
        size_t k;
        const json_t *a;
        json_array_foreach(json_object_get(doc, "attachments"), k, a) {
            char task[NET_ID_MAX];
            long c;
            const char *id = json_str(a, "id");
            if (!id || !net_attachment_parse(id, task, &c) || strcmp(task, g->known[i]) == 0)
                continue;
            g->adopted = xrealloc(g->adopted, (g->nadopted + 1) * sizeof(*g->adopted));
            g->adopted[g->nadopted++] = xstrdup(task);
        }
    }
}

/* An attachment id (or CNI container id) of no known task. */
static bool orphan_id(const struct gc *g, const char *id)
{
    char task[NET_ID_MAX];
    long c;
    return net_attachment_parse(id, task, &c) && !known_task(g, task);
}

/* The GC conflist of b: a stand-in port mapping, since portmap's DEL does nothing without
 * one, and removes the container's chains whatever the mappings were. */
static json_t *gc_conflist(struct net *n, const struct net_bridge *b)
{
    struct net_portmap pm = {.host_port = 1, .container_port = 1};
    return net_bridge_conflist(n, b, &pm, 1);
}

static char *lease_owner(const char *path);
static bool is_ipv4(const char *s);

/* The address network b leased to container id, or NULL. */
static char *lease_of(struct net *n, const struct net_bridge *b, const char *id)
{
    cleanup_free char *dir = xasprintf("%s/%s", n->ipam_dir, b->name);
    DIR *d = opendir(dir);
    struct dirent *de;
    char *ip = NULL;
    while (d && !ip && (de = readdir(d))) {
        if (!is_ipv4(de->d_name))
            continue;
        cleanup_free char *path = xasprintf("%s/%s", dir, de->d_name);
        cleanup_free char *owner = lease_owner(path);
        if (owner && strcmp(owner, id) == 0)
            ip = xstrdup(de->d_name);
    }
    if (d)
        closedir(d);
    return ip;
}

int net_orphan_del(struct net *n, const char *id, struct wh_err *err)
{
    char task[NET_ID_MAX];
    long c;
    if (!net_attachment_parse(id, task, &c))
        return 0;
    /* The id says the network: the task's own namespace is awsvpc's, a container's bridge's. */
    const struct net_bridge *b = c < 0 ? &n->awsvpc : &n->bridge;
    cleanup_free char *netns = xasprintf("%s/%s", n->run_dir, id);
    struct cni_rt rt = {.container_id = id, .netns = netns, .ifname = NET_IFNAME};
    if (b->configured) {
        /* The address its lease holds, so the firewall plugin finds its rules too. */
        cleanup_free char *ip = lease_of(n, b, id);
        json_auto_t *cl = gc_conflist(n, b);
        json_auto_t *res = ip ? net_standin_result(netns, NET_IFNAME, ip, b->subnet.prefix)
                              : NULL;
        if (cni_list_del(&n->cni, cl, &rt, res, err) < 0)
            return -1;
    }
    int e = net_ns_remove(netns);
    if (e < 0)
        return wh_err_set(err, 500, "ServerException", "cannot remove namespace %s: %s", netns,
                          strerror(-e));
    return 0;
}

/* ---- records and namespaces ---- */

static void gc_records(struct gc *g)
{
    char **ids = NULL;
    size_t cnt = 0;
    if (netstate_list(g->n->tasks_dir, &ids, &cnt) < 0)
        return;
    for (size_t i = 0; i < cnt; i++) {
        if (known_task(g, ids[i]))
            continue;
        json_auto_t *doc = NULL;
        struct wh_err e = {0};
        if (netstate_load(g->n->tasks_dir, ids[i], &doc) < 0)
            doc = json_pack("{s:[]}", "attachments"); /* damaged: the rest finds its parts */
        if (net_doc_teardown(g->n, ids[i], doc, &e) < 0)
            gc_fail(g, &e);
        else
            g->removed.tasks++;
    }
    netstate_ids_free(ids);
}

static void gc_namespaces(struct gc *g)
{
    DIR *d = opendir(g->n->run_dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.' || !orphan_id(g, de->d_name))
            continue;
        struct wh_err e = {0};
        if (net_orphan_del(g->n, de->d_name, &e) < 0)
            gc_fail(g, &e);
        else
            g->removed.netns++;
    }
    if (d)
        closedir(d);
}

/* ---- leases ---- */

static bool is_ipv4(const char *s)
{
    struct in_addr a;
    return inet_pton(AF_INET, s, &a) == 1;
}

/* The container id a host-local lease file names (its first line), or NULL. */
static char *lease_owner(const char *path)
{
    char *text = NULL;
    if (fs_read_file(path, 4096, &text, NULL) < 0)
        return NULL;
    text[strcspn(text, "\r\n")] = 0;
    return text;
}

static struct net_bridge *bridge_named(struct net *n, const char *name)
{
    struct net_bridge *bs[] = {&n->awsvpc, &n->bridge};
    for (size_t i = 0; i < 2; i++)
        if (bs[i]->configured && strcmp(bs[i]->name, name) == 0)
            return bs[i];
    return NULL;
}

/* DEL the lease's owner on its network with a stand-in result holding the address (the
 * firewall plugin removes its rules by address), then make sure the lease is gone. */
static void drop_lease(struct gc *g, const char *network, const char *ip, const char *owner,
                       const char *path)
{
    struct net_bridge *b = bridge_named(g->n, network);
    struct wh_err e = {0};
    if (b && owner) {
        cleanup_free char *netns = xasprintf("%s/%s", g->n->run_dir, owner);
        struct cni_rt rt = {.container_id = owner, .netns = netns, .ifname = NET_IFNAME};
        json_auto_t *cl = gc_conflist(g->n, b);
        json_auto_t *res = net_standin_result(netns, NET_IFNAME, ip, b->subnet.prefix);
        if (cni_list_del(&g->n->cni, cl, &rt, res, &e) < 0)
            log_warn("net: gc: lease %s of %s: %s", ip, owner, e.msg);
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        wh_err_set(&e, 500, "ServerException", "cannot remove lease %s: %s", path,
                   strerror(errno));
        gc_fail(g, &e);
        return;
    }
    g->removed.leases++;
}

/* Visit every lease: fn(network, ip, owner, path). */
static void each_lease(struct net *n, void (*fn)(void *, const char *, const char *,
                                                  const char *, const char *), void *arg)
{
    DIR *d = opendir(n->ipam_dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        cleanup_free char *ndir = xasprintf("%s/%s", n->ipam_dir, de->d_name);
        DIR *nd = opendir(ndir);
        struct dirent *le;
        while (nd && (le = readdir(nd))) {
            if (!is_ipv4(le->d_name))
                continue;
            cleanup_free char *path = xasprintf("%s/%s", ndir, le->d_name);
            cleanup_free char *owner = lease_owner(path);
            fn(arg, de->d_name, le->d_name, owner, path);
        }
        if (nd)
            closedir(nd);
    }
    if (d)
        closedir(d);
}

static void lease_gc_one(void *arg, const char *network, const char *ip, const char *owner,
                         const char *path)
{
    struct gc *g = arg;
    if (!owner || orphan_id(g, owner))
        drop_lease(g, network, ip, owner, path);
}

/* ---- iptables ---- */

/* The addresses leased on our networks. */
struct leased {
    char (*ip)[16];
    size_t n;
};

static void leased_one(void *arg, const char *network, const char *ip, const char *owner,
                       const char *path)
{
    (void)network, (void)owner, (void)path;
    struct leased *l = arg;
    l->ip = xrealloc(l->ip, (l->n + 1) * sizeof(*l->ip));
    /* each_lease passes dotted quads (is_ipv4: at most 15 characters), so this never cuts one. */
    int w = snprintf(l->ip[l->n], sizeof(*l->ip), "%s", ip);
    if (w > 0 && (size_t)w < sizeof(*l->ip))
        l->n++;
}

static bool is_leased(const struct leased *l, const char *ip)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->ip[i], ip) == 0)
            return true;
    return false;
}

struct our_names {
    const char *names[2];
    const struct net_subnet *subnets[2];
    size_t nnames, nsubnets;
};

static void our_names(const struct net *n, struct our_names *ret)
{
    *ret = (struct our_names){0};
    const struct net_bridge *bs[] = {&n->awsvpc, &n->bridge};
    for (size_t i = 0; i < 2; i++) {
        ret->names[ret->nnames++] = bs[i]->name;
        if (bs[i]->configured)
            ret->subnets[ret->nsubnets++] = &bs[i]->subnet;
    }
}

/* Delete the orphan rules of one table: those of an unknown container id (their own chains
 * are dropped after, once nothing jumps to them; they are appended to chains), and the
 * firewall plugin's accepts (which name no id) for addresses of our subnets nobody leases:
 * a subnet is this instance's alone (wharfd carves them), so such a rule is a leftover of
 * ours. */
static void gc_table(struct gc *g, const char *table, const struct leased *leased,
                     char (**chains)[29], size_t *nchains)
{
    struct our_names on;
    our_names(g->n, &on);
    cleanup_free char *text = NULL;
    struct wh_err e = {0};
    if (ipt_list(g->n->ipt, table, &text, &e) < 0) {
        gc_fail(g, &e);
        return;
    }
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        struct ipt_rule_info info;
        ipt_rule_parse(line, on.names, on.nnames, on.subnets, on.nsubnets, &info);
        /* Only rules that name an unknown task: an address alone does not say whose it is
         * (another agent may share the subnet, as two wharfds on one host do); the firewall
         * plugin's rules go with the DELs above, which know the address from the lease. */
        bool by_id = info.id[0] && orphan_id(g, info.id);
        bool by_ip = info.fwd_ip[0] && !is_leased(leased, info.fwd_ip);
        if (!by_id && !by_ip)
            continue;
        const char *prefixes[] = {"", "DN-"};
        for (size_t k = 0; by_id && k < 2; k++) {
            *chains = xrealloc(*chains, (*nchains + 1) * sizeof(**chains));
            ipt_cni_chain(info.network, info.id, prefixes[k], (*chains)[(*nchains)++]);
        }
        bool in_orphan_chain = false;
        for (size_t k = 0; k < *nchains && !in_orphan_chain; k++)
            in_orphan_chain = strncmp(line + 3, (*chains)[k], strlen((*chains)[k])) == 0 &&
                              line[3 + strlen((*chains)[k])] == ' ';
        if (in_orphan_chain)
            continue;
        if (ipt_delete_rule(g->n->ipt, table, line, &e) < 0)
            gc_fail(g, &e);
        else
            g->removed.rules++;
    }
}

static void gc_rules(struct gc *g)
{
    struct leased leased = {0};
    each_lease(g->n, leased_one, &leased);
    const char *tables[] = {"nat", "filter"};
    for (size_t t = 0; t < 2; t++) {
        char (*chains)[29] = NULL;
        size_t nchains = 0;
        gc_table(g, tables[t], &leased, &chains, &nchains);
        for (size_t k = 0; k < nchains; k++) {
            struct wh_err e = {0};
            if (ipt_drop_chain(g->n->ipt, tables[t], chains[k], &e) < 0)
                gc_fail(g, &e);
        }
        free(chains);
    }
    free(leased.ip);
}

int net_gc(struct net *n, const char *const *known, size_t nknown,
           struct net_census *ret_removed, struct wh_err *err)
{
    struct gc g = {.n = n, .known = known, .nknown = nknown, .err = err};
    pthread_rwlock_wrlock(&n->gc_lock);
    find_adopted(&g);
    gc_records(&g);
    gc_namespaces(&g);
    each_lease(n, lease_gc_one, &g);
    gc_rules(&g);
    pthread_rwlock_unlock(&n->gc_lock);
    for (size_t i = 0; i < g.nadopted; i++)
        free(g.adopted[i]);
    free(g.adopted);
    const struct net_census *r = &g.removed;
    if (r->tasks || r->netns || r->leases || r->rules)
        log_info("net: gc removed %zu task networks, %zu namespaces, %zu leases, %zu iptables "
                 "rules", r->tasks, r->netns, r->leases, r->rules);
    if (ret_removed)
        *ret_removed = g.removed;
    return g.r;
}

/* ---- census ---- */

static size_t count_entries(const char *dir, bool (*want)(const char *))
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.' && (!want || want(de->d_name)))
            n++;
    if (d)
        closedir(d);
    return n;
}

static size_t count_rules(struct net *n, const char *table, struct wh_err *err, int *r)
{
    struct our_names on;
    our_names(n, &on);
    cleanup_free char *text = NULL;
    if (ipt_list(n->ipt, table, &text, err) < 0) {
        *r = -1;
        return 0;
    }
    size_t cnt = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        struct ipt_rule_info info;
        ipt_rule_parse(line, on.names, on.nnames, on.subnets, on.nsubnets, &info);
        cnt += info.ours;
    }
    return cnt;
}

int net_census(struct net *n, struct net_census *ret, struct wh_err *err)
{
    struct net_census c = {0};
    char **ids = NULL;
    if (netstate_list(n->tasks_dir, &ids, &c.tasks) == 0)
        netstate_ids_free(ids);
    c.netns = count_entries(n->run_dir, NULL);
    const struct net_bridge *bs[] = {&n->awsvpc, &n->bridge};
    for (size_t i = 0; i < 2; i++) {
        cleanup_free char *brif = xasprintf("/sys/class/net/%s/brif", bs[i]->bridge);
        cleanup_free char *leases = xasprintf("%s/%s", n->ipam_dir, bs[i]->name);
        if (i == 0 || strcmp(bs[0]->bridge, bs[1]->bridge) != 0)
            c.veths += count_entries(brif, NULL);
        c.leases += count_entries(leases, is_ipv4);
    }
    int r = 0;
    c.rules = count_rules(n, "nat", err, &r);
    if (r == 0)
        c.rules += count_rules(n, "filter", err, &r);
    if (r < 0)
        return -1;
    *ret = c;
    return 0;
}
