/* A container's root filesystem: an overlayfs mount of its image's layers (read-only lower
 * dirs, shared by every container of the image) with a private upper dir. Layout under the
 * container's directory:
 *
 *   CDIR/rootfs   the merged mount (the OCI bundle's root.path)
 *   CDIR/upper    the container's writes
 *   CDIR/work     overlayfs's work dir
 *
 * The classic mount(2) takes all options in one page (4 KiB), which a long lowerdir list
 * can overflow. So the mount is made, in this order of preference:
 *   1. mount(2) with absolute paths, when the options fit in a page;
 *   2. the new mount API (fsopen/fsconfig/fsmount/move_mount) adding one "lowerdir+" per
 *      layer (Linux >= 6.8): no length limit at all;
 *   3. mount(2) with lowerdir paths relative to the layers' common parent directory, from
 *      a helper thread whose cwd is that directory (unshare(CLONE_FS) + fchdir, so no other
 *      thread's cwd moves); with 12-character layer ids that is ~300 layers.
 * Anything longer is refused with an error naming the layer count. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

enum rootfs_method {
    ROOTFS_AUTO = 0,      /* the order above */
    ROOTFS_ABSOLUTE,      /* forced, for tests */
    ROOTFS_LOWERDIR_PLUS,
    ROOTFS_RELATIVE,
};

struct rootfs_opts {
    enum rootfs_method method;
};

/* Mount layers (bottom → top, as pulled_image.layer_dirs) for the container at
 * container_dir (created if missing). Returns the merged directory (new string) and the
 * method used (ret_method may be NULL). An image without layers gets an empty lower dir. */
int rootfs_mount(const char *const *layers, size_t n, const char *container_dir,
                 const struct rootfs_opts *o, char **ret_rootfs, enum rootfs_method *ret_method,
                 struct wh_err *err);
/* True when CDIR/rootfs is a mount point (e.g. found again after an agent restart). */
bool rootfs_is_mounted(const char *container_dir);
/* Unmount CDIR/rootfs (lazily if busy); fine when it is not mounted. */
int rootfs_unmount(const char *container_dir, struct wh_err *err);
/* Unmount, then delete rootfs/, upper/ and work/ (never through a mount). */
int rootfs_remove(const char *container_dir, struct wh_err *err);
