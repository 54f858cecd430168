/* wharf-agent: the ECS agent's job on one host. It registers the host as a container instance
 * (RegisterContainerInstance), long-polls wharfd for the tasks desired on it (poll.c), runs
 * them (reconcile.c, task_runner.c) and reports what happens (report.c). Its own state lives
 * in DATA (instance.json, tasks/, images/) so that a restart finds everything again.
 *
 * This header holds the configuration, the shared agent object and registration. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define AGENT_VERSION "0.1.0"
#define AGENT_FARGATE_CLUSTER "wharf-fargate"
#define AGENT_DEFAULT_RESERVE_MIB 256

struct aws_client;
struct engine;
struct reconciler;
struct reporter;
struct task_net;
struct logship;

enum agent_capacity { AGENT_CAPACITY_EC2, AGENT_CAPACITY_FARGATE };

struct agent_attr {
    char *name, *value;
};

struct agent_config {
    char *endpoint;      /* http://HOST:PORT of wharfd */
    char *cluster;       /* cluster name or ARN */
    char *credentials;   /* AWS shared-credentials file */
    char *profile;       /* NULL: the file's first usable profile */
    char *region;
    char *data_dir;      /* absolute */
    char *az;            /* ecs.availability-zone; NULL: REGION + "a" */
    enum agent_capacity capacity;
    int64_t memory_reserve_mib;
    struct agent_attr *attrs; /* --attribute k=v, in order */
    size_t n_attrs;
    char *runtime;       /* "runc" (default) or a path; passed to the engine */
    int gc_interval_s;   /* image GC period; 0: off */
    int awsvpc_warm;     /* awsvpc networks made ahead (net_config.awsvpc_warm); -1: default */
};

void agent_config_free(struct agent_config *c);
/* "k=v" → attr; -1 when there is no '=' or the name is empty. */
int agent_attr_parse(const char *s, struct agent_attr *ret);

/* The host facts registration reports. agent_host_probe() reads them (sysconf, uname,
 * /proc/meminfo, the memory cgroup limit); the rest is pure. */
struct agent_host {
    int64_t cpus;       /* online CPUs */
    int64_t memory_mib; /* min(MemTotal, this process's memory cgroup limit) */
    char arch[16];      /* ECS spelling: "x86_64", "arm64" */
};
void agent_host_probe(struct agent_host *ret);

/* totalResources: CPU (cpus × 1024), MEMORY (MiB less reserve, at least 0), PORTS (the ports
 * ECS reserves: 22, 2375, 2376, 51678, 51679), PORTS_UDP (none). */
json_t *agent_resources_json(const struct agent_host *h, int64_t reserve_mib);
/* attributes: ecs.os-type, ecs.os-family, ecs.cpu-architecture, ecs.availability-zone, the
 * capabilities this agent really implements, wharf.capacity=FARGATE for Fargate capacity,
 * then the --attribute ones (a later one replaces an earlier of the same name). */
json_t *agent_attributes_json(const struct agent_config *c, const struct agent_host *h);
/* The RegisterContainerInstance request (instance_arn NULL: a first registration). */
json_t *agent_register_request(const struct agent_config *c, const struct agent_host *h,
                               const char *instance_arn, const char *instance_id);

/* A new EC2-style instance id "i-" + 17 hex digits. */
void agent_new_instance_id(char out[20]);

struct agent {
    struct agent_config cfg;
    struct aws_client *aws;
    struct engine *engine;
    struct reconciler *rec;
    struct reporter *rep;
    struct task_net *net;    /* task networking (net/task_net.h), once registered */
    struct logship *logship; /* the awslogs driver (logship.h) */
    char *instance_arn;   /* after registration */
    char *instance_id;
    char *cluster_arn;    /* the containerInstance's cluster as wharfd answered, else cfg */
    volatile int stopping; /* set by agent_request_stop: leave the loops, keep containers */
    int stop_fd;           /* eventfd, readable once stopping */
};

/* Leave (signal thread): sets stopping and wakes agent_sleep. */
void agent_request_stop(struct agent *a);
/* Sleep s seconds or until the agent is told to stop. */
void agent_sleep(struct agent *a, double s);

/* Register (or re-register with the ARN persisted in DATA/instance.json). Transport errors
 * and 5xx are retried with backoff until it works or a->stopping; a 4xx on re-registration
 * with a known ARN falls back to a fresh registration. */
int agent_register(struct agent *a, struct wh_err *err);
