/* pgstore.c - the PostgreSQL store: the virtual table module hv_pg that
 * keeps a Haven table's rows in PostgreSQL (pgstore.h), its transactions,
 * and opening a store. */
#include "pgstore.h"

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

/* The advisory lock every write transaction takes (pg_advisory_xact_lock):
 * one writer at a time, as on a SQLite file. */
#define HV_PG_WRITE_LOCK "4826117935"
#define HV_PG_MAX_COLS 40
#define HV_PG_MAX_ARGS 64

/* A stored table as PostgreSQL describes it. */
typedef struct {
    char *name;
    int ncol;
    char *cols[HV_PG_MAX_COLS];
    char types[HV_PG_MAX_COLS];        /* i bigint, r double, t text, b bytea */
    unsigned char dflt[HV_PG_MAX_COLS]; /* has a default: omit a NULL on insert */
    int rowid;                         /* the INTEGER PRIMARY KEY column, or -1:
                                        * the hidden "rid" column */
} pg_table;

struct hv_pg {
    PGconn *conn;
    sqlite3 *db;
    int tx;       /* 0 none, 1 a read snapshot, 2 a write (locked) */
    int broken;   /* the connection was lost */
    /* SQLite's savepoint levels mirrored in PostgreSQL (hv_sp<level>),
     * lowest first: every table of a transaction reports the same
     * levels, and a table joining late reports the current one again. */
    int sp[32], nsp;
    size_t ntables;
    pg_table *tables;
};

typedef struct {
    sqlite3_vtab base;
    hv_pg *pg;
    pg_table *t;
} pg_vtab;

typedef struct {
    sqlite3_vtab_cursor base;
    PGresult *res;
    int row, nrows;
} pg_cursor;

/* ---- talking to PostgreSQL ---------------------------------------------- */

/* The SQLite code for a PostgreSQL failure (res may be NULL). */
static int pg_code(hv_pg *pg, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        pg->broken = 1;
        return SQLITE_IOERR;
    }
    if (!state)
        return SQLITE_ERROR;
    if (!strncmp(state, "23", 2))
        return SQLITE_CONSTRAINT;
    if (!strcmp(state, "40001") || !strcmp(state, "40P01") ||
        !strcmp(state, "55P03") || !strcmp(state, "57014"))
        return SQLITE_BUSY;
    if (!strncmp(state, "08", 2) || !strncmp(state, "57P", 3)) {
        pg->broken = 1;
        return SQLITE_IOERR;
    }
    if (!strcmp(state, "53100"))
        return SQLITE_FULL;
    return SQLITE_ERROR;
}

/* Sets v's message from a failure: PostgreSQL's primary message only (its
 * DETAIL can quote the row's values). */
static void pg_message(sqlite3_vtab *v, hv_pg *pg, const PGresult *res)
{
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (msg && state && !strncmp(state, "22", 2))
        msg = "a value does not fit its column"; /* the primary text quotes it */
    if (!msg)
        msg = PQstatus(pg->conn) == CONNECTION_OK ? "failed"
                                                  : "the connection was lost";
    sqlite3_free(v->zErrMsg);
    v->zErrMsg = sqlite3_mprintf("PostgreSQL: %s", msg);
}

/* Runs a command with no parameters; SQLITE_OK or the failure's code (and
 * v's message when v). */
static int pg_command(hv_pg *pg, sqlite3_vtab *v, const char *sql)
{
    PGresult *res = PQexec(pg->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = SQLITE_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        rc = pg_code(pg, res);
        if (v)
            pg_message(v, pg, res);
    }
    PQclear(res);
    return rc;
}

/* ---- transactions -------------------------------------------------------- */

/* Ends the PostgreSQL transaction (commit 1: COMMIT, else ROLLBACK). */
static int tx_end(hv_pg *pg, int commit)
{
    if (!pg->tx)
        return SQLITE_OK;
    pg->tx = 0;
    pg->nsp = 0;
    if (pg->broken)
        return SQLITE_IOERR;
    return pg_command(pg, NULL, commit ? "COMMIT" : "ROLLBACK");
}

/* Starts a write transaction: READ COMMITTED (each statement sees every
 * committed write) under the write lock, taken first. */
static int tx_write(hv_pg *pg, sqlite3_vtab *v)
{
    if (pg->tx == 2)
        return SQLITE_OK;
    /* a snapshot that turns into a write: the lock now; a row another
     * writer changed since the snapshot fails as busy (40001). */
    const char *sql = pg->tx == 1 ? "SELECT pg_advisory_xact_lock(" HV_PG_WRITE_LOCK ")"
                                  : "BEGIN; SELECT pg_advisory_xact_lock(" HV_PG_WRITE_LOCK ")";
    int rc = pg_command(pg, v, sql);
    if (rc != SQLITE_OK) {
        if (pg->tx == 0)
            pg_command(pg, NULL, "ROLLBACK");
        pg->tx = 0;
        return rc;
    }
    pg->tx = 2;
    return SQLITE_OK;
}

/* Brings the PostgreSQL transaction in line with SQLite's before a read or
 * a write: a SQLite transaction that ended without a hook (a deferred one
 * that only read) ends here; one that began opens a snapshot, or a write
 * transaction when SQLite holds its write lock (BEGIN IMMEDIATE). */
static int tx_sync(hv_pg *pg, sqlite3_vtab *v)
{
    if (sqlite3_get_autocommit(pg->db)) {
        if (pg->tx == 1)
            tx_end(pg, 1);
        return SQLITE_OK;
    }
    if (pg->tx)
        return SQLITE_OK;
    if (sqlite3_txn_state(pg->db, NULL) == SQLITE_TXN_WRITE)
        return tx_write(pg, v);
    int rc = pg_command(pg, v, "BEGIN ISOLATION LEVEL REPEATABLE READ");
    if (rc == SQLITE_OK)
        pg->tx = 1;
    return rc;
}

static int on_commit(void *arg)
{
    hv_pg *pg = arg;
    if (pg->tx && tx_end(pg, 1) != SQLITE_OK)
        return 1; /* SQLite rolls back; PostgreSQL did */
    return 0;
}

static void on_rollback(void *arg) { tx_end(arg, 0); }

/* ---- the module ---------------------------------------------------------- */

static pg_table *find_table(hv_pg *pg, const char *name)
{
    for (size_t i = 0; i < pg->ntables; i++)
        if (!strcmp(pg->tables[i].name, name))
            return &pg->tables[i];
    return NULL;
}

static int x_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                     sqlite3_vtab **out, char **err)
{
    hv_pg *pg = aux;
    pg_table *t = argc >= 4 ? find_table(pg, argv[3]) : NULL;
    if (!t) {
        *err = sqlite3_mprintf("hv_pg: no stored table %s", argc >= 4 ? argv[3] : "?");
        return SQLITE_ERROR;
    }
    char *decl = sqlite3_mprintf("CREATE TABLE x(");
    for (int i = 0; decl && i < t->ncol; i++) {
        static const char *const names[] = {"INTEGER", "REAL", "TEXT", "BLOB"};
        const char *type = names[t->types[i] == 'i' ? 0 : t->types[i] == 'r' ? 1
                                 : t->types[i] == 't' ? 2 : 3];
        char *next = sqlite3_mprintf("%s%s\"%w\" %s", decl, i ? ", " : "",
                                     t->cols[i], type);
        sqlite3_free(decl);
        decl = next;
    }
    char *full = decl ? sqlite3_mprintf("%s)", decl) : NULL;
    sqlite3_free(decl);
    pg_vtab *v = full ? sqlite3_malloc(sizeof *v) : NULL;
    int rc = v ? sqlite3_declare_vtab(db, full) : SQLITE_NOMEM;
    sqlite3_free(full);
    if (rc != SQLITE_OK) {
        sqlite3_free(v);
        return rc;
    }
    sqlite3_vtab_config(db, SQLITE_VTAB_CONSTRAINT_SUPPORT, 1);
    memset(v, 0, sizeof *v);
    v->pg = pg;
    v->t = t;
    *out = &v->base;
    return SQLITE_OK;
}

static int x_disconnect(sqlite3_vtab *v)
{
    sqlite3_free(v->zErrMsg);
    sqlite3_free(v);
    return SQLITE_OK;
}

/* The column's name for SQL ("rid" for the hidden rowid). */
static const char *col_name(const pg_table *t, int i)
{
    if (i < 0)
        return t->rowid >= 0 ? t->cols[t->rowid] : "rid";
    return t->cols[i];
}

static char col_type(const pg_table *t, int i)
{
    return i < 0 ? 'i' : t->types[i];
}

/* The operator of a constraint PostgreSQL can take, or NULL. */
static const char *op_text(int op)
{
    switch (op) {
    case SQLITE_INDEX_CONSTRAINT_EQ: return "=";
    case SQLITE_INDEX_CONSTRAINT_LT: return "<";
    case SQLITE_INDEX_CONSTRAINT_LE: return "<=";
    case SQLITE_INDEX_CONSTRAINT_GT: return ">";
    case SQLITE_INDEX_CONSTRAINT_GE: return ">=";
    case SQLITE_INDEX_CONSTRAINT_NE: return "<>";
    case SQLITE_INDEX_CONSTRAINT_IS: return "IS NOT DISTINCT FROM";
    case SQLITE_INDEX_CONSTRAINT_ISNOT: return "IS DISTINCT FROM";
    case SQLITE_INDEX_CONSTRAINT_ISNULL: return "IS NULL";
    case SQLITE_INDEX_CONSTRAINT_ISNOTNULL: return "IS NOT NULL";
    default: return NULL;
    }
}

/* Appends text to *sql (sqlite3_mprintf'd); 0 when out of memory. */
static int append(char **sql, const char *fmt, const char *a, const char *b)
{
    char *next = sqlite3_mprintf(fmt, *sql ? *sql : "", a, b);
    sqlite3_free(*sql);
    *sql = next;
    return next != NULL;
}

/* The WHERE clause of the constraints pushed to PostgreSQL (text and
 * integer columns, and equality on blobs), numbering their arguments.
 * out: *all 1 when every usable constraint went. */
static int plan_where(pg_table *t, sqlite3_index_info *ii, char **where,
                      int *nargs, int *all, double *cost)
{
    *all = 1;
    for (int i = 0; i < ii->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &ii->aConstraint[i];
        if (!c->usable || c->op == SQLITE_INDEX_CONSTRAINT_LIMIT ||
            c->op == SQLITE_INDEX_CONSTRAINT_OFFSET)
            continue;
        const char *op = op_text(c->op);
        char type = col_type(t, c->iColumn);
        if (!op || (type == 'b' && c->op != SQLITE_INDEX_CONSTRAINT_EQ &&
                    c->op != SQLITE_INDEX_CONSTRAINT_ISNULL &&
                    c->op != SQLITE_INDEX_CONSTRAINT_ISNOTNULL)) {
            *all = 0;
            continue;
        }
        const char *collate = type == 't' ? " COLLATE \"C\"" : "";
        char arg[32] = "";
        if (c->op != SQLITE_INDEX_CONSTRAINT_ISNULL &&
            c->op != SQLITE_INDEX_CONSTRAINT_ISNOTNULL) {
            if (*nargs >= HV_PG_MAX_ARGS) {
                *all = 0;
                continue;
            }
            ii->aConstraintUsage[i].argvIndex = ++*nargs;
            snprintf(arg, sizeof arg, " $%d", *nargs);
        }
        ii->aConstraintUsage[i].omit = 1;
        char piece[200];
        snprintf(piece, sizeof piece, "\"%s\"%s %s%s", col_name(t, c->iColumn),
                 collate, op, arg);
        if (!append(where, "%s%s%s", *where ? " AND " : " WHERE ", piece))
            return SQLITE_NOMEM;
        int key = c->iColumn < 0 || c->iColumn == t->rowid;
        *cost /= c->op == SQLITE_INDEX_CONSTRAINT_EQ ? (key ? 100000 : 50) : 4;
    }
    return SQLITE_OK;
}

/* ORDER BY for PostgreSQL when every term is a column (SQLite's order:
 * NULLs first ascending, bytes for text).  out: *consumed. */
static int plan_order(pg_table *t, sqlite3_index_info *ii, char **order, int *consumed)
{
    *consumed = 0;
    if (ii->nOrderBy == 0)
        return SQLITE_OK;
    for (int i = 0; i < ii->nOrderBy; i++)
        if (col_type(t, ii->aOrderBy[i].iColumn) == 'b')
            return SQLITE_OK;
    for (int i = 0; i < ii->nOrderBy; i++) {
        int col = ii->aOrderBy[i].iColumn, desc = ii->aOrderBy[i].desc;
        char piece[160];
        snprintf(piece, sizeof piece, "\"%s\"%s %s", col_name(t, col),
                 col_type(t, col) == 't' ? " COLLATE \"C\"" : "",
                 desc ? "DESC NULLS LAST" : "ASC NULLS FIRST");
        if (!append(order, "%s%s%s", *order ? ", " : " ORDER BY ", piece))
            return SQLITE_NOMEM;
    }
    *consumed = 1;
    ii->orderByConsumed = 1;
    return SQLITE_OK;
}

/* LIMIT and OFFSET, when every other constraint and the order went to
 * PostgreSQL too. */
static int plan_limit(sqlite3_index_info *ii, char **limit, int *nargs)
{
    for (int i = 0; i < ii->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &ii->aConstraint[i];
        if (!c->usable || (c->op != SQLITE_INDEX_CONSTRAINT_LIMIT &&
                           c->op != SQLITE_INDEX_CONSTRAINT_OFFSET) ||
            *nargs >= HV_PG_MAX_ARGS)
            continue;
        ii->aConstraintUsage[i].argvIndex = ++*nargs;
        ii->aConstraintUsage[i].omit = 1;
        char piece[40];
        snprintf(piece, sizeof piece, "%s $%d",
                 c->op == SQLITE_INDEX_CONSTRAINT_LIMIT ? "LIMIT" : "OFFSET", *nargs);
        if (!append(limit, "%s %s%s", piece, ""))
            return SQLITE_NOMEM;
    }
    return SQLITE_OK;
}

/* The plan is the whole SELECT, in idxStr: the rowid, then every column
 * the statement uses (NULL for the rest, so positions stay fixed). */
static int x_best_index(sqlite3_vtab *vt, sqlite3_index_info *ii)
{
    pg_vtab *v = (pg_vtab *)vt;
    pg_table *t = v->t;
    char *where = NULL, *order = NULL, *limit = NULL, *sql = NULL;
    int nargs = 0, all = 1, consumed = 0, rc;
    double cost = 1e7;
    if ((rc = plan_where(t, ii, &where, &nargs, &all, &cost)) ||
        (rc = plan_order(t, ii, &order, &consumed)))
        goto done;
    if (all && (ii->nOrderBy == 0 || consumed) && (rc = plan_limit(ii, &limit, &nargs)))
        goto done;
    if (!append(&sql, "%sSELECT \"%s\"%s", col_name(t, -1), "")) {
        rc = SQLITE_NOMEM;
        goto done;
    }
    for (int i = 0; i < t->ncol; i++) {
        int used = i >= 63 || (ii->colUsed & ((sqlite3_uint64)1 << i));
        if (!append(&sql, used ? "%s, \"%s\"" : "%s, NULL%s", used ? t->cols[i] : "", ""))
            goto nomem;
    }
    if (!append(&sql, "%s FROM \"%s\"", t->name, "") ||
        (where && !append(&sql, "%s%s", where, "")) ||
        (order && !append(&sql, "%s%s", order, "")) ||
        (limit && !append(&sql, "%s%s", limit, "")))
        goto nomem;
    ii->idxStr = sql;
    ii->needToFreeIdxStr = 1;
    ii->idxNum = nargs;
    ii->estimatedCost = cost;
    ii->estimatedRows = (sqlite3_int64)(cost > 1 ? cost / 10 : 1);
    sql = NULL;
    goto done;
nomem:
    rc = SQLITE_NOMEM;
done:
    sqlite3_free(where);
    sqlite3_free(order);
    sqlite3_free(limit);
    sqlite3_free(sql);
    return rc;
}

static int x_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
    (void)v;
    pg_cursor *c = sqlite3_malloc(sizeof *c);
    if (!c)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    *out = &c->base;
    return SQLITE_OK;
}

static int x_close(sqlite3_vtab_cursor *cur)
{
    pg_cursor *c = (pg_cursor *)cur;
    PQclear(c->res);
    sqlite3_free(c);
    return SQLITE_OK;
}

/* Parameter values for libpq from SQLite values: text for numbers and
 * text, binary for blobs.  num: buffers for the numbers' text. */
typedef struct {
    const char *vals[HV_PG_MAX_ARGS + HV_PG_MAX_COLS + 1];
    int lens[HV_PG_MAX_ARGS + HV_PG_MAX_COLS + 1];
    int fmts[HV_PG_MAX_ARGS + HV_PG_MAX_COLS + 1];
    char num[HV_PG_MAX_ARGS + HV_PG_MAX_COLS + 1][32];
    int n;
} pg_params;

static void param_add(pg_params *p, sqlite3_value *v, char type)
{
    int i = p->n++;
    p->fmts[i] = 0;
    p->lens[i] = 0;
    switch (sqlite3_value_type(v)) {
    case SQLITE_NULL:
        p->vals[i] = NULL;
        break;
    case SQLITE_INTEGER:
        snprintf(p->num[i], sizeof p->num[i], "%lld", (long long)sqlite3_value_int64(v));
        p->vals[i] = p->num[i];
        break;
    case SQLITE_FLOAT:
        snprintf(p->num[i], sizeof p->num[i], "%.17g", sqlite3_value_double(v));
        p->vals[i] = p->num[i];
        break;
    case SQLITE_BLOB:
        if (type != 't') {
            p->vals[i] = sqlite3_value_blob(v);
            p->lens[i] = sqlite3_value_bytes(v);
            p->fmts[i] = 1;
            if (!p->vals[i])
                p->vals[i] = "";
            break;
        }
        /* a blob into text is its bytes as text */
        __attribute__((fallthrough));
    default:
        p->vals[i] = (const char *)sqlite3_value_text(v);
        if (type == 'b') { /* text into bytea: its bytes */
            p->lens[i] = sqlite3_value_bytes(v);
            p->fmts[i] = 1;
        }
    }
}

static int x_filter(sqlite3_vtab_cursor *cur, int idx_num, const char *idx_str,
                    int argc, sqlite3_value **argv)
{
    pg_cursor *c = (pg_cursor *)cur;
    pg_vtab *v = (pg_vtab *)cur->pVtab;
    hv_pg *pg = v->pg;
    (void)idx_num;
    int rc = tx_sync(pg, &v->base);
    if (rc != SQLITE_OK)
        return rc;
    pg_params p;
    p.n = 0;
    for (int i = 0; i < argc && i < HV_PG_MAX_ARGS; i++)
        param_add(&p, argv[i], 't' + (sqlite3_value_type(argv[i]) == SQLITE_BLOB) * ('b' - 't'));
    PQclear(c->res);
    c->res = PQexecParams(pg->conn, idx_str, p.n, NULL, p.vals, p.lens, p.fmts, 1);
    if (PQresultStatus(c->res) != PGRES_TUPLES_OK) {
        rc = pg_code(pg, c->res);
        pg_message(&v->base, pg, c->res);
        PQclear(c->res);
        c->res = NULL;
        c->nrows = c->row = 0;
        return rc;
    }
    c->row = 0;
    c->nrows = PQntuples(c->res);
    return SQLITE_OK;
}

static int x_next(sqlite3_vtab_cursor *cur)
{
    ((pg_cursor *)cur)->row++;
    return SQLITE_OK;
}

static int x_eof(sqlite3_vtab_cursor *cur)
{
    pg_cursor *c = (pg_cursor *)cur;
    return c->row >= c->nrows;
}

static int64_t be64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | (unsigned char)p[i];
    return (int64_t)v;
}

static int x_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int i)
{
    pg_cursor *c = (pg_cursor *)cur;
    pg_table *t = ((pg_vtab *)cur->pVtab)->t;
    if (sqlite3_vtab_nochange(ctx))
        return SQLITE_OK; /* an UPDATE leaves it: xUpdate will not send it */
    if (PQgetisnull(c->res, c->row, i + 1)) {
        sqlite3_result_null(ctx);
        return SQLITE_OK;
    }
    const char *p = PQgetvalue(c->res, c->row, i + 1);
    int n = PQgetlength(c->res, c->row, i + 1);
    switch (t->types[i]) {
    case 'i':
        sqlite3_result_int64(ctx, n == 8 ? be64(p) : 0);
        break;
    case 'r': {
        uint64_t u = n == 8 ? (uint64_t)be64(p) : 0;
        double d;
        memcpy(&d, &u, sizeof d);
        sqlite3_result_double(ctx, d);
        break;
    }
    case 'b':
        sqlite3_result_blob(ctx, p, n, SQLITE_TRANSIENT);
        break;
    default:
        sqlite3_result_text(ctx, p, n, SQLITE_TRANSIENT);
    }
    return SQLITE_OK;
}

static int x_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *out)
{
    pg_cursor *c = (pg_cursor *)cur;
    *out = PQgetlength(c->res, c->row, 0) == 8 ? be64(PQgetvalue(c->res, c->row, 0)) : 0;
    return SQLITE_OK;
}

/* Builds the INSERT of argv (xUpdate's) into sql and p: a NULL where the
 * column has a default is left to PostgreSQL; a NULL rowid column gets
 * the next number (max + 1: writers are serialised). */
static int build_insert(pg_table *t, sqlite3 *db, sqlite3_value **argv,
                        char **sql, pg_params *p)
{
    char *cols = NULL, *vals = NULL;
    for (int i = 0; i < t->ncol; i++) {
        sqlite3_value *val = argv[2 + i];
        if (i == t->rowid && sqlite3_value_type(val) == SQLITE_NULL)
            val = argv[1];
        int null = sqlite3_value_type(val) == SQLITE_NULL;
        if (null && t->dflt[i])
            continue;
        char ph[96];
        if (null && i == t->rowid)
            snprintf(ph, sizeof ph, "(SELECT coalesce(max(\"%s\"), 0) + 1 FROM \"%s\")",
                     t->cols[i], t->name);
        else {
            param_add(p, val, t->types[i]);
            snprintf(ph, sizeof ph, "$%d", p->n);
        }
        if (!append(&cols, "%s%s\"%s\"", cols ? ", " : "", t->cols[i]) ||
            !append(&vals, "%s%s%s", vals ? ", " : "", ph)) {
            sqlite3_free(cols);
            sqlite3_free(vals);
            return SQLITE_NOMEM;
        }
    }
    int conflict = sqlite3_vtab_on_conflict(db);
    *sql = sqlite3_mprintf("INSERT INTO \"%s\" (%s) VALUES (%s)%s RETURNING \"%s\"",
                           t->name, cols ? cols : "", vals ? vals : "",
                           conflict == SQLITE_IGNORE ? " ON CONFLICT DO NOTHING" : "",
                           col_name(t, -1));
    sqlite3_free(cols);
    sqlite3_free(vals);
    return *sql ? SQLITE_OK : SQLITE_NOMEM;
}

/* The UPDATE of row argv[0] (the columns SQLite changes). */
static int build_update(pg_table *t, sqlite3_value **argv, char **sql, pg_params *p)
{
    char *sets = NULL;
    for (int i = 0; i < t->ncol; i++) {
        if (sqlite3_value_nochange(argv[2 + i]))
            continue;
        param_add(p, argv[2 + i], t->types[i]);
        char ph[16];
        snprintf(ph, sizeof ph, "$%d", p->n);
        if (!append(&sets, "%s%s\"%s\" = ", sets ? ", " : "", t->cols[i]) ||
            !append(&sets, "%s%s%s", ph, "")) {
            sqlite3_free(sets);
            return SQLITE_NOMEM;
        }
    }
    if (!sets) {
        *sql = NULL; /* nothing changes */
        return SQLITE_OK;
    }
    param_add(p, argv[0], 'i');
    *sql = sqlite3_mprintf("UPDATE \"%s\" SET %s WHERE \"%s\" = $%d", t->name, sets,
                           col_name(t, -1), p->n);
    sqlite3_free(sets);
    return *sql ? SQLITE_OK : SQLITE_NOMEM;
}

/* Runs one write inside a savepoint, so a refused row (a constraint the
 * engine expects to meet) leaves the transaction usable, as in SQLite. */
static int run_write(pg_vtab *v, const char *sql, pg_params *p, sqlite3_int64 *rowid,
                     int want_rowid)
{
    hv_pg *pg = v->pg;
    int rc = pg_command(pg, &v->base, "SAVEPOINT hv_row");
    if (rc != SQLITE_OK)
        return rc;
    PGresult *res = PQexecParams(pg->conn, sql, p->n, NULL, p->vals, p->lens, p->fmts, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        rc = pg_code(pg, res);
        pg_message(&v->base, pg, res);
        PQclear(res);
        if (!pg->broken)
            pg_command(pg, NULL, "ROLLBACK TO SAVEPOINT hv_row");
        return rc;
    }
    if (want_rowid && PQntuples(res) == 1)
        *rowid = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return pg_command(pg, &v->base, "RELEASE SAVEPOINT hv_row");
}

static int x_update(sqlite3_vtab *vt, int argc, sqlite3_value **argv, sqlite3_int64 *rowid)
{
    pg_vtab *v = (pg_vtab *)vt;
    pg_table *t = v->t;
    int rc = tx_write(v->pg, vt);
    if (rc != SQLITE_OK)
        return rc;
    pg_params p;
    p.n = 0;
    char *sql = NULL;
    int insert = argc > 1 && sqlite3_value_type(argv[0]) == SQLITE_NULL;
    if (argc == 1) {
        param_add(&p, argv[0], 'i');
        sql = sqlite3_mprintf("DELETE FROM \"%s\" WHERE \"%s\" = $1", t->name,
                              col_name(t, -1));
        rc = sql ? SQLITE_OK : SQLITE_NOMEM;
    } else if (insert)
        rc = build_insert(t, v->pg->db, argv, &sql, &p);
    else if (sqlite3_value_int64(argv[0]) != sqlite3_value_int64(argv[1])) {
        sqlite3_free(vt->zErrMsg);
        vt->zErrMsg = sqlite3_mprintf("hv_pg: a row's number cannot change");
        return SQLITE_CONSTRAINT;
    } else
        rc = build_update(t, argv, &sql, &p);
    if (rc == SQLITE_OK && sql)
        rc = run_write(v, sql, &p, rowid, insert);
    sqlite3_free(sql);
    return rc;
}

/* xBegin: SQLite is about to write (an explicit transaction or one
 * statement's). */
static int x_begin(sqlite3_vtab *vt)
{
    pg_vtab *v = (pg_vtab *)vt;
    return tx_write(v->pg, vt);
}

static int x_noop(sqlite3_vtab *vt)
{
    (void)vt;
    return SQLITE_OK;
}

/* Savepoints (a batch's change, SQLite's statement journal): one
 * PostgreSQL savepoint per level, made when the first table reports it. */
static int x_savepoint(sqlite3_vtab *vt, int n)
{
    hv_pg *pg = ((pg_vtab *)vt)->pg;
    if ((pg->nsp && pg->sp[pg->nsp - 1] >= n) || pg->nsp == 32)
        return SQLITE_OK;
    char sql[48];
    snprintf(sql, sizeof sql, "SAVEPOINT hv_sp%d", n);
    int rc = pg_command(pg, vt, sql);
    if (rc == SQLITE_OK)
        pg->sp[pg->nsp++] = n;
    return rc;
}

/* The index of the lowest mirrored level >= n, or -1. */
static int sp_find(const hv_pg *pg, int n)
{
    for (int i = 0; i < pg->nsp; i++)
        if (pg->sp[i] >= n)
            return i;
    return -1;
}

static int x_release(sqlite3_vtab *vt, int n)
{
    hv_pg *pg = ((pg_vtab *)vt)->pg;
    int i = sp_find(pg, n);
    if (i < 0)
        return SQLITE_OK;
    char sql[48];
    snprintf(sql, sizeof sql, "RELEASE SAVEPOINT hv_sp%d", pg->sp[i]);
    pg->nsp = i;
    return pg_command(pg, vt, sql);
}

static int x_rollback_to(sqlite3_vtab *vt, int n)
{
    hv_pg *pg = ((pg_vtab *)vt)->pg;
    int i = sp_find(pg, n);
    if (i < 0)
        return SQLITE_OK;
    char sql[48];
    snprintf(sql, sizeof sql, "ROLLBACK TO SAVEPOINT hv_sp%d", pg->sp[i]);
    pg->nsp = i + 1;
    return pg_command(pg, vt, sql);
}

static sqlite3_module pg_module = {
    .iVersion = 2,
    .xCreate = x_connect,
    .xConnect = x_connect,
    .xBestIndex = x_best_index,
    .xDisconnect = x_disconnect,
    .xDestroy = x_disconnect,
    .xOpen = x_open,
    .xClose = x_close,
    .xFilter = x_filter,
    .xNext = x_next,
    .xEof = x_eof,
    .xColumn = x_column,
    .xRowid = x_rowid,
    .xUpdate = x_update,
    .xBegin = x_begin,
    .xSync = x_noop,
    .xCommit = x_noop,   /* the commit hook commits, once for all tables */
    .xRollback = x_noop, /* likewise the rollback hook */
    .xSavepoint = x_savepoint,
    .xRelease = x_release,
    .xRollbackTo = x_rollback_to,
};

/* ---- opening a store ----------------------------------------------------- */

/* Reads the stored tables' columns into pg->tables (haven_tables lists
 * them with their rowid column; information about the columns from the
 * PostgreSQL catalogue). */
static hv_status load_tables(hv_pg *pg, char **err)
{
    PGresult *res = PQexec(pg->conn,
        "SELECT h.name, h.rowid_col, a.attname, format_type(a.atttypid, NULL),"
        " a.atthasdef FROM haven_tables h JOIN pg_attribute a"
        " ON a.attrelid = to_regclass(quote_ident(h.name)) AND a.attnum > 0"
        " AND NOT a.attisdropped ORDER BY h.pos, a.attnum");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        *err = hv__asprintf("cannot read the store's tables: %s",
                            PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                                ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "failed");
        PQclear(res);
        return HV_CORRUPT;
    }
    int n = PQntuples(res);
    pg->tables = hv__calloc((size_t)n + 1, sizeof *pg->tables);
    hv_status s = pg->tables ? HV_OK : HV_NOMEM;
    pg_table *t = NULL;
    for (int r = 0; s == HV_OK && r < n; r++) {
        const char *name = PQgetvalue(res, r, 0), *col = PQgetvalue(res, r, 2);
        const char *type = PQgetvalue(res, r, 3);
        if (!t || strcmp(t->name, name)) {
            t = &pg->tables[pg->ntables++];
            t->name = hv__strdup(name);
            t->rowid = -1;
        }
        if (!strcmp(col, "rid"))
            continue;
        if (!t->name || t->ncol == HV_PG_MAX_COLS || !(t->cols[t->ncol] = hv__strdup(col))) {
            s = t->name && t->ncol == HV_PG_MAX_COLS ? HV_CORRUPT : HV_NOMEM;
            break;
        }
        t->types[t->ncol] = !strcmp(type, "bigint") ? 'i'
                            : !strcmp(type, "double precision") ? 'r'
                            : !strcmp(type, "bytea") ? 'b' : 't';
        t->dflt[t->ncol] = PQgetvalue(res, r, 4)[0] == 't';
        if (!strcmp(PQgetvalue(res, r, 1), col))
            t->rowid = t->ncol;
        t->ncol++;
    }
    PQclear(res);
    if (s != HV_OK)
        *err = hv__asprintf("cannot read the store's tables (%s)",
                            s == HV_NOMEM ? "out of memory" : "too many columns");
    return s;
}

/* The stored schema version (haven_store), or -1 when there is none. */
static int stored_version(hv_pg *pg)
{
    PGresult *res = PQexec(pg->conn, "SELECT value FROM haven_store WHERE key = 'schema_version'");
    int v = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1
                ? atoi(PQgetvalue(res, 0, 0)) : -1;
    PQclear(res);
    return v;
}

hv_status hv__pg_open(const char *url, int busy_ms, sqlite3 *db, hv_pg **out_pg,
                      char **err)
{
    *out_pg = NULL;
    hv_pg *pg = hv__calloc(1, sizeof *pg);
    if (!pg)
        return HV_NOMEM;
    pg->db = db;
    hv_status s = hv__pg_connect(url, busy_ms, &pg->conn, err);
    int version = s == HV_OK ? stored_version(pg) : 0;
    if (s == HV_OK && version < 0) {
        char *shown = hv__pg_display(url);
        *err = hv__asprintf("%s: no haven database here (create one with 'haven init')",
                            shown ? shown : "postgresql");
        hv__free(shown);
        s = HV_NOINPUT;
    }
    if (s == HV_OK)
        s = load_tables(pg, err);
    if (s == HV_OK &&
        sqlite3_create_module(db, "hv_pg", &pg_module, pg) != SQLITE_OK)
        s = HV_NOMEM;
    for (size_t i = 0; s == HV_OK && i < pg->ntables; i++) {
        char *sql = sqlite3_mprintf("CREATE VIRTUAL TABLE \"%w\" USING hv_pg(%s)",
                                    pg->tables[i].name, pg->tables[i].name);
        if (!sql || sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
            *err = hv__asprintf("cannot attach the stored table %s: %s",
                                pg->tables[i].name, sqlite3_errmsg(db));
            s = HV_CORRUPT;
        }
        sqlite3_free(sql);
    }
    if (s == HV_OK) {
        char pragma[48];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", version);
        sqlite3_exec(db, pragma, NULL, NULL, NULL);
        sqlite3_commit_hook(db, on_commit, pg);
        sqlite3_rollback_hook(db, on_rollback, pg);
        *out_pg = pg;
        return HV_OK;
    }
    hv__pg_close(pg);
    return s;
}

void hv__pg_close(hv_pg *pg)
{
    if (!pg)
        return;
    if (pg->tx && !pg->broken)
        pg_command(pg, NULL, "ROLLBACK");
    PQfinish(pg->conn);
    for (size_t i = 0; i < pg->ntables; i++) {
        hv__free(pg->tables[i].name);
        for (int c = 0; c < pg->tables[i].ncol; c++)
            hv__free(pg->tables[i].cols[c]);
    }
    hv__free(pg->tables);
    hv__free(pg);
}

size_t hv__pg_table_count(const hv_pg *pg) { return pg->ntables; }

const char *hv__pg_table_name(const hv_pg *pg, size_t i) { return pg->tables[i].name; }

PGconn *hv__pg_conn(hv_pg *pg) { return pg->conn; }

void hv__pg_busy_timeout(hv_pg *pg, int busy_ms)
{
    char sql[64];
    snprintf(sql, sizeof sql, "SET lock_timeout = %d", busy_ms > 0 ? busy_ms : 1);
    pg_command(pg, NULL, sql);
}
