/* ECR resource tags ({Key, Value}, capitalised) on repositories, kept with ECS's tag code
 * (ecs/tagging.h, {key, value}): converted at the edges, errors renamed to ECR's
 * (InvalidTagParameterException, TooManyTagsException). */
#pragma once
#include <jansson.h>

#include "core/err.h"

struct store;

/* Validate an ECR TagList (field names the member for messages). */
int ecr_tags_validate(const json_t *tags, const char *field, struct wh_err *err);
/* Add or overwrite arn's tags (validated first); call inside store_tx. */
int ecr_tags_apply(struct store *st, const char *arn, const json_t *tags, struct wh_err *err);
/* arn's tags as an ECR TagList sorted by key. */
int ecr_tags_json(struct store *st, const char *arn, json_t **ret_tags, struct wh_err *err);
