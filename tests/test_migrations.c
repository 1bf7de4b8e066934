/* test_migrations.c - databases of older schema versions open with the
 * current code, are migrated in place and keep every record. */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "engine.h"
#include "init.h"
#include "migrate.h"
#include "newschema.h"
#include "pgstore.h"
#include "store.h"
#include "schemasql.h"
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

/* The database of dir made from a fixture: the SQLite file itself, or on
 * PostgreSQL (tu_pg) a store copied from it (hv__pg_create, as init
 * copies its new file: an older Haven's store at the fixture's version). */
static const char *load_store(const char *dir, const char *fixture)
{
    const char *file = load_fixture(dir, fixture);
    if (!tu_pg())
        return file;
    static char url[4200];
    snprintf(url, sizeof url, "%s", tu_db_path(dir));
    char *err = NULL;
    if (hv__pg_create(url, file, &err) != HV_OK)
        fail_msg("copying the fixture into PostgreSQL: %s", err ? err : "?");
    return url;
}

/* Runs sql on the PostgreSQL database at url, past the engine (as the
 * store's owner would); 0 or -1. */
static int pg_exec(const char *url, const char *sql)
{
    PGconn *conn = PQconnectdb(url);
    PGresult *res = PQexec(conn, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        print_message("%s: %s", sql, PQerrorMessage(conn));
    PQclear(res);
    PQfinish(conn);
    return ok ? 0 : -1;
}

/* Sets the schema version the database records (user_version, or the
 * store's haven_store row). */
static void set_version(const char *path, int version)
{
    char sql[128];
    if (tu_pg()) {
        snprintf(sql, sizeof sql, "UPDATE haven_store SET value = '%d' WHERE key ="
                                  " 'schema_version'", version);
        assert_int_equal(pg_exec(path, sql), 0);
        return;
    }
    sqlite3 *db;
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", version);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void a_first_version_database_opens_and_is_migrated(void **state)
{
    (void)state;
    char *dir = tu_tempdir(), *err = NULL, *json = NULL, *ref = NULL;
    const char *path = load_store(dir, "tests/fixtures/schema_v1.sql");
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
    sqlite3 *db = tu_sql_open(path);
    assert_non_null(db);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO meta (key, value) VALUES"
                                      " ('clock', 'simulated')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    tu_sql_close(db);
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
    const char *path = load_store(dir, "tests/fixtures/schema_v1.sql");
    set_version(path, 99);
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
    TU_SKIP_ON_PG("schema 8 is made here by SQLite DDL on the file; the stores of older"
                  " versions below cover PostgreSQL");
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
                     /* (nor schema 13's) */
                     "DROP TRIGGER task_due_days_insert;"
                     "DROP TRIGGER task_due_days_delete;"
                     "DROP TRIGGER task_due_days_update;"
                     "DROP TRIGGER task_due_days_case;"
                     "DROP TABLE task_due_days;"
                     /* (nor schema 16's) */
                     "DROP TRIGGER task_day_counts_insert;"
                     "DROP TRIGGER task_day_counts_delete;"
                     "DROP TRIGGER task_day_counts_update;"
                     "DROP TABLE task_day_counts;"
                     /* (nor schema 15's) */
                     "DROP TRIGGER case_risk_factors_event;"
                     "DROP TABLE case_risk_factors;"
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

/* The first value of a query on the PostgreSQL database at url, past the
 * engine; malloc'd ("" when none). */
static char *pg_text(const char *url, const char *sql)
{
    PGconn *conn = PQconnectdb(url);
    PGresult *res = PQexec(conn, sql);
    char *out = strdup(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
                               !PQgetisnull(res, 0, 0)
                           ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    PQfinish(conn);
    return out;
}

/* A PostgreSQL store's own description of its tables: columns, keys and
 * checks, indexes, and the SQLite schema it keeps for a backup. */
static char *pg_schema(const char *url)
{
    static const char *const parts[] = {
        "SELECT string_agg(table_name || '.' || column_name || ' ' || data_type || ' ' ||"
        " coalesce(column_default, '') || ' ' || is_nullable, ',' ORDER BY table_name,"
        " ordinal_position) FROM information_schema.columns WHERE table_schema = 'public'",
        "SELECT string_agg(conrelid::regclass || ' ' || pg_get_constraintdef(oid), ','"
        " ORDER BY conrelid::regclass::text, pg_get_constraintdef(oid))"
        " FROM pg_constraint WHERE connamespace = 'public'::regnamespace",
        "SELECT string_agg(indexdef, ',' ORDER BY indexname) FROM pg_indexes"
        " WHERE schemaname = 'public'",
        "SELECT string_agg(sql, ';' ORDER BY pos) FROM haven_sqlite_schema",
        "SELECT string_agg(tgrelid::regclass || ' ' || tgname, ',' ORDER BY tgname)"
        " FROM pg_trigger WHERE NOT tgisinternal"};
    size_t cap = 1, len = 0;
    char *all = calloc(1, 1);
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        char *part = pg_text(url, parts[i]);
        cap += strlen(part) + 1;
        all = realloc(all, cap);
        len += (size_t)sprintf(all + len, "%s\n", part);
        free(part);
    }
    return all;
}

/* Noor, registered on a migrated database. */
static const char *const NOOR =
    "{\"source\":\"school\",\"location\":\"Riverside\",\"concerns\":[\"neglect\"],"
    "\"child\":{\"name\":\"Noor\",\"age\":12,\"sex\":\"female\"},"
    "\"consent\":{\"registration\":\"child\"}}";

/* A database made at schema version v by init stopping there, as an older
 * Haven made it (on PostgreSQL: a store of that version); *path its path. */
static char *init_at(int v, char path[4200])
{
    char *dir = tu_tempdir(), *err = NULL;
    snprintf(path, 4200, "%s", tu_db_path(dir));
    hv_init_options o = {.agency = "CP", .workflow_path = tu_source_path("workflows/iasc.yaml"),
                         .admin = "admin", .simulated = 1};
    if (hv__engine_init_schema(path, &o, v, &err) != HV_OK)
        fail_msg("init at schema %d: %s", v, err ? err : "?");
    assert_int_equal(tu_count(path, "PRAGMA user_version"), v);
    return dir;
}

/* Opens path (migrating it), acting as admin at TU_T0. */
static hv_engine *open_at(const char *path)
{
    hv_engine *e = NULL;
    char *err = NULL;
    if (hv_engine_open(path, &e, &err) != HV_OK)
        fail_msg("open: %s", err ? err : "?");
    assert_int_equal(hv_clock_fix(e, TU_T0), HV_OK);
    assert_int_equal(hv_engine_set_actor(e, "admin"), HV_OK);
    return e;
}

static void audit_passes(hv_engine *e)
{
    char *out = NULL;
    if (hv_audit_verify(e, NULL, &out) != HV_OK)
        fail_msg("audit verify: %s", hv_errmsg(e));
    hv_free(out);
}

/* A database of each older schema (one from before the data key, one from
 * before the keyed chain, the one before offline work) opens migrated to
 * the current schema, with its rows and a whole audit chain, and works.
 * On PostgreSQL the migrated store is exactly the store init makes today:
 * its tables, keys, checks, indexes, triggers and kept SQLite schema. */
static void older_schemas_are_migrated_on_open(void **state)
{
    (void)state;
    static const int versions[] = {5, 9, 11};
    char fresh_path[4200];
    char *fresh_dir = init_at(HV_SCHEMA_VERSION, fresh_path);
    char *want = tu_pg() ? pg_schema(fresh_path) : NULL;
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        char path[4200];
        char *dir = init_at(versions[i], path);
        long events = tu_count(path, "SELECT count(*) FROM events");
        assert_true(events >= 1);
        char *meta = NULL;
        hv_engine *e = open_at(path);
        assert_int_equal(tu_count(path, "PRAGMA user_version"), HV_SCHEMA_VERSION);
        /* the rows kept (and the chain's anchor added when crossing 10) */
        assert_int_equal(tu_count(path, "SELECT count(*) FROM events"),
                         events + (versions[i] < HV_SCHEMA_CHAIN_KEYED));
        assert_int_equal(tu_count(path, "SELECT count(*) FROM events WHERE kind ="
                                        " 'initialised'"), 1);
        assert_int_equal(tu_count(path, "SELECT count(*) FROM users WHERE login = 'admin'"
                                        " AND role = 'administrator'"), 1);
        assert_int_equal(tu_count(path, "SELECT count(*) FROM agencies WHERE code = 'CP'"), 1);
        assert_int_equal(tu_count(path, "SELECT count(*) FROM workflows"), 1);
        audit_passes(e);
        /* and it works: users, a registration, the new schema's tables */
        assert_int_equal(hv_user_add(e, "sara", "supervisor", NULL), HV_OK);
        assert_int_equal(hv_user_add(e, "amal", "caseworker", "sara"), HV_OK);
        assert_int_equal(hv_engine_set_actor(e, "amal"), HV_OK);
        char *ref = NULL;
        assert_int_equal(hv_case_register(e, NOOR, 0, &ref), HV_OK);
        assert_string_equal(ref, "CP-2026-00001");
        hv_free(ref);
        assert_int_equal(tu_count(path, "SELECT count(*) FROM devices"), 0);
        audit_passes(e);
        hv_engine_close(e);
        if (want) {
            char *got = pg_schema(path);
            size_t at = 0;
            while (got[at] && got[at] == want[at])
                at++;
            if (got[at] || want[at])
                fail_msg("schema %d migrated differs from a new store's at ...%.160s\n"
                         "new: ...%.160s", versions[i], got + (at > 60 ? at - 60 : 0),
                         want + (at > 60 ? at - 60 : 0));
            free(got);
        }
        /* opened again: nothing to migrate, nothing changed */
        char *before = tu_fingerprint(path);
        e = open_at(path);
        audit_passes(e);
        hv_engine_close(e);
        char *after = tu_fingerprint(path);
        assert_string_equal(before, after);
        free(before);
        free(after);
        free(meta);
        tu_rmtree(dir);
        free(dir);
    }
    free(want);
    tu_rmtree(fresh_dir);
    free(fresh_dir);
}

/* The schema of the SQLite database at path, as text: every object of
 * sqlite_schema in the order made (type, name, table, SQL), the settings
 * a file keeps (user_version, application_id, page size, auto-vacuum,
 * journal mode, encoding), the settings' names in meta with their types
 * (the values are the database's own: keys, where its chain starts) and
 * the AUTOINCREMENT counters' tables.  malloc'd. */
static char *sqlite_schema_text(const char *path)
{
    static const char *const parts[] = {
        "SELECT group_concat(type || ' ' || name || ' ' || tbl_name || ' ' ||"
        " coalesce(sql, '-'), char(10)) FROM (SELECT * FROM sqlite_schema"
        " ORDER BY rowid)",
        "SELECT 'user_version ' || user_version FROM pragma_user_version",
        "SELECT 'application_id ' || application_id FROM pragma_application_id",
        "SELECT 'page_size ' || page_size FROM pragma_page_size",
        "SELECT 'auto_vacuum ' || auto_vacuum FROM pragma_auto_vacuum",
        "SELECT 'journal_mode ' || journal_mode FROM pragma_journal_mode",
        "SELECT 'encoding ' || encoding FROM pragma_encoding",
        "SELECT group_concat(key || ':' || typeof(value), ',') FROM (SELECT"
        " key, value FROM meta ORDER BY key)",
        "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_sequence"
        " ORDER BY name)"};
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    size_t len = 0;
    char *all = calloc(1, 1);
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, parts[i], -1, &st, NULL) != SQLITE_OK)
            fail_msg("%s: %s", parts[i], sqlite3_errmsg(db));
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        const char *part = (const char *)sqlite3_column_text(st, 0);
        part = part ? part : "";
        all = realloc(all, len + strlen(part) + 2);
        len += (size_t)sprintf(all + len, "%s\n", part);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return all;
}

/* The schema text of the database at path: sqlite_schema_text, or a
 * PostgreSQL store's (pg_schema). */
static char *schema_text(const char *path)
{
    return tu_pg() ? pg_schema(path) : sqlite_schema_text(path);
}

/* Fails naming where got and want first differ. */
static void same_text(const char *what, const char *got, const char *want)
{
    size_t at = 0;
    while (got[at] && got[at] == want[at])
        at++;
    if (got[at] || want[at])
        fail_msg("%s differs at ...%.200s\nwant: ...%.200s", what,
                 got + (at > 80 ? at - 80 : 0), want + (at > 80 ? at - 80 : 0));
}

/* Makes the SQLite database at path (a new file) as init makes its schema,
 * without init's own rows (agency, settings, users, workflow, first
 * event): the data key made first (crypto.c), then in one transaction
 * either every migration from 0 to HV_SCHEMA_VERSION one after another
 * with the C hooks they call (hv__store_migrate_steps, steps 1) or what
 * init runs, the snapshot and the migrations after it
 * (hv__store_create_schema, steps 0). */
static void empty_database_at(const char *path, int steps)
{
    hv_engine *e = hv__engine_new(path);
    char *err = NULL;
    assert_non_null(e);
    if (hv__store_open(path, 1, e->busy_ms, &e->db, &err) != HV_OK)
        fail_msg("%s: %s", path, err ? err : "?");
    if (hv__crypto_register(e) || hv__keys_create(e) ||
        hv__store_exec(e, "PRAGMA journal_mode=WAL") || hv__store_begin(e) ||
        (steps ? hv__store_migrate_steps(e, 0, HV_SCHEMA_VERSION)
               : hv__store_create_schema(e, HV_SCHEMA_VERSION)) ||
        hv__store_commit(e))
        fail_msg("making %s %s: %s", path, steps ? "step by step" : "at once",
                 hv_errmsg(e));
    hv_engine_close(e);
}

/* Appends text to the malloc'd *all (*len bytes long). */
static void append(char **all, size_t *len, const char *text)
{
    size_t n = strlen(text);
    *all = realloc(*all, *len + n + 1);
    memcpy(*all + *len, text, n + 1);
    *len += n;
}

/* The settings in meta whose values are the database's own, made at random
 * whenever a database is made, however it is made; each is dumped as its
 * type and length only (found by dumping two databases made alike):
 * - data_key: the data key, new and random for each database, wrapped
 *   (crypto.c, hv__keys_create; migration 7's hv_wrapped_key());
 * - kdf_salt, only when $HAVEN_PASSPHRASE is set: the passphrase's salt,
 *   then random for each database (hv_kdf_salt()).  Wrapped by a key file,
 *   as here, it is all zeros in every database, so it is compared.
 * No other value differs: an empty file's rows hold no time (no event,
 * no agency) and no other key.  Every other value in meta, and every row
 * of every other table (sqlite_sequence too), must be the same. */
static char *masked_meta_query(void)
{
    const char *p = getenv("HAVEN_PASSPHRASE");
    return sqlite3_mprintf("SELECT key, CASE WHEN key IN ('data_key'%s) THEN '<'"
                           " || typeof(value) || ' of ' || length(value) || '>'"
                           " ELSE value END AS value FROM meta ORDER BY 1, 2",
                           p && *p ? ", 'kdf_salt'" : "");
}

/* Every row of every table of the SQLite database at path, as text: the
 * tables by name, each one's rows ordered by all their columns, each value
 * written with its type (NULL, integer, real, 'text', X'blob'); the values
 * of masked_meta_query masked.  malloc'd. */
static char *sqlite_rows_text(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *tables = NULL, *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE"
                                            " type = 'table' ORDER BY name",
                                        -1, &tables, NULL),
                     SQLITE_OK);
    size_t len = 0;
    char *all = calloc(1, 1), buf[64];
    while (sqlite3_step(tables) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(tables, 0);
        char *sql = sqlite3_mprintf("SELECT * FROM \"%w\"", name);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        int columns = sqlite3_column_count(st);
        sqlite3_finalize(st);
        for (int c = 1; c <= columns; c++)
            sql = sqlite3_mprintf("%z%s%d", sql, c == 1 ? " ORDER BY " : ", ", c);
        if (strcmp(name, "meta") == 0) {
            sqlite3_free(sql);
            sql = masked_meta_query();
        }
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
            fail_msg("%s: %s", sql, sqlite3_errmsg(db));
        sqlite3_free(sql);
        append(&all, &len, "table ");
        append(&all, &len, name);
        append(&all, &len, "\n");
        while (sqlite3_step(st) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count(st); c++) {
                append(&all, &len, c ? " | " : "  ");
                switch (sqlite3_column_type(st, c)) {
                case SQLITE_NULL:
                    append(&all, &len, "NULL");
                    break;
                case SQLITE_INTEGER:
                    snprintf(buf, sizeof buf, "%lld", (long long)sqlite3_column_int64(st, c));
                    append(&all, &len, buf);
                    break;
                case SQLITE_FLOAT:
                    snprintf(buf, sizeof buf, "%.17g", sqlite3_column_double(st, c));
                    append(&all, &len, buf);
                    break;
                case SQLITE_TEXT:
                    append(&all, &len, "'");
                    append(&all, &len, (const char *)sqlite3_column_text(st, c));
                    append(&all, &len, "'");
                    break;
                default: {
                    const unsigned char *b = sqlite3_column_blob(st, c);
                    append(&all, &len, "X'");
                    for (int i = 0; i < sqlite3_column_bytes(st, c); i++) {
                        snprintf(buf, sizeof buf, "%02x", b[i]);
                        append(&all, &len, buf);
                    }
                    append(&all, &len, "'");
                }
                }
            }
            append(&all, &len, "\n");
        }
        sqlite3_finalize(st);
    }
    sqlite3_finalize(tables);
    sqlite3_close(db);
    return all;
}

/* A new database (made at once at a recent schema: newschema.h) has
 * exactly the schema of one made at version 1 and migrated on open, every
 * step one after another: each object with its SQL, in the same order, and
 * the same settings; likewise one made at each version between and
 * migrated.  And it holds the rows the migrations write into an empty
 * file, no more, no fewer, the same: made on an empty file at once and
 * step by step from 0, every row of every table and every value in meta
 * is the same (but masked_meta_query's: random for each database).
 * (The rows are compared on files made without init's own rows: a
 * database init made at an older version holds rows that version wrote,
 * e.g. its first event before the chain was keyed, which differ by
 * design.  On PostgreSQL too: init makes the new store from such a
 * file.) */
/* hv__schema_is_new_schema on the SQLite file at path. */
static int schema_is_havens(const char *path)
{
    sqlite3 *db = NULL;
    int r = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
            hv__schema_is_new_schema(db);
    sqlite3_close(db);
    return r;
}

static void a_new_database_is_the_one_every_migration_makes(void **state)
{
    (void)state;
    char fresh_path[4200];
    char *fresh_dir = init_at(HV_SCHEMA_VERSION, fresh_path);
    char *want = schema_text(fresh_path);
    /* (on PostgreSQL, from version 1 only: each store is slow to make) */
    int last = tu_pg() ? 1 : HV_SCHEMA_VERSION - 1;
    for (int v = 1; v <= last; v++) {
        char path[4200], what[64];
        char *dir = init_at(v, path);
        hv_engine_close(open_at(path));
        char *got = schema_text(path);
        snprintf(what, sizeof what, "schema %d migrated", v);
        same_text(what, got, want);
        /* (a long-lived engine trusts its own last digest only on this
         * schema: digest.c) */
        if (!tu_pg() && !schema_is_havens(path))
            fail_msg("%s: not the schema hv__schema_is_new_schema knows", what);
        free(got);
        tu_rmtree(dir);
        free(dir);
    }
    char *empty_dir = tu_tempdir(), steps_path[4200], once_path[4200];
    snprintf(steps_path, sizeof steps_path, "%s/steps.db", empty_dir);
    snprintf(once_path, sizeof once_path, "%s/once.db", empty_dir);
    empty_database_at(steps_path, 1);
    empty_database_at(once_path, 0);
    char *steps = sqlite_schema_text(steps_path), *once = sqlite_schema_text(once_path);
    same_text("the schema made at once", once, steps);
    free(steps);
    free(once);
    steps = sqlite_rows_text(steps_path);
    once = sqlite_rows_text(once_path);
    same_text("the rows made at once", once, steps);
    free(steps);
    free(once);
    tu_rmtree(empty_dir);
    free(empty_dir);
    assert_int_equal(tu_count(fresh_path, "SELECT count(*) FROM meta WHERE"
                                          " key IN ('audit_chain_from',"
                                          " 'audit_chain_keyed_from')"
                                          " AND value = '1'"), 2);
    assert_int_equal(tu_count(fresh_path, "SELECT count(*) FROM meta WHERE key ="
                                          " 'data_key' AND length(value) > 0"), 1);
    assert_int_equal(tu_count(fresh_path, "SELECT count(*) FROM events"), 1);
    hv_engine *e = open_at(fresh_path);
    audit_passes(e);
    hv_engine_close(e);
    if (!tu_pg()) {
        assert_true(schema_is_havens(fresh_path));
        /* a trigger planted in the file: not Haven's schema */
        sqlite3 *db = NULL;
        assert_int_equal(sqlite3_open(fresh_path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "CREATE TRIGGER planted AFTER INSERT ON events"
                                          " BEGIN SELECT 1; END",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(db);
        assert_false(schema_is_havens(fresh_path));
    }
    free(want);
    tu_rmtree(fresh_dir);
    free(fresh_dir);
}

/* A step that fails (here the table schema 12 adds is in the way) rolls the
 * whole migration back: the database is as it was, at its old version; once
 * the obstacle is gone it migrates. */
static void a_failed_migration_changes_nothing(void **state)
{
    (void)state;
    char path[4200], *err = NULL;
    char *dir = init_at(11, path);
    const char *obstacle = "CREATE TABLE devices (x integer)";
    if (tu_pg()) {
        assert_int_equal(pg_exec(path, obstacle), 0);
    } else {
        sqlite3 *db;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, obstacle, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
    }
    char *before = tu_fingerprint(path);
    hv_engine *e = NULL;
    hv_status st = hv_engine_open(path, &e, &err);
    assert_int_not_equal(st, HV_OK);
    assert_null(e);
    assert_non_null(strstr(err, "devices"));
    hv_free(err);
    assert_int_equal(tu_count(path, "PRAGMA user_version"), 11);
    char *after = tu_fingerprint(path);
    assert_string_equal(before, after);
    free(before);
    free(after);
    if (tu_pg()) {
        assert_int_equal(pg_exec(path, "DROP TABLE devices"), 0);
    } else {
        sqlite3 *db;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "DROP TABLE devices", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
    }
    e = open_at(path);
    assert_int_equal(tu_count(path, "PRAGMA user_version"), HV_SCHEMA_VERSION);
    audit_passes(e);
    hv_engine_close(e);
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
        cmocka_unit_test(older_schemas_are_migrated_on_open),
        cmocka_unit_test(a_new_database_is_the_one_every_migration_makes),
        cmocka_unit_test(a_failed_migration_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
