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
 * tests/test_migrations.c checks a new database against one migrated step
 * by step from version 1.  When a migration is added nothing here needs to
 * change; moving HV_NEW_SCHEMA_VERSION on is tools/gen-new-schema.py's.
 */
#ifndef HV_NEWSCHEMA_H
#define HV_NEWSCHEMA_H

#include "haven.h"

/* The schema version new_schema[] (newschema.c) is. */
#define HV_NEW_SCHEMA_VERSION 16

/* Writes the schema of version `to` (1 to HV_SCHEMA_VERSION) on e's empty
 * file inside the caller's transaction, with the rows its migrations write
 * (the data key's: made before, crypto.c) and user_version `to`: what
 * hv__store_migrate_steps(e, 0, to) makes.  Below HV_NEW_SCHEMA_VERSION
 * (tests of older schemas) it is hv__store_migrate_steps itself. */
hv_status hv__store_create_schema(hv_engine *e, int to);

#endif
