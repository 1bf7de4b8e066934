/* test_migrations.c - databases of older schema versions open with the
 * current code, are migrated in place and keep every record. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "init.h"
#include "migrate.h"
#include "store.h"
#include "testutil.h"

/* Creates dir/name from the SQL text of a fixture; returns the path. */
static const char *load_fixture(const char *dir, const char *fixture)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s/old.db", dir);
    char *sql = tu_read_file(tu_source_path(fixture), NULL);
    assert_non_null(sql);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("fixture: %s", msg);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
    sqlite3_close(db);
    free(sql);
    return path;
}

static void a_first_version_database_opens_and_is_migrated(void **state)
{
    (void)state;
    char *dir = tu_tempdir(), *err = NULL, *json = NULL, *ref = NULL;
    const char *path = load_fixture(dir, "tests/fixtures/schema_v1.sql");
    assert_int_equal(tu_count(path, "PRAGMA user_version"), 1);
    hv_engine *e = NULL;
    if (hv_engine_open(path, &e, &err) != HV_OK)
        fail_msg("open: %s", err);
    assert_int_equal(tu_count(path, "PRAGMA user_version"), HV_SCHEMA_VERSION);
    /* Migration 2 back-filled the spelling keys of the names on record. */
    assert_true(tu_count(path, "SELECT count(*) FROM person_name_keys") >= 4);
    /* Sealed as migration 7 made them: bound to their rows (format HV2),
     * and recorded so (sealcheck.h). */
    assert_int_equal(tu_count(path, "SELECT count(*) FROM persons WHERE"
                                    " substr(name, 1, 3) <> X'485632'"), 0);
    assert_int_equal(tu_count(path, "SELECT count(*) FROM meta WHERE key ="
                                    " 'seal_binding'"), 1);
    hv_engine_set_actor(e, "amal"); /* the caseworker of the old database */
    assert_int_equal(hv_case_search(e, "Nour", &json), HV_OK);
    assert_non_null(strstr(json, "CP-2026-00001"));
    hv_free(json);
    assert_int_equal(hv_case_get_json(e, "CP-2026-00001", &json), HV_OK);
    assert_non_null(strstr(json, "\"Noor\""));
    assert_non_null(strstr(json, "emotional_distress"));
    hv_free(json);
    /* A database from before live and simulated ones is live: its clock
     * cannot be set, and opening it says nothing of a clock. */
    assert_int_equal(hv_engine_is_simulated(e), 0);
    assert_int_equal(hv_clock_fix(e, TU_T0), HV_USAGE);
    assert_int_equal(hv_clock_mode_get(e), HV_CLOCK_SYSTEM);
    assert_int_equal(tu_count(path, "SELECT count(*) FROM meta WHERE key = 'clock'"), 0);
    hv_engine_close(e);
    /* Made simulated by hand (as a test may), new work goes on where the
     * old database left off. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO meta (key, value) VALUES"
                                      " ('clock', 'simulated')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    if (hv_engine_open(path, &e, &err) != HV_OK)
        fail_msg("open: %s", err);
    assert_int_equal(hv_clock_fix(e, TU_T0), HV_OK);
    hv_engine_set_actor(e, "amal");
    const char *nur = "{\"source\":\"school\",\"location\":\"Riverside\","
                      "\"concerns\":[\"neglect\"],\"child\":{\"name\":\"Nur\","
                      "\"age\":12,\"sex\":\"female\"},"
                      "\"consent\":{\"registration\":\"child\"}}";
    assert_int_equal(hv_case_register(e, nur, 0, &ref), HV_DUPLICATE);
    assert_non_null(strstr(hv_errmsg(e), "CP-2026-00001"));
    assert_int_equal(hv_case_register(e, nur, HV_REGISTER_FORCE, &ref), HV_OK);
    assert_string_equal(ref, "CP-2026-00002");
    hv_free(ref);
    hv_engine_close(e);
    /* Opening again migrates nothing and changes nothing. */
    char *before = tu_fingerprint(path);
    assert_int_equal(hv_engine_open(path, &e, &err), HV_OK);
    hv_engine_close(e);
    char *after = tu_fingerprint(path);
    assert_string_equal(before, after);
    free(before);
    free(after);
    tu_rmtree(dir);
    free(dir);
}

/* Shipped migrations are never edited: migration 1 of today's code makes
 * exactly the schema of the frozen first-version database. */
static void the_first_migration_is_unchanged(void **state)
{
    (void)state;
    char *dir = tu_tempdir(), *err = NULL;
    const char *old = load_fixture(dir, "tests/fixtures/schema_v1.sql");
    char fresh[4200];
    snprintf(fresh, sizeof fresh, "%s/fresh.db", dir);
    hv_init_options o = {.agency = "CP",
                         .workflow_path = tu_source_path("workflows/iasc.yaml")};
    if (hv__engine_init_schema(fresh, &o, 1, &err) != HV_OK)
        fail_msg("init at schema 1: %s", err);
    const char *q = "SELECT group_concat(sql, ';') FROM (SELECT sql FROM"
                    " sqlite_schema WHERE sql IS NOT NULL ORDER BY name)";
    sqlite3 *a, *b;
    sqlite3_stmt *sa, *sb;
    sqlite3_open(old, &a);
    sqlite3_open(fresh, &b);
    sqlite3_prepare_v2(a, q, -1, &sa, NULL);
    sqlite3_prepare_v2(b, q, -1, &sb, NULL);
    assert_int_equal(sqlite3_step(sa), SQLITE_ROW);
    assert_int_equal(sqlite3_step(sb), SQLITE_ROW);
    assert_string_equal(sqlite3_column_text(sa, 0), sqlite3_column_text(sb, 0));
    sqlite3_finalize(sa);
    sqlite3_finalize(sb);
    sqlite3_close(a);
    sqlite3_close(b);
    assert_int_equal(tu_count(fresh, "PRAGMA user_version"), 1);
    tu_rmtree(dir);
    free(dir);
}

static void a_newer_schema_is_refused_untouched(void **state)
{
    (void)state;
    char *dir = tu_tempdir(), *err = NULL;
    const char *path = load_fixture(dir, "tests/fixtures/schema_v1.sql");
    sqlite3 *db;
    sqlite3_open(path, &db);
    sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL);
    sqlite3_close(db);
    char *before = tu_fingerprint(path);
    hv_engine *e = NULL;
    assert_int_equal(hv_engine_open(path, &e, &err), HV_INVALID);
    assert_null(e);
    assert_non_null(strstr(err, "newer"));
    hv_free(err);
    assert_int_equal(tu_count(path, "PRAGMA user_version"), 99);
    char *after = tu_fingerprint(path);
    assert_string_equal(before, after);
    free(before);
    free(after);
    tu_rmtree(dir);
    free(dir);
}

/* Schema 8 kept each blind name key as "b:" + the hex of the whole HMAC;
 * schema 9 keeps its first 12 bytes as a blob.  A database with keys in
 * the old form (made here from a new one: the old text is the new key's
 * hex followed by the rest of an HMAC) is migrated without the data key,
 * and search and the duplicate check find its children as before. */
static void schema_8_text_name_keys_become_blobs(void **state)
{
    (void)state;
    char *dir = NULL, *err = NULL, *ref = NULL, *json = NULL;
    hv_engine *e = tu_fresh_engine(&dir, NULL);
    const char *noor = "{\"source\":\"school\",\"location\":\"Riverside\","
                       "\"concerns\":[\"neglect\"],\"child\":{\"name\":\"Noor\","
                       "\"age\":12,\"sex\":\"female\"},"
                       "\"consent\":{\"registration\":\"child\"}}";
    assert_int_equal(hv_case_register(e, noor, 0, &ref), HV_OK);
    hv_engine_close(e);
    const char *path = tu_db_path(dir);
    long keys = tu_count(path, "SELECT count(*) FROM person_name_keys");
    assert_true(keys >= 4);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db,
                     "BEGIN;"
                     "CREATE TABLE k8 (person_id INTEGER NOT NULL REFERENCES"
                     "  persons(id), key TEXT NOT NULL, PRIMARY KEY (key, person_id))"
                     "  WITHOUT ROWID;"
                     "INSERT INTO k8 SELECT person_id, 'b:' || lower(hex(key)) ||"
                     "  '0123456789abcdef0123456789abcdef01234567' FROM person_name_keys;"
                     "DROP TABLE person_name_keys;"
                     "ALTER TABLE k8 RENAME TO person_name_keys;"
                     "CREATE INDEX person_name_keys_person ON person_name_keys(person_id);"
                     /* (and without schema 10's columns) */
                     "ALTER TABLE events DROP COLUMN os_uid;"
                     "ALTER TABLE events DROP COLUMN os_login;"
                     "ALTER TABLE events DROP COLUMN digest;"
                     "DELETE FROM meta WHERE key = 'audit_chain_keyed_from';"
                     /* (nor schema 11's) */
                     "DROP TABLE auth_tokens; DROP TABLE auth_failures;"
                     "DROP INDEX users_os_login; DROP INDEX users_oidc_identity;"
                     "ALTER TABLE users DROP COLUMN os_login;"
                     "ALTER TABLE users DROP COLUMN oidc_identity;"
                     "ALTER TABLE users DROP COLUMN password_hash;"
                     "ALTER TABLE users DROP COLUMN enrol_hash;"
                     "ALTER TABLE users DROP COLUMN enrol_expires;"
                     /* (nor schema 12's) */
                     "DROP TABLE sync_receipts; DROP TABLE sync_conflicts;"
                     "DROP TABLE devices; DROP TABLE sync_outbox;"
                     "DROP TABLE sync_cases;"
                     "PRAGMA user_version=8;"
                     "COMMIT;",
                     NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("making schema 8: %s", msg);
    sqlite3_close(db);
    assert_int_equal(tu_count(path, "SELECT count(*) FROM person_name_keys WHERE"
                                    " typeof(key) = 'text' AND length(key) = 66"),
                     keys);
    if (hv_engine_open(path, &e, &err) != HV_OK)
        fail_msg("open: %s", err);
    assert_int_equal(tu_count(path, "PRAGMA user_version"), HV_SCHEMA_VERSION);
    assert_int_equal(tu_count(path, "SELECT count(*) FROM person_name_keys WHERE"
                                    " typeof(key) = 'blob' AND length(key) = 12"),
                     keys);
    hv_clock_fix(e, TU_T0);
    assert_int_equal(hv_engine_set_actor(e, "amal"), HV_OK);
    assert_int_equal(hv_case_search(e, "Nour", &json), HV_OK);
    assert_non_null(strstr(json, ref));
    hv_free(json);
    char *ref2 = NULL;
    const char *nur = "{\"source\":\"school\",\"location\":\"Riverside\","
                      "\"concerns\":[\"neglect\"],\"child\":{\"name\":\"Nur\","
                      "\"age\":12,\"sex\":\"female\"},"
                      "\"consent\":{\"registration\":\"child\"}}";
    assert_int_equal(hv_case_register(e, nur, 0, &ref2), HV_DUPLICATE);
    assert_non_null(strstr(hv_errmsg(e), ref));
    hv_engine_close(e);
    hv_free(ref);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_first_version_database_opens_and_is_migrated),
        cmocka_unit_test(the_first_migration_is_unchanged),
        cmocka_unit_test(a_newer_schema_is_refused_untouched),
        cmocka_unit_test(schema_8_text_name_keys_become_blobs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
