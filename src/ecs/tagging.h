/* ECS resource tags shared by every taggable resource (clusters, task definitions, later
 * tasks, services, container instances): validation with ECS's limits, storage, JSON. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"

struct store;

#define ECS_MAX_TAGS 50

/* Check a request's tags array ([{key, value}]) against ECS's rules: at most 50 tags per
 * resource, key 1..128 and value 0..256 characters, keys unique, and the aws: prefix reserved.
 * field names the member for the message ("tags"). InvalidParameterException on failure. */
int ecs_tags_validate(const json_t *tags, const char *field, struct wh_err *err);
/* Add or overwrite arn's tags; the total after merging must stay within ECS_MAX_TAGS. Call
 * inside store_tx. */
int ecs_tags_apply(struct store *st, const char *arn, const json_t *tags, struct wh_err *err);
/* arn's tags as ECS JSON [{key, value}] sorted by key; an empty array when none. */
int ecs_tags_json(struct store *st, const char *arn, json_t **ret_tags, struct wh_err *err);
/* Remove all tags of arn (when the resource itself goes). */
int ecs_tags_drop(struct store *st, const char *arn, struct wh_err *err);
/* Whether a Describe request's include list asks for "TAGS". */
bool ecs_tags_included(const json_t *in);
