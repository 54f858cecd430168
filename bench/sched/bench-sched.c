/* bench-sched: placement throughput and ECS API latency at scale, in process.
 *
 * 1. Placement: the pure sched_place over a snapshot of N container instances (three zones,
 *    two instance types) already holding tasks, placing T tasks in RunTask-sized calls of 10
 *    with spread(attribute:ecs.availability-zone) then binpack(memory) and a memberOf
 *    constraint, the snapshot carried from call to call. Also one call that places 1,000 tasks
 *    at once (a service scaling out). Prints tasks placed per second and the per-call p50/p99.
 *
 * 2. API latency with simulated agents: a store on disk, N container instances written through
 *    the store as registered agents (connected: they "polled" just now), T tasks RUNNING on
 *    them, then the real handlers called in this process (no HTTP, no SigV4): RunTask (count
 *    1, spread over zones), UpdateService (desired count up and down, then the new task
 *    definition of a rollout) with the controller pass that acts on it, and the agents'
 *    SubmitTaskStateChange reporting the service's tasks RUNNING. Prints p50/p99 per call.
 *
 * Sizes: N = 100, 1,000, 5,000 instances and T = 10,000, 150,000 tasks (--quick: N = 100,
 * 1,000 and T = 10,000). Prints figures; asserts nothing about them.
 *
 * Usage: bench-sched [--quick] [--only place|api] [--dir DIR] [--size INSTANCES TASKS] */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aws/api.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "ecs/handlers.h"
#include "ecs/instance_view.h"
#include "ecs/service_controller.h"
#include "sched/place.h"
#include "store/attributes.h"
#include "store/instances.h"
#include "store/store.h"
#include "store/tasks.h"

#define GROUPS 10
#define CALL 10

static const char *const zones[] = {"us-east-1a", "us-east-1b", "us-east-1c"};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(double), cmp_double);
    size_t i = (size_t)ceil(p / 100.0 * (double)n);
    return v[i == 0 ? 0 : i - 1];
}

/* CPU seconds of this thread: the machine is shared, so pure placement is timed in CPU time
 * (wall time is printed beside it). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t lcg(void *arg)
{
    uint64_t *s = arg;
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

/* ---- 1. placement ---- */

struct snapshot {
    struct sched_instance *v;
    struct sched_attr (*attrs)[2];
    struct sched_group (*groups)[GROUPS];
    char (*arns)[96];
    size_t n;
};

static const char *group_names[GROUPS] = {"service:s0", "service:s1", "service:s2", "service:s3",
                                          "service:s4", "service:s5", "service:s6", "service:s7",
                                          "service:s8", "service:s9"};

static void snapshot_init(struct snapshot *s, size_t n, size_t preload)
{
    s->n = n;
    s->v = xcalloc(n, sizeof(*s->v));
    s->attrs = xcalloc(n, sizeof(*s->attrs));
    s->groups = xcalloc(n, sizeof(*s->groups));
    s->arns = xcalloc(n, sizeof(*s->arns));
    for (size_t i = 0; i < n; i++) {
        snprintf(s->arns[i], sizeof(s->arns[i]),
                 "arn:aws:ecs:us-east-1:123456789012:container-instance/b/%016zx", i);
        s->attrs[i][0] = (struct sched_attr){"ecs.availability-zone", zones[i % 3]};
        s->attrs[i][1] = (struct sched_attr){"ecs.instance-type", i % 10 ? "m5.large" : "t3.small"};
        for (int g = 0; g < GROUPS; g++)
            s->groups[i][g] = (struct sched_group){group_names[g], 0};
        s->v[i] = (struct sched_instance){
            .arn = s->arns[i], .active = true, .agent_connected = true, .attrs = s->attrs[i],
            .nattrs = 2, .remaining_cpu = 1 << 24, .remaining_memory = 1 << 24,
            .groups = s->groups[i], .ngroups = GROUPS};
    }
    for (size_t t = 0; t < preload; t++) { /* tasks already there, spread round-robin */
        size_t i = t % n;
        s->groups[i][t % GROUPS].count++;
        s->v[i].running_tasks++;
        s->v[i].remaining_cpu -= 8;
        s->v[i].remaining_memory -= 16;
    }
}

static void snapshot_free(struct snapshot *s)
{
    free(s->v);
    free(s->attrs);
    free(s->groups);
    free(s->arns);
}

static void bench_place(size_t n, size_t tasks)
{
    struct snapshot s;
    snapshot_init(&s, n, tasks);
    struct query *q = NULL;
    query_parse("attribute:ecs.instance-type =~ m5.*", &q, NULL);
    struct sched_constraint k = {SCHED_MEMBER_OF, q};
    struct sched_strategy strat[2] = {{SCHED_SPREAD, "attribute:ecs.availability-zone"},
                                      {SCHED_BINPACK, "memory"}};
    size_t calls = tasks / CALL;
    double *lat = xcalloc(calls, sizeof(double));
    uint64_t seed = 1;
    size_t placed = 0;
    double start = time_monotonic(), cpu_start = cpu_now();
    for (size_t c = 0; c < calls; c++) {
        int g = (int)(c % GROUPS);
        struct sched_request req = {.cpu = 8, .memory = 16, .group = group_names[g],
                                    .constraints = &k, .nconstraints = 1, .strategies = strat,
                                    .nstrategies = 2, .count = CALL};
        struct sched_result r;
        double t0 = cpu_now();
        sched_place(s.v, s.n, &req, lcg, &seed, &r);
        lat[c] = cpu_now() - t0;
        for (unsigned t = 0; t < r.nplaced; t++)
            if (r.placed[t] >= 0) {
                s.groups[r.placed[t]][g].count++;
                placed++;
            }
        sched_result_free(&r);
    }
    double total = time_monotonic() - start, cpu = cpu_now() - cpu_start;
    /* one call of 1,000 tasks: a service scaling out at once */
    struct sched_request big = {.cpu = 8, .memory = 16, .group = "service:big", .constraints = &k,
                                .nconstraints = 1, .strategies = strat, .nstrategies = 2,
                                .count = 1000};
    struct sched_result r;
    double t0 = cpu_now();
    sched_place(s.v, s.n, &big, lcg, &seed, &r);
    double one = cpu_now() - t0;
    sched_result_free(&r);
    printf("place  %5zu inst %6zu tasks  %8.0f tasks/s cpu (%8.0f wall)  call of 10: p50 %6.1f us"
           " p99 %6.1f us  |  1 call of 1000: %6.1f ms (%7.0f tasks/s)\n",
           n, tasks, (double)placed / cpu, (double)placed / total, pct(lat, calls, 50) * 1e6,
           pct(lat, calls, 99) * 1e6, one * 1e3, 1000 / one);
    free(lat);
    query_free(q);
    snapshot_free(&s);
}

/* ---- 2. API latency ---- */

struct world {
    struct store *st;
    struct api_ctx ctx;
    size_t n;
    char **inst;
};

static void ctx_now(struct world *w)
{
    w->ctx.now = time_now();
}

static int call(struct world *w, api_handler_fn fn, json_t *in, json_t **out)
{
    struct wh_err err = {0};
    ctx_now(w);
    json_t *o = NULL;
    int r = fn(&w->ctx, in, &o, &err);
    if (r < 0) {
        fprintf(stderr, "bench-sched: call failed: %s: %s\n", err.type, err.msg);
        exit(1);
    }
    if (out)
        *out = o;
    else
        json_decref(o);
    return r;
}

struct fill {
    struct world *w;
    size_t from, to, ntasks;
    const char *td_arn;
};

static int instances_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct fill *f = arg;
    struct world *w = f->w;
    for (size_t i = f->from; i < f->to; i++) {
        char id[17];
        random_hex(id, 16);
        cleanup_free char *res = xasprintf("container-instance/bench/%s", id);
        w->inst[i] = xasprintf("arn:aws:ecs:us-east-1:123456789012:%s", res);
        char ec2[24];
        snprintf(ec2, sizeof(ec2), "i-%s", id);
        struct store_instance in = {
            .account = "123456789012", .region = "us-east-1",
            .cluster_arn = "arn:aws:ecs:us-east-1:123456789012:cluster/bench",
            .arn = w->inst[i], .ec2_instance_id = ec2, .capacity = "EC2", .status = "ACTIVE",
            .agent_version = "bench", .version_info = "{}", .total_cpu = 1 << 20,
            .total_memory = 1 << 20, .ports_tcp = "[]", .ports_udp = "[]",
            .registered_at = w->ctx.now, .last_poll = w->ctx.now};
        int r = store_instance_put(st, &in, err);
        const char *vals[2] = {zones[i % 3], i % 10 ? "m5.large" : "t3.small"};
        const char *names[2] = {"ecs.availability-zone", "ecs.instance-type"};
        for (int a = 0; r == 0 && a < 2; a++) {
            struct store_attribute at = {(char *)w->inst[i], "container-instance",
                                         (char *)names[a], (char *)vals[a]};
            r = store_attribute_put(st, in.cluster_arn, &at, err);
        }
        if (r < 0)
            return r;
    }
    return 0;
}

static int tasks_tx(struct store *st, void *arg, struct wh_err *err)
{
    struct fill *f = arg;
    for (size_t t = f->from; t < f->to; t++) {
        char id[33];
        random_hex(id, 32);
        cleanup_free char *arn = xasprintf("arn:aws:ecs:us-east-1:123456789012:task/bench/%s", id);
        cleanup_free char *carn = xasprintf("%s-c", arn);
        char group[32];
        snprintf(group, sizeof(group), "family:bulk%zu", t % GROUPS);
        struct store_task_container c = {.name = "app", .container_arn = carn,
                                         .image = "busybox", .last_status = "RUNNING",
                                         .health_status = "UNKNOWN", .essential = true};
        struct store_task task = {
            .account = "123456789012", .region = "us-east-1",
            .cluster_arn = "arn:aws:ecs:us-east-1:123456789012:cluster/bench", .arn = arn,
            .task_definition_arn = (char *)f->td_arn, .family = "bench",
            .container_instance_arn = f->w->inst[t % f->w->n], .launch_type = "EC2",
            .group = group, .last_status = "RUNNING", .desired_status = "RUNNING",
            .cpu_units = 4, .memory_mib = 8, .created_at = f->w->ctx.now,
            .started_at = f->w->ctx.now, .health_status = "UNKNOWN", .version = 1,
            .containers = &c, .ncontainers = 1};
        int r = store_task_insert(st, &task, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static void fill(struct world *w, store_tx_fn fn, size_t total, const char *td_arn)
{
    for (size_t from = 0; from < total; from += 5000) {
        struct fill f = {w, from, from + 5000 < total ? from + 5000 : total, 0, td_arn};
        struct wh_err err = {0};
        if (store_tx(w->st, fn, &f, &err) < 0) {
            fprintf(stderr, "bench-sched: setup failed: %s\n", err.msg);
            exit(1);
        }
    }
}

/* The agents poll: every instance counts as connected again. */
static void agents_alive(struct world *w)
{
    struct wh_err err = {0};
    double now = time_now();
    for (size_t i = 0; i < w->n; i++)
        store_instance_touch(w->st, w->inst[i], now, &err);
}

static double timed(struct world *w, api_handler_fn fn, json_t *in, json_t **out)
{
    double t0 = time_monotonic();
    call(w, fn, in, out);
    return time_monotonic() - t0;
}

/* Simulated agents: report every PROVISIONING task of the service RUNNING. */
static size_t agents_run(struct world *w, const char *service, double *lat, size_t max)
{
    json_auto_t *lin = json_pack("{s:s, s:s, s:s, s:i}", "cluster", "bench", "serviceName",
                                 service, "desiredStatus", "RUNNING", "maxResults", 100);
    json_t *out = NULL;
    call(w, ecs_list_tasks, lin, &out);
    json_auto_t *d = json_pack("{s:s, s:O}", "cluster", "bench", "tasks",
                               json_object_get(out, "taskArns"));
    json_decref(out);
    call(w, ecs_describe_tasks, d, &out);
    size_t n = 0, i;
    json_t *t;
    json_array_foreach(json_object_get(out, "tasks"), i, t) {
        if (strcmp(json_str(t, "lastStatus"), "RUNNING") == 0)
            continue;
        json_auto_t *rep = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}]}", "cluster", "bench",
                                     "task", json_str(t, "taskArn"), "status", "RUNNING",
                                     "containers", "containerName", "app", "status", "RUNNING");
        double l = timed(w, ecs_submit_task_state_change, rep, NULL);
        if (n < max)
            lat[n++] = l;
    }
    json_decref(out);
    return n;
}

static double pass(struct world *w)
{
    double due, t0 = time_monotonic();
    service_controller_pass(w->st, "arn:aws:ecs:us-east-1:123456789012:cluster/bench",
                            time_now(), &due);
    return time_monotonic() - t0;
}

static void bench_api(const char *dir, size_t n, size_t ntasks)
{
    cleanup_free char *path = xasprintf("%s/bench-%zu-%zu.db", dir, n, ntasks);
    unlink(path);
    cleanup_free char *wal = xasprintf("%s-wal", path), *shm = xasprintf("%s-shm", path);
    unlink(wal);
    unlink(shm);
    struct world w = {.n = n, .inst = xcalloc(n, sizeof(char *))};
    struct wh_err err = {0};
    if (store_open(path, &w.st, &err) < 0) {
        fprintf(stderr, "bench-sched: %s\n", err.msg);
        exit(1);
    }
    w.ctx = (struct api_ctx){.st = w.st, .account = "123456789012", .region = "us-east-1",
                             .principal_arn = "arn:aws:iam::123456789012:root",
                             .request_id = "bench"};
    ctx_now(&w);
    json_auto_t *cc = json_pack("{s:s}", "clusterName", "bench");
    call(&w, ecs_create_cluster, cc, NULL);
    json_auto_t *td = json_pack("{s:s, s:[{s:s, s:s, s:i, s:i}]}", "family", "bench",
                                "containerDefinitions", "name", "app", "image", "busybox", "cpu",
                                4, "memory", 8);
    call(&w, ecs_register_task_definition, td, NULL);
    call(&w, ecs_register_task_definition, td, NULL); /* revision 2, for the rollout */
    double t0 = time_monotonic();
    fill(&w, instances_tx, n, NULL);
    fill(&w, tasks_tx, ntasks, "arn:aws:ecs:us-east-1:123456789012:task-definition/bench:1");
    double setup = time_monotonic() - t0;

    enum { RUNS = 100 };
    double run_lat[RUNS], upd_lat[RUNS], pass_lat[RUNS], rep_lat[4 * RUNS];
    agents_alive(&w);
    double snap_lat[RUNS];
    for (int i = 0; i < 20; i++) { /* the placement snapshot RunTask reads */
        struct store_instance_query q = {.cluster_arn = "arn:aws:ecs:us-east-1:123456789012:"
                                                        "cluster/bench",
                                         .capacity = "EC2"};
        struct instance_view *v = NULL;
        size_t nv = 0;
        double c0 = cpu_now();
        instance_views_list(w.st, "123456789012", "us-east-1", &q, &v, &nv, &err);
        snap_lat[i] = cpu_now() - c0;
        instance_views_free(v, nv);
    }
    json_auto_t *rt = json_pack("{s:s, s:s, s:i, s:[{s:s, s:s}]}", "cluster", "bench",
                                "taskDefinition", "bench:1", "count", 1, "placementStrategy",
                                "type", "spread", "field", "attribute:ecs.availability-zone");
    for (int i = 0; i < RUNS; i++) {
        json_t *out = NULL;
        run_lat[i] = timed(&w, ecs_run_task, rt, &out);
        if (json_array_size(json_object_get(out, "failures")) > 0 && i == 0) {
            cleanup_free char *f = json_text(json_array_get(json_object_get(out, "failures"), 0));
            fprintf(stderr, "bench-sched: RunTask placed nothing: %s\n", f);
        }
        json_decref(out);
    }

    agents_alive(&w);
    json_auto_t *cs = json_pack("{s:s, s:s, s:s, s:i}", "cluster", "bench", "serviceName", "svc",
                                "taskDefinition", "bench:1", "desiredCount", 10);
    call(&w, ecs_create_service, cs, NULL);
    pass(&w);
    size_t nrep = agents_run(&w, "svc", rep_lat, 4 * RUNS);
    pass(&w);
    for (int i = 0; i < RUNS; i++) {
        json_auto_t *us = i == RUNS - 1
                              ? json_pack("{s:s, s:s, s:s, s:i}", "cluster", "bench", "service",
                                          "svc", "taskDefinition", "bench:2", "desiredCount", 10)
                              : json_pack("{s:s, s:s, s:i}", "cluster", "bench", "service",
                                          "svc", "desiredCount", 10 + (i % 2));
        upd_lat[i] = timed(&w, ecs_update_service, us, NULL);
        pass_lat[i] = pass(&w); /* starts or stops the task the update asks for */
        nrep += agents_run(&w, "svc", rep_lat + nrep, 4 * RUNS - nrep);
    }
    printf("api    %5zu inst %6zu tasks  setup %5.1f s  snapshot cpu p50 %5.1f ms  "
           "RunTask p50 %6.1f ms p99 %6.1f ms  "
           "UpdateService p50 %5.2f ms p99 %5.2f ms  controller pass p50 %6.1f ms p99 %6.1f ms  "
           "SubmitTaskStateChange p50 %5.2f ms p99 %5.2f ms\n",
           n, ntasks, setup, pct(snap_lat, 20, 50) * 1e3, pct(run_lat, RUNS, 50) * 1e3, pct(run_lat, RUNS, 99) * 1e3,
           pct(upd_lat, RUNS, 50) * 1e3, pct(upd_lat, RUNS, 99) * 1e3,
           pct(pass_lat, RUNS, 50) * 1e3, pct(pass_lat, RUNS, 99) * 1e3,
           pct(rep_lat, nrep, 50) * 1e3, pct(rep_lat, nrep, 99) * 1e3);
    fflush(stdout);
    for (size_t i = 0; i < n; i++)
        free(w.inst[i]);
    free(w.inst);
    store_close(w.st);
    if (getenv("BENCH_SCHED_KEEP"))
        return;
    unlink(path);
    unlink(wal);
    unlink(shm);
}

int main(int argc, char **argv)
{
    bool quick = false;
    const char *only = NULL, *dir = "/tmp";
    size_t one_n = 0, one_t = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--size") == 0 && i + 2 < argc) {
            one_n = strtoul(argv[++i], NULL, 10);
            one_t = strtoul(argv[++i], NULL, 10);
        }
        else {
            fprintf(stderr, "usage: bench-sched [--quick] [--only place|api] [--dir DIR] "
                            "[--size INSTANCES TASKS]\n");
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    log_set_level(LOG_WARN);
    size_t insts[] = {100, 1000, 5000}, tasks[] = {10000, 150000};
    size_t ni = quick ? 2 : 3, nt = quick ? 1 : 2;
    if (one_n) {
        insts[0] = one_n;
        tasks[0] = one_t;
        ni = nt = 1;
    }
    if (!only || strcmp(only, "place") == 0)
        for (size_t t = 0; t < nt; t++)
            for (size_t i = 0; i < ni; i++)
                bench_place(insts[i], tasks[t]);
    if (!only || strcmp(only, "api") == 0)
        for (size_t t = 0; t < nt; t++)
            for (size_t i = 0; i < ni; i++)
                bench_api(dir, insts[i], tasks[t]);
    return 0;
}
