/* The image side of the agent end to end against a real registry: Debian's docker-registry
 * (CNCF Distribution) started on 127.0.0.1 with filesystem storage in a temp dir, images
 * built here from busybox-static as OCI layouts and pushed with skopeo, then:
 * images_pull (tag, digest, multi-arch index), concurrent pulls unpacking each layer once,
 * digest verification against a corrupted blob, a tar-slip layer refused, the ECS-style
 * error for a missing tag and for Docker Hub, the overlay rootfs (all three mount methods,
 * whiteouts and opaque dirs honoured, busybox runs from it), and GC.
 * Needs root (mount, chown, mknod), docker-registry and skopeo; skipped when not root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent/digest.h"
#include "agent/image_check.h"
#include "agent/images.h"
#include "agent/manifest.h"
#include "agent/rmtree.h"
#include "agent/rootfs.h"
#include "core/fsutil.h"
#include "core/proc.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

/* ---- building OCI layouts ------------------------------------------------------------ */

struct ent {
    const char *name;
    mode_t type; /* AE_IFREG when 0 */
    const char *data;
    size_t len; /* for data with NULs (busybox) */
    const char *symlink;
};

struct buf {
    char *p;
    size_t len, cap;
};

static la_ssize_t buf_write(struct archive *a, void *arg, const void *p, size_t n)
{
    (void)a;
    struct buf *b = arg;
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return (la_ssize_t)n;
}

static int buf_close(struct archive *a, void *arg)
{
    (void)a;
    (void)arg;
    return ARCHIVE_OK;
}

static struct buf tar_of(const struct ent *e, size_t n)
{
    struct buf b = {0};
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_in_last_block(a, 1);
    assert_int_equal(archive_write_open2(a, &b, NULL, buf_write, buf_close, NULL), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *ae = archive_entry_new();
        mode_t type = e[i].type ? e[i].type : AE_IFREG;
        size_t len = e[i].data ? (e[i].len ? e[i].len : strlen(e[i].data)) : 0;
        archive_entry_set_pathname(ae, e[i].name);
        archive_entry_set_filetype(ae, type);
        archive_entry_set_perm(ae, type == AE_IFREG ? 0755 : 0755);
        archive_entry_set_mtime(ae, 1700000000, 0);
        if (e[i].symlink)
            archive_entry_set_symlink(ae, e[i].symlink);
        if (type == AE_IFREG)
            archive_entry_set_size(ae, (la_int64_t)len);
        assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
        if (len)
            assert_int_equal(archive_write_data(a, e[i].data, len), (la_ssize_t)len);
        archive_entry_free(ae);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    return b;
}

static struct buf compress(const struct buf *in, bool zstd)
{
    struct buf b = {0};
    struct archive *a = archive_write_new();
    archive_write_set_format_raw(a);
    if (zstd)
        assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
    else
        assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    archive_write_set_bytes_in_last_block(a, 1);
    assert_int_equal(archive_write_open2(a, &b, NULL, buf_write, buf_close, NULL), ARCHIVE_OK);
    struct archive_entry *ae = archive_entry_new();
    archive_entry_set_pathname(ae, "layer");
    archive_entry_set_filetype(ae, AE_IFREG);
    archive_entry_set_size(ae, (la_int64_t)in->len);
    assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
    assert_int_equal(archive_write_data(a, in->p, in->len), (la_ssize_t)in->len);
    archive_entry_free(ae);
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    return b;
}

/* Store a blob in the layout; returns its digest. */
static char *put_blob(const char *layout, const void *p, size_t n)
{
    char *d = digest_compute("sha256", p, n);
    cleanup_free char *dir = xasprintf("%s/blobs/sha256", layout);
    assert_int_equal(fs_mkdir_p(dir, 0755), 0);
    cleanup_free char *path = xasprintf("%s/%s", dir, d + 7);
    assert_int_equal(fs_write_atomic(path, p, n, 0644), 0);
    return d;
}

struct layer {
    char *digest, *diff_id, *media_type;
    size_t size;
};

static struct layer put_layer(const char *layout, const struct ent *e, size_t n, bool zstd)
{
    struct buf tar = tar_of(e, n);
    struct buf z = compress(&tar, zstd);
    struct layer l = {
        .digest = put_blob(layout, z.p, z.len),
        .diff_id = digest_compute("sha256", tar.p, tar.len),
        .media_type = xstrdup(zstd ? "application/vnd.oci.image.layer.v1.tar+zstd"
                                   : "application/vnd.oci.image.layer.v1.tar+gzip"),
        .size = z.len,
    };
    free(tar.p);
    free(z.p);
    return l;
}

static void layer_free(struct layer *l)
{
    free(l->digest);
    free(l->diff_id);
    free(l->media_type);
}

/* config + manifest for layers; returns the manifest JSON (caller frees) and its digest. */
static char *put_image(const char *layout, const char *arch, const struct layer *l, size_t n,
                       char **ret_digest)
{
    json_t *diff_ids = json_array(), *layers = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(diff_ids, json_string(l[i].diff_id));
        json_array_append_new(layers, json_pack("{s:s, s:s, s:I}", "mediaType", l[i].media_type,
                                                "digest", l[i].digest, "size",
                                                (json_int_t)l[i].size));
    }
    json_auto_t *cfg = json_pack(
        "{s:s, s:s, s:{s:[s], s:[s], s:s, s:{s:{}}}, s:{s:s, s:o}}", "architecture", arch, "os",
        "linux", "config", "Cmd", "/bin/sh", "Env", "PATH=/bin", "WorkingDir", "/", "ExposedPorts",
        "80/tcp", "rootfs", "type", "layers", "diff_ids", diff_ids);
    cleanup_free char *cfg_text = json_dumps(cfg, JSON_COMPACT);
    cleanup_free char *cfg_digest = put_blob(layout, cfg_text, strlen(cfg_text));
    json_auto_t *m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2,
                               "mediaType", MT_OCI_MANIFEST, "config", "mediaType", MT_OCI_CONFIG,
                               "digest", cfg_digest, "size", (json_int_t)strlen(cfg_text),
                               "layers", layers);
    char *text = json_dumps(m, JSON_COMPACT);
    *ret_digest = put_blob(layout, text, strlen(text));
    return text;
}

/* ---- the registry and skopeo --------------------------------------------------------- */

static const char *const tool_env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL, NULL, NULL};

struct world {
    bool ready;
    char root[64];
    char cfg[128], layout[128], regdata[128];
    int port;
    pthread_t reg_thread;
    struct proc_result reg_res;
    char env_home[160], env_tmp[160];
    const char *env[4];
    /* test:1 */
    char *m1_digest, *layer_digest[2];
    char *arch;
    /* test:multi */
    char *index_digest;
    struct images *im;
    char *store;
} W;

static void *registry_thread(void *arg)
{
    (void)arg;
    const char *argv[] = {"docker-registry", "serve", W.cfg, NULL};
    struct proc_opts o = {.argv = argv, .envp = W.env, .timeout_ms = 600000, .extra_fd = -1};
    struct wh_err err = {0};
    if (proc_run(&o, &W.reg_res, &err) < 0)
        fprintf(stderr, "docker-registry: %s\n", err.msg);
    return NULL;
}

/* Our registry child: the process whose parent is us and whose argv names our config. */
static pid_t find_registry(void)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    pid_t found = 0;
    while (d && (de = readdir(d)) && !found) {
        pid_t pid = (pid_t)atoi(de->d_name);
        if (pid <= 0)
            continue;
        cleanup_free char *stat_path = xasprintf("/proc/%d/stat", pid);
        cleanup_free char *stat = NULL, *cmd = NULL;
        size_t len;
        if (fs_read_file(stat_path, 4096, &stat, &len) < 0)
            continue;
        const char *rp = strrchr(stat, ')');
        int ppid = 0;
        if (!rp || sscanf(rp + 2, "%*c %d", &ppid) != 1 || ppid != getpid())
            continue;
        cleanup_free char *cmd_path = xasprintf("/proc/%d/cmdline", pid);
        if (fs_read_file(cmd_path, 4096, &cmd, &len) < 0)
            continue;
        for (size_t i = 0; i < len; i += strlen(cmd + i) + 1)
            if (strcmp(cmd + i, W.cfg) == 0)
                found = pid;
    }
    if (d)
        closedir(d);
    return found;
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
    close(s);
    return ntohs(a.sin_port);
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

static bool registry_up(void)
{
    CURL *h = curl_easy_init();
    cleanup_free char *url = xasprintf("http://127.0.0.1:%d/v2/", W.port);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1000L);
    long code = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    return code == 200;
}

static void skopeo_copy(const char *src_ref, const char *dest_ref, bool all)
{
    cleanup_free char *src = xasprintf("oci:%s:%s", W.layout, src_ref);
    cleanup_free char *dst = xasprintf("docker://127.0.0.1:%d/%s", W.port, dest_ref);
    const char *argv[] = {"skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false",
                          src, dst, all ? "--all" : NULL, NULL};
    struct proc_opts o = {.argv = argv, .envp = W.env, .timeout_ms = 120000, .extra_fd = -1};
    struct proc_result r;
    struct wh_err err = {0};
    if (proc_run(&o, &r, &err) < 0)
        fail_msg("skopeo: %s", err.msg);
    if (!proc_ok(&r))
        fail_msg("skopeo copy %s %s: %s\n%s", src, dst, proc_describe(&r, 120000), r.err);
    proc_result_free(&r);
}

static void write_index(json_t *manifests)
{
    json_auto_t *idx = json_pack("{s:i, s:o}", "schemaVersion", 2, "manifests", manifests);
    cleanup_free char *text = json_dumps(idx, JSON_COMPACT);
    cleanup_free char *p = xasprintf("%s/index.json", W.layout);
    assert_int_equal(fs_write_atomic(p, text, strlen(text), 0644), 0);
    cleanup_free char *ol = xasprintf("%s/oci-layout", W.layout);
    const char *layout = "{\"imageLayoutVersion\":\"1.0.0\"}";
    assert_int_equal(fs_write_atomic(ol, layout, strlen(layout), 0644), 0);
}

static json_t *ref_desc(const char *mt, const char *digest, size_t size, const char *name,
                        const char *arch)
{
    json_t *d = json_pack("{s:s, s:s, s:I, s:{s:s}}", "mediaType", mt, "digest", digest, "size",
                          (json_int_t)size, "annotations", "org.opencontainers.image.ref.name",
                          name);
    if (arch)
        json_object_set_new(d, "platform", json_pack("{s:s, s:s}", "os", "linux",
                                                     "architecture", arch));
    return d;
}

/* test:1 (busybox + a zstd layer with a whiteout and an opaque dir), test:multi (an index
 * for amd64/arm64 over the same layers), test:evil (a tar-slip layer). */
static void build_and_push(void)
{
    cleanup_free char *bb = NULL;
    size_t bb_len;
    assert_int_equal(fs_read_file("/bin/busybox", 64u << 20, &bb, &bb_len), 0);
    const struct ent l1[] = {
        {.name = "bin", .type = AE_IFDIR},
        {.name = "bin/busybox", .data = bb, .len = bb_len},
        {.name = "bin/sh", .type = AE_IFLNK, .symlink = "busybox"},
        {.name = "etc", .type = AE_IFDIR},
        {.name = "etc/passwd", .data = "root:x:0:0:root:/root:/bin/sh\n"},
        {.name = "opq", .type = AE_IFDIR},
        {.name = "opq/a", .data = "lower"},
    };
    const struct ent l2[] = {
        {.name = "etc", .type = AE_IFDIR},
        {.name = "etc/motd", .data = "hello from layer 2\n"},
        {.name = "etc/.wh.passwd", .data = ""},
        {.name = "opq", .type = AE_IFDIR},
        {.name = "opq/.wh..wh..opq", .data = ""},
        {.name = "opq/b", .data = "upper"},
    };
    struct layer layers[2] = {put_layer(W.layout, l1, ARRAY_SIZE(l1), false),
                              put_layer(W.layout, l2, ARRAY_SIZE(l2), true)};
    W.layer_digest[0] = xstrdup(layers[0].digest);
    W.layer_digest[1] = xstrdup(layers[1].digest);
    const char *other = strcmp(W.arch, "arm64") == 0 ? "amd64" : "arm64";
    cleanup_free char *m1 = put_image(W.layout, W.arch, layers, 2, &W.m1_digest);
    cleanup_free char *m2_digest = NULL;
    cleanup_free char *m2 = put_image(W.layout, other, layers, 2, &m2_digest);

    json_t *inner = json_array();
    json_array_append_new(inner, json_pack("{s:s, s:s, s:I, s:{s:s, s:s}}", "mediaType",
                                           MT_OCI_MANIFEST, "digest", m2_digest, "size",
                                           (json_int_t)strlen(m2), "platform", "os", "linux",
                                           "architecture", other));
    json_array_append_new(inner, json_pack("{s:s, s:s, s:I, s:{s:s, s:s}}", "mediaType",
                                           MT_OCI_MANIFEST, "digest", W.m1_digest, "size",
                                           (json_int_t)strlen(m1), "platform", "os", "linux",
                                           "architecture", W.arch));
    json_auto_t *idx = json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType",
                                 MT_OCI_INDEX, "manifests", inner);
    cleanup_free char *idx_text = json_dumps(idx, JSON_COMPACT);
    W.index_digest = put_blob(W.layout, idx_text, strlen(idx_text));

    const struct ent evil[] = {{.name = "ok", .data = "fine"}, {.name = "../escape", .data = "x"}};
    struct layer le = put_layer(W.layout, evil, 2, false);
    cleanup_free char *me_digest = NULL;
    cleanup_free char *me = put_image(W.layout, W.arch, &le, 1, &me_digest);

    json_t *refs = json_array();
    json_array_append_new(refs, ref_desc(MT_OCI_MANIFEST, W.m1_digest, strlen(m1), "1", NULL));
    json_array_append_new(refs,
                          ref_desc(MT_OCI_INDEX, W.index_digest, strlen(idx_text), "multi", NULL));
    json_array_append_new(refs, ref_desc(MT_OCI_MANIFEST, me_digest, strlen(me), "evil", NULL));
    write_index(refs);
    skopeo_copy("1", "test:1", false);
    skopeo_copy("multi", "test:multi", true);
    skopeo_copy("evil", "test:evil", false);
    skopeo_copy("1", "test:fallback", false);
    layer_free(&layers[0]);
    layer_free(&layers[1]);
    layer_free(&le);
}

static int group_setup(void **state)
{
    (void)state;
    if (geteuid() != 0)
        return 0;
    snprintf(W.root, sizeof(W.root), "/tmp/wharf-pull-XXXXXX");
    assert_non_null(mkdtemp(W.root));
    snprintf(W.cfg, sizeof(W.cfg), "%s/registry.yml", W.root);
    snprintf(W.layout, sizeof(W.layout), "%s/oci", W.root);
    snprintf(W.regdata, sizeof(W.regdata), "%s/regdata", W.root);
    snprintf(W.env_home, sizeof(W.env_home), "HOME=%s", W.root);
    snprintf(W.env_tmp, sizeof(W.env_tmp), "TMPDIR=%s", W.root);
    W.env[0] = tool_env[0];
    W.env[1] = W.env_home;
    W.env[2] = W.env_tmp;
    struct utsname u;
    uname(&u);
    const char *variant;
    W.arch = xstrdup(manifest_arch_from_machine(u.machine, &variant));
    W.port = free_port();
    cleanup_free char *cfg = xasprintf("version: 0.1\n"
                                       "log:\n  level: error\n  accesslog:\n    disabled: true\n"
                                       "storage:\n  filesystem:\n    rootdirectory: %s\n"
                                       "  delete:\n    enabled: true\n"
                                       "http:\n  addr: 127.0.0.1:%d\n",
                                       W.regdata, W.port);
    assert_int_equal(fs_write_atomic(W.cfg, cfg, strlen(cfg), 0644), 0);
    assert_int_equal(pthread_create(&W.reg_thread, NULL, registry_thread, NULL), 0);
    double deadline = time_monotonic() + 20;
    while (!registry_up()) {
        if (time_monotonic() > deadline)
            fail_msg("docker-registry did not come up on port %d", W.port);
        usleep(50000);
    }
    build_and_push();
    W.store = xasprintf("%s/store", W.root);
    struct images_opts o = {.dir = W.store, .retry_delay_ms = 10};
    struct wh_err err = {0};
    if (images_open(&o, &W.im, &err) < 0)
        fail_msg("%s", err.msg);
    W.ready = true;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (geteuid() != 0)
        return 0;
    images_close(W.im);
    pid_t pid = find_registry();
    if (pid > 0)
        kill(pid, SIGTERM);
    pthread_join(W.reg_thread, NULL);
    proc_result_free(&W.reg_res);
    rmtree(W.root);
    free(W.m1_digest);
    free(W.layer_digest[0]);
    free(W.layer_digest[1]);
    free(W.index_digest);
    free(W.arch);
    free(W.store);
    return 0;
}

#define NEED_WORLD()                                                                           \
    do {                                                                                       \
        if (geteuid() != 0)                                                                    \
            skip();                                                                            \
        assert_true(W.ready);                                                                  \
    } while (0)

/* ---- tests ----------------------------------------------------------------------------- */

static char *ref(const char *name)
{
    return xasprintf("127.0.0.1:%d/%s", W.port, name);
}

struct puller {
    struct images *im; /* NULL: W.im */
    pthread_barrier_t *go;
    const char *ref;
    struct pulled_image *img;
    struct wh_err err;
    int rc;
};

static void *pull_thread(void *arg)
{
    struct puller *p = arg;
    pthread_barrier_wait(p->go);
    p->rc = images_pull(p->im ? p->im : W.im, p->ref, NULL, &p->img, &p->err);
    return NULL;
}

static void test_concurrent_pulls_unpack_once(void **state)
{
    (void)state;
    NEED_WORLD();
    cleanup_free char *r = ref("test:1");
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 2);
    struct puller p[2] = {{.go = &go, .ref = r}, {.go = &go, .ref = r}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, pull_thread, &p[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < 2; i++)
        if (p[i].rc < 0)
            fail_msg("pull %d: %s", i, p[i].err.msg);
    struct images_stats st;
    images_stats(W.im, &st);
    /* Two pulls, one download and one unpack per layer. */
    assert_int_equal(st.pulls, 2);
    assert_int_equal(st.layer_downloads, 2);
    assert_int_equal(st.layer_unpacks, 2);
    assert_int_equal(st.shared + st.cached, 1);

    struct pulled_image *img = p[0].img;
    assert_string_equal(img->digest, W.m1_digest);
    assert_string_equal(img->repo_digest, W.m1_digest);
    assert_string_equal(p[1].img->digest, W.m1_digest);
    cleanup_free char *canon = ref("test:1");
    assert_string_equal(img->reference, canon);
    assert_int_equal(img->n_layers, 2);
    assert_string_equal(img->config.cmd[0], "/bin/sh");
    assert_string_equal(img->config.env[0], "PATH=/bin");
    assert_string_equal(img->config.exposed_ports, "{\"80/tcp\":{}}");
    assert_non_null(strstr(img->config_json, "\"diff_ids\""));
    assert_string_equal(img->layer_dirs[0], p[1].img->layer_dirs[0]);
    cleanup_free char *bb = xasprintf("%s/bin/busybox", img->layer_dirs[0]);
    struct stat sb;
    assert_int_equal(stat(bb, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0755);
    assert_null(img->layer_dirs[2]);
    pulled_image_free(p[0].img);
    pulled_image_free(p[1].img);
}

/* Two references to images sharing their layers are two pulls, so two helper processes at
 * once: the per-layer lock makes the second wait and find each layer done. */
static void test_two_helpers_share_layers(void **state)
{
    (void)state;
    NEED_WORLD();
    cleanup_free char *dir = xasprintf("%s/store-shared", W.root);
    struct images_opts o = {.dir = dir, .retry_delay_ms = 10};
    struct images *im;
    struct wh_err err = {0};
    if (images_open(&o, &im, &err) < 0)
        fail_msg("%s", err.msg);
    cleanup_free char *r1 = ref("test:1");
    cleanup_free char *r2 = ref("test:multi");
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 2);
    struct puller p[2] = {{.im = im, .go = &go, .ref = r1}, {.im = im, .go = &go, .ref = r2}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, pull_thread, &p[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < 2; i++)
        if (p[i].rc < 0)
            fail_msg("pull %d: %s", i, p[i].err.msg);
    struct images_stats st;
    images_stats(im, &st);
    assert_int_equal(st.shared, 0);
    assert_int_equal(st.layer_unpacks, 2); /* two layers, each unpacked once in all */
    assert_int_equal(st.layer_downloads, 2);
    assert_string_equal(p[0].img->digest, p[1].img->digest);
    assert_string_equal(p[0].img->layer_dirs[1], p[1].img->layer_dirs[1]);
    cleanup_free char *bb = xasprintf("%s/bin/busybox", p[1].img->layer_dirs[0]);
    assert_int_equal(access(bb, X_OK), 0);
    pulled_image_free(p[0].img);
    pulled_image_free(p[1].img);
    images_close(im);
}

static void test_pull_by_digest_is_cached(void **state)
{
    (void)state;
    NEED_WORLD();
    struct images_stats before, after;
    images_stats(W.im, &before);
    cleanup_free char *name = xasprintf("test@%s", W.m1_digest);
    cleanup_free char *r = ref(name);
    struct pulled_image *img;
    struct wh_err err = {0};
    if (images_pull(W.im, r, NULL, &img, &err) < 0)
        fail_msg("%s", err.msg);
    images_stats(W.im, &after);
    assert_int_equal(after.manifest_fetches, before.manifest_fetches); /* no network at all */
    assert_int_equal(after.cached, before.cached + 1);
    assert_string_equal(img->digest, W.m1_digest);
    pulled_image_free(img);
    /* By tag again: the manifest is asked for (tags move), no blob is. */
    cleanup_free char *t1 = ref("test:1");
    assert_int_equal(images_pull(W.im, t1, NULL, &img, NULL), 0);
    images_stats(W.im, &after);
    assert_int_equal(after.manifest_fetches, before.manifest_fetches + 1);
    assert_int_equal(after.layer_downloads, before.layer_downloads);
    pulled_image_free(img);
}

/* The agent's own question to the registry (image_check.c) gets the answer the helper gets;
 * where it cannot ask (https, an unknown tag) it says so and the helper does the pull. */
static void test_check_tag_in_process(void **state)
{
    (void)state;
    NEED_WORLD();
    const char *names[] = {"test:1", "test:multi"};
    for (size_t i = 0; i < 2; i++) {
        cleanup_free char *r = ref(names[i]);
        struct pulled_image *img;
        struct wh_err err = {0};
        if (images_pull(W.im, r, NULL, &img, &err) < 0)
            fail_msg("%s: %s", names[i], err.msg);
        struct image_ref pr;
        assert_int_equal(image_ref_parse(r, &pr, NULL), 0);
        struct registry_opts ro = {0};
        cleanup_free char *d = image_check_tag(&ro, &pr, NULL);
        assert_non_null(d);
        assert_string_equal(d, img->repo_digest);
        image_ref_free(&pr);
        pulled_image_free(img);
    }
    struct image_ref pr;
    struct registry_opts ro = {0};
    cleanup_free char *missing = ref("test:no-such-tag");
    assert_int_equal(image_ref_parse(missing, &pr, NULL), 0);
    assert_null(image_check_tag(&ro, &pr, NULL));
    image_ref_free(&pr);
    assert_int_equal(image_ref_parse("registry.example.com/app:1", &pr, NULL), 0);
    assert_null(image_check_tag(&ro, &pr, NULL)); /* https: the helper's */
    image_ref_free(&pr);
}

static void test_index_selects_platform(void **state)
{
    (void)state;
    NEED_WORLD();
    struct images_stats before, after;
    images_stats(W.im, &before);
    cleanup_free char *r = ref("test:multi");
    struct pulled_image *img;
    struct wh_err err = {0};
    if (images_pull(W.im, r, NULL, &img, &err) < 0)
        fail_msg("%s", err.msg);
    assert_string_equal(img->repo_digest, W.index_digest);
    assert_string_equal(img->digest, W.m1_digest); /* our arch's manifest */
    images_stats(W.im, &after);
    assert_int_equal(after.layer_unpacks, before.layer_unpacks); /* layers shared */
    pulled_image_free(img);
    /* By the index digest: answered from the store. */
    cleanup_free char *name = xasprintf("test@%s", W.index_digest);
    cleanup_free char *r2 = ref(name);
    images_stats(W.im, &before);
    assert_int_equal(images_pull(W.im, r2, NULL, &img, NULL), 0);
    images_stats(W.im, &after);
    assert_int_equal(after.manifest_fetches, before.manifest_fetches);
    assert_string_equal(img->digest, W.m1_digest);
    pulled_image_free(img);
}

static void test_errors(void **state)
{
    (void)state;
    NEED_WORLD();
    cleanup_free char *r = ref("test:missing");
    struct pulled_image *img = NULL;
    struct wh_err err = {0};
    assert_int_equal(images_pull(W.im, r, NULL, &img, &err), -1);
    assert_string_equal(err.type, "CannotPullContainerError");
    cleanup_free char *want = xasprintf("CannotPullContainerError: pull image manifest has been "
                                        "retried 1 time(s): failed to resolve ref "
                                        "127.0.0.1:%d/test:missing: not found",
                                        W.port);
    assert_string_equal(err.msg, want);

    cleanup_free char *nr = ref("nosuchrepo:1");
    assert_int_equal(images_pull(W.im, nr, NULL, &img, &err), -1);
    assert_non_null(strstr(err.msg, "failed to resolve ref"));

    assert_int_equal(images_pull(W.im, "Bad/Ref", NULL, &img, &err), -1);
    assert_string_equal(err.msg, "CannotPullContainerError: invalid reference format: 'Bad/Ref': "
                                 "repository name must be lowercase");

    /* The tar-slip layer. */
    cleanup_free char *ev = ref("test:evil");
    assert_int_equal(images_pull(W.im, ev, NULL, &img, &err), -1);
    if (!strstr(err.msg, "CannotPullContainerError: failed to extract layer sha256:") ||
        !strstr(err.msg, ": entry '../escape' escapes the layer directory"))
        fail_msg("%s", err.msg);
    cleanup_free char *escaped = xasprintf("%s/layers/escape", W.store);
    assert_int_equal(access(escaped, F_OK), -1);

    /* Docker Hub is parseable but unreachable here: a clear error, quickly. */
    cleanup_free char *hub = xasprintf("%s/hub", W.root);
    struct images_opts o = {.dir = hub, .attempts = 1,
                            .registry = {.connect_timeout_ms = 3000, .request_timeout_ms = 5000}};
    struct images *im;
    assert_int_equal(images_open(&o, &im, NULL), 0);
    double t0 = time_monotonic();
    assert_int_equal(images_pull(im, "busybox", NULL, &img, &err), -1);
    assert_true(time_monotonic() - t0 < 10);
    if (!strstr(err.msg, "CannotPullContainerError: pull image manifest has been retried 1 "
                         "time(s): failed to resolve ref docker.io/library/busybox:latest: GET "
                         "https://registry-1.docker.io/v2/library/busybox/manifests/latest: "))
        fail_msg("%s", err.msg);
    images_close(im);
}

/* The registry serves whatever is in its storage: corrupt a layer there and the pull must
 * notice, leaving no layer behind. */
static void test_digest_mismatch(void **state)
{
    (void)state;
    NEED_WORLD();
    const char *d = W.layer_digest[1];
    cleanup_free char *data = xasprintf("%s/docker/registry/v2/blobs/sha256/%.2s/%s/data",
                                        W.regdata, d + 7, d + 7);
    cleanup_free char *orig = NULL;
    size_t len;
    assert_int_equal(fs_read_file(data, 64u << 20, &orig, &len), 0);
    char *bad = xmalloc(len);
    memcpy(bad, orig, len);
    bad[len / 2] ^= 0x55;
    assert_int_equal(fs_write_atomic(data, bad, len, 0644), 0);
    free(bad);

    cleanup_free char *dir = xasprintf("%s/fresh", W.root);
    struct images_opts o = {.dir = dir, .attempts = 2, .retry_delay_ms = 10};
    struct images *im;
    assert_int_equal(images_open(&o, &im, NULL), 0);
    cleanup_free char *r = ref("test:1");
    struct pulled_image *img;
    struct wh_err err = {0};
    int rc = images_pull(im, r, NULL, &img, &err);
    assert_int_equal(fs_write_atomic(data, orig, len, 0644), 0); /* restore first */
    assert_int_equal(rc, -1);
    cleanup_free char *want = xasprintf("CannotPullContainerError: ref pull has been retried 2 "
                                        "time(s): failed to copy: blob %s: digest mismatch",
                                        d);
    if (strncmp(err.msg, want, strlen(want)) != 0)
        fail_msg("'%s' does not start with '%s'", err.msg, want);
    cleanup_free char *rec = xasprintf("%s/layers/%.12s.json", dir, d + 7);
    cleanup_free char *ldir = xasprintf("%s/layers/%.12s", dir, d + 7);
    assert_int_equal(access(rec, F_OK), -1);
    assert_int_equal(access(ldir, F_OK), -1);
    cleanup_free char *tmp = xasprintf("%s/tmp", dir);
    DIR *dd = opendir(tmp);
    struct dirent *de;
    while ((de = readdir(dd)))
        if (de->d_name[0] != '.')
            fail_msg("left behind in tmp/: %s", de->d_name);
    closedir(dd);
    /* Restored: the same store pulls fine now. */
    if (images_pull(im, r, NULL, &img, &err) < 0)
        fail_msg("%s", err.msg);
    pulled_image_free(img);
    images_close(im);
}

/* ECS's pull behaviours when the registry no longer has the tag. */
static void test_pull_policies(void **state)
{
    (void)state;
    NEED_WORLD();
    cleanup_free char *r = ref("test:fallback");
    struct pulled_image *img;
    struct wh_err err = {0};
    if (images_pull(W.im, r, NULL, &img, &err) < 0)
        fail_msg("%s", err.msg);
    pulled_image_free(img);
    cleanup_free char *tag = xasprintf("%s/docker/registry/v2/repositories/test/_manifests/tags/"
                                       "fallback",
                                       W.regdata);
    assert_int_equal(rmtree(tag), 0);

    /* default: the registry is asked, says not found, the cached image is used. */
    struct images_stats before, after;
    images_stats(W.im, &before);
    if (images_pull(W.im, r, NULL, &img, &err) < 0)
        fail_msg("%s", err.msg);
    images_stats(W.im, &after);
    assert_int_equal(after.manifest_fetches, before.manifest_fetches + 1);
    assert_string_equal(img->digest, W.m1_digest);
    pulled_image_free(img);

    /* always: the failure stands. */
    struct images_opts o = {.dir = W.store, .policy = IMAGES_PULL_ALWAYS};
    struct images *im;
    assert_int_equal(images_open(&o, &im, NULL), 0);
    assert_int_equal(images_pull(im, r, NULL, &img, &err), -1);
    assert_non_null(strstr(err.msg, "/test:fallback: not found"));
    images_close(im);

    /* prefer-cached: the registry is not even asked. */
    o.policy = IMAGES_PULL_PREFER_CACHED;
    assert_int_equal(images_open(&o, &im, NULL), 0);
    if (images_pull(im, r, NULL, &img, &err) < 0)
        fail_msg("%s", err.msg);
    images_stats(im, &after);
    assert_int_equal(after.manifest_fetches, 0);
    assert_int_equal(after.cached, 1);
    pulled_image_free(img);
    images_close(im);
}

static void check_merged(const char *merged)
{
    struct stat sb;
    cleanup_free char *bb = xasprintf("%s/bin/busybox", merged);
    assert_int_equal(stat(bb, &sb), 0);
    cleanup_free char *motd = xasprintf("%s/etc/motd", merged);
    assert_int_equal(stat(motd, &sb), 0);
    cleanup_free char *passwd = xasprintf("%s/etc/passwd", merged); /* whited out by layer 2 */
    assert_int_equal(lstat(passwd, &sb), -1);
    cleanup_free char *oa = xasprintf("%s/opq/a", merged); /* hidden by the opaque dir */
    assert_int_equal(lstat(oa, &sb), -1);
    cleanup_free char *ob = xasprintf("%s/opq/b", merged);
    assert_int_equal(stat(ob, &sb), 0);
}

static void test_rootfs_overlay(void **state)
{
    (void)state;
    NEED_WORLD();
    cleanup_free char *r = ref("test:1");
    struct pulled_image *img;
    assert_int_equal(images_pull(W.im, r, NULL, &img, NULL), 0);
    static const enum rootfs_method methods[] = {ROOTFS_AUTO, ROOTFS_LOWERDIR_PLUS,
                                                 ROOTFS_RELATIVE};
    for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
        cleanup_free char *cdir = xasprintf("%s/containers/c%zu", W.root, i);
        struct rootfs_opts ro = {.method = methods[i]};
        cleanup_free char *merged = NULL;
        enum rootfs_method used;
        struct wh_err err = {0};
        if (rootfs_mount((const char *const *)img->layer_dirs, img->n_layers, cdir, &ro, &merged,
                         &used, &err) < 0)
            fail_msg("method %d: %s", methods[i], err.msg);
        assert_int_equal(used, methods[i] == ROOTFS_AUTO ? ROOTFS_ABSOLUTE : methods[i]);
        assert_true(rootfs_is_mounted(cdir));
        check_merged(merged);
        /* Mounting twice is refused. */
        char *again = NULL;
        assert_int_equal(rootfs_mount((const char *const *)img->layer_dirs, img->n_layers, cdir,
                                      &ro, &again, NULL, &err),
                         -1);
        /* busybox runs from the merged tree; writes land in the private upper dir. */
        cleanup_free char *bb = xasprintf("%s/bin/busybox", merged);
        const char *argv[] = {bb, "echo", "hi", NULL};
        struct proc_opts po = {.argv = argv, .timeout_ms = 10000, .extra_fd = -1};
        struct proc_result pr;
        assert_int_equal(proc_run(&po, &pr, NULL), 0);
        assert_string_equal(pr.out, "hi\n");
        proc_result_free(&pr);
        cleanup_free char *f = xasprintf("%s/written", merged);
        assert_int_equal(fs_write_atomic(f, "x", 1, 0644), 0);
        cleanup_free char *up = xasprintf("%s/upper/written", cdir);
        assert_int_equal(access(up, F_OK), 0);
        cleanup_free char *lw = xasprintf("%s/written", img->layer_dirs[1]);
        assert_int_equal(access(lw, F_OK), -1);
        assert_int_equal(rootfs_remove(cdir, &err), 0);
        assert_false(rootfs_is_mounted(cdir));
        assert_int_equal(access(up, F_OK), -1);
        assert_int_equal(access(img->layer_dirs[0], F_OK), 0); /* layers untouched */
    }
    pulled_image_free(img);
}

/* 300 layers with a long parent path: too long for one page with absolute paths. */
static void test_rootfs_many_layers(void **state)
{
    (void)state;
    NEED_WORLD();
    enum { N = 300 };
    cleanup_free char *parent = xasprintf("%s/a-rather-long-directory-name-for-layers/"
                                          "another-level-to-make-paths-long/layers",
                                          W.root);
    assert_int_equal(fs_mkdir_p(parent, 0700), 0);
    char *layers[N];
    for (int i = 0; i < N; i++) {
        layers[i] = xasprintf("%s/%012d", parent, i);
        assert_int_equal(mkdir(layers[i], 0755), 0);
        cleanup_free char *f = xasprintf("%s/f%d", layers[i], i);
        assert_int_equal(fs_write_atomic(f, "x", 1, 0644), 0);
    }
    static const enum rootfs_method methods[] = {ROOTFS_AUTO, ROOTFS_RELATIVE, ROOTFS_ABSOLUTE};
    for (size_t m = 0; m < ARRAY_SIZE(methods); m++) {
        cleanup_free char *cdir = xasprintf("%s/containers/many%zu", W.root, m);
        struct rootfs_opts ro = {.method = methods[m]};
        cleanup_free char *merged = NULL;
        enum rootfs_method used;
        struct wh_err err = {0};
        int rc = rootfs_mount((const char *const *)layers, N, cdir, &ro, &merged, &used, &err);
        if (methods[m] == ROOTFS_ABSOLUTE) { /* the page limit, shown */
            assert_int_equal(rc, -1);
            continue;
        }
        if (rc < 0)
            fail_msg("method %d: %s", methods[m], err.msg);
        assert_int_equal(used, methods[m] == ROOTFS_AUTO ? ROOTFS_LOWERDIR_PLUS : methods[m]);
        cleanup_free char *first = xasprintf("%s/f0", merged);
        cleanup_free char *last = xasprintf("%s/f%d", merged, N - 1);
        assert_int_equal(access(first, F_OK), 0);
        assert_int_equal(access(last, F_OK), 0);
        assert_int_equal(rootfs_remove(cdir, &err), 0);
    }
    for (int i = 0; i < N; i++)
        free(layers[i]);
}

/* A crash can leave an unpack not renamed into place, a download, or a layer renamed into
 * place whose record was never written: none of them may pass for a complete layer. */
static void test_crash_leftovers(void **state)
{
    (void)state;
    NEED_WORLD();
    cleanup_free char *dir = xasprintf("%s/crash", W.root);
    struct images_opts o = {.dir = dir};
    struct images *im;
    assert_int_equal(images_open(&o, &im, NULL), 0);
    cleanup_free char *r = ref("test:1");
    struct pulled_image *img;
    assert_int_equal(images_pull(im, r, NULL, &img, NULL), 0);
    pulled_image_free(img);
    images_close(im);

    const char *d = W.layer_digest[1];
    cleanup_free char *rec = xasprintf("%s/layers/%.12s.json", dir, d + 7);
    cleanup_free char *half = xasprintf("%s/layers/%.12s/half-written", dir, d + 7);
    cleanup_free char *tmpdir = xasprintf("%s/layers/.tmp-%.12s-0000", dir, d + 7);
    cleanup_free char *dl = xasprintf("%s/tmp/%.12s-0000", dir, d + 7);
    assert_int_equal(unlink(rec), 0);
    assert_int_equal(fs_write_atomic(half, "x", 1, 0644), 0);
    assert_int_equal(mkdir(tmpdir, 0755), 0);
    assert_int_equal(fs_write_atomic(dl, "partial", 7, 0600), 0);

    assert_int_equal(images_open(&o, &im, NULL), 0);
    assert_int_equal(access(tmpdir, F_OK), -1);
    assert_int_equal(access(dl, F_OK), -1);
    struct wh_err err = {0};
    if (images_pull(im, r, NULL, &img, &err) < 0)
        fail_msg("%s", err.msg);
    struct images_stats st;
    images_stats(im, &st);
    assert_int_equal(st.layer_unpacks, 1); /* only the layer without a record */
    assert_int_equal(access(rec, F_OK), 0);
    assert_int_equal(access(half, F_OK), -1);
    cleanup_free char *motd = xasprintf("%s/etc/motd", img->layer_dirs[1]);
    assert_int_equal(access(motd, F_OK), 0);
    pulled_image_free(img);
    images_close(im);
}

static size_t count_dir(const char *path)
{
    DIR *d = opendir(path);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void test_gc(void **state)
{
    (void)state;
    NEED_WORLD();
    cleanup_free char *layers = xasprintf("%s/layers", W.store);
    cleanup_free char *images = xasprintf("%s/images", W.store);
    /* A leftover of an interrupted unpack. */
    cleanup_free char *junk = xasprintf("%s/.tmp-deadbeef0000-0123", layers);
    assert_int_equal(mkdir(junk, 0755), 0);
    assert_int_equal(count_dir(images), 1);
    assert_int_equal(count_dir(layers), 4); /* 2 dirs + 2 records */

    /* In use: kept, junk removed. Young images are kept by min_age too. */
    const char *keep[] = {W.m1_digest};
    struct images_gc_stats st;
    struct wh_err err = {0};
    assert_int_equal(images_gc(W.im, keep, 1, 0, &st, &err), 0);
    assert_int_equal(st.images_removed, 0);
    assert_int_equal(st.layers_removed, 0);
    assert_int_equal(access(junk, F_OK), -1);
    assert_int_equal(images_gc(W.im, NULL, 0, 3600, &st, &err), 0);
    assert_int_equal(st.images_removed, 0);

    /* Nothing in use: all gone, refs too. A later pull works again. */
    assert_int_equal(images_gc(W.im, NULL, 0, 0, &st, &err), 0);
    assert_int_equal(st.images_removed, 1);
    assert_int_equal(st.layers_removed, 2);
    assert_int_equal(count_dir(images), 0);
    assert_int_equal(count_dir(layers), 0);
    cleanup_free char *refs = xasprintf("%s/refs", W.store);
    assert_int_equal(count_dir(refs), 0);
    cleanup_free char *locks = xasprintf("%s/locks", W.store); /* the helpers' layer locks */
    assert_int_equal(count_dir(locks), 0);
    cleanup_free char *r = ref("test:1");
    struct pulled_image *img;
    if (images_pull(W.im, r, NULL, &img, &err) < 0)
        fail_msg("%s", err.msg);
    pulled_image_free(img);
    assert_int_equal(count_dir(layers), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_pulls_unpack_once),
        cmocka_unit_test(test_two_helpers_share_layers),
        cmocka_unit_test(test_pull_by_digest_is_cached),
        cmocka_unit_test(test_check_tag_in_process),
        cmocka_unit_test(test_index_selects_platform),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_digest_mismatch),
        cmocka_unit_test(test_pull_policies),
        cmocka_unit_test(test_rootfs_overlay),
        cmocka_unit_test(test_rootfs_many_layers),
        cmocka_unit_test(test_crash_leftovers),
        cmocka_unit_test(test_gc),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
