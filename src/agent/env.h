/* A container's environment as an ordered list of "KEY=VALUE" strings, with Docker's merge rule
 * (a key set again replaces its value in place; a new key is appended), and the parser for ECS
 * environment files. Pure. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct env_list {
    char **v; /* "KEY=VALUE" (image Env may hold a bare "KEY"), n entries, not NULL-terminated */
    size_t n;
};

/* Set key to value; when the key exists, replace it only if `replace`. */
void env_set(struct env_list *e, const char *key, const char *value, bool replace);
/* Set from one "KEY=VALUE" string (a bare "KEY" is kept as it is, as Docker keeps it). */
void env_set_pair(struct env_list *e, const char *pair, bool replace);
bool env_has(const struct env_list *e, const char *key);
void env_free(struct env_list *e);

/* Parse the contents of an environment file (ECS: "VARIABLE=VALUE" lines; lines starting with
 * '#' and blank lines are skipped; lines without '=' are ignored; values are literal, no quote
 * processing) into `into`: within one file a later line wins; a key already in `into` is kept
 * unless `replace`. */
void env_parse_file(const char *text, struct env_list *into, bool replace);
