/* The awslogs log driver: ships the output of containers whose logConfiguration has logDriver
 * "awslogs" to CloudWatch Logs (wharfd's Logs API), the way ECS does:
 *
 *   - group awslogs-group in region awslogs-region (CreateLogGroup first when
 *     awslogs-create-group is "true"), stream PREFIX/CONTAINER-NAME/TASK-ID
 *     (awslogs-stream-prefix; without one the container's runtime id);
 *   - each line of the container's k8s-file log (wharf-shim's, runtime.h) becomes an event with the
 *     time wharf-shim stamped on it, stdout and stderr alike; lines over 256 KiB are split as
 *     Docker's awslogs driver splits them, empty lines are dropped (k8s_reader.h);
 *   - lines are shipped within about a second (inotify on the file, a 200 ms batching delay),
 *     in PutLogEvents batches within the API's limits;
 *   - nothing is lost or shipped twice across an agent restart or kill -9: the shipper keeps a
 *     record per container in its state dir (logship_rules.h) and resumes from it;
 *   - after the container has exited, the rest of its file is shipped and the record is marked
 *     done (kept, so that the same file is never shipped again).
 * Containers without awslogs are not the shipper's business: their logs stay in the files.
 *
 * One thread ships for every container of the agent. The functions below are thread-safe. */
#pragma once
#include <jansson.h>

#include "core/err.h"

struct logship;

struct logship_opts {
    const char *state_dir;      /* its records: DATA/logship (created) */
    const char *endpoint;       /* wharfd, for every region */
    const char *credentials;    /* AWS shared-credentials file to sign with */
    const char *profile;        /* NULL: the file's first usable profile */
    const char *default_region; /* when a logConfiguration has no awslogs-region */
};

/* Load the records of the state dir and start shipping what they have not finished (so call
 * it before the agent's tasks are recovered). */
int logship_start(const struct logship_opts *o, struct logship **ret, struct wh_err *err);

struct logship_container {
    const char *task_arn;
    const char *container_name;
    const char *runtime_id;           /* the stream's name when there is no prefix */
    const char *log_path;             /* the k8s-file log wharf-shim writes (need not exist yet) */
    const json_t *log_configuration;  /* the container definition's, or NULL */
};

/* A container is about to be created: ship its log if its logConfiguration says awslogs.
 * Call it before the container can write (before rt_create); calling it again for the same
 * task and container is harmless (it goes on from where shipping stands). It creates the group
 * (awslogs-create-group) and the stream at once, so that a container whose logs cannot go
 * anywhere does not start, as with Docker: 0 (shipping, or nothing to ship), -1 with err->msg
 * "CannotStartContainerError: failed to initialize logging driver: ..." (bad options, or
 * wharfd refused: ResourceNotFoundException when the group does not exist, ...). When wharfd
 * cannot be reached the container may start; the shipper creates them later. May block for
 * some seconds (calls to wharfd). */
int logship_watch(struct logship *ls, const struct logship_container *c, struct wh_err *err);

/* The container has exited (or will never run): ship what its file holds, then stop. Quick
 * (writes the record, no network), so it may be called with the task's lock held; unknown
 * containers are ignored. Call it for every container that stops, including those found
 * stopped after an agent restart. */
void logship_container_exited(struct logship *ls, const char *task_arn,
                              const char *container_name);

/* At agent shutdown: one last attempt (a few seconds at most) to ship what was read, then the
 * thread ends; records keep where shipping stands. NULL is fine. Containers keep running and
 * the next agent goes on shipping their logs. */
void logship_stop(struct logship *ls);
