/* casefile.c - reading cases: the case file, lists, name search, history.
 * Every function here only reads. */
#include <string.h>

#include "alloc.h"
#include "engine.h"
#include "names.h"
#include "store.h"

#define SECONDS_PER_YEAR 31556952

/* Sets key to column i as text, integer, or null. */
static int set_col(json_t *obj, const char *key, sqlite3_stmt *st, int i)
{
    json_t *v;
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL: v = json_null(); break;
    case SQLITE_INTEGER: v = json_integer(sqlite3_column_int64(st, i)); break;
    case SQLITE_FLOAT: v = json_real(sqlite3_column_double(st, i)); break;
    default: v = json_string((const char *)sqlite3_column_text(st, i)); break;
    }
    return json_object_set_new(obj, key, v);
}

/* Sets key to column i (UTC seconds) as an ISO 8601 string, or null. */
static int set_time(json_t *obj, const char *key, sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return json_object_set_new(obj, key, json_null());
    char buf[32];
    hv_time_format(sqlite3_column_int64(st, i), buf, sizeof buf);
    return json_object_set_new(obj, key, json_string(buf));
}

/* Sets key to the JSON text in column i (object), or {} if invalid. */
static int set_json_col(json_t *obj, const char *key, sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    json_t *v = t ? json_loads(t, 0, NULL) : NULL;
    return json_object_set_new(obj, key, v ? v : json_object());
}

/* The age now of a person recorded with `age` at `recorded`. */
static json_t *current_age(sqlite3_stmt *st, int age_col, int at_col,
                           hv_time now)
{
    if (sqlite3_column_type(st, age_col) == SQLITE_NULL)
        return json_null();
    int64_t age = sqlite3_column_int64(st, age_col);
    int64_t at = sqlite3_column_int64(st, at_col);
    if (now > at)
        age += (now - at) / SECONDS_PER_YEAR;
    return json_integer(age);
}

/* Runs st, appending one object per row built by `row` to arr. */
typedef int (*row_fn)(json_t *obj, sqlite3_stmt *st, hv_engine *e);
static hv_status collect(hv_engine *e, sqlite3_stmt *st, json_t *arr,
                         row_fn row, const char *what)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *obj = json_object();
        if (!obj || row(obj, st, e) != 0 || json_array_append_new(arr, obj)) {
            json_decref(obj);
            return hv__fail(e, HV_NOMEM, "out of memory");
        }
    }
    if (rc != SQLITE_DONE)
        return hv__sql_fail(e, rc, what);
    return HV_OK;
}

static int person_row(json_t *o, sqlite3_stmt *st, hv_engine *e)
{
    int r = 0;
    r |= set_col(o, "name", st, 0);
    r |= set_col(o, "relationship", st, 1);
    r |= json_object_set_new(o, "age", current_age(st, 2, 3, hv_now(e)));
    r |= set_col(o, "dob", st, 4);
    r |= set_col(o, "sex", st, 5);
    if (sqlite3_column_type(st, 6) != SQLITE_NULL)
        r |= json_object_set_new(o, "lives_with_child",
                                 json_boolean(sqlite3_column_int(st, 6)));
    return r;
}

static int task_row(json_t *o, sqlite3_stmt *st, hv_engine *e)
{
    int r = 0;
    r |= set_col(o, "id", st, 0);
    r |= set_col(o, "kind", st, 1);
    r |= set_col(o, "label", st, 2);
    r |= set_time(o, "due_at", st, 3);
    r |= set_col(o, "status", st, 4);
    r |= set_time(o, "done_at", st, 5);
    r |= set_col(o, "assignee", st, 6);
    r |= set_time(o, "created_at", st, 7);
    int overdue = strcmp((const char *)sqlite3_column_text(st, 4), "open") == 0
                  && sqlite3_column_int64(st, 3) < hv_now(e);
    r |= json_object_set_new(o, "overdue", json_boolean(overdue));
    return r;
}

static int event_row(json_t *o, sqlite3_stmt *st, hv_engine *e)
{
    (void)e;
    int r = 0;
    r |= set_col(o, "seq", st, 0);
    r |= set_time(o, "at", st, 1);
    r |= set_col(o, "actor", st, 2);
    r |= set_col(o, "kind", st, 3);
    r |= set_json_col(o, "data", st, 4);
    if (sqlite3_column_type(st, 5) != SQLITE_NULL)
        r |= set_json_col(o, "decision", st, 5);
    return r;
}

/* Appends to arr the rows of sql (bound with ?1 = case_id). */
static hv_status case_rows(hv_engine *e, const char *sql, int64_t case_id,
                           json_t *arr, row_fn row, const char *what)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    if ((s = hv__store_prepare(e, sql, &st)))
        return s;
    sqlite3_bind_int64(st, 1, case_id);
    s = collect(e, st, arr, row, what);
    hv__store_finalize(e, st);
    return s;
}

/* Records that identifying data was read (the audit trail's read events;
 * they are not part of the case's story). */
static hv_status audit_read(hv_engine *e, int64_t case_id, const char *action)
{
    json_t *data = json_pack("{s:s}", "action", action);
    hv_status s = hv__audit_event(e, case_id, "viewed", data);
    json_decref(data);
    return s;
}

/* The events of a case as a JSON array. */
static hv_status history(hv_engine *e, int64_t case_id, json_t *arr)
{
    return case_rows(e,
                     "SELECT seq, at, actor, kind, data, decision FROM events"
                     " WHERE case_id = ?1 AND kind NOT IN ('viewed',"
                     " 'access_refused') ORDER BY seq",
                     case_id, arr, event_row, "reading the history");
}

/* A generic row: every column by its name; *_at / due_at columns as ISO
 * times, *_json columns parsed. */
static int generic_row(json_t *o, sqlite3_stmt *st, hv_engine *e)
{
    (void)e;
    int r = 0;
    for (int i = 0; i < sqlite3_column_count(st); i++) {
        const char *name = sqlite3_column_name(st, i);
        size_t n = strlen(name);
        if (n > 5 && !strcmp(name + n - 5, "_json")) {
            char key[64];
            snprintf(key, sizeof key, "%.*s", (int)(n - 5), name);
            r |= set_json_col(o, key, st, i);
        } else if ((n >= 3 && !strcmp(name + n - 3, "_at")) || !strcmp(name, "at")) {
            r |= set_time(o, name, st, i);
        } else {
            r |= set_col(o, name, st, i);
        }
    }
    return r;
}

/* The lifecycle sections of the case file: assessments, plans with their
 * actions, referrals, conferences, follow-ups, reviews, evaluations,
 * approvals. */
static hv_status build_lifecycle(hv_engine *e, int64_t case_id, json_t *c)
{
    static const struct {
        const char *key;
        const char *sql;
    } sections[] = {
        {"assessments",
         "SELECT a.id, a.kind, a.at, u.login AS by_user, a.safety,"
         " hv_open(a.data) AS detail_json FROM assessments a LEFT JOIN users u ON u.id = a.by_id"
         " WHERE case_id = ?1 ORDER BY a.at, a.id"},
        {"plans",
         "SELECT p.id, p.version, p.status, hv_open(p.goal) AS goal,"
         " hv_open(p.indicators) AS indicators_json, hv_open(p.addresses) AS"
         " addresses_json, p.target_date AS target_at, p.created_at, u.login"
         " AS created_by, p.decided_at, d.login AS decided_by,"
         " hv_open(p.decision_reason) AS decision_reason, (SELECT"
         " json_group_array(json_object('number', seq, 'title',"
         " hv_open(title), 'responsible', responsible, 'provider',"
         " hv_open(provider), 'type', type,"
         " 'due', strftime('%Y-%m-%dT%H:%M:%SZ', due_at, 'unixepoch'),"
         " 'status', status, 'reason', hv_open(status_reason))) FROM (SELECT * FROM"
         " plan_actions WHERE plan_id = p.id ORDER BY seq)) AS actions_json"
         " FROM plans p LEFT JOIN users u ON u.id = p.created_by LEFT JOIN users"
         " d ON d.id = p.decided_by WHERE p.case_id = ?1 ORDER BY p.version"},
        {"referrals",
         "SELECT r.seq AS number, r.service, hv_open(r.provider) AS provider,"
         " r.status, r.sent_at, r.updated_at, hv_open(r.outcome) AS outcome,"
         " o.login AS consent_overridden_by, hv_open(r.consent_override_reason)"
         " AS consent_override_reason FROM referrals r LEFT JOIN users o ON"
         " o.id = r.consent_override_by WHERE r.case_id = ?1 ORDER BY r.seq"},
        {"conferences",
         "SELECT k.at, u.login AS recorded_by, hv_open(k.participants) AS"
         " participants_json, hv_open(k.decisions) AS decisions_json FROM"
         " conferences k"
         " LEFT JOIN users u ON u.id = k.recorded_by WHERE k.case_id = ?1"
         " ORDER BY k.at, k.id"},
        {"followups",
         "SELECT f.at, u.login AS by_user, f.method, f.safety,"
         " hv_open(f.notes) AS notes, f.final"
         " FROM followups f LEFT JOIN users u ON u.id = f.by_id WHERE"
         " f.case_id = ?1 ORDER BY f.at, f.id"},
        {"reviews",
         "SELECT r.at, u.login AS by_user, r.outcome, hv_open(r.notes) AS notes"
         " FROM reviews r"
         " LEFT JOIN users u ON u.id = r.by_id WHERE r.case_id = ?1 ORDER BY"
         " r.at, r.id"},
        {"evaluations",
         "SELECT v.at, u.login AS by_user, p.version AS plan_version,"
         " v.outcome, hv_open(v.data) AS detail_json FROM evaluations v LEFT JOIN users"
         " u ON u.id = v.by_id LEFT JOIN plans p ON p.id = v.plan_id WHERE"
         " v.case_id = ?1 ORDER BY v.at, v.id"},
        {"approvals",
         "SELECT a.subject, a.status, a.requested_at, r.login AS requested_by,"
         " a.decided_at, d.login AS decided_by, hv_open(a.reason) AS reason"
         " FROM approvals a LEFT"
         " JOIN users r ON r.id = a.requested_by LEFT JOIN users d ON d.id ="
         " a.decided_by WHERE a.case_id = ?1 ORDER BY a.id"},
    };
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        json_t *arr = json_array();
        hv_status s;
        if (!arr || json_object_set_new(c, sections[i].key, arr))
            return hv__fail(e, HV_NOMEM, "out of memory");
        if ((s = case_rows(e, sections[i].sql, case_id, arr, generic_row,
                           "reading the case file")))
            return s;
    }
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_prepare(e,
                                    "SELECT closure_reason, closed_at,"
                                    " hv_open(transferred_to), closure_planned"
                                    " FROM cases"
                                    " WHERE id = ?1",
                                    &st);
    if (s)
        return s;
    sqlite3_bind_int64(st, 1, case_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        json_t *cl = json_object();
        set_col(cl, "reason", st, 0);
        set_time(cl, "closed_at", st, 1);
        set_col(cl, "transferred_to", st, 2);
        json_object_set_new(cl, "planned", json_boolean(sqlite3_column_int(st, 3)));
        json_object_set_new(c, "closure", cl);
    }
    hv__store_finalize(e, st);
    return HV_OK;
}

/* Builds the whole case file of case_id into obj. */
static hv_status build_case(hv_engine *e, int64_t case_id, json_t *c)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    json_t *child = json_object(), *family = json_array(),
           *concerns = json_array(), *consents = json_array(),
           *tasks = json_array(), *notes = json_array(), *hist = json_array();
    if (!child || !family || !concerns || !consents || !tasks || !notes ||
        !hist) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto done;
    }
    if ((s = hv__store_prepare(
             e,
             "SELECT c.ref, a.code, w.code, w.version, c.stage, c.status,"
             " c.source, hv_open(c.location), c.urgency, c.risk_level,"
             " c.risk_score, u.login, c.registered_at, r.login, c.updated_at,"
             " c.closed_at, c.version, hv_open(c.form)"
             " FROM cases c JOIN agencies a ON a.id = c.agency_id"
             " JOIN workflows w ON w.id = c.workflow_id"
             " LEFT JOIN users u ON u.id = c.assignee_id"
             " LEFT JOIN users r ON r.id = c.registered_by WHERE c.id = ?1",
             &st)))
        goto done;
    sqlite3_bind_int64(st, 1, case_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        s = rc == SQLITE_DONE ? hv__fail(e, HV_NOTFOUND, "case vanished")
                              : hv__sql_fail(e, rc, "reading a case");
        goto done;
    }
    const char *stage = (const char *)sqlite3_column_text(st, 4);
    const hv_stage *sd = hv__workflow_stage(e->wf, stage);
    json_t *stage_obj = json_pack("{s:s,s:s}", "id", stage, "label",
                                  sd ? sd->label : stage);
    json_t *wf = json_object();
    int r = 0;
    r |= set_col(c, "ref", st, 0);
    r |= set_col(c, "agency", st, 1);
    r |= set_col(wf, "id", st, 2);
    r |= set_col(wf, "version", st, 3);
    r |= json_object_set_new(c, "workflow", wf);
    r |= json_object_set_new(c, "stage", stage_obj);
    r |= set_col(c, "status", st, 5);
    r |= set_col(c, "source", st, 6);
    r |= set_col(c, "location", st, 7);
    r |= set_col(c, "urgency", st, 8);
    json_t *risk = json_object();
    r |= set_col(risk, "level", st, 9);
    r |= set_col(risk, "score", st, 10);
    r |= json_object_set_new(c, "risk", risk);
    r |= set_col(c, "assignee", st, 11);
    r |= set_time(c, "registered_at", st, 12);
    r |= set_col(c, "registered_by", st, 13);
    r |= set_time(c, "updated_at", st, 14);
    r |= set_time(c, "closed_at", st, 15);
    r |= set_col(c, "version", st, 16);
    json_t *form = NULL;
    const char *form_text = (const char *)sqlite3_column_text(st, 17);
    form = form_text ? json_loads(form_text, 0, NULL) : NULL;
    hv__store_finalize(e, st);
    st = NULL;
    if (r) {
        json_decref(form);
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto done;
    }
    if ((s = hv__store_prepare(e,
                               "SELECT hv_open(name), relationship, age,"
                               " age_recorded_at, hv_open(birth_date), sex,"
                               " lives_with_child FROM persons"
                               " WHERE case_id = ?1 AND role = 'child'",
                               &st))) {
        json_decref(form);
        goto done;
    }
    sqlite3_bind_int64(st, 1, case_id);
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        person_row(child, st, e);
        json_object_del(child, "relationship");
        json_object_del(child, "lives_with_child");
    }
    hv__store_finalize(e, st);
    st = NULL;
    json_object_set(c, "child", child);
    json_object_set(c, "family", family);
    json_object_set(c, "concerns", concerns);
    json_object_set(c, "consent", consents);
    json_object_set(c, "tasks", tasks);
    json_object_set(c, "notes", notes);
    json_object_set_new(c, "form", form ? form : json_object());
    json_object_set(c, "history", hist);
    if ((s = case_rows(e,
                       "SELECT hv_open(name), relationship, age,"
                       " age_recorded_at, hv_open(birth_date), sex,"
                       " lives_with_child FROM persons"
                       " WHERE case_id = ?1 AND role = 'family' ORDER BY id",
                       case_id, family, person_row, "reading the family")) ||
        (s = case_rows(e,
                       "SELECT scope, given_by, given_at, withdrawn_at,"
                       " u.login AS recorded_by FROM consents k LEFT JOIN"
                       " users u ON"
                       " u.id = k.recorded_by WHERE case_id = ?1 ORDER BY"
                       " k.id",
                       case_id, consents, generic_row, "reading consent")) ||
        (s = case_rows(e,
                       "SELECT t.id, kind, label, due_at, status, done_at,"
                       " u.login, t.created_at FROM tasks t LEFT JOIN users u"
                       " ON u.id = t.assignee_id WHERE case_id = ?1"
                       " ORDER BY status != 'open', due_at, t.id",
                       case_id, tasks, task_row, "reading tasks")) ||
        (s = case_rows(e,
                       "SELECT at, u.login AS \"by\", hv_open(text) AS text"
                       " FROM notes n LEFT JOIN users"
                       " u ON u.id = n.author_id WHERE case_id = ?1"
                       " ORDER BY at, n.id",
                       case_id, notes, generic_row, "reading notes")) ||
        (s = build_lifecycle(e, case_id, c)) ||
        (s = history(e, case_id, hist)))
        goto done;
    /* history last, after the lifecycle sections */
    json_object_del(c, "history");
    json_object_set(c, "history", hist);
    /* Concerns are plain codes. */
    if ((s = hv__store_prepare(e,
                               "SELECT code FROM case_concerns WHERE"
                               " case_id = ?1 ORDER BY code",
                               &st)))
        goto done;
    sqlite3_bind_int64(st, 1, case_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(concerns,
                              json_string((const char *)sqlite3_column_text(st, 0)));
    if (rc != SQLITE_DONE)
        s = hv__sql_fail(e, rc, "reading concerns");
done:
    hv__store_finalize(e, st);
    json_decref(child);
    json_decref(family);
    json_decref(concerns);
    json_decref(consents);
    json_decref(tasks);
    json_decref(notes);
    json_decref(hist);
    return s;
}

HV_API hv_status hv_case_get_json(hv_engine *e, const char *ref,
                                  char **out_json)
{
    int64_t case_id;
    hv_status s;
    *out_json = NULL;
    hv__clear_error(e);
    if (!ref)
        return hv__fail(e, HV_USAGE, "show: a case reference is required");
    if ((s = hv__case_access(e, ref, "show", 0, &case_id, NULL)))
        return s;
    json_t *c = json_object();
    if (!c)
        return hv__fail(e, HV_NOMEM, "out of memory");
    if ((s = build_case(e, case_id, c)) == HV_OK &&
        (s = audit_read(e, case_id, "show")) == HV_OK)
        s = hv__json_out(e, c, out_json);
    json_decref(c);
    return s;
}

HV_API hv_status hv_case_history_json(hv_engine *e, const char *ref,
                                      char **out_json)
{
    int64_t case_id;
    hv_status s;
    *out_json = NULL;
    hv__clear_error(e);
    if ((s = hv__case_access(e, ref, "history", 0, &case_id, NULL)))
        return s;
    json_t *arr = json_array();
    if (!arr)
        return hv__fail(e, HV_NOMEM, "out of memory");
    if ((s = history(e, case_id, arr)) == HV_OK &&
        (s = audit_read(e, case_id, "history")) == HV_OK)
        s = hv__json_out(e, arr, out_json);
    json_decref(arr);
    return s;
}

/* The summary columns shared by list and search. */
#define SUMMARY_COLUMNS                                                      \
    "c.ref, c.stage, c.status, c.source, u.login, c.registered_at,"          \
    " c.version, c.urgency, c.risk_level,"                                   \
    " (SELECT json_group_array(code) FROM case_concerns k"                   \
    "  WHERE k.case_id = c.id)"

static int summary_row(json_t *o, sqlite3_stmt *st, hv_engine *e)
{
    (void)e;
    int r = 0;
    r |= set_col(o, "ref", st, 0);
    r |= set_col(o, "stage", st, 1);
    r |= set_col(o, "status", st, 2);
    r |= set_col(o, "source", st, 3);
    r |= set_col(o, "assignee", st, 4);
    r |= set_time(o, "registered_at", st, 5);
    r |= set_col(o, "version", st, 6);
    r |= set_col(o, "urgency", st, 7);
    r |= set_col(o, "risk_level", st, 8);
    const char *t = (const char *)sqlite3_column_text(st, 9);
    json_t *codes = t ? json_loads(t, 0, NULL) : NULL;
    r |= json_object_set_new(o, "concerns", codes ? codes : json_array());
    return r;
}

HV_API hv_status hv_case_list(hv_engine *e, const hv_case_filter *f,
                              char **out_json)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    hv_case_filter none = {0};
    *out_json = NULL;
    hv__clear_error(e);
    if (!f)
        f = &none;
    int all = 0, supervisor = 0;
    int64_t me = 0;
    if ((s = hv__list_scope(e, &all, &me, &supervisor)))
        return s;
    /* Filters name workflow codes: an unknown one is a mistake, not "no
     * cases". */
    if (f->stage && !hv__workflow_stage(e->wf, f->stage))
        return hv__fail(e, HV_INVALID, "list: --stage: no stage '%s' in "
                        "workflow %s", hv__echo_safe(f->stage) ? f->stage : "?",
                        e->wf->id);
    if (f->source && hv__workflow_lookup(e->wf, "referral_sources") &&
        !hv__workflow_has_code(e->wf, "referral_sources", f->source))
        return hv__fail(e, HV_INVALID, "list: --source: unknown code '%s'",
                        hv__echo_safe(f->source) ? f->source : "?");
    if (f->concern && hv__workflow_lookup(e->wf, "concerns") &&
        !hv__workflow_has_code(e->wf, "concerns", f->concern))
        return hv__fail(e, HV_INVALID, "list: --concern: unknown code '%s'",
                        hv__echo_safe(f->concern) ? f->concern : "?");
    /* The agency's list walks the cases newest first; a caseworker's or a
     * supervisor's starts from their own cases and their team's (through
     * the assignee index), so it costs the same on a national caseload. */
#define LIST_FILTERS                                                           \
    " LEFT JOIN users u ON u.id = c.assignee_id"                               \
    " WHERE (?1 IS NULL OR c.stage = ?1)"                                      \
    "   AND (?2 IS NULL OR c.source = ?2)"                                     \
    "   AND (?3 IS NULL OR EXISTS (SELECT 1 FROM case_concerns k"              \
    "        WHERE k.case_id = c.id AND k.code = ?3))"                         \
    "   AND (?4 IS NULL OR u.login = ?4)"                                      \
    " ORDER BY c.id DESC LIMIT ?5"
    if ((s = hv__store_prepare(
             e,
             all ? "SELECT " SUMMARY_COLUMNS " FROM cases c" LIST_FILTERS
                 : "SELECT " SUMMARY_COLUMNS " FROM ("
                   "   SELECT * FROM cases WHERE assignee_id = ?7"
                   "   UNION ALL"
                   "   SELECT x.* FROM users m CROSS JOIN cases x ON x.assignee_id = m.id"
                   "   WHERE ?8 = 1 AND m.supervisor_id = ?7 AND m.id <> ?7"
                   " ) c" LIST_FILTERS,
             &st)))
        return s;
#undef LIST_FILTERS
    if (f->stage)
        sqlite3_bind_text(st, 1, f->stage, -1, SQLITE_STATIC);
    if (f->source)
        sqlite3_bind_text(st, 2, f->source, -1, SQLITE_STATIC);
    if (f->concern)
        sqlite3_bind_text(st, 3, f->concern, -1, SQLITE_STATIC);
    if (f->assignee)
        sqlite3_bind_text(st, 4, f->assignee, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, f->limit > 0 ? f->limit : -1);
    if (!all) {
        sqlite3_bind_int64(st, 7, me);
        sqlite3_bind_int(st, 8, supervisor);
    }
    json_t *arr = json_array();
    s = arr ? collect(e, st, arr, summary_row, "listing cases")
            : hv__fail(e, HV_NOMEM, "out of memory");
    hv__store_finalize(e, st);
    if (s == HV_OK)
        s = hv__json_out(e, arr, out_json);
    json_decref(arr);
    return s;
}

static int search_row(json_t *o, sqlite3_stmt *st, hv_engine *e)
{
    int r = summary_row(o, st, e);
    r |= set_col(o, "name", st, 10);
    return r;
}

HV_API hv_status hv_case_search(hv_engine *e, const char *text,
                                char **out_json)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    char *keys_text = NULL;
    *out_json = NULL;
    hv__clear_error(e);
    json_t *keys = json_array(), *arr = json_array();
    if (!keys || !arr) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto done;
    }
    if ((s = hv__need_key(e, "search")))
        goto done;
    if (!text || hv__name_keys(text, keys) != 0 || json_array_size(keys) == 0) {
        s = hv__fail(e, HV_USAGE, "search: give a name (letters) to search for");
        goto done;
    }
    if (!(keys_text = json_dumps(keys, JSON_COMPACT))) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto done;
    }
    /* Names are identifying data: only the roles that read case files
     * search, and only among their own cases. */
    int64_t me = 0;
    char role[32];
    if ((s = hv__actor(e, &me, role, sizeof role)))
        goto done;
    if (!hv__role_reads_cases(role)) {
        s = hv__fail(e, HV_DENIED, "search: a%s %s does not search names",
                     role[0] == 'a' ? "n" : "", role);
        goto done;
    }
    /* A child matches when any part of the searched name shares a
     * spelling key with a part of the child's name; the children sharing
     * the most keys come first. */
    if ((s = hv__store_prepare(
             e,
             /* From the user's own cases and their team's (the assignee
              * index), each child's keys looked up by person: the same
              * cost on a national caseload as on a small one. */
             "SELECT * FROM (SELECT " SUMMARY_COLUMNS ", hv_open(p.name),"
             "   (SELECT count(*) FROM person_name_keys k WHERE k.person_id = p.id"
             "    AND +k.key IN (SELECT hv_blind(value) FROM json_each(?1))) AS hits,"
             "   c.id AS case_id FROM ("
             "   SELECT * FROM cases WHERE assignee_id = ?2"
             "   UNION ALL"
             "   SELECT x.* FROM users m CROSS JOIN cases x ON x.assignee_id = m.id"
             "   WHERE ?3 = 1 AND m.supervisor_id = ?2 AND m.id <> ?2"
             " ) c CROSS JOIN persons p ON p.case_id = c.id AND p.role = 'child'"
             " LEFT JOIN users u ON u.id = c.assignee_id)"
             " WHERE hits > 0 ORDER BY hits DESC, case_id DESC LIMIT 200",
             &st)))
        goto done;
    sqlite3_bind_text(st, 1, keys_text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, me);
    sqlite3_bind_int(st, 3, !strcmp(role, "supervisor"));
    s = collect(e, st, arr, search_row, "searching");
    hv__store_finalize(e, st);
    st = NULL;
    if (s == HV_OK) {
        /* Each hit is a read of a name: one audit event per case shown. */
        size_t i;
        json_t *hit;
        json_array_foreach(arr, i, hit) {
            int64_t id = 0;
            if (hv__store_case_lookup(e, json_string_value(json_object_get(hit, "ref")),
                                      &id, NULL) == HV_OK &&
                (s = audit_read(e, id, "search")) != HV_OK)
                break;
        }
    }
    if (s == HV_OK)
        s = hv__json_out(e, arr, out_json);
done:
    hv__store_finalize(e, st);
    json_decref(keys);
    json_decref(arr);
    free(keys_text);
    return s;
}

HV_API hv_status hv_case_summary_json(hv_engine *e, const char *ref,
                                      char **out_json)
{
    sqlite3_stmt *st = NULL;
    int64_t case_id;
    hv_status s;
    *out_json = NULL;
    hv__clear_error(e);
    if ((s = hv__case_access(e, ref, "summary", 0, &case_id, NULL)))
        return s;
    if ((s = hv__store_prepare(e,
                               "SELECT " SUMMARY_COLUMNS " FROM cases c"
                               " LEFT JOIN users u ON u.id = c.assignee_id"
                               " WHERE c.id = ?1",
                               &st)))
        return s;
    sqlite3_bind_int64(st, 1, case_id);
    json_t *arr = json_array();
    s = arr ? collect(e, st, arr, summary_row, "reading a case")
            : hv__fail(e, HV_NOMEM, "out of memory");
    hv__store_finalize(e, st);
    st = NULL;
    /* The open tasks (kind, label, due): codes and dates, no narrative. */
    json_t *tasks = s == HV_OK ? json_array() : NULL;
    if (s == HV_OK && (!tasks || json_object_set_new(json_array_get(arr, 0),
                                                     "open_tasks", tasks)))
        s = hv__fail(e, HV_NOMEM, "out of memory");
    if (s == HV_OK &&
        (s = hv__store_prepare(e,
                               "SELECT kind, label, due_at FROM tasks WHERE"
                               " case_id = ?1 AND status = 'open' ORDER BY due_at + 0, id",
                               &st)) == HV_OK) {
        sqlite3_bind_int64(st, 1, case_id);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            char due[32];
            hv_time_format(sqlite3_column_int64(st, 2), due, sizeof due);
            if (json_array_append_new(
                    tasks, json_pack("{s:s,s:s,s:s,s:s}", "kind",
                                     (const char *)sqlite3_column_text(st, 0), "label",
                                     (const char *)sqlite3_column_text(st, 1), "due_at",
                                     due, "status", "open"))) {
                s = hv__fail(e, HV_NOMEM, "out of memory");
                break;
            }
        }
        if (s == HV_OK && rc != SQLITE_DONE)
            s = hv__sql_fail(e, rc, "reading the case's tasks");
    }
    hv__store_finalize(e, st);
    if (s == HV_OK)
        s = hv__json_out(e, json_array_get(arr, 0), out_json);
    json_decref(arr);
    return s;
}
