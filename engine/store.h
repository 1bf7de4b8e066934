/*
 * store.h - the SQLite case store (internal).
 *
 * The store knows SQL and the schema; it never calls Lua or parses YAML.
 * Every write runs inside hv__store_begin()/hv__store_commit() (a
 * BEGIN IMMEDIATE transaction); on any failure the caller calls
 * hv__store_rollback() and nothing is changed.
 */
#ifndef HV_STORE_H
#define HV_STORE_H

#include <jansson.h>
#include <sqlite3.h>

#include "engine.h"

/* The schema version this code writes (PRAGMA user_version). */
#define HV_SCHEMA_VERSION 9

/* Opens the SQLite file with Haven's settings (foreign keys, secure_delete,
 * trusted_schema off, defensive mode, busy timeout) and registers the name
 * functions.  create=1 allows creating the file.
 * out: *out_db (NULL on failure); *err a message. */
hv_status hv__store_open(const char *path, int create, int busy_ms,
                         sqlite3 **out_db, char **err);
/* Brings the schema to HV_SCHEMA_VERSION in one transaction.  up_to limits
 * the target version (tests build old databases with it; 0 = latest). */
hv_status hv__store_migrate(hv_engine *e, int up_to);
/* Applies migrations from..to inside the caller's transaction and sets
 * user_version. */
hv_status hv__store_migrate_steps(hv_engine *e, int from, int to);
/* Reads PRAGMA user_version.  out: *version. */
hv_status hv__store_schema_version(hv_engine *e, int *version);

hv_status hv__store_begin(hv_engine *e);
hv_status hv__store_commit(hv_engine *e);
void hv__store_rollback(hv_engine *e);

/* Prepares sql (or takes it from the engine's statement cache) or records
 * a message.  out: *stmt, to give back with hv__store_finalize. */
hv_status hv__store_prepare(hv_engine *e, const char *sql, sqlite3_stmt **stmt);
/* Done with a statement of hv__store_prepare: a cached one is reset (its
 * bindings cleared) for the next use, any other finalized.  NULL: no-op. */
void hv__store_finalize(hv_engine *e, sqlite3_stmt *stmt);
/* Finalizes every cached statement (before closing the connection). */
void hv__store_cache_clear(hv_engine *e);
/* Runs a statement with no result rows to completion and finalises it. */
hv_status hv__store_exec(hv_engine *e, const char *sql);

/* Runs sql to completion with bind values described by binds ('i' int64_t,
 * 'd' double, 't' text or NULL, 'n' null), naming `what` on failure. */
hv_status hv__store_execf(hv_engine *e, const char *what, const char *sql,
                          const char *binds, ...);

/* Appends an event in the current transaction.  data and decision are JSON
 * objects (may be NULL); they must never hold names or narrative. */
hv_status hv__store_append_event(hv_engine *e, int64_t case_id,
                                 const char *kind, json_t *data,
                                 json_t *decision);

/* Appends an event whose data and decision are already JSON text, at a
 * given time and by a given actor (append_event, and import replaying a
 * history): numbers it and chains its hash to the previous entry. */
hv_status hv__store_chain_event(hv_engine *e, hv_time at, const char *actor,
                                int64_t case_id, const char *kind,
                                const char *data_text, const char *decision_text);

/* ---- the audit hash chain (audit.c) ---- */
#define HV_AUDIT_HASH_BYTES 32
/* The next event's sequence number and the hash it chains to (inside the
 * write transaction).  out: *seq, prev (when *has_prev). */
hv_status hv__audit_next(hv_engine *e, int64_t *seq,
                         unsigned char prev[HV_AUDIT_HASH_BYTES], int *has_prev);
/* BLAKE2b-256 of prev (NULL: the first entry) and the entry's fields. */
void hv__audit_hash(const unsigned char *prev, int64_t seq, int64_t at,
                    const char *actor, int64_t case_id, const char *kind,
                    const char *data, const char *decision,
                    unsigned char out[HV_AUDIT_HASH_BYTES]);

/* Case id and version by reference.  HV_NOTFOUND if unknown. */
hv_status hv__store_case_lookup(hv_engine *e, const char *ref,
                                int64_t *case_id, int64_t *version);

/* Bumps a case's version, refusing with HV_CONFLICT if it is not
 * expected_version (when expected_version > 0).  out: *new_version. */
hv_status hv__store_case_touch(hv_engine *e, const char *ref,
                               int64_t case_id, int64_t expected_version,
                               int64_t *new_version);

/* Text column helper: a malloc'd copy of column i, or NULL for NULL. */
char *hv__column_strdup(sqlite3_stmt *st, int i);

#endif
