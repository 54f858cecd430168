/* ECS account settings: the known names, their values and defaults, and the effective value a
 * principal gets (its own setting, else the account default — the root user's setting — else
 * ECS's default). Used by the handlers in account_settings.c and by resources whose defaults
 * follow a setting (a new cluster's containerInsights). */
#pragma once
#include <stdbool.h>

#include "core/err.h"

struct store;

/* ECS's own default for a setting name, NULL when the name is unknown. */
const char *ecs_account_setting_builtin(const char *name);
/* The i-th known setting name in sorted order, NULL past the end. */
const char *ecs_account_setting_name(unsigned i);
/* Whether value is valid for name (InvalidParameterException naming both if not). */
int ecs_account_setting_check(const char *name, const char *value, struct wh_err *err);
/* Whether name may be set for principal_arn (root_arn: the account's root user): guardDutyActivate
 * is read-only; fargateFIPSMode and fargateTaskRetirementWaitPeriod are account-wide only. */
int ecs_account_setting_settable(const char *name, const char *principal_arn, const char *root_arn,
                                 struct wh_err *err);
/* principal_arn is an IAM user, role or root ARN of account. */
int ecs_principal_check(const char *principal_arn, const char *account, struct wh_err *err);
/* "arn:aws:iam::ACCOUNT:root" as a new string. */
char *ecs_root_arn(const char *account);

/* The effective value of name for principal_arn; *ret_from says where it came from: the
 * principal's own ARN, the root ARN (account default) or NULL (ECS's default). Both new heap
 * strings. */
int ecs_account_setting_effective(struct store *st, const char *account, const char *region,
                                  const char *principal_arn, const char *name, char **ret_value,
                                  char **ret_from, struct wh_err *err);
