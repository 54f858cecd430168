/* wharfd: the ECS + ECR control plane in one daemon. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app.h"
#include "aws/credentials.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "ecr/lifecycle_sched.h"
#include "ecs/service_controller.h"
#include "ecs/instance_subnets.h"
#include "http/metrics.h"
#include "http/server.h"
#include "http/waiters.h"
#include "logs/retention.h"
#include "registry/gc.h"
#include "registry/registry.h"
#include "store/store.h"
#include "wharfd/local_agent.h"
#include "wharfd/routes.h"

#define DEFAULT_LISTEN "127.0.0.1:4566"
#define DEFAULT_ACCOUNT "000000000000"
#define DEFAULT_REGION "us-east-1"
#define DEFAULT_DATA_DIR "./.wharf"

static bool no_local_capacity; /* --no-local-capacity */

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: wharfd [OPTIONS]\n"
            "\n"
            "A self-hosted, AWS-compatible container service: the ECS and ECR APIs on one port.\n"
            "\n"
            "Options:\n"
            "  --listen HOST:PORT   address to serve HTTP on (default " DEFAULT_LISTEN ")\n"
            "  --data-dir DIR       state directory: wharf.db, credentials (default " DEFAULT_DATA_DIR ")\n"
            "  --region R           region for requests whose signature names none\n"
            "                       (default " DEFAULT_REGION "; each request's SigV4 scope wins)\n"
            "  --account-id ID      12-digit account id used in ARNs (default " DEFAULT_ACCOUNT ")\n"
            "  --threads N          HTTP worker threads (default 4)\n"
            "  --log-level LEVEL    debug, info, warn or error (default info)\n"
            "  --registry-host TEMPLATE  registry host shown in repositoryUri, with {account}\n"
            "                       and {region} (e.g. {account}.dkr.ecr.{region}.localhost:4566;\n"
            "                       default: the listen address)\n"
            "  --create-repository-on-push  a push to a repository that does not exist creates\n"
            "                       it (ECR refuses such pushes with NAME_UNKNOWN)\n"
            "  --registry-gc-interval S  collect unreferenced blobs every S seconds\n"
            "                       (default 600; 0 turns collection off)\n"
            "  --registry-gc-grace S     keep unreferenced blobs S seconds (default 3600)\n"
            "  --lifecycle-interval T  how often ECR lifecycle policies are applied: 90s, 15m,\n"
            "                       2h or minutes (default 60; 0 turns it off)\n"
            "  --no-local-capacity  do not start the local agent (wharf-agent beside wharfd,\n"
            "                       data in DIR/agent) that runs FARGATE tasks\n"
            "  --task-subnet-pool CIDR  IPv4 block each container instance gets two /24 task\n"
            "                       subnets from (default 10.213.0.0/16: 128 instances)\n"
            "  -h, --help           show this help and exit\n"
            "  --version            print the version and exit\n"
            "\n"
            "On first start DIR/credentials is created with a random key pair; every profile in\n"
            "that file is accepted, so keys can be provisioned before the first start.\n");
}

static int parse_listen(const char *s, struct wharf_config *cfg)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return -1;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return -1;
    free(cfg->listen_host);
    cfg->listen_host = xstrndup(s, (size_t)(colon - s));
    cfg->listen_port = (int)port;
    return 0;
}

static bool account_ok(const char *s)
{
    if (strlen(s) != 12)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static int parse_args(int argc, char **argv, struct wharf_config *cfg)
{
    enum { OPT_LISTEN = 256, OPT_DATA, OPT_REGION, OPT_ACCOUNT, OPT_THREADS, OPT_LOG, OPT_VERSION,
           OPT_REGISTRY_HOST, OPT_CREATE_ON_PUSH, OPT_LIFECYCLE,
           OPT_GC_INTERVAL, OPT_GC_GRACE, OPT_NO_LOCAL, OPT_SUBNET_POOL };
    static const struct option opts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"data-dir", required_argument, NULL, OPT_DATA},
        {"region", required_argument, NULL, OPT_REGION},
        {"account-id", required_argument, NULL, OPT_ACCOUNT},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"log-level", required_argument, NULL, OPT_LOG},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"registry-host", required_argument, NULL, OPT_REGISTRY_HOST},
        {"create-repository-on-push", no_argument, NULL, OPT_CREATE_ON_PUSH},
        {"registry-gc-interval", required_argument, NULL, OPT_GC_INTERVAL},
        {"registry-gc-grace", required_argument, NULL, OPT_GC_GRACE},
        {"lifecycle-interval", required_argument, NULL, OPT_LIFECYCLE},
        {"no-local-capacity", no_argument, NULL, OPT_NO_LOCAL},
        {"task-subnet-pool", required_argument, NULL, OPT_SUBNET_POOL},
        {NULL, 0, NULL, 0},
    };
    parse_listen(DEFAULT_LISTEN, cfg);
    cfg->data_dir = xstrdup(DEFAULT_DATA_DIR);
    cfg->region = xstrdup(DEFAULT_REGION);
    cfg->account = xstrdup(DEFAULT_ACCOUNT);
    cfg->threads = 4;
    cfg->registry_gc_interval = 600;
    cfg->registry_gc_grace = 3600;
    cfg->lifecycle_interval = ECR_LIFECYCLE_DEFAULT_INTERVAL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_LISTEN:
            if (parse_listen(optarg, cfg) < 0) {
                fprintf(stderr, "wharfd: --listen %s: expected HOST:PORT\n", optarg);
                return 2;
            }
            break;
        case OPT_DATA:
            free(cfg->data_dir);
            cfg->data_dir = xstrdup(optarg);
            break;
        case OPT_REGION:
            free(cfg->region);
            cfg->region = xstrdup(optarg);
            break;
        case OPT_ACCOUNT:
            if (!account_ok(optarg)) {
                fprintf(stderr, "wharfd: --account-id %s: expected 12 digits\n", optarg);
                return 2;
            }
            free(cfg->account);
            cfg->account = xstrdup(optarg);
            break;
        case OPT_REGISTRY_HOST:
            free(cfg->registry_host);
            cfg->registry_host = xstrdup(optarg);
            break;
        case OPT_GC_INTERVAL:
        case OPT_GC_GRACE: {
            char *end;
            double v = strtod(optarg, &end);
            if (*end || !(v >= 0 && v <= 30 * 86400.0)) {
                fprintf(stderr, "wharfd: --%s %s: expected seconds, 0..2592000\n",
                        c == OPT_GC_GRACE ? "registry-gc-grace" : "registry-gc-interval",
                        optarg);
                return 2;
            }
            *(c == OPT_GC_GRACE ? &cfg->registry_gc_grace : &cfg->registry_gc_interval) = v;
            break;
        }
        case OPT_NO_LOCAL:
            no_local_capacity = true;
            break;
        case OPT_SUBNET_POOL: {
            struct wh_err e = {0};
            if (ecs_subnet_pool_check(optarg, &e) < 0) {
                fprintf(stderr, "wharfd: --task-subnet-pool: %s\n", e.msg);
                return 2;
            }
            cfg->task_subnet_pool = optarg;
            break;
        }
        case OPT_CREATE_ON_PUSH:
            cfg->create_repository_on_push = true;
            break;
        case OPT_LIFECYCLE:
            if (ecr_lifecycle_interval_parse(optarg, &cfg->lifecycle_interval) < 0) {
                fprintf(stderr, "wharfd: --lifecycle-interval %s: expected 0, 1s..7d as 90s, "
                                "15m, 2h or minutes\n", optarg);
                return 2;
            }
            break;
        case OPT_THREADS: {
            long n = strtol(optarg, NULL, 10);
            if (n < 1 || n > 256) {
                fprintf(stderr, "wharfd: --threads %s: expected 1..256\n", optarg);
                return 2;
            }
            cfg->threads = (unsigned)n;
            break;
        }
        case OPT_LOG: {
            static const char *const levels[] = {"debug", "info", "warn", "error"};
            size_t i;
            for (i = 0; i < ARRAY_SIZE(levels); i++)
                if (strcmp(optarg, levels[i]) == 0)
                    break;
            if (i == ARRAY_SIZE(levels)) {
                fprintf(stderr, "wharfd: --log-level %s: expected debug, info, warn or error\n",
                        optarg);
                return 2;
            }
            log_set_level((enum log_level)i);
            break;
        }
        case 'h':
            usage(stdout);
            return 1;
        case OPT_VERSION:
            printf("wharfd %s\n", WHARF_VERSION);
            return 1;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wharfd: unexpected argument %s\n", argv[optind]);
        return 2;
    }
    return 0;
}

static void config_free(struct wharf_config *cfg)
{
    free(cfg->listen_host);
    free(cfg->data_dir);
    free(cfg->region);
    free(cfg->account);
    free(cfg->registry_host);
}

static int open_state(struct wharf_app *app)
{
    struct wh_err err = {0};
    int r = fs_mkdir_p(app->cfg.data_dir, 0700);
    if (r < 0) {
        log_error("cannot create data directory %s: %s", app->cfg.data_dir, strerror(-r));
        return -1;
    }
    cleanup_free char *cred_path = xasprintf("%s/credentials", app->cfg.data_dir);
    bool created = false;
    if (credentials_load_or_create(cred_path, &app->creds, &created, &err) < 0) {
        log_error("%s", err.msg);
        return -1;
    }
    cleanup_free char *db_path = xasprintf("%s/wharf.db", app->cfg.data_dir);
    if (store_open(db_path, &app->st, &err) < 0) {
        log_error("%s", err.msg);
        return -1;
    }
    if (registry_open(&app->cfg, &app->registry, &err) < 0) {
        log_error("registry: %s", err.msg);
        return -1;
    }
    printf("wharfd: %s credentials in %s (%u profile%s)\n", created ? "created" : "using",
           cred_path, credentials_count(app->creds), credentials_count(app->creds) == 1 ? "" : "s");
    return 0;
}

int main(int argc, char **argv)
{
    struct wharf_app app = {0};
    int r = parse_args(argc, argv, &app.cfg);
    if (r) {
        config_free(&app.cfg);
        return r == 1 ? 0 : 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Signals are taken synchronously by main; every thread started later inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    struct http_server *srv = NULL;
    struct ecr_lifecycle_sched *lifecycle = NULL;
    struct local_agent *local = NULL;
    struct service_controller *services = NULL;
    if (open_state(&app) < 0)
        goto out;
    struct http_server_config hc = {
        .host = app.cfg.listen_host,
        .port = app.cfg.listen_port,
        .threads = app.cfg.threads,
        .router = wharfd_route,
        .app = &app,
    };
    waiters_start();
    logs_retention_start(app.st, 60);
    if (http_server_start(&hc, &srv) < 0)
        goto out;
    if (registry_gc_start(&app) < 0)
        log_warn("registry: blob garbage collection is off");
    if (service_controller_start(app.st, 5, &services) < 0)
        log_warn("cannot start the service controller; services will not run tasks");
    if (app.cfg.lifecycle_interval > 0 &&
        ecr_lifecycle_sched_start(app.st, app.cfg.lifecycle_interval, &lifecycle) < 0)
        log_warn("cannot start the ECR lifecycle scheduler; lifecycle policies apply on demand only");
    char url[128];
    snprintf(url, sizeof(url), "http://%s:%d", app.cfg.listen_host, http_server_port(srv));
    printf("wharfd: listening on %s (account %s, default region %s)\n", url, app.cfg.account,
           app.cfg.region);
    printf("wharfd: try: AWS_SHARED_CREDENTIALS_FILE=%s/credentials aws --region %s "
           "--endpoint-url %s ecs list-clusters\n",
           app.cfg.data_dir, app.cfg.region, url);

    if (!no_local_capacity)
        local = local_agent_start_for(&app.cfg, http_server_port(srv));

    int sig = 0;
    sigwait(&sigs, &sig);
    log_info("received %s, shutting down", strsignal(sig));
    rc = 0;
out:
    local_agent_stop(local, 10000); /* first: it reports through the server */
    service_controller_stop(services);
    waiters_stop(); /* parked long polls answer before the server stops */
    logs_retention_stop();
    http_server_stop(srv, 10000);
    ecr_lifecycle_sched_stop(lifecycle);
    registry_gc_stop(&app);
    registry_close(app.registry);
    store_close(app.st);
    credentials_free(app.creds);
    metrics_reset();
    config_free(&app.cfg);
    if (rc == 0)
        log_info("stopped cleanly");
    return rc;
}
