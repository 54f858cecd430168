/* Pages of log events rendered straight to JSON text (api_ctx.raw_out): a page holds up to
 * 10,000 events, which as jansson objects cost more than reading them. The text is what
 * json_dumps(JSON_COMPACT) would write: strings escaped the same way (", \, control
 * characters), UTF-8 as it is. */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct logs_text {
    char *p;
    size_t len, cap;
};

void logs_text_raw(struct logs_text *t, const char *s, size_t n);
/* A string literal (only: its size is taken with sizeof). */
#define logs_text_lit(t, s) logs_text_raw((t), "" s "", sizeof(s) - 1)
/* A JSON string (with its quotes). */
void logs_text_str(struct logs_text *t, const char *s, size_t n);
void logs_text_int(struct logs_text *t, int64_t v);
/* The NUL-terminated text (the caller owns it); t is empty again. */
char *logs_text_take(struct logs_text *t);
