/* iptables for task networking (internal to src/agent/net): listing the rules the CNI plugins
 * made for our networks (for GC and the census), and the few rules of our own that forward
 * loopback-only host services to the bridges' gateway addresses. Every run goes through
 * proc_run with `iptables -w`. The rule parser is pure. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/net/netconf.h"
#include "core/err.h"

/* The iptables executable (new string), or NULL when it is not installed. */
char *ipt_find(void);

/* `iptables -w -t table -S` (new string in *ret_text). */
int ipt_list(const char *ipt, const char *table, char **ret_text, struct wh_err *err);

/* What one rule of `iptables -S` says about our networks. */
struct ipt_rule_info {
    bool ours;                /* names one of our networks or an address in our subnets */
    char id[NET_ID_MAX];      /* the CNI container id of its comment ('name: "N" id: "ID"'
                                 with N one of ours), or "" */
    char network[64];         /* N, or "" */
    char fwd_ip[16];          /* a firewall plugin rule (chain CNI-FORWARD) for this address
                                 of our subnets, or "" */
};
/* Classify one line of `iptables -S` (only "-A" lines are rules; the shared ones wharf adds
 * itself, commented "wharf: ...", never count). names and subnets are ours. */
void ipt_rule_parse(const char *line, const char *const *names, size_t nnames,
                    const struct net_subnet *const *subnets, size_t nsubnets,
                    struct ipt_rule_info *ret);

/* Forward TCP port from gateway:port arriving on bridge to 127.0.0.1:port (nat PREROUTING
 * DNAT), with a guard in filter INPUT that drops anything else from the bridge to
 * 127.0.0.0/8. Idempotent (-C before -A). The bridge also needs route_localnet=1, which can
 * only be set once it exists (network.c does it after ADD). */
int ipt_expose_host_port(const char *ipt, const char *bridge, const char *gateway,
                         uint16_t port, struct wh_err *err);

/* Delete the host-service forwards to gateway whose port is not one of keep (left by an agent
 * that ran with another wharfd port). */
int ipt_prune_host_services(const char *ipt, const char *gateway, const uint16_t *keep,
                            size_t nkeep, struct wh_err *err);

/* The chain the CNI plugins name for (network, container id): "CNI-" + prefix + the hex of
 * sha512(network + id), cut to 28 characters (bridge's ipMasq chain: prefix ""; portmap's
 * DNAT chain: "DN-"). out holds 29 bytes. Pure. */
void ipt_cni_chain(const char *network, const char *id, const char *prefix, char out[29]);
/* Split one `iptables -S` line into arguments (double quotes group, \" inside them is a
 * quote). Returns the count (at most max - 1; argv is NULL-terminated), pointers into buf
 * (a copy of line the caller frees). Pure. */
size_t ipt_split(const char *line, char **ret_buf, char **argv, size_t max);
/* Delete the rule one `-A ...` line of `iptables -t table -S` describes. */
int ipt_delete_rule(const char *ipt, const char *table, const char *line, struct wh_err *err);
/* Flush and delete chain in table; 0 also when it does not exist. */
int ipt_drop_chain(const char *ipt, const char *table, const char *chain, struct wh_err *err);
