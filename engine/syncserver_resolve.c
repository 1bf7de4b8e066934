/* syncserver_resolve.c - resolving a queued conflict (syncserver.h,
 * haven.h hv_conflict_resolve): a supervisor of the case (or a manager)
 * takes theirs, ours (the refused changes replayed now through the
 * engine, as their author, the resolver recorded) or merged; one
 * `sync_conflict_resolved` event on the case, and never twice. */
#include "syncserver.h"

#include <sodium.h>
#include <string.h>

#include "access.h"
#include "alloc.h"
#include "crypto.h"
#include "error.h"
#include "events.h"
#include "notes.h"
#include "store.h"

/* A conflict as resolving it needs it. */
typedef struct {
    int64_t id, case_id, device_id;
    char device[HV_DEVICE_NAME_MAX + 1];
    char author[72], status[16], resolution[16];
    char *ref; /* the case's, or NULL (owned) */
} conflict_row;

/* Reads conflict id if the acting user (me, role) may resolve it: a
 * supervisor of the case's caseworker (or of the device's user, for a
 * registration) or the caseworker's own supervisor role, a manager any.
 * HV_NOTFOUND alike for one out of reach. */
static hv_status conflict_get(hv_engine *e, int64_t id, int64_t me, int manager,
                              conflict_row *k)
{
    sqlite3_stmt *st = NULL;
    memset(k, 0, sizeof *k);
    hv_status s = hv__store_preparef(
        e, &st,
        "SELECT k.id, coalesce(k.case_id, 0), k.device_id, d.name, u.login,"
        " k.status, coalesce(k.resolution, ''), c.ref FROM sync_conflicts k"
        " JOIN devices d ON d.id = k.device_id JOIN users u ON u.id = k.user_id"
        " LEFT JOIN cases c ON c.id = k.case_id"
        " LEFT JOIN users a ON a.id = c.assignee_id"
        " WHERE k.id = ?1 AND (?2 = 1 OR c.assignee_id = ?3 OR a.supervisor_id"
        " = ?3 OR (k.case_id IS NULL AND u.supervisor_id = ?3))",
        "iii", id, (int64_t)manager, me);
    if (s)
        return s;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        k->id = id;
        k->case_id = sqlite3_column_int64(st, 1);
        k->device_id = sqlite3_column_int64(st, 2);
        snprintf(k->device, sizeof k->device, "%s", sqlite3_column_text(st, 3));
        snprintf(k->author, sizeof k->author, "%s", sqlite3_column_text(st, 4));
        snprintf(k->status, sizeof k->status, "%s", sqlite3_column_text(st, 5));
        snprintf(k->resolution, sizeof k->resolution, "%s", sqlite3_column_text(st, 6));
        k->ref = hv__column_strdup(st, 7);
    }
    hv__store_finalize(e, st);
    if (rc == SQLITE_DONE)
        return hv__fail(e, HV_NOTFOUND, "conflicts resolve: no conflict #%lld",
                        (long long)id);
    if (rc != SQLITE_ROW)
        return hv__sql_fail(e, rc, "reading the conflict queue");
    if (strcmp(k->status, "open"))
        return hv__fail(e, HV_INVALID, "conflicts resolve: conflict #%lld is "
                        "resolved already (%s)", (long long)id, k->resolution);
    return HV_OK;
}

/* Replays entry x of conflict k now as its author (the resolver, who
 * stays recorded in the events' "offline").  A registration made here
 * sets k->case_id and k->ref. */
static hv_status replay_one(hv_engine *e, conflict_row *k, json_t *x,
                            const char *resolver)
{
    const char *kind = json_string_value(json_object_get(x, "kind"));
    const char *input = json_string_value(json_object_get(x, "input"));
    const char *step = json_string_value(json_object_get(x, "step"));
    char *out = NULL;
    int64_t version = 0;
    hv_status s;
    struct hv_replay_mark *m = &e->replay_mark;
    memset(m, 0, sizeof *m);
    snprintf(m->device, sizeof m->device, "%s", k->device);
    m->seq = json_integer_value(json_object_get(x, "seq"));
    m->received_at = hv__wall_now(e);
    m->conflict = k->id;
    snprintf(m->resolved_by, sizeof m->resolved_by, "%s", resolver);
    m->made_at = json_integer_value(json_object_get(x, "at"));
    e->replay_at = hv__wall_now(e);
    if (!kind || !input)
        s = hv__fail(e, HV_CORRUPT, "conflicts resolve: conflict #%lld holds a "
                     "damaged entry", (long long)k->id);
    else if (!strcmp(kind, "register") && k->ref)
        s = hv__fail(e, HV_INVALID, "conflicts resolve: conflict #%lld registers "
                     "a case twice", (long long)k->id);
    else if (!strcmp(kind, "register"))
        s = hv_case_register(e, input, HV_REGISTER_FORCE, &k->ref);
    else if (!k->ref)
        s = hv__fail(e, HV_NOTFOUND, "conflicts resolve: conflict #%lld has no "
                     "case to apply its changes to", (long long)k->id);
    else if (!strcmp(kind, "step"))
        s = hv_case_step(e, k->ref, step ? step : "", input, 0, &out);
    else
        s = hv_case_note(e, k->ref, input, 0, &version);
    e->replay_at = 0;
    memset(m, 0, sizeof *m);
    hv_free(out);
    if (s == HV_OK && !k->case_id && k->ref)
        s = hv__store_query_int(e, "looking up a case", "SELECT id FROM cases"
                                " WHERE ref = ?1", 0, &k->case_id, "t", k->ref);
    return s;
}

/* Replays every entry of k as its author.  out: *applied. */
static hv_status take_ours(hv_engine *e, conflict_row *k, const char *resolver,
                           int64_t *applied)
{
    json_t *all = NULL;
    size_t i;
    json_t *x;
    char *text = NULL;
    hv_status s = hv__store_query_text(e, "reading the conflict queue",
                                       "SELECT hv_open(entries, 'sync_conflicts',"
                                       " 'entries', id) FROM sync_conflicts WHERE"
                                       " id = ?1", &text, "i", k->id);
    if (s)
        return s;
    all = text ? json_loads(text, 0, NULL) : NULL;
    if (text)
        sodium_memzero(text, strlen(text));
    hv__free(text);
    if (!json_is_array(all)) {
        json_decref(all);
        return hv__fail(e, HV_CORRUPT, "conflicts resolve: conflict #%lld does "
                        "not open", (long long)k->id);
    }
    if ((s = hv_engine_set_actor(e, k->author)))
        goto done;
    json_array_foreach(all, i, x) {
        if ((s = replay_one(e, k, x, resolver)))
            break;
        (*applied)++;
    }
done:
    json_decref(all);
    return s;
}

/* Marks k resolved (how) by me, with the note on the case, and records
 * `sync_conflict_resolved` on it, in one change. */
static hv_status mark_resolved(hv_engine *e, const conflict_row *k, const char *how,
                               const char *note, int64_t me, int64_t applied)
{
    int64_t note_id = 0;
    hv_status s = hv__store_begin(e);
    if (s)
        return s;
    if ((s = hv__store_execf(e, "resolving a conflict",
                             "UPDATE sync_conflicts SET status = 'resolved',"
                             " resolution = ?2, resolved_by = ?3, resolved_at ="
                             " ?4, case_id = nullif(?5, 0) WHERE id = ?1 AND"
                             " status = 'open'", "itiii", k->id, how, me,
                             (int64_t)hv__wall_now(e), k->case_id)))
        goto fail;
    if (sqlite3_changes(e->db) != 1) {
        s = hv__fail(e, HV_INVALID, "conflicts resolve: conflict #%lld is "
                     "resolved already", (long long)k->id);
        goto fail;
    }
    if (k->ref && (s = hv__store_execf(e, "resolving a conflict",
                                       "UPDATE sync_receipts SET server_ref = ?2"
                                       " WHERE conflict_id = ?1 AND local_ref IS"
                                       " NOT NULL AND server_ref IS NULL", "it",
                                       k->id, k->ref)))
        goto fail;
    int64_t version = 0;
    if (note && ((s = hv__note_add(e, k->case_id, me, "conflict resolved", note,
                                   &note_id)) ||
                 (s = hv__store_case_touch(e, k->ref, k->case_id, 0, &version))))
        goto fail;
    json_t *data = json_pack("{s:I,s:s,s:s,s:I}", "conflict", (json_int_t)k->id,
                             "resolution", how, "device", k->device, "applied",
                             (json_int_t)applied);
    if (data && note_id)
        json_object_set_new(data, "note", json_integer(note_id));
    return hv__store_event_commit(e, k->case_id, "sync_conflict_resolved", data);
fail:
    hv__store_rollback(e);
    return s;
}

/* Checks the call's arguments: how, and a note that is text. */
static hv_status check_args(hv_engine *e, const char *how, const char *note)
{
    if (!how || (strcmp(how, "theirs") && strcmp(how, "ours") && strcmp(how, "merged")))
        return hv__fail(e, HV_USAGE, "conflicts resolve: --take theirs, ours or "
                                     "merged");
    json_t *utf8 = note ? json_string(note) : NULL;
    int bad = note && (!note[0] || !utf8);
    json_decref(utf8);
    if (bad)
        return hv__fail(e, HV_INVALID, "conflicts resolve: --note: UTF-8 text");
    return HV_OK;
}

HV_API hv_status hv_conflict_resolve(hv_engine *e, int64_t id, const char *how,
                                     const char *note, char **out_json)
{
    conflict_row k;
    char role[32], *resolver = NULL;
    int64_t me = 0, applied = 0;
    *out_json = NULL;
    memset(&k, 0, sizeof k);
    hv__clear_error(e);
    hv_status s = check_args(e, how, note);
    if (s || (s = hv__not_in_batch(e, "conflicts resolve")) ||
        (s = hv__actor(e, &me, role, sizeof role)))
        return s;
    if (strcmp(role, "supervisor") && strcmp(role, "manager"))
        return hv__fail(e, HV_DENIED, "conflicts resolve: a supervisor or a "
                        "manager resolves conflicts (%s is %s)",
                        hv__echo_safe(e->actor) ? e->actor : "the acting user", role);
    if ((s = hv__need_key(e, "conflicts resolve")) ||
        (s = conflict_get(e, id, me, !strcmp(role, "manager"), &k)))
        goto done;
    if (note && !k.case_id && strcmp(how, "ours")) {
        s = hv__fail(e, HV_USAGE, "conflicts resolve: --note: conflict #%lld has "
                     "no case to note it on", (long long)id);
        goto done;
    }
    if (!(resolver = hv__strdup(e->actor)) || (s = hv_engine_batch_begin(e))) {
        s = s ? s : hv__fail(e, HV_NOMEM, "out of memory");
        goto done;
    }
    if (!strcmp(how, "ours"))
        s = take_ours(e, &k, resolver, &applied);
    hv_status back = hv_engine_set_actor(e, resolver);
    if (s == HV_OK && (s = back) == HV_OK)
        s = mark_resolved(e, &k, how, note, me, applied);
    if (s == HV_OK)
        s = hv_engine_batch_commit(e);
    if (s) {
        char *msg = hv__strdup(hv_errmsg(e));
        hv_engine_batch_rollback(e);
        hv__fail(e, s, "conflicts resolve: conflict #%lld stays open: %s",
                 (long long)id, msg ? msg : hv_strerror(s));
        hv__free(msg);
        goto done;
    }
    json_t *out = json_pack("{s:I,s:s?,s:s,s:I}", "id", (json_int_t)id, "ref",
                            k.ref, "resolution", how, "applied", (json_int_t)applied);
    s = hv__json_out(e, out, out_json);
    json_decref(out);
done:
    hv__free(resolver);
    hv__free(k.ref);
    return s;
}
