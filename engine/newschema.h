/*
 * newschema.h - a new database made directly at a recent schema (internal,
 * floor 2).
 *
 * Migrating an empty file through every migration costs SQLite a reading
 * of the whole schema after each ALTER TABLE and each rewrite of
 * definitions (migrate.c): most of an init.  A new database is instead
 * made directly at schema HV_NEW_SCHEMA_VERSION, the very objects (same
 * SQL, same order) and rows the migrations make on an empty file, then
 * brought to its target by the migrations after that version, if any.
 * tests/test_migrations.c (a_new_database_is_the_one_every_migration_makes)
 * checks a new database against ones migrated step by step from each
 * version (objects with their SQL and order, the settings a file keeps,
 * meta's key names), and an empty file made at once against one made by
 * every step from 0: every row of every table and every meta value, only
 * the random data_key (and kdf_salt under $HAVEN_PASSPHRASE) masked.
 *
 * Adding a migration, the step from schema N to N+1 (migrate.c, and
 * HV_SCHEMA_VERSION N+1): new databases stay right with nothing here
 * changed (the snapshot, then the steps after it); to make them at N+1
 * directly, move the snapshot on:
 *  1. Build: `haven init` a new database (the snapshot plus the new step)
 *     and run tools/gen-new-schema.py on it; replace hv__new_schema[]
 *     (schemasql.c) with what it prints and set HV_NEW_SCHEMA_VERSION.
 *  2. Rows: the script prints objects only.  Add to new_schema_rows every
 *     row the steps passed write into an EMPTY file, in their order (as it
 *     mirrors the step to schema 5's audit_chain_from and the step to 7's
 *     data_key, key_mode and kdf_salt); a back-fill from other tables'
 *     rows (e.g. the steps to 13, task_due_days, and to 16,
 *     task_day_counts) writes none there.
 *  3. C hooks: hv__store_migrate_steps runs C after some steps; run what
 *     they write on an empty file in hv__store_create_schema too.  So far:
 *     hv__chain_anchor (events.c) after the step to HV_SCHEMA_CHAIN_KEYED,
 *     mirrored by hv__chain_anchor(e, 0) (meta audit_chain_keyed_from 1);
 *     lean_checks (migrate.c) after the step to HV_SCHEMA_LEAN_CHECKS,
 *     which edits sqlite_schema's text, mirrored by the snapshot's text
 *     itself (the script reads the edited text).  (The data key the step
 *     to HV_SCHEMA_KEYED stores is made by the caller first, crypto.c.)
 *  4. Tests: run test_migrations; it fails while the two differ.
 * Whether or not the snapshot moves, the tests' hand-written downgrades of
 * a new database must undo the new step too (drop what it adds, delete
 * what it writes), or migrating them again fails (an object already
 * there) or keeps stale rows: tests/test_migrations.c,
 * schema_8_text_name_keys_become_blobs (down to schema 8), and
 * tests/cli/test_chain.sh, section 9 "Downgrading the schema" (down to
 * schema 9).  A PostgreSQL store is made from the new SQLite file
 * (pgstore_schema.c), with its own triggers for the tables SQLite's
 * triggers keep.
 */
#ifndef HV_NEWSCHEMA_H
#define HV_NEWSCHEMA_H

#include "haven.h"

/* The schema version hv__new_schema[] (schemasql.c) is.  While a file's
 * schema is exactly that one (hv__schema_is_new_schema: no trigger
 * planted to edit rows behind its digests), a long-lived engine may skip
 * re-reading a case it changed last (digest.c); after a migration that
 * changes the schema and the snapshot has not caught up with, it always
 * re-reads. */
#define HV_NEW_SCHEMA_VERSION 16

/* Writes the schema of version `to` (1 to HV_SCHEMA_VERSION) on e's empty
 * file inside the caller's transaction, with the rows its migrations write
 * (the data key's: made before, crypto.c) and user_version `to`: what
 * hv__store_migrate_steps(e, 0, to) makes.  Below HV_NEW_SCHEMA_VERSION
 * (tests of older schemas) it is hv__store_migrate_steps itself. */
hv_status hv__store_create_schema(hv_engine *e, int to);

#endif
