/* Files that must never be seen half-written, and directories. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

/* Write data to path atomically: temp file in the same directory, fsync, rename, fsync the
 * directory. Returns 0 or -errno. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* mkdir -p with mode; 0 or -errno. */
int fs_mkdir_p(const char *path, mode_t mode);
/* Read a whole file (NUL-terminated) up to max bytes; 0 or -errno (-EFBIG when larger). */
int fs_read_file(const char *path, size_t max, char **ret_data, size_t *ret_len);
/* fsync the directory holding path. */
int fs_fsync_dir_of(const char *path);
