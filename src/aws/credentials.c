#include "aws/credentials.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/crypto.h"
#include "core/fsutil.h"
#include "core/xalloc.h"

struct cred {
    char *profile, *key, *secret;
};

struct credentials {
    struct cred *v;
    unsigned n;
};

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

static void add_if_complete(struct credentials *c, struct cred *cur)
{
    if (cur->profile && cur->key && cur->secret) {
        c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
        c->v[c->n++] = *cur;
    } else {
        free(cur->profile);
        free(cur->key);
        free(cur->secret);
    }
    *cur = (struct cred){0};
}

int credentials_parse(const char *text, struct credentials **ret_creds, struct wh_err *err)
{
    (void)err;
    struct credentials *c = xcalloc(1, sizeof(*c));
    cleanup_free char *copy = xstrdup(text);
    struct cred cur = {0};
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *l = trim(line);
        if (!*l || *l == '#' || *l == ';')
            continue;
        if (*l == '[') {
            add_if_complete(c, &cur);
            char *end = strchr(l, ']');
            if (end)
                *end = 0;
            cur.profile = xstrdup(trim(l + 1));
            continue;
        }
        char *eq = strchr(l, '=');
        if (!eq || !cur.profile)
            continue;
        *eq = 0;
        char *k = trim(l), *v = trim(eq + 1);
        if (strcmp(k, "aws_access_key_id") == 0) {
            free(cur.key);
            cur.key = xstrdup(v);
        } else if (strcmp(k, "aws_secret_access_key") == 0) {
            free(cur.secret);
            cur.secret = xstrdup(v);
        }
    }
    add_if_complete(c, &cur);
    *ret_creds = c;
    return 0;
}

static char *generate(void)
{
    /* Shaped like AWS's: a 20-character AKIA… id and a 40-character secret. */
    static const char upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t rnd[56];
    random_bytes(rnd, sizeof(rnd));
    char key[21] = "AKIA", secret[41];
    for (int i = 4; i < 20; i++)
        key[i] = upper[rnd[i] % 32];
    key[20] = 0;
    for (int i = 0; i < 40; i++)
        secret[i] = b64[rnd[16 + i] % 64];
    secret[40] = 0;
    return xasprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", key,
                     secret);
}

int credentials_load_or_create(const char *path, struct credentials **ret_creds, bool *ret_created,
                               struct wh_err *err)
{
    char *text = NULL;
    bool created = false;
    int r = fs_read_file(path, 1 << 20, &text, NULL);
    if (r == -ENOENT) {
        text = generate();
        r = fs_write_atomic(path, text, strlen(text), 0600);
        if (r < 0) {
            free(text);
            return wh_err_set(err, 500, "ServerException", "cannot write %s: %s", path,
                              strerror(-r));
        }
        created = true;
    } else if (r < 0) {
        return wh_err_set(err, 500, "ServerException", "cannot read %s: %s", path, strerror(-r));
    }
    struct credentials *c = NULL;
    r = credentials_parse(text, &c, err);
    free(text);
    if (r < 0)
        return r;
    if (c->n == 0) {
        credentials_free(c);
        return wh_err_set(err, 500, "ServerException",
                          "%s has no profile with both aws_access_key_id and "
                          "aws_secret_access_key",
                          path);
    }
    *ret_creds = c;
    if (ret_created)
        *ret_created = created;
    return 0;
}

const char *credentials_secret(const struct credentials *c, const char *access_key)
{
    for (unsigned i = 0; c && i < c->n; i++)
        if (strcmp(c->v[i].key, access_key) == 0)
            return c->v[i].secret;
    return NULL;
}

const char *credentials_first_key(const struct credentials *c)
{
    return c && c->n ? c->v[0].key : NULL;
}

unsigned credentials_count(const struct credentials *c)
{
    return c ? c->n : 0;
}

void credentials_free(struct credentials *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < c->n; i++) {
        free(c->v[i].profile);
        free(c->v[i].key);
        free(c->v[i].secret);
    }
    free(c->v);
    free(c);
}
