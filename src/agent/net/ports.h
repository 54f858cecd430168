/* Host ports held by the tasks of this agent, and the choice of dynamic ones. Not thread-safe:
 * network.c holds its lock around these calls. Pure except net_port_free_on_host. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/net/netconf.h"
#include "core/err.h"

/* ECS's dynamic host port range for bridge mode. */
#define NET_DYN_LO 49153
#define NET_DYN_HI 65535

struct net_held {
    uint16_t port;
    bool udp;
    char task[NET_ID_MAX];
};

struct net_ports {
    struct net_held *v;
    size_t n, cap;
    uint32_t cursor; /* where the next dynamic search starts (offset into the range) */
};

/* One mapping of a request: host_port 0 asks for a dynamic port. */
struct net_port_req {
    uint16_t container_port, host_port;
    bool udp;
};

/* True when nothing on the host holds port (a probe; arg is the probe's). */
typedef bool (*net_port_probe_fn)(uint16_t port, bool udp, void *arg);
/* bind() to 0.0.0.0:port (TCP with SO_REUSEADDR, so TIME_WAIT does not count; UDP) and close. */
bool net_port_free_on_host(uint16_t port, bool udp, void *arg);

/* The task holding port, or NULL. */
const char *net_ports_owner(const struct net_ports *p, uint16_t port, bool udp);
void net_ports_hold(struct net_ports *p, uint16_t port, bool udp, const char *task);
void net_ports_release(struct net_ports *p, const char *task);
void net_ports_free(struct net_ports *p);

/* Give every mapping of req a host port for task: a static one must be held by no other task
 * (a task re-asking for its own is fine) and free on the host; a dynamic one is the next port
 * of NET_DYN_LO..NET_DYN_HI held by nobody and free on the host. On success all are held for
 * task and ret_host_ports[i] is mapping i's; on failure nothing changes. Errors (400
 * "CannotStartContainerError") name the port and its holder. probe NULL: no host check. */
int net_ports_assign(struct net_ports *p, const char *task, const struct net_port_req *req,
                     size_t n, net_port_probe_fn probe, void *probe_arg,
                     uint16_t *ret_host_ports, struct wh_err *err);
