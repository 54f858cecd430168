#include "ecr/glob.h"

#include <ctype.h>
#include <stddef.h>

static bool char_eq(char p, char c, unsigned flags)
{
    if (p == c)
        return true;
    if (flags & GLOB_QUESTION && p == '?')
        return true;
    return flags & GLOB_ICASE && tolower((unsigned char)p) == tolower((unsigned char)c);
}

bool glob_match(const char *pattern, const char *s, unsigned flags)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*pattern == '*') {
            star = pattern++;
            resume = s;
        } else if (*pattern && char_eq(*pattern, *s, flags)) {
            pattern++;
            s++;
        } else if (star) {
            /* Let the last '*' swallow one more character and retry from there. */
            pattern = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*pattern == '*')
        pattern++;
    return *pattern == 0;
}
