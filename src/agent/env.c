#include "agent/env.h"

#include <string.h>
#include <sys/types.h>

#include "core/xalloc.h"

static size_t key_len(const char *pair)
{
    return strcspn(pair, "=");
}

static ssize_t find(const struct env_list *e, const char *key, size_t klen)
{
    for (size_t i = 0; i < e->n; i++)
        if (key_len(e->v[i]) == klen && strncmp(e->v[i], key, klen) == 0)
            return (ssize_t)i;
    return -1;
}

static void put(struct env_list *e, char *pair, size_t klen, bool replace)
{
    ssize_t i = find(e, pair, klen);
    if (i >= 0) {
        if (replace) {
            free(e->v[i]);
            e->v[i] = pair;
        } else {
            free(pair);
        }
        return;
    }
    e->v = xrealloc(e->v, (e->n + 1) * sizeof(*e->v));
    e->v[e->n++] = pair;
}

void env_set(struct env_list *e, const char *key, const char *value, bool replace)
{
    put(e, xasprintf("%s=%s", key, value ? value : ""), strlen(key), replace);
}

void env_set_pair(struct env_list *e, const char *pair, bool replace)
{
    put(e, xstrdup(pair), key_len(pair), replace);
}

bool env_has(const struct env_list *e, const char *key)
{
    return find(e, key, strlen(key)) >= 0;
}

void env_free(struct env_list *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
    e->v = NULL;
    e->n = 0;
}

void env_parse_file(const char *text, struct env_list *into, bool replace)
{
    if (!text)
        return;
    /* Parse the file on its own first so that a later line of the same file wins even when
     * `replace` is false for keys merged from elsewhere. */
    struct env_list file = {0};
    cleanup_free char *copy = xstrdup(text);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line[strcspn(line, "\r")] = 0;
        line += strspn(line, " \t");
        char *eq = strchr(line, '=');
        if (!*line || *line == '#' || !eq || eq == line)
            continue;
        env_set_pair(&file, line, true);
    }
    for (size_t i = 0; i < file.n; i++)
        put(into, file.v[i], key_len(file.v[i]), replace); /* put takes ownership */
    free(file.v);
}
