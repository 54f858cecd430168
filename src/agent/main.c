/* wharf-agent: runs the tasks wharfd places on this host (the ECS agent's job). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/aws_client.h"
#include "agent/engine.h"
#include "agent/logship.h"
#include "agent/net/task_net.h"
#include "agent/poll.h"
#include "agent/reconcile.h"
#include "agent/report.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/xalloc.h"

#define DEFAULT_DATA_DIR "/var/lib/wharf-agent"
#define DEFAULT_REGION "us-east-1"
#define DEFAULT_GC_INTERVAL 600
#define DEFAULT_GC_MIN_AGE 3600
#define REPORT_WORKERS 4

struct options {
    struct agent_config cfg;
    bool prefer_cached;
    int gc_min_age;
    char *shim;
};

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: wharf-agent --endpoint URL --cluster NAME [OPTIONS]\n"
        "\n"
        "Runs the ECS tasks that wharfd places on this host: registers it as a container\n"
        "instance, long-polls wharfd for the tasks desired on it, runs them with runc under\n"
        "wharf-shim and reports their state. Containers keep running while the agent is stopped\n"
        "or restarted; a restarted agent finds them again.\n"
        "\n"
        "Options:\n"
        "  --endpoint URL          wharfd's address, e.g. http://127.0.0.1:4566 (required;\n"
        "                          plain http only: https:// is refused at startup)\n"
        "  --cluster NAME          cluster to join (default \"default\"; with --capacity\n"
        "                          fargate: " AGENT_FARGATE_CLUSTER ")\n"
        "  --credentials FILE      AWS shared-credentials file to sign with (default\n"
        "                          $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials)\n"
        "  --profile P             profile of that file (default: its first usable one)\n"
        "  --region R              region to sign for (default $AWS_REGION,\n"
        "                          $AWS_DEFAULT_REGION, else " DEFAULT_REGION ")\n"
        "  --data-dir DIR          the agent's state, images, containers and logs (default\n"
        "                          " DEFAULT_DATA_DIR "); one agent per directory\n"
        "  --attribute K=V         a custom attribute of the instance (repeatable)\n"
        "  --availability-zone AZ  ecs.availability-zone (default: REGION + \"a\")\n"
        "  --capacity ec2|fargate  ec2 (default): an instance of --cluster for EC2 tasks;\n"
        "                          fargate: wharf-managed capacity for the FARGATE tasks of\n"
        "                          every cluster (attribute wharf.capacity=FARGATE)\n"
        "  --memory-reserve MiB    memory kept back from tasks (default %d)\n"
        "  --awsvpc-warm N         awsvpc task networks to keep made ahead, so that an awsvpc\n"
        "                          task starts without waiting for the CNI plugins (default:\n"
        "                          2 with --capacity fargate, else 0)\n"
        "  --runtime PATH          the OCI runtime (default: runc from PATH)\n"
        "  --shim PATH             wharf-shim (default: beside this program)\n"
        "  --image-pull-behavior default|prefer-cached\n"
        "                          default asks the registry what a tag means on every\n"
        "                          pull; prefer-cached reuses a tag's image once it is here\n"
        "  --image-cleanup-interval S  seconds between image GC passes (default %d; 0: off)\n"
        "  --image-minimum-age S   images unused for less than this are kept (default %d)\n"
        "  --log-level LEVEL       debug, info, warn or error (default info)\n"
        "  -h, --help              show this help and exit\n"
        "  --version               print the version and exit\n"
        "\n"
        "Images on wharf's own registry are pulled with the token of GetAuthorizationToken;\n"
        "other registries anonymously, or with a container's repositoryCredentials, whose\n"
        "credentialsParameter is looked up in DIR/secrets.json ({\"ARN\": \"{\\\"username\\\":\n"
        "…, \\\"password\\\": …}\"}), the stand-in for Secrets Manager.\n",
        AGENT_DEFAULT_RESERVE_MIB, DEFAULT_GC_INTERVAL, DEFAULT_GC_MIN_AGE);
}

static int parse_int(const char *flag, const char *s, long min, long max, long *ret)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < min || v > max) {
        fprintf(stderr, "wharf-agent: %s %s: expected an integer in %ld..%ld\n", flag, s, min, max);
        return -1;
    }
    *ret = v;
    return 0;
}

static void set(char **field, const char *v)
{
    free(*field);
    *field = xstrdup(v);
}

static int set_log_level(const char *s)
{
    static const char *const levels[] = {"debug", "info", "warn", "error"};
    for (size_t i = 0; i < ARRAY_SIZE(levels); i++)
        if (strcmp(s, levels[i]) == 0) {
            log_set_level((enum log_level)i);
            return 0;
        }
    fprintf(stderr, "wharf-agent: --log-level %s: expected debug, info, warn or error\n", s);
    return -1;
}

enum {
    OPT_ENDPOINT = 256, OPT_CLUSTER, OPT_CREDS, OPT_PROFILE, OPT_REGION, OPT_DATA, OPT_ATTR,
    OPT_AZ, OPT_CAPACITY, OPT_RESERVE, OPT_RUNTIME, OPT_SHIM, OPT_PULL, OPT_GC, OPT_GC_AGE,
    OPT_LOG, OPT_VERSION, OPT_WARM,
};

static const struct option long_opts[] = {
    {"endpoint", required_argument, NULL, OPT_ENDPOINT},
    {"cluster", required_argument, NULL, OPT_CLUSTER},
    {"credentials", required_argument, NULL, OPT_CREDS},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"region", required_argument, NULL, OPT_REGION},
    {"data-dir", required_argument, NULL, OPT_DATA},
    {"attribute", required_argument, NULL, OPT_ATTR},
    {"availability-zone", required_argument, NULL, OPT_AZ},
    {"capacity", required_argument, NULL, OPT_CAPACITY},
    {"memory-reserve", required_argument, NULL, OPT_RESERVE},
    {"runtime", required_argument, NULL, OPT_RUNTIME},
    {"shim", required_argument, NULL, OPT_SHIM},
    {"image-pull-behavior", required_argument, NULL, OPT_PULL},
    {"image-cleanup-interval", required_argument, NULL, OPT_GC},
    {"image-minimum-age", required_argument, NULL, OPT_GC_AGE},
    {"log-level", required_argument, NULL, OPT_LOG},
    {"awsvpc-warm", required_argument, NULL, OPT_WARM},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* One option; 0 to go on, 1 to exit 0 (help, version), 2 on a usage error. */
static int one_option(int c, const char *arg, struct options *o)
{
    struct agent_config *cfg = &o->cfg;
    long v;
    switch (c) {
    case OPT_ENDPOINT: set(&cfg->endpoint, arg); return 0;
    case OPT_CLUSTER: set(&cfg->cluster, arg); return 0;
    case OPT_CREDS: set(&cfg->credentials, arg); return 0;
    case OPT_PROFILE: set(&cfg->profile, arg); return 0;
    case OPT_REGION: set(&cfg->region, arg); return 0;
    case OPT_DATA: set(&cfg->data_dir, arg); return 0;
    case OPT_AZ: set(&cfg->az, arg); return 0;
    case OPT_RUNTIME: set(&cfg->runtime, arg); return 0;
    case OPT_SHIM: set(&o->shim, arg); return 0;
    case OPT_ATTR: {
        struct agent_attr at;
        if (agent_attr_parse(arg, &at) < 0) {
            fprintf(stderr, "wharf-agent: --attribute %s: expected NAME=VALUE\n", arg);
            return 2;
        }
        cfg->attrs = xrealloc(cfg->attrs, (cfg->n_attrs + 1) * sizeof(*cfg->attrs));
        cfg->attrs[cfg->n_attrs++] = at;
        return 0;
    }
    case OPT_CAPACITY:
        if (strcmp(arg, "ec2") == 0 || strcmp(arg, "EC2") == 0)
            cfg->capacity = AGENT_CAPACITY_EC2;
        else if (strcmp(arg, "fargate") == 0 || strcmp(arg, "FARGATE") == 0)
            cfg->capacity = AGENT_CAPACITY_FARGATE;
        else {
            fprintf(stderr, "wharf-agent: --capacity %s: expected ec2 or fargate\n", arg);
            return 2;
        }
        return 0;
    case OPT_RESERVE:
        if (parse_int("--memory-reserve", arg, 0, 1 << 30, &v) < 0)
            return 2;
        cfg->memory_reserve_mib = v;
        return 0;
    case OPT_PULL:
        if (strcmp(arg, "default") != 0 && strcmp(arg, "prefer-cached") != 0) {
            fprintf(stderr, "wharf-agent: --image-pull-behavior %s: expected default or "
                            "prefer-cached\n", arg);
            return 2;
        }
        o->prefer_cached = strcmp(arg, "prefer-cached") == 0;
        return 0;
    case OPT_GC:
        if (parse_int("--image-cleanup-interval", arg, 0, 86400 * 30, &v) < 0)
            return 2;
        cfg->gc_interval_s = (int)v;
        return 0;
    case OPT_WARM:
        if (parse_int("--awsvpc-warm", arg, 0, 32, &v) < 0)
            return 2;
        cfg->awsvpc_warm = (int)v;
        return 0;
    case OPT_GC_AGE:
        if (parse_int("--image-minimum-age", arg, 0, 86400 * 365, &v) < 0)
            return 2;
        o->gc_min_age = (int)v;
        return 0;
    case OPT_LOG:
        return set_log_level(arg) < 0 ? 2 : 0;
    case 'h':
        usage(stdout);
        return 1;
    case OPT_VERSION:
        printf("wharf-agent %s\n", AGENT_VERSION);
        return 1;
    default:
        usage(stderr);
        return 2;
    }
}

static char *default_credentials(void)
{
    const char *env = getenv("AWS_SHARED_CREDENTIALS_FILE");
    if (env && *env)
        return xstrdup(env);
    const char *home = getenv("HOME");
    return xasprintf("%s/.aws/credentials", home ? home : "/root");
}

static char *default_region(void)
{
    const char *r = getenv("AWS_REGION");
    if (!r || !*r)
        r = getenv("AWS_DEFAULT_REGION");
    return xstrdup(r && *r ? r : DEFAULT_REGION);
}

/* Fill defaults and check what is required; 0 or 2. */
static int finish_options(struct options *o)
{
    struct agent_config *cfg = &o->cfg;
    if (!cfg->endpoint) {
        fprintf(stderr, "wharf-agent: --endpoint URL is required (wharfd's address)\n");
        return 2;
    }
    if (cfg->awsvpc_warm < 0)
        cfg->awsvpc_warm = cfg->capacity == AGENT_CAPACITY_FARGATE ? 2 : 0;
    if (!cfg->cluster)
        cfg->cluster = xstrdup(cfg->capacity == AGENT_CAPACITY_FARGATE ? AGENT_FARGATE_CLUSTER
                                                                       : "default");
    if (!cfg->credentials)
        cfg->credentials = default_credentials();
    if (!cfg->region)
        cfg->region = default_region();
    const char *dir = cfg->data_dir ? cfg->data_dir : DEFAULT_DATA_DIR;
    int r = fs_mkdir_p(dir, 0700);
    char real[PATH_MAX];
    if (r < 0 || !realpath(dir, real)) {
        fprintf(stderr, "wharf-agent: --data-dir %s: %s\n", dir, strerror(r < 0 ? -r : errno));
        return 2;
    }
    set(&cfg->data_dir, real);
    return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
    o->cfg.memory_reserve_mib = AGENT_DEFAULT_RESERVE_MIB;
    o->cfg.awsvpc_warm = -1;
    o->cfg.gc_interval_s = DEFAULT_GC_INTERVAL;
    o->gc_min_age = DEFAULT_GC_MIN_AGE;
    int c;
    while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        int r = one_option(c, optarg, o);
        if (r)
            return r;
    }
    if (optind < argc) {
        fprintf(stderr, "wharf-agent: unexpected argument %s\n", argv[optind]);
        return 2;
    }
    return finish_options(o);
}

/* One agent per data dir: a second one would fight the first over the same containers. */
static int lock_data_dir(const char *dir)
{
    cleanup_free char *path = xasprintf("%s/agent.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
        log_error("%s: %s", path,
                  fd >= 0 && errno == EWOULDBLOCK ? "another wharf-agent uses this data dir"
                                                  : strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd; /* held until exit */
}

struct signal_arg {
    struct agent *a;
    sigset_t set;
};

static void *signal_thread(void *arg)
{
    struct signal_arg *s = arg;
    int sig = 0;
    sigwait(&s->set, &sig);
    log_info("received %s: leaving (containers keep running)", strsignal(sig));
    agent_request_stop(s->a);
    return NULL;
}

struct gc_arg {
    struct agent *a;
    int min_age;
};

static void *gc_thread(void *arg)
{
    struct gc_arg *g = arg;
    struct agent *a = g->a;
    for (;;) {
        agent_sleep(a, a->cfg.gc_interval_s);
        if (a->stopping)
            break;
        size_t n;
        char **in_use = reconciler_images_in_use(a->rec, &n);
        engine_gc(a->engine, (const char *const *)in_use, n, g->min_age);
        for (size_t i = 0; i < n; i++)
            free(in_use[i]);
        free(in_use);
    }
    return NULL;
}

/* Everything between parsing and leaving; returns the exit code. */
static int run(struct options *o, struct agent *a)
{
    struct wh_err err = {0};
    if (aws_client_new(a->cfg.endpoint, a->cfg.region, a->cfg.credentials, a->cfg.profile,
                       &a->aws, &err) < 0) {
        log_error("%s", err.msg);
        return 1;
    }
    aws_client_set_abort(a->aws, &a->stopping);
    struct engine_opts eo = {.data_dir = a->cfg.data_dir, .runc = a->cfg.runtime,
                             .shim = o->shim, .prefer_cached = o->prefer_cached};
    if (engine_open(&eo, a->aws, &a->engine, &err) < 0) {
        log_error("%s", err.msg);
        return 1;
    }
    if (agent_register(a, &err) < 0) {
        if (a->stopping)
            return 0;
        log_error("%s", err.msg);
        return 1;
    }
    if (reporter_start(a, REPORT_WORKERS, &a->rep) < 0 || reconciler_new(a, &a->rec) < 0) {
        log_error("cannot start the reporter");
        return 1;
    }
    cleanup_free char *logship_dir = xasprintf("%s/logship", a->cfg.data_dir);
    struct logship_opts lo = {.state_dir = logship_dir, .endpoint = a->cfg.endpoint,
                              .credentials = a->cfg.credentials, .profile = a->cfg.profile,
                              .default_region = a->cfg.region};
    if (logship_start(&lo, &a->logship, &err) < 0) { /* before recovery: it reports exits */
        log_error("%s", err.msg);
        return 1;
    }
    if (reconciler_recover(a->rec, &err) < 0)
        log_error("recovering tasks: %s", err.msg);
    pthread_t gc;
    struct gc_arg ga = {a, o->gc_min_age};
    bool gc_on = a->cfg.gc_interval_s > 0 && pthread_create(&gc, NULL, gc_thread, &ga) == 0;
    log_info("polling %s for the tasks of %s", a->cfg.endpoint, a->instance_arn);
    poll_loop(a);
    reconciler_free(a->rec);
    a->rec = NULL;
    reporter_stop(a->rep);
    a->rep = NULL;
    if (gc_on)
        pthread_join(gc, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    struct options o = {0};
    int r = parse_args(argc, argv, &o);
    if (r) {
        agent_config_free(&o.cfg);
        free(o.shim);
        return r == 1 ? 0 : 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct agent a = {.cfg = o.cfg, .stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
    int lock = lock_data_dir(a.cfg.data_dir);
    int rc = 1;
    if (lock >= 0 && a.stop_fd >= 0) {
        struct signal_arg sa = {.a = &a, .set = sigs};
        pthread_t st;
        pthread_create(&st, NULL, signal_thread, &sa);
        pthread_detach(st);
        rc = run(&o, &a);
    }
    logship_stop(a.logship); /* after the runners: they report exits to it */
    task_net_close(&a);
    engine_close(a.engine);
    aws_client_free(a.aws);
    free(a.instance_arn);
    free(a.instance_id);
    free(a.cluster_arn);
    agent_config_free(&a.cfg);
    free(o.shim);
    if (lock >= 0)
        close(lock);
    if (rc == 0)
        log_info("stopped");
    return rc;
}
