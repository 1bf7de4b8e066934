/*
 * verify_raw.c - the raw limit under `haven audit verify` (issue 21): the
 * keyed audit chain checked with plain SQLite and plain libsodium, the
 * best way we know, and nothing else.
 *
 * What it reads: the data key file (<db>.key, or $HAVEN_KEY_FILE: 64 hex
 * characters, as the engine reads it) and meta's data_key (the data key
 * sealed under it with crypto_secretbox), giving the data key and from it
 * the chain key (BLAKE2b-256 keyed with the data key of
 * "haven-audit-chain", as the engine derives it).  Then one read-only
 * connection (cache_size -8192 as the engine's, no mmap), one prepared
 * statement, one pass in seq order over every column of every row of
 * `events` that the chain covers: seq, at, actor, case_id, kind, data,
 * decision, os_uid, os_login, digest, with prev_hash and hash.
 *
 * What it hashes: for each entry, keyed BLAKE2b-256 (libsodium
 * crypto_generichash, the chain key) of "haven-audit-v2\0", the previous
 * entry's hash (32 zero bytes for the first), seq, at, case_id and os_uid
 * as 8 bytes little-endian, actor, kind, data, decision and os_login each
 * with its NUL (a NULL as the byte 0xff) and the digest (0x01 and its 32
 * bytes, or 0xff): the engine's keyed entry hash, byte for byte; each
 * column's bytes are hashed in place from SQLite's row, the small fields
 * gathered into one buffer first.  It compares the result with `hash` and
 * `prev_hash` with the previous hash (a mismatch fails the run: the raw
 * must do the check it stands for).  *bytes: the bytes hashed (key block
 * not counted).
 *
 * That is raw_verify_chain, the raw the issue names ("BLAKE2b over the
 * same bytes").  But `audit verify` does a second job of the same size:
 * it opens every sealed value (XChaCha20-Poly1305 bound to its table,
 * column and row id; issue 15), so a value moved, copied or changed
 * outside Haven is caught.  raw_verify_seals is that job raw: one plain
 * SELECT rowid and the sealed columns per table, each BLOB value decrypted
 * with its associated data "haven-v2 TABLE.COLUMN#ROWID" into one reused
 * buffer (placeholders {} and [] are text and skipped, as the engine
 * does).  raw_verify is the two together: the same checks as `audit
 * verify`, each done the plainest way, side by side on two threads (each
 * with a connection of its own), as `audit verify` runs them on a SQLite
 * file: its time is the wall time of both.
 *
 * What all of them leave out, which `audit verify` also does and which
 * costs little: the chain's two starts and the anchor in meta, the check
 * that the tail was not cut (sqlite_sequence), the clock setting, and the
 * checkpoints file (a lookup per line, 2,524 lines at 100k cases, and two
 * Ed25519 signatures).
 *
 * Chains older than schema 10 (unkeyed entries before the anchor) are not
 * handled: the caseloads `haven gen` makes are keyed from entry 1.
 */
#include "verify_raw.h"

#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *path)
{
    fprintf(stderr, "verify_raw: %s: %s\n", path, what);
    exit(1);
}

/* The data key of db (path) from the key file and meta, as the engine
 * reads them (crypto.c get_kek and hv__keys_load, key file mode only). */
static void data_key(sqlite3 *db, const char *path, unsigned char key[32])
{
    char kpath[4200], hex[80];
    unsigned char kek[32], blob[256];
    size_t n, len = 0;
    const char *env = getenv("HAVEN_KEY_FILE");
    if (env && *env)
        snprintf(kpath, sizeof kpath, "%s", env);
    else
        snprintf(kpath, sizeof kpath, "%s.key", path);
    FILE *f = fopen(kpath, "r");
    if (!f)
        die("no key file", kpath);
    n = fread(hex, 1, sizeof hex - 1, f);
    fclose(f);
    hex[n] = '\0';
    if (sodium_hex2bin(kek, 32, hex, n, " \n", &len, NULL) != 0 || len != 32)
        die("not a key file", kpath);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'data_key'",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        die("no data key in meta", path);
    const char *w = (const char *)sqlite3_column_text(st, 0);
    if (sodium_hex2bin(blob, sizeof blob, w, strlen(w), NULL, &len, NULL) != 0 ||
        len != crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + 32 ||
        crypto_secretbox_open_easy(key, blob + crypto_secretbox_NONCEBYTES,
                                   len - crypto_secretbox_NONCEBYTES, blob,
                                   kek) != 0)
        die("the key file does not open the data key", path);
    sqlite3_finalize(st);
}

/* A read-only connection to path as the engine sets one up for reading
 * (cache_size -8192). */
static sqlite3 *open_db(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        die("cannot open", path);
    sqlite3_exec(db, "PRAGMA cache_size=-8192", NULL, NULL, NULL);
    return db;
}

static size_t put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
    return 8;
}

/* Hashes column c of st as text with its NUL, or 0xff for NULL. */
static long put_text(crypto_generichash_state *h, sqlite3_stmt *st, int c)
{
    static const unsigned char none = 0xff;
    const unsigned char *t = sqlite3_column_text(st, c);
    if (!t) {
        crypto_generichash_update(h, &none, 1);
        return 1;
    }
    long n = sqlite3_column_bytes(st, c) + 1;
    crypto_generichash_update(h, t, (unsigned long long)n);
    return n;
}

double raw_verify_chain(const char *db_path, long *bytes)
{
    unsigned char dkey[32], ckey[32], last[32] = {0}, calc[32];
    static const unsigned char none = 0xff, some = 0x01;
    long hashed = 0;
    if (sodium_init() < 0)
        die("libsodium failed to start", db_path);
    double t0 = now_sec();
    sqlite3 *db = open_db(db_path);
    data_key(db, db_path, dkey);
    crypto_generichash(ckey, sizeof ckey, (const unsigned char *)"haven-audit-chain",
                       17, dkey, sizeof dkey);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT seq, at, actor, case_id, kind, data, decision,"
                           " prev_hash, hash, os_uid, os_login, digest FROM events"
                           " ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK)
        die(sqlite3_errmsg(db), db_path);
    int first = 1, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        crypto_generichash_state h;
        unsigned char head[15 + 32 + 16], *p = head;
        memcpy(p, "haven-audit-v2", 15);
        p += 15;
        memcpy(p, last, 32);
        p += 32;
        p += put_u64(p, (uint64_t)sqlite3_column_int64(st, 0));
        p += put_u64(p, (uint64_t)sqlite3_column_int64(st, 1));
        crypto_generichash_init(&h, ckey, sizeof ckey, 32);
        crypto_generichash_update(&h, head, (unsigned long long)(p - head));
        hashed += p - head;
        hashed += put_text(&h, st, 2);
        hashed += put_u64(head, (uint64_t)sqlite3_column_int64(st, 3));
        crypto_generichash_update(&h, head, 8);
        hashed += put_text(&h, st, 4) + put_text(&h, st, 5) + put_text(&h, st, 6);
        hashed += put_u64(head, sqlite3_column_type(st, 9) == SQLITE_NULL
                                    ? (uint64_t)-1
                                    : (uint64_t)sqlite3_column_int64(st, 9));
        crypto_generichash_update(&h, head, 8);
        hashed += put_text(&h, st, 10);
        if (sqlite3_column_bytes(st, 11) == 32) {
            crypto_generichash_update(&h, &some, 1);
            crypto_generichash_update(&h, sqlite3_column_blob(st, 11), 32);
            hashed += 33;
        } else {
            crypto_generichash_update(&h, &none, 1);
            hashed += 1;
        }
        crypto_generichash_final(&h, calc, 32);
        int prev_ok = first ? sqlite3_column_bytes(st, 7) == 0
                            : sqlite3_column_bytes(st, 7) == 32 &&
                                  !memcmp(sqlite3_column_blob(st, 7), last, 32);
        if (!prev_ok || sqlite3_column_bytes(st, 8) != 32 ||
            memcmp(sqlite3_column_blob(st, 8), calc, 32) != 0)
            die("an entry does not match its hash (not a keyed chain?)", db_path);
        memcpy(last, calc, 32);
        first = 0;
    }
    if (rc != SQLITE_DONE)
        die(sqlite3_errmsg(db), db_path);
    sqlite3_finalize(st);
    sqlite3_close(db);
    sodium_memzero(dkey, sizeof dkey);
    sodium_memzero(ckey, sizeof ckey);
    if (bytes)
        *bytes = hashed;
    return now_sec() - t0;
}

/* The sealed columns (engine/sealed.c's list), by table. */
static const char *const sealed[][5] = {
    {"cases", "location", "form", "transferred_to", NULL},
    {"persons", "name", "birth_date", "details", NULL},
    {"notes", "text", NULL},
    {"consents", "withdrawn_reason", NULL},
    {"assessments", "data", NULL},
    {"plans", "goal", "indicators", "addresses", "decision_reason"},
    {"plan_actions", "title", "provider", "status_reason", NULL},
    {"referrals", "provider", "outcome", "consent_override_reason", NULL},
    {"conferences", "participants", "decisions", NULL},
    {"followups", "notes", NULL},
    {"reviews", "notes", NULL},
    {"evaluations", "data", NULL},
    {"approvals", "reason", NULL},
    {"sync_conflicts", "entries", NULL},
    {"devices", "key_sealed", NULL},
    {"sync_outbox", "input", NULL},
};

/* Opens column c of st's row (table t, column name col, row id) into
 * *plain (grown as needed); counts its bytes into *bytes. */
static void open_value(sqlite3_stmt *st, int c, const char *t, const char *col,
                       const unsigned char key[32], unsigned char **plain,
                       size_t *cap, long *bytes, const char *path)
{
    char ad[112];
    size_t head = 3 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    if (sqlite3_column_type(st, c) != SQLITE_BLOB)
        return; /* NULL, or a placeholder ({} or []) */
    const unsigned char *in = sqlite3_column_blob(st, c);
    size_t n = (size_t)sqlite3_column_bytes(st, c);
    if (n < head + crypto_aead_xchacha20poly1305_ietf_ABYTES ||
        memcmp(in, "HV2", 3) != 0)
        die("a sealed value is not in the bound format", path);
    if (n > *cap) {
        *cap = n * 2;
        free(*plain);
        if (!(*plain = malloc(*cap)))
            die("out of memory", path);
    }
    int adlen = snprintf(ad, sizeof ad, "haven-v2 %s.%s#%lld", t, col,
                         (long long)sqlite3_column_int64(st, 0));
    unsigned long long mlen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            *plain, &mlen, NULL, in + head, n - head, (const unsigned char *)ad,
            (unsigned long long)adlen, in + 3, key) != 0)
        die("a sealed value does not open", path);
    *bytes += (long)n;
}

double raw_verify_seals(const char *db_path, long *bytes)
{
    unsigned char dkey[32];
    unsigned char *plain = NULL;
    size_t cap = 0;
    long opened = 0;
    if (sodium_init() < 0)
        die("libsodium failed to start", db_path);
    double t0 = now_sec();
    sqlite3 *db = open_db(db_path);
    data_key(db, db_path, dkey);
    /* one scan of each table, its sealed columns together */
    for (size_t t = 0; t < sizeof sealed / sizeof sealed[0]; t++) {
        char sql[256];
        int used = snprintf(sql, sizeof sql, "SELECT rowid");
        for (int c = 1; c < 5 && sealed[t][c]; c++)
            used += snprintf(sql + used, sizeof sql - (size_t)used, ", %s",
                             sealed[t][c]);
        snprintf(sql + used, sizeof sql - (size_t)used, " FROM %s", sealed[t][0]);
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
            continue; /* a table this database does not have */
        while (sqlite3_step(st) == SQLITE_ROW)
            for (int c = 1; c < 5 && sealed[t][c]; c++)
                open_value(st, c, sealed[t][0], sealed[t][c], dkey, &plain, &cap,
                           &opened, db_path);
        sqlite3_finalize(st);
    }
    if (plain)
        sodium_memzero(plain, cap);
    free(plain);
    sqlite3_close(db);
    sodium_memzero(dkey, sizeof dkey);
    if (bytes)
        *bytes = opened;
    return now_sec() - t0;
}

/* raw_verify_seals on a thread of its own (its own connection). */
typedef struct {
    const char *db_path;
    long opened;
} seals_arg;

static void *seals_thread(void *p)
{
    seals_arg *a = p;
    raw_verify_seals(a->db_path, &a->opened);
    return NULL;
}

double raw_verify(const char *db_path, long *bytes)
{
    long hashed = 0;
    seals_arg a = {db_path, 0};
    pthread_t th;
    double t0 = now_sec();
    /* the two jobs side by side on two cores, as the engine does them */
    if (pthread_create(&th, NULL, seals_thread, &a) != 0)
        die("cannot start a thread", db_path);
    raw_verify_chain(db_path, &hashed);
    pthread_join(th, NULL);
    double t = now_sec() - t0;
    if (bytes)
        *bytes = hashed + a.opened;
    return t;
}
