/*
 * bench_pg.c - the SQLite file against the PostgreSQL store (issue 17),
 * side by side in one run: the same engine calls and commands on the same
 * caseload (the SQLite caseload copied row for row into a PostgreSQL store
 * that `haven init`'s own code makes from the file's schema, its key files
 * beside it), the repetitions of the two stores interleaved, and each
 * store's raw limits (plain SQLite; plain libpq, pg_raw.c) measured the
 * same way.
 *
 * The cluster is started for this section alone and stopped after it
 * (tests/pg/cluster.sh start DIR durable): a Unix socket, fsync and
 * synchronous_commit on, so a commit on either store returns once it is on
 * the disk (SQLite: WAL, synchronous=FULL).  Without a PostgreSQL server
 * the section says so and is left out.
 *
 * Round trips: every message libpq sends this process's PostgreSQL
 * connections is counted (send() below, which libpq calls through the
 * PLT: a synchronous libpq call is one message and one wait for the
 * answer), so each figure on PostgreSQL says how many round trips it took,
 * and the bytes libpq received (recv()).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "fileio.h"
#include "pgstore.h"

long pg_round_trips, pg_bytes_in;

/* libpq's send(): counted, then passed on. */
ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    static ssize_t (*real)(int, const void *, size_t, int);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "send");
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    pg_round_trips++;
    return real(fd, buf, len, flags);
}

/* libpq's recv(): the bytes counted, then passed on. */
ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    static ssize_t (*real)(int, void *, size_t, int);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "recv");
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    ssize_t n = real(fd, buf, len, flags);
    if (n > 0)
        pg_bytes_in += n;
    return n;
}

static const char *sock; /* the cluster's socket folder */

/* PostgreSQL's notices ("... does not exist, skipping"): not shown. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* The store URL of database name (no password: the socket is trusted). */
static void store_url(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "postgresql:///%s?host=%s&user=haven", name, sock);
}

/* Runs sql on the cluster's maintenance database; dies on failure. */
static void admin(const char *sql)
{
    char ci[4200];
    snprintf(ci, sizeof ci, "host=%s user=haven dbname=postgres", sock);
    PGconn *c = PQconnectdb(ci);
    if (PQstatus(c) != CONNECTION_OK)
        bench_die("PostgreSQL at %s: %s", sock, PQerrorMessage(c));
    PQsetNoticeProcessor(c, quiet, NULL);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        bench_die("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

/* The key files of a store (fileio.h: in HAVEN_STATE_DIR). */
static const char *const side[] = {".key", ".audit-key", ".checkpoints"};

/* A new, empty database for the store url (bench.h). */
void pg_empty_store(const char *url)
{
    const char *name = strstr(url, ":///");
    if (!name)
        bench_die("%s: not a bench store URL", url);
    name += 4;
    char sql[512];
    int len = (int)strcspn(name, "?");
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %.*s WITH (FORCE)", len, name);
    admin(sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE %.*s", len, name);
    admin(sql);
    for (size_t i = 0; i < sizeof side / sizeof side[0]; i++) {
        char p[4300];
        hv__side_path(url, side[i], p, sizeof p);
        unlink(p);
    }
}

/* Copies the file from to the path to (the owner's alone); dies on failure. */
static void copy_file(const char *from, const char *to)
{
    int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FILE *a = fopen(from, "rb"), *b = a && fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!a || !b)
        bench_die("copy %s to %s: %s", from, to, strerror(errno));
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0)
        if (fwrite(buf, 1, n, b) != n)
            bench_die("copy to %s: %s", to, strerror(errno));
    fclose(a);
    if (fclose(b))
        bench_die("copy to %s: %s", to, strerror(errno));
}

/* An empty SQLite file at path with the schema, sequences and version of
 * the caseload file src: what hv__pg_create makes the store from. */
static void empty_copy(const char *src, const char *path)
{
    sqlite3 *db;
    unlink(path);
    char *attach = sqlite3_mprintf("ATTACH %Q AS src", src);
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, attach, NULL, NULL, NULL) != SQLITE_OK)
        bench_die("%s: %s", path, sqlite3_errmsg(db));
    sqlite3_free(attach);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "SELECT sql FROM src.sqlite_master WHERE sql IS NOT NULL"
                           " AND name NOT LIKE 'sqlite_%' ORDER BY type = 'table' DESC,"
                           " type = 'index' DESC, rowid", -1, &st, NULL);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    while (sqlite3_step(st) == SQLITE_ROW)
        if (sqlite3_exec(db, (const char *)sqlite3_column_text(st, 0), NULL, NULL, NULL))
            bench_die("empty copy: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    int version = 0;
    sqlite3_prepare_v2(db, "PRAGMA src.user_version", -1, &st, NULL);
    if (sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", version);
    if (sqlite3_exec(db, "INSERT INTO sqlite_sequence SELECT * FROM src.sqlite_sequence;"
                         " COMMIT", NULL, NULL, NULL) ||
        sqlite3_exec(db, pragma, NULL, NULL, NULL))
        bench_die("empty copy: %s", sqlite3_errmsg(db));
    sqlite3_close(db);
}

/* A growing text buffer for COPY's rows. */
typedef struct {
    char *s;
    size_t n, cap;
} text;

/* Adds the n bytes at p to t; dies when out of memory. */
static void text_put(text *t, const char *p, size_t n)
{
    if (t->n + n + 1 > t->cap) {
        t->cap = (t->n + n + 1) * 2;
        if (!(t->s = realloc(t->s, t->cap)))
            bench_die("out of memory");
    }
    memcpy(t->s + t->n, p, n);
    t->n += n;
}

/* Column c of the row st in COPY's text format, onto t. */
static void copy_value(text *t, sqlite3_stmt *st, int c)
{
    static const char hex[] = "0123456789abcdef";
    char num[32];
    switch (sqlite3_column_type(st, c)) {
    case SQLITE_NULL:
        text_put(t, "\\N", 2);
        break;
    case SQLITE_INTEGER:
        snprintf(num, sizeof num, "%lld", (long long)sqlite3_column_int64(st, c));
        text_put(t, num, strlen(num));
        break;
    case SQLITE_FLOAT:
        snprintf(num, sizeof num, "%.17g", sqlite3_column_double(st, c));
        text_put(t, num, strlen(num));
        break;
    case SQLITE_BLOB: {
        const unsigned char *b = sqlite3_column_blob(st, c);
        int n = sqlite3_column_bytes(st, c);
        text_put(t, "\\\\x", 3);
        for (int i = 0; i < n; i++) {
            char h[2] = {hex[b[i] >> 4], hex[b[i] & 15]};
            text_put(t, h, 2);
        }
        break;
    }
    default: {
        const unsigned char *p = sqlite3_column_text(st, c);
        for (int i = 0, n = sqlite3_column_bytes(st, c); i < n; i++) {
            const char *e = p[i] == '\\' ? "\\\\" : p[i] == '\n' ? "\\n" : p[i] == '\r' ? "\\r"
                            : p[i] == '\t' ? "\\t" : NULL;
            if (e)
                text_put(t, e, 2);
            else
                text_put(t, (const char *)p + i, 1);
        }
    }
    }
}

/* The rows of table name in src into the same table through conn (COPY). */
static long copy_table(sqlite3 *src, PGconn *conn, const char *name)
{
    char *sql = sqlite3_mprintf("SELECT * FROM \"%w\"", name);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(src, sql, -1, &st, NULL) != SQLITE_OK)
        bench_die("copy %s: %s", name, sqlite3_errmsg(src));
    sqlite3_free(sql);
    text t = {0};
    int ncol = sqlite3_column_count(st);
    text_put(&t, "COPY \"", 6);
    text_put(&t, name, strlen(name));
    text_put(&t, "\" (", 3);
    for (int c = 0; c < ncol; c++) {
        const char *col = sqlite3_column_name(st, c);
        text_put(&t, c ? ", \"" : "\"", c ? 3 : 1);
        text_put(&t, col, strlen(col));
        text_put(&t, "\"", 1);
    }
    text_put(&t, ") FROM STDIN", 13);
    PGresult *r = PQexec(conn, t.s);
    if (PQresultStatus(r) != PGRES_COPY_IN)
        bench_die("copy %s: %s", name, PQerrorMessage(conn));
    PQclear(r);
    long rows = 0;
    t.n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int c = 0; c < ncol; c++) {
            if (c)
                text_put(&t, "\t", 1);
            copy_value(&t, st, c);
        }
        text_put(&t, "\n", 1);
        rows++;
        if (t.n > 1 << 20) {
            if (PQputCopyData(conn, t.s, (int)t.n) != 1)
                bench_die("copy %s: %s", name, PQerrorMessage(conn));
            t.n = 0;
        }
    }
    sqlite3_finalize(st);
    if ((t.n && PQputCopyData(conn, t.s, (int)t.n) != 1) || PQputCopyEnd(conn, NULL) != 1)
        bench_die("copy %s: %s", name, PQerrorMessage(conn));
    free(t.s);
    while ((r = PQgetResult(conn))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            bench_die("copy %s: %s", name, PQerrorMessage(conn));
        PQclear(r);
    }
    return rows;
}

/* The caseload file copied into the store url: the store made by
 * hv__pg_create (init's own code) from an empty copy of the file's schema,
 * then every row of every table with COPY in one transaction (triggers and
 * foreign-key checks off while loading rows a store already checked:
 * session_replication_role replica), then ANALYZE; its key files beside
 * the store.  Returns the seconds the copy took; out: *rows. */
static double copy_caseload(const char *caseload, const char *url, const char *data_dir,
                            long *rows)
{
    char *err = NULL, schema[4200], ci[4200];
    snprintf(schema, sizeof schema, "%s/pg-schema.db", data_dir);
    pg_empty_store(url);
    double t0 = bench_now();
    empty_copy(caseload, schema);
    if (hv__pg_create(url, schema, &err) != HV_OK)
        bench_die("making the PostgreSQL store: %s", err ? err : "failed");
    unlink(schema);
    snprintf(ci, sizeof ci, "host=%s user=haven dbname=haven_bench_caseload", sock);
    PGconn *conn = PQconnectdb(ci);
    sqlite3 *src;
    if (PQstatus(conn) != CONNECTION_OK ||
        sqlite3_open_v2(caseload, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        bench_die("copying %s: cannot open", caseload);
    PGresult *r = PQexec(conn, "BEGIN; SET LOCAL session_replication_role = replica");
    PQclear(r);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(src, "SELECT name FROM sqlite_master WHERE type = 'table' AND name"
                            " NOT LIKE 'sqlite_%' ORDER BY rowid", -1, &st, NULL);
    *rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW)
        *rows += copy_table(src, conn, (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(src);
    r = PQexec(conn, "COMMIT");
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        bench_die("copying the caseload: %s", PQerrorMessage(conn));
    PQclear(r);
    r = PQexec(conn, "ANALYZE");
    PQclear(r);
    PQfinish(conn);
    double t = bench_now() - t0;
    for (size_t i = 0; i < sizeof side / sizeof side[0]; i++) {
        char from[4300], to[4300];
        snprintf(from, sizeof from, "%s%s", caseload, side[i]);
        hv__side_path(url, side[i], to, sizeof to);
        copy_file(from, to);
    }
    return t;
}

/* One figure on both stores. */
typedef struct {
    const char *what, *unit; /* unit "/s": a rate; "s": a time */
    series s, p;             /* SQLite file, PostgreSQL */
    double trips;            /* PostgreSQL round trips per item (-1: not counted) */
    double kib;              /* KiB received from PostgreSQL per item */
} pair;

/* The counters at the start of a measure. */
typedef struct {
    long trips, bytes;
} probe;

static probe probe_now(void)
{
    return (probe){pg_round_trips, pg_bytes_in};
}

/* The round trips and bytes since p, per item, into x. */
static void probe_end(pair *x, probe p, double items)
{
    x->trips = (double)(pg_round_trips - p.trips) / items;
    x->kib = (double)(pg_bytes_in - p.bytes) / 1024.0 / items;
}

/* PostgreSQL's time over SQLite's (a rate: SQLite's rate over
 * PostgreSQL's): above 1, SQLite is faster. */
static double slower(pair *x)
{
    double ms = median(&x->s), mp = median(&x->p);
    return !strcmp(x->unit, "s") ? mp / ms : ms / mp;
}

/* The row of pair x: both medians with min – max, how many times longer
 * PostgreSQL takes, its round trips and bytes, and which store is faster. */
static void pair_row(pair *x)
{
    char sm[32], smin[32], smax[32], pm[32], pmin[32], pmax[32], trips[64] = "-";
    double ms = median(&x->s), mp = median(&x->p), k = slower(x);
    fmt_num(sm, sizeof sm, ms, x->unit);
    fmt_num(smin, sizeof smin, x->s.v[0], x->unit);
    fmt_num(smax, sizeof smax, x->s.v[x->s.n - 1], x->unit);
    fmt_num(pm, sizeof pm, mp, x->unit);
    fmt_num(pmin, sizeof pmin, x->p.v[0], x->unit);
    fmt_num(pmax, sizeof pmax, x->p.v[x->p.n - 1], x->unit);
    if (x->trips >= 0)
        snprintf(trips, sizeof trips, "%.1f, %.1f KiB", x->trips, x->kib);
    out("| %s | %s (%s – %s) | %s (%s – %s) | %.2f | %s | %s %.1f× |\n", x->what, sm, smin,
        smax, pm, pmin, pmax, k, trips, k >= 1 ? "SQLite" : "PostgreSQL",
        k >= 1 ? k : 1 / k);
}

/* The raw limits of both stores: one-row INSERTs, each its own durable
 * commit and 1,000 to a transaction (on PostgreSQL also pipelined), and a
 * one-row SELECT by key. */
static void raw_pairs(const char *data_dir, int reps, pair *commit, pair *batch,
                      pair *piped, pair *sel)
{
    char file[4200], ci[4200];
    snprintf(file, sizeof file, "%s/raw-pg-side.db", data_dir);
    snprintf(ci, sizeof ci, "host=%s user=haven dbname=haven_bench_raw", sock);
    admin("DROP DATABASE IF EXISTS haven_bench_raw WITH (FORCE)");
    admin("CREATE DATABASE haven_bench_raw");
    for (int i = 0; i < reps; i++) {
        push(&commit->s, raw_inserts(file, 100, 1));
        probe p = probe_now();
        push(&commit->p, pg_raw_inserts(ci, 100, 1, 0));
        probe_end(commit, p, 100);
        push(&piped->s, raw_inserts(file, 5000, 1000));
        p = probe_now();
        push(&piped->p, pg_raw_inserts(ci, 5000, 1000, 1));
        probe_end(piped, p, 5000);
        push(&batch->s, raw_inserts(file, 5000, 1000));
        p = probe_now();
        push(&batch->p, pg_raw_inserts(ci, 5000, 1000, 0));
        probe_end(batch, p, 5000);
        push(&sel->s, raw_select(file, 5000));
        p = probe_now();
        push(&sel->p, pg_raw_select(ci, 5000));
        probe_end(sel, p, 1000);
    }
}

/* Seconds per run of sql (one row) on the SQLite file path. */
static double sqlite_query(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        bench_die("%s: %s", sql, sqlite3_errmsg(db));
    int q = 5;
    double t0 = bench_now();
    for (int i = 0; i < q; i++) {
        if (sqlite3_step(st) != SQLITE_ROW)
            bench_die("%s: no row", sql);
        sqlite3_reset(st);
    }
    double t = (bench_now() - t0) / q;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return t;
}

/* The chain head (the newest event) in SQLite's NULL order (descending,
 * nulls last) and in the primary key index's own order (as the store's
 * virtual table asks for a NOT NULL column), on the caseload of both
 * stores. */
static void head_pairs(const char *caseload, int reps, pair *asked, pair *indexed)
{
    static const char *const q[2] = {
        "SELECT seq FROM events ORDER BY seq DESC NULLS LAST LIMIT 1",
        "SELECT seq FROM events ORDER BY seq DESC LIMIT 1"};
    char ci[4200];
    snprintf(ci, sizeof ci, "host=%s user=haven dbname=haven_bench_caseload", sock);
    pair *x[2] = {asked, indexed};
    for (int i = 0; i < reps; i++)
        for (int k = 0; k < 2; k++) {
            push(&x[k]->s, sqlite_query(caseload, q[k]));
            long trips = 0, bytes = 0;
            push(&x[k]->p, pg_raw_query(ci, q[k], 5, &trips, &bytes));
            x[k]->trips = (double)trips / 5;
            x[k]->kib = (double)bytes / 1024.0 / 5;
        }
}

/* Durable registrations and follow-ups on a new store of each kind. */
static void write_pairs(const char *data_dir, int reps, pair *reg, pair *fu)
{
    char file[4200], url[4200];
    snprintf(file, sizeof file, "%s/fresh-pg-side.db", data_dir);
    store_url(url, sizeof url, "haven_bench_fresh");
    for (int i = 0; i < reps; i++) {
        push(&reg->s, haven_registrations(file, 100, 1, 100 + i));
        push(&reg->p, haven_registrations(url, 100, 1, 100 + i));
        reg->trips = (double)loop_round_trips / 100;
        reg->kib = (double)loop_bytes_in / 1024.0 / 100;
        push(&fu->s, haven_followups(file, 100));
        push(&fu->p, haven_followups(url, 100));
        fu->trips = (double)loop_round_trips / 100;
        fu->kib = (double)loop_bytes_in / 1024.0 / 100;
    }
}

/* Seconds to read the case file of ref through e. */
static double case_file(hv_engine *e, const char *ref)
{
    char *o = NULL;
    double t0 = bench_now();
    if (hv_case_get_json(e, ref, &o) != HV_OK)
        bench_die("case file: %s", hv_errmsg(e));
    double t = bench_now() - t0;
    hv_free(o);
    return t;
}

/* Due list, overdue count, the case file (in process) and `haven show`
 * (a whole process) on the caseload file and its copy at url. */
static void read_pairs(const char *caseload, const char *url, const char *haven_bin,
                       int reps, pair *due, pair *overdue, pair *show, pair *file_read,
                       char *login, size_t login_size)
{
    char ref[64], name[128] = "Noor";
    sample_lookups(caseload, login, login_size, ref, sizeof ref, name, sizeof name);
    hv_engine *es = open_engine(caseload, login), *ep = open_engine(url, login);
    hv_engine *ms = open_engine(caseload, "manager1"), *mp = open_engine(url, "manager1");
    int64_t cs = 0, cp = 0;
    const char *show_s[] = {haven_bin, "--db", caseload, "--as", login, "show", ref, NULL};
    const char *show_p[] = {haven_bin, "--db", url, "--as", login, "show", ref, NULL};
    for (int i = 0; i < reps; i++) {
        push(&due->s, due_list(es, login));
        probe p = probe_now();
        push(&due->p, due_list(ep, login));
        probe_end(due, p, 50);
        push(&overdue->s, overdue_count(ms, &cs));
        p = probe_now();
        push(&overdue->p, overdue_count(mp, &cp));
        probe_end(overdue, p, 5);
        push(&file_read->s, case_file(es, ref));
        p = probe_now();
        push(&file_read->p, case_file(ep, ref));
        probe_end(file_read, p, 1);
        push(&show->s, run_process(show_s, NULL));
        push(&show->p, run_process(show_p, NULL));
    }
    if (cs != cp)
        bench_die("overdue count: %lld on the file, %lld on PostgreSQL", (long long)cs,
                  (long long)cp);
    hv_engine_close(es);
    hv_engine_close(ep);
    hv_engine_close(ms);
    hv_engine_close(mp);
}

/* The server's version, for the heading. */
static void server_version(char *buf, size_t size)
{
    char ci[4200];
    snprintf(ci, sizeof ci, "host=%s user=haven dbname=postgres", sock);
    PGconn *c = PQconnectdb(ci);
    snprintf(buf, size, "PostgreSQL");
    if (PQstatus(c) == CONNECTION_OK) {
        int v = PQserverVersion(c);
        snprintf(buf, size, "PostgreSQL %d.%d", v / 10000, v % 10000);
    }
    PQfinish(c);
}

/* Round trips x of one raw round trip rt, in ms, as "N ms (M round trips)". */
static void trip_cost(char *buf, size_t size, const pair *x, double rt)
{
    snprintf(buf, size, "%.1f ms of its %.1f ms (%.0f round trips, %.0f KiB)",
             x->trips * rt * 1e3,
             (!strcmp(x->unit, "s") ? median((series *)&x->p) : 1 / median((series *)&x->p)) * 1e3,
             x->trips, x->kib);
}

/* The paragraph on which store wins where, and why, from the figures
 * (all: the Haven figures, n of them). */
static void explain(pair *commit, pair *batch, pair *piped, pair *sel, pair *asked,
                    pair *indexed, pair **all, int n)
{
    median(&sel->p); /* sorts: v[0] is the best run */
    double rt = sel->p.v[0]; /* one round trip with a one-row answer, at best */
    int pg_wins = 0;
    for (int i = 0; i < n; i++)
        pg_wins += slower(all[i]) < 1;
    out("\n**Which store wins where, and why.** ");
    if (pg_wins == 0)
        out("The SQLite file wins every Haven figure here (%.1f× to %.1f× faster). ",
            slower(all[0]) < slower(all[n - 1]) ? slower(all[0]) : slower(all[n - 1]),
            slower(all[0]) < slower(all[n - 1]) ? slower(all[n - 1]) : slower(all[0]));
    else
        out("PostgreSQL wins %d of the %d Haven figures here. ", pg_wins, n);
    out("The engine reaches PostgreSQL through SQLite virtual tables (engine/pgstore.c): "
        "every scan SQLite makes of a table is one SELECT sent to the server and waited "
        "for, every row written one INSERT or UPDATE in its own savepoint, and a join "
        "is a nested loop with one query per outer row, so the cost of a call is "
        "its round trips.  A round trip over the Unix socket took %.1f µs here at "
        "best (the raw SELECT by key, its fastest run; median %.1f µs; the same lookup "
        "in the SQLite file: %.1f µs), so the round trips alone take at least:\n\n",
        rt * 1e6, median(&sel->p) * 1e6, median(&sel->s) * 1e6);
    for (int i = 0; i < n; i++) {
        char c[160];
        trip_cost(c, sizeof c, all[i], rt);
        out("- %s: %s;\n", all[i]->what, c);
    }
    out("\nthe rest is the engine's own work (the same on both stores) and "
        "PostgreSQL's work per statement: parse, plan, execute, and the rows sent (a "
        "due list scans the whole `cases` table; the agency overdue count reads the "
        "per-day counter `task_due_days` and the limit's own day from `tasks_due`).  One statement shows what the "
        "order of a scan costs: the chain head.  Asked in SQLite's NULL order, `ORDER "
        "BY seq DESC NULLS LAST LIMIT 1`, PostgreSQL cannot read it from the "
        "primary key's index (ascending, nulls last: read backwards it gives nulls "
        "first), so it sorts every event: %.2f ms on this caseload against %.2f ms in "
        "the index's order (`DESC`); a case file read (it records the view in the "
        "chain) asks for it twice.  The virtual table leaves the NULL order out for a "
        "column that cannot be NULL (engine/pgstore_sql.c), so the store asks the "
        "second.  `haven show` adds a connection (a new backend process) "
        "and the store's catalogue to a process's start.\n\n",
        median(&asked->p) * 1e3, median(&indexed->p) * 1e3);
    out("Durability is not what separates them: a one-row durable commit runs at "
        "%.0f /s on the SQLite file (WAL, synchronous=FULL: one fdatasync) and %.0f /s "
        "on PostgreSQL (synchronous_commit on: one WAL flush, plus the round trip).  "
        "Batched 1,000 to a transaction, SQLite writes %.0f rows/s in process and "
        "PostgreSQL %.0f rows/s waiting for each row, %.0f rows/s pipelined (libpq "
        "pipeline mode: a transaction's rows sent without waiting): the round trip, "
        "not the server, is PostgreSQL's limit, and the virtual tables wait for every "
        "row.  A Haven write on PostgreSQL also takes the store's advisory lock "
        "(pg_advisory_xact_lock) and opens a REPEATABLE READ snapshot, a few round "
        "trips more.\n\n"
        "Where PostgreSQL wins is not in this table: many writers on many servers "
        "against one database, a synchronous standby that takes over (an acknowledged "
        "write is on two machines), point-in-time recovery, pg_dump and the "
        "operations staff's tools, and read access for statistics tools.  Its "
        "per-call cost grows with the network's round trip: a local Unix socket, as "
        "here, is its best case.\n",
        median(&commit->s), median(&commit->p), median(&batch->s), median(&batch->p),
        median(&piped->p));
}

/* Where the cluster's files are against the SQLite files', in words. */
static void disk_of(const char *pg_dir, const char *data_dir, char *buf, size_t size)
{
    struct stat a, b;
    struct statfs f;
    if (statfs(pg_dir, &f) == 0 && f.f_type == 0x01021994) /* TMPFS_MAGIC */
        snprintf(buf, size, "in memory (tmpfs: its fsync costs nothing, so its commits "
                            "are not durable and its writes not comparable; give "
                            "BENCH_PG_DIR a folder on the disk)");
    else if (stat(pg_dir, &a) == 0 && stat(data_dir, &b) == 0 && a.st_dev == b.st_dev)
        snprintf(buf, size, "on the same file system as the SQLite files");
    else
        snprintf(buf, size, "on another file system than the SQLite files");
}

/* The cluster's script and folder, for cluster_stop at exit. */
static char cluster_script[4200], cluster_dir[4200];

/* Runs `sh cluster.sh verb dir [durable]`, its output on stderr; returns
 * its exit status (-1: it did not run). */
static int cluster(const char *verb)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(2, 1);
        execl("/bin/sh", "sh", cluster_script, verb, cluster_dir,
              strcmp(verb, "start") ? (char *)NULL : "durable", (char *)NULL);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* Stops the cluster (at exit, also when a figure fails). */
static void cluster_stop(void)
{
    if (*cluster_dir && cluster("stop") != 0)
        fprintf(stderr, "haven-bench: could not stop the cluster in %s\n", cluster_dir);
    *cluster_dir = '\0';
}

/* The section (bench.h). */
void bench_pg(const char *socket_dir, const char *caseload, long size, const char *data_dir,
              const char *haven_bin, int reps, const char *source)
{
    char url[4200], state[4200], version[64], login[64];
    sock = socket_dir;
    snprintf(cluster_script, sizeof cluster_script, "%s/tests/pg/cluster.sh", source);
    snprintf(cluster_dir, sizeof cluster_dir, "%s", socket_dir);
    int rc = cluster("start");
    if (rc == 69) { /* no PostgreSQL server (cluster.sh) */
        *cluster_dir = '\0';
        out("\n## SQLite file vs PostgreSQL\n\nNot measured in this run: no PostgreSQL "
            "server on this machine (tools/install-deps.sh installs it).\n");
        return;
    }
    if (rc != 0)
        bench_die("cannot start a PostgreSQL cluster in %s (tests/pg/cluster.sh: %d)",
                  socket_dir, rc);
    atexit(cluster_stop);
    snprintf(state, sizeof state, "%s/pg-state", data_dir);
    if (mkdir(state, 0700) && errno != EEXIST)
        bench_die("%s: %s", state, strerror(errno));
    setenv("HAVEN_STATE_DIR", state, 1);
    server_version(version, sizeof version);
    store_url(url, sizeof url, "haven_bench_caseload");
    fprintf(stderr, "haven-bench: copying the %ld-case caseload into PostgreSQL...\n", size);
    long rows = 0;
    double copy_s = copy_caseload(caseload, url, data_dir, &rows);
    fprintf(stderr, "haven-bench: %ld rows copied in %.0f s\n", rows, copy_s);
    pair commit = {.what = "raw: one-row INSERT, each its own durable commit", .unit = "/s"},
         batch = {.what = "raw: one-row INSERTs, 1,000 per transaction", .unit = "/s"},
         piped = {.what = "raw: the same, pipelined on PostgreSQL (SQLite: the same batches again)", .unit = "/s"},
         sel = {.what = "raw: one-row SELECT by primary key", .unit = "s"},
         asked = {.what = "raw: the newest event, `ORDER BY seq DESC NULLS LAST LIMIT 1` (SQLite's NULL order)", .unit = "s"},
         indexed = {.what = "raw: the same, `ORDER BY seq DESC LIMIT 1` (the index's order: as the store asks)", .unit = "s"},
         reg = {.what = "1. durable registration, each its own transaction", .unit = "/s"},
         fu = {.what = "3. follow-up recorded (rules, next task), durable", .unit = "/s"},
         due = {.what = "4. due list", .unit = "s"},
         overdue = {.what = "4. agency overdue count", .unit = "s"},
         show = {.what = "5. `haven show REF` (a whole process)", .unit = "s", .trips = -1},
         file_read = {.what = "5. the case file of REF, read in process", .unit = "s"};
    fprintf(stderr, "haven-bench: PostgreSQL: raw limits...\n");
    raw_pairs(data_dir, reps, &commit, &batch, &piped, &sel);
    head_pairs(caseload, reps, &asked, &indexed);
    fprintf(stderr, "haven-bench: PostgreSQL: registrations and follow-ups...\n");
    write_pairs(data_dir, reps, &reg, &fu);
    fprintf(stderr, "haven-bench: PostgreSQL: reads...\n");
    read_pairs(caseload, url, haven_bin, reps, &due, &overdue, &show, &file_read, login,
               sizeof login);
    char where[256];
    disk_of(socket_dir, data_dir, where, sizeof where);
    char load[64] = "unknown";
    FILE *lf = fopen("/proc/loadavg", "r");
    if (lf) {
        if (fscanf(lf, "%63s", load) != 1)
            snprintf(load, sizeof load, "unknown");
        fclose(lf);
    }
    char due_what[128];
    snprintf(due_what, sizeof due_what, "4. due list of %s", login);
    due.what = due_what;
    out("\n## SQLite file vs PostgreSQL\n\n"
        "The same figures on both stores in this run, their repetitions interleaved "
        "(median of %d, min – max).  SQLite: a file, WAL, synchronous=FULL.  %s: "
        "a throwaway cluster %s (tests/pg/cluster.sh `durable`: fsync, "
        "synchronous_commit and full_page_writes on), reached over its Unix socket; "
        "Haven's store in it through the engine's virtual tables (engine/pgstore.c).  "
        "Writes on a new store of each kind; reads on the %ld-case caseload file and "
        "a copy of it in PostgreSQL (the same %ld rows and key files: the store made "
        "by `init`'s own code from the file's schema, the rows loaded with COPY, then "
        "ANALYZE, in %.0f s; bench/bench_pg.c).  Raw limits: plain SQLite "
        "(bench/bench_raw.c) and plain libpq (bench/pg_raw.c, prepared statements) on "
        "a table shaped alike (an integer key, a reference, a 399-byte body).  Round "
        "trips: the messages libpq sent per item, and the bytes it received, counted "
        "in process.  The machine's load average at the end of the section: %s on "
        "%ld cores (other work running slows both stores alike, the round trips "
        "most).\n\n"
        "| figure | SQLite file | PostgreSQL | PostgreSQL's time ÷ SQLite's | round "
        "trips, received (PostgreSQL) | faster |\n|---|---|---|---|---|---|\n",
        reps, version, where, size, rows, copy_s, load, sysconf(_SC_NPROCESSORS_ONLN));
    pair *raws[] = {&commit, &batch, &piped, &sel, &asked, &indexed};
    pair *all[] = {&reg, &fu, &due, &overdue, &file_read, &show};
    for (size_t i = 0; i < sizeof raws / sizeof raws[0]; i++)
        pair_row(raws[i]);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        pair_row(all[i]);
    explain(&commit, &batch, &piped, &sel, &asked, &indexed, all, (int)(sizeof all / sizeof all[0]) - 1);
    cluster_stop();
}
