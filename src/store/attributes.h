/* ECS attributes of container instances: (cluster, target, name) → value. The target is kept
 * as its full ARN. Return values follow store.h. */
#pragma once
#include <stddef.h>

#include "store/store.h"

struct store_attribute {
    char *target_id;   /* container instance ARN */
    char *target_type; /* "container-instance" */
    char *name;
    char *value; /* may be NULL */
};

void store_attributes_free(struct store_attribute *v, size_t n);

/* Insert or overwrite one attribute. */
int store_attribute_put(struct store *st, const char *cluster_arn,
                        const struct store_attribute *a, struct wh_err *err);
/* Remove one attribute; -ENOENT when it was not there. */
int store_attribute_delete(struct store *st, const char *cluster_arn, const char *target_id,
                           const char *name, struct wh_err *err);
/* Every attribute of one target, by name. */
int store_attributes_of(struct store *st, const char *cluster_arn, const char *target_id,
                        struct store_attribute **ret_v, size_t *ret_n, struct wh_err *err);

struct store_attribute_query {
    const char *target_type; /* exact, or NULL */
    const char *name;        /* exact, or NULL */
    const char *value;       /* exact (with name), or NULL */
    const char *after_target, *after_name; /* resume after this (target, name), or NULL */
    unsigned limit;
};
/* A cluster's attributes matching q, ordered by target then name. */
int store_attributes_list(struct store *st, const char *cluster_arn,
                          const struct store_attribute_query *q, struct store_attribute **ret_v,
                          size_t *ret_n, struct wh_err *err);
