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

/* Reads the results of a pipeline up to its sync; dies on an error. */
static void pipeline_results(PGconn *c)
{
    for (;;) {
        PGresult *r = PQgetResult(c);
        if (!r)
            continue; /* the end of one query's results */
        ExecStatusType st = PQresultStatus(r);
        PQclear(r);
        if (st == PGRES_PIPELINE_SYNC)
            return;
        if (st != PGRES_COMMAND_OK)
            bench_die("pg raw pipeline: %s", PQerrorMessage(c));
    }
}

/* Sends one statement of a pipeline; dies on failure. */
static void pipeline_send(PGconn *c, const char *sql)
{
    if (!PQsendQueryParams(c, sql, 0, NULL, NULL, NULL, NULL, 0))
        bench_die("pg raw pipeline: %s", PQerrorMessage(c));
}

/* Rows per second: n one-row INSERTs, `per` to a transaction, each
 * waited for, or (pipelined) a transaction's statements sent in libpq's
 * pipeline mode and their answers read at its end (bench.h). */
double pg_raw_inserts(const char *conninfo, int n, int per, int pipelined)
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
    if (pipelined && !PQenterPipelineMode(c))
        bench_die("pg raw: no pipeline mode: %s", PQerrorMessage(c));
    double t0 = bench_now();
    for (int i = 0; i < n; i++) {
        if (per > 1 && i % per == 0) {
            if (pipelined)
                pipeline_send(c, "BEGIN");
            else
                raw_exec(c, "BEGIN");
        }
        char ref[32];
        snprintf(ref, sizeof ref, "RAW-%d", i);
        const char *vals[2] = {ref, body};
        if (pipelined) {
            if (!PQsendQueryPrepared(c, "ins", 2, vals, NULL, NULL, 0))
                bench_die("pg raw insert: %s", PQerrorMessage(c));
        } else {
            PGresult *r = PQexecPrepared(c, "ins", 2, vals, NULL, NULL, 0);
            if (PQresultStatus(r) != PGRES_COMMAND_OK)
                bench_die("pg raw insert: %s", PQerrorMessage(c));
            PQclear(r);
        }
        if (per > 1 && (i % per == per - 1 || i == n - 1)) {
            if (!pipelined) {
                raw_exec(c, "COMMIT");
                continue;
            }
            pipeline_send(c, "COMMIT");
            if (!PQpipelineSync(c))
                bench_die("pg raw pipeline: %s", PQerrorMessage(c));
            pipeline_results(c);
        }
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

/* Seconds per run of sql (no parameters, rows read and dropped), q runs
 * on one connection to conninfo; out: the round trips and bytes received
 * of the runs (bench.h). */
double pg_raw_query(const char *conninfo, const char *sql, int q, long *trips, long *bytes)
{
    PGconn *c = raw_connect(conninfo);
    long t_before = pg_round_trips, b_before = pg_bytes_in;
    double t0 = bench_now();
    for (int i = 0; i < q; i++) {
        PGresult *r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            bench_die("pg raw %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
    }
    double t = (bench_now() - t0) / q;
    *trips = pg_round_trips - t_before;
    *bytes = pg_bytes_in - b_before;
    PQfinish(c);
    return t;
}
