/* The OCI runtime-spec config.json of one ECS container: from the image config, the container
 * definition, the task's overrides and what the agent resolved (rootfs, mounts, environment
 * files, the image's user database, the network namespace), with Docker's precedence rules and
 * Docker's default confinement. oci_spec_build() is pure: everything it needs from the host is
 * in struct oci_host, which oci_host_probe() fills. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include "agent/volumes.h"
#include "core/err.h"

/* What the host allows. */
struct oci_host {
    uint64_t caps;                     /* capabilities a container may get (our bounding set) */
    uint64_t hard_limits[RLIM_NLIMITS]; /* our hard rlimits (RLIM_INFINITY: unlimited); rlimits
                                           above them cannot be set without CAP_SYS_RESOURCE */
    bool swap_accounting;              /* memory+swap limits can be set */
    bool no_x32; /* x86_64 kernel without the x32 ABI: an x32 syscall is ENOSYS */
};

/* Fill from this process: CapBnd, getrlimit, memory.memsw / cgroup v2, whether the kernel
 * runs x32 syscalls. Not pure. */
void oci_host_probe(struct oci_host *ret_host);

struct oci_spec_in {
    const char *image_config;  /* JSON text: the OCI image config blob (or its "config" object);
                                  Entrypoint, Cmd, Env, WorkingDir, User, StopSignal; NULL: {} */
    const char *container_def; /* JSON text: the ECS ContainerDefinition */
    const char *overrides;     /* JSON text: its ContainerOverride (command, environment, cpu,
                                  memory, memoryReservation), or NULL */
    int task_cpu;              /* task-level cpu units / memory MiB (0: none); the limits go on
                                  the task's cgroup (see cgroup.h), here they are checked */
    int task_memory;
    const char *task_id;       /* cgroupsPath "/wharf/TASK_ID/CONTAINER_NAME" */
    const char *rootfs;        /* absolute host path */
    const struct vol_mounts *mounts; /* from volumes_resolve(); may be NULL */
    const char *const *env_files;    /* contents of the environment files, in order (an
                                        override's list replaces the definition's, as in ECS) */
    size_t n_env_files;
    const char *passwd, *group; /* the image's /etc/passwd and /etc/group text, or NULL */
    const char *netns;         /* network namespace to join; NULL (or the definition's
                                  disableNetworking): a new one, loopback only */
    bool host_network;         /* networkMode host: no network namespace (netns ignored) */
    const char *hostname;      /* NULL: the definition's hostname, else none */
    const char *hosts_path, *resolv_conf_path, *hostname_path; /* files bind-mounted over
                                  /etc/hosts, /etc/resolv.conf, /etc/hostname (NULL: none) */
    const char *init_path;     /* host path of wharf-init (needed for initProcessEnabled) */
    const struct oci_host *host; /* NULL: no clamping, every capability available */
};

struct oci_spec {
    json_t *spec;      /* the config.json document */
    int stop_signal;   /* the image's StopSignal, SIGTERM by default */
    char **warnings;   /* what was adjusted (clamped ulimits, unavailable capabilities); the
                          caller logs them */
    size_t n_warnings;
};

/* Docker's rules: entryPoint in the definition replaces the image Entrypoint and drops the image
 * Cmd unless a command is given; command (the override's, else the definition's) replaces Cmd;
 * environment is the image Env, then the environment files (the first file to set a key wins),
 * then environment, then the override's (later wins, in place); workingDirectory and user
 * override the image's. Errors (400 InvalidParameterException) name the field and the value. */
int oci_spec_build(const struct oci_spec_in *in, struct oci_spec *ret_spec, struct wh_err *err);
void oci_spec_free(struct oci_spec *s);

/* "SIGTERM", "TERM", "15" → 15; -1 when unknown. */
int oci_signal_from_name(const char *name);
