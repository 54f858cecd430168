/* ECS account settings, per account, region and IAM principal. The account-wide default is
 * the root principal's own setting (arn:aws:iam::ACCOUNT:root), as in ECS, where changing the
 * root user's setting changes the default of every principal without its own. */
#pragma once
#include <stddef.h>

#include "store/store.h"

struct store_setting {
    char *name;
    char *value;
};

/* The value principal set for name; -ENOENT when it set none. */
int store_account_setting_get(struct store *st, const char *account, const char *region,
                              const char *principal_arn, const char *name, char **ret_value,
                              struct wh_err *err);
int store_account_setting_put(struct store *st, const char *account, const char *region,
                              const char *principal_arn, const char *name, const char *value,
                              struct wh_err *err);
/* Remove principal's setting and return the value it had; -ENOENT when it had none. */
int store_account_setting_delete(struct store *st, const char *account, const char *region,
                                 const char *principal_arn, const char *name, char **ret_value,
                                 struct wh_err *err);
/* Every setting principal set, sorted by name. */
int store_account_settings_list(struct store *st, const char *account, const char *region,
                                const char *principal_arn, struct store_setting **ret_settings,
                                size_t *ret_n, struct wh_err *err);
void store_settings_free(struct store_setting *settings, size_t n);
