/* Layer unpacking (src/agent/unpack.c): malicious tarballs built here with libarchive's
 * writer must be refused with the entry named and nothing written outside the layer
 * directory; good layers keep owner, mode, mtime and xattrs; OCI whiteouts become overlayfs
 * ones. Needs root (ownership, device nodes, trusted.* xattrs): skipped otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "agent/rmtree.h"
#include "agent/unpack.h"
#include "core/xalloc.h"

enum filter { F_NONE, F_GZIP, F_ZSTD };

struct ent {
    const char *name;
    mode_t type;          /* AE_IFREG (default when 0), AE_IFDIR, AE_IFLNK, AE_IFCHR, ... */
    mode_t perm;          /* 0 → 0644 / 0755 */
    const char *data;     /* regular file content */
    int64_t size;         /* > 0: a file of this many 'x' bytes instead of data */
    const char *symlink;  /* symlink target */
    const char *hardlink; /* hard link target */
    unsigned major, minor;
    int64_t uid, gid;
    time_t mtime;
    const char *xattr, *xval;
};

struct tmp {
    char root[64];
    char layer[128], outside[128], tar[128];
};

static int setup(void **state)
{
    if (geteuid() != 0)
        return 0;
    struct tmp *t = xcalloc(1, sizeof(*t));
    snprintf(t->root, sizeof(t->root), "/tmp/wharf-unpack-XXXXXX");
    assert_non_null(mkdtemp(t->root));
    snprintf(t->layer, sizeof(t->layer), "%s/layer", t->root);
    snprintf(t->outside, sizeof(t->outside), "%s/outside", t->root);
    snprintf(t->tar, sizeof(t->tar), "%s/layer.tar", t->root);
    assert_int_equal(mkdir(t->layer, 0755), 0);
    assert_int_equal(mkdir(t->outside, 0755), 0);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct tmp *t = *state;
    if (t) {
        rmtree(t->root);
        free(t);
    }
    return 0;
}

#define NEED_ROOT()                                                                            \
    do {                                                                                       \
        if (geteuid() != 0)                                                                    \
            skip();                                                                            \
    } while (0)

static void make_tar(const char *path, const struct ent *e, size_t n, enum filter f)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (f == F_GZIP)
        archive_write_add_filter_gzip(a);
    else if (f == F_ZSTD)
        assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *ae = archive_entry_new();
        mode_t type = e[i].type ? e[i].type : AE_IFREG;
        archive_entry_set_pathname(ae, e[i].name);
        archive_entry_set_filetype(ae, type);
        archive_entry_set_perm(ae, e[i].perm ? e[i].perm : (type == AE_IFDIR ? 0755 : 0644));
        archive_entry_set_uid(ae, e[i].uid);
        archive_entry_set_gid(ae, e[i].gid);
        archive_entry_set_mtime(ae, e[i].mtime ? e[i].mtime : 1600000000, 0);
        if (e[i].symlink)
            archive_entry_set_symlink(ae, e[i].symlink);
        if (e[i].hardlink) {
            archive_entry_set_hardlink(ae, e[i].hardlink);
            archive_entry_set_filetype(ae, AE_IFREG);
        }
        if (type == AE_IFCHR || type == AE_IFBLK) {
            archive_entry_set_rdevmajor(ae, e[i].major);
            archive_entry_set_rdevminor(ae, e[i].minor);
        }
        if (e[i].xattr)
            archive_entry_xattr_add_entry(ae, e[i].xattr, e[i].xval, strlen(e[i].xval));
        int64_t size = e[i].size > 0 ? e[i].size : (e[i].data ? (int64_t)strlen(e[i].data) : 0);
        if (type == AE_IFREG && !e[i].hardlink)
            archive_entry_set_size(ae, size);
        assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
        if (type == AE_IFREG && !e[i].hardlink && size > 0) {
            char *buf = xmalloc((size_t)size);
            if (e[i].data)
                memcpy(buf, e[i].data, (size_t)size);
            else
                memset(buf, 'x', (size_t)size);
            assert_int_equal(archive_write_data(a, buf, (size_t)size), size);
            free(buf);
        }
        archive_entry_free(ae);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static bool exists(const char *dir, const char *name)
{
    cleanup_free char *p = xasprintf("%s/%s", dir, name);
    struct stat st;
    return lstat(p, &st) == 0;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *buf = xcalloc(1, 4096);
    size_t n = fread(buf, 1, 4095, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* Unpack; expect refusal with `why` in the message; check nothing escaped. */
static void expect_refused(struct tmp *t, const struct ent *e, size_t n,
                           const struct unpack_opts *o, const char *why)
{
    make_tar(t->tar, e, n, F_NONE);
    struct unpack_opts def = {.what = "layer sha256:test"};
    struct wh_err err = {0};
    int rc = unpack_layer(t->tar, t->layer, o ? o : &def, NULL, &err);
    if (rc == 0)
        fail_msg("accepted; wanted '%s'", why);
    if (!strstr(err.msg, why))
        fail_msg("message '%s' lacks '%s'", err.msg, why);
    assert_string_equal(err.type, "CannotPullContainerError");
    /* Only the layer dir, the sentinel dir and the tarball in the temp root. */
    assert_int_equal(count_entries(t->root), 3);
    if (count_entries(t->outside) != 0)
        fail_msg("something was written to %s", t->outside);
}

static void test_dotdot(void **state)
{
    NEED_ROOT();
    struct tmp *t = *state;
    const struct ent e[] = {{.name = "ok", .data = "fine"}, {.name = "../escape", .data = "x"},
                            {.name = "after", .data = "x"}};
    expect_refused(t, e, 3, NULL,
                   "layer sha256:test: entry '../escape' escapes the layer directory");
    assert_true(exists(t->layer, "ok"));
    assert_false(exists(t->layer, "after"));
    assert_false(exists(t->root, "escape"));
    const struct ent e2[] = {{.name = "a/../../outside/x", .data = "x"}};
    expect_refused(t, e2, 1, NULL, "entry 'a/../../outside/x' escapes the layer directory");
    const struct ent e3[] = {{.name = "a/b/..", .type = AE_IFDIR}};
    expect_refused(t, e3, 1, NULL, "escapes the layer directory");
}

static void test_absolute(void **state)
{
    NEED_ROOT();
    struct tmp *t = *state;
    cleanup_free char *abs = xasprintf("%s/abs", t->outside);
    const struct ent e[] = {{.name = abs, .data = "x"}};
    cleanup_free char *why = xasprintf("entry '%s' has an absolute path", abs);
    expect_refused(t, e, 1, NULL, why);
    const struct ent e2[] = {{.name = "/etc/wharf-test-should-not-exist", .data = "x"}};
    expect_refused(t, e2, 1, NULL, "has an absolute path");
    assert_int_equal(access("/etc/wharf-test-should-not-exist", F_OK), -1);
}

static void test_through_symlink(void **state)
{
    NEED_ROOT();
    struct tmp *t = *state;
    /* link -> <outside> (absolute), then link/passwd. */
    const struct ent e[] = {{.name = "link", .type = AE_IFLNK, .symlink = t->outside},
                            {.name = "link/passwd", .data = "root::0:0::/:/bin/sh\n"}};
    expect_refused(t, e, 2, NULL, "entry 'link/passwd' passes through symlink 'link'");
    /* The classic: link -> /etc. */
    rmtree(t->layer);
    mkdir(t->layer, 0755);
    const struct ent e2[] = {{.name = "etc", .type = AE_IFDIR},
                             {.name = "etc/l", .type = AE_IFLNK, .symlink = "/etc"},
                             {.name = "etc/l/passwd", .data = "pwned"}};
    expect_refused(t, e2, 3, NULL, "entry 'etc/l/passwd' passes through symlink 'etc/l'");
    /* Relative symlink climbing out, and a directory entry through it. */
    rmtree(t->layer);
    mkdir(t->layer, 0755);
    const struct ent e3[] = {{.name = "rel", .type = AE_IFLNK, .symlink = "../outside"},
                             {.name = "rel/sub", .type = AE_IFDIR}};
    expect_refused(t, e3, 2, NULL, "entry 'rel/sub/' passes through symlink 'rel'");
    /* Whiteouts through a symlink. */
    rmtree(t->layer);
    mkdir(t->layer, 0755);
    const struct ent e4[] = {{.name = "w", .type = AE_IFLNK, .symlink = t->outside},
                             {.name = "w/.wh.x", .data = ""}};
    expect_refused(t, e4, 2, NULL, "entry 'w/.wh.x' passes through symlink 'w'");
    const struct ent e5[] = {{.name = "w/.wh..wh..opq", .data = ""}};
    expect_refused(t, e5, 1, NULL, "entry 'w/.wh..wh..opq' passes through symlink 'w'");
    char v[8];
    assert_true(lgetxattr(t->outside, "trusted.overlay.opaque", v, sizeof(v)) < 0);
}

static void test_hardlinks(void **state)
{
    NEED_ROOT();
    struct tmp *t = *state;
    const struct ent e[] = {{.name = "x", .hardlink = "../../x"}};
    expect_refused(t, e, 1, NULL, "entry 'x' is a hard link to '../../x' outside the layer");
    cleanup_free char *secret = xasprintf("%s/secret", t->outside);
    const struct ent e2[] = {{.name = "y", .hardlink = secret}};
    expect_refused(t, e2, 1, NULL, "is a hard link to");
    const struct ent e3[] = {{.name = "z", .hardlink = "/etc/passwd"}};
    expect_refused(t, e3, 1, NULL, "entry 'z' is a hard link to '/etc/passwd' outside the layer");
    /* A hard link through a symlink to a file outside. */
    int fd = open(secret, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
    const struct ent e4[] = {{.name = "l", .type = AE_IFLNK, .symlink = t->outside},
                             {.name = "h", .hardlink = "l/secret"}};
    make_tar(t->tar, e4, 2, F_NONE);
    struct wh_err err = {0};
    assert_int_equal(unpack_layer(t->tar, t->layer, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "entry 'h' is a hard link through symlink 'l'"));
    struct stat st;
    assert_int_equal(stat(secret, &st), 0);
    assert_int_equal(st.st_nlink, 1);
    unlink(secret);
}

static void test_devices(void **state)
{
    NEED_ROOT();
    struct tmp *t = *state;
    const struct ent e[] = {{.name = "dev", .type = AE_IFDIR},
                            {.name = "dev/null", .type = AE_IFCHR, .major = 1, .minor = 3}};
    expect_refused(t, e, 2, NULL,
                   "entry 'dev/null' is a device node (1:3); devices are not allowed");
    assert_false(exists(t->layer, "dev/null"));
    const struct ent b[] = {{.name = "sda", .type = AE_IFBLK, .major = 8, .minor = 0}};
    expect_refused(t, b, 1, NULL, "entry 'sda' is a device node (8:0)");
    /* Allowed by the flag. */
    struct unpack_opts allow = {.allow_devices = true};
    make_tar(t->tar, e, 2, F_NONE);
    assert_int_equal(unpack_layer(t->tar, t->layer, &allow, NULL, NULL), 0);
    cleanup_free char *p = xasprintf("%s/dev/null", t->layer);
    struct stat st;
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(major(st.st_rdev), 1);
    assert_int_equal(minor(st.st_rdev), 3);
}

static void test_oversized(void **state)
{
    NEED_ROOT();
    struct tmp *t = *state;
    const struct ent e[] = {{.name = "small", .size = 1000}, {.name = "big", .size = 2048}};
    struct unpack_opts o = {.what = "layer sha256:big", .max_entry_size = 1024};
    expect_refused(t, e, 2, &o, "entry 'big' is 2048 bytes, over the 1024-byte limit per entry");
    assert_false(exists(t->layer, "big"));
    struct unpack_opts total = {.max_total_size = 1500};
    expect_refused(t, e, 2, &total, "entry 'big' takes the layer over its 1500-byte limit");
}

static void test_whiteouts(void **state)
{
    NEED_ROOT();
    struct tmp *t = *state;
    const struct ent e[] = {
        {.name = "dir", .type = AE_IFDIR},
        {.name = "dir/.wh..wh..opq", .data = ""},
        {.name = "dir/kept", .data = "k"},
        {.name = ".wh.gone", .data = ""},
        {.name = "sub/deeper/.wh.x", .data = ""}, /* parents created */
        {.name = "same", .data = "mine"},
        {.name = ".wh.same", .data = ""}, /* the layer's own file wins */
        {.name = ".wh..wh.plnk", .type = AE_IFDIR},
        {.name = "fake", .type = AE_IFDIR, .xattr = "trusted.overlay.opaque", .xval = "y"},
        {.name = "file", .data = "x", .xattr = "trusted.overlay.redirect", .xval = "/etc"},
    };
    make_tar(t->tar, e, ARRAY_SIZE(e), F_NONE);
    struct unpack_stats st;
    struct wh_err err = {0};
    if (unpack_layer(t->tar, t->layer, NULL, &st, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(st.whiteouts, 2);
    assert_int_equal(st.opaques, 1);
    char v[8] = "";
    cleanup_free char *dir = xasprintf("%s/dir", t->layer);
    assert_int_equal(lgetxattr(dir, "trusted.overlay.opaque", v, sizeof(v)), 1);
    assert_int_equal(v[0], 'y');
    assert_false(exists(t->layer, "dir/.wh..wh..opq"));
    assert_true(exists(t->layer, "dir/kept"));
    static const char *const wh[] = {"gone", "sub/deeper/x"};
    for (size_t i = 0; i < ARRAY_SIZE(wh); i++) {
        cleanup_free char *p = xasprintf("%s/%s", t->layer, wh[i]);
        struct stat sb;
        assert_int_equal(lstat(p, &sb), 0);
        if (!S_ISCHR(sb.st_mode) || sb.st_rdev != makedev(0, 0) || sb.st_uid != 0)
            fail_msg("%s is not a 0:0 character device", wh[i]);
    }
    assert_false(exists(t->layer, ".wh.gone"));
    cleanup_free char *same = xasprintf("%s/same", t->layer);
    cleanup_free char *mine = read_all(same);
    assert_string_equal(mine, "mine");
    assert_false(exists(t->layer, ".wh..wh.plnk"));
    /* Forged overlay xattrs are dropped. */
    cleanup_free char *fake = xasprintf("%s/fake", t->layer);
    assert_true(lgetxattr(fake, "trusted.overlay.opaque", v, sizeof(v)) < 0);
    cleanup_free char *file = xasprintf("%s/file", t->layer);
    assert_true(lgetxattr(file, "trusted.overlay.redirect", v, sizeof(v)) < 0);

    const struct ent bad[] = {{.name = "f", .data = "x"}, {.name = "f/.wh.y", .data = ""}};
    expect_refused(t, bad, 2, NULL, "entry 'f/.wh.y' is a whiteout in 'f', which is not a dir");
}

static void check_good_layer(struct tmp *t, enum filter f)
{
    const struct ent e[] = {
        {.name = "./", .type = AE_IFDIR, .perm = 0755},
        {.name = "./bin", .type = AE_IFDIR, .perm = 0711, .mtime = 1000000000},
        {.name = "bin//tool", .data = "#!/bin/true\n", .perm = 04755, .uid = 1234, .gid = 5678,
         .mtime = 1234567890, .xattr = "user.wharf", .xval = "yes"},
        {.name = "bin/sh", .type = AE_IFLNK, .symlink = "/bin/tool"},
        {.name = "bin/tool2", .hardlink = "bin/tool"},
        {.name = "etc/", .type = AE_IFDIR},
        {.name = "etc/conf", .data = "a=1\n", .perm = 0600},
        {.name = "fifo", .type = AE_IFIFO},
        {.name = "abs-link", .type = AE_IFLNK, .symlink = "/etc/passwd"},
        {.name = "abs-link", .data = "replaced"}, /* replaces the symlink, never writes through */
    };
    make_tar(t->tar, e, ARRAY_SIZE(e), f);
    struct unpack_stats st;
    struct wh_err err = {0};
    if (unpack_layer(t->tar, t->layer, NULL, &st, &err) < 0)
        fail_msg("%s", err.msg);
    struct stat sb;
    cleanup_free char *tool = xasprintf("%s/bin/tool", t->layer);
    assert_int_equal(lstat(tool, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 04755);
    assert_int_equal(sb.st_uid, 1234);
    assert_int_equal(sb.st_gid, 5678);
    assert_int_equal(sb.st_mtime, 1234567890);
    assert_int_equal(sb.st_nlink, 2);
    char v[8] = "";
    assert_int_equal(lgetxattr(tool, "user.wharf", v, sizeof(v)), 3);
    assert_memory_equal(v, "yes", 3);
    cleanup_free char *bin = xasprintf("%s/bin", t->layer);
    assert_int_equal(lstat(bin, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0711);
    assert_int_equal(sb.st_mtime, 1000000000);
    cleanup_free char *sh = xasprintf("%s/bin/sh", t->layer);
    char target[64] = "";
    assert_int_equal(readlink(sh, target, sizeof(target)), 9);
    assert_string_equal(target, "/bin/tool");
    cleanup_free char *conf = xasprintf("%s/etc/conf", t->layer);
    assert_int_equal(lstat(conf, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    cleanup_free char *fifo = xasprintf("%s/fifo", t->layer);
    assert_int_equal(lstat(fifo, &sb), 0);
    assert_true(S_ISFIFO(sb.st_mode));
    cleanup_free char *al = xasprintf("%s/abs-link", t->layer);
    assert_int_equal(lstat(al, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_int_equal(st.bytes, strlen("#!/bin/true\n") + strlen("a=1\n") + strlen("replaced"));
    assert_int_equal(count_entries(t->outside), 0);
}

static void test_good_plain(void **state)
{
    NEED_ROOT();
    check_good_layer(*state, F_NONE);
}

static void test_good_gzip(void **state)
{
    NEED_ROOT();
    check_good_layer(*state, F_GZIP);
}

static void test_good_zstd(void **state)
{
    NEED_ROOT();
    check_good_layer(*state, F_ZSTD);
}

static void test_symlink_replaced_not_followed(void **state)
{
    NEED_ROOT();
    struct tmp *t = *state;
    cleanup_free char *victim = xasprintf("%s/victim", t->outside);
    FILE *f = fopen(victim, "we");
    fputs("orig", f);
    fclose(f);
    const struct ent e[] = {{.name = "s", .type = AE_IFLNK, .symlink = victim},
                            {.name = "s", .data = "new"}};
    make_tar(t->tar, e, 2, F_NONE);
    assert_int_equal(unpack_layer(t->tar, t->layer, NULL, NULL, NULL), 0);
    cleanup_free char *v = read_all(victim);
    assert_string_equal(v, "orig");
    cleanup_free char *s = xasprintf("%s/s", t->layer);
    cleanup_free char *sv = read_all(s);
    assert_string_equal(sv, "new");
    unlink(victim);
}

static void test_garbage(void **state)
{
    NEED_ROOT();
    struct tmp *t = *state;
    FILE *f = fopen(t->tar, "we");
    for (int i = 0; i < 100; i++)
        fputs("this is not a tar archive at all ", f);
    fclose(f);
    struct wh_err err = {0};
    struct unpack_opts o = {.what = "layer sha256:junk"};
    assert_int_equal(unpack_layer(t->tar, t->layer, &o, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "layer sha256:junk: "));
}

/* Empty layers exist in the wild: a 0-byte blob and the gzip of an empty tar. */
static void test_empty_layers(void **state)
{
    NEED_ROOT();
    struct tmp *t = *state;
    FILE *f = fopen(t->tar, "we");
    fclose(f);
    struct wh_err err = {0};
    if (unpack_layer(t->tar, t->layer, NULL, NULL, &err) < 0)
        fail_msg("empty file: %s", err.msg);
    make_tar(t->tar, NULL, 0, F_GZIP);
    struct unpack_stats st;
    if (unpack_layer(t->tar, t->layer, NULL, &st, &err) < 0)
        fail_msg("gzip of an empty tar: %s", err.msg);
    assert_int_equal(st.entries, 0);
    assert_int_equal(count_entries(t->layer), 0);
}

static void test_clean_path(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out, *why;
    } cases[] = {
        {"a", "a", NULL},           {"./a", "a", NULL},        {"a/", "a", NULL},
        {"a//b/./c/", "a/b/c", NULL}, {".", ".", NULL},        {"./", ".", NULL},
        {"..a/b..", "..a/b..", NULL}, {".wh.x", ".wh.x", NULL},
        {"..", NULL, "escapes"},    {"a/..", NULL, "escapes"}, {"../a", NULL, "escapes"},
        {"a/../b", NULL, "escapes"}, {"./../a", NULL, "escapes"},
        {"/a", NULL, "absolute"},   {"//a", NULL, "absolute"}, {"", NULL, "empty"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const char *why = NULL;
        cleanup_free char *out = unpack_clean_path(cases[i].in, &why);
        if (cases[i].out) {
            if (!out || strcmp(out, cases[i].out) != 0)
                fail_msg("'%s' → '%s', want '%s'", cases[i].in, out ? out : "(null)",
                         cases[i].out);
        } else if (out || !strstr(why, cases[i].why)) {
            fail_msg("'%s' → '%s' (%s), want refusal '%s'", cases[i].in, out ? out : "(null)",
                     why ? why : "", cases[i].why);
        }
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_path),
        T(test_dotdot),
        T(test_absolute),
        T(test_through_symlink),
        T(test_hardlinks),
        T(test_devices),
        T(test_oversized),
        T(test_whiteouts),
        T(test_good_plain),
        T(test_good_gzip),
        T(test_good_zstd),
        T(test_symlink_replaced_not_followed),
        T(test_garbage),
        T(test_empty_layers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
