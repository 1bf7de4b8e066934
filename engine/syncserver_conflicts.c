/* syncserver_conflicts.c - the conflict queue (syncserver.h, haven.h):
 * a laptop's change refused on the server is kept whole (sealed) in one
 * open conflict per case and device until a supervisor or a manager takes
 * theirs (the server's case stays), ours (the change replayed now, as its
 * author) or merged (entered by hand); every step an event on the case. */
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

hv_status hv__conflict_open(hv_engine *e, int64_t device_id, int64_t case_id,
                            const char *local_ref, int64_t *id)
{
    if (case_id > 0)
        return hv__store_query_int(e, "reading the conflict queue",
                                   "SELECT id FROM sync_conflicts WHERE device_id"
                                   " = ?1 AND case_id = ?2 AND status = 'open'"
                                   " ORDER BY id LIMIT 1", 0, id, "ii",
                                   device_id, case_id);
    return hv__store_query_int(e, "reading the conflict queue",
                               "SELECT k.id FROM sync_conflicts k JOIN"
                               " sync_receipts r ON r.conflict_id = k.id AND"
                               " r.device_id = k.device_id WHERE k.device_id = ?1"
                               " AND k.case_id IS NULL AND k.status = 'open' AND"
                               " r.local_ref = ?2 ORDER BY k.id LIMIT 1", 0, id,
                               "it", device_id, local_ref);
}

/* The conflict's entries (opened) as a JSON array, for json_decref. */
static hv_status entries_read(hv_engine *e, int64_t id, json_t **out)
{
    char *text = NULL;
    *out = NULL;
    hv_status s = hv__store_query_text(e, "reading the conflict queue",
                                       "SELECT hv_open(entries, 'sync_conflicts',"
                                       " 'entries', id) FROM sync_conflicts WHERE"
                                       " id = ?1", &text, "i", id);
    if (s)
        return s;
    *out = text ? json_loads(text, 0, NULL) : NULL;
    if (text)
        sodium_memzero(text, strlen(text));
    hv__free(text);
    if (!json_is_array(*out)) {
        json_decref(*out);
        *out = NULL;
        return hv__fail(e, HV_CORRUPT, "the conflict queue: conflict #%lld does "
                        "not open", (long long)id);
    }
    return HV_OK;
}

/* Adds entry x to the open conflict id, or opens one (id 0).  out: *id. */
static hv_status conflict_write(hv_engine *e, const hv__device *d,
                                const hv__sync_entry *x, int64_t case_id,
                                const char *reason, int64_t *id)
{
    json_t *all = NULL;
    int64_t version = 0;
    hv_status s = *id ? entries_read(e, *id, &all) : HV_OK;
    if (s)
        return s;
    if (!all)
        all = json_array();
    char *text = all && !json_array_append(all, x->j)
                     ? json_dumps(all, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(all);
    if (!text)
        return hv__fail(e, HV_NOMEM, "out of memory");
    if (*id)
        s = hv__store_execf(e, "queueing a conflict",
                            "UPDATE sync_conflicts SET entries = hv_seal(?2,"
                            " 'sync_conflicts', 'entries', id) WHERE id = ?1",
                            "it", *id, text);
    else if (!(s = hv__sync_case_version(e, case_id, &version)) &&
             !(s = hv__store_execf(
                   e, "queueing a conflict",
                   "INSERT INTO sync_conflicts (id, case_id, device_id, user_id,"
                   " reason, base_version, server_version, entries, created_at)"
                   " SELECT new_id, nullif(?1, 0), ?2, ?3, ?4, ?5, ?6, hv_seal(?7,"
                   " 'sync_conflicts', 'entries', new_id), ?8 FROM "
                   HV_NEW_ROW("sync_conflicts"),
                   "iiitiiti", case_id, d->id, d->user_id, reason,
                   x->base_version, version, text, (int64_t)hv__wall_now(e))))
        *id = sqlite3_last_insert_rowid(e->db);
    sodium_memzero(text, strlen(text));
    hv__free(text);
    return s;
}

hv_status hv__conflict_queue(hv_engine *e, const hv__device *d,
                             const hv__sync_entry *x, int64_t case_id,
                             const char *local_ref, const char *server_ref,
                             const char *reason, int64_t *id)
{
    int joined = *id != 0;
    hv_status s = hv__store_begin(e);
    if (s)
        return s;
    if ((s = conflict_write(e, d, x, case_id, reason, id)) ||
        (s = hv__sync_receipt(e, d, x, "conflict", local_ref, server_ref, *id))) {
        hv__store_rollback(e);
        return s;
    }
    json_t *data = json_pack("{s:I,s:s,s:s,s:[I]}", "conflict", (json_int_t)*id,
                             "device", d->name, "reason", reason, "seqs",
                             (json_int_t)x->seq);
    if (data && joined)
        json_object_set_new(data, "joined", json_true());
    return hv__store_event_commit(e, case_id, "sync_conflict_queued", data);
}

/* ---- listing ---------------------------------------------------------------- */

/* The conflicts in the acting user's scope: ?1 open only, ?2 all (a
 * manager), ?3 me, ?4 a supervisor.  The last column: the case is in
 * their reach (a caseworker's own conflict on a case reassigned since
 * shows nothing of the case's history). */
#define CONFLICTS                                                              \
    "SELECT k.id, coalesce(k.case_id, 0), c.ref, d.name, u.login, k.reason,"   \
    " k.created_at, k.status, k.base_version, coalesce(c.version, 0),"         \
    " k.resolution, rb.login, k.resolved_at, (?2 = 1 OR c.assignee_id = ?3"   \
    "   OR (?4 = 1 AND a.supervisor_id = ?3))"                                 \
    " FROM sync_conflicts k JOIN devices d ON d.id = k.device_id"              \
    " JOIN users u ON u.id = k.user_id"                                        \
    " LEFT JOIN cases c ON c.id = k.case_id"                                   \
    " LEFT JOIN users a ON a.id = c.assignee_id"                               \
    " LEFT JOIN users rb ON rb.id = k.resolved_by"                             \
    " WHERE (?1 = 0 OR k.status = 'open') AND (?2 = 1 OR c.assignee_id = ?3"   \
    "   OR k.user_id = ?3 OR (?4 = 1 AND (a.supervisor_id = ?3 OR"             \
    "   (k.case_id IS NULL AND u.supervisor_id = ?3))))"

/* One refused change as the list shows it: whole, or for a manager
 * (pseudonymous) without values: the input's field names only. */
static json_t *ours_entry(json_t *x, int pseudonymous)
{
    const char *input = json_string_value(json_object_get(x, "input"));
    const char *kind = json_string_value(json_object_get(x, "kind"));
    char at[32];
    hv_time_format(json_integer_value(json_object_get(x, "at")), at, sizeof at);
    json_t *o = json_pack("{s:O,s:s,s:O,s:O,s:O,s:O,s:O}", "seq",
                          json_object_get(x, "seq"), "at", at,
                          "user", json_object_get(x, "user"), "kind",
                          json_object_get(x, "kind"), "ref", json_object_get(x, "ref"),
                          "step", json_object_get(x, "step"), "base_version",
                          json_object_get(x, "base_version"));
    if (!o)
        return NULL;
    int note = kind && !strcmp(kind, "note");
    json_t *in = note ? json_string(input ? input : "")
                      : json_loads(input ? input : "{}", 0, NULL);
    if (pseudonymous) {
        json_t *names = json_array();
        const char *k;
        json_t *v;
        if (note)
            json_array_append_new(names, json_string("text"));
        else if (json_is_object(in))
            json_object_foreach(in, k, v) json_array_append_new(names, json_string(k));
        json_decref(in);
        json_object_set_new(o, "fields", names);
    } else {
        json_object_set_new(o, "input", in ? in : json_null());
    }
    return o;
}

/* The events of the case since the device's copy of base_version (the
 * checkout's `viewed` event recording it), not the device's own. */
static hv_status theirs(hv_engine *e, int64_t case_id, const char *device,
                        int64_t base, json_t **out)
{
    sqlite3_stmt *st = NULL;
    int64_t since = 0;
    char at[32];
    *out = json_array();
    if (!*out)
        return hv__fail(e, HV_NOMEM, "out of memory");
    hv_status s = base > 0 ? hv__store_query_int(
                                 e, "reading the case's history",
                                 "SELECT max(seq) FROM events WHERE case_id = ?1"
                                 " AND kind = 'viewed' AND json_extract(data,"
                                 " '$.device') = ?2 AND json_extract(data,"
                                 " '$.version') = ?3", 0, &since, "iti", case_id,
                                 device, base)
                           : HV_OK;
    if (s || !case_id ||
        (s = hv__store_preparef(e, &st, "SELECT kind, at, actor, data FROM events"
                                " WHERE case_id = ?1 AND seq > ?2 AND kind NOT IN"
                                " ('viewed', 'access_refused', 'exported',"
                                " 'duplicate_checked') AND kind NOT LIKE"
                                " 'sync_conflict_%' AND coalesce(json_extract(data,"
                                " '$.offline.device'), '') <> ?3 ORDER BY seq",
                                "iit", case_id, since, device)))
        return s;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        hv_time_format(sqlite3_column_int64(st, 1), at, sizeof at);
        json_t *data = json_loads((const char *)sqlite3_column_text(st, 3), 0, NULL);
        json_t *row = json_pack("{s:s,s:s,s:s,s:o}", "kind", sqlite3_column_text(st, 0),
                                "at", at, "user", sqlite3_column_text(st, 2),
                                "summary", data ? data : json_object());
        if (!row || json_array_append_new(*out, row))
            break;
    }
    hv__store_finalize(e, st);
    if (rc == SQLITE_ROW)
        return hv__fail(e, HV_NOMEM, "out of memory");
    return rc == SQLITE_DONE ? HV_OK : hv__sql_fail(e, rc, "reading the case's history");
}

/* Builds one row of the list from st.  Pseudonymous: a manager's view. */
static hv_status list_row(hv_engine *e, sqlite3_stmt *st, int pseudonymous,
                          int headers, json_t *arr)
{
    char created[32], resolved[32];
    int64_t id = sqlite3_column_int64(st, 0), case_id = sqlite3_column_int64(st, 1);
    json_t *ours = NULL, *their = NULL, *all = NULL;
    hv_time_format(sqlite3_column_int64(st, 6), created, sizeof created);
    if (sqlite3_column_type(st, 12) != SQLITE_NULL)
        hv_time_format(sqlite3_column_int64(st, 12), resolved, sizeof resolved);
    hv_status s = e->have_key ? entries_read(e, id, &all) : HV_OK;
    int reach = sqlite3_column_int(st, 13);
    if (s == HV_OK && !headers)
        s = theirs(e, reach ? case_id : 0, (const char *)sqlite3_column_text(st, 3),
                   sqlite3_column_int64(st, 8), &their);
    if (s == HV_OK && all && (ours = json_array())) {
        size_t i;
        json_t *x;
        json_array_foreach(all, i, x) {
            /* headers: which change, never its input (nothing viewed) */
            json_t *o = ours_entry(x, pseudonymous);
            if (o && headers) {
                json_object_del(o, "input");
                json_object_del(o, "fields");
            }
            json_array_append_new(ours, o);
        }
    }
    json_decref(all);
    json_t *row = s ? NULL
                    : json_pack("{s:I,s:s?,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s?,s:s?,"
                                "s:s?,s:o,s:o}", "id", (json_int_t)id, "ref",
                                (const char *)sqlite3_column_text(st, 2), "device",
                                sqlite3_column_text(st, 3), "user",
                                sqlite3_column_text(st, 4), "reason",
                                sqlite3_column_text(st, 5), "created_at", created,
                                "status", sqlite3_column_text(st, 7), "base_version",
                                (json_int_t)sqlite3_column_int64(st, 8),
                                "server_version",
                                (json_int_t)(reach ? sqlite3_column_int64(st, 9) : 0),
                                "resolution", (const char *)sqlite3_column_text(st, 10),
                                "resolved_by", (const char *)sqlite3_column_text(st, 11),
                                "resolved_at",
                                sqlite3_column_type(st, 12) == SQLITE_NULL ? NULL : resolved,
                                "ours", ours ? ours : json_null(), "theirs",
                                their ? their : headers ? json_null() : json_array());
    if (s)
        return s;
    if (!row || json_array_append_new(arr, row))
        return hv__fail(e, HV_NOMEM, "out of memory");
    /* the refused changes were read, identifiably: audited */
    if (!pseudonymous && ours && !headers) {
        json_t *data = json_pack("{s:s,s:I}", "action", "conflicts", "conflict",
                                 (json_int_t)id);
        s = data ? hv__store_append_event(e, case_id, "viewed", data, NULL)
                 : hv__fail(e, HV_NOMEM, "out of memory");
        json_decref(data);
    }
    return s;
}

HV_API hv_status hv_conflict_list(hv_engine *e, int flags, char **out_json)
{
    int open_only = (flags & HV_CONFLICTS_OPEN) != 0;
    int headers = (flags & HV_CONFLICTS_HEADERS) != 0;
    int to_decide = (flags & HV_CONFLICTS_TO_DECIDE) != 0;
    sqlite3_stmt *st = NULL;
    char role[32];
    int64_t me = 0;
    *out_json = NULL;
    hv__clear_error(e);
    hv_status s = hv__actor(e, &me, role, sizeof role);
    if (s)
        return s;
    int manager = !strcmp(role, "manager");
    if (!manager && !hv__role_reads_cases(role))
        return hv__fail(e, HV_DENIED, "conflicts: a%s %s sees no conflicts "
                        "(caseworkers, supervisors and managers do)",
                        role[0] == 'a' ? "n" : "", role);
    if (to_decide && strcmp(role, "supervisor")) { /* none to decide */
        json_t *none = json_array();
        s = hv__json_out(e, none, out_json);
        json_decref(none);
        return s;
    }
    if ((s = hv__not_in_batch(e, "conflicts")) || (s = hv__store_begin(e)))
        return s;
    json_t *arr = json_array();
    if (!arr)
        s = hv__fail(e, HV_NOMEM, "out of memory");
    else if (!(s = hv__store_preparef(e, &st, CONFLICTS " ORDER BY k.id", "iiii",
                                      (int64_t)(open_only != 0), (int64_t)manager,
                                      me, (int64_t)!strcmp(role, "supervisor")))) {
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && !s)
            s = list_row(e, st, manager, headers, arr);
        if (!s && rc != SQLITE_DONE && rc != SQLITE_ROW)
            s = hv__sql_fail(e, rc, "reading the conflict queue");
        hv__store_finalize(e, st);
    }
    if (s == HV_OK)
        s = hv__store_commit(e);
    else
        hv__store_rollback(e);
    if (s == HV_OK)
        s = hv__json_out(e, arr, out_json);
    json_decref(arr);
    return s;
}
