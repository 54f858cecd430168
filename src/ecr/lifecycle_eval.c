/* Lifecycle policy parsing and rule evaluation (see lifecycle_eval.h). */
#include "ecr/lifecycle_eval.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/xalloc.h"
#include "ecr/glob.h"

#define SECONDS_PER_DAY 86400.0

static const char *const rule_keys[] = {"rulePriority", "description", "selection", "action"};
static const char *const selection_keys[] = {"tagStatus", "tagPrefixList", "tagPatternList",
                                             "countType", "countUnit",     "countNumber"};

/* InvalidParameterException with ECR's prefix; returns -1. */
static int __attribute__((format(printf, 2, 3))) bad(struct wh_err *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char msg[sizeof(err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return wh_err_set(err, 400, "InvalidParameterException",
                      "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
                      "'Lifecycle policy validation failure: %s'",
                      msg);
}

static int check_keys(const char *where, const json_t *obj, const char *const *keys, size_t n,
                      struct wh_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        size_t i = 0;
        while (i < n && strcmp(key, keys[i]) != 0)
            i++;
        if (i == n)
            return bad(err, "%s has unknown property '%s'", where, key);
    }
    return 0;
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

/* tagPrefixList / tagPatternList: a non-empty list of non-empty strings. */
static int parse_tag_list(const char *where, const json_t *v, bool pattern, char ***ret_list,
                          size_t *ret_n, struct wh_err *err)
{
    if (!json_is_array(v) || json_array_size(v) == 0)
        return bad(err, "%s must be a non-empty list of strings", where);
    size_t n = json_array_size(v);
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(v, i));
        if (!s || !*s)
            return bad(err, "%s[%zu] must be a non-empty string", where, i);
        if (pattern && count_char(s, '*') > ECR_LC_MAX_WILDCARDS)
            return bad(err, "%s[%zu] '%s' has more than %d wildcards (*)", where, i, s,
                       ECR_LC_MAX_WILDCARDS);
    }
    char **list = xcalloc(n, sizeof(*list));
    for (size_t i = 0; i < n; i++)
        list[i] = xstrdup(json_string_value(json_array_get(v, i)));
    *ret_list = list;
    *ret_n = n;
    return 0;
}

static int parse_tag_status(const char *where, const json_t *sel, struct ecr_lc_rule *r,
                            struct wh_err *err)
{
    static const char *const names[] = {
        [ECR_LC_TAGGED] = "tagged", [ECR_LC_UNTAGGED] = "untagged", [ECR_LC_ANY] = "any"};
    const char *ts = json_string_value(json_object_get(sel, "tagStatus"));
    if (!ts)
        return bad(err, "%s.tagStatus is required (tagged, untagged or any)", where);
    size_t i = 0;
    while (i < ARRAY_SIZE(names) && strcmp(ts, names[i]) != 0)
        i++;
    if (i == ARRAY_SIZE(names))
        return bad(err, "%s.tagStatus '%s' must be tagged, untagged or any", where, ts);
    r->tag_status = (enum ecr_lc_tag_status)i;
    const json_t *prefixes = json_object_get(sel, "tagPrefixList");
    const json_t *patterns = json_object_get(sel, "tagPatternList");
    char sub[96];
    if (r->tag_status != ECR_LC_TAGGED) {
        if (prefixes || patterns)
            return bad(err, "%s.%s is only allowed with tagStatus tagged, not '%s'", where,
                       prefixes ? "tagPrefixList" : "tagPatternList", ts);
        return 0;
    }
    if (!prefixes == !patterns)
        return bad(err,
                   "%s with tagStatus tagged needs exactly one of tagPrefixList and "
                   "tagPatternList",
                   where);
    snprintf(sub, sizeof(sub), "%s.%s", where, prefixes ? "tagPrefixList" : "tagPatternList");
    if (prefixes)
        return parse_tag_list(sub, prefixes, false, &r->prefixes, &r->nprefixes, err);
    return parse_tag_list(sub, patterns, true, &r->patterns, &r->npatterns, err);
}

static int parse_count(const char *where, const json_t *sel, struct ecr_lc_rule *r,
                       struct wh_err *err)
{
    const char *ct = json_string_value(json_object_get(sel, "countType"));
    if (!ct)
        return bad(err, "%s.countType is required (imageCountMoreThan or sinceImagePushed)", where);
    if (strcmp(ct, "imageCountMoreThan") == 0)
        r->count_type = ECR_LC_COUNT_MORE_THAN;
    else if (strcmp(ct, "sinceImagePushed") == 0)
        r->count_type = ECR_LC_SINCE_PUSHED;
    else
        return bad(err,
                   "%s.countType '%s' is not supported (imageCountMoreThan or "
                   "sinceImagePushed)",
                   where, ct);
    const json_t *num = json_object_get(sel, "countNumber");
    if (!json_is_integer(num) || json_integer_value(num) < 1)
        return bad(err, "%s.countNumber must be an integer of at least 1", where);
    r->count_number = json_integer_value(num);
    const json_t *unit = json_object_get(sel, "countUnit");
    if (r->count_type == ECR_LC_COUNT_MORE_THAN) {
        if (unit)
            return bad(err, "%s.countUnit must not be set when countType is imageCountMoreThan",
                       where);
        return 0;
    }
    if (!unit)
        return bad(err, "%s.countUnit is required when countType is sinceImagePushed", where);
    if (!json_is_string(unit) || strcmp(json_string_value(unit), "days") != 0)
        return bad(err, "%s.countUnit '%s' must be 'days'", where,
                   json_is_string(unit) ? json_string_value(unit) : "(not a string)");
    return 0;
}

static int parse_action(const char *where, const json_t *action, struct wh_err *err)
{
    if (!json_is_object(action))
        return bad(err, "%s.action is required: {\"type\": \"expire\"}", where);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)action, key, v) {
        if (strcmp(key, "type") != 0)
            return bad(err, "%s.action has unknown property '%s'", where, key);
    }
    const char *type = json_string_value(json_object_get(action, "type"));
    if (!type || strcmp(type, "expire") != 0)
        return bad(err, "%s.action.type '%s' is not supported (expire)", where,
                   type ? type : "(missing)");
    return 0;
}

static int parse_rule(size_t idx, const json_t *j, struct ecr_lc_rule *r, struct wh_err *err)
{
    char where[32], sel_where[48];
    snprintf(where, sizeof(where), "rules[%zu]", idx);
    snprintf(sel_where, sizeof(sel_where), "%s.selection", where);
    if (!json_is_object(j))
        return bad(err, "%s must be an object", where);
    if (check_keys(where, j, rule_keys, ARRAY_SIZE(rule_keys), err) < 0)
        return -1;
    const json_t *prio = json_object_get(j, "rulePriority");
    if (!json_is_integer(prio) || json_integer_value(prio) < 1 ||
        json_integer_value(prio) > INT32_MAX)
        return bad(err, "%s.rulePriority must be a positive integer", where);
    r->priority = (int)json_integer_value(prio);
    const json_t *desc = json_object_get(j, "description");
    if (desc && !json_is_string(desc))
        return bad(err, "%s.description must be a string", where);
    const json_t *sel = json_object_get(j, "selection");
    if (!json_is_object(sel))
        return bad(err, "%s is required and must be an object", sel_where);
    if (check_keys(sel_where, sel, selection_keys, ARRAY_SIZE(selection_keys), err) < 0 ||
        parse_tag_status(sel_where, sel, r, err) < 0 || parse_count(sel_where, sel, r, err) < 0)
        return -1;
    return parse_action(where, json_object_get(j, "action"), err);
}

static int rule_cmp(const void *a, const void *b)
{
    const struct ecr_lc_rule *x = a, *y = b;
    return (x->priority > y->priority) - (x->priority < y->priority);
}

/* Rules that only make sense together: unique priorities, one untagged rule, "any" last. */
static int check_rule_set(const struct ecr_lifecycle *p, struct wh_err *err)
{
    size_t untagged = 0;
    for (size_t i = 0; i < p->nrules; i++) {
        const struct ecr_lc_rule *r = &p->rules[i];
        if (i > 0 && r->priority == p->rules[i - 1].priority)
            return bad(err, "rulePriority %d is used by more than one rule", r->priority);
        if (r->tag_status == ECR_LC_UNTAGGED && ++untagged > 1)
            return bad(err, "only one rule may select untagged images");
        if (r->tag_status == ECR_LC_ANY && i != p->nrules - 1)
            return bad(err,
                       "the rule with tagStatus any (rulePriority %d) must have the highest "
                       "rulePriority, but rulePriority %d is higher",
                       r->priority, p->rules[p->nrules - 1].priority);
    }
    return 0;
}

static int parse_document(const json_t *doc, struct ecr_lifecycle *p, struct wh_err *err)
{
    if (!json_is_object(doc))
        return bad(err, "the policy must be a JSON object with a rules list");
    static const char *const top_keys[] = {"rules"};
    if (check_keys("the policy", doc, top_keys, ARRAY_SIZE(top_keys), err) < 0)
        return -1;
    const json_t *rules = json_object_get(doc, "rules");
    if (!json_is_array(rules) || json_array_size(rules) == 0)
        return bad(err, "rules must be a non-empty list");
    if (json_array_size(rules) > ECR_LC_MAX_RULES)
        return bad(err, "rules has %zu rules, more than the limit of %d", json_array_size(rules),
                   ECR_LC_MAX_RULES);
    p->rules = xcalloc(json_array_size(rules), sizeof(*p->rules));
    for (size_t i = 0; i < json_array_size(rules); i++) {
        p->nrules = i + 1;
        if (parse_rule(i, json_array_get(rules, i), &p->rules[i], err) < 0)
            return -1;
    }
    qsort(p->rules, p->nrules, sizeof(*p->rules), rule_cmp);
    return check_rule_set(p, err);
}

int ecr_lifecycle_parse(const char *text, struct ecr_lifecycle **ret_policy, struct wh_err *err)
{
    json_error_t je;
    json_auto_t *doc = json_loads(text ? text : "", JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return bad(err, "not valid JSON: %s at line %d column %d", je.text, je.line, je.column);
    struct ecr_lifecycle *p = xcalloc(1, sizeof(*p));
    if (parse_document(doc, p, err) < 0) {
        ecr_lifecycle_free(p);
        return -1;
    }
    *ret_policy = p;
    return 0;
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

void ecr_lifecycle_free(struct ecr_lifecycle *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nrules; i++) {
        free_list(p->rules[i].prefixes, p->rules[i].nprefixes);
        free_list(p->rules[i].patterns, p->rules[i].npatterns);
    }
    free(p->rules);
    free(p);
}

static bool any_tag(const struct ecr_lc_image *img, const char *filter, bool pattern)
{
    for (size_t i = 0; i < img->ntags; i++) {
        if (pattern ? glob_match(filter, img->tags[i], 0)
                    : strncmp(img->tags[i], filter, strlen(filter)) == 0)
            return true;
    }
    return false;
}

bool ecr_lc_rule_selects(const struct ecr_lc_rule *r, const struct ecr_lc_image *img)
{
    switch (r->tag_status) {
    case ECR_LC_ANY:
        return true;
    case ECR_LC_UNTAGGED:
        return img->ntags == 0;
    case ECR_LC_TAGGED:
        break;
    }
    if (img->ntags == 0)
        return false;
    /* Every filter must match one of the image's tags. */
    for (size_t i = 0; i < r->nprefixes; i++)
        if (!any_tag(img, r->prefixes[i], false))
            return false;
    for (size_t i = 0; i < r->npatterns; i++)
        if (!any_tag(img, r->patterns[i], true))
            return false;
    return true;
}

/* Newest first; equal push times ordered by digest so verdicts are deterministic. */
static int newest_first(const void *a, const void *b, void *arg)
{
    const struct ecr_lc_image *images = arg;
    const struct ecr_lc_image *x = &images[*(const size_t *)a];
    const struct ecr_lc_image *y = &images[*(const size_t *)b];
    if (x->pushed_at != y->pushed_at)
        return x->pushed_at < y->pushed_at ? 1 : -1;
    return strcmp(x->digest ? x->digest : "", y->digest ? y->digest : "");
}

void ecr_lifecycle_evaluate(const struct ecr_lifecycle *p, const struct ecr_lc_image *images,
                            size_t n, double now, int *ret_rule)
{
    if (n == 0)
        return;
    cleanup_free size_t *order = xcalloc(n, sizeof(*order));
    cleanup_free bool *claimed = xcalloc(n, sizeof(*claimed));
    for (size_t i = 0; i < n; i++) {
        order[i] = i;
        ret_rule[i] = 0;
    }
    qsort_r(order, n, sizeof(*order), newest_first, (void *)images);
    for (size_t r = 0; r < p->nrules; r++) {
        const struct ecr_lc_rule *rule = &p->rules[r];
        int64_t seen = 0;
        for (size_t k = 0; k < n; k++) {
            size_t i = order[k];
            if (!ecr_lc_rule_selects(rule, &images[i]))
                continue;
            seen++;
            bool expire =
                rule->count_type == ECR_LC_COUNT_MORE_THAN
                    ? seen > rule->count_number
                    : now - images[i].pushed_at > (double)rule->count_number * SECONDS_PER_DAY;
            if (claimed[i])
                continue;
            claimed[i] = true;
            if (expire)
                ret_rule[i] = rule->priority;
        }
    }
}
