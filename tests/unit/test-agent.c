/* src/agent: the agent's pure parts: task records, what to report, dependsOn, health-check
 * rules, registration documents, small parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "agent/agent.h"
#include "agent/deps.h"
#include "agent/health.h"
#include "agent/poll.h"
#include "agent/report.h"
#include "agent/state.h"
#include "agent/task_runner.h"
#include "agent/task_setup.h"
#include "core/json.h"
#include "core/xalloc.h"

#define TASK_ARN "arn:aws:ecs:us-east-1:000000000000:task/web/0123456789abcdef0123456789abcdef"

/* A desired-task entry with containers given as a JSON array text. */
static struct task_rec *rec_of(const char *containers)
{
    json_error_t je;
    json_t *defs = json_loads(containers, 0, &je);
    assert_non_null(defs);
    json_t *entry = json_pack("{s:s,s:s,s:{s:o}}", "taskArn", TASK_ARN, "desiredStatus",
                              "RUNNING", "taskDefinition", "containerDefinitions", defs);
    struct task_rec *t = NULL;
    struct wh_err err = {0};
    assert_int_equal(task_rec_new(entry, "default", &t, &err), 0);
    json_decref(entry);
    return t;
}

static void test_rec_new_and_roundtrip(void **state)
{
    (void)state;
    struct task_rec *t = rec_of("[{\"name\":\"a\"},{\"name\":\"b\",\"healthCheck\":"
                                "{\"command\":[\"CMD\",\"true\"]}}]");
    assert_string_equal(t->id, "0123456789abcdef0123456789abcdef");
    assert_string_equal(t->cluster, "web"); /* from the ARN, not the default */
    assert_int_equal(t->n, 2);
    assert_int_equal(t->c[0].health, HEALTH_NONE);
    assert_int_equal(t->c[1].health, HEALTH_UNKNOWN);
    t->phase = TASK_RUNNING;
    t->rep_phase = TASK_PENDING;
    t->pull_started_at = 1700000000.5;
    t->stop_code = xstrdup("EssentialContainerExited");
    t->c[0].phase = CTR_STOPPED;
    t->c[0].has_exit = true;
    t->c[0].exit_code = 137;
    t->c[0].reason = xstrdup("OutOfMemoryError: Container killed due to memory usage");
    t->c[0].runtime_id = xstrdup("x-a");
    t->c[0].stop_signal = 3;
    t->c[1].health = HEALTH_HEALTHY;
    t->c[1].rep_reason = true;
    json_t *j = task_rec_to_json(t);
    struct task_rec *u = NULL;
    struct wh_err err = {0};
    assert_int_equal(task_rec_from_json(j, &u, &err), 0);
    json_t *k = task_rec_to_json(u);
    assert_true(json_equal(j, k));
    assert_int_equal(u->c[0].exit_code, 137);
    assert_int_equal(u->c[0].stop_signal, 3);
    assert_int_equal(u->c[1].health, HEALTH_HEALTHY);
    assert_int_equal(u->rep_phase, TASK_PENDING);
    json_decref(j);
    json_decref(k);
    task_rec_free(t);
    task_rec_free(u);
}

static void test_rec_new_errors(void **state)
{
    (void)state;
    struct wh_err err = {0};
    struct task_rec *t = NULL;
    json_t *e = json_pack("{s:s}", "desiredStatus", "RUNNING");
    assert_int_equal(task_rec_new(e, "d", &t, &err), -1);
    json_decref(e);
    e = json_pack("{s:s,s:{s:[]}}", "taskArn", TASK_ARN, "taskDefinition",
                  "containerDefinitions");
    assert_int_equal(task_rec_new(e, "d", &t, &err), -1);
    assert_non_null(strstr(err.msg, "containerDefinitions"));
    json_decref(e);
}

/* ---- reports ---------------------------------------------------------------------------- */

static void test_report_sequence(void **state)
{
    (void)state;
    struct task_rec *t = rec_of("[{\"name\":\"a\"},{\"name\":\"b\",\"essential\":false}]");
    const char *target;
    json_t *req;
    struct report_snap s;
    assert_int_equal(report_next(t, &target, &req, &s), 0); /* nothing happened yet */

    t->phase = TASK_PENDING;
    t->pull_started_at = 10;
    assert_int_equal(report_next(t, &target, &req, &s), 1);
    assert_string_equal(target, "AmazonEC2ContainerServiceV20141113.SubmitTaskStateChange");
    assert_string_equal(json_str(req, "status"), "PENDING");
    assert_string_equal(json_str(req, "task"), TASK_ARN);
    assert_int_equal(json_array_size(json_object_get(req, "containers")), 2);
    json_decref(req);
    /* a change made while the report was in flight is not marked as reported */
    t->c[0].phase = CTR_RUNNING;
    t->c[0].runtime_id = xstrdup("id-a");
    report_acked(t, &s);
    report_snap_free(&s);
    assert_int_equal(t->rep_phase, TASK_PENDING);
    assert_int_equal(t->c[0].rep_phase, CTR_NONE);
    /* the container change goes alone while the task's status stays */
    assert_int_equal(report_next(t, &target, &req, &s), 1);
    assert_string_equal(target, "AmazonEC2ContainerServiceV20141113.SubmitContainerStateChange");
    assert_string_equal(json_str(req, "containerName"), "a");
    assert_string_equal(json_str(req, "status"), "RUNNING");
    assert_string_equal(json_str(req, "runtimeId"), "id-a");
    json_decref(req);
    report_acked(t, &s);
    report_snap_free(&s);
    assert_int_equal(report_next(t, &target, &req, &s), 0);

    /* the task moves: one task-level report carries every container */
    t->phase = TASK_STOPPED;
    t->stop_code = xstrdup("EssentialContainerExited");
    t->stopped_reason = xstrdup("Essential container in task exited");
    t->c[0].phase = t->c[1].phase = CTR_STOPPED;
    t->c[0].has_exit = true;
    t->c[0].exit_code = 3;
    t->execution_stopped_at = 20;
    assert_int_equal(report_next(t, &target, &req, &s), 1);
    assert_string_equal(json_str(req, "status"), "STOPPED");
    assert_string_equal(json_str(req, "stopCode"), "EssentialContainerExited");
    assert_string_equal(json_str(req, "reason"), "Essential container in task exited");
    json_t *c0 = json_array_get(json_object_get(req, "containers"), 0);
    assert_int_equal(json_int(c0, "exitCode", -1), 3);
    assert_null(json_object_get(json_array_get(json_object_get(req, "containers"), 1),
                                "exitCode"));
    json_decref(req);
    report_acked(t, &s);
    report_snap_free(&s);
    assert_int_equal(report_next(t, &target, &req, &s), 0);
    task_rec_free(t);
}

static void test_report_health_and_reason(void **state)
{
    (void)state;
    struct task_rec *t = rec_of("[{\"name\":\"a\",\"healthCheck\":{\"command\":[\"CMD\",\"x\"]}}]");
    t->phase = t->rep_phase = TASK_RUNNING;
    t->c[0].phase = t->c[0].rep_phase = CTR_RUNNING;
    const char *target;
    json_t *req;
    struct report_snap s;
    assert_int_equal(report_next(t, &target, &req, &s), 0);
    t->c[0].health = HEALTH_UNHEALTHY;
    assert_int_equal(report_next(t, &target, &req, &s), 1);
    assert_string_equal(json_str(req, "healthStatus"), "UNHEALTHY");
    assert_string_equal(json_str(req, "taskHealthStatus"), "UNHEALTHY");
    json_decref(req);
    report_acked(t, &s);
    report_snap_free(&s);
    t->c[0].reason = xstrdup("why");
    assert_int_equal(report_next(t, &target, &req, &s), 1);
    assert_string_equal(json_str(req, "reason"), "why");
    json_decref(req);
    report_acked(t, &s);
    report_snap_free(&s);
    assert_int_equal(report_next(t, &target, &req, &s), 0);
    task_rec_free(t);
}

/* ---- dependsOn ---------------------------------------------------------------------------- */

static void test_deps_table(void **state)
{
    (void)state;
    static const char *defs =
        "[{\"name\":\"d\",\"essential\":false,\"healthCheck\":{\"command\":[\"CMD\",\"x\"]}},"
        "{\"name\":\"c\",\"dependsOn\":[{\"containerName\":\"d\",\"condition\":\"%s\"}]}]";
    static const struct {
        const char *cond;
        enum ctr_phase phase;
        bool started, has_exit;
        int code;
        enum ctr_health health;
        enum dep_verdict want;
    } cases[] = {
        {"START", CTR_CREATED, false, false, 0, HEALTH_UNKNOWN, DEP_WAIT},
        {"START", CTR_RUNNING, true, false, 0, HEALTH_UNKNOWN, DEP_READY},
        {"START", CTR_STOPPED, true, true, 1, HEALTH_UNKNOWN, DEP_READY},
        {"START", CTR_STOPPED, false, false, 0, HEALTH_UNKNOWN, DEP_NEVER},
        {"COMPLETE", CTR_RUNNING, true, false, 0, HEALTH_UNKNOWN, DEP_WAIT},
        {"COMPLETE", CTR_STOPPED, true, true, 1, HEALTH_UNKNOWN, DEP_READY},
        {"SUCCESS", CTR_RUNNING, true, false, 0, HEALTH_UNKNOWN, DEP_WAIT},
        {"SUCCESS", CTR_STOPPED, true, true, 0, HEALTH_UNKNOWN, DEP_READY},
        {"SUCCESS", CTR_STOPPED, true, true, 2, HEALTH_UNKNOWN, DEP_NEVER},
        {"HEALTHY", CTR_RUNNING, true, false, 0, HEALTH_UNKNOWN, DEP_WAIT},
        {"HEALTHY", CTR_RUNNING, true, false, 0, HEALTH_HEALTHY, DEP_READY},
        {"HEALTHY", CTR_RUNNING, true, false, 0, HEALTH_UNHEALTHY, DEP_NEVER},
        {"HEALTHY", CTR_STOPPED, true, true, 0, HEALTH_UNKNOWN, DEP_NEVER},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char buf[512];
        snprintf(buf, sizeof(buf), defs, cases[i].cond);
        struct task_rec *t = rec_of(buf);
        struct ctr_rec *d = &t->c[0];
        d->phase = cases[i].phase;
        d->started_at = cases[i].started ? 5 : 0;
        d->has_exit = cases[i].has_exit;
        d->exit_code = cases[i].code;
        d->health = cases[i].health;
        char *why = NULL;
        enum dep_verdict v = deps_check(t, 1, &why);
        if (v != cases[i].want)
            fail_msg("case %zu (%s): got %d, want %d (%s)", i, cases[i].cond, v, cases[i].want,
                     why ? why : "");
        assert_true((v == DEP_NEVER) == (why != NULL));
        free(why);
        assert_int_equal(deps_check(t, 0, &why), DEP_READY); /* no dependencies */
        task_rec_free(t);
    }
}

static void test_deps_unknown_and_essentials(void **state)
{
    (void)state;
    struct task_rec *t = rec_of("[{\"name\":\"a\",\"dependsOn\":[{\"containerName\":\"zz\","
                                "\"condition\":\"START\"}]},{\"name\":\"b\",\"essential\":false}]");
    char *why = NULL;
    assert_int_equal(deps_check(t, 0, &why), DEP_NEVER);
    assert_non_null(strstr(why, "'zz'"));
    free(why);
    assert_false(deps_essentials_started(t));
    t->c[0].started_at = 1;
    assert_true(deps_essentials_started(t)); /* b is not essential */
    task_rec_free(t);
}

/* ---- health checks ------------------------------------------------------------------------ */

static void test_health_cfg(void **state)
{
    (void)state;
    struct health_cfg c;
    struct wh_err err = {0};
    json_t *hc = json_loads("{\"command\":[\"CMD-SHELL\",\"curl -f\",\"http://x/\"],"
                            "\"interval\":7,\"retries\":2}", 0, NULL);
    assert_int_equal(health_cfg_parse(hc, &c, &err), 0);
    assert_string_equal(c.argv[0], "/bin/sh");
    assert_string_equal(c.argv[1], "-c");
    assert_string_equal(c.argv[2], "curl -f http://x/");
    assert_null(c.argv[3]);
    assert_int_equal(c.interval_s, 7);
    assert_int_equal(c.timeout_s, 5);
    assert_int_equal(c.retries, 2);
    assert_int_equal(c.start_period_s, 0);
    health_cfg_free(&c);
    json_decref(hc);
    hc = json_loads("{\"command\":[\"CMD\",\"/bin/check\",\"-v\"]}", 0, NULL);
    assert_int_equal(health_cfg_parse(hc, &c, &err), 0);
    assert_string_equal(c.argv[0], "/bin/check");
    assert_string_equal(c.argv[1], "-v");
    assert_null(c.argv[2]);
    assert_int_equal(c.interval_s, 30);
    assert_int_equal(c.retries, 3);
    health_cfg_free(&c);
    json_decref(hc);
    hc = json_loads("{\"command\":[\"echo\",\"x\"]}", 0, NULL);
    assert_int_equal(health_cfg_parse(hc, &c, &err), -1);
    assert_non_null(strstr(err.msg, "healthCheck.command"));
    json_decref(hc);
}

static void test_health_step(void **state)
{
    (void)state;
    int f = 0;
    enum ctr_health h = HEALTH_UNKNOWN;
    h = health_step(h, false, true, 1, &f); /* start period: not counted */
    assert_int_equal(h, HEALTH_UNKNOWN);
    assert_int_equal(f, 0);
    h = health_step(h, true, true, 1, &f); /* a success counts even then */
    assert_int_equal(h, HEALTH_HEALTHY);
    h = health_step(h, false, false, 3, &f);
    h = health_step(h, false, false, 3, &f);
    assert_int_equal(h, HEALTH_HEALTHY);
    h = health_step(h, false, false, 3, &f);
    assert_int_equal(h, HEALTH_UNHEALTHY);
    h = health_step(h, true, false, 3, &f);
    assert_int_equal(h, HEALTH_HEALTHY);
    assert_int_equal(f, 0);
}

/* ---- registration ------------------------------------------------------------------------- */

static const json_t *find_named(const json_t *arr, const char *name)
{
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v) {
        if (strcmp(json_str(v, "name"), name) == 0)
            return v;
    }
    return NULL;
}

static void test_register_documents(void **state)
{
    (void)state;
    struct agent_host h = {.cpus = 4, .memory_mib = 8000, .arch = "arm64"};
    struct agent_attr attrs[] = {{"stack", "prod"}, {"ecs.os-type", "override"}};
    struct agent_config c = {.cluster = "web", .region = "eu-west-1", .az = NULL,
                             .capacity = AGENT_CAPACITY_FARGATE, .memory_reserve_mib = 500,
                             .attrs = attrs, .n_attrs = 2};
    json_t *req = agent_register_request(&c, &h, NULL, "i-0123456789abcdef0");
    const json_t *res = json_object_get(req, "totalResources");
    assert_int_equal(json_int(find_named(res, "CPU"), "integerValue", 0), 4096);
    assert_int_equal(json_int(find_named(res, "MEMORY"), "integerValue", 0), 7500);
    const json_t *ports = json_object_get(find_named(res, "PORTS"), "stringSetValue");
    assert_int_equal(json_array_size(ports), 5);
    assert_string_equal(json_string_value(json_array_get(ports, 3)), "51678");
    assert_int_equal(json_array_size(json_object_get(find_named(res, "PORTS_UDP"),
                                                     "stringSetValue")), 0);
    const json_t *at = json_object_get(req, "attributes");
    assert_string_equal(json_str(find_named(at, "ecs.cpu-architecture"), "value"), "arm64");
    assert_string_equal(json_str(find_named(at, "ecs.availability-zone"), "value"), "eu-west-1a");
    assert_string_equal(json_str(find_named(at, "wharf.capacity"), "value"), "FARGATE");
    assert_string_equal(json_str(find_named(at, "stack"), "value"), "prod");
    assert_string_equal(json_str(find_named(at, "ecs.os-type"), "value"), "override");
    assert_non_null(find_named(at, "ecs.capability.container-health-check"));
    assert_non_null(find_named(at, "ecs.capability.task-eni")); /* awsvpc: src/agent/net/ */
    assert_null(json_object_get(req, "containerInstanceArn"));
    json_t *doc = json_loads(json_str(req, "instanceIdentityDocument"), 0, NULL);
    assert_string_equal(json_str(doc, "instanceId"), "i-0123456789abcdef0");
    json_decref(doc);
    json_decref(req);
    h.memory_mib = 100; /* a reserve larger than the host leaves 0, not a negative */
    res = agent_resources_json(&h, 500);
    assert_int_equal(json_int(find_named(res, "MEMORY"), "integerValue", -1), 0);
    json_decref((json_t *)res);
    char id[20];
    agent_new_instance_id(id);
    assert_int_equal(strlen(id), 19);
    assert_memory_equal(id, "i-", 2);
    struct agent_attr a;
    assert_int_equal(agent_attr_parse("k=v=w", &a), 0);
    assert_string_equal(a.name, "k");
    assert_string_equal(a.value, "v=w");
    free(a.name);
    free(a.value);
    assert_int_equal(agent_attr_parse("=v", &a), -1);
    assert_int_equal(agent_attr_parse("novalue", &a), -1);
}

/* ---- small parsers ------------------------------------------------------------------------ */

static void test_parsers(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int want;
    } cpu[] = {{"256", 256}, {"0.25 vCPU", 256}, {"1 vCPU", 1024}, {"2vcpu", 2048}, {"", 0},
               {"x", 0}, {NULL, 0}},
      mem[] = {{"512", 512}, {"1 GB", 1024}, {"0.5GB", 512}, {"2 gb", 2048}, {"-1", 0},
               {NULL, 0}};
    for (size_t i = 0; i < ARRAY_SIZE(cpu); i++)
        if (setup_parse_cpu(cpu[i].in) != cpu[i].want)
            fail_msg("cpu '%s': got %d, want %d", cpu[i].in ? cpu[i].in : "(null)",
                     setup_parse_cpu(cpu[i].in), cpu[i].want);
    for (size_t i = 0; i < ARRAY_SIZE(mem); i++)
        if (setup_parse_memory(mem[i].in) != mem[i].want)
            fail_msg("memory '%s': got %d, want %d", mem[i].in ? mem[i].in : "(null)",
                     setup_parse_memory(mem[i].in), mem[i].want);
    char *id = task_runtime_id("abc", "web");
    assert_string_equal(id, "abc-web");
    free(id);
    char name[200];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = 0;
    id = task_runtime_id("0123456789abcdef0123456789abcdef", name);
    assert_true(strlen(id) <= 128);
    assert_memory_equal(id, "0123456789abcdef0123456789abcdef-", 33);
    free(id);
    assert_true(poll_backoff(1) == 1 && poll_backoff(2) == 2 && poll_backoff(3) == 4);
    assert_true(poll_backoff(6) == 30 && poll_backoff(100) == 30);
    /* poll_pause: a quick answer with nothing new waits out the interval; a changed one
     * (tasks to start, however many in a row) and a parked one never wait. */
    static const struct {
        double took;
        bool changed;
        double want;
    } seq[] = {{0.25, false, 0.75}, {0.1, true, 0}, {20, false, 0}, {0, false, 1}, {20, true, 0},
               {0, true, 0}, {0.5, false, 0.5}};
    for (size_t i = 0; i < ARRAY_SIZE(seq); i++) {
        double got = poll_pause(seq[i].took, seq[i].changed);
        if (got != seq[i].want)
            fail_msg("poll_pause step %zu (took %.2f, changed %d): got %.2f, want %.2f", i,
                     seq[i].took, seq[i].changed, got, seq[i].want);
    }
    for (int i = 0; i < 1000; i++)
        assert_true(poll_pause(0.001, true) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rec_new_and_roundtrip),
        cmocka_unit_test(test_rec_new_errors),
        cmocka_unit_test(test_report_sequence),
        cmocka_unit_test(test_report_health_and_reason),
        cmocka_unit_test(test_deps_table),
        cmocka_unit_test(test_deps_unknown_and_essentials),
        cmocka_unit_test(test_health_cfg),
        cmocka_unit_test(test_health_step),
        cmocka_unit_test(test_register_documents),
        cmocka_unit_test(test_parsers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
