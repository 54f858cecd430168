/* ECS account settings: ListAccountSettings, PutAccountSetting, PutAccountSettingDefault and
 * DeleteAccountSetting. The account default is the root user's own setting, as in ECS. */
#include "ecs/account_settings.h"

#include <stdio.h>
#include <string.h>

#include "aws/api.h"
#include "core/arn.h"
#include "core/json.h"
#include "core/page.h"
#include "core/xalloc.h"
#include "ecs/handlers.h"
#include "store/account_settings.h"

#define LIST_MAX 10

/* Every setting name of the model, sorted (pagination resumes after a name), with ECS's
 * default and the values it accepts. */
static const struct {
    const char *name;
    const char *builtin;
    const char *const values[4];
} known[] = {
    {"awsvpcTrunking", "disabled", {"enabled", "disabled"}},
    {"containerInsights", "disabled", {"enabled", "disabled", "enhanced"}},
    {"containerInstanceLongArnFormat", "enabled", {"enabled", "disabled"}},
    {"defaultLogDriverMode", "non-blocking", {"blocking", "non-blocking"}},
    {"fargateEventWindows", "disabled", {"enabled", "disabled"}},
    {"fargateFIPSMode", "disabled", {"enabled", "disabled"}},
    {"fargateTaskRetirementWaitPeriod", "7", {"0", "7", "14"}},
    {"guardDutyActivate", "off", {"on", "off"}},
    {"serviceLongArnFormat", "enabled", {"enabled", "disabled"}},
    {"tagResourceAuthorization", "on", {"on", "off"}},
    {"taskLongArnFormat", "enabled", {"enabled", "disabled"}},
};

static int find(const char *name)
{
    for (size_t i = 0; name && i < ARRAY_SIZE(known); i++)
        if (strcmp(known[i].name, name) == 0)
            return (int)i;
    return -1;
}

const char *ecs_account_setting_builtin(const char *name)
{
    int i = find(name);
    return i < 0 ? NULL : known[i].builtin;
}

const char *ecs_account_setting_name(unsigned i)
{
    return i < ARRAY_SIZE(known) ? known[i].name : NULL;
}

int ecs_account_setting_check(const char *name, const char *value, struct wh_err *err)
{
    int i = find(name);
    if (i < 0)
        return api_invalid(err, "name '%s' is not an account setting", name ? name : "");
    char valid[64] = "";
    for (const char *const *v = known[i].values; *v; v++) {
        if (value && strcmp(*v, value) == 0)
            return 0;
        size_t len = strlen(valid);
        snprintf(valid + len, sizeof(valid) - len, "%s%s", len ? ", " : "", *v);
    }
    return api_invalid(err, "value '%s' is not valid for the %s setting; valid values: %s",
                       value ? value : "", name, valid);
}

int ecs_account_setting_settable(const char *name, const char *principal_arn, const char *root_arn,
                                 struct wh_err *err)
{
    if (strcmp(name, "guardDutyActivate") == 0)
        return api_invalid(err, "guardDutyActivate is read-only: Amazon GuardDuty controls it");
    if ((strcmp(name, "fargateFIPSMode") == 0 ||
         strcmp(name, "fargateTaskRetirementWaitPeriod") == 0) &&
        strcmp(principal_arn, root_arn) != 0)
        return api_invalid(err,
                           "%s is an account-wide setting: set it for the root user (%s) or "
                           "with PutAccountSettingDefault, not for %s",
                           name, root_arn, principal_arn);
    return 0;
}

char *ecs_root_arn(const char *account)
{
    return xasprintf("arn:aws:iam::%s:root", account);
}

int ecs_principal_check(const char *principal_arn, const char *account, struct wh_err *err)
{
    struct arn a;
    if (arn_parse(principal_arn, &a) < 0 || strcmp(a.service, "iam") != 0 || a.region[0] ||
        (strcmp(a.resource, "root") != 0 && strncmp(a.resource, "user/", 5) != 0 &&
         strncmp(a.resource, "role/", 5) != 0))
        return api_invalid(err,
                           "principalArn '%s' is not the ARN of an IAM user, role or root user",
                           principal_arn);
    if (strcmp(a.account, account) != 0)
        return api_invalid(err, "principalArn '%s' belongs to account %s, not to %s", principal_arn,
                           a.account, account);
    return 0;
}

int ecs_account_setting_effective(struct store *st, const char *account, const char *region,
                                  const char *principal_arn, const char *name, char **ret_value,
                                  char **ret_from, struct wh_err *err)
{
    cleanup_free char *root = ecs_root_arn(account);
    const char *who[] = {principal_arn, root};
    for (size_t i = 0; i < ARRAY_SIZE(who); i++) {
        char *value = NULL;
        int r = store_account_setting_get(st, account, region, who[i], name, &value, err);
        if (r == -ENOENT)
            continue;
        if (r < 0)
            return r;
        *ret_value = value;
        *ret_from = xstrdup(who[i]);
        return 0;
    }
    const char *builtin = ecs_account_setting_builtin(name);
    *ret_value = xstrdup(builtin ? builtin : "");
    *ret_from = NULL;
    return 0;
}

static json_t *setting_json(const char *name, const char *value, const char *principal, bool user)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "name", name, "value", value, "principalArn",
                     principal, "type", user ? "user" : "aws_managed");
}

/* ---- ListAccountSettings ---- */

struct list_req {
    const char *name, *value, *principal, *after;
    char *root;
    bool effective;
    int64_t max;
};

static const char *lookup(const struct store_setting *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return v[i].value;
    return NULL;
}

static bool wanted(const struct list_req *q, const char *name, const char *value)
{
    return (!q->name || strcmp(q->name, name) == 0) &&
           (!q->value || strcmp(q->value, value) == 0) && (!q->after || strcmp(name, q->after) > 0);
}

/* One candidate setting; adds it to out unless the page is full, which *ret_more tells. */
static void list_add(json_t *out, const struct list_req *q, const char *name, const char *value,
                     const char *principal, bool user, bool *ret_more)
{
    if (!wanted(q, name, value))
        return;
    if ((int64_t)json_array_size(out) >= q->max) {
        *ret_more = true;
        return;
    }
    json_array_append_new(out, setting_json(name, value, principal, user));
}

static int list_collect(struct api_ctx *ctx, const struct list_req *q, json_t *out, bool *ret_more,
                        struct wh_err *err)
{
    struct store_setting *own = NULL, *dflt = NULL;
    size_t nown = 0, ndflt = 0;
    int r = store_account_settings_list(ctx->st, ctx->account, ctx->region, q->principal, &own,
                                        &nown, err);
    if (r == 0 && q->effective)
        r = store_account_settings_list(ctx->st, ctx->account, ctx->region, q->root, &dflt, &ndflt,
                                        err);
    if (r < 0) {
        store_settings_free(own, nown);
        return r;
    }
    if (!q->effective) {
        for (size_t i = 0; i < nown; i++)
            list_add(out, q, own[i].name, own[i].value, q->principal, true, ret_more);
    } else {
        for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
            const char *v = lookup(own, nown, known[i].name);
            const char *from = q->principal;
            if (!v) {
                v = lookup(dflt, ndflt, known[i].name);
                from = q->root;
            }
            list_add(out, q, known[i].name, v ? v : known[i].builtin, from, v != NULL, ret_more);
        }
    }
    store_settings_free(own, nown);
    store_settings_free(dflt, ndflt);
    return 0;
}

int ecs_list_account_settings(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    cleanup_free char *after = NULL, *root = ecs_root_arn(ctx->account);
    struct list_req q = {
        .name = json_str(in, "name"),
        .value = json_str(in, "value"),
        .principal = json_str(in, "principalArn"),
        .effective = json_bool(in, "effectiveSettings", false),
        .max = json_int(in, "maxResults", LIST_MAX),
        .root = root,
    };
    if (q.max < 1 || q.max > LIST_MAX)
        return api_invalid(err, "maxResults %lld is out of range 1..%d", (long long)q.max,
                           LIST_MAX);
    if (q.value && !q.name)
        return api_invalid(err, "value '%s' can only be used together with name", q.value);
    if (!q.principal)
        q.principal = ctx->principal_arn;
    else if (ecs_principal_check(q.principal, ctx->account, err) < 0)
        return -1;
    const char *tok = json_str(in, "nextToken");
    if (tok && page_token_decode(tok, &after) < 0)
        return api_invalid(err, "nextToken '%.64s' is not a token this service returned", tok);
    q.after = after;

    json_auto_t *settings = json_array();
    bool more = false;
    if (list_collect(ctx, &q, settings, &more, err) < 0)
        return -1;
    json_t *out = json_pack("{s:O}", "settings", settings);
    size_t n = json_array_size(settings);
    if (more && n > 0) {
        cleanup_free char *t = page_token_encode(json_str(json_array_get(settings, n - 1), "name"));
        json_object_set_new(out, "nextToken", json_string(t));
    }
    *ret_out = out;
    return 0;
}

/* ---- PutAccountSetting, PutAccountSettingDefault, DeleteAccountSetting ---- */

static int put_setting(struct api_ctx *ctx, const char *name, const char *value,
                       const char *principal, json_t **ret_out, struct wh_err *err)
{
    cleanup_free char *root = ecs_root_arn(ctx->account);
    if (ecs_account_setting_check(name, value, err) < 0 ||
        ecs_account_setting_settable(name, principal, root, err) < 0)
        return -1;
    int r =
        store_account_setting_put(ctx->st, ctx->account, ctx->region, principal, name, value, err);
    if (r < 0)
        return r;
    *ret_out = json_pack("{s:o}", "setting", setting_json(name, value, principal, true));
    return 0;
}

int ecs_put_account_setting(struct api_ctx *ctx, json_t *in, json_t **ret_out, struct wh_err *err)
{
    const char *principal = json_str(in, "principalArn");
    if (!principal)
        principal = ctx->principal_arn;
    else if (ecs_principal_check(principal, ctx->account, err) < 0)
        return -1;
    return put_setting(ctx, json_str(in, "name"), json_str(in, "value"), principal, ret_out, err);
}

int ecs_put_account_setting_default(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                                    struct wh_err *err)
{
    cleanup_free char *root = ecs_root_arn(ctx->account);
    return put_setting(ctx, json_str(in, "name"), json_str(in, "value"), root, ret_out, err);
}

int ecs_delete_account_setting(struct api_ctx *ctx, json_t *in, json_t **ret_out,
                               struct wh_err *err)
{
    const char *name = json_str(in, "name");
    const char *principal = json_str(in, "principalArn");
    if (!principal)
        principal = ctx->principal_arn;
    else if (ecs_principal_check(principal, ctx->account, err) < 0)
        return -1;
    cleanup_free char *root = ecs_root_arn(ctx->account);
    if (!ecs_account_setting_builtin(name))
        return api_invalid(err, "name '%s' is not an account setting", name ? name : "");
    if (ecs_account_setting_settable(name, principal, root, err) < 0)
        return -1;
    cleanup_free char *value = NULL;
    int r = store_account_setting_delete(ctx->st, ctx->account, ctx->region, principal, name,
                                         &value, err);
    if (r == -ENOENT)
        return api_invalid(err, "%s has no %s setting of its own to delete", principal, name);
    if (r < 0)
        return r;
    *ret_out = json_pack("{s:o}", "setting", setting_json(name, value, principal, true));
    return 0;
}
