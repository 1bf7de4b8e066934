/*
 * pg_raw.c - PostgreSQL's own raw limits under Haven's PostgreSQL store,
 * measured over libpq the way bench_raw.c measures SQLite's: one-row
 * INSERTs into a table shaped like raw_inserts's (an integer key, a short
 * reference, a 399-byte body), each its own durable commit or 1,000 to a
 * transaction, and a one-row SELECT by primary key (one round trip).
 * Prepared statements, text parameters, nothing of Haven's.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

/* PostgreSQL's notices ("table r does not exist, skipping"): not shown. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* A connection to conninfo; dies on failure. */
static PGconn *raw_connect(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK)
        bench_die("pg raw: %s", PQerrorMessage(c));
    return c;
}

/* Runs sql on c expecting no rows; dies on failure. */
static void raw_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        bench_die("pg raw %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

/* Rows per second: n one-row INSERTs, `per` to a transaction (bench.h). */
double pg_raw_inserts(const char *conninfo, int n, int per)
{
    PGconn *c = raw_connect(conninfo);
    PQsetNoticeProcessor(c, quiet, NULL);
    raw_exec(c, "DROP TABLE IF EXISTS r");
    raw_exec(c, "CREATE TABLE r (id bigserial PRIMARY KEY, ref text, body text)");
    PGresult *p = PQprepare(c, "ins", "INSERT INTO r (ref, body) VALUES ($1, $2)", 2, NULL);
    if (PQresultStatus(p) != PGRES_COMMAND_OK)
        bench_die("pg raw prepare: %s", PQerrorMessage(c));
    PQclear(p);
    char body[400];
    memset(body, 'x', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    double t0 = bench_now();
    for (int i = 0; i < n; i++) {
        if (per > 1 && i % per == 0)
            raw_exec(c, "BEGIN");
        char ref[32];
        snprintf(ref, sizeof ref, "RAW-%d", i);
        const char *vals[2] = {ref, body};
        PGresult *r = PQexecPrepared(c, "ins", 2, vals, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            bench_die("pg raw insert: %s", PQerrorMessage(c));
        PQclear(r);
        if (per > 1 && (i % per == per - 1 || i == n - 1))
            raw_exec(c, "COMMIT");
    }
    double t = bench_now() - t0;
    PQfinish(c);
    return n / t;
}

/* Seconds per one-row SELECT by primary key (bench.h). */
double pg_raw_select(const char *conninfo, int n)
{
    PGconn *c = raw_connect(conninfo);
    PGresult *p = PQprepare(c, "sel", "SELECT ref, body FROM r WHERE id = $1", 1, NULL);
    if (PQresultStatus(p) != PGRES_COMMAND_OK)
        bench_die("pg raw prepare: %s", PQerrorMessage(c));
    PQclear(p);
    int q = 1000;
    double t0 = bench_now();
    for (int i = 0; i < q; i++) {
        char id[32];
        snprintf(id, sizeof id, "%d", 1 + (int)((i * 7919L) % n));
        const char *vals[1] = {id};
        PGresult *r = PQexecPrepared(c, "sel", 1, vals, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
            bench_die("pg raw select: %s", PQerrorMessage(c));
        PQclear(r);
    }
    double t = (bench_now() - t0) / q;
    PQfinish(c);
    return t;
}
