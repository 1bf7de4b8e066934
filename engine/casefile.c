/* casefile.c - reading cases: the case file, its summary, the lists and
 * the history.  Every function here only reads (and records the read in
 * the audit trail). */
#include "casefile.h"

#include <string.h>

#include "age.h"
#include "jbuf.h"
#include "alloc.h"
#include "store.h"
#include "error.h"
#include "access.h"
#include "context.h"
#include "rulesapi.h"


/* Sets key to column i as text, integer, real or null.  Returns 0, or -1
 * when out of memory. */
static int set_col(json_t *obj, const char *key, sqlite3_stmt *st, int i)
{
    json_t *v;
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL: v = json_null(); break;
    case SQLITE_INTEGER: v = json_integer(sqlite3_column_int64(st, i)); break;
    case SQLITE_FLOAT: v = hv__json_number(sqlite3_column_double(st, i)); break;
    default: v = json_string((const char *)sqlite3_column_text(st, i)); break;
    }
    return json_object_set_new(obj, key, v);
}

/* Sets key to column i (UTC seconds) as an ISO 8601 string, or null.
 * Returns 0, or -1 when out of memory. */
static int set_time(json_t *obj, const char *key, sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return json_object_set_new(obj, key, json_null());
    char buf[32];
    hv_time_format(sqlite3_column_int64(st, i), buf, sizeof buf);
    return json_object_set_new(obj, key, json_string(buf));
}

/* Sets key to the JSON text in column i, or {} if it is not JSON.
 * Returns 0, or -1 when out of memory. */
static int set_json_col(json_t *obj, const char *key, sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    json_t *v = t ? json_loads(t, 0, NULL) : NULL;
    return json_object_set_new(obj, key, v ? v : json_object());
}

/* How a column becomes a JSON value (set_cols). */
typedef enum { COL_PLAIN, COL_TIME, COL_JSON } col_kind;
typedef struct {
    const char *key;
    col_kind kind;
} col_spec;

/* Sets spec[i].key from column first + i, for i < n, each as its kind
 * says (plain, an ISO 8601 time, parsed JSON).  Returns 0, or -1 when out
 * of memory. */
static int set_cols(json_t *obj, sqlite3_stmt *st, int first,
                    const col_spec *spec, size_t n)
{
    int r = 0;
    for (size_t i = 0; i < n; i++) {
        int col = first + (int)i;
        r |= spec[i].kind == COL_TIME ? set_time(obj, spec[i].key, st, col)
             : spec[i].kind == COL_JSON ? set_json_col(obj, spec[i].key, st, col)
                                        : set_col(obj, spec[i].key, st, col);
    }
    return r;
}

/* The age now (a new JSON integer, or null; age.h) of a person with the
 * date of birth in column dob_col, else recorded with the age in column
 * age_col at the time in column at_col; NULL when out of memory. */
static json_t *current_age(sqlite3_stmt *st, int age_col, int at_col,
                           int dob_col, hv_time now)
{
    int64_t age = hv__age_now(
        (const char *)sqlite3_column_text(st, dob_col),
        sqlite3_column_type(st, age_col) == SQLITE_NULL
            ? -1
            : sqlite3_column_int64(st, age_col),
        sqlite3_column_int64(st, at_col), now);
    return age < 0 ? json_null() : json_integer(age);
}

/* Fills obj from the current row of st; returns 0, or non-zero when out
 * of memory. */
typedef int (*row_fn)(json_t *obj, sqlite3_stmt *st, hv_engine *e);

/* Steps st to its end, appending one object per row built by `row` to
 * arr; `what` names the read in a SQL failure's message.  st stays the
 * caller's. */
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

/* A person: name, relationship, age now, dob, sex, lives_with_child (null
 * when not recorded). */
static int person_row(json_t *o, sqlite3_stmt *st, hv_engine *e)
{
    int r = 0;
    r |= set_col(o, "name", st, 0);
    r |= set_col(o, "relationship", st, 1);
    r |= json_object_set_new(o, "age", current_age(st, 2, 3, 4, hv_now(e)));
    r |= set_col(o, "dob", st, 4);
    r |= set_col(o, "sex", st, 5);
    r |= json_object_set_new(o, "lives_with_child",
                             sqlite3_column_type(st, 6) == SQLITE_NULL
                                 ? json_null()
                                 : json_boolean(sqlite3_column_int(st, 6)));
    return r;
}

/* A task, with "overdue" when it is open past its due time. */
static int task_row(json_t *o, sqlite3_stmt *st, hv_engine *e)
{
    static const col_spec cols[] = {
        {"id", COL_PLAIN},       {"kind", COL_PLAIN},   {"label", COL_PLAIN},
        {"due_at", COL_TIME},    {"status", COL_PLAIN}, {"done_at", COL_TIME},
        {"assignee", COL_PLAIN}, {"created_at", COL_TIME}};
    int r = set_cols(o, st, 0, cols, sizeof cols / sizeof cols[0]);
    int overdue = strcmp((const char *)sqlite3_column_text(st, 4), "open") == 0
                  && sqlite3_column_int64(st, 3) < hv_now(e);
    r |= json_object_set_new(o, "overdue", json_boolean(overdue));
    return r;
}

/* An event of the history: its data and rule decisions parsed ([] when
 * no rule decided). */
static int event_row(json_t *o, sqlite3_stmt *st, hv_engine *e)
{
    (void)e;
    static const col_spec cols[] = {{"seq", COL_PLAIN},   {"at", COL_TIME},
                                    {"user", COL_PLAIN},  {"kind", COL_PLAIN},
                                    {"data", COL_JSON}};
    int r = set_cols(o, st, 0, cols, sizeof cols / sizeof cols[0]);
    const char *t = (const char *)sqlite3_column_text(st, 5);
    json_t *decisions = t ? json_loads(t, 0, NULL) : NULL;
    r |= json_object_set_new(o, "decisions", decisions ? decisions : json_array());
    return r;
}

/* A generic row: every column by its name; *_at / at columns as ISO
 * times, *_json columns parsed and *_bool columns (0 or 1) as false or
 * true (each under the name without its suffix). */
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
        } else if (n > 5 && !strcmp(name + n - 5, "_bool")) {
            char key[64];
            snprintf(key, sizeof key, "%.*s", (int)(n - 5), name);
            r |= json_object_set_new(o, key, json_boolean(sqlite3_column_int(st, i)));
        } else if ((n >= 3 && !strcmp(name + n - 3, "_at")) || !strcmp(name, "at")) {
            r |= set_time(o, name, st, i);
        } else {
            r |= set_col(o, name, st, i);
        }
    }
    return r;
}

/* Appends to arr the rows of sql (bound with ?1 = case_id), each built by
 * `row`. */
static hv_status case_rows(hv_engine *e, const char *sql, int64_t case_id,
                           json_t *arr, row_fn row, const char *what)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    if ((s = hv__store_preparef(e, &st, sql, "i", case_id)))
        return s;
    s = collect(e, st, arr, row, what);
    hv__store_finalize(e, st);
    return s;
}

/* A section of the case file: key, its query (?1 = the case id), how a
 * row reads and what a SQL failure's message names. */
typedef struct {
    const char *key;
    const char *sql;
    row_fn row;
    const char *what;
} section;

/* Sets c[key] to v, a new value taken over.  Returns v, or NULL (v
 * released) when v is NULL or out of memory. */
static json_t *attach(json_t *c, const char *key, json_t *v)
{
    return json_object_set_new(c, key, v) ? NULL : v;
}

/* Fills v from st (prepared and bound by read_part). */
typedef hv_status (*part_fill)(hv_engine *e, sqlite3_stmt *st, json_t *v);

/* Sets c[key] to v (a new value, taken over) and fills it by `fill` from
 * sql, bound with ?1 = case_id. */
static hv_status read_part(hv_engine *e, json_t *c, const char *key, json_t *v,
                           const char *sql, int64_t case_id, part_fill fill)
{
    sqlite3_stmt *st = NULL;
    if (!attach(c, key, v))
        return hv__fail(e, HV_NOMEM, "out of memory");
    hv_status s = hv__store_preparef(e, &st, sql, "i", case_id);
    if (s == HV_OK)
        s = fill(e, st, v);
    hv__store_finalize(e, st);
    return s;
}

/* Sets c[key] to a new array of each section's rows, in order. */
static hv_status add_sections(hv_engine *e, int64_t case_id, json_t *c,
                              const section *sections, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_t *arr = attach(c, sections[i].key, json_array());
        hv_status s;
        if (!arr)
            return hv__fail(e, HV_NOMEM, "out of memory");
        if ((s = case_rows(e, sections[i].sql, case_id, arr, sections[i].row,
                           sections[i].what)))
            return s;
    }
    return HV_OK;
}

hv_status hv__case_audit_read(hv_engine *e, int64_t case_id,
                              const char *action)
{
    json_t *data = json_pack("{s:s}", "action", action);
    hv_status s = hv__audit_event(e, case_id, "viewed", data);
    json_decref(data);
    return s;
}

/* Appends the events of a case (not the audit trail's reads and
 * refusals) to arr. */
static hv_status history(hv_engine *e, int64_t case_id, json_t *arr)
{
    return case_rows(e,
                     "SELECT seq, at, actor, kind, data, decision FROM events"
                     " WHERE case_id = ?1 AND kind NOT IN ('viewed',"
                     " 'access_refused') ORDER BY seq",
                     case_id, arr, event_row, "reading the history");
}

/* The lifecycle sections of the case file: assessments, plans with their
 * actions, referrals, conferences, follow-ups, reviews, evaluations,
 * approvals. */
static const section lifecycle_sections[] = {
    {"assessments",
     "SELECT a.id, a.kind, a.at, u.login AS by_user, a.safety,"
     " hv_open(a.data, 'assessments', 'data', a.id) AS detail_json FROM"
     " assessments a LEFT JOIN users u ON u.id = a.by_id"
     " WHERE case_id = ?1 ORDER BY a.at, a.id",
     generic_row, "reading the case file"},
    {"plans",
     "SELECT p.id, p.version, p.status, hv_open(p.goal, 'plans', 'goal',"
     " p.id) AS goal, hv_open(p.indicators, 'plans', 'indicators', p.id) AS"
     " indicators_json, hv_open(p.addresses, 'plans', 'addresses', p.id) AS"
     " addresses_json, p.target_date AS target_at, p.created_at, u.login"
     " AS created_by, p.decided_at, d.login AS decided_by,"
     " hv_open(p.decision_reason, 'plans', 'decision_reason', p.id) AS"
     " decision_reason, (SELECT"
     " json_group_array(json_object('number', seq, 'title',"
     " hv_open(title, 'plan_actions', 'title', id), 'responsible',"
     " responsible, 'provider', hv_open(provider, 'plan_actions',"
     " 'provider', id), 'type', type,"
     " 'due', strftime('%Y-%m-%dT%H:%M:%SZ', due_at, 'unixepoch'),"
     " 'status', status, 'reason', hv_open(status_reason, 'plan_actions',"
     " 'status_reason', id))) FROM (SELECT * FROM"
     " plan_actions WHERE plan_id = p.id ORDER BY seq)) AS actions_json"
     " FROM plans p LEFT JOIN users u ON u.id = p.created_by LEFT JOIN users"
     " d ON d.id = p.decided_by WHERE p.case_id = ?1 ORDER BY p.version",
     generic_row, "reading the case file"},
    {"referrals",
     "SELECT r.seq AS number, r.service, hv_open(r.provider, 'referrals',"
     " 'provider', r.id) AS provider, r.status, r.sent_at, r.updated_at,"
     " hv_open(r.outcome, 'referrals', 'outcome', r.id) AS outcome,"
     " o.login AS consent_overridden_by, hv_open(r.consent_override_reason,"
     " 'referrals', 'consent_override_reason', r.id)"
     " AS consent_override_reason FROM referrals r LEFT JOIN users o ON"
     " o.id = r.consent_override_by WHERE r.case_id = ?1 ORDER BY r.seq",
     generic_row, "reading the case file"},
    {"conferences",
     "SELECT k.at, u.login AS recorded_by, hv_open(k.participants,"
     " 'conferences', 'participants', k.id) AS participants_json,"
     " hv_open(k.decisions, 'conferences', 'decisions', k.id) AS"
     " decisions_json FROM"
     " conferences k"
     " LEFT JOIN users u ON u.id = k.recorded_by WHERE k.case_id = ?1"
     " ORDER BY k.at, k.id",
     generic_row, "reading the case file"},
    {"followups",
     "SELECT f.at, u.login AS by_user, f.method, f.safety,"
     " hv_open(f.notes, 'followups', 'notes', f.id) AS notes, f.final AS"
     " final_bool FROM followups f LEFT JOIN users u ON u.id = f.by_id WHERE"
     " f.case_id = ?1 ORDER BY f.at, f.id",
     generic_row, "reading the case file"},
    {"reviews",
     "SELECT r.at, u.login AS by_user, r.outcome, hv_open(r.notes,"
     " 'reviews', 'notes', r.id) AS notes"
     " FROM reviews r"
     " LEFT JOIN users u ON u.id = r.by_id WHERE r.case_id = ?1 ORDER BY"
     " r.at, r.id",
     generic_row, "reading the case file"},
    {"evaluations",
     "SELECT v.at, u.login AS by_user, p.version AS plan_version,"
     " v.outcome, hv_open(v.data, 'evaluations', 'data', v.id) AS"
     " detail_json FROM evaluations v LEFT JOIN users"
     " u ON u.id = v.by_id LEFT JOIN plans p ON p.id = v.plan_id WHERE"
     " v.case_id = ?1 ORDER BY v.at, v.id",
     generic_row, "reading the case file"},
    {"approvals",
     /* a transfer waits as a closure whose reason is transferred */
     "SELECT CASE WHEN a.subject = 'closure' AND json_extract(a.detail,"
     " '$.reason') = 'transferred' THEN 'transfer' ELSE a.subject END AS"
     " subject, a.status, a.requested_at, r.login AS requested_by,"
     " a.decided_at, d.login AS decided_by, hv_open(a.reason, 'approvals',"
     " 'reason', a.id) AS reason"
     " FROM approvals a LEFT"
     " JOIN users r ON r.id = a.requested_by LEFT JOIN users d ON d.id ="
     " a.decided_by WHERE a.case_id = ?1 ORDER BY a.id",
     generic_row, "reading the case file"},
};

/* The people and records of the case file after the child: family,
 * consent, tasks, notes (concerns, read apart, sit between family and
 * consent). */
static const section family_section = {
    "family",
    "SELECT hv_open(name, 'persons', 'name', id), relationship, age,"
    " age_recorded_at, hv_open(birth_date, 'persons', 'birth_date', id),"
    " sex, lives_with_child FROM persons"
    " WHERE case_id = ?1 AND role = 'family' ORDER BY id",
    person_row, "reading the family"};
static const section record_sections[] = {
    {"consent",
     "SELECT scope, given_by, given_at, withdrawn_at,"
     " u.login AS recorded_by FROM consents k LEFT JOIN"
     " users u ON"
     " u.id = k.recorded_by WHERE case_id = ?1 ORDER BY"
     " k.id",
     generic_row, "reading consent"},
    {"tasks",
     "SELECT t.id, kind, label, due_at, status, done_at,"
     " u.login, t.created_at FROM tasks t LEFT JOIN users u"
     " ON u.id = t.assignee_id WHERE case_id = ?1"
     " ORDER BY status != 'open', due_at, t.id",
     task_row, "reading tasks"},
    {"notes",
     "SELECT at, u.login AS \"by\", hv_open(text, 'notes', 'text', n.id) AS"
     " text"
     " FROM notes n LEFT JOIN users"
     " u ON u.id = n.author_id WHERE case_id = ?1"
     " ORDER BY at, n.id",
     generic_row, "reading notes"},
};

/* Sets c.closure (reason, closed_at, transferred_to, planned) from the
 * case's row. */
static hv_status add_closure(hv_engine *e, int64_t case_id, json_t *c)
{
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_preparef(e, &st,
                                     "SELECT closure_reason, closed_at,"
                                     " hv_open(transferred_to, 'cases',"
                                     " 'transferred_to', id), closure_planned"
                                     " FROM cases"
                                     " WHERE id = ?1",
                                     "i", case_id);
    if (s)
        return s;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        s = hv__sql_fail(e, rc, "reading the closure");
    if (rc == SQLITE_ROW) {
        json_t *cl = json_object();
        int bad = !cl;
        bad |= set_col(cl, "reason", st, 0);
        bad |= set_time(cl, "closed_at", st, 1);
        bad |= set_col(cl, "transferred_to", st, 2);
        bad |= json_object_set_new(cl, "planned",
                                   json_boolean(sqlite3_column_int(st, 3)));
        bad |= json_object_set_new(c, "closure", cl);
        if (bad)
            s = hv__fail(e, HV_NOMEM, "out of memory");
    }
    hv__store_finalize(e, st);
    return s;
}

/* Sets the case's own fields in c, from ref to version (the row of cases
 * with its agency, workflow, stage label, assignee and registrar).
 * out: *form, the case's form (a new object, or NULL if none or not
 * JSON) for the caller to place. */
static hv_status add_case_fields(hv_engine *e, int64_t case_id, json_t *c,
                                 json_t **form)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    *form = NULL;
    if ((s = hv__store_preparef(
             e, &st,
             "SELECT c.ref, a.code, w.code, w.version, c.stage, c.status,"
             " c.source, hv_open(c.location, 'cases', 'location', c.id),"
             " c.urgency, c.risk_level, c.risk_score, u.login,"
             " c.registered_at, r.login, c.updated_at, c.closed_at,"
             " c.version, hv_open(c.form, 'cases', 'form', c.id)"
             " FROM cases c JOIN agencies a ON a.id = c.agency_id"
             " JOIN workflows w ON w.id = c.workflow_id"
             " LEFT JOIN users u ON u.id = c.assignee_id"
             " LEFT JOIN users r ON r.id = c.registered_by WHERE c.id = ?1",
             "i", case_id)))
        return s;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        hv__store_finalize(e, st);
        return rc == SQLITE_DONE ? hv__fail(e, HV_NOTFOUND, "case vanished")
                                 : hv__sql_fail(e, rc, "reading a case");
    }
    const char *stage = (const char *)sqlite3_column_text(st, 4);
    const hv_stage *sd = hv__workflow_stage(e->wf, stage);
    json_t *wf = json_object(), *risk = json_object();
    int r = !wf || !risk;
    r |= set_col(c, "ref", st, 0);
    r |= set_col(c, "agency", st, 1);
    /* a simulated database's times are not real: say so wherever it shows */
    r |= json_object_set_new(c, "clock",
                             json_string(e->simulated ? "simulated" : "live"));
    r |= set_col(wf, "id", st, 2);
    r |= set_col(wf, "version", st, 3);
    r |= json_object_set_new(c, "workflow", wf);
    r |= json_object_set_new(c, "stage", json_pack("{s:s,s:s}", "id", stage,
                                                   "label", sd ? sd->label : stage));
    static const col_spec where[] = {{"status", COL_PLAIN},
                                     {"source", COL_PLAIN},
                                     {"location", COL_PLAIN},
                                     {"urgency", COL_PLAIN}};
    static const col_spec risk_cols[] = {{"level", COL_PLAIN},
                                         {"score", COL_PLAIN}};
    static const col_spec record[] = {
        {"assignee", COL_PLAIN},     {"registered_at", COL_TIME},
        {"registered_by", COL_PLAIN}, {"updated_at", COL_TIME},
        {"closed_at", COL_TIME},     {"version", COL_PLAIN}};
    r |= set_cols(c, st, 5, where, sizeof where / sizeof where[0]);
    r |= set_cols(risk, st, 9, risk_cols, sizeof risk_cols / sizeof risk_cols[0]);
    r |= json_object_set_new(c, "risk", risk);
    r |= set_cols(c, st, 11, record, sizeof record / sizeof record[0]);
    const char *form_text = (const char *)sqlite3_column_text(st, 17);
    *form = form_text ? json_loads(form_text, 0, NULL) : NULL;
    hv__store_finalize(e, st);
    if (r) {
        json_decref(*form);
        *form = NULL;
        return hv__fail(e, HV_NOMEM, "out of memory");
    }
    return HV_OK;
}

/* The child's row into child: name, age now, dob and sex (nothing if no
 * child is recorded). */
static hv_status fill_child(hv_engine *e, sqlite3_stmt *st, json_t *child)
{
    hv_status s = HV_OK;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return hv__sql_fail(e, rc, "reading the child");
    if (rc == SQLITE_ROW) {
        if (person_row(child, st, e))
            s = hv__fail(e, HV_NOMEM, "out of memory");
        json_object_del(child, "relationship");
        json_object_del(child, "lives_with_child");
    }
    return s;
}

/* Sets c.child: the child's name, age now, dob and sex ({} if no child is
 * recorded). */
static hv_status add_child(hv_engine *e, int64_t case_id, json_t *c)
{
    return read_part(e, c, "child", json_object(),
                     "SELECT hv_open(name, 'persons', 'name', id),"
                     " relationship, age, age_recorded_at, hv_open(birth_date,"
                     " 'persons', 'birth_date', id), sex, lives_with_child"
                     " FROM persons WHERE case_id = ?1 AND role = 'child'",
                     case_id, fill_child);
}

/* Each row's code (column 0) appended to concerns. */
static hv_status fill_codes(hv_engine *e, sqlite3_stmt *st, json_t *concerns)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (json_array_append_new(
                concerns,
                json_string((const char *)sqlite3_column_text(st, 0))))
            return hv__fail(e, HV_NOMEM, "out of memory");
    return rc == SQLITE_DONE ? HV_OK : hv__sql_fail(e, rc, "reading concerns");
}

/* Sets c.concerns: the case's concern codes, in code order. */
static hv_status add_concerns(hv_engine *e, int64_t case_id, json_t *c)
{
    return read_part(e, c, "concerns", json_array(),
                     "SELECT code FROM case_concerns WHERE"
                     " case_id = ?1 ORDER BY code",
                     case_id, fill_codes);
}

/* Sets c.decisions: the latest rule decisions a caseworker acts on, their
 * codes worded by the pack in force (hv__case_decisions). */
static hv_status add_decisions(hv_engine *e, int64_t case_id, json_t *c)
{
    json_t *d = attach(c, "decisions", json_object());
    return d ? hv__case_decisions(e, case_id, d)
             : hv__fail(e, HV_NOMEM, "out of memory");
}

/* Builds the whole case file of case_id into the object c: the case's
 * fields, the latest rule decisions, child, family, concerns, consent,
 * tasks, notes, form, the lifecycle sections, closure, and the history
 * last. */
static hv_status build_case(hv_engine *e, int64_t case_id, json_t *c)
{
    json_t *form = NULL, *hist;
    hv_status s;
    if ((s = add_case_fields(e, case_id, c, &form)) ||
        (s = add_decisions(e, case_id, c)) ||
        (s = add_child(e, case_id, c)) ||
        (s = add_sections(e, case_id, c, &family_section, 1)) ||
        (s = add_concerns(e, case_id, c)) ||
        (s = add_sections(e, case_id, c, record_sections,
                          sizeof record_sections / sizeof record_sections[0]))) {
        json_decref(form);
        return s;
    }
    if (json_object_set_new(c, "form", form ? form : json_object()))
        return hv__fail(e, HV_NOMEM, "out of memory");
    if ((s = add_sections(e, case_id, c, lifecycle_sections,
                          sizeof lifecycle_sections / sizeof lifecycle_sections[0])) ||
        (s = add_closure(e, case_id, c)))
        return s;
    if (!(hist = attach(c, "history", json_array())))
        return hv__fail(e, HV_NOMEM, "out of memory");
    return history(e, case_id, hist);
}

/* Builds what is read of case_id into v (an object or an array). */
typedef hv_status (*case_reader)(hv_engine *e, int64_t case_id, json_t *v);

/* The read calls' one path: the case by ref if the acting user may reach
 * it (hv__case_access, naming action), v (a new, empty object or array,
 * taken over) filled by `read`, the read audited when audited, and v's
 * JSON text into *out_json for the caller to hv_free. */
static hv_status read_case(hv_engine *e, const char *ref, const char *action,
                           int audited, json_t *v, case_reader read,
                           char **out_json)
{
    int64_t case_id;
    hv_status s;
    if ((s = hv__case_access(e, ref, action, 0, &case_id, NULL)))
        goto done;
    if (!v) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto done;
    }
    if ((s = read(e, case_id, v)) == HV_OK &&
        (!audited || (s = hv__case_audit_read(e, case_id, action)) == HV_OK))
        s = hv__json_out(e, v, out_json);
done:
    json_decref(v);
    return s;
}

HV_API hv_status hv_case_get_json(hv_engine *e, const char *ref,
                                  char **out_json)
{
    *out_json = NULL;
    hv__clear_error(e);
    if (!ref)
        return hv__fail(e, HV_USAGE, "show: a case reference is required");
    return read_case(e, ref, "show", 1, json_object(), build_case, out_json);
}

HV_API hv_status hv_case_history_json(hv_engine *e, const char *ref,
                                      char **out_json)
{
    *out_json = NULL;
    hv__clear_error(e);
    return read_case(e, ref, "history", 1, json_array(), history, out_json);
}

/* A case summary (the columns HV_CASE_SUMMARY_COLUMNS). */
static int summary_row(json_t *o, sqlite3_stmt *st, hv_engine *e)
{
    (void)e;
    static const col_spec cols[] = {
        {"ref", COL_PLAIN},      {"stage", COL_PLAIN},
        {"status", COL_PLAIN},   {"source", COL_PLAIN},
        {"assignee", COL_PLAIN}, {"registered_at", COL_TIME},
        {"version", COL_PLAIN},  {"urgency", COL_PLAIN}};
    static const col_spec risk_cols[] = {{"level", COL_PLAIN},
                                         {"score", COL_PLAIN}};
    int r = set_cols(o, st, 0, cols, sizeof cols / sizeof cols[0]);
    /* risk {level, score}, as in the case file */
    json_t *risk = json_object();
    r |= !risk || set_cols(risk, st, 8, risk_cols, 2);
    r |= json_object_set_new(o, "risk", risk);
    const char *t = (const char *)sqlite3_column_text(st, 10);
    json_t *codes = t ? json_loads(t, 0, NULL) : NULL;
    r |= json_object_set_new(o, "concerns", codes ? codes : json_array());
    return r;
}

/* A case summary followed by the child's name (column 11). */
static int named_summary_row(json_t *o, sqlite3_stmt *st, hv_engine *e)
{
    int r = summary_row(o, st, e);
    r |= set_col(o, "name", st, 11);
    return r;
}

hv_status hv__case_summaries(hv_engine *e, sqlite3_stmt *st, int with_name,
                             json_t *arr, const char *what)
{
    return collect(e, st, arr, with_name ? named_summary_row : summary_row,
                   what);
}

/* Refuses a list filter naming a code the workflow does not know (an
 * unknown one is a mistake, not "no cases"). */
static hv_status check_filter(hv_engine *e, const hv_case_filter *f)
{
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
    return HV_OK;
}

/* The list's filters and order, after its FROM: ?1 stage, ?2 source, ?3
 * concern, ?4 assignee's login, ?5 limit (-1: none). */
#define LIST_FILTERS                                                           \
    " LEFT JOIN users u ON u.id = c.assignee_id"                               \
    " WHERE (?1 IS NULL OR c.stage = ?1)"                                      \
    "   AND (?2 IS NULL OR c.source = ?2)"                                     \
    "   AND (?3 IS NULL OR EXISTS (SELECT 1 FROM case_concerns k"              \
    "        WHERE k.case_id = c.id AND k.code = ?3))"                         \
    "   AND (?4 IS NULL OR u.login = ?4)"                                      \
    " ORDER BY c.id DESC LIMIT ?5"

HV_API hv_status hv_case_list(hv_engine *e, const hv_case_filter *f,
                              char **out_json)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    hv_case_filter none = {0};
    int all = 0, supervisor = 0;
    int64_t me = 0;
    *out_json = NULL;
    hv__clear_error(e);
    if (!f)
        f = &none;
    if ((s = hv__list_scope(e, 0, &all, &me, &supervisor)) ||
        (s = check_filter(e, f)))
        return s;
    /* The agency's list walks the cases newest first; a caseworker's or a
     * supervisor's starts from their own cases and their team's (through
     * the assignee index), so it costs the same on a national caseload. */
    /* a NULL filter binds NULL: it does not filter */
    if ((s = hv__store_preparef(
             e, &st,
             all ? "SELECT " HV_CASE_SUMMARY_COLUMNS " FROM cases c" LIST_FILTERS
                 : "SELECT " HV_CASE_SUMMARY_COLUMNS " FROM ("
                   "   SELECT * FROM cases WHERE assignee_id = ?7"
                   "   UNION ALL"
                   "   SELECT x.* FROM users m CROSS JOIN cases x ON x.assignee_id = m.id"
                   "   WHERE ?8 = 1 AND m.supervisor_id = ?7 AND m.id <> ?7"
                   " ) c" LIST_FILTERS,
             all ? "tttti" : "ttttinii", f->stage, f->source, f->concern,
             f->assignee, (int64_t)(f->limit > 0 ? f->limit : -1), NULL, me,
             (int64_t)supervisor)))
        return s;
    json_t *arr = json_array();
    s = arr ? collect(e, st, arr, summary_row, "listing cases")
            : hv__fail(e, HV_NOMEM, "out of memory");
    hv__store_finalize(e, st);
    if (s == HV_OK)
        s = hv__json_out(e, arr, out_json);
    json_decref(arr);
    return s;
}

/* The summary's open tasks: codes and dates, no narrative. */
static const section open_tasks_section = {
    "open_tasks",
    "SELECT kind, label, due_at, 'open' AS status FROM tasks WHERE"
    " case_id = ?1 AND status = 'open' ORDER BY due_at + 0, id",
    generic_row, "reading the case's tasks"};

/* Builds a case's summary into the object o: the summary columns and the
 * open tasks. */
static hv_status build_summary(hv_engine *e, int64_t case_id, json_t *o)
{
    sqlite3_stmt *st = NULL;
    hv_status s =
        hv__store_preparef(e, &st,
                           "SELECT " HV_CASE_SUMMARY_COLUMNS " FROM cases c"
                           " LEFT JOIN users u ON u.id = c.assignee_id"
                           " WHERE c.id = ?1",
                           "i", case_id);
    if (s)
        return s;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && summary_row(o, st, e))
        s = hv__fail(e, HV_NOMEM, "out of memory");
    else if (rc != SQLITE_ROW)
        s = rc == SQLITE_DONE ? hv__fail(e, HV_NOTFOUND, "case vanished")
                              : hv__sql_fail(e, rc, "reading a case");
    hv__store_finalize(e, st);
    return s ? s : add_sections(e, case_id, o, &open_tasks_section, 1);
}

HV_API hv_status hv_case_summary_json(hv_engine *e, const char *ref,
                                      char **out_json)
{
    *out_json = NULL;
    hv__clear_error(e);
    return read_case(e, ref, "summary", 0, json_object(), build_summary,
                     out_json);
}
