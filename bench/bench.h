/*
 * bench.h - what bench.c (Haven's figures and the report) shares with
 * bench_raw.c (the raw limits it measures them against).  Every measure
 * returns a rate (per second) or a time (seconds); a failure ends the
 * process through bench_die.
 */
#ifndef HV_BENCH_H
#define HV_BENCH_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "haven.h"

/* ---- bench.c ---------------------------------------------------------------- */

#define MAX_REPS 64

/* The repetitions of one figure. */
typedef struct {
    double v[MAX_REPS];
    int n;
} series;

/* Seconds on the monotonic clock. */
double bench_now(void);
/* Prints "haven-bench: " and the message on stderr and exits with 1. */
void bench_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Prints on the terminal and into RESULTS.md (when written). */
void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The median of s (sorts it: then s->v[0] is the min, s->v[s->n - 1] the
 * max); adds v to s. */
double median(series *s);
void push(series *s, double v);
/* v with its unit ("s": seconds, shown in µs, ms or s; else "N unit"). */
void fmt_num(char *buf, size_t size, double v, const char *unit);
/* Runs argv (output to /dev/null); wall seconds; out: *rss_kib (may be
 * NULL).  Dies if it fails. */
double run_process(const char *const argv[], long *rss_kib);
/* Opens the store at path (a file or a postgresql:// URL) acting as as,
 * its clock fixed at the caseloads' day; dies on failure. */
hv_engine *open_engine(const char *path, const char *as);
/* A new store at path (a file or a PostgreSQL URL, emptied first) with a
 * supervisor sup and a caseworker cw, acting as cw on the simulated
 * clock; dies on failure. */
hv_engine *fresh_engine(const char *path);
/* Registrations per second: n children into a new store at path, batch
 * per transaction (1: each its own durable transaction). */
double haven_registrations(const char *path, int n, int batch, long seed);
/* Follow-ups per second (each its own durable transaction) on one case
 * of a new store at path. */
double haven_followups(const char *path, int n);
/* Seconds per call of login's due list, and of the agency's overdue
 * count (out: *count), through the engine e. */
double due_list(hv_engine *e, const char *login);
double overdue_count(hv_engine *e, int64_t *count);
/* From the caseload file big: its busiest caseworker, the newest open
 * case's reference and its child's name. */
void sample_lookups(const char *big, char *login, size_t login_size, char *ref,
                    size_t ref_size, char *name, size_t name_size);

/* ---- profile.c: the loops bench/profile.sh profiles ----------------------------- */

/* Seconds for n registrations into e, batch to a transaction (1: each its
 * own durable transaction); seed varies the children. */
double profiled_registrations(hv_engine *e, int n, int batch, long seed);
/* Seconds for re-scoring the open cases e's actor may see with risk.lua
 * (hv_rules_diff, the pack in force); out: *evaluated, the cases. */
double profiled_rescore(hv_engine *e, long *evaluated);
/* `haven-bench --profile what`: "register" (into DATA/profile.db) or
 * "rescore" (on the caseload db); once: one run, else the median of 5;
 * prints "items µs-per-item".  Returns the exit status. */
int profile_run(const char *what, const char *data_dir, const char *db, int once);

/* ---- bench_raw.c -------------------------------------------------------------- */

/* Rows per second: n single-row INSERTs into a new database at path
 * (WAL, synchronous=FULL), `per` to a committed transaction. */
double raw_inserts(const char *path, int n, int per);
/* Seconds per run of login's due list in raw SQL on db. */
double raw_due_list(sqlite3 *db, const char *login);
/* Seconds per run of the agency's overdue count in raw SQL on db; out:
 * *count. */
double raw_overdue_count(sqlite3 *db, int64_t *count);
/* Open cases per second scanned raw with their concerns, child,
 * assessments and follow-ups; out: *rows. */
double raw_scan(sqlite3 *db, long *rows);
/* Cases per second: the rows Haven's registrations wrote into src,
 * replayed into a new database at path with plain INSERTs, `per` cases to
 * a transaction. */
double raw_replay(const char *src, const char *path, int per);
/* Open cases per second: the rows of a re-scoring read raw from db and
 * given to source/rules/default/risk.lua on plain Lua tables (and, with
 * second not NULL, to second/risk.lua on the same tables: a diff's raw);
 * out: *cases. */
double raw_rescore(sqlite3 *db, const char *source, const char *second, long *cases);
/* As raw_rescore on threads threads (each its own connection to db's file
 * and its own Lua state, the open cases cut into equal parts), the wall
 * time of all. */
double raw_rescore_on(sqlite3 *db, const char *source, const char *second, int threads,
                      long *cases);
/* The threads Haven's agency-wide diff runs on: one per core, up to 8
 * (rulesdiff_run.c). */
int bench_threads(void);
/* Writes the login of the caseworker with the most open tasks in db
 * (cw0001 when none) into buf; returns buf. */
const char *busiest_caseworker(sqlite3 *db, char *buf, size_t size);

/* Seconds to count the agency's open late tasks over the tasks_due index
 * in plain SQLite; out: *count. */
double raw_index_count(sqlite3 *db, int64_t *count);
/* Seconds to read the rows an agency report reads, one plain SQLite pass
 * per table. */
double raw_report(sqlite3 *db);

/* Seconds per one-row SELECT by primary key on the raw database at path
 * (made by raw_inserts: n rows). */
double raw_select(const char *path, int n);

/* ---- curve.c: the agency-wide commands and the cost curve ---------------------- */

/* The sections "Agency-wide commands" and "The cost curve" on the
 * caseloads db_of[0..nsizes) of sizes cases (see curve.c). */
void bench_curve(int nsizes, const long *sizes, char **db_of, const char *haven_bin,
                 const char *source, const char *data_dir, int reps);
/* One row of a figures table: what, Haven's series h beside the raw
 * limit's (NULL: none) in unit, the target and whether it is met (-1: no
 * target; 0 counts a miss). */
void bench_row(const char *what, series *h, const char *unit, series *raw,
               int higher_is_better, const char *target, int met);

/* ---- bench_pg.c: the SQLite file against the PostgreSQL store ------------------ */

/* Empties the PostgreSQL database of url (dropped and made again) and
 * removes the key files kept for it in HAVEN_STATE_DIR, for a new store. */
void pg_empty_store(const char *url);
/* The section "SQLite file vs PostgreSQL": every figure on the caseload
 * file `caseload` (size cases) and on a PostgreSQL copy of it, in a
 * throwaway cluster started in socket_dir (source/tests/pg/cluster.sh,
 * durable; stopped after; none: the section says so), with the raw limits
 * of both stores;
 * data_dir: where the files of the run go; haven_bin: the haven program;
 * reps: repetitions of each figure. */
void bench_pg(const char *socket_dir, const char *caseload, long size, const char *data_dir,
              const char *haven_bin, int reps, const char *source);
/* Messages libpq has sent PostgreSQL from this process (each a round
 * trip), and those of the timed loop of the last haven_registrations or
 * haven_followups and the bytes it received (bench.c). */
extern long pg_round_trips;
/* Bytes libpq has received from PostgreSQL in this process. */
extern long pg_bytes_in;
extern long loop_round_trips, loop_bytes_in;

/* ---- pg_raw.c: PostgreSQL's raw limits over libpq ------------------------------ */

/* Rows per second: n one-row INSERTs into a new table r (shaped as
 * raw_inserts's) in the database of conninfo, `per` to a committed
 * transaction (1: each its own, autocommit); each waited for, or
 * (pipelined 1) a transaction's sent in libpq's pipeline mode. */
double pg_raw_inserts(const char *conninfo, int n, int per, int pipelined);
/* Seconds per one-row SELECT by primary key on that table (n rows): one
 * round trip each. */
double pg_raw_select(const char *conninfo, int n);
/* Seconds per run of sql (no parameters), q runs on one connection;
 * out: their round trips and the bytes received. */
double pg_raw_query(const char *conninfo, const char *sql, int q, long *trips, long *bytes);

/* ---- baseline.c --------------------------------------------------------------- */

/* The Haven median (column 0) or the raw limit (column 1) of the figure
 * named what in the results file at path (rates per second, times in
 * seconds); 0 when the file, the row or the number is missing.  Numbers
 * inside the name may differ, not the last (the size). */
double baseline_figure(const char *path, const char *what, int column);

#endif
