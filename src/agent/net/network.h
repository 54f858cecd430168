/* Task networking for wharf-agent: the four ECS network modes on one host, built from the
 * standard CNI plugins (containernetworking-plugins: bridge, host-local, firewall, portmap)
 * run per the CNI 1.0 spec (cni.h), with namespaces of our own (netns.h).
 *
 *   awsvpc  one namespace per task, bound at RUN/<task id>, with one veth on the bridge
 *           "wh-<tag>-vpc" and an address from this host's awsvpc subnet (host-local IPAM); every
 *           container of the task joins it (pass net_task_net.netns to oci_spec_in.netns),
 *           so they reach each other on localhost. Reported as the ENI-like attachment.
 *   bridge  one namespace per container (RUN/<task id>-<index>) on the bridge "wh-<tag>-br"
 *           with an address from this host's bridge subnet; portMappings are published with
 *           portmap (hostPort → containerPort, tcp and udp, reachable on every host address
 *           and on 127.0.0.1); hostPort 0 or absent is a dynamic port from 49153-65535.
 *   host    the host's namespace: the containers get no network namespace of their own; the
 *           mapped ports are checked free and held, and reported as networkBindings.
 *   none    loopback only: each container gets a new namespace of its own (netns NULL).
 *
 * <tag> is 6 hex digits of sha256(data dir): every agent on a host has bridges, CNI network
 * names ("wharf-awsvpc-<tag>", "wharf-bridge-<tag>") and a run dir of its own, since a Linux
 * bridge carries one IPv4 subnet and each agent has its own (GC only ever touches its own).
 *
 * Outbound traffic is masqueraded (bridge ipMasq); net_open sets net.ipv4.ip_forward=1 and
 * says so in the log. Tasks reach services on the host at their bridge's gateway address (the
 * first address of the subnet); loopback-only ones listed in host_services (wharfd's port when
 * it listens on 127.0.0.1) are forwarded there too.
 *
 * State: DATA/net/tasks/<task id>.json keeps, per attachment, the exact configuration list
 * and the result ADD returned, written before the plugins run and again after; DEL runs with
 * the same configuration and that result, so teardown works after an agent restart. IPAM
 * leases live in DATA/net/ipam/<network>/. Nothing is duplicated by a second setup and nothing
 * is lost by a restart: setup is idempotent (a complete setup whose namespaces still exist is
 * returned as it is; a half-made one is torn down and redone), teardown is idempotent, and
 * net_gc removes what belongs to no task the agent knows.
 *
 * Threads: every function may be called from any thread, concurrently for distinct tasks
 * (the task runners call setup and teardown; the reconciler calls net_gc). The CNI plugins
 * run in parallel; net_gc excludes setups and teardowns while it looks. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/net/ports.h"
#include "core/err.h"

#define NET_IFNAME "eth0"

enum net_mode { NET_MODE_NONE, NET_MODE_HOST, NET_MODE_BRIDGE, NET_MODE_AWSVPC };
/* "none", "host", "bridge", "awsvpc". */
const char *net_mode_name(enum net_mode m);
/* The name above → mode; -1 when unknown. */
int net_mode_parse(const char *s, enum net_mode *ret);

struct net_config {
    const char *data_dir;      /* the agent's data dir (DATA/net/ is ours) */
    const char *run_dir;       /* where namespaces are bound; NULL: /run/wharf/<12 hex of
                                  sha256(data_dir)>/netns, so two agents on one host (each
                                  with its own data dir) never touch each other's */
    const char *cni_path;      /* NULL: /usr/lib/cni:/opt/cni/bin */
    const char *awsvpc_subnet; /* "10.213.0.0/24": this host's, from wharfd's registration
                                  (attribute wharf.subnet.awsvpc); NULL: awsvpc tasks fail */
    const char *bridge_subnet; /* "10.213.1.0/24" (wharf.subnet.bridge); NULL: bridge tasks
                                  fail */
    const char *awsvpc_bridge; /* NULL: "wh-<tag>-vpc" */
    const char *bridge_bridge; /* NULL: "wh-<tag>-br" */
    const uint16_t *host_services; /* TCP ports of loopback-only host services to forward from
                                      each gateway address to 127.0.0.1 */
    size_t n_host_services;
    int timeout_ms;            /* per CNI plugin run; 0: 30 s */
    int awsvpc_warm;           /* awsvpc attachments to keep made ahead (0: none): an awsvpc
                                  task takes one instead of running the plugins, and a
                                  low-priority thread makes the next while no task is being
                                  set up */
};

struct net;

/* Check the plugins and iptables are there, create DATA/net and the run dir, set
 * net.ipv4.ip_forward=1, load the state of the tasks set up before (their host ports are held
 * again). Errors name what is missing and the Debian package that has it. */
int net_open(const struct net_config *cfg, struct net **ret, struct wh_err *err);
void net_close(struct net *n);

/* ---- what a task asks for ---- */

struct net_ctr_req {
    const char *name;                  /* the container's name (for messages) */
    const struct net_port_req *ports;  /* its portMappings; host_port 0: dynamic */
    size_t nports;
};

struct net_task_req {
    const char *task_id;  /* the task ARN's id: [A-Za-z0-9][A-Za-z0-9_.]{0,63} */
    enum net_mode mode;
    const struct net_ctr_req *ctrs; /* every container of the task, in definition order */
    size_t nctrs;
};

/* The request of a task from its definition (DescribeTaskDefinition's taskDefinition):
 * networkMode (absent: bridge, as ECS on Linux; launch_type "FARGATE": awsvpc) and every
 * container's portMappings (hostPort absent or 0: dynamic in bridge mode; host mode maps
 * containerPort; containerPortRange "a-b" expands to one dynamic mapping per port in bridge
 * mode, at most 1000 per task). Pure; free with net_task_req_clear. */
int net_task_req_from_def(const json_t *task_def, const char *launch_type, const char *task_id,
                          struct net_task_req *ret, struct wh_err *err);
void net_task_req_clear(struct net_task_req *r);

/* ---- what the task got ---- */

struct net_binding {
    uint16_t container_port, host_port;
    bool udp;
};

struct net_ctr_net {
    char *netns;  /* the namespace to join (oci_spec_in.netns); NULL in modes none (a new
                     loopback-only namespace) and host (no namespace: see net_task_net.host) */
    char *ip;     /* bridge mode: the container's own address on the bridge; awsvpc: the
                     task's; else NULL */
    char *mac;
    struct net_binding *bindings; /* bridge and host: ECS networkBindings */
    size_t nbindings;
};

struct net_task_net {
    enum net_mode mode;
    bool host;     /* the containers share the host's network namespace */
    char *netns;   /* awsvpc: the task's namespace; else NULL */
    char *ip, *mac, *subnet, *gateway, *ifname; /* awsvpc: the task's interface; else NULL */
    struct net_ctr_net *ctrs; /* one per container of the request, in its order */
    size_t nctrs;
};
void net_task_net_clear(struct net_task_net *r);

/* Set the task's network up (or find it set up: idempotent) and describe it. On failure
 * everything made so far is undone. Errors are whole ECS reasons: "CannotStartContainerError:
 * host port 8080/tcp is already allocated to task …" (400) for port conflicts,
 * "ResourceInitializationError: …" (500) with the CNI plugin's own message otherwise. */
int net_task_setup(struct net *n, const struct net_task_req *req, struct net_task_net *ret,
                   struct wh_err *err);
/* The network of a task set up before (after an agent restart, for its reports); -ENOENT
 * (err untouched) when there is none. */
int net_task_get(struct net *n, const char *task_id, struct net_task_net *ret,
                 struct wh_err *err);
/* Remove the task's network: CNI DEL of every attachment (reverse order, with the stored
 * configuration and result), its namespaces, its state; its host ports are free again. 0 when
 * nothing is left (also when there was nothing); -1 when a plugin failed (the state is kept:
 * call again later). */
int net_task_teardown(struct net *n, const char *task_id, struct wh_err *err);

/* net_task_teardown, except that an awsvpc network taken from the warm pool goes back to it
 * when may_reuse (the caller vouches that no container of the task could reconfigure its
 * namespace: no NET_ADMIN, not privileged, no net.* sysctls), the pool has room and the
 * namespace holds no socket; the next awsvpc task then gets it as if new. */
int net_task_release(struct net *n, const char *task_id, bool may_reuse, struct wh_err *err);

/* What this agent's networking holds on the host right now. */
struct net_census {
    size_t tasks;   /* state files */
    size_t netns;   /* bound namespaces in the run dir */
    size_t veths;   /* ports of our two bridges */
    size_t leases;  /* host-local leases */
    size_t rules;   /* iptables rules (nat and filter) for our networks' names or addresses */
};
int net_census(struct net *n, struct net_census *ret, struct wh_err *err);

/* Remove the networks of tasks not in known (task ids): state files, namespaces, leases and
 * iptables rules left by a crash or by tasks that ended while the agent was away. *ret_removed
 * (may be NULL) counts what went. Safe to run at any time; setups wait for it. */
int net_gc(struct net *n, const char *const *known, size_t nknown,
           struct net_census *ret_removed, struct wh_err *err);

/* ---- ECS shapes for the agent's reports ---- */

/* networkBindings of a container: [{bindIP "0.0.0.0", containerPort, hostPort, protocol}]. */
json_t *net_bindings_json(const struct net_ctr_net *c);
/* The awsvpc attachment's details as SubmitTaskStateChange's wharf extension carries them
 * (docs/agent-protocol.md): [{name: privateIPv4Address | macAddress | privateDnsName |
 * subnetGatewayIpv4Address, value}]; NULL when the task is not awsvpc. */
json_t *net_eni_details_json(const struct net_task_net *r);
