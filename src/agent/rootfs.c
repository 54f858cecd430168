#include "agent/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/rmtree.h"
#include "core/fsutil.h"
#include "core/xalloc.h"

#define RT_ERR "ServerException"

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

/* Append s to the option buffer with overlayfs's escapes for ':' ',' and '\'. */
static void put_escaped(char **buf, size_t *len, size_t *cap, const char *s)
{
    for (; *s; s++) {
        if (*len + 3 > *cap) {
            *cap = (*cap + 3) * 2;
            *buf = xrealloc(*buf, *cap);
        }
        if (*s == ':' || *s == ',' || *s == '\\')
            (*buf)[(*len)++] = '\\';
        (*buf)[(*len)++] = *s;
        (*buf)[*len] = 0;
    }
}

static void put_raw(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = xrealloc(*buf, *cap);
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

/* "lowerdir=TOP:…:BOTTOM,upperdir=U,workdir=W"; names[] are used as given (absolute or
 * relative), top first. */
static char *options(const char *const *names, size_t n, const char *upper, const char *work)
{
    size_t len = 0, cap = 256;
    char *buf = xmalloc(cap);
    buf[0] = 0;
    put_raw(&buf, &len, &cap, "lowerdir=");
    for (size_t i = n; i-- > 0;) {
        put_escaped(&buf, &len, &cap, names[i]);
        if (i)
            put_raw(&buf, &len, &cap, ":");
    }
    put_raw(&buf, &len, &cap, ",upperdir=");
    put_escaped(&buf, &len, &cap, upper);
    put_raw(&buf, &len, &cap, ",workdir=");
    put_escaped(&buf, &len, &cap, work);
    return buf;
}

static int mount_classic(const char *merged, const char *opts, struct wh_err *err)
{
    if (mount("overlay", merged, "overlay", 0, opts) < 0)
        return wh_err_set(err, 500, RT_ERR, "cannot mount the rootfs overlay on %s: %s", merged,
                          strerror(errno));
    return 0;
}

/* ---- 2. new mount API, one lowerdir+ per layer ----------------------------------------- */

/* The kernel's own words from the fs context's log, if any. */
static void fs_log(int fsfd, char *out, size_t n)
{
    out[0] = 0;
    char buf[512];
    ssize_t r = read(fsfd, buf, sizeof(buf) - 1);
    if (r > 2) {
        buf[r] = 0;
        buf[strcspn(buf, "\n")] = 0;
        snprintf(out, n, " (%.200s)", buf + 2); /* "e overlay: …" */
    }
}

/* 0; 1 when the kernel lacks the API or lowerdir+ (the caller falls back); -1 with err for
 * a real failure. */
static int mount_lowerdir_plus(const char *const *layers, size_t n, const char *upper,
                               const char *work, const char *merged, struct wh_err *err)
{
    int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
    if (fsfd < 0 && errno == ENOSYS)
        return 1;
    if (fsfd < 0)
        return wh_err_set(err, 500, RT_ERR, "cannot mount the rootfs overlay on %s: fsopen: %s",
                          merged, strerror(errno));
    int ret = 0;
    if (fsconfig(fsfd, FSCONFIG_SET_STRING, "source", "overlay", 0) < 0)
        goto fail;
    for (size_t i = n; i-- > 0;)
        if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", layers[i], 0) < 0) {
            if (errno == EINVAL && i == n - 1) {
                ret = 1; /* no lowerdir+ before Linux 6.8 */
                goto out;
            }
            goto fail;
        }
    if (fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
        fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
        fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        goto fail;
    int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
    if (mfd < 0)
        goto fail;
    if (move_mount(mfd, "", AT_FDCWD, merged, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
        int e = errno;
        close(mfd);
        errno = e;
        goto fail;
    }
    close(mfd);
    goto out;
fail:;
    int e = errno;
    char klog[300];
    fs_log(fsfd, klog, sizeof(klog));
    ret = wh_err_set(err, 500, RT_ERR, "cannot mount the rootfs overlay (%zu layers) on %s: %s%s",
                     n, merged, strerror(e), klog);
out:
    close(fsfd);
    return ret;
}

/* ---- 3. relative lowerdirs from a thread with its own cwd ----------------------------- */

struct rel_job {
    const char *parent, *merged, *opts;
    struct wh_err err;
    int rc;
};

static void *rel_worker(void *arg)
{
    struct rel_job *j = arg;
    int fd = open(j->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || unshare(CLONE_FS) < 0 || fchdir(fd) < 0)
        j->rc = wh_err_set(&j->err, 500, RT_ERR, "cannot enter %s: %s", j->parent,
                           strerror(errno));
    else
        j->rc = mount_classic(j->merged, j->opts, &j->err);
    if (fd >= 0)
        close(fd);
    return NULL;
}

static int mount_relative(const char *const *layers, size_t n, const char *upper,
                          const char *work, const char *merged, struct wh_err *err)
{
    cleanup_free char *first = xstrdup(layers[0]);
    cleanup_free char *parent = xstrdup(dirname(first));
    size_t plen = strlen(parent);
    const char **names = xcalloc(n, sizeof(*names));
    for (size_t i = 0; i < n; i++) {
        if (strncmp(layers[i], parent, plen) != 0 || layers[i][plen] != '/' ||
            strchr(layers[i] + plen + 1, '/')) {
            free(names);
            return wh_err_set(err, 500, RT_ERR,
                              "cannot mount %zu layers: the lowerdir option is over a page and "
                              "layer %s is not in %s",
                              n, layers[i], parent);
        }
        names[i] = layers[i] + plen + 1;
    }
    cleanup_free char *opts = options(names, n, upper, work);
    free(names);
    if (strlen(opts) + 1 > page_size())
        return wh_err_set(err, 500, RT_ERR,
                          "cannot mount %zu layers: the overlay options are %zu bytes even with "
                          "relative paths, over the %zu-byte page",
                          n, strlen(opts), page_size());
    struct rel_job j = {.parent = parent, .merged = merged, .opts = opts};
    pthread_t t;
    int r = pthread_create(&t, NULL, rel_worker, &j);
    if (r != 0)
        return wh_err_set(err, 500, RT_ERR, "cannot start the mount thread: %s", strerror(r));
    pthread_join(t, NULL);
    if (j.rc < 0 && err)
        *err = j.err;
    return j.rc;
}

/* ---- the API --------------------------------------------------------------------------- */

static int mkdir_one(const char *path, mode_t mode, struct wh_err *err)
{
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return wh_err_set(err, 500, RT_ERR, "cannot create %s: %s", path, strerror(errno));
    return 0;
}

static bool is_mount_root(const char *path)
{
    struct statx stx;
    return statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &stx) == 0 &&
           (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
           (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

bool rootfs_is_mounted(const char *container_dir)
{
    cleanup_free char *merged = xasprintf("%s/rootfs", container_dir);
    return is_mount_root(merged);
}

int rootfs_mount(const char *const *layers, size_t n, const char *container_dir,
                 const struct rootfs_opts *o, char **ret_rootfs, enum rootfs_method *ret_method,
                 struct wh_err *err)
{
    enum rootfs_method want = o ? o->method : ROOTFS_AUTO;
    int r = fs_mkdir_p(container_dir, 0700);
    if (r < 0)
        return wh_err_set(err, 500, RT_ERR, "cannot create %s: %s", container_dir, strerror(-r));
    cleanup_free char *merged = xasprintf("%s/rootfs", container_dir);
    cleanup_free char *upper = xasprintf("%s/upper", container_dir);
    cleanup_free char *work = xasprintf("%s/work", container_dir);
    cleanup_free char *empty = xasprintf("%s/empty", container_dir);
    if (mkdir_one(merged, 0755, err) < 0 || mkdir_one(upper, 0755, err) < 0 ||
        mkdir_one(work, 0700, err) < 0)
        return -1;
    if (is_mount_root(merged))
        return wh_err_set(err, 409, RT_ERR, "%s is already mounted", merged);
    const char *only_empty[] = {empty};
    if (n == 0) { /* overlayfs needs a lower dir even for an image with no layers */
        if (mkdir_one(empty, 0755, err) < 0)
            return -1;
        layers = only_empty;
        n = 1;
    }
    enum rootfs_method used = want;
    cleanup_free char *opts = options(layers, n, upper, work);
    bool fits = strlen(opts) + 1 <= page_size();
    if (want == ROOTFS_ABSOLUTE || (want == ROOTFS_AUTO && fits)) {
        used = ROOTFS_ABSOLUTE;
        r = mount_classic(merged, opts, err);
    } else if (want == ROOTFS_RELATIVE) {
        r = mount_relative(layers, n, upper, work, merged, err);
    } else {
        used = ROOTFS_LOWERDIR_PLUS;
        r = mount_lowerdir_plus(layers, n, upper, work, merged, err);
        if (r == 1 && want == ROOTFS_AUTO) {
            used = ROOTFS_RELATIVE;
            r = mount_relative(layers, n, upper, work, merged, err);
        } else if (r == 1) {
            r = wh_err_set(err, 500, RT_ERR, "this kernel cannot mount overlayfs with lowerdir+");
        }
    }
    if (r < 0)
        return -1;
    *ret_rootfs = TAKE_PTR(merged);
    if (ret_method)
        *ret_method = used;
    return 0;
}

int rootfs_unmount(const char *container_dir, struct wh_err *err)
{
    cleanup_free char *merged = xasprintf("%s/rootfs", container_dir);
    if (!is_mount_root(merged))
        return 0;
    if (umount2(merged, UMOUNT_NOFOLLOW) == 0)
        return 0;
    if (errno == EBUSY && umount2(merged, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
        return 0;
    if (errno == EINVAL || errno == ENOENT)
        return 0;
    return wh_err_set(err, 500, RT_ERR, "cannot unmount %s: %s", merged, strerror(errno));
}

int rootfs_remove(const char *container_dir, struct wh_err *err)
{
    if (rootfs_unmount(container_dir, err) < 0)
        return -1;
    static const char *const parts[] = {"rootfs", "upper", "work", "empty"};
    for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
        cleanup_free char *p = xasprintf("%s/%s", container_dir, parts[i]);
        int r = rmtree(p);
        if (r < 0)
            return wh_err_set(err, 500, RT_ERR, "cannot remove %s: %s", p, strerror(-r));
    }
    return 0;
}
