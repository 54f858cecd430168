#include "agent/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "core/xalloc.h"

#define MIN_QUOTA_US 1000 /* the kernel refuses less */

static bool is_v2_only(void)
{
    return access(CGROUP_ROOT "/cgroup.controllers", F_OK) == 0;
}

long cgroup_cfs_quota(int cpu_units)
{
    if (cpu_units <= 0)
        return -1;
    long q = (long)((int64_t)cpu_units * CGROUP_CFS_PERIOD_US / 1024);
    return q < MIN_QUOTA_US ? MIN_QUOTA_US : q;
}

static int write_file(const char *dir, const char *file, const char *value, struct wh_err *err)
{
    cleanup_free char *path = xasprintf("%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n = -1;
    if (fd >= 0) {
        n = write(fd, value, strlen(value));
        int e = errno;
        close(fd);
        errno = e;
    }
    if (n < 0)
        return wh_err_set(err, 500, "ServerException", "cannot write '%s' to %s: %s", value, path,
                          strerror(errno));
    return 0;
}

static int make_dir(const char *dir, struct wh_err *err)
{
    int r = fs_mkdir_p(dir, 0755);
    if (r < 0)
        return wh_err_set(err, 500, "ServerException", "cannot create cgroup %s: %s", dir,
                          strerror(-r));
    return 0;
}

static int create_v1(const char *task_id, int memory_mib, struct wh_err *err)
{
    cleanup_free char *cpu = xasprintf(CGROUP_ROOT "/cpu/wharf/%s", task_id);
    cleanup_free char *mem = xasprintf(CGROUP_ROOT "/memory/wharf/%s", task_id);
    char buf[64];
    if (make_dir(cpu, err) < 0 || make_dir(mem, err) < 0)
        return -1;
    snprintf(buf, sizeof(buf), "%lld",
             memory_mib > 0 ? (long long)memory_mib * 1024 * 1024 : -1LL);
    return write_file(mem, "memory.limit_in_bytes", buf, err);
}

static int create_v2(const char *task_id, int memory_mib, struct wh_err *err)
{
    cleanup_free char *parent = xstrdup(CGROUP_ROOT "/wharf");
    cleanup_free char *dir = xasprintf(CGROUP_ROOT "/wharf/%s", task_id);
    char buf[64];
    if (make_dir(dir, err) < 0 ||
        write_file(CGROUP_ROOT, "cgroup.subtree_control", "+cpu +memory", err) < 0 ||
        write_file(parent, "cgroup.subtree_control", "+cpu +memory", err) < 0 ||
        write_file(dir, "cgroup.subtree_control", "+cpu +memory", err) < 0)
        return -1;
    if (memory_mib > 0)
        snprintf(buf, sizeof(buf), "%lld", (long long)memory_mib * 1024 * 1024);
    else
        snprintf(buf, sizeof(buf), "max");
    return write_file(dir, "memory.max", buf, err);
}

static bool valid_id(const char *id)
{
    return id && *id && !strchr(id, '/') && strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
}

int cgroup_task_create(const char *task_id, int memory_mib, struct wh_err *err)
{
    if (!valid_id(task_id))
        return wh_err_set(err, 500, "ServerException", "task id '%s' cannot name a cgroup",
                          task_id ? task_id : "");
    return is_v2_only() ? create_v2(task_id, memory_mib, err)
                        : create_v1(task_id, memory_mib, err);
}

int cgroup_task_limit_cpu(const char *task_id, int cpu_units, struct wh_err *err)
{
    if (!valid_id(task_id))
        return wh_err_set(err, 500, "ServerException", "task id '%s' cannot name a cgroup",
                          task_id ? task_id : "");
    long q = cgroup_cfs_quota(cpu_units);
    char buf[64];
    if (is_v2_only()) {
        cleanup_free char *dir = xasprintf(CGROUP_ROOT "/wharf/%s", task_id);
        if (q > 0)
            snprintf(buf, sizeof(buf), "%ld %d", q, CGROUP_CFS_PERIOD_US);
        else
            snprintf(buf, sizeof(buf), "max %d", CGROUP_CFS_PERIOD_US);
        return write_file(dir, "cpu.max", buf, err);
    }
    cleanup_free char *cpu = xasprintf(CGROUP_ROOT "/cpu/wharf/%s", task_id);
    snprintf(buf, sizeof(buf), "%d", CGROUP_CFS_PERIOD_US);
    if (write_file(cpu, "cpu.cfs_period_us", buf, err) < 0)
        return -1;
    snprintf(buf, sizeof(buf), "%ld", q);
    return write_file(cpu, "cpu.cfs_quota_us", buf, err);
}

static int remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_type == DT_DIR && strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            cleanup_free char *sub = xasprintf("%s/%s", dir, de->d_name);
            rmdir(sub);
        }
    closedir(d);
    return rmdir(dir) == 0 || errno == ENOENT ? 0 : -errno;
}

/* The cgroup hierarchies mounted under CGROUP_ROOT, read from /proc/self/mounts once: they do
 * not change while the agent runs, and the mount table grows by a rootfs per container (a
 * read per container start cost the agent more than anything else it did in a burst). */
static pthread_once_t hier_once = PTHREAD_ONCE_INIT;
static char **hier;
static size_t nhier;
static int hier_errno;

static void read_hierarchies(void)
{
    FILE *f = fopen("/proc/self/mounts", "re");
    if (!f) {
        hier_errno = errno;
        return;
    }
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        char dev[256], mnt[512], type[64];
        if (sscanf(line, "%255s %511s %63s", dev, mnt, type) == 3 &&
            (strcmp(type, "cgroup") == 0 || strcmp(type, "cgroup2") == 0) &&
            strncmp(mnt, CGROUP_ROOT, strlen(CGROUP_ROOT)) == 0) {
            hier = xrealloc(hier, (nhier + 1) * sizeof(*hier));
            hier[nhier++] = xstrdup(mnt);
        }
        /* a line longer than the buffer (overlay options) goes on in the next fgets: its
         * tail has no cgroup type in third place */
    }
    fclose(f);
}

/* Call fn(mount point, arg) for every cgroup hierarchy under CGROUP_ROOT; stops at the first
 * error and returns it. */
typedef int (*hierarchy_fn)(const char *mnt, void *arg, struct wh_err *err);
static int each_hierarchy(hierarchy_fn fn, void *arg, struct wh_err *err)
{
    pthread_once(&hier_once, read_hierarchies);
    if (hier_errno)
        return wh_err_set(err, 500, "ServerException", "cannot read /proc/self/mounts: %s",
                          strerror(hier_errno));
    int ret = 0;
    for (size_t i = 0; ret == 0 && i < nhier; i++)
        ret = fn(hier[i], arg, err);
    return ret;
}

struct removal {
    const char *task_id;
    int failed; /* the first failure is reported, after trying every hierarchy */
};

static int remove_in(const char *mnt, void *arg, struct wh_err *err)
{
    struct removal *rm = arg;
    cleanup_free char *dir = xasprintf("%s/wharf/%s", mnt, rm->task_id);
    int r = remove_tree(dir);
    if (r < 0 && !rm->failed)
        rm->failed = wh_err_set(err, 500, "ServerException", "cannot remove cgroup %s: %s", dir,
                                strerror(-r));
    return 0;
}

int cgroup_task_remove(const char *task_id, struct wh_err *err)
{
    if (!valid_id(task_id))
        return wh_err_set(err, 500, "ServerException", "task id '%s' cannot name a cgroup",
                          task_id ? task_id : "");
    /* Every hierarchy: the runtime makes /wharf/TASK in all of them, not only cpu and memory. */
    struct removal rm = {.task_id = task_id};
    if (each_hierarchy(remove_in, &rm, err) < 0)
        return -1;
    return rm.failed;
}

struct move {
    const char *path;
    char pid[16];
    int failed; /* the first failure is reported, after trying every hierarchy */
};

/* A new v1 cpuset cgroup starts with no cpus and mems and refuses processes: give each level
 * of path its parent's. */
static void inherit_cpuset(const char *mnt, const char *path)
{
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    cleanup_free char *parent = xstrdup(mnt);
    for (const char *p = path; *p;) {
        const char *next = strchr(p + 1, '/');
        size_t len = next ? (size_t)(next - path) : strlen(path);
        cleanup_free char *dir = xasprintf("%s%.*s", mnt, (int)len, path);
        for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
            cleanup_free char *mine = xasprintf("%s/%s", dir, files[i]);
            cleanup_free char *theirs = xasprintf("%s/%s", parent, files[i]);
            char *v = NULL, *pv = NULL;
            size_t n;
            if (fs_read_file(mine, 4096, &v, &n) == 0 && strspn(v, " \n") == n &&
                fs_read_file(theirs, 4096, &pv, &n) == 0)
                write_file(dir, files[i], pv, NULL);
            free(v);
            free(pv);
        }
        free(parent);
        parent = TAKE_PTR(dir);
        p = next ? next : path + len;
    }
}

static int move_in(const char *mnt, void *arg, struct wh_err *err)
{
    struct move *m = arg;
    cleanup_free char *dir = xasprintf("%s%s", mnt, m->path);
    cleanup_free char *cpus = xasprintf("%s/cpuset.cpus", mnt);
    if (make_dir(dir, m->failed ? NULL : err) < 0) {
        m->failed = -1;
        return 0;
    }
    if (access(cpus, F_OK) == 0)
        inherit_cpuset(mnt, m->path);
    if (write_file(dir, "cgroup.procs", m->pid, m->failed ? NULL : err) < 0)
        m->failed = -1;
    return 0; /* go on with the other hierarchies */
}

int cgroup_move(const char *path, pid_t pid, struct wh_err *err)
{
    struct move m = {.path = path};
    snprintf(m.pid, sizeof(m.pid), "%d", (int)pid);
    if (each_hierarchy(move_in, &m, err) < 0)
        return -1;
    return m.failed;
}

/* The value of "key N" in a flat keyed cgroup file, or -1. */
static long long keyed_value(const char *path, const char *key)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    char k[64];
    long long v, found = -1;
    while (fscanf(f, "%63s %lld", k, &v) == 2)
        if (strcmp(k, key) == 0)
            found = v;
    fclose(f);
    return found;
}

int cgroup_oom_killed(const char *cgroups_path, bool *ret_killed)
{
    cleanup_free char *path =
        is_v2_only() ? xasprintf(CGROUP_ROOT "%s/memory.events", cgroups_path)
                     : xasprintf(CGROUP_ROOT "/memory%s/memory.oom_control", cgroups_path);
    *ret_killed = keyed_value(path, "oom_kill") > 0;
    return 0;
}
