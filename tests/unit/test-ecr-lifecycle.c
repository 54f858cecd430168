/* Lifecycle policies (src/ecr/lifecycle_eval.c): parsing and validation, tag selection and the
 * evaluation rules, as tables of {policy, images, expected verdicts}; plus the scheduler's
 * interval parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/xalloc.h"
#include "ecr/lifecycle_eval.h"
#include "ecr/lifecycle_sched.h"

#define DAY 86400.0
#define NOW 1700000000.0
#define MAX_IMAGES 12
#define MAX_TAGS 4

/* ---- helpers: a rule as JSON text ---- */

#define RULE(prio, sel)                                                                            \
    "{\"rulePriority\":" #prio ",\"selection\":{" sel "},\"action\":{\"type\":\"expire\"}}"
#define P1(a) "{\"rules\":[" a "]}"
#define P2(a, b) "{\"rules\":[" a "," b "]}"
#define P3(a, b, c) "{\"rules\":[" a "," b "," c "]}"
#define COUNT_MORE(n) "\"countType\":\"imageCountMoreThan\",\"countNumber\":" #n
#define SINCE_DAYS(n)                                                                              \
    "\"countType\":\"sinceImagePushed\",\"countUnit\":\"days\",\"countNumber\":" #n
#define UNTAGGED "\"tagStatus\":\"untagged\","
#define ANY "\"tagStatus\":\"any\","
#define PREFIX(list) "\"tagStatus\":\"tagged\",\"tagPrefixList\":[" list "],"
#define PATTERN(list) "\"tagStatus\":\"tagged\",\"tagPatternList\":[" list "],"

/* ---- parse errors ---- */

struct parse_case {
    const char *name;
    const char *text;
    const char *expect; /* substring of the message; NULL: must parse */
};

static const struct parse_case parse_cases[] = {
    {"minimal count rule", P1(RULE(1, UNTAGGED COUNT_MORE(1))), NULL},
    {"prefix and pattern rules, any last",
     P3(RULE(1, PREFIX("\"prod\"") COUNT_MORE(3)), RULE(2, PATTERN("\"dev-*\"") SINCE_DAYS(7)),
        RULE(9, ANY SINCE_DAYS(30))),
     NULL},
    {"priorities unordered in the document",
     P2(RULE(5, ANY COUNT_MORE(100)), RULE(2, UNTAGGED SINCE_DAYS(1))), NULL},
    {"description allowed",
     "{\"rules\":[{\"rulePriority\":1,\"description\":\"d\",\"selection\":{" UNTAGGED COUNT_MORE(
         1) "},\"action\":{\"type\":\"expire\"}}]}",
     NULL},
    {"four wildcards allowed", P1(RULE(1, PATTERN("\"*a*b*c*\"") COUNT_MORE(1))), NULL},
    {"not JSON", "{rules:", "not valid JSON"},
    {"not an object", "[]", "must be a JSON object"},
    {"no rules", "{\"rules\":[]}", "rules must be a non-empty list"},
    {"unknown top-level key", "{\"rules\":[" RULE(1, UNTAGGED COUNT_MORE(1)) "],\"x\":1}",
     "unknown property 'x'"},
    {"unknown rule key",
     "{\"rules\":[{\"rulePriority\":1,\"bogus\":1,\"selection\":{" UNTAGGED COUNT_MORE(
         1) "},\"action\":{\"type\":\"expire\"}}]}",
     "rules[0] has unknown property 'bogus'"},
    {"priority zero", P1(RULE(0, UNTAGGED COUNT_MORE(1))),
     "rules[0].rulePriority must be a positive integer"},
    {"priority string",
     "{\"rules\":[{\"rulePriority\":\"1\",\"selection\":{" UNTAGGED COUNT_MORE(
         1) "},\"action\":{\"type\":\"expire\"}}]}",
     "rulePriority must be a positive integer"},
    {"duplicate priority",
     P2(RULE(1, UNTAGGED COUNT_MORE(1)), RULE(1, PREFIX("\"a\"") COUNT_MORE(1))),
     "rulePriority 1 is used by more than one rule"},
    {"missing tagStatus", P1(RULE(1, COUNT_MORE(1))), "rules[0].selection.tagStatus is required"},
    {"bad tagStatus", P1(RULE(1, "\"tagStatus\":\"TAGGED\"," COUNT_MORE(1))),
     "tagStatus 'TAGGED' must be tagged, untagged or any"},
    {"tagged without lists", P1(RULE(1, "\"tagStatus\":\"tagged\"," COUNT_MORE(1))),
     "needs exactly one of tagPrefixList and tagPatternList"},
    {"tagged with both lists",
     P1(RULE(1, "\"tagStatus\":\"tagged\",\"tagPrefixList\":[\"a\"],\"tagPatternList\":[\"a*\"]"
                "," COUNT_MORE(1))),
     "needs exactly one of tagPrefixList and tagPatternList"},
    {"untagged with prefixes",
     P1(RULE(1, "\"tagStatus\":\"untagged\",\"tagPrefixList\":[\"a\"]," COUNT_MORE(1))),
     "tagPrefixList is only allowed with tagStatus tagged"},
    {"any with patterns",
     P1(RULE(1, "\"tagStatus\":\"any\",\"tagPatternList\":[\"a*\"]," COUNT_MORE(1))),
     "tagPatternList is only allowed with tagStatus tagged"},
    {"empty prefix list", P1(RULE(1, PREFIX("") COUNT_MORE(1))),
     "tagPrefixList must be a non-empty list"},
    {"empty prefix string", P1(RULE(1, PREFIX("\"\"") COUNT_MORE(1))),
     "tagPrefixList[0] must be a non-empty string"},
    {"five wildcards", P1(RULE(1, PATTERN("\"*a*b*c*d*\"") COUNT_MORE(1))),
     "has more than 4 wildcards"},
    {"missing countType", P1(RULE(1, UNTAGGED "\"countNumber\":1")), "countType is required"},
    {"unsupported countType",
     P1(RULE(1, UNTAGGED "\"countType\":\"sinceImagePulled\",\"countUnit\":\"days\","
                         "\"countNumber\":1")),
     "countType 'sinceImagePulled' is not supported"},
    {"countNumber zero", P1(RULE(1, UNTAGGED COUNT_MORE(0))),
     "countNumber must be an integer of at least 1"},
    {"countNumber missing", P1(RULE(1, UNTAGGED "\"countType\":\"imageCountMoreThan\"")),
     "countNumber must be an integer of at least 1"},
    {"countUnit with imageCountMoreThan",
     P1(RULE(1, UNTAGGED COUNT_MORE(1) ",\"countUnit\":\"days\"")),
     "countUnit must not be set when countType is imageCountMoreThan"},
    {"countUnit missing with sinceImagePushed",
     P1(RULE(1, UNTAGGED "\"countType\":\"sinceImagePushed\",\"countNumber\":1")),
     "countUnit is required when countType is sinceImagePushed"},
    {"countUnit hours",
     P1(RULE(1, UNTAGGED "\"countType\":\"sinceImagePushed\",\"countUnit\":\"hours\","
                         "\"countNumber\":1")),
     "countUnit 'hours' must be 'days'"},
    {"unknown selection key", P1(RULE(1, UNTAGGED COUNT_MORE(1) ",\"x\":1")),
     "rules[0].selection has unknown property 'x'"},
    {"action transition",
     "{\"rules\":[{\"rulePriority\":1,\"selection\":{" UNTAGGED COUNT_MORE(
         1) "},\"action\":{\"type\":\"transition\"}}]}",
     "action.type 'transition' is not supported"},
    {"missing action",
     "{\"rules\":[{\"rulePriority\":1,\"selection\":{" UNTAGGED COUNT_MORE(1) "}}]}",
     "rules[0].action is required"},
    {"two untagged rules", P2(RULE(1, UNTAGGED COUNT_MORE(1)), RULE(2, UNTAGGED SINCE_DAYS(1))),
     "only one rule may select untagged images"},
    {"any not last", P2(RULE(1, ANY COUNT_MORE(5)), RULE(2, PREFIX("\"a\"") COUNT_MORE(1))),
     "the rule with tagStatus any (rulePriority 1) must have the highest rulePriority"},
    {"second rule named in message",
     P2(RULE(1, UNTAGGED COUNT_MORE(1)), RULE(2, PREFIX("\"a\"") COUNT_MORE(-1))),
     "rules[1].selection.countNumber"},
};

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
        const struct parse_case *c = &parse_cases[i];
        struct ecr_lifecycle *p = NULL;
        struct wh_err err = {0};
        int r = ecr_lifecycle_parse(c->text, &p, &err);
        if (!c->expect) {
            if (r != 0)
                fail_msg("[%s] expected to parse, got: %s", c->name, err.msg);
            ecr_lifecycle_free(p);
            continue;
        }
        if (r == 0)
            fail_msg("[%s] expected an error containing \"%s\", but it parsed", c->name, c->expect);
        if (strcmp(err.type, "InvalidParameterException") != 0 || err.status != 400)
            fail_msg("[%s] error type %s/%d, expected InvalidParameterException/400", c->name,
                     err.type, err.status);
        if (!strstr(err.msg, c->expect))
            fail_msg("[%s] message\n  \"%s\"\nlacks\n  \"%s\"", c->name, err.msg, c->expect);
    }
}

static void test_parse_sorts_rules(void **state)
{
    (void)state;
    struct ecr_lifecycle *p = NULL;
    struct wh_err err = {0};
    assert_int_equal(ecr_lifecycle_parse(P3(RULE(30, ANY COUNT_MORE(9)),
                                            RULE(2, PREFIX("\"x\",\"y\"") SINCE_DAYS(4)),
                                            RULE(7, UNTAGGED COUNT_MORE(1))),
                                         &p, &err),
                     0);
    assert_int_equal(p->nrules, 3);
    assert_int_equal(p->rules[0].priority, 2);
    assert_int_equal(p->rules[0].tag_status, ECR_LC_TAGGED);
    assert_int_equal(p->rules[0].nprefixes, 2);
    assert_string_equal(p->rules[0].prefixes[1], "y");
    assert_int_equal(p->rules[0].count_type, ECR_LC_SINCE_PUSHED);
    assert_int_equal(p->rules[0].count_number, 4);
    assert_int_equal(p->rules[1].priority, 7);
    assert_int_equal(p->rules[2].priority, 30);
    assert_int_equal(p->rules[2].tag_status, ECR_LC_ANY);
    ecr_lifecycle_free(p);
}

/* ---- evaluation ---- */

struct img {
    const char *digest;
    const char *tags[MAX_TAGS]; /* NULL-terminated */
    double age_days;
};

struct eval_case {
    const char *name;
    const char *policy;
    struct img images[MAX_IMAGES]; /* ends at digest NULL */
    int expect[MAX_IMAGES];        /* rulePriority expiring each image, 0 kept */
};

static const struct eval_case eval_cases[] = {
    {"untagged: keep the newest one",
     P1(RULE(1, UNTAGGED COUNT_MORE(1))),
     {{"a", {NULL}, 3}, {"b", {NULL}, 1}, {"c", {NULL}, 2}, {"d", {"v1"}, 9}},
     {1, 0, 1, 0}},
    {"untagged: older than 2 days",
     P1(RULE(1, UNTAGGED SINCE_DAYS(2))),
     {{"a", {NULL}, 3}, {"b", {NULL}, 1}, {"c", {NULL}, 2.5}, {"d", {"v1"}, 9}},
     {1, 0, 1, 0}},
    {"exactly countNumber days is not older",
     P1(RULE(1, ANY SINCE_DAYS(2))),
     {{"a", {NULL}, 2}, {"b", {NULL}, 2.0001}},
     {0, 1}},
    {"prefix keeps the 2 newest prod images",
     P1(RULE(1, PREFIX("\"prod\"") COUNT_MORE(2))),
     {{"a", {"prod-1"}, 4},
      {"b", {"prod-2"}, 3},
      {"c", {"prod-3"}, 2},
      {"d", {"dev-1"}, 10},
      {"e", {NULL}, 10},
      {"f", {"production"}, 1}},
     {1, 1, 0, 0, 0, 0}},
    {"prefix list needs every prefix matched by some tag",
     P1(RULE(1, PREFIX("\"prod\",\"v\"") COUNT_MORE(1))),
     {{"a", {"prod", "v1"}, 3},
      {"b", {"prod"}, 2},
      {"c", {"v2", "prod-x"}, 1},
      {"d", {"prodv"}, 5}},
     {1, 0, 0, 0}},
    {"pattern list with wildcards",
     P1(RULE(1, PATTERN("\"*-rc*\"") COUNT_MORE(1))),
     {{"a", {"1.0-rc1"}, 3}, {"b", {"1.1-rc2"}, 2}, {"c", {"1.1"}, 9}, {"d", {"rc"}, 9}},
     {1, 0, 0, 0}},
    {"pattern without wildcard matches whole tag only",
     P1(RULE(1, PATTERN("\"prod\"") SINCE_DAYS(1))),
     {{"a", {"prod"}, 3}, {"b", {"prod1"}, 3}},
     {1, 0}},
    {"pattern list needs every pattern",
     P1(RULE(1, PATTERN("\"prod*\",\"*web\"") SINCE_DAYS(1))),
     {{"a", {"prod-api"}, 3}, {"b", {"prod-api", "x-web"}, 3}, {"c", {"prod-web"}, 3}},
     {0, 1, 1}},
    {"any: count over every image",
     P1(RULE(1, ANY COUNT_MORE(2))),
     {{"a", {"x"}, 5}, {"b", {NULL}, 4}, {"c", {"y"}, 3}, {"d", {NULL}, 2}},
     {1, 1, 0, 0}},
    {"an image claimed by a higher rule is not expired by a lower one",
     P2(RULE(1, PREFIX("\"prod\"") COUNT_MORE(5)), RULE(2, ANY SINCE_DAYS(1))),
     {{"a", {"prod-1"}, 30}, {"b", {"dev"}, 30}, {"c", {NULL}, 30}, {"d", {NULL}, 0.5}},
     {0, 2, 2, 0}},
    {"lower rules count claimed images (AWS example A)",
     P2(RULE(1, PREFIX("\"alpha\"") COUNT_MORE(1)), RULE(2, PREFIX("\"beta\"") COUNT_MORE(1))),
     {{"A", {"alpha-1", "beta-1"}, 10}, {"B", {"alpha-2"}, 9}, {"C", {"beta-2"}, 8}},
     {1, 0, 0}},
    {"AWS example B",
     P2(RULE(1, PREFIX("\"alpha\"") COUNT_MORE(1)), RULE(2, PREFIX("\"beta\"") COUNT_MORE(1))),
     {{"A", {"alpha-1", "beta-1"}, 10}, {"B", {"alpha-2", "beta-2"}, 9}, {"C", {"alpha-3"}, 8}},
     {1, 1, 0}},
    {"count includes claimed images: the claimed newest still occupies a slot",
     P2(RULE(1, PREFIX("\"keep\"") COUNT_MORE(9)), RULE(2, ANY COUNT_MORE(1))),
     {{"a", {"keep"}, 1}, {"b", {NULL}, 2}, {"c", {"x"}, 3}},
     {0, 2, 2}},
    {"first rule by priority wins regardless of document order",
     P2(RULE(2, ANY SINCE_DAYS(1)), RULE(1, UNTAGGED COUNT_MORE(1))),
     {{"a", {NULL}, 5}, {"b", {NULL}, 4}, {"c", {"t"}, 3}},
     {1, 0, 2}},
    {"untagged rule ignores tagged images; rule 2 claims the tagged",
     P2(RULE(1, UNTAGGED SINCE_DAYS(100)), RULE(2, ANY COUNT_MORE(1))),
     {{"a", {NULL}, 5}, {"b", {"t1"}, 4}, {"c", {"t2"}, 3}},
     {0, 2, 0}},
    {"ties in push time break by digest",
     P1(RULE(1, ANY COUNT_MORE(1))),
     {{"sha256:bb", {NULL}, 1}, {"sha256:aa", {NULL}, 1}, {"sha256:cc", {NULL}, 1}},
     {1, 0, 1}},
    {"no images", P1(RULE(1, ANY COUNT_MORE(1))), {{NULL}}, {0}},
};

static void run_eval_case(const struct eval_case *c)
{
    struct ecr_lifecycle *p = NULL;
    struct wh_err err = {0};
    if (ecr_lifecycle_parse(c->policy, &p, &err) < 0)
        fail_msg("[%s] policy does not parse: %s", c->name, err.msg);
    struct ecr_lc_image imgs[MAX_IMAGES];
    size_t n = 0;
    for (; n < MAX_IMAGES && c->images[n].digest; n++) {
        size_t nt = 0;
        while (nt < MAX_TAGS && c->images[n].tags[nt])
            nt++;
        imgs[n] = (struct ecr_lc_image){c->images[n].digest, c->images[n].tags, nt,
                                        NOW - c->images[n].age_days * DAY};
    }
    int got[MAX_IMAGES] = {0};
    ecr_lifecycle_evaluate(p, imgs, n, NOW, got);
    ecr_lifecycle_free(p);
    for (size_t i = 0; i < n; i++) {
        if (got[i] == c->expect[i])
            continue;
        char want[128] = "", have[128] = "";
        for (size_t k = 0; k < n; k++) {
            snprintf(want + strlen(want), sizeof(want) - strlen(want), " %s=%d",
                     c->images[k].digest, c->expect[k]);
            snprintf(have + strlen(have), sizeof(have) - strlen(have), " %s=%d",
                     c->images[k].digest, got[k]);
        }
        fail_msg("[%s] image %s: expected rule %d, got %d\n  expected:%s\n  got:     %s", c->name,
                 c->images[i].digest, c->expect[i], got[i], want, have);
    }
}

static void test_eval_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(eval_cases); i++)
        run_eval_case(&eval_cases[i]);
}

/* The order of the input does not change any image's verdict. */
static void test_eval_order_independent(void **state)
{
    (void)state;
    struct ecr_lifecycle *p = NULL;
    struct wh_err err = {0};
    assert_int_equal(
        ecr_lifecycle_parse(P2(RULE(1, PREFIX("\"v\"") COUNT_MORE(2)), RULE(2, ANY SINCE_DAYS(3))),
                            &p, &err),
        0);
    static const char *const t1[] = {"v1"}, *const t2[] = {"v2"}, *const t3[] = {"v3"},
                             *const t4[] = {"x"};
    struct ecr_lc_image fwd[] = {
        {"d1", t1, 1, NOW - 9 * DAY}, {"d2", t2, 1, NOW - 8 * DAY},   {"d3", t3, 1, NOW - 1 * DAY},
        {"d4", t4, 1, NOW - 5 * DAY}, {"d5", NULL, 0, NOW - 1 * DAY},
    };
    struct ecr_lc_image rev[ARRAY_SIZE(fwd)];
    for (size_t i = 0; i < ARRAY_SIZE(fwd); i++)
        rev[i] = fwd[ARRAY_SIZE(fwd) - 1 - i];
    int a[ARRAY_SIZE(fwd)], b[ARRAY_SIZE(fwd)];
    ecr_lifecycle_evaluate(p, fwd, ARRAY_SIZE(fwd), NOW, a);
    ecr_lifecycle_evaluate(p, rev, ARRAY_SIZE(fwd), NOW, b);
    for (size_t i = 0; i < ARRAY_SIZE(fwd); i++)
        assert_int_equal(a[i], b[ARRAY_SIZE(fwd) - 1 - i]);
    static const int expect[] = {1, 0, 0, 2, 0};
    for (size_t i = 0; i < ARRAY_SIZE(fwd); i++)
        if (a[i] != expect[i])
            fail_msg("image %s: expected %d, got %d", fwd[i].digest, expect[i], a[i]);
    ecr_lifecycle_free(p);
}

/* ---- the scheduler's interval flag ---- */

static void test_interval_parse(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        double secs; /* -1: refused */
    } cases[] = {
        {"60", 3600}, {"0", 0},     {"90s", 90}, {"15m", 900}, {"2h", 7200},
        {"1.5m", 90}, {"", -1},     {"m", -1},   {"-5", -1},   {"5x", -1},
        {"5ms", -1},  {"0.5s", -1}, {"8d", -1},  {"169h", -1}, {"168h", 604800},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        double got = -2;
        int r = ecr_lifecycle_interval_parse(cases[i].in, &got);
        if (cases[i].secs < 0 && r == 0)
            fail_msg("interval '%s' accepted as %g s, expected refusal", cases[i].in, got);
        if (cases[i].secs >= 0 && (r != 0 || got != cases[i].secs))
            fail_msg("interval '%s': expected %g s, got r=%d %g", cases[i].in, cases[i].secs, r,
                     got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),    cmocka_unit_test(test_parse_sorts_rules),
        cmocka_unit_test(test_eval_table),     cmocka_unit_test(test_eval_order_independent),
        cmocka_unit_test(test_interval_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
