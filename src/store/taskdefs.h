/* Task definitions in the store: one row per revision, scoped by account and region. The
 * definition's content (containers, volumes, sizes, ...) is JSON text in `body`; identity,
 * status and timestamps are columns. Return values follow store.h. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct store_taskdef {
    char *family;
    int64_t revision;
    char *arn;
    char *status; /* ACTIVE | INACTIVE | DELETE_IN_PROGRESS */
    char *body;   /* JSON text; NULL in listings */
    double registered_at;
    char *registered_by;        /* may be NULL */
    double deregistered_at;     /* 0 when never deregistered */
    double delete_requested_at; /* 0 when never deleted */
};

void store_taskdef_free(struct store_taskdef *td);
/* Free an array of n listing rows. */
void store_taskdefs_free(struct store_taskdef *v, size_t n);

/* Add the next revision of family (one more than the highest ever registered, deleted ones
 * included), ACTIVE, with its ARN. Joins the caller's store_tx when there is one. */
int store_taskdef_register(struct store *st, const char *account, const char *region,
                           const char *family, const char *body, const char *registered_by,
                           double now, struct store_taskdef **ret_td, struct wh_err *err);
/* One revision, any status; -ENOENT. */
int store_taskdef_get(struct store *st, const char *account, const char *region,
                      const char *family, int64_t revision, struct store_taskdef **ret_td,
                      struct wh_err *err);
/* The highest ACTIVE revision of family; -ENOENT when it has none. */
int store_taskdef_get_latest_active(struct store *st, const char *account, const char *region,
                                    const char *family, struct store_taskdef **ret_td,
                                    struct wh_err *err);
/* Move a revision to INACTIVE (stamping deregistered_at) or DELETE_IN_PROGRESS (stamping
 * delete_requested_at) when it is in status `from`. -ENOENT when there is no such revision,
 * -EAGAIN when its status is not `from`. */
int store_taskdef_transition(struct store *st, const char *account, const char *region,
                             const char *family, int64_t revision, const char *from,
                             const char *to, double now, struct wh_err *err);

struct store_taskdef_query {
    const char *family; /* exact family, or NULL for all */
    const char *status; /* ACTIVE | INACTIVE | DELETE_IN_PROGRESS */
    bool desc;          /* family then revision, descending */
    const char *after_family; /* resume after (after_family, after_revision), or NULL */
    int64_t after_revision;
    unsigned limit;
};
/* Revisions matching q in order; rows carry family, revision, arn and status (no body). */
int store_taskdefs_list(struct store *st, const char *account, const char *region,
                        const struct store_taskdef_query *q, struct store_taskdef **ret_v,
                        size_t *ret_n, struct wh_err *err);

/* Family names starting with prefix (NULL: all) in ascending order after `after` (NULL: from the
 * start). status: ACTIVE (some revision ACTIVE), INACTIVE (none ACTIVE) or ALL. */
int store_taskdef_families(struct store *st, const char *account, const char *region,
                           const char *prefix, const char *status, const char *after,
                           unsigned limit, char ***ret_families, size_t *ret_n,
                           struct wh_err *err);
