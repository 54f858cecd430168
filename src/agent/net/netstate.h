/* The record of a task's network, DATA/net/tasks/<task id>.json (internal to src/agent/net):
 *
 *   {"taskId": ID, "mode": "awsvpc", "complete": false | true,
 *    "containers": N,
 *    "attachments": [{"id": ATTACHMENT ID, "container": -1 (the task's) | index,
 *                     "network": NAME, "netns": PATH, "ifname": "eth0", "subnet": CIDR,
 *                     "conflist": {...as run...}, "result": {...ADD's...}}],
 *    "bindings": [{"container": i, "containerPort": 80, "hostPort": 49153,
 *                  "protocol": "tcp"}]}
 *
 * written (atomically) before the plugins run, with "complete" false and no results, and again
 * once every attachment has its result. The conversion to struct net_task_net is pure. */
#pragma once
#include <jansson.h>

#include "agent/net/network.h"
#include "core/err.h"

/* 0, -ENOENT, or -errno / -EINVAL (damaged). */
int netstate_load(const char *dir, const char *task_id, json_t **ret_doc);
int netstate_save(const char *dir, const char *task_id, const json_t *doc);
/* 0 also when it is not there. */
int netstate_remove(const char *dir, const char *task_id);
/* Task ids of the records in dir (NULL-terminated heap array; free with netstate_ids_free). */
int netstate_list(const char *dir, char ***ret_ids, size_t *ret_n);
void netstate_ids_free(char **ids);

/* The network a record describes. -1 (err) when a complete record lacks what it needs. */
int netstate_to_net(const json_t *doc, struct net_task_net *ret, struct wh_err *err);
