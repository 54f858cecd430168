/* Repository policies (src/ecr/policy_eval.c): validation messages and the allow/deny verdicts
 * the registry enforces, as tables; plus the other pure ECR helpers: wildcard matching, the
 * tag mutability settings and the advertised registry host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "app.h"
#include "core/xalloc.h"
#include "ecr/glob.h"
#include "ecr/mutability.h"
#include "ecr/policy_eval.h"
#include "ecr/uri.h"

#define ME "arn:aws:iam::123456789012:root"
#define ME_USER "arn:aws:iam::123456789012:user/alice"
#define OTHER "arn:aws:iam::210987654321:root"
#define DOC(stmts) "{\"Version\":\"2012-10-17\",\"Statement\":[" stmts "]}"
#define STMT(effect, principal, action)                                                            \
    "{\"Effect\":\"" effect "\",\"Principal\":" principal ",\"Action\":" action "}"

/* ---- validation ---- */

static const struct {
    const char *name, *text, *expect; /* expect NULL: valid */
} validate_cases[] = {
    {"allow everyone to pull", DOC(STMT("Allow", "\"*\"", "[\"ecr:BatchGetImage\"]")), NULL},
    {"AWS principal list, wildcard action",
     DOC(STMT("Allow", "{\"AWS\":[\"" OTHER "\",\"123456789012\"]}", "\"ecr:*\"")), NULL},
    {"deny with Sid and 2008 version",
     "{\"Version\":\"2008-10-17\",\"Statement\":[{\"Sid\":\"x\",\"Effect\":\"Deny\","
     "\"Principal\":{\"AWS\":\"*\"},\"Action\":\"ecr:PutImage\"}]}",
     NULL},
    {"single statement object",
     "{\"Version\":\"2012-10-17\",\"Statement\":" STMT("Allow", "\"*\"", "\"*\"") "}", NULL},
    {"NotAction",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\","
     "\"Principal\":\"*\",\"NotAction\":\"ecr:BatchGetImage\"}]}",
     NULL},
    {"service principal",
     DOC(STMT("Allow", "{\"Service\":\"codebuild.amazonaws.com\"}", "\"ecr:BatchGetImage\"")),
     NULL},
    {"case-insensitive action", DOC(STMT("Allow", "\"*\"", "\"ECR:batchgetimage\"")), NULL},
    {"not JSON", "{", "not valid JSON"},
    {"empty text", "", "not valid JSON"},
    {"array", "[]", "must be a JSON object"},
    {"no version", "{\"Statement\":[" STMT("Allow", "\"*\"", "\"*\"") "]}", "Version '(missing)'"},
    {"bad version", "{\"Version\":\"2020-01-01\",\"Statement\":[]}", "Version '2020-01-01'"},
    {"unknown top-level", "{\"Version\":\"2012-10-17\",\"Foo\":1,\"Statement\":[]}",
     "unknown top-level element 'Foo'"},
    {"no statements", DOC(""), "Statement must be a non-empty list"},
    {"bad effect", DOC(STMT("Maybe", "\"*\"", "\"*\"")), "Statement[0].Effect 'Maybe'"},
    {"missing principal", DOC("{\"Effect\":\"Allow\",\"Action\":\"*\"}"),
     "Statement[0].Principal is required"},
    {"principal string not star", DOC(STMT("Allow", "\"" OTHER "\"", "\"*\"")),
     "must be \"*\" or an object"},
    {"principal bad key", DOC(STMT("Allow", "{\"Federated\":\"x\"}", "\"*\"")),
     "Statement[0].Federated is not supported"},
    {"principal not an ARN", DOC(STMT("Allow", "{\"AWS\":\"bob\"}", "\"*\"")),
     "Statement[0].AWS 'bob' is not a principal"},
    {"principal empty list", DOC(STMT("Allow", "{\"AWS\":[]}", "\"*\"")),
     "must be a string or a non-empty list"},
    {"action of another service", DOC(STMT("Allow", "\"*\"", "[\"s3:GetObject\"]")),
     "Statement[0].Action 's3:GetObject' is not an ECR action"},
    {"unknown ECR action", DOC(STMT("Allow", "\"*\"", "\"ecr:FlyAway\"")),
     "'ecr:FlyAway' is not an ECR action"},
    {"no action", DOC("{\"Effect\":\"Allow\",\"Principal\":\"*\"}"),
     "needs exactly one of Action and NotAction"},
    {"both Action and NotAction",
     DOC("{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"NotAction\":\"*\"}"),
     "needs exactly one of Action and NotAction"},
    {"Condition refused",
     DOC("{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Condition\":{}}"),
     "Statement[0].Condition is not supported"},
    {"Resource refused",
     DOC("{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\"}"),
     "Statement[0].Resource is not supported"},
    {"unknown statement element",
     DOC("{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Xyz\":1}"),
     "Statement[0] has unknown element 'Xyz'"},
    {"second statement named",
     DOC(STMT("Allow", "\"*\"", "\"*\"") "," STMT("Deny", "\"*\"", "\"ec2:*\"")),
     "Statement[1].Action 'ec2:*'"},
    {"duplicate keys refused",
     "{\"Version\":\"2012-10-17\",\"Version\":\"2012-10-17\",\"Statement\":[]}", "not valid JSON"},
};

static void test_validate_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(validate_cases); i++) {
        struct wh_err err = {0};
        int r = ecr_policy_validate(validate_cases[i].text, &err);
        const char *expect = validate_cases[i].expect;
        if (!expect && r != 0)
            fail_msg("[%s] expected valid, got: %s", validate_cases[i].name, err.msg);
        if (!expect)
            continue;
        if (r == 0)
            fail_msg("[%s] expected an error containing \"%s\"", validate_cases[i].name, expect);
        if (strcmp(err.type, "InvalidParameterException") != 0 || err.status != 400)
            fail_msg("[%s] got %s/%d", validate_cases[i].name, err.type, err.status);
        if (!strstr(err.msg, "Invalid repository policy provided") || !strstr(err.msg, expect))
            fail_msg("[%s] message\n  \"%s\"\nlacks\n  \"%s\"", validate_cases[i].name, err.msg,
                     expect);
    }
}

/* ---- evaluation ---- */

static const char *const decision_names[] = {"NO_MATCH", "ALLOW", "DENY"};

static const struct {
    const char *name, *policy, *principal, *action;
    enum ecr_policy_decision decision;
    bool allows;
} eval_cases[] = {
    {"no policy allows", NULL, ME, "ecr:BatchGetImage", ECR_POLICY_NO_MATCH, true},
    {"empty policy allows", "", ME, "ecr:PutImage", ECR_POLICY_NO_MATCH, true},
    {"star principal pull", DOC(STMT("Allow", "\"*\"", "\"ecr:BatchGetImage\"")), OTHER,
     "ecr:BatchGetImage", ECR_POLICY_ALLOW, true},
    {"pull-only policy refuses push", DOC(STMT("Allow", "\"*\"", "\"ecr:BatchGetImage\"")), ME,
     "ecr:PutImage", ECR_POLICY_NO_MATCH, false},
    {"account root ARN covers its users", DOC(STMT("Allow", "{\"AWS\":\"" ME "\"}", "\"ecr:*\"")),
     ME_USER, "ecr:PutImage", ECR_POLICY_ALLOW, true},
    {"bare account id covers the account",
     DOC(STMT("Allow", "{\"AWS\":[\"123456789012\"]}", "\"ecr:*\"")), ME, "ecr:PutImage",
     ECR_POLICY_ALLOW, true},
    {"other account not covered", DOC(STMT("Allow", "{\"AWS\":\"" OTHER "\"}", "\"ecr:*\"")), ME,
     "ecr:BatchGetImage", ECR_POLICY_NO_MATCH, false},
    {"user ARN matches only that user", DOC(STMT("Allow", "{\"AWS\":\"" ME_USER "\"}", "\"*\"")),
     ME, "ecr:BatchGetImage", ECR_POLICY_NO_MATCH, false},
    {"user ARN matches the user", DOC(STMT("Allow", "{\"AWS\":\"" ME_USER "\"}", "\"*\"")), ME_USER,
     "ecr:BatchGetImage", ECR_POLICY_ALLOW, true},
    {"deny wins over allow",
     DOC(STMT("Allow", "\"*\"", "\"ecr:*\"") "," STMT("Deny", "{\"AWS\":\"" ME "\"}",
                                                      "\"ecr:PutImage\"")),
     ME, "ecr:PutImage", ECR_POLICY_DENY, false},
    {"deny of push leaves pull",
     DOC(STMT("Allow", "\"*\"", "\"ecr:*\"") "," STMT("Deny", "\"*\"", "\"ecr:PutImage\"")), ME,
     "ecr:BatchGetImage", ECR_POLICY_ALLOW, true},
    {"action wildcard prefix", DOC(STMT("Allow", "\"*\"", "\"ecr:Batch*\"")), ME,
     "ecr:BatchCheckLayerAvailability", ECR_POLICY_ALLOW, true},
    {"action wildcard question mark", DOC(STMT("Allow", "\"*\"", "\"ecr:?utImage\"")), ME,
     "ecr:PutImage", ECR_POLICY_ALLOW, true},
    {"action case-insensitive", DOC(STMT("Allow", "\"*\"", "\"ECR:PUTIMAGE\"")), ME, "ecr:PutImage",
     ECR_POLICY_ALLOW, true},
    {"star action", DOC(STMT("Allow", "\"*\"", "\"*\"")), ME, "ecr:UploadLayerPart",
     ECR_POLICY_ALLOW, true},
    {"NotAction allows the rest",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
     "\"NotAction\":\"ecr:PutImage\"}]}",
     ME, "ecr:BatchGetImage", ECR_POLICY_ALLOW, true},
    {"NotAction excludes its action",
     "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
     "\"NotAction\":\"ecr:PutImage\"}]}",
     ME, "ecr:PutImage", ECR_POLICY_NO_MATCH, false},
    {"service principal never matches a user",
     DOC(STMT("Allow", "{\"Service\":\"codebuild.amazonaws.com\"}", "\"*\"")), ME,
     "ecr:BatchGetImage", ECR_POLICY_NO_MATCH, false},
    {"AWS star in object", DOC(STMT("Allow", "{\"AWS\":\"*\"}", "\"ecr:BatchGetImage\"")), OTHER,
     "ecr:BatchGetImage", ECR_POLICY_ALLOW, true},
    {"corrupt policy fails closed", "{\"Version\":", ME, "ecr:BatchGetImage", ECR_POLICY_DENY,
     false},
    {"invalid policy fails closed", DOC(STMT("Allow", "\"*\"", "\"s3:*\"")), ME,
     "ecr:BatchGetImage", ECR_POLICY_DENY, false},
};

static void test_eval_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(eval_cases); i++) {
        enum ecr_policy_decision d = ecr_policy_evaluate(
            eval_cases[i].policy, eval_cases[i].principal, eval_cases[i].action);
        if (d != eval_cases[i].decision)
            fail_msg("[%s] %s %s: expected %s, got %s", eval_cases[i].name, eval_cases[i].principal,
                     eval_cases[i].action, decision_names[eval_cases[i].decision],
                     decision_names[d]);
        bool a =
            ecr_policy_allows(eval_cases[i].policy, eval_cases[i].principal, eval_cases[i].action);
        if (a != eval_cases[i].allows)
            fail_msg("[%s] ecr_policy_allows: expected %d, got %d", eval_cases[i].name,
                     eval_cases[i].allows, a);
    }
}

/* ---- wildcards ---- */

static void test_glob(void **state)
{
    (void)state;
    static const struct {
        const char *pattern, *s;
        unsigned flags;
        bool match;
    } cases[] = {
        {"prod*", "prod", 0, true},
        {"prod*", "prod-1", 0, true},
        {"prod*", "pro", 0, false},
        {"*prod", "my-prod", 0, true},
        {"*-rc*", "1.0-rc2", 0, true},
        {"*-rc*", "1.0", 0, false},
        {"a*b*c", "abc", 0, true},
        {"a*b*c", "aXbYc", 0, true},
        {"a*b*c", "aXbY", 0, false},
        {"*", "", 0, true},
        {"", "", 0, true},
        {"", "x", 0, false},
        {"prod", "prod", 0, true},
        {"prod", "Prod", 0, false},
        {"prod", "Prod", GLOB_ICASE, true},
        {"?x", "ax", 0, false},
        {"?x", "ax", GLOB_QUESTION, true},
        {"?x", "x", GLOB_QUESTION, false},
        {"*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, false},
        {"**x**", "yyyx", 0, true},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        if (glob_match(cases[i].pattern, cases[i].s, cases[i].flags) != cases[i].match)
            fail_msg("glob_match('%s', '%s', %u): expected %d", cases[i].pattern, cases[i].s,
                     cases[i].flags, cases[i].match);
}

/* ---- tag mutability ---- */

static void test_mutability(void **state)
{
    (void)state;
    static const char filters[] = "[{\"filterType\":\"WILDCARD\",\"filter\":\"latest\"},"
                                  "{\"filterType\":\"WILDCARD\",\"filter\":\"dev-*\"}]";
    json_auto_t *f = json_loads(filters, 0, NULL);
    struct wh_err err = {0};
    assert_int_equal(ecr_mutability_check("IMMUTABLE_WITH_EXCLUSION", f, &err), 0);
    assert_int_equal(ecr_mutability_check("IMMUTABLE", NULL, &err), 0);
    assert_int_equal(ecr_mutability_check(NULL, NULL, &err), 0);
    assert_int_equal(ecr_mutability_check("IMMUTABLE", f, &err), -1);
    assert_non_null(strstr(err.msg, "not IMMUTABLE"));
    assert_int_equal(ecr_mutability_check("MUTABLE_WITH_EXCLUSION", NULL, &err), -1);
    assert_non_null(strstr(err.msg, "requires imageTagMutabilityExclusionFilters"));
}

/* ---- advertised host ---- */

static void test_registry_host(void **state)
{
    (void)state;
    struct wharf_config cfg = {.listen_host = "127.0.0.1", .listen_port = 4566};
    cleanup_free char *a = ecr_repository_uri(&cfg, "123456789012", "us-east-1", "team/web");
    assert_string_equal(a, "127.0.0.1:4566/team/web");
    cfg.listen_host = "0.0.0.0";
    cleanup_free char *b = ecr_registry_host(&cfg, "123456789012", "us-east-1");
    assert_string_equal(b, "localhost:4566");
    cfg.listen_host = "::1";
    cleanup_free char *c = ecr_registry_host(&cfg, "123456789012", "us-east-1");
    assert_string_equal(c, "[::1]:4566");
    cfg.registry_host = "{account}.dkr.ecr.{region}.localhost:4566";
    cleanup_free char *d = ecr_repository_uri(&cfg, "123456789012", "eu-west-1", "app");
    assert_string_equal(d, "123456789012.dkr.ecr.eu-west-1.localhost:4566/app");
    cleanup_free char *e = ecr_host_expand("{region}{region}-{acc}{account}", "1", "r");
    assert_string_equal(e, "rr-{acc}1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_table), cmocka_unit_test(test_eval_table),
        cmocka_unit_test(test_glob),           cmocka_unit_test(test_mutability),
        cmocka_unit_test(test_registry_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
