/* HMAC-signed registry passwords. */
#include "registry/token.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "aws/credentials.h"
#include "core/crypto.h"
#include "core/fsutil.h"
#include "core/xalloc.h"
#include "registry/errors.h"
#include "registry/registry.h"

#define PREFIX "wharf1."
#define MAC_DOMAIN "wharf registry token v1\n"

static void mac_hex(const uint8_t key[REGISTRY_TOKEN_KEY_LEN], const char *payload,
                    char out[2 * SHA256_LEN + 1])
{
    cleanup_free char *msg = xasprintf(MAC_DOMAIN "%s", payload);
    uint8_t mac[SHA256_LEN];
    hmac_sha256(key, REGISTRY_TOKEN_KEY_LEN, msg, strlen(msg), mac);
    hex_encode(mac, sizeof(mac), out);
}

char *registry_password_make(const uint8_t key[REGISTRY_TOKEN_KEY_LEN], const char *account,
                             const char *region, const char *access_key, double expires)
{
    cleanup_free char *payload =
        xasprintf("%s\n%s\n%s\n%lld", account, region, access_key, (long long)expires);
    cleanup_free char *b64 = base64_encode(payload, strlen(payload));
    char mac[2 * SHA256_LEN + 1];
    mac_hex(key, payload, mac);
    return xasprintf(PREFIX "%s.%s", b64, mac);
}

/* Split the payload's four lines into ret. */
static int parse_payload(const char *payload, struct registry_principal *ret)
{
    char account[sizeof(ret->account)], region[sizeof(ret->region)];
    char akid[sizeof(ret->access_key)];
    long long expires;
    char extra;
    if (sscanf(payload, "%15[0-9]\n%31[a-z0-9-]\n%127[^\n]\n%lld%c", account, region, akid,
               &expires, &extra) != 4)
        return -1;
    *ret = (struct registry_principal){.expires = (double)expires};
    snprintf(ret->account, sizeof(ret->account), "%s", account);
    snprintf(ret->region, sizeof(ret->region), "%s", region);
    snprintf(ret->access_key, sizeof(ret->access_key), "%s", akid);
    return 0;
}

int registry_password_check(const uint8_t key[REGISTRY_TOKEN_KEY_LEN], const char *password,
                            double now, struct registry_principal *ret, struct wh_err *err)
{
    size_t plen = strlen(password);
    const char *dot = strrchr(password, '.');
    if (plen > 4096 || strncmp(password, PREFIX, strlen(PREFIX)) != 0 || !dot ||
        dot < password + strlen(PREFIX) || strlen(dot + 1) != 2 * SHA256_LEN)
        return oci_err(err, OCI_UNAUTHORIZED,
                       "the password is not a registry token: get one with "
                       "`aws ecr get-login-password`");
    const char *b64 = password + strlen(PREFIX);
    cleanup_free char *b64copy = xstrndup(b64, (size_t)(dot - b64));
    cleanup_free uint8_t *raw = xmalloc(strlen(b64copy) + 4);
    long n = base64_decode(b64copy, raw);
    if (n < 0 || memchr(raw, 0, (size_t)n))
        return oci_err(err, OCI_UNAUTHORIZED, "the registry token is malformed");
    cleanup_free char *payload = xstrndup((const char *)raw, (size_t)n);
    char want[2 * SHA256_LEN + 1];
    mac_hex(key, payload, want);
    if (!ct_memeq(want, dot + 1, 2 * SHA256_LEN))
        return oci_err(err, OCI_UNAUTHORIZED,
                       "the registry token's signature does not verify (made by another wharf?)");
    struct registry_principal p;
    if (parse_payload(payload, &p) < 0)
        return oci_err(err, OCI_UNAUTHORIZED, "the registry token is malformed");
    if (p.expires <= now)
        return oci_err(err, OCI_UNAUTHORIZED,
                       "the registry token expired; get a new one with "
                       "`aws ecr get-login-password`");
    *ret = p;
    return 0;
}

int registry_token_key_load(const char *data_dir, uint8_t ret_key[REGISTRY_TOKEN_KEY_LEN],
                            struct wh_err *err)
{
    cleanup_free char *path = xasprintf("%s/registry-token.key", data_dir);
    cleanup_free char *hex = NULL;
    size_t len = 0;
    int r = fs_read_file(path, 4096, &hex, &len);
    if (r == -ENOENT) {
        uint8_t key[REGISTRY_TOKEN_KEY_LEN];
        char text[2 * REGISTRY_TOKEN_KEY_LEN + 2];
        random_bytes(key, sizeof(key));
        hex_encode(key, sizeof(key), text);
        strcat(text, "\n");
        r = fs_write_atomic(path, text, strlen(text), 0600);
        if (r < 0)
            return wh_err_set(err, 500, "ServerException", "cannot write %s: %s", path,
                              strerror(-r));
        memcpy(ret_key, key, sizeof(key));
        return 0;
    }
    if (r < 0)
        return wh_err_set(err, 500, "ServerException", "cannot read %s: %s", path, strerror(-r));
    while (len && (hex[len - 1] == '\n' || hex[len - 1] == ' '))
        hex[--len] = 0;
    uint8_t key[REGISTRY_TOKEN_KEY_LEN];
    bool ok = len == 2 * REGISTRY_TOKEN_KEY_LEN;
    for (size_t i = 0; ok && i < REGISTRY_TOKEN_KEY_LEN; i++) {
        unsigned v;
        ok = sscanf(hex + 2 * i, "%2x", &v) == 1;
        key[i] = (uint8_t)v;
    }
    if (!ok)
        return wh_err_set(err, 500, "ServerException",
                          "%s does not hold %d hex digits; remove it to make a new key "
                          "(registry tokens already issued stop working)",
                          path, 2 * REGISTRY_TOKEN_KEY_LEN);
    memcpy(ret_key, key, sizeof(key));
    return 0;
}

char *registry_token_issue(const struct wharf_app *app, const char *account, const char *region,
                           const char *access_key, double now, double *ret_expires)
{
    double expires = now + REGISTRY_TOKEN_TTL;
    cleanup_free char *pw = registry_password_make(registry_token_key(app->registry), account,
                                                   region, access_key, expires);
    cleanup_free char *userpass = xasprintf("AWS:%s", pw);
    if (ret_expires)
        *ret_expires = (double)(long long)expires;
    return base64_encode(userpass, strlen(userpass));
}

int registry_token_verify(const struct wharf_app *app, const char *password, double now,
                          struct registry_principal *ret, struct wh_err *err)
{
    struct registry_principal p;
    if (registry_password_check(registry_token_key(app->registry), password, now, &p, err) < 0)
        return -1;
    if (!credentials_secret(app->creds, p.access_key))
        return oci_err(err, OCI_UNAUTHORIZED,
                       "the access key %s that asked for this registry token is no longer in "
                       "the credentials file",
                       p.access_key);
    *ret = p;
    return 0;
}
