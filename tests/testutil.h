/* testutil.h - small helpers shared by the cmocka unit tests. */
#ifndef HV_TESTUTIL_H
#define HV_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Path of a file in the source tree (from $HAVEN_SOURCE_DIR, else ".");
 * returns a static buffer valid until the next call. */
const char *tu_source_path(const char *relative);
/* A fresh empty temporary directory (mkdtemp under $TMPDIR); malloc'd. */
char *tu_tempdir(void);
/* Removes a directory and the files directly in it. */
void tu_rmtree(const char *dir);
/* Reads a whole file into a malloc'd NUL-terminated buffer, or NULL. */
char *tu_read_file(const char *path, size_t *len);

/* 1 when the tests run on PostgreSQL (HAVEN_TEST_PG: the socket folder of
 * the test cluster, tests/pg/cluster.sh): tu_db_path then names a fresh
 * PostgreSQL database per folder (dropped by tu_rmtree), the files kept
 * beside a store go to a state folder of this process (HAVEN_STATE_DIR),
 * and tu_count and tu_fingerprint read through the store. */
int tu_pg(void);
/* Skips the current test on PostgreSQL, printing why (a case about the
 * SQLite file itself). */
#define TU_SKIP_ON_PG(reason)                                                   \
    do {                                                                        \
        if (tu_pg()) {                                                          \
            print_message("[ SKIPPED  ] on PostgreSQL: %s\n", reason);          \
            skip();                                                             \
        }                                                                       \
    } while (0)

/* A laptop's next outbox entry for the sync tests (SYNC-SPEC: chained to
 * head and keyed with the device secret: the hex HMAC-SHA256 over prev
 * "\n" and the entry without "hash", compact with sorted keys), made by
 * the user amal; *seq and head move on.  The caller owns the entry. */
struct json_t;
struct json_t *tu_sync_entry(const char *secret, char head[65], int64_t *seq, int64_t at,
                             const char *kind, const char *ref, const char *step,
                             const char *input, int64_t base);

#endif

#include "haven.h"

/* The clock every unit test starts at: 2026-11-28T09:00:00Z. */
#define TU_T0 ((hv_time)1795856400)

/* A fresh database in a new temp dir, initialised for agency CP with
 * workflows/iasc.yaml and opened with a fixed clock at TU_T0, acting as
 * "amal".  out: *dir (malloc'd), *db_path (static buffer per call). */
hv_engine *tu_fresh_engine(char **dir, const char *ref_pattern);
/* The same with a rule pack (rules_dir relative to the source tree). */
hv_engine *tu_fresh_engine_rules(char **dir, const char *rules_dir);
/* Runs a COUNT(*) style query on the engine's database file through a
 * separate connection; -1 on error. */
long tu_count(const char *db_path, const char *sql);
/* The database file path inside dir (static buffer); on PostgreSQL
 * (tu_pg) the URL of dir's database, made on the first call. */
const char *tu_db_path(const char *dir);
/* A connection of its own to the database at db_path (read-write): the
 * file, or a PostgreSQL store's virtual tables (tu_pg), where the same
 * SQLite queries run; NULL on failure.  Close it with tu_sql_close. */
struct sqlite3;
struct sqlite3 *tu_sql_open(const char *db_path);
void tu_sql_close(struct sqlite3 *db);
/* A whole-database fingerprint (every table's rows), malloc'd, to show a
 * refused call changed nothing. */
char *tu_fingerprint(const char *db_path);
