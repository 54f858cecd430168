/* The pure parts of task networking: CNI configuration lists and results, subnets, host port
 * allocation, the request from a task definition, the network record, iptables rule parsing
 * (src/agent/net/), wharfd's carving of instance subnets (src/ecs/instance_subnets.c) and the
 * merge of what the agent reports (src/ecs/task_merge.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agent/net/cni.h"
#include "agent/net/iptables.h"
#include "agent/net/netconf.h"
#include "agent/net/netstate.h"
#include "agent/net/network.h"
#include "agent/net/ports.h"
#include "agent/net/task_net.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "ecs/instance_subnets.h"
#include "ecs/task_merge.h"

/* ---- subnets ---- */

static void test_subnet_parse(void **state)
{
    (void)state;
    struct net_subnet s;
    assert_int_equal(net_subnet_parse("10.213.4.0/24", "awsvpc subnet", &s, NULL), 0);
    assert_string_equal(s.cidr, "10.213.4.0/24");
    assert_string_equal(s.gateway, "10.213.4.1");
    assert_int_equal(s.prefix, 24);
    assert_true(net_subnet_contains(&s, "10.213.4.200"));
    assert_false(net_subnet_contains(&s, "10.213.5.1"));
    assert_false(net_subnet_contains(&s, "nonsense"));
    static const struct {
        const char *in, *msg;
    } bad[] = {
        {"10.213.4.1/24", "host bits"},    {"10.213.4.0/31", "prefix of 8..30"},
        {"10.213.4.0", "not an IPv4 CIDR"}, {"fe80::/64", "prefix of 8..30"},
        {"10.213.4.0/2x", "prefix"},        {"", "not an IPv4 CIDR"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct wh_err err = {0};
        assert_int_equal(net_subnet_parse(bad[i].in, "awsvpc subnet", &s, &err), -1);
        if (!strstr(err.msg, bad[i].msg) || !strstr(err.msg, "awsvpc subnet"))
            fail_msg("'%s': got '%s', want '%s'", bad[i].in, err.msg, bad[i].msg);
    }
    assert_true(net_subnet_overlaps(0x0ad50000, 16, 0x0ad50400, 24));
    assert_false(net_subnet_overlaps(0x0ad50000, 24, 0x0ad50100, 24));
}

/* ---- conflists and plugin configurations ---- */

static json_t *sample_conflist(size_t npm)
{
    static struct net_subnet sub;
    net_subnet_parse("10.213.1.0/24", "s", &sub, NULL);
    struct net_bridge_net b = {.name = "wharf-bridge-abc", .bridge = "wharf-br0",
                               .subnet = &sub, .ipam_dir = "/data/net/ipam"};
    struct net_portmap pm[] = {{.host_port = 8080, .container_port = 80},
                               {.host_port = 49153, .container_port = 53, .udp = true}};
    return net_conflist(&b, pm, npm);
}

static void test_conflist(void **state)
{
    (void)state;
    json_auto_t *cl = sample_conflist(2);
    assert_string_equal(json_str(cl, "cniVersion"), "1.0.0");
    assert_string_equal(json_str(cl, "name"), "wharf-bridge-abc");
    const json_t *plugins = json_object_get(cl, "plugins");
    assert_int_equal(json_array_size(plugins), 3);
    const json_t *br = json_array_get(plugins, 0);
    assert_string_equal(json_str(br, "type"), "bridge");
    assert_string_equal(json_str(br, "bridge"), "wharf-br0");
    assert_true(json_bool(br, "isGateway", false));
    assert_true(json_bool(br, "ipMasq", false));
    assert_true(json_bool(br, "hairpinMode", false));
    assert_true(json_bool(br, "forceAddress", false));
    const json_t *ipam = json_object_get(br, "ipam");
    assert_string_equal(json_str(ipam, "type"), "host-local");
    assert_string_equal(json_str(ipam, "dataDir"), "/data/net/ipam");
    const json_t *range = json_array_get(json_array_get(json_object_get(ipam, "ranges"), 0), 0);
    assert_string_equal(json_str(range, "subnet"), "10.213.1.0/24");
    assert_string_equal(json_str(range, "gateway"), "10.213.1.1");
    assert_string_equal(json_str(json_array_get(plugins, 1), "type"), "firewall");
    const json_t *pm = json_array_get(plugins, 2);
    assert_string_equal(json_str(pm, "type"), "portmap");
    assert_true(json_bool(pm, "snat", false));
    assert_true(json_bool(json_object_get(pm, "capabilities"), "portMappings", false));
    const json_t *maps = json_object_get(json_object_get(pm, "runtimeConfig"), "portMappings");
    assert_int_equal(json_array_size(maps), 2);
    assert_int_equal(json_int(json_array_get(maps, 1), "hostPort", 0), 49153);
    assert_string_equal(json_str(json_array_get(maps, 1), "protocol"), "udp");
    json_auto_t *plain = sample_conflist(0);
    assert_int_equal(json_array_size(json_object_get(plain, "plugins")), 2);

    /* The stdin document of a plugin: the list's name and version, prevResult when given. */
    json_auto_t *prev = json_pack("{s:s, s:[]}", "cniVersion", "1.0.0", "ips");
    json_auto_t *conf = cni_plugin_conf(cl, 1, prev);
    assert_string_equal(json_str(conf, "type"), "firewall");
    assert_string_equal(json_str(conf, "name"), "wharf-bridge-abc");
    assert_string_equal(json_str(conf, "cniVersion"), "1.0.0");
    assert_true(json_equal(json_object_get(conf, "prevResult"), prev));
    json_auto_t *first = cni_plugin_conf(cl, 0, NULL);
    assert_null(json_object_get(first, "prevResult"));
    /* The list itself is not changed. */
    assert_null(json_object_get(json_array_get(plugins, 1), "prevResult"));
}

/* ---- results and errors ---- */

static const char result_text[] =
    "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"wharf0\",\"mac\":\"1a:b6:5a:d8:10:87\"},"
    "{\"name\":\"veth73ed0fa3\",\"mac\":\"7e:aa:42:63:52:37\"},"
    "{\"name\":\"eth0\",\"mac\":\"aa:d7:26:ab:c9:f6\",\"sandbox\":\"/run/wharf/x/netns/T\"}],"
    "\"ips\":[{\"interface\":2,\"address\":\"10.213.0.2/24\",\"gateway\":\"10.213.0.1\"}],"
    "\"routes\":[{\"dst\":\"0.0.0.0/0\"}],\"dns\":{}}";

static void test_result_parse(void **state)
{
    (void)state;
    json_auto_t *r = json_loads(result_text, 0, NULL);
    struct cni_iface f;
    assert_int_equal(cni_result_iface(r, "/run/wharf/x/netns/T", "eth0", &f, NULL), 0);
    assert_string_equal(f.name, "eth0");
    assert_string_equal(f.mac, "aa:d7:26:ab:c9:f6");
    assert_string_equal(f.ip, "10.213.0.2");
    assert_int_equal(f.prefix, 24);
    assert_string_equal(f.gateway, "10.213.0.1");
    cni_iface_clear(&f);
    struct wh_err err = {0};
    assert_int_equal(cni_result_iface(r, "/elsewhere", "eth1", &f, &err), -1);
    assert_non_null(strstr(err.msg, "no interface in namespace /elsewhere"));
    json_auto_t *noip = json_pack("{s:[{s:s, s:s}], s:[{s:i, s:s}]}", "interfaces", "name",
                                  "eth0", "sandbox", "/ns", "ips", "interface", 0, "address",
                                  "fd00::2/64");
    assert_int_equal(cni_result_iface(noip, "/ns", "eth0", &f, &err), -1);
    assert_non_null(strstr(err.msg, "no IPv4 address"));

    static const struct {
        const char *out, *err, *status, *want;
    } errs[] = {
        {"{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"failed to allocate\",\"details\":"
         "\"range is full\"}", "", "exited 1", "failed to allocate: range is full (code 11)"},
        {"{\"code\":7,\"msg\":\"bad config\"}", "", "exited 1", "bad config (code 7)"},
        {"", "\npanic: oops\nmore\n", "exited 2", "panic: oops"},
        {"", "", "timed out after 30000 ms", "timed out after 30000 ms"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(errs); i++) {
        cleanup_free char *m = cni_error_text(errs[i].out, errs[i].err, errs[i].status);
        assert_string_equal(m, errs[i].want);
    }
}

/* ---- host ports ---- */

static bool probe_busy_8081(uint16_t port, bool udp, void *arg)
{
    (void)udp;
    int *calls = arg;
    (*calls)++;
    return port != 8081 && port != NET_DYN_LO + 1;
}

static bool probe_never(uint16_t port, bool udp, void *arg)
{
    (void)port, (void)udp, (void)arg;
    return false;
}

static void test_ports(void **state)
{
    (void)state;
    struct net_ports p = {0};
    int calls = 0;
    uint16_t got[4];
    struct wh_err err = {0};
    struct net_port_req a[] = {{.container_port = 80, .host_port = 8080},
                               {.container_port = 81},
                               {.container_port = 53, .udp = true},
                               {.container_port = 82}};
    assert_int_equal(net_ports_assign(&p, "A", a, 4, probe_busy_8081, &calls, got, &err), 0);
    assert_int_equal(got[0], 8080);
    assert_int_equal(got[1], NET_DYN_LO);          /* the first dynamic port */
    assert_int_equal(got[2], NET_DYN_LO + 2);      /* LO+1 is busy on the host */
    assert_int_equal(got[3], NET_DYN_LO + 3);      /* round robin, not the lowest free */
    assert_string_equal(net_ports_owner(&p, 8080, false), "A");
    assert_null(net_ports_owner(&p, 8080, true));

    /* Another task: a static port held by A names A; a host port in use is refused. */
    struct net_port_req b[] = {{.container_port = 80, .host_port = 8080}};
    assert_int_equal(net_ports_assign(&p, "B", b, 1, probe_busy_8081, &calls, got, &err), -1);
    assert_string_equal(err.msg, "CannotStartContainerError: host port 8080/tcp is already "
                                 "allocated to task A");
    assert_string_equal(err.type, "CannotStartContainerError");
    struct net_port_req c[] = {{.container_port = 80, .host_port = 8081}};
    assert_int_equal(net_ports_assign(&p, "B", c, 1, probe_busy_8081, &calls, got, &err), -1);
    assert_non_null(strstr(err.msg, "8081/tcp is already in use on this host"));
    /* Mapped twice in one task. */
    struct net_port_req d[] = {{.container_port = 80, .host_port = 9000},
                               {.container_port = 81, .host_port = 9000}};
    assert_int_equal(net_ports_assign(&p, "B", d, 2, NULL, NULL, got, &err), -1);
    assert_non_null(strstr(err.msg, "mapped twice"));
    /* A failed assignment holds nothing; the round robin goes on after the last pick. */
    struct net_port_req e[] = {{.container_port = 80}, {.container_port = 81, .host_port = 8080}};
    assert_int_equal(net_ports_assign(&p, "B", e, 2, NULL, NULL, got, &err), -1);
    assert_int_equal(p.n, 4);
    assert_int_equal(net_ports_assign(&p, "B", e, 1, NULL, NULL, got, &err), 0);
    assert_int_equal(got[0], NET_DYN_LO + 4);
    /* A task asking again for its own static port is fine. */
    assert_int_equal(net_ports_assign(&p, "A", b, 1, NULL, NULL, got, &err), 0);
    /* Released: B may now take 8080. */
    net_ports_release(&p, "A");
    assert_null(net_ports_owner(&p, 8080, false));
    assert_int_equal(net_ports_assign(&p, "B", b, 1, NULL, NULL, got, &err), 0);
    /* Nothing free at all. */
    struct net_port_req f[] = {{.container_port = 1}};
    assert_int_equal(net_ports_assign(&p, "C", f, 1, probe_never, NULL, got, &err), -1);
    assert_non_null(strstr(err.msg, "no free dynamic host port (49153-65535/tcp)"));
    net_ports_free(&p);
}

/* ---- the request from a task definition ---- */

static void test_request(void **state)
{
    (void)state;
    json_auto_t *td = json_loads(
        "{\"containerDefinitions\":["
        " {\"name\":\"web\",\"portMappings\":[{\"containerPort\":80,\"hostPort\":8080},"
        "  {\"containerPort\":81,\"hostPort\":0},{\"containerPort\":53,\"protocol\":\"udp\"}]},"
        " {\"name\":\"range\",\"portMappings\":[{\"containerPortRange\":\"9000-9002\"}]}]}",
        0, NULL);
    struct net_task_req r;
    struct wh_err err = {0};
    assert_int_equal(net_task_req_from_def(td, "EC2", "abc123", &r, &err), 0);
    assert_int_equal(r.mode, NET_MODE_BRIDGE); /* ECS's default on Linux */
    assert_string_equal(r.task_id, "abc123");
    assert_int_equal(r.nctrs, 2);
    assert_string_equal(r.ctrs[0].name, "web");
    assert_int_equal(r.ctrs[0].nports, 3);
    assert_int_equal(r.ctrs[0].ports[0].host_port, 8080);
    assert_int_equal(r.ctrs[0].ports[1].host_port, 0);
    assert_true(r.ctrs[0].ports[2].udp);
    assert_int_equal(r.ctrs[1].nports, 3);
    assert_int_equal(r.ctrs[1].ports[2].container_port, 9002);
    assert_int_equal(r.ctrs[1].ports[2].host_port, 0);
    net_task_req_clear(&r);

    json_object_set_new(td, "networkMode", json_string("host"));
    assert_int_equal(net_task_req_from_def(td, "EC2", "abc123", &r, &err), 0);
    assert_int_equal(r.mode, NET_MODE_HOST);
    assert_int_equal(r.ctrs[0].ports[1].host_port, 81); /* host mode: hostPort = containerPort */
    assert_int_equal(r.ctrs[1].ports[0].host_port, 9000);
    net_task_req_clear(&r);

    json_object_set_new(td, "networkMode", json_string("awsvpc"));
    assert_int_equal(net_task_req_from_def(td, "EC2", "abc123", &r, &err), 0);
    assert_int_equal(r.mode, NET_MODE_AWSVPC);
    assert_int_equal(r.ctrs[0].nports, 0); /* on the task's own address */
    net_task_req_clear(&r);

    json_object_set_new(td, "networkMode", json_string("bridge"));
    assert_int_equal(net_task_req_from_def(td, "FARGATE", "abc123", &r, &err), 0);
    assert_int_equal(r.mode, NET_MODE_AWSVPC);
    net_task_req_clear(&r);

    json_object_set_new(td, "networkMode", json_string("nat"));
    assert_int_equal(net_task_req_from_def(td, "EC2", "abc123", &r, &err), -1);
    assert_string_equal(err.msg, "ResourceInitializationError: networkMode 'nat' is not "
                                 "supported");
    json_object_set_new(td, "networkMode", json_string("bridge"));
    assert_int_equal(net_task_req_from_def(td, "EC2", "a-b", &r, &err), -1);
    assert_int_equal(net_task_req_from_def(td, "EC2", "", &r, &err), -1);

    enum net_mode m;
    assert_int_equal(net_mode_parse("none", &m), 0);
    assert_int_equal(m, NET_MODE_NONE);
    assert_int_equal(net_mode_parse("NONE", &m), -1);
    assert_string_equal(net_mode_name(NET_MODE_AWSVPC), "awsvpc");
}

/* ---- ids ---- */

static void test_ids(void **state)
{
    (void)state;
    char id[NET_ID_MAX], task[NET_ID_MAX];
    long c;
    net_attachment_id("0123abcd", -1, id);
    assert_string_equal(id, "0123abcd");
    net_attachment_id("0123abcd", 3, id);
    assert_string_equal(id, "0123abcd-3");
    assert_true(net_attachment_parse("0123abcd-3", task, &c));
    assert_string_equal(task, "0123abcd");
    assert_int_equal(c, 3);
    assert_true(net_attachment_parse("0123abcd", task, &c));
    assert_int_equal(c, -1);
    static const char *const bad[] = {"", "-3", "abc-", "abc-x", "abc--1", "abc-+1", "a/b",
                                      "abc-1-2"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        if (net_attachment_parse(bad[i], task, &c))
            fail_msg("'%s' parsed", bad[i]);
}

/* ---- the record ---- */

static void test_record(void **state)
{
    (void)state;
    json_auto_t *res = json_loads(result_text, 0, NULL);
    json_auto_t *doc = json_pack(
        "{s:s, s:s, s:b, s:i, s:[{s:s, s:i, s:s, s:s, s:s, s:O}], s:[]}", "taskId", "T", "mode",
        "awsvpc", "complete", 1, "containers", 2, "attachments", "id", "T", "container", -1,
        "netns", "/run/wharf/x/netns/T", "ifname", "eth0", "subnet", "10.213.0.0/24", "result",
        res, "bindings");
    struct net_task_net r;
    assert_int_equal(netstate_to_net(doc, &r, NULL), 0);
    assert_int_equal(r.mode, NET_MODE_AWSVPC);
    assert_false(r.host);
    assert_string_equal(r.netns, "/run/wharf/x/netns/T");
    assert_string_equal(r.ip, "10.213.0.2");
    assert_string_equal(r.gateway, "10.213.0.1");
    assert_string_equal(r.subnet, "10.213.0.0/24");
    assert_int_equal(r.nctrs, 2);
    assert_string_equal(r.ctrs[1].netns, r.netns);
    json_auto_t *det = net_eni_details_json(&r);
    json_auto_t *want = json_loads(
        "[{\"name\":\"privateIPv4Address\",\"value\":\"10.213.0.2\"},"
        "{\"name\":\"macAddress\",\"value\":\"aa:d7:26:ab:c9:f6\"},"
        "{\"name\":\"privateDnsName\",\"value\":\"ip-10-213-0-2.ec2.internal\"},"
        "{\"name\":\"subnetGatewayIpv4Address\",\"value\":\"10.213.0.1/24\"}]", 0, NULL);
    if (!json_equal(det, want)) {
        cleanup_free char *t = json_text(det);
        fail_msg("details: %s", t);
    }
    net_task_net_clear(&r);

    /* bridge mode: the container's own namespace, its bindings. */
    json_t *a = json_array_get(json_object_get(doc, "attachments"), 0);
    json_object_set_new(a, "container", json_integer(1));
    json_object_set_new(doc, "mode", json_string("bridge"));
    json_object_set_new(doc, "bindings",
                        json_pack("[{s:i, s:i, s:i, s:s}, {s:i, s:i, s:i, s:s}]", "container", 1,
                                  "containerPort", 80, "hostPort", 49153, "protocol", "tcp",
                                  "container", 1, "containerPort", 53, "hostPort", 5353,
                                  "protocol", "udp"));
    assert_int_equal(netstate_to_net(doc, &r, NULL), 0);
    assert_null(r.netns);
    assert_null(r.ctrs[0].netns);
    assert_string_equal(r.ctrs[1].netns, "/run/wharf/x/netns/T");
    assert_string_equal(r.ctrs[1].ip, "10.213.0.2");
    assert_int_equal(r.ctrs[1].nbindings, 2);
    assert_null(net_eni_details_json(&r));
    json_auto_t *nb = net_bindings_json(&r.ctrs[1]);
    json_auto_t *nb_want = json_loads(
        "[{\"bindIP\":\"0.0.0.0\",\"containerPort\":80,\"hostPort\":49153,\"protocol\":\"tcp\"},"
        "{\"bindIP\":\"0.0.0.0\",\"containerPort\":53,\"hostPort\":5353,\"protocol\":\"udp\"}]",
        0, NULL);
    assert_true(json_equal(nb, nb_want));
    net_task_net_clear(&r);
    /* A container index beyond the task is refused. */
    json_object_set_new(a, "container", json_integer(5));
    struct wh_err err = {0};
    assert_int_equal(netstate_to_net(doc, &r, &err), -1);
}

/* ---- iptables ---- */

static void test_iptables_parse(void **state)
{
    (void)state;
    struct net_subnet s1, s2;
    net_subnet_parse("10.213.0.0/24", "s", &s1, NULL);
    net_subnet_parse("10.213.1.0/24", "s", &s2, NULL);
    const struct net_subnet *subs[] = {&s1, &s2};
    const char *names[] = {"wharf-awsvpc-abc", "wharf-bridge-abc"};
    static const struct {
        const char *line;
        bool ours;
        const char *id, *fwd;
    } cases[] = {
        {"-A POSTROUTING -s 10.213.0.7/32 -m comment --comment \"name: \\\"wharf-awsvpc-abc\\\" "
         "id: \\\"T1\\\"\" -j CNI-d3bf37efe7f6e11b175adc65", true, "T1", ""},
        {"-A POSTROUTING -s 10.88.0.7/32 -m comment --comment \"name: \\\"podman\\\" id: "
         "\\\"x\\\"\" -j CNI-1", false, "", ""},
        {"-A CNI-FORWARD -d 10.213.1.9/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
         true, "", "10.213.1.9"},
        {"-A CNI-FORWARD -s 10.88.1.9/32 -j ACCEPT", false, "", ""},
        {"-A CNI-DN-d3bf37efe7f6e11b175ad -p tcp -m tcp --dport 18080 -j DNAT "
         "--to-destination 10.213.1.2:80", true, "", ""},
        {"-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment \"dnat name: \\\"wharf-bridge-abc\\\" "
         "id: \\\"T2-0\\\"\" -m multiport --dports 18080 -j CNI-DN-1", true, "T2-0", ""},
        {"-A PREROUTING -d 10.213.0.1/32 -i wharf0 -p tcp -m tcp --dport 4566 -m comment "
         "--comment \"wharf: host service\" -j DNAT --to-destination 127.0.0.1:4566", false, "",
         ""},
        {"-N CNI-FORWARD", false, "", ""},
        {"-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE", false, "", ""},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct ipt_rule_info info;
        ipt_rule_parse(cases[i].line, names, 2, subs, 2, &info);
        if (info.ours != cases[i].ours || strcmp(info.id, cases[i].id) != 0 ||
            strcmp(info.fwd_ip, cases[i].fwd) != 0)
            fail_msg("case %zu: ours %d id '%s' fwd '%s'", i, info.ours, info.id, info.fwd_ip);
    }
    char chain[29];
    ipt_cni_chain("wexp", "abc123", "", chain);
    assert_string_equal(chain, "CNI-d3bf37efe7f6e11b175adc65");
    ipt_cni_chain("wexp", "abc123", "DN-", chain);
    assert_string_equal(chain, "CNI-DN-d3bf37efe7f6e11b175ad");

    char *argv[16], *buf;
    size_t n = ipt_split("-A POSTROUTING -s 10.0.0.1/32 -m comment --comment \"name: \\\"n\\\" "
                         "id: \\\"x\\\"\" -j CNI-1", &buf, argv, 16);
    assert_int_equal(n, 10);
    assert_string_equal(argv[7], "name: \"n\" id: \"x\"");
    assert_string_equal(argv[9], "CNI-1");
    assert_null(argv[10]);
    free(buf);
}

/* ---- wharfd's subnets ---- */

static void test_subnet_carving(void **state)
{
    (void)state;
    char a[24], b[24];
    struct wh_err err = {0};
    assert_int_equal(ecs_subnets_pick(ECS_SUBNET_POOL_DEFAULT, NULL, 0, a, b, &err), 0);
    assert_string_equal(a, "10.213.0.0/24");
    assert_string_equal(b, "10.213.1.0/24");
    const char *used1[] = {"10.213.0.0/24", "10.213.1.0/24", "10.213.4.0/24", "10.213.5.0/24",
                           "192.168.0.0/24"};
    assert_int_equal(ecs_subnets_pick(ECS_SUBNET_POOL_DEFAULT, used1, 5, a, b, &err), 0);
    assert_string_equal(a, "10.213.2.0/24"); /* the hole */
    assert_string_equal(b, "10.213.3.0/24");
    /* A wider block in use covers every pair inside it. */
    const char *used2[] = {"10.213.0.0/22", "garbage"};
    assert_int_equal(ecs_subnets_pick(ECS_SUBNET_POOL_DEFAULT, used2, 2, a, b, &err), 0);
    assert_string_equal(a, "10.213.4.0/24");
    /* Half a pair taken blocks the pair. */
    const char *used3[] = {"10.213.1.0/24"};
    assert_int_equal(ecs_subnets_pick("10.213.0.0/22", used3, 1, a, b, &err), 0);
    assert_string_equal(a, "10.213.2.0/24");
    /* Exhausted. */
    const char *used4[] = {"10.0.0.0/8"};
    assert_int_equal(ecs_subnets_pick("10.213.0.0/23", used4, 1, a, b, &err), -1);
    assert_non_null(strstr(err.msg, "pool 10.213.0.0/23 is exhausted"));
    assert_int_equal(err.status, 500);
    /* A big pool. */
    const char *used5[] = {"10.0.0.0/9"};
    assert_int_equal(ecs_subnets_pick("10.0.0.0/8", used5, 1, a, b, &err), 0);
    assert_string_equal(a, "10.128.0.0/24");
    static const char *const bad_pools[] = {"10.213.0.0/24", "10.213.0.1/16", "10.213.0.0",
                                            "10.0.0.0/7", "x"};
    for (size_t i = 0; i < ARRAY_SIZE(bad_pools); i++)
        assert_int_equal(ecs_subnet_pool_check(bad_pools[i], NULL), -1);
    assert_int_equal(ecs_subnet_pool_check("172.31.0.0/16", NULL), -1 + 1);

    const char *others[] = {"10.213.2.0/24", "10.213.3.0/24"};
    assert_true(ecs_subnets_still_free(ECS_SUBNET_POOL_DEFAULT, "10.213.0.0/24",
                                       "10.213.1.0/24", others, 2));
    assert_false(ecs_subnets_still_free(ECS_SUBNET_POOL_DEFAULT, "10.213.2.0/24",
                                        "10.213.3.0/24", others, 2));
    assert_false(ecs_subnets_still_free("10.99.0.0/16", "10.213.0.0/24", "10.213.1.0/24",
                                        others, 2));
    assert_false(ecs_subnets_still_free(ECS_SUBNET_POOL_DEFAULT, NULL, NULL, others, 2));
}

/* ---- what the agent reports ---- */

static void test_merge_network(void **state)
{
    (void)state;
    struct store_task_container *c = xcalloc(2, sizeof(*c));
    c[0] = (struct store_task_container){.name = xstrdup("web"), .last_status = xstrdup("PENDING"),
         .health_status = xstrdup("UNKNOWN"), .network_bindings = xstrdup("[]"),
         .network_interfaces = xstrdup("[]"), .essential = true};
    c[1] = (struct store_task_container){.name = xstrdup("side"), .last_status = xstrdup("PENDING"),
         .health_status = xstrdup("UNKNOWN"), .network_bindings = xstrdup("[]"),
         .network_interfaces = xstrdup("[]"), .essential = true};
    struct store_task t = {
        .arn = xstrdup("arn:aws:ecs:us-east-1:000000000000:task/c/T"),
        .last_status = xstrdup("PENDING"), .desired_status = xstrdup("RUNNING"),
        .health_status = xstrdup("UNKNOWN"), .ports_tcp = xstrdup("[8080]"),
        .ports_udp = xstrdup("[]"),
        .attachments = xstrdup("[{\"id\":\"att-1\",\"type\":\"ElasticNetworkInterface\","
                               "\"status\":\"PRECREATED\",\"details\":[{\"name\":\"subnetId\","
                               "\"value\":\"subnet-1\"},{\"name\":\"networkInterfaceId\","
                               "\"value\":\"eni-1\"}]}]"),
        .containers = c, .ncontainers = 2, .version = 1,
    };
    json_auto_t *rep = json_loads(
        "{\"status\":\"RUNNING\",\"attachments\":[{\"attachmentArn\":"
        "\"arn:aws:ecs:us-east-1:000000000000:attachment/att-1\",\"status\":\"ATTACHED\","
        "\"details\":[{\"name\":\"privateIPv4Address\",\"value\":\"10.213.0.5\"},"
        "{\"name\":\"macAddress\",\"value\":\"aa:bb:cc:dd:ee:ff\"},"
        "{\"name\":\"subnetId\",\"value\":\"mine\"}]}],"
        "\"containers\":[{\"containerName\":\"web\",\"status\":\"RUNNING\",\"networkBindings\":"
        "[{\"bindIP\":\"0.0.0.0\",\"containerPort\":80,\"hostPort\":49153,\"protocol\":\"tcp\"},"
        "{\"bindIP\":\"0.0.0.0\",\"containerPort\":53,\"hostPort\":49160,\"protocol\":\"udp\"},"
        "{\"bindIP\":\"0.0.0.0\",\"containerPort\":81,\"hostPort\":8080,\"protocol\":\"tcp\"}]}]}",
        0, NULL);
    assert_int_equal(task_merge_report(&t, rep, 100.0, NULL), 1);
    json_auto_t *atts = json_loads(t.attachments, 0, NULL);
    json_auto_t *want = json_loads(
        "[{\"id\":\"att-1\",\"type\":\"ElasticNetworkInterface\",\"status\":\"ATTACHED\","
        "\"details\":[{\"name\":\"subnetId\",\"value\":\"subnet-1\"},{\"name\":"
        "\"networkInterfaceId\",\"value\":\"eni-1\"},{\"name\":\"privateIPv4Address\","
        "\"value\":\"10.213.0.5\"},{\"name\":\"macAddress\",\"value\":\"aa:bb:cc:dd:ee:ff\"}]}]",
        0, NULL);
    if (!json_equal(atts, want))
        fail_msg("attachments: %s", t.attachments);
    for (size_t i = 0; i < 2; i++)
        assert_string_equal(c[i].network_interfaces,
                            "[{\"attachmentId\":\"att-1\",\"privateIpv4Address\":\"10.213.0.5\"}]");
    assert_string_equal(t.ports_tcp, "[8080,49153]");
    assert_string_equal(t.ports_udp, "[49160]");
    /* The same report again changes nothing. */
    assert_int_equal(task_merge_report(&t, rep, 101.0, NULL), 0);
    store_task_clear(&t);
}

/* ---- the agent's endpoint ---- */

static void test_loopback_port(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        uint16_t port;
    } cases[] = {
        {"http://127.0.0.1:4566", 4566}, {"http://localhost:8080/", 8080},
        {"http://localhost", 80},         {"https://127.0.0.2", 443},
        {"http://[::1]:4566", 4566},      {"http://10.0.0.5:4566", 0},
        {"http://wharf.example:4566", 0}, {"http://127.0.0.1:x", 0},
        {"http://127.0.0.1:70000", 0},    {NULL, 0},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        if (task_net_loopback_port(cases[i].url) != cases[i].port)
            fail_msg("%s: got %u, want %u", cases[i].url ? cases[i].url : "(null)",
                     task_net_loopback_port(cases[i].url), cases[i].port);
}

/* Which tasks may hand their awsvpc namespace back to the warm pool. */
static void test_may_reuse(void **state)
{
    (void)state;
    static const struct {
        const char *def;
        bool reuse;
    } cases[] = {
        {"{\"containerDefinitions\": [{\"name\": \"a\"}, {\"name\": \"b\"}]}", true},
        {"{\"containerDefinitions\": [{\"name\": \"a\", \"privileged\": true}]}", false},
        {"{\"containerDefinitions\": [{\"linuxParameters\": {\"capabilities\": "
         "{\"add\": [\"SYS_PTRACE\"], \"drop\": [\"NET_ADMIN\"]}}}]}", true},
        {"{\"containerDefinitions\": [{}, {\"linuxParameters\": {\"capabilities\": "
         "{\"add\": [\"NET_ADMIN\"]}}}]}", false},
        {"{\"containerDefinitions\": [{\"linuxParameters\": {\"capabilities\": "
         "{\"add\": [\"all\"]}}}]}", false},
        {"{\"containerDefinitions\": [{\"systemControls\": [{\"namespace\": "
         "\"kernel.shmmax\", \"value\": \"1\"}]}]}", true},
        {"{\"containerDefinitions\": [{\"systemControls\": [{\"namespace\": "
         "\"net.ipv4.tcp_keepalive_time\", \"value\": \"60\"}]}]}", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        json_auto_t *d = json_loads(cases[i].def, 0, NULL);
        assert_non_null(d);
        if (task_net_may_reuse(d) != cases[i].reuse)
            fail_msg("case %zu: %s: want %d", i, cases[i].def, cases[i].reuse);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subnet_parse),   cmocka_unit_test(test_conflist),
        cmocka_unit_test(test_result_parse),   cmocka_unit_test(test_ports),
        cmocka_unit_test(test_request),        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_record),         cmocka_unit_test(test_iptables_parse),
        cmocka_unit_test(test_subnet_carving), cmocka_unit_test(test_merge_network),
        cmocka_unit_test(test_loopback_port),
        cmocka_unit_test(test_may_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
