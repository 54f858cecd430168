/* What layer_store.c (records, refs, GC: no libarchive) shares with layer_fetch.c (fetch and
 * unpack a layer: only the pull helper links it). Not for other modules. */
#pragma once
#include <jansson.h>
#include <pthread.h>

#include "agent/flight.h"
#include "agent/layer_store.h"

#define PULL_ERR "CannotPullContainerError"

struct layer_store {
    char *dir;
    struct unpack_opts unpack;
    bool no_sync;
    struct flight_group layers; /* in-flight unpacks in this process, keyed by layer id */
    pthread_mutex_t mu;         /* stats */
    struct layer_store_stats stats;
};

/* A CannotPullContainerError "cannot <what> <path>: <strerror(e)>"; returns -1. */
int ls_io_err(struct wh_err *err, const char *what, const char *path, int e);
/* The short id of a digest (its first LAYER_ID_LEN hex digits). */
void ls_layer_id(const char *digest, char out[LAYER_ID_LEN + 1]);
/* 1: the layer is complete; 0: it is not; -1: its id is taken by another digest. */
int ls_layer_state(struct layer_store *ls, const char *id, const char *digest,
                   struct wh_err *err);
/* Write a JSON file atomically (mode 0600); negative errno on failure. */
int ls_write_json(const char *path, json_t *j);
