/* Unit tests for src/store/taskdefs.c against a temporary SQLite database: revision numbering,
 * account/region scoping, status transitions, listing order and pagination, families. */
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
#include "store/store.h"
#include "store/taskdefs.h"

#define ACCT "123456789012"
#define REGION "us-east-1"

struct fixture {
    char dir[64];
    char *path;
    struct store *st;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/wharf-test-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->path = xasprintf("%s/wharf.db", f->dir);
    struct wh_err err = {0};
    if (store_open(f->path, &f->st, &err) < 0) {
        fprintf(stderr, "store_open: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->st);
    cleanup_free char *wal = xasprintf("%s-wal", f->path), *shm = xasprintf("%s-shm", f->path);
    unlink(f->path);
    unlink(wal);
    unlink(shm);
    rmdir(f->dir);
    free(f->path);
    free(f);
    return 0;
}

static int64_t reg(struct store *st, const char *account, const char *region, const char *family)
{
    struct store_taskdef *td = NULL;
    struct wh_err err = {0};
    if (store_taskdef_register(st, account, region, family, "{}", "arn:aws:iam::1:root", 100.0,
                               &td, &err) < 0)
        fail_msg("register %s: %s", family, err.msg);
    int64_t rev = td->revision;
    store_taskdef_free(td);
    return rev;
}

static void test_revisions(void **state)
{
    struct fixture *f = *state;
    struct wh_err err = {0};
    assert_int_equal(reg(f->st, ACCT, REGION, "web"), 1);
    assert_int_equal(reg(f->st, ACCT, REGION, "web"), 2);
    /* other families, regions and accounts count on their own */
    assert_int_equal(reg(f->st, ACCT, REGION, "api"), 1);
    assert_int_equal(reg(f->st, ACCT, "eu-west-1", "web"), 1);
    assert_int_equal(reg(f->st, "999999999999", REGION, "web"), 1);
    /* deleted revisions are never reused */
    assert_int_equal(store_taskdef_transition(f->st, ACCT, REGION, "web", 2, "ACTIVE", "INACTIVE",
                                              200.0, &err), 0);
    assert_int_equal(store_taskdef_transition(f->st, ACCT, REGION, "web", 2, "INACTIVE",
                                              "DELETE_IN_PROGRESS", 300.0, &err), 0);
    assert_int_equal(reg(f->st, ACCT, REGION, "web"), 3);

    struct store_taskdef *td = NULL;
    assert_int_equal(store_taskdef_get(f->st, ACCT, REGION, "web", 2, &td, &err), 0);
    assert_string_equal(td->status, "DELETE_IN_PROGRESS");
    assert_string_equal(td->arn, "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2");
    assert_true(td->deregistered_at == 200.0 && td->delete_requested_at == 300.0);
    store_taskdef_free(td);
    assert_int_equal(store_taskdef_get(f->st, ACCT, "eu-west-1", "web", 2, &td, &err), -ENOENT);
    assert_int_equal(store_taskdef_get_latest_active(f->st, ACCT, REGION, "web", &td, &err), 0);
    assert_int_equal(td->revision, 3);
    store_taskdef_free(td);
    /* transitions check the current status */
    assert_int_equal(store_taskdef_transition(f->st, ACCT, REGION, "web", 3, "INACTIVE",
                                              "DELETE_IN_PROGRESS", 1.0, &err), -EAGAIN);
    assert_int_equal(store_taskdef_transition(f->st, ACCT, REGION, "web", 9, "ACTIVE", "INACTIVE",
                                              1.0, &err), -ENOENT);
}

static void expect_list(struct store *st, const struct store_taskdef_query *q, const char *want)
{
    struct store_taskdef *v = NULL;
    size_t n = 0;
    struct wh_err err = {0};
    assert_int_equal(store_taskdefs_list(st, ACCT, REGION, q, &v, &n, &err), 0);
    char got[512] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s:%lld", i ? " " : "",
                 v[i].family, (long long)v[i].revision);
    store_taskdefs_free(v, n);
    if (strcmp(got, want) != 0)
        fail_msg("list: want '%s' got '%s'", want, got);
}

static void expect_families(struct store *st, const char *prefix, const char *status,
                            const char *after, const char *want)
{
    char **v = NULL;
    size_t n = 0;
    struct wh_err err = {0};
    assert_int_equal(store_taskdef_families(st, ACCT, REGION, prefix, status, after, 100, &v, &n,
                                            &err), 0);
    char got[512] = "";
    for (size_t i = 0; i < n; i++) {
        snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "", v[i]);
        free(v[i]);
    }
    free(v);
    if (strcmp(got, want) != 0)
        fail_msg("families(%s, %s): want '%s' got '%s'", prefix ? prefix : "-", status, want, got);
}

static void test_listing(void **state)
{
    struct fixture *f = *state;
    struct wh_err err = {0};
    reg(f->st, ACCT, REGION, "b");
    reg(f->st, ACCT, REGION, "a");
    reg(f->st, ACCT, REGION, "b");
    reg(f->st, ACCT, REGION, "a_x");
    reg(f->st, ACCT, REGION, "abc");
    reg(f->st, ACCT, "eu-west-1", "zz");
    store_taskdef_transition(f->st, ACCT, REGION, "a_x", 1, "ACTIVE", "INACTIVE", 1.0, &err);

    expect_list(f->st, &(struct store_taskdef_query){.status = "ACTIVE", .limit = 100},
                "a:1 abc:1 b:1 b:2");
    expect_list(f->st, &(struct store_taskdef_query){.status = "ACTIVE", .desc = true,
                                                     .limit = 100},
                "b:2 b:1 abc:1 a:1");
    expect_list(f->st, &(struct store_taskdef_query){.status = "ACTIVE", .family = "b",
                                                     .limit = 100},
                "b:1 b:2");
    expect_list(f->st, &(struct store_taskdef_query){.status = "ACTIVE", .limit = 2,
                                                     .after_family = "abc", .after_revision = 1},
                "b:1 b:2");
    expect_list(f->st, &(struct store_taskdef_query){.status = "ACTIVE", .desc = true, .limit = 2,
                                                     .after_family = "b", .after_revision = 1},
                "abc:1 a:1");
    expect_list(f->st, &(struct store_taskdef_query){.status = "INACTIVE", .limit = 100}, "a_x:1");

    expect_families(f->st, NULL, "ALL", NULL, "a a_x abc b");
    expect_families(f->st, NULL, "ACTIVE", NULL, "a abc b");
    expect_families(f->st, NULL, "INACTIVE", NULL, "a_x");
    /* '_' is literal in a prefix, not a wildcard */
    expect_families(f->st, "a_", "ALL", NULL, "a_x");
    expect_families(f->st, "a", "ALL", "a_x", "abc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_revisions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
