/*
 * sealcheck.h - sealed values bound to their rows (internal, floor 3):
 * which columns hold sealed values, the one-time binding of values sealed
 * before binding existed, and the sweep that `audit verify` runs.
 *
 * Every sealed value's associated data names its table, column and row id
 * (crypto.h).  A database sealed before that (values "HV1", bound to a
 * constant) is bound once, the first time an engine with the data key
 * opens it: every such value is opened and sealed again for its place, in
 * one transaction, and the meta row seal_binding records it.  From then on
 * a value in the old format is refused, so one planted from an old copy
 * cannot dodge the binding.
 */
#ifndef HV_SEALCHECK_H
#define HV_SEALCHECK_H

#include "haven.h"

/* Binds the legacy sealed values of e's database to their places, once:
 * does nothing without the data key or when meta.seal_binding is there.
 * When the database already holds bound values (it was bound before and
 * the meta row is gone, or its sealing was migrated bound), no value is
 * re-sealed: an old-format value there was planted and stays refused.
 * HV_BUSY when another process holds the write lock; other failures as
 * the store reports them. */
hv_status hv__seals_bind(hv_engine *e);

/* Tries to open every sealed value (with the key; without it, checks that
 * each is in the bound format).  HV_OK when all open; else HV_INVALID with
 * one line naming each value that does not (table.column, row id, the
 * case's reference; never a value), the first 10 of them. */
hv_status hv__seals_check(hv_engine *e);

/* The same sweep on a thread of its own, beside the chain's walk: started
 * on a reading connection of its own to the SQLite file (one snapshot; e's
 * key, which it only reads); NULL when it cannot be (a PostgreSQL store, no
 * thread, no connection).  hv__seals_check_end waits for it and, when
 * wanted, reports as hv__seals_check (with job NULL, runs it here); a sweep
 * the thread could not finish (busy, out of memory) runs again here. */
typedef struct hv_seal_job hv_seal_job;
hv_seal_job *hv__seals_check_start(hv_engine *e);
hv_status hv__seals_check_end(hv_engine *e, hv_seal_job *job, int wanted);

#endif
