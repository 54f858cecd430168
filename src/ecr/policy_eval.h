/* Repository policies: validation of the policy document (SetRepositoryPolicy) and its
 * evaluation for a principal and an action (the /v2/ registry and the ECR data-plane actions
 * call it on every pull and push). Pure functions over the policy text; no store, no clock.
 *
 * The supported language is the part of IAM that repository policies use:
 *   {"Version": "2012-10-17" | "2008-10-17", "Id"?: string,
 *    "Statement": [ {"Sid"?: string, "Effect": "Allow" | "Deny",
 *                    "Principal": "*" | {"AWS": P | [P...], "Service"?: S | [S...]},
 *                    "Action" | "NotAction": A | [A...]} ]   (a single object also accepted)
 * where P is "*", a 12-digit account id or an IAM/STS ARN ("arn:aws:iam::123456789012:root"
 * stands for every principal of that account, as does the bare id), and A is "*" or
 * "ecr:ActionName" with '*' and '?' wildcards (case-insensitive). Elements wharf cannot honour
 * (Condition, NotPrincipal, Resource, NotResource) are refused rather than silently ignored. */
#pragma once
#include <stdbool.h>

#include "core/err.h"

/* Actions the registry checks. A pull needs ECR_ACTION_PULL on manifests and blobs; a push
 * needs ECR_ACTION_PUSH for the manifest and the layer-upload actions for blobs. */
#define ECR_ACTION_PULL "ecr:BatchGetImage"
#define ECR_ACTION_LAYER_PULL "ecr:GetDownloadUrlForLayer"
#define ECR_ACTION_LAYER_CHECK "ecr:BatchCheckLayerAvailability"
#define ECR_ACTION_PUSH "ecr:PutImage"
#define ECR_ACTION_UPLOAD_START "ecr:InitiateLayerUpload"
#define ECR_ACTION_UPLOAD_PART "ecr:UploadLayerPart"
#define ECR_ACTION_UPLOAD_COMPLETE "ecr:CompleteLayerUpload"

/* Check policy_text against the language above. On failure fill err (400
 * InvalidParameterException, naming the statement and element: "Statement[1].Action
 * 's3:GetObject' is not an ECR action") and return -1. */
int ecr_policy_validate(const char *policy_text, struct wh_err *err);

enum ecr_policy_decision {
    ECR_POLICY_NO_MATCH, /* no statement speaks about this principal and action */
    ECR_POLICY_ALLOW,    /* an Allow statement matches and no Deny does */
    ECR_POLICY_DENY,     /* a Deny statement matches (it wins over any Allow) */
};

/* IAM's evaluation of the resource policy alone. Text that does not validate (it never
 * should: it was validated when set) evaluates to ECR_POLICY_DENY, failing closed. NULL or
 * empty text is ECR_POLICY_NO_MATCH. */
enum ecr_policy_decision ecr_policy_evaluate(const char *policy_text, const char *principal_arn,
                                             const char *action);

/* May principal_arn perform action ("ecr:BatchGetImage") on a repository whose policy is
 * policy_text (NULL or "" when the repository has none)?
 *
 * No policy: yes (every wharf principal belongs to the registry's own account, and AWS grants
 * the account's principals access through IAM). With a policy: only when it allows the
 * principal and no statement denies it. wharf has no IAM identity policies, so once a
 * repository has a policy that policy is the whole authority, for the account's own principals
 * too; DeleteRepositoryPolicy (never checked against the policy) is the way back. */
bool ecr_policy_allows(const char *policy_text, const char *principal_arn, const char *action);
