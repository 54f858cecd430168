/* Shared by oci_spec.c, oci_mounts.c and oci_linux.c: the parsed inputs of one build. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/oci_spec.h"
#include "core/err.h"

struct oci_ctx {
    const struct oci_spec_in *in;
    const char *name;   /* the container's name */
    json_t *img;        /* the image config's "config" object (never NULL) */
    json_t *def;        /* the container definition */
    json_t *ov;         /* the override, or NULL */
    json_t *lp;         /* def.linuxParameters, or NULL */
    bool privileged;
    uint64_t caps;      /* effective capabilities */
    struct oci_spec *out;
};

void oci_warn(struct oci_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A member of the override if present there, else of the definition. */
json_t *oci_pick(const struct oci_ctx *c, const char *key);

/* The "mounts" array. */
int oci_mounts_build(struct oci_ctx *c, json_t **ret_mounts, struct wh_err *err);
/* The "linux" object: namespaces, resources, cgroupsPath, masking, seccomp, sysctl. */
int oci_linux_build(struct oci_ctx *c, json_t **ret_linux, struct wh_err *err);
/* process.rlimits from def.ulimits, clamped to the host's hard limits. */
int oci_rlimits_build(struct oci_ctx *c, json_t **ret_rlimits, struct wh_err *err);
