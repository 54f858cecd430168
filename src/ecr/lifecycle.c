/* PutLifecyclePolicy, GetLifecyclePolicy, DeleteLifecyclePolicy, StartLifecyclePolicyPreview,
 * GetLifecyclePolicyPreview, and wharf's WharfApplyLifecyclePolicy (run the policy now).
 *
 * A preview is computed when it is started (evaluation is quick and read-only) and kept as a
 * snapshot, so GetLifecyclePolicyPreview shows the images as they were at Start; Start answers
 * IN_PROGRESS as ECR does, Get then COMPLETE. */
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/page.h"
#include "core/xalloc.h"
#include "ecr/common.h"
#include "ecr/handlers.h"
#include "ecr/lifecycle_eval.h"
#include "ecr/lifecycle_run.h"
#include "store/ecr_extra.h"

#define PREVIEW_DEFAULT_PAGE 100

static int no_policy(const struct api_ctx *ctx, const struct store_repo *r, struct wh_err *err)
{
    return ecr_err(err, ECR_LIFECYCLE_NOT_FOUND,
                   "Lifecycle policy does not exist for the repository with name '%s' in the "
                   "registry with id '%s'",
                   r->name, ctx->account);
}

static json_t *policy_json(const struct store_repo *r, const char *text)
{
    return json_pack("{s:s, s:s, s:s}", "registryId", r->account, "repositoryName", r->name,
                     "lifecyclePolicyText", text);
}

/* policy_json plus lastEvaluatedAt when the policy has run. */
static int policy_json_evaluated(struct api_ctx *ctx, const struct store_repo *r, json_t **ret_out,
                                 struct wh_err *err)
{
    double at = 0;
    int rc = store_ecr_lifecycle_evaluated_get(ctx->st, r->id, &at, err);
    if (rc < 0 && rc != -ENOENT)
        return -1;
    json_t *j = policy_json(r, r->lifecycle_policy_text);
    if (rc == 0)
        json_object_set_new(j, "lastEvaluatedAt", json_timestamp(at));
    *ret_out = j;
    return 0;
}

int ecr_put_lifecycle_policy(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    if (ecr_repo_load(ctx, in, &repo, err) < 0)
        return -1;
    const char *text = json_str(in, "lifecyclePolicyText");
    struct ecr_lifecycle *p = NULL;
    if (ecr_lifecycle_parse(text, &p, err) < 0)
        return -1;
    ecr_lifecycle_free(p);
    int r = store_repo_set_lifecycle(ctx->st, repo.id, text, ctx->now, err);
    if (r == -ENOENT)
        return ecr_repo_not_found(ctx, repo.name, err);
    if (r < 0)
        return -1;
    *ret_out = policy_json(&repo, text);
    return 0;
}

int ecr_get_lifecycle_policy(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    if (ecr_repo_load(ctx, in, &repo, err) < 0)
        return -1;
    if (!repo.lifecycle_policy_text)
        return no_policy(ctx, &repo, err);
    return policy_json_evaluated(ctx, &repo, ret_out, err);
}

int ecr_delete_lifecycle_policy(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    if (ecr_repo_load(ctx, in, &repo, err) < 0)
        return -1;
    if (!repo.lifecycle_policy_text)
        return no_policy(ctx, &repo, err);
    json_auto_t *out = NULL;
    if (policy_json_evaluated(ctx, &repo, &out, err) < 0)
        return -1;
    int r = store_repo_set_lifecycle(ctx->st, repo.id, NULL, ctx->now, err);
    if (r == -ENOENT)
        return ecr_repo_not_found(ctx, repo.name, err);
    if (r < 0)
        return -1;
    *ret_out = json_incref(out);
    return 0;
}

/* A LifecyclePolicyPreviewResult (also what WharfApplyLifecyclePolicy reports). */
static json_t *verdict_json(const struct ecr_lc_verdict *v)
{
    json_t *tags = json_array();
    for (size_t t = 0; t < v->ntags; t++)
        json_array_append_new(tags, json_string(v->tags[t]));
    return json_pack("{s:o, s:s, s:o, s:{s:s}, s:i, s:s}", "imageTags", tags, "imageDigest",
                     v->digest, "imagePushedAt", json_timestamp(v->pushed_at), "action", "type",
                     "EXPIRE", "appliedRulePriority", v->rule, "storageClass", "STANDARD");
}

static json_t *verdicts_json(const struct ecr_lc_verdict *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, verdict_json(&v[i]));
    return a;
}

int ecr_start_lifecycle_policy_preview(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                       struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    if (ecr_repo_load(ctx, in, &repo, err) < 0)
        return -1;
    const char *text = json_str(in, "lifecyclePolicyText");
    if (!text)
        text = repo.lifecycle_policy_text;
    if (!text)
        return no_policy(ctx, &repo, err);
    struct ecr_lc_verdict *v = NULL;
    size_t n = 0;
    int r = ecr_lifecycle_plan(ctx->st, repo.id, text, ctx->now, &v, &n, err);
    if (r < 0)
        return -1;
    json_auto_t *results = verdicts_json(v, n);
    ecr_lc_verdicts_free(v, n);
    cleanup_free char *results_text = json_text(results);
    r = store_ecr_preview_put(ctx->st, repo.id, text, ctx->now, results_text, err);
    if (r == -ENOENT)
        return ecr_repo_not_found(ctx, repo.name, err);
    if (r < 0)
        return -1;
    json_t *out = policy_json(&repo, text);
    json_object_set_new(out, "status", json_string("IN_PROGRESS"));
    *ret_out = out;
    return 0;
}

/* Does a preview result pass GetLifecyclePolicyPreview's imageIds and filter? */
static bool preview_selected(const json_t *res, const json_t *ids, const char *tag_status)
{
    size_t ntags = json_array_size(json_object_get(res, "imageTags"));
    if (tag_status && strcmp(tag_status, "TAGGED") == 0 && ntags == 0)
        return false;
    if (tag_status && strcmp(tag_status, "UNTAGGED") == 0 && ntags > 0)
        return false;
    if (!ids)
        return true;
    size_t i, t;
    const json_t *id, *tag;
    json_array_foreach(ids, i, id) {
        const char *d = json_str(id, "imageDigest"), *want = json_str(id, "imageTag");
        if (d && strcmp(d, json_str(res, "imageDigest")) != 0)
            continue;
        if (!want)
            return d != NULL;
        json_array_foreach(json_object_get(res, "imageTags"), t, tag) {
            if (strcmp(json_string_value(tag), want) == 0)
                return true;
        }
    }
    return false;
}

static int preview_page(const json_t *in, const json_t *all, json_t *out, struct wh_err *err)
{
    cleanup_free char *after = NULL;
    if (ecr_page_after(in, &after, err) < 0)
        return -1;
    size_t start = after ? strtoul(after, NULL, 10) : 0;
    unsigned limit = ecr_page_limit(in, PREVIEW_DEFAULT_PAGE);
    const json_t *ids = json_arr(in, "imageIds");
    const char *ts = json_str(json_object_get(in, "filter"), "tagStatus");
    json_t *page = json_array();
    size_t i = start;
    for (; i < json_array_size(all) && json_array_size(page) < limit; i++) {
        const json_t *res = json_array_get(all, i);
        if (preview_selected(res, ids, ts))
            json_array_append(page, (json_t *)res);
    }
    json_object_set_new(out, "previewResults", page);
    while (i < json_array_size(all) && !preview_selected(json_array_get(all, i), ids, ts))
        i++;
    if (i < json_array_size(all)) {
        char key[32];
        snprintf(key, sizeof(key), "%zu", i);
        cleanup_free char *tok = page_token_encode(key);
        json_object_set_new(out, "nextToken", json_string(tok));
    }
    return 0;
}

int ecr_get_lifecycle_policy_preview(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                     struct wh_err *err)
{
    cleanup_repo struct store_repo repo = {0};
    if (ecr_repo_load(ctx, in, &repo, err) < 0)
        return -1;
    struct store_ecr_preview pv = {0};
    int r = store_ecr_preview_get(ctx->st, repo.id, &pv, err);
    if (r == -ENOENT)
        return ecr_err(err, ECR_PREVIEW_NOT_FOUND,
                       "There is no preview of a lifecycle policy for the repository with name "
                       "'%s' in the registry with id '%s'",
                       repo.name, ctx->account);
    if (r < 0)
        return -1;
    json_auto_t *all = json_parse_trusted(pv.results);
    json_auto_t *out = policy_json(&repo, pv.policy_text);
    store_ecr_preview_clear(&pv);
    json_object_set_new(out, "status", json_string("COMPLETE"));
    if (preview_page(in, all, out, err) < 0)
        return -1;
    json_object_set_new(out, "summary",
                        json_pack("{s:I, s:[]}", "expiringImageTotalCount",
                                  (json_int_t)json_array_size(all),
                                  "transitioningImageTotalCounts"));
    *ret_out = json_incref(out);
    return 0;
}

int ecr_wharf_apply_lifecycle_policy(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                     struct wh_err *err)
{
    /* Not in the botocore model, so nothing validated the input. */
    if (!json_is_string(json_object_get(in, "repositoryName")))
        return api_invalid(err, "repositoryName is required and must be a string");
    const json_t *reg = json_object_get(in, "registryId");
    if (reg && !json_is_string(reg))
        return api_invalid(err, "registryId must be a string");
    cleanup_repo struct store_repo repo = {0};
    if (ecr_repo_load(ctx, in, &repo, err) < 0)
        return -1;
    if (!repo.lifecycle_policy_text)
        return no_policy(ctx, &repo, err);
    struct ecr_lc_verdict *v = NULL;
    size_t n = 0;
    if (ecr_lifecycle_apply(ctx->st, &repo, ctx->now, &v, &n, err) < 0)
        return -1;
    json_t *out = policy_json(&repo, repo.lifecycle_policy_text);
    json_object_set_new(out, "expiredImages", verdicts_json(v, n));
    json_object_set_new(out, "lastEvaluatedAt", json_timestamp(ctx->now));
    ecr_lc_verdicts_free(v, n);
    *ret_out = out;
    return 0;
}
