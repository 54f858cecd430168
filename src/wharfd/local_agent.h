/* wharfd's local Fargate capacity: a wharf-agent child process (the binary beside wharfd's own
 * executable) registered as wharf-managed FARGATE capacity (docs/agent-protocol.md), talking
 * to wharfd's own listener with wharfd's credentials, its data in DATA/agent. A supervisor
 * thread restarts it when it dies (1 s doubling to 30 s, reset after a minute of uptime).
 * Stopping sends SIGTERM, waits, then SIGKILL; the agent leaves its containers running, so
 * they survive a wharfd restart as they survive an agent restart. */
#pragma once

#include "core/err.h"

struct local_agent;

struct local_agent_opts {
    const char *agent_path;  /* NULL: "wharf-agent" beside /proc/self/exe */
    const char *endpoint;    /* http://HOST:PORT of wharfd's listener */
    const char *credentials; /* the credentials file to sign with */
    const char *data_dir;    /* the agent's --data-dir */
    const char *region;      /* the region it registers in */
};

int local_agent_start(const struct local_agent_opts *o, struct local_agent **ret,
                      struct wh_err *err);
/* SIGTERM, up to timeout_ms for it to leave, then SIGKILL; frees la (NULL is fine). */
void local_agent_stop(struct local_agent *la, int timeout_ms);

struct wharf_config;
/* Start the local agent for this wharfd (its listener on port, DATA/credentials, DATA/agent,
 * the default region); logs and returns NULL when it cannot. */
struct local_agent *local_agent_start_for(const struct wharf_config *cfg, int port);

/* The endpoint URL an agent on this host uses for a listener on host:port (wildcard
 * addresses become loopback). New string; pure. */
char *local_agent_endpoint(const char *listen_host, int port);
