/* syncserver_checkout.c - the op checkout (syncserver.h): the device
 * user's caseload as an identifiable export (no consent gate: their own
 * cases on their own enrolled device; audited), with what a laptop copy
 * needs to be built and what changed since the copy it has. */
#include "syncserver.h"

#include <sodium.h>
#include <string.h>

#include "access.h"
#include "alloc.h"
#include "crypto.h"
#include "error.h"
#include "events.h"
#include "export.h"
#include "store.h"

/* The caseload: the cases the user's scope lists (their own, and a
 * supervisor's team's), open, or closed with an open task (the final
 * follow-up). */
#define CASELOAD                                                              \
    "SELECT c.id, c.ref, c.version FROM cases c"                              \
    " LEFT JOIN users a ON a.id = c.assignee_id"                              \
    " WHERE (c.assignee_id = ?1 OR (?2 = 1 AND a.supervisor_id = ?1))"       \
    "   AND (c.status = 'open' OR EXISTS (SELECT 1 FROM tasks t"              \
    "        WHERE t.case_id = c.id AND t.status = 'open'))"                  \
    " ORDER BY c.id"

/* The caseload's case ids (*ids, hv__free) and server versions {REF:
 * version} (*versions). */
static hv_status caseload(hv_engine *e, int64_t **ids, size_t *n, json_t *versions)
{
    int all = 0, sup = 0;
    int64_t me = 0;
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    *ids = NULL;
    *n = 0;
    hv_status s = hv__list_scope(e, 0, &all, &me, &sup);
    if (s || (s = hv__store_preparef(e, &st, CASELOAD, "ii", me, (int64_t)sup)))
        return s;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t want = cap ? 2 * cap : 64;
            int64_t *more = hv__realloc(*ids, want * sizeof *more);
            if (!more)
                break;
            *ids = more;
            cap = want;
        }
        (*ids)[(*n)++] = sqlite3_column_int64(st, 0);
        if (json_object_set_new(versions, (const char *)sqlite3_column_text(st, 1),
                                json_integer(sqlite3_column_int64(st, 2))))
            break;
    }
    hv__store_finalize(e, st);
    if (rc == SQLITE_ROW)
        return hv__fail(e, HV_NOMEM, "out of memory");
    if (rc != SQLITE_DONE)
        return hv__sql_fail(e, rc, "listing the caseload");
    return HV_OK;
}

/* What changed against the laptop's "have" {REF: version}: new, changed,
 * gone (sorted as the caseload and have list them). */
static json_t *changes(json_t *have, json_t *versions)
{
    json_t *c = json_pack("{s:[],s:[],s:[]}", "new", "changed", "gone");
    const char *ref;
    json_t *v;
    int bad = !c;
    json_object_foreach(versions, ref, v) {
        json_t *h = json_object_get(have, ref);
        if (bad)
            break;
        if (!h)
            bad |= json_array_append_new(json_object_get(c, "new"), json_string(ref));
        else if (!json_is_integer(h) || json_integer_value(h) != json_integer_value(v))
            bad |= json_array_append_new(json_object_get(c, "changed"), json_string(ref));
    }
    json_object_foreach(have, ref, v) {
        if (!bad && !json_object_get(versions, ref))
            bad |= json_array_append_new(json_object_get(c, "gone"), json_string(ref));
    }
    if (bad) {
        json_decref(c);
        return NULL;
    }
    return c;
}

/* The server's users as a laptop copy holds them: login, role,
 * supervisor (login or null), active. */
static hv_status users(hv_engine *e, json_t **out)
{
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_prepare(e, "SELECT u.login, u.role, s.login, u.active"
                                    " FROM users u LEFT JOIN users s ON s.id ="
                                    " u.supervisor_id ORDER BY u.id", &st);
    if (s)
        return s;
    json_t *arr = json_array();
    int rc;
    while (arr && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *row = json_pack("{s:s,s:s,s:s?,s:b}", "login",
                                sqlite3_column_text(st, 0), "role",
                                sqlite3_column_text(st, 1), "supervisor",
                                (const char *)sqlite3_column_text(st, 2), "active",
                                sqlite3_column_int(st, 3));
        if (!row || json_array_append_new(arr, row)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    hv__store_finalize(e, st);
    if (!arr)
        return hv__fail(e, HV_NOMEM, "out of memory");
    *out = arr;
    return HV_OK;
}

/* The rule pack in force as its rule_packs row {name, version, hash,
 * source}, or null. */
static hv_status pack_row(hv_engine *e, json_t **out)
{
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_prepare(e, "SELECT name, version, hash, source FROM"
                                    " rule_packs ORDER BY id DESC LIMIT 1", &st);
    if (s)
        return s;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = json_pack("{s:s,s:s,s:s,s:s}", "name", sqlite3_column_text(st, 0),
                         "version", sqlite3_column_text(st, 1), "hash",
                         sqlite3_column_text(st, 2), "source",
                         sqlite3_column_text(st, 3));
    else
        *out = json_null();
    hv__store_finalize(e, st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return hv__sql_fail(e, rc, "reading the rule pack");
    return *out ? HV_OK : hv__fail(e, HV_NOMEM, "out of memory");
}

/* The agency, the workflow's text and the device's key into a. */
static hv_status settings(hv_engine *e, const hv__device *d, json_t *a)
{
    char *code = NULL, *name = NULL, *wf = NULL, *key = NULL;
    hv_status s;
    if (!(s = hv__store_query_text(e, "reading the agency", "SELECT code FROM"
                                   " agencies WHERE id = ?1", &code, "i",
                                   e->agency_id)) &&
        !(s = hv__store_query_text(e, "reading the agency", "SELECT name FROM"
                                   " agencies WHERE id = ?1", &name, "i",
                                   e->agency_id)) &&
        !(s = hv__store_query_text(e, "reading the workflow", "SELECT source FROM"
                                   " workflows WHERE id = ?1", &wf, "i",
                                   e->workflow_row)) &&
        !(s = hv__store_query_text(e, "reading the device's key",
                                   "SELECT hv_open(key_sealed, 'devices',"
                                   " 'key_sealed', id) FROM devices WHERE id = ?1",
                                   &key, "i", d->id))) {
        int bad = !key || !wf;
        bad |= json_object_set_new(a, "agency", json_pack("{s:s?,s:s?}", "code",
                                                          code, "name", name));
        bad |= json_object_set_new(a, "ref_pattern", json_string(e->ref_pattern));
        bad |= json_object_set_new(a, "simulated", json_boolean(e->simulated));
        bad |= json_object_set_new(a, "now", json_integer(hv__wall_now(e)));
        bad |= json_object_set_new(a, "workflow", json_string(wf ? wf : ""));
        bad |= json_object_set_new(a, "key", json_string(key ? key : ""));
        if (bad)
            s = hv__fail(e, HV_NOMEM, "checkout: out of memory or the device's "
                                      "key is missing");
    }
    if (key)
        sodium_memzero(key, strlen(key));
    hv__free(code);
    hv__free(name);
    hv__free(wf);
    hv__free(key);
    return s;
}

/* The answer's fields besides the export into a. */
static hv_status answer_fields(hv_engine *e, const hv__device *d, json_t *req,
                               json_t *versions, json_t *a)
{
    json_t *v = NULL, *u = NULL, *p = NULL;
    json_t *have = json_object_get(req, "have");
    hv_status s;
    if (have && !json_is_object(have))
        return hv__fail(e, HV_INVALID, "sync checkout: \"have\": an object of "
                                       "references and versions");
    if ((s = hv__sync_versions(e, &v)) || (s = users(e, &u)) ||
        (s = pack_row(e, &p)) || (s = settings(e, d, a))) {
        json_decref(v);
        json_decref(u);
        return s;
    }
    int bad = json_object_set_new(a, "versions", v);
    bad |= json_object_set_new(a, "pack", p);
    bad |= json_object_set_new(a, "users", u);
    bad |= json_object_set(a, "server_versions", versions);
    bad |= json_object_set_new(a, "changed", changes(have ? have : NULL, versions));
    bad |= json_object_set_new(a, "device_state",
                               json_pack("{s:I,s:s}", "last_seq",
                                         (json_int_t)d->last_seq, "head", d->head));
    return bad ? hv__fail(e, HV_NOMEM, "out of memory") : HV_OK;
}

/* Records the checkout: `device_checked_out` {device, cases} (no refs). */
static hv_status checked_out(hv_engine *e, const hv__device *d, size_t n)
{
    json_t *data = json_pack("{s:s,s:I}", "device", d->name, "cases", (json_int_t)n);
    hv_status s = data ? hv__store_append_event(e, 0, "device_checked_out", data, NULL)
                       : hv__fail(e, HV_NOMEM, "out of memory");
    json_decref(data);
    return s;
}

hv_status hv__sync_checkout(hv_engine *e, const hv__device *d, json_t *req,
                            json_t **answer)
{
    int64_t *ids = NULL;
    size_t n = 0;
    char *doc = NULL;
    json_t *versions = json_object();
    json_t *a = json_pack("{s:s,s:s,s:s}", "op", "checkout", "device", d->name,
                          "user", d->login);
    hv_status s = !a || !versions ? hv__fail(e, HV_NOMEM, "out of memory")
                                  : hv__need_key(e, "sync checkout");
    if (s || (s = hv__store_begin(e)))
        goto done;
    if ((s = caseload(e, &ids, &n, versions)) ||
        (s = hv__export_offline(e, d->name, ids, n, &doc)) ||
        (s = answer_fields(e, d, req, versions, a)) ||
        (s = checked_out(e, d, n))) {
        hv__store_rollback(e);
        goto done;
    }
    json_error_t jerr;
    json_t *exp = json_loads(doc, 0, &jerr);
    if (!exp || json_object_set_new(a, "export", exp)) {
        hv__store_rollback(e);
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto done;
    }
    if ((s = hv__store_commit(e)))
        goto done;
    *answer = a;
    a = NULL;
done:
    if (doc)
        sodium_memzero(doc, strlen(doc));
    hv__free(doc);
    hv__free(ids);
    json_decref(versions);
    json_decref(a);
    return s;
}
