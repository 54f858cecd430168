/* Wildcard matching for the two places ECR uses it: IAM actions in repository policies
 * ("ecr:Get*", "ecr:Batch?etImage", case-insensitive) and lifecycle tagPatternList entries
 * ("prod*", "*-rc*", case-sensitive, '*' only). Pure functions. */
#pragma once
#include <stdbool.h>

enum glob_flags {
    GLOB_QUESTION = 1 << 0, /* '?' matches exactly one character */
    GLOB_ICASE = 1 << 1,    /* ASCII case-insensitive */
};

/* Whether the whole of s matches pattern, where '*' matches any run of characters (also
 * empty). Linear-time backtracking on the last '*', so hostile patterns cannot blow up. */
bool glob_match(const char *pattern, const char *s, unsigned flags);
