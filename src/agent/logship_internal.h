/* Shared by logship.c (the API, the thread, records on disk) and logship_ship.c (one
 * container's shipping: reading its file, the calls to wharfd). Not for other modules. */
#pragma once
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/k8s_reader.h"
#include "agent/logship.h"
#include "agent/logship_rules.h"

struct aws_client;

/* One container's log. Everything belongs to the shipper thread (a new watch is set up before
 * the thread sees it) except exit_req and disk, which logship_container_exited also uses. */
struct watch {
    struct logship_rec rec;
    bool exit_req;            /* ls->mu: logship_container_exited was called */
    json_t *disk;             /* ls->mu: the record as last written */
    char *rec_path;           /* its record in the state dir */
    int fd, wd;               /* the log file and its inotify watch; -1 */
    struct k8s_reader *rd;    /* NULL until the file is open and a pending batch resolved */
    struct k8s_event *q;      /* read and not yet acknowledged: q[qhead, qlen) */
    size_t qhead, qlen, qcap, qbytes;
    double first_at;          /* monotonic: when the oldest of them was read */
    size_t inflight;          /* how many at the head of q a pending batch holds */
    bool more;                /* reading stopped because q is full */
    int64_t seq;              /* the stream's sequence value (logship_seq_parse) ... */
    bool seq_known;           /* ... when known: after a PutLogEvents or a DescribeLogStreams */
    bool need_setup;          /* CreateLogGroup / CreateLogStream (again) before shipping */
    double exited_seen;       /* monotonic: when the thread first saw it; 0 */
    bool file_done;           /* the reader has finished the file (exited, read to its end) */
    double retry_at;          /* monotonic: no call to wharfd before (backoff) */
    int failures;
    bool warned_ignored;
    size_t malformed_seen;
    struct watch *next;
};

struct logship {
    char *state_dir, *endpoint, *credentials, *profile, *default_region;
    pthread_mutex_t mu;       /* the lists, clients, exit_req, disk and record writes */
    struct watch *incoming;   /* added by logship_watch, adopted by the thread */
    struct watch *active;     /* the thread's (changed under mu, read by it without) */
    struct client {
        char *region;
        struct aws_client *c;
    } *clients;
    size_t n_clients;
    int wake_fd, ino_fd;
    pthread_t thread;
    bool thread_started;
    volatile int stopping;    /* the clients' abort flag until the final pass */
    volatile int never;       /* stays 0: the abort flag for the final pass */
    char *buf;                /* read buffer (thread) */
};

#define LOGSHIP_FLUSH_S 0.2   /* how long a line may wait for others to share its batch */
#define LOGSHIP_EXIT_GRACE_S 0.5 /* after the exit, the file must stay quiet this long */
#define LOGSHIP_CALL_MS 10000L
#define LOGSHIP_FINAL_CALL_MS 2000L

/* logship.c */
struct aws_client *logship_client(struct logship *ls, const char *region, struct wh_err *err);
/* Rewrite w's record (under ls->mu); 0 or -errno (logged). */
int logship_persist(struct logship *ls, struct watch *w);

/* logship_ship.c */
/* CreateLogGroup (create_group) and CreateLogStream, each "already exists" being fine. -1 with
 * err; err->status 4xx: wharfd refused (retrying will not help). */
int ship_setup(struct logship *ls, const struct logship_conf *conf, long timeout_ms,
               struct wh_err *err);
/* Everything that is due for w: open, read, resolve a pending batch, send. final: the last
 * pass before the thread ends (send what was read, short timeouts). */
void ship_step(struct logship *ls, struct watch *w, double now, bool final);
/* When w next needs the thread (monotonic seconds; 0: nothing planned). */
double ship_next(const struct watch *w, double now);
void ship_watch_free(struct logship *ls, struct watch *w);
