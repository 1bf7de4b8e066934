/*
 * sealcheck.c - sealed values bound to their rows: the columns that hold
 * them, the one-time binding of older values, and the sweep of `audit
 * verify` (sealcheck.h).
 */
#include "sealcheck.h"

#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "core.h"
#include "crypto.h"
#include "error.h"
#include "sealed.h"
#include "store.h"

#define LISTED_MAX 10

/* Appends the pieces (NULL after the last) to sql[size] at *len; the
 * pieces are the names above, so they always fit. */
static void sql_add(char *sql, size_t size, size_t *len, ...)
{
    va_list ap;
    va_start(ap, len);
    for (const char *piece; (piece = va_arg(ap, const char *));) {
        size_t n = strlen(piece);
        if (*len + n < size) {
            memcpy(sql + *len, piece, n + 1);
            *len += n;
        }
    }
    va_end(ap);
}

/* *bound: 1 when some column of t holds a value in the bound format. */
static hv_status table_has_bound(hv_engine *e, const hv_sealed_table *t,
                                 int64_t *bound)
{
    char sql[512] = "";
    size_t len = 0;
    sql_add(sql, sizeof sql, &len, "SELECT EXISTS (SELECT 1 FROM ", t->table,
            " WHERE 0", (const char *)NULL);
    for (size_t c = 0; t->columns[c]; c++)
        sql_add(sql, sizeof sql, &len, " OR substr(", t->columns[c],
                ", 1, 3) = X'485632'", (const char *)NULL);
    sql_add(sql, sizeof sql, &len, ")", (const char *)NULL);
    return hv__store_query_int(e, "looking for bound sealed values", sql, 0,
                               bound, "");
}

/* Seals every legacy value of t again, bound to its place (hv_reseal). */
static hv_status table_reseal(hv_engine *e, const hv_sealed_table *t)
{
    char sql[1024] = "";
    size_t len = 0;
    sql_add(sql, sizeof sql, &len, "UPDATE ", t->table, " SET ",
            (const char *)NULL);
    for (size_t c = 0; t->columns[c]; c++)
        sql_add(sql, sizeof sql, &len, c ? ", " : "", t->columns[c],
                " = hv_reseal(", t->columns[c], ", '", t->table, "', '",
                t->columns[c], "', rowid)", (const char *)NULL);
    return hv__store_exec(e, sql);
}

/* *done: the meta row seal_binding is there. */
static hv_status binding_recorded(hv_engine *e, int64_t *done)
{
    return hv__store_query_int(e, "reading settings",
                               "SELECT count(*) FROM meta WHERE key ="
                               " 'seal_binding'",
                               0, done, "");
}

hv_status hv__seals_bind(hv_engine *e)
{
    int64_t done = 0, bound = 0;
    hv_status s;
    if (!e->have_key)
        return HV_OK;
    if ((s = binding_recorded(e, &done)) || done)
        return s;
    if ((s = hv__store_begin(e)))
        return s;
    /* Under the write lock: another process may have bound it. */
    if ((s = binding_recorded(e, &done)) || done)
        goto finish;
    for (size_t t = 0; !s && !bound && t < hv__sealed_count; t++)
        s = table_has_bound(e, &hv__sealed_tables[t], &bound);
    for (size_t t = 0; !s && !bound && t < hv__sealed_count; t++)
        s = table_reseal(e, &hv__sealed_tables[t]);
    if (!s)
        s = hv__store_execf(e, "recording the binding of sealed values",
                            "INSERT INTO meta (key, value) VALUES"
                            " ('seal_binding', '2')",
                            "");
finish:
    if (s) {
        hv__store_rollback(e);
        return s;
    }
    return hv__store_commit(e);
}

/* A value that does not open: where, and why (a constant string). */
typedef struct {
    const hv_sealed_table *t;
    const char *column, *why;
    int64_t row, case_id;
} seal_failure;

/* One sweep over the sealed columns on db (the engine's own connection,
 * or a reading connection of its own on a thread: seal_job), opening the
 * values with e's key (which it only reads).  Its findings: how many
 * values do not open and the first LISTED_MAX of them; rc and nomem: the
 * sweep did not finish (SQLite's code, or out of memory). */
typedef struct {
    hv_engine *e;
    sqlite3 *db;
    int64_t failed;
    seal_failure listed[LISTED_MAX];
    int rc, nomem;
    _Atomic int stop; /* the thread's sweep is no longer wanted */
} seal_sweep;

/* Checks sealed column i (of t, named column) of st's row (rowid, case
 * id, the sealed columns...): a BLOB must open for this place (or, without
 * the key, be in the bound format); text only as a placeholder. */
static void check_value(seal_sweep *w, const hv_sealed_table *t, const char *column,
                        sqlite3_stmt *st, int i)
{
    int64_t row = sqlite3_column_int64(st, 0);
    const char *why = "the value is not sealed";
    char *plain = NULL;
    size_t n = 0;
    int type = sqlite3_column_type(st, i);
    if (type == SQLITE_NULL)
        return;
    if (type != SQLITE_BLOB &&
        hv__seal_placeholder(sqlite3_column_text(st, i),
                             (size_t)sqlite3_column_bytes(st, i)))
        why = NULL;
    else if (type == SQLITE_BLOB)
        why = hv__crypto_open(w->e, t->table, column, row, sqlite3_column_blob(st, i),
                              (size_t)sqlite3_column_bytes(st, i), &plain, &n);
    if (plain) {
        sodium_memzero(plain, n);
        hv__free(plain);
    }
    if (!why)
        return;
    if (!strcmp(why, "out of memory")) {
        w->nomem = 1;
        return;
    }
    if (w->failed < LISTED_MAX)
        w->listed[w->failed] = (seal_failure){t, column, why, row,
                                              sqlite3_column_int64(st, 1)};
    w->failed++;
}

/* Sweeps the sealed columns of t: one scan of the table, every sealed
 * column of each row. */
static void check_table(seal_sweep *w, const hv_sealed_table *t)
{
    char sql[512] = "";
    size_t len = 0;
    sqlite3_stmt *st = NULL;
    /* rowid: the row's id (INTEGER PRIMARY KEY), whatever its name */
    sql_add(sql, sizeof sql, &len, "SELECT rowid, ",
            t->case_column ? t->case_column : "NULL", (const char *)NULL);
    for (size_t c = 0; t->columns[c]; c++)
        sql_add(sql, sizeof sql, &len, ", ", t->columns[c], (const char *)NULL);
    sql_add(sql, sizeof sql, &len, " FROM ", t->table, " ORDER BY rowid",
            (const char *)NULL);
    int rc = sqlite3_prepare_v2(w->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        w->rc = rc;
        return;
    }
    while (!w->nomem && !w->stop && (rc = sqlite3_step(st)) == SQLITE_ROW)
        for (size_t c = 0; !w->nomem && t->columns[c]; c++)
            check_value(w, t, t->columns[c], st, (int)c + 2);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        w->rc = rc;
}

static void sweep(seal_sweep *w)
{
    for (size_t t = 0; !w->rc && !w->nomem && !w->stop && t < hv__sealed_count; t++)
        check_table(w, &hv__sealed_tables[t]);
}

/* The sweep's outcome on e: HV_OK when every value opens; else HV_INVALID
 * with one line naming each value that does not (table.column, row id and
 * the case, by its reference only when it looks like one: a reference
 * edited in the file may hold anything), the first LISTED_MAX. */
static hv_status report(hv_engine *e, const seal_sweep *w)
{
    char text[LISTED_MAX * 80];
    size_t len = 0;
    if (w->nomem)
        return hv__fail(e, HV_NOMEM, "out of memory");
    if (w->rc)
        return hv__sql_fail(e, w->rc, "reading the sealed values");
    if (!w->failed)
        return HV_OK;
    text[0] = '\0';
    for (int64_t k = 0; k < w->failed && k < LISTED_MAX; k++) {
        const seal_failure *f = &w->listed[k];
        char *ref = NULL;
        hv_status s = f->case_id ? hv__store_query_text(e, "reading the sealed values",
                                                        "SELECT ref FROM cases WHERE"
                                                        " id = ?1",
                                                        &ref, "i", f->case_id)
                                 : HV_OK;
        if (s)
            return s;
        int n = snprintf(text + len, sizeof text - len, "%s%s.%s row %lld (case %s)",
                         len ? "; " : "", f->t->table, f->column, (long long)f->row,
                         !ref                 ? "none"
                         : hv__echo_safe(ref) ? ref
                                              : "not shown");
        hv__free(ref);
        if (n > 0 && (size_t)n < sizeof text - len)
            len += (size_t)n;
    }
    return hv__fail(e, HV_INVALID,
                    "audit verify: %lld sealed value%s do%s not open (moved or "
                    "copied from another row or column, or changed): %s%s",
                    (long long)w->failed, w->failed == 1 ? "" : "s",
                    w->failed == 1 ? "es" : "", text,
                    w->failed > LISTED_MAX ? "; and more" : "");
}

hv_status hv__seals_check(hv_engine *e)
{
    seal_sweep w = {.e = e, .db = e->db};
    sweep(&w);
    return report(e, &w);
}

/* ---- the sweep on a thread of its own --------------------------------------- */

struct hv_seal_job {
    pthread_t thread;
    seal_sweep w;
};

static void *sweep_thread(void *arg)
{
    struct hv_seal_job *job = arg;
    seal_sweep *w = &job->w;
    /* one read transaction (begun by hv__seals_check_start): one snapshot
     * of every table */
    sweep(w);
    sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL);
    return NULL;
}

hv_seal_job *hv__seals_check_start(hv_engine *e)
{
    /* outside any transaction of the engine's (a batch's unwritten values
     * are the engine's alone) */
    if (e->pg || !sqlite3_get_autocommit(e->db))
        return NULL;
    struct hv_seal_job *job = hv__calloc(1, sizeof *job);
    if (!job)
        return NULL;
    job->w.e = e;
    /* its read begun here, on the state the engine's connection reads
     * (not a file renamed over the engine's since it opened it, nor a
     * commit between the two: else the sweep runs on the engine's) */
    unsigned char mine[HV_FINGERPRINT_BYTES], theirs[HV_FINGERPRINT_BYTES];
    if (!(job->w.db = hv__store_reader_open(e)) ||
        sqlite3_exec(job->w.db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        hv__store_fingerprint(job->w.db, theirs) ||
        hv__store_fingerprint(e->db, mine) || memcmp(mine, theirs, sizeof mine) ||
        pthread_create(&job->thread, NULL, sweep_thread, job) != 0) {
        sqlite3_close(job->w.db);
        hv__free(job);
        return NULL;
    }
    return job;
}

hv_status hv__seals_check_end(hv_engine *e, hv_seal_job *job, int wanted)
{
    if (!job)
        return wanted ? hv__seals_check(e) : HV_OK;
    if (!wanted) {
        job->w.stop = 1;
        sqlite3_interrupt(job->w.db); /* (thread safe) */
    }
    pthread_join(job->thread, NULL);
    sqlite3_close(job->w.db);
    hv_status s = HV_OK;
    if (wanted)
        /* a sweep the thread could not finish runs again here, where its
         * failure is the engine's to report */
        s = job->w.rc || job->w.nomem ? hv__seals_check(e) : report(e, &job->w);
    hv__free(job);
    return s;
}
