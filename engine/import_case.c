/*
 * import_case.c - one case history of a Haven JSON export written into
 * this database: the case row, its persons (with their name keys), every
 * other section with the ids of its rows kept where free and the ids they
 * point at mapped, and its history appended to this database's audit
 * chain with its original times and actors.  A case refused on its data
 * is rolled back and reported with the field and the reason.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "crypto.h"
#include "import_case.h"
#include "store.h"
#include "error.h"
#include "events.h"
#include "search.h"

/* An exported row id and the id it has in this database. */
typedef struct {
    char table; /* 'p' plans, 'a' actions, 'r' referrals, 'A' approvals */
    int64_t old_id, new_id;
} id_pair;

/* One case being imported. */
typedef struct {
    hv_engine *e;
    int64_t case_id;
    json_t *c;            /* the exported case */
    const char *ref;      /* its reference */
    id_pair *ids;
    size_t nids, capids;
    char field[96];       /* a rejection: where */
    char why[160];        /*              and why */
} case_import;

/* Remembers that the row old_id of table is new_id here.
 * Returns HV_OK or HV_NOMEM (with the message on e). */
static hv_status remember(case_import *ci, char table, int64_t old_id, int64_t new_id)
{
    if (ci->nids == ci->capids) {
        size_t cap = ci->capids ? ci->capids * 2 : 16;
        id_pair *p = hv__realloc(ci->ids, cap * sizeof *p);
        if (!p)
            return hv__fail(ci->e, HV_NOMEM, "out of memory");
        ci->ids = p;
        ci->capids = cap;
    }
    ci->ids[ci->nids++] = (id_pair){table, old_id, new_id};
    return HV_OK;
}

/* The id here of the exported row old_id of table, or 0 if none. */
static int64_t mapped(const case_import *ci, char table, int64_t old_id)
{
    for (size_t i = 0; i < ci->nids; i++)
        if (ci->ids[i].table == table && ci->ids[i].old_id == old_id)
            return ci->ids[i].new_id;
    return 0;
}

/* Sets the rejection (section.key: why) and returns HV_REFUSED. */
static hv_status bad(case_import *ci, const char *section, const char *key,
                     const char *why)
{
    snprintf(ci->field, sizeof ci->field, "%s%s%s", section, key ? "." : "",
             key ? key : "");
    snprintf(ci->why, sizeof ci->why, "%s", why);
    return HV_REFUSED;
}

/* A user's id by login (v, NULL or JSON null: 0); a missing user rejects
 * the case.  out: *out.  Returns HV_OK, HV_REFUSED or a failure. */
static hv_status user_id(case_import *ci, const char *section, const char *key,
                         json_t *v, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    *out = 0;
    if (!v || json_is_null(v))
        return HV_OK;
    if (!json_is_string(v))
        return bad(ci, section, key, "must be a login");
    hv_status s =
        hv__store_preparef(ci->e, &st, "SELECT id FROM users WHERE login = ?1",
                           "t", json_string_value(v));
    if (s)
        return s;
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    hv__store_finalize(ci->e, st);
    if (!*out) {
        char why[160];
        snprintf(why, sizeof why, "no user '%s' in this database (an "
                                  "administrator adds it first)",
                 hv__valid_login(json_string_value(v)) ? json_string_value(v) : "?");
        return bad(ci, section, key, why);
    }
    return HV_OK;
}

/* The id of this case's plan of the given version.  out: *plan_id (0:
 * none).  Returns HV_OK or a failure to prepare. */
static hv_status plan_of_version(case_import *ci, int64_t version, int64_t *plan_id)
{
    sqlite3_stmt *q = NULL;
    *plan_id = 0;
    hv_status s = hv__store_preparef(ci->e, &q,
                                     "SELECT id FROM plans WHERE"
                                     " case_id = ?1 AND version = ?2",
                                     "ii", ci->case_id, version);
    if (s)
        return s;
    if (sqlite3_step(q) == SQLITE_ROW)
        *plan_id = sqlite3_column_int64(q, 0);
    hv__store_finalize(ci->e, q);
    return HV_OK;
}

/* The id map of a task's subject, by the task's kind (0: none). */
static char subject_table(json_t *task)
{
    const char *kind = json_string_value(json_object_get(task, "kind"));
    return !kind                              ? 0
           : !strcmp(kind, "action")           ? 'a'
           : !strcmp(kind, "referral_outcome") ? 'r'
           : !strcmp(kind, "approval")         ? 'A'
                                               : 0;
}

/* Binds the whole number v (key of row, in section) to parameter idx of
 * st as type (see insert_row): i K b as it is, P A S an old id mapped to
 * its id here (NULL when not mapped), V a plan version as the plan's id.
 * Returns HV_OK, HV_REFUSED (the rejection in ci) or a failure. */
static hv_status bind_whole(case_import *ci, sqlite3_stmt *st, int idx,
                            const char *section, json_t *row, const char *key,
                            char type, json_t *v)
{
    if (type == 'b' && json_is_boolean(v)) {
        sqlite3_bind_int(st, idx, json_is_true(v));
        return HV_OK;
    }
    if (!json_is_integer(v))
        return bad(ci, section, key, "must be a whole number");
    int64_t id = json_integer_value(v);
    hv_status s = HV_OK;
    switch (type) {
    case 'P':
        id = mapped(ci, 'p', id);
        break;
    case 'A':
        id = mapped(ci, 'a', id);
        break;
    case 'S':
        id = mapped(ci, subject_table(row), id);
        break;
    case 'V':
        if ((s = plan_of_version(ci, id, &id)))
            return s;
        if (!id)
            return bad(ci, section, key, "no plan of that version");
        break;
    }
    if (type == 'i' || type == 'K' || type == 'b' || id)
        sqlite3_bind_int64(st, idx, id);
    return HV_OK;
}

/* Binds v (key of row, in section; not NULL, not JSON null) to parameter
 * idx of st as type (see insert_row).
 * Returns HV_OK, HV_REFUSED (the rejection in ci) or a failure. */
static hv_status bind_value(case_import *ci, sqlite3_stmt *st, int idx,
                            const char *section, json_t *row, const char *key,
                            char type, json_t *v)
{
    int64_t id = 0;
    hv_time t;
    hv_status s;
    switch (type) {
    case 's':
        if (!json_is_string(v))
            return bad(ci, section, key, "must be text");
        sqlite3_bind_text(st, idx, json_string_value(v), -1, SQLITE_TRANSIENT);
        return HV_OK;
    case 'r':
        if (!json_is_number(v))
            return bad(ci, section, key, "must be a number");
        sqlite3_bind_double(st, idx, json_number_value(v));
        return HV_OK;
    case 't':
        if (!json_is_string(v) || hv_time_parse(json_string_value(v), &t))
            return bad(ci, section, key, "must be an ISO 8601 time from 1900 "
                                         "to 2200");
        sqlite3_bind_int64(st, idx, t);
        return HV_OK;
    case 'j': {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        if (!text)
            return hv__fail(ci->e, HV_NOMEM, "out of memory");
        sqlite3_bind_text(st, idx, text, -1, SQLITE_TRANSIENT);
        free(text);
        return HV_OK;
    }
    case 'u':
        if ((s = user_id(ci, section, key, v, &id)))
            return s;
        sqlite3_bind_int64(st, idx, id);
        return HV_OK;
    default:
        return bind_whole(ci, st, idx, section, row, key, type, v);
    }
}

/*
 * Inserts one exported row of section with sql.  spec: space-separated
 * "key:type" for ?2, ?3, ... (?1 is the case id; for the case row itself,
 * ?1 is its reference, ?19 the agency and ?20 the workflow), types:
 *   s text   i integer   r number   t ISO time   j JSON value as text
 *   u login -> user id   K a row id kept when free in this database
 *   V plan version -> plan id   P old plan id   A old action id
 *   S a task's subject (by its kind)   b boolean 0/1
 * A key missing or null binds NULL.  out: *out_id the new row's id (if
 * out_id is not NULL).  Returns HV_OK, HV_REFUSED (the rejection in ci)
 * or a failure with the message on e.
 */
static hv_status insert_row(case_import *ci, const char *section, json_t *row,
                            const char *sql, const char *spec, int64_t *out_id)
{
    hv_engine *e = ci->e;
    sqlite3_stmt *st = NULL;
    hv_status s;
    char spec_copy[400];
    if (!json_is_object(row))
        return bad(ci, section, NULL, "must be an object");
    if ((s = hv__store_prepare(e, sql, &st)))
        return s;
    if (ci->case_id) {
        sqlite3_bind_int64(st, 1, ci->case_id);
    } else { /* the case row itself: its reference, agency and workflow */
        sqlite3_bind_text(st, 1, ci->ref, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 19, e->agency_id);
        sqlite3_bind_int64(st, 20, e->workflow_row);
    }
    snprintf(spec_copy, sizeof spec_copy, "%s", spec);
    int idx = 2;
    char *save = NULL;
    for (char *item = strtok_r(spec_copy, " ", &save); item;
         item = strtok_r(NULL, " ", &save), idx++) {
        char *colon = strchr(item, ':');
        *colon = '\0';
        json_t *v = json_object_get(row, item);
        if (!v || json_is_null(v))
            continue; /* NULL */
        if ((s = bind_value(ci, st, idx, section, row, item, colon[1], v)))
            goto done;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT) {
        s = bad(ci, section, NULL, "a value is not allowed here (a code, "
                                   "status or number out of range)");
        goto done;
    }
    if (rc != SQLITE_DONE) {
        s = hv__sql_fail(e, rc, "importing a case");
        goto done;
    }
    if (out_id)
        *out_id = sqlite3_last_insert_rowid(e->db);
done:
    hv__store_finalize(e, st);
    return s;
}

/* "id kept when free": the exported row id unless this database uses it
 * (then the id SQLite would give, as HV_NEW_ROW), named new_id: the sealed
 * values of the row are bound to it. */
#define KEEP_ID(table)                                                         \
    "(SELECT coalesce(CASE WHEN EXISTS (SELECT 1 FROM " table " WHERE id ="    \
    " ?2) THEN NULL ELSE ?2 END, (SELECT new_id FROM " HV_NEW_ROW(table)      \
    ")) AS new_id)"

/* Inserts one exported consent of the case (see insert_row).
 * out: *new_id.  Returns HV_OK, HV_REFUSED (the rejection in ci) or a
 * failure. */
static hv_status import_consent(case_import *ci, json_t *row, int64_t *new_id)
{
    /* moves to consent.c / tasks.c at integration */
    return insert_row(ci, "consents", row,
                      "INSERT INTO consents (id, case_id, scope, given_by, given_at,"
                      " recorded_by, withdrawn_at, withdrawn_reason) SELECT"
                      " new_id, ?1, ?3, ?4, ?5, ?6, ?7, hv_seal(?8, 'consents',"
                      " 'withdrawn_reason', new_id) FROM " KEEP_ID("consents"),
                      "id:K scope:s given_by:s given_at:t recorded_by:u"
                      " withdrawn_at:t withdrawn_reason:s",
                      new_id);
}

/* Inserts one exported task of the case (see insert_row), its subject
 * mapped to the action, referral or approval here.  out: *new_id.
 * Returns HV_OK, HV_REFUSED (the rejection in ci) or a failure. */
static hv_status import_task(case_import *ci, json_t *row, int64_t *new_id)
{
    /* moves to consent.c / tasks.c at integration */
    return insert_row(ci, "tasks", row,
                      "INSERT INTO tasks (id, case_id, kind, label, due_at,"
                      " created_at, status, done_at, assignee_id, subject_id,"
                      " cancel_reason) VALUES (" KEEP_ID("tasks")
                      ", ?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                      "id:K kind:s label:s due_at:t created_at:t status:s"
                      " done_at:t assignee:u subject_id:S cancel_reason:s",
                      new_id);
}

/* The sections of an exported case after its persons, in an order where
 * each row finds the rows it points at: each either inserted by its own
 * function or by insert_row with its statement and spec. */
static const struct {
    const char *key;  /* the section of the exported case */
    char remember;    /* the id map it fills (0: none) */
    hv_status (*insert)(case_import *ci, json_t *row, int64_t *new_id);
    const char *sql;  /* for insert_row, when no insert */
    const char *spec; /* ?2 onwards */
} sections[] = {
    {"consents", 0, import_consent, NULL, NULL},
    {"notes", 0, NULL,
     "INSERT INTO notes (id, case_id, at, author_id, text) SELECT new_id, ?1,"
     " ?3, ?4, hv_seal(?5, 'notes', 'text', new_id) FROM " KEEP_ID("notes"),
     "id:K at:t author:u text:s"},
    {"assessments", 0, NULL,
     "INSERT INTO assessments (id, case_id, kind, at, by_id, safety, data)"
     " SELECT new_id, ?1, ?3, ?4, ?5, ?6, hv_seal(?7, 'assessments', 'data',"
     " new_id) FROM " KEEP_ID("assessments"),
     "id:K kind:s at:t by_user:u safety:s detail:j"},
    {"plans", 'p', NULL,
     "INSERT INTO plans (id, case_id, version, goal, indicators, addresses,"
     " target_date, status, created_at, created_by, decided_at, decided_by,"
     " decision_reason) SELECT new_id, ?1, ?3, hv_seal(?4, 'plans', 'goal',"
     " new_id), hv_seal(?5, 'plans', 'indicators', new_id), hv_seal(?6,"
     " 'plans', 'addresses', new_id), ?7, ?8, ?9, ?10, ?11, ?12, hv_seal(?13,"
     " 'plans', 'decision_reason', new_id) FROM " KEEP_ID("plans"),
     "id:K version:i goal:s indicators:j addresses:j target_date:t status:s"
     " created_at:t created_by:u decided_at:t decided_by:u decision_reason:s"},
    {"actions", 'a', NULL,
     "INSERT INTO plan_actions (id, case_id, plan_id, seq, title, responsible,"
     " provider, type, due_at, status, status_reason, updated_at) SELECT"
     " new_id, ?1, ?3, ?4, hv_seal(?5, 'plan_actions', 'title', new_id), ?6,"
     " hv_seal(?7, 'plan_actions', 'provider', new_id), ?8, ?9, ?10,"
     " hv_seal(?11, 'plan_actions', 'status_reason', new_id), ?12 FROM "
     KEEP_ID("plan_actions"),
     "id:K plan_version:V number:i title:s responsible:s provider:s type:s"
     " due_at:t status:s reason:s updated_at:t"},
    {"referrals", 'r', NULL,
     "INSERT INTO referrals (id, case_id, seq, service, provider, action_id,"
     " status, sent_at, updated_at, outcome, consent_override_by,"
     " consent_override_reason) SELECT new_id, ?1, ?3, ?4, hv_seal(?5,"
     " 'referrals', 'provider', new_id), ?6, ?7, ?8, ?9, hv_seal(?10,"
     " 'referrals', 'outcome', new_id), ?11, hv_seal(?12, 'referrals',"
     " 'consent_override_reason', new_id) FROM " KEEP_ID("referrals"),
     "id:K number:i service:s provider:s action_id:A status:s sent_at:t"
     " updated_at:t outcome:s consent_overridden_by:u consent_override_reason:s"},
    {"conferences", 0, NULL,
     "INSERT INTO conferences (id, case_id, at, recorded_by, participants,"
     " decisions) SELECT new_id, ?1, ?3, ?4, hv_seal(?5, 'conferences',"
     " 'participants', new_id), hv_seal(?6, 'conferences', 'decisions',"
     " new_id) FROM " KEEP_ID("conferences"),
     "id:K at:t recorded_by:u participants:j decisions:j"},
    {"followups", 0, NULL,
     "INSERT INTO followups (id, case_id, at, by_id, method, safety, notes,"
     " final) SELECT new_id, ?1, ?3, ?4, ?5, ?6, hv_seal(?7, 'followups',"
     " 'notes', new_id), coalesce(?8, 0) FROM " KEEP_ID("followups"),
     "id:K at:t by_user:u method:s safety:s notes:s final:b"},
    {"reviews", 0, NULL,
     "INSERT INTO reviews (id, case_id, at, by_id, outcome, notes) SELECT"
     " new_id, ?1, ?3, ?4, ?5, hv_seal(?6, 'reviews', 'notes', new_id) FROM "
     KEEP_ID("reviews"),
     "id:K at:t by_user:u outcome:s notes:s"},
    {"evaluations", 0, NULL,
     "INSERT INTO evaluations (id, case_id, plan_id, at, by_id, outcome, data)"
     " SELECT new_id, ?1, ?3, ?4, ?5, ?6, hv_seal(?7, 'evaluations', 'data',"
     " new_id) FROM " KEEP_ID("evaluations"),
     "id:K plan_id:P at:t by_user:u outcome:s detail:j"},
    {"approvals", 'A', NULL,
     "INSERT INTO approvals (id, case_id, subject, subject_id, detail, status,"
     " requested_at, requested_by, decided_at, decided_by, reason) SELECT"
     " new_id, ?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, hv_seal(?11, 'approvals',"
     " 'reason', new_id) FROM " KEEP_ID("approvals"),
     "id:K subject:s subject_id:P detail:j status:s requested_at:t"
     " requested_by:u decided_at:t decided_by:u reason:s"},
    {"tasks", 0, import_task, NULL, NULL},
};
/* Appends an imported event ev to the chain, with its original time,
 * user, kind, data and decisions (an export before issue 20 says actor
 * and decision: both are read).  Returns HV_OK, HV_REFUSED (the
 * rejection in ci) or a failure. */
static hv_status append_history(case_import *ci, json_t *ev)
{
    hv_engine *e = ci->e;
    json_t *user = json_object_get(ev, "user");
    const char *actor = json_string_value(user ? user : json_object_get(ev, "actor"));
    const char *kind = json_string_value(json_object_get(ev, "kind"));
    const char *at_text = json_string_value(json_object_get(ev, "at"));
    json_t *data = json_object_get(ev, "data");
    json_t *decision = json_object_get(ev, "decisions");
    if (!decision)
        decision = json_object_get(ev, "decision");
    hv_time at;
    if (!actor || !kind || !at_text || hv_time_parse(at_text, &at) ||
        !json_is_object(data))
        return bad(ci, "history", NULL, "an event needs at (a time from 1900 "
                                        "to 2200), user, kind and data");
    /* no rule decided: [] in an export, NULL in the events table */
    char *decision_text = decision && !json_is_null(decision) &&
                                  !(json_is_array(decision) && !json_array_size(decision))
                              ? json_dumps(decision, JSON_COMPACT | JSON_ENCODE_ANY |
                                                       JSON_PRESERVE_ORDER)
                              : NULL;
    char *data_text = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
    hv_status s;
    if (!e->simulated && at > hv_now(e))
        /* a live database's history cannot hold an event still to come */
        s = bad(ci, "history", NULL, "an event dated after now cannot be "
                                     "imported into a live database");
    else if (!data_text)
        s = hv__fail(e, HV_NOMEM, "out of memory");
    else
        s = hv__store_chain_event(e, at, actor, ci->case_id, kind, data_text,
                                  decision_text);
    free(data_text);
    free(decision_text);
    return s;
}

/* Keeps the reference counter ahead of an imported reference, so the next
 * registration never reuses it: the number's place comes from the
 * pattern.  Returns HV_OK or a failure. */
static hv_status bump_counter(hv_engine *e, const char *ref)
{
    size_t off = 0, width = 0;
    for (const char *p = e->ref_pattern; *p;) {
        if (!strncmp(p, "AGENCY", 6)) {
            off += strlen(e->agency_code);
            p += 6;
        } else if (*p == 'Y') {
            size_t n = strspn(p, "Y");
            off += n == 2 ? 2 : 4;
            p += n;
        } else if (*p == 'N') {
            width = strspn(p, "N");
            break;
        } else {
            off++;
            p++;
        }
    }
    if (!width || strlen(ref) < off)
        return HV_OK;
    size_t digits = strspn(ref + off, "0123456789");
    if (!digits)
        return HV_OK;
    char *prefix = hv__asprintf("%.*s#%s", (int)off, ref, ref + off + digits);
    if (!prefix)
        return hv__fail(e, HV_NOMEM, "out of memory");
    int64_t next = (int64_t)(strtoll(ref + off, NULL, 10) + 1);
    hv_status s = hv__store_execf(e, "counting references",
                                  "INSERT OR IGNORE INTO ref_counters (prefix,"
                                  " next) VALUES (?1, ?2)", "ti", prefix, next);
    if (s == HV_OK)
        s = hv__store_execf(e, "counting references",
                            "UPDATE ref_counters SET next = max(next, ?2)"
                            " WHERE prefix = ?1", "ti", prefix, next);
    hv__free(prefix);
    return s;
}

/* Checks the exported case's reference (new here), stage and source
 * (this workflow's) and inserts the case row.  Changes: ci->ref,
 * ci->case_id.  Returns HV_OK, HV_REFUSED (the rejection in ci) or a
 * failure. */
static hv_status insert_case(case_import *ci, json_t *kase)
{
    hv_engine *e = ci->e;
    json_t *c = ci->c;
    if (!json_is_object(c))
        return bad(ci, "case", NULL, "must be an object");
    ci->ref = json_string_value(json_object_get(c, "ref"));
    if (!ci->ref || !*ci->ref || strlen(ci->ref) > 64)
        return bad(ci, "ref", NULL, "missing");
    if (!json_is_object(kase))
        return bad(ci, "case", NULL, "missing");
    int64_t existing = 0;
    if (hv__store_case_lookup(e, ci->ref, &existing, NULL) == HV_OK)
        return bad(ci, "ref", NULL, "a case with this reference is already in "
                                    "this database");
    hv__clear_error(e);
    const char *stage = json_string_value(json_object_get(kase, "stage"));
    if (!stage || !hv__workflow_stage(e->wf, stage))
        return bad(ci, "case", "stage", "not a stage of this database's workflow");
    const char *source = json_string_value(json_object_get(kase, "source"));
    if (!source || (hv__workflow_lookup(e->wf, "referral_sources") &&
                    !hv__workflow_has_code(e->wf, "referral_sources", source)))
        return bad(ci, "case", "source", "unknown code");
    ci->case_id = 0;
    return insert_row(ci, "case", kase,
                      "INSERT INTO cases (id, ref, stage, status, source,"
                      " location, urgency, risk_level, risk_score,"
                      " assignee_id, registered_at, registered_by,"
                      " updated_at, closed_at, version, closure_reason,"
                      " transferred_to, closure_planned, form, agency_id,"
                      " workflow_id) SELECT new_id, ?1, ?2, ?3, ?4,"
                      " hv_seal(?5, 'cases', 'location', new_id), ?6, ?7,"
                      " ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, hv_seal(?16,"
                      " 'cases', 'transferred_to', new_id), coalesce(?17,"
                      " 0), hv_seal(coalesce(?18, '{}'), 'cases', 'form',"
                      " new_id), ?19, ?20 FROM " HV_NEW_ROW("cases"),
                      "stage:s status:s source:s location:s urgency:s"
                      " risk_level:s risk_score:r assignee:u registered_at:t"
                      " registered_by:u updated_at:t closed_at:t version:i"
                      " closure_reason:s transferred_to:s closure_planned:b"
                      " form:j",
                      &ci->case_id);
}

/* Inserts the case's concerns (kase.concerns, an array of codes, or
 * before issue 20 codes separated by ';'; each a code of the workflow's
 * `concerns` lookup when it has one).
 * Returns HV_OK, HV_REFUSED (the rejection in ci) or a failure. */
static hv_status insert_concerns(case_import *ci, json_t *kase)
{
    hv_engine *e = ci->e;
    json_t *list = json_object_get(kase, "concerns");
    const char *concerns = json_string_value(list);
    size_t i = 0;
    if (json_is_array(list))
        for (size_t j = 0; j < json_array_size(list); j++)
            if (!json_is_string(json_array_get(list, j)))
                return bad(ci, "case", "concerns", "must be a list of codes");
    for (const char *p = concerns; (p && *p) || i < json_array_size(list);) {
        size_t n;
        if (json_is_array(list)) {
            p = json_string_value(json_array_get(list, i++));
            n = strlen(p);
        } else {
            n = strcspn(p, ";");
        }
        char code[80];
        snprintf(code, sizeof code, "%.*s", (int)(n < 79 ? n : 79), p);
        p += n + (p[n] ? 1 : 0);
        if (hv__workflow_lookup(e->wf, "concerns") &&
            !hv__workflow_has_code(e->wf, "concerns", code))
            return bad(ci, "case", "concerns", "unknown code");
        hv_status s = hv__store_execf(e, "importing concerns",
                                      "INSERT OR IGNORE INTO case_concerns"
                                      " (case_id, code) VALUES (?1, ?2)",
                                      "it", ci->case_id, code);
        if (s)
            return s;
    }
    return HV_OK;
}

/* Inserts the child and the family, with their name keys (the child's
 * also with the case's location, for the duplicate check).
 * Returns HV_OK, HV_REFUSED (the rejection in ci) or a failure. */
static hv_status insert_persons(case_import *ci, json_t *kase)
{
    hv_engine *e = ci->e;
    const char *location = json_string_value(json_object_get(kase, "location"));
    size_t i;
    json_t *v;
    hv_status s;
    json_array_foreach(json_object_get(ci->c, "persons"), i, v) {
        int64_t person_id = 0;
        const char *role = json_string_value(json_object_get(v, "role"));
        int child = role && !strcmp(role, "child");
        if ((s = insert_row(ci, "persons", v,
                            "INSERT INTO persons (id, case_id, role,"
                            " relationship, name, birth_date, age,"
                            " age_recorded_at, sex, lives_with_child, details)"
                            " SELECT new_id, ?1, ?3, ?4, hv_seal(?5,"
                            " 'persons', 'name', new_id), hv_seal(?6,"
                            " 'persons', 'birth_date', new_id), ?7, ?8, ?9,"
                            " ?10, hv_seal(coalesce(?11, '{}'), 'persons',"
                            " 'details', new_id) FROM " KEEP_ID("persons"),
                            "id:K role:s relationship:s name:s dob:s age:i"
                            " age_recorded_at:t sex:s lives_with_child:b"
                            " details:j",
                            &person_id)) ||
            (s = hv__index_name(e, person_id,
                                json_string_value(json_object_get(v, "name")),
                                json_string_value(json_object_get(v, "sex")),
                                child ? location : NULL)))
            return s;
    }
    return HV_OK;
}

/* Inserts every other section's rows (see sections), remembering the ids
 * that later rows point at.  Returns HV_OK, HV_REFUSED (the rejection in
 * ci) or a failure. */
static hv_status insert_sections(case_import *ci)
{
    size_t i;
    json_t *v;
    hv_status s;
    for (size_t k = 0; k < sizeof sections / sizeof sections[0]; k++) {
        json_t *rows = json_object_get(ci->c, sections[k].key);
        if (rows && !json_is_array(rows))
            return bad(ci, sections[k].key, NULL, "must be a list");
        json_array_foreach(rows, i, v) {
            int64_t new_id = 0;
            if (sections[k].insert)
                s = sections[k].insert(ci, v, &new_id);
            else
                s = insert_row(ci, sections[k].key, v, sections[k].sql,
                               sections[k].spec, &new_id);
            if (s)
                return s;
            json_t *old = json_object_get(v, "id");
            if (sections[k].remember && json_is_integer(old) &&
                (s = remember(ci, sections[k].remember, json_integer_value(old),
                              new_id)))
                return s;
        }
    }
    return HV_OK;
}

/* Appends the case_imported event after the file's history, at this
 * database's time: when the case arrived here, from which purge measures
 * the retention period (the file's times are whatever the file says).
 * Returns HV_OK or a failure. */
static hv_status record_arrival(case_import *ci)
{
    json_t *data = json_pack("{s:s}", "action", "import");
    hv_status s = data ? hv__store_append_event(ci->e, ci->case_id,
                                                "case_imported", data, NULL)
                       : hv__fail(ci->e, HV_NOMEM, "out of memory");
    json_decref(data);
    return s;
}

/* Imports one exported case inside the caller's savepoint: the case, its
 * concerns, persons and sections, then its history appended to this
 * database's audit chain with its original times and actors, and its
 * arrival here (record_arrival).
 * Returns HV_OK, HV_REFUSED (the rejection in ci) or a failure. */
static hv_status import_case(case_import *ci)
{
    json_t *kase = json_object_get(ci->c, "case");
    size_t i;
    json_t *v;
    hv_status s;
    if ((s = insert_case(ci, kase)) || (s = insert_concerns(ci, kase)) ||
        (s = insert_persons(ci, kase)) || (s = insert_sections(ci)))
        return s;
    json_t *hist = json_object_get(ci->c, "history");
    if (hist && !json_is_array(hist))
        return bad(ci, "history", NULL, "must be a list");
    json_array_foreach(hist, i, v) {
        if ((s = append_history(ci, v)))
            return s;
    }
    if ((s = record_arrival(ci)))
        return s;
    return bump_counter(ci->e, ci->ref);
}

/* See import_case.h. */
hv_status hv__import_case(hv_engine *e, json_t *c, hv_import_report *r)
{
    case_import ci = {.e = e, .c = c};
    int64_t row = ++r->rows;
    hv_status s;
    if ((s = hv__store_begin(e)))
        return s;
    s = import_case(&ci);
    hv__free(ci.ids);
    if (s == HV_OK) {
        if ((s = hv__store_commit(e)))
            return s;
        return hv__import_took(r, ci.ref);
    }
    hv__store_rollback(e);
    if (s != HV_REFUSED)
        return s;
    return hv__import_reject(r, row, ci.field, ci.why);
}
