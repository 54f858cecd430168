/* Pure pieces of task networking: IPv4 subnets, the CNI network configuration lists wharf
 * runs, the ids it gives attachments, and the stand-in result GC passes to DEL. No I/O:
 * tests/unit/test-net.c covers them. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct net_subnet {
    uint32_t net;       /* network address, host order */
    int prefix;         /* 8..30 */
    char cidr[20];      /* "10.213.0.0/24" */
    char gateway[16];   /* first host address, the bridge's: "10.213.0.1" */
};

/* "10.213.0.0/24" → subnet; host bits must be zero, prefix 8..30. field names the value in
 * errors ("awsvpc subnet"). */
int net_subnet_parse(const char *cidr, const char *field, struct net_subnet *ret,
                     struct wh_err *err);
/* Whether the IPv4 address text ip lies in s. */
bool net_subnet_contains(const struct net_subnet *s, const char *ip);
/* Whether two subnets share an address. */
bool net_subnet_overlaps(uint32_t a_net, int a_prefix, uint32_t b_net, int b_prefix);

/* One published port of a bridge-mode container (CNI portmap's portMappings entry). */
struct net_portmap {
    uint16_t host_port, container_port;
    bool udp;
};

/* A bridge network: a Linux bridge, a subnet handed out by host-local, outbound masquerade. */
struct net_bridge_net {
    const char *name;     /* CNI network name, also the iptables comments' "name" */
    const char *bridge;   /* Linux bridge device */
    const struct net_subnet *subnet;
    const char *ipam_dir; /* host-local's dataDir (leases in ipam_dir/<name>/) */
};

/* The conflist of one attachment: bridge (isGateway, ipMasq, hairpinMode; host-local IPAM
 * with a default route via the gateway), firewall (iptables backend: FORWARD accepts for the
 * address, needed where the FORWARD policy is DROP), and portmap (snat on, so 127.0.0.1:port
 * works from the host) when there are port mappings. New reference. */
json_t *net_conflist(const struct net_bridge_net *b, const struct net_portmap *pm, size_t npm);

/* A result that stands in for a lost ADD result when GC DELetes a leftover: ip/prefix on
 * ifname inside netns (ip NULL: no addresses). New reference. */
json_t *net_standin_result(const char *netns, const char *ifname, const char *ip, int prefix);

/* Attachment ids. A task's own namespace (awsvpc) is named by the task id; a bridge-mode
 * container's by "<task id>-<index>". ret must hold NET_ID_MAX bytes. */
#define NET_ID_MAX 80
void net_attachment_id(const char *task_id, long container, char *ret);
/* Split an attachment id: the task id part (ret_task, NET_ID_MAX bytes) and the container
 * index (-1 for the task's own). False when id is not one of ours. */
bool net_attachment_parse(const char *id, char *ret_task, long *ret_container);
/* Task ids the agent gives: [A-Za-z0-9][A-Za-z0-9_.]{0,63} (no '-', which separates the
 * container index). */
bool net_task_id_valid(const char *id);
