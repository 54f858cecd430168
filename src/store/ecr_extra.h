/* Store verbs the ECR JSON API needs beyond src/store/registry.h: lifecycle bookkeeping
 * (tables in schema_ecr_api.c) and two questions about the registry's tables. Conventions as
 * store.h: 0, -ENOENT, -EIO with err filled. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "store/registry.h"

/* Repositories (every account and region) that have a lifecycle policy, id > after_id, in id
 * order, at most limit. Only id, account, region, name, arn and lifecycle_policy_text are
 * filled. */
int store_ecr_lifecycle_repos(struct store *st, int64_t after_id, unsigned limit,
                              struct store_repo **ret_v, size_t *ret_n, struct wh_err *err);
/* When the repository's lifecycle policy last ran; -ENOENT when never. */
int store_ecr_lifecycle_evaluated_get(struct store *st, int64_t repo_id, double *ret_at,
                                      struct wh_err *err);
int store_ecr_lifecycle_evaluated_set(struct store *st, int64_t repo_id, double at,
                                      struct wh_err *err);

struct store_ecr_preview {
    char *policy_text;
    double started_at;
    char *results; /* JSON text written by src/ecr/lifecycle.c */
};
void store_ecr_preview_clear(struct store_ecr_preview *p);
/* Replace the repository's preview. */
int store_ecr_preview_put(struct store *st, int64_t repo_id, const char *policy_text,
                          double started_at, const char *results, struct wh_err *err);
/* -ENOENT when the repository has no preview. */
int store_ecr_preview_get(struct store *st, int64_t repo_id, struct store_ecr_preview *ret,
                          struct wh_err *err);

/* An index (manifest list) of the repository that references manifest digest as a child; its
 * digest as a new string. -ENOENT when none does. */
int store_ecr_manifest_parent(struct store *st, int64_t repo_id, const char *digest,
                              char **ret_parent, struct wh_err *err);
/* Every manifest digest of the repository that some index of it references (new strings). */
int store_ecr_manifest_children(struct store *st, int64_t repo_id, char ***ret_digests,
                                size_t *ret_n, struct wh_err *err);
