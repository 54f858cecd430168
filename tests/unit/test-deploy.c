/* src/sched/deploy: the deployment arithmetic, without a daemon. Tables for single plans, and
 * simulated rollouts (tasks start PENDING and turn RUNNING and healthy one step later) that
 * check the bounds at every step and that each rollout ends steady. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/xalloc.h"
#include "sched/deploy.h"

/* Shorthands: a PENDING, a RUNNING-not-yet-healthy and a healthy task of deployment d. */
#define PEND(d) {.deployment = (d)}
#define RUN(d) {.deployment = (d), .running = true}
#define OK(d) {.deployment = (d), .running = true, .healthy = true, .settled = true}

static unsigned count_why(const struct deploy_plan *p, enum deploy_stop_why why)
{
    unsigned n = 0;
    for (size_t i = 0; i < p->nstops; i++)
        n += p->stops[i].why == why;
    return n;
}

static void test_bounds_and_first_deployment(void **state)
{
    (void)state;
    static const struct {
        unsigned desired, min, max, lower, upper;
    } cases[] = {
        {4, 100, 200, 4, 8}, {4, 50, 200, 2, 8}, {3, 50, 150, 2, 4}, {1, 0, 100, 0, 1},
        {10, 33, 133, 4, 13}, {0, 100, 200, 0, 0}, {5, 100, 100, 5, 5},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct deploy_input in = {.desired = cases[i].desired, .min_healthy_pct = cases[i].min,
                                  .max_pct = cases[i].max, .ndeployments = 1};
        struct deploy_plan p;
        deploy_plan_replica(&in, &p);
        if (p.lower != cases[i].lower || p.upper != cases[i].upper)
            print_error("case %zu: lower %u upper %u, want %u %u\n", i, p.lower, p.upper,
                        cases[i].lower, cases[i].upper);
        assert_int_equal(p.lower, cases[i].lower);
        assert_int_equal(p.upper, cases[i].upper);
        /* A new service starts everything at once (upper >= desired). */
        assert_int_equal(p.start, cases[i].desired);
        assert_int_equal(p.nstops, 0);
        assert_int_equal(p.steady, cases[i].desired == 0);
        deploy_plan_free(&p);
    }
}

static void test_rolling_steps(void **state)
{
    (void)state;
    /* 4 old healthy, min 50 / max 200: start 4 new, stop 2 old at once. */
    struct deploy_task a[] = {OK(1), OK(1), OK(1), OK(1)};
    struct deploy_input in = {.desired = 4, .min_healthy_pct = 50, .max_pct = 200,
                              .tasks = a, .ntasks = 4, .ndeployments = 2};
    struct deploy_plan p;
    deploy_plan_replica(&in, &p);
    assert_int_equal(p.start, 4);
    assert_int_equal(count_why(&p, DEPLOY_STOP_REPLACED), 2);
    assert_false(p.steady);
    deploy_plan_free(&p);
    /* min 100 / max 200: start 4, stop none until the new ones are healthy. */
    in.min_healthy_pct = 100;
    deploy_plan_replica(&in, &p);
    assert_int_equal(p.start, 4);
    assert_int_equal(p.nstops, 0);
    deploy_plan_free(&p);
    /* ... then with 4 new healthy: all old stop. */
    struct deploy_task b[] = {OK(1), OK(1), OK(1), OK(1), OK(0), OK(0), OK(0), RUN(0)};
    in.tasks = b;
    in.ntasks = 8;
    deploy_plan_replica(&in, &p);
    assert_int_equal(p.start, 0);
    assert_int_equal(count_why(&p, DEPLOY_STOP_REPLACED), 3); /* one new is not healthy yet */
    deploy_plan_free(&p);
    /* min 0 / max 100: stop every old one and start all new in the same step. */
    in.tasks = a;
    in.ntasks = 4;
    in.min_healthy_pct = 0;
    in.max_pct = 100;
    deploy_plan_replica(&in, &p);
    assert_int_equal(p.nstops, 4);
    assert_int_equal(p.start, 4);
    deploy_plan_free(&p);
    /* min 100 / max 100 cannot move (ECS's deployments stall the same way). */
    in.min_healthy_pct = 100;
    deploy_plan_replica(&in, &p);
    assert_int_equal(p.nstops, 0);
    assert_int_equal(p.start, 0);
    deploy_plan_free(&p);
}

static void test_old_pending_stop_first(void **state)
{
    (void)state;
    struct deploy_task a[] = {PEND(1), RUN(1), OK(1), OK(1), OK(0), OK(0)};
    struct deploy_input in = {.desired = 4, .min_healthy_pct = 100, .max_pct = 150,
                              .tasks = a, .ntasks = 6, .ndeployments = 2};
    struct deploy_plan p;
    deploy_plan_replica(&in, &p);
    /* healthy = 4 = lower: the old PENDING and the old RUNNING-not-healthy go, healthy stay */
    assert_int_equal(p.nstops, 2);
    assert_int_equal(p.stops[0].task, 0);
    assert_int_equal(p.stops[1].task, 1);
    assert_int_equal(p.start, 2); /* upper 6, alive 4, the PRIMARY lacks 2 */
    deploy_plan_free(&p);
}

static void test_scale_in_and_out(void **state)
{
    (void)state;
    struct deploy_task a[] = {OK(0), OK(0), PEND(0), RUN(0), OK(0)};
    struct deploy_input in = {.desired = 2, .min_healthy_pct = 100, .max_pct = 200,
                              .tasks = a, .ntasks = 5, .ndeployments = 1};
    struct deploy_plan p;
    deploy_plan_replica(&in, &p);
    assert_int_equal(count_why(&p, DEPLOY_STOP_SCALE_IN), 3);
    assert_int_equal(p.stops[0].task, 2); /* PENDING first */
    assert_int_equal(p.stops[1].task, 3); /* then not healthy */
    assert_int_equal(p.start, 0);
    deploy_plan_free(&p);
    in.desired = 7;
    deploy_plan_replica(&in, &p);
    assert_int_equal(p.nstops, 0);
    assert_int_equal(p.start, 2);
    deploy_plan_free(&p);
    in.desired = 0; /* DeleteService: everything goes */
    deploy_plan_replica(&in, &p);
    assert_int_equal(p.nstops, 5);
    deploy_plan_free(&p);
}

static void test_unhealthy_and_draining(void **state)
{
    (void)state;
    struct deploy_task a[] = {OK(0), OK(0), OK(0), {.running = true, .unhealthy = true}};
    struct deploy_input in = {.desired = 4, .min_healthy_pct = 100, .max_pct = 200,
                              .tasks = a, .ntasks = 4, .ndeployments = 1};
    struct deploy_plan p;
    deploy_plan_replica(&in, &p);
    assert_int_equal(count_why(&p, DEPLOY_STOP_UNHEALTHY), 1);
    assert_int_equal(p.start, 1);
    deploy_plan_free(&p);
    /* Draining: replacements start elsewhere first; the drained ones stop within the bound. */
    struct deploy_task d[] = {OK(0), OK(0), {.running = true, .healthy = true, .draining = true},
                              {.running = true, .healthy = true, .draining = true},
                              {.draining = true}};
    in.tasks = d;
    in.ntasks = 5;
    in.desired = 5;
    in.min_healthy_pct = 80; /* lower 4 = healthy: only the PENDING one stops */
    deploy_plan_replica(&in, &p);
    assert_int_equal(count_why(&p, DEPLOY_STOP_DRAINING), 1);
    assert_int_equal(p.stops[0].task, 4);
    assert_int_equal(p.start, 3);
    assert_false(p.steady);
    deploy_plan_free(&p);
    in.min_healthy_pct = 60; /* lower 3: one healthy draining task may stop now */
    deploy_plan_replica(&in, &p);
    assert_int_equal(count_why(&p, DEPLOY_STOP_DRAINING), 2);
    assert_int_equal(p.start, 3);
    deploy_plan_free(&p);
}

static void test_steady(void **state)
{
    (void)state;
    struct deploy_task a[] = {OK(0), OK(0)};
    struct deploy_input in = {.desired = 2, .min_healthy_pct = 100, .max_pct = 200,
                              .tasks = a, .ntasks = 2, .ndeployments = 1};
    struct deploy_plan p;
    deploy_plan_replica(&in, &p);
    assert_true(p.steady);
    deploy_plan_free(&p);
    in.nstopping = 1; /* a task still on its way out */
    deploy_plan_replica(&in, &p);
    assert_false(p.steady);
    deploy_plan_free(&p);
    in.nstopping = 0;
    in.ndeployments = 2; /* an old deployment has tasks left */
    deploy_plan_replica(&in, &p);
    assert_false(p.steady);
    deploy_plan_free(&p);
    struct deploy_task b[] = {OK(0), RUN(0)}; /* not healthy yet */
    in.ndeployments = 1;
    in.tasks = b;
    deploy_plan_replica(&in, &p);
    assert_false(p.steady);
    deploy_plan_free(&p);
    /* healthy but just started: a container that exits at once must not complete a rollout */
    struct deploy_task c[] = {OK(0), {.running = true, .healthy = true}};
    in.tasks = c;
    deploy_plan_replica(&in, &p);
    assert_false(p.steady);
    assert_int_equal(p.nstops + p.start, 0);
    deploy_plan_free(&p);
    in.launch_blocked = true;
    in.ntasks = 0;
    deploy_plan_replica(&in, &p);
    assert_int_equal(p.start, 0);
    deploy_plan_free(&p);
}

/* ---- simulated rollouts ---- */

struct sim_task {
    size_t deployment;
    bool running;
};

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

/* Roll a service of `desired` tasks (all healthy, deployment 1) to deployment 0 and check the
 * bounds after every plan; tasks stop at once, new ones are healthy a step after they start.
 * Returns the number of steps to steady. */
static int simulate(unsigned desired, unsigned min, unsigned max, bool draining_half,
                    uint64_t *seed)
{
    struct sim_task v[512];
    bool drain[512] = {false};
    size_t n = 0;
    for (unsigned i = 0; i < desired; i++) {
        drain[n] = draining_half && i % 2;
        v[n++] = (struct sim_task){1, true};
    }
    unsigned lower = (desired * min + 99) / 100, upper = desired * max / 100;
    for (int step = 0; step < 200; step++) {
        struct deploy_task t[512];
        bool old_left = false;
        for (size_t i = 0; i < n; i++) {
            t[i] = (struct deploy_task){.deployment = v[i].deployment, .running = v[i].running,
                                        .healthy = v[i].running, .settled = v[i].running,
                                        .draining = drain[i],
                                        .created_at = (double)(lcg(seed) % 100)};
            old_left |= v[i].deployment != 0;
        }
        struct deploy_input in = {.desired = desired, .min_healthy_pct = min, .max_pct = max,
                                  .tasks = t, .ntasks = n, .ndeployments = old_left ? 2 : 1};
        struct deploy_plan p;
        deploy_plan_replica(&in, &p);
        unsigned healthy_before = 0;
        for (size_t i = 0; i < n; i++)
            healthy_before += t[i].healthy;
        if (p.steady) {
            deploy_plan_free(&p);
            for (size_t i = 0; i < n; i++)
                assert_true(v[i].deployment == 0 && !drain[i]);
            assert_int_equal(n, desired);
            return step;
        }
        bool gone[512] = {false};
        for (size_t s = 0; s < p.nstops; s++)
            gone[p.stops[s].task] = true;
        size_t k = 0;
        unsigned healthy = 0;
        for (size_t i = 0; i < n; i++)
            if (!gone[i]) {
                healthy += v[i].running;
                drain[k] = drain[i];
                v[k++] = (struct sim_task){v[i].deployment, true}; /* a step later: healthy */
            }
        /* the lower bound holds (or was not met to begin with and nothing healthy stopped) */
        assert_true(healthy >= (healthy_before < lower ? healthy_before : lower));
        for (unsigned s = 0; s < p.start; s++) {
            drain[k] = false;
            v[k++] = (struct sim_task){0, false};
        }
        assert_true(k <= (n > upper ? n : upper)); /* the upper bound holds */
        for (size_t i = 0; i < k; i++)
            if (!v[i].running)
                v[i].running = true;
        n = k;
        deploy_plan_free(&p);
    }
    fail_msg("desired %u min %u max %u: no steady state after 200 steps", desired, min, max);
    return -1;
}

static void test_simulated_rollouts(void **state)
{
    (void)state;
    uint64_t seed = 12345;
    for (int round = 0; round < 500; round++) {
        unsigned desired = 1 + (unsigned)(lcg(&seed) % 40);
        unsigned min = (unsigned)(lcg(&seed) % 101);
        unsigned max = 100 + (unsigned)(lcg(&seed) % 101);
        /* a rollout needs room to move: below the lower bound or above desired */
        if ((desired * min + 99) / 100 >= desired && desired * max / 100 <= desired)
            continue;
        int steps = simulate(desired, min, max, lcg(&seed) % 2, &seed);
        assert_true(steps >= 1);
    }
    /* The example: 4 tasks, min 50 / max 200, converges in a few steps. */
    assert_true(simulate(4, 50, 200, false, &seed) <= 3);
}

/* ---- DAEMON ---- */

static void test_daemon(void **state)
{
    (void)state;
    struct deploy_daemon_instance insts[4] = {{true, false}, {true, false}, {false, false},
                                              {false, true}};
    assert_int_equal(deploy_daemon_desired(insts, 4), 2);
    /* instance 0 runs the PRIMARY's, 2 (not eligible) an old one, 3 (held) one */
    struct deploy_task a[] = {{.deployment = 0, .instance = 0, .running = true, .healthy = true},
                              {.deployment = 1, .instance = 2, .running = true, .healthy = true},
                              {.deployment = 0, .instance = 3, .running = true, .healthy = true}};
    struct deploy_input in = {.desired = 2, .min_healthy_pct = 0, .max_pct = 100, .tasks = a,
                              .ntasks = 3, .ndeployments = 2};
    struct deploy_plan p;
    deploy_plan_daemon(&in, insts, 4, &p);
    assert_int_equal(p.nstart_on, 1);
    assert_int_equal(p.start_on[0], 1);
    assert_int_equal(p.nstops, 1);
    assert_int_equal(p.stops[0].task, 1);
    assert_false(p.steady);
    deploy_plan_free(&p);
    /* A new revision: the old task on each instance goes first (within the lower bound), the
     * new one starts there once it is gone. */
    struct deploy_daemon_instance two[2] = {{true, false}, {true, false}};
    struct deploy_task b[] = {{.deployment = 1, .instance = 0, .running = true, .healthy = true},
                              {.deployment = 1, .instance = 1, .running = true, .healthy = true}};
    in.tasks = b;
    in.ntasks = 2;
    in.min_healthy_pct = 50; /* lower 1: one at a time */
    deploy_plan_daemon(&in, two, 2, &p);
    assert_int_equal(p.nstops, 1);
    assert_int_equal(p.nstart_on, 0);
    deploy_plan_free(&p);
    struct deploy_task c[] = {{.deployment = 1, .instance = 1, .running = true, .healthy = true}};
    in.tasks = c;
    in.ntasks = 1;
    deploy_plan_daemon(&in, two, 2, &p);
    assert_int_equal(p.nstops, 0); /* only one healthy left: it stays */
    assert_int_equal(p.nstart_on, 1);
    assert_int_equal(p.start_on[0], 0);
    deploy_plan_free(&p);
    /* Steady: one healthy PRIMARY task on each eligible instance, nothing elsewhere. */
    struct deploy_task d[] = {
        {.deployment = 0, .instance = 0, .running = true, .healthy = true, .settled = true},
        {.deployment = 0, .instance = 1, .running = true, .healthy = true, .settled = true}};
    in.tasks = d;
    in.ntasks = 2;
    in.ndeployments = 1;
    deploy_plan_daemon(&in, two, 2, &p);
    assert_true(p.steady);
    deploy_plan_free(&p);
    /* Two PRIMARY tasks on one instance: one goes. */
    struct deploy_task e[] = {{.deployment = 0, .instance = 0, .running = true, .healthy = true},
                              {.deployment = 0, .instance = 0, .created_at = 5}};
    in.tasks = e;
    deploy_plan_daemon(&in, two, 2, &p);
    assert_int_equal(count_why(&p, DEPLOY_STOP_SCALE_IN), 1);
    assert_int_equal(p.stops[0].task, 1);
    assert_int_equal(p.nstart_on, 1);
    deploy_plan_free(&p);
}

/* ---- health, circuit breaker, rollout, back-off ---- */

static void test_health_rules(void **state)
{
    (void)state;
    assert_true(deploy_task_healthy(true, "UNKNOWN", false));
    assert_false(deploy_task_healthy(true, "UNKNOWN", true));
    assert_true(deploy_task_healthy(true, "HEALTHY", true));
    assert_false(deploy_task_healthy(false, "HEALTHY", true));
    assert_false(deploy_task_settled(true, 100, 102));
    assert_true(deploy_task_settled(true, 100, 100 + DEPLOY_SETTLE_SECONDS));
    assert_false(deploy_task_settled(false, 100, 1000));
    assert_false(deploy_task_unhealthy(true, "UNHEALTHY", 100, 30, 120)); /* in grace */
    assert_true(deploy_task_unhealthy(true, "UNHEALTHY", 100, 30, 130));
    assert_false(deploy_task_unhealthy(true, "HEALTHY", 100, 0, 130));
    assert_false(deploy_task_unhealthy(false, "UNHEALTHY", 100, 0, 130));
}

static void test_circuit_breaker(void **state)
{
    (void)state;
    static const struct {
        unsigned desired, threshold;
    } cases[] = {{0, 3}, {1, 3}, {4, 3}, {6, 3}, {7, 4}, {10, 5}, {21, 11}, {399, 200},
                 {400, 200}, {10000, 200}};
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        assert_int_equal(deploy_cb_threshold(cases[i].desired), cases[i].threshold);
    assert_int_equal(deploy_rollout(true, 2, 4, false), DEPLOY_CARRY_ON);
    assert_int_equal(deploy_rollout(true, 3, 4, false), DEPLOY_FAILED);
    assert_int_equal(deploy_rollout(false, 300, 4, false), DEPLOY_CARRY_ON);
    assert_int_equal(deploy_rollout(false, 300, 4, true), DEPLOY_COMPLETED);
    assert_int_equal(deploy_rollout(true, 0, 4, true), DEPLOY_COMPLETED);
    assert_true(deploy_launch_delay(0) == 0);
    assert_true(deploy_launch_delay(4) == 1);
    assert_true(deploy_launch_delay(1000) == 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds_and_first_deployment),
        cmocka_unit_test(test_rolling_steps),
        cmocka_unit_test(test_old_pending_stop_first),
        cmocka_unit_test(test_scale_in_and_out),
        cmocka_unit_test(test_unhealthy_and_draining),
        cmocka_unit_test(test_steady),
        cmocka_unit_test(test_simulated_rollouts),
        cmocka_unit_test(test_daemon),
        cmocka_unit_test(test_health_rules),
        cmocka_unit_test(test_circuit_breaker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
