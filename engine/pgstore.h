/*
 * pgstore.h - the PostgreSQL store (internal, floor 2).
 *
 * A database named by a postgresql:// (or postgres://) URL keeps its rows
 * in PostgreSQL tables.  The engine still talks SQL to SQLite: an
 * in-memory SQLite connection whose every Haven table is a virtual table
 * of the module hv_pg, each row read and written through libpq.  So every
 * query, the sealing functions (hv_seal, hv_open, hv_blind: the key never
 * leaves this process; PostgreSQL stores ciphertext and blind-index keys)
 * and the audit chain are the same code on both stores.
 *
 * Transactions follow SQLite's: a write transaction (BEGIN IMMEDIATE, or
 * a statement that writes outside one) takes the store's advisory lock
 * and opens a PostgreSQL transaction, committed or rolled back with
 * SQLite's (its commit and rollback hooks); so writers are serialised as
 * on a SQLite file, and the audit chain stays one line with many writers.
 * A read transaction is one REPEATABLE READ snapshot; one that turns into
 * a write after another writer committed is busy (as SQLite's snapshot).
 *
 * Failures: a write committed is committed in PostgreSQL (COMMIT in
 * xSync), so a COMMIT that fails fails SQLite's too: never success.  A
 * lost connection (the server gone, or no longer the primary) fails what
 * runs on it as busy (SQLITE_BUSY, so HV_BUSY, 75: try again) and is made
 * again (PQreset) when the next transaction starts: with a multi-host URL
 * and target_session_attrs=read-write, to whichever server is now the
 * primary.  A transaction's start, where nothing has been read or written
 * yet, is tried again a few times after a lost connection, a
 * serialization failure or a deadlock; later in a transaction these are
 * busy, everything of it rolled back (retrying there would replay SQLite
 * statements whose reads were already used).
 */
#ifndef HV_PGSTORE_H
#define HV_PGSTORE_H

#include <sqlite3.h>

#include "core.h"

/* (Whether a path names a PostgreSQL store: hv__is_pg_url, fileio.h.) */

/* The URL without its password, for messages (e.g. "postgresql://haven@
 * host/db"): a copy for hv__free, NULL when out of memory. */
char *hv__pg_display(const char *url);

/* Connects to url with Haven's session settings (UTF-8, UTC, a lock
 * waited for at most busy_ms), and unless url says otherwise a server
 * that does not answer given up in seconds (connect_timeout 10, TCP
 * keepalives after 30 s idle, tcp_user_timeout 30 s).  out: *out for
 * PQfinish.  HV_BUSY when it cannot connect, with *err (libpq's reason,
 * never the password); HV_NOTFOUND when libpq cannot be loaded (pqlib.h). */
struct pg_conn;
hv_status hv__pg_connect(const char *url, int busy_ms, struct pg_conn **out, char **err);

/* Runs sql on conn outside the virtual tables (init's copy, the reporting
 * views).  HV_OK, or HV_DENIED (insufficient privilege), HV_BUSY (a lock
 * not had, a serialization failure) or HV_INTERNAL, with *err (when err is
 * given and *err is NULL) "PostgreSQL: what: PostgreSQL's reason". */
hv_status hv__pg_run(struct pg_conn *conn, const char *sql, const char *what, char **err);

/* After the connection was lost: connects again with the same URL (with a
 * multi-host URL and target_session_attrs=read-write, to whichever server
 * is now the primary) and sets the session up again.  0, or -1 with why
 * (libpq's reason, never the password) in why[size]. */
int hv__pg_reset(struct pg_conn *conn, int busy_ms, char *why, size_t size);

/* The SQLite code for a failed result res (may be NULL) on conn:
 * SQLITE_BUSY for a lost connection (*lost set: libpq's status, SQLSTATE
 * class 08, 57P0x, or 25006 from a server no longer the primary), a
 * serialization failure (40001), a deadlock (40P01), a lock not had in
 * time (55P03) or a cancelled statement; SQLITE_CONSTRAINT for class 23;
 * else SQLITE_FULL or SQLITE_ERROR. */
struct pg_result;
int hv__pg_code(struct pg_conn *conn, const struct pg_result *res, int *lost);
/* 1 when res failed as a serialization failure or a deadlock (to be tried
 * again from the start of its transaction). */
int hv__pg_retryable(const struct pg_result *res);
/* A message for the failure (sqlite3_mprintf'd): PostgreSQL's primary
 * message only (its DETAIL can quote a row's values; a data exception's
 * primary text too), or what a lost connection means. */
char *hv__pg_message(struct pg_conn *conn, const struct pg_result *res, int lost);

/* The text of sql for a PostgreSQL store's virtual tables: SQLite's
 * AUTOINCREMENT record sqlite_sequence is haven_sequence, and index hints
 * (INDEXED BY name) go.  out: *out, a copy for hv__free, or NULL when sql
 * needs no change.  Returns 0, or -1 when out of memory. */
int hv__pg_rewrite(const char *sql, char **out);

/* 1 when url holds a Haven store, 0 when it does not (or cannot be
 * reached: opening it then says why). */
int hv__pg_exists(const char *url);

/* The PostgreSQL connection of one engine; opaque. */
typedef struct hv_pg hv_pg;

/* Connects to url, checks it holds a Haven store, and makes *out_db: an
 * in-memory SQLite connection (set up by the caller's setup function
 * first) with a virtual table for each stored table and user_version set
 * to the stored schema version.  busy_ms bounds the wait for the write
 * lock.  out: *out_pg for hv__pg_close after sqlite3_close.  HV_NOINPUT
 * when the database holds no Haven store; *err for hv__free on failure
 * (never the password). */
hv_status hv__pg_open(const char *url, int busy_ms, sqlite3 *db, hv_pg **out_pg,
                      char **err);
/* Sets how long a write waits for the store's write lock. */
void hv__pg_busy_timeout(hv_pg *pg, int busy_ms);
/* Closes the connection (rolling back an open transaction). NULL: no-op. */
void hv__pg_close(hv_pg *pg);

/* Copies the SQLite database file src (a new store built by init) into
 * the empty PostgreSQL database at url: its tables (types mapped, the
 * sealed columns as bytea), keys, indexes and rows, the events'
 * append-only trigger, and the schema version, in one transaction.
 * HV_CANTCREATE when url already holds a Haven store.  *err on failure. */
hv_status hv__pg_create(const char *url, const char *src, char **err);

/* The part of hv__pg_create inside its transaction on conn: the tables,
 * keys, indexes, rows and schema version of the SQLite database src (its
 * main schema), made in PostgreSQL by the same DDL generator.  Also how a
 * migrated store is remade (pgstore_migrate.h).  *err on failure. */
hv_status hv__pg_fill(struct pg_conn *conn, sqlite3 *src, char **err);

/* Copies the store into the empty SQLite file at path (a backup that
 * opens as a SQLite store): SQLite's schema as init made it, every row
 * under one read snapshot, schema version `version`.  db: the engine's
 * connection (pg's).  HV_CANTCREATE or HV_IOERR with *err on failure. */
hv_status hv__pg_backup(hv_pg *pg, sqlite3 *db, const char *path, int version, char **err);

/* The stored tables (for the backup): how many, the name of the i-th, the
 * connection. */
size_t hv__pg_table_count(const hv_pg *pg);
const char *hv__pg_table_name(const hv_pg *pg, size_t i);
struct pg_conn *hv__pg_conn(hv_pg *pg);

/* ---- the SQL the module sends (pgstore_sql.c) ---- */

#define HV_PG_MAX_COLS 40
#define HV_PG_MAX_ARGS 64

/* A stored table as PostgreSQL describes it. */
typedef struct {
    char *name;
    int ncol;
    char *cols[HV_PG_MAX_COLS];
    char types[HV_PG_MAX_COLS];        /* i bigint, r double, t text, b bytea */
    unsigned char dflt[HV_PG_MAX_COLS]; /* has a default: omit a NULL on insert */
    unsigned char notnull[HV_PG_MAX_COLS]; /* NOT NULL in PostgreSQL */
    int rowid;                         /* the INTEGER PRIMARY KEY column, or -1:
                                        * the hidden "rid" column */
} pg_table;

/* Parameter values for libpq from SQLite values: text for numbers and
 * text, binary for blobs.  num: buffers for the numbers' text. */
typedef struct {
    const char *vals[HV_PG_MAX_ARGS + HV_PG_MAX_COLS + 1];
    int lens[HV_PG_MAX_ARGS + HV_PG_MAX_COLS + 1];
    int fmts[HV_PG_MAX_ARGS + HV_PG_MAX_COLS + 1];
    char num[HV_PG_MAX_ARGS + HV_PG_MAX_COLS + 1][32];
    int n;
} pg_params;

/* The column's name for SQL (i -1: the rowid's, "rid" when hidden). */
const char *hv__pg_col_name(const pg_table *t, int i);
/* xBestIndex for t: the plan is the whole SELECT, in ii->idxStr: the
 * rowid, then every column the statement uses (NULL for the rest, so
 * positions stay fixed); idxNum the number of its arguments.  SQLITE_OK
 * or SQLITE_NOMEM. */
int hv__pg_plan(const pg_table *t, sqlite3_index_info *ii);
/* Adds v to p as a column of type type ('i', 'r', 't', 'b'). */
void hv__pg_param_add(pg_params *p, sqlite3_value *v, char type);
/* The INSERT of argv (xUpdate's) into *sql (sqlite3_mprintf'd) and p: a
 * NULL where the column has a default is left to PostgreSQL; a NULL rowid
 * column gets the next number (max + 1: writers are serialised); INSERT
 * OR IGNORE (SQLite's conflict mode on db) is ON CONFLICT DO NOTHING. */
int hv__pg_build_insert(const pg_table *t, sqlite3 *db, sqlite3_value **argv,
                        char **sql, pg_params *p);
/* The UPDATE of row argv[0] (the columns SQLite changes); *sql NULL when
 * nothing changes. */
int hv__pg_build_update(const pg_table *t, sqlite3_value **argv, char **sql, pg_params *p);

#endif
