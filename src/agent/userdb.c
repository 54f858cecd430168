#include "agent/userdb.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

#define MAX_FIELDS 7

/* Split one line of a colon-separated database into at most MAX_FIELDS fields (in place). */
static size_t split_fields(char *line, char **f)
{
    size_t n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < MAX_FIELDS; p++)
        if (*p == ':') {
            *p = 0;
            f[n++] = p + 1;
        }
    return n;
}

static bool parse_id(const char *s, uint32_t *ret)
{
    if (!s || !*s || strspn(s, "0123456789") != strlen(s))
        return false;
    errno = 0;
    unsigned long v = strtoul(s, NULL, 10);
    if (errno || v > INT32_MAX)
        return false;
    *ret = (uint32_t)v;
    return true;
}

/* Calls fn for each well-formed line of text with its fields; stops when fn returns true. */
typedef bool (*line_fn)(char **f, size_t n, void *arg);
static void each_line(const char *text, size_t min_fields, line_fn fn, void *arg)
{
    if (!text)
        return;
    cleanup_free char *copy = xstrdup(text);
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line[strcspn(line, "\r")] = 0;
        if (!*line || *line == '#')
            continue;
        char *f[MAX_FIELDS];
        size_t n = split_fields(line, f);
        if (n >= min_fields && fn(f, n, arg))
            return;
    }
}

struct pw_query {
    const char *name; /* match by name, or */
    uint32_t uid;     /* by uid when numeric */
    bool numeric, found;
    uint32_t gid;
    char *pw_name, *home;
};

static bool pw_match(char **f, size_t n, void *arg)
{
    struct pw_query *q = arg;
    uint32_t uid, gid;
    if (!parse_id(f[2], &uid) || !parse_id(f[3], &gid))
        return false;
    if (q->numeric ? uid != q->uid : strcmp(f[0], q->name) != 0)
        return false;
    q->found = true;
    q->uid = uid;
    q->gid = gid;
    q->pw_name = xstrdup(f[0]);
    q->home = xstrdup(n > 5 && *f[5] ? f[5] : "/");
    return true;
}

struct gr_query {
    const char *name; /* group to find by name (NULL: none) */
    bool found;
    uint32_t gid;
    const char *member; /* collect groups listing this user (NULL: none) */
    uint32_t *gids;
    size_t n;
};

static bool gr_each(char **f, size_t n, void *arg)
{
    struct gr_query *q = arg;
    uint32_t gid;
    if (!parse_id(f[2], &gid))
        return false;
    if (q->name && !q->found && strcmp(f[0], q->name) == 0) {
        q->found = true;
        q->gid = gid;
    }
    if (q->member && n > 3) {
        cleanup_free char *members = xstrdup(f[3]);
        char *save = NULL;
        for (char *m = strtok_r(members, ",", &save); m; m = strtok_r(NULL, ",", &save))
            if (strcmp(m, q->member) == 0) {
                q->gids = xrealloc(q->gids, (q->n + 1) * sizeof(*q->gids));
                q->gids[q->n++] = gid;
                break;
            }
    }
    return false;
}

static int resolve_group(const char *gspec, const char *group, const char *member,
                         struct userdb_user *u, struct wh_err *err)
{
    struct gr_query gq = {.member = member};
    uint32_t gid;
    bool numeric = gspec && parse_id(gspec, &gid);
    if (gspec && !numeric)
        gq.name = gspec;
    each_line(group, 3, gr_each, &gq);
    if (gq.name && !gq.found) {
        free(gq.gids);
        return wh_err_set(err, 400, "InvalidParameterException",
                          "user: unable to find group '%s': no matching entries in the image's "
                          "/etc/group", gspec);
    }
    if (gspec)
        u->gid = numeric ? gid : gq.gid;
    u->groups = gq.gids;
    u->n_groups = gq.n;
    return 0;
}

int userdb_resolve(const char *spec, const char *passwd, const char *group,
                   struct userdb_user *ret_user, struct wh_err *err)
{
    cleanup_free char *s = xstrdup(spec && *spec ? spec : "0");
    char *gspec = strchr(s, ':');
    if (gspec)
        *gspec++ = 0;
    if (gspec && !*gspec)
        gspec = NULL;
    struct pw_query q = {.name = s};
    q.numeric = parse_id(s, &q.uid);
    if (!q.numeric && !*s)
        return wh_err_set(err, 400, "InvalidParameterException", "user '%s' has no user part",
                          spec);
    each_line(passwd, 4, pw_match, &q);
    if (!q.found && !q.numeric)
        return wh_err_set(err, 400, "InvalidParameterException",
                          "user: unable to find user '%s': no matching entries in the image's "
                          "/etc/passwd", s);
    struct userdb_user u = {.uid = q.uid, .gid = q.found ? q.gid : 0};
    int r = resolve_group(gspec, group, q.pw_name, &u, err);
    free(q.pw_name);
    if (r < 0) {
        free(q.home);
        return r;
    }
    u.home = q.home ? q.home : xstrdup("/");
    *ret_user = u;
    return 0;
}

void userdb_user_free(struct userdb_user *u)
{
    if (!u)
        return;
    free(u->groups);
    free(u->home);
    u->groups = NULL;
    u->home = NULL;
}
