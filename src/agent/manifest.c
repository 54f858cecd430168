#include "agent/manifest.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "agent/image_ref.h"
#include "core/json.h"
#include "core/xalloc.h"

#define PULL_ERR "CannotPullContainerError"

static const char *const layer_types[] = {
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};

static const struct {
    const char *machine, *arch, *variant;
} arch_map[] = {
    {"x86_64", "amd64", NULL}, {"amd64", "amd64", NULL},   {"aarch64", "arm64", "v8"},
    {"arm64", "arm64", "v8"},  {"armv7l", "arm", "v7"},    {"armv6l", "arm", "v6"},
    {"i686", "386", NULL},     {"i386", "386", NULL},      {"ppc64le", "ppc64le", NULL},
    {"s390x", "s390x", NULL},  {"riscv64", "riscv64", NULL},
};

const char *manifest_arch_from_machine(const char *machine, const char **ret_variant)
{
    for (size_t i = 0; i < ARRAY_SIZE(arch_map); i++)
        if (strcmp(machine, arch_map[i].machine) == 0) {
            *ret_variant = arch_map[i].variant;
            return arch_map[i].arch;
        }
    *ret_variant = NULL;
    return machine;
}

bool manifest_layer_type_ok(const char *mt)
{
    for (size_t i = 0; i < ARRAY_SIZE(layer_types); i++)
        if (strcmp(mt, layer_types[i]) == 0)
            return true;
    return false;
}

static json_t *load(const char *body, size_t len, const char *what, struct wh_err *err)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        wh_err_set(err, 500, PULL_ERR, "%s is not valid JSON: %s (line %d)", what, je.text,
                   je.line);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        wh_err_set(err, 500, PULL_ERR, "%s is not a JSON object", what);
        return NULL;
    }
    return root;
}

/* Strip parameters: "application/json; charset=utf-8" → "application/json". */
static bool type_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    return ct && strncasecmp(ct, want, n) == 0 && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

int manifest_kind(const char *body, size_t len, const char *content_type,
                  enum manifest_kind *ret_kind, struct wh_err *err)
{
    json_auto_t *root = load(body, len, "manifest", err);
    if (!root)
        return -1;
    const char *mt = json_str(root, "mediaType");
    if (!mt && content_type && !type_is(content_type, "application/json") &&
        !type_is(content_type, "text/plain"))
        mt = content_type;
    if (mt) {
        if (type_is(mt, MT_OCI_INDEX) || type_is(mt, MT_DOCKER_LIST)) {
            *ret_kind = MANIFEST_INDEX;
            return 0;
        }
        if (type_is(mt, MT_OCI_MANIFEST) || type_is(mt, MT_DOCKER_MANIFEST)) {
            *ret_kind = MANIFEST_IMAGE;
            return 0;
        }
        return wh_err_set(err, 500, PULL_ERR, "unsupported manifest media type '%s'", mt);
    }
    if (json_is_array(json_object_get(root, "manifests"))) {
        *ret_kind = MANIFEST_INDEX;
        return 0;
    }
    if (json_is_object(json_object_get(root, "config")) &&
        json_is_array(json_object_get(root, "layers"))) {
        *ret_kind = MANIFEST_IMAGE;
        return 0;
    }
    if (json_integer_value(json_object_get(root, "schemaVersion")) == 1)
        return wh_err_set(err, 500, PULL_ERR,
                          "unsupported manifest: Docker schema 1 images are not supported");
    return wh_err_set(err, 500, PULL_ERR, "manifest has no mediaType and is neither an image "
                                          "manifest nor an index");
}

static int descriptor_parse(const json_t *o, const char *what, struct descriptor *ret,
                            struct wh_err *err)
{
    if (!json_is_object(o))
        return wh_err_set(err, 500, PULL_ERR, "%s is not an object", what);
    const char *mt = json_str(o, "mediaType");
    const char *digest = json_str(o, "digest");
    json_t *size = json_object_get(o, "size");
    if (!digest || !image_digest_valid(digest))
        return wh_err_set(err, 500, PULL_ERR, "%s.digest '%s' is not a valid sha256/sha512 digest",
                          what, digest ? digest : "(missing)");
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return wh_err_set(err, 500, PULL_ERR, "%s.size is missing or negative", what);
    *ret = (struct descriptor){
        .media_type = xstrdup(mt ? mt : ""),
        .digest = xstrdup(digest),
        .size = json_integer_value(size),
    };
    return 0;
}

void descriptor_free(struct descriptor *d)
{
    if (!d)
        return;
    free(d->media_type);
    free(d->digest);
    *d = (struct descriptor){0};
}

static bool platform_matches(const json_t *p, const char *os, const char *arch, const char *variant)
{
    const char *pos = json_str(p, "os"), *parch = json_str(p, "architecture");
    if (!pos || !parch || strcmp(pos, os) != 0 || strcmp(parch, arch) != 0)
        return false;
    const char *pvar = json_str(p, "variant");
    if (!variant || !pvar)
        return true; /* arm64 images usually omit "v8" */
    return strcmp(pvar, variant) == 0;
}

int manifest_index_select(const char *body, size_t len, const char *os, const char *arch,
                          const char *variant, struct descriptor *ret, struct wh_err *err)
{
    json_auto_t *root = load(body, len, "manifest index", err);
    if (!root)
        return -1;
    json_t *list = json_object_get(root, "manifests");
    if (!json_is_array(list))
        return wh_err_set(err, 500, PULL_ERR, "manifest index has no manifests array");
    size_t i;
    json_t *m;
    json_array_foreach(list, i, m) {
        json_t *p = json_object_get(m, "platform");
        bool lone = json_array_size(list) == 1 && !p;
        if (!lone && (!json_is_object(p) || !platform_matches(p, os, arch, variant)))
            continue;
        char what[48];
        snprintf(what, sizeof(what), "manifests[%zu]", i);
        struct descriptor d;
        if (descriptor_parse(m, what, &d, err) < 0)
            return -1;
        if (d.media_type[0] && strcmp(d.media_type, MT_OCI_MANIFEST) != 0 &&
            strcmp(d.media_type, MT_DOCKER_MANIFEST) != 0) {
            wh_err_set(err, 500, PULL_ERR, "%s.mediaType '%s' is not an image manifest", what,
                       d.media_type);
            descriptor_free(&d);
            return -1;
        }
        *ret = d;
        return 0;
    }
    return wh_err_set(err, 404, PULL_ERR, "no match for platform %s/%s%s%s in manifest index", os,
                      arch, variant ? "/" : "", variant ? variant : "");
}

int manifest_parse_image(const char *body, size_t len, struct image_manifest *ret,
                         struct wh_err *err)
{
    json_auto_t *root = load(body, len, "image manifest", err);
    if (!root)
        return -1;
    struct image_manifest m = {0};
    if (descriptor_parse(json_object_get(root, "config"), "config", &m.config, err) < 0)
        return -1;
    if (m.config.media_type[0] && strcmp(m.config.media_type, MT_OCI_CONFIG) != 0 &&
        strcmp(m.config.media_type, MT_DOCKER_CONFIG) != 0) {
        wh_err_set(err, 500, PULL_ERR, "not a container image: config.mediaType is '%s'",
                   m.config.media_type);
        goto fail;
    }
    json_t *layers = json_object_get(root, "layers");
    if (!json_is_array(layers)) {
        wh_err_set(err, 500, PULL_ERR, "image manifest has no layers array");
        goto fail;
    }
    m.layers = xcalloc(json_array_size(layers) + 1, sizeof(*m.layers));
    size_t i;
    json_t *l;
    json_array_foreach(layers, i, l) {
        char what[48];
        snprintf(what, sizeof(what), "layers[%zu]", i);
        if (descriptor_parse(l, what, &m.layers[i], err) < 0)
            goto fail;
        m.n_layers++;
        if (!manifest_layer_type_ok(m.layers[i].media_type)) {
            wh_err_set(err, 500, PULL_ERR, "%s.mediaType '%s' is not a supported layer type",
                       what, m.layers[i].media_type);
            goto fail;
        }
    }
    *ret = m;
    return 0;
fail:
    image_manifest_free(&m);
    return -1;
}

void image_manifest_free(struct image_manifest *m)
{
    if (!m)
        return;
    descriptor_free(&m->config);
    for (size_t i = 0; i < m->n_layers; i++)
        descriptor_free(&m->layers[i]);
    free(m->layers);
    *m = (struct image_manifest){0};
}

static void strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

/* A JSON array of strings → NULL-terminated vector; null/absent → NULL vector. */
static int strv_from(const json_t *a, const char *what, char ***ret, size_t *ret_n,
                     struct wh_err *err)
{
    *ret = NULL;
    if (ret_n)
        *ret_n = 0;
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return wh_err_set(err, 500, PULL_ERR, "image config %s is not an array", what);
    char **v = xcalloc(json_array_size(a) + 1, sizeof(*v));
    size_t i;
    json_t *s;
    json_array_foreach(a, i, s) {
        if (!json_is_string(s)) {
            strv_free(v);
            return wh_err_set(err, 500, PULL_ERR, "image config %s[%zu] is not a string", what, i);
        }
        v[i] = xstrdup(json_string_value(s));
    }
    *ret = v;
    if (ret_n)
        *ret_n = json_array_size(a);
    return 0;
}

static char *text_or_null(const json_t *v)
{
    return v && !json_is_null(v) ? json_text(v) : NULL;
}

static char *str_or_null(const json_t *o, const char *key)
{
    const char *s = json_str(o, key);
    return s ? xstrdup(s) : NULL;
}

int image_config_parse(const char *text, size_t len, struct image_config *ret, struct wh_err *err)
{
    json_auto_t *root = load(text, len, "image config", err);
    if (!root)
        return -1;
    struct image_config c = {0};
    json_t *cfg = json_object_get(root, "config");
    if (cfg && !json_is_null(cfg) && !json_is_object(cfg))
        return wh_err_set(err, 500, PULL_ERR, "image config 'config' is not an object");
    json_t *rootfs = json_object_get(root, "rootfs");
    if (strv_from(json_object_get(cfg, "Entrypoint"), "config.Entrypoint", &c.entrypoint, NULL,
                  err) < 0 ||
        strv_from(json_object_get(cfg, "Cmd"), "config.Cmd", &c.cmd, NULL, err) < 0 ||
        strv_from(json_object_get(cfg, "Env"), "config.Env", &c.env, NULL, err) < 0 ||
        strv_from(json_object_get(rootfs, "diff_ids"), "rootfs.diff_ids", &c.diff_ids,
                  &c.n_diff_ids, err) < 0)
        goto fail;
    for (size_t i = 0; i < c.n_diff_ids; i++)
        if (!image_digest_valid(c.diff_ids[i])) {
            wh_err_set(err, 500, PULL_ERR, "image config rootfs.diff_ids[%zu] '%s' is not a digest",
                       i, c.diff_ids[i]);
            goto fail;
        }
    c.working_dir = str_or_null(cfg, "WorkingDir");
    c.user = str_or_null(cfg, "User");
    c.stop_signal = str_or_null(cfg, "StopSignal");
    c.exposed_ports = text_or_null(json_object_get(cfg, "ExposedPorts"));
    c.healthcheck = text_or_null(json_object_get(cfg, "Healthcheck"));
    c.labels = text_or_null(json_object_get(cfg, "Labels"));
    c.os = str_or_null(root, "os");
    c.architecture = str_or_null(root, "architecture");
    *ret = c;
    return 0;
fail:
    image_config_free(&c);
    return -1;
}

void image_config_free(struct image_config *c)
{
    if (!c)
        return;
    strv_free(c->entrypoint);
    strv_free(c->cmd);
    strv_free(c->env);
    strv_free(c->diff_ids);
    free(c->working_dir);
    free(c->user);
    free(c->stop_signal);
    free(c->exposed_ports);
    free(c->healthcheck);
    free(c->labels);
    free(c->os);
    free(c->architecture);
    *c = (struct image_config){0};
}
