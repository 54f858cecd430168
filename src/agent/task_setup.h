/* The steps of a task runner that touch the host: the task's own resources (directory,
 * network namespace, cgroup), a container's image, rootfs, OCI spec and creation, and the
 * cleanup after STOPPED. Called from the task's runner thread only. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

struct task;
struct pulled_image;

/* tasks/<id>/, its network namespace, the task cgroup with task-level memory, the log
 * directory. Idempotent. */
int setup_task(struct task *t, struct wh_err *err);
/* The task-level cpu as the task cgroup's CPU quota: once its containers are created, before
 * the first starts (cgroup_task_limit_cpu says why). Idempotent. */
int setup_task_cpu(struct task *t, struct wh_err *err);
/* Pull container i's image (with its credentials); records imageDigest/imageId. Errors are
 * the whole "CannotPullContainerError: …" reason. */
int setup_pull(struct task *t, size_t i, struct pulled_image **ret_img, struct wh_err *err);
/* Mount its rootfs, write /etc/hosts, resolv.conf, hostname, resolve volumes and environment
 * files, build the OCI spec and create the container under wharf-shim (not started). Fills
 * t->live[i].pid and the record's runtime id and stop signal. */
int setup_create(struct task *t, size_t i, const struct pulled_image *img, struct wh_err *err);
/* Forget a half-made container i (after a crash between create and saving): runtime delete,
 * rootfs removed. */
void setup_discard(struct task *t, size_t i);
/* Delete the containers, their rootfs, the task cgroup, network namespace and directory;
 * logs are kept. 0 when everything is gone (else it is tried again later). */
int setup_cleanup(struct task *t);

/* "256", "0.25 vCPU", "1 vCPU" → CPU units; "512", "1 GB", "0.5GB" → MiB; 0 when absent or
 * unreadable. Pure. */
int setup_parse_cpu(const char *s);
int setup_parse_memory(const char *s);
