/* ECS attributes of container instances: the rules PutAttributes and RegisterContainerInstance
 * share. Pure; failures are InvalidParameterException naming the field and the value. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"

#define ECS_ATTRIBUTES_PER_CALL 10
#define ECS_ATTRIBUTE_MAX 128

/* name: 1..128 of letters, digits, - _ / \ and periods. */
bool ecs_attribute_name_valid(const char *name);
/* value: 1..128 of letters, digits, - _ . @ / \ : and spaces, not starting or ending with a
 * space. */
bool ecs_attribute_value_valid(const char *value);
/* One Attribute {name, value, targetType, targetId} of a request. field: "attributes[2]". */
int ecs_attribute_check(const json_t *attr, const char *field, struct wh_err *err);
