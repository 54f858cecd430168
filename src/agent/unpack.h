/* Unpack one image layer (a tar, gzip- or zstd-compressed or not) into a directory, safely,
 * in the form overlayfs reads as a lower layer.
 *
 * Refused, with an error naming the entry and why ("layer sha256:…: entry '../etc/passwd'
 * escapes the layer directory"): names with a ".." component or an absolute path, entries
 * whose parent path goes through a symlink already on disk in the layer, hard links whose
 * target is outside the layer or reached through a symlink, character/block devices (unless
 * allow_devices), entries larger than max_entry_size, layers larger than max_total_size.
 * Kept as in the archive (we run as root): numeric owner, mode (set-id bits included),
 * mtime, extended attributes (except trusted.overlay.*, which only wharf may set).
 *
 * OCI whiteouts become overlayfs ones: ".wh.NAME" → a 0:0 character device NAME beside it,
 * ".wh..wh..opq" → xattr trusted.overlay.opaque="y" on its directory; other ".wh..wh."
 * entries (AUFS bookkeeping) are skipped.
 *
 * The work happens in a helper thread with its own working directory (unshare(CLONE_FS)),
 * so libarchive resolves names relative to the layer directory and the rest of the process
 * (other threads, other unpacks) keeps its own cwd and umask. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

#define UNPACK_DEFAULT_MAX_ENTRY (8ll << 30) /* 8 GiB */

struct unpack_opts {
    const char *what;       /* message prefix, e.g. "layer sha256:…"; NULL: "layer" */
    bool allow_devices;     /* let character/block device entries through */
    int64_t max_entry_size; /* 0: UNPACK_DEFAULT_MAX_ENTRY */
    int64_t max_total_size; /* 0: no cap on the sum of entry sizes */
};

struct unpack_stats {
    uint64_t entries;   /* entries written (whiteouts included) */
    uint64_t bytes;     /* file data written */
    uint64_t whiteouts; /* ".wh.NAME" converted */
    uint64_t opaques;   /* ".wh..wh..opq" converted */
};

/* Unpack archive_path into dest_dir, which must exist (normally empty). Errors are
 * CannotPullContainerError. dest_dir may be left partly filled on error: callers unpack into
 * a temporary directory and rename it into place on success. ret_stats may be NULL. */
int unpack_layer(const char *archive_path, const char *dest_dir, const struct unpack_opts *o,
                 struct unpack_stats *ret_stats, struct wh_err *err);

/* An entry name made relative and clean: leading "./" and "/"-runs folded, trailing "/"
 * dropped; "." for the layer root. NULL, with *ret_why set, when the name is absolute, has a
 * ".." component, or is empty. Pure; exposed for tests. */
char *unpack_clean_path(const char *name, const char **ret_why);
