/* Unit tests for the OCI spec builder (src/agent/oci_spec.c, oci_mounts.c, oci_linux.c) and
 * its pure helpers: capabilities, user resolution, environment files, volumes, seccomp, cgroup
 * arithmetic, wharf-shim's sync lines. Inputs are JSON written with single quotes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/caps.h"
#include "agent/cgroup.h"
#include "agent/env.h"
#include "agent/oci_spec.h"
#include "agent/runtime.h"
#include "agent/seccomp_default.h"
#include "agent/userdb.h"
#include "agent/volumes.h"
#include "core/json.h"
#include "core/xalloc.h"

/* Double quotes from single quotes (a new string). */
static char *dq(const char *text)
{
    char *s = xstrdup(text);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    return s;
}

static json_t *j(const char *text)
{
    cleanup_free char *s = dq(text);
    json_error_t e;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad test JSON (%s): %s", e.text, s);
    return v;
}

/* Assert that got equals the JSON in want_text, printing both. */
static void assert_json(const json_t *got, const char *want_text, const char *ctx)
{
    json_auto_t *want = j(want_text);
    if (!json_equal(got, want)) {
        cleanup_free char *g = json_text(got);
        cleanup_free char *w = json_text(want);
        fail_msg("%s:\n  got  %s\n  want %s", ctx, g, w);
    }
}

static struct oci_host host_fixture(void)
{
    struct oci_host h = {.caps = CAPS_ALL & ~(UINT64_C(1) << 24) /* no CAP_SYS_RESOURCE */,
                         .swap_accounting = true};
    for (int r = 0; r < RLIM_NLIMITS; r++)
        h.hard_limits[r] = RLIM_INFINITY;
    h.hard_limits[RLIMIT_NOFILE] = 20000;
    return h;
}

struct build {
    const char *image, *def, *ov;
    const char *env_files[3];
    const char *passwd, *group;
    const char *netns;
    int task_cpu, task_memory;
    const struct vol_mounts *mounts;
};

/* Build a spec; returns 0 or -1 with err. */
static int build(const struct build *b, struct oci_spec *out, struct wh_err *err)
{
    struct oci_host h = host_fixture();
    cleanup_free char *image = b->image ? dq(b->image) : NULL;
    cleanup_free char *def = dq(b->def);
    cleanup_free char *ov = b->ov ? dq(b->ov) : NULL;
    size_t nf = 0;
    while (nf < 3 && b->env_files[nf])
        nf++;
    struct oci_spec_in in = {
        .image_config = image,
        .container_def = def,
        .overrides = ov,
        .task_cpu = b->task_cpu,
        .task_memory = b->task_memory,
        .task_id = "0123456789abcdef0123456789abcdef",
        .rootfs = "/var/lib/wharf/rootfs/x",
        .mounts = b->mounts,
        .env_files = b->env_files,
        .n_env_files = nf,
        .passwd = b->passwd,
        .group = b->group,
        .netns = b->netns,
        .hostname = NULL,
        .hosts_path = "/c/hosts",
        .resolv_conf_path = "/c/resolv.conf",
        .hostname_path = "/c/hostname",
        .init_path = "/usr/libexec/wharf/wharf-init",
        .host = &h,
    };
    return oci_spec_build(&in, out, err);
}

static json_t *path(json_t *v, const char *a, const char *b)
{
    v = json_object_get(v, a);
    return b ? json_object_get(v, b) : v;
}

/* ---- entryPoint / command precedence ---- */

static const struct {
    const char *name, *image, *def, *ov, *want; /* want: args JSON, or "!substring" */
} args_cases[] = {
    {"image only", "{'Entrypoint':['/ep'],'Cmd':['c1']}", "{'name':'w'}", NULL, "['/ep','c1']"},
    {"whole image blob", "{'architecture':'amd64','config':{'Cmd':['sh']}}", "{'name':'w'}", NULL,
     "['sh']"},
    {"def entryPoint drops image Cmd", "{'Entrypoint':['/ep'],'Cmd':['c1']}",
     "{'name':'w','entryPoint':['/new']}", NULL, "['/new']"},
    {"def entryPoint and command", "{'Entrypoint':['/ep'],'Cmd':['c1']}",
     "{'name':'w','entryPoint':['/new'],'command':['x']}", NULL, "['/new','x']"},
    {"def command replaces Cmd", "{'Entrypoint':['/ep'],'Cmd':['c1']}",
     "{'name':'w','command':['x','y']}", NULL, "['/ep','x','y']"},
    {"override command", "{'Entrypoint':['/ep'],'Cmd':['c1']}", "{'name':'w','command':['x']}",
     "{'name':'w','command':['o']}", "['/ep','o']"},
    {"def entryPoint + override command", "{'Cmd':['c1']}", "{'name':'w','entryPoint':['/n']}",
     "{'command':['o']}", "['/n','o']"},
    {"empty lists are unset", "{'Entrypoint':['/ep'],'Cmd':['c1']}",
     "{'name':'w','entryPoint':[],'command':[]}", "{'command':[]}", "['/ep','c1']"},
    {"no image config", NULL, "{'name':'w','command':['sh','-c','true']}", NULL,
     "['sh','-c','true']"},
    {"init prepended", "{'Cmd':['c1']}", "{'name':'w','linuxParameters':{'initProcessEnabled':true}}",
     NULL, "['/sbin/wharf-init','--','c1']"},
    {"nothing to run", "{}", "{'name':'w'}", NULL, "!has no command"},
    {"def entryPoint without command, image Cmd only", "{'Cmd':['c1']}",
     "{'name':'w','entryPoint':['/e']}", NULL, "['/e']"},
};

static void test_args_precedence(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(args_cases); i++) {
        struct build b = {.image = args_cases[i].image, .def = args_cases[i].def,
                          .ov = args_cases[i].ov};
        struct oci_spec s;
        struct wh_err err = {0};
        int r = build(&b, &s, &err);
        const char *want = args_cases[i].want;
        if (want[0] == '!') {
            if (r == 0)
                fail_msg("%s: built, want error '%s'", args_cases[i].name, want + 1);
            if (!strstr(err.msg, want + 1))
                fail_msg("%s: error '%s', want '%s'", args_cases[i].name, err.msg, want + 1);
            continue;
        }
        if (r < 0)
            fail_msg("%s: %s", args_cases[i].name, err.msg);
        assert_json(path(s.spec, "process", "args"), want, args_cases[i].name);
        oci_spec_free(&s);
    }
}

/* ---- environment ---- */

static const struct {
    const char *name, *image, *def, *ov;
    const char *files[3];
    const char *want;
} env_cases[] = {
    {"image env, PATH default replaced", "{'Cmd':['c'],'Env':['PATH=/x','A=1']}", "{'name':'w'}", NULL, {0},
     "['PATH=/x','A=1','HOME=/']"},
    {"default PATH and HOME", "{}", "{'name':'w','command':['c']}", NULL, {0},
     "['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin','HOME=/']"},
    {"files over image, first file wins, environment over files, override last",
     "{'Cmd':['c'],'Env':['PATH=/x','A=img','B=img']}",
     "{'name':'w','environment':[{'name':'C','value':'def'},{'name':'E','value':'def'}]}",
     "{'environment':[{'name':'E','value':'ov'},{'name':'HOME','value':'/h'}]}",
     {"# comment\nB=f1\nC=f1\n\nnot a pair\nD=f1\nD=f1b\r\n", "B=f2\nF=f2=x", NULL},
     "['PATH=/x','A=img','B=f1','C=def','D=f1b','F=f2=x','E=ov','HOME=/h']"},
    {"bare image key kept", "{'Cmd':['c'],'Env':['PATH=/x','BARE']}", "{'name':'w','environment':"
     "[{'name':'BARE','value':'v'}]}", NULL, {0}, "['PATH=/x','BARE=v','HOME=/']"},
};

static void test_env_precedence(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(env_cases); i++) {
        struct build b = {.image = env_cases[i].image, .def = env_cases[i].def,
                          .ov = env_cases[i].ov};
        memcpy(b.env_files, env_cases[i].files, sizeof(b.env_files));
        struct oci_spec s;
        struct wh_err err = {0};
        if (build(&b, &s, &err) < 0)
            fail_msg("%s: %s", env_cases[i].name, err.msg);
        assert_json(path(s.spec, "process", "env"), env_cases[i].want, env_cases[i].name);
        oci_spec_free(&s);
    }
}

static void test_env_file_parse(void **state)
{
    (void)state;
    struct env_list e = {0};
    env_set(&e, "KEEP", "old", true);
    env_parse_file("  KEEP=new\n#X=1\n=novalue\nK2=a=b\nK2=c\n\n", &e, false);
    assert_int_equal(e.n, 2);
    assert_string_equal(e.v[0], "KEEP=old");
    assert_string_equal(e.v[1], "K2=c");
    env_parse_file("KEEP=new", &e, true);
    assert_string_equal(e.v[0], "KEEP=new");
    env_free(&e);
}

/* ---- working directory and user ---- */

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "app:x:1000:1000:App:/home/app:/bin/sh\n"
                             "svc:x:1001:1001::/srv:/bin/sh\n";
static const char group[] = "root:x:0:\nwheel:x:10:app,svc\napp:x:1000:\nsvc:x:1001:\n"
                            "staff:x:50:app\n";

static const struct {
    const char *spec;
    const char *want; /* user JSON, or "!substring" */
    const char *home;
} user_cases[] = {
    {NULL, "{'uid':0,'gid':0}", "/root"},
    {"app", "{'uid':1000,'gid':1000,'additionalGids':[10,50]}", "/home/app"},
    {"1000", "{'uid':1000,'gid':1000,'additionalGids':[10,50]}", "/home/app"},
    {"4242", "{'uid':4242,'gid':0}", "/"},
    {"app:wheel", "{'uid':1000,'gid':10,'additionalGids':[10,50]}", "/home/app"},
    {"0:10", "{'uid':0,'gid':10}", "/root"},
    {"4242:4243", "{'uid':4242,'gid':4243}", "/"},
    {"nobody", "!unable to find user 'nobody'", NULL},
    {"app:nogroup", "!unable to find group 'nogroup'", NULL},
};

static void test_user(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(user_cases); i++) {
        cleanup_free char *def =
            user_cases[i].spec
                ? xasprintf("{'name':'w','command':['c'],'user':'%s'}", user_cases[i].spec)
                : xstrdup("{'name':'w','command':['c']}");
        struct build b = {.def = def, .passwd = passwd, .group = group};
        struct oci_spec s;
        struct wh_err err = {0};
        int r = build(&b, &s, &err);
        const char *want = user_cases[i].want;
        const char *name = user_cases[i].spec ? user_cases[i].spec : "(none)";
        if (want[0] == '!') {
            if (r == 0 || !strstr(err.msg, want + 1))
                fail_msg("user %s: r=%d err '%s', want '%s'", name, r, err.msg, want + 1);
            assert_non_null(strstr(err.msg, "container 'w'"));
            continue;
        }
        if (r < 0)
            fail_msg("user %s: %s", name, err.msg);
        assert_json(path(s.spec, "process", "user"), want, name);
        json_t *env = path(s.spec, "process", "env");
        cleanup_free char *home = xasprintf("HOME=%s", user_cases[i].home);
        assert_string_equal(json_string_value(json_array_get(env, json_array_size(env) - 1)),
                            home);
        oci_spec_free(&s);
    }
    /* image User applies when the definition has none; the definition's wins. */
    struct build b = {.image = "{'User':'svc','Cmd':['c']}", .def = "{'name':'w'}",
                      .passwd = passwd, .group = group};
    struct oci_spec s;
    assert_int_equal(build(&b, &s, NULL), 0);
    assert_int_equal(json_int(path(s.spec, "process", "user"), "uid", -1), 1001);
    oci_spec_free(&s);
    b.def = "{'name':'w','user':'app'}";
    assert_int_equal(build(&b, &s, NULL), 0);
    assert_int_equal(json_int(path(s.spec, "process", "user"), "uid", -1), 1000);
    oci_spec_free(&s);
}

static void test_workdir(void **state)
{
    (void)state;
    static const struct {
        const char *image, *def, *want;
    } cases[] = {
        {"{'Cmd':['c'],'WorkingDir':'/app'}", "{'name':'w'}", "/app"},
        {"{'Cmd':['c'],'WorkingDir':'/app'}", "{'name':'w','workingDirectory':'/srv'}", "/srv"},
        {"{'Cmd':['c']}", "{'name':'w'}", "/"},
        {"{'Cmd':['c']}", "{'name':'w','workingDirectory':'rel'}", NULL},
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct build b = {.image = cases[i].image, .def = cases[i].def};
        struct oci_spec s;
        struct wh_err err = {0};
        int r = build(&b, &s, &err);
        if (!cases[i].want) {
            assert_int_equal(r, -1);
            assert_non_null(strstr(err.msg, "workingDirectory 'rel' is not an absolute path"));
            continue;
        }
        assert_int_equal(r, 0);
        assert_string_equal(json_str(json_object_get(s.spec, "process"), "cwd"), cases[i].want);
        oci_spec_free(&s);
    }
}

/* ---- limits ---- */

static const struct {
    const char *name, *def, *ov;
    int task_cpu, task_memory;
    const char *want_resources_subset; /* cpu and memory objects, or "!error" */
} limit_cases[] = {
    {"cpu 0 → 2 shares", "{'name':'w','command':['c']}", NULL, 0, 0,
     "{'cpu':{'shares':2}}"},
    {"cpu 512", "{'name':'w','command':['c'],'cpu':512}", NULL, 0, 0, "{'cpu':{'shares':512}}"},
    {"override cpu and memory", "{'name':'w','command':['c'],'cpu':512,'memory':64}",
     "{'cpu':256,'memory':32,'memoryReservation':16}", 0, 0,
     "{'cpu':{'shares':256},'memory':{'limit':33554432,'reservation':16777216}}"},
    {"hard and soft", "{'name':'w','command':['c'],'memory':128,'memoryReservation':64}", NULL, 0,
     0, "{'cpu':{'shares':2},'memory':{'limit':134217728,'reservation':67108864}}"},
    {"soft only", "{'name':'w','command':['c'],'memoryReservation':64}", NULL, 0, 0,
     "{'cpu':{'shares':2},'memory':{'reservation':67108864}}"},
    {"maxSwap and swappiness",
     "{'name':'w','command':['c'],'memory':64,'linuxParameters':{'maxSwap':32,'swappiness':10}}",
     NULL, 0, 0,
     "{'cpu':{'shares':2},'memory':{'limit':67108864,'swap':100663296,'swappiness':10}}"},
    {"within the task", "{'name':'w','command':['c'],'memory':256,'cpu':512}", NULL, 1024, 512,
     "{'cpu':{'shares':512},'memory':{'limit':268435456}}"},
    {"memory above the task's", "{'name':'w','command':['c'],'memory':1024}", NULL, 0, 512,
     "!memory 1024 MiB exceeds the task's memory 512 MiB"},
    {"cpu above the task's", "{'name':'w','command':['c'],'cpu':2048}", NULL, 1024, 0,
     "!cpu 2048 exceeds the task's cpu 1024"},
    {"soft above hard", "{'name':'w','command':['c'],'memory':64,'memoryReservation':128}", NULL,
     0, 0, "!memoryReservation 128 MiB are not valid"},
};

static void test_limits(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(limit_cases); i++) {
        struct build b = {.def = limit_cases[i].def, .ov = limit_cases[i].ov,
                          .task_cpu = limit_cases[i].task_cpu,
                          .task_memory = limit_cases[i].task_memory};
        struct oci_spec s;
        struct wh_err err = {0};
        int r = build(&b, &s, &err);
        const char *want = limit_cases[i].want_resources_subset;
        if (want[0] == '!') {
            if (r == 0 || !strstr(err.msg, want + 1))
                fail_msg("%s: r=%d err '%s', want '%s'", limit_cases[i].name, r, err.msg,
                         want + 1);
            continue;
        }
        if (r < 0)
            fail_msg("%s: %s", limit_cases[i].name, err.msg);
        json_t *res = path(s.spec, "linux", "resources");
        json_auto_t *got = json_object();
        json_object_set(got, "cpu", json_object_get(res, "cpu"));
        if (json_object_get(res, "memory"))
            json_object_set(got, "memory", json_object_get(res, "memory"));
        assert_json(got, want, limit_cases[i].name);
        assert_string_equal(json_str(json_object_get(s.spec, "linux"), "cgroupsPath"),
                            "/wharf/0123456789abcdef0123456789abcdef/w");
        oci_spec_free(&s);
    }
}

/* ---- confinement ---- */

static json_t *mount_at(json_t *spec, const char *dst)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(spec, "mounts"), i, m)
        if (strcmp(json_str(m, "destination"), dst) == 0)
            return m;
    return NULL;
}

static bool has_string(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    return false;
}

static void test_default_confinement(void **state)
{
    (void)state;
    struct build b = {.def = "{'name':'w','command':['c']}"};
    struct oci_spec s;
    assert_int_equal(build(&b, &s, NULL), 0);
    json_t *p = json_object_get(s.spec, "process");
    assert_true(json_bool(p, "noNewPrivileges", false));
    assert_json(path(p, "capabilities", "effective"),
                "['CAP_CHOWN','CAP_DAC_OVERRIDE','CAP_FOWNER','CAP_FSETID','CAP_KILL',"
                "'CAP_SETGID','CAP_SETUID','CAP_SETPCAP','CAP_NET_BIND_SERVICE','CAP_NET_RAW',"
                "'CAP_SYS_CHROOT','CAP_MKNOD','CAP_AUDIT_WRITE','CAP_SETFCAP']",
                "default caps");
    assert_true(json_equal(path(p, "capabilities", "bounding"),
                           path(p, "capabilities", "effective")));
    assert_true(json_equal(path(p, "capabilities", "permitted"),
                           path(p, "capabilities", "effective")));
    assert_null(path(p, "capabilities", "inheritable"));
    json_t *l = json_object_get(s.spec, "linux");
    assert_json(json_object_get(l, "namespaces"),
                "[{'type':'pid'},{'type':'ipc'},{'type':'uts'},{'type':'mount'},"
                "{'type':'network'}]",
                "namespaces");
    assert_true(has_string(json_object_get(l, "maskedPaths"), "/proc/kcore"));
    assert_true(has_string(json_object_get(l, "readonlyPaths"), "/proc/sys"));
    json_t *sc = json_object_get(l, "seccomp");
    assert_string_equal(json_str(sc, "defaultAction"), "SCMP_ACT_ERRNO");
    json_t *devs = path(l, "resources", "devices");
    assert_json(json_array_get(devs, 0), "{'allow':false,'access':'rwm'}", "devices deny all");
    assert_true(has_string(json_object_get(mount_at(s.spec, "/sys"), "options"), "ro"));
    assert_true(
        has_string(json_object_get(mount_at(s.spec, "/dev/shm"), "options"), "size=67108864"));
    assert_string_equal(json_str(mount_at(s.spec, "/etc/hosts"), "source"), "/c/hosts");
    assert_string_equal(json_str(mount_at(s.spec, "/etc/resolv.conf"), "source"),
                        "/c/resolv.conf");
    assert_null(mount_at(s.spec, "/sbin/wharf-init"));
    assert_false(json_bool(json_object_get(s.spec, "root"), "readonly", true));
    assert_int_equal(s.stop_signal, 15);
    assert_int_equal(s.n_warnings, 0);
    oci_spec_free(&s);
}

static void test_privileged(void **state)
{
    (void)state;
    struct build b = {.def = "{'name':'w','command':['c'],'privileged':true,"
                             "'readonlyRootFilesystem':true}",
                      .netns = "/run/netns/t1"};
    struct oci_spec s;
    assert_int_equal(build(&b, &s, NULL), 0);
    json_t *p = json_object_get(s.spec, "process");
    assert_false(json_bool(p, "noNewPrivileges", true));
    json_t *eff = path(p, "capabilities", "effective");
    assert_int_equal(json_array_size(eff), CAPS_LAST); /* all but SYS_RESOURCE (host lacks it) */
    assert_true(has_string(eff, "CAP_SYS_ADMIN"));
    assert_false(has_string(eff, "CAP_SYS_RESOURCE"));
    assert_int_equal(s.n_warnings, 1);
    assert_non_null(strstr(s.warnings[0], "cannot grant 1 capabilities"));
    json_t *l = json_object_get(s.spec, "linux");
    assert_null(json_object_get(l, "seccomp"));
    assert_null(json_object_get(l, "maskedPaths"));
    assert_null(json_object_get(l, "readonlyPaths"));
    assert_json(path(l, "resources", "devices"), "[{'allow':true,'access':'rwm'}]", "devices");
    assert_true(has_string(json_object_get(mount_at(s.spec, "/sys"), "options"), "rw"));
    assert_json(json_array_get(json_object_get(l, "namespaces"), 4),
                "{'type':'network','path':'/run/netns/t1'}", "netns path");
    assert_true(json_bool(json_object_get(s.spec, "root"), "readonly", false));
    oci_spec_free(&s);
}

static const struct {
    const char *caps; /* linuxParameters.capabilities */
    uint64_t want;    /* effective mask, or 0 with err */
    const char *err;
} cap_cases[] = {
    {"{'add':['SYS_ADMIN']}", 0xa82425fb, NULL},
    {"{'add':['CAP_SYS_PTRACE','net_admin']}", 0xa80c35fb, NULL},
    {"{'drop':['NET_RAW','CAP_MKNOD']}", 0xa00405fb, NULL},
    {"{'drop':['ALL'],'add':['NET_BIND_SERVICE']}", 0x400, NULL},
    {"{'add':['ALL'],'drop':['SYS_ADMIN']}", CAPS_ALL & ~(UINT64_C(1) << 21) & ~(UINT64_C(1) << 24),
     NULL},
    {"{'drop':['CHOWN'],'add':['CHOWN']}", 0xa80425fb, NULL}, /* add wins, as in Docker */
    {"{'add':['BOGUS']}", 0, "linuxParameters.capabilities.add[0] 'BOGUS' is not a Linux capability"},
};

static uint64_t mask_of(const json_t *names)
{
    uint64_t m = 0;
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v)
        m |= UINT64_C(1) << caps_from_name(json_string_value(v));
    return m;
}

static void test_capabilities(void **state)
{
    (void)state;
    assert_int_equal(caps_docker_default, 0xa80425fb);
    for (size_t i = 0; i < ARRAY_SIZE(cap_cases); i++) {
        cleanup_free char *def = xasprintf(
            "{'name':'w','command':['c'],'linuxParameters':{'capabilities':%s}}", cap_cases[i].caps);
        struct build b = {.def = def};
        struct oci_spec s;
        struct wh_err err = {0};
        int r = build(&b, &s, &err);
        if (cap_cases[i].err) {
            if (r == 0 || !strstr(err.msg, cap_cases[i].err))
                fail_msg("%s: r=%d err '%s'", cap_cases[i].caps, r, err.msg);
            continue;
        }
        if (r < 0)
            fail_msg("%s: %s", cap_cases[i].caps, err.msg);
        uint64_t got = mask_of(path(json_object_get(s.spec, "process"), "capabilities", "effective"));
        if (got != cap_cases[i].want)
            fail_msg("%s: caps %llx, want %llx", cap_cases[i].caps, (unsigned long long)got,
                     (unsigned long long)cap_cases[i].want);
        oci_spec_free(&s);
    }
    /* A capability the host cannot grant is left out with a warning. */
    struct build b = {.def = "{'name':'w','command':['c'],'linuxParameters':{'capabilities':"
                             "{'add':['SYS_RESOURCE']}}}"};
    struct oci_spec s;
    assert_int_equal(build(&b, &s, NULL), 0);
    assert_int_equal(s.n_warnings, 1);
    assert_non_null(strstr(s.warnings[0], "CAP_SYS_RESOURCE is not available"));
    assert_false(has_string(path(json_object_get(s.spec, "process"), "capabilities", "effective"),
                            "CAP_SYS_RESOURCE"));
    oci_spec_free(&s);
}

/* The seccomp profile follows the capabilities: mount needs CAP_SYS_ADMIN, clone3 is ENOSYS
 * without it. */
static bool rule_names(const json_t *prof, const char *syscall, const char *action)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(prof, "syscalls"), i, r)
        if (has_string(json_object_get(r, "names"), syscall) &&
            strcmp(json_str(r, "action"), action) == 0)
            return true;
    return false;
}

static void test_seccomp_profile(void **state)
{
    (void)state;
    json_auto_t *def = seccomp_default_profile(caps_docker_default, "amd64", false);
    assert_int_equal(json_int(def, "defaultErrnoRet", 0), 1);
    assert_json(json_object_get(def, "architectures"),
                "['SCMP_ARCH_X86_64','SCMP_ARCH_X86','SCMP_ARCH_X32']", "arches");
    assert_true(rule_names(def, "read", "SCMP_ACT_ALLOW"));
    assert_true(rule_names(def, "arch_prctl", "SCMP_ACT_ALLOW"));
    assert_true(rule_names(def, "chroot", "SCMP_ACT_ALLOW")); /* SYS_CHROOT is a default */
    assert_false(rule_names(def, "mount", "SCMP_ACT_ALLOW"));
    assert_false(rule_names(def, "reboot", "SCMP_ACT_ALLOW"));
    assert_true(rule_names(def, "clone3", "SCMP_ACT_ERRNO"));
    assert_false(rule_names(def, "cacheflush", "SCMP_ACT_ALLOW"));
    json_auto_t *admin =
        seccomp_default_profile(caps_docker_default | (UINT64_C(1) << 21), "arm64", true);
    assert_true(rule_names(admin, "mount", "SCMP_ACT_ALLOW"));
    assert_true(rule_names(admin, "clone3", "SCMP_ACT_ALLOW"));
    assert_false(rule_names(admin, "clone3", "SCMP_ACT_ERRNO"));
    assert_true(rule_names(admin, "cacheflush", "SCMP_ACT_ALLOW"));
    assert_false(rule_names(admin, "arch_prctl", "SCMP_ACT_ALLOW"));
    /* no_x32 only takes x32 away; arm64 has none to take */
    assert_json(json_object_get(admin, "architectures"), "['SCMP_ARCH_AARCH64','SCMP_ARCH_ARM']",
                "arm64 arches");
    json_auto_t *nox32 = seccomp_default_profile(caps_docker_default, "amd64", true);
    assert_json(json_object_get(nox32, "architectures"), "['SCMP_ARCH_X86_64','SCMP_ARCH_X86']",
                "amd64 arches without x32");
    assert_true(json_equal(json_object_get(nox32, "syscalls"), json_object_get(def, "syscalls")));
}

static void test_ulimits(void **state)
{
    (void)state;
    struct build b = {.def = "{'name':'w','command':['c'],'ulimits':["
                             "{'name':'nofile','softLimit':30000,'hardLimit':1048576},"
                             "{'name':'nproc','softLimit':100,'hardLimit':200},"
                             "{'name':'core','softLimit':0,'hardLimit':0}]}"};
    struct oci_spec s;
    assert_int_equal(build(&b, &s, NULL), 0);
    assert_json(path(s.spec, "process", "rlimits"),
                "[{'type':'RLIMIT_NOFILE','hard':20000,'soft':20000},"
                "{'type':'RLIMIT_NPROC','hard':200,'soft':100},"
                "{'type':'RLIMIT_CORE','hard':0,'soft':0}]",
                "rlimits");
    assert_int_equal(s.n_warnings, 2);
    assert_non_null(strstr(s.warnings[0], "ulimit nofile hard limit 1048576 is above the host's "
                                          "hard limit 20000: clamped to 20000"));
    assert_non_null(strstr(s.warnings[1], "soft limit 30000 is above its hard limit 20000"));
    oci_spec_free(&s);
    b.def = "{'name':'w','command':['c'],'ulimits':[{'name':'files','softLimit':1,"
            "'hardLimit':1}]}";
    struct wh_err err = {0};
    assert_int_equal(build(&b, &s, &err), -1);
    assert_non_null(strstr(err.msg, "ulimits[0].name 'files' is not a ulimit"));
}

static void test_mounts(void **state)
{
    (void)state;
    struct vol_mount vm[] = {
        {.source = "/h/deep", .destination = "/data/a/b", .readonly = false},
        {.source = "/h/data", .destination = "/data", .readonly = true},
    };
    struct vol_mounts mounts = {.m = vm, .n = 2};
    struct build b = {.def = "{'name':'w','command':['c'],'linuxParameters':{"
                             "'initProcessEnabled':true,'sharedMemorySize':128,'tmpfs':["
                             "{'containerPath':'/data/a','size':16,'mountOptions':['exec','mode=700']}]}}",
                      .mounts = &mounts};
    struct oci_spec s;
    struct wh_err err = {0};
    if (build(&b, &s, &err) < 0)
        fail_msg("%s", err.msg);
    json_t *m = json_object_get(s.spec, "mounts");
    size_t n = json_array_size(m);
    /* user mounts come last, parents first */
    assert_string_equal(json_str(json_array_get(m, n - 3), "destination"), "/data");
    assert_string_equal(json_str(json_array_get(m, n - 2), "destination"), "/data/a");
    assert_string_equal(json_str(json_array_get(m, n - 1), "destination"), "/data/a/b");
    assert_json(json_array_get(m, n - 3),
                "{'destination':'/data','type':'bind','source':'/h/data','options':['rbind',"
                "'rprivate','ro']}",
                "ro volume");
    assert_json(json_array_get(m, n - 2),
                "{'destination':'/data/a','type':'tmpfs','source':'tmpfs','options':['nosuid',"
                "'nodev','exec','mode=700','size=16m']}",
                "tmpfs");
    assert_json(mount_at(s.spec, "/sbin/wharf-init"),
                "{'destination':'/sbin/wharf-init','type':'bind','source':"
                "'/usr/libexec/wharf/wharf-init','options':['rbind','rprivate','ro']}",
                "init");
    assert_true(
        has_string(json_object_get(mount_at(s.spec, "/dev/shm"), "options"), "size=134217728"));
    oci_spec_free(&s);
}

static void test_misc(void **state)
{
    (void)state;
    struct build b = {.image = "{'Cmd':['c'],'StopSignal':'SIGQUIT'}",
                      .def = "{'name':'w','hostname':'h1','systemControls':[{'namespace':"
                             "'net.core.somaxconn','value':'1024'}],'dockerLabels':{'a':'b'},"
                             "'disableNetworking':true,'pseudoTerminal':true}",
                      .netns = "/run/netns/x"};
    struct oci_spec s;
    assert_int_equal(build(&b, &s, NULL), 0);
    assert_json(json_object_get(s.spec, "annotations"), "{'a':'b'}", "annotations");
    assert_json(json_array_get(path(s.spec, "linux", "namespaces"), 4), "{'type':'network'}",
                "disableNetworking");
    assert_int_equal(s.n_warnings, 1);
    assert_non_null(strstr(s.warnings[0], "pseudoTerminal"));
    assert_int_equal(s.stop_signal, 3);
    assert_string_equal(json_str(s.spec, "hostname"), "h1");
    assert_json(path(s.spec, "linux", "sysctl"), "{'net.core.somaxconn':'1024'}", "sysctl");
    assert_string_equal(json_string_value(json_array_get(path(s.spec, "process", "env"), 1)),
                        "HOSTNAME=h1");
    oci_spec_free(&s);
    assert_int_equal(oci_signal_from_name("TERM"), 15);
    assert_int_equal(oci_signal_from_name("sigkill"), 9);
    assert_int_equal(oci_signal_from_name("10"), 10);
    assert_int_equal(oci_signal_from_name("SIGNOPE"), -1);
    b.def = "{not json";
    struct wh_err err = {0};
    assert_int_equal(build(&b, &s, &err), -1);
    assert_non_null(strstr(err.msg, "the container definition is not a JSON object"));
}

/* ---- volumes_resolve ---- */

static const char task_volumes[] =
    "[{'name':'data'},{'name':'hostv','host':{'sourcePath':'/srv/h'}},"
    "{'name':'dvc','dockerVolumeConfiguration':{'scope':'task','driver':'local'}},"
    "{'name':'shared','dockerVolumeConfiguration':{'scope':'shared'}},"
    "{'name':'efs','efsVolumeConfiguration':{'fileSystemId':'fs-1'}},"
    "{'name':'nfs','dockerVolumeConfiguration':{'driver':'rexray'}}]";

static const char task_containers[] =
    "[{'name':'a','mountPoints':[{'sourceVolume':'data','containerPath':'/data'},"
    "{'sourceVolume':'hostv','containerPath':'/h','readOnly':true}]},"
    "{'name':'b','volumesFrom':[{'sourceContainer':'a','readOnly':true}],'mountPoints':"
    "[{'sourceVolume':'dvc','containerPath':'/d'}]},"
    "{'name':'c','volumesFrom':[{'sourceContainer':'b'}]},"
    "{'name':'d','mountPoints':[{'sourceVolume':'nope','containerPath':'/x'}]},"
    "{'name':'e','volumesFrom':[{'sourceContainer':'f'}]},"
    "{'name':'f','volumesFrom':[{'sourceContainer':'e'}]},"
    "{'name':'g','mountPoints':[{'sourceVolume':'efs','containerPath':'/x'}]},"
    "{'name':'h','mountPoints':[{'sourceVolume':'data','containerPath':'/x'},"
    "{'sourceVolume':'dvc','containerPath':'/x'}]},"
    "{'name':'i','volumesFrom':[{'sourceContainer':'a'}],'mountPoints':"
    "[{'sourceVolume':'dvc','containerPath':'/data'}]},"
    "{'name':'k','mountPoints':[{'sourceVolume':'shared','containerPath':'/s'}]},"
    "{'name':'l','mountPoints':[{'sourceVolume':'nfs','containerPath':'/s'}]},"
    "{'name':'m','volumesFrom':[{'sourceContainer':'zz'}]},"
    "{'name':'n','mountPoints':[{'sourceVolume':'data','containerPath':'rel'}]}]";

static const struct {
    const char *container;
    const char *want; /* "dst=src:ro|rw;..." or "!error substring" */
} vol_cases[] = {
    {"a", "/data=/t/volumes/data:rw;/h=/srv/h:ro"},
    {"b", "/data=/t/volumes/data:ro;/h=/srv/h:ro;/d=/t/volumes/dvc:rw"},
    {"c", "/data=/t/volumes/data:ro;/h=/srv/h:ro;/d=/t/volumes/dvc:rw"},
    {"d", "!container 'd' mountPoints[0].sourceVolume 'nope' is not a volume of the task"},
    {"e", "!volumesFrom of container 'e' leads back to itself"},
    {"g", "!volumes[4] 'efs': efsVolumeConfiguration is not supported"},
    {"h", "!container 'h' mountPoints[1].containerPath '/x' is mounted twice"},
    {"i", "/data=/t/volumes/dvc:rw;/h=/srv/h:ro"},
    {"k", "/s=/shared/shared:rw"},
    {"l", "!dockerVolumeConfiguration.driver 'rexray' is not supported"},
    {"m", "!volumesFrom[0].sourceContainer 'zz' is not a container of the task"},
    {"n", "!containerPath 'rel' is not an absolute path"},
};

static void test_volumes_resolve(void **state)
{
    (void)state;
    json_auto_t *vols = j(task_volumes);
    json_auto_t *ctrs = j(task_containers);
    for (size_t i = 0; i < ARRAY_SIZE(vol_cases); i++) {
        struct volumes_in in = {.volumes = vols, .containers = ctrs,
                                .container = vol_cases[i].container, .task_dir = "/t",
                                .shared_dir = "/shared"};
        struct vol_mounts m;
        struct wh_err err = {0};
        int r = volumes_resolve(&in, &m, &err);
        const char *want = vol_cases[i].want;
        if (want[0] == '!') {
            if (r == 0 || !strstr(err.msg, want + 1))
                fail_msg("%s: r=%d err '%s', want '%s'", vol_cases[i].container, r, err.msg,
                         want + 1);
            continue;
        }
        if (r < 0)
            fail_msg("%s: %s", vol_cases[i].container, err.msg);
        char got[1024] = "";
        for (size_t k = 0; k < m.n; k++) {
            size_t len = strlen(got);
            snprintf(got + len, sizeof(got) - len, "%s%s=%s:%s", k ? ";" : "",
                     m.m[k].destination, m.m[k].source, m.m[k].readonly ? "ro" : "rw");
        }
        if (strcmp(got, want) != 0)
            fail_msg("%s:\n  got  %s\n  want %s", vol_cases[i].container, got, want);
        vol_mounts_free(&m);
    }
    /* shared volumes need a shared dir */
    struct volumes_in in = {.volumes = vols, .containers = ctrs, .container = "k",
                            .task_dir = "/t"};
    struct vol_mounts m;
    struct wh_err err = {0};
    assert_int_equal(volumes_resolve(&in, &m, &err), -1);
    assert_non_null(strstr(err.msg, "shared volumes are not available"));
}

/* ---- small pure pieces ---- */

static void test_userdb_direct(void **state)
{
    (void)state;
    struct userdb_user u;
    assert_int_equal(userdb_resolve("", NULL, NULL, &u, NULL), 0);
    assert_int_equal(u.uid, 0);
    assert_string_equal(u.home, "/");
    userdb_user_free(&u);
    struct wh_err err = {0};
    assert_int_equal(userdb_resolve("app", NULL, NULL, &u, &err), -1);
    assert_non_null(strstr(err.msg, "unable to find user 'app'"));
    assert_int_equal(userdb_resolve("99999999999", passwd, group, &u, &err), -1);
}

static void test_cfs_quota_and_sync(void **state)
{
    (void)state;
    assert_int_equal(cgroup_cfs_quota(1024), 100000);
    assert_int_equal(cgroup_cfs_quota(256), 25000);
    assert_int_equal(cgroup_cfs_quota(4096), 400000);
    assert_int_equal(cgroup_cfs_quota(1), 1000);
    assert_int_equal(cgroup_cfs_quota(0), -1);
    int data;
    char *msg;
    assert_int_equal(rt_parse_sync("ok 1234\n", &data, &msg), 0);
    assert_int_equal(data, 1234);
    assert_null(msg);
    assert_int_equal(rt_parse_sync("error runc create failed: x\n", &data, &msg), 0);
    assert_int_equal(data, -1);
    assert_string_equal(msg, "runc create failed: x");
    free(msg);
    assert_int_equal(rt_parse_sync("error \n", &data, &msg), 0);
    assert_null(msg);
    assert_int_equal(rt_parse_sync("ok 12x\n", &data, &msg), -EINVAL);
    assert_int_equal(rt_parse_sync("ok -3\n", &data, &msg), -EINVAL);
    assert_int_equal(rt_parse_sync("{\"data\": 1234}", &data, &msg), -EINVAL);
    assert_int_equal(rt_parse_sync("garbage", &data, &msg), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_args_precedence),
        cmocka_unit_test(test_env_precedence),
        cmocka_unit_test(test_env_file_parse),
        cmocka_unit_test(test_user),
        cmocka_unit_test(test_workdir),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_default_confinement),
        cmocka_unit_test(test_privileged),
        cmocka_unit_test(test_capabilities),
        cmocka_unit_test(test_seccomp_profile),
        cmocka_unit_test(test_ulimits),
        cmocka_unit_test(test_mounts),
        cmocka_unit_test(test_misc),
        cmocka_unit_test(test_volumes_resolve),
        cmocka_unit_test(test_userdb_direct),
        cmocka_unit_test(test_cfs_quota_and_sync),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
