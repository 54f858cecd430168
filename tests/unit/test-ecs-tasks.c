/* src/ecs/task_rules.c, task_merge.c and the attribute rules: status order, launch type
 * resolution, resource arithmetic, health, and the monotonic merge of agent reports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/json.h"
#include "core/xalloc.h"
#include "ecs/attributes.h"
#include "ecs/task_merge.h"
#include "ecs/task_rules.h"
#include "store/tasks.h"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j)
        fail_msg("bad test JSON (%s): %s", e.text, text);
    return j;
}

/* ---- statuses ---- */

static void test_status_order(void **state)
{
    (void)state;
    const char *order[] = {"PROVISIONING", "PENDING",  "ACTIVATING",     "RUNNING",
                           "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"};
    for (size_t i = 0; i < ARRAY_SIZE(order); i++)
        assert_int_equal(task_status_rank(order[i]), (int)i);
    assert_int_equal(task_status_rank("NONE"), -1);
    assert_int_equal(task_status_rank(NULL), -1);
    assert_true(container_status_rank("PENDING") < container_status_rank("RUNNING"));
    assert_true(container_status_rank("RUNNING") < container_status_rank("STOPPED"));
    assert_int_equal(container_status_rank("CREATED"), -1);
    assert_true(task_status_pending("PROVISIONING"));
    assert_true(task_status_pending("ACTIVATING"));
    assert_false(task_status_pending("RUNNING"));
    assert_false(task_status_pending("STOPPED"));
}

/* ---- launch type ---- */

static void test_launch_resolve_table(void **state)
{
    (void)state;
    static const struct {
        const char *launch, *strategy, *dflt, *providers;
        int rc;
        enum task_launch want;
        const char *msg; /* substring of the error */
    } cases[] = {
        {NULL, NULL, NULL, NULL, 0, TASK_LAUNCH_EC2, NULL},
        {"EC2", NULL, NULL, NULL, 0, TASK_LAUNCH_EC2, NULL},
        {"FARGATE", NULL, NULL, NULL, 0, TASK_LAUNCH_FARGATE, NULL},
        {"EXTERNAL", NULL, NULL, NULL, -1, 0, "EXTERNAL"},
        {"EC2", "[{\"capacityProvider\":\"FARGATE\"}]", NULL, "[\"FARGATE\"]", -1, 0,
         "both a launchType"},
        {NULL, "[{\"capacityProvider\":\"FARGATE\",\"weight\":1}]", NULL, "[\"FARGATE\"]", 0,
         TASK_LAUNCH_FARGATE, NULL},
        {NULL, "[{\"capacityProvider\":\"FARGATE_SPOT\",\"weight\":1}]", NULL, "[\"FARGATE\"]",
         -1, 0, "not associated"},
        {NULL, NULL, "[{\"capacityProvider\":\"FARGATE\",\"weight\":1,\"base\":0}]",
         "[\"FARGATE\"]", 0, TASK_LAUNCH_FARGATE, NULL},
        /* launchType wins over the cluster's default strategy */
        {"EC2", NULL, "[{\"capacityProvider\":\"FARGATE\",\"weight\":1,\"base\":0}]",
         "[\"FARGATE\"]", 0, TASK_LAUNCH_EC2, NULL},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_auto_t *s = cases[i].strategy ? J(cases[i].strategy) : NULL;
        json_auto_t *d = cases[i].dflt ? J(cases[i].dflt) : NULL;
        json_auto_t *p = cases[i].providers ? J(cases[i].providers) : NULL;
        struct task_launch_plan plan;
        struct wh_err err = {0};
        int rc = task_launch_resolve(cases[i].launch, s, d, p, &plan, &err);
        if (rc != cases[i].rc)
            fail_msg("case %zu: rc %d, want %d (%s)", i, rc, cases[i].rc, err.msg);
        if (rc == 0 && plan.type != cases[i].want)
            fail_msg("case %zu: launch %d, want %d", i, plan.type, cases[i].want);
        if (rc < 0 && !strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: message '%s' lacks '%s'", i, err.msg, cases[i].msg);
        if (rc < 0)
            assert_string_equal(err.type, "InvalidParameterException");
    }
}

static void test_strategy_provider(void **state)
{
    (void)state;
    json_auto_t *s = J("[{\"capacityProvider\":\"FARGATE\",\"weight\":1,\"base\":2},"
                       " {\"capacityProvider\":\"FARGATE_SPOT\",\"weight\":3}]");
    const char *want[] = {"FARGATE", "FARGATE",      "FARGATE",     "FARGATE_SPOT",
                          "FARGATE_SPOT", "FARGATE_SPOT", "FARGATE", "FARGATE_SPOT"};
    for (unsigned i = 0; i < ARRAY_SIZE(want); i++)
        if (strcmp(task_strategy_provider(s, i), want[i]) != 0)
            fail_msg("task %u: %s, want %s", i, task_strategy_provider(s, i), want[i]);
    json_auto_t *zero = J("[{\"capacityProvider\":\"FARGATE_SPOT\",\"weight\":0}]");
    assert_string_equal(task_strategy_provider(zero, 5), "FARGATE_SPOT");
    assert_null(task_strategy_provider(NULL, 0));
}

/* ---- what a task needs ---- */

static void test_needs_task_level(void **state)
{
    (void)state;
    json_auto_t *body = J("{\"cpu\":\"256\",\"memory\":\"512\",\"networkMode\":\"awsvpc\","
                          "\"compatibilities\":[\"EC2\",\"FARGATE\"],"
                          "\"containerDefinitions\":[{\"name\":\"a\",\"cpu\":0,"
                          "\"portMappings\":[{\"containerPort\":80,\"hostPort\":80}]}]}");
    struct task_needs n;
    struct wh_err err = {0};
    assert_int_equal(task_needs_compute(body, NULL, true, &n, &err), 0);
    assert_int_equal(n.cpu, 256);
    assert_int_equal(n.memory, 512);
    assert_string_equal(n.cpu_text, "256");
    assert_string_equal(n.mem_text, "512");
    assert_int_equal(n.ntcp, 0); /* awsvpc: nothing on the host */
    assert_true(task_def_fargate_ok(body));

    /* overrides win; a Fargate size must stay a Fargate size */
    json_auto_t *o = J("{\"cpu\":\"1024\",\"memory\":\"2048\"}");
    assert_int_equal(task_needs_compute(body, o, true, &n, &err), 0);
    assert_int_equal(n.cpu, 1024);
    assert_int_equal(n.memory, 2048);
    json_auto_t *bad = J("{\"cpu\":\"256\",\"memory\":\"8192\"}");
    assert_int_equal(task_needs_compute(body, bad, true, &n, &err), -1);
    assert_non_null(strstr(err.msg, "No Fargate configuration"));
    /* on EC2 any size goes */
    assert_int_equal(task_needs_compute(body, bad, false, &n, &err), 0);
    assert_int_equal(n.memory, 8192);
}

static void test_needs_container_sum_and_ports(void **state)
{
    (void)state;
    json_auto_t *body = J(
        "{\"compatibilities\":[\"EC2\"],\"containerDefinitions\":["
        "{\"name\":\"web\",\"cpu\":256,\"memory\":300,\"portMappings\":["
        "  {\"containerPort\":80,\"hostPort\":8080,\"protocol\":\"tcp\"},"
        "  {\"containerPort\":53,\"hostPort\":5353,\"protocol\":\"udp\"},"
        "  {\"containerPort\":81,\"hostPort\":0,\"protocol\":\"tcp\"}]},"
        "{\"name\":\"side\",\"cpu\":128,\"memoryReservation\":100}]}");
    struct task_needs n;
    struct wh_err err = {0};
    assert_int_equal(task_needs_compute(body, NULL, false, &n, &err), 0);
    assert_int_equal(n.cpu, 384);
    assert_int_equal(n.memory, 400); /* memory 300 + the reservation where memory is absent */
    assert_string_equal(n.cpu_text, "");
    assert_int_equal(n.ntcp, 1); /* bridge: only fixed host ports, not dynamic (0) */
    assert_int_equal(n.tcp[0], 8080);
    assert_int_equal(n.nudp, 1);
    assert_int_equal(n.udp[0], 5353);
    assert_false(task_def_fargate_ok(body));

    json_auto_t *o = J("{\"containerOverrides\":[{\"name\":\"side\",\"memory\":1000,\"cpu\":0}]}");
    assert_int_equal(task_needs_compute(body, o, false, &n, &err), 0);
    assert_int_equal(n.cpu, 256);
    assert_int_equal(n.memory, 1300);

    json_auto_t *unknown = J("{\"containerOverrides\":[{\"name\":\"nope\"}]}");
    assert_int_equal(task_needs_compute(body, unknown, false, &n, &err), -1);
    assert_string_equal(err.msg,
                        "Override for container named nope is not a container in the "
                        "TaskDefinition.");

    json_auto_t *host = J("{\"networkMode\":\"host\",\"containerDefinitions\":[{\"name\":\"a\","
                          "\"memory\":10,\"portMappings\":[{\"containerPort\":9000}]}]}");
    assert_int_equal(task_needs_compute(host, NULL, false, &n, &err), 0);
    assert_int_equal(n.ntcp, 1);
    assert_int_equal(n.tcp[0], 9000);
}

/* ---- what an instance has left ---- */

static void test_instance_load(void **state)
{
    (void)state;
    struct instance_load l;
    instance_load_init(&l, "[\"22\",\"2376\"]", NULL);
    assert_int_equal(l.ntcp, 2);
    instance_load_add(&l, 256, 512, "[8080]", "[]", "RUNNING");
    instance_load_add(&l, 128, 100, "[8081]", "[53]", "PROVISIONING");
    instance_load_add(&l, 1024, 4096, "[9999]", "[]", "STOPPED"); /* released */
    instance_load_add(&l, 10, 10, "[22]", "[]", "STOPPING");     /* holds, not counted */
    assert_int_equal(l.cpu, 256 + 128 + 10);
    assert_int_equal(l.memory, 512 + 100 + 10);
    assert_int_equal(l.running, 1);
    assert_int_equal(l.pending, 1);
    assert_int_equal(l.ntcp, 4); /* 22, 2376, 8080, 8081: 22 once */
    assert_int_equal(l.nudp, 1);
    for (size_t i = 0; i < l.ntcp; i++)
        assert_int_not_equal(l.tcp[i], 9999);
}

/* ---- health ---- */

static void test_task_health(void **state)
{
    (void)state;
    struct store_task_container c[3] = {
        {.essential = true, .health_check = true, .health_status = (char *)"HEALTHY"},
        {.essential = true, .health_check = false, .health_status = (char *)"UNKNOWN"},
        {.essential = false, .health_check = true, .health_status = (char *)"UNHEALTHY"},
    };
    assert_string_equal(task_health(c, 3), "HEALTHY"); /* non-essential ones do not count */
    c[0].health_status = (char *)"UNKNOWN";
    assert_string_equal(task_health(c, 3), "UNKNOWN");
    c[0].health_status = (char *)"UNHEALTHY";
    assert_string_equal(task_health(c, 3), "UNHEALTHY");
    c[0].health_check = false;
    c[0].health_status = (char *)"UNKNOWN";
    assert_string_equal(task_health(c, 3), "UNKNOWN"); /* no essential health check at all */
}

/* ---- merging the agent's reports ---- */

static void make_task(struct store_task *t)
{
    *t = (struct store_task){
        .arn = xstrdup("arn:aws:ecs:us-east-1:123456789012:task/c/0123"),
        .launch_type = xstrdup("EC2"),
        .last_status = xstrdup("PROVISIONING"),
        .desired_status = xstrdup("RUNNING"),
        .health_status = xstrdup("UNKNOWN"),
        .attachments = xstrdup("[{\"id\":\"x\",\"status\":\"PRECREATED\"}]"),
        .version = 1,
        .ncontainers = 2,
    };
    t->containers = xcalloc(2, sizeof(*t->containers));
    const char *names[] = {"web", "side"};
    for (int i = 0; i < 2; i++)
        t->containers[i] = (struct store_task_container){
            .name = xstrdup(names[i]),
            .last_status = xstrdup("PENDING"),
            .health_status = xstrdup("UNKNOWN"),
            .essential = i == 0,
            .health_check = i == 0,
            .network_bindings = xstrdup("[]"),
        };
}

static void test_merge_monotonic_idempotent(void **state)
{
    (void)state;
    cleanup_task struct store_task t;
    make_task(&t);
    struct wh_err err = {0};
    json_auto_t *pending =
        J("{\"status\":\"PENDING\",\"pullStartedAt\":100.5,\"containers\":[]}");
    assert_int_equal(task_merge_report(&t, pending, 1000, &err), 1);
    assert_string_equal(t.last_status, "PENDING");
    assert_int_equal(t.version, 2);
    assert_true(t.pull_started_at == 100.5);
    /* the same report again changes nothing and does not bump the version */
    assert_int_equal(task_merge_report(&t, pending, 1001, &err), 0);
    assert_int_equal(t.version, 2);

    json_auto_t *running = J(
        "{\"status\":\"RUNNING\",\"pullStoppedAt\":101,\"containers\":["
        "{\"containerName\":\"web\",\"status\":\"RUNNING\",\"runtimeId\":\"r1\","
        "\"imageDigest\":\"sha256:ab\",\"healthStatus\":\"HEALTHY\","
        "\"networkBindings\":[{\"containerPort\":80,\"hostPort\":8080,\"protocol\":\"tcp\"}]}]}");
    assert_int_equal(task_merge_report(&t, running, 1002, &err), 1);
    assert_string_equal(t.last_status, "RUNNING");
    assert_true(t.started_at == 1002);
    assert_string_equal(t.connectivity, "CONNECTED");
    assert_string_equal(t.containers[0].runtime_id, "r1");
    assert_string_equal(t.containers[0].image_digest, "sha256:ab");
    assert_string_equal(t.health_status, "HEALTHY");
    assert_non_null(strstr(t.attachments, "ATTACHED"));
    assert_non_null(strstr(t.containers[0].network_bindings, "8080"));
    int64_t v = t.version;

    /* an old PENDING report after RUNNING moves nothing back */
    assert_int_equal(task_merge_report(&t, pending, 1003, &err), 0);
    assert_string_equal(t.last_status, "RUNNING");
    json_auto_t *old_ctr = J("{\"containerName\":\"web\",\"status\":\"PENDING\","
                             "\"healthStatus\":\"UNHEALTHY\"}");
    assert_int_equal(task_merge_container(&t, old_ctr, "request", &err), 0);
    assert_string_equal(t.containers[0].last_status, "RUNNING");
    assert_string_equal(t.containers[0].health_status, "HEALTHY");
    assert_int_equal(t.version, v);

    /* health going UNHEALTHY on a current report does move the task's health */
    json_auto_t *sick = J("{\"containerName\":\"web\",\"healthStatus\":\"UNHEALTHY\"}");
    assert_int_equal(task_merge_container(&t, sick, "request", &err), 1);
    task_merge_finish(&t, true);
    assert_string_equal(t.health_status, "UNHEALTHY");
    assert_int_equal(t.version, v + 1);
}

static void test_merge_stopped(void **state)
{
    (void)state;
    cleanup_task struct store_task t;
    make_task(&t);
    struct wh_err err = {0};
    json_auto_t *running = J("{\"status\":\"RUNNING\"}");
    assert_int_equal(task_merge_report(&t, running, 10, &err), 1);
    json_auto_t *stopped = J(
        "{\"status\":\"STOPPED\",\"stopCode\":\"EssentialContainerExited\","
        "\"executionStoppedAt\":19.5,\"containers\":[{\"containerName\":\"web\","
        "\"status\":\"STOPPED\",\"exitCode\":137,"
        "\"reason\":\"OutOfMemoryError: Container killed due to memory usage\"}]}");
    assert_int_equal(task_merge_report(&t, stopped, 20, &err), 1);
    assert_string_equal(t.last_status, "STOPPED");
    assert_string_equal(t.desired_status, "STOPPED");
    assert_string_equal(t.stop_code, "EssentialContainerExited");
    assert_string_equal(t.stopped_reason, "Essential container in task exited");
    assert_true(t.stopped_at == 20);
    assert_true(t.execution_stopped_at == 19.5);
    assert_true(t.stopping_at == 20);
    assert_int_equal(t.containers[0].exit_code, 137);
    assert_true(t.containers[0].has_exit_code);
    assert_string_equal(t.containers[1].last_status, "STOPPED"); /* all containers stop */
    assert_non_null(strstr(t.attachments, "DELETED"));
    /* re-sent after an agent restart: nothing changes */
    int64_t v = t.version;
    assert_int_equal(task_merge_report(&t, stopped, 30, &err), 0);
    assert_int_equal(t.version, v);
    assert_true(t.stopped_at == 20);
}

static void test_merge_pull_failure_and_user_stop(void **state)
{
    (void)state;
    cleanup_task struct store_task t;
    make_task(&t);
    struct wh_err err = {0};
    json_auto_t *failed =
        J("{\"status\":\"STOPPED\",\"containers\":[{\"containerName\":\"web\","
          "\"status\":\"STOPPED\",\"reason\":\"CannotPullContainerError: manifest unknown\"}]}");
    assert_int_equal(task_merge_report(&t, failed, 5, &err), 1);
    assert_string_equal(t.stop_code, "TaskFailedToStart");
    assert_string_equal(t.stopped_reason, "CannotPullContainerError: manifest unknown");

    cleanup_task struct store_task u;
    make_task(&u);
    assert_true(task_mark_stopping(&u, "UserInitiated", "Task stopped by user", 7));
    assert_false(task_mark_stopping(&u, "UserInitiated", "again", 8));
    assert_string_equal(u.desired_status, "STOPPED");
    assert_true(u.stopping_at == 7);
    json_auto_t *stopped = J("{\"status\":\"STOPPED\",\"stopCode\":\"EssentialContainerExited\"}");
    assert_int_equal(task_merge_report(&u, stopped, 9, &err), 1);
    assert_string_equal(u.stop_code, "UserInitiated"); /* the first cause stays */
    assert_string_equal(u.stopped_reason, "Task stopped by user");

    cleanup_task struct store_task w;
    make_task(&w);
    task_mark_stopped(&w, 3);
    assert_string_equal(w.last_status, "STOPPED");
    assert_string_equal(w.stop_code, "TaskFailedToStart");
}

static void test_merge_rejects(void **state)
{
    (void)state;
    cleanup_task struct store_task t;
    make_task(&t);
    struct wh_err err = {0};
    json_auto_t *bad_status = J("{\"status\":\"EXPLODED\"}");
    assert_int_equal(task_merge_report(&t, bad_status, 1, &err), -1);
    assert_string_equal(err.type, "InvalidParameterException");
    json_auto_t *bad_ctr = J("{\"containers\":[{\"containerName\":\"db\",\"status\":\"RUNNING\"}]}");
    assert_int_equal(task_merge_report(&t, bad_ctr, 1, &err), -1);
    assert_non_null(strstr(err.msg, "containers[0].containerName 'db'"));
    json_auto_t *bad_code = J("{\"status\":\"STOPPED\",\"stopCode\":\"Oops\"}");
    assert_int_equal(task_merge_report(&t, bad_code, 1, &err), -1);
    assert_int_equal(t.version, 1);
}

/* ---- attributes and references ---- */

static void test_attribute_rules(void **state)
{
    (void)state;
    assert_true(ecs_attribute_name_valid("ecs.capability.docker-remote-api.1.17"));
    assert_true(ecs_attribute_name_valid("stack/tier\\x_y"));
    assert_false(ecs_attribute_name_valid(""));
    assert_false(ecs_attribute_name_valid("has space"));
    assert_false(ecs_attribute_name_valid("colon:no"));
    char longname[130];
    memset(longname, 'a', 129);
    longname[129] = 0;
    assert_false(ecs_attribute_name_valid(longname));
    longname[128] = 0;
    assert_true(ecs_attribute_name_valid(longname));
    assert_true(ecs_attribute_value_valid("us-east-1a"));
    assert_true(ecs_attribute_value_valid("a b:c@d/e\\f"));
    assert_false(ecs_attribute_value_valid(" lead"));
    assert_false(ecs_attribute_value_valid("trail "));
    assert_false(ecs_attribute_value_valid("semi;colon"));
    json_auto_t *a = J("{\"name\":\"x\",\"targetType\":\"task\"}");
    struct wh_err err = {0};
    assert_int_equal(ecs_attribute_check(a, "attributes[3]", &err), -1);
    assert_non_null(strstr(err.msg, "attributes[3].targetType 'task'"));
}

static void test_refs(void **state)
{
    (void)state;
    cleanup_free char *a = ecs_ref_arn("abc", "task", "web", "us-east-1", "123456789012");
    assert_string_equal(a, "arn:aws:ecs:us-east-1:123456789012:task/web/abc");
    cleanup_free char *b = ecs_ref_arn("arn:aws:ecs:eu-west-1:1:task/x/y", "task", "web",
                                       "us-east-1", "123456789012");
    assert_string_equal(b, "arn:aws:ecs:eu-west-1:1:task/x/y");
    cleanup_free char *c = ecs_arn_cluster_name(a);
    assert_string_equal(c, "web");
    assert_null(ecs_arn_cluster_name("arn:aws:ecs:us-east-1:1:cluster/web"));
    assert_null(ecs_arn_cluster_name("nope"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_order),
        cmocka_unit_test(test_launch_resolve_table),
        cmocka_unit_test(test_strategy_provider),
        cmocka_unit_test(test_needs_task_level),
        cmocka_unit_test(test_needs_container_sum_and_ports),
        cmocka_unit_test(test_instance_load),
        cmocka_unit_test(test_task_health),
        cmocka_unit_test(test_merge_monotonic_idempotent),
        cmocka_unit_test(test_merge_stopped),
        cmocka_unit_test(test_merge_pull_failure_and_user_stop),
        cmocka_unit_test(test_merge_rejects),
        cmocka_unit_test(test_attribute_rules),
        cmocka_unit_test(test_refs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
