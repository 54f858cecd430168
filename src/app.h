/* What every part of wharfd shares: its configuration and its open resources. */
#pragma once
#include <stdbool.h>

struct store;
struct credentials;
struct registry;

struct wharf_config {
    char *listen_host;
    int listen_port;
    char *data_dir;
    char *region;  /* default region, for requests that carry none */
    char *account; /* 12-digit account id */
    unsigned threads;
    /* The registry: --registry-host, the advertised registry host as a template with {account}
     * and {region} (NULL: the listen address); --create-repository-on-push. */
    char *registry_host;
    bool create_repository_on_push;
    /* Blob garbage collection: every interval seconds (0: off), blobs unreferenced for longer
     * than grace seconds (--registry-gc-interval, --registry-gc-grace). */
    double registry_gc_interval;
    double registry_gc_grace;
    /* --lifecycle-interval: seconds between passes of the ECR lifecycle scheduler; 0 = off. */
    double lifecycle_interval;
    /* --task-subnet-pool: the IPv4 block container instances' task subnets are carved from
     * (src/ecs/instance_subnets.h); NULL: ECS_SUBNET_POOL_DEFAULT. */
    const char *task_subnet_pool;
};

struct wharf_app {
    struct wharf_config cfg;
    struct store *st;
    struct credentials *creds;
    struct registry *registry; /* src/registry/registry.h: blob store, uploads, token key */
};
