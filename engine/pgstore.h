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
 * A read transaction is one REPEATABLE READ snapshot.
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
 * waited for at most busy_ms).  out: *out for PQfinish.  HV_BUSY when it
 * cannot connect, with *err (libpq's reason, never the password). */
struct pg_conn;
hv_status hv__pg_connect(const char *url, int busy_ms, struct pg_conn **out, char **err);

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

#endif
