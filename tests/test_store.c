/* test_store.c - the SQLite store: creation, settings, refusing bad files,
 * the append-only events, busy databases, allocation failures. */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "jbuf.h"
#include "migrate.h"
#include "store.h"
#include "testutil.h"

static void init_sets_up_the_database(void **state)
{
    (void)state;
    char *dir;
    hv_engine *e = tu_fresh_engine(&dir, NULL);
    const char *db = tu_db_path(dir);
    sqlite3 *raw;
    sqlite3_stmt *st;
    if (tu_pg()) {
        print_message("(on PostgreSQL: no journal mode, the file's own setting)\n");
    } else {
        assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
        sqlite3_finalize(st);
        sqlite3_close(raw);
    }
    assert_int_equal(tu_count(db, "PRAGMA user_version"), HV_SCHEMA_VERSION);
    assert_int_equal(tu_count(db, "SELECT count(*) FROM agencies WHERE code='CP'"), 1);
    assert_int_equal(tu_count(db, "SELECT count(*) FROM users WHERE login='admin'"
                                  " AND role='administrator'"), 1);
    assert_int_equal(tu_count(db, "SELECT count(*) FROM workflows WHERE code='iasc'"), 1);
    assert_int_equal(tu_count(db, "SELECT count(*) FROM events WHERE kind='initialised'"), 1);
    /* The engine's own connection has the safety settings on. */
    assert_int_equal(sqlite3_exec(e->db, "PRAGMA foreign_keys", NULL, NULL, NULL), SQLITE_OK);
    int on = 0;
    sqlite3_db_config(e->db, SQLITE_DBCONFIG_DEFENSIVE, -1, &on);
    assert_int_equal(on, 1);
    sqlite3_db_config(e->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, -1, &on);
    assert_int_equal(on, 0);
    sqlite3_db_config(e->db, SQLITE_DBCONFIG_ENABLE_FKEY, -1, &on);
    assert_int_equal(on, 1);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(e->db, "PRAGMA secure_delete", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 1);
    sqlite3_finalize(q);
    assert_int_equal(sqlite3_prepare_v2(e->db, "PRAGMA synchronous", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 2); /* FULL */
    sqlite3_finalize(q);
    /* A scratch database (a scenario's) commits without waiting for the
     * disk; a case database never does (above). */
    assert_int_equal(hv_engine_set_scratch(e), HV_OK);
    assert_int_equal(sqlite3_prepare_v2(e->db, "PRAGMA synchronous", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 0); /* OFF */
    sqlite3_finalize(q);
    /* Foreign keys are enforced: a task for a case that does not exist. */
    assert_int_not_equal(sqlite3_exec(e->db,
                                      "INSERT INTO tasks (case_id, kind, due_at,"
                                      " created_at) VALUES (4242, 'x', 0, 0)",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
    hv_engine_close(e);
    tu_rmtree(dir);
    free(dir);
}

static void events_are_append_only(void **state)
{
    (void)state;
    char *dir;
    hv_engine *e = tu_fresh_engine(&dir, NULL);
    long before = tu_count(tu_db_path(dir), "SELECT count(*) FROM events");
    assert_true(before >= 1);
    assert_int_not_equal(sqlite3_exec(e->db, "UPDATE events SET kind='x'", NULL, NULL, NULL), SQLITE_OK);
    assert_non_null(strstr(sqlite3_errmsg(e->db), "append-only"));
    assert_int_not_equal(sqlite3_exec(e->db, "DELETE FROM events", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(tu_count(tu_db_path(dir), "SELECT count(*) FROM events"), before);
    hv_engine_close(e);
    tu_rmtree(dir);
    free(dir);
}

static void init_refuses_an_existing_database(void **state)
{
    (void)state;
    char *dir, *err = NULL;
    hv_engine *e = tu_fresh_engine(&dir, NULL);
    hv_engine_close(e);
    char *before = tu_fingerprint(tu_db_path(dir));
    hv_init_options o = {.agency = "XY", .workflow_path = tu_source_path("workflows/iasc.yaml")};
    assert_int_equal(hv_engine_init(tu_db_path(dir), &o, &err), HV_CANTCREATE);
    assert_non_null(strstr(err, "already exists"));
    hv_free(err);
    char *after = tu_fingerprint(tu_db_path(dir));
    assert_string_equal(before, after);
    free(before);
    free(after);
    tu_rmtree(dir);
    free(dir);
}

static void init_validates_its_options(void **state)
{
    (void)state;
    char *dir = tu_tempdir(), *err = NULL;
    const char *db = tu_db_path(dir);
    hv_init_options o = {.agency = "cp", .workflow_path = tu_source_path("workflows/iasc.yaml")};
    assert_int_equal(hv_engine_init(db, &o, &err), HV_USAGE);
    hv_free(err);
    o.agency = "CP";
    o.ref_pattern = "CP-{name}-NNN";
    assert_int_equal(hv_engine_init(db, &o, &err), HV_USAGE);
    assert_non_null(strstr(err, "ref-pattern"));
    hv_free(err);
    o.ref_pattern = "CP-YYYY-NN"; /* too short a sequence */
    assert_int_equal(hv_engine_init(db, &o, &err), HV_USAGE);
    hv_free(err);
    o.ref_pattern = NULL;
    o.workflow_path = "/nonexistent/wf.yaml";
    assert_int_equal(hv_engine_init(db, &o, &err), HV_NOINPUT);
    hv_free(err);
    o.workflow_path = tu_source_path("tests/fixtures/workflows/bad_unknown_key.yaml");
    assert_int_equal(hv_engine_init(db, &o, &err), HV_INVALID);
    hv_free(err);
    /* Nothing was left behind by any refusal. */
    assert_int_equal(hv_database_exists(db), 0);
    o.workflow_path = tu_source_path("workflows/iasc.yaml");
    assert_int_equal(hv_engine_init("/nonexistent-dir/x/haven.db", &o, &err), HV_CANTCREATE);
    hv_free(err);
    tu_rmtree(dir);
    free(dir);
}

static void open_refuses_what_is_not_a_haven_database(void **state)
{
    (void)state;
    char *dir = tu_tempdir(), *err = NULL;
    char path[4200];
    hv_engine *e = NULL;
    /* Missing file: nothing is created. */
    snprintf(path, sizeof path, "%s/missing.db", dir);
    assert_int_equal(hv_engine_open(path, &e, &err), HV_NOINPUT);
    assert_null(e);
    assert_non_null(strstr(err, "haven init"));
    hv_free(err);
    assert_int_equal(access(path, F_OK), -1);
    /* A text file. */
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 200; i++)
        fputs("this is not a database at all\n", f);
    fclose(f);
    assert_int_equal(hv_engine_open(path, &e, &err), HV_CORRUPT);
    assert_null(e);
    hv_free(err);
    /* An SQLite database that is not Haven's. */
    snprintf(path, sizeof path, "%s/other.db", dir);
    sqlite3 *raw;
    sqlite3_open(path, &raw);
    sqlite3_exec(raw, "CREATE TABLE t(x)", NULL, NULL, NULL);
    sqlite3_close(raw);
    assert_int_equal(hv_engine_open(path, &e, &err), HV_CORRUPT);
    assert_non_null(strstr(err, "not a haven database"));
    hv_free(err);
    tu_rmtree(dir);
    free(dir);
}

static void open_refuses_a_truncated_database(void **state)
{
    (void)state;
    TU_SKIP_ON_PG("a SQLite file cut short; PostgreSQL keeps no such file");
    char *dir, *err = NULL;
    hv_engine *e = tu_fresh_engine(&dir, NULL);
    const char *in = "{\"source\":\"school\",\"location\":\"North\","
                     "\"concerns\":[\"neglect\"],\"child\":{\"name\":\"Noor\","
                     "\"age\":12,\"sex\":\"female\"},"
                     "\"consent\":{\"registration\":\"caregiver\"}}";
    char *ref = NULL;
    assert_int_equal(hv_case_register(e, in, 0, &ref), HV_OK);
    hv_free(ref);
    hv_engine_close(e);
    /* Checkpoint the WAL into the file, then cut the file short. */
    sqlite3 *raw;
    sqlite3_open(tu_db_path(dir), &raw);
    sqlite3_exec(raw, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    sqlite3_close(raw);
    assert_int_equal(truncate(tu_db_path(dir), 4096 * 3), 0);
    hv_status st = hv_engine_open(tu_db_path(dir), &e, &err);
    if (st == HV_OK) {
        char *json = NULL;
        st = hv_case_list(e, NULL, &json);
        hv_free(json);
        hv_engine_close(e);
    } else {
        hv_free(err);
    }
    assert_int_equal(st, HV_CORRUPT);
    tu_rmtree(dir);
    free(dir);
}

static void a_locked_database_is_busy_and_unchanged(void **state)
{
    (void)state;
    char *dir;
    hv_engine *e = tu_fresh_engine(&dir, NULL);
    hv_engine_set_busy_timeout(e, 100);
    /* another writer holds the lock (on PostgreSQL, the store's write
     * lock, taken at the first table a write transaction touches) */
    sqlite3 *other = tu_sql_open(tu_db_path(dir));
    assert_non_null(other);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE; SELECT count(*) FROM meta",
                                  NULL, NULL, NULL), SQLITE_OK);
    const char *in = "{\"source\":\"school\",\"location\":\"North\","
                     "\"concerns\":[\"neglect\"],\"child\":{\"name\":\"Noor\","
                     "\"age\":12,\"sex\":\"female\"},"
                     "\"consent\":{\"registration\":\"caregiver\"}}";
    char *ref = NULL;
    assert_int_equal(hv_case_register(e, in, 0, &ref), HV_BUSY);
    assert_null(ref);
    assert_non_null(strstr(hv_errmsg(e), "locked"));
    sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
    tu_sql_close(other);
    assert_int_equal(tu_count(tu_db_path(dir), "SELECT count(*) FROM cases"), 0);
    /* And the next call works. */
    assert_int_equal(hv_case_register(e, in, 0, &ref), HV_OK);
    hv_free(ref);
    hv_engine_close(e);
    tu_rmtree(dir);
    free(dir);
}

static void open_survives_allocation_failures(void **state)
{
    (void)state;
    char *dir;
    hv_engine *e = tu_fresh_engine(&dir, NULL);
    hv_engine_close(e);
    int succeeded = 0;
    for (long n = 0; n < 100000 && !succeeded; n++) {
        char *err = NULL;
        e = NULL;
        hv__alloc_fail_after(n);
        hv_status st = hv_engine_open(tu_db_path(dir), &e, &err);
        hv__alloc_fail_after(-1);
        if (st == HV_OK) {
            succeeded = 1;
            hv_engine_close(e);
        } else {
            assert_null(e);
        }
        hv_free(err);
    }
    assert_true(succeeded);
    tu_rmtree(dir);
    free(dir);
}

/* A live database (the default) keeps the system clock: no call sets it,
 * and a simulated one takes no time outside 1900-2200. */
static void a_live_database_keeps_the_system_clock(void **state)
{
    (void)state;
    char *dir = tu_tempdir(), *err = NULL;
    const char *db = tu_db_path(dir);
    hv_init_options o = {.agency = "CP",
                         .workflow_path = tu_source_path("workflows/iasc.yaml"),
                         .now = "2026-11-28T09:00:00Z"};
    /* no --now for the creation of a live database */
    assert_int_equal(hv_engine_init(db, &o, &err), HV_USAGE);
    assert_non_null(strstr(err, "--now"));
    hv_free(err);
    assert_int_equal(hv_database_exists(db), 0);
    o.now = NULL;
    assert_int_equal(hv_engine_init(db, &o, &err), HV_OK);
    hv_engine *e = NULL;
    assert_int_equal(hv_engine_open(db, &e, &err), HV_OK);
    assert_int_equal(hv_engine_is_simulated(e), 0);
    assert_int_equal(hv_clock_fix(e, TU_T0), HV_USAGE);
    assert_non_null(strstr(hv_errmsg(e), "live"));
    assert_int_equal(hv_clock_simulate(e, TU_T0), HV_USAGE);
    assert_int_equal(hv_clock_set(e, TU_T0), HV_INVALID);
    assert_int_equal(hv_clock_advance(e, 3600), HV_INVALID);
    assert_int_equal(hv_clock_mode_get(e), HV_CLOCK_SYSTEM);
    assert_true(hv_now(e) > TU_T0 - 86400 * 365);
    hv_engine_close(e);
    tu_rmtree(dir);
    free(dir);
    /* simulated: the bounds */
    e = tu_fresh_engine(&dir, NULL);
    assert_int_equal(hv_engine_is_simulated(e), 1);
    assert_int_equal(hv_clock_fix(e, HV_TIME_MIN - 1), HV_INVALID);
    assert_int_equal(hv_clock_simulate(e, HV_TIME_MAX + 1), HV_INVALID);
    assert_int_equal(hv_now(e), TU_T0);
    assert_int_equal(hv_clock_set(e, HV_TIME_MAX + 1), HV_INVALID);
    assert_int_equal(hv_clock_advance(e, HV_TIME_MAX - TU_T0 + 1), HV_INVALID);
    assert_int_equal(hv_clock_advance(e, INT64_MAX), HV_INVALID);
    assert_int_equal(hv_now(e), TU_T0);
    assert_int_equal(hv_clock_advance(e, HV_TIME_MAX - TU_T0), HV_OK);
    assert_int_equal(hv_now(e), HV_TIME_MAX);
    hv_engine_close(e);
    tu_rmtree(dir);
    free(dir);
}

static void the_clock_is_fixed_or_simulated(void **state)
{
    (void)state;
    char *dir;
    hv_engine *e = tu_fresh_engine(&dir, NULL);
    assert_int_equal(hv_now(e), TU_T0);
    assert_int_equal(hv_clock_advance(e, 3600), HV_OK);
    assert_int_equal(hv_now(e), TU_T0 + 3600);
    assert_int_equal(hv_clock_advance(e, -1), HV_INVALID);
    hv_clock_simulate(e, TU_T0);
    assert_int_equal(hv_clock_mode_get(e), HV_CLOCK_SIMULATED);
    assert_int_equal(hv_clock_set(e, TU_T0 + 86400), HV_OK);
    assert_int_equal(hv_now(e), TU_T0 + 86400);
    hv_clock_use_system(e);
    assert_true(hv_now(e) > TU_T0 - 86400 * 365);
    assert_int_equal(hv_clock_advance(e, 10), HV_INVALID);
    hv_engine_close(e);
    tu_rmtree(dir);
    free(dir);
}

/* The event's JSON text written directly (jbuf.c hv__json_compact) is
 * byte for byte jansson's compact text, which the audit chain hashes:
 * escapes, a NUL inside a string, empty and nested containers, keys in
 * insertion order, and what it leaves to jansson (reals, UTF-8). */
static void event_text_is_janssons(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{}", "[]", "{\"a\":[],\"b\":{}}",
        "{\"z\":1,\"a\":-9223372036854775807,\"m\":[true,false,null]}",
        "{\"q\":\"say \\\"hi\\\" \\\\ / \\b\\f\\n\\r\\t \\u0001\\u001f \\u007f\"}",
        "{\"nul\":\"a\\u0000b\"}",
        "{\"score\":12.5,\"whole\":3.0}",
        "[\"Noor \\u00c7elik\", \"\\u2028\"]",
        "{\"deep\":[[[[[[[[[[[[[[[[[[[["
        "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]"
        "]]]]]]]]]]]]]]]]]]]]}",
        "{\"hook\":\"registration.lua\",\"result\":{\"eligible\":true,"
        "\"reasons\":[\"young_child_neglect\"]},\"n\":0}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        json_error_t err;
        json_t *v = json_loads(docs[i], JSON_ALLOW_NUL, &err);
        if (!v)
            print_message("doc %zu: %s\n", i, err.text);
        assert_non_null(v);
        char *want = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
        char *have = hv__json_compact(v);
        assert_non_null(want);
        assert_non_null(have);
        assert_string_equal(have, want);
        hv__free(want);
        hv__free(have);
        json_decref(v);
    }
    /* a key order that is not sorted stays as inserted; a NUL in a key */
    json_t *o = json_object();
    json_object_setn_new(o, "k\0ey", 4, json_integer(1));
    json_object_set_new(o, "source", json_string("school"));
    json_object_set_new(o, "by_role", json_string("caseworker"));
    json_object_set_new(o, "source", json_string("police"));
    char *have = hv__json_compact(o);
    char *want = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(have, want);
    assert_string_equal(have, "{\"k\\u0000ey\":1,\"source\":\"police\","
                              "\"by_role\":\"caseworker\"}");
    hv__free(want);
    hv__free(have);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_sets_up_the_database),
        cmocka_unit_test(event_text_is_janssons),
        cmocka_unit_test(events_are_append_only),
        cmocka_unit_test(init_refuses_an_existing_database),
        cmocka_unit_test(init_validates_its_options),
        cmocka_unit_test(open_refuses_what_is_not_a_haven_database),
        cmocka_unit_test(open_refuses_a_truncated_database),
        cmocka_unit_test(a_locked_database_is_busy_and_unchanged),
        cmocka_unit_test(open_survives_allocation_failures),
        cmocka_unit_test(the_clock_is_fixed_or_simulated),
        cmocka_unit_test(a_live_database_keeps_the_system_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
