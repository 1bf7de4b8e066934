/*
 * schemasql.h - the text of the schema a new database is made at
 * (internal, floor 0): the CREATE statements of HV_NEW_SCHEMA_VERSION
 * (newschema.h), which tools/gen-new-schema.py prints from a database
 * built by every migration, and the test of a file's schema against them.
 */
#ifndef HV_SCHEMASQL_H
#define HV_SCHEMASQL_H

#include <sqlite3.h>
#include <stddef.h>

/* The schema objects, in the order they are made (newschema.c runs
 * them). */
extern const char *const hv__new_schema[];
extern const size_t hv__new_schema_count;

/* 1 when every schema object of db's main database (tables, indexes,
 * views, triggers: their SQL; SQLite's own bookkeeping tables aside) is
 * one of hv__new_schema and every one of those is there: no trigger, view
 * or changed table definition that Haven did not make.  0 otherwise or
 * when the schema cannot be read. */
int hv__schema_is_new_schema(sqlite3 *db);

/* How many triggers and views of db's main database are not among
 * hv__new_schema (code that could change rows behind Haven's back), the
 * first five named in names[size] (a name that is not a plain identifier
 * as "(a name not shown)"); -1 when the schema cannot be read. */
int hv__schema_foreign_code(sqlite3 *db, char *names, size_t size);

#endif
