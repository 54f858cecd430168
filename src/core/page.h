/* Pagination tokens: opaque to clients, they carry the last key a page ended on, so a listing
 * resumes correctly even when rows are added or removed between pages. */
#pragma once

/* A new token for key (any string). */
char *page_token_encode(const char *key);
/* The key of a token made by page_token_encode; -1 when tok is not one. */
int page_token_decode(const char *tok, char **ret_key);
