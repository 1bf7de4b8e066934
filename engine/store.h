/*
 * store.h - the SQLite connection of the engine (internal, floor 2).
 *
 * The store knows SQL; it never calls Lua, parses YAML, or reaches the
 * keys, the rules or the access checks above it.  Every write runs inside
 * hv__store_begin()/hv__store_commit() (a BEGIN IMMEDIATE transaction, or
 * inside a batch a savepoint of the batch's one transaction); on any
 * failure the caller calls hv__store_rollback() and nothing is changed.
 * Statements come from a per-connection cache (hv__store_prepare) and go
 * back to it (hv__store_finalize) on every path.
 */
#ifndef HV_STORE_H
#define HV_STORE_H

#include <jansson.h>
#include <sqlite3.h>

#include "core.h"

/* Opens the SQLite file with Haven's settings (foreign keys, secure_delete,
 * trusted_schema off, defensive mode, busy timeout) and registers the name
 * function hv_name_keys.  create=1 allows creating the file.
 * out: *out_db (NULL on failure), the caller's to sqlite3_close; *err a
 * message for hv__free on failure. */
hv_status hv__store_open(const char *path, int create, int busy_ms,
                         sqlite3 **out_db, char **err);

/* As hv__store_open, for a PostgreSQL store too: conninfo (the URL with
 * its password; NULL for a file) opens an in-memory SQLite connection
 * with the store's tables (pgstore.h), path naming it in messages.
 * out: *out_pg for hv__pg_close after sqlite3_close (NULL for a file). */
struct hv_pg;
hv_status hv__store_open_pg(const char *path, const char *conninfo, int create,
                            int busy_ms, sqlite3 **out_db, struct hv_pg **out_pg,
                            char **err);

/* A read-only connection of its own to the SQLite file at the path e opened,
 * configured as the engine's (no trust in the file's schema), for a
 * reader on another thread (SQLITE_OPEN_NOMUTEX: one thread at a time).
 * NULL: a PostgreSQL store, a database in memory, or it does not open. */
sqlite3 *hv__store_reader_open(hv_engine *e);
/* The state the connection db reads: the audit chain's last entry (its
 * sequence and keyed hash: every change appends one), into out.  Two
 * connections with the same read the same file at the same commit (a
 * reader beside the engine's checks it).  0, or -1 when it does not read. */
#define HV_FINGERPRINT_BYTES 48
int hv__store_fingerprint(sqlite3 *db, unsigned char out[HV_FINGERPRINT_BYTES]);
/* Opens the write transaction of a change (or its savepoint in a batch)
 * and takes the thread's allocation-failure count, which the event append
 * compares against (events.h).  HV_INTERNAL when a change is already open
 * in the batch or the batch was undone; HV_BUSY when locked. */
hv_status hv__store_begin(hv_engine *e);
/* As hv__store_begin, for a change that refuses nothing after its first
 * write (every check before it: a registration).  Inside a batch on a
 * SQLite file the change takes no savepoint of its own (journalling each
 * page it touches is the costliest part of a bulk registration): if it
 * fails before writing anything, hv__store_rollback leaves the batch as
 * it was; if it fails after (the disk, memory, a constraint), the whole
 * batch is undone, so nothing of the change is kept, and the batch
 * reports it at its commit.  Elsewhere it is hv__store_begin. */
hv_status hv__store_begin_unguarded(hv_engine *e);
/* Commits the change; on failure rolls it back and returns why.  Outside
 * a batch, a change that appended events signs the chain's head before
 * the COMMIT (no audit key: refused, rolled back) and appends it to
 * <db>.checkpoints after (checkpoint.h). */
hv_status hv__store_commit(hv_engine *e);
/* Undoes the open change (or does nothing when none is open); keeps the
 * message of the failure being undone. */
void hv__store_rollback(hv_engine *e);

/* The event append (events.c) notes each event of the open change: a read
 * (read 1), or a change with, when it digested case_id's rows afresh, the
 * digest it records (else NULL).  hv__store_commit keeps the last fresh
 * digest of a committed change with the connection's data version. */
void hv__store_note_event(hv_engine *e, int64_t case_id, int read,
                          const unsigned char *digest);
/* 1 when this connection's last committed change left case_id's rows with
 * digest (its last event's) and no other connection has committed since
 * (PRAGMA data_version): the rows are the ones digested, unread.  Never on
 * a PostgreSQL store or inside a batch. */
int hv__store_digest_seen(hv_engine *e, int64_t case_id, const unsigned char *digest);

/* Prepares sql (or takes it from the engine's statement cache) or records
 * a message.  out: *stmt, to give back with hv__store_finalize (NULL on
 * failure). */
hv_status hv__store_prepare(hv_engine *e, const char *sql, sqlite3_stmt **stmt);
/* Done with a statement of hv__store_prepare: a cached one is reset (its
 * bindings cleared) for the next use, any other finalized.  NULL: no-op. */
void hv__store_finalize(hv_engine *e, sqlite3_stmt *stmt);
/* Finalizes every cached statement (before closing the connection). */
void hv__store_cache_clear(hv_engine *e);
/* Runs SQL text (one or more statements, no binds, no cache) to
 * completion; a failure is recorded as "running a statement". */
hv_status hv__store_exec(hv_engine *e, const char *sql);

/* Runs sql (through the statement cache) to completion with bind values
 * described by binds, one letter each ('i' int64_t, 'd' double, 't' text
 * or NULL, 'n' null: its argument is skipped), naming `what` on failure
 * (never a bound value).  The one exec-with-binds helper of the engine. */
hv_status hv__store_execf(hv_engine *e, const char *what, const char *sql,
                          const char *binds, ...);

/* Prepares sql (as hv__store_prepare) and binds the values described by
 * binds (as hv__store_execf), for a caller that steps the rows itself.
 * out: *stmt, to give back with hv__store_finalize (NULL on failure). */
hv_status hv__store_preparef(hv_engine *e, sqlite3_stmt **stmt, const char *sql,
                             const char *binds, ...);

/* Runs sql with binds (as hv__store_execf) and reads the first column of
 * its first row as an integer.  out: *out, dflt when there is no row or
 * the value is NULL (and on failure, recorded naming `what`). */
hv_status hv__store_query_int(hv_engine *e, const char *what, const char *sql,
                              int64_t dflt, int64_t *out, const char *binds,
                              ...);

/* As hv__store_query_int for text: out: *out, a copy of the first
 * column of the first row for hv__free, or NULL when there is no row or
 * the value is NULL (and on failure: HV_NOMEM, or the SQL failure naming
 * `what`). */
hv_status hv__store_query_text(hv_engine *e, const char *what, const char *sql,
                               char **out, const char *binds, ...);

/* Case id and version by reference (version may be NULL).  HV_NOTFOUND if
 * unknown, naming the reference only when hv__echo_safe allows it. */
hv_status hv__store_case_lookup(hv_engine *e, const char *ref,
                                int64_t *case_id, int64_t *version);

/* Bumps a case's version and updated_at, refusing with HV_CONFLICT if it
 * is not expected_version (when expected_version > 0).
 * out: *new_version. */
hv_status hv__store_case_touch(hv_engine *e, const char *ref,
                               int64_t case_id, int64_t expected_version,
                               int64_t *new_version);

/* The clock without a replay's time (sync.h): the system time, or a
 * simulated database's fixed or simulated time. */
hv_time hv__wall_now(const hv_engine *e);

/* A copy of text column i for hv__free, or NULL for SQL NULL (or when out
 * of memory: the caller cannot tell, so it checks a NOT NULL column). */
char *hv__column_strdup(sqlite3_stmt *st, int i);

#endif
