/*
 * bench_raw.c - the raw limits under Haven that bench.c measures it
 * against: plain SQLite inserts, the due-list and overdue queries in raw
 * SQL, Haven's own registration rows replayed with plain INSERTs, and the
 * rows of a re-scoring read raw and given to risk.lua on plain Lua tables.
 */
#include <lauxlib.h>
#include <pthread.h>
#include <stdint.h>
#include <lualib.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* A new database at path (any old one removed) with WAL, synchronous=FULL
 * and one table r; dies on failure. */
static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db;
    unlink(path);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        bench_die("raw open %s", path);
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                 "CREATE TABLE r (id INTEGER PRIMARY KEY, ref TEXT, body TEXT);",
                 NULL, NULL, NULL);
    return db;
}

/* Rows per second: n single-row INSERTs, `per` to a committed transaction. */
double raw_inserts(const char *path, int n, int per)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *st;
    char body[400];
    memset(body, 'x', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    sqlite3_prepare_v2(db, "INSERT INTO r (ref, body) VALUES (?1, ?2)", -1, &st, NULL);
    double t0 = bench_now();
    for (int i = 0; i < n; i++) {
        if (per > 1 && i % per == 0)
            sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        char ref[32];
        snprintf(ref, sizeof ref, "RAW-%d", i);
        sqlite3_bind_text(st, 1, ref, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, body, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            bench_die("raw insert: %s", sqlite3_errmsg(db));
        sqlite3_reset(st);
        if (per > 1 && (i % per == per - 1 || i == n - 1))
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    double t = bench_now() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n / t;
}

/* The same indexed queries in raw SQL on the same file. */
double raw_due_list(sqlite3 *db, const char *login)
{
    sqlite3_stmt *st;
    int n = 50;
    if (sqlite3_prepare_v2(db,
                           "SELECT c.ref, t.kind, t.label, t.due_at, c.urgency, c.stage,"
                           " c.risk_level FROM tasks t JOIN cases c ON c.id = t.case_id"
                           " WHERE t.assignee_id = (SELECT id FROM users WHERE login = ?1)"
                           " AND t.status = 'open' ORDER BY t.due_at",
                           -1, &st, NULL) != SQLITE_OK)
        bench_die("raw due: %s", sqlite3_errmsg(db));
    double t0 = bench_now();
    for (int i = 0; i < n; i++) {
        sqlite3_bind_text(st, 1, login, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW)
            ;
        sqlite3_reset(st);
    }
    double t = (bench_now() - t0) / n;
    sqlite3_finalize(st);
    return t;
}

/* The agency's overdue count in raw SQL, as hv_task_count_due counts it. */
double raw_overdue_count(sqlite3 *db, int64_t *count)
{
    sqlite3_stmt *st;
    int n = 5;
    sqlite3_prepare_v2(db,
                       "SELECT count(*) FROM tasks t JOIN cases c ON c.id = t.case_id"
                       " WHERE t.status = 'open' AND t.due_at < ?1"
                       " AND (c.status = 'open' OR t.kind = 'final_followup')",
                       -1, &st, NULL);
    double t0 = bench_now();
    for (int i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, 1795856400);
        if (sqlite3_step(st) == SQLITE_ROW)
            *count = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    double t = (bench_now() - t0) / n;
    sqlite3_finalize(st);
    return t;
}

/* The same rows scanned raw: each open case with its concerns, child,
 * assessments and follow-ups. */
double raw_scan(sqlite3 *db, long *rows)
{
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db,
                       "SELECT c.id, c.risk_level,"
                       " (SELECT group_concat(code) FROM case_concerns WHERE case_id = c.id),"
                       " (SELECT age FROM persons WHERE case_id = c.id AND role = 'child'),"
                       " (SELECT count(*) FROM assessments WHERE case_id = c.id),"
                       " (SELECT group_concat(safety) FROM followups WHERE case_id = c.id)"
                       " FROM cases c WHERE c.status = 'open'",
                       -1, &st, NULL);
    double t0 = bench_now();
    long n = 0;
    while (sqlite3_step(st) == SQLITE_ROW)
        n++;
    double t = bench_now() - t0;
    sqlite3_finalize(st);
    *rows = n;
    return n / t;
}

/* ---- the same work, raw ------------------------------------------------------ */

/* The rows Haven's registrations wrote, in the order it writes them (per
 * case: the reference counter, the case, its persons and their name keys,
 * concerns, consents, tasks, the event), replayed into an empty copy of the
 * same schema, with the same pragmas, with
 * plain prepared INSERTs: the SQLite work of a registration with nothing of
 * Haven's own (no rules, no sealing, no blind index, no hash chain: those
 * values are copied as made). */
typedef struct {
    const char *table, *select;
    sqlite3_stmt *ins;
    int ncol;
    long n, pos;
    sqlite3_int64 *case_of;
    sqlite3_value **vals; /* n * ncol */
} replay_table;

double raw_replay(const char *src, const char *path, int per)
{
    replay_table t[] = {
        {"cases", "SELECT id, * FROM cases ORDER BY id", NULL, 0, 0, 0, NULL, NULL},
        {"persons", "SELECT case_id, * FROM persons ORDER BY id", NULL, 0, 0, 0, NULL, NULL},
        {"person_name_keys",
         "SELECT p.case_id, k.* FROM person_name_keys k JOIN persons p ON"
         " p.id = k.person_id ORDER BY p.id, k.key", NULL, 0, 0, 0, NULL, NULL},
        {"case_concerns", "SELECT case_id, * FROM case_concerns ORDER BY case_id, code",
         NULL, 0, 0, 0, NULL, NULL},
        {"consents", "SELECT case_id, * FROM consents ORDER BY rowid", NULL, 0, 0, 0, NULL, NULL},
        {"tasks", "SELECT case_id, * FROM tasks ORDER BY id", NULL, 0, 0, 0, NULL, NULL},
        {"events", "SELECT case_id, * FROM events WHERE case_id IS NOT NULL ORDER BY seq",
         NULL, 0, 0, 0, NULL, NULL},
    };
    const int ntab = (int)(sizeof t / sizeof t[0]);
    const char *ext[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s%s", path, ext[i]);
        unlink(p);
    }
    sqlite3 *db, *s;
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_open_v2(src, &s, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        bench_die("replay: open");
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;"
                     "PRAGMA cache_size=-8192;",
                 NULL, NULL, NULL);
    /* the schema, and the rows every case refers to (users, agency, ...) */
    sqlite3_stmt *st;
    sqlite3_prepare_v2(s, "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND"
                          " name NOT LIKE 'sqlite_%' ORDER BY type = 'table' DESC, rowid",
                       -1, &st, NULL);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    while (sqlite3_step(st) == SQLITE_ROW)
        if (sqlite3_exec(db, (const char *)sqlite3_column_text(st, 0), NULL, NULL, NULL) !=
            SQLITE_OK)
            bench_die("replay schema: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    char sql[8192];
    snprintf(sql, sizeof sql, "ATTACH '%s' AS src", src);
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        bench_die("replay attach: %s", sqlite3_errmsg(db));
    const char *setup[] = {"meta", "agencies", "workflows", "rule_packs", "users",
                           "ref_counters"};
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (size_t i = 0; i < sizeof setup / sizeof setup[0]; i++) {
        snprintf(sql, sizeof sql, "INSERT INTO main.%s SELECT * FROM src.%s", setup[i],
                 setup[i]);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
            bench_die("replay %s: %s", setup[i], sqlite3_errmsg(db));
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_exec(db, "DETACH src", NULL, NULL, NULL);
    /* the registrations' rows, in memory */
    for (int k = 0; k < ntab; k++) {
        if (sqlite3_prepare_v2(s, t[k].select, -1, &st, NULL) != SQLITE_OK)
            bench_die("replay read %s: %s", t[k].table, sqlite3_errmsg(s));
        t[k].ncol = sqlite3_column_count(st) - 1;
        long cap = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (t[k].n == cap) {
                cap = cap ? cap * 2 : 1024;
                t[k].case_of = realloc(t[k].case_of, (size_t)cap * sizeof *t[k].case_of);
                t[k].vals = realloc(t[k].vals, (size_t)cap * (size_t)t[k].ncol *
                                                   sizeof *t[k].vals);
                if (!t[k].case_of || !t[k].vals)
                    bench_die("out of memory");
            }
            t[k].case_of[t[k].n] = sqlite3_column_int64(st, 0);
            for (int c = 0; c < t[k].ncol; c++)
                t[k].vals[t[k].n * t[k].ncol + c] =
                    sqlite3_value_dup(sqlite3_column_value(st, c + 1));
            t[k].n++;
        }
        sqlite3_finalize(st);
        size_t n = (size_t)snprintf(sql, sizeof sql, "INSERT INTO %s VALUES (", t[k].table);
        for (int c = 0; c < t[k].ncol; c++)
            n += (size_t)snprintf(sql + n, sizeof sql - n, "%s?", c ? "," : "");
        snprintf(sql + n, sizeof sql - n, ")");
        if (sqlite3_prepare_v2(db, sql, -1, &t[k].ins, NULL) != SQLITE_OK)
            bench_die("replay insert %s: %s", t[k].table, sqlite3_errmsg(db));
    }
    sqlite3_close(s);
    /* each registration takes the next reference (registration.c) */
    sqlite3_stmt *counter;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO ref_counters (prefix, next) VALUES ('RAW', 2)"
                           " ON CONFLICT (prefix) DO UPDATE SET next = next + 1"
                           " RETURNING next - 1",
                           -1, &counter, NULL) != SQLITE_OK)
        bench_die("replay counter: %s", sqlite3_errmsg(db));
    /* the timed part: case by case, `per` to a transaction */
    long ncases = t[0].n;
    double t0 = bench_now();
    for (long i = 0; i < ncases; i++) {
        sqlite3_int64 id = t[0].case_of[i];
        if (i % per == 0)
            sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        if (sqlite3_step(counter) != SQLITE_ROW)
            bench_die("replay counter: %s", sqlite3_errmsg(db));
        sqlite3_reset(counter);
        for (int k = 0; k < ntab; k++)
            for (; t[k].pos < t[k].n && t[k].case_of[t[k].pos] == id; t[k].pos++) {
                for (int c = 0; c < t[k].ncol; c++)
                    sqlite3_bind_value(t[k].ins, c + 1,
                                       t[k].vals[t[k].pos * t[k].ncol + c]);
                if (sqlite3_step(t[k].ins) != SQLITE_DONE)
                    bench_die("replay %s: %s", t[k].table, sqlite3_errmsg(db));
                sqlite3_reset(t[k].ins);
            }
        if (i % per == per - 1 || i == ncases - 1)
            if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
                bench_die("replay commit: %s", sqlite3_errmsg(db));
    }
    double secs = bench_now() - t0;
    sqlite3_finalize(counter);
    for (int k = 0; k < ntab; k++) {
        if (t[k].pos != t[k].n)
            bench_die("replay %s: %ld of %ld rows replayed (not in case order)", t[k].table,
                t[k].pos, t[k].n);
        sqlite3_finalize(t[k].ins);
        for (long r = 0; r < t[k].n * t[k].ncol; r++)
            sqlite3_value_free(t[k].vals[r]);
        free(t[k].vals);
        free(t[k].case_of);
    }
    sqlite3_close(db);
    return ncases / secs;
}

/* has(list, v) for the raw risk.lua: whether the Lua array list holds v. */
static int raw_has(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    for (lua_Integer i = 1; lua_rawgeti(L, 1, i) != LUA_TNIL; i++) {
        if (lua_rawequal(L, -1, 2))
            return lua_pushboolean(L, 1), 1;
        lua_pop(L, 1);
    }
    lua_pushboolean(L, 0);
    return 1;
}

/* The rows of figure 6 read the plainest fast way: one pass in case
 * order, the open cases merged with one statement per table walking its
 * case index (concerns, the child's age, assessments, follow-ups: only the
 * columns risk.lua reads), made into plain Lua tables (no proxies, no
 * sandbox, no budget, no result checks) in one reused Lua state with
 * generational GC, and given to the pack's risk.lua: the raw SQLite and
 * Lua work of a re-scoring of the open cases lo <= id < hi on db.
 * Assessment data is sealed, so the raw side gives risk.lua no risks and
 * strengths (counts of 0: less work than Haven's, which opens and counts
 * them), and the child's age as recorded (Haven derives it from the date
 * of birth, sealed). */
static long rescore_range(sqlite3 *db, const char *source, const char *second,
                          int64_t lo, int64_t hi)
{
    char path[4200], path2[4200];
    snprintf(path, sizeof path, "%s/rules/default/risk.lua", source);
    snprintf(path2, sizeof path2, "%s/risk.lua", second ? second : "");
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    /* generational GC: each case's tables die young (as Haven's run) */
    lua_gc(L, LUA_GCGEN, 0, 0);
    lua_pushcfunction(L, raw_has);
    lua_setglobal(L, "has");
    /* the sandbox's durations, in seconds (rules.c) */
    if (luaL_dostring(L, "function hours(n) return n * 3600 end "
                         "function days(n) return n * 86400 end "
                         "function weeks(n) return n * 604800 end "
                         "function months(n) return n * 2592000 end "
                         "function log() end") != LUA_OK)
        bench_die("raw durations: %s", lua_tostring(L, -1));
    if (luaL_loadfile(L, path) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK)
        bench_die("raw risk.lua: %s", lua_tostring(L, -1));
    int fn = lua_gettop(L), fn2 = 0;
    if (second) { /* a diff's second pack: its risk.lua on the same tables */
        if (luaL_loadfile(L, path2) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK)
            bench_die("raw second risk.lua: %s", lua_tostring(L, -1));
        fn2 = lua_gettop(L);
    }
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, 1795856400);
    lua_setfield(L, -2, "now");
    int ctx = lua_gettop(L);
    enum { CONCERNS, CHILD, ASSESSMENTS, FOLLOWUPS, NSTREAMS };
    const char *sql[NSTREAMS] = {
        "SELECT case_id, code FROM case_concerns WHERE case_id >= ?1 AND"
        " case_id < ?2 ORDER BY case_id",
        "SELECT case_id, age FROM persons INDEXED BY persons_case WHERE role ="
        " 'child' AND case_id >= ?1 AND case_id < ?2 ORDER BY case_id",
        "SELECT case_id, kind, at, safety FROM assessments INDEXED BY"
        " assessments_case WHERE case_id >= ?1 AND case_id < ?2 ORDER BY"
        " case_id, at",
        "SELECT case_id, at, method, safety FROM followups INDEXED BY"
        " followups_case WHERE final = 0 AND case_id >= ?1 AND case_id < ?2"
        " ORDER BY case_id, at"};
    const char *field[NSTREAMS] = {"concerns", "child", "assessments", "followups"};
    static const char *const names[2][3] = {{"kind", "at", "safety"},
                                             {"at", "method", "safety"}};
    sqlite3_stmt *c, *q[NSTREAMS];
    int row[NSTREAMS];
    sqlite3_prepare_v2(db, "SELECT id FROM cases WHERE status = 'open' AND id >= ?1"
                           " AND id < ?2 ORDER BY id", -1, &c, NULL);
    sqlite3_bind_int64(c, 1, lo);
    sqlite3_bind_int64(c, 2, hi);
    for (int i = 0; i < NSTREAMS; i++) {
        if (sqlite3_prepare_v2(db, sql[i], -1, &q[i], NULL) != SQLITE_OK)
            bench_die("raw rescore: %s", sqlite3_errmsg(db));
        sqlite3_bind_int64(q[i], 1, lo);
        sqlite3_bind_int64(q[i], 2, hi);
        row[i] = sqlite3_step(q[i]) == SQLITE_ROW;
    }
    long n = 0;
    while (sqlite3_step(c) == SQLITE_ROW) {
        sqlite3_int64 id = sqlite3_column_int64(c, 0);
        lua_createtable(L, 0, 4);
        for (int i = 0; i < NSTREAMS; i++) {
            while (row[i] && sqlite3_column_int64(q[i], 0) < id)
                row[i] = sqlite3_step(q[i]) == SQLITE_ROW;
            if (i == CHILD) {
                if (row[i] && sqlite3_column_int64(q[i], 0) == id) {
                    lua_createtable(L, 0, 1);
                    if (sqlite3_column_type(q[i], 1) != SQLITE_NULL) {
                        lua_pushinteger(L, sqlite3_column_int64(q[i], 1));
                        lua_setfield(L, -2, "age");
                    }
                    lua_setfield(L, -2, "child");
                }
                continue;
            }
            lua_newtable(L);
            for (int r = 1; row[i] && sqlite3_column_int64(q[i], 0) == id; r++) {
                if (i == CONCERNS) {
                    lua_pushstring(L, (const char *)sqlite3_column_text(q[i], 1));
                } else {
                    lua_createtable(L, 0, 5);
                    for (int k = 0; k < 3; k++) {
                        int type = sqlite3_column_type(q[i], k + 1);
                        if (type == SQLITE_INTEGER)
                            lua_pushinteger(L, sqlite3_column_int64(q[i], k + 1));
                        else if (type == SQLITE_TEXT)
                            lua_pushstring(L, (const char *)sqlite3_column_text(q[i], k + 1));
                        else
                            continue;
                        lua_setfield(L, -2, names[i - ASSESSMENTS][k]);
                    }
                    if (i == ASSESSMENTS) { /* counts, as the minimised view gives */
                        lua_pushinteger(L, 0);
                        lua_setfield(L, -2, "risks");
                        lua_pushinteger(L, 0);
                        lua_setfield(L, -2, "strengths");
                    }
                }
                lua_rawseti(L, -2, r);
                row[i] = sqlite3_step(q[i]) == SQLITE_ROW;
            }
            lua_setfield(L, -2, field[i]);
        }
        int view = lua_gettop(L);
        for (int k = 0; k < (fn2 ? 2 : 1); k++) {
            lua_pushvalue(L, k ? fn2 : fn);
            lua_pushvalue(L, view);
            lua_pushvalue(L, ctx);
            if (lua_pcall(L, 2, 1, 0) != LUA_OK)
                bench_die("raw risk.lua: %s", lua_tostring(L, -1));
            lua_getfield(L, -1, "level");
            lua_getfield(L, -2, "score");
            lua_pop(L, 3);
        }
        lua_pop(L, 1);
        n++;
    }
    for (int i = 0; i < NSTREAMS; i++)
        sqlite3_finalize(q[i]);
    sqlite3_finalize(c);
    lua_close(L);
    return n;
}

/* One thread of a raw re-scoring: its own connection to the file. */
typedef struct {
    const char *file, *source, *second;
    int64_t lo, hi;
    long n;
    pthread_t thread;
} raw_part;

static void *raw_part_main(void *arg)
{
    raw_part *p = arg;
    sqlite3 *db;
    if (sqlite3_open_v2(p->file, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        bench_die("raw rescore: open %s", p->file);
    p->n = rescore_range(db, p->source, p->second, p->lo, p->hi);
    sqlite3_close(db);
    return NULL;
}

int bench_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

double raw_rescore_on(sqlite3 *db, const char *source, const char *second, int threads,
                      long *cases)
{
    raw_part parts[8];
    int64_t open = 0, cut[9];
    sqlite3_stmt *st;
    if (threads < 1 || threads > 8)
        threads = 1;
    /* the open cases cut into equal parts by count (one pass over the
     * case ids, timed with the work) */
    double t0 = bench_now();
    cut[0] = INT64_MIN;
    cut[threads] = INT64_MAX;
    if (threads > 1) {
        sqlite3_prepare_v2(db, "SELECT count(*) FROM cases WHERE status = 'open'", -1, &st,
                           NULL);
        if (sqlite3_step(st) == SQLITE_ROW)
            open = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_prepare_v2(db, "SELECT id FROM cases WHERE status = 'open' ORDER BY id"
                               " LIMIT 1 OFFSET ?1", -1, &st, NULL);
        for (int k = 1; k < threads; k++) {
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, open * k / threads);
            cut[k] = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0)
                                                    : INT64_MAX;
        }
        sqlite3_finalize(st);
    }
    for (int k = 0; k < threads; k++) {
        parts[k] = (raw_part){sqlite3_db_filename(db, "main"), source, second, cut[k],
                              cut[k + 1], 0, 0};
        if (threads > 1 && pthread_create(&parts[k].thread, NULL, raw_part_main, &parts[k]))
            bench_die("raw rescore: no thread");
    }
    long n = 0;
    if (threads == 1)
        parts[0].n = rescore_range(db, source, second, INT64_MIN, INT64_MAX);
    for (int k = 0; k < threads; k++) {
        if (threads > 1)
            pthread_join(parts[k].thread, NULL);
        n += parts[k].n;
    }
    double t = bench_now() - t0;
    *cases = n;
    return n / t;
}

double raw_rescore(sqlite3 *db, const char *source, const char *second, long *cases)
{
    return raw_rescore_on(db, source, second, 1, cases);
}

/* The caseworker with the most open tasks (bench.h). */
const char *busiest_caseworker(sqlite3 *db, char *buf, size_t size)
{
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db,
                       "SELECT u.login FROM tasks t JOIN users u ON u.id = t.assignee_id"
                       " WHERE t.status = 'open' AND u.role = 'caseworker'"
                       " GROUP BY u.id ORDER BY count(*) DESC LIMIT 1",
                       -1, &st, NULL);
    snprintf(buf, size, "cw0001");
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(buf, size, "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

/* Seconds per one-row SELECT by primary key on the raw database at path
 * (bench.h): the same 1,000 lookups as pg_raw_select. */
double raw_select(const char *path, int n)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT ref, body FROM r WHERE id = ?1", -1, &st, NULL) !=
            SQLITE_OK)
        bench_die("raw select %s", path);
    int q = 1000;
    double t0 = bench_now();
    for (int i = 0; i < q; i++) {
        sqlite3_bind_int64(st, 1, 1 + (i * 7919L) % n);
        if (sqlite3_step(st) != SQLITE_ROW)
            bench_die("raw select: no row");
        sqlite3_column_text(st, 1);
        sqlite3_reset(st);
    }
    double t = (bench_now() - t0) / q;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return t;
}

/* ---- the agency-wide commands' raw limits (curve.c) -------------------------- */

/* Seconds to count the agency's open late tasks in plain SQLite over the
 * tasks_due index (status, due_at) alone (bench.h). */
double raw_index_count(sqlite3 *db, int64_t *count)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM tasks INDEXED BY tasks_due"
                           " WHERE status = 'open' AND due_at < ?1",
                           -1, &st, NULL) != SQLITE_OK)
        bench_die("raw index count: %s", sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, 1795856400);
    double t0 = bench_now();
    if (sqlite3_step(st) == SQLITE_ROW)
        *count = sqlite3_column_int64(st, 0);
    double t = bench_now() - t0;
    sqlite3_finalize(st);
    return t;
}

/* Reads every row of sql (no parameters) and adds the columns' integer
 * values and text lengths into *sum (so nothing read is skipped). */
static void raw_pass(sqlite3 *db, const char *sql, long long *sum)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        bench_die("raw pass: %s", sqlite3_errmsg(db));
    int ncol = sqlite3_column_count(st);
    while (sqlite3_step(st) == SQLITE_ROW)
        for (int i = 0; i < ncol; i++)
            *sum += sqlite3_column_type(st, i) == SQLITE_TEXT ? sqlite3_column_bytes(st, i)
                                                               : sqlite3_column_int64(st, i);
    sqlite3_finalize(st);
}

/* Seconds for the rows an agency report reads, in one plain SQLite pass
 * per table (bench.h). */
double raw_report(sqlite3 *db)
{
    static const char *const passes[] = {
        "SELECT status, stage, risk_level, urgency, assignee_id, registered_at,"
        " closed_at, closure_reason FROM cases",
        "SELECT case_id, kind, status, assignee_id, due_at, done_at FROM tasks",
        "SELECT case_id, kind, at FROM assessments",
        "SELECT case_id, status, decided_at FROM plans",
        "SELECT case_id, subject, status, requested_at FROM approvals",
        "SELECT id, login, role, supervisor_id FROM users",
    };
    long long sum = 0;
    double t0 = bench_now();
    for (size_t i = 0; i < sizeof passes / sizeof passes[0]; i++)
        raw_pass(db, passes[i], &sum);
    double t = bench_now() - t0;
    if (sum == 42) /* keeps the sum (and the reads) from being optimised out */
        fputc(' ', stderr);
    return t;
}
