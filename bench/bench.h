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

/* ---- bench.c ---------------------------------------------------------------- */

/* Seconds on the monotonic clock. */
double bench_now(void);
/* Prints "haven-bench: " and the message on stderr and exits with 1. */
void bench_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

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
 * given to source/rules/default/risk.lua on plain Lua tables; out: *cases. */
double raw_rescore(sqlite3 *db, const char *source, long *cases);
/* Writes the login of the caseworker with the most open tasks in db
 * (cw0001 when none) into buf; returns buf. */
const char *busiest_caseworker(sqlite3 *db, char *buf, size_t size);

/* ---- baseline.c --------------------------------------------------------------- */

/* The Haven median (column 0) or the raw limit (column 1) of the figure
 * named what in the results file at path (rates per second, times in
 * seconds); 0 when the file, the row or the number is missing.  Numbers
 * inside the name may differ, not the last (the size). */
double baseline_figure(const char *path, const char *what, int column);

#endif
