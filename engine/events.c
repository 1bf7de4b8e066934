/* events.c - appending events and the keyed audit hash chain they form,
 * and migration 10's anchor of an older chain. */
#include "events.h"

#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "checkpoint.h"
#include "core.h"
#include "digest.h"
#include "error.h"
#include "jbuf.h"
#include "store.h"

void hv__audit_hash(const unsigned char *prev, int64_t seq, int64_t at,
                    const char *actor, int64_t case_id, const char *kind,
                    const char *data, const char *decision,
                    unsigned char out[HV_AUDIT_HASH_BYTES])
{
    crypto_generichash_state h;
    static const unsigned char genesis[HV_AUDIT_HASH_BYTES] = {0};
    crypto_generichash_init(&h, (const unsigned char *)"haven-audit-v1", 14,
                            HV_AUDIT_HASH_BYTES);
    crypto_generichash_update(&h, prev ? prev : genesis, HV_AUDIT_HASH_BYTES);
    hv__hash_u64(&h, seq);
    hv__hash_u64(&h, at);
    hv__hash_text(&h, actor);
    hv__hash_u64(&h, case_id);
    hv__hash_text(&h, kind);
    hv__hash_text(&h, data);
    hv__hash_text(&h, decision);
    crypto_generichash_final(&h, out, HV_AUDIT_HASH_BYTES);
}

void hv__audit_hash_keyed(const unsigned char key[32], const unsigned char *prev,
                          const hv_event_row *r,
                          unsigned char out[HV_AUDIT_HASH_BYTES])
{
    crypto_generichash_state h;
    static const unsigned char genesis[HV_AUDIT_HASH_BYTES] = {0};
    static const unsigned char none = 0xff, some = 0x01;
    crypto_generichash_init(&h, key, 32, HV_AUDIT_HASH_BYTES);
    hv__hash_text(&h, "haven-audit-v2");
    crypto_generichash_update(&h, prev ? prev : genesis, HV_AUDIT_HASH_BYTES);
    hv__hash_u64(&h, r->seq);
    hv__hash_u64(&h, r->at);
    hv__hash_text(&h, r->actor);
    hv__hash_u64(&h, r->case_id);
    hv__hash_text(&h, r->kind);
    hv__hash_text(&h, r->data);
    hv__hash_text(&h, r->decision);
    hv__hash_u64(&h, r->os_uid);
    hv__hash_text(&h, r->os_login);
    if (r->digest) {
        crypto_generichash_update(&h, &some, 1);
        crypto_generichash_update(&h, r->digest, HV_AUDIT_HASH_BYTES);
    } else {
        crypto_generichash_update(&h, &none, 1);
    }
    crypto_generichash_final(&h, out, HV_AUDIT_HASH_BYTES);
}

int hv__event_is_read(const char *kind)
{
    static const char *const reads[] = {"viewed", "access_refused", "exported",
                                        "duplicate_checked"};
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++)
        if (!strcmp(kind, reads[i]))
            return 1;
    return 0;
}

/* The OS account running this process, read once (e->os): its uid and,
 * when the account has a name, its login. */
static void os_account(hv_engine *e)
{
    if (e->os.known)
        return;
    uid_t uid = getuid();
    struct passwd pw, *found = NULL;
    char buf[2048];
    e->os.uid = (int64_t)uid;
    e->os.login[0] = '\0';
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found &&
        found->pw_name)
        snprintf(e->os.login, sizeof e->os.login, "%s", found->pw_name);
    e->os.known = 1;
}

/* The next event's sequence number and the hash it chains to (inside the
 * write transaction).  out: *seq, prev (filled when *has_prev is 1). */
static hv_status audit_next(hv_engine *e, int64_t *seq,
                            unsigned char prev[HV_AUDIT_HASH_BYTES],
                            int *has_prev)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    *seq = 1;
    *has_prev = 0;
    /* In a batch, an event of its open transaction is the head already
     * (nothing else writes while the batch holds the write lock; a change
     * undone sets the head back, store.c): the later changes' events
     * follow it without reading it again. */
    if (e->batch && e->head.pending && e->head.seq > 0 && !e->chain_legacy) {
        *seq = e->head.seq + 1;
        memcpy(prev, e->head.hash, HV_AUDIT_HASH_BYTES);
        *has_prev = 1;
        return HV_OK;
    }
    if ((s = hv__store_prepare(e,
                               "SELECT max(coalesce((SELECT seq FROM events ORDER BY seq DESC LIMIT 1),"
                               " 0), coalesce((SELECT seq FROM sqlite_sequence"
                               " WHERE name = 'events'), 0)), (SELECT hash FROM"
                               " events ORDER BY seq DESC LIMIT 1)",
                               &st)))
        return s;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *seq = sqlite3_column_int64(st, 0) + 1;
        if (sqlite3_column_bytes(st, 1) == HV_AUDIT_HASH_BYTES) {
            memcpy(prev, sqlite3_column_blob(st, 1), HV_AUDIT_HASH_BYTES);
            *has_prev = 1;
        }
    }
    hv__store_finalize(e, st);
    return rc == SQLITE_ROW ? HV_OK : hv__sql_fail(e, rc, "reading the audit chain");
}

/* The digest a case's new event records into out (*has 1), or none (*has
 * 0: no case, or a read after events of an older schema): a read changes
 * no row, so it carries the case's last digest on (a read never blesses
 * rows changed outside Haven since); any other event digests the rows as
 * the change left them. */
static hv_status event_digest(hv_engine *e, int64_t case_id, const char *kind,
                              const char *const *written,
                              unsigned char out[HV_AUDIT_HASH_BYTES], int *has)
{
    *has = 0;
    if (case_id <= 0)
        return HV_OK;
    if (!hv__event_is_read(kind)) {
        hv_status g = hv__schema_guard(e);
        if (g)
            return g;
        *has = 1;
        /* a case made in this change: only the tables it wrote */
        return written ? hv__case_digest_new(e, case_id, written, out)
                       : hv__case_digest(e, case_id, out);
    }
    int last = 0;
    hv_status s = hv__case_last_digest(e, case_id, out, &last);
    if (s || last == HV_LAST_UNDIGESTED)
        return s;
    *has = 1;
    /* the case's first event is a read: its rows as they are */
    return last == HV_LAST_NONE ? hv__case_digest(e, case_id, out) : HV_OK;
}

/* An event of a schema before 10 (init of an old schema, for tests of
 * the migrations): the unkeyed hash, none of the new columns. */
static hv_status chain_legacy_event(hv_engine *e, const hv_event_row *r,
                                    const unsigned char *prev)
{
    sqlite3_stmt *st = NULL;
    unsigned char hash[HV_AUDIT_HASH_BYTES];
    hv__audit_hash(prev, r->seq, r->at, r->actor, r->case_id, r->kind, r->data,
                   r->decision, hash);
    hv_status s = hv__store_prepare(e,
                                    "INSERT INTO events (seq, at, actor, case_id,"
                                    " kind, data, decision, prev_hash, hash)"
                                    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                                    &st);
    if (s)
        return s;
    sqlite3_bind_int64(st, 1, r->seq);
    sqlite3_bind_int64(st, 2, r->at);
    sqlite3_bind_text(st, 3, r->actor, -1, SQLITE_STATIC);
    if (r->case_id > 0)
        sqlite3_bind_int64(st, 4, r->case_id);
    sqlite3_bind_text(st, 5, r->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, r->data, -1, SQLITE_STATIC);
    if (r->decision)
        sqlite3_bind_text(st, 7, r->decision, -1, SQLITE_STATIC);
    if (prev)
        sqlite3_bind_blob(st, 8, prev, HV_AUDIT_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(st, 9, hash, sizeof hash, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        s = hv__sql_fail(e, rc, "appending an event");
    hv__store_finalize(e, st);
    return s;
}

/* HV_DENIED: the chain key is not here, so nothing can be recorded. */
static hv_status no_chain_key(hv_engine *e)
{
    return hv__fail(e, HV_DENIED, "the audit chain key is not available here "
                                  "(the key file %s.key, $HAVEN_KEY_FILE or "
                                  "$HAVEN_PASSPHRASE): no change can be "
                                  "recorded without it",
                    e->path);
}

/* hv__store_chain_event; written: NULL, or for a case made in this
 * change the tables it wrote rows into (hv__case_digest_new). */
static hv_status chain_event(hv_engine *e, hv_time at, const char *actor,
                             int64_t case_id, const char *kind,
                             const char *data_text, const char *decision_text,
                             const char *const *written)
{
    sqlite3_stmt *st = NULL;
    unsigned char prev[HV_AUDIT_HASH_BYTES], hash[HV_AUDIT_HASH_BYTES];
    unsigned char digest[HV_AUDIT_HASH_BYTES];
    int has_prev = 0, has_digest = 0;
    hv_event_row r = {.at = at, .case_id = case_id > 0 ? case_id : 0,
                      .actor = actor, .kind = kind, .data = data_text,
                      .decision = decision_text, .os_uid = -1};
    hv_status s;
    if (!e->chain_legacy && !e->have_chain_key)
        return no_chain_key(e);
    if ((s = audit_next(e, &r.seq, prev, &has_prev)))
        return s;
    if (e->chain_legacy)
        return chain_legacy_event(e, &r, has_prev ? prev : NULL);
    if ((s = event_digest(e, case_id, kind, written, digest, &has_digest)))
        return s;
    os_account(e);
    r.os_uid = e->os.uid;
    r.os_login = e->os.login[0] ? e->os.login : NULL;
    r.digest = has_digest ? digest : NULL;
    hv__audit_hash_keyed(e->chain_key, has_prev ? prev : NULL, &r, hash);
    if ((s = hv__store_prepare(e,
                               "INSERT INTO events (seq, at, actor, case_id,"
                               " kind, data, decision, prev_hash, hash, os_uid,"
                               " os_login, digest) VALUES"
                               " (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
                               &st)))
        return s;
    sqlite3_bind_int64(st, 1, r.seq);
    sqlite3_bind_int64(st, 2, at);
    sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
    if (r.case_id > 0)
        sqlite3_bind_int64(st, 4, r.case_id);
    sqlite3_bind_text(st, 5, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, data_text, -1, SQLITE_STATIC);
    if (decision_text)
        sqlite3_bind_text(st, 7, decision_text, -1, SQLITE_STATIC);
    if (has_prev)
        sqlite3_bind_blob(st, 8, prev, sizeof prev, SQLITE_STATIC);
    sqlite3_bind_blob(st, 9, hash, sizeof hash, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, r.os_uid);
    if (r.os_login)
        sqlite3_bind_text(st, 11, r.os_login, -1, SQLITE_STATIC);
    if (has_digest)
        sqlite3_bind_blob(st, 12, digest, sizeof digest, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        s = hv__sql_fail(e, rc, "appending an event");
    hv__store_finalize(e, st);
    if (s == HV_OK) {
        e->head.pending = 1;
        e->head.seq = r.seq;
        memcpy(e->head.hash, hash, sizeof hash);
        /* a read carries the last digest on unchecked, and a new case's
         * covers only the tables it wrote (rows planted beforehand under
         * its id in others are for the next change's full check to find):
         * neither is a fresh digest of all the case's rows */
        int read = hv__event_is_read(kind);
        hv__store_note_event(e, case_id, read,
                             has_digest && !read && !written ? digest : NULL);
    }
    return s;
}

hv_status hv__store_chain_event(hv_engine *e, hv_time at, const char *actor,
                                int64_t case_id, const char *kind,
                                const char *data_text, const char *decision_text)
{
    return chain_event(e, at, actor, case_id, kind, data_text, decision_text,
                       NULL);
}

/* Adds by_role to full: the call context's role when it knows the acting
 * user, else the users table's (nothing for an unknown login).  Returns
 * nonzero when the field could not be added. */
static int add_role(hv_engine *e, json_t *full)
{
    if (e->who.known)
        return json_object_set_new(full, "by_role", json_string(e->who.role));
    sqlite3_stmt *r = NULL;
    int bad = 0;
    if (hv__store_prepare(e, "SELECT role FROM users WHERE login = ?1", &r) ==
        HV_OK) {
        sqlite3_bind_text(r, 1, e->actor, -1, SQLITE_STATIC);
        if (sqlite3_step(r) == SQLITE_ROW)
            bad = json_object_set_new(
                full, "by_role",
                json_string((const char *)sqlite3_column_text(r, 0)));
    }
    hv__store_finalize(e, r);
    return bad;
}

/* Adds "offline" to full while a device's change is replayed (sync.h):
 * which device, its entry, when received (and for a conflict resolved
 * "ours", the conflict, the resolver, the laptop's time).  Returns nonzero
 * when the field could not be added. */
static int add_offline(hv_engine *e, json_t *full)
{
    const struct hv_replay_mark *m = &e->replay_mark;
    if (!e->replay_at)
        return 0;
    json_t *o = json_pack("{s:s,s:I,s:I}", "device", m->device, "seq",
                          (json_int_t)m->seq, "received_at",
                          (json_int_t)m->received_at);
    int bad = !o;
    if (o && m->conflict)
        bad |= json_object_set_new(o, "conflict", json_integer(m->conflict));
    if (o && m->resolved_by[0])
        bad |= json_object_set_new(o, "resolved_by", json_string(m->resolved_by));
    if (o && m->made_at)
        bad |= json_object_set_new(o, "made_at", json_integer(m->made_at));
    return bad | json_object_set_new(full, "offline", o);
}

/* The event's data as compact text for hv__free: a copy of data (or {})
 * with who acted in which role, and why when a purpose was given (the
 * audit trail's own fields).  NULL when out of memory. */
static char *event_data_text(hv_engine *e, json_t *data)
{
    json_t *full = data ? json_copy(data) : json_object();
    if (!full)
        return NULL;
    int bad = add_role(e, full);
    if (e->purpose)
        bad |= json_object_set_new(full, "purpose", json_string(e->purpose));
    bad |= add_offline(e, full);
    char *text = bad ? NULL : hv__json_compact(full);
    json_decref(full);
    return text;
}

/* hv__store_append_event; written as chain_event's. */
static hv_status append_event(hv_engine *e, int64_t case_id, const char *kind,
                              json_t *data, json_t *decision,
                              const char *const *written)
{
    char *data_text = NULL, *decision_text = NULL;
    hv_status s = HV_OK;
    /* Without the key nothing identifying can be read, so a read that
     * cannot be chained goes unrecorded; a change is refused. */
    if (!e->chain_legacy && !e->have_chain_key)
        return hv__event_is_read(kind) ? HV_OK : no_chain_key(e);
    data_text = event_data_text(e, data);
    if (!data_text)
        return hv__fail(e, HV_NOMEM, "out of memory writing an event");
    if (decision && !(decision_text = hv__json_compact(decision))) {
        s = hv__fail(e, HV_NOMEM, "out of memory writing an event");
        goto done;
    }
    /* Out of memory anywhere in the change (a json_object_set_new whose
     * failure was not seen drops a field) fails it: the audit trail never
     * records less than happened. */
    if (hv__alloc_failures() != e->alloc_failures_at_begin) {
        s = hv__fail(e, HV_NOMEM, "out of memory writing an event");
        goto done;
    }
    s = chain_event(e, hv_now(e), e->actor, case_id, kind, data_text,
                    decision_text, written);
done:
    hv__free(data_text);
    hv__free(decision_text);
    return s;
}

hv_status hv__store_append_event(hv_engine *e, int64_t case_id,
                                 const char *kind, json_t *data,
                                 json_t *decision)
{
    return append_event(e, case_id, kind, data, decision, NULL);
}

hv_status hv__store_append_event_new(hv_engine *e, int64_t case_id,
                                     const char *kind, json_t *data,
                                     json_t *decision,
                                     const char *const *written)
{
    return append_event(e, case_id, kind, data, decision, written);
}

hv_status hv__store_event_commit(hv_engine *e, int64_t case_id,
                                 const char *kind, json_t *data)
{
    hv_status s = data ? hv__store_append_event(e, case_id, kind, data, NULL)
                       : hv__fail(e, HV_NOMEM, "out of memory");
    json_decref(data);
    if (s || (s = hv__store_commit(e)))
        hv__store_rollback(e);
    return s;
}

hv_status hv__chain_prior_digest(hv_engine *e, int64_t before, int64_t *count,
                                 unsigned char out[HV_AUDIT_HASH_BYTES])
{
    crypto_generichash_state h;
    sqlite3_stmt *st = NULL;
    *count = 0;
    if (!e->have_chain_key)
        return no_chain_key(e);
    hv_status s = hv__store_prepare(e,
                                    "SELECT seq, at, actor, case_id, kind, data,"
                                    " decision, prev_hash, hash FROM events"
                                    " WHERE seq < ?1 ORDER BY seq",
                                    &st);
    if (s)
        return s;
    sqlite3_bind_int64(st, 1, before);
    crypto_generichash_init(&h, e->chain_key, sizeof e->chain_key,
                            HV_AUDIT_HASH_BYTES);
    hv__hash_text(&h, "haven-audit-prior-v1");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        hv__digest_row(&h, st, 9, 0);
        (*count)++;
    }
    hv__store_finalize(e, st);
    if (rc != SQLITE_DONE)
        return hv__sql_fail(e, rc, "reading the audit chain");
    hv__hash_u64(&h, *count);
    crypto_generichash_final(&h, out, HV_AUDIT_HASH_BYTES);
    return HV_OK;
}

/* The anchor event's data: where the old chain started and a keyed digest
 * of every entry before the anchor, numbered next.  NULL: no memory. */
static json_t *anchor_data(hv_engine *e, int from_version, int64_t next,
                           hv_status *s)
{
    int64_t chain_from = 1, prior = 0;
    unsigned char digest[HV_AUDIT_HASH_BYTES];
    char hex[2 * HV_AUDIT_HASH_BYTES + 1];
    if ((*s = hv__store_query_int(e, "reading the audit chain",
                                  "SELECT value FROM meta WHERE key ="
                                  " 'audit_chain_from'",
                                  1, &chain_from, "")) ||
        (*s = hv__chain_prior_digest(e, next, &prior, digest)))
        return NULL;
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    json_t *data = json_pack("{s:i,s:I,s:I,s:s}", "schema_from", from_version,
                             "chain_from", (json_int_t)chain_from,
                             "prior_entries", (json_int_t)prior,
                             "prior_digest", hex);
    if (!data)
        *s = hv__fail(e, HV_NOMEM, "out of memory");
    return data;
}

hv_status hv__chain_anchor(hv_engine *e, int from_version)
{
    unsigned char prev[HV_AUDIT_HASH_BYTES];
    int64_t next = 1;
    int has_prev = 0;
    char seq_text[32];
    hv_status s;
    e->chain_legacy = 0;
    if (from_version == 0) /* a new database: keyed from its first entry */
        return hv__store_execf(e, "anchoring the audit chain",
                               "INSERT OR REPLACE INTO meta (key, value) VALUES"
                               " ('audit_chain_keyed_from', '1')", "");
    if (!e->have_chain_key)
        return hv__fail(e, HV_DENIED,
                        "%s: upgrading to schema 10 keys the audit chain with "
                        "the data key, which is not available here (the key "
                        "file %s.key, $HAVEN_KEY_FILE or $HAVEN_PASSPHRASE): "
                        "open the database once with it",
                        e->path, e->path);
    if ((s = hv__audit_key_load(e, 1)) ||
        (s = audit_next(e, &next, prev, &has_prev)))
        return s;
    json_t *data = anchor_data(e, from_version, next, &s);
    if (!data)
        return s;
    snprintf(seq_text, sizeof seq_text, "%lld", (long long)next);
    if (!(s = hv__store_execf(e, "anchoring the audit chain",
                              "INSERT OR REPLACE INTO meta (key, value) VALUES"
                              " ('audit_chain_keyed_from', ?1)",
                              "t", seq_text)))
        s = hv__store_append_event(e, 0, "audit_chain_anchored", data, NULL);
    json_decref(data);
    if (s == HV_OK && e->head.seq != next)
        s = hv__fail(e, HV_INTERNAL, "anchoring the audit chain: the anchor "
                                     "is not entry %lld", (long long)next);
    return s;
}
