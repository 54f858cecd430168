/* Task networking with the real CNI plugins (src/agent/net/): namespaces, veths on a bridge,
 * host-local leases, portmap DNAT, teardown that leaves nothing, idempotent setup, restart and
 * GC. Root only; every test skips otherwise, and when the plugins or iptables are missing.
 *
 * The test uses bridges, subnets and a data dir of its own (from its pid), so it never touches
 * a real agent's networks on the same host. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <ftw.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/net/cni.h"
#include "agent/net/iptables.h"
#include "agent/net/netns.h"
#include "agent/net/network.h"
#include "agent/net/netpriv.h"
#include "core/crypto.h"
#include "core/fsutil.h"
#include "core/proc.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

#define CYCLES 50

static struct {
    bool ready;
    char dir[64];
    char *run_dir;
    char br_a[16], br_b[16];
    char subnet_a[24], subnet_b[24];
    struct net_config cfg;
    struct net *n;
} F;

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)ftw;
    return flag == FTW_DP ? rmdir(p) : unlink(p);
}

/* Run argv; its stdout (new string) or NULL when it failed. */
static char *run_out(const char *const *argv)
{
    static const char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    struct proc_opts o = {.argv = argv, .envp = envp, .timeout_ms = 20000, .extra_fd = -1};
    struct proc_result res;
    struct wh_err err = {0};
    if (proc_run(&o, &res, &err) < 0)
        return NULL;
    char *out = proc_ok(&res) ? TAKE_PTR(res.out) : NULL;
    if (!out)
        fprintf(stderr, "%s: %s\n", argv[0], proc_describe(&res, 20000));
    proc_result_free(&res);
    return out;
}

/* What the host holds of this test's networking: our census (namespaces in our run dir,
 * ports of our bridges, leases, iptables rules naming our networks or addresses), plus veths
 * attached to no bridge anywhere (what a half-removed attachment would leave). */
struct host_census {
    size_t netns, veths, leases, rules, loose_veths;
};

static void host_census(struct host_census *c)
{
    memset(c, 0, sizeof(*c));
    struct net_census nc;
    assert_int_equal(net_census(F.n, &nc, NULL), 0);
    *c = (struct host_census){.netns = nc.netns, .veths = nc.veths, .leases = nc.leases,
                              .rules = nc.rules};
    const char *links[] = {"ip", "-o", "link", "show", "type", "veth", NULL};
    cleanup_free char *l = run_out(links);
    for (const char *p = l; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        cleanup_free char *line = xstrndup(p, len);
        if (!strstr(line, " master "))
            c->loose_veths++;
        p = nl ? nl + 1 : NULL;
    }
}

/* Whether `iptables -t nat -S` still declares a CNI chain of attachment id: the bridge
 * plugin's masquerade chain or portmap's DNAT chain, on either of our networks (named
 * "wharf-<kind>-" + 6 hex of sha256(data dir), as network.c names them). */
static bool chains_left(const char *nat, const char *id)
{
    char real[4096], hex[SHA256_HEX_LEN + 1];
    if (!realpath(F.dir, real))
        return true;
    sha256_hex(real, strlen(real), hex);
    const char *kinds[] = {"awsvpc", "bridge"}, *prefixes[] = {"", "DN-"};
    for (int k = 0; k < 2; k++)
        for (int p = 0; p < 2; p++) {
            cleanup_free char *net = xasprintf("wharf-%s-%.6s", kinds[k], hex);
            char chain[29];
            ipt_cni_chain(net, id, prefixes[p], chain);
            cleanup_free char *decl = xasprintf("-N %s\n", chain);
            if (strstr(nat, decl))
                return true;
        }
    return false;
}

static int setup(void **state)
{
    (void)state;
    if (geteuid() != 0)
        return 0;
    const char *plugins = "/usr/lib/cni/bridge";
    if (access(plugins, X_OK) != 0 || access("/usr/sbin/iptables", X_OK) != 0)
        return 0;
    snprintf(F.dir, sizeof(F.dir), "/tmp/wharf-net-XXXXXX");
    if (!mkdtemp(F.dir))
        return -1;
    int k = (int)(getpid() % 60);
    snprintf(F.br_a, sizeof(F.br_a), "whtst%da", k);
    snprintf(F.br_b, sizeof(F.br_b), "whtst%db", k);
    snprintf(F.subnet_a, sizeof(F.subnet_a), "10.213.%d.0/24", 128 + 2 * k);
    snprintf(F.subnet_b, sizeof(F.subnet_b), "10.213.%d.0/24", 129 + 2 * k);
    F.run_dir = xasprintf("%s/netns", F.dir);
    F.cfg = (struct net_config){.data_dir = F.dir, .run_dir = F.run_dir,
                                .awsvpc_subnet = F.subnet_a, .bridge_subnet = F.subnet_b,
                                .awsvpc_bridge = F.br_a, .bridge_bridge = F.br_b};
    struct wh_err err = {0};
    if (net_open(&F.cfg, &F.n, &err) < 0) {
        fprintf(stderr, "net_open: %s (tests will skip)\n", err.msg);
        return 0;
    }
    F.ready = true;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (F.n) {
        net_gc(F.n, NULL, 0, NULL, NULL);
        net_close(F.n);
    }
    const char *brs[] = {F.br_a, F.br_b};
    for (size_t i = 0; F.ready && i < 2; i++) {
        const char *argv[] = {"ip", "link", "del", brs[i], NULL};
        free(run_out(argv));
    }
    if (F.dir[0])
        nftw(F.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(F.run_dir);
    return 0;
}

#define NEED_ROOT()                                                                                \
    do {                                                                                           \
        if (!F.ready)                                                                              \
            skip();                                                                                \
    } while (0)

static void task_id(char *buf, size_t len, int i)
{
    snprintf(buf, len, "%08x%024d", (unsigned)getpid(), i);
}

/* The IPv4 address of eth0 inside netns, as `ip` sees it (through nsenter). */
static char *addr_inside(const char *netns)
{
    cleanup_free char *opt = xasprintf("--net=%s", netns);
    const char *argv[] = {"nsenter", opt, "ip", "-4", "-o", "addr", "show", "dev", "eth0", NULL};
    char *out = run_out(argv);
    if (!out)
        return NULL;
    char *inet = strstr(out, "inet ");
    char *ip = inet ? xstrndup(inet + 5, strcspn(inet + 5, "/")) : NULL;
    free(out);
    return ip;
}

static void check_census_zero(void)
{
    struct net_census c;
    assert_int_equal(net_census(F.n, &c, NULL), 0);
    if (c.tasks || c.netns || c.veths || c.leases || c.rules)
        fail_msg("left behind: %zu records, %zu netns, %zu veths, %zu leases, %zu rules",
                 c.tasks, c.netns, c.veths, c.leases, c.rules);
}

static void test_awsvpc(void **state)
{
    (void)state;
    NEED_ROOT();
    char id[40];
    task_id(id, sizeof(id), 1);
    struct net_ctr_req ctrs[] = {{.name = "web"}, {.name = "sidecar"}};
    struct net_task_req req = {.task_id = id, .mode = NET_MODE_AWSVPC, .ctrs = ctrs, .nctrs = 2};
    struct net_task_net r;
    struct wh_err err = {0};
    if (net_task_setup(F.n, &req, &r, &err) < 0)
        fail_msg("setup: %s", err.msg);
    assert_non_null(r.netns);
    assert_true(net_ns_exists(r.netns));
    assert_non_null(r.ip);
    assert_non_null(r.mac);
    assert_string_equal(r.ifname, "eth0");
    assert_string_equal(r.subnet, F.subnet_a);
    assert_int_equal(r.nctrs, 2);
    assert_string_equal(r.ctrs[0].netns, r.netns);
    assert_string_equal(r.ctrs[1].netns, r.netns);
    cleanup_free char *inside = addr_inside(r.netns);
    assert_non_null(inside);
    assert_string_equal(inside, r.ip);
    json_auto_t *det = net_eni_details_json(&r);
    assert_non_null(det);
    assert_string_equal(json_string_value(json_object_get(json_array_get(det, 0), "value")),
                        r.ip);
    /* Idempotent: a second setup finds the same network. */
    struct net_task_net again;
    if (net_task_setup(F.n, &req, &again, &err) < 0)
        fail_msg("setup again: %s", err.msg);
    assert_string_equal(again.ip, r.ip);
    struct net_census c;
    assert_int_equal(net_census(F.n, &c, NULL), 0);
    assert_int_equal(c.leases, 1);
    assert_int_equal(c.netns, 1);
    net_task_net_clear(&again);
    /* A restart of the agent: the record is still there, teardown works from it. */
    net_close(F.n);
    F.n = NULL;
    assert_int_equal(net_open(&F.cfg, &F.n, &err), 0);
    if (net_task_get(F.n, id, &again, &err) < 0)
        fail_msg("get: %s", err.msg);
    assert_string_equal(again.ip, r.ip);
    net_task_net_clear(&again);
    if (net_task_teardown(F.n, id, &err) < 0)
        fail_msg("teardown: %s", err.msg);
    assert_false(net_ns_exists(r.netns));
    assert_int_equal(net_task_teardown(F.n, id, &err), 0); /* idempotent */
    check_census_zero();
    net_task_net_clear(&r);
}

static bool link_exists(const char *dev)
{
    cleanup_free char *path = xasprintf("/sys/class/net/%s", dev);
    return access(path, F_OK) == 0;
}

/* Our rules that name dev as their input interface, in table. */
static int rules_on(const char *table, const char *dev)
{
    const char *argv[] = {"iptables", "-w", "-t", table, "-S", NULL};
    cleanup_free char *out = run_out(argv);
    cleanup_free char *in = xasprintf(" -i %s ", dev);
    int n = 0;
    for (char *l = out; l && (l = strstr(l, in)); l++)
        n++;
    return n;
}

/* A clean stop with no task network left takes our bridges, their rules and the namespace
 * directory off the host; with a task network left, everything stays for the next start. */
static void test_release_host(void **state)
{
    (void)state;
    NEED_ROOT();
    net_close(F.n);
    F.n = NULL;
    uint16_t port = 4566;
    struct net_config cfg = F.cfg;
    cfg.host_services = &port;
    cfg.n_host_services = 1;
    struct wh_err err = {0};
    assert_int_equal(net_open(&cfg, &F.n, &err), 0);
    assert_int_equal(rules_on("filter", F.br_a), 1); /* the loopback guard */
    assert_int_equal(rules_on("nat", F.br_a), 1);    /* the host service */
    char id[40];
    task_id(id, sizeof(id), 77);
    struct net_ctr_req ctrs[] = {{.name = "web"}};
    struct net_task_req req = {.task_id = id, .mode = NET_MODE_AWSVPC, .ctrs = ctrs, .nctrs = 1};
    struct net_task_net r;
    if (net_task_setup(F.n, &req, &r, &err) < 0)
        fail_msg("setup: %s", err.msg);
    net_task_net_clear(&r);
    assert_true(link_exists(F.br_a));
    net_close(F.n); /* a task network is left: nothing goes */
    F.n = NULL;
    assert_true(link_exists(F.br_a));
    assert_int_equal(rules_on("filter", F.br_a), 1);
    assert_int_equal(access(F.run_dir, F_OK), 0);
    assert_int_equal(net_open(&cfg, &F.n, &err), 0);
    assert_int_equal(rules_on("filter", F.br_a), 1); /* not twice */
    if (net_task_teardown(F.n, id, &err) < 0)
        fail_msg("teardown: %s", err.msg);
    net_close(F.n);
    F.n = NULL;
    assert_false(link_exists(F.br_a));
    assert_false(link_exists(F.br_b));
    assert_int_equal(rules_on("filter", F.br_a), 0);
    assert_int_equal(rules_on("nat", F.br_a), 0);
    assert_int_equal(access(F.run_dir, F_OK), -1);
    /* and a start after that works as the first did */
    assert_int_equal(net_open(&F.cfg, &F.n, &err), 0);
    task_id(id, sizeof(id), 78);
    req.task_id = id;
    if (net_task_setup(F.n, &req, &r, &err) < 0)
        fail_msg("setup after the release: %s", err.msg);
    assert_true(link_exists(F.br_a));
    net_task_net_clear(&r);
    assert_int_equal(net_task_teardown(F.n, id, &err), 0);
    check_census_zero();
}

static size_t warm_ready(void)
{
    pthread_mutex_lock(&F.n->pool.mu);
    size_t n = F.n->pool.nready;
    pthread_mutex_unlock(&F.n->pool.mu);
    return n;
}

static void wait_warm(size_t want)
{
    for (int i = 0; i < 300 && warm_ready() != want; i++)
        usleep(20000);
    assert_int_equal(warm_ready(), want);
}

/* --awsvpc-warm: a task takes a network made ahead (its address answers inside the task's
 * namespace, GC keeps it as the task's), the pool makes the next; teardown, GC and close leave
 * nothing; a crash that leaves a pool record is cleaned by GC. */
static void test_awsvpc_warm(void **state)
{
    (void)state;
    NEED_ROOT();
    net_close(F.n);
    F.n = NULL;
    struct net_config cfg = F.cfg;
    cfg.awsvpc_warm = 1;
    struct wh_err err = {0};
    assert_int_equal(net_open(&cfg, &F.n, &err), 0);
    wait_warm(1);
    char warm[NET_ID_MAX];
    snprintf(warm, sizeof(warm), "%s", F.n->pool.ready[0]);
    assert_true(strncmp(warm, "pool.", 5) == 0);
    char id[40];
    task_id(id, sizeof(id), 40);
    struct net_ctr_req ctrs[] = {{.name = "web"}};
    struct net_task_req req = {.task_id = id, .mode = NET_MODE_AWSVPC, .ctrs = ctrs, .nctrs = 1};
    struct net_task_net r;
    if (net_task_setup(F.n, &req, &r, &err) < 0)
        fail_msg("setup: %s", err.msg);
    cleanup_free char *warm_ns = xasprintf("%s/%s", F.run_dir, warm);
    assert_string_equal(r.netns, warm_ns); /* the warm one, not a new one */
    assert_string_equal(r.ctrs[0].netns, warm_ns);
    cleanup_free char *inside = addr_inside(r.netns);
    assert_non_null(inside);
    assert_string_equal(inside, r.ip);
    wait_warm(1); /* the next one */
    assert_string_not_equal(F.n->pool.ready[0], warm);
    /* GC with the task known keeps its network (and the warm one) */
    const char *known[] = {id};
    struct net_census removed;
    assert_int_equal(net_gc(F.n, known, 1, &removed, &err), 0);
    assert_int_equal(removed.tasks + removed.netns + removed.leases + removed.rules, 0);
    assert_true(net_ns_exists(r.netns));
    struct net_task_net got;
    assert_int_equal(net_task_get(F.n, id, &got, &err), 0);
    assert_string_equal(got.ip, r.ip);
    net_task_net_clear(&got);
    /* Released with may_reuse, it goes back to the pool (room for twice the target), with
     * its namespace and address. */
    if (net_task_release(F.n, id, true, &err) < 0)
        fail_msg("release: %s", err.msg);
    assert_true(net_ns_exists(warm_ns));
    assert_int_equal(warm_ready(), 2);
    assert_string_equal(F.n->pool.ready[1], warm);
    /* Two tasks take both (a setup in flight holds the refill back); one gives its network
     * back, the other holds a socket in it (a TIME_WAIT would be one too): torn down. The
     * next task gets the one given back, as if new. */
    net_pool_busy(F.n, 1);
    char id2[40], id3[40], id4[40];
    task_id(id2, sizeof(id2), 41);
    task_id(id3, sizeof(id3), 42);
    task_id(id4, sizeof(id4), 43);
    struct net_task_net r2, r3, r4;
    req.task_id = id2;
    assert_int_equal(net_task_setup(F.n, &req, &r2, &err), 0);
    req.task_id = id3;
    assert_int_equal(net_task_setup(F.n, &req, &r3, &err), 0);
    assert_int_equal(warm_ready(), 0);
    int sfd;
    {
        int fd = open(r3.netns, O_RDONLY | O_CLOEXEC);
        int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0 && self >= 0);
        assert_int_equal(setns(fd, CLONE_NEWNET), 0);
        sfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(5353)};
        assert_int_equal(bind(sfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(setns(self, CLONE_NEWNET), 0);
        close(fd);
        close(self);
    }
    assert_int_equal(net_ns_sockets(r3.netns), 1);
    assert_int_equal(net_ns_sockets(r2.netns), 0);
    assert_int_equal(net_task_release(F.n, id3, true, &err), 0);
    assert_false(net_ns_exists(r3.netns));
    close(sfd);
    assert_int_equal(net_task_release(F.n, id2, true, &err), 0);
    assert_true(net_ns_exists(r2.netns));
    assert_int_equal(warm_ready(), 1);
    req.task_id = id4;
    assert_int_equal(net_task_setup(F.n, &req, &r4, &err), 0);
    assert_string_equal(r4.netns, r2.netns);
    assert_string_equal(r4.ip, r2.ip);
    /* may_reuse false (NET_ADMIN, privileged...): torn down */
    assert_int_equal(net_task_release(F.n, id4, false, &err), 0);
    assert_false(net_ns_exists(r4.netns));
    net_pool_busy(F.n, -1);
    wait_warm(1);
    net_task_net_clear(&r2);
    net_task_net_clear(&r3);
    net_task_net_clear(&r4);
    /* a crash leaves the warm record of a pool that no longer exists: GC removes it all */
    net_close(F.n); /* tears the ready one down; make a leftover by hand */
    F.n = NULL;
    assert_int_equal(net_open(&F.cfg, &F.n, &err), 0);
    struct net_task_req left = {.task_id = "pool.00000000deadbeef", .mode = NET_MODE_AWSVPC};
    struct net_task_net lr;
    assert_int_equal(net_task_setup(F.n, &left, &lr, &err), 0);
    net_task_net_clear(&lr);
    assert_int_equal(net_gc(F.n, NULL, 0, &removed, &err), 0);
    assert_int_equal(removed.tasks, 1);
    check_census_zero();
    net_task_net_clear(&r);
}

/* A child in netns serving "hello" once on TCP port (or answering one UDP datagram). */
static pid_t serve(const char *netns, uint16_t port, bool udp)
{
    int sync[2];
    assert_int_equal(pipe2(sync, O_CLOEXEC), 0);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(netns, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
            _exit(1);
        int s = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
        int one = 1;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
        if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || (!udp && listen(s, 4) < 0))
            _exit(2);
        if (write(sync[1], "r", 1) != 1)
            _exit(3);
        if (udp) {
            char buf[64];
            struct sockaddr_in from;
            socklen_t fl = sizeof(from);
            ssize_t n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
            if (n > 0)
                sendto(s, "hello", 5, 0, (struct sockaddr *)&from, fl);
        } else {
            for (int k = 0; k < 2; k++) {
                int c = accept(s, NULL, NULL);
                if (c >= 0 && write(c, "hello", 5) == 5)
                    close(c);
            }
        }
        _exit(0);
    }
    close(sync[1]);
    char b;
    assert_int_equal(read(sync[0], &b, 1), 1);
    close(sync[0]);
    return pid;
}

/* Connect to ip:port (TCP, or one UDP exchange) and read "hello". */
static bool hello(const char *ip, uint16_t port, bool udp)
{
    int s = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    struct timeval tv = {.tv_sec = 3};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    char buf[16] = "";
    bool ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
              (!udp || send(s, "hi", 2, 0) == 2) && recv(s, buf, sizeof(buf) - 1, 0) == 5 &&
              strcmp(buf, "hello") == 0;
    close(s);
    return ok;
}

/* The first non-loopback IPv4 address of the host (for reaching a published port). */
static char *host_ip(void)
{
    const char *argv[] = {"ip", "-4", "-o", "route", "get", "1.1.1.1", NULL};
    cleanup_free char *out = run_out(argv);
    char *src = out ? strstr(out, " src ") : NULL;
    return src ? xstrndup(src + 5, strcspn(src + 5, " \n")) : NULL;
}

static void test_bridge_ports(void **state)
{
    (void)state;
    NEED_ROOT();
    char id[40];
    task_id(id, sizeof(id), 2);
    uint16_t fixed = (uint16_t)(20000 + getpid() % 10000);
    struct net_port_req web[] = {{.container_port = 80, .host_port = fixed},
                                 {.container_port = 81}};
    struct net_port_req dns[] = {{.container_port = 53, .udp = true}};
    struct net_ctr_req ctrs[] = {{.name = "web", .ports = web, .nports = 2},
                                 {.name = "dns", .ports = dns, .nports = 1}};
    struct net_task_req req = {.task_id = id, .mode = NET_MODE_BRIDGE, .ctrs = ctrs, .nctrs = 2};
    struct net_task_net r;
    struct wh_err err = {0};
    if (net_task_setup(F.n, &req, &r, &err) < 0)
        fail_msg("setup: %s", err.msg);
    assert_null(r.netns);
    assert_int_equal(r.nctrs, 2);
    assert_non_null(r.ctrs[0].netns);
    assert_non_null(r.ctrs[1].netns);
    assert_string_not_equal(r.ctrs[0].netns, r.ctrs[1].netns);
    assert_string_not_equal(r.ctrs[0].ip, r.ctrs[1].ip);
    assert_int_equal(r.ctrs[0].nbindings, 2);
    assert_int_equal(r.ctrs[0].bindings[0].host_port, fixed);
    uint16_t dyn = r.ctrs[0].bindings[1].host_port;
    assert_true(dyn >= NET_DYN_LO);
    assert_int_equal(r.ctrs[1].nbindings, 1);
    assert_true(r.ctrs[1].bindings[0].udp);
    json_auto_t *nb = net_bindings_json(&r.ctrs[0]);
    assert_int_equal(json_array_size(nb), 2);

    /* Published on 127.0.0.1 and on the host's address; udp too. */
    cleanup_free char *hip = host_ip();
    pid_t p1 = serve(r.ctrs[0].netns, 80, false);
    assert_true(hello("127.0.0.1", fixed, false));
    if (hip)
        assert_true(hello(hip, fixed, false));
    waitpid(p1, NULL, 0);
    pid_t p2 = serve(r.ctrs[0].netns, 81, false);
    assert_true(hello("127.0.0.1", dyn, false));
    kill(p2, SIGKILL);
    waitpid(p2, NULL, 0);
    pid_t p3 = serve(r.ctrs[1].netns, 53, true);
    assert_true(hello("127.0.0.1", r.ctrs[1].bindings[0].host_port, true));
    waitpid(p3, NULL, 0);

    /* The same static port for another task is refused, naming the holder. */
    char id2[40];
    task_id(id2, sizeof(id2), 3);
    struct net_port_req same[] = {{.container_port = 8080, .host_port = fixed}};
    struct net_ctr_req c2[] = {{.name = "other", .ports = same, .nports = 1}};
    struct net_task_req req2 = {.task_id = id2, .mode = NET_MODE_HOST, .ctrs = c2, .nctrs = 1};
    struct net_task_net r2;
    assert_int_equal(net_task_setup(F.n, &req2, &r2, &err), -1);
    assert_non_null(strstr(err.msg, "already allocated to task"));
    assert_non_null(strstr(err.msg, id));
    assert_string_equal(err.type, "CannotStartContainerError");

    if (net_task_teardown(F.n, id, &err) < 0)
        fail_msg("teardown: %s", err.msg);
    /* Now free: the host-mode task gets it. */
    if (net_task_setup(F.n, &req2, &r2, &err) < 0)
        fail_msg("host setup: %s", err.msg);
    assert_true(r2.host);
    assert_null(r2.ctrs[0].netns);
    assert_int_equal(r2.ctrs[0].bindings[0].host_port, fixed);
    assert_int_equal(net_task_teardown(F.n, id2, &err), 0);
    net_task_net_clear(&r2);
    net_task_net_clear(&r);
    check_census_zero();
}

/* A host process listening on a port makes a static mapping of it fail. */
static void test_port_in_use(void **state)
{
    (void)state;
    NEED_ROOT();
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s, 1), 0);
    getsockname(s, (struct sockaddr *)&a, &al);
    char id[40];
    task_id(id, sizeof(id), 4);
    struct net_port_req p[] = {{.container_port = 80, .host_port = ntohs(a.sin_port)}};
    struct net_ctr_req c[] = {{.name = "web", .ports = p, .nports = 1}};
    struct net_task_req req = {.task_id = id, .mode = NET_MODE_BRIDGE, .ctrs = c, .nctrs = 1};
    struct net_task_net r;
    struct wh_err err = {0};
    assert_int_equal(net_task_setup(F.n, &req, &r, &err), -1);
    assert_non_null(strstr(err.msg, "already in use on this host"));
    close(s);
    check_census_zero();
}

/* GC removes the networks of unknown tasks, with or without their records. */
static void test_gc(void **state)
{
    (void)state;
    NEED_ROOT();
    char ids[3][40];
    struct wh_err err = {0};
    struct net_port_req p[] = {{.container_port = 80}};
    struct net_ctr_req c[] = {{.name = "web", .ports = p, .nports = 1}};
    for (int i = 0; i < 3; i++) {
        task_id(ids[i], sizeof(ids[i]), 10 + i);
        struct net_task_req req = {.task_id = ids[i],
                                   .mode = i == 2 ? NET_MODE_BRIDGE : NET_MODE_AWSVPC,
                                   .ctrs = c, .nctrs = 1};
        struct net_task_net r;
        if (net_task_setup(F.n, &req, &r, &err) < 0)
            fail_msg("setup %d: %s", i, err.msg);
        net_task_net_clear(&r);
    }
    /* Lose the bridge task's record, as after a crash between ADD and the record. */
    cleanup_free char *rec = xasprintf("%s/net/tasks/%s.json", F.dir, ids[2]);
    assert_int_equal(unlink(rec), 0);
    const char *known[] = {ids[0]};
    struct net_census removed;
    if (net_gc(F.n, known, 1, &removed, &err) < 0)
        fail_msg("gc: %s", err.msg);
    assert_int_equal(removed.tasks, 1);
    struct net_census c1;
    assert_int_equal(net_census(F.n, &c1, NULL), 0);
    assert_int_equal(c1.tasks, 1);
    assert_int_equal(c1.netns, 1);
    assert_int_equal(c1.leases, 1);
    assert_int_equal(c1.veths, 1);
    assert_int_equal(net_gc(F.n, NULL, 0, NULL, &err), 0);
    check_census_zero();

    /* Only iptables rules left (record, namespace and lease gone, as after a crash and a
     * hand-made cleanup): GC finds them by the ids in their comments. */
    char id[40];
    task_id(id, sizeof(id), 20);
    struct net_task_req req = {.task_id = id, .mode = NET_MODE_BRIDGE, .ctrs = c, .nctrs = 1};
    struct net_task_net r;
    if (net_task_setup(F.n, &req, &r, &err) < 0)
        fail_msg("setup: %s", err.msg);
    cleanup_free char *rec2 = xasprintf("%s/net/tasks/%s.json", F.dir, id);
    assert_int_equal(unlink(rec2), 0);
    assert_int_equal(net_ns_remove(r.ctrs[0].netns), 0);
    cleanup_free char *lease = xasprintf("%s/net/ipam", F.dir);
    const char *rm[] = {"find", lease, "-name", r.ctrs[0].ip, "-delete", NULL};
    free(run_out(rm));
    net_task_net_clear(&r);
    struct net_census c2;
    assert_int_equal(net_census(F.n, &c2, NULL), 0);
    assert_true(c2.rules > 0);
    assert_int_equal(c2.leases + c2.netns + c2.tasks, 0);
    if (net_gc(F.n, NULL, 0, &removed, &err) < 0)
        fail_msg("gc: %s", err.msg);
    assert_true(removed.rules > 0);
    const char *nat_argv[] = {"iptables", "-w", "-t", "nat", "-S", NULL};
    cleanup_free char *nat = run_out(nat_argv);
    char aid[NET_ID_MAX];
    net_attachment_id(id, 0, aid);
    assert_false(chains_left(nat, aid));
    check_census_zero();
}

struct cycler {
    int first, count;
    char err[1100];
};

/* Setup and teardown of tasks first..first+count-1: awsvpc with two containers, or bridge
 * with one container publishing a tcp and a udp port. */
static void *cycle(void *arg)
{
    struct cycler *cy = arg;
    struct wh_err err = {0};
    struct net_port_req p[] = {{.container_port = 80}, {.container_port = 53, .udp = true}};
    struct net_ctr_req c[] = {{.name = "a", .ports = p, .nports = 2}, {.name = "b"}};
    for (int i = cy->first; i < cy->first + cy->count; i++) {
        char id[40];
        task_id(id, sizeof(id), 100 + i);
        bool bridge = i % 2;
        struct net_task_req req = {.task_id = id,
                                   .mode = bridge ? NET_MODE_BRIDGE : NET_MODE_AWSVPC,
                                   .ctrs = c, .nctrs = bridge ? 1 : 2};
        struct net_task_net r;
        if (net_task_setup(F.n, &req, &r, &err) < 0) {
            snprintf(cy->err, sizeof(cy->err), "task %d: setup: %s", i, err.msg);
            return NULL;
        }
        net_task_net_clear(&r);
        if (net_task_teardown(F.n, id, &err) < 0) {
            snprintf(cy->err, sizeof(cy->err), "task %d: teardown: %s", i, err.msg);
            return NULL;
        }
    }
    return NULL;
}

/* CYCLES setups and teardowns (five runners at once) leave the host as it was. */
static void test_no_leaks(void **state)
{
    (void)state;
    NEED_ROOT();
    struct host_census before, after;
    host_census(&before);
    enum { RUNNERS = 5 };
    struct cycler cy[RUNNERS];
    pthread_t th[RUNNERS];
    double t0 = time_monotonic();
    for (int k = 0; k < RUNNERS; k++) {
        cy[k] = (struct cycler){.first = k * (CYCLES / RUNNERS), .count = CYCLES / RUNNERS};
        assert_int_equal(pthread_create(&th[k], NULL, cycle, &cy[k]), 0);
    }
    for (int k = 0; k < RUNNERS; k++)
        pthread_join(th[k], NULL);
    for (int k = 0; k < RUNNERS; k++)
        if (cy[k].err[0])
            fail_msg("%s", cy[k].err);
    fprintf(stderr, "%d setup+teardown cycles in %.1f s\n", CYCLES, time_monotonic() - t0);
    host_census(&after);
    assert_int_equal(after.netns, before.netns);
    assert_int_equal(after.veths, before.veths);
    assert_int_equal(after.leases, before.leases);
    assert_int_equal(after.rules, before.rules);
    assert_int_equal(after.loose_veths, before.loose_veths);
    const char *nat_argv[] = {"iptables", "-w", "-t", "nat", "-S", NULL};
    cleanup_free char *nat = run_out(nat_argv);
    assert_non_null(nat);
    for (int i = 0; i < CYCLES; i++) {
        char id[40], aid[NET_ID_MAX];
        task_id(id, sizeof(id), 100 + i);
        for (long c = -1; c < 2; c++) {
            net_attachment_id(id, c, aid);
            if (chains_left(nat, aid))
                fail_msg("iptables chains of %s are left", aid);
        }
    }
    check_census_zero();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_awsvpc),
        cmocka_unit_test(test_awsvpc_warm),
        cmocka_unit_test(test_bridge_ports),
        cmocka_unit_test(test_release_host),
        cmocka_unit_test(test_port_in_use),
        cmocka_unit_test(test_gc),
        cmocka_unit_test(test_no_leaks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
