/* Store verbs for the registry (ECR repositories, blobs, manifests, tags, uploads).
 * Tables: src/store/schema_ecr.c. Shared by src/registry/ (the /v2/ OCI API) and src/ecr/
 * (the ECR JSON API).
 *
 * Conventions (as store.h): 0 on success; -ENOENT when the thing asked for does not exist;
 * -EEXIST on a uniqueness conflict; -EIO with err filled (500 ServerException) when the
 * database fails. Semantic refusals use other negative errno values documented per verb; the
 * store never fills err for those, the caller picks the wire error. ret_* parameters are written
 * only on success. Strings in returned structs are heap-owned; free them with the *_clear /
 * *_free functions.
 *
 * Repositories are addressed once by (account, region, name) with store_repo_get(), which
 * yields repo.id; the image, blob and upload verbs take that repo_id.
 *
 * Beyond these verbs, src/registry/ offers the operations that also touch the blob store
 * (ECR's PutImage, the layer-upload API and GetAuthorizationToken should call those, not
 * reimplement them): see src/registry/manifests.h (registry_manifest_put),
 * src/registry/uploads.h and src/registry/token.h. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* ---- repositories ---- */

#define STORE_MUTABLE "MUTABLE"
#define STORE_IMMUTABLE "IMMUTABLE"

struct store_repo {
    int64_t id;
    char *account;
    char *region;
    char *name;                 /* "team/app/web" */
    char *arn;                  /* arn:aws:ecr:REGION:ACCOUNT:repository/NAME */
    double created_at;
    char *image_tag_mutability; /* MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, ... */
    char *mutability_exclusions;/* JSON text of imageTagMutabilityExclusionFilters, or NULL */
    bool scan_on_push;
    char *encryption_type;      /* "AES256" or "KMS" */
    char *kms_key;              /* NULL unless KMS */
    char *policy_text;          /* repository policy JSON text, NULL when none */
    char *lifecycle_policy_text;/* NULL when none */
    double lifecycle_updated_at;/* 0 when none */
};

/* Free the members (not r itself) and zero r. */
void store_repo_clear(struct store_repo *r);
#define cleanup_repo __attribute__((cleanup(store_repo_clear)))
void store_repos_free(struct store_repo *v, size_t n);

/* Insert; id, policy and lifecycle fields of r are ignored. -EEXIST when (account, region,
 * name) exists. */
int store_repo_create(struct store *st, const struct store_repo *r, int64_t *ret_id,
                      struct wh_err *err);
int store_repo_get(struct store *st, const char *account, const char *region, const char *name,
                   struct store_repo *ret, struct wh_err *err);
/* Repositories of (account, region) ordered by name, those with name > after (after may be
 * NULL), at most limit (0: no limit). *ret_more tells whether more follow. */
int store_repo_list(struct store *st, const char *account, const char *region, const char *after,
                    unsigned limit, struct store_repo **ret_v, size_t *ret_n, bool *ret_more,
                    struct wh_err *err);
/* Delete a repository and (cascade) its manifests, tags, blob links and uploads. Without
 * force, -ENOTEMPTY when it still holds a manifest. ret (may be NULL) gets the deleted row. */
int store_repo_delete(struct store *st, const char *account, const char *region, const char *name,
                      bool force, struct store_repo *ret, struct wh_err *err);
/* Setters; -ENOENT when the repository does not exist. NULL text deletes the policy. */
int store_repo_set_mutability(struct store *st, int64_t repo_id, const char *mutability,
                              const char *exclusions_json, struct wh_err *err);
int store_repo_set_scan_on_push(struct store *st, int64_t repo_id, bool scan_on_push,
                                struct wh_err *err);
int store_repo_set_policy(struct store *st, int64_t repo_id, const char *policy_text,
                          struct wh_err *err);
int store_repo_set_lifecycle(struct store *st, int64_t repo_id, const char *policy_text,
                             double now, struct wh_err *err);
/* Number of manifests in a repository. */
int store_repo_count_images(struct store *st, int64_t repo_id, int64_t *ret_n, struct wh_err *err);

/* ---- images (manifests and their tags) ---- */

struct store_image {
    char *digest;         /* "sha256:..." */
    char *media_type;     /* manifest media type */
    char *artifact_type;  /* OCI artifactType, else the config media type for OCI manifests,
                           * NULL otherwise */
    char *subject_digest; /* NULL unless the manifest has a subject */
    char *config_digest;  /* NULL for indexes */
    int64_t size;         /* manifest bytes */
    int64_t image_size;   /* config + layers (manifest); sum over children (index) */
    double pushed_at;
    double last_pulled_at; /* 0: never */
    char **tags;          /* sorted; ntags may be 0 */
    size_t ntags;
};

void store_image_clear(struct store_image *im);
#define cleanup_image __attribute__((cleanup(store_image_clear)))
void store_images_free(struct store_image *v, size_t n);

enum store_tag_filter { STORE_TAGS_ANY = 0, STORE_TAGS_TAGGED, STORE_TAGS_UNTAGGED };

/* Images of a repository ordered by digest, those with digest > after (NULL: from the start),
 * at most limit (0: no limit), with their tags. */
int store_image_list(struct store *st, int64_t repo_id, enum store_tag_filter filter,
                     const char *after, unsigned limit, struct store_image **ret_v, size_t *ret_n,
                     bool *ret_more, struct wh_err *err);
/* One image by digest, with tags. -ENOENT. */
int store_image_get(struct store *st, int64_t repo_id, const char *digest,
                    struct store_image *ret, struct wh_err *err);
/* The manifest digest a tag points at (new string). -ENOENT. */
int store_tag_resolve(struct store *st, int64_t repo_id, const char *tag, char **ret_digest,
                      struct wh_err *err);
/* The manifest's bytes (and, if ret_image is not NULL, its row without tags). -ENOENT. */
int store_manifest_body(struct store *st, int64_t repo_id, const char *digest,
                        struct store_image *ret_image, char **ret_body, size_t *ret_len,
                        struct wh_err *err);

struct store_manifest_ref {
    const char *digest;
    bool is_manifest; /* a child manifest of an index (else a blob: config or layer) */
};

struct store_manifest_put {
    int64_t repo_id;
    const char *digest;
    const char *media_type;
    const char *artifact_type;  /* may be NULL */
    const char *subject_digest; /* may be NULL */
    const char *config_digest;  /* may be NULL */
    const char *body;
    size_t len;
    int64_t image_size;
    const struct store_manifest_ref *refs;
    size_t nrefs;
    const char *tag;            /* may be NULL: push by digest */
    bool immutable;             /* refuse moving an existing tag to another digest (the caller
                                 * decides per tag: src/registry/mutability.h) */
    double now;
};

/* In one transaction: check every reference exists in the repository (blobs linked to it,
 * manifests in it), store the manifest (a re-push of the same digest keeps its pushed_at and
 * refreshes nothing else), link its blobs, move the tag.
 * -ENOENT with *ret_missing (new string) naming the first missing reference;
 * -EEXIST when immutable and the tag points at another digest. */
int store_manifest_put(struct store *st, const struct store_manifest_put *in, char **ret_missing,
                       struct wh_err *err);
/* Delete a manifest and the tags pointing at it. -ENOENT. */
int store_manifest_delete(struct store *st, int64_t repo_id, const char *digest,
                          struct wh_err *err);
/* Record a pull (lastRecordedPullTime); cheap: writes only when the recorded time is older than
 * a minute. */
int store_manifest_touch_pull(struct store *st, int64_t repo_id, const char *digest, double now,
                              struct wh_err *err);
/* Point tag at an existing manifest (PutImage of a known manifest). -ENOENT when the manifest
 * is not in the repository; -EEXIST when immutable and the tag points elsewhere. */
int store_tag_put(struct store *st, int64_t repo_id, const char *tag, const char *digest,
                  bool immutable, double now, struct wh_err *err);
/* Remove a tag (the manifest stays). -ENOENT. */
int store_tag_delete(struct store *st, int64_t repo_id, const char *tag, struct wh_err *err);
/* Tags of a repository in lexical order, those > after (NULL: from the start), at most limit
 * (0: no limit). */
int store_tag_list(struct store *st, int64_t repo_id, const char *after, unsigned limit,
                   char ***ret_tags, size_t *ret_n, bool *ret_more, struct wh_err *err);
void store_strv_free(char **v, size_t n);
/* Manifests whose subject is digest, optionally only those of one artifact type (NULL: all);
 * ordered by digest, without tags. */
int store_referrers_list(struct store *st, int64_t repo_id, const char *subject_digest,
                         const char *artifact_type, struct store_image **ret_v, size_t *ret_n,
                         struct wh_err *err);

/* ---- blobs ---- */

/* A committed blob's size, if repo_id may see it (repo_id 0: any repository). -ENOENT. */
int store_blob_get(struct store *st, int64_t repo_id, const char *digest, int64_t *ret_size,
                   struct wh_err *err);
/* As store_blob_get for one repository, plus when its link was last refreshed and whether any
 * manifest references the blob (the registry refreshes the links of unreferenced blobs it
 * serves, so a client that saw "exists" finds it still there: see registry/gc.h). */
int store_blob_stat(struct store *st, int64_t repo_id, const char *digest, int64_t *ret_size,
                    double *ret_linked_at, bool *ret_referenced, struct wh_err *err);
/* Record that the blob store now holds digest (size bytes) and link it to repo_id. Call after
 * the file is in place. Idempotent; refreshes the link time (which shields it from GC). */
int store_blob_commit(struct store *st, int64_t repo_id, const char *digest, int64_t size,
                      double now, struct wh_err *err);
/* Let repo_id see an existing blob (cross-repository mount). -ENOENT when no such blob. */
int store_blob_link(struct store *st, int64_t repo_id, const char *digest, double now,
                    struct wh_err *err);
/* Remove repo_id's link to a blob (DELETE /v2/<name>/blobs/<digest>). -ENOENT. */
int store_blob_unlink(struct store *st, int64_t repo_id, const char *digest, struct wh_err *err);

/* ---- upload sessions (the bytes are in DATA/uploads/UUID) ---- */

struct store_upload {
    char uuid[37];
    int64_t repo_id;
    int64_t received; /* bytes durably received */
    double created_at;
    double updated_at;
};

int store_upload_create(struct store *st, const struct store_upload *u, struct wh_err *err);
int store_upload_get(struct store *st, const char *uuid, struct store_upload *ret,
                     struct wh_err *err);
int store_upload_set_received(struct store *st, const char *uuid, int64_t received, double now,
                              struct wh_err *err);
int store_upload_delete(struct store *st, const char *uuid, struct wh_err *err);
/* Uploads untouched since before (abandoned sessions to reap), at most limit. */
int store_upload_stale(struct store *st, double before, unsigned limit,
                       struct store_upload **ret_v, size_t *ret_n, struct wh_err *err);

/* ---- garbage collection ---- */

/* Blobs no manifest references, committed and last linked before `before` (the grace period),
 * at most limit; digests as new strings. */
int store_gc_blob_candidates(struct store *st, double before, unsigned limit, char ***ret_digests,
                             size_t *ret_n, struct wh_err *err);
/* Forget a blob if it is still a candidate (re-checked inside the transaction): removes its
 * links and its row. -EBUSY when a manifest or a fresh link now holds it. The caller removes
 * the file afterwards (src/registry/blobstore.h: blobstore_remove, under the GC lock). */
int store_gc_blob_forget(struct store *st, const char *digest, double before, struct wh_err *err);
/* Whether the store knows a blob at all (GC of orphan files). 1 yes, 0 no, <0 error. */
int store_blob_known(struct store *st, const char *digest, struct wh_err *err);
