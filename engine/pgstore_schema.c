/* pgstore_schema.c - making a PostgreSQL store from a SQLite database built by
 * init (pgstore.h): the same tables, keys, indexes and rows, in one
 * transaction. */
#include "pgstore.h"

#include "pqlib.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "migrate.h"
#include "pgstore_report.h"
#include "sealed.h"

/* A growing SQL text. */
typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} sqlbuf;

static void put(sqlbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *piece = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    size_t n = piece ? strlen(piece) : 0;
    if (piece && b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *grown = hv__realloc(b->s, cap);
        if (grown) {
            b->s = grown;
            b->cap = cap;
        }
    }
    if (!piece || b->len + n + 1 > b->cap) {
        sqlite3_free(piece);
        b->oom = 1;
        return;
    }
    memcpy(b->s + b->len, piece, n + 1);
    b->len += n;
    sqlite3_free(piece);
}

/* Appends the CHECK constraints of a CREATE TABLE text (SQLite's, whose
 * expressions PostgreSQL reads alike) as table constraints. */
static void put_checks(sqlbuf *b, const char *create)
{
    for (const char *p = create; *p; p++) {
        if (*p == '\'') { /* skip a string literal */
            for (p++; *p && !(*p == '\'' && p[1] != '\''); p += *p == '\'' ? 2 : 1)
                ;
            if (!*p)
                return;
            continue;
        }
        if (sqlite3_strnicmp(p, "CHECK", 5) || (p > create && (p[-1] == '_' || p[-1] == '"')))
            continue;
        const char *q = p + 5;
        while (*q == ' ' || *q == '\n' || *q == '\t')
            q++;
        if (*q != '(')
            continue;
        int depth = 0, in_str = 0;
        const char *end = q;
        for (; *end; end++) {
            if (*end == '\'')
                in_str = !in_str;
            else if (!in_str && *end == '(')
                depth++;
            else if (!in_str && *end == ')' && --depth == 0)
                break;
        }
        if (!*end)
            return;
        put(b, ",\n  CHECK %.*s)", (int)(end - q), q);
        p = end;
    }
}

/* The PostgreSQL type of a SQLite column. */
static const char *pg_type(const char *table, const char *col, const char *decl)
{
    if (hv__sealed_column(table, col) || !sqlite3_stricmp(decl, "BLOB"))
        return "bytea";
    if (!sqlite3_stricmp(decl, "INTEGER"))
        return "bigint";
    if (!sqlite3_stricmp(decl, "REAL"))
        return "double precision";
    return "text COLLATE \"C\"";
}

/* The CREATE TABLE of one table, from SQLite's description of it.  out:
 * *rowid_col, the INTEGER PRIMARY KEY column (or "rid", a hidden one). */
static int create_table(sqlite3 *src, const char *name, const char *create,
                        sqlbuf *b, char *rowid_col, size_t rowid_size)
{
    sqlite3_stmt *st = NULL;
    int npk = 0, int_pk = 0;
    if (sqlite3_prepare_v2(src, "SELECT name, type, \"notnull\", dflt_value, pk"
                                " FROM pragma_table_info(?1) ORDER BY cid", -1, &st, NULL))
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    snprintf(rowid_col, rowid_size, "rid");
    put(b, "CREATE TABLE \"%w\" (", name);
    for (int n = 0; sqlite3_step(st) == SQLITE_ROW; n++) {
        const char *col = (const char *)sqlite3_column_text(st, 0);
        const char *type = (const char *)sqlite3_column_text(st, 1);
        const char *dflt = (const char *)sqlite3_column_text(st, 3);
        int pk = sqlite3_column_int(st, 4);
        put(b, "%s\n  \"%w\" %s%s", n ? "," : "", col, pg_type(name, col, type ? type : ""),
            sqlite3_column_int(st, 2) || pk ? " NOT NULL" : "");
        if (dflt)
            put(b, " DEFAULT %s", dflt);
        if (pk)
            npk++;
        if (pk && !sqlite3_stricmp(type ? type : "", "INTEGER")) {
            int_pk = 1;
            snprintf(rowid_col, rowid_size, "%s", col);
        }
    }
    sqlite3_finalize(st);
    int_pk = int_pk && npk == 1; /* an INTEGER PRIMARY KEY: the rowid itself */
    if (!int_pk) {
        snprintf(rowid_col, rowid_size, "rid");
        put(b, ",\n  \"rid\" bigserial UNIQUE");
    }
    /* the primary key and the unique constraints, from SQLite's indexes */
    if (sqlite3_prepare_v2(src, "SELECT l.origin, group_concat('\"' || i.name || '\"', ', ')"
                                " FROM pragma_index_list(?1) l, pragma_index_info(l.name) i"
                                " WHERE l.origin IN ('pk', 'u') GROUP BY l.name", -1, &st, NULL))
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW)
        put(b, ",\n  %s (%s)",
            !strcmp((const char *)sqlite3_column_text(st, 0), "pk") ? "PRIMARY KEY" : "UNIQUE",
            (const char *)sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    if (int_pk)
        put(b, ",\n  PRIMARY KEY (\"%w\")", rowid_col);
    put_checks(b, create);
    put(b, "\n);\n");
    return 0;
}

/* The foreign keys of table name, as ALTER TABLEs (after every table). */
static void put_foreign_keys(sqlite3 *src, const char *name, sqlbuf *b)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(src, "SELECT \"from\", \"table\", coalesce(\"to\", 'id')"
                                " FROM pragma_foreign_key_list(?1)", -1, &st, NULL))
        return;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW)
        put(b, "ALTER TABLE \"%w\" ADD FOREIGN KEY (\"%w\") REFERENCES \"%w\" (\"%w\");\n",
            name, (const char *)sqlite3_column_text(st, 0),
            (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2));
    sqlite3_finalize(st);
}

/* Copies the rows of table name (its columns as SQLite lists them). */
static int copy_rows(sqlite3 *src, PGconn *conn, const char *name, char **err)
{
    char *sql = sqlite3_mprintf("SELECT * FROM \"%w\"", name);
    sqlite3_stmt *st = NULL;
    int rc = sql ? sqlite3_prepare_v2(src, sql, -1, &st, NULL) : SQLITE_NOMEM;
    sqlite3_free(sql);
    if (rc)
        return -1;
    int ncol = sqlite3_column_count(st);
    if (ncol > 64) { /* more than a Haven table has */
        sqlite3_finalize(st);
        *err = hv__asprintf("copying %s: too many columns", name);
        return -1;
    }
    sqlbuf ins = {0};
    put(&ins, "INSERT INTO \"%w\" (", name);
    for (int i = 0; i < ncol; i++)
        put(&ins, "%s\"%w\"", i ? ", " : "", sqlite3_column_name(st, i));
    put(&ins, ") VALUES (");
    for (int i = 0; i < ncol; i++)
        put(&ins, "%s$%d", i ? ", " : "", i + 1);
    put(&ins, ")");
    int result = ins.oom ? -1 : 0;
    while (result == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *vals[64];
        int lens[64], fmts[64];
        char nums[64][32];
        for (int i = 0; i < ncol; i++) {
            int type = sqlite3_column_type(st, i);
            fmts[i] = type == SQLITE_BLOB;
            lens[i] = sqlite3_column_bytes(st, i);
            if (type == SQLITE_NULL)
                vals[i] = NULL;
            else if (type == SQLITE_BLOB)
                vals[i] = sqlite3_column_blob(st, i) ? sqlite3_column_blob(st, i) : "";
            else if (type == SQLITE_FLOAT) {
                snprintf(nums[i], sizeof nums[i], "%.17g", sqlite3_column_double(st, i));
                vals[i] = nums[i];
            } else
                vals[i] = (const char *)sqlite3_column_text(st, i);
        }
        PGresult *res = PQexecParams(conn, ins.s, ncol, NULL, vals, lens, fmts, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            if (msg && state && !strncmp(state, "22", 2))
                msg = "a value does not fit its column"; /* the text quotes it */
            *err = hv__asprintf("PostgreSQL: copying %s: %s", name, msg ? msg : "failed");
            result = -1;
        }
        PQclear(res);
    }
    sqlite3_finalize(st);
    hv__free(ins.s);
    return result;
}

/* The store's own tables, the events' append-only trigger and the
 * sequence SQLite keeps for AUTOINCREMENT (read by the audit chain as
 * haven_sequence: pgstore.h). */
static const char store_tables_sql[] =
    "CREATE TABLE haven_store (key text PRIMARY KEY, value text NOT NULL);\n"
    "CREATE TABLE haven_tables (name text PRIMARY KEY, pos integer NOT NULL,"
    " rowid_col text NOT NULL);\n"
    "CREATE TABLE haven_sequence (name text COLLATE \"C\" PRIMARY KEY,"
    " seq bigint NOT NULL);\n"
    "CREATE TABLE haven_sqlite_schema (pos integer PRIMARY KEY, type text NOT NULL,"
    " name text NOT NULL, sql text NOT NULL);\n"
    "CREATE FUNCTION haven_events_append_only() RETURNS trigger LANGUAGE plpgsql"
    " AS $$BEGIN RAISE EXCEPTION 'events are append-only'; END$$;\n"
    "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events"
    " FOR EACH ROW EXECUTE FUNCTION haven_events_append_only();\n"
    "CREATE FUNCTION haven_events_sequence() RETURNS trigger LANGUAGE plpgsql"
    " AS $$BEGIN INSERT INTO haven_sequence VALUES ('events', NEW.seq)"
    " ON CONFLICT (name) DO UPDATE SET seq = greatest(haven_sequence.seq,"
    " EXCLUDED.seq); RETURN NEW; END$$;\n"
    "CREATE TRIGGER events_sequence AFTER INSERT ON events"
    " FOR EACH ROW EXECUTE FUNCTION haven_events_sequence();\n";

/* The open tasks per due day (migrate.h's task_due_days), kept as
 * SQLite's triggers keep them, by PostgreSQL's own: the store's tables are
 * virtual tables to SQLite, which takes no trigger on them.  Made after
 * the rows are copied (the copied counter is the recount). */
#define TASK_DUE_DAYS_UPSERT                                                   \
    " ON CONFLICT (due_day) DO UPDATE SET counted = task_due_days.counted +"   \
    " EXCLUDED.counted, hidden = task_due_days.hidden + EXCLUDED.hidden;"
#define TASK_COUNTED(t)                                                        \
    "k := CASE WHEN " t ".kind = 'final_followup' OR (SELECT status FROM"      \
    " cases WHERE id = " t ".case_id) = 'open' THEN 1 ELSE 0 END;"
static const char task_due_days_sql[] =
    "CREATE OR REPLACE FUNCTION haven_task_due_days() RETURNS trigger"
    " LANGUAGE plpgsql AS $$DECLARE k integer; BEGIN"
    " IF TG_OP <> 'INSERT' AND OLD.status = 'open' THEN " TASK_COUNTED("OLD")
    " INSERT INTO task_due_days (due_day, counted, hidden) VALUES ("
    HV_DUE_DAY("OLD.due_at") ", -k, k - 1)" TASK_DUE_DAYS_UPSERT " END IF;"
    " IF TG_OP <> 'DELETE' AND NEW.status = 'open' THEN " TASK_COUNTED("NEW")
    " INSERT INTO task_due_days (due_day, counted, hidden) VALUES ("
    HV_DUE_DAY("NEW.due_at") ", k, 1 - k)" TASK_DUE_DAYS_UPSERT " END IF;"
    " RETURN NULL; END$$;\n"
    "CREATE TRIGGER task_due_days_write AFTER INSERT OR DELETE ON tasks"
    " FOR EACH ROW EXECUTE FUNCTION haven_task_due_days();\n"
    "CREATE TRIGGER task_due_days_update AFTER UPDATE ON tasks FOR EACH ROW"
    " WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.due_at IS DISTINCT"
    " FROM NEW.due_at OR OLD.kind IS DISTINCT FROM NEW.kind OR OLD.case_id"
    " IS DISTINCT FROM NEW.case_id)"
    " EXECUTE FUNCTION haven_task_due_days();\n"
    /* a case closed or opened: its open tasks but the final follow-up */
    "CREATE OR REPLACE FUNCTION haven_case_task_due_days() RETURNS trigger"
    " LANGUAGE plpgsql AS $$DECLARE s integer := CASE WHEN NEW.status ="
    " 'open' THEN 1 ELSE -1 END; BEGIN"
    " INSERT INTO task_due_days (due_day, counted, hidden) SELECT "
    HV_DUE_DAY("due_at") ", s * count(*), -s * count(*) FROM tasks WHERE"
    " case_id = NEW.id AND status = 'open' AND kind <> 'final_followup'"
    " GROUP BY 1" TASK_DUE_DAYS_UPSERT " RETURN NULL; END$$;\n"
    "CREATE TRIGGER task_due_days_case AFTER UPDATE ON cases FOR EACH ROW"
    " WHEN ((OLD.status = 'open') IS DISTINCT FROM (NEW.status = 'open'))"
    " EXECUTE FUNCTION haven_case_task_due_days();\n";

/* The factors of each case's current risk decision (migrate.h's
 * case_risk_factors), kept as SQLite's trigger keeps them: on every event
 * appended whose decision holds a risk.lua hook (the latest of its case:
 * seq only grows), the case's rows become that hook's text factors.  Made
 * after the rows are copied (the copied summary is the recount). */
#define RISK_HOOKS(d) "json_array_elements(CASE WHEN json_typeof(" d ") ="      \
    " 'array' THEN " d " ELSE '[]'::json END)"
static const char case_risk_factors_sql[] =
    "CREATE OR REPLACE FUNCTION haven_case_risk_factors() RETURNS trigger"
    " LANGUAGE plpgsql AS $$DECLARE d json; BEGIN"
    " IF NEW.case_id IS NULL OR NEW.decision IS NULL OR NEW.decision NOT LIKE"
    " '%risk.lua%' THEN RETURN NULL; END IF;"
    " d := NEW.decision::json;"
    " IF NOT EXISTS (SELECT 1 FROM " RISK_HOOKS("d") " y WHERE y->>'hook' ="
    " 'risk.lua') THEN RETURN NULL; END IF;"
    " DELETE FROM case_risk_factors WHERE for_case = NEW.case_id;"
    " INSERT INTO case_risk_factors (for_case, factor) SELECT DISTINCT"
    " NEW.case_id, fa #>> '{}' FROM " RISK_HOOKS("d") " y, "
    RISK_HOOKS("y->'result'->'factors'") " fa WHERE y->>'hook' = 'risk.lua'"
    " AND json_typeof(fa) = 'string';"
    " RETURN NULL; END$$;\n"
    "CREATE TRIGGER case_risk_factors_event AFTER INSERT ON events"
    " FOR EACH ROW EXECUTE FUNCTION haven_case_risk_factors();\n";

/* The tasks per due day, kind, assignee and state (migrate.h's
 * task_day_counts), kept as SQLite's triggers keep them: a task's row
 * leaves its old key and joins its new one, a row at 0 goes.  Made after
 * the rows are copied (the copied counter is the recount). */
#define TASK_DAY_MOVE(t, d)                                                    \
    " IF " HV_TASK_DAY_COUNTED(t) " THEN INSERT INTO task_day_counts"          \
    " (due_day, kind, assignee, state, n) SELECT " HV_TASK_DAY_KEY(t) ", " d   \
    " ON CONFLICT (due_day, kind, assignee, state) DO UPDATE SET n ="          \
    " task_day_counts.n + EXCLUDED.n; DELETE FROM task_day_counts WHERE n = 0" \
    " AND " HV_TASK_DAY_ROW(t) "; END IF;"
static const char task_day_counts_sql[] =
    "CREATE OR REPLACE FUNCTION haven_task_day_counts() RETURNS trigger"
    " LANGUAGE plpgsql AS $$BEGIN"
    " IF TG_OP <> 'INSERT' THEN" TASK_DAY_MOVE("OLD", "-1") " END IF;"
    " IF TG_OP <> 'DELETE' THEN" TASK_DAY_MOVE("NEW", "1") " END IF;"
    " RETURN NULL; END$$;\n"
    "CREATE TRIGGER task_day_counts_write AFTER INSERT OR DELETE ON tasks"
    " FOR EACH ROW EXECUTE FUNCTION haven_task_day_counts();\n"
    "CREATE TRIGGER task_day_counts_update AFTER UPDATE ON tasks FOR EACH ROW"
    " WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.due_at IS DISTINCT"
    " FROM NEW.due_at OR OLD.done_at IS DISTINCT FROM NEW.done_at OR OLD.kind"
    " IS DISTINCT FROM NEW.kind OR OLD.assignee_id IS DISTINCT FROM"
    " NEW.assignee_id) EXECUTE FUNCTION haven_task_day_counts();\n";

/* Builds the schema text: every table, then haven_tables' rows, the
 * indexes and the foreign keys. */
static int build_schema(sqlite3 *src, sqlbuf *b)
{
    sqlite3_stmt *st = NULL;
    sqlbuf fks = {0}, idx = {0};
    if (sqlite3_prepare_v2(src, "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
                                " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
                           -1, &st, NULL))
        return -1;
    int pos = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        char rowid_col[64];
        if (create_table(src, name, (const char *)sqlite3_column_text(st, 1), b,
                         rowid_col, sizeof rowid_col)) {
            sqlite3_finalize(st);
            return -1;
        }
        put(&idx, "INSERT INTO haven_tables VALUES ('%q', %d, '%q');\n", name, pos++, rowid_col);
        put_foreign_keys(src, name, &fks);
    }
    sqlite3_finalize(st);
    put(&idx, "INSERT INTO haven_tables VALUES ('haven_sequence', %d, 'rid');\n"
              "ALTER TABLE haven_sequence ADD COLUMN rid bigserial UNIQUE;\n", pos);
    if (!sqlite3_prepare_v2(src, "SELECT sql FROM sqlite_master WHERE type = 'index'"
                                 " AND sql IS NOT NULL", -1, &st, NULL)) {
        while (sqlite3_step(st) == SQLITE_ROW)
            put(&idx, "%s;\n", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    /* SQLite's own schema text, for a backup to a SQLite file */
    if (!sqlite3_prepare_v2(src, "SELECT type, name, sql FROM sqlite_master WHERE sql"
                                 " IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
                                 " ORDER BY rowid", -1, &st, NULL)) {
        for (int n = 0; sqlite3_step(st) == SQLITE_ROW; n++)
            put(&idx, "INSERT INTO haven_sqlite_schema VALUES (%d, '%q', '%q', '%q');\n", n,
                (const char *)sqlite3_column_text(st, 0),
                (const char *)sqlite3_column_text(st, 1),
                (const char *)sqlite3_column_text(st, 2));
        sqlite3_finalize(st);
    }
    put(b, "%s%s%s", store_tables_sql, idx.s ? idx.s : "", fks.s ? fks.s : "");
    int oom = idx.oom || fks.oom || b->oom;
    hv__free(idx.s);
    hv__free(fks.s);
    return oom ? -1 : 0;
}

/* The stored sequence and schema version, from the source. */
static int put_versions(sqlite3 *src, sqlbuf *b)
{
    sqlite3_stmt *st = NULL;
    if (!sqlite3_prepare_v2(src, "SELECT name, seq FROM sqlite_sequence", -1, &st, NULL)) {
        while (sqlite3_step(st) == SQLITE_ROW)
            put(b, "INSERT INTO haven_sequence (name, seq) VALUES ('%q', %lld)"
                   " ON CONFLICT (name) DO UPDATE SET seq = EXCLUDED.seq;\n",
                (const char *)sqlite3_column_text(st, 0),
                (long long)sqlite3_column_int64(st, 1));
        sqlite3_finalize(st);
    }
    int version = 0;
    if (!sqlite3_prepare_v2(src, "PRAGMA user_version", -1, &st, NULL)) {
        if (sqlite3_step(st) == SQLITE_ROW)
            version = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    put(b, "INSERT INTO haven_store VALUES ('schema_version', '%d');\n", version);
    /* the counters' and summaries' triggers, when the schema has them */
    if (!sqlite3_prepare_v2(src, "SELECT name FROM sqlite_master WHERE type = 'table'"
                                 " AND name IN ('task_due_days', 'case_risk_factors',"
                                 " 'task_day_counts')",
                            -1, &st, NULL)) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(st, 0);
            put(b, "%s", !strcmp(name, "task_due_days")     ? task_due_days_sql
                         : !strcmp(name, "task_day_counts") ? task_day_counts_sql
                                                            : case_risk_factors_sql);
        }
        sqlite3_finalize(st);
    }
    return version > 0 ? 0 : -1;
}

hv_status hv__pg_fill(struct pg_conn *conn, sqlite3 *src, char **err)
{
    sqlbuf schema = {0}, tail = {0};
    hv_status s = HV_CANTCREATE;
    sqlite3_stmt *st = NULL;
    if (build_schema(src, &schema) || put_versions(src, &tail)) {
        *err = hv__asprintf("cannot read the new database to copy");
        s = schema.oom || tail.oom ? HV_NOMEM : HV_INTERNAL;
        goto done;
    }
    if (hv__pg_run(conn, schema.s, "making the tables", err) ||
        sqlite3_prepare_v2(src, "SELECT name FROM sqlite_master WHERE type = 'table'"
                                " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
                           -1, &st, NULL))
        goto done;
    int failed = 0;
    while (!failed && sqlite3_step(st) == SQLITE_ROW)
        failed = copy_rows(src, conn, (const char *)sqlite3_column_text(st, 0), err);
    if (!failed && !hv__pg_run(conn, tail.s, "recording the schema", err))
        s = HV_OK;
done:
    sqlite3_finalize(st);
    hv__free(schema.s);
    hv__free(tail.s);
    return s;
}

hv_status hv__pg_create(const char *url, const char *src_path, char **err)
{
    sqlite3 *src = NULL;
    PGconn *conn = NULL;
    hv_status s = hv__pg_connect(url, 5000, &conn, err);
    if (s != HV_OK)
        return s == HV_BUSY ? HV_CANTCREATE : s;
    PGresult *res = PQexec(conn, "SELECT to_regclass('haven_store') IS NOT NULL");
    int exists = PQresultStatus(res) == PGRES_TUPLES_OK && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (exists) {
        char *shown = hv__pg_display(url);
        *err = hv__asprintf("%s: already exists (it holds a haven database); "
                            "refusing to initialise it again",
                            shown ? shown : "postgresql");
        hv__free(shown);
        s = HV_CANTCREATE;
        goto done;
    }
    if (sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        *err = hv__asprintf("cannot read the new database to copy");
        s = HV_INTERNAL;
        goto done;
    }
    if (hv__pg_run(conn, "BEGIN", "starting", err)) {
        s = HV_CANTCREATE;
        goto rollback;
    }
    if ((s = hv__pg_fill(conn, src, err)) != HV_OK || hv__pg_run(conn, "COMMIT", "committing", err)) {
        s = s == HV_OK ? HV_CANTCREATE : s;
        goto rollback;
    }
    hv__pg_report_ensure(conn); /* the reporting views (pgstore_report.h) */
    goto done;
rollback:
    hv__pg_run(conn, "ROLLBACK", "rolling back", err);
    if (!*err)
        *err = hv__asprintf("cannot copy the new database into PostgreSQL");
done:
    sqlite3_close(src);
    PQfinish(conn);
    return s;
}

/* Runs sql on db; 0, or -1 with *err naming what. */
static int exec_sqlite(sqlite3 *db, const char *sql, const char *what, char **err)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    if (!*err)
        *err = hv__asprintf("%s: %s", what, sqlite3_errmsg(db));
    return -1;
}

/* Makes the SQLite schema of the store in the attached database hv_copy
 * (its tables, indexes and triggers as SQLite made them). */
static int copy_schema(PGconn *conn, sqlite3 *db, char **err)
{
    PGresult *res = PQexec(conn, "SELECT type, sql FROM haven_sqlite_schema ORDER BY pos");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        *err = hv__asprintf("cannot read the store's SQLite schema");
        return -1;
    }
    int failed = 0;
    for (int r = 0; !failed && r < PQntuples(res); r++) {
        /* CREATE TABLE x ... -> CREATE TABLE hv_copy.x ... */
        const char *text = PQgetvalue(res, r, 1);
        const char *name_at = NULL;
        if (!strncmp(text, "CREATE TABLE IF NOT EXISTS ", 27))
            name_at = text + 27;
        else if (!strncmp(text, "CREATE TABLE ", 13))
            name_at = text + 13;
        else if (!strncmp(text, "CREATE UNIQUE INDEX ", 20))
            name_at = text + 20;
        else if (!strncmp(text, "CREATE INDEX ", 13))
            name_at = text + 13;
        else if (!strncmp(text, "CREATE TRIGGER ", 15))
            name_at = text + 15;
        char *sql = name_at ? sqlite3_mprintf("%.*shv_copy.%s", (int)(name_at - text), text,
                                              name_at)
                            : NULL;
        failed = !sql || exec_sqlite(db, sql, "making the backup's schema", err);
        sqlite3_free(sql);
    }
    PQclear(res);
    return failed ? -1 : 0;
}

/* The rows of every table into hv_copy (a read snapshot of the store). */
static int copy_rows_out(hv_pg *pg, sqlite3 *db, char **err)
{
    for (size_t i = 0; i < hv__pg_table_count(pg); i++) {
        const char *name = hv__pg_table_name(pg, i);
        /* the counters as stored, not as the copy's triggers made them */
        char *sql = !strcmp(name, "haven_sequence")
                        ? sqlite3_mprintf("INSERT INTO hv_copy.sqlite_sequence (name, seq)"
                                          " SELECT name, seq FROM main.haven_sequence")
                        : sqlite3_mprintf("%sINSERT INTO hv_copy.\"%w\" SELECT * FROM"
                                          " main.\"%w\"",
                                          !strcmp(name, "task_due_days")
                                              ? "DELETE FROM hv_copy.task_due_days;"
                                          : !strcmp(name, "case_risk_factors")
                                              ? "DELETE FROM hv_copy.case_risk_factors;"
                                          : !strcmp(name, "task_day_counts")
                                              ? "DELETE FROM hv_copy.task_day_counts;"
                                              : "",
                                          name, name);
        int failed = !sql || exec_sqlite(db, sql, "copying the store's rows", err);
        sqlite3_free(sql);
        if (failed)
            return -1;
    }
    return 0;
}

hv_status hv__pg_backup(hv_pg *pg, sqlite3 *db, const char *path, int version, char **err)
{
    char *attach = sqlite3_mprintf("ATTACH DATABASE %Q AS hv_copy", path);
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA hv_copy.user_version=%d", version);
    int failed = !attach || exec_sqlite(db, attach, "opening the backup", err);
    sqlite3_free(attach);
    if (failed)
        return HV_CANTCREATE;
    failed = exec_sqlite(db, "BEGIN", "starting the copy", err) ||
             copy_schema(hv__pg_conn(pg), db, err) || copy_rows_out(pg, db, err) ||
             exec_sqlite(db, pragma, "setting the backup's version", err) ||
             exec_sqlite(db, "COMMIT", "writing the backup", err);
    if (failed)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_exec(db, "DETACH DATABASE hv_copy", NULL, NULL, NULL);
    return failed ? HV_IOERR : HV_OK;
}
