/* pgstore.c - the PostgreSQL store: the virtual table module hv_pg that
 * keeps a Haven table's rows in PostgreSQL (pgstore.h), its transactions,
 * and opening a store. */
#include "pgstore.h"

#include "pqlib.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"

/* The advisory lock every write transaction takes (pg_advisory_xact_lock):
 * one writer at a time, as on a SQLite file. */
#define HV_PG_WRITE_LOCK "4826117935"
/* ...and then marks: a row every writer updates (with no change), so that
 * a REPEATABLE READ snapshot that turns into a write after another writer
 * committed fails as PostgreSQL's serialization failure (tx_write). */
#define HV_PG_WRITE_MARK "UPDATE haven_store SET value = value WHERE key = 'schema_version'"
/* How many times a transaction's start is tried (tx_start). */
#define HV_PG_TRIES 4

struct hv_pg {
    PGconn *conn;
    sqlite3 *db;
    int tx;       /* 0 none, 1 a read snapshot, 2 a write (locked) */
    int broken;   /* the connection was lost: made again between transactions */
    int busy_ms;  /* the lock_timeout of its session */
    int doomed;   /* a COMMIT failed: SQLite must roll back before anything */
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

/* The SQLite code for a failure, and v's message when v (pgstore.h). */
static int pg_fail(hv_pg *pg, sqlite3_vtab *v, const PGresult *res)
{
    int lost = 0, rc = hv__pg_code(pg->conn, res, &lost);
    pg->broken |= lost;
    if (v) {
        sqlite3_free(v->zErrMsg);
        v->zErrMsg = hv__pg_message(pg->conn, res, lost);
    }
    return rc;
}

/* Runs a command with no parameters; SQLITE_OK or the failure's code (and
 * v's message when v).  *retry (when given): 1 when it failed as a
 * serialization failure or deadlock. */
static int pg_run(hv_pg *pg, sqlite3_vtab *v, const char *sql, int *retry)
{
    PGresult *res = PQexec(pg->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = SQLITE_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        rc = pg_fail(pg, v, res);
        if (retry)
            *retry = hv__pg_retryable(res);
    }
    PQclear(res);
    return rc;
}

static int pg_command(hv_pg *pg, sqlite3_vtab *v, const char *sql)
{
    return pg_run(pg, v, sql, NULL);
}

/* Between transactions, a lost connection is made again (to the primary
 * of the moment); SQLITE_BUSY with v's message when none answers. */
static int pg_revive(hv_pg *pg, sqlite3_vtab *v)
{
    if (!pg->broken && PQstatus(pg->conn) == CONNECTION_OK)
        return SQLITE_OK;
    char why[200];
    if (hv__pg_reset(pg->conn, pg->busy_ms, why, sizeof why)) {
        sqlite3_free(v->zErrMsg);
        v->zErrMsg = sqlite3_mprintf("PostgreSQL: the connection to the server was "
                                     "lost and no primary answers (%s); try again", why);
        return SQLITE_BUSY;
    }
    pg->broken = 0;
    return SQLITE_OK;
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
        return SQLITE_BUSY;
    return pg_command(pg, NULL, commit ? "COMMIT" : "ROLLBACK");
}

/* Starts a PostgreSQL transaction with sql.  Nothing of it has been read
 * or written yet, so trying again is safe: a connection found lost is
 * made again (pg_revive) and a serialization failure or deadlock waited
 * out, up to HV_PG_TRIES times in all; then SQLITE_BUSY. */
static int tx_start(hv_pg *pg, sqlite3_vtab *v, const char *sql)
{
    int rc = SQLITE_BUSY;
    for (int i = 0; i < HV_PG_TRIES; i++) {
        if (i && !pg->broken)
            usleep(20000u << i); /* a serialization failure: let the other finish */
        int retry = 0;
        if ((rc = pg_revive(pg, v)) != SQLITE_OK)
            return rc;
        if ((rc = pg_run(pg, v, sql, &retry)) == SQLITE_OK)
            return rc;
        if (!pg->broken && PQtransactionStatus(pg->conn) != PQTRANS_IDLE)
            pg_command(pg, NULL, "ROLLBACK");
        if (!pg->broken && !retry)
            return rc;
    }
    return rc;
}

/* After a failed COMMIT, until SQLite has rolled back: busy. */
static int doomed(sqlite3_vtab *v)
{
    sqlite3_free(v->zErrMsg);
    v->zErrMsg = sqlite3_mprintf("PostgreSQL: this transaction's COMMIT failed; "
                                 "roll it back");
    return SQLITE_BUSY;
}

/* Starts a write transaction: READ COMMITTED (each statement sees every
 * committed write) under the write lock, taken first, and the writers'
 * mark: as every writer takes the lock before its first read, writers
 * never meet a serialization failure or deadlock among themselves. */
static int tx_write(hv_pg *pg, sqlite3_vtab *v)
{
    if (pg->doomed)
        return doomed(v);
    if (pg->tx == 2)
        return SQLITE_OK;
    if (pg->tx == 0) {
        int rc = tx_start(pg, v, "BEGIN; SELECT pg_advisory_xact_lock(" HV_PG_WRITE_LOCK "); "
                          HV_PG_WRITE_MARK);
        pg->tx = rc == SQLITE_OK ? 2 : 0;
        return rc;
    }
    /* A read snapshot that turns into a write: the lock now, then the
     * writers' mark, which PostgreSQL refuses (40001) when a writer
     * committed since the snapshot: what was read is stale, so busy, as
     * SQLite's own snapshot (SQLITE_BUSY_SNAPSHOT), never a write made on
     * it (a chain entry after a stale head would fork the chain). */
    int retry = 0;
    int rc = pg_run(pg, v, "SELECT pg_advisory_xact_lock(" HV_PG_WRITE_LOCK "); "
                    HV_PG_WRITE_MARK, &retry);
    if (rc != SQLITE_OK && retry && !pg->broken) {
        sqlite3_free(v->zErrMsg);
        v->zErrMsg = sqlite3_mprintf("PostgreSQL: another writer changed the store since "
                                     "this transaction began reading; try again");
    }
    if (rc == SQLITE_OK)
        pg->tx = 2; /* else the snapshot stays, for SQLite's rollback */
    return rc;
}

/* Brings the PostgreSQL transaction in line with SQLite's before a read or
 * a write: a SQLite transaction that ended without a hook (a deferred one
 * that only read) ends here; one that began opens a snapshot, or a write
 * transaction when SQLite holds its write lock (BEGIN IMMEDIATE). */
static int tx_sync(hv_pg *pg, sqlite3_vtab *v)
{
    if (pg->doomed)
        return doomed(v);
    if (sqlite3_get_autocommit(pg->db)) {
        if (pg->tx == 1)
            tx_end(pg, 1);
        return pg->tx ? SQLITE_OK : pg_revive(pg, v);
    }
    if (pg->tx)
        return SQLITE_OK;
    if (sqlite3_txn_state(pg->db, NULL) == SQLITE_TXN_WRITE)
        return tx_write(pg, v);
    int rc = tx_start(pg, v, "BEGIN ISOLATION LEVEL REPEATABLE READ");
    if (rc == SQLITE_OK)
        pg->tx = 1;
    return rc;
}

/* xSync: SQLite commits a transaction that wrote.  COMMIT here, not in
 * the commit hook, so that a failure keeps its code and message: a
 * connection lost at COMMIT is busy (75) and never success, though the
 * server may have made the change durable before it went (its outcome
 * cannot be known here). */
static int x_sync(sqlite3_vtab *vt)
{
    hv_pg *pg = ((pg_vtab *)vt)->pg;
    if (pg->doomed)
        return doomed(vt);
    if (pg->tx != 2)
        return SQLITE_OK; /* committed by another table's xSync */
    pg->tx = 0;
    pg->nsp = 0;
    PGresult *res = pg->broken ? NULL : PQexec(pg->conn, "COMMIT");
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK && !strcmp(PQcmdStatus(res), "COMMIT")
                 ? SQLITE_OK : SQLITE_BUSY;
    if (rc != SQLITE_OK) {
        int lost = 0;
        rc = res && PQresultStatus(res) == PGRES_COMMAND_OK ? SQLITE_BUSY
                                                            : hv__pg_code(pg->conn, res, &lost);
        pg->broken |= lost || !res;
        pg->doomed = 1;
        sqlite3_free(vt->zErrMsg);
        vt->zErrMsg = !res ? sqlite3_mprintf("PostgreSQL: the connection to the server "
                                             "was lost: the change was not saved; try again")
                      : lost ? sqlite3_mprintf("PostgreSQL: the connection to the server was "
                                               "lost while committing: the change may or may "
                                               "not have been saved; look before making it "
                                               "again")
                             : hv__pg_message(pg->conn, res, 0);
    }
    PQclear(res);
    return rc;
}

/* A read-only transaction (or a write one that wrote nothing) ends here:
 * nothing to lose if its COMMIT fails. */
static int on_commit(void *arg)
{
    hv_pg *pg = arg;
    if (pg->doomed)
        return 1;
    tx_end(pg, 1);
    return 0;
}

static void on_rollback(void *arg)
{
    hv_pg *pg = arg;
    pg->doomed = 0;
    tx_end(pg, 0);
}

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

static int x_best_index(sqlite3_vtab *vt, sqlite3_index_info *ii)
{
    return hv__pg_plan(((pg_vtab *)vt)->t, ii);
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
        hv__pg_param_add(&p, argv[i], 't' + (sqlite3_value_type(argv[i]) == SQLITE_BLOB) * ('b' - 't'));
    for (int again = pg->tx == 0; ; again = 0) {
        PQclear(c->res);
        c->res = PQexecParams(pg->conn, idx_str, p.n, NULL, p.vals, p.lens, p.fmts, 1);
        if (PQresultStatus(c->res) == PGRES_TUPLES_OK)
            break;
        rc = pg_fail(pg, &v->base, c->res);
        PQclear(c->res);
        c->res = NULL;
        c->nrows = c->row = 0;
        /* a read outside a transaction: once more on a connection made
         * again, when it was lost */
        if (!again || !pg->broken || pg_revive(pg, &v->base) != SQLITE_OK)
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
        rc = pg_fail(pg, &v->base, res);
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
        hv__pg_param_add(&p, argv[0], 'i');
        sql = sqlite3_mprintf("DELETE FROM \"%s\" WHERE \"%s\" = $1", t->name,
                              hv__pg_col_name(t, -1));
        rc = sql ? SQLITE_OK : SQLITE_NOMEM;
    } else if (insert)
        rc = hv__pg_build_insert(t, v->pg->db, argv, &sql, &p);
    else if (sqlite3_value_int64(argv[0]) != sqlite3_value_int64(argv[1])) {
        sqlite3_free(vt->zErrMsg);
        vt->zErrMsg = sqlite3_mprintf("hv_pg: a row's number cannot change");
        return SQLITE_CONSTRAINT;
    } else
        rc = hv__pg_build_update(t, argv, &sql, &p);
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
    .xSync = x_sync,
    .xCommit = x_noop,   /* the commit hook commits, once for all tables */
    .xRollback = x_noop, /* likewise the rollback hook */
    .xSavepoint = x_savepoint,
    .xRelease = x_release,
    .xRollbackTo = x_rollback_to,
};

/* ---- opening a store ----------------------------------------------------- */

/* HV_BUSY with *err "the connection to the server was lost ... try
 * again" when res failed because the server went away (a failover, a
 * restart: hv__pg_code), so the caller retries as on a lock; else HV_OK
 * (the failure is the caller's to name). */
static hv_status lost_connection(hv_pg *pg, const PGresult *res, char **err)
{
    int lost = 0;
    hv__pg_code(pg->conn, res, &lost);
    if (!lost)
        return HV_OK;
    char *msg = hv__pg_message(pg->conn, res, 1);
    *err = hv__asprintf("%s", msg ? msg : "PostgreSQL: the connection to the server was lost");
    sqlite3_free(msg);
    return *err ? HV_BUSY : HV_NOMEM;
}

/* Reads the stored tables' columns into pg->tables (haven_tables lists
 * them with their rowid column; information about the columns from the
 * PostgreSQL catalogue). */
static hv_status load_tables(hv_pg *pg, char **err)
{
    PGresult *res = PQexec(pg->conn,
        "SELECT h.name, h.rowid_col, a.attname, format_type(a.atttypid, NULL),"
        " a.atthasdef, a.attnotnull FROM haven_tables h JOIN pg_attribute a"
        " ON a.attrelid = to_regclass(quote_ident(h.name)) AND a.attnum > 0"
        " AND NOT a.attisdropped ORDER BY h.pos, a.attnum");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        hv_status s = lost_connection(pg, res, err);
        if (!s) {
            *err = hv__asprintf("cannot read the store's tables: %s",
                                PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                                    ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                                    : "failed");
            s = HV_CORRUPT;
        }
        PQclear(res);
        return s;
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
        t->notnull[t->ncol] = PQgetvalue(res, r, 5)[0] == 't';
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

/* The stored schema version (haven_store) into *version, -1 when there
 * is none; HV_BUSY (lost_connection) when the server went away. */
static hv_status stored_version(hv_pg *pg, int *version, char **err)
{
    PGresult *res = PQexec(pg->conn, "SELECT value FROM haven_store WHERE key = 'schema_version'");
    hv_status s = PQresultStatus(res) == PGRES_TUPLES_OK ? HV_OK
                                                         : lost_connection(pg, res, err);
    *version = s == HV_OK && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1
                   ? atoi(PQgetvalue(res, 0, 0)) : -1;
    PQclear(res);
    return s;
}

hv_status hv__pg_open(const char *url, int busy_ms, sqlite3 *db, hv_pg **out_pg,
                      char **err)
{
    *out_pg = NULL;
    hv_pg *pg = hv__calloc(1, sizeof *pg);
    if (!pg)
        return HV_NOMEM;
    pg->db = db;
    pg->busy_ms = busy_ms;
    hv_status s = hv__pg_connect(url, busy_ms, &pg->conn, err);
    int version = 0;
    if (s == HV_OK)
        s = stored_version(pg, &version, err);
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
    pg->busy_ms = busy_ms;
    pg_command(pg, NULL, sql);
}
