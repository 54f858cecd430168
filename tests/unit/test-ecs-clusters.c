/* ECS clusters, tags and account settings: the pure rules as tables of {input, expected}, then
 * the handlers driven directly (no HTTP) over a store in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unistd.h>

#include "aws/api.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "ecs/account_settings.h"
#include "ecs/cluster_rules.h"
#include "ecs/clusters.h"
#include "ecs/tagging.h"
#include "store/store.h"

/* The handlers under test, declared here rather than through ecs/handlers.h: while that
 * header marks them weak (so wharfd links before every resource exists), a weak reference would
 * not pull their objects out of libwharf.a. */
#define HANDLER(name)                                                                              \
    int name(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
HANDLER(ecs_create_cluster);
HANDLER(ecs_describe_clusters);
HANDLER(ecs_list_clusters);
HANDLER(ecs_update_cluster);
HANDLER(ecs_update_cluster_settings);
HANDLER(ecs_put_cluster_capacity_providers);
HANDLER(ecs_delete_cluster);
HANDLER(ecs_tag_resource);
HANDLER(ecs_untag_resource);
HANDLER(ecs_list_tags_for_resource);
HANDLER(ecs_list_account_settings);
HANDLER(ecs_put_account_setting);
HANDLER(ecs_put_account_setting_default);
HANDLER(ecs_delete_account_setting);

#define ACCOUNT "123456789012"
#define REGION "eu-west-1"
#define ROOT "arn:aws:iam::" ACCOUNT ":root"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad test JSON (%s): %s", e.text, text);
    return v;
}

/* err's message contains want (or, want NULL, the call succeeded). */
static void expect(int r, const struct wh_err *err, const char *type, const char *want,
                   const char *what)
{
    if (!want) {
        if (r < 0)
            fail_msg("%s: expected success, got %s: %s", what, err->type, err->msg);
        return;
    }
    if (r >= 0)
        fail_msg("%s: expected %s containing '%s', got success", what, type, want);
    if (strcmp(err->type, type) != 0 || !strstr(err->msg, want))
        fail_msg("%s: expected %s containing '%s', got %s: %s", what, type, want, err->type,
                 err->msg);
}

/* ---- pure rules ---- */

static void test_cluster_names(void **state)
{
    (void)state;
    char long_ok[256], long_bad[257];
    memset(long_ok, 'a', 255);
    long_ok[255] = 0;
    memset(long_bad, 'a', 256);
    long_bad[256] = 0;
    const struct {
        const char *name;
        bool valid;
    } cases[] = {
        {"default", true},  {"a", true},       {"My_Cluster-01", true}, {long_ok, true},
        {"", false},        {long_bad, false}, {"has space", false},    {"dot.name", false},
        {"slash/x", false}, {"ünï", false},    {NULL, false},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        if (ecs_cluster_name_valid(cases[i].name) != cases[i].valid)
            fail_msg("ecs_cluster_name_valid('%s'): expected %d",
                     cases[i].name ? cases[i].name : "(null)", cases[i].valid);
}

static void test_cluster_refs(void **state)
{
    (void)state;
    const struct {
        const char *ref, *name;
    } cases[] = {
        {NULL, "default"},
        {"web", "web"},
        {"arn:aws:ecs:" REGION ":" ACCOUNT ":cluster/web", "web"},
        {"arn:aws:ecs:us-east-1:" ACCOUNT ":cluster/web", NULL},
        {"arn:aws:ecs:" REGION ":999999999999:cluster/web", NULL},
        {"arn:aws:ecs:" REGION ":" ACCOUNT ":service/web/x", NULL},
        {"arn:aws:ecr:" REGION ":" ACCOUNT ":cluster/web", NULL},
        {"arn:aws:ecs:" REGION ":" ACCOUNT ":cluster/bad name", NULL},
        {"bad name", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        cleanup_free char *got = ecs_cluster_ref_name(cases[i].ref, REGION, ACCOUNT);
        if ((got == NULL) != (cases[i].name == NULL) || (got && strcmp(got, cases[i].name) != 0))
            fail_msg("ecs_cluster_ref_name('%s'): expected %s, got %s",
                     cases[i].ref ? cases[i].ref : "(null)",
                     cases[i].name ? cases[i].name : "(null)", got ? got : "(null)");
    }
}

static void test_settings_merge(void **state)
{
    (void)state;
    const struct {
        const char *base, *changes, *want, *error;
    } cases[] = {
        {"[{\"name\":\"containerInsights\",\"value\":\"disabled\"}]",
         "[{\"name\":\"containerInsights\",\"value\":\"enhanced\"}]",
         "[{\"name\":\"containerInsights\",\"value\":\"enhanced\"}]", NULL},
        {NULL, "[{\"name\":\"containerInsights\",\"value\":\"enabled\"}]",
         "[{\"name\":\"containerInsights\",\"value\":\"enabled\"}]", NULL},
        {"[{\"name\":\"containerInsights\",\"value\":\"enabled\"}]", "[]",
         "[{\"name\":\"containerInsights\",\"value\":\"enabled\"}]", NULL},
        {NULL, "[{\"name\":\"containerInsights\",\"value\":\"on\"}]", NULL,
         "settings[0].value 'on' is not valid for containerInsights"},
        {NULL, "[{\"name\":\"containerInsights\"}]", NULL, "settings[0].value '' is not valid"},
        {NULL, "[{\"name\":\"bogus\",\"value\":\"x\"}]", NULL,
         "settings[0].name 'bogus' is not a cluster setting"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_auto_t *base = cases[i].base ? J(cases[i].base) : NULL;
        json_auto_t *changes = J(cases[i].changes);
        json_auto_t *got = NULL;
        struct wh_err err = {0};
        int r = ecs_cluster_settings_merge(base, changes, "settings", &got, &err);
        expect(r, &err, ERR_INVALID_PARAM, cases[i].error, cases[i].changes);
        if (cases[i].want) {
            json_auto_t *want = J(cases[i].want);
            cleanup_free char *g = json_text(got);
            if (!json_equal(got, want))
                fail_msg("merge %s: expected %s, got %s", cases[i].changes, cases[i].want, g);
        }
    }
}

static void test_capacity_providers(void **state)
{
    (void)state;
    const struct {
        const char *providers, *error;
    } cases[] = {
        {"[]", NULL},
        {"[\"FARGATE\"]", NULL},
        {"[\"FARGATE\",\"FARGATE_SPOT\"]", NULL},
        {"[\"EC2\"]", "capacityProviders[0]: the specified capacity provider 'EC2' does not exist"},
        {"[\"FARGATE\",\"FARGATE\"]",
         "capacityProviders[1]: capacity provider 'FARGATE' is given twice"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_auto_t *p = J(cases[i].providers);
        struct wh_err err = {0};
        int r = ecs_capacity_providers_check(p, "capacityProviders", &err);
        expect(r, &err, ERR_INVALID_PARAM, cases[i].error, cases[i].providers);
    }
}

static void test_capacity_strategy(void **state)
{
    (void)state;
    const char *both = "[\"FARGATE\",\"FARGATE_SPOT\"]";
    const struct {
        const char *strategy, *allowed, *error;
    } cases[] = {
        {"[]", "[]", NULL},
        {"[{\"capacityProvider\":\"FARGATE\"}]", both, NULL},
        {"[{\"capacityProvider\":\"FARGATE\",\"weight\":0}]", both, NULL},
        {"[{\"capacityProvider\":\"FARGATE\",\"weight\":1,\"base\":2},"
         "{\"capacityProvider\":\"FARGATE_SPOT\",\"weight\":4}]",
         both, NULL},
        {"[{\"capacityProvider\":\"FARGATE\",\"weight\":1000,\"base\":100000}]", both, NULL},
        {"[{\"capacityProvider\":\"FARGATE_SPOT\",\"weight\":1}]", "[\"FARGATE\"]",
         "not associated with the cluster ('FARGATE_SPOT')"},
        {"[{\"capacityProvider\":\"FARGATE\",\"weight\":1}]", "[]",
         "not associated with the cluster ('FARGATE')"},
        {"[{\"capacityProvider\":\"FARGATE\",\"weight\":1001}]", both,
         "[0].weight 1001 is out of range 0..1000"},
        {"[{\"capacityProvider\":\"FARGATE\",\"weight\":-1}]", both,
         "[0].weight -1 is out of range"},
        {"[{\"capacityProvider\":\"FARGATE\",\"base\":100001}]", both,
         "[0].base 100001 is out of range 0..100000"},
        {"[{\"capacityProvider\":\"FARGATE\",\"weight\":1,\"base\":1},"
         "{\"capacityProvider\":\"FARGATE_SPOT\",\"weight\":1,\"base\":1}]",
         both, "only one capacity provider in a strategy can have a base"},
        {"[{\"capacityProvider\":\"FARGATE\"},{\"capacityProvider\":\"FARGATE_SPOT\"}]", both,
         "at least one capacity provider in a strategy of several must have a weight"},
        {"[{\"capacityProvider\":\"FARGATE\",\"weight\":1},"
         "{\"capacityProvider\":\"FARGATE\",\"weight\":1}]",
         both, "[1]: capacity provider 'FARGATE' is given twice"},
        {"[{\"weight\":1}]", both, "[0].capacityProvider is required"},
        {"[{\"capacityProvider\":\"EC2\",\"weight\":1}]", NULL,
         "the specified capacity provider 'EC2' does not exist"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_auto_t *s = J(cases[i].strategy);
        json_auto_t *a = cases[i].allowed ? J(cases[i].allowed) : NULL;
        struct wh_err err = {0};
        int r = ecs_capacity_strategy_check(s, a, "defaultCapacityProviderStrategy", &err);
        expect(r, &err, ERR_INVALID_PARAM, cases[i].error, cases[i].strategy);
    }
    json_auto_t *s = J("[{\"capacityProvider\":\"FARGATE\",\"weight\":2}]");
    json_auto_t *n = ecs_capacity_strategy_normalize(s);
    json_auto_t *want = J("[{\"capacityProvider\":\"FARGATE\",\"weight\":2,\"base\":0}]");
    assert_true(json_equal(n, want));
}

static void test_configuration(void **state)
{
    (void)state;
    const struct {
        const char *cfg, *error;
    } cases[] = {
        {"{}", NULL},
        {"{\"executeCommandConfiguration\":{\"logging\":\"DEFAULT\"}}", NULL},
        {"{\"executeCommandConfiguration\":{\"kmsKeyId\":\"k\"}}", NULL},
        {"{\"executeCommandConfiguration\":{\"logging\":\"OVERRIDE\",\"logConfiguration\":"
         "{\"cloudWatchLogGroupName\":\"g\"}}}",
         NULL},
        {"{\"executeCommandConfiguration\":{\"logging\":\"OVERRIDE\"}}",
         "logConfiguration is required when logging is OVERRIDE"},
        {"{\"executeCommandConfiguration\":{\"logging\":\"NONE\",\"logConfiguration\":{}}}",
         "can only be specified when logging is OVERRIDE (logging is NONE)"},
        {"{\"managedStorageConfiguration\":{\"kmsKeyId\":\"k\"}}", NULL},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_auto_t *c = J(cases[i].cfg);
        struct wh_err err = {0};
        int r = ecs_cluster_configuration_check(c, &err);
        expect(r, &err, ERR_INVALID_PARAM, cases[i].error, cases[i].cfg);
    }
    json_auto_t *old = J("{\"executeCommandConfiguration\":{\"logging\":\"NONE\"},"
                         "\"managedStorageConfiguration\":{\"kmsKeyId\":\"a\"}}");
    json_auto_t *chg = J("{\"managedStorageConfiguration\":{\"kmsKeyId\":\"b\"}}");
    json_auto_t *got = ecs_cluster_configuration_merge(old, chg);
    json_auto_t *want = J("{\"executeCommandConfiguration\":{\"logging\":\"NONE\"},"
                          "\"managedStorageConfiguration\":{\"kmsKeyId\":\"b\"}}");
    assert_true(json_equal(got, want));
}

static void test_namespace_arn(void **state)
{
    (void)state;
    struct wh_err err = {0};
    cleanup_free char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    assert_int_equal(ecs_service_connect_namespace_arn("svc.local", REGION, ACCOUNT, &a, &err), 0);
    assert_int_equal(ecs_service_connect_namespace_arn("svc.local", REGION, ACCOUNT, &b, &err), 0);
    assert_string_equal(a, b);
    const char *prefix = "arn:aws:servicediscovery:" REGION ":" ACCOUNT ":namespace/ns-";
    assert_int_equal(strncmp(a, prefix, strlen(prefix)), 0);
    assert_int_equal(strlen(a), strlen(prefix) + 16);
    assert_int_equal(ecs_service_connect_namespace_arn(a, REGION, ACCOUNT, &c, &err), 0);
    assert_string_equal(a, c);
    int r = ecs_service_connect_namespace_arn(
        "arn:aws:servicediscovery:us-east-1:" ACCOUNT ":namespace/ns-x", REGION, ACCOUNT, &d, &err);
    expect(r, &err, "NamespaceNotFoundException", "is not a Cloud Map namespace", "other region");
    r = ecs_service_connect_namespace_arn("has space", REGION, ACCOUNT, &d, &err);
    expect(r, &err, ERR_INVALID_PARAM, "printable ASCII", "space");
}

static void test_tags_validate(void **state)
{
    (void)state;
    char many[4096] = "[";
    for (int i = 0; i < 51; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s{\"key\":\"k%d\"}",
                 i ? "," : "", i);
    strcat(many, "]");
    char longkey[200], longval[300];
    snprintf(longkey, sizeof(longkey), "[{\"key\":\"%0129d\"}]", 0);
    snprintf(longval, sizeof(longval), "[{\"key\":\"k\",\"value\":\"%0257d\"}]", 0);
    const struct {
        const char *tags, *error;
    } cases[] = {
        {"[]", NULL},
        {"[{\"key\":\"team\",\"value\":\"web\"}]", NULL},
        {"[{\"key\":\"k\"}]", NULL},
        {"[{\"key\":\"k\",\"value\":\"\"}]", NULL},
        {"[{\"key\":\"a b_c.d:e/f=g+h-i@j\",\"value\":\"Ünïcode ok\"}]", NULL},
        {"[{\"value\":\"v\"}]", "tags[0].key is required"},
        {"[{\"key\":\"\"}]", "tags[0].key is required"},
        {"[{\"key\":\"aws:x\"}]", "tags[0].key 'aws:x': the aws: prefix is reserved"},
        {"[{\"key\":\"AWS:x\"}]", "the aws: prefix is reserved"},
        {"[{\"key\":\"awsx\"}]", NULL},
        {"[{\"key\":\"a\"},{\"key\":\"a\"}]", "tags[1].key 'a' is given twice (also tags[0])"},
        {"[{\"key\":\"semi;colon\"}]", "tags[0].key 'semi;colon' may contain only"},
        {"[{\"key\":\"k\",\"value\":\"a*b\"}]", "tags[0].value 'a*b' may contain only"},
        {many, "has 51 tags; a resource can have at most 50"},
        {longkey, "is longer than 128 characters"},
        {longval, "is longer than 256 characters"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        json_auto_t *t = J(cases[i].tags);
        struct wh_err err = {0};
        int r = ecs_tags_validate(t, "tags", &err);
        expect(r, &err, ERR_INVALID_PARAM, cases[i].error, cases[i].tags);
    }
}

static void test_account_setting_rules(void **state)
{
    (void)state;
    for (unsigned i = 1; ecs_account_setting_name(i); i++)
        if (strcmp(ecs_account_setting_name(i - 1), ecs_account_setting_name(i)) >= 0)
            fail_msg("setting names not sorted at %s", ecs_account_setting_name(i));
    const struct {
        const char *name, *value, *error;
    } cases[] = {
        {"serviceLongArnFormat", "enabled", NULL},
        {"taskLongArnFormat", "disabled", NULL},
        {"containerInsights", "enhanced", NULL},
        {"awsvpcTrunking", "enhanced",
         "value 'enhanced' is not valid for the awsvpcTrunking setting; valid values: enabled, "
         "disabled"},
        {"tagResourceAuthorization", "off", NULL},
        {"tagResourceAuthorization", "enabled", "valid values: on, off"},
        {"fargateTaskRetirementWaitPeriod", "14", NULL},
        {"fargateTaskRetirementWaitPeriod", "3", "valid values: 0, 7, 14"},
        {"defaultLogDriverMode", "blocking", NULL},
        {"nope", "x", "name 'nope' is not an account setting"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct wh_err err = {0};
        int r = ecs_account_setting_check(cases[i].name, cases[i].value, &err);
        expect(r, &err, ERR_INVALID_PARAM, cases[i].error, cases[i].name);
    }
    assert_string_equal(ecs_account_setting_builtin("taskLongArnFormat"), "enabled");
    assert_string_equal(ecs_account_setting_builtin("tagResourceAuthorization"), "on");
    assert_string_equal(ecs_account_setting_builtin("fargateTaskRetirementWaitPeriod"), "7");
    assert_string_equal(ecs_account_setting_builtin("defaultLogDriverMode"), "non-blocking");
    assert_null(ecs_account_setting_builtin("nope"));

    const char *user = "arn:aws:iam::" ACCOUNT ":user/alice";
    struct wh_err err = {0};
    expect(ecs_account_setting_settable("guardDutyActivate", ROOT, ROOT, &err), &err,
           ERR_INVALID_PARAM, "read-only", "guardDuty");
    expect(ecs_account_setting_settable("fargateFIPSMode", user, ROOT, &err), &err,
           ERR_INVALID_PARAM, "account-wide", "fips user");
    expect(ecs_account_setting_settable("fargateFIPSMode", ROOT, ROOT, &err), &err, NULL, NULL,
           "fips root");
    expect(ecs_account_setting_settable("awsvpcTrunking", user, ROOT, &err), &err, NULL, NULL,
           "trunking user");

    const struct {
        const char *arn, *error;
    } principals[] = {
        {ROOT, NULL},
        {"arn:aws:iam::" ACCOUNT ":user/alice", NULL},
        {"arn:aws:iam::" ACCOUNT ":role/path/deploy", NULL},
        {"arn:aws:iam::999999999999:root", "belongs to account 999999999999"},
        {"arn:aws:iam::" ACCOUNT ":group/admins", "is not the ARN of an IAM user, role or root"},
        {"arn:aws:ecs:" REGION ":" ACCOUNT ":cluster/x", "is not the ARN of an IAM"},
        {"alice", "is not the ARN of an IAM"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(principals); i++) {
        int r = ecs_principal_check(principals[i].arn, ACCOUNT, &err);
        expect(r, &err, ERR_INVALID_PARAM, principals[i].error, principals[i].arn);
    }
}

/* ---- handlers over a temporary store ---- */

struct fixture {
    char dir[64];
    struct store *st;
    struct api_ctx ctx;
};

static int setup_store(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/wharf-test-clusters-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    cleanup_free char *db = xasprintf("%s/wharf.db", f->dir);
    struct wh_err err = {0};
    if (store_open(db, &f->st, &err) < 0) {
        fprintf(stderr, "store_open: %s\n", err.msg);
        return -1;
    }
    f->ctx = (struct api_ctx){.st = f->st,
                              .account = ACCOUNT,
                              .region = REGION,
                              .principal_arn = ROOT,
                              .request_id = "test",
                              .now = 1700000000.5};
    *state = f;
    return 0;
}

static int teardown_store(void **state)
{
    struct fixture *f = *state;
    store_close(f->st);
    const char *files[] = {"wharf.db", "wharf.db-wal", "wharf.db-shm"};
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        cleanup_free char *p = xasprintf("%s/%s", f->dir, files[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Run handler on JSON input; on success return the output, on failure NULL with err set. */
static json_t *call(struct fixture *f, api_handler_fn fn, const char *in, struct wh_err *err)
{
    json_auto_t *j = J(in);
    json_t *out = NULL;
    memset(err, 0, sizeof(*err));
    if (fn(&f->ctx, j, &out, err) < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static json_t *ok(struct fixture *f, api_handler_fn fn, const char *in)
{
    struct wh_err err;
    json_t *out = call(f, fn, in, &err);
    if (!out)
        fail_msg("%s: unexpected %s: %s", in, err.type, err.msg);
    return out;
}

static void fails(struct fixture *f, api_handler_fn fn, const char *in, const char *type,
                  const char *want)
{
    struct wh_err err;
    json_t *out = call(f, fn, in, &err);
    if (out) {
        cleanup_free char *t = json_text(out);
        json_decref(out);
        fail_msg("%s: expected %s, got %s", in, type, t);
    }
    expect(-1, &err, type, want, in);
}

/* The value at a path like "cluster.settings[0].value" of v, as compact JSON text. */
static char *at(const json_t *v, const char *path)
{
    cleanup_free char *p = xstrdup(path);
    char *save = NULL;
    for (char *tok = strtok_r(p, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save)) {
        char *br = strchr(tok, '[');
        if (br)
            *br = 0;
        if (*tok)
            v = json_object_get(v, tok);
        while (br && v) {
            v = json_array_get(v, strtoul(br + 1, NULL, 10));
            br = strchr(br + 1, '[');
        }
    }
    return json_text(v);
}

static void expect_at(const json_t *v, const char *path, const char *want)
{
    cleanup_free char *got = at(v, path);
    if (strcmp(got, want) != 0) {
        cleanup_free char *all = json_text(v);
        fail_msg("%s: expected %s, got %s in %s", path, want, got, all);
    }
}

#define ARN(name) "\"arn:aws:ecs:" REGION ":" ACCOUNT ":cluster/" name "\""

static void test_create_describe(void **state)
{
    struct fixture *f = *state;
    json_auto_t *c = ok(f, ecs_create_cluster, "{}");
    expect_at(c, "cluster.clusterArn", ARN("default"));
    expect_at(c, "cluster.clusterName", "\"default\"");
    expect_at(c, "cluster.status", "\"ACTIVE\"");
    expect_at(c, "cluster.settings", "[{\"name\":\"containerInsights\",\"value\":\"disabled\"}]");
    expect_at(c, "cluster.statistics", "[]");
    expect_at(c, "cluster.tags", "[]");
    expect_at(c, "cluster.capacityProviders", "[]");
    expect_at(c, "cluster.runningTasksCount", "0");
    expect_at(c, "cluster.configuration", "null");

    json_auto_t *w =
        ok(f, ecs_create_cluster,
           "{\"clusterName\":\"web\",\"tags\":[{\"key\":\"b\",\"value\":\"2\"},"
           "{\"key\":\"a\",\"value\":\"1\"}],"
           "\"settings\":[{\"name\":\"containerInsights\",\"value\":\"enhanced\"}],"
           "\"configuration\":{\"executeCommandConfiguration\":{\"logging\":\"NONE\"}},"
           "\"capacityProviders\":[\"FARGATE\",\"FARGATE_SPOT\"],"
           "\"defaultCapacityProviderStrategy\":[{\"capacityProvider\":\"FARGATE\","
           "\"weight\":1}],\"serviceConnectDefaults\":{\"namespace\":\"web.local\"}}");
    expect_at(w, "cluster.tags",
              "[{\"key\":\"a\",\"value\":\"1\"},{\"key\":\"b\",\"value\":\"2\"}]");
    expect_at(w, "cluster.settings[0].value", "\"enhanced\"");
    expect_at(w, "cluster.configuration.executeCommandConfiguration.logging", "\"NONE\"");
    expect_at(w, "cluster.defaultCapacityProviderStrategy",
              "[{\"capacityProvider\":\"FARGATE\",\"weight\":1,\"base\":0}]");
    cleanup_free char *ns = at(w, "cluster.serviceConnectDefaults.namespace");
    assert_non_null(strstr(ns, ":namespace/ns-"));

    /* Same name again: the existing cluster, unchanged. */
    json_auto_t *again = ok(f, ecs_create_cluster, "{\"clusterName\":\"web\"}");
    expect_at(again, "cluster.settings[0].value", "\"enhanced\"");
    expect_at(again, "cluster.tags[1].key", "\"b\"");

    /* Describe: optional parts only when included. */
    json_auto_t *d = ok(f, ecs_describe_clusters,
                        "{\"clusters\":[\"web\"," ARN("default") ",\"nope\",\"bad name\","
                                                                 "\"arn:aws:ecs:us-east-1:" ACCOUNT
                                                                 ":cluster/web\",\"web\"]}");
    expect_at(d, "clusters[0].clusterName", "\"web\"");
    expect_at(d, "clusters[0].settings", "[]");
    expect_at(d, "clusters[0].tags", "[]");
    expect_at(d, "clusters[0].statistics", "[]");
    expect_at(d, "clusters[0].configuration", "null");
    expect_at(d, "clusters[0].serviceConnectDefaults.namespace", ns);
    expect_at(d, "clusters[1].clusterName", "\"default\"");
    expect_at(d, "clusters[2]", "null");
    expect_at(d, "failures",
              "[{\"arn\":" ARN("nope") ",\"reason\":\"MISSING\"},"
                                       "{\"arn\":" ARN(
                                           "bad name") ",\"reason\":\"MISSING\"},"
                                                       "{\"arn\":\"arn:aws:ecs:us-east-1:" ACCOUNT
                                                       ":cluster/web\",\"reason\":\"MISSING\"}]");
    json_auto_t *full = ok(f, ecs_describe_clusters,
                           "{\"clusters\":[\"web\"],\"include\":[\"SETTINGS\",\"STATISTICS\","
                           "\"TAGS\",\"CONFIGURATIONS\",\"ATTACHMENTS\"]}");
    expect_at(full, "clusters[0].settings[0].value", "\"enhanced\"");
    expect_at(full, "clusters[0].tags[0].key", "\"a\"");
    expect_at(full, "clusters[0].statistics[0]",
              "{\"name\":\"runningEC2TasksCount\",\"value\":\"0\"}");
    expect_at(full, "clusters[0].statistics[7].name", "\"drainingFargateServiceCount\"");
    expect_at(full, "clusters[0].configuration.executeCommandConfiguration.logging", "\"NONE\"");
    expect_at(full, "clusters[0].attachments", "null");
    json_auto_t *dflt = ok(f, ecs_describe_clusters, "{}");
    expect_at(dflt, "clusters[0].clusterName", "\"default\"");
}

static void test_create_invalid(void **state)
{
    struct fixture *f = *state;
    fails(f, ecs_create_cluster, "{\"clusterName\":\"a b\"}", ERR_INVALID_PARAM,
          "clusterName 'a b' is not valid");
    fails(f, ecs_create_cluster,
          "{\"clusterName\":\"x\",\"defaultCapacityProviderStrategy\":"
          "[{\"capacityProvider\":\"FARGATE\",\"weight\":1}]}",
          ERR_INVALID_PARAM, "not associated with the cluster ('FARGATE')");
    fails(f, ecs_create_cluster, "{\"clusterName\":\"x\",\"capacityProviders\":[\"mine\"]}",
          ERR_INVALID_PARAM, "'mine' does not exist");
    fails(f, ecs_create_cluster, "{\"clusterName\":\"x\",\"tags\":[{\"key\":\"aws:a\"}]}",
          ERR_INVALID_PARAM, "reserved");
    fails(f, ecs_create_cluster,
          "{\"clusterName\":\"x\",\"settings\":[{\"name\":\"containerInsights\",\"value\":\"y\"}]}",
          ERR_INVALID_PARAM, "settings[0].value 'y'");
    json_auto_t *d = ok(f, ecs_describe_clusters, "{\"clusters\":[\"x\"]}");
    expect_at(d, "failures[0].reason", "\"MISSING\"");
}

static void test_list_pages(void **state)
{
    struct fixture *f = *state;
    const char *names[] = {"c", "a", "e", "b", "d"};
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        cleanup_free char *in = xasprintf("{\"clusterName\":\"%s\"}", names[i]);
        json_decref(ok(f, ecs_create_cluster, in));
    }
    json_decref(ok(f, ecs_delete_cluster, "{\"cluster\":\"c\"}"));
    json_auto_t *all = ok(f, ecs_list_clusters, "{}");
    expect_at(all, "clusterArns", "[" ARN("a") "," ARN("b") "," ARN("d") "," ARN("e") "]");
    expect_at(all, "nextToken", "null");
    json_auto_t *p1 = ok(f, ecs_list_clusters, "{\"maxResults\":3}");
    expect_at(p1, "clusterArns", "[" ARN("a") "," ARN("b") "," ARN("d") "]");
    cleanup_free char *in =
        xasprintf("{\"maxResults\":3,\"nextToken\":\"%s\"}", json_str(p1, "nextToken"));
    json_auto_t *p2 = ok(f, ecs_list_clusters, in);
    expect_at(p2, "clusterArns", "[" ARN("e") "]");
    expect_at(p2, "nextToken", "null");
    json_auto_t *p3 = ok(f, ecs_list_clusters, "{\"maxResults\":4}");
    expect_at(p3, "nextToken", "null");
    fails(f, ecs_list_clusters, "{\"nextToken\":\"garbage\"}", ERR_INVALID_PARAM, "nextToken");
    fails(f, ecs_list_clusters, "{\"maxResults\":0}", ERR_INVALID_PARAM, "out of range 1..100");
    fails(f, ecs_list_clusters, "{\"maxResults\":101}", ERR_INVALID_PARAM, "out of range");
    /* Another region sees none of them. */
    f->ctx.region = "us-west-2";
    json_auto_t *other = ok(f, ecs_list_clusters, "{}");
    expect_at(other, "clusterArns", "[]");
}

static void test_update_and_capacity(void **state)
{
    struct fixture *f = *state;
    json_decref(ok(f, ecs_create_cluster, "{\"clusterName\":\"u\"}"));
    json_auto_t *s = ok(f, ecs_update_cluster_settings,
                        "{\"cluster\":\"u\",\"settings\":[{\"name\":\"containerInsights\","
                        "\"value\":\"enabled\"}]}");
    expect_at(s, "cluster.settings", "[{\"name\":\"containerInsights\",\"value\":\"enabled\"}]");
    json_auto_t *u =
        ok(f, ecs_update_cluster,
           "{\"cluster\":" ARN(
               "u") ",\"configuration\":{\"managedStorageConfiguration\":"
                    "{\"kmsKeyId\":\"k1\"}},\"serviceConnectDefaults\":{\"namespace\":\"n\"}}");
    expect_at(u, "cluster.configuration",
              "{\"managedStorageConfiguration\":{\"kmsKeyId\":\"k1\"}}");
    expect_at(u, "cluster.settings[0].value", "\"enabled\"");
    json_auto_t *u2 = ok(f, ecs_update_cluster,
                         "{\"cluster\":\"u\",\"serviceConnectDefaults\":{\"namespace\":\"\"}}");
    expect_at(u2, "cluster.serviceConnectDefaults", "null");
    expect_at(u2, "cluster.configuration.managedStorageConfiguration.kmsKeyId", "\"k1\"");
    fails(f, ecs_update_cluster,
          "{\"cluster\":\"u\",\"configuration\":{\"executeCommandConfiguration\":"
          "{\"logging\":\"OVERRIDE\"}}}",
          ERR_INVALID_PARAM, "logConfiguration is required");
    fails(f, ecs_update_cluster, "{\"cluster\":\"nope\"}", ERR_CLUSTER_NOT_FOUND,
          "Cluster not found.");

    json_auto_t *p =
        ok(f, ecs_put_cluster_capacity_providers,
           "{\"cluster\":\"u\",\"capacityProviders\":[\"FARGATE\",\"FARGATE_SPOT\"],"
           "\"defaultCapacityProviderStrategy\":[{\"capacityProvider\":\"FARGATE_SPOT\","
           "\"weight\":3,\"base\":1},{\"capacityProvider\":\"FARGATE\",\"weight\":1}]}");
    expect_at(p, "cluster.capacityProviders", "[\"FARGATE\",\"FARGATE_SPOT\"]");
    expect_at(p, "cluster.defaultCapacityProviderStrategy[0]",
              "{\"capacityProvider\":\"FARGATE_SPOT\",\"weight\":3,\"base\":1}");
    fails(f, ecs_put_cluster_capacity_providers,
          "{\"cluster\":\"u\",\"capacityProviders\":[\"FARGATE\"],"
          "\"defaultCapacityProviderStrategy\":[{\"capacityProvider\":\"FARGATE_SPOT\",\"weight\":"
          "1}]}",
          ERR_INVALID_PARAM, "not associated with the cluster ('FARGATE_SPOT')");
    json_auto_t *clear = ok(f, ecs_put_cluster_capacity_providers,
                            "{\"cluster\":\"u\",\"capacityProviders\":[],"
                            "\"defaultCapacityProviderStrategy\":[]}");
    expect_at(clear, "cluster.capacityProviders", "[]");
    expect_at(clear, "cluster.defaultCapacityProviderStrategy", "[]");
}

static void test_delete_and_recreate(void **state)
{
    struct fixture *f = *state;
    json_decref(ok(f, ecs_create_cluster,
                   "{\"clusterName\":\"d\",\"tags\":[{\"key\":\"old\",\"value\":\"1\"}],"
                   "\"settings\":[{\"name\":\"containerInsights\",\"value\":\"enabled\"}]}"));
    json_auto_t *del = ok(f, ecs_delete_cluster, "{\"cluster\":\"d\"}");
    expect_at(del, "cluster.status", "\"INACTIVE\"");
    expect_at(del, "cluster.clusterArn", ARN("d"));
    json_auto_t *desc =
        ok(f, ecs_describe_clusters, "{\"clusters\":[\"d\"],\"include\":[\"TAGS\"]}");
    expect_at(desc, "clusters[0].status", "\"INACTIVE\"");
    expect_at(desc, "clusters[0].tags[0].key", "\"old\"");
    expect_at(desc, "failures", "[]");
    const char *inactive = "The referenced cluster was inactive.";
    fails(f, ecs_delete_cluster, "{\"cluster\":\"d\"}", ERR_CLUSTER_NOT_FOUND, inactive);
    fails(
        f, ecs_update_cluster_settings,
        "{\"cluster\":\"d\",\"settings\":[{\"name\":\"containerInsights\",\"value\":\"enabled\"}]}",
        ERR_CLUSTER_NOT_FOUND, inactive);
    fails(f, ecs_put_cluster_capacity_providers,
          "{\"cluster\":\"d\",\"capacityProviders\":[],\"defaultCapacityProviderStrategy\":[]}",
          ERR_CLUSTER_NOT_FOUND, inactive);
    fails(f, ecs_tag_resource, "{\"resourceArn\":" ARN("d") ",\"tags\":[{\"key\":\"k\"}]}",
          ERR_INVALID_PARAM, "The specified cluster is inactive.");
    fails(f, ecs_delete_cluster, "{\"cluster\":\"never\"}", ERR_CLUSTER_NOT_FOUND,
          "Cluster not found.");
    /* Re-created: a fresh cluster, old tags and settings gone. */
    json_auto_t *again = ok(f, ecs_create_cluster, "{\"clusterName\":\"d\"}");
    expect_at(again, "cluster.status", "\"ACTIVE\"");
    expect_at(again, "cluster.tags", "[]");
    expect_at(again, "cluster.settings[0].value", "\"disabled\"");
}

static void test_tag_handlers(void **state)
{
    struct fixture *f = *state;
    json_decref(ok(f, ecs_create_cluster, "{\"clusterName\":\"t\"}"));
    json_auto_t *empty =
        ok(f, ecs_tag_resource,
           "{\"resourceArn\":" ARN("t") ",\"tags\":[{\"key\":\"z\",\"value\":\"1\"},"
                                        "{\"key\":\"y\"}]}");
    expect_at(empty, "", "{}");
    json_decref(ok(f, ecs_tag_resource,
                   "{\"resourceArn\":" ARN("t") ",\"tags\":[{\"key\":\"z\",\"value\":\"2\"}]}"));
    json_auto_t *l = ok(f, ecs_list_tags_for_resource, "{\"resourceArn\":" ARN("t") "}");
    expect_at(l, "tags", "[{\"key\":\"y\",\"value\":\"\"},{\"key\":\"z\",\"value\":\"2\"}]");
    json_decref(
        ok(f, ecs_untag_resource, "{\"resourceArn\":" ARN("t") ",\"tagKeys\":[\"y\",\"absent\"]}"));
    json_auto_t *l2 = ok(f, ecs_list_tags_for_resource, "{\"resourceArn\":" ARN("t") "}");
    expect_at(l2, "tags", "[{\"key\":\"z\",\"value\":\"2\"}]");

    /* 50 in all at most: 49 more fit, 50 more do not (and change nothing). */
    char in[8192];
    for (int extra = 49; extra <= 50; extra++) {
        snprintf(in, sizeof(in), "{\"resourceArn\":" ARN("t") ",\"tags\":[");
        for (int i = 0; i < extra; i++)
            snprintf(in + strlen(in), sizeof(in) - strlen(in), "%s{\"key\":\"k%d%s\"}",
                     i ? "," : "", i, extra == 50 ? "x" : "");
        strcat(in, "]}");
        if (extra == 49)
            json_decref(ok(f, ecs_tag_resource, in));
        else
            fails(f, ecs_tag_resource, in, "LimitExceededException", "at most 50");
    }
    json_auto_t *l3 = ok(f, ecs_list_tags_for_resource, "{\"resourceArn\":" ARN("t") "}");
    assert_int_equal(json_array_size(json_object_get(l3, "tags")), 50);

    fails(f, ecs_tag_resource, "{\"resourceArn\":" ARN("none") ",\"tags\":[{\"key\":\"k\"}]}",
          ERR_CLUSTER_NOT_FOUND, "Cluster not found.");
    fails(f, ecs_list_tags_for_resource,
          "{\"resourceArn\":\"arn:aws:ecs:us-east-1:" ACCOUNT ":cluster/t\"}",
          ERR_CLUSTER_NOT_FOUND, "Cluster not found.");
    fails(f, ecs_tag_resource,
          "{\"resourceArn\":\"arn:aws:ecs:" REGION ":" ACCOUNT ":task-definition/web:1\","
          "\"tags\":[{\"key\":\"k\"}]}",
          "ResourceNotFoundException", "task-definition/web:1 could not be found");
    fails(f, ecs_list_tags_for_resource, "{\"resourceArn\":\"not-an-arn\"}", ERR_INVALID_PARAM,
          "is not the ARN of an ECS resource");
    fails(f, ecs_list_tags_for_resource,
          "{\"resourceArn\":\"arn:aws:ecs:" REGION ":" ACCOUNT ":widget/x\"}", ERR_INVALID_PARAM,
          "type 'widget' cannot be tagged");
    fails(f, ecs_untag_resource, "{\"resourceArn\":" ARN("t") ",\"tagKeys\":[\"aws:x\"]}",
          ERR_INVALID_PARAM, "reserved");
}

static void test_account_settings(void **state)
{
    struct fixture *f = *state;
    const char *alice = "arn:aws:iam::" ACCOUNT ":user/alice";
    json_auto_t *none = ok(f, ecs_list_account_settings, "{}");
    expect_at(none, "settings", "[]");

    json_auto_t *eff = ok(f, ecs_list_account_settings, "{\"effectiveSettings\":true}");
    expect_at(eff, "settings[0]",
              "{\"name\":\"awsvpcTrunking\",\"value\":\"disabled\",\"principalArn\":\"" ROOT
              "\",\"type\":\"aws_managed\"}");
    expect_at(eff, "settings[9].name", "\"tagResourceAuthorization\"");
    cleanup_free char *tok = at(eff, "nextToken");
    assert_string_not_equal(tok, "null");
    cleanup_free char *in = xasprintf("{\"effectiveSettings\":true,\"nextToken\":%s}", tok);
    json_auto_t *eff2 = ok(f, ecs_list_account_settings, in);
    expect_at(eff2, "settings[0].name", "\"taskLongArnFormat\"");
    expect_at(eff2, "nextToken", "null");

    /* The default (root's setting) applies to alice until she sets her own. */
    json_auto_t *d = ok(f, ecs_put_account_setting_default,
                        "{\"name\":\"containerInsights\",\"value\":\"enhanced\"}");
    expect_at(d, "setting",
              "{\"name\":\"containerInsights\",\"value\":\"enhanced\",\"principalArn\":\"" ROOT
              "\",\"type\":\"user\"}");
    cleanup_free char *q = xasprintf("{\"effectiveSettings\":true,\"name\":\"containerInsights\","
                                     "\"principalArn\":\"%s\"}",
                                     alice);
    json_auto_t *a1 = ok(f, ecs_list_account_settings, q);
    expect_at(a1, "settings",
              "[{\"name\":\"containerInsights\",\"value\":\"enhanced\",\"principalArn\":\"" ROOT
              "\",\"type\":\"user\"}]");
    cleanup_free char *put = xasprintf(
        "{\"name\":\"containerInsights\",\"value\":\"disabled\",\"principalArn\":\"%s\"}", alice);
    json_decref(ok(f, ecs_put_account_setting, put));
    json_auto_t *a2 = ok(f, ecs_list_account_settings, q);
    expect_at(a2, "settings[0].value", "\"disabled\"");
    cleanup_free char *palice = xasprintf("\"%s\"", alice);
    expect_at(a2, "settings[0].principalArn", palice);
    cleanup_free char *qv = xasprintf(
        "{\"name\":\"containerInsights\",\"value\":\"enhanced\",\"principalArn\":\"%s\"}", alice);
    json_auto_t *a3 = ok(f, ecs_list_account_settings, qv);
    expect_at(a3, "settings", "[]");

    /* A new cluster takes the caller's (root's) effective containerInsights. */
    json_auto_t *c = ok(f, ecs_create_cluster, "{\"clusterName\":\"ci\"}");
    expect_at(c, "cluster.settings[0].value", "\"enhanced\"");

    cleanup_free char *del =
        xasprintf("{\"name\":\"containerInsights\",\"principalArn\":\"%s\"}", alice);
    json_auto_t *dd = ok(f, ecs_delete_account_setting, del);
    expect_at(dd, "setting.value", "\"disabled\"");
    fails(f, ecs_delete_account_setting, del, ERR_INVALID_PARAM, "no containerInsights setting");
    json_auto_t *a4 = ok(f, ecs_list_account_settings, q);
    expect_at(a4, "settings[0].value", "\"enhanced\"");

    fails(f, ecs_put_account_setting, "{\"name\":\"awsvpcTrunking\",\"value\":\"on\"}",
          ERR_INVALID_PARAM, "valid values: enabled, disabled");
    fails(f, ecs_put_account_setting, "{\"name\":\"guardDutyActivate\",\"value\":\"on\"}",
          ERR_INVALID_PARAM, "read-only");
    fails(f, ecs_list_account_settings, "{\"value\":\"enabled\"}", ERR_INVALID_PARAM,
          "only be used together with name");
    fails(f, ecs_list_account_settings, "{\"maxResults\":11}", ERR_INVALID_PARAM,
          "out of range 1..10");
    json_auto_t *own = ok(f, ecs_list_account_settings, "{}");
    expect_at(own, "settings[0].name", "\"containerInsights\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_names),
        cmocka_unit_test(test_cluster_refs),
        cmocka_unit_test(test_settings_merge),
        cmocka_unit_test(test_capacity_providers),
        cmocka_unit_test(test_capacity_strategy),
        cmocka_unit_test(test_configuration),
        cmocka_unit_test(test_namespace_arn),
        cmocka_unit_test(test_tags_validate),
        cmocka_unit_test(test_account_setting_rules),
        cmocka_unit_test_setup_teardown(test_create_describe, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_create_invalid, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_list_pages, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_update_and_capacity, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_delete_and_recreate, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_tag_handlers, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_account_settings, setup_store, teardown_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
