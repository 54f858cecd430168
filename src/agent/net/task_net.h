/* The agent's side of task networking: what the task runner, the registration and the
 * recovery call (src/agent/net/network.h does the work). Kept here so that the agent's own
 * files only gain one call at each place:
 *
 *   agent_register   task_net_registered(a, containerInstance)   opens networking once, with
 *                                                                 the subnets wharfd carved
 *   setup_task       task_net_setup(t, err)                       the task's network; what to
 *                                                                 report goes to t->rec->network
 *   build_spec       task_net_container(t, i, &netns, &host, err) the namespace to join
 *   setup_cleanup    task_net_teardown(t)
 *   recovery         task_net_gc(a, ids, n)                       leftovers of unknown tasks
 *   exit             task_net_close(a)
 *
 * t->rec->network, persisted with the record, is {"attachments": [AttachmentStateChange with
 * wharf's "details"] (awsvpc), "bindings": [[networkBindings of container 0], …]} and is what
 * report.c sends (docs/agent-protocol.md, "Task networking"). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct agent;
struct task;

/* After a RegisterContainerInstance answer: the first time, open task networking with the
 * attributes wharf.subnet.awsvpc / wharf.subnet.bridge of container_instance, forwarding
 * wharfd's port to the gateways when the endpoint is a loopback address. A failure is logged;
 * tasks that need a network then fail with it as their reason (host and none still work).
 * Later answers with other subnets only warn: the agent keeps what its tasks use until it
 * restarts. */
void task_net_registered(struct agent *a, const json_t *container_instance);
void task_net_close(struct agent *a);

/* Set t's network up (idempotent) and record what to report in t->rec->network. Errors are
 * whole ECS reasons ("ResourceInitializationError: …", "CannotStartContainerError: …"). */
int task_net_setup(struct task *t, struct wh_err *err);
/* Container i's network for its OCI spec: *ret_netns the namespace to join (new string; NULL:
 * a new one, loopback only), *ret_host true when it shares the host's. */
int task_net_container(struct task *t, size_t i, char **ret_netns, bool *ret_host,
                       struct wh_err *err);
/* Remove t's network (an awsvpc one may go back to the warm pool); 0 when nothing of the task
 * is left. */
int task_net_teardown(struct task *t);
/* Whether a task of this definition leaves its network namespace as it found it: no
 * privileged container, no NET_ADMIN (or ALL) added, no net.* systemControls. Pure. */
bool task_net_may_reuse(const json_t *task_def);
/* Remove the networks of tasks other than ids (the agent's records). */
void task_net_gc(struct agent *a, const char *const *ids, size_t n);

/* The port of a loopback endpoint URL ("http://127.0.0.1:4566" → 4566, "http://localhost"
 * → 80), 0 when the host is not a loopback address. Pure. */
uint16_t task_net_loopback_port(const char *url);
