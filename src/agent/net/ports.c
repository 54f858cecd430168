/* Host port bookkeeping for port mappings. */
#include "agent/net/ports.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/xalloc.h"

#define DYN_SPAN ((uint32_t)(NET_DYN_HI - NET_DYN_LO + 1))

bool net_port_free_on_host(uint16_t port, bool udp, void *arg)
{
    (void)arg;
    int s = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    if (s < 0)
        return true; /* cannot tell: let the mapping fail later if it must */
    int one = 1;
    if (!udp)
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_ANY)};
    bool ok = bind(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(s);
    return ok;
}

const char *net_ports_owner(const struct net_ports *p, uint16_t port, bool udp)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i].port == port && p->v[i].udp == udp)
            return p->v[i].task;
    return NULL;
}

void net_ports_hold(struct net_ports *p, uint16_t port, bool udp, const char *task)
{
    if (net_ports_owner(p, port, udp))
        return;
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 16;
        p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
    }
    struct net_held *h = &p->v[p->n++];
    memset(h, 0, sizeof(*h));
    h->port = port;
    h->udp = udp;
    snprintf(h->task, sizeof(h->task), "%s", task);
}

void net_ports_release(struct net_ports *p, const char *task)
{
    size_t k = 0;
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].task, task) != 0)
            p->v[k++] = p->v[i];
    p->n = k;
}

void net_ports_free(struct net_ports *p)
{
    free(p->v);
    memset(p, 0, sizeof(*p));
}

/* Given to one of the first n mappings of this request already. */
static bool taken_here(const struct net_port_req *req, const uint16_t *ports, size_t n,
                       uint16_t port, bool udp)
{
    for (size_t j = 0; j < n; j++)
        if (ports[j] == port && req[j].udp == udp)
            return true;
    return false;
}

static int check_static(const struct net_ports *p, const char *task,
                        const struct net_port_req *req, const uint16_t *ports, size_t i,
                        net_port_probe_fn probe, void *arg, struct wh_err *err)
{
    uint16_t port = req[i].host_port;
    const char *proto = req[i].udp ? "udp" : "tcp";
    if (taken_here(req, ports, i, port, req[i].udp))
        return wh_err_set(err, 400, "CannotStartContainerError",
                          "CannotStartContainerError: host port %u/%s is mapped twice in the "
                          "task", port, proto);
    const char *owner = net_ports_owner(p, port, req[i].udp);
    if (owner && strcmp(owner, task) != 0)
        return wh_err_set(err, 400, "CannotStartContainerError",
                          "CannotStartContainerError: host port %u/%s is already allocated "
                          "to task %s", port, proto, owner);
    if (!owner && probe && !probe(port, req[i].udp, arg))
        return wh_err_set(err, 400, "CannotStartContainerError",
                          "CannotStartContainerError: host port %u/%s is already in use on "
                          "this host", port, proto);
    return 0;
}

static uint16_t pick_dynamic(struct net_ports *p, const struct net_port_req *req,
                             const uint16_t *ports, size_t n, bool udp,
                             net_port_probe_fn probe, void *arg)
{
    for (uint32_t k = 0; k < DYN_SPAN; k++) {
        uint16_t port = (uint16_t)(NET_DYN_LO + (p->cursor + k) % DYN_SPAN);
        if (net_ports_owner(p, port, udp) || taken_here(req, ports, n, port, udp))
            continue;
        if (probe && !probe(port, udp, arg))
            continue;
        /* Round robin: a port just given back is not handed out again at once. */
        p->cursor = (p->cursor + k + 1) % DYN_SPAN;
        return port;
    }
    return 0;
}

int net_ports_assign(struct net_ports *p, const char *task, const struct net_port_req *req,
                     size_t n, net_port_probe_fn probe, void *probe_arg,
                     uint16_t *ret_host_ports, struct wh_err *err)
{
    uint16_t *ports = xcalloc(n + 1, sizeof(*ports));
    uint32_t cursor = p->cursor;
    /* Static ports first, so a dynamic pick never takes one the task asks for. */
    for (size_t i = 0; i < n; i++) {
        if (!req[i].host_port)
            continue;
        if (check_static(p, task, req, ports, i, probe, probe_arg, err) < 0)
            goto fail;
        ports[i] = req[i].host_port;
    }
    for (size_t i = 0; i < n; i++) {
        if (req[i].host_port)
            continue;
        ports[i] = pick_dynamic(p, req, ports, n, req[i].udp, probe, probe_arg);
        if (!ports[i]) {
            wh_err_set(err, 400, "CannotStartContainerError",
                       "CannotStartContainerError: no free dynamic host port (%u-%u/%s)",
                       NET_DYN_LO, NET_DYN_HI, req[i].udp ? "udp" : "tcp");
            goto fail;
        }
    }
    for (size_t i = 0; i < n; i++) {
        net_ports_hold(p, ports[i], req[i].udp, task);
        ret_host_ports[i] = ports[i];
    }
    free(ports);
    return 0;
fail:
    p->cursor = cursor;
    free(ports);
    return -1;
}
