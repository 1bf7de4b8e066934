/* events.c - appending events and the audit hash chain they form. */
#include "events.h"

#include <sodium.h>
#include <string.h>

#include "alloc.h"
#include "core.h"
#include "error.h"
#include "store.h"

/* Feeds a 64-bit integer, little-endian. */
static void put_int(crypto_generichash_state *h, int64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)v >> (8 * i));
    crypto_generichash_update(h, b, sizeof b);
}

/* Feeds a text with its terminating NUL (NULL as a lone 0xff). */
static void put_text(crypto_generichash_state *h, const char *t)
{
    static const unsigned char none = 0xff;
    if (t)
        crypto_generichash_update(h, (const unsigned char *)t, strlen(t) + 1);
    else
        crypto_generichash_update(h, &none, 1);
}

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
    put_int(&h, seq);
    put_int(&h, at);
    put_text(&h, actor);
    put_int(&h, case_id);
    put_text(&h, kind);
    put_text(&h, data);
    put_text(&h, decision);
    crypto_generichash_final(&h, out, HV_AUDIT_HASH_BYTES);
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
    if ((s = hv__store_prepare(e,
                               "SELECT max(coalesce((SELECT max(seq) FROM events),"
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

hv_status hv__store_chain_event(hv_engine *e, hv_time at, const char *actor,
                                int64_t case_id, const char *kind,
                                const char *data_text, const char *decision_text)
{
    sqlite3_stmt *st = NULL;
    int64_t seq = 0;
    unsigned char prev[HV_AUDIT_HASH_BYTES], hash[HV_AUDIT_HASH_BYTES];
    int has_prev = 0;
    hv_status s;
    if ((s = audit_next(e, &seq, prev, &has_prev)))
        return s;
    hv__audit_hash(has_prev ? prev : NULL, seq, at, actor, case_id, kind,
                   data_text, decision_text, hash);
    if ((s = hv__store_prepare(e,
                               "INSERT INTO events (seq, at, actor, case_id,"
                               " kind, data, decision, prev_hash, hash) VALUES"
                               " (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                               &st)))
        return s;
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_int64(st, 2, at);
    sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
    if (case_id > 0)
        sqlite3_bind_int64(st, 4, case_id);
    sqlite3_bind_text(st, 5, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, data_text, -1, SQLITE_STATIC);
    if (decision_text)
        sqlite3_bind_text(st, 7, decision_text, -1, SQLITE_STATIC);
    if (has_prev)
        sqlite3_bind_blob(st, 8, prev, sizeof prev, SQLITE_STATIC);
    sqlite3_bind_blob(st, 9, hash, sizeof hash, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        s = hv__sql_fail(e, rc, "appending an event");
    hv__store_finalize(e, st);
    return s;
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
    char *text = bad ? NULL
                     : json_dumps(full, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(full);
    return text;
}

hv_status hv__store_append_event(hv_engine *e, int64_t case_id,
                                 const char *kind, json_t *data,
                                 json_t *decision)
{
    char *data_text = NULL, *decision_text = NULL;
    hv_status s = HV_OK;
    data_text = event_data_text(e, data);
    if (!data_text)
        return hv__fail(e, HV_NOMEM, "out of memory writing an event");
    if (decision && !(decision_text = json_dumps(decision, JSON_COMPACT |
                                                               JSON_PRESERVE_ORDER))) {
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
    s = hv__store_chain_event(e, hv_now(e), e->actor, case_id, kind, data_text,
                              decision_text);
done:
    hv__free(data_text);
    hv__free(decision_text);
    return s;
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
