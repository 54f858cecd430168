#include "agent/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/xalloc.h"

#define PULL_ERR "CannotPullContainerError"
#define WH_PREFIX ".wh."
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"
#define OVL_OPAQUE_XATTR "trusted.overlay.opaque"

struct job {
    const char *archive, *dest;
    const struct unpack_opts *o;
    const char *what;
    int64_t max_entry;
    struct unpack_stats st;
    int64_t total;
    struct wh_err err;
    int rc;
};

/* ---- names --------------------------------------------------------------------------- */

char *unpack_clean_path(const char *name, const char **ret_why)
{
    if (!name || !*name) {
        *ret_why = "has an empty name";
        return NULL;
    }
    if (name[0] == '/') {
        *ret_why = "has an absolute path";
        return NULL;
    }
    char *out = xmalloc(strlen(name) + 2);
    size_t n = 0;
    for (const char *p = name; *p;) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            free(out);
            *ret_why = "escapes the layer directory";
            return NULL;
        }
        if (len && !(len == 1 && p[0] == '.')) {
            if (n)
                out[n++] = '/';
            memcpy(out + n, p, len);
            n += len;
        }
        p += len;
        while (*p == '/')
            p++;
    }
    if (n == 0)
        out[n++] = '.';
    out[n] = 0;
    return out;
}

/* A name fit for a message: capped, control characters shown as '?'. */
static const char *shown(const char *name, char *buf, size_t n)
{
    size_t i = 0;
    for (; name && name[i] && i + 4 < n; i++)
        buf[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
    if (name && name[i])
        memcpy(buf + i, "...", 3), i += 3;
    buf[i] = 0;
    return buf;
}

static int refuse(struct job *j, const char *entry, const char *why_fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(struct job *j, const char *entry, const char *why_fmt, ...)
{
    char why[512], nb[256];
    va_list ap;
    va_start(ap, why_fmt);
    vsnprintf(why, sizeof(why), why_fmt, ap);
    va_end(ap);
    return wh_err_set(&j->err, 500, PULL_ERR, "%s: entry '%s' %s", j->what,
                      shown(entry, nb, sizeof(nb)), why);
}

/* The first proper prefix of path (relative to cwd = the layer) that is a symlink on disk,
 * as a new string, or NULL. Components that do not exist yet end the walk (libarchive
 * creates them as directories). */
static char *symlink_parent(const char *path)
{
    cleanup_free char *copy = xstrdup(path);
    for (char *slash = strchr(copy, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = 0;
        struct stat st;
        if (lstat(copy, &st) < 0)
            return NULL;
        if (S_ISLNK(st.st_mode))
            return xstrdup(copy);
        *slash = '/';
    }
    return NULL;
}

/* mkdir -p of a clean relative dir whose prefixes were checked for symlinks. */
static int mkdirs(const char *dir)
{
    if (strcmp(dir, ".") == 0)
        return 0;
    cleanup_free char *copy = xstrdup(dir);
    for (char *p = copy;; p++) {
        char c = *p;
        if (c == '/' || c == 0) {
            *p = 0;
            if (mkdir(copy, 0755) < 0 && errno != EEXIST)
                return -errno;
            *p = c;
        }
        if (!c)
            return 0;
    }
}

static char *parent_of(const char *clean)
{
    const char *slash = strrchr(clean, '/');
    return slash ? xstrndup(clean, (size_t)(slash - clean)) : xstrdup(".");
}

/* ---- whiteouts ----------------------------------------------------------------------- */

static int whiteout(struct job *j, const char *entry, const char *clean, const char *base)
{
    cleanup_free char *dir = parent_of(clean);
    cleanup_free char *via = symlink_parent(clean);
    if (via)
        return refuse(j, entry, "passes through symlink '%s'", via);
    struct stat st;
    if (lstat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
        return refuse(j, entry, "is a whiteout in '%s', which is not a directory", dir);
    int r = mkdirs(dir);
    if (r < 0)
        return refuse(j, entry, "cannot create its directory: %s", strerror(-r));
    if (strcmp(base, WH_OPAQUE) == 0) {
        if (lsetxattr(dir, OVL_OPAQUE_XATTR, "y", 1, 0) < 0)
            return refuse(j, entry, "cannot mark '%s' opaque: %s", dir, strerror(errno));
        j->st.opaques++;
        j->st.entries++;
        return 0;
    }
    if (strncmp(base, WH_META_PREFIX, strlen(WH_META_PREFIX)) == 0)
        return 0; /* AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): nothing for overlayfs */
    const char *name = base + strlen(WH_PREFIX);
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return refuse(j, entry, "is a whiteout of an invalid name");
    cleanup_free char *target = strcmp(dir, ".") == 0 ? xstrdup(name)
                                                      : xasprintf("%s/%s", dir, name);
    if (mknod(target, S_IFCHR | 0, makedev(0, 0)) < 0) {
        if (errno == EEXIST)
            return 0; /* this layer brings the name itself; that wins over its own whiteout */
        return refuse(j, entry, "cannot create the whiteout device: %s", strerror(errno));
    }
    j->st.whiteouts++;
    j->st.entries++;
    return 0;
}

/* ---- regular entries ----------------------------------------------------------------- */

/* Drop trusted.overlay.* xattrs: a layer must not forge overlayfs metadata (opaque dirs,
 * redirects). */
static void filter_xattrs(struct archive_entry *e)
{
    if (archive_entry_xattr_reset(e) == 0)
        return;
    struct kv {
        char *name;
        void *val;
        size_t len;
    } *keep = xcalloc((size_t)archive_entry_xattr_count(e), sizeof(*keep));
    size_t n = 0;
    bool dropped = false;
    const char *name;
    const void *val;
    size_t len;
    while (archive_entry_xattr_next(e, &name, &val, &len) == ARCHIVE_OK) {
        if (strncmp(name, "trusted.overlay.", 16) == 0) {
            dropped = true;
            continue;
        }
        keep[n].name = xstrdup(name);
        keep[n].val = xmalloc(len ? len : 1);
        memcpy(keep[n].val, val, len);
        keep[n++].len = len;
    }
    if (dropped) {
        archive_entry_xattr_clear(e);
        for (size_t i = 0; i < n; i++)
            archive_entry_xattr_add_entry(e, keep[i].name, keep[i].val, keep[i].len);
    }
    for (size_t i = 0; i < n; i++) {
        free(keep[i].name);
        free(keep[i].val);
    }
    free(keep);
}

/* Check a hard link's target and point the entry at its clean form. */
static int check_hardlink(struct job *j, struct archive_entry *e, const char *entry,
                          const char *link)
{
    const char *why;
    cleanup_free char *clean = unpack_clean_path(link, &why);
    if (!clean || strcmp(clean, ".") == 0)
        return refuse(j, entry, "is a hard link to '%s' outside the layer directory", link);
    cleanup_free char *via = symlink_parent(clean);
    if (via)
        return refuse(j, entry, "is a hard link through symlink '%s'", via);
    struct stat st;
    if (lstat(clean, &st) < 0)
        return refuse(j, entry, "is a hard link to '%s', which is not in the layer", link);
    if (S_ISDIR(st.st_mode))
        return refuse(j, entry, "is a hard link to directory '%s'", link);
    archive_entry_set_hardlink(e, clean);
    return 0;
}

static int check_type(struct job *j, struct archive_entry *e, const char *entry)
{
    mode_t type = archive_entry_filetype(e);
    if ((type == AE_IFCHR || type == AE_IFBLK) && !j->o->allow_devices)
        return refuse(j, entry, "is a device node (%u:%u); devices are not allowed in layers",
                      (unsigned)archive_entry_rdevmajor(e), (unsigned)archive_entry_rdevminor(e));
    if (type == AE_IFSOCK)
        return refuse(j, entry, "is a socket");
    int64_t size = archive_entry_size(e);
    if (size > j->max_entry)
        return refuse(j, entry, "is %lld bytes, over the %lld-byte limit per entry",
                      (long long)size, (long long)j->max_entry);
    j->total += size > 0 ? size : 0;
    if (j->o->max_total_size > 0 && j->total > j->o->max_total_size)
        return refuse(j, entry, "takes the layer over its %lld-byte limit",
                      (long long)j->o->max_total_size);
    return 0;
}

static int copy_data(struct job *j, struct archive *in, struct archive *out, const char *entry)
{
    for (;;) {
        const void *buf;
        size_t len;
        la_int64_t off;
        int r = archive_read_data_block(in, &buf, &len, &off);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r < ARCHIVE_WARN)
            return refuse(j, entry, "cannot be read: %s", archive_error_string(in));
        if (off + (int64_t)len > j->max_entry)
            return refuse(j, entry, "has more data than the %lld-byte limit",
                          (long long)j->max_entry);
        if (archive_write_data_block(out, buf, len, off) < ARCHIVE_WARN)
            return refuse(j, entry, "cannot be written: %s", archive_error_string(out));
        j->st.bytes += len;
    }
}

static int one_entry(struct job *j, struct archive *in, struct archive *out,
                     struct archive_entry *e)
{
    const char *entry = archive_entry_pathname(e);
    const char *why;
    cleanup_free char *clean = unpack_clean_path(entry, &why);
    if (!clean)
        return refuse(j, entry, "%s", why);
    const char *base = strrchr(clean, '/');
    base = base ? base + 1 : clean;
    if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0)
        return whiteout(j, entry, clean, base);
    cleanup_free char *via = symlink_parent(clean);
    if (via)
        return refuse(j, entry, "passes through symlink '%s'", via);
    const char *link = archive_entry_hardlink(e);
    if (link && check_hardlink(j, e, entry, link) < 0)
        return -1;
    if (check_type(j, e, entry) < 0)
        return -1;
    filter_xattrs(e);
    archive_entry_set_pathname(e, clean);
    int r = archive_write_header(out, e);
    if (r < ARCHIVE_WARN)
        return refuse(j, entry, "cannot be created: %s", archive_error_string(out));
    if (archive_entry_size(e) > 0 && copy_data(j, in, out, entry) < 0)
        return -1;
    if (archive_write_finish_entry(out) < ARCHIVE_WARN)
        return refuse(j, entry, "cannot be finished: %s", archive_error_string(out));
    j->st.entries++;
    return 0;
}

static int extract(struct job *j)
{
    struct archive *in = archive_read_new();
    struct archive *out = archive_write_disk_new();
    if (!in || !out)
        abort();
    archive_read_support_filter_gzip(in);
    archive_read_support_filter_zstd(in);
    archive_read_support_format_tar(in);
    archive_read_support_format_empty(in); /* 0-byte layer blobs exist in the wild */
    /* Names resolve against our private cwd; the SECURE flags are libarchive's own second
     * line behind the checks above. Numeric ids only: no lookup in the host's passwd. */
    archive_write_disk_set_options(out, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM |
                                            ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
                                            ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                            ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                            ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
    int rc = 0;
    if (archive_read_open_filename(in, j->archive, 1 << 16) != ARCHIVE_OK) {
        rc = wh_err_set(&j->err, 500, PULL_ERR, "%s: cannot open: %s", j->what,
                        archive_error_string(in));
        goto out;
    }
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(in, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            rc = wh_err_set(&j->err, 500, PULL_ERR, "%s: not a valid tar archive: %s", j->what,
                            archive_error_string(in));
            goto out;
        }
        if ((rc = one_entry(j, in, out, e)) < 0)
            goto out;
    }
    /* Directory modes and times are applied here, after their contents. */
    if (archive_write_close(out) < ARCHIVE_WARN)
        rc = wh_err_set(&j->err, 500, PULL_ERR, "%s: cannot finish: %s", j->what,
                        archive_error_string(out));
out:
    archive_read_free(in);
    archive_write_free(out);
    return rc;
}

static void *worker(void *arg)
{
    struct job *j = arg;
    /* A private cwd and umask for this thread only. */
    if (unshare(CLONE_FS) < 0)
        j->rc = wh_err_set(&j->err, 500, PULL_ERR, "%s: unshare(CLONE_FS): %s", j->what,
                           strerror(errno));
    else if (chdir(j->dest) < 0)
        j->rc = wh_err_set(&j->err, 500, PULL_ERR, "%s: cannot enter %s: %s", j->what, j->dest,
                           strerror(errno));
    else
        j->rc = extract(j);
    return NULL;
}

int unpack_layer(const char *archive_path, const char *dest_dir, const struct unpack_opts *o,
                 struct unpack_stats *ret_stats, struct wh_err *err)
{
    static const struct unpack_opts defaults = {0};
    if (!o)
        o = &defaults;
    struct job j = {
        .archive = archive_path,
        .dest = dest_dir,
        .o = o,
        .what = o->what ? o->what : "layer",
        .max_entry = o->max_entry_size > 0 ? o->max_entry_size : UNPACK_DEFAULT_MAX_ENTRY,
    };
    pthread_t t;
    int r = pthread_create(&t, NULL, worker, &j);
    if (r != 0)
        return wh_err_set(err, 500, PULL_ERR, "%s: cannot start the unpack thread: %s", j.what,
                          strerror(r));
    pthread_join(t, NULL);
    if (j.rc < 0) {
        if (err)
            *err = j.err;
        return -1;
    }
    if (ret_stats)
        *ret_stats = j.st;
    return 0;
}
