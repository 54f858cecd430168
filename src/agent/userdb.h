/* Resolve a container's user ("name", "uid", "name:group", "uid:gid", ...) against the image's
 * /etc/passwd and /etc/group text, as Docker does. Pure. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct userdb_user {
    uint32_t uid, gid;
    uint32_t *groups; /* supplementary groups: those listing the user's name as a member */
    size_t n_groups;
    char *home;       /* from passwd, "/" when unknown */
};

/* spec NULL or "" means root. passwd/group may be NULL (no such file in the image): then only
 * numeric ids resolve. A name that is not found is an error naming it; a numeric uid missing
 * from passwd is fine (gid 0, home "/"), as with Docker. */
int userdb_resolve(const char *spec, const char *passwd, const char *group,
                   struct userdb_user *ret_user, struct wh_err *err);
void userdb_user_free(struct userdb_user *u);
