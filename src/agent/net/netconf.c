/* Subnets, conflists and ids: pure. */
#include "agent/net/netconf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

static uint32_t mask_of(int prefix)
{
    return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

static bool parse_v4(const char *s, uint32_t *ret)
{
    struct in_addr a;
    if (!s || inet_pton(AF_INET, s, &a) != 1)
        return false;
    *ret = ntohl(a.s_addr);
    return true;
}

static void format_v4(uint32_t v, char *buf, size_t len)
{
    snprintf(buf, len, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255);
}

int net_subnet_parse(const char *cidr, const char *field, struct net_subnet *ret,
                     struct wh_err *err)
{
    const char *slash = cidr ? strchr(cidr, '/') : NULL;
    char ip[16];
    if (!slash || (size_t)(slash - cidr) >= sizeof(ip))
        return wh_err_set(err, 400, "InvalidParameterException",
                          "%s '%s' is not an IPv4 CIDR block", field, cidr ? cidr : "");
    memcpy(ip, cidr, (size_t)(slash - cidr));
    ip[slash - cidr] = 0;
    char *end;
    long p = strtol(slash + 1, &end, 10);
    uint32_t net;
    if (!parse_v4(ip, &net) || *end || end == slash + 1 || p < 8 || p > 30)
        return wh_err_set(err, 400, "InvalidParameterException",
                          "%s '%s' is not an IPv4 CIDR block with a prefix of 8..30", field,
                          cidr);
    if (net & ~mask_of((int)p))
        return wh_err_set(err, 400, "InvalidParameterException",
                          "%s '%s' has host bits set", field, cidr);
    struct net_subnet s = {.net = net, .prefix = (int)p};
    char a[16];
    format_v4(net, a, sizeof(a));
    snprintf(s.cidr, sizeof(s.cidr), "%s/%d", a, s.prefix);
    format_v4(net + 1, s.gateway, sizeof(s.gateway));
    *ret = s;
    return 0;
}

bool net_subnet_contains(const struct net_subnet *s, const char *ip)
{
    uint32_t v;
    return parse_v4(ip, &v) && (v & mask_of(s->prefix)) == s->net;
}

bool net_subnet_overlaps(uint32_t a_net, int a_prefix, uint32_t b_net, int b_prefix)
{
    uint32_t m = mask_of(a_prefix < b_prefix ? a_prefix : b_prefix);
    return (a_net & m) == (b_net & m);
}

static json_t *bridge_plugin(const struct net_bridge_net *b)
{
    /* forceAddress: a bridge of ours left with the gateway of a subnet we no longer have
     * takes the new one (each agent has bridges of its own: network.h). */
    return json_pack("{s:s, s:s, s:b, s:b, s:b, s:b, s:{s:s, s:[[{s:s, s:s}]], s:[{s:s}], s:s}}",
                     "type", "bridge", "bridge", b->bridge, "isGateway", 1, "ipMasq", 1,
                     "hairpinMode", 1, "forceAddress", 1, "ipam", "type", "host-local",
                     "ranges", "subnet", b->subnet->cidr, "gateway", b->subnet->gateway,
                     "routes", "dst", "0.0.0.0/0", "dataDir", b->ipam_dir);
}

static json_t *portmap_plugin(const struct net_portmap *pm, size_t npm)
{
    json_t *maps = json_array();
    for (size_t i = 0; i < npm; i++)
        json_array_append_new(maps, json_pack("{s:i, s:i, s:s}", "hostPort", pm[i].host_port,
                                              "containerPort", pm[i].container_port,
                                              "protocol", pm[i].udp ? "udp" : "tcp"));
    return json_pack("{s:s, s:{s:b}, s:b, s:{s:o}}", "type", "portmap", "capabilities",
                     "portMappings", 1, "snat", 1, "runtimeConfig", "portMappings", maps);
}

json_t *net_conflist(const struct net_bridge_net *b, const struct net_portmap *pm, size_t npm)
{
    json_t *plugins = json_pack("[o, {s:s, s:s}]", bridge_plugin(b), "type", "firewall",
                                "backend", "iptables");
    if (npm)
        json_array_append_new(plugins, portmap_plugin(pm, npm));
    return json_pack("{s:s, s:s, s:o}", "cniVersion", "1.0.0", "name", b->name, "plugins",
                     plugins);
}

json_t *net_standin_result(const char *netns, const char *ifname, const char *ip, int prefix)
{
    json_t *r = json_pack("{s:s, s:[{s:s, s:s}], s:[]}", "cniVersion", "1.0.0", "interfaces",
                          "name", ifname ? ifname : "eth0", "sandbox", netns ? netns : "",
                          "ips");
    if (ip) {
        cleanup_free char *addr = xasprintf("%s/%d", ip, prefix);
        json_array_append_new(json_object_get(r, "ips"),
                              json_pack("{s:s, s:i}", "address", addr, "interface", 0));
    }
    return r;
}

bool net_task_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '_' && c != '.')))
            return false;
    }
    return true;
}

void net_attachment_id(const char *task_id, long container, char *ret)
{
    if (container < 0)
        snprintf(ret, NET_ID_MAX, "%s", task_id);
    else
        snprintf(ret, NET_ID_MAX, "%s-%ld", task_id, container);
}

bool net_attachment_parse(const char *id, char *ret_task, long *ret_container)
{
    const char *dash = id ? strchr(id, '-') : NULL;
    size_t n = dash ? (size_t)(dash - id) : (id ? strlen(id) : 0);
    if (n == 0 || n >= NET_ID_MAX)
        return false;
    char task[NET_ID_MAX];
    memcpy(task, id, n);
    task[n] = 0;
    if (!net_task_id_valid(task))
        return false;
    long c = -1;
    if (dash) {
        char *end;
        c = strtol(dash + 1, &end, 10);
        if (*end || end == dash + 1 || c < 0 || dash[1] == '+' || dash[1] == '-')
            return false;
    }
    memcpy(ret_task, task, n + 1);
    *ret_container = c;
    return true;
}
