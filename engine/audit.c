/*
 * audit.c - the tamper-evident audit trail: the events form a hash chain
 * (BLAKE2b-256 from libsodium over the previous hash and the entry), which
 * `audit verify` walks; a signed checkpoint (Ed25519, key kept beside the
 * database, outside it) detects a database restored to an older state or
 * rewritten after the checkpoint.
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "engine.h"
#include "error.h"
#include "events.h"
#include "store.h"
#include "access.h"
#include "context.h"
#include "sealcheck.h"

/* Where the chain starts (meta audit_chain_from; 1 when absent). */
static hv_status chain_start(hv_engine *e, int64_t *from)
{
    sqlite3_stmt *st = NULL;
    *from = 1;
    hv_status s = hv__store_prepare(e, "SELECT value FROM meta WHERE key ="
                                       " 'audit_chain_from'", &st);
    if (s)
        return s;
    if (sqlite3_step(st) == SQLITE_ROW)
        *from = sqlite3_column_int64(st, 0);
    hv__store_finalize(e, st);
    if (*from < 1)
        *from = 1;
    return HV_OK;
}

/* Walks the chain.  On the first problem returns HV_INVALID with a message
 * naming the entry.  out: *entries checked, *legacy entries before the
 * chain (written by versions without it), the head seq and hash. */
static hv_status walk(hv_engine *e, int64_t *entries, int64_t *legacy,
                      int64_t *head_seq, unsigned char head[HV_AUDIT_HASH_BYTES])
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    unsigned char last[HV_AUDIT_HASH_BYTES], calc[HV_AUDIT_HASH_BYTES];
    int have_last = 0;
    int64_t from, expect_seq;
    *entries = *legacy = *head_seq = 0;
    if ((s = chain_start(e, &from)))
        return s;
    expect_seq = from;
    if ((s = hv__store_prepare(e,
                               "SELECT seq, at, actor, case_id, kind, data,"
                               " decision, prev_hash, hash FROM events ORDER BY"
                               " seq",
                               &st)))
        return s;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        const void *prev = sqlite3_column_blob(st, 7);
        int prev_len = sqlite3_column_bytes(st, 7);
        const void *hash = sqlite3_column_blob(st, 8);
        int hash_len = sqlite3_column_bytes(st, 8);
        if (seq < from) {
            /* written before the chain existed: never hashed */
            if (hash_len != 0) {
                s = hv__fail(e, HV_INVALID, "audit verify: entry %lld is "
                                            "before the chain's start but "
                                            "hashed: the start was moved",
                             (long long)seq);
                goto done;
            }
            (*legacy)++;
            continue;
        }
        if (seq != expect_seq) {
            s = hv__fail(e, HV_INVALID,
                         "audit verify: entry %lld is missing (the chain goes "
                         "from %lld to %lld): deleted or reordered",
                         (long long)expect_seq, (long long)expect_seq - 1,
                         (long long)seq);
            goto done;
        }
        if (hash_len != HV_AUDIT_HASH_BYTES) {
            s = hv__fail(e, HV_INVALID, "audit verify: entry %lld has no hash "
                                        "(its hash was removed)",
                         (long long)seq);
            goto done;
        }
        /* The first chained entry follows nothing; each later one follows
         * the entry before it. */
        if (have_last ? (prev_len != HV_AUDIT_HASH_BYTES ||
                         memcmp(prev, last, HV_AUDIT_HASH_BYTES) != 0)
                      : prev_len != 0) {
            s = hv__fail(e, HV_INVALID,
                         "audit verify: entry %lld does not follow entry %lld "
                         "(inserted, reordered or an earlier entry replaced)",
                         (long long)seq, (long long)seq - 1);
            goto done;
        }
        hv__audit_hash(have_last ? last : NULL, seq, sqlite3_column_int64(st, 1),
                       (const char *)sqlite3_column_text(st, 2),
                       sqlite3_column_int64(st, 3),
                       (const char *)sqlite3_column_text(st, 4),
                       (const char *)sqlite3_column_text(st, 5),
                       (const char *)sqlite3_column_text(st, 6), calc);
        if (memcmp(calc, hash, HV_AUDIT_HASH_BYTES) != 0) {
            s = hv__fail(e, HV_INVALID,
                         "audit verify: entry %lld was changed (its hash does "
                         "not match its content)",
                         (long long)seq);
            goto done;
        }
        memcpy(last, hash, HV_AUDIT_HASH_BYTES);
        have_last = 1;
        expect_seq = seq + 1;
        *head_seq = seq;
        (*entries)++;
    }
    if (rc != SQLITE_DONE) {
        s = hv__sql_fail(e, rc, "reading the audit chain");
        goto done;
    }
    hv__store_finalize(e, st);
    st = NULL;
    /* A truncated tail: SQLite remembers the highest sequence ever used. */
    int64_t highest = 0;
    if ((s = hv__store_prepare(e, "SELECT seq FROM sqlite_sequence WHERE name ="
                                  " 'events'", &st)))
        return s;
    if (sqlite3_step(st) == SQLITE_ROW)
        highest = sqlite3_column_int64(st, 0);
    int64_t last_seq = have_last ? *head_seq : from - 1;
    if (highest > last_seq) {
        s = hv__fail(e, HV_INVALID,
                     "audit verify: entries after %lld are missing (the log "
                     "went up to %lld): the tail was cut",
                     (long long)last_seq, (long long)highest);
        goto done;
    }
    if (have_last)
        memcpy(head, last, HV_AUDIT_HASH_BYTES);
done:
    hv__store_finalize(e, st);
    return s;
}

/* The start of a public call that walks the chain (verify, checkpoint):
 * clears the message and *out_json, starts libsodium and walks (see walk
 * for the out-parameters). */
static hv_status start_walk(hv_engine *e, char **out_json, int64_t *entries,
                            int64_t *legacy, int64_t *head_seq,
                            unsigned char head[HV_AUDIT_HASH_BYTES])
{
    *out_json = NULL;
    hv__clear_error(e);
    if (sodium_init() < 0)
        return hv__fail(e, HV_INTERNAL, "libsodium failed to start");
    return walk(e, entries, legacy, head_seq, head);
}

/* The key file beside the database: "<db>.audit-key". */
static void key_path(const hv_engine *e, char *buf, size_t size)
{
    snprintf(buf, size, "%s.audit-key", e->path);
}

/* Loads the signing key, creating it (0600) when asked and missing. */
static hv_status load_key(hv_engine *e, int create,
                          unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                          unsigned char sk[crypto_sign_SECRETKEYBYTES])
{
    char path[4200], hex[2 * crypto_sign_SECRETKEYBYTES + 2];
    key_path(e, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f && create) {
        crypto_sign_keypair(pk, sk);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0)
            return hv__fail(e, HV_CANTCREATE, "%s: cannot create: %s", path,
                            strerror(errno));
        sodium_bin2hex(hex, sizeof hex, sk, crypto_sign_SECRETKEYBYTES);
        ssize_t n = write(fd, hex, strlen(hex));
        close(fd);
        return n > 0 ? HV_OK : hv__fail(e, HV_IOERR, "%s: cannot write", path);
    }
    if (!f)
        return hv__fail(e, HV_NOINPUT, "%s: no audit key (it is made at init)",
                        path);
    size_t n = fread(hex, 1, sizeof hex - 1, f);
    fclose(f);
    hex[n] = '\0';
    size_t len = 0;
    if (sodium_hex2bin(sk, crypto_sign_SECRETKEYBYTES, hex, n, " \n", &len, NULL) != 0 ||
        len != crypto_sign_SECRETKEYBYTES)
        return hv__fail(e, HV_INVALID, "%s: not an audit key", path);
    crypto_sign_ed25519_sk_to_pk(pk, sk);
    return HV_OK;
}

hv_status hv__audit_make_key(hv_engine *e)
{
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    char path[4200];
    key_path(e, path, sizeof path);
    if (access(path, F_OK) == 0)
        return HV_OK;
    hv_status s = load_key(e, 1, pk, sk);
    sodium_memzero(sk, sizeof sk);
    return s;
}

/* The signed statement of a head: "haven-audit-v1 SEQ HASHHEX AT". */
static void statement(int64_t seq, const char *hash_hex, int64_t at, char *buf,
                      size_t size)
{
    snprintf(buf, size, "haven-audit-v1 %lld %s %lld", (long long)seq, hash_hex,
             (long long)at);
}

HV_API hv_status hv_audit_verify(hv_engine *e, const char *checkpoint_json,
                                 char **out_json)
{
    int64_t entries, legacy, head_seq;
    unsigned char head[HV_AUDIT_HASH_BYTES] = {0};
    char head_hex[2 * HV_AUDIT_HASH_BYTES + 1];
    hv_status s;
    if ((s = start_walk(e, out_json, &entries, &legacy, &head_seq, head)) ||
        (s = hv__seals_check(e)))
        return s;
    sodium_bin2hex(head_hex, sizeof head_hex, head, sizeof head);
    if (checkpoint_json) {
        json_t *cp = json_loads(checkpoint_json, 0, NULL);
        const char *hash = json_string_value(json_object_get(cp, "hash"));
        const char *sig = json_string_value(json_object_get(cp, "signature"));
        json_int_t seq = json_integer_value(json_object_get(cp, "seq"));
        json_int_t at = json_integer_value(json_object_get(cp, "at_seconds"));
        unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
        unsigned char sigbin[crypto_sign_BYTES];
        char text[256];
        size_t len = 0;
        if (!hash || !sig || seq <= 0 ||
            sodium_hex2bin(sigbin, sizeof sigbin, sig, strlen(sig), NULL, &len,
                           NULL) != 0 ||
            len != sizeof sigbin) {
            json_decref(cp);
            return hv__fail(e, HV_INVALID, "audit verify: the checkpoint is "
                                           "not a haven checkpoint");
        }
        if ((s = load_key(e, 0, pk, sk))) {
            json_decref(cp);
            return s;
        }
        sodium_memzero(sk, sizeof sk);
        statement(seq, hash, at, text, sizeof text);
        if (crypto_sign_verify_detached(sigbin, (const unsigned char *)text,
                                        strlen(text), pk) != 0) {
            json_decref(cp);
            return hv__fail(e, HV_INVALID, "audit verify: the checkpoint's "
                                           "signature is not valid for this "
                                           "database's key");
        }
        if (seq > head_seq) {
            json_decref(cp);
            return hv__fail(e, HV_INVALID,
                            "audit verify: the database ends at entry %lld but "
                            "the checkpoint saw entry %lld: it was restored to "
                            "an older state",
                            (long long)head_seq, (long long)seq);
        }
        sqlite3_stmt *st = NULL;
        if ((s = hv__store_prepare(e, "SELECT hex(hash) FROM events WHERE seq = ?1",
                                   &st))) {
            json_decref(cp);
            return s;
        }
        sqlite3_bind_int64(st, 1, seq);
        int same = sqlite3_step(st) == SQLITE_ROW &&
                   strcasecmp((const char *)sqlite3_column_text(st, 0), hash) == 0;
        hv__store_finalize(e, st);
        json_decref(cp);
        if (!same)
            return hv__fail(e, HV_INVALID,
                            "audit verify: entry %lld differs from the "
                            "checkpoint: the log was rewritten after it",
                            (long long)seq);
    }
    json_t *r = json_pack("{s:b,s:I,s:I,s:I,s:s,s:b}", "ok", 1, "entries",
                          (json_int_t)entries, "legacy_entries",
                          (json_int_t)legacy, "head_seq", (json_int_t)head_seq,
                          "head_hash", head_hex, "checkpoint", checkpoint_json != NULL);
    s = hv__json_out(e, r, out_json);
    json_decref(r);
    return s;
}

HV_API hv_status hv_audit_checkpoint(hv_engine *e, char **out_json)
{
    int64_t entries, legacy, head_seq;
    unsigned char head[HV_AUDIT_HASH_BYTES] = {0};
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    unsigned char sig[crypto_sign_BYTES];
    char head_hex[2 * HV_AUDIT_HASH_BYTES + 1], sig_hex[2 * crypto_sign_BYTES + 1];
    char pk_hex[2 * crypto_sign_PUBLICKEYBYTES + 1], text[256], at_iso[32];
    hv_status s;
    if ((s = start_walk(e, out_json, &entries, &legacy, &head_seq, head)))
        return s;
    if ((s = load_key(e, 0, pk, sk)))
        return s;
    sodium_bin2hex(head_hex, sizeof head_hex, head, sizeof head);
    for (char *p = head_hex; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    hv_time at = hv_now(e);
    statement(head_seq, head_hex, at, text, sizeof text);
    crypto_sign_detached(sig, NULL, (const unsigned char *)text, strlen(text), sk);
    sodium_memzero(sk, sizeof sk);
    sodium_bin2hex(sig_hex, sizeof sig_hex, sig, sizeof sig);
    sodium_bin2hex(pk_hex, sizeof pk_hex, pk, sizeof pk);
    hv_time_format(at, at_iso, sizeof at_iso);
    json_t *r = json_pack("{s:s,s:I,s:s,s:s,s:I,s:s,s:s}", "format", "haven-audit-v1",
                          "seq", (json_int_t)head_seq, "hash", head_hex, "at",
                          at_iso, "at_seconds", (json_int_t)at, "public_key",
                          pk_hex, "signature", sig_hex);
    s = hv__json_out(e, r, out_json);
    json_decref(r);
    return s;
}

HV_API hv_status hv_audit_log(hv_engine *e, const char *ref, const char *user,
                              hv_time since, char **out_json)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    char role[32];
    *out_json = NULL;
    hv__clear_error(e);
    if ((s = hv__require_role(e, "supervisor manager administrator",
                              "audit log: for supervisors, managers and "
                              "administrators", role, sizeof role)))
        return s;
    int64_t case_id = 0, me = 0;
    int supervisor = !strcmp(role, "supervisor");
    if (supervisor && (s = hv__actor(e, &me, role, sizeof role)))
        return s;
    /* A supervisor reads the log of their team's cases only. */
    if (ref && !strcmp(role, "supervisor") &&
        (s = hv__case_access(e, ref, "audit log", 0, &case_id, NULL)))
        return s;
    if (ref && !case_id && (s = hv__store_case_lookup(e, ref, &case_id, NULL)))
        return s;
    if ((s = hv__store_preparef(
             e, &st,
             "SELECT v.seq, v.at, v.actor, coalesce(json_extract("
             "v.data, '$.by_role'), u.role), c.ref, v.kind,"
             " json_extract(v.data, '$.purpose') FROM events v"
             " LEFT JOIN cases c ON c.id = v.case_id LEFT JOIN users u ON u.login ="
             " v.actor WHERE (?1 = 0 OR v.case_id = ?1) AND"
             " (?2 IS NULL OR v.actor = ?2) AND v.at >= ?3"
             /* a supervisor: only events of cases in their team's hands */
             " AND (?4 = 0 OR c.assignee_id IN (SELECT id FROM users WHERE"
             " id = ?4 OR supervisor_id = ?4))"
             " ORDER BY v.seq",
             "itii", case_id, user, since, supervisor ? me : (int64_t)0)))
        return s;
    json_t *arr = json_array();
    int rc = SQLITE_DONE;
    while (arr && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        char at[32];
        hv_time_format(sqlite3_column_int64(st, 1), at, sizeof at);
        json_t *row = json_pack("{s:I,s:s,s:s,s:s?,s:s?,s:s,s:s?}", "seq",
                                (json_int_t)sqlite3_column_int64(st, 0), "at", at,
                                "user", sqlite3_column_text(st, 2), "role",
                                (const char *)sqlite3_column_text(st, 3), "ref",
                                (const char *)sqlite3_column_text(st, 4), "action",
                                sqlite3_column_text(st, 5), "purpose",
                                (const char *)sqlite3_column_text(st, 6));
        if (!row || json_array_append_new(arr, row)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    hv__store_finalize(e, st);
    s = arr && rc != SQLITE_DONE ? hv__sql_fail(e, rc, "reading the audit log")
                                 : hv__json_out(e, arr, out_json);
    json_decref(arr);
    return s;
}
