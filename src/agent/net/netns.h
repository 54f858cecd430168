/* Named network namespaces for task networking: a namespace made by a short-lived helper
 * thread that unshares CLONE_NEWNET (the agent's own threads never change namespace), with lo
 * brought up, and kept alive by bind-mounting its nsfs file at a path (as `ip netns add` does),
 * so that containers join it by path and it outlives the agent. Removing unmounts and unlinks
 * the path; the namespace dies with its last user. */
#pragma once
#include <stdbool.h>

#include "core/err.h"

/* Create a namespace bound at path; path's directory must exist. Idempotent: a namespace
 * already bound there is kept (0). A leftover plain file (after a reboot) is reused. */
int net_ns_create(const char *path, struct wh_err *err);
/* True when path is a bound network namespace. */
bool net_ns_exists(const char *path);
/* Unmount (detached) and unlink path. 0 when done or when nothing is there, else -errno. */
int net_ns_remove(const char *path);
/* How many TCP, UDP and raw sockets (any state, TIME_WAIT included) the namespace at path
 * holds, or -errno. A namespace with none can be handed to another task as if new. */
int net_ns_sockets(const char *path);
