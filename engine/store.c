/* store.c - the SQLite connection: opening it, the statement cache,
 * transactions and the small helpers every change uses. */
#include "store.h"

#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "checkpoint.h"
#include "error.h"
#include "names.h"
#include "age.h"
#include "sync.h"
#include "pgstore.h"
#include "pgstore_report.h"

/* SQL function hv_name_keys(name): a JSON array of the name's keys. */
static void sql_name_keys(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *name = (const char *)sqlite3_value_text(argv[0]);
    json_t *keys = json_array();
    char *text = NULL;
    if (!keys || (name && hv__name_keys(name, keys) != 0) ||
        !(text = json_dumps(keys, JSON_COMPACT))) {
        json_decref(keys);
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
    hv__free(text);
    json_decref(keys);
}

/* SQL function hv_age_now(dob, age, recorded_at, now): the age on now
 * (age.h; an age recorded at no known time stays as recorded), or null
 * when neither the date of birth nor an age is known. */
static void sql_age_now(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int has_age = sqlite3_value_type(argv[1]) != SQLITE_NULL;
    int64_t age = hv__age_now((const char *)sqlite3_value_text(argv[0]),
                              has_age ? sqlite3_value_int64(argv[1]) : -1,
                              sqlite3_value_type(argv[2]) == SQLITE_NULL
                                  ? sqlite3_value_int64(argv[3])
                                  : sqlite3_value_int64(argv[2]),
                              sqlite3_value_int64(argv[3]));
    if (age < 0)
        sqlite3_result_null(ctx);
    else
        sqlite3_result_int64(ctx, age);
}

hv_status hv__store_open(const char *path, int create, int busy_ms,
                         sqlite3 **out_db, char **err)
{
    return hv__store_open_pg(path, NULL, create, busy_ms, out_db, NULL, err);
}

sqlite3 *hv__store_reader_open(hv_engine *e)
{
    /* the file at the path the engine opened (resolved by SQLite, so not
     * moved by a change of directory; a file renamed over the engine's
     * since is another: a caller needing the engine's state checks it,
     * rulesdiff_run.c) */
    const char *file = e->pg ? NULL : sqlite3_db_filename(e->db, "main");
    sqlite3 *db = NULL;
    if (!file || !*file)
        return NULL;
    /* configured as the engine's own connection: no trust in the file's
     * schema, no extensions */
    if (sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
        sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL) ||
        sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL) ||
        sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, (int *)NULL) ||
        sqlite3_exec(db, "PRAGMA cache_size=-8192", NULL, NULL, NULL)) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

int hv__store_fingerprint(sqlite3 *db, unsigned char out[HV_FINGERPRINT_BYTES])
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT seq, hash FROM events ORDER BY seq DESC"
                                    " LIMIT 1", -1, &st, NULL);
    memset(out, 0, HV_FINGERPRINT_BYTES);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 1);
        memcpy(out, &seq, sizeof seq);
        if (n)
            memcpy(out + 8, sqlite3_column_blob(st, 1),
                   n < HV_FINGERPRINT_BYTES - 8 ? n : HV_FINGERPRINT_BYTES - 8);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

hv_status hv__store_open_pg(const char *path, const char *conninfo, int create,
                            int busy_ms, sqlite3 **out_db, struct hv_pg **out_pg,
                            char **err)
{
    sqlite3 *db = NULL;
    hv_status st = HV_OK;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                (create || conninfo ? SQLITE_OPEN_CREATE : 0);
    *out_db = NULL;
    int rc = sqlite3_open_v2(conninfo ? ":memory:" : path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        st = rc == SQLITE_NOMEM ? HV_NOMEM
             : rc == SQLITE_READONLY || rc == SQLITE_PERM ? HV_DENIED
                                                          : HV_CANTCREATE;
        *err = hv__asprintf("%s: cannot open database: %s", path,
                            db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(db, 0);
    sqlite3_busy_timeout(db, busy_ms);
    sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FKEY, 1, (int *)NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, (int *)NULL);
    rc = sqlite3_exec(db,
                      "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON; PRAGMA cache_size=-8192;"
                      "PRAGMA trusted_schema=OFF; PRAGMA synchronous=FULL;",
                      NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "hv_name_keys", 1,
                                     SQLITE_UTF8 | SQLITE_DETERMINISTIC |
                                         SQLITE_DIRECTONLY,
                                     NULL, sql_name_keys, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "hv_age_now", 4,
                                     SQLITE_UTF8 | SQLITE_DETERMINISTIC |
                                         SQLITE_DIRECTONLY,
                                     NULL, sql_age_now, NULL, NULL);
    if (rc != SQLITE_OK) {
        st = rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? HV_BUSY
             : rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT ? HV_CORRUPT
             : rc == SQLITE_READONLY || rc == SQLITE_PERM ||
                     rc == SQLITE_CANTOPEN
                 ? HV_DENIED
                 : HV_INTERNAL;
        *err = hv__asprintf("%s: cannot set up database: %s", path,
                            sqlite3_errmsg(db));
        goto fail;
    }
    /* A PostgreSQL store: its tables in the connection (pgstore.h). */
    if (conninfo && (st = hv__pg_open(conninfo, busy_ms, db, out_pg, err)) != HV_OK)
        goto fail;
    if (conninfo) /* its reporting views, when missing or older (pgstore_report.h) */
        hv__pg_report_ensure(hv__pg_conn(*out_pg));
    *out_db = db;
    return HV_OK;
fail:
    sqlite3_close(db);
    return st;
}

/* The statement cache: every query the engine runs is prepared once per
 * connection and kept (SQLite's parser and code generator cost more than
 * most of Haven's queries themselves).  Slots are found by a hash of the
 * SQL text and checked against it; a statement already in use (a query
 * running inside another's loop) is prepared afresh and finalized after. */
static uint32_t sql_hash(const char *sql)
{
    /* eight bytes a step (a query's text is hashed at every use) */
    size_t n = strlen(sql), i = 0;
    uint64_t h = 14695981039346656037u ^ (uint64_t)n;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, sql + i, sizeof w);
        h = (h ^ w) * 1099511628211u;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ (unsigned char)sql[i]) * 1099511628211u;
    return (uint32_t)(h ^ (h >> 32));
}

#define HV_STMT_PROBES 8

hv_status hv__store_prepare(hv_engine *e, const char *sql, sqlite3_stmt **stmt)
{
    uint32_t h = sql_hash(sql);
    hv_stmt_slot *victim = NULL;
    for (uint32_t k = 0; k < HV_STMT_PROBES; k++) {
        hv_stmt_slot *slot = &e->stmts[(h + k) % HV_STMT_CACHE];
        if (!slot->stmt) {
            if (!victim || victim->stmt)
                victim = slot;
            break;
        }
        if (slot->busy)
            continue;
        if (!strcmp(sqlite3_sql(slot->stmt), sql)) {
            slot->busy = 1;
            *stmt = slot->stmt;
            return HV_OK;
        }
        if (!victim)
            victim = slot;
    }
    /* A query a PostgreSQL store's virtual tables cannot take as written
     * (pgstore.h) is rewritten and prepared afresh. */
    char *pg_sql = NULL;
    if (e->pg && hv__pg_rewrite(sql, &pg_sql) != 0)
        return hv__fail(e, HV_NOMEM, "out of memory");
    if (pg_sql)
        victim = NULL;
    int rc = sqlite3_prepare_v3(e->db, pg_sql ? pg_sql : sql, -1,
                                victim ? SQLITE_PREPARE_PERSISTENT : 0, stmt, NULL);
    hv__free(pg_sql);
    if (rc != SQLITE_OK) {
        *stmt = NULL;
        return hv__sql_fail(e, rc, "preparing a query");
    }
    /* Kept only when its text is the whole of sql (hv__store_finalize finds
     * the slot again by the statement's own text). */
    if (victim && *stmt && !strcmp(sqlite3_sql(*stmt), sql)) {
        sqlite3_finalize(victim->stmt);
        victim->stmt = *stmt;
        victim->busy = 1;
    }
    return HV_OK;
}

void hv__store_finalize(hv_engine *e, sqlite3_stmt *stmt)
{
    if (!stmt)
        return;
    uint32_t h = sql_hash(sqlite3_sql(stmt));
    for (uint32_t k = 0; k < HV_STMT_PROBES; k++) {
        hv_stmt_slot *slot = &e->stmts[(h + k) % HV_STMT_CACHE];
        if (slot->stmt == stmt) {
            sqlite3_reset(stmt);
            sqlite3_clear_bindings(stmt);
            slot->busy = 0;
            return;
        }
    }
    sqlite3_finalize(stmt);
}

void hv__store_cache_clear(hv_engine *e)
{
    for (size_t i = 0; i < HV_STMT_CACHE; i++) {
        sqlite3_finalize(e->stmts[i].stmt);
        e->stmts[i].stmt = NULL;
        e->stmts[i].busy = 0;
    }
}

hv_status hv__store_exec(hv_engine *e, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(e->db, sql, NULL, NULL, &msg);
    sqlite3_free(msg);
    if (rc != SQLITE_OK)
        return hv__sql_fail(e, rc, "running a statement");
    return HV_OK;
}

/* Binds the values described by binds to st, one letter each: 'i'
 * int64_t, 'd' double, 't' text (copied; a NULL pointer binds null), 'n'
 * null (its argument is skipped). */
static void bind_values(sqlite3_stmt *st, const char *binds, va_list ap)
{
    for (int i = 0; binds[i]; i++) {
        if (binds[i] == 'i') {
            sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
        } else if (binds[i] == 'd') {
            sqlite3_bind_double(st, i + 1, va_arg(ap, double));
        } else if (binds[i] == 't') {
            const char *t = va_arg(ap, const char *);
            if (t)
                sqlite3_bind_text(st, i + 1, t, -1, SQLITE_TRANSIENT);
        } else {
            (void)va_arg(ap, void *);
        }
    }
}

/* Prepares sql (as hv__store_prepare) and binds ap's values as binds
 * describes them (bind_values).  out: *stmt (NULL on failure). */
static hv_status prepare_bound(hv_engine *e, sqlite3_stmt **stmt,
                               const char *sql, const char *binds, va_list ap)
{
    hv_status s = hv__store_prepare(e, sql, stmt);
    if (s == HV_OK)
        bind_values(*stmt, binds, ap);
    return s;
}

/* Steps st to its end and gives it back (hv__store_finalize).  When first
 * is not NULL, the first row's first column, unless SQL NULL, goes into
 * *first.  Returns HV_OK, or a failure recorded naming `what`. */
static hv_status run_to_end(hv_engine *e, sqlite3_stmt *st, const char *what,
                            int64_t *first)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && first && sqlite3_column_type(st, 0) != SQLITE_NULL)
        *first = sqlite3_column_int64(st, 0);
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    hv__store_finalize(e, st);
    return rc == SQLITE_DONE ? HV_OK : hv__sql_fail(e, rc, what);
}

hv_status hv__store_preparef(hv_engine *e, sqlite3_stmt **stmt, const char *sql,
                             const char *binds, ...)
{
    va_list ap;
    va_start(ap, binds);
    hv_status s = prepare_bound(e, stmt, sql, binds, ap);
    va_end(ap);
    return s;
}

/* Runs sql (through the statement cache) to completion with the bind
 * values described by binds (as bind_values).  A failure is recorded with
 * `what` (never a bound value).  The one "exec with binds" helper of the
 * engine. */
hv_status hv__store_execf(hv_engine *e, const char *what, const char *sql,
                          const char *binds, ...)
{
    sqlite3_stmt *st = NULL;
    va_list ap;
    va_start(ap, binds);
    hv_status s = prepare_bound(e, &st, sql, binds, ap);
    va_end(ap);
    return s ? s : run_to_end(e, st, what, NULL);
}

hv_status hv__store_query_int(hv_engine *e, const char *what, const char *sql,
                              int64_t dflt, int64_t *out, const char *binds,
                              ...)
{
    sqlite3_stmt *st = NULL;
    *out = dflt;
    va_list ap;
    va_start(ap, binds);
    hv_status s = prepare_bound(e, &st, sql, binds, ap);
    va_end(ap);
    if (s == HV_OK && (s = run_to_end(e, st, what, out)))
        *out = dflt;
    return s;
}

hv_status hv__store_query_text(hv_engine *e, const char *what, const char *sql,
                               char **out, const char *binds, ...)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    va_list ap;
    va_start(ap, binds);
    hv_status s = prepare_bound(e, &st, sql, binds, ap);
    va_end(ap);
    if (s)
        return s;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL &&
        !(*out = hv__column_strdup(st, 0)))
        s = hv__fail(e, HV_NOMEM, "out of memory");
    while (s == HV_OK && rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    hv__store_finalize(e, st);
    if (s == HV_OK && rc != SQLITE_DONE)
        s = hv__sql_fail(e, rc, what);
    if (s) {
        hv__free(*out);
        *out = NULL;
    }
    return s;
}

/* Runs one cached transaction statement; returns SQLite's code. */
static int run_cached(hv_engine *e, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (hv__store_prepare(e, sql, &st) != HV_OK)
        return sqlite3_errcode(e->db);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    hv__store_finalize(e, st);
    return rc;
}

/* ---- the case digest last committed (core.h: e->seen) ---------------------- */

/* The connection's PRAGMA data_version into *v; 0, or -1 when unread
 * (leaving no error behind: only a speed-up is lost). */
static int data_version(hv_engine *e, int64_t *v)
{
    sqlite3_stmt *st = NULL;
    if (hv__store_prepare(e, "PRAGMA data_version", &st) != HV_OK) {
        hv__clear_error(e);
        return -1;
    }
    int rc = sqlite3_step(st);
    *v = sqlite3_column_int64(st, 0);
    hv__store_finalize(e, st);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* A change starts: nothing noted yet.  Inside a batch (whose changes
 * commit together, later) or on a PostgreSQL store (whose other writers
 * no data version counts) nothing is kept at all. */
static void seen_begin(hv_engine *e)
{
    sodium_memzero(&e->seen_tx, sizeof e->seen_tx);
    e->seen_tx.total_changes = sqlite3_total_changes64(e->db);
    if (e->batch || e->pg)
        sodium_memzero(&e->seen, sizeof e->seen);
}

void hv__store_note_event(hv_engine *e, int64_t case_id, int read,
                          const unsigned char *digest)
{
    if (read) {
        e->seen_tx.reads++;
        return;
    }
    e->seen_tx.changes++;
    e->seen_tx.last.case_id = digest && case_id > 0 ? case_id : 0;
    if (e->seen_tx.last.case_id)
        memcpy(e->seen_tx.last.digest, digest, sizeof e->seen_tx.last.digest);
}

/* Just before COMMIT, while the change still holds the write lock (no
 * other connection can commit in between): the data version the kept
 * digest will go with (after the COMMIT, another writer could already
 * have committed and be counted in it).  0 when there is none to keep. */
static void seen_precommit(hv_engine *e)
{
    if (e->batch || e->pg || !e->seen_tx.changes || !e->seen_tx.last.case_id ||
        data_version(e, &e->seen_tx.last.data_version) != 0)
        e->seen_tx.last.case_id = 0;
}

/* The change committed.  One that appended change events keeps the fresh
 * digest of the last (or nothing, when it digested no case's rows); one
 * that wrote nothing but read events (a "viewed") changed no case's row
 * and keeps what was kept; any other forgets it. */
static void seen_commit(hv_engine *e)
{
    int reads_only = e->seen_tx.changes == 0 &&
                     sqlite3_total_changes64(e->db) - e->seen_tx.total_changes ==
                         e->seen_tx.reads;
    if (e->batch || e->pg || !reads_only)
        sodium_memzero(&e->seen, sizeof e->seen);
    if (e->seen_tx.last.case_id)
        e->seen = e->seen_tx.last;
    sodium_memzero(&e->seen_tx, sizeof e->seen_tx);
}

int hv__store_digest_seen(hv_engine *e, int64_t case_id, const unsigned char *digest)
{
    int64_t v = 0;
    return !e->batch && !e->pg && case_id > 0 && e->seen.case_id == case_id &&
           sodium_memcmp(e->seen.digest, digest, sizeof e->seen.digest) == 0 &&
           data_version(e, &v) == 0 && v == e->seen.data_version;
}

/* Inside a batch (hv_engine_batch_begin) each change is a savepoint of
 * the batch's one transaction: it succeeds or fails on its own, and the
 * batch commits them together. */
hv_status hv__store_begin(hv_engine *e)
{
    if (e->batch && sqlite3_get_autocommit(e->db))
        return hv__fail(e, HV_INTERNAL, "the batch was undone by an earlier "
                                        "failure; roll it back and start again");
    if (e->batch && e->batch_change)
        return hv__fail(e, HV_INTERNAL, "a change is already open in this batch");
    int rc = run_cached(e, e->batch ? "SAVEPOINT hv_change" : "BEGIN IMMEDIATE");
    if (rc != SQLITE_OK)
        return hv__sql_fail(e, rc, "starting a transaction");
    e->batch_change = e->batch;
    e->alloc_failures_at_begin = hv__alloc_failures();
    e->head_saved = e->head;
    seen_begin(e);
    return HV_OK;
}

hv_status hv__store_begin_unguarded(hv_engine *e)
{
    if (!e->batch || e->pg)
        return hv__store_begin(e);
    if (sqlite3_get_autocommit(e->db))
        return hv__fail(e, HV_INTERNAL, "the batch was undone by an earlier "
                                        "failure; roll it back and start again");
    if (e->batch_change)
        return hv__fail(e, HV_INTERNAL, "a change is already open in this batch");
    e->batch_change = 2;
    e->changes_at_begin = sqlite3_total_changes64(e->db);
    e->alloc_failures_at_begin = hv__alloc_failures();
    e->head_saved = e->head;
    seen_begin(e);
    return HV_OK;
}

hv_status hv__store_commit(hv_engine *e)
{
    /* Outside a batch the change's events are checkpointed as it commits
     * (checkpoint.h); a batch's, as the batch commits (engine.c). */
    /* Rows of offline work that belong to this change (sync.h). */
    hv_status st = hv__sync_precommit(e);
    if (st == HV_OK && !e->batch)
        st = hv__checkpoint_prepare(e, hv__wall_now(e));
    if (st) {
        hv__store_rollback(e);
        return st;
    }
    seen_precommit(e);
    int rc = e->batch_change == 2 ? SQLITE_OK
             : run_cached(e, e->batch ? "RELEASE hv_change" : "COMMIT");
    if (rc != SQLITE_OK) {
        st = hv__sql_fail(e, rc, "committing");
        hv__store_rollback(e);
        return st;
    }
    e->batch_change = 0;
    seen_commit(e);
    if (!e->batch)
        hv__checkpoint_append(e, 0);
    return HV_OK;
}

void hv__store_rollback(hv_engine *e)
{
    sodium_memzero(&e->seen, sizeof e->seen);
    if (e->batch && e->batch_change == 2) {
        /* a change without a savepoint (hv__store_begin_unguarded): what
         * it wrote goes with the whole batch */
        e->batch_change = 0;
        if (sqlite3_total_changes64(e->db) == e->changes_at_begin)
            return;
        e->head = e->head_saved;
        hv__checkpoint_forget(e);
        if (!sqlite3_get_autocommit(e->db))
            sqlite3_exec(e->db, "ROLLBACK", NULL, NULL, NULL);
        return;
    }
    if (e->batch) {
        /* not through the cache: a failed prepare would replace the
         * message of the failure being undone */
        if (e->batch_change) {
            sqlite3_exec(e->db, "ROLLBACK TO hv_change; RELEASE hv_change", NULL,
                         NULL, NULL);
            e->head = e->head_saved; /* the batch's head before the change */
        }
        e->batch_change = 0;
        return;
    }
    hv__checkpoint_forget(e);
    if (!sqlite3_get_autocommit(e->db))
        sqlite3_exec(e->db, "ROLLBACK", NULL, NULL, NULL);
}

hv_status hv__store_case_lookup(hv_engine *e, const char *ref,
                                int64_t *case_id, int64_t *version)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    *case_id = 0;
    if (version)
        *version = 0;
    if ((s = hv__store_prepare(e, "SELECT id, version FROM cases WHERE ref=?1",
                               &st)))
        return s;
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *case_id = sqlite3_column_int64(st, 0);
        if (version)
            *version = sqlite3_column_int64(st, 1);
        s = HV_OK;
    } else if (rc == SQLITE_DONE) {
        s = hv__no_such_case(e, ref);
    } else {
        s = hv__sql_fail(e, rc, "looking up a case");
    }
    hv__store_finalize(e, st);
    return s;
}

hv_status hv__store_case_touch(hv_engine *e, const char *ref,
                               int64_t case_id, int64_t expected_version,
                               int64_t *new_version)
{
    /* no RETURNING: the PostgreSQL store's tables are virtual */
    hv_status s = hv__store_execf(
        e, "updating a case",
        "UPDATE cases SET version = version + 1,"
        " updated_at = ?2 WHERE id = ?1 AND"
        " (?3 = 0 OR version = ?3)",
        "iii", case_id, (int64_t)hv_now(e), expected_version);
    *new_version = 0;
    if (s == HV_OK && sqlite3_changes(e->db) == 1)
        s = hv__store_query_int(e, "updating a case",
                                "SELECT version FROM cases WHERE id = ?1", 0,
                                new_version, "i", case_id);
    if (s)
        return s;
    if (*new_version == 0)
        return hv__fail(e, HV_CONFLICT,
                        "%s: stale version: the case changed since version "
                        "%lld; reload it and try again",
                        ref, (long long)expected_version);
    return HV_OK;
}

char *hv__column_strdup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? hv__strdup((const char *)t) : NULL;
}

/* The engine's time: the system clock, or, on a simulated database only,
 * the fixed or simulated time set with hv_clock_* (engine.c).  Here, below
 * the engine, because every write of the store and the event log is
 * stamped with it (and purge measures retention on it). */
HV_API hv_time hv_now(const hv_engine *e)
{
    if (e->replay_at)
        return e->replay_at; /* a device's change replayed (sync.h) */
    return hv__wall_now(e);
}

hv_time hv__wall_now(const hv_engine *e)
{
    if (e->clock_mode == HV_CLOCK_SYSTEM || !e->simulated)
        return (hv_time)time(NULL);
    return e->clock_time;
}
