/* ECR / registry tables.
 *
 * Blobs are content-addressed and shared by every repository of every account: the bytes live
 * in the blob store (DATA/blobs/sha256/ab/abcdef...), a row in `blobs` says they are committed,
 * and `repository_blobs` says which repository may see them (made by upload completion, by a
 * cross-repository mount, or by a manifest push). Manifests are small (the registry refuses
 * more than 4 MiB) and are kept in the `manifests` row itself (BLOB column `body`), so a
 * manifest and its tag move commit in one transaction with nothing on disk to go stale.
 * `manifest_references` lists what a manifest points at (config, layers, child manifests of an
 * index; not its subject), for garbage collection and for the referenced-exists check.
 * Tags are `image_tags`: the ECS `tags` table (resource tags) is a different thing. */
#include "store/schema.h"

#include "core/xalloc.h"

static const char *const steps[] = {
    /* 1: repositories, blobs, manifests, image tags, uploads */
    "CREATE TABLE repositories ("
    "  id INTEGER PRIMARY KEY,"
    "  account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,"
    "  arn TEXT NOT NULL UNIQUE,"
    "  created_at REAL NOT NULL,"
    "  image_tag_mutability TEXT NOT NULL DEFAULT 'MUTABLE',"
    "  mutability_exclusions TEXT,"
    "  scan_on_push INTEGER NOT NULL DEFAULT 0,"
    "  encryption_type TEXT NOT NULL DEFAULT 'AES256',"
    "  kms_key TEXT,"
    "  policy_text TEXT,"
    "  lifecycle_policy_text TEXT,"
    "  lifecycle_updated_at REAL,"
    "  UNIQUE (account, region, name));"
    "CREATE TABLE blobs ("
    "  digest TEXT PRIMARY KEY,"
    "  size INTEGER NOT NULL,"
    "  created_at REAL NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE repository_blobs ("
    "  repo_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,"
    "  digest TEXT NOT NULL REFERENCES blobs(digest),"
    "  linked_at REAL NOT NULL,"
    "  PRIMARY KEY (repo_id, digest)) WITHOUT ROWID;"
    "CREATE INDEX repository_blobs_digest ON repository_blobs(digest, linked_at);"
    "CREATE TABLE manifests ("
    "  repo_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,"
    "  digest TEXT NOT NULL,"
    "  media_type TEXT NOT NULL,"
    "  artifact_type TEXT,"
    "  subject_digest TEXT,"
    "  config_digest TEXT,"
    "  size INTEGER NOT NULL,"
    "  image_size INTEGER NOT NULL,"
    "  pushed_at REAL NOT NULL,"
    "  last_pulled_at REAL,"
    "  body BLOB NOT NULL,"
    "  PRIMARY KEY (repo_id, digest)) WITHOUT ROWID;"
    "CREATE INDEX manifests_subject ON manifests(repo_id, subject_digest)"
    "  WHERE subject_digest IS NOT NULL;"
    "CREATE INDEX manifests_pushed ON manifests(repo_id, pushed_at);"
    "CREATE TABLE manifest_references ("
    "  repo_id INTEGER NOT NULL,"
    "  manifest_digest TEXT NOT NULL,"
    "  digest TEXT NOT NULL,"
    "  kind TEXT NOT NULL CHECK (kind IN ('blob', 'manifest')),"
    "  PRIMARY KEY (repo_id, manifest_digest, digest),"
    "  FOREIGN KEY (repo_id, manifest_digest) REFERENCES manifests(repo_id, digest)"
    "    ON DELETE CASCADE) WITHOUT ROWID;"
    "CREATE INDEX manifest_references_digest ON manifest_references(digest);"
    "CREATE TABLE image_tags ("
    "  repo_id INTEGER NOT NULL,"
    "  tag TEXT NOT NULL,"
    "  manifest_digest TEXT NOT NULL,"
    "  pushed_at REAL NOT NULL,"
    "  PRIMARY KEY (repo_id, tag),"
    "  FOREIGN KEY (repo_id, manifest_digest) REFERENCES manifests(repo_id, digest)"
    "    ON DELETE CASCADE) WITHOUT ROWID;"
    "CREATE INDEX image_tags_manifest ON image_tags(repo_id, manifest_digest);"
    "CREATE TABLE uploads ("
    "  uuid TEXT PRIMARY KEY,"
    "  repo_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,"
    "  received INTEGER NOT NULL DEFAULT 0,"
    "  created_at REAL NOT NULL,"
    "  updated_at REAL NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX uploads_repo ON uploads(repo_id);"
    "CREATE INDEX uploads_updated ON uploads(updated_at);",
};

const struct store_schema store_schema_ecr = {"ecr", steps, ARRAY_SIZE(steps)};
