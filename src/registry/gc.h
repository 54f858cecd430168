/* Garbage collection of the blob store.
 *
 * A blob goes when no manifest references it and neither its commit nor any repository's link
 * to it is younger than the grace period. Pushes are safe against a concurrent collection:
 * an upload's commit refreshes the link (and holds the GC lock shared around "file in place,
 * row written"); a HEAD/GET of an unreferenced blob refreshes its link too, so a client that
 * saw "exists" and skips the upload still finds it when its manifest arrives; and the
 * collector re-checks the condition in the transaction that forgets the row, then removes the
 * file under the GC lock held exclusive. Also: files with no row (a crash between rename and
 * commit) older than the grace period, and upload sessions untouched for a day. */
#pragma once
#include <stddef.h>

#include "core/err.h"

struct wharf_app;

struct registry_gc_stats {
    size_t blobs_removed;
    size_t orphans_removed;
    size_t uploads_reaped;
};

/* One collection at now with the given grace period (seconds). */
int registry_gc_run(struct wharf_app *app, double now, double grace,
                    struct registry_gc_stats *ret, struct wh_err *err);
/* A thread collecting every cfg.registry_gc_interval seconds (0: never). */
int registry_gc_start(struct wharf_app *app);
void registry_gc_stop(struct wharf_app *app);
