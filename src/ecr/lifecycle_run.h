/* Lifecycle policies against the store: which of a repository's images a policy expires
 * (for previews) and the real thing (delete them). The rule logic itself is the pure
 * lifecycle_eval.c; this file feeds it the repository's images and acts on its verdicts.
 *
 * Images that an index (manifest list) of the repository references are left out of the
 * evaluation: they live and die with their index (expiring the index makes them ordinary
 * untagged images for the next run). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct store;
struct store_repo;

struct ecr_lc_verdict {
    char *digest;
    char **tags;
    size_t ntags;
    double pushed_at;
    int rule; /* rulePriority of the expiring rule */
};
void ecr_lc_verdicts_free(struct ecr_lc_verdict *v, size_t n);

/* The images of repo_id that policy_text (already validated) expires at now, newest first.
 * Read-only. */
int ecr_lifecycle_plan(struct store *st, int64_t repo_id, const char *policy_text, double now,
                       struct ecr_lc_verdict **ret_v, size_t *ret_n, struct wh_err *err);
/* Apply repo's lifecycle policy now: plan and delete in one transaction (a push cannot slip
 * between verdict and delete), and record the evaluation time. The deleted images are returned
 * when ret_v is not NULL. A repository without a policy is a no-op. */
int ecr_lifecycle_apply(struct store *st, const struct store_repo *repo, double now,
                        struct ecr_lc_verdict **ret_v, size_t *ret_n, struct wh_err *err);
