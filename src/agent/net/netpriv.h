/* The insides of struct net, shared by network.c (setup, teardown) and gc.c (GC, census).
 * Internal to src/agent/net. */
#pragma once
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#include "agent/net/cni.h"
#include "agent/net/netconf.h"
#include "agent/net/network.h"
#include "agent/net/ports.h"

/* One of the two bridge networks. */
struct net_bridge {
    bool configured;        /* wharfd gave a subnet */
    struct net_subnet subnet;
    char *bridge;           /* Linux bridge device */
    char *name;             /* CNI network name: "wharf-awsvpc-<tag>" / "wharf-bridge-<tag>" */
};

/* Warm awsvpc attachments (pool.c): made ahead by a thread of their own while no task is being
 * set up, so that an awsvpc task's network is a rename of records rather than a run of the
 * plugins (≈ 300 ms here). Each is a complete record under its own id "pool.<hex>" (a valid
 * task id), and keeps that id as its CNI container id for life: the task that takes it is
 * torn down with it. */
struct net_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool started, stop;
    int target;            /* attachments to keep ready */
    char **ready;          /* their ids, oldest first */
    size_t nready;
    char making[NET_ID_MAX]; /* the one being made, or "" (GC must not take it) */
    int busy;              /* task setups in flight: making waits for them */
};

struct net {
    char *net_dir, *tasks_dir, *ipam_dir, *run_dir;
    bool own_run_dir;       /* run_dir is /run/wharf/<tag>/netns (not given by the caller) */
    char *ipt;              /* the iptables executable */
    struct cni cni;
    struct net_bridge awsvpc, bridge;
    uint16_t *services;     /* loopback host services forwarded to the gateways */
    size_t nservices;
    pthread_mutex_t mu;     /* guards ports */
    struct net_ports ports;
    pthread_rwlock_t gc_lock; /* setups and teardowns read-lock, GC write-locks */
    struct net_pool pool;
};

/* The bridge network of mode (awsvpc or bridge). */
static inline struct net_bridge *net_bridge_of(struct net *n, enum net_mode mode)
{
    return mode == NET_MODE_AWSVPC ? &n->awsvpc : &n->bridge;
}

/* ---- host_release.c ---- */
/* When no task network is left (a clean stop with no awsvpc or bridge task running): remove
 * the rules on our bridges, the bridges and the namespace directory (net_close). */
void net_release_host(struct net *n);

/* ---- pool.c ---- */
/* The pool's lock and condition (net_open, before anything can fail). */
void net_pool_init(struct net *n);
/* Start keeping target awsvpc attachments ready (no thread when target is 0 or awsvpc has no
 * subnet). */
void net_pool_start(struct net *n, int target);
/* Stop the thread and tear the ready attachments down (first thing in net_close). */
void net_pool_stop(struct net *n);
/* Take a ready attachment: its id (new string), or NULL when none is ready. */
char *net_pool_take(struct net *n);
/* Make an attachment now, in the calling thread (which holds gc_lock): its id (new string),
 * or NULL with err. Not in the ready list: the caller takes it. */
char *net_pool_make_now(struct net *n, struct wh_err *err);
/* Put the attachment id (its record complete under that id) back in the ready list: false
 * when it holds 2 × target already or is stopped (the caller tears it down). */
bool net_pool_give(struct net *n, const char *id);
/* Whether the pool runs (awsvpc_warm > 0 and an awsvpc subnet). */
bool net_pool_on(const struct net *n);
/* A task setup begins / ends (making waits while any is in flight). */
void net_pool_busy(struct net *n, int delta);
/* Whether id is one of the pool's (ready or being made). */
bool net_pool_owns(struct net *n, const char *id);

/* ---- setup.c, for the pool ---- */
/* A new network for req (no record of it exists). */
int net_setup_fresh(struct net *n, const struct net_task_req *req, struct net_task_net *ret,
                    struct wh_err *err);

/* The conflist of network b for an attachment (pm: its port mappings). */
json_t *net_bridge_conflist(const struct net *n, const struct net_bridge *b,
                            const struct net_portmap *pm, size_t npm);
/* DEL every attachment of doc in reverse order and remove their namespaces; then, when all
 * went well, the record itself and the task's held ports. Caller holds gc_lock. */
int net_doc_teardown(struct net *n, const char *task_id, json_t *doc, struct wh_err *err);
/* After ADD on b: what the bridge needs once it exists (route_localnet for host services). */
void net_bridge_after_add(struct net *n, const struct net_bridge *b);
/* DEL attachment id (no record: the current configuration of the network its id implies, no
 * prevResult) and remove its namespace, as GC does for leftovers. */
int net_orphan_del(struct net *n, const char *id, struct wh_err *err);
