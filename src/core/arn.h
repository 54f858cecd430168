/* Amazon Resource Names: arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE. */
#pragma once
#include <stdbool.h>

struct arn {
    char partition[16];
    char service[32];
    char region[32];
    char account[16];
    char resource[1024]; /* "cluster/default", "task-definition/web:3" */
};

/* A new heap string "arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE". */
char *arn_make(const char *service, const char *region, const char *account, const char *resource);
/* Split an ARN; -1 when s is not one (or a part is too long). */
int arn_parse(const char *s, struct arn *ret_arn);
bool arn_looks_like(const char *s);
