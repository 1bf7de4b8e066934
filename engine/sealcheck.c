/*
 * sealcheck.c - sealed values bound to their rows: the columns that hold
 * them, the one-time binding of older values, and the sweep of `audit
 * verify` (sealcheck.h).
 */
#include "sealcheck.h"

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

/* The sweep's findings: how many values do not open, and the first
 * LISTED_MAX of them named in text. */
typedef struct {
    int64_t failed;
    char text[LISTED_MAX * 80];
    size_t len;
} seal_findings;

/* Notes in f that t.column of row (of case case_id, 0: none) does not
 * open (why); the case named by its reference only when it looks like
 * one. */
static hv_status note_failure(hv_engine *e, const hv_sealed_table *t,
                              const char *column, int64_t row, int64_t case_id,
                              const char *why, seal_findings *f)
{
    if (!strcmp(why, "out of memory"))
        return hv__fail(e, HV_NOMEM, "out of memory");
    if (f->failed++ >= LISTED_MAX)
        return HV_OK;
    /* a reference edited in the file may hold anything: echoed only when
     * it looks like one */
    char *ref = NULL;
    hv_status s = case_id ? hv__store_query_text(e, "reading the sealed values",
                                                 "SELECT ref FROM cases WHERE"
                                                 " id = ?1",
                                                 &ref, "i", case_id)
                          : HV_OK;
    if (s)
        return s;
    int w = snprintf(f->text + f->len, sizeof f->text - f->len,
                     "%s%s.%s row %lld (case %s)", f->len ? "; " : "", t->table,
                     column, (long long)row,
                     !ref                 ? "none"
                     : hv__echo_safe(ref) ? ref
                                          : "not shown");
    hv__free(ref);
    if (w > 0 && (size_t)w < sizeof f->text - f->len)
        f->len += (size_t)w;
    return HV_OK;
}

/* Checks sealed column i (of t, named column) of st's row (rowid, case
 * id, the columns) and notes it in f when it does not open.  HV_NOMEM
 * when out of memory. */
static hv_status check_value(hv_engine *e, const hv_sealed_table *t,
                             const char *column, sqlite3_stmt *st, int i,
                             seal_findings *f)
{
    int64_t row = sqlite3_column_int64(st, 0);
    const char *why = "the value is not sealed";
    char *plain = NULL;
    size_t n = 0;
    int type = sqlite3_column_type(st, i);
    if (type == SQLITE_NULL)
        return HV_OK;
    if (type != SQLITE_BLOB &&
        hv__seal_placeholder(sqlite3_column_text(st, i),
                             (size_t)sqlite3_column_bytes(st, i)))
        why = NULL;
    else if (type == SQLITE_BLOB)
        why = hv__crypto_open(e, t->table, column, row, sqlite3_column_blob(st, i),
                              (size_t)sqlite3_column_bytes(st, i), &plain, &n);
    if (plain) {
        sodium_memzero(plain, n);
        hv__free(plain);
    }
    return why ? note_failure(e, t, column, row, sqlite3_column_int64(st, 1), why, f)
               : HV_OK;
}

/* Sweeps the sealed columns of t into f: one scan of the table, every
 * sealed column of each row (the case's reference read only for a value
 * that does not open). */
static hv_status check_table(hv_engine *e, const hv_sealed_table *t,
                             seal_findings *f)
{
    char sql[512] = "";
    size_t len = 0;
    sqlite3_stmt *st = NULL;
    hv_status s = HV_OK;
    /* rowid: the row's id (INTEGER PRIMARY KEY), whatever its name */
    sql_add(sql, sizeof sql, &len, "SELECT rowid, ",
            t->case_column ? t->case_column : "NULL", (const char *)NULL);
    for (size_t c = 0; t->columns[c]; c++)
        sql_add(sql, sizeof sql, &len, ", ", t->columns[c], (const char *)NULL);
    sql_add(sql, sizeof sql, &len, " FROM ", t->table, " ORDER BY rowid",
            (const char *)NULL);
    if ((s = hv__store_prepare(e, sql, &st)))
        return s;
    int rc = SQLITE_DONE;
    while (!s && (rc = sqlite3_step(st)) == SQLITE_ROW)
        for (size_t c = 0; !s && t->columns[c]; c++)
            s = check_value(e, t, t->columns[c], st, (int)c + 2, f);
    hv__store_finalize(e, st);
    if (!s && rc != SQLITE_DONE)
        s = hv__sql_fail(e, rc, "reading the sealed values");
    return s;
}

hv_status hv__seals_check(hv_engine *e)
{
    seal_findings f = {0};
    hv_status s = HV_OK;
    for (size_t t = 0; !s && t < hv__sealed_count; t++)
        s = check_table(e, &hv__sealed_tables[t], &f);
    if (s || !f.failed)
        return s;
    return hv__fail(e, HV_INVALID,
                    "audit verify: %lld sealed value%s do%s not open (moved or "
                    "copied from another row or column, or changed): %s%s",
                    (long long)f.failed, f.failed == 1 ? "" : "s",
                    f.failed == 1 ? "es" : "", f.text,
                    f.failed > LISTED_MAX ? "; and more" : "");
}
