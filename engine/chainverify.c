/* chainverify.c - checking the keyed audit chain, its anchor, the signed
 * checkpoints beside the database and (--deep) every case's rows. */
#include "chainverify.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "checkpoint.h"
#include "core.h"
#include "digest.h"
#include "error.h"
#include "events.h"
#include "store.h"

/* The chain's two starts from meta.  HV_INVALID when the keyed start is
 * not recorded or lies before the chain's. */
static hv_status chain_starts(hv_engine *e, hv_chain_state *cs)
{
    hv_status s;
    if ((s = hv__store_query_int(e, "reading the audit chain",
                                 "SELECT value FROM meta WHERE key ="
                                 " 'audit_chain_from'",
                                 1, &cs->chain_from, "")) ||
        (s = hv__store_query_int(e, "reading the audit chain",
                                 "SELECT value FROM meta WHERE key ="
                                 " 'audit_chain_keyed_from'",
                                 0, &cs->keyed_from, "")))
        return s;
    if (cs->chain_from < 1)
        cs->chain_from = 1;
    if (cs->keyed_from < 1)
        return hv__fail(e, HV_INVALID, "audit verify: the start of the keyed "
                                       "chain is not recorded (meta "
                                       "audit_chain_keyed_from was removed)");
    if (cs->keyed_from < cs->chain_from)
        return hv__fail(e, HV_INVALID, "audit verify: the chain's start was "
                                       "moved (audit_chain_from %lld is past "
                                       "the keyed start %lld)",
                        (long long)cs->chain_from, (long long)cs->keyed_from);
    return HV_OK;
}

/* Checks that entry cs->keyed_from (kind, data), whose hash matched, is
 * the anchor: the first entry of a new database, or migration 10's
 * audit_chain_anchored stating where the old chain started and the
 * digest of every entry before it. */
static hv_status check_anchor(hv_engine *e, const hv_chain_state *cs,
                              const char *kind, const char *data)
{
    long long k = (long long)cs->keyed_from;
    if (kind && !strcmp(kind, "initialised") && cs->keyed_from == 1 &&
        cs->chain_from == 1)
        return HV_OK;
    if (!kind || strcmp(kind, "audit_chain_anchored"))
        return hv__fail(e, HV_INVALID, "audit verify: entry %lld is not the "
                                       "start of the keyed chain: the start "
                                       "was moved", k);
    unsigned char digest[HV_AUDIT_HASH_BYTES];
    char hex[2 * HV_AUDIT_HASH_BYTES + 1];
    int64_t prior = 0;
    hv_status s = hv__chain_prior_digest(e, cs->keyed_from, &prior, digest);
    if (s)
        return s;
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    json_t *d = json_loads(data ? data : "", 0, NULL);
    const char *want = json_string_value(json_object_get(d, "prior_digest"));
    int ok = json_integer_value(json_object_get(d, "chain_from")) == cs->chain_from &&
             json_integer_value(json_object_get(d, "prior_entries")) == prior &&
             want && !strcmp(want, hex);
    json_decref(d);
    if (!ok)
        return hv__fail(e, HV_INVALID, "audit verify: the entries before the "
                                       "anchor (entry %lld) were changed, "
                                       "removed or added, or the chain's "
                                       "start was moved", k);
    return HV_OK;
}

/* Feeds column c of st into h as text with its NUL (NULL: the byte 0xff),
 * hashed in place from SQLite's row (as hv__hash_text: the engine binds
 * no text with a NUL inside, so its length is SQLite's; a NUL planted
 * inside one is hashed too, and caught). */
static void feed_text(crypto_generichash_state *h, sqlite3_stmt *st, int c)
{
    static const unsigned char none = 0xff;
    const unsigned char *t = sqlite3_column_text(st, c);
    if (t)
        crypto_generichash_update(h, t, (unsigned long long)sqlite3_column_bytes(st, c) + 1);
    else
        crypto_generichash_update(h, &none, 1);
}

/* Puts v little-endian at p (8 bytes). */
static unsigned char *put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
    return p + 8;
}

/* The keyed hash of the walk's current row of st (columns as
 * hv__chain_walk selects them) following prev (NULL: none) into out:
 * hv__audit_hash_keyed's bytes (events.h), the short fields gathered into
 * one buffer, the texts hashed in place. */
static void entry_hash(const unsigned char key[32], const unsigned char *prev,
                       sqlite3_stmt *st, unsigned char out[HV_AUDIT_HASH_BYTES])
{
    static const unsigned char genesis[HV_AUDIT_HASH_BYTES] = {0};
    crypto_generichash_state h;
    unsigned char head[15 + HV_AUDIT_HASH_BYTES + 16], mid[8],
        tail[8 + 1 + HV_AUDIT_HASH_BYTES], *p = head;
    memcpy(p, "haven-audit-v2", 15);
    memcpy(p + 15, prev ? prev : genesis, HV_AUDIT_HASH_BYTES);
    p = put_u64(p + 15 + HV_AUDIT_HASH_BYTES, (uint64_t)sqlite3_column_int64(st, 0));
    put_u64(p, (uint64_t)sqlite3_column_int64(st, 1));
    crypto_generichash_init(&h, key, 32, HV_AUDIT_HASH_BYTES);
    crypto_generichash_update(&h, head, sizeof head);
    feed_text(&h, st, 2); /* actor */
    put_u64(mid, (uint64_t)sqlite3_column_int64(st, 3)); /* case_id */
    crypto_generichash_update(&h, mid, sizeof mid);
    feed_text(&h, st, 4); /* kind */
    feed_text(&h, st, 5); /* data */
    feed_text(&h, st, 6); /* decision */
    put_u64(mid, sqlite3_column_type(st, 9) == SQLITE_NULL
                     ? (uint64_t)-1 : (uint64_t)sqlite3_column_int64(st, 9));
    crypto_generichash_update(&h, mid, sizeof mid);
    feed_text(&h, st, 10); /* os_login */
    size_t n = 1;
    tail[0] = 0xff;
    if (sqlite3_column_bytes(st, 11) == HV_AUDIT_HASH_BYTES) {
        tail[0] = 0x01;
        memcpy(tail + 1, sqlite3_column_blob(st, 11), HV_AUDIT_HASH_BYTES);
        n += HV_AUDIT_HASH_BYTES;
    }
    crypto_generichash_update(&h, tail, n);
    crypto_generichash_final(&h, out, HV_AUDIT_HASH_BYTES);
}

/* Checks one chained entry (the walk's current row of st, whose hash
 * follows last when have_last) against its link and hash.  out: hash. */
static hv_status check_entry(hv_engine *e, const hv_chain_state *cs,
                             sqlite3_stmt *st, const unsigned char *last,
                             int have_last, unsigned char *hash_out)
{
    int64_t seq = sqlite3_column_int64(st, 0);
    const void *prev = sqlite3_column_blob(st, 7);
    int prev_len = sqlite3_column_bytes(st, 7);
    const void *hash = sqlite3_column_blob(st, 8);
    unsigned char calc[HV_AUDIT_HASH_BYTES];
    if (sqlite3_column_bytes(st, 8) != HV_AUDIT_HASH_BYTES)
        return hv__fail(e, HV_INVALID, "audit verify: entry %lld has no hash "
                                       "(its hash was removed)", (long long)seq);
    /* The first chained entry follows nothing; each later one follows
     * the entry before it. */
    if (have_last ? (prev_len != HV_AUDIT_HASH_BYTES ||
                     memcmp(prev, last, HV_AUDIT_HASH_BYTES) != 0)
                  : prev_len != 0)
        return hv__fail(e, HV_INVALID,
                        "audit verify: entry %lld does not follow entry %lld "
                        "(inserted, reordered or an earlier entry replaced)",
                        (long long)seq, (long long)seq - 1);
    if (seq < cs->keyed_from)
        hv__audit_hash(have_last ? last : NULL, seq, sqlite3_column_int64(st, 1),
                       (const char *)sqlite3_column_text(st, 2),
                       sqlite3_column_int64(st, 3),
                       (const char *)sqlite3_column_text(st, 4),
                       (const char *)sqlite3_column_text(st, 5),
                       (const char *)sqlite3_column_text(st, 6), calc);
    else
        entry_hash(e->chain_key, have_last ? last : NULL, st, calc);
    if (memcmp(calc, hash, HV_AUDIT_HASH_BYTES) != 0)
        return hv__fail(e, HV_INVALID, "audit verify: entry %lld was changed "
                                       "(its hash does not match its content)",
                        (long long)seq);
    memcpy(hash_out, hash, HV_AUDIT_HASH_BYTES);
    if (seq == cs->keyed_from)
        return check_anchor(e, cs, (const char *)sqlite3_column_text(st, 4),
                            (const char *)sqlite3_column_text(st, 5));
    return HV_OK;
}

/* After the rows: the anchor must have been seen, and no tail cut
 * (SQLite remembers the highest sequence ever used). */
static hv_status check_end(hv_engine *e, const hv_chain_state *cs)
{
    int64_t highest = 0;
    hv_status s;
    if (cs->head_seq < cs->keyed_from)
        return hv__fail(e, HV_INVALID,
                        "audit verify: entry %lld, the start of the keyed "
                        "chain, is missing (the log ends at entry %lld): "
                        "entries were deleted or the start was moved",
                        (long long)cs->keyed_from, (long long)cs->head_seq);
    if ((s = hv__store_query_int(e, "reading the audit chain",
                                 "SELECT seq FROM sqlite_sequence WHERE name ="
                                 " 'events'", 0, &highest, "")))
        return s;
    if (highest > cs->head_seq)
        return hv__fail(e, HV_INVALID,
                        "audit verify: entries after %lld are missing (the log "
                        "went up to %lld): the tail was cut",
                        (long long)cs->head_seq, (long long)highest);
    return HV_OK;
}

hv_status hv__chain_walk(hv_engine *e, hv_chain_state *cs)
{
    sqlite3_stmt *st = NULL;
    unsigned char last[HV_AUDIT_HASH_BYTES];
    int have_last = 0;
    hv_status s;
    memset(cs, 0, sizeof *cs);
    if ((s = chain_starts(e, cs)))
        return s;
    if (!e->have_chain_key)
        return hv__fail(e, HV_DENIED, "audit verify: the audit chain key is "
                                      "not available here (the key file "
                                      "%s.key, $HAVEN_KEY_FILE or "
                                      "$HAVEN_PASSPHRASE): the chain cannot be "
                                      "checked without it",
                        e->path);
    int64_t expect_seq = cs->chain_from;
    if ((s = hv__store_prepare(e,
                               "SELECT seq, at, actor, case_id, kind, data,"
                               " decision, prev_hash, hash, os_uid, os_login,"
                               " digest FROM events ORDER BY seq",
                               &st)))
        return s;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        if (seq < cs->chain_from) {
            /* written before the chain existed: never hashed */
            if (sqlite3_column_bytes(st, 8) != 0) {
                s = hv__fail(e, HV_INVALID, "audit verify: entry %lld is "
                                            "before the chain's start but "
                                            "hashed: the start was moved",
                             (long long)seq);
                goto done;
            }
            cs->legacy++;
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
        if ((s = check_entry(e, cs, st, last, have_last, last)))
            goto done;
        have_last = 1;
        expect_seq = seq + 1;
        cs->head_seq = seq;
        cs->entries++;
    }
    if (rc != SQLITE_DONE) {
        s = hv__sql_fail(e, rc, "reading the audit chain");
        goto done;
    }
    hv__store_finalize(e, st);
    st = NULL;
    if ((s = check_end(e, cs)))
        goto done;
    memcpy(cs->head, last, HV_AUDIT_HASH_BYTES);
done:
    hv__store_finalize(e, st);
    return s;
}

/* One line of the checkpoints file, read. */
typedef struct {
    int64_t line, seq, at;
    char hash[HV_CHECKPOINT_HASH_HEX], sig[HV_CHECKPOINT_SIG_HEX];
} checkpoint_line;

/* HV_INVALID unless cp is signed with the audit key (public key pk). */
static hv_status check_signature(hv_engine *e, const unsigned char *pk,
                                 const checkpoint_line *cp)
{
    if (hv__checkpoint_check(pk, cp->seq, cp->hash, cp->at, cp->sig) == 0)
        return HV_OK;
    return hv__fail(e, HV_INVALID, "audit verify: %s.checkpoints line %lld is "
                                   "not signed with this database's audit key "
                                   "(forged or damaged)",
                    e->path, (long long)cp->line);
}

/* Checks one checkpoint against the chain: the entry it saw must be
 * there with the hash it saw.  A line that does not match is named as a
 * forgery when its signature is bad, else as the chain's fault. */
static hv_status check_line(hv_engine *e, const hv_chain_state *cs,
                            const unsigned char *pk, const checkpoint_line *cp)
{
    char *hash = NULL;
    hv_status s = HV_OK;
    if ((s = hv__store_query_text(e, "reading the audit chain",
                                  "SELECT hex(hash) FROM events WHERE seq = ?1",
                                  &hash, "i", cp->seq)))
        return s;
    /* (an entry past the walk's head: committed by another process since) */
    int same = hash && strcasecmp(hash, cp->hash) == 0;
    hv__free(hash);
    if (same)
        return HV_OK;
    if ((s = check_signature(e, pk, cp)))
        return s;
    if (cp->seq > cs->head_seq)
        return hv__fail(e, HV_INVALID,
                        "audit verify: the database ends at entry %lld but "
                        "the checkpoint of line %lld saw entry %lld: entries "
                        "were removed or it was restored to an older state",
                        (long long)cs->head_seq, (long long)cp->line,
                        (long long)cp->seq);
    return hv__fail(e, HV_INVALID,
                    "audit verify: entry %lld differs from the checkpoint of "
                    "line %lld: the log was rewritten after it",
                    (long long)cp->seq, (long long)cp->line);
}

/* Checks the lines of the checkpoints file f (path) that end within its
 * first `limit` bytes against the chain cs (see hv__chain_verify). */
static hv_status check_checkpoints(hv_engine *e, hv_chain_state *cs, FILE *f,
                                   off_t limit, const char *path)
{
    unsigned char pk[32];
    checkpoint_line cp, top = {0}, last = {0};
    hv_status s = hv__audit_key_load(e, 0);
    if (s)
        return s;
    hv__audit_public_key(e, pk);
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    off_t used = 0;
    int64_t line = 0;
    while ((n = getline(&buf, &cap, f)) > 0) {
        line++;
        used += n;
        /* past the size read before the snapshot, or a last line torn by
         * a crash (never finished): not this verify's to check */
        if (used > limit || buf[n - 1] != '\n')
            break;
        memset(&cp, 0, sizeof cp);
        cp.line = line;
        if (hv__checkpoint_parse(buf, &cp.seq, cp.hash, &cp.at, cp.sig)) {
            s = hv__fail(e, HV_INVALID, "audit verify: %s line %lld is not a "
                                        "checkpoint", path, (long long)line);
            break;
        }
        if ((s = check_line(e, cs, pk, &cp)))
            break;
        if (cp.seq > top.seq)
            top = cp;
        last = cp;
        cs->checkpoints++;
    }
    free(buf);
    if (s)
        return s;
    if (!cs->checkpoints)
        return hv__fail(e, HV_INVALID, "audit verify: %s holds no checkpoint",
                        path);
    /* Lines that match could still have been written by whoever rewrote
     * the chain: the newest must carry the audit key's signature. */
    if ((s = check_signature(e, pk, &top)) || (s = check_signature(e, pk, &last)))
        return s;
    cs->checkpoint_seq = top.seq;
    return HV_OK;
}

/* The clock mode (meta `clock`: simulated, else live) against the one the
 * chained `initialised` event recorded: HV_INVALID naming both when
 * someone edited meta (a live database turned simulated takes --now).
 * An initialised event from before the field says nothing. */
static hv_status check_clock(hv_engine *e)
{
    char *meta = NULL, *born = NULL;
    int64_t seq = 0;
    hv_status s;
    if ((s = hv__store_query_text(e, "reading settings", "SELECT value FROM"
                                  " meta WHERE key = 'clock'", &meta, "")) ||
        (s = hv__store_query_int(e, "reading the audit chain", "SELECT min(seq)"
                                 " FROM events WHERE kind = 'initialised'",
                                 0, &seq, "")) ||
        (seq > 0 &&
         (s = hv__store_query_text(e, "reading the audit chain",
                                   "SELECT json_extract(data, '$.clock') FROM"
                                   " events WHERE seq = ?1 AND json_valid(data)",
                                   &born, "i", seq))))
        goto done;
    const char *now = meta && !strcmp(meta, "simulated") ? "simulated" : "live";
    if (born && strcmp(born, now))
        s = hv__fail(e, HV_INVALID, "audit verify: the database says its clock "
                                    "is %s (meta clock) but it was initialised "
                                    "%s (entry %lld): the setting was changed "
                                    "outside haven",
                     now, !strcmp(born, "simulated") ? "simulated" : "live",
                     (long long)seq);
done:
    hv__free(meta);
    hv__free(born);
    return s;
}

hv_status hv__chain_verify(hv_engine *e, hv_chain_state *cs, int file_optional,
                           json_t **deep)
{
    char path[4200];
    struct stat sb;
    hv_status s = HV_OK;
    memset(cs, 0, sizeof *cs);
    hv__checkpoints_path(e, path, sizeof path);
    FILE *f = fopen(path, "re");
    int missing = f ? 0 : errno;
    /* The file's size first, then one read snapshot of the database: every
     * line within that size was written after its change committed, so
     * the snapshot holds the entry it names. */
    off_t limit = f && fstat(fileno(f), &sb) == 0 ? sb.st_size : 0;
    int own = sqlite3_get_autocommit(e->db);
    if (own && (s = hv__store_exec(e, "BEGIN")))
        goto done;
    if ((s = hv__chain_walk(e, cs)) || (s = check_clock(e)))
        goto done;
    /* (the chain's own faults first: they say more than a missing file) */
    if (missing && !(missing == ENOENT && file_optional)) {
        s = hv__fail(e, missing == ENOENT ? HV_NOINPUT : HV_IOERR,
                     "audit verify: %s: %s: the chain's length cannot be "
                     "checked (keep the file beside the database, or give a "
                     "checkpoint kept elsewhere with --checkpoint FILE)",
                     path, missing == ENOENT ? "missing" : strerror(missing));
        goto done;
    }
    if (f && (s = check_checkpoints(e, cs, f, limit, path)))
        goto done;
    if (deep)
        s = hv__chain_deep(e, deep);
done:
    if (own && !sqlite3_get_autocommit(e->db))
        sqlite3_exec(e->db, "ROLLBACK", NULL, NULL, NULL);
    if (f)
        fclose(f);
    return s;
}

/* Adds case_id's verdict to r: unchecked when its last event has no
 * digest, else mismatched (by reference when it looks like one) unless
 * its rows digest as that event recorded. */
static hv_status deep_case(hv_engine *e, int64_t case_id, const char *ref,
                           const void *want, int want_len, json_t *r,
                           json_t *bad)
{
    const char *field = "unchecked";
    hv_status s = HV_OK;
    if (want_len == HV_DIGEST_BYTES) {
        int match = 0;
        if ((s = hv__case_digest_matches(e, case_id, want, &match)))
            return s;
        field = "checked";
        if (!match) {
            char name[64];
            hv__case_name(ref, case_id, name, sizeof name);
            if (json_array_append_new(bad, json_string(name)))
                return hv__fail(e, HV_NOMEM, "out of memory");
        }
    }
    json_t *count = json_object_get(r, field);
    json_integer_set(count, json_integer_value(count) + 1);
    return s;
}

/* The message naming the mismatched cases (the first ten). */
static hv_status deep_failure(hv_engine *e, json_t *bad)
{
    char list[800] = "";
    size_t used = 0, i;
    json_t *v;
    json_array_foreach(bad, i, v) {
        if (i == 10 || used >= sizeof list)
            break;
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                                 i ? ", " : "", json_string_value(v));
    }
    size_t more = json_array_size(bad) > 10 ? json_array_size(bad) - 10 : 0;
    char tail[48] = "";
    if (more)
        snprintf(tail, sizeof tail, " (and %zu more)", more);
    return hv__fail(e, HV_INVALID,
                    "audit verify --deep: the rows of %s%s no longer match "
                    "the case's last event (changed outside haven)",
                    list, tail);
}

hv_status hv__chain_deep(hv_engine *e, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *bad = json_array();
    json_t *r = json_pack("{s:i,s:i,s:i}", "cases", 0, "checked", 0,
                          "unchecked", 0);
    hv_status s = HV_OK;
    *out = NULL;
    if (!r || !bad || json_object_set(r, "mismatched", bad)) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto done;
    }
    /* Every case, and every case the events name whose row is gone. */
    if ((s = hv__store_prepare(
             e,
             "SELECT c.id, c.ref, (SELECT digest FROM events WHERE case_id ="
             " c.id ORDER BY seq DESC LIMIT 1) FROM cases c UNION ALL"
             " SELECT v.case_id, NULL, (SELECT digest FROM events WHERE case_id"
             " = v.case_id ORDER BY seq DESC LIMIT 1) FROM (SELECT DISTINCT"
             " case_id FROM events WHERE case_id IS NOT NULL AND case_id NOT IN"
             " (SELECT id FROM cases)) v ORDER BY 1",
             &st)))
        goto done;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *count = json_object_get(r, "cases");
        json_integer_set(count, json_integer_value(count) + 1);
        if ((s = deep_case(e, sqlite3_column_int64(st, 0),
                           (const char *)sqlite3_column_text(st, 1),
                           sqlite3_column_blob(st, 2), sqlite3_column_bytes(st, 2),
                           r, bad)))
            goto done;
    }
    if (rc != SQLITE_DONE) {
        s = hv__sql_fail(e, rc, "reading the cases");
        goto done;
    }
    if (json_array_size(bad))
        s = deep_failure(e, bad);
done:
    hv__store_finalize(e, st);
    json_decref(bad);
    if (s == HV_OK || s == HV_INVALID)
        *out = r;
    else
        json_decref(r);
    return s;
}
