/* testutil.c - helpers shared by the unit tests. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

const char *tu_source_path(const char *relative)
{
    static char buf[4096];
    const char *root = getenv("HAVEN_SOURCE_DIR");
    snprintf(buf, sizeof buf, "%s/%s", root ? root : ".", relative);
    return buf;
}

char *tu_tempdir(void)
{
    const char *tmp = getenv("TMPDIR");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/haven-test-XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(buf))
        return NULL;
    return strdup(buf);
}

static void tu_pg_drop(const char *dir);

void tu_rmtree(const char *dir)
{
    tu_pg_drop(dir);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *ent;
    char path[4096];
    while ((ent = readdir(d)) != NULL) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = (size_t)n;
    }
    return buf;
}

#include <libpq-fe.h>
#include <sqlite3.h>

#include "alloc.h"
#include "fileio.h"
#include "pgstore.h"
#include "store.h"

/* ---- the PostgreSQL mode ---------------------------------------------------
 * With HAVEN_TEST_PG set to the socket folder of the test cluster
 * (tests/pg/cluster.sh), tu_db_path names a fresh PostgreSQL database per
 * folder (made on the first call, dropped by tu_rmtree), the files kept
 * beside a store go to one state folder of this process, and tu_count and
 * tu_fingerprint read the store through the engine's own virtual tables. */

#define TU_PG_MAX 64

static struct {
    char dir[4096];
    char url[512];
    char name[64];
} tu_pg_dbs[TU_PG_MAX];
static int tu_pg_n;
static char tu_pg_state[4096];
static pid_t tu_pg_owner; /* the process that made them (not a forked child) */

int tu_pg(void)
{
    const char *host = getenv("HAVEN_TEST_PG");
    return host && *host;
}

/* Runs sql on the cluster's maintenance database; 0 or -1. */
static int tu_pg_admin(const char *sql)
{
    char conninfo[4200];
    snprintf(conninfo, sizeof conninfo, "postgresql:///postgres?host=%s&user=haven",
             getenv("HAVEN_TEST_PG"));
    PGconn *conn = PQconnectdb(conninfo);
    int ok = PQstatus(conn) == CONNECTION_OK;
    if (ok) {
        PGresult *res = PQexec(conn, sql);
        ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok)
            fprintf(stderr, "testutil: %s: %s", sql, PQerrorMessage(conn));
        PQclear(res);
    } else
        fprintf(stderr, "testutil: cannot reach the test cluster: %s", PQerrorMessage(conn));
    PQfinish(conn);
    return ok ? 0 : -1;
}

static void tu_pg_cleanup(void)
{
    if (getpid() != tu_pg_owner)
        return;
    for (int i = 0; i < tu_pg_n; i++)
        if (tu_pg_dbs[i].dir[0])
            tu_rmtree(tu_pg_dbs[i].dir);
    if (tu_pg_state[0])
        tu_rmtree(tu_pg_state);
}

/* The URL of the database of dir, made on the first call. */
static const char *tu_pg_url(const char *dir)
{
    for (int i = 0; i < tu_pg_n; i++)
        if (!strcmp(tu_pg_dbs[i].dir, dir))
            return tu_pg_dbs[i].url;
    if (!tu_pg_state[0]) {
        char *state = tu_tempdir();
        assert_non_null(state);
        snprintf(tu_pg_state, sizeof tu_pg_state, "%s", state);
        free(state);
        setenv("HAVEN_STATE_DIR", tu_pg_state, 1);
        tu_pg_owner = getpid();
        atexit(tu_pg_cleanup);
    }
    if (tu_pg_n == TU_PG_MAX)
        fail_msg("testutil: more than %d PostgreSQL databases in one test", TU_PG_MAX);
    int i = tu_pg_n++;
    snprintf(tu_pg_dbs[i].dir, sizeof tu_pg_dbs[i].dir, "%s", dir);
    char name[64];
    snprintf(name, sizeof name, "u_%ld_%d", (long)getpid(), i);
    snprintf(tu_pg_dbs[i].name, sizeof tu_pg_dbs[i].name, "%s", name);
    snprintf(tu_pg_dbs[i].url, sizeof tu_pg_dbs[i].url,
             "postgresql:///%s?host=%s&user=haven", name, getenv("HAVEN_TEST_PG"));
    char sql[128];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", tu_pg_dbs[i].name);
    tu_pg_admin(sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", tu_pg_dbs[i].name);
    if (tu_pg_admin(sql))
        fail_msg("testutil: cannot make the test database %s", tu_pg_dbs[i].name);
    return tu_pg_dbs[i].url;
}

/* Drops the database of dir (if it has one) and its side files. */
static void tu_pg_drop(const char *dir)
{
    for (int i = 0; i < tu_pg_n; i++) {
        if (strcmp(tu_pg_dbs[i].dir, dir))
            continue;
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)",
                 tu_pg_dbs[i].name);
        tu_pg_admin(sql);
        static const char *const sides[] = {".key", ".audit-key", ".checkpoints"};
        char *shown = hv__pg_display(tu_pg_dbs[i].url);
        for (size_t k = 0; shown && k < sizeof sides / sizeof sides[0]; k++) {
            char side[4600];
            hv__side_path(shown, sides[k], side, sizeof side);
            unlink(side);
        }
        hv__free(shown);
        tu_pg_dbs[i].dir[0] = '\0';
    }
}

/* Opens db_path read-only (a file) or as a store (a URL).  out: *pg. */
static sqlite3 *tu_open(const char *db_path, struct hv_pg **pg)
{
    sqlite3 *db = NULL;
    *pg = NULL;
    if (!hv__is_pg_url(db_path)) {
        if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
            sqlite3_close(db);
            return NULL;
        }
        return db;
    }
    char *err = NULL, *shown = hv__pg_display(db_path);
    hv_status s = hv__store_open_pg(shown, db_path, 0, 5000, &db, pg, &err);
    hv__free(shown);
    hv__free(err);
    return s == HV_OK ? db : NULL;
}

static void tu_close(sqlite3 *db, struct hv_pg *pg)
{
    sqlite3_close(db);
    hv__pg_close(pg);
}

/* The stores tu_sql_open opened, by their SQLite connection. */
static struct {
    sqlite3 *db;
    struct hv_pg *pg;
} tu_opened[16];

sqlite3 *tu_sql_open(const char *db_path)
{
    sqlite3 *db = NULL;
    if (!hv__is_pg_url(db_path)) {
        if (sqlite3_open(db_path, &db) != SQLITE_OK) {
            sqlite3_close(db);
            return NULL;
        }
        return db;
    }
    struct hv_pg *pg = NULL;
    char *err = NULL, *shown = hv__pg_display(db_path);
    hv_status s = hv__store_open_pg(shown, db_path, 0, 5000, &db, &pg, &err);
    hv__free(shown);
    if (s != HV_OK)
        fprintf(stderr, "testutil: %s\n", err ? err : "cannot open the store");
    hv__free(err);
    if (s != HV_OK)
        return NULL;
    for (size_t i = 0; i < sizeof tu_opened / sizeof tu_opened[0]; i++)
        if (!tu_opened[i].db) {
            tu_opened[i].db = db;
            tu_opened[i].pg = pg;
            return db;
        }
    tu_close(db, pg);
    return NULL;
}

void tu_sql_close(sqlite3 *db)
{
    for (size_t i = 0; db && i < sizeof tu_opened / sizeof tu_opened[0]; i++)
        if (tu_opened[i].db == db) {
            tu_close(db, tu_opened[i].pg);
            tu_opened[i].db = NULL;
            return;
        }
    sqlite3_close(db);
}

const char *tu_db_path(const char *dir)
{
    static char buf[4096];
    if (tu_pg()) {
        snprintf(buf, sizeof buf, "%s", tu_pg_url(dir));
        return buf;
    }
    snprintf(buf, sizeof buf, "%s/haven.db", dir);
    return buf;
}

static hv_engine *fresh_engine(char **dir, const char *ref_pattern,
                               const char *rules_dir)
{
    char *err = NULL;
    hv_engine *e = NULL;
    *dir = tu_tempdir();
    assert_non_null(*dir);
    char wf[4096], rules[4096];
    snprintf(wf, sizeof wf, "%s", tu_source_path("workflows/iasc.yaml"));
    if (rules_dir)
        snprintf(rules, sizeof rules, "%s", tu_source_path(rules_dir));
    hv_init_options o = {.agency = "CP", .workflow_path = wf,
                         .rules_dir = rules_dir ? rules : NULL,
                         .ref_pattern = ref_pattern, .admin = "admin",
                         .simulated = 1};
    hv_status st = hv_engine_init(tu_db_path(*dir), &o, &err);
    if (st != HV_OK)
        fail_msg("init: %s", err ? err : "?");
    st = hv_engine_open(tu_db_path(*dir), &e, &err);
    if (st != HV_OK)
        fail_msg("open: %s", err ? err : "?");
    assert_int_equal(hv_clock_fix(e, TU_T0), HV_OK);
    /* sara supervises amal and bilal, the caseworkers the tests act as. */
    assert_int_equal(hv_engine_set_actor(e, "admin"), HV_OK);
    assert_int_equal(hv_user_add(e, "sara", "supervisor", NULL), HV_OK);
    assert_int_equal(hv_user_add(e, "amal", "caseworker", "sara"), HV_OK);
    assert_int_equal(hv_user_add(e, "bilal", "caseworker", "sara"), HV_OK);
    assert_int_equal(hv_engine_set_actor(e, "amal"), HV_OK);
    return e;
}

hv_engine *tu_fresh_engine(char **dir, const char *ref_pattern)
{
    return fresh_engine(dir, ref_pattern, NULL);
}

hv_engine *tu_fresh_engine_rules(char **dir, const char *rules_dir)
{
    return fresh_engine(dir, NULL, rules_dir);
}

long tu_count(const char *db_path, const char *sql)
{
    struct hv_pg *pg = NULL;
    sqlite3 *db = tu_open(db_path, &pg);
    sqlite3_stmt *st = NULL;
    long n = -1;
    if (db && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    tu_close(db, pg);
    return n;
}

char *tu_fingerprint(const char *db_path)
{
    struct hv_pg *pg = NULL;
    sqlite3 *db = tu_open(db_path, &pg);
    sqlite3_stmt *tables = NULL, *rows = NULL;
    size_t cap = 4096, len = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    if (!db)
        goto done;
    sqlite3_prepare_v2(db,
                       "SELECT name FROM sqlite_schema WHERE type='table'"
                       " ORDER BY name",
                       -1, &tables, NULL);
    while (tables && sqlite3_step(tables) == SQLITE_ROW) {
        char sql[512];
        snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"",
                 (const char *)sqlite3_column_text(tables, 0));
        if (sqlite3_prepare_v2(db, sql, -1, &rows, NULL) != SQLITE_OK)
            continue;
        while (sqlite3_step(rows) == SQLITE_ROW) {
            for (int i = 0; i < sqlite3_column_count(rows); i++) {
                const char *v = (const char *)sqlite3_column_text(rows, i);
                size_t n = strlen(v ? v : "NULL") + 2;
                if (len + n + 1 > cap) {
                    cap = (cap + n) * 2;
                    out = realloc(out, cap);
                }
                len += (size_t)sprintf(out + len, "%s|", v ? v : "NULL");
            }
            out[len++] = '\n';
            out[len] = '\0';
        }
        sqlite3_finalize(rows);
    }
done:
    sqlite3_finalize(tables);
    tu_close(db, pg);
    return out;
}

json_t *tu_sync_entry(const char *secret, char head[65], int64_t *seq, int64_t at,
                      const char *kind, const char *ref, const char *step,
                      const char *input, int64_t base)
{
    json_t *x = json_pack("{s:I,s:I,s:s,s:s,s:s?,s:s?,s:s,s:I,s:s}", "seq",
                          (json_int_t)++*seq, "at", (json_int_t)at, "user", "amal",
                          "kind", kind, "ref", ref, "step", step, "input", input,
                          "base_version", (json_int_t)base, "prev", head);
    assert_non_null(x);
    unsigned char key[32], mac[32];
    assert_int_equal(sodium_hex2bin(key, sizeof key, secret, 64, NULL, NULL, NULL), 0);
    char *text = json_dumps(x, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(text);
    crypto_auth_hmacsha256_state h;
    crypto_auth_hmacsha256_init(&h, key, sizeof key);
    crypto_auth_hmacsha256_update(&h, (const unsigned char *)head, strlen(head));
    crypto_auth_hmacsha256_update(&h, (const unsigned char *)"\n", 1);
    crypto_auth_hmacsha256_update(&h, (const unsigned char *)text, strlen(text));
    crypto_auth_hmacsha256_final(&h, mac);
    free(text);
    char hash[65];
    sodium_bin2hex(hash, sizeof hash, mac, sizeof mac);
    json_object_set_new(x, "hash", json_string(hash));
    snprintf(head, 65, "%s", hash);
    return x;
}
