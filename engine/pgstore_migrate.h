/*
 * pgstore_migrate.h - migrating a PostgreSQL store (internal, floor 2).
 *
 * A schema step is written once, as SQLite SQL (migrate.c), and runs on
 * both stores.  On PostgreSQL, inside the engine's one write transaction
 * (the store's advisory lock held from the first read of the version to
 * the commit): the stored tables become local SQLite tables of the
 * engine's in-memory connection, with the schema and rows the store keeps
 * for them (haven_sqlite_schema); migrate.c runs its steps on them as on
 * a file; then the store's tables are made again from the result by the
 * DDL generator init uses (hv__pg_fill) and the new version recorded, all
 * in that PostgreSQL transaction: a failed step, or a failure to remake
 * the tables, rolls everything back and the store is as it was.  After the
 * commit the connection's virtual tables are attached afresh.
 *
 * The whole store passes through the engine's memory once per migration
 * (the price of one text per step for both stores).
 */
#ifndef HV_PGSTORE_MIGRATE_H
#define HV_PGSTORE_MIGRATE_H

#include "haven.h"

/* Inside a write transaction of a PostgreSQL store's engine
 * (hv__store_begin): takes the store's write lock and reads its stored
 * schema version under it.  out: *version. */
hv_status hv__pg_migrate_lock(hv_engine *e, int *version);
/* Inside that transaction: every stored table of e's connection becomes a
 * local SQLite table (its SQLite schema, indexes, triggers and rows), so
 * the SQLite migrations run on them unchanged. */
hv_status hv__pg_migrate_localise(hv_engine *e);
/* Inside that transaction, after the steps: replaces the store's tables
 * by the local ones (schema, rows, schema version); the caller commits
 * (or rolls back: nothing changes). */
hv_status hv__pg_migrate_store(hv_engine *e);
/* After the commit (or when another process migrated first): the
 * connection's virtual tables attached afresh to the store's tables as
 * they are now. */
hv_status hv__pg_migrate_reattach(hv_engine *e);

#endif
