/* Repository policy validation and evaluation (see policy_eval.h for the language). */
#include "ecr/policy_eval.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/arn.h"
#include "core/xalloc.h"
#include "ecr/glob.h"

/* Every ECR action IAM knows, for validating Action elements without wildcards. */
static const char *const ecr_actions[] = {
    "BatchCheckLayerAvailability",
    "BatchDeleteImage",
    "BatchGetImage",
    "BatchGetRepositoryScanningConfiguration",
    "BatchImportUpstreamImage",
    "CompleteLayerUpload",
    "CreatePullThroughCacheRule",
    "CreateRepository",
    "CreateRepositoryCreationTemplate",
    "DeleteLifecyclePolicy",
    "DeletePullThroughCacheRule",
    "DeleteRegistryPolicy",
    "DeleteRepository",
    "DeleteRepositoryCreationTemplate",
    "DeleteRepositoryPolicy",
    "DeleteSigningConfiguration",
    "DeregisterPullTimeUpdateExclusion",
    "DescribeImageReplicationStatus",
    "DescribeImageScanFindings",
    "DescribeImageSigningStatus",
    "DescribeImages",
    "DescribePullThroughCacheRules",
    "DescribeRegistry",
    "DescribeRepositories",
    "DescribeRepositoryCreationTemplates",
    "GetAccountSetting",
    "GetAuthorizationToken",
    "GetDownloadUrlForLayer",
    "GetLifecyclePolicy",
    "GetLifecyclePolicyPreview",
    "GetRegistryPolicy",
    "GetRegistryScanningConfiguration",
    "GetRepositoryPolicy",
    "GetSigningConfiguration",
    "InitiateLayerUpload",
    "ListImageReferrers",
    "ListImages",
    "ListPullTimeUpdateExclusions",
    "ListTagsForResource",
    "PutAccountSetting",
    "PutImage",
    "PutImageScanningConfiguration",
    "PutImageTagMutability",
    "PutLifecyclePolicy",
    "PutRegistryPolicy",
    "PutRegistryScanningConfiguration",
    "PutReplicationConfiguration",
    "PutSigningConfiguration",
    "RegisterPullTimeUpdateExclusion",
    "ReplicateImage",
    "SetRepositoryPolicy",
    "StartImageScan",
    "StartLifecyclePolicyPreview",
    "TagResource",
    "UntagResource",
    "UpdateImageStorageClass",
    "UpdatePullThroughCacheRule",
    "UpdateRepositoryCreationTemplate",
    "UploadLayerPart",
    "ValidatePullThroughCacheRule",
};

static const char *const statement_keys[] = {"Sid", "Effect", "Principal", "Action", "NotAction"};
static const char *const refused_keys[] = {"Condition", "NotPrincipal", "Resource", "NotResource"};

#define BAD_POLICY "Invalid repository policy provided: "

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
    return wh_err_set(err, 400, "InvalidParameterException", BAD_POLICY "%s", msg);
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static bool is_account_id(const char *s)
{
    if (strlen(s) != 12)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* A string or a non-empty array of strings: the shape IAM allows for Action and Principal. */
static bool string_or_list(const json_t *v)
{
    if (json_is_string(v))
        return true;
    if (!json_is_array(v) || json_array_size(v) == 0)
        return false;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e))
            return false;
    }
    return true;
}

/* The i-th string of a string-or-list value. */
static const char *nth(const json_t *v, size_t i)
{
    return json_is_string(v) ? (i == 0 ? json_string_value(v) : NULL)
                             : json_string_value(json_array_get(v, i));
}

static int check_action(const char *where, const char *a, struct wh_err *err)
{
    if (strcmp(a, "*") == 0)
        return 0;
    if (strncasecmp(a, "ecr:", 4) != 0 || !a[4])
        return bad(err, "%s '%s' is not an ECR action", where, a);
    const char *name = a + 4;
    if (strpbrk(name, "*?"))
        return 0;
    for (size_t i = 0; i < ARRAY_SIZE(ecr_actions); i++)
        if (strcasecmp(name, ecr_actions[i]) == 0)
            return 0;
    return bad(err, "%s '%s' is not an ECR action", where, a);
}

static int check_aws_principal(const char *where, const char *p, struct wh_err *err)
{
    struct arn arn;
    if (strcmp(p, "*") == 0 || is_account_id(p))
        return 0;
    if (arn_parse(p, &arn) == 0 &&
        (strcmp(arn.service, "iam") == 0 || strcmp(arn.service, "sts") == 0) &&
        is_account_id(arn.account) && arn.resource[0])
        return 0;
    return bad(err,
               "%s '%s' is not a principal (expected "
               "\"*\", an account id or an IAM ARN)",
               where, p);
}

static int check_principal(const char *where, const json_t *p, struct wh_err *err)
{
    if (json_is_string(p)) {
        if (strcmp(json_string_value(p), "*") == 0)
            return 0;
        return bad(err,
                   "%s '%s' must be \"*\" or an "
                   "object such as {\"AWS\": ARN}",
                   where, json_string_value(p));
    }
    if (!json_is_object(p) || json_object_size(p) == 0)
        return bad(err,
                   "%s must be \"*\" or an "
                   "object such as {\"AWS\": ARN}",
                   where);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)p, key, v) {
        if (strcmp(key, "AWS") != 0 && strcmp(key, "Service") != 0)
            return bad(err,
                       "%s.%s is not supported "
                       "(use AWS or Service)",
                       where, key);
        if (!string_or_list(v))
            return bad(err,
                       "%s.%s must be a string "
                       "or a non-empty list of strings",
                       where, key);
        if (strcmp(key, "AWS") != 0)
            continue;
        char sub[96];
        snprintf(sub, sizeof(sub), "%s.AWS", where);
        for (size_t i = 0; nth(v, i); i++)
            if (check_aws_principal(sub, nth(v, i), err) < 0)
                return -1;
    }
    return 0;
}

static int check_statement_keys(const char *where, const json_t *s, struct wh_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)s, key, v) {
        if (in_list(key, refused_keys, ARRAY_SIZE(refused_keys)))
            return bad(err,
                       "%s.%s is not supported by "
                       "wharf (a repository policy applies to its own repository)",
                       where, key);
        if (!in_list(key, statement_keys, ARRAY_SIZE(statement_keys)))
            return bad(err, "%s has unknown element '%s'", where, key);
    }
    return 0;
}

static int check_statement(size_t idx, const json_t *s, struct wh_err *err)
{
    char where[48];
    snprintf(where, sizeof(where), "Statement[%zu]", idx);
    if (!json_is_object(s))
        return bad(err, "%s must be an object", where);
    if (check_statement_keys(where, s, err) < 0)
        return -1;
    const json_t *sid = json_object_get(s, "Sid");
    if (sid && !json_is_string(sid))
        return bad(err, "%s.Sid must be a string", where);
    const char *effect = json_string_value(json_object_get(s, "Effect"));
    if (!effect || (strcmp(effect, "Allow") != 0 && strcmp(effect, "Deny") != 0))
        return bad(err, "%s.Effect '%s' must be Allow or Deny", where,
                   effect ? effect : "(missing)");
    const json_t *principal = json_object_get(s, "Principal");
    if (!principal)
        return bad(err, "%s.Principal is required", where);
    if (check_principal(where, principal, err) < 0)
        return -1;
    const json_t *action = json_object_get(s, "Action");
    const json_t *not_action = json_object_get(s, "NotAction");
    if (!action == !not_action)
        return bad(err,
                   "%s needs exactly one of Action "
                   "and NotAction",
                   where);
    const json_t *a = action ? action : not_action;
    char sub[64];
    snprintf(sub, sizeof(sub), "%s.%s", where, action ? "Action" : "NotAction");
    if (!string_or_list(a))
        return bad(err,
                   "%s must be a string or a "
                   "non-empty list of strings",
                   sub);
    for (size_t i = 0; nth(a, i); i++)
        if (check_action(sub, nth(a, i), err) < 0)
            return -1;
    return 0;
}

static int check_document(const json_t *doc, struct wh_err *err)
{
    if (!json_is_object(doc))
        return bad(err, "the policy must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)doc, key, v) {
        if (strcmp(key, "Version") != 0 && strcmp(key, "Id") != 0 && strcmp(key, "Statement") != 0)
            return bad(err, "unknown top-level element '%s'", key);
    }
    const char *version = json_string_value(json_object_get(doc, "Version"));
    if (!version || (strcmp(version, "2012-10-17") != 0 && strcmp(version, "2008-10-17") != 0))
        return bad(err,
                   "Version '%s' must be "
                   "\"2012-10-17\" or \"2008-10-17\"",
                   version ? version : "(missing)");
    const json_t *id = json_object_get(doc, "Id");
    if (id && !json_is_string(id))
        return bad(err, "Id must be a string");
    const json_t *st = json_object_get(doc, "Statement");
    if (json_is_object(st))
        return check_statement(0, st, err);
    if (!json_is_array(st) || json_array_size(st) == 0)
        return bad(err, "Statement must be a non-empty "
                        "list of statements");
    size_t i;
    json_array_foreach(st, i, v) {
        if (check_statement(i, v, err) < 0)
            return -1;
    }
    return 0;
}

int ecr_policy_validate(const char *policy_text, struct wh_err *err)
{
    json_error_t je;
    json_auto_t *doc = json_loads(policy_text ? policy_text : "", JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return bad(err,
                   "not valid JSON: %s at line "
                   "%d column %d",
                   je.text, je.line, je.column);
    return check_document(doc, err);
}

/* Does the principal spec p ("*", account id, ARN) name the caller? An account's root ARN and
 * its bare id stand for every principal of the account, as in IAM. */
static bool principal_matches(const char *p, const char *caller)
{
    if (strcmp(p, "*") == 0 || strcmp(p, caller) == 0)
        return true;
    struct arn c, spec;
    if (arn_parse(caller, &c) < 0)
        return false;
    if (is_account_id(p))
        return strcmp(p, c.account) == 0;
    return arn_parse(p, &spec) == 0 && strcmp(spec.service, "iam") == 0 &&
           strcmp(spec.resource, "root") == 0 && strcmp(spec.account, c.account) == 0;
}

static bool statement_principal(const json_t *s, const char *caller)
{
    const json_t *p = json_object_get(s, "Principal");
    if (json_is_string(p))
        return strcmp(json_string_value(p), "*") == 0;
    const json_t *aws = json_object_get(p, "AWS");
    for (size_t i = 0; aws && nth(aws, i); i++)
        if (principal_matches(nth(aws, i), caller))
            return true;
    return false;
}

static bool statement_action(const json_t *s, const char *action)
{
    const json_t *a = json_object_get(s, "Action");
    bool negate = !a;
    if (negate)
        a = json_object_get(s, "NotAction");
    bool hit = false;
    for (size_t i = 0; !hit && nth(a, i); i++)
        hit = glob_match(nth(a, i), action, GLOB_QUESTION | GLOB_ICASE);
    return hit != negate;
}

enum ecr_policy_decision ecr_policy_evaluate(const char *policy_text, const char *principal_arn,
                                             const char *action)
{
    if (!policy_text || !*policy_text)
        return ECR_POLICY_NO_MATCH;
    json_auto_t *doc = json_loads(policy_text, JSON_REJECT_DUPLICATES, NULL);
    if (!doc || check_document(doc, NULL) < 0)
        return ECR_POLICY_DENY;
    json_t *st = json_object_get(doc, "Statement");
    size_t n = json_is_array(st) ? json_array_size(st) : 1;
    bool allowed = false;
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_is_array(st) ? json_array_get(st, i) : st;
        if (!statement_principal(s, principal_arn) || !statement_action(s, action))
            continue;
        if (strcmp(json_string_value(json_object_get(s, "Effect")), "Deny") == 0)
            return ECR_POLICY_DENY;
        allowed = true;
    }
    return allowed ? ECR_POLICY_ALLOW : ECR_POLICY_NO_MATCH;
}

bool ecr_policy_allows(const char *policy_text, const char *principal_arn, const char *action)
{
    if (!policy_text || !*policy_text)
        return true;
    return ecr_policy_evaluate(policy_text, principal_arn, action) == ECR_POLICY_ALLOW;
}
