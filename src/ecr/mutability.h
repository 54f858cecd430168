/* Image tag mutability settings: MUTABLE, IMMUTABLE, and the *_WITH_EXCLUSION forms whose
 * imageTagMutabilityExclusionFilters ([{filterType: WILDCARD, filter: "release-*"}]) name the
 * tags that behave the other way. Which tag a setting protects is the registry's
 * registry_tag_immutable() (registry/manifests.h), shared by /v2/ and PutImage. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "core/err.h"

/* Filters are required with the *_WITH_EXCLUSION settings and refused with the others.
 * mutability NULL means MUTABLE. InvalidParameterException. */
int ecr_mutability_check(const char *mutability, const json_t *filters, struct wh_err *err);
