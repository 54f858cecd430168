/* src/sched: the cluster query language and placement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
static const char *const groups_a[] = {"service:web", "family:batch"};

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
        .task_groups = groups_a,
        .ntask_groups = 2,
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
    char arns[MAXI][32];
    size_t n;
};

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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
