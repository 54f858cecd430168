/* src/sched: the cluster query language and placement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/xalloc.h"
#include "sched/place.h"
#include "sched/query.h"

static const struct sched_attr attrs_a[] = {
    {"ecs.availability-zone", "us-east-1a"},
    {"ecs.instance-type", "t2.small"},
    {"stack", "prod"},
    {"gpu", NULL},
};
static const struct sched_group groups_a[] = {{"service:web", 1}, {"family:batch", 1}};

static struct sched_instance inst_a(void)
{
    return (struct sched_instance){
        .arn = "arn:aws:ecs:us-east-1:000000000000:container-instance/c/aaa",
        .ec2_instance_id = "i-aaa",
        .agent_version = "1.2.0",
        .registered_at = 1700000000, /* 2023-11-14 */
        .active = true,
        .agent_connected = true,
        .attrs = attrs_a,
        .nattrs = ARRAY_SIZE(attrs_a),
        .remaining_cpu = 2048,
        .remaining_memory = 4096,
        .groups = groups_a,
        .ngroups = 2,
        .running_tasks = 2,
    };
}

static void test_query_eval_table(void **state)
{
    (void)state;
    static const struct {
        const char *expr;
        bool want;
    } cases[] = {
        {"attribute:stack == prod", true},
        {"attribute:stack equals prod", true},
        {"attribute:stack != prod", false},
        {"attribute:stack not_equals dev", true},
        {"attribute:missing == x", false},
        {"attribute:missing != x", true},
        {"attribute:gpu exists", true},
        {"attribute:missing exists", false},
        {"attribute:missing !exists", true},
        {"attribute:missing not_exists", true},
        {"attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", true},
        {"attribute:ecs.availability-zone in ['us-east-1c', \"us-east-1d\"]", false},
        {"attribute:ecs.availability-zone not_in [us-east-1c]", true},
        {"attribute:ecs.availability-zone !in [us-east-1a]", false},
        {"attribute:ecs.instance-type =~ t2.*", true},
        {"attribute:ecs.instance-type matches m5.*", false},
        {"attribute:ecs.instance-type !~ m5.*", true},
        {"attribute:ecs.instance-type == t2.*", true},
        {"runningTasksCount == 2", true},
        {"runningTasksCount > 1", true},
        {"runningTasksCount >= 3", false},
        {"runningTasksCount < 10", true},
        {"runningTasksCount less_than_equal 2", true},
        {"ec2InstanceId in ['i-aaa', 'i-bbb']", true},
        {"agentConnected == true", true},
        {"agentConnected == false", false},
        {"agentVersion == 1.2.0", true},
        {"registeredAt < 2024-01-01", true},
        {"registeredAt > 2023-11-14T00:00:00", true},
        {"registeredAt greater_than 2023-12-01", false},
        {"task:group == service:web", true},
        {"task:group == service:api", false},
        {"not(task:group == service:api)", true},
        {"task:group != service:api", true},
        {"task:group != service:web", false},
        {"task:group exists", true},
        {"attribute:stack == prod and runningTasksCount < 5", true},
        {"attribute:stack == dev && runningTasksCount < 5", false},
        {"attribute:stack == dev or attribute:gpu exists", true},
        {"attribute:stack == dev || attribute:stack == qa", false},
        {"not attribute:stack == dev", true},
        {"!(attribute:stack == prod)", false},
        {"(attribute:stack == dev or attribute:stack == prod) and not (runningTasksCount > 5)", true},
        {"attribute:stack == dev or attribute:stack == prod and runningTasksCount > 5", false},
        /* instance-type-like attributes, as ECS's examples use them */
        {"attribute:ecs.instance-type == t2.small", true},
        {"attribute:ecs.instance-type in [t2.small, t2.medium]", true},
        {"attribute:ecs.instance-type in (t2.micro, m5.large)", false},
        {"attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d",
         false},
        {"attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone != us-east-1d",
         true},
        {"attribute:ecs.instance-type == t2*", true},
        {"attribute:ecs.instance-type not_matches 't[0-9]\\.small'", false},
        {"attribute:ecs.availability-zone == 'us-east-1a'", true},
        {"attribute:ecs.availability-zone =~ 'us-east-1[ab]'", true},
        /* task:group as a set */
        {"task:group in [service:web, service:api]", true},
        {"task:group not_in [service:api]", true},
        {"task:group =~ family:.*", true},
        {"task:group !~ family:.*", false},
        {"task:group !exists", false},
        /* precedence and grouping */
        {"not (attribute:stack == dev) and (agentConnected == true)", true},
        {"not !(attribute:stack == prod)", true},
        {"((attribute:stack == prod))", true},
        {"attribute:stack == prod and (runningTasksCount > 5 or attribute:gpu exists)", true},
        {"registeredAt >= 1700000000", true},
        {"agentVersion >= 1.1.0", true},
    };
    struct sched_instance in = inst_a();
    int failures = 0;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct query *q = NULL;
        struct wh_err err = {0};
        if (query_parse(cases[i].expr, &q, &err) < 0) {
            print_error("'%s' failed to parse: %s\n", cases[i].expr, err.msg);
            failures++;
            continue;
        }
        bool got = query_eval(q, &in);
        if (got != cases[i].want) {
            print_error("'%s': want %d, got %d\n", cases[i].expr, cases[i].want, got);
            failures++;
        }
        query_free(q);
    }
    assert_int_equal(failures, 0);
}

static void test_query_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *expr, *want; /* substring of the message */
    } cases[] = {
        {"", "empty expression"},
        {"attribute:stack", "expected an operator"},
        {"attribute:stack ==", "expected a value at position 19"},
        {"attribute:stack === prod", "expected an operator"},
        {"stack == prod", "unknown subject 'stack'"},
        {"attribute:a == b and", "expected a subject"},
        {"(attribute:a == b", "expected ')'"},
        {"attribute:a == b)", "unexpected text"},
        {"attribute:a in [x, y", "expected ',' or ']'"},
        {"attribute:a == 'open", "unterminated quoted value"},
        {"attribute:a =~ (", "expected a value"},
        {"attribute:a =~ '[a-'", "invalid regular expression"},
        {"attribute:a == b or or attribute:c == d", "unknown subject 'or' at position 21"},
        {"attribute:a == b c", "unexpected text after the expression at position 18"},
        {"nope:x == y", "unknown subject 'nope:x' at position 1"},
        {"attribute: == y", "unknown subject"},
        {"attribute:a in []", "expected a value"},
        {"attribute:a ==== b", "expected an operator"},
        {"()", "expected a subject"},
    };
    int failures = 0;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct query *q = NULL;
        struct wh_err err = {0};
        if (query_parse(cases[i].expr, &q, &err) == 0) {
            print_error("'%s' parsed but should not\n", cases[i].expr);
            query_free(q);
            failures++;
        } else if (!strstr(err.msg, cases[i].want)) {
            print_error("'%s': message '%s' lacks '%s'\n", cases[i].expr, err.msg, cases[i].want);
            failures++;
        } else if (strcmp(err.type, "InvalidParameterException") != 0) {
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* ---- placement ---- */

static uint64_t lcg(void *arg)
{
    uint64_t *s = arg;
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

#define MAXI 64
struct cluster {
    struct sched_instance v[MAXI];
    struct sched_attr attrs[MAXI][1];
    struct sched_group groups[MAXI][1];
    char arns[MAXI][32];
    size_t n;
};

/* Give instance i `count` tasks of group (its only group). */
static void cluster_group(struct cluster *c, size_t i, const char *group, unsigned count)
{
    c->groups[i][0] = (struct sched_group){group, count};
    c->v[i].groups = c->groups[i];
    c->v[i].ngroups = 1;
    c->v[i].running_tasks = count;
}

static void cluster_init(struct cluster *c, size_t n, int64_t cpu, int64_t mem, unsigned zones)
{
    memset(c, 0, sizeof(*c));
    static const char *const az[] = {"az-a", "az-b", "az-c", "az-d"};
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        snprintf(c->arns[i], sizeof(c->arns[i]), "inst-%zu", i);
        c->attrs[i][0] = (struct sched_attr){"ecs.availability-zone", az[i % zones]};
        c->v[i] = (struct sched_instance){.arn = c->arns[i], .active = true, .agent_connected = true,
                                          .attrs = c->attrs[i], .nattrs = 1,
                                          .remaining_cpu = cpu, .remaining_memory = mem};
    }
}

static void test_place_resources_and_reasons(void **state)
{
    (void)state;
    struct cluster c;
    cluster_init(&c, 3, 1024, 1024, 1);
    c.v[0].remaining_cpu = 100;    /* too little CPU */
    c.v[1].remaining_memory = 100; /* too little memory */
    c.v[2].agent_connected = false;
    struct sched_request req = {.cpu = 256, .memory = 256, .count = 1};
    uint64_t seed = 1;
    struct sched_result r;
    assert_int_equal(sched_place(c.v, c.n, &req, lcg, &seed, &r), 0);
    assert_int_equal(r.placed[0], -1);
    assert_int_equal(r.nfailures, 3);
    assert_string_equal(r.failures[0].reason, "RESOURCE:CPU");
    assert_string_equal(r.failures[1].reason, "RESOURCE:MEMORY");
    assert_string_equal(r.failures[2].reason, "AGENT");
    sched_result_free(&r);
}

static void test_place_never_overcommits(void **state)
{
    (void)state;
    /* Property: for many random requests, no instance ends below zero and every placed task
     * fits; tasks fail only when no instance had room. */
    uint64_t seed = 42;
    for (int round = 0; round < 200; round++) {
        struct cluster c;
        size_t n = 1 + lcg(&seed) % 20;
        cluster_init(&c, n, 512 + (int64_t)(lcg(&seed) % 4096), 512 + (int64_t)(lcg(&seed) % 8192), 3);
        struct sched_strategy strat[1];
        strat[0] = (struct sched_strategy){(enum sched_strategy_type)(lcg(&seed) % 3),
                                          lcg(&seed) % 2 ? "cpu" : "memory"};
        if (strat[0].type == SCHED_SPREAD)
            strat[0].field = "attribute:ecs.availability-zone";
        struct sched_request req = {.cpu = 128 * (int64_t)(1 + lcg(&seed) % 8),
                                    .memory = 256 * (int64_t)(1 + lcg(&seed) % 8),
                                    .count = 1 + (unsigned)(lcg(&seed) % 10),
                                    .strategies = strat, .nstrategies = 1};
        struct sched_result r;
        sched_place(c.v, c.n, &req, lcg, &seed, &r);
        bool failed = false;
        for (unsigned t = 0; t < r.nplaced; t++) {
            if (r.placed[t] < 0)
                failed = true;
            else
                assert_false(failed); /* once one fails, later ones cannot succeed */
        }
        for (size_t i = 0; i < c.n; i++) {
            assert_true(c.v[i].remaining_cpu >= 0);
            assert_true(c.v[i].remaining_memory >= 0);
            if (failed) /* nobody had room left for one more */
                assert_true(c.v[i].remaining_cpu < req.cpu || c.v[i].remaining_memory < req.memory);
        }
        sched_result_free(&r);
    }
}

static void test_place_binpack_uses_fewest(void **state)
{
    (void)state;
    struct cluster c;
    cluster_init(&c, 5, 4096, 4096, 1);
    c.v[3].remaining_memory = 2048; /* the fullest: binpack starts here */
    struct sched_strategy s = {SCHED_BINPACK, "memory"};
    struct sched_request req = {.cpu = 0, .memory = 512, .count = 10, .strategies = &s, .nstrategies = 1};
    uint64_t seed = 7;
    struct sched_result r;
    sched_place(c.v, c.n, &req, lcg, &seed, &r);
    /* 2048/512 = 4 tasks on inst 3, then 6 on one other instance: two instances in all. */
    unsigned used[5] = {0};
    for (unsigned t = 0; t < 10; t++) {
        assert_true(r.placed[t] >= 0);
        used[r.placed[t]]++;
    }
    assert_int_equal(used[3], 4);
    int touched = 0;
    for (int i = 0; i < 5; i++)
        touched += used[i] > 0;
    assert_int_equal(touched, 2);
    sched_result_free(&r);
}

static void test_place_spread_even(void **state)
{
    (void)state;
    struct cluster c;
    cluster_init(&c, 6, 100000, 100000, 3);
    struct sched_strategy s[2] = {{SCHED_SPREAD, "attribute:ecs.availability-zone"},
                                  {SCHED_SPREAD, "instanceId"}};
    struct sched_request req = {.cpu = 10, .memory = 10, .count = 10, .strategies = s, .nstrategies = 2};
    uint64_t seed = 3;
    struct sched_result r;
    sched_place(c.v, c.n, &req, lcg, &seed, &r);
    unsigned per_inst[6] = {0}, per_zone[3] = {0};
    for (unsigned t = 0; t < 10; t++) {
        per_inst[r.placed[t]]++;
        per_zone[r.placed[t] % 3]++;
    }
    unsigned zmin = 99, zmax = 0, imin = 99, imax = 0;
    for (int i = 0; i < 3; i++) {
        zmin = per_zone[i] < zmin ? per_zone[i] : zmin;
        zmax = per_zone[i] > zmax ? per_zone[i] : zmax;
    }
    for (int i = 0; i < 6; i++) {
        imin = per_inst[i] < imin ? per_inst[i] : imin;
        imax = per_inst[i] > imax ? per_inst[i] : imax;
    }
    assert_true(zmax - zmin <= 1);
    assert_true(imax - imin <= 1);
    sched_result_free(&r);
}

static void test_place_distinct_and_member_of(void **state)
{
    (void)state;
    struct cluster c;
    cluster_init(&c, 4, 4096, 4096, 2); /* zones a, b, a, b */
    struct query *q = NULL;
    assert_int_equal(query_parse("attribute:ecs.availability-zone == az-b", &q, NULL), 0);
    struct sched_constraint k[2] = {{SCHED_DISTINCT_INSTANCE, NULL}, {SCHED_MEMBER_OF, q}};
    struct sched_request req = {.cpu = 1, .memory = 1, .count = 3, .constraints = k, .nconstraints = 2};
    uint64_t seed = 9;
    struct sched_result r;
    sched_place(c.v, c.n, &req, lcg, &seed, &r);
    /* Two instances in az-b, one task each; the third cannot be placed. */
    assert_true(r.placed[0] == 1 || r.placed[0] == 3);
    assert_true(r.placed[1] == 1 || r.placed[1] == 3);
    assert_true(r.placed[0] != r.placed[1]);
    assert_int_equal(r.placed[2], -1);
    assert_string_equal(r.failures[0].reason, "MemberOf");
    assert_string_equal(r.failures[1].reason, "DistinctInstance");
    sched_result_free(&r);
    query_free(q);
}

static void test_place_ports(void **state)
{
    (void)state;
    struct cluster c;
    cluster_init(&c, 2, 4096, 4096, 1);
    static const uint16_t used0[] = {80};
    c.v[0].used_tcp = used0;
    c.v[0].nused_tcp = 1;
    static const uint16_t want[] = {80};
    struct sched_request req = {.cpu = 1, .memory = 1, .count = 2, .ports_tcp = want, .nports_tcp = 1};
    uint64_t seed = 5;
    struct sched_result r;
    sched_place(c.v, c.n, &req, lcg, &seed, &r);
    assert_int_equal(r.placed[0], 1);
    assert_int_equal(r.placed[1], -1);
    assert_string_equal(r.failures[0].reason, "RESOURCE:PORTS");
    assert_string_equal(r.failures[1].reason, "RESOURCE:PORTS");
    sched_result_free(&r);
}

static void test_strategy_parse(void **state)
{
    (void)state;
    struct sched_strategy s;
    struct wh_err err = {0};
    assert_int_equal(sched_strategy_parse("binpack", "memory", &s, &err), 0);
    assert_int_equal(sched_strategy_parse("spread", "attribute:ecs.availability-zone", &s, &err), 0);
    assert_int_equal(sched_strategy_parse("random", NULL, &s, &err), 0);
    assert_int_equal(sched_strategy_parse("binpack", "disk", &s, &err), -1);
    assert_non_null(strstr(err.msg, "'disk'"));
    assert_int_equal(sched_strategy_parse("spread", "attribute:", &s, &err), -1);
    assert_int_equal(sched_strategy_parse("roundrobin", NULL, &s, &err), -1);
}


/* ---- properties ---- */

static unsigned rnd(uint64_t *seed, unsigned n)
{
    return (unsigned)(lcg(seed) % n);
}

/* Never over-commit: random clusters, random chains of strategies, memberOf and ports, several
 * requests in a row on one snapshot. No instance goes below zero, no instance gets a fixed port
 * twice, and a task fails only when no instance could take it. */
static void test_prop_never_overcommits(void **state)
{
    (void)state;
    uint64_t seed = 4242;
    struct query *zone_a = NULL;
    assert_int_equal(query_parse("attribute:ecs.availability-zone != az-d", &zone_a, NULL), 0);
    static const char *const fields[] = {"cpu", "memory", "attribute:ecs.availability-zone",
                                         "instanceId", "host"};
    for (int round = 0; round < 300; round++) {
        struct cluster c;
        cluster_init(&c, 1 + rnd(&seed, 30), 256 + rnd(&seed, 4096), 256 + rnd(&seed, 8192),
                     1 + rnd(&seed, 4));
        unsigned port_tasks[MAXI] = {0};
        for (int call = 0; call < 4; call++) {
            struct sched_strategy strat[3];
            size_t ns = rnd(&seed, 4);
            for (size_t k = 0; k < ns; k++) {
                unsigned f = rnd(&seed, ARRAY_SIZE(fields));
                enum sched_strategy_type t = f < 2 ? SCHED_BINPACK : SCHED_SPREAD;
                if (rnd(&seed, 5) == 0)
                    t = SCHED_RANDOM;
                strat[k] = (struct sched_strategy){t, t == SCHED_RANDOM ? NULL : fields[f]};
            }
            struct sched_constraint k[1] = {{SCHED_MEMBER_OF, zone_a}};
            static const uint16_t port80[] = {80};
            bool ports = rnd(&seed, 3) == 0;
            struct sched_request req = {.cpu = 64 * (int64_t)(1 + rnd(&seed, 16)),
                                        .memory = 128 * (int64_t)(1 + rnd(&seed, 16)),
                                        .count = 1 + rnd(&seed, 20),
                                        .ports_tcp = ports ? port80 : NULL,
                                        .nports_tcp = ports ? 1 : 0,
                                        .group = "service:p",
                                        .constraints = k, .nconstraints = rnd(&seed, 2),
                                        .strategies = strat, .nstrategies = ns};
            struct sched_result r;
            sched_place(c.v, c.n, &req, lcg, &seed, &r);
            bool failed = false;
            for (unsigned t = 0; t < r.nplaced; t++) {
                if (r.placed[t] < 0) {
                    failed = true;
                    continue;
                }
                assert_false(failed); /* once one fails, later ones cannot succeed */
                if (req.nconstraints)
                    assert_string_not_equal(c.attrs[r.placed[t]][0].value, "az-d");
                if (ports)
                    assert_int_equal(++port_tasks[r.placed[t]], 1);
            }
            for (size_t i = 0; i < c.n; i++) {
                assert_true(c.v[i].remaining_cpu >= 0);
                assert_true(c.v[i].remaining_memory >= 0);
                bool excluded = req.nconstraints && strcmp(c.attrs[i][0].value, "az-d") == 0;
                if (failed && !excluded) /* nobody eligible had room left for one more */
                    assert_true(c.v[i].remaining_cpu < req.cpu ||
                                c.v[i].remaining_memory < req.memory ||
                                (ports && port_tasks[i] > 0));
            }
            if (ports) /* the port stays taken for the next requests */
                for (size_t i = 0; i < c.n; i++)
                    if (port_tasks[i]) {
                        c.v[i].used_tcp = port80;
                        c.v[i].nused_tcp = 1;
                    }
            sched_result_free(&r);
        }
    }
    query_free(zone_a);
}

static unsigned spread_gap(const unsigned *v, size_t n)
{
    unsigned lo = UINT32_MAX, hi = 0;
    for (size_t i = 0; i < n; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    return n ? hi - lo : 0;
}

/* Spread stays within one task of even: over instances (spread instanceId) and over zones
 * (spread zone, then instanceId), starting from random existing tasks of the group, the gap
 * between the fullest and the emptiest never exceeds max(1, the gap there was before). */
static void test_prop_spread_within_one(void **state)
{
    (void)state;
    uint64_t seed = 77;
    for (int round = 0; round < 300; round++) {
        struct cluster c;
        size_t n = 1 + rnd(&seed, 40);
        unsigned zones = 1 + rnd(&seed, 4);
        cluster_init(&c, n, 1 << 20, 1 << 20, zones);
        unsigned per_inst[MAXI] = {0}, per_zone[4] = {0};
        bool preload = rnd(&seed, 2);
        for (size_t i = 0; i < n; i++) {
            unsigned k = preload ? rnd(&seed, 3) : 0;
            cluster_group(&c, i, "service:s", k);
            per_inst[i] = k;
            per_zone[i % zones] += k;
        }
        unsigned gap_inst = spread_gap(per_inst, n), gap_zone = spread_gap(per_zone, zones);
        bool by_zone = rnd(&seed, 2);
        struct sched_strategy s[2] = {{SCHED_SPREAD, "attribute:ecs.availability-zone"},
                                      {SCHED_SPREAD, rnd(&seed, 2) ? "instanceId" : "host"}};
        struct sched_request req = {.cpu = 1, .memory = 1, .count = 1 + rnd(&seed, 120),
                                    .group = "service:s", .strategies = by_zone ? s : s + 1,
                                    .nstrategies = by_zone ? 2 : 1};
        struct sched_result r;
        sched_place(c.v, c.n, &req, lcg, &seed, &r);
        for (unsigned t = 0; t < r.nplaced; t++) {
            assert_true(r.placed[t] >= 0);
            per_inst[r.placed[t]]++;
            per_zone[r.placed[t] % zones]++;
        }
        if (by_zone) {
            unsigned z = zones < n ? zones : (unsigned)n;
            assert_true(spread_gap(per_zone, z) <= (gap_zone > 1 ? gap_zone : 1));
        } else {
            assert_true(spread_gap(per_inst, n) <= (gap_inst > 1 ? gap_inst : 1));
        }
        sched_result_free(&r);
    }
}

/* Binpack leaves the fewest instances used: on identical empty instances it fills one before
 * it opens the next, so count tasks use ceil(count / tasks-per-instance) instances, whichever
 * resource binds and whatever strategies follow it. */
static void test_prop_binpack_fewest(void **state)
{
    (void)state;
    uint64_t seed = 99;
    for (int round = 0; round < 300; round++) {
        struct cluster c;
        size_t n = 1 + rnd(&seed, 30);
        int64_t cap_cpu = 1024 + rnd(&seed, 4096), cap_mem = 1024 + rnd(&seed, 8192);
        cluster_init(&c, n, cap_cpu, cap_mem, 1 + rnd(&seed, 3));
        struct sched_request req = {.cpu = 32 * (int64_t)(1 + rnd(&seed, 32)),
                                    .memory = 64 * (int64_t)(1 + rnd(&seed, 32))};
        int64_t per = cap_cpu / req.cpu < cap_mem / req.memory ? cap_cpu / req.cpu
                                                                : cap_mem / req.memory;
        if (per == 0)
            continue;
        req.count = 1 + rnd(&seed, (unsigned)(per * (int64_t)n));
        struct sched_strategy s[2] = {{SCHED_BINPACK, rnd(&seed, 2) ? "cpu" : "memory"},
                                      {SCHED_SPREAD, "attribute:ecs.availability-zone"}};
        req.strategies = s;
        req.nstrategies = 1 + rnd(&seed, 2);
        struct sched_result r;
        sched_place(c.v, c.n, &req, lcg, &seed, &r);
        bool used[MAXI] = {false};
        size_t nused = 0;
        for (unsigned t = 0; t < r.nplaced; t++) {
            assert_true(r.placed[t] >= 0);
            nused += !used[r.placed[t]];
            used[r.placed[t]] = true;
        }
        assert_int_equal(nused, (size_t)((req.count + per - 1) / per));
        sched_result_free(&r);
    }
}

/* ---- strategies, constraints, reasons ---- */

static void test_place_strategy_chain(void **state)
{
    (void)state;
    struct cluster c;
    cluster_init(&c, 4, 2048, 4096, 2); /* zones a, b, a, b */
    c.v[0].remaining_cpu = 1024;       /* the fullest two: 0 (az-a) and 1 (az-b) */
    c.v[1].remaining_cpu = 1024;
    cluster_group(&c, 2, "service:w", 1); /* az-a already has a task of the group */
    struct sched_strategy s[2] = {{SCHED_BINPACK, "cpu"},
                                  {SCHED_SPREAD, "attribute:ecs.availability-zone"}};
    struct sched_request req = {.cpu = 256, .memory = 1, .count = 1, .group = "service:w",
                                .strategies = s, .nstrategies = 2};
    uint64_t seed = 1;
    struct sched_result r;
    sched_place(c.v, c.n, &req, lcg, &seed, &r);
    assert_int_equal(r.placed[0], 1); /* binpack keeps 0 and 1; spread prefers az-b */
    sched_result_free(&r);
    /* The same strategies the other way round: spread first keeps az-b (1, 3), binpack 1. */
    struct sched_strategy t[2] = {s[1], s[0]};
    req.strategies = t;
    cluster_init(&c, 4, 2048, 4096, 2);
    c.v[1].remaining_cpu = 1024;
    cluster_group(&c, 0, "service:w", 1);
    sched_place(c.v, c.n, &req, lcg, &seed, &r);
    assert_int_equal(r.placed[0], 1);
    sched_result_free(&r);
}

static void test_place_spread_missing_attribute(void **state)
{
    (void)state;
    struct cluster c;
    cluster_init(&c, 3, 4096, 4096, 2);
    c.v[2].nattrs = 0; /* no zone: a bucket of its own */
    struct sched_strategy s = {SCHED_SPREAD, "attribute:ecs.availability-zone"};
    struct sched_request req = {.cpu = 1, .memory = 1, .count = 3, .group = "g",
                                .strategies = &s, .nstrategies = 1};
    uint64_t seed = 11;
    struct sched_result r;
    sched_place(c.v, c.n, &req, lcg, &seed, &r);
    unsigned per[3] = {0};
    for (int t = 0; t < 3; t++)
        per[r.placed[t]]++;
    assert_int_equal(per[0], 1);
    assert_int_equal(per[1], 1);
    assert_int_equal(per[2], 1);
    sched_result_free(&r);
}

static void test_place_task_group_member_of(void **state)
{
    (void)state;
    struct cluster c;
    cluster_init(&c, 3, 4096, 4096, 1);
    cluster_group(&c, 0, "service:web", 1);
    struct query *q = NULL;
    assert_int_equal(query_parse("not(task:group == service:web)", &q, NULL), 0);
    struct sched_constraint k = {SCHED_MEMBER_OF, q};
    /* Tasks of service:web avoid instances that already run one, their own included. */
    struct sched_request req = {.cpu = 1, .memory = 1, .count = 3, .group = "service:web",
                                .constraints = &k, .nconstraints = 1};
    uint64_t seed = 5;
    struct sched_result r;
    sched_place(c.v, c.n, &req, lcg, &seed, &r);
    assert_true(r.placed[0] == 1 || r.placed[0] == 2);
    assert_true(r.placed[1] == 1 || r.placed[1] == 2);
    assert_int_equal(r.placed[2], -1);
    assert_int_equal(r.nfailures, 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(r.failures[i].reason, "MemberOf");
    sched_result_free(&r);
    /* distinctInstance counts the group's existing tasks too. */
    struct sched_constraint d = {SCHED_DISTINCT_INSTANCE, NULL};
    cluster_init(&c, 3, 4096, 4096, 1);
    cluster_group(&c, 1, "service:web", 2);
    req.constraints = &d;
    sched_place(c.v, c.n, &req, lcg, &seed, &r);
    assert_true(r.placed[0] == 0 || r.placed[0] == 2);
    assert_true(r.placed[1] == 0 || r.placed[1] == 2);
    assert_int_equal(r.placed[2], -1);
    assert_string_equal(r.failures[1].reason, "DistinctInstance");
    sched_result_free(&r);
    query_free(q);
}

static void test_place_closest_reason(void **state)
{
    (void)state;
    struct cluster c;
    cluster_init(&c, 4, 1024, 1024, 1);
    c.v[0].agent_connected = false;
    c.v[1].remaining_cpu = 10;
    c.v[2].remaining_memory = 10;
    c.v[3].active = false;
    struct sched_request req = {.cpu = 100, .memory = 100, .count = 1};
    uint64_t seed = 3;
    struct sched_result r;
    sched_place(c.v, c.n, &req, lcg, &seed, &r);
    assert_int_equal(r.placed[0], -1);
    assert_int_equal(r.nfailures, 3); /* the inactive one is left out */
    const struct sched_failure *f = sched_result_closest(&r);
    assert_non_null(f);
    assert_int_equal(f->instance, 2);
    assert_string_equal(sched_reason_phrase(f->reason), "has insufficient memory available");
    assert_string_equal(sched_reason_phrase("RESOURCE:CPU"),
                        "has insufficient CPU units available");
    assert_string_equal(sched_reason_phrase("RESOURCE:PORTS"),
                        "is already using a port required by your task");
    sched_result_free(&r);
    struct sched_result none = {0};
    assert_null(sched_result_closest(&none));
}

static void test_constraint_parse(void **state)
{
    (void)state;
    struct sched_constraint k;
    struct wh_err err = {0};
    assert_int_equal(sched_constraint_parse("distinctInstance", NULL, &k, &err), 0);
    assert_int_equal(k.type, SCHED_DISTINCT_INSTANCE);
    assert_int_equal(sched_constraint_parse("memberOf", "attribute:a == b", &k, &err), 0);
    assert_int_equal(k.type, SCHED_MEMBER_OF);
    query_free(k.expr);
    assert_int_equal(sched_constraint_parse("distinctInstance", "x", &k, &err), -1);
    assert_non_null(strstr(err.msg, "takes no expression"));
    assert_int_equal(sched_constraint_parse("memberOf", "", &k, &err), -1);
    assert_non_null(strstr(err.msg, "needs an expression"));
    assert_int_equal(sched_constraint_parse("sameZone", NULL, &k, &err), -1);
    assert_non_null(strstr(err.msg, "'sameZone'"));
    assert_int_equal(sched_constraint_parse("memberOf", "attribute:a ==", &k, &err), -1);
    assert_non_null(strstr(err.msg, "position 15"));
    assert_string_equal(err.type, "InvalidParameterException");
}

static void test_place_large_request(void **state)
{
    (void)state;
    /* Many tasks in one call over many instances: every task lands, spread stays even. */
    enum { N = 500, COUNT = 5000 };
    struct sched_instance *v = calloc(N, sizeof(*v));
    struct sched_attr *attrs = calloc(N, sizeof(*attrs));
    static const char *const az[] = {"a", "b", "c"};
    for (size_t i = 0; i < N; i++) {
        attrs[i] = (struct sched_attr){"ecs.availability-zone", az[i % 3]};
        v[i] = (struct sched_instance){.arn = "x", .active = true, .agent_connected = true,
                                       .attrs = &attrs[i], .nattrs = 1,
                                       .remaining_cpu = 1 << 20, .remaining_memory = 1 << 20};
    }
    struct sched_strategy s[2] = {{SCHED_SPREAD, "attribute:ecs.availability-zone"},
                                  {SCHED_SPREAD, "instanceId"}};
    struct sched_request req = {.cpu = 1, .memory = 1, .count = COUNT, .group = "g",
                                .strategies = s, .nstrategies = 2};
    uint64_t seed = 8;
    struct sched_result r;
    sched_place(v, N, &req, lcg, &seed, &r);
    /* Zones first (even to one task), then instances within each zone. */
    unsigned *per = calloc(N, sizeof(unsigned)), zone[3] = {0};
    for (unsigned t = 0; t < COUNT; t++) {
        assert_true(r.placed[t] >= 0);
        per[r.placed[t]]++;
        zone[r.placed[t] % 3]++;
    }
    assert_true(spread_gap(zone, 3) <= 1);
    for (size_t z = 0; z < 3; z++) {
        unsigned in_zone[N / 3 + 1], k = 0;
        for (size_t i = z; i < N; i += 3)
            in_zone[k++] = per[i];
        assert_true(spread_gap(in_zone, k) <= 1);
    }
    free(per);
    sched_result_free(&r);
    free(v);
    free(attrs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_eval_table),
        cmocka_unit_test(test_query_parse_errors),
        cmocka_unit_test(test_place_resources_and_reasons),
        cmocka_unit_test(test_place_never_overcommits),
        cmocka_unit_test(test_place_binpack_uses_fewest),
        cmocka_unit_test(test_place_spread_even),
        cmocka_unit_test(test_place_distinct_and_member_of),
        cmocka_unit_test(test_place_ports),
        cmocka_unit_test(test_strategy_parse),
        cmocka_unit_test(test_prop_never_overcommits),
        cmocka_unit_test(test_prop_spread_within_one),
        cmocka_unit_test(test_prop_binpack_fewest),
        cmocka_unit_test(test_place_strategy_chain),
        cmocka_unit_test(test_place_spread_missing_attribute),
        cmocka_unit_test(test_place_task_group_member_of),
        cmocka_unit_test(test_place_closest_reason),
        cmocka_unit_test(test_constraint_parse),
        cmocka_unit_test(test_place_large_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
