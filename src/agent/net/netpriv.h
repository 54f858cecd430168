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

struct net {
    char *net_dir, *tasks_dir, *ipam_dir, *run_dir;
    char *ipt;              /* the iptables executable */
    struct cni cni;
    struct net_bridge awsvpc, bridge;
    uint16_t *services;     /* loopback host services forwarded to the gateways */
    size_t nservices;
    pthread_mutex_t mu;     /* guards ports */
    struct net_ports ports;
    pthread_rwlock_t gc_lock; /* setups and teardowns read-lock, GC write-locks */
};

/* The bridge network of mode (awsvpc or bridge). */
static inline struct net_bridge *net_bridge_of(struct net *n, enum net_mode mode)
{
    return mode == NET_MODE_AWSVPC ? &n->awsvpc : &n->bridge;
}

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
