/* pgstore_sql.c - the SQL the hv_pg module sends PostgreSQL (pgstore.h):
 * a SELECT for SQLite's plan of a scan (WHERE, ORDER BY and LIMIT pushed
 * down where they can be), the INSERT and UPDATE of xUpdate, and their
 * parameters in libpq's form. */
#include "pgstore.h"

#include <stdio.h>
#include <string.h>

/* The column's name for SQL ("rid" for the hidden rowid). */
const char *hv__pg_col_name(const pg_table *t, int i)
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
static int plan_where(const pg_table *t, sqlite3_index_info *ii, char **where,
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
        snprintf(piece, sizeof piece, "\"%s\"%s %s%s", hv__pg_col_name(t, c->iColumn),
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
static int plan_order(const pg_table *t, sqlite3_index_info *ii, char **order, int *consumed)
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
        /* (SQLite's NULL order; a column that cannot be NULL is left
         * without it, so PostgreSQL can walk its index instead of sorting) */
        int notnull = col < 0 || t->notnull[col];
        snprintf(piece, sizeof piece, "\"%s\"%s %s", hv__pg_col_name(t, col),
                 col_type(t, col) == 't' ? " COLLATE \"C\"" : "",
                 notnull ? (desc ? "DESC" : "ASC")
                         : desc ? "DESC NULLS LAST" : "ASC NULLS FIRST");
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

int hv__pg_plan(const pg_table *t, sqlite3_index_info *ii)
{
    char *where = NULL, *order = NULL, *limit = NULL, *sql = NULL;
    int nargs = 0, all = 1, consumed = 0, rc;
    double cost = 1e7;
    if ((rc = plan_where(t, ii, &where, &nargs, &all, &cost)) ||
        (rc = plan_order(t, ii, &order, &consumed)))
        goto done;
    if (all && (ii->nOrderBy == 0 || consumed) && (rc = plan_limit(ii, &limit, &nargs)))
        goto done;
    if (!append(&sql, "%sSELECT \"%s\"%s", hv__pg_col_name(t, -1), "")) {
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

void hv__pg_param_add(pg_params *p, sqlite3_value *v, char type)
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

/* Builds the INSERT of argv (xUpdate's) into sql and p: a NULL where the
 * column has a default is left to PostgreSQL; a NULL rowid column gets
 * the next number (max + 1: writers are serialised). */
int hv__pg_build_insert(const pg_table *t, sqlite3 *db, sqlite3_value **argv,
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
            hv__pg_param_add(p, val, t->types[i]);
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
                           hv__pg_col_name(t, -1));
    sqlite3_free(cols);
    sqlite3_free(vals);
    return *sql ? SQLITE_OK : SQLITE_NOMEM;
}

/* The UPDATE of row argv[0] (the columns SQLite changes). */
int hv__pg_build_update(const pg_table *t, sqlite3_value **argv, char **sql, pg_params *p)
{
    char *sets = NULL;
    for (int i = 0; i < t->ncol; i++) {
        if (sqlite3_value_nochange(argv[2 + i]))
            continue;
        hv__pg_param_add(p, argv[2 + i], t->types[i]);
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
    hv__pg_param_add(p, argv[0], 'i');
    *sql = sqlite3_mprintf("UPDATE \"%s\" SET %s WHERE \"%s\" = $%d", t->name, sets,
                           hv__pg_col_name(t, -1), p->n);
    sqlite3_free(sets);
    return *sql ? SQLITE_OK : SQLITE_NOMEM;
}

