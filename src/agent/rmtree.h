/* Remove a directory tree without following symlinks and without crossing into mounts: a
 * directory that is the root of a mount (a container rootfs still mounted, a bind mount) is
 * left alone and reported as -EBUSY, so a stale mount never has its lower layers or a host
 * volume deleted through it. */
#pragma once

/* rm -rf path. 0 (also when path does not exist) or -errno (-EBUSY: a mount inside). */
int rmtree(const char *path);
