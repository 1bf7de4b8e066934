/* pg-retry URL: a PostgreSQL store's transactions when PostgreSQL fails
 * them (tests/pg/test_pg_retry.sh).  One connection is the store's (the
 * engine's SQLite connection over the hv_pg tables, as haven-sql opens
 * it); a second, plain libpq, plays another writer or the administrator.
 * Rows go to haven_sequence under names "hv_t_*", which nothing reads.
 * Prints one line per check: "ok WHAT" or "FAIL WHAT: why". */
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pgstore.h"
#include "store.h"

static sqlite3 *db;
static hv_pg *pg;
static PGconn *other;
static int failed;

static void check(int ok, const char *what, const char *why)
{
    printf("%s %s%s%s\n", ok ? "ok" : "FAIL", what, ok ? "" : ": ", ok ? "" : why);
    failed += !ok;
}

/* Runs sql on the store; its SQLite code. */
static int run(const char *sql) { return sqlite3_exec(db, sql, NULL, NULL, NULL); }

/* Runs sql on the other connection; its first value ("" when none). */
static const char *other_run(const char *sql)
{
    static char value[200];
    PGresult *res = PQexec(other, sql);
    value[0] = '\0';
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
        snprintf(value, sizeof value, "%s", PQgetvalue(res, 0, 0));
    else if (PQresultStatus(res) != PGRES_COMMAND_OK)
        snprintf(value, sizeof value, "error: %s", PQresultErrorMessage(res));
    PQclear(res);
    return value;
}

/* Whether the row "hv_t_<name>" is stored (as the other connection sees). */
static int stored(const char *name)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM haven_sequence WHERE name = 'hv_t_%s'", name);
    return !strcmp(other_run(sql), "1");
}

/* The administrator ends the store's server process (as a failover does). */
static void kill_store_backend(void)
{
    char sql[200];
    int pid = PQbackendPID(hv__pg_conn(pg));
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d, 5000)", pid);
    other_run(sql);
}

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static int busy_with(int rc, const char *words)
{
    return rc == SQLITE_BUSY && strstr(sqlite3_errmsg(db), words) != NULL;
}

/* A read snapshot that turns into a write after another writer committed:
 * busy, nothing written (without the check the write went through on a
 * stale read); with no writer in between, the write goes through. */
static void stale_snapshot(void)
{
    run("BEGIN");
    run("SELECT count(*) FROM haven_sequence");
    /* (the other writer starts as the store's writers do: the lock, the mark) */
    other_run("BEGIN; SELECT pg_advisory_xact_lock(4826117935);"
              " UPDATE haven_store SET value = value WHERE key = 'schema_version';"
              " INSERT INTO haven_sequence (name, seq) VALUES ('hv_t_other', 1); COMMIT");
    int rc = run("INSERT INTO haven_sequence (name, seq) VALUES ('hv_t_stale', 1)");
    check(busy_with(rc, "another writer changed the store"), "stale snapshot: busy",
          sqlite3_errmsg(db));
    run("ROLLBACK");
    check(!stored("stale") && stored("other"), "stale snapshot: nothing written", "stored");
    run("BEGIN");
    run("SELECT count(*) FROM haven_sequence");
    rc = run("INSERT INTO haven_sequence (name, seq) VALUES ('hv_t_fresh', 1)");
    check(rc == SQLITE_OK && run("COMMIT") == SQLITE_OK && stored("fresh"),
          "fresh snapshot: written", sqlite3_errmsg(db));
}

/* The connection lost between transactions: the next one connects again
 * and goes through. */
static void lost_between(void)
{
    int before = PQbackendPID(hv__pg_conn(pg));
    kill_store_backend();
    int rc = run("BEGIN IMMEDIATE");
    if (rc == SQLITE_OK)
        rc = run("INSERT INTO haven_sequence (name, seq) VALUES ('hv_t_after', 1)");
    if (rc == SQLITE_OK)
        rc = run("COMMIT");
    else
        run("ROLLBACK");
    check(rc == SQLITE_OK && stored("after"), "lost between transactions: the next one works",
          sqlite3_errmsg(db));
    check(PQbackendPID(hv__pg_conn(pg)) != before, "lost between transactions: a new connection",
          "same server process");
}

/* The connection lost inside a write: busy, the first row not kept; the
 * next transaction works. */
static void lost_inside(void)
{
    run("BEGIN IMMEDIATE");
    run("INSERT INTO haven_sequence (name, seq) VALUES ('hv_t_mid1', 1)");
    kill_store_backend();
    int rc = run("INSERT INTO haven_sequence (name, seq) VALUES ('hv_t_mid2', 1)");
    check(busy_with(rc, "connection to the server was lost"), "lost inside a write: busy",
          sqlite3_errmsg(db));
    rc = run("COMMIT");
    check(rc != SQLITE_OK, "lost inside a write: COMMIT refused", "COMMIT succeeded");
    run("ROLLBACK");
    check(!stored("mid1") && !stored("mid2"), "lost inside a write: nothing written", "stored");
    rc = run("INSERT INTO haven_sequence (name, seq) VALUES ('hv_t_next', 1)");
    check(rc == SQLITE_OK && stored("next"), "lost inside a write: the next write works",
          sqlite3_errmsg(db));
}

/* The connection lost at COMMIT: busy, never success, and again busy if
 * COMMIT is tried again before the rollback. */
static void lost_at_commit(void)
{
    run("BEGIN IMMEDIATE");
    run("INSERT INTO haven_sequence (name, seq) VALUES ('hv_t_commit', 1)");
    kill_store_backend();
    int rc = run("COMMIT");
    check(busy_with(rc, "may or may not have been saved"), "lost at COMMIT: busy",
          sqlite3_errmsg(db));
    rc = run("COMMIT");
    check(rc != SQLITE_OK, "lost at COMMIT: a second COMMIT refused", "COMMIT succeeded");
    run("ROLLBACK");
    check(!stored("commit"), "lost at COMMIT: not written (the server rolled back)", "stored");
}

/* A deadlock with another session inside a write (the store is the one
 * PostgreSQL cancels: the other waits 10 s before it looks): busy, the
 * write's first row not kept, the other goes on. */
static void deadlock(void)
{
    other_run("INSERT INTO haven_sequence (name, seq) VALUES ('hv_t_x', 0), ('hv_t_y', 0)");
    other_run("BEGIN; SET LOCAL deadlock_timeout = '10s'");
    other_run("UPDATE haven_sequence SET seq = 10 WHERE name = 'hv_t_y'");
    run("BEGIN IMMEDIATE");
    run("UPDATE haven_sequence SET seq = 1 WHERE name = 'hv_t_x'");
    PQsendQuery(other, "UPDATE haven_sequence SET seq = 10 WHERE name = 'hv_t_x'");
    int rc = run("UPDATE haven_sequence SET seq = 1 WHERE name = 'hv_t_y'");
    check(busy_with(rc, "deadlock detected") && strstr(sqlite3_errmsg(db), "try again"),
          "deadlock: busy", sqlite3_errmsg(db));
    run("ROLLBACK");
    PGresult *res;
    while ((res = PQgetResult(other)) != NULL)
        PQclear(res);
    other_run("COMMIT");
    check(!strcmp(other_run("SELECT string_agg(seq::text, ',' ORDER BY name) FROM haven_sequence"
                            " WHERE name IN ('hv_t_x', 'hv_t_y')"), "10,10"),
          "deadlock: nothing of the cancelled write kept", other_run("SELECT 1"));
    rc = run("UPDATE haven_sequence SET seq = 2 WHERE name = 'hv_t_x'");
    check(rc == SQLITE_OK, "deadlock: the next write works", sqlite3_errmsg(db));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pg-retry URL\n");
        return 64;
    }
    char *err = NULL;
    if (hv__store_open_pg("store", argv[1], 0, 5000, &db, &pg, &err) != HV_OK) {
        fprintf(stderr, "pg-retry: %s\n", err ? err : "cannot open");
        return 1;
    }
    other = PQconnectdb(argv[1]);
    if (PQstatus(other) != CONNECTION_OK) {
        fprintf(stderr, "pg-retry: %s", PQerrorMessage(other));
        return 1;
    }
    PQsetNoticeProcessor(other, quiet, NULL);
    stale_snapshot();
    lost_between();
    lost_inside();
    lost_at_commit();
    deadlock();
    other_run("DELETE FROM haven_sequence WHERE name LIKE 'hv\\_t\\_%'");
    PQfinish(other);
    sqlite3_close(db);
    hv__pg_close(pg);
    return failed ? 1 : 0;
}
