/* Files that must never be seen half-written, and directories. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

/* Write data to path atomically: temp file in the same directory, fsync, rename, fsync the
 * directory. Returns 0 or -errno. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* The same without forcing anything to disk: every process sees the old or the new file, also
 * after this one is killed; a power cut may leave the old one. For state that does not outlive
 * a reboot anyway (an agent's records of containers and network namespaces). */
int fs_write_replace(const char *path, const void *data, size_t len, mode_t mode);
/* mkdir -p with mode; 0 or -errno. */
int fs_mkdir_p(const char *path, mode_t mode);
/* Read a whole file (NUL-terminated) up to max bytes; 0 or -errno (-EFBIG when larger). */
int fs_read_file(const char *path, size_t max, char **ret_data, size_t *ret_len);
/* fsync the directory holding path. */
int fs_fsync_dir_of(const char *path);
/* The path of name in the directory of this program's executable (name NULL: the directory
 * itself), or NULL when /proc/self/exe cannot be read. New string. */
char *fs_beside_self(const char *name);
