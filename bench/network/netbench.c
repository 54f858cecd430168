/* bench/network: task network setup and teardown per mode (src/agent/net/network.h), side by
 * side with the bare CNI plugin chain on the same configuration in the same run (the floor:
 * what any runtime pays to run bridge + firewall [+ portmap]), then 200 awsvpc tasks on one
 * host at once and what they hold before and after. Prints figures only. Root.
 *
 * Built and run by bench/network/run. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/net/cni.h"
#include "agent/net/netconf.h"
#include "agent/net/netns.h"
#include "agent/net/network.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

static struct net *N;
static struct net_config CFG;
static struct cni CNI;
static char DIR_[64], *RUN, BR[2][16];
static struct net_subnet SUB[2];
static int ITER = 50, MANY = 200, THREADS = 8;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median and p99 (nearest rank) of v[n], in ms. */
static void stats(double *v, size_t n, double *med, double *p99)
{
    qsort(v, n, sizeof(*v), cmp_double);
    *med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    size_t k = (size_t)(0.99 * (double)n + 0.999999);
    *p99 = v[(k ? k : 1) - 1];
}

static void die(const char *what, const struct wh_err *e)
{
    fprintf(stderr, "netbench: %s: %s\n", what, e->msg);
    exit(1);
}

static void task_id(char *buf, int i)
{
    snprintf(buf, 40, "b%07x%024d", (unsigned)getpid() & 0xfffffff, i);
}

/* ---- ours ---- */

static void ours(enum net_mode mode, int i, double *ret_setup, double *ret_teardown)
{
    char id[40];
    task_id(id, i);
    struct net_port_req p[] = {{.container_port = 80}};
    struct net_ctr_req c[] = {{.name = "web", .ports = p, .nports = 1}};
    struct net_task_req req = {.task_id = id, .mode = mode, .ctrs = c, .nctrs = 1};
    struct net_task_net r;
    struct wh_err err = {0};
    double t0 = time_monotonic();
    if (net_task_setup(N, &req, &r, &err) < 0)
        die("setup", &err);
    double t1 = time_monotonic();
    net_task_net_clear(&r);
    if (net_task_teardown(N, id, &err) < 0)
        die("teardown", &err);
    *ret_setup = (t1 - t0) * 1000;
    *ret_teardown = (time_monotonic() - t1) * 1000;
}

/* ---- the floor: the same plugins, same configuration, a namespace made beforehand ---- */

static void floor_cycle(enum net_mode mode, int i, double *ret_add, double *ret_del)
{
    char id[40];
    task_id(id, 100000 + i);
    cleanup_free char *ns = xasprintf("%s/floor-%d", RUN, i);
    struct wh_err err = {0};
    if (net_ns_create(ns, &err) < 0)
        die("floor namespace", &err);
    cleanup_free char *ipam = xasprintf("%s/floor-ipam", DIR_);
    int k = mode == NET_MODE_AWSVPC ? 0 : 1;
    struct net_bridge_net b = {.name = k ? "wharf-bench-br" : "wharf-bench-vpc",
                               .bridge = BR[k], .subnet = &SUB[k], .ipam_dir = ipam};
    struct net_portmap pm = {.host_port = (uint16_t)(40000 + i % 5000), .container_port = 80};
    json_auto_t *cl = net_conflist(&b, &pm, mode == NET_MODE_BRIDGE ? 1 : 0);
    struct cni_rt rt = {.container_id = id, .netns = ns, .ifname = "eth0"};
    json_t *res;
    double t0 = time_monotonic();
    if (cni_list_add(&CNI, cl, &rt, &res, &err) < 0)
        die("floor ADD", &err);
    double t1 = time_monotonic();
    if (cni_list_del(&CNI, cl, &rt, res, &err) < 0)
        die("floor DEL", &err);
    *ret_add = (t1 - t0) * 1000;
    *ret_del = (time_monotonic() - t1) * 1000;
    json_decref(res);
    net_ns_remove(ns);
}

static void mode_row(enum net_mode mode)
{
    double *s = xcalloc((size_t)ITER, sizeof(double)), *t = xcalloc((size_t)ITER, sizeof(double));
    double *fa = xcalloc((size_t)ITER, sizeof(double)), *fd = xcalloc((size_t)ITER, sizeof(double));
    bool plugins = mode == NET_MODE_AWSVPC || mode == NET_MODE_BRIDGE;
    for (int i = 0; i < ITER; i++) {
        /* Interleaved, so both see the same load. */
        if (plugins)
            floor_cycle(mode, i, &fa[i], &fd[i]);
        ours(mode, i, &s[i], &t[i]);
    }
    double sm, sp, tm, tp, am, ap, dm, dp;
    stats(s, (size_t)ITER, &sm, &sp);
    stats(t, (size_t)ITER, &tm, &tp);
    if (plugins) {
        stats(fa, (size_t)ITER, &am, &ap);
        stats(fd, (size_t)ITER, &dm, &dp);
        printf("%-7s %8.1f %8.1f %8.1f %8.1f   %8.1f %8.1f %8.1f %8.1f   %+6.1f%% %+6.1f%%\n",
               net_mode_name(mode), sm, sp, tm, tp, am, ap, dm, dp, (sm / am - 1) * 100,
               (tm / dm - 1) * 100);
    } else {
        printf("%-7s %8.1f %8.1f %8.1f %8.1f   %8s %8s %8s %8s   %7s %7s\n", net_mode_name(mode),
               sm, sp, tm, tp, "-", "-", "-", "-", "-", "-");
    }
    fflush(stdout);
    free(s), free(t), free(fa), free(fd);
}

/* ---- 200 awsvpc tasks at once ---- */

struct many {
    int first, step;
    char ips[1024][16];
    int fail;
    bool teardown;
};

static void *many_worker(void *arg)
{
    struct many *m = arg;
    struct net_ctr_req c[] = {{.name = "web"}};
    for (int i = m->first; i < MANY; i += m->step) {
        char id[40];
        task_id(id, 200000 + i);
        struct wh_err err = {0};
        if (m->teardown) {
            if (net_task_teardown(N, id, &err) < 0) {
                fprintf(stderr, "netbench: teardown %d: %s\n", i, err.msg);
                m->fail++;
            }
            continue;
        }
        struct net_task_req req = {.task_id = id, .mode = NET_MODE_AWSVPC, .ctrs = c,
                                   .nctrs = 1};
        struct net_task_net r;
        if (net_task_setup(N, &req, &r, &err) < 0) {
            fprintf(stderr, "netbench: setup %d: %s\n", i, err.msg);
            m->fail++;
            continue;
        }
        snprintf(m->ips[i], 16, "%s", r.ip);
        net_task_net_clear(&r);
    }
    return NULL;
}

static double run_many(struct many *ms, bool teardown)
{
    pthread_t th[64];
    double t0 = time_monotonic();
    for (int k = 0; k < THREADS; k++) {
        ms[k].first = k;
        ms[k].step = THREADS;
        ms[k].teardown = teardown;
        pthread_create(&th[k], NULL, many_worker, &ms[k]);
    }
    for (int k = 0; k < THREADS; k++)
        pthread_join(th[k], NULL);
    return time_monotonic() - t0;
}

static void census_line(const char *when)
{
    struct net_census c;
    struct wh_err err = {0};
    if (net_census(N, &c, &err) < 0)
        die("census", &err);
    printf("  %-22s records %4zu  netns %4zu  veths %4zu  leases %4zu  iptables rules %4zu\n",
           when, c.tasks, c.netns, c.veths, c.leases, c.rules);
}

static void many_tasks(void)
{
    struct many *ms = xcalloc((size_t)THREADS, sizeof(*ms));
    printf("\n%d awsvpc tasks on one host (%d at a time):\n", MANY, THREADS);
    census_line("before");
    double up = run_many(ms, false);
    int fail = 0, dup = 0;
    for (int k = 0; k < THREADS; k++)
        fail += ms[k].fail;
    /* Every address once. */
    for (int i = 0; i < MANY; i++)
        for (int j = i + 1; j < MANY; j++) {
            const char *a = ms[i % THREADS].ips[i], *b = ms[j % THREADS].ips[j];
            dup += a[0] && strcmp(a, b) == 0;
        }
    census_line("all set up");
    for (int k = 0; k < THREADS; k++)
        ms[k].fail = 0;
    double down = run_many(ms, true);
    for (int k = 0; k < THREADS; k++)
        fail += ms[k].fail;
    census_line("all torn down");
    printf("  set up in %.1f s (%.0f ms per task), torn down in %.1f s; failures %d, duplicate "
           "addresses %d\n", up, up * 1000 / MANY, down, fail, dup);
    free(ms);
}

static void cleanup(void)
{
    if (N) {
        net_gc(N, NULL, 0, NULL, NULL);
        net_close(N);
    }
    for (int k = 0; k < 2; k++) {
        cleanup_free char *cmd = xasprintf("ip link del %s 2>/dev/null", BR[k]);
        if (system(cmd) < 0)
            break;
    }
    cleanup_free char *rm = xasprintf("rm -rf %s", DIR_);
    if (system(rm) < 0)
        return;
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--iterations") == 0)
            ITER = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--tasks") == 0)
            MANY = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0)
            THREADS = atoi(argv[i + 1]);
    }
    if (ITER < 1 || MANY < 0 || MANY > 250 || THREADS < 1 || THREADS > 64) {
        fprintf(stderr, "usage: netbench [--iterations N>=1] [--tasks 0..250] [--threads 1..64]\n");
        return 2;
    }
    log_set_level(LOG_WARN);
    snprintf(DIR_, sizeof(DIR_), "/tmp/wharf-netbench-XXXXXX");
    if (!mkdtemp(DIR_))
        return 1;
    RUN = xasprintf("%s/netns", DIR_);
    int k = (int)(getpid() % 20);
    char sub[2][24];
    for (int j = 0; j < 2; j++) {
        snprintf(BR[j], sizeof(BR[j]), "whbench%d%c", k, "ab"[j]);
        snprintf(sub[j], sizeof(sub[j]), "10.212.%d.0/24", 200 + 2 * k + j);
        net_subnet_parse(sub[j], "subnet", &SUB[j], NULL);
    }
    CFG = (struct net_config){.data_dir = DIR_, .run_dir = RUN, .awsvpc_subnet = sub[0],
                              .bridge_subnet = sub[1], .awsvpc_bridge = BR[0],
                              .bridge_bridge = BR[1]};
    struct wh_err err = {0};
    if (net_open(&CFG, &N, &err) < 0 || cni_init(&CNI, NULL, 0, NULL, &err) < 0)
        die("open", &err);
    atexit(cleanup);
    /* Warm up: the bridges exist before anything is measured. */
    double w1, w2;
    ours(NET_MODE_AWSVPC, 999990, &w1, &w2);
    ours(NET_MODE_BRIDGE, 999991, &w1, &w2);
    printf("task network setup / teardown, ms over %d runs each (ours: src/agent/net; floor: "
           "the bare CNI plugin chain, same configuration, interleaved)\n", ITER);
    printf("%-7s %8s %8s %8s %8s   %8s %8s %8s %8s   %7s %7s\n", "mode", "setup", "p99",
           "teardown", "p99", "ADD", "p99", "DEL", "p99", "setup", "teardn");
    printf("%-7s %8s %8s %8s %8s   %8s %8s %8s %8s   %7s %7s\n", "", "median", "", "median", "",
           "median", "", "median", "", "over", "over");
    const enum net_mode modes[] = {NET_MODE_AWSVPC, NET_MODE_BRIDGE, NET_MODE_HOST,
                                   NET_MODE_NONE};
    for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
        mode_row(modes[i]);
    if (MANY)
        many_tasks();
    cni_free(&CNI);
    return 0;
}
