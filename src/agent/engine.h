/* What the task runners share on one host: the runtime (runc under wharf-shim), the image
 * store, the host's limits for OCI specs, the directories, and the credentials for pulls (the ECR
 * token of wharf's own registry, cached until near its expiry; repositoryCredentials secrets).
 *
 * Layout of the data dir:
 *   instance.json              the registration (agent.c)
 *   state/<task id>.json       task records (state.h)
 *   tasks/<task id>/           per-task files: netns, volumes/, <container>/hosts, resolv.conf,
 *                              hostname
 *   rootfs/<runtime id>/       a container's overlay (rootfs.h)
 *   logs/<task id>/<name>.log  container output (k8s-file records from wharf-shim), kept
 *                              after cleanup
 *   images/                    the layer store (images.h)
 *   runc/ exits/ containers/   the runtime's (runtime.h)
 *   secrets.json               optional: {"<credentialsParameter ARN>": "<secret string>"},
 *                              the stand-in for Secrets Manager behind repositoryCredentials
 */
#pragma once
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#include "agent/images.h"
#include "agent/oci_spec.h"
#include "agent/runtime.h"
#include "core/err.h"

struct aws_client;

struct engine_opts {
    const char *data_dir;
    const char *runc;        /* NULL: from PATH */
    const char *shim;        /* NULL: wharf-shim beside this program */
    bool prefer_cached;      /* image pull behaviour: tags resolved once, then from cache */
};

struct engine {
    struct rt rt;
    struct images *images;
    struct oci_host host;
    char *data_dir;
    char *state_dir, *tasks_dir, *rootfs_dir, *logs_dir;
    char *init_path;         /* wharf-init beside this executable, or NULL */
    struct aws_client *aws;
    char *endpoint_host;     /* host[:port] of wharfd */
    pthread_mutex_t tok_mu;
    char *registry_host;     /* host[:port] of wharf's registry (GetAuthorizationToken's
                                proxyEndpoint), once known */
    char *tok_password;      /* the ECR token's password (user "AWS") */
    double tok_expires;      /* epoch */
};

int engine_open(const struct engine_opts *o, struct aws_client *aws, struct engine **ret,
                struct wh_err *err);
void engine_close(struct engine *e);

/* Credentials for pulling image (new strings in *ret_user / *ret_password, NULL for an
 * anonymous pull): repositoryCredentials (the container definition's) from secrets.json;
 * images on wharf's own registry with the ECR token; anything else anonymously. Errors are
 * CannotPullContainerError. */
int engine_image_auth(struct engine *e, const char *image, const json_t *container_def,
                      char **ret_user, char **ret_password, struct wh_err *err);

/* Run argv in a running container (runc exec, with the container's own process settings);
 * *ret_exit is its exit code (-1 on timeout). The runtime has no exec yet: this is a thin
 * adapter in the agent. */
int engine_exec(struct engine *e, const char *id, const char *const *argv, int timeout_ms,
                int *ret_exit, struct wh_err *err);

/* Read a regular file inside a container's rootfs without following symlinks out of it
 * (openat2 RESOLVE_IN_ROOT); NULL when it does not exist or is larger than max. */
char *engine_read_in_root(const char *rootfs, const char *path, size_t max);

/* The in-use set for image GC is the caller's; this runs images_gc with it. */
int engine_gc(struct engine *e, const char *const *in_use, size_t n, int64_t min_age_s);
