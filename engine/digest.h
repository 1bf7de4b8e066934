/*
 * digest.h - a keyed digest of a case's rows (internal, floor 2).
 *
 * Each event of a case records the digest of the case's rows after the
 * change (events.c); `audit verify --deep` (audit.c) recomputes it.  The
 * digest covers the case's row in `cases` and every row of every table
 * with a case_id column (but events), found in the schema: the raw stored
 * values, ciphertexts included, each non-NULL column by name (so a column
 * a later migration adds, NULL in old rows, changes no digest), the rows
 * of each table in a fixed order.  Keyed with the chain key: whoever
 * holds only the database file cannot recompute it after an edit.
 */
#ifndef HV_DIGEST_H
#define HV_DIGEST_H

#include <sodium.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "haven.h"

#define HV_DIGEST_BYTES 32

/* The digest of case_id's rows into out (a case with no rows at all has
 * a digest too), version 2: a table without a row of the case feeds
 * nothing, so a table a later migration adds changes no digest (version
 * 1, written by the first databases with digests, fed every table's name
 * and number of rows).  Needs e->chain_key (HV_DENIED without).  Reads
 * only. */
hv_status hv__case_digest(hv_engine *e, int64_t case_id,
                          unsigned char out[HV_DIGEST_BYTES]);

/* The same digest of a case made in the current transaction, reading only
 * `cases` and the tables in written (a NULL-ended list of table names):
 * every other table holds no row of a new case (their case_id refers to
 * cases, and the id is new), and in version 2 a table without a row of
 * the case feeds nothing, so the result is hv__case_digest's.  A row of
 * the new case planted in another table outside Haven (foreign keys off)
 * is left out, so `audit verify --deep`, which reads every table, reports
 * the case.  Needs e->chain_key.  Reads only. */
hv_status hv__case_digest_new(hv_engine *e, int64_t case_id,
                              const char *const *written,
                              unsigned char out[HV_DIGEST_BYTES]);

/* *match 1 when case_id's rows digest as want, in version 2 or (an event
 * written before it) version 1; else 0.  Needs e->chain_key.  Reads only. */
hv_status hv__case_digest_matches(hv_engine *e, int64_t case_id,
                                  const unsigned char want[HV_DIGEST_BYTES],
                                  int *match);

/* What case_id's last event recorded: *last HV_LAST_DIGEST (its digest
 * into out), HV_LAST_UNDIGESTED (an event from before the digests) or
 * HV_LAST_NONE (the case has no event).  Reads only. */
enum { HV_LAST_NONE, HV_LAST_UNDIGESTED, HV_LAST_DIGEST };
hv_status hv__case_last_digest(hv_engine *e, int64_t case_id,
                               unsigned char out[HV_DIGEST_BYTES], int *last);

/* How a message names a case whose rows do not digest as recorded: ref
 * when hv__echo_safe allows it, else "case #ID", into buf. */
void hv__case_name(const char *ref, int64_t case_id, char *buf, size_t size);

/* HV_INVALID (naming them, never their code) when the SQLite file holds a
 * trigger or view Haven did not make: code planted in the file runs inside
 * Haven's own writes, so it could change a case's rows before or after its
 * digest is taken.  Every change event of a case and `audit verify` ask
 * first; read again only when the schema changes.  HV_OK on PostgreSQL. */
hv_status hv__schema_guard(hv_engine *e);

/* Before a change to case_id: its rows must still digest as its last
 * event recorded (else a change would record a fresh digest over rows
 * edited outside Haven, and bless them).  HV_OK when they do, when the
 * case has no event with a digest yet (its last one predates the
 * digests) or when no digests are kept (an old chain, no chain key: the
 * event append refuses then); HV_INVALID "REF: its rows were changed
 * outside Haven; run haven audit verify --deep" (ref named only when
 * hv__echo_safe) when they differ.  Reads only. */
hv_status hv__case_digest_unchanged(hv_engine *e, int64_t case_id,
                                    const char *ref);

/* Feed h the audit hashes' and digests' fields: a 64-bit value
 * little-endian; a text with its terminating NUL (NULL as a lone 0xff). */
void hv__hash_u64(crypto_generichash_state *h, uint64_t v);
void hv__hash_text(crypto_generichash_state *h, const char *t);

/* Feeds the first ncols columns of st's current row into h, each with its
 * type and (when named) its column name; named rows leave out NULLs. */
void hv__digest_row(crypto_generichash_state *h, sqlite3_stmt *st, int ncols,
                    int named);

#endif
