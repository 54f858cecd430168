/* ECR lifecycle policies: parsing/validation of the policy document and the evaluation of its
 * rules over a repository's images. Pure functions: the images, the rules and the clock come
 * in as arguments, the verdicts go out; the store and the scheduler live elsewhere.
 *
 * Document: {"rules": [{"rulePriority": N, "description"?: S,
 *                       "selection": {"tagStatus": "tagged" | "untagged" | "any",
 *                                     "tagPrefixList"?: [S], "tagPatternList"?: [S],
 *                                     "countType": "imageCountMoreThan" | "sinceImagePushed",
 *                                     "countUnit"?: "days", "countNumber": N},
 *                       "action": {"type": "expire"}}]}
 *
 * Evaluation, as ECR documents it:
 * - rules apply in rulePriority order (lowest first);
 * - a rule selects images by tag status; a tagged rule needs every entry of its tagPrefixList
 *   (or tagPatternList, '*' wildcards) to match at least one of the image's tags;
 * - a rule's count is taken over every image it selects, including images that a rule of
 *   higher precedence already claimed ("can still identify them as if they haven't been
 *   expired"): imageCountMoreThan N keeps the N most recently pushed and expires the rest,
 *   sinceImagePushed N days expires those pushed more than N*86400 s before now;
 * - an image belongs to the first rule (by priority) that selects it: it is expired if and
 *   only if that rule expires it; a later rule can never expire it. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum ecr_lc_tag_status { ECR_LC_TAGGED, ECR_LC_UNTAGGED, ECR_LC_ANY };
enum ecr_lc_count_type { ECR_LC_COUNT_MORE_THAN, ECR_LC_SINCE_PUSHED };

struct ecr_lc_rule {
    int priority;
    enum ecr_lc_tag_status tag_status;
    char **prefixes; /* tagPrefixList */
    size_t nprefixes;
    char **patterns; /* tagPatternList */
    size_t npatterns;
    enum ecr_lc_count_type count_type;
    int64_t count_number; /* images, or days for ECR_LC_SINCE_PUSHED */
};

struct ecr_lifecycle {
    struct ecr_lc_rule *rules; /* sorted by priority, ascending */
    size_t nrules;
};

/* Most rules and tag filters ECR accepts in one policy / rule. */
#define ECR_LC_MAX_RULES 50
#define ECR_LC_MAX_WILDCARDS 4

/* Parse and validate a lifecycle policy document. On failure fill err with a 400
 * InvalidParameterException whose message names the rule and field ("Lifecycle policy
 * validation failure: rules[1].selection.countUnit 'hours' must be 'days'") and return -1. */
int ecr_lifecycle_parse(const char *text, struct ecr_lifecycle **ret_policy, struct wh_err *err);
void ecr_lifecycle_free(struct ecr_lifecycle *p);

struct ecr_lc_image {
    const char *digest;
    const char *const *tags;
    size_t ntags;
    double pushed_at; /* epoch seconds */
};

/* Evaluate p over the n images at time now. ret_rule (n entries, caller's) receives for each
 * image the rulePriority of the rule that expires it, or 0 when the image is kept. The order
 * of images does not matter; ties in pushed_at are broken by digest so results are stable. */
void ecr_lifecycle_evaluate(const struct ecr_lifecycle *p, const struct ecr_lc_image *images,
                            size_t n, double now, int *ret_rule);

/* The rule's tag selection alone (exposed for tests). */
bool ecr_lc_rule_selects(const struct ecr_lc_rule *r, const struct ecr_lc_image *img);
