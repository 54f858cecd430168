/* net_task_setup, net_task_get, net_task_teardown. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/net/netns.h"
#include "agent/net/netpriv.h"
#include "agent/net/netstate.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

/* ---- ports ---- */

/* Every mapping of the request, flattened, with its container index. */
struct flat_ports {
    struct net_port_req *req;
    long *ctr;
    uint16_t *host;
    size_t n;
};

static void flat_ports_free(struct flat_ports *f)
{
    free(f->req);
    free(f->ctr);
    free(f->host);
}

static void flatten(const struct net_task_req *req, struct flat_ports *ret)
{
    size_t total = 0;
    for (size_t i = 0; i < req->nctrs; i++)
        total += req->ctrs[i].nports;
    ret->req = xcalloc(total + 1, sizeof(*ret->req));
    ret->ctr = xcalloc(total + 1, sizeof(*ret->ctr));
    ret->host = xcalloc(total + 1, sizeof(*ret->host));
    ret->n = 0;
    for (size_t i = 0; i < req->nctrs; i++)
        for (size_t k = 0; k < req->ctrs[i].nports; k++) {
            ret->req[ret->n] = req->ctrs[i].ports[k];
            ret->ctr[ret->n++] = (long)i;
        }
}

static int assign_ports(struct net *n, const struct net_task_req *req, struct flat_ports *f,
                        struct wh_err *err)
{
    flatten(req, f);
    pthread_mutex_lock(&n->mu);
    int r = net_ports_assign(&n->ports, req->task_id, f->req, f->n, net_port_free_on_host,
                             NULL, f->host, err);
    pthread_mutex_unlock(&n->mu);
    return r;
}

static void release_ports(struct net *n, const char *task_id)
{
    pthread_mutex_lock(&n->mu);
    net_ports_release(&n->ports, task_id);
    pthread_mutex_unlock(&n->mu);
}

/* ---- the record ---- */

static json_t *bindings_json(const struct flat_ports *f)
{
    json_t *a = json_array();
    for (size_t i = 0; i < f->n; i++)
        json_array_append_new(a, json_pack("{s:I, s:i, s:i, s:s}", "container",
                                           (json_int_t)f->ctr[i], "containerPort",
                                           f->req[i].container_port, "hostPort", f->host[i],
                                           "protocol", f->req[i].udp ? "udp" : "tcp"));
    return a;
}

static json_t *attachment_json(struct net *n, const struct net_bridge *b, const char *task_id,
                               long container, const struct flat_ports *f)
{
    char id[NET_ID_MAX];
    net_attachment_id(task_id, container, id);
    struct net_portmap *pm = xcalloc(f->n + 1, sizeof(*pm));
    size_t npm = 0;
    for (size_t i = 0; i < f->n; i++)
        if (f->ctr[i] == container)
            pm[npm++] = (struct net_portmap){.host_port = f->host[i],
                                             .container_port = f->req[i].container_port,
                                             .udp = f->req[i].udp};
    cleanup_free char *netns = xasprintf("%s/%s", n->run_dir, id);
    json_t *a = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:o}", "id", id, "container",
                          (json_int_t)container, "network", b->name, "netns", netns, "ifname",
                          NET_IFNAME, "subnet", b->subnet.cidr, "conflist",
                          net_bridge_conflist(n, b, pm, npm));
    free(pm);
    return a;
}

static json_t *new_doc(struct net *n, const struct net_task_req *req, const struct flat_ports *f)
{
    json_t *atts = json_array();
    if (req->mode == NET_MODE_AWSVPC)
        json_array_append_new(atts, attachment_json(n, &n->awsvpc, req->task_id, -1, f));
    for (size_t i = 0; req->mode == NET_MODE_BRIDGE && i < req->nctrs; i++)
        json_array_append_new(atts, attachment_json(n, &n->bridge, req->task_id, (long)i, f));
    return json_pack("{s:s, s:s, s:b, s:I, s:o, s:o}", "taskId", req->task_id, "mode",
                     net_mode_name(req->mode), "complete", 0, "containers",
                     (json_int_t)req->nctrs, "attachments", atts, "bindings", bindings_json(f));
}

static int save(struct net *n, const char *task_id, const json_t *doc, struct wh_err *err)
{
    int r = netstate_save(n->tasks_dir, task_id, doc);
    if (r < 0)
        return wh_err_set(err, 500, "ResourceInitializationError",
                          "ResourceInitializationError: cannot write %s/%s.json: %s",
                          n->tasks_dir, task_id, strerror(-r));
    return 0;
}

static struct cni_rt attachment_rt(const json_t *a)
{
    return (struct cni_rt){.container_id = json_str(a, "id"), .netns = json_str(a, "netns"),
                           .ifname = json_str(a, "ifname")};
}

/* ---- teardown ---- */

int net_doc_teardown(struct net *n, const char *task_id, json_t *doc, struct wh_err *err)
{
    const json_t *atts = json_object_get(doc, "attachments");
    int r = 0;
    for (size_t i = json_array_size(atts); i-- > 0;) {
        const json_t *a = json_array_get(atts, i);
        struct cni_rt rt = attachment_rt(a);
        struct wh_err e = {0};
        int d = cni_list_del(&n->cni, json_object_get(a, "conflist"), &rt,
                             json_object_get(a, "result"), &e);
        int ns = d == 0 ? net_ns_remove(rt.netns) : 0;
        if (ns < 0)
            wh_err_set(&e, 500, "ServerException", "cannot remove namespace %s: %s", rt.netns,
                       strerror(-ns));
        if ((d < 0 || ns < 0) && r == 0) {
            if (err)
                *err = e;
            r = -1;
        }
    }
    if (r < 0)
        return -1;
    int s = netstate_remove(n->tasks_dir, task_id);
    if (s < 0)
        return wh_err_set(err, 500, "ServerException", "cannot remove %s/%s.json: %s",
                          n->tasks_dir, task_id, strerror(-s));
    release_ports(n, task_id);
    return 0;
}

int net_task_teardown(struct net *n, const char *task_id, struct wh_err *err)
{
    if (!net_task_id_valid(task_id))
        return wh_err_set(err, 400, "ServerException", "task id '%s' is not valid",
                          task_id ? task_id : "");
    pthread_rwlock_rdlock(&n->gc_lock);
    json_auto_t *doc = NULL;
    int r = netstate_load(n->tasks_dir, task_id, &doc);
    if (r == -ENOENT) {
        release_ports(n, task_id);
        r = 0;
    } else if (r < 0) {
        r = wh_err_set(err, 500, "ServerException", "cannot read %s/%s.json: %s", n->tasks_dir,
                       task_id, strerror(-r));
    } else {
        double t0 = time_monotonic();
        r = net_doc_teardown(n, task_id, doc, err);
        if (r == 0)
            log_debug("net: task %s: %s network removed in %.1f ms", task_id,
                      json_str(doc, "mode"), (time_monotonic() - t0) * 1000);
    }
    pthread_rwlock_unlock(&n->gc_lock);
    return r;
}

/* ---- back to the pool ---- */

/* A task's awsvpc network that can serve the next task as if new: one attachment, made under
 * a pool id, its namespace there and holding no socket (a TIME_WAIT on a port would refuse
 * the next task's bind). The caller vouches that nothing in the task could reconfigure the
 * namespace. 1: it is the pool's again, 0: not reusable, -1: failed (tear it down). */
static int recycle(struct net *n, const char *task_id, char ret_id[NET_ID_MAX])
{
    json_auto_t *doc = NULL;
    if (netstate_load(n->tasks_dir, task_id, &doc) < 0 || !json_bool(doc, "complete", false))
        return 0;
    const json_t *atts = json_object_get(doc, "attachments");
    const char *mode = json_str(doc, "mode");
    const json_t *a = json_array_get(atts, 0);
    const char *id = json_str(a, "id"), *ns = json_str(a, "netns");
    if (!mode || strcmp(mode, "awsvpc") != 0 || json_array_size(atts) != 1 || !id || !ns ||
        strncmp(id, "pool.", 5) != 0 || strlen(id) >= NET_ID_MAX || !net_ns_exists(ns) ||
        net_ns_sockets(ns) != 0)
        return 0;
    memcpy(ret_id, id, strlen(id) + 1);
    json_object_set_new(doc, "taskId", json_string(ret_id));
    json_object_set_new(doc, "containers", json_integer(0));
    json_object_set_new(doc, "bindings", json_array());
    /* The pool's record first: a crash between the two leaves two records of one attachment,
     * and GC (neither is known then) tears it down once, the second DEL finding nothing. */
    if (netstate_save(n->tasks_dir, ret_id, doc) < 0 ||
        netstate_remove(n->tasks_dir, task_id) < 0)
        return -1;
    release_ports(n, task_id);
    return 1;
}

int net_task_release(struct net *n, const char *task_id, bool may_reuse, struct wh_err *err)
{
    if (!may_reuse || !net_pool_on(n) || !net_task_id_valid(task_id))
        return net_task_teardown(n, task_id, err);
    double t0 = time_monotonic();
    char id[NET_ID_MAX];
    pthread_rwlock_rdlock(&n->gc_lock);
    int r = recycle(n, task_id, id);
    pthread_rwlock_unlock(&n->gc_lock);
    if (r == 1 && net_pool_give(n, id)) {
        log_debug("net: task %s: awsvpc network %s back to the pool in %.1f ms", task_id, id,
                  (time_monotonic() - t0) * 1000);
        return 0;
    }
    if (r == 1) /* the pool is full: the record is the pool's now, tear it down as such */
        return net_task_teardown(n, id, err);
    if (r < 0)
        log_warn("net: task %s: cannot return its network to the pool: tearing it down",
                 task_id);
    return net_task_teardown(n, task_id, err);
}

/* ---- setup ---- */

/* ADD every attachment; results go into doc. */
static int add_all(struct net *n, json_t *doc, struct wh_err *err)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(doc, "attachments"), i, a) {
        struct cni_rt rt = attachment_rt(a);
        if (net_ns_create(rt.netns, err) < 0)
            return -1;
        json_t *res;
        if (cni_list_add(&n->cni, json_object_get(a, "conflist"), &rt, &res, err) < 0)
            return -1;
        json_object_set_new(a, "result", res);
    }
    return 0;
}

/* A record found at setup: usable as it is when complete, for the same request, with every
 * namespace there and every plugin's CHECK passing. */
static bool reusable(struct net *n, const json_t *doc, const struct net_task_req *req)
{
    const char *mode = json_str(doc, "mode");
    if (!json_bool(doc, "complete", false) || !mode ||
        strcmp(mode, net_mode_name(req->mode)) != 0 ||
        json_int(doc, "containers", -1) != (json_int_t)req->nctrs)
        return false;
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(doc, "attachments"), i, a) {
        struct cni_rt rt = attachment_rt(a);
        struct wh_err e = {0};
        if (!net_ns_exists(rt.netns) ||
            cni_list_check(&n->cni, json_object_get(a, "conflist"), &rt,
                           json_object_get(a, "result"), &e) < 0) {
            log_info("net: task %s: redoing its network: %s", req->task_id,
                     e.msg[0] ? e.msg : "namespace gone");
            return false;
        }
    }
    return true;
}

/* Reuse or remove what an earlier setup left. 1: reused (*ret filled), 0: gone, -1. */
static int previous(struct net *n, const struct net_task_req *req, struct net_task_net *ret,
                    struct wh_err *err)
{
    json_auto_t *doc = NULL;
    int r = netstate_load(n->tasks_dir, req->task_id, &doc);
    if (r == -ENOENT)
        return 0;
    if (r < 0) {
        /* Damaged: remove what its attachments may have left, as GC would. */
        log_warn("net: task %s: network record damaged (%s), removing its network",
                 req->task_id, strerror(-r));
        char id[NET_ID_MAX];
        for (long i = -1; i < (long)req->nctrs; i++) {
            net_attachment_id(req->task_id, i, id);
            if (net_orphan_del(n, id, err) < 0)
                return wh_err_prefix(err, "ResourceInitializationError: ");
        }
        netstate_remove(n->tasks_dir, req->task_id);
        release_ports(n, req->task_id);
        return 0;
    }
    if (reusable(n, doc, req)) {
        pthread_mutex_lock(&n->mu);
        size_t k;
        const json_t *b;
        json_array_foreach(json_object_get(doc, "bindings"), k, b) {
            const char *proto = json_str(b, "protocol");
            net_ports_hold(&n->ports, (uint16_t)json_int(b, "hostPort", 0),
                           proto && strcmp(proto, "udp") == 0, req->task_id);
        }
        pthread_mutex_unlock(&n->mu);
        return netstate_to_net(doc, ret, err) < 0 ? -1 : 1;
    }
    if (net_doc_teardown(n, req->task_id, doc, err) < 0)
        return wh_err_prefix(err, "ResourceInitializationError: removing the task's previous "
                                  "network: ");
    return 0;
}

static int check_request(struct net *n, const struct net_task_req *req, struct wh_err *err)
{
    if (!net_task_id_valid(req->task_id))
        return wh_err_set(err, 400, "ResourceInitializationError",
                          "ResourceInitializationError: task id '%s' is not valid",
                          req->task_id ? req->task_id : "");
    if ((req->mode == NET_MODE_AWSVPC || req->mode == NET_MODE_BRIDGE) &&
        !net_bridge_of(n, req->mode)->configured)
        return wh_err_set(err, 500, "ResourceInitializationError",
                          "ResourceInitializationError: networkMode %s: wharfd assigned this "
                          "instance no %s subnet", net_mode_name(req->mode),
                          net_mode_name(req->mode));
    return 0;
}

int net_setup_fresh(struct net *n, const struct net_task_req *req, struct net_task_net *ret,
                    struct wh_err *err)
{
    struct flat_ports f = {0};
    if (assign_ports(n, req, &f, err) < 0) {
        flat_ports_free(&f);
        return -1;
    }
    json_auto_t *doc = new_doc(n, req, &f);
    flat_ports_free(&f);
    /* host and none: nothing to make, the record (held ports) is complete at once. */
    bool any = json_array_size(json_object_get(doc, "attachments")) > 0;
    if (!any)
        json_object_set_new(doc, "complete", json_true());
    int r = save(n, req->task_id, doc, err);
    if (r == 0 && any && (r = add_all(n, doc, err)) < 0) {
        wh_err_prefix(err, "ResourceInitializationError: ");
        net_doc_teardown(n, req->task_id, doc, NULL);
    }
    if (r == 0 && any) {
        json_object_set_new(doc, "complete", json_true());
        r = save(n, req->task_id, doc, err);
    }
    if (r == 0 && any)
        net_bridge_after_add(n, net_bridge_of(n, req->mode));
    if (r == 0)
        r = netstate_to_net(doc, ret, err);
    if (r < 0)
        release_ports(n, req->task_id);
    return r;
}

/* Give the task the warm attachment pool_id: its record becomes the task's (the pool's goes
 * first: a crash in between leaves an attachment of no record, which GC removes, never one of
 * two records). 1: done, 0: unusable (removed; set up afresh), -1. */
static int adopt(struct net *n, const struct net_task_req *req, const char *pool_id,
                 struct net_task_net *ret, struct wh_err *err)
{
    json_auto_t *doc = NULL;
    if (netstate_load(n->tasks_dir, pool_id, &doc) < 0 || !json_bool(doc, "complete", false)) {
        struct wh_err e = {0};
        if (net_orphan_del(n, pool_id, &e) < 0)
            log_warn("net: pool: %s: %s", pool_id, e.msg);
        netstate_remove(n->tasks_dir, pool_id);
        return 0;
    }
    struct flat_ports f = {0};
    if (assign_ports(n, req, &f, err) < 0) {
        flat_ports_free(&f);
        return -1; /* the attachment stays the pool's record: GC removes it */
    }
    json_object_set_new(doc, "taskId", json_string(req->task_id));
    json_object_set_new(doc, "containers", json_integer((json_int_t)req->nctrs));
    json_object_set_new(doc, "bindings", bindings_json(&f));
    flat_ports_free(&f);
    int r = netstate_remove(n->tasks_dir, pool_id);
    if (r < 0)
        r = wh_err_set(err, 500, "ResourceInitializationError",
                       "ResourceInitializationError: cannot remove %s/%s.json: %s",
                       n->tasks_dir, pool_id, strerror(-r));
    if (r == 0)
        r = save(n, req->task_id, doc, err);
    if (r == 0)
        r = netstate_to_net(doc, ret, err);
    if (r < 0) {
        net_doc_teardown(n, req->task_id, doc, NULL);
        release_ports(n, req->task_id);
        return -1;
    }
    return 1;
}

int net_task_setup(struct net *n, const struct net_task_req *req, struct net_task_net *ret,
                   struct wh_err *err)
{
    if (check_request(n, req, err) < 0)
        return -1;
    double t0 = time_monotonic();
    net_pool_busy(n, 1);
    pthread_rwlock_rdlock(&n->gc_lock);
    int r = previous(n, req, ret, err);
    const char *how = r == 1 ? "found" : "set up";
    if (r == 0 && req->mode == NET_MODE_AWSVPC && net_pool_on(n)) {
        /* Made under a pool id even when none is ready, so that it can go back to the pool
         * when the task ends. */
        cleanup_free char *id = net_pool_take(n);
        if (id)
            how = "taken from the pool";
        else if (!(id = net_pool_make_now(n, err)))
            r = wh_err_prefix(err, "ResourceInitializationError: ");
        if (id)
            r = adopt(n, req, id, ret, err);
    }
    if (r == 0)
        r = net_setup_fresh(n, req, ret, err);
    pthread_rwlock_unlock(&n->gc_lock);
    net_pool_busy(n, -1);
    if (r < 0)
        return -1;
    log_debug("net: task %s: %s network %s in %.1f ms", req->task_id, net_mode_name(req->mode),
              how, (time_monotonic() - t0) * 1000);
    return 0;
}

int net_task_get(struct net *n, const char *task_id, struct net_task_net *ret,
                 struct wh_err *err)
{
    if (!net_task_id_valid(task_id))
        return -ENOENT;
    json_auto_t *doc = NULL;
    int r = netstate_load(n->tasks_dir, task_id, &doc);
    if (r < 0)
        return r == -ENOENT ? r
                            : wh_err_set(err, 500, "ServerException", "cannot read %s/%s.json: %s",
                                         n->tasks_dir, task_id, strerror(-r));
    if (!json_bool(doc, "complete", false))
        return -ENOENT;
    return netstate_to_net(doc, ret, err);
}
