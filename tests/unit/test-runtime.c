/* Real containers through src/agent/runtime.c (runc under wharf-shim) with specs from
 * oci_spec_build(), on a rootfs made of /bin/busybox. Root only: every test skips otherwise,
 * and when runc, wharf-shim (beside this test) or busybox is missing. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/cgroup.h"
#include "agent/oci_spec.h"
#include "agent/runtime.h"
#include "agent/volumes.h"
#include "core/fsutil.h"
#include "core/json.h"
#include "core/proc.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

#define BUSYBOX "/bin/busybox"

static const char *const applets[] = {"sh", "echo", "cat", "sleep", "touch", "true", "grep",
                                      "head", "id", "ls", "kill", "dd", "wc", "df", "chmod"};

struct fixture {
    char dir[64];
    char *rootfs, *logs, *etc, *init;
    struct rt rt;
    struct oci_host host;
    char task[64];
    int n;
};

static struct fixture F;
static pid_t test_pid; /* ids are made from the test's pid, also in forked children */

static int write_text(const char *path, const char *text)
{
    return fs_write_atomic(path, text, strlen(text), 0644);
}

static int make_rootfs(const char *root)
{
    const char *dirs[] = {"bin", "etc", "proc", "sys", "dev", "tmp", "sbin"};
    for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
        cleanup_free char *d = xasprintf("%s/%s", root, dirs[i]);
        if (fs_mkdir_p(d, 0755) < 0)
            return -1;
    }
    char *data;
    size_t len;
    if (fs_read_file(BUSYBOX, 64 << 20, &data, &len) < 0)
        return -1;
    cleanup_free char *bb = xasprintf("%s/bin/busybox", root);
    int r = fs_write_atomic(bb, data, len, 0755);
    free(data);
    for (size_t i = 0; r == 0 && i < ARRAY_SIZE(applets); i++) {
        cleanup_free char *l = xasprintf("%s/bin/%s", root, applets[i]);
        r = symlink("busybox", l);
    }
    cleanup_free char *pw = xasprintf("%s/etc/passwd", root);
    cleanup_free char *gr = xasprintf("%s/etc/group", root);
    if (r == 0)
        r = write_text(pw, "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n");
    if (r == 0)
        r = write_text(gr, "root:x:0:\nnogroup:x:65534:\n");
    return r;
}

static int setup(void **state)
{
    (void)state;
    if (geteuid() != 0 || access(BUSYBOX, X_OK) != 0)
        return 0; /* tests skip */
    snprintf(F.dir, sizeof(F.dir), "/tmp/wharf-rt-XXXXXX");
    if (!mkdtemp(F.dir))
        return -1;
    F.rootfs = xasprintf("%s/rootfs", F.dir);
    F.logs = xasprintf("%s/logs", F.dir);
    F.etc = xasprintf("%s/etc", F.dir);
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return -1;
    self[n] = 0;
    *strrchr(self, '/') = 0;
    F.init = xasprintf("%s/wharf-init", self);
    test_pid = getpid();
    snprintf(F.task, sizeof(F.task), "wharftest%d", (int)test_pid);
    struct wh_err err = {0};
    if (make_rootfs(F.rootfs) < 0 || fs_mkdir_p(F.logs, 0755) < 0 || fs_mkdir_p(F.etc, 0755) < 0)
        return -1;
    cleanup_free char *hosts = xasprintf("%s/hosts", F.etc);
    cleanup_free char *resolv = xasprintf("%s/resolv.conf", F.etc);
    cleanup_free char *hn = xasprintf("%s/hostname", F.etc);
    write_text(hosts, "127.0.0.1 localhost\n");
    write_text(resolv, "nameserver 127.0.0.1\n");
    write_text(hn, "wharftest\n");
    if (rt_init(&F.rt, F.dir, NULL, NULL, &err) < 0) {
        fprintf(stderr, "rt_init: %s (tests will skip)\n", err.msg);
        F.rt.runc = NULL;
        return 0;
    }
    oci_host_probe(&F.host);
    return 0;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static int teardown(void **state)
{
    (void)state;
    if (F.rt.runc) {
        struct rt_info *l;
        size_t n;
        if (rt_list(&F.rt, &l, &n, NULL) == 0) {
            for (size_t i = 0; i < n; i++)
                rt_delete(&F.rt, l[i].id, NULL);
            free(l);
        }
        cgroup_task_remove(F.task, NULL);
        rt_free(&F.rt);
    }
    if (F.dir[0])
        nftw(F.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(F.rootfs);
    free(F.logs);
    free(F.etc);
    free(F.init);
    return 0;
}

static void need_root(void)
{
    if (geteuid() != 0 || !F.rt.runc)
        skip();
}

/* The spec of container `name` with definition fields `extra` (JSON members, single quotes)
 * running `sh -c script`. */
static const struct vol_mounts *next_mounts; /* mounts for the next spec_for() */

static char *spec_for(const char *name, const char *script, const char *extra)
{
    json_auto_t *def = json_pack("{s:s,s:[s,s,s]}", "name", name, "command", "/bin/sh", "-c",
                                 script);
    if (extra) {
        cleanup_free char *t = xasprintf("{%s}", extra);
        for (char *p = t; *p; p++)
            if (*p == '\'')
                *p = '"';
        json_auto_t *x = json_loads(t, 0, NULL);
        assert_non_null(x);
        json_object_update(def, x);
    }
    cleanup_free char *def_text = json_text(def);
    cleanup_free char *hosts = xasprintf("%s/hosts", F.etc);
    cleanup_free char *resolv = xasprintf("%s/resolv.conf", F.etc);
    cleanup_free char *hn = xasprintf("%s/hostname", F.etc);
    cleanup_free char *pw = xasprintf("%s/etc/passwd", F.rootfs);
    cleanup_free char *gr = xasprintf("%s/etc/group", F.rootfs);
    char *passwd = NULL, *group = NULL;
    size_t len;
    fs_read_file(pw, 1 << 20, &passwd, &len);
    fs_read_file(gr, 1 << 20, &group, &len);
    struct oci_spec_in in = {
        .container_def = def_text,
        .task_id = F.task,
        .rootfs = F.rootfs,
        .passwd = passwd,
        .group = group,
        .hostname = name,
        .hosts_path = hosts,
        .resolv_conf_path = resolv,
        .hostname_path = hn,
        .init_path = F.init,
        .host = &F.host,
        .mounts = next_mounts,
    };
    struct oci_spec s;
    struct wh_err err = {0};
    if (oci_spec_build(&in, &s, &err) < 0)
        fail_msg("oci_spec_build: %s", err.msg);
    for (size_t i = 0; i < s.n_warnings; i++)
        fprintf(stderr, "spec warning: %s\n", s.warnings[i]);
    free(passwd);
    free(group);
    char *text = json_dumps(s.spec, JSON_COMPACT);
    oci_spec_free(&s);
    return text;
}

struct ctr {
    char id[64];
    char log[256];
    pid_t pid;
};

static int start(struct ctr *c, const char *name, const char *script, const char *extra,
                 struct wh_err *err)
{
    snprintf(c->id, sizeof(c->id), "wt%d-%s", (int)test_pid, name);
    snprintf(c->log, sizeof(c->log), "%s/%s.log", F.logs, name);
    cleanup_free char *spec = spec_for(name, script, extra);
    struct rt_create_opts o = {.id = c->id, .spec = spec, .log_path = c->log};
    return rt_run(&F.rt, &o, &c->pid, err);
}

static void start_ok(struct ctr *c, const char *name, const char *script, const char *extra)
{
    struct wh_err err = {0};
    if (start(c, name, script, extra, &err) < 0)
        fail_msg("starting %s: %s", name, err.msg);
}

static struct rt_exit wait_exit(const struct ctr *c, int timeout_ms)
{
    struct rt_exit ex = {0};
    int r = rt_wait(&F.rt, c->id, timeout_ms, &ex);
    if (r < 0)
        fail_msg("%s: rt_wait: %s", c->id, strerror(-r));
    return ex;
}

static char *log_text(const struct ctr *c)
{
    char *data = NULL;
    size_t len;
    if (fs_read_file(c->log, 4 << 20, &data, &len) < 0)
        fail_msg("no log file %s", c->log);
    return data;
}

static void assert_log_has(const struct ctr *c, const char *needle)
{
    cleanup_free char *log = log_text(c);
    if (!strstr(log, needle))
        fail_msg("%s: log lacks '%s':\n%s", c->id, needle, log);
}

/* The hex mask after key (a /proc/PID/status field) in text. */
static unsigned long long status_mask(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    if (!p)
        fail_msg("no '%s' in:\n%s", key, text);
    return strtoull(p + strlen(key), NULL, 16);
}

static void test_echo_hello(void **state)
{
    (void)state;
    need_root();
    struct ctr c;
    /* "; true": busybox sh execs a last command with SIGQUIT ignored (it does so on any host) */
    start_ok(&c, "hello",
             "echo hello; echo oops >&2; grep -E 'Sig(Ign|Blk)' /proc/self/status; true", NULL);
    struct rt_exit ex = wait_exit(&c, 10000);
    assert_int_equal(ex.code, 0);
    assert_false(ex.oom);
    /* k8s-file: "TIMESTAMP STREAM F LINE" */
    cleanup_free char *log = log_text(&c);
    char ts[64], stream[16], tag[4], line[64];
    assert_int_equal(sscanf(log, "%63s %15s %3s %63s", ts, stream, tag, line), 4);
    assert_true(strlen(ts) >= 20 && ts[4] == '-' && ts[10] == 'T');
    assert_string_equal(stream, "stdout");
    assert_string_equal(line, "hello");
    /* the shim ignores SIGPIPE and SIGHUP and blocks SIGCHLD for itself only: the
     * container's programs start with none of them ignored or blocked (the masks are the
     * rest of what the agent's own parent left: a test runner may ignore signal 32, which
     * glibc's signal() cannot reset) */
    unsigned long long ign_mask = status_mask(log, "SigIgn:\t");
    unsigned long long blk_mask = status_mask(log, "SigBlk:\t");
    unsigned long long ours = (1ULL << (SIGPIPE - 1)) | (1ULL << (SIGHUP - 1));
    if ((ign_mask & ours) || (blk_mask & (1ULL << (SIGCHLD - 1))))
        fail_msg("signals leaked into the container: SigIgn %llx SigBlk %llx", ign_mask,
                 blk_mask);
    assert_log_has(&c, " stderr F oops");
    struct rt_state st;
    assert_int_equal(rt_state(&F.rt, c.id, &st, NULL), 0);
    assert_int_equal(st.status, RT_STOPPED);
    assert_int_equal(rt_delete(&F.rt, c.id, NULL), 0);
    assert_int_equal(rt_state(&F.rt, c.id, &st, NULL), 0);
    assert_int_equal(st.status, RT_GONE);
    assert_int_equal(rt_exit_status(&F.rt, c.id, &ex), -ENOENT);
}

/* The shim writes the exit file only once the output is in the log: every line, in order
 * (a line the 8 KiB reads cut is P records joined by the F one that ends it), and a line
 * longer than 8 KiB is cut into P records. */
static void test_output_before_exit(void **state)
{
    (void)state;
    need_root();
    struct ctr c;
    start_ok(&c, "burst", "i=0; while [ $i -lt 3000 ]; do echo line$i; i=$((i+1)); done; "
                          "head -c 20000 /dev/zero | tr '\\0' x; echo; exit 7", NULL);
    struct rt_exit ex = wait_exit(&c, 20000);
    assert_int_equal(ex.code, 7);
    cleanup_free char *log = log_text(&c);
    cleanup_free char *line = xcalloc(1, 32768);
    size_t len = 0, partial = 0, xs = 0;
    long next = 0;
    for (char *save = NULL, *l = strtok_r(log, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char ts[64], stream[16], tag[4];
        int off = 0;
        assert_int_equal(sscanf(l, "%63s %15s %3s %n", ts, stream, tag, &off), 3);
        assert_string_equal(stream, "stdout");
        size_t n = strlen(l + off);
        assert_true(len + n < 32768);
        memcpy(line + len, l + off, n);
        len += n;
        line[len] = 0;
        if (strcmp(tag, "P") == 0) {
            partial++;
            continue;
        }
        if (strncmp(line, "line", 4) == 0) {
            assert_int_equal(atol(line + 4), next); /* in order, none lost */
            next++;
        } else {
            xs += strspn(line, "x");
            assert_int_equal(strspn(line, "x"), len);
        }
        len = 0;
    }
    assert_int_equal(next, 3000);
    assert_int_equal(xs, 20000);
    assert_true(partial >= 2); /* 20000 bytes: at least two 8 KiB cuts */
    assert_int_equal(rt_delete(&F.rt, c.id, NULL), 0);
}

/* A shim killed under a running container: the exit cannot be known any more, and the wait
 * says so at once (-ESRCH) instead of waiting out its timeout. */
static void test_shim_killed(void **state)
{
    (void)state;
    need_root();
    struct ctr c;
    start_ok(&c, "orphaned", "sleep 100", NULL);
    cleanup_free char *bundle = rt_bundle_dir(&F.rt, c.id);
    cleanup_free char *pid_path = xasprintf("%s/shim.pid", bundle);
    char *text = NULL;
    size_t len;
    assert_int_equal(fs_read_file(pid_path, 64, &text, &len), 0);
    pid_t shim = atoi(text);
    free(text);
    assert_true(shim > 1);
    assert_int_equal(kill(shim, SIGKILL), 0);
    struct rt_exit ex;
    double t0 = time_monotonic();
    assert_int_equal(rt_wait(&F.rt, c.id, 10000, &ex), -ESRCH);
    assert_true(time_monotonic() - t0 < 5);
    assert_int_equal(rt_stop(&F.rt, c.id, SIGKILL, 0, NULL), 0);
    assert_int_equal(rt_delete(&F.rt, c.id, NULL), 0);
}

/* The in-process start leaves runc's view as `runc start` would: running, and a second start
 * refused; the program really runs. */
static void test_fifo_start_agrees_with_runc(void **state)
{
    (void)state;
    need_root();
    assert_true(rt_is_runc("/usr/sbin/runc"));
    assert_true(rt_is_runc("runc"));
    assert_false(rt_is_runc("/usr/bin/crun"));
    assert_true(F.rt.fifo_start);
    struct ctr c;
    start_ok(&c, "fifo", "echo started; sleep 100", NULL);
    struct rt_state st;
    assert_int_equal(rt_state(&F.rt, c.id, &st, NULL), 0);
    assert_int_equal(st.status, RT_RUNNING);
    assert_int_equal(st.pid, c.pid);
    cleanup_free char *fifo = xasprintf("%s/%s/exec.fifo", F.rt.root, c.id);
    assert_int_equal(access(fifo, F_OK), -1);
    struct wh_err err = {0};
    assert_int_equal(rt_start(&F.rt, c.id, c.pid, &err), -1);
    for (int i = 0; i < 200; i++) {
        cleanup_free char *log = NULL;
        size_t len;
        if (fs_read_file(c.log, 4 << 20, &log, &len) == 0 && strstr(log, "started"))
            break;
        usleep(10000);
    }
    assert_log_has(&c, " stdout F started");
    assert_int_equal(rt_stop(&F.rt, c.id, SIGKILL, 0, NULL), 0);
    assert_int_equal(rt_delete(&F.rt, c.id, NULL), 0);
}

static void test_exit_code(void **state)
{
    (void)state;
    need_root();
    struct ctr c;
    start_ok(&c, "exit3", "exit 3", NULL);
    assert_int_equal(wait_exit(&c, 10000).code, 3);
    /* The id is taken until deleted; a second create leaves the first container alone. */
    struct wh_err err = {0};
    assert_int_equal(start(&c, "exit3", "exit 4", NULL, &err), -1);
    assert_non_null(strstr(err.msg, "container already exists"));
    assert_int_equal(wait_exit(&c, 10000).code, 3);
    assert_int_equal(rt_delete(&F.rt, c.id, NULL), 0);
    start_ok(&c, "exit3", "exit 4", NULL);
    assert_int_equal(wait_exit(&c, 10000).code, 4);
    assert_int_equal(rt_delete(&F.rt, c.id, NULL), 0);
}

static void test_start_failure_reports_runc_error(void **state)
{
    (void)state;
    need_root();
    struct ctr c;
    snprintf(c.id, sizeof(c.id), "wt%d-nocmd", (int)getpid());
    snprintf(c.log, sizeof(c.log), "%s/nocmd.log", F.logs);
    cleanup_free char *spec = spec_for("nocmd", "x", NULL);
    /* replace the command with a program that does not exist */
    json_auto_t *v = json_loads(spec, 0, NULL);
    json_object_set_new(json_object_get(v, "process"), "args", json_pack("[s]", "/no/such/prog"));
    cleanup_free char *text = json_dumps(v, JSON_COMPACT);
    struct rt_create_opts o = {.id = c.id, .spec = text, .log_path = c.log};
    struct wh_err err = {0};
    assert_int_equal(rt_run(&F.rt, &o, &c.pid, &err), -1);
    fprintf(stderr, "expected failure: %s: %s\n", err.type, err.msg);
    assert_non_null(strstr(err.msg, "/no/such/prog"));
    assert_string_equal(err.type, "CannotStartContainerError");
    rt_delete(&F.rt, c.id, NULL);
}

static void test_stop_timeout_kills(void **state)
{
    (void)state;
    need_root();
    struct ctr c;
    start_ok(&c, "stubborn", "trap '' TERM; echo ready; sleep 100", NULL);
    usleep(100000);
    double t0 = time_monotonic();
    struct wh_err err = {0};
    if (rt_stop(&F.rt, c.id, SIGTERM, 1, &err) < 0)
        fail_msg("rt_stop: %s", err.msg);
    double took = time_monotonic() - t0;
    fprintf(stderr, "stop with stopTimeout 1 of a TERM-ignoring container took %.2f s\n", took);
    assert_true(took >= 0.9 && took < 2.5);
    struct rt_exit ex;
    assert_int_equal(rt_exit_status(&F.rt, c.id, &ex), 0);
    assert_int_equal(ex.code, 137);
    assert_int_equal(rt_delete(&F.rt, c.id, NULL), 0);

    /* With wharf-init as PID 1, TERM reaches the program, which dies at once. */
    start_ok(&c, "initted", "sleep 100", "'linuxParameters':{'initProcessEnabled':true}");
    usleep(100000);
    t0 = time_monotonic();
    if (rt_stop(&F.rt, c.id, SIGTERM, 5, &err) < 0)
        fail_msg("rt_stop: %s", err.msg);
    took = time_monotonic() - t0;
    fprintf(stderr, "stop of a container under wharf-init took %.2f s\n", took);
    assert_true(took < 1.0);
    assert_int_equal(rt_exit_status(&F.rt, c.id, &ex), 0);
    assert_int_equal(ex.code, 143); /* sh died of SIGTERM, wharf-init reported 128+15 */
    assert_int_equal(rt_delete(&F.rt, c.id, NULL), 0);
}

static void test_oom(void **state)
{
    (void)state;
    need_root();
    struct ctr c;
    start_ok(&c, "oom", "a=xxxxxxxxxxxxxxxx; while :; do a=$a$a; done", "'memory':8");
    cleanup_free char *exit_file = xasprintf("%s/%s", F.rt.exit_dir, c.id);
    for (int i = 0; i < 2000 && access(exit_file, F_OK) != 0; i++)
        usleep(10000);
    struct rt_exit ex = wait_exit(&c, 20000);
    fprintf(stderr, "OOM container: exit %d oom %d\n", ex.code, ex.oom);
    assert_int_equal(ex.code, 137);
    assert_true(ex.oom);
    assert_int_equal(rt_delete(&F.rt, c.id, NULL), 0);
    /* A container that exits normally is not reported as OOM. */
    start_ok(&c, "notoom", "true", "'memory':8");
    ex = wait_exit(&c, 10000);
    assert_int_equal(ex.code, 0);
    assert_false(ex.oom);
    assert_int_equal(rt_delete(&F.rt, c.id, NULL), 0);
}

static void test_confinement(void **state)
{
    (void)state;
    need_root();
    struct ctr c;
    start_ok(&c, "confined",
             "grep -E '^(Seccomp|NoNewPrivs|CapEff|CapBnd):' /proc/self/status; echo pid=$$; "
             "echo host=$(cat /etc/hostname); touch /newfile || echo write-refused; "
             "touch /tmp/x 2>&1; cat /proc/kcore | head -c 1 | wc -c; echo done",
             "'readonlyRootFilesystem':true");
    struct rt_exit ex = wait_exit(&c, 10000);
    cleanup_free char *log = log_text(&c);
    fprintf(stderr, "%s", log);
    assert_int_equal(ex.code, 0);
    assert_log_has(&c, "Seccomp:\t2");
    assert_log_has(&c, "NoNewPrivs:\t1");
    assert_log_has(&c, "CapEff:\t00000000a80425fb");
    assert_log_has(&c, "CapBnd:\t00000000a80425fb");
    assert_log_has(&c, "pid=1");
    assert_log_has(&c, "host=wharftest");
    assert_log_has(&c, "Read-only file system");
    assert_log_has(&c, "write-refused");
    assert_int_equal(rt_delete(&F.rt, c.id, NULL), 0);

    /* The seccomp profile refuses what Docker's refuses: unshare without CAP_SYS_ADMIN. */
    start_ok(&c, "seccomp", "busybox unshare -m true && echo unshared || echo refused", NULL);
    wait_exit(&c, 10000);
    assert_log_has(&c, "refused");
    assert_int_equal(rt_delete(&F.rt, c.id, NULL), 0);
}

/* Task-scoped volumes shared between containers, volumesFrom read-only, a host bind mount. */
static void test_volumes(void **state)
{
    (void)state;
    need_root();
    cleanup_free char *task_dir = xasprintf("%s/task", F.dir);
    cleanup_free char *host_dir = xasprintf("%s/hostdir", F.dir);
    cleanup_free char *vols_text = xasprintf(
        "[{\"name\":\"shared\"},{\"name\":\"h\",\"host\":{\"sourcePath\":\"%s\"}}]",
        host_dir);
    json_auto_t *vols = json_loads(vols_text, 0, NULL);
    json_auto_t *ctrs = json_loads(
        "[{\"name\":\"writer\",\"mountPoints\":[{\"sourceVolume\":\"shared\","
        "\"containerPath\":\"/data\"},{\"sourceVolume\":\"h\",\"containerPath\":\"/h\"}]},"
        "{\"name\":\"reader\",\"volumesFrom\":[{\"sourceContainer\":\"writer\","
        "\"readOnly\":true}]}]",
        0, NULL);
    assert_non_null(vols);
    assert_non_null(ctrs);
    struct wh_err err = {0};
    struct vol_mounts wm, rm;
    struct volumes_in in = {.volumes = vols, .containers = ctrs, .container = "writer",
                            .task_dir = task_dir};
    assert_int_equal(volumes_resolve(&in, &wm, &err), 0);
    in.container = "reader";
    assert_int_equal(volumes_resolve(&in, &rm, &err), 0);
    if (volumes_prepare(&wm, &err) < 0)
        fail_msg("%s", err.msg);
    struct ctr w, r;
    next_mounts = &wm;
    start_ok(&w, "writer", "echo from-writer > /data/f && echo host > /h/g && echo wrote", NULL);
    next_mounts = NULL;
    assert_int_equal(wait_exit(&w, 10000).code, 0);
    next_mounts = &rm;
    start_ok(&r, "reader", "cat /data/f /h/g; echo x > /data/f || echo refused", NULL);
    next_mounts = NULL;
    assert_int_equal(wait_exit(&r, 10000).code, 0);
    assert_log_has(&r, "stdout F from-writer");
    assert_log_has(&r, "stdout F host");
    assert_log_has(&r, "Read-only file system");
    assert_log_has(&r, "stdout F refused");
    cleanup_free char *g = xasprintf("%s/g", host_dir);
    assert_int_equal(access(g, F_OK), 0);
    vol_mounts_free(&wm);
    vol_mounts_free(&rm);
    assert_int_equal(rt_delete(&F.rt, w.id, NULL), 0);
    assert_int_equal(rt_delete(&F.rt, r.id, NULL), 0);
}

/* Limits as the container sees them: clamped ulimits, tmpfs and /dev/shm sizes. */
static void test_limits_inside(void **state)
{
    (void)state;
    need_root();
    struct ctr c;
    start_ok(&c, "limits",
             "echo nofile=$(ulimit -n) hard=$(ulimit -Hn); df -k /scratch /dev/shm; "
             "echo exec > /scratch/x && chmod +x /scratch/x; /scratch/x 2>&1 || echo noexec",
             "'ulimits':[{'name':'nofile','softLimit':1048576,'hardLimit':1048576}],"
             "'linuxParameters':{'sharedMemorySize':32,'tmpfs':[{'containerPath':'/scratch',"
             "'size':16}]}");
    wait_exit(&c, 10000);
    cleanup_free char *log = log_text(&c);
    fprintf(stderr, "%s", log);
    char want[64];
    snprintf(want, sizeof(want), "nofile=%llu hard=%llu",
             (unsigned long long)F.host.hard_limits[RLIMIT_NOFILE],
             (unsigned long long)F.host.hard_limits[RLIMIT_NOFILE]);
    assert_log_has(&c, want);
    assert_log_has(&c, " 16384 ");
    assert_log_has(&c, " 32768 ");
    assert_log_has(&c, "noexec");
    assert_int_equal(rt_delete(&F.rt, c.id, NULL), 0);
}

static pid_t ppid_of(pid_t pid)
{
    cleanup_free char *path = xasprintf("/proc/%d/stat", (int)pid);
    char *data = NULL;
    size_t len;
    if (fs_read_file(path, 4096, &data, &len) < 0)
        return -1;
    char *p = strrchr(data, ')');
    int ppid = -1;
    if (p)
        sscanf(p + 2, "%*c %d", &ppid);
    free(data);
    return ppid;
}

/* The container outlives the process that started it; its exit code is found later. */
static void test_outlives_starter(void **state)
{
    (void)state;
    need_root();
    struct ctr c;
    snprintf(c.id, sizeof(c.id), "wt%d-orphan", (int)getpid());
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct ctr cc;
        struct wh_err err = {0};
        _exit(start(&cc, "orphan", "sleep 1; exit 5", NULL, &err) == 0 ? 0 : 1);
    }
    int st;
    assert_int_equal(waitpid(child, &st, 0), child);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    struct rt_state s;
    assert_int_equal(rt_state(&F.rt, c.id, &s, NULL), 0);
    assert_int_equal(s.status, RT_RUNNING);
    /* the shim is the container's parent, and the shim is not ours */
    cleanup_free char *bundle = rt_bundle_dir(&F.rt, c.id);
    cleanup_free char *cpid_path = xasprintf("%s/shim.pid", bundle);
    char *cpid = NULL;
    size_t len;
    assert_int_equal(fs_read_file(cpid_path, 64, &cpid, &len), 0);
    pid_t shim = atoi(cpid);
    free(cpid);
    assert_int_equal(ppid_of(s.pid), shim);
    assert_int_not_equal(ppid_of(shim), getpid());
    assert_int_not_equal(ppid_of(shim), child);
    /* and the shim left our cgroups for its own */
    cleanup_free char *cg_path = xasprintf("/proc/%d/cgroup", (int)shim);
    char *cg = NULL;
    assert_int_equal(fs_read_file(cg_path, 1 << 16, &cg, &len), 0);
    if (!strstr(cg, "memory:" RT_SHIM_CGROUP "\n") || !strstr(cg, "0::" RT_SHIM_CGROUP "\n"))
        fail_msg("the shim's cgroups:\n%s", cg);
    free(cg);
    /* Rediscovered through rt_list, as an agent after a restart would. */
    struct rt_info *l;
    size_t n;
    assert_int_equal(rt_list(&F.rt, &l, &n, NULL), 0);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(l[i].id, c.id) == 0) {
            found = true;
            assert_int_equal(l[i].status, RT_RUNNING);
            assert_false(l[i].exited);
        }
    free(l);
    assert_true(found);
    struct rt_exit ex = wait_exit(&c, 10000);
    assert_int_equal(ex.code, 5);
    assert_int_equal(rt_list(&F.rt, &l, &n, NULL), 0);
    found = false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(l[i].id, c.id) == 0) {
            found = true;
            assert_int_equal(l[i].status, RT_STOPPED);
            assert_true(l[i].exited);
            assert_int_equal(l[i].exit.code, 5);
        }
    free(l);
    assert_true(found);
    assert_int_equal(rt_delete(&F.rt, c.id, NULL), 0);
}

static long long read_ll(const char *path)
{
    char *data = NULL;
    size_t len;
    if (fs_read_file(path, 64, &data, &len) < 0)
        return -2;
    long long v = atoll(data);
    free(data);
    return v;
}

static void test_task_cgroup(void **state)
{
    (void)state;
    need_root();
    char task[80];
    snprintf(task, sizeof(task), "%.60s-cg", F.task);
    struct wh_err err = {0};
    if (cgroup_task_create(task, 64, &err) < 0)
        fail_msg("%s", err.msg);
    cleanup_free char *quota = xasprintf(CGROUP_ROOT "/cpu/wharf/%s/cpu.cfs_quota_us", task);
    cleanup_free char *mem = xasprintf(CGROUP_ROOT "/memory/wharf/%s/memory.limit_in_bytes", task);
    assert_int_equal(read_ll(quota), -1); /* the CPU quota comes before the start */
    assert_int_equal(read_ll(mem), 64LL << 20);
    if (cgroup_task_limit_cpu(task, 512, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(read_ll(quota), 50000);
    /* A container of that task lands below it and sees the task's memory limit. */
    char saved[64];
    memcpy(saved, F.task, sizeof(saved));
    snprintf(F.task, sizeof(F.task), "%.63s", task);
    struct ctr c;
    start_ok(&c, "intask", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; cat /proc/self/cgroup", "'cpu':256");
    memcpy(F.task, saved, sizeof(saved));
    wait_exit(&c, 10000);
    cleanup_free char *shares =
        xasprintf(CGROUP_ROOT "/cpu/wharf/%s/intask/cpu.shares", task);
    assert_int_equal(read_ll(shares), 256);
    assert_log_has(&c, "/wharf/");
    assert_int_equal(rt_delete(&F.rt, c.id, NULL), 0);
    if (cgroup_task_remove(task, &err) < 0)
        fail_msg("%s", err.msg);
    cleanup_free char *dir = xasprintf(CGROUP_ROOT "/memory/wharf/%s", task);
    assert_int_equal(access(dir, F_OK), -1);
    cleanup_free char *pids = xasprintf(CGROUP_ROOT "/pids/wharf/%s", task);
    assert_int_equal(access(pids, F_OK), -1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Informational: create+start to running under wharf-shim vs a bare `runc run` of the same bundle. */
static void test_start_latency(void **state)
{
    (void)state;
    need_root();
    enum { N = 15 };
    double ours[N], bare[N], create[N];
    for (int i = 0; i < N; i++) {
        struct ctr c;
        char name[32];
        snprintf(name, sizeof(name), "lat%d", i);
        cleanup_free char *spec = spec_for(name, "sleep 100", NULL);
        snprintf(c.id, sizeof(c.id), "wt%d-%s", (int)getpid(), name);
        snprintf(c.log, sizeof(c.log), "%s/%s.log", F.logs, name);
        struct rt_create_opts o = {.id = c.id, .spec = spec, .log_path = c.log};
        struct wh_err err = {0};
        double t0 = time_monotonic();
        if (rt_create(&F.rt, &o, &c.pid, &err) < 0)
            fail_msg("%s", err.msg);
        create[i] = (time_monotonic() - t0) * 1000;
        if (rt_start(&F.rt, c.id, c.pid, &err) < 0)
            fail_msg("%s", err.msg);
        ours[i] = (time_monotonic() - t0) * 1000;
        rt_stop(&F.rt, c.id, SIGKILL, 0, NULL);
        rt_delete(&F.rt, c.id, NULL);

        /* the same spec, run by runc alone, in the foreground, with `true` */
        json_auto_t *v = json_loads(spec, 0, NULL);
        json_object_set_new(json_object_get(v, "process"), "args", json_pack("[s]", "/bin/true"));
        char bid[64];
        snprintf(bid, sizeof(bid), "wt%d-bare%d", (int)getpid(), i);
        cleanup_free char *bdir = xasprintf("%s/bare%d", F.dir, i);
        fs_mkdir_p(bdir, 0700);
        cleanup_free char *cfg = xasprintf("%s/config.json", bdir);
        cleanup_free char *text = json_dumps(v, JSON_COMPACT);
        write_text(cfg, text);
        cleanup_free char *root = xasprintf("--root=%s/bare-root", F.dir);
        const char *argv[] = {F.rt.runc, root, "run", "--bundle", bdir, bid, NULL};
        static const char *const env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
        struct proc_opts po = {.argv = argv, .envp = env, .timeout_ms = 30000, .extra_fd = -1};
        struct proc_result r;
        t0 = time_monotonic();
        assert_int_equal(proc_run(&po, &r, NULL), 0);
        bare[i] = (time_monotonic() - t0) * 1000;
        if (!proc_ok(&r))
            fail_msg("bare runc run: %s", proc_describe(&r, 30000));
        proc_result_free(&r);
    }
    qsort(ours, N, sizeof(double), cmp_double);
    qsort(create, N, sizeof(double), cmp_double);
    qsort(bare, N, sizeof(double), cmp_double);
    fprintf(stderr,
            "start latency over %d runs: shim+runc create+start → running: median %.1f ms "
            "(min %.1f, max %.1f; of which create under the shim: median %.1f); bare `runc run` "
            "of /bin/true, same spec: median %.1f ms (min %.1f, max %.1f)\n",
            N, ours[N / 2], ours[0], ours[N - 1], create[N / 2], bare[N / 2], bare[0],
            bare[N - 1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_hello),
        cmocka_unit_test(test_fifo_start_agrees_with_runc),
        cmocka_unit_test(test_exit_code),
        cmocka_unit_test(test_output_before_exit),
        cmocka_unit_test(test_shim_killed),
        cmocka_unit_test(test_start_failure_reports_runc_error),
        cmocka_unit_test(test_stop_timeout_kills),
        cmocka_unit_test(test_oom),
        cmocka_unit_test(test_confinement),
        cmocka_unit_test(test_outlives_starter),
        cmocka_unit_test(test_volumes),
        cmocka_unit_test(test_limits_inside),
        cmocka_unit_test(test_task_cgroup),
        cmocka_unit_test(test_start_latency),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
