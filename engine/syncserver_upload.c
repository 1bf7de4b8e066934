/* syncserver_upload.c - the op upload (syncserver.h): after the whole
 * upload verified (syncserver_chain.c), each new entry is replayed through
 * the engine call the laptop made, as its user, at the laptop's time, in
 * its own transaction with its receipt (the e->replay hooks of sync.h);
 * an entry the engine refuses, or whose case changed here since the
 * laptop's copy, goes to the conflict queue (syncserver_conflicts.c).
 * The device's head then enters the server's own chain (device_synced). */
#include "syncserver.h"

#include <string.h>

#include "access.h"
#include "alloc.h"
#include "crypto.h"
#include "error.h"
#include "events.h"
#include "store.h"
#include "sync.h"

/* The kinds of events that record a read (hv__event_is_read), in SQL. */
#define READ_KINDS "('viewed', 'access_refused', 'exported', 'duplicate_checked')"

/* One upload under way. */
typedef struct {
    hv_engine *e;
    hv__device *d;
    json_t *results;
    int64_t applied, conflicts;
    hv_time prev_at; /* the previous entry's time */
    int after_first; /* an entry was committed (fault point) */
} upload;

/* What an entry is about. */
typedef struct {
    const char *local_ref; /* the laptop's own ref of a case registered
                            * offline, or NULL */
    char *server_ref;      /* the case here (owned), or NULL */
    int64_t case_id;       /* 0: none (yet) */
    int64_t join;          /* an open conflict to join, or 0 */
    int reg_lost;          /* registered offline, not applied, not queued */
    int gone;              /* checked out, since out of the user's reach */
} target;

/* The replay's receipt, written by the change's own commit. */
typedef struct {
    const hv__device *d;
    const hv__sync_entry *x;
    const char *local_ref;
    int64_t before; /* the events' last seq before the call */
    int written;
} replay_state;

/* e->replay.precommit: when the transaction holds the replayed change (an
 * event of the entry that is not a read), its receipt and the device's
 * new head go in with it. */
static hv_status replay_precommit(hv_engine *e)
{
    replay_state *r = e->replay.state;
    char *ref = NULL;
    int64_t case_id = -1;
    if (!r || r->written)
        return HV_OK;
    hv_status s = hv__store_query_int(
        e, "reading the replayed change",
        "SELECT coalesce(case_id, 0) FROM events WHERE seq > ?1 AND kind NOT IN "
        READ_KINDS " AND json_extract(data, '$.offline.device') = ?2 AND"
        " json_extract(data, '$.offline.seq') = ?3 ORDER BY seq LIMIT 1",
        -1, &case_id, "iti", r->before, r->d->name, r->x->seq);
    if (s || case_id < 0)
        return s; /* a refusal's audit record: not the change */
    if (case_id > 0 &&
        (s = hv__store_query_text(e, "reading the replayed change",
                                  "SELECT ref FROM cases WHERE id = ?1", &ref,
                                  "i", case_id)))
        return s;
    s = hv__sync_receipt(e, r->d, r->x, "applied", r->local_ref, ref, 0);
    hv__free(ref);
    if (s == HV_OK)
        r->written = 1;
    return s;
}

/* The ref's case, if any, and its device's open conflict on it.  A case
 * out of the device user's reach is no case here (the engine then
 * refuses it as it refuses a ref that does not exist: no conflict on it,
 * nothing of it shown back) unless this device checked it out (then it
 * was reassigned since: *gone, queued on the case for its supervisor). */
static hv_status case_of(hv_engine *e, const hv__device *d, target *t)
{
    int all = 0, sup = 0;
    int64_t me = 0, reach = 0, had = 0;
    hv_status s = hv__store_query_int(e, "looking up a case", "SELECT id FROM"
                                      " cases WHERE ref = ?1", 0, &t->case_id,
                                      "t", t->server_ref);
    if (s || !t->case_id || (s = hv__list_scope(e, 0, &all, &me, &sup)))
        return s;
    if ((s = hv__store_query_int(
             e, "looking up a case",
             "SELECT count(*) FROM cases c LEFT JOIN users a ON a.id ="
             " c.assignee_id WHERE c.id = ?1 AND (c.assignee_id = ?2 OR"
             " (?3 = 1 AND a.supervisor_id = ?2))", 0, &reach, "iii",
             t->case_id, me, (int64_t)sup)))
        return s;
    if (!reach &&
        (s = hv__store_query_int(e, "reading the case's history",
                                 "SELECT count(*) FROM events WHERE case_id = ?1"
                                 " AND kind = 'viewed' AND json_extract(data,"
                                 " '$.device') = ?2", 0, &had, "it",
                                 t->case_id, d->name)))
        return s;
    if (!reach && !had) {
        t->case_id = 0;
        return HV_OK;
    }
    t->gone = !reach;
    return hv__conflict_open(e, d->id, t->case_id, NULL, &t->join);
}

/* What entry x is about: a local ref mapped to the case its offline
 * registration made here (or the conflict holding it), a server ref. */
static hv_status target_of(hv_engine *e, const hv__device *d,
                           const hv__sync_entry *x, target *t)
{
    sqlite3_stmt *st = NULL;
    memset(t, 0, sizeof *t);
    if (!strcmp(x->kind, "register")) {
        t->local_ref = x->ref;
        return HV_OK;
    }
    hv_status s = hv__store_preparef(e, &st, "SELECT server_ref FROM sync_receipts"
                                     " WHERE device_id = ?1 AND local_ref = ?2"
                                     " ORDER BY seq LIMIT 1", "it", d->id, x->ref);
    if (s)
        return s;
    int rc = sqlite3_step(st), local = rc == SQLITE_ROW;
    if (local && sqlite3_column_type(st, 0) != SQLITE_NULL)
        t->server_ref = hv__column_strdup(st, 0);
    hv__store_finalize(e, st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return hv__sql_fail(e, rc, "reading sync receipts");
    if (local)
        t->local_ref = x->ref;
    else
        t->server_ref = hv__strdup(x->ref);
    if (local && !t->server_ref) {
        if ((s = hv__conflict_open(e, d->id, 0, x->ref, &t->join)))
            return s;
        t->reg_lost = !t->join;
        return HV_OK;
    }
    if (!t->server_ref)
        return hv__fail(e, HV_NOMEM, "out of memory");
    return case_of(e, d, t);
}

/* The version entry x expects of its case: its base version, or the
 * current one when every change to the case since the laptop's copy of
 * that version (the checkout's `viewed` event recording it) was this
 * device's own.  *stale: a case registered offline that someone else
 * changed since, or a base version this device never checked out. */
static hv_status expected_of(hv_engine *e, const hv__device *d,
                             const hv__sync_entry *x, const target *t,
                             int64_t *expected, int *stale)
{
    int64_t now = 0, since = 0, others = 0;
    *expected = x->base_version;
    *stale = 0;
    hv_status s = hv__sync_case_version(e, t->case_id, &now);
    if (s == HV_OK && x->base_version > 0 &&
        (s = hv__store_query_int(
             e, "reading the case's history",
             "SELECT max(seq) FROM events WHERE case_id = ?1 AND kind ="
             " 'viewed' AND json_extract(data, '$.device') = ?2 AND"
             " json_extract(data, '$.version') = ?3",
             0, &since, "iti", t->case_id, d->name, x->base_version)) == HV_OK &&
        !since) {
        /* a version this device never checked out (a hand-made entry
         * claiming a copy it has not got): never applied as current */
        *stale = 1;
        return HV_OK;
    }
    if (s || now == x->base_version)
        return s;
    if (x->base_version == 0 && !t->local_ref) {
        *stale = 1;
        return HV_OK;
    }
    if ((s = hv__store_query_int(
             e, "reading the case's history",
             "SELECT count(*) FROM events WHERE case_id = ?1 AND seq > ?2 AND"
             " kind NOT IN " READ_KINDS " AND coalesce(json_extract(data,"
             " '$.offline.device'), '') <> ?3",
             0, &others, "iit", t->case_id, since, d->name)))
        return s;
    if (!others)
        *expected = now;
    else if (!x->base_version)
        *stale = 1;
    return HV_OK;
}

/* The earliest time entry x can have been made at (*floor): not before
 * its device was enrolled, nor, for a change to a case, before the
 * device's first copy of the version it was based on (the checkout's
 * `viewed` event), less the clock slack either way.  An entry older than
 * that is backdated (or its laptop's clock is wrong): queued. */
static hv_status time_floor(hv_engine *e, const hv__device *d,
                            const hv__sync_entry *x, const target *t,
                            hv_time *floor)
{
    int64_t copied = 0;
    *floor = d->enrolled_at - HV_SYNC_CLOCK_SLACK;
    if (!t->case_id || x->base_version <= 0)
        return HV_OK;
    hv_status s = hv__store_query_int(
        e, "reading the case's history",
        "SELECT coalesce(min(at), 0) FROM events WHERE case_id = ?1 AND kind ="
        " 'viewed' AND json_extract(data, '$.device') = ?2 AND"
        " json_extract(data, '$.version') = ?3",
        0, &copied, "iti", t->case_id, d->name, x->base_version);
    if (s == HV_OK && copied && copied - HV_SYNC_CLOCK_SLACK > *floor)
        *floor = copied - HV_SYNC_CLOCK_SLACK;
    return s;
}

/* Sets or clears the replay of entry x on e (r NULL: clears). */
static void replay_set(hv_engine *e, const hv__device *d, const hv__sync_entry *x,
                       replay_state *r)
{
    memset(&e->replay_mark, 0, sizeof e->replay_mark);
    e->replay.state = r;
    e->replay.precommit = r ? replay_precommit : NULL;
    e->replay_at = r ? x->at : 0;
    if (!r)
        return;
    snprintf(e->replay_mark.device, sizeof e->replay_mark.device, "%s", d->name);
    e->replay_mark.seq = x->seq;
    e->replay_mark.received_at = d->received_at;
}

/* Runs entry x through the engine as the laptop's call, at its time.
 * out: *written, the change and its receipt committed. */
static hv_status replay(hv_engine *e, const hv__device *d, const hv__sync_entry *x,
                        const target *t, int64_t expected, int *written)
{
    replay_state r = {.d = d, .x = x, .local_ref = t->local_ref};
    char *out = NULL;
    int64_t version = 0;
    hv_status s = hv__store_query_int(e, "reading the audit chain", "SELECT"
                                      " coalesce(max(seq), 0) FROM events", 0,
                                      &r.before, "");
    if (s)
        return s;
    replay_set(e, d, x, &r);
    if (!strcmp(x->kind, "register"))
        s = hv_case_register(e, x->input, 0, &out);
    else if (!strcmp(x->kind, "step"))
        s = hv_case_step(e, t->server_ref, x->step, x->input, expected, &out);
    else
        s = hv_case_note(e, t->server_ref, x->input, expected, &version);
    replay_set(e, d, x, NULL);
    hv_free(out);
    *written = r.written;
    if (s == HV_OK && !r.written)
        s = hv__fail(e, HV_INTERNAL, "sync: entry %lld: the replayed change "
                     "left no receipt", (long long)x->seq);
    return s;
}

/* 1 for the statuses of an engine's refusal (queued as a conflict); the
 * others (busy, out of memory, I/O, ...) stop the upload. */
static int refusal(hv_status s)
{
    return s == HV_CONFLICT || s == HV_DUPLICATE || s == HV_REFUSED ||
           s == HV_INVALID || s == HV_DENIED || s == HV_NOTFOUND || s == HV_USAGE;
}

/* The reason an entry that status st refused is queued. */
static void reason_of(hv_engine *e, hv_status st, char *buf, size_t size)
{
    const char *msg = hv_errmsg(e);
    if (st == HV_CONFLICT)
        snprintf(buf, size, "the case changed on the server since the laptop's copy");
    else if (st == HV_DUPLICATE)
        snprintf(buf, size, "possible duplicate");
    else
        snprintf(buf, size, "%s", msg && *msg ? msg : hv_strerror(st));
}

/* Appends an entry's result {seq, outcome, ref, local_ref?, conflict?,
 * why?}. */
static hv_status result(upload *u, const hv__sync_entry *x, const char *outcome,
                        const char *ref, const char *local_ref, int64_t conflict,
                        const char *why)
{
    json_t *r = json_pack("{s:I,s:s,s:s?}", "seq", (json_int_t)x->seq, "outcome",
                          outcome, "ref", ref);
    int bad = !r;
    if (r && local_ref)
        bad |= json_object_set_new(r, "local_ref", json_string(local_ref));
    if (r && conflict)
        bad |= json_object_set_new(r, "conflict", json_integer(conflict));
    if (r && why)
        bad |= json_object_set_new(r, "why", json_string(why));
    if (bad || json_array_append_new(u->results, r))
        return hv__fail(u->e, HV_NOMEM, "out of memory");
    return HV_OK;
}

/* The result of an entry received before, from its receipt. */
static hv_status already(upload *u, const hv__sync_entry *x)
{
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_preparef(u->e, &st, "SELECT server_ref, local_ref,"
                                     " coalesce(conflict_id, 0) FROM sync_receipts"
                                     " WHERE device_id = ?1 AND seq = ?2", "ii",
                                     u->d->id, x->seq);
    if (s)
        return s;
    if (sqlite3_step(st) == SQLITE_ROW)
        s = result(u, x, "already", (const char *)sqlite3_column_text(st, 0),
                   (const char *)sqlite3_column_text(st, 1),
                   sqlite3_column_int64(st, 2), NULL);
    hv__store_finalize(u->e, st);
    return s;
}

/* Queues entry x for reason and records its result. */
static hv_status queue(upload *u, const hv__sync_entry *x, const target *t,
                       const char *reason)
{
    int64_t id = t->join;
    hv_status s = hv__conflict_queue(u->e, u->d, x, t->case_id, t->local_ref,
                                     t->server_ref, reason, &id);
    if (s)
        return s;
    u->conflicts++;
    return result(u, x, "conflict", t->server_ref, t->local_ref, id, reason);
}

/* Applies (or queues) one new entry. */
static hv_status apply_entry(upload *u, const hv__sync_entry *x)
{
    hv_engine *e = u->e;
    hv_time now = hv__wall_now(e);
    char why[400];
    target t;
    int64_t expected = 0;
    int stale = 0, written = 0;
    hv_time floor = 0;
    hv_status s = target_of(e, u->d, x, &t);
    if (s || (s = time_floor(e, u->d, x, &t, &floor)))
        goto done;
    int in_order = x->at > 0 && x->at >= floor &&
                   x->at <= now + HV_SYNC_CLOCK_SLACK && x->at >= u->prev_at;
    if (in_order)
        u->prev_at = x->at;
    if (t.join) {
        s = queue(u, x, &t, "the case has an open conflict");
    } else if (t.reg_lost) {
        s = queue(u, x, &t, "the case's offline registration was not applied");
    } else if (!in_order) {
        s = queue(u, x, &t, "time out of order");
    } else if (t.gone) {
        s = queue(u, x, &t, "the case is no longer in the user's caseload");
    } else if (t.case_id && (s = expected_of(e, u->d, x, &t, &expected, &stale))) {
        goto done;
    } else if (stale) {
        s = queue(u, x, &t, "the case changed on the server since the laptop's copy");
    } else if ((s = replay(e, u->d, x, &t, expected, &written)) == HV_OK) {
        u->applied++;
        char *ref = NULL;
        s = hv__store_query_text(e, "reading sync receipts", "SELECT server_ref"
                                 " FROM sync_receipts WHERE device_id = ?1 AND"
                                 " seq = ?2", &ref, "ii", u->d->id, x->seq);
        if (s == HV_OK)
            s = result(u, x, "applied", ref, t.local_ref, 0, NULL);
        hv__free(ref);
    } else if (!written && refusal(s)) {
        reason_of(e, s, why, sizeof why);
        s = queue(u, x, &t, why);
    }
done:
    hv__free(t.server_ref);
    return s;
}

/* Records the device's head in the server's chain (`device_synced`)
 * unless it is there already: after a sync interrupted before it, the
 * next records the entries since. */
static hv_status synced(upload *u)
{
    hv_engine *e = u->e;
    const hv__device *d = u->d;
    int64_t upto = 0, applied = 0, conflicts = 0;
    hv_status s = hv__store_begin(e);
    if (s)
        return s;
    if ((s = hv__store_query_int(e, "reading the audit chain",
                                 "SELECT json_extract(data, '$.to_seq') FROM events"
                                 " WHERE kind = 'device_synced' AND"
                                 " json_extract(data, '$.device') = ?1 ORDER BY"
                                 " seq DESC LIMIT 1", 0, &upto, "t", d->name)) ||
        upto >= d->last_seq)
        goto fail;
    if ((s = hv__store_query_int(e, "reading sync receipts", "SELECT count(*) FROM"
                                 " sync_receipts WHERE device_id = ?1 AND seq > ?2"
                                 " AND outcome = 'applied'", 0, &applied, "ii",
                                 d->id, upto)) ||
        (s = hv__store_query_int(e, "reading sync receipts", "SELECT count(*) FROM"
                                 " sync_receipts WHERE device_id = ?1 AND seq > ?2"
                                 " AND outcome = 'conflict'", 0, &conflicts, "ii",
                                 d->id, upto)))
        goto fail;
    return hv__store_event_commit(
        e, 0, "device_synced",
        json_pack("{s:s,s:I,s:I,s:s,s:I,s:I}", "device", d->name, "from_seq",
                  (json_int_t)(upto + 1), "to_seq", (json_int_t)d->last_seq,
                  "head", d->head, "applied", (json_int_t)applied, "conflicts",
                  (json_int_t)conflicts));
fail:
    hv__store_rollback(e);
    return s;
}

/* The device's last_seq and head as committed (after each entry). */
static hv_status device_reload(hv_engine *e, hv__device *d)
{
    char *head = NULL;
    hv_status s = hv__store_query_int(e, "reading devices", "SELECT last_seq FROM"
                                      " devices WHERE id = ?1", 0, &d->last_seq,
                                      "i", d->id);
    if (s == HV_OK)
        s = hv__store_query_text(e, "reading devices", "SELECT coalesce(head, '')"
                                 " FROM devices WHERE id = ?1", &head, "i", d->id);
    if (s == HV_OK)
        snprintf(d->head, sizeof d->head, "%s", head ? head : "");
    hv__free(head);
    return s;
}

/* The replay of the verified entries xs[0..n) (first_new: the first not
 * received before). */
static hv_status apply_all(upload *u, hv__sync_entry *xs, size_t n, size_t first_new)
{
    hv_status s = HV_OK;
    u->prev_at = u->d->last_at;
    for (size_t i = 0; i < n && !s; i++) {
        if (i < first_new) {
            s = already(u, &xs[i]);
            continue;
        }
        if ((s = apply_entry(u, &xs[i])) || (s = device_reload(u->e, u->d)))
            break;
        if (!u->after_first++)
            hv__fault("serve:after-entry");
    }
    return s;
}

hv_status hv__sync_upload(hv_engine *e, hv__device *d, const char *secret,
                          json_t *req, json_t **answer)
{
    hv__sync_entry *xs = NULL;
    size_t n = 0, first_new = 0;
    json_t *versions = NULL;
    upload u = {.e = e, .d = d};
    hv_status s = hv__need_key(e, "sync upload");
    if (s || (s = hv__sync_versions(e, &versions)))
        return s;
    if (!json_equal(versions, json_object_get(req, "versions"))) {
        *answer = json_pack("{s:s,s:s,s:O}", "op", "upload", "status", "update",
                            "versions", versions);
        json_decref(versions);
        return hv__fail(e, HV_CONFLICT, "sync upload refused: the laptop's "
                                        "schema, workflow or rule pack is not the "
                                        "server's; check out again, then upload");
    }
    json_decref(versions);
    if ((s = hv__sync_chain_verify(e, d, secret, req, &xs, &n, &first_new)))
        return s;
    d->received_at = hv__wall_now(e);
    if (!(u.results = json_array())) {
        hv__free(xs);
        return hv__fail(e, HV_NOMEM, "out of memory");
    }
    hv__fault("serve:before-apply");
    s = apply_all(&u, xs, n, first_new);
    if (s == HV_OK) {
        hv__fault("serve:before-synced");
        s = synced(&u);
    }
    if (s == HV_OK) {
        hv__fault("serve:before-answer");
        *answer = json_pack("{s:s,s:O,s:I,s:s}", "op", "upload", "results",
                            u.results, "last_seq", (json_int_t)d->last_seq,
                            "head", d->head);
        if (!*answer)
            s = hv__fail(e, HV_NOMEM, "out of memory");
    }
    json_decref(u.results);
    hv__free(xs);
    return s;
}
