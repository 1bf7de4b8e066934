/*
 * sync.h - offline work's glue in the store (internal, floor 2).
 *
 * Two sides share the engine's commit, each through the hooks it sets on
 * the engine (core.h, struct hv_sync_side), since they stand on the floors
 * above the store:
 * - a laptop copy (outbox.c) appends the engine call in progress to its
 *   outbox in the same transaction as the change it made (e->outbox);
 * - a server replaying a device's change (syncserver.c) writes the
 *   change's receipt in the same transaction as the replayed change
 *   (e->replay), and runs it at the laptop's original time (e->replay_at,
 *   which hv_now returns while it is set).
 * So a change and its outbox entry, or a replayed change and its receipt,
 * are committed together or not at all: a sync killed at any point is
 * resumed by the next without applying a change twice or losing one.
 */
#ifndef HV_SYNC_H
#define HV_SYNC_H

#include "core.h"

/* Called by hv__store_commit before the COMMIT of every change: the
 * sides' precommit hooks, when set.  A failure rolls the change back. */
hv_status hv__sync_precommit(hv_engine *e);
/* Called by hv_engine_close: the sides' release hooks. */
void hv__sync_release(hv_engine *e);

/* Fault injection for the tests of interrupted syncs: when the
 * environment's HAVEN_FAULT names point (e.g. "serve:after-entry"), the
 * process is killed there with SIGKILL, as a power cut would.  Documented
 * in README, "Offline work"; never set in production. */
void hv__fault(const char *point);

#endif
