#include "agent/seccomp_default.h"

#include <stdbool.h>
#include <string.h>

#include "agent/caps.h"
#include "core/xalloc.h"

/* Allowed for every container on every architecture. */
static const char *const base_allow[] = {
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset",
    "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres",
    "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat",
    "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
    "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
    "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64",
    "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchown",
    "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock",
    "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64",
    "fsync", "ftruncate", "ftruncate64", "futex", "futex_time64", "futex_waitv", "futimesat",
    "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid",
    "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername",
    "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
    "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage",
    "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday",
    "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
    "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents",
    "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit",
    "io_uring_enter", "io_uring_register", "io_uring_setup", "ipc", "kill",
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
    "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek",
    "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "membarrier",
    "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock",
    "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
    "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
    "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
    "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect",
    "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
    "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
    "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
    "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
    "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
    "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall",
    "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
    "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
    "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp",
    "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
    "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32",
    "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer",
    "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32",
    "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list",
    "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32",
    "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
    "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat",
    "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range",
    "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
    "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
    "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
    "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
    "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
    "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
    "writev",
    /* Docker gates these on kernel >= 4.8 (where seccomp can no longer be bypassed through
     * ptrace); every kernel runc supports today is newer. */
    "process_vm_readv", "process_vm_writev", "ptrace",
};

enum arch_bit {
    A_AMD64 = 1 << 0, A_X32 = 1 << 1, A_X86 = 1 << 2, A_ARM = 1 << 3, A_ARM64 = 1 << 4,
    A_S390 = 1 << 5, A_S390X = 1 << 6, A_PPC64LE = 1 << 7, A_RISCV64 = 1 << 8,
};

struct sc_arg {
    unsigned index;
    uint64_t value, value_two;
    const char *op; /* NULL: no argument condition */
};

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Resolved at run time because caps_from_name is not a constant expression. */
static int rule_cap(const char *name)
{
    return name ? caps_from_name(name) : -1;
}

/* A conditional rule: applies when the container has cap_in (if set) and lacks cap_out (if
 * set), and the architecture is in arch_in (if set) and not in arch_out. */
struct sc_rule_src {
    const char *const *names;
    const char *cap_in, *cap_out;
    unsigned arch_in, arch_out;
    struct sc_arg arg;
    int errno_ret;
};

/* CLONE_NEWNS|CLONE_NEWCGROUP|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET:
 * without CAP_SYS_ADMIN, clone may not create namespaces. */
#define CLONE_NS_FLAGS UINT64_C(2114060288)

static const struct sc_rule_src rules[] = {
    {NAMES("socket"), .arg = {0, 40 /* AF_VSOCK */, 0, "SCMP_CMP_NE"}},
    {NAMES("personality"), .arg = {0, 0x0, 0, "SCMP_CMP_EQ"}},
    {NAMES("personality"), .arg = {0, 0x8, 0, "SCMP_CMP_EQ"}},
    {NAMES("personality"), .arg = {0, 0x20000, 0, "SCMP_CMP_EQ"}},
    {NAMES("personality"), .arg = {0, 0x20008, 0, "SCMP_CMP_EQ"}},
    {NAMES("personality"), .arg = {0, 0xffffffff, 0, "SCMP_CMP_EQ"}},
    {NAMES("sync_file_range2", "swapcontext"), .arch_in = A_PPC64LE},
    {NAMES("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint",
           "cacheflush", "set_tls"),
     .arch_in = A_ARM | A_ARM64},
    {NAMES("arch_prctl"), .arch_in = A_AMD64 | A_X32},
    {NAMES("modify_ldt"), .arch_in = A_AMD64 | A_X32 | A_X86},
    {NAMES("s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"),
     .arch_in = A_S390 | A_S390X},
    {NAMES("riscv_flush_icache"), .arch_in = A_RISCV64},
    {NAMES("open_by_handle_at"), .cap_in = "DAC_READ_SEARCH"},
    {NAMES("bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
           "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree",
           "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns",
           "syslog", "umount", "umount2", "unshare"),
     .cap_in = "SYS_ADMIN"},
    {NAMES("clone"), .cap_out = "SYS_ADMIN", .arch_out = A_S390 | A_S390X,
     .arg = {0, CLONE_NS_FLAGS, 0, "SCMP_CMP_MASKED_EQ"}},
    /* s390 passes clone's flags second. */
    {NAMES("clone"), .cap_out = "SYS_ADMIN", .arch_in = A_S390 | A_S390X,
     .arg = {1, CLONE_NS_FLAGS, 0, "SCMP_CMP_MASKED_EQ"}},
    {NAMES("clone3"), .cap_out = "SYS_ADMIN", .errno_ret = 38 /* ENOSYS */},
    {NAMES("reboot"), .cap_in = "SYS_BOOT"},
    {NAMES("chroot"), .cap_in = "SYS_CHROOT"},
    {NAMES("delete_module", "init_module", "finit_module"), .cap_in = "SYS_MODULE"},
    {NAMES("acct"), .cap_in = "SYS_PACCT"},
    {NAMES("kcmp", "pidfd_getfd", "process_madvise"), .cap_in = "SYS_PTRACE"},
    {NAMES("iopl", "ioperm"), .cap_in = "SYS_RAWIO"},
    {NAMES("settimeofday", "stime", "clock_settime", "clock_settime64"), .cap_in = "SYS_TIME"},
    {NAMES("vhangup"), .cap_in = "SYS_TTY_CONFIG"},
    {NAMES("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"),
     .cap_in = "SYS_NICE"},
    {NAMES("syslog"), .cap_in = "SYSLOG"},
    {NAMES("bpf"), .cap_in = "BPF"},
    {NAMES("perf_event_open"), .cap_in = "PERFMON"},
};

struct arch_info {
    const char *go;
    unsigned bit;
    const char *const *scmp; /* native first, then the sub-architectures */
};

static const struct arch_info arches[] = {
    {"amd64", A_AMD64, NAMES("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32")},
    {"arm64", A_ARM64, NAMES("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM")},
    {"386", A_X86, NAMES("SCMP_ARCH_X86")},
    {"arm", A_ARM, NAMES("SCMP_ARCH_ARM")},
    {"s390x", A_S390X, NAMES("SCMP_ARCH_S390X", "SCMP_ARCH_S390")},
    {"ppc64le", A_PPC64LE, NAMES("SCMP_ARCH_PPC64LE")},
    {"riscv64", A_RISCV64, NAMES("SCMP_ARCH_RISCV64")},
};

static const char *host_arch(void)
{
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__i386__)
    return "386";
#elif defined(__arm__)
    return "arm";
#elif defined(__s390x__)
    return "s390x";
#elif defined(__powerpc64__)
    return "ppc64le";
#elif defined(__riscv)
    return "riscv64";
#else
    return "";
#endif
}

static json_t *names_json(const char *const *names)
{
    json_t *a = json_array();
    for (; *names; names++)
        json_array_append_new(a, json_string(*names));
    return a;
}

static bool applies(const struct sc_rule_src *r, uint64_t caps, unsigned arch)
{
    int in = rule_cap(r->cap_in), out = rule_cap(r->cap_out);
    if (in >= 0 && !(caps & (UINT64_C(1) << in)))
        return false;
    if (out >= 0 && (caps & (UINT64_C(1) << out)))
        return false;
    if (r->arch_in && !(r->arch_in & arch))
        return false;
    return !(r->arch_out & arch);
}

static json_t *rule_json(const struct sc_rule_src *r)
{
    json_t *o = json_pack("{s:o}", "names", names_json(r->names));
    if (r->errno_ret > 0) {
        json_object_set_new(o, "action", json_string("SCMP_ACT_ERRNO"));
        json_object_set_new(o, "errnoRet", json_integer(r->errno_ret));
    } else {
        json_object_set_new(o, "action", json_string("SCMP_ACT_ALLOW"));
    }
    if (r->arg.op)
        json_object_set_new(o, "args",
                            json_pack("[{s:I,s:I,s:I,s:s}]", "index", (json_int_t)r->arg.index,
                                      "value", (json_int_t)r->arg.value, "valueTwo",
                                      (json_int_t)r->arg.value_two, "op", r->arg.op));
    return o;
}

json_t *seccomp_default_profile(uint64_t caps, const char *arch, bool no_x32)
{
    if (!arch)
        arch = host_arch();
    const struct arch_info *ai = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(arches); i++)
        if (strcmp(arches[i].go, arch) == 0)
            ai = &arches[i];
    json_t *prof = json_pack("{s:s,s:i}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet", 1);
    if (ai) {
        json_t *archs = names_json(ai->scmp);
        for (size_t i = json_array_size(archs); no_x32 && i-- > 0;)
            if (strcmp(json_string_value(json_array_get(archs, i)), "SCMP_ARCH_X32") == 0)
                json_array_remove(archs, i);
        json_object_set_new(prof, "architectures", archs);
    }
    json_t *sys = json_array();
    json_t *base = json_array();
    for (size_t i = 0; i < ARRAY_SIZE(base_allow); i++)
        json_array_append_new(base, json_string(base_allow[i]));
    json_array_append_new(sys, json_pack("{s:o,s:s}", "names", base, "action", "SCMP_ACT_ALLOW"));
    unsigned abit = ai ? ai->bit : 0;
    for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
        if (applies(&rules[i], caps, abit))
            json_array_append_new(sys, rule_json(&rules[i]));
    json_object_set_new(prof, "syscalls", sys);
    return prof;
}
