/* SetRepositoryPolicy, GetRepositoryPolicy, DeleteRepositoryPolicy. The document language and
 * its evaluation are in policy_eval.c; managing the policy is never itself checked against it
 * (so `force` has nothing to override and is accepted as a no-op). */
#include <string.h>

#include "core/json.h"
#include "core/xalloc.h"
#include "ecr/common.h"
#include "ecr/handlers.h"
#include "ecr/policy_eval.h"

static json_t *policy_json(const struct store_repo *r, const char *text)
{
    return json_pack("{s:s, s:s, s:s}", "registryId", r->account, "repositoryName", r->name,
                     "policyText", text);
}

static int no_policy(const struct api_ctx *ctx, const struct store_repo *r, struct wh_err *err)
{
    return ecr_err(err, ECR_POLICY_NOT_FOUND,
                   "Repository policy does not exist for the repository with name '%s' in the "
                   "registry with id '%s'",
                   r->name, ctx->account);
}

int ecr_set_repository_policy(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    if (ecr_repo_load(ctx, in, &repo, err) < 0)
        return -1;
    const char *text = json_str(in, "policyText");
    if (ecr_policy_validate(text, err) < 0)
        return -1;
    int r = store_repo_set_policy(ctx->st, repo.id, text, err);
    if (r == -ENOENT)
        return ecr_repo_not_found(ctx, repo.name, err);
    if (r < 0)
        return -1;
    *ret_out = policy_json(&repo, text);
    return 0;
}

int ecr_get_repository_policy(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    if (ecr_repo_load(ctx, in, &repo, err) < 0)
        return -1;
    if (!repo.policy_text)
        return no_policy(ctx, &repo, err);
    *ret_out = policy_json(&repo, repo.policy_text);
    return 0;
}

int ecr_delete_repository_policy(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                 struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    if (ecr_repo_load(ctx, in, &repo, err) < 0)
        return -1;
    if (!repo.policy_text)
        return no_policy(ctx, &repo, err);
    int r = store_repo_set_policy(ctx->st, repo.id, NULL, err);
    if (r == -ENOENT)
        return ecr_repo_not_found(ctx, repo.name, err);
    if (r < 0)
        return -1;
    *ret_out = policy_json(&repo, repo.policy_text);
    return 0;
}
