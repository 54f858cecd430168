/* References to task definitions as requests give them: "family" (latest ACTIVE revision),
 * "family:revision", or the ARN arn:aws:ecs:REGION:ACCOUNT:task-definition/family[:revision]. */
#pragma once
#include <stdint.h>

struct taskdef_ref {
    char family[256];
    int64_t revision; /* 0 when the reference names no revision */
};

/* Parse s. An ARN must be an ECS task-definition ARN; one of another region or account parses
 * but sets *ret_foreign (such a definition is not found here). -1 when s is none of the forms
 * (bad family, revision not a positive integer). */
int taskdef_ref_parse(const char *s, const char *region, const char *account,
                      struct taskdef_ref *ret_ref, int *ret_foreign);
