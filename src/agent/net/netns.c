/* Network namespaces: unshare in a throwaway thread, bind its ns file to a path. */
#include "agent/net/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

bool net_ns_exists(const char *path)
{
    struct statfs sf;
    return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == (unsigned long)NSFS_MAGIC;
}

/* In the new namespace: lo up (runc only does it in namespaces it creates itself). */
static int lo_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "lo");
    int r = 0;
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
        r = -errno;
    } else {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
            r = -errno;
    }
    close(s);
    return r;
}

struct job {
    const char *path;
    int err;
    const char *step;
};

/* The thread's namespace dies with the thread unless it is bound first. */
static void *make_ns(void *arg)
{
    struct job *j = arg;
    if (unshare(CLONE_NEWNET) < 0) {
        j->err = errno;
        j->step = "unshare(CLONE_NEWNET)";
        return NULL;
    }
    int r = lo_up();
    if (r < 0) {
        j->err = -r;
        j->step = "bringing lo up";
        return NULL;
    }
    if (mount("/proc/thread-self/ns/net", j->path, NULL, MS_BIND, NULL) < 0) {
        j->err = errno;
        j->step = "bind-mounting the namespace";
    }
    return NULL;
}

int net_ns_create(const char *path, struct wh_err *err)
{
    if (net_ns_exists(path))
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return wh_err_set(err, 500, "ServerException", "network namespace %s: %s", path,
                          strerror(errno));
    close(fd);
    struct job j = {.path = path};
    pthread_t th;
    int r = pthread_create(&th, NULL, make_ns, &j);
    if (r != 0) {
        unlink(path);
        return wh_err_set(err, 500, "ServerException", "network namespace %s: thread: %s", path,
                          strerror(r));
    }
    pthread_join(th, NULL);
    if (j.err) {
        unlink(path);
        return wh_err_set(err, 500, "ServerException", "network namespace %s: %s: %s", path,
                          j.step, strerror(j.err));
    }
    return 0;
}

int net_ns_remove(const char *path)
{
    if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        return -errno;
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

/* ---- sockets inside ---- */

struct count_job {
    const char *path;
    int ret; /* sockets, or -errno */
};

/* Entries of a /proc/net socket table (every line after the header). */
static int table_entries(const char *file)
{
    FILE *f = fopen(file, "re");
    if (!f)
        return errno == ENOENT ? 0 : -errno; /* no IPv6: no tcp6 table */
    char line[512];
    int n = -1;
    while (fgets(line, sizeof(line), f))
        if (strchr(line, '\n'))
            n++;
    fclose(f);
    return n < 0 ? 0 : n;
}

/* A throwaway thread joins the namespace: /proc/thread-self/net is that namespace's. */
static void *count_in_ns(void *arg)
{
    struct count_job *j = arg;
    int fd = open(j->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
        j->ret = -errno;
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    close(fd);
    static const char *const tables[] = {"tcp", "tcp6", "udp", "udp6", "raw", "raw6"};
    j->ret = 0;
    for (size_t i = 0; i < sizeof(tables) / sizeof(*tables) && j->ret >= 0; i++) {
        char file[64];
        snprintf(file, sizeof(file), "/proc/thread-self/net/%s", tables[i]);
        int n = table_entries(file);
        j->ret = n < 0 ? n : j->ret + n;
    }
    return NULL;
}

int net_ns_sockets(const char *path)
{
    struct count_job j = {.path = path};
    pthread_t th;
    int r = pthread_create(&th, NULL, count_in_ns, &j);
    if (r != 0)
        return -r;
    pthread_join(th, NULL);
    return j.ret;
}
