/* Unit tests for the registry's store verbs (src/store/registry_*.c) on a temp SQLite file:
 * repositories, manifest pushes (references, immutability, tag moves), cascades on delete,
 * uploads, and the garbage-collection conditions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/xalloc.h"
#include "store/registry.h"

#define D(c) "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
                 c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define BLOB_A D("a")
#define BLOB_B D("b")
#define MAN_1 D("1")
#define MAN_2 D("2")
#define INDEX D("9")

struct fixture {
    char dir[64];
    struct store *st;
    int64_t repo;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/wharf-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    cleanup_free char *db = xasprintf("%s/wharf.db", f->dir);
    struct wh_err err = {0};
    assert_int_equal(store_open(db, &f->st, &err), 0);
    struct store_repo r = {.account = "123456789012", .region = "us-east-1",
                           .name = "team/app", .arn = "arn:aws:ecr:us-east-1:123456789012:repository/team/app",
                           .created_at = 100};
    assert_int_equal(store_repo_create(f->st, &r, &f->repo, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->st);
    cleanup_free char *cmd = xasprintf("rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static int put(struct fixture *f, const char *digest, const char *tag, bool immutable,
               const struct store_manifest_ref *refs, size_t nrefs, double now, char **missing)
{
    struct store_manifest_put in = {
        .repo_id = f->repo, .digest = digest, .media_type = "application/vnd.oci.image.manifest.v1+json",
        .body = "{}", .len = 2, .image_size = 10, .refs = refs, .nrefs = nrefs, .tag = tag,
        .immutable = immutable, .now = now,
    };
    struct wh_err err = {0};
    return store_manifest_put(f->st, &in, missing, &err);
}

static void test_repositories(void **state)
{
    struct fixture *f = *state;
    struct wh_err err = {0};
    struct store_repo r = {.account = "123456789012", .region = "us-east-1", .name = "team/app",
                           .arn = "x", .created_at = 1};
    assert_int_equal(store_repo_create(f->st, &r, NULL, &err), -EEXIST);
    r.region = "eu-west-1";
    r.arn = "y";
    assert_int_equal(store_repo_create(f->st, &r, NULL, &err), 0); /* regions apart */
    struct store_repo got cleanup_repo = {0};
    assert_int_equal(store_repo_get(f->st, "123456789012", "us-east-1", "team/app", &got, &err), 0);
    assert_string_equal(got.image_tag_mutability, "MUTABLE");
    assert_string_equal(got.encryption_type, "AES256");
    assert_null(got.policy_text);
    assert_int_equal(store_repo_set_policy(f->st, got.id, "{\"p\":1}", &err), 0);
    assert_int_equal(store_repo_set_lifecycle(f->st, got.id, "{\"l\":1}", 55, &err), 0);
    assert_int_equal(store_repo_set_mutability(f->st, got.id, "IMMUTABLE", NULL, &err), 0);
    assert_int_equal(store_repo_set_policy(f->st, 9999, "{}", &err), -ENOENT);
    store_repo_clear(&got);
    assert_int_equal(store_repo_get(f->st, "123456789012", "us-east-1", "team/app", &got, &err), 0);
    assert_string_equal(got.policy_text, "{\"p\":1}");
    assert_string_equal(got.lifecycle_policy_text, "{\"l\":1}");
    assert_true(got.lifecycle_updated_at == 55);
    assert_string_equal(got.image_tag_mutability, "IMMUTABLE");
    struct store_repo *v;
    size_t n;
    bool more;
    assert_int_equal(store_repo_list(f->st, "123456789012", "eu-west-1", NULL, 0, &v, &n, &more,
                                     &err), 0);
    assert_int_equal(n, 1);
    assert_false(more);
    store_repos_free(v, n);
}

static void test_manifest_refs_and_tags(void **state)
{
    struct fixture *f = *state;
    struct wh_err err = {0};
    struct store_manifest_ref refs[] = {{BLOB_A, false}, {BLOB_B, false}};
    cleanup_free char *missing = NULL;
    assert_int_equal(put(f, MAN_1, "v1", false, refs, 2, 10, &missing), -ENOENT);
    assert_string_equal(missing, BLOB_A);
    assert_int_equal(store_blob_commit(f->st, f->repo, BLOB_A, 5, 10, &err), 0);
    assert_int_equal(store_blob_commit(f->st, f->repo, BLOB_B, 5, 10, &err), 0);
    assert_int_equal(put(f, MAN_1, "v1", false, refs, 2, 11, NULL), 0);
    assert_int_equal(put(f, MAN_2, "v1", false, refs, 2, 12, NULL), 0); /* the tag moves */
    cleanup_free char *digest = NULL;
    assert_int_equal(store_tag_resolve(f->st, f->repo, "v1", &digest, &err), 0);
    assert_string_equal(digest, MAN_2);
    /* Immutable: the same digest again is fine, another is -EEXIST. */
    assert_int_equal(put(f, MAN_2, "v1", true, refs, 2, 13, NULL), 0);
    assert_int_equal(put(f, MAN_1, "v1", true, refs, 2, 13, NULL), -EEXIST);
    assert_int_equal(store_tag_put(f->st, f->repo, "v1", MAN_1, true, 14, &err), -EEXIST);
    assert_int_equal(store_tag_put(f->st, f->repo, "v2", MAN_1, true, 14, &err), 0);
    assert_int_equal(store_tag_put(f->st, f->repo, "v3", INDEX, false, 14, &err), -ENOENT);
    /* An index needs its children in the repository. */
    struct store_manifest_ref kids[] = {{MAN_1, true}, {INDEX, true}};
    cleanup_free char *missing2 = NULL;
    assert_int_equal(put(f, D("8"), "idx", false, kids, 2, 15, &missing2), -ENOENT);
    assert_string_equal(missing2, INDEX);
    /* Listing with tag filters. */
    struct store_image *v;
    size_t n;
    bool more;
    assert_int_equal(store_image_list(f->st, f->repo, STORE_TAGS_ANY, NULL, 0, &v, &n, &more, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].digest, MAN_1);
    assert_int_equal(v[0].ntags, 1);
    assert_string_equal(v[0].tags[0], "v2");
    store_images_free(v, n);
    assert_int_equal(store_tag_delete(f->st, f->repo, "v2", &err), 0);
    assert_int_equal(store_image_list(f->st, f->repo, STORE_TAGS_UNTAGGED, NULL, 0, &v, &n, &more, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].digest, MAN_1);
    store_images_free(v, n);
    assert_int_equal(store_image_list(f->st, f->repo, STORE_TAGS_ANY, NULL, 1, &v, &n, &more, &err), 0);
    assert_int_equal(n, 1);
    assert_true(more);
    store_images_free(v, n);
    /* Deleting a manifest takes its tags. */
    assert_int_equal(store_manifest_delete(f->st, f->repo, MAN_2, &err), 0);
    assert_int_equal(store_tag_resolve(f->st, f->repo, "v1", &digest, &err), -ENOENT);
    assert_int_equal(store_manifest_delete(f->st, f->repo, MAN_2, &err), -ENOENT);
}

static void test_gc_conditions(void **state)
{
    struct fixture *f = *state;
    struct wh_err err = {0};
    struct store_manifest_ref refs[] = {{BLOB_A, false}};
    assert_int_equal(store_blob_commit(f->st, f->repo, BLOB_A, 5, 10, &err), 0);
    assert_int_equal(store_blob_commit(f->st, f->repo, BLOB_B, 5, 10, &err), 0);
    assert_int_equal(put(f, MAN_1, "v1", false, refs, 1, 11, NULL), 0);
    char **v;
    size_t n;
    /* Within the grace period nothing is a candidate. */
    assert_int_equal(store_gc_blob_candidates(f->st, 10, 0, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    free(v);
    /* Later: only the unreferenced blob. */
    assert_int_equal(store_gc_blob_candidates(f->st, 100, 0, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0], BLOB_B);
    store_strv_free(v, n);
    /* A fresh link (a mount, an upload, a HEAD) shields it again. */
    assert_int_equal(store_blob_link(f->st, f->repo, BLOB_B, 150, &err), 0);
    assert_int_equal(store_gc_blob_forget(f->st, BLOB_B, 100, &err), -EBUSY);
    assert_int_equal(store_gc_blob_forget(f->st, BLOB_B, 200, &err), 0);
    assert_int_equal(store_blob_known(f->st, BLOB_B, &err), 0);
    assert_int_equal(store_blob_link(f->st, f->repo, BLOB_B, 201, &err), -ENOENT);
    /* Referenced: never. */
    assert_int_equal(store_gc_blob_forget(f->st, BLOB_A, 1000, &err), -EBUSY);
    /* Once the repository goes (force), its manifests and links go, and the blob is free. */
    assert_int_equal(store_repo_delete(f->st, "123456789012", "us-east-1", "team/app", false,
                                       NULL, &err), -ENOTEMPTY);
    assert_int_equal(store_repo_delete(f->st, "123456789012", "us-east-1", "team/app", true,
                                       NULL, &err), 0);
    assert_int_equal(store_gc_blob_candidates(f->st, 1000, 0, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0], BLOB_A);
    store_strv_free(v, n);
}

static void test_uploads(void **state)
{
    struct fixture *f = *state;
    struct wh_err err = {0};
    struct store_upload u = {.uuid = "u-1", .repo_id = f->repo, .created_at = 1, .updated_at = 1};
    assert_int_equal(store_upload_create(f->st, &u, &err), 0);
    assert_int_equal(store_upload_set_received(f->st, "u-1", 4096, 5, &err), 0);
    struct store_upload got;
    assert_int_equal(store_upload_get(f->st, "u-1", &got, &err), 0);
    assert_int_equal(got.received, 4096);
    struct store_upload *v;
    size_t n;
    assert_int_equal(store_upload_stale(f->st, 4, 0, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    free(v);
    assert_int_equal(store_upload_stale(f->st, 6, 0, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    free(v);
    assert_int_equal(store_upload_delete(f->st, "u-1", &err), 0);
    assert_int_equal(store_upload_get(f->st, "u-1", &got, &err), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_repositories, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manifest_refs_and_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gc_conditions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uploads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
