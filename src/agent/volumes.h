/* ECS volume semantics for one container of a task: which host paths are mounted where.
 * volumes_resolve() is pure; volumes_prepare() creates the directories it names. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

struct vol_mount {
    char *source;      /* host path */
    char *destination; /* absolute path in the container */
    bool readonly;
    bool managed;      /* a directory wharf owns (task-scoped or shared volume), not a user's path */
};

struct vol_mounts {
    struct vol_mount *m;
    size_t n;
};

struct volumes_in {
    const json_t *volumes;    /* the task definition's "volumes" (may be NULL) */
    const json_t *containers; /* its "containerDefinitions" (for volumesFrom) */
    const char *container;    /* the container whose mounts to resolve */
    const char *task_dir;     /* task-scoped volumes live in TASK_DIR/volumes/NAME */
    const char *shared_dir;   /* dockerVolumeConfiguration scope "shared": SHARED_DIR/NAME;
                                 NULL: shared volumes are refused */
};

/* The container's mounts: host.sourcePath volumes are bind mounts of that host path; volumes
 * without a host path (or with a local dockerVolumeConfiguration of scope "task") are a
 * directory under the task dir shared by the task's containers; volumesFrom adds the source
 * container's mounts (recursively), all read-only when its readOnly is true. The container's
 * own mountPoints override volumesFrom mounts at the same containerPath. Errors name the field
 * and the value. */
int volumes_resolve(const struct volumes_in *in, struct vol_mounts *ret_mounts,
                    struct wh_err *err);
void vol_mounts_free(struct vol_mounts *m);

/* mkdir -p every managed source, and every host source that does not exist yet (Docker creates
 * a missing bind-mount source as a directory). */
int volumes_prepare(const struct vol_mounts *m, struct wh_err *err);
