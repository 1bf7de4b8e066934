/* pgstore_migrate.c - migrating a PostgreSQL store (pgstore_migrate.h): the
 * SQLite steps of migrate.c run on local copies of the stored tables, and
 * the store is made again from them, in the engine's one transaction. */
#include "pgstore_migrate.h"
#include "pgstore_report.h"

#include "pqlib.h"
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "core.h"
#include "error.h"
#include "pgstore.h"
#include "store.h"

/* Runs sql (sqlite3_mprintf'd, freed here) on e's connection; on failure
 * records what was being done. */
static hv_status exec_owned(hv_engine *e, char *sql, const char *what)
{
    if (!sql)
        return hv__fail(e, HV_NOMEM, "out of memory");
    char *msg = NULL;
    int rc = sqlite3_exec(e->db, sql, NULL, NULL, &msg);
    sqlite3_free(sql);
    hv_status s = HV_OK;
    if (rc != SQLITE_OK)
        s = hv__fail(e, rc == SQLITE_BUSY ? HV_BUSY : rc == SQLITE_NOMEM ? HV_NOMEM : HV_INTERNAL,
                     "%s: migrating the store: %s: %s", e->path, what,
                     msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return s;
}

/* A query on the store's own connection (inside the engine's
 * transaction).  out: *out for PQclear; on failure e's message. */
static hv_status store_query(hv_engine *e, const char *sql, const char *what, PGresult **out)
{
    PGresult *res = PQexec(hv__pg_conn(e->pg), sql);
    ExecStatusType st = PQresultStatus(res);
    *out = NULL;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        *out = res;
        return HV_OK;
    }
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    /* a lock not had in time (another session still reads a table) */
    int busy = state && (!strcmp(state, "55P03") || !strcmp(state, "40001") ||
                         !strcmp(state, "40P01"));
    hv_status s = hv__fail(e, busy ? HV_BUSY : HV_INTERNAL,
                           "%s: migrating the store: %s: PostgreSQL: %s", e->path, what,
                           msg ? msg : "failed");
    PQclear(res);
    return s;
}

hv_status hv__pg_migrate_lock(hv_engine *e, int *version)
{
    *version = 0;
    /* the write transaction's first read takes the lock (pgstore.h) */
    hv_status s = hv__store_exec(e, "SELECT count(*) FROM meta");
    if (s != HV_OK)
        return s;
    PGresult *res = NULL;
    if ((s = store_query(e, "SELECT value FROM haven_store WHERE key = 'schema_version'",
                         "reading the schema version", &res)))
        return s;
    char *end = NULL;
    long v = PQntuples(res) == 1 ? strtol(PQgetvalue(res, 0, 0), &end, 10) : 0;
    int ok = end && *end == '\0' && v > 0 && v < 1000000;
    PQclear(res);
    if (!ok)
        return hv__fail(e, HV_CORRUPT, "%s: not a haven database (no schema version)", e->path);
    *version = (int)v;
    return HV_OK;
}

/* 1 when name is one of the stored tables of e's connection. */
static int is_stored(hv_engine *e, const char *name)
{
    for (size_t i = 0; i < hv__pg_table_count(e->pg); i++)
        if (!strcmp(hv__pg_table_name(e->pg, i), name))
            return 1;
    return 0;
}

/* One stored table (a virtual table) becomes a local table of the same
 * name with its SQLite schema (create) and its rows. */
static hv_status localise_table(hv_engine *e, const char *name, const char *create)
{
    return exec_owned(e,
                      sqlite3_mprintf("CREATE TEMP TABLE hv_mig AS SELECT * FROM main.\"%w\";"
                                      "DROP TABLE main.\"%w\";"
                                      "%s;"
                                      "INSERT INTO main.\"%w\" SELECT * FROM temp.hv_mig;"
                                      "DROP TABLE temp.hv_mig;",
                                      name, name, create, name),
                      "copying a table");
}

hv_status hv__pg_migrate_localise(hv_engine *e)
{
    PGresult *res = NULL;
    hv_status s = store_query(e, "SELECT type, name, sql FROM haven_sqlite_schema ORDER BY pos",
                              "reading the schema", &res);
    if (s != HV_OK)
        return s;
    /* rows go in in the schema's order, parents first; the checks of the
     * foreign keys wait for the commit */
    s = exec_owned(e, sqlite3_mprintf("PRAGMA defer_foreign_keys=ON"),
                             "deferring the foreign keys");
    size_t tables = 0;
    /* in the schema's order, so the local schema reads as the stored one */
    for (int r = 0; r < PQntuples(res) && s == HV_OK; r++) {
        const char *type = PQgetvalue(res, r, 0), *name = PQgetvalue(res, r, 1);
        const char *sql = PQgetvalue(res, r, 2);
        if (strcmp(type, "table")) {
            s = exec_owned(e, sqlite3_mprintf("%s", sql), "making an index or trigger");
        } else if (!is_stored(e, name)) {
            s = hv__fail(e, HV_CORRUPT, "%s: the stored schema names a table the store"
                                        " does not hold", e->path);
        } else {
            s = localise_table(e, name, sql);
            tables++;
        }
    }
    PQclear(res);
    /* every stored table but the sequences must have been copied */
    if (s == HV_OK && tables + 1 != hv__pg_table_count(e->pg))
        s = hv__fail(e, HV_CORRUPT, "%s: the store holds a table its stored schema does"
                                    " not describe", e->path);
    /* the AUTOINCREMENT record: SQLite's own, seen by the engine's SQL as
     * haven_sequence (hv__pg_rewrite) */
    if (s == HV_OK)
        s = exec_owned(e, sqlite3_mprintf("INSERT INTO main.sqlite_sequence (name, seq)"
                                          " SELECT name, seq FROM main.haven_sequence;"
                                          "DROP TABLE main.haven_sequence;"
                                          "CREATE TEMP VIEW haven_sequence AS"
                                          " SELECT name, seq FROM main.sqlite_sequence;"),
                       "copying the sequences");
    return s;
}

hv_status hv__pg_migrate_store(hv_engine *e)
{
    /* the old tables and the store's own, with what depends on them */
    char *sql = sqlite3_mprintf("DROP TABLE haven_store, haven_tables, haven_sqlite_schema"
                                " CASCADE;");
    for (size_t i = 0; sql && i < hv__pg_table_count(e->pg); i++) {
        char *next = sqlite3_mprintf("%sDROP TABLE IF EXISTS \"%w\" CASCADE;", sql,
                                     hv__pg_table_name(e->pg, i));
        sqlite3_free(sql);
        sql = next;
    }
    char *all = sql ? sqlite3_mprintf("%sDROP FUNCTION haven_events_append_only() CASCADE;"
                                      "DROP FUNCTION haven_events_sequence() CASCADE;", sql)
                    : NULL;
    sqlite3_free(sql);
    if (!all)
        return hv__fail(e, HV_NOMEM, "out of memory");
    PGresult *res = NULL;
    hv_status s = store_query(e, all, "removing the old tables", &res);
    sqlite3_free(all);
    if (s != HV_OK)
        return s;
    PQclear(res);
    /* made again, as init makes them, from the migrated local tables */
    char *err = NULL;
    s = hv__pg_fill(hv__pg_conn(e->pg), e->db, &err);
    if (s != HV_OK)
        s = hv__fail(e, s == HV_NOMEM ? HV_NOMEM : HV_INTERNAL, "%s: migrating the store: %s",
                     e->path, err ? err : "failed");
    hv__free(err);
    return s;
}

/* Drops every table of the connection's main schema (the local copies,
 * or virtual tables of the old schema: neither touches the store). */
static hv_status drop_local(hv_engine *e)
{
    sqlite3_stmt *st = NULL;
    char *sql = sqlite3_mprintf("PRAGMA foreign_keys=OFF; BEGIN;"
                                "DROP VIEW IF EXISTS temp.haven_sequence;");
    if (sqlite3_prepare_v2(e->db, "SELECT name FROM main.sqlite_master WHERE type = 'table'"
                                  " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
                           -1, &st, NULL) != SQLITE_OK) {
        sqlite3_free(sql);
        return hv__sql_fail(e, sqlite3_errcode(e->db), "listing the tables");
    }
    while (sql && sqlite3_step(st) == SQLITE_ROW) {
        char *next = sqlite3_mprintf("%sDROP TABLE main.\"%w\";", sql,
                                     (const char *)sqlite3_column_text(st, 0));
        sqlite3_free(sql);
        sql = next;
    }
    sqlite3_finalize(st);
    char *all = sql ? sqlite3_mprintf("%sCOMMIT; PRAGMA foreign_keys=ON;", sql) : NULL;
    sqlite3_free(sql);
    hv_status s = exec_owned(e, all, "closing the old tables");
    if (s != HV_OK) {
        sqlite3_exec(e->db, "ROLLBACK; PRAGMA foreign_keys=ON", NULL, NULL, NULL);
        return s;
    }
    /* the local AUTOINCREMENT record, if any, is the store's again */
    sqlite3_exec(e->db, "DELETE FROM main.sqlite_sequence", NULL, NULL, NULL);
    return HV_OK;
}

hv_status hv__pg_migrate_reattach(hv_engine *e)
{
    hv__store_cache_clear(e);
    hv_status s = drop_local(e);
    if (s != HV_OK)
        return s;
    /* the module again, bound to a new connection that reads the tables
     * as they are now */
    sqlite3_create_module(e->db, "hv_pg", NULL, NULL);
    struct hv_pg *old = e->pg, *fresh = NULL;
    char *err = NULL;
    s = hv__pg_open(e->conninfo, e->busy_ms, e->db, &fresh, &err);
    if (s != HV_OK) {
        s = hv__fail(e, s, "%s", err ? err : "cannot open the migrated store");
        hv__free(err);
        return s;
    }
    e->pg = fresh;
    hv__pg_close(old);
    /* the reporting views went with the old tables (DROP ... CASCADE) */
    hv__pg_report_ensure(hv__pg_conn(e->pg));
    return HV_OK;
}
