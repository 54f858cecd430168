/* A task's network namespace, kept alive by a bind mount of its nsfs file so that every
 * container of the task can join it (as the pause container does for ECS awsvpc tasks) and
 * it outlives any one container and the agent. Until the networking issue it has loopback
 * only, brought up here (runc brings lo up only in namespaces it creates itself). */
#pragma once
#include <stdbool.h>

#include "core/err.h"

/* Create a new network namespace bound at path (created; its directory must exist), with lo
 * up. Idempotent: an existing namespace at path is kept. */
int netns_create(const char *path, struct wh_err *err);
/* True when path is a bound network namespace. */
bool netns_exists(const char *path);
/* Unmount (lazily) and unlink path; 0 when it is not there. */
int netns_remove(const char *path);
