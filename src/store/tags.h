/* Resource tags, keyed by resource ARN (the ARN carries account and region). */
#pragma once
#include <stddef.h>

#include "store/store.h"

struct store_resource_tag {
    char *key;
    char *value;
};

/* arn's tags sorted by key (byte order). */
int store_resource_tags_get(struct store *st, const char *arn, struct store_resource_tag **ret_tags,
                            size_t *ret_n, struct wh_err *err);
void store_resource_tags_free(struct store_resource_tag *tags, size_t n);
/* Insert or overwrite one tag. */
int store_resource_tag_put(struct store *st, const char *arn, const char *key, const char *value,
                           struct wh_err *err);
/* Remove one tag; removing a key that is not there is not an error. */
int store_resource_tag_delete(struct store *st, const char *arn, const char *key,
                              struct wh_err *err);
/* Remove every tag of arn. */
int store_resource_tags_delete_all(struct store *st, const char *arn, struct wh_err *err);
/* The number of tags arn has, or a negative error. */
int store_resource_tags_count(struct store *st, const char *arn, struct wh_err *err);

/* The status column of the taggable resource whose ARN is arn (a cluster: ACTIVE/INACTIVE; a
 * task definition: ACTIVE/INACTIVE/DELETE_IN_PROGRESS) as a heap string; -ENOENT when no
 * resource has that ARN. */
int store_resource_status(struct store *st, const char *arn, char **ret_status, struct wh_err *err);
