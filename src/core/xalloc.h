/* Allocation helpers: allocation failure aborts (there is no sane recovery in a daemon
 * that would otherwise half-apply a request), plus cleanup attributes for ownership. */
#pragma once
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new heap string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap);

static inline void freep(void *p) { free(*(void **)p); }
#define cleanup_free __attribute__((cleanup(freep)))

/* Move ownership out of a cleanup variable: return the pointer and null the variable. */
#define TAKE_PTR(p)                                                                                \
    ({                                                                                             \
        __typeof__(p) _tp = (p);                                                                   \
        (p) = NULL;                                                                                \
        _tp;                                                                                       \
    })
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
