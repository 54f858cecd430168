/* src/ecs/service_rules.c: the pure rules of services, and the wording of service events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/json.h"
#include "core/xalloc.h"
#include "ecs/service_rules.h"

static json_t *J(const char *text)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(j);
    return j;
}

static void test_names(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        bool ok;
    } cases[] = {{"web", true}, {"web-1_A", true}, {"", false}, {"a b", false},
                 {"svc/x", false}, {"x.y", false}};
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct wh_err err = {0};
        int r = service_name_check(cases[i].name, &err);
        assert_int_equal(r == 0, cases[i].ok);
        if (!cases[i].ok)
            assert_non_null(strstr(err.msg, "serviceName"));
    }
    char longname[300];
    memset(longname, 'a', 256);
    longname[256] = 0;
    assert_int_equal(service_name_check(longname, NULL), -1);
}

static void test_deployment_config(void **state)
{
    (void)state;
    json_t *cfg = NULL;
    struct wh_err err = {0};
    assert_int_equal(service_deployment_config(NULL, NULL, false, &cfg, &err), 0);
    assert_int_equal(json_int(cfg, "maximumPercent", 0), 200);
    assert_int_equal(json_int(cfg, "minimumHealthyPercent", 0), 100);
    assert_false(json_bool(json_object_get(cfg, "deploymentCircuitBreaker"), "enable", true));
    json_decref(cfg);
    assert_int_equal(service_deployment_config(NULL, NULL, true, &cfg, &err), 0);
    assert_int_equal(json_int(cfg, "maximumPercent", 0), 100);
    assert_int_equal(json_int(cfg, "minimumHealthyPercent", 1), 0);
    /* an update keeps what it does not name */
    json_auto_t *given = J("{\"minimumHealthyPercent\": 50}");
    json_t *next = NULL;
    json_auto_t *prev = J("{\"maximumPercent\": 150, \"minimumHealthyPercent\": 100,"
                          " \"deploymentCircuitBreaker\": {\"enable\": true, \"rollback\": true}}");
    assert_int_equal(service_deployment_config(given, prev, false, &next, &err), 0);
    assert_int_equal(json_int(next, "maximumPercent", 0), 150);
    assert_int_equal(json_int(next, "minimumHealthyPercent", 0), 50);
    assert_true(json_bool(json_object_get(next, "deploymentCircuitBreaker"), "rollback", false));
    json_decref(next);
    json_decref(cfg);
    static const struct {
        const char *given;
        bool daemon;
        const char *want;
    } bad[] = {
        {"{\"maximumPercent\": 90}", false, "maximumPercent 90 must be at least 100"},
        {"{\"minimumHealthyPercent\": 101}", false, "out of range 0..100"},
        {"{\"maximumPercent\": 200}", true, "must be 100"},
        {"{\"strategy\": \"BLUE_GREEN\"}", false, "BLUE_GREEN is not supported"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        json_auto_t *g = J(bad[i].given);
        cfg = NULL;
        assert_int_equal(service_deployment_config(g, NULL, bad[i].daemon, &cfg, &err), -1);
        if (!strstr(err.msg, bad[i].want))
            fail_msg("%s: '%s' lacks '%s'", bad[i].given, err.msg, bad[i].want);
        assert_string_equal(err.type, "InvalidParameterException");
    }
}

static void test_placement(void **state)
{
    (void)state;
    struct wh_err err = {0};
    json_auto_t *cons = J("[{\"type\": \"memberOf\", \"expression\": \"attribute:a == b\"},"
                          " {\"type\": \"distinctInstance\"}]");
    json_auto_t *strat = J("[{\"type\": \"binpack\", \"field\": \"memory\"}]");
    json_auto_t *bad = J("[{\"type\": \"memberOf\", \"expression\": \"attribute:a ==\"}]");
    assert_int_equal(service_placement_check(cons, strat, false, false, &err), 0);
    assert_int_equal(service_placement_check(cons, NULL, true, false, &err), -1);
    assert_non_null(strstr(err.msg, "FARGATE"));
    assert_int_equal(service_placement_check(NULL, strat, false, true, &err), -1);
    assert_non_null(strstr(err.msg, "DAEMON"));
    assert_int_equal(service_placement_check(bad, NULL, false, false, &err), -1);
    assert_non_null(strstr(err.msg, "placementConstraints[0]: "));
    assert_non_null(strstr(err.msg, "position"));
    /* the default: spread over zones, then instances; DAEMON: none */
    struct service_placement p;
    assert_int_equal(service_placement_parse(NULL, NULL, NULL, false, &p, &err), 0);
    assert_int_equal(p.nstrat, 2);
    assert_string_equal(p.strat[0].field, "attribute:ecs.availability-zone");
    assert_string_equal(p.strat[1].field, "instanceId");
    service_placement_clear(&p);
    json_auto_t *td = J("[{\"type\": \"memberOf\", \"expression\": \"attribute:x exists\"}]");
    assert_int_equal(service_placement_parse(cons, td, strat, true, &p, &err), 0);
    assert_int_equal(p.ncons, 3);
    assert_int_equal(p.nstrat, 1);
    service_placement_clear(&p);
}

static void test_network(void **state)
{
    (void)state;
    struct wh_err err = {0};
    json_auto_t *vpc = J("{\"networkMode\": \"awsvpc\"}");
    json_auto_t *bridge = J("{\"networkMode\": \"bridge\"}");
    json_auto_t *net = J("{\"awsvpcConfiguration\": {\"subnets\": [\"s-1\"]}}");
    json_auto_t *empty = J("{\"awsvpcConfiguration\": {\"subnets\": []}}");
    assert_int_equal(service_network_check(vpc, net, &err), 0);
    assert_int_equal(service_network_check(vpc, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "Network Configuration must be provided"));
    assert_int_equal(service_network_check(vpc, empty, &err), -1);
    assert_int_equal(service_network_check(bridge, net, &err), -1);
    assert_int_equal(service_network_check(bridge, NULL, &err), 0);
}

static void test_update_deploys(void **state)
{
    (void)state;
    json_auto_t *cur = J("{\"launchType\": \"EC2\", \"enableExecuteCommand\": false}");
    static const struct {
        const char *in;
        const char *new_td;
        bool want;
    } cases[] = {
        {"{\"desiredCount\": 3}", NULL, false},
        {"{\"forceNewDeployment\": true}", NULL, true},
        {"{}", "arn:td:2", true},
        {"{}", "arn:td:1", false},
        {"{\"enableExecuteCommand\": false}", NULL, false},
        {"{\"enableExecuteCommand\": true}", NULL, true},
        {"{\"networkConfiguration\": {\"awsvpcConfiguration\": {\"subnets\": [\"a\"]}}}", NULL,
         true},
        {"{\"deploymentConfiguration\": {\"maximumPercent\": 150}}", NULL, false},
        {"{\"placementStrategy\": [{\"type\": \"random\"}]}", NULL, false},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_auto_t *in = J(cases[i].in);
        if (service_update_deploys(in, cases[i].new_td, "arn:td:1", cur) != cases[i].want)
            fail_msg("%s (td %s): want %d", cases[i].in, cases[i].new_td, cases[i].want);
    }
}

static void test_ids_and_messages(void **state)
{
    (void)state;
    char id[28];
    service_deployment_id(id);
    assert_int_equal(strlen(id), 27);
    assert_memory_equal(id, "ecs-svc/", 8);
    for (int i = 8; i < 27; i++)
        assert_true(id[i] >= '0' && id[i] <= '9');
    char *arns[] = {"arn:aws:ecs:us-east-1:1:task/c/aaa", "arn:aws:ecs:us-east-1:1:task/c/bbb"};
    char *m = service_msg_started("web", arns, 2);
    assert_string_equal(m, "(service web) has started 2 tasks: (task aaa) (task bbb).");
    free(m);
    m = service_msg_stopped("web", arns, 1);
    assert_string_equal(m, "(service web) has stopped 1 running tasks: (task aaa).");
    free(m);
    m = service_msg_steady("web");
    assert_string_equal(m, "(service web) has reached a steady state.");
    free(m);
    m = service_msg_unplaced("web", "arn:aws:ecs:us-east-1:1:container-instance/c/ci1",
                             "RESOURCE:MEMORY");
    assert_string_equal(m, "(service web) was unable to place a task because no container "
                           "instance met all of its requirements. The closest matching "
                           "(container-instance ci1) has insufficient memory available. For "
                           "more information, see the Troubleshooting section of the Amazon "
                           "ECS Developer Guide.");
    free(m);
    m = service_msg_unplaced("web", NULL, NULL);
    assert_non_null(strstr(m, "Reason: No Container Instances were found in your cluster."));
    free(m);
    m = service_msg_failed("web", "ecs-svc/1");
    assert_string_equal(m, "(service web) (deployment ecs-svc/1) deployment failed: tasks failed "
                           "to start.");
    free(m);
    m = service_msg_completed("web", "ecs-svc/1");
    assert_string_equal(m, "(service web) (deployment ecs-svc/1) deployment completed.");
    free(m);
    m = service_msg_rollback("web", "ecs-svc/1");
    assert_string_equal(m, "(service web) rolling back to deployment ecs-svc/1.");
    free(m);
    m = service_msg_unhealthy("web", arns[0]);
    assert_string_equal(m, "(service web) (task aaa) failed container health checks.");
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_deployment_config),
        cmocka_unit_test(test_placement),
        cmocka_unit_test(test_network),
        cmocka_unit_test(test_update_deploys),
        cmocka_unit_test(test_ids_and_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
