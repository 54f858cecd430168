#include "agent/rmtree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_mount_root(int dfd, const char *name)
{
    struct statx stx;
    if (statx(dfd, name, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &stx) < 0)
        return false;
    return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
           (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* Empty the directory open at dfd (which is consumed). */
static int empty_dir(int dfd)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        int e = -errno;
        close(dfd);
        return e;
    }
    int ret = 0;
    struct dirent *de;
    while ((errno = 0, de = readdir(d))) {
        const char *n = de->d_name;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
            continue;
        bool isdir = de->d_type == DT_DIR;
        if (de->d_type == DT_UNKNOWN) {
            struct stat st;
            isdir = fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
        }
        if (!isdir) {
            if (unlinkat(dirfd(d), n, 0) < 0 && errno != ENOENT && !ret)
                ret = -errno;
            continue;
        }
        if (is_mount_root(dirfd(d), n)) {
            ret = -EBUSY;
            continue;
        }
        int cfd = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (cfd < 0) {
            if (errno != ENOENT && !ret)
                ret = -errno;
            continue;
        }
        int r = empty_dir(cfd);
        if (r < 0 && !ret)
            ret = r;
        if (unlinkat(dirfd(d), n, AT_REMOVEDIR) < 0 && errno != ENOENT && !ret)
            ret = -errno;
    }
    if (errno && !ret)
        ret = -errno;
    closedir(d);
    return ret;
}

int rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
    if (is_mount_root(AT_FDCWD, path))
        return -EBUSY;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    int r = empty_dir(fd);
    if (r < 0)
        return r;
    return rmdir(path) < 0 && errno != ENOENT ? -errno : 0;
}
