/*
 * export_tables.c - what `haven export` holds: one query per table of a
 * case's rows, a kind per column, and pseudonymisation: a pseudonymous
 * export drops names, dates of birth, exact ages and free text, gives
 * ages as bands and cuts locations to their district.
 */
#include <string.h>

#include "export_tables.h"
#include "jbuf.h"
#include "names.h"
#include "haven.h"

/*
 * Column kinds, one letter per column of a table's query:
 *   v  a code, number, login or reference: kept as it is
 *   t  a time (UTC seconds): ISO 8601
 *   n  a name: dropped when pseudonymous
 *   b  a date of birth: dropped when pseudonymous
 *   x  a number that narrows identity (exact age): dropped when pseudonymous
 *   T  a time that narrows identity (when an age was recorded): ISO,
 *      dropped when pseudonymous
 *   a  a current age: an age band when pseudonymous (and always the band)
 *   l  a location: cut to its district when pseudonymous
 *   f  free text (notes, goals, reasons, providers): dropped when
 *      pseudonymous
 *   j  JSON narrative (assessment details, indicators): embedded in JSON,
 *      text in CSV; dropped when pseudonymous
 *   J  JSON of codes only (events): embedded in JSON, text in CSV
 *   c  codes joined by ';': a JSON array of the codes, the joined text in
 *      CSV
 *   B  a flag (0 or 1): true or false in JSON, 0 or 1 in CSV
 */
const hv__export_table hv__export_tables[] = {
    {"cases", "case", HV__EXPORT_CSV | HV__EXPORT_JSON | HV__EXPORT_ONE,
     "one row per case: stage, status, codes, risk, dates, assignee",
     "SELECT a.code AS agency, w.code AS workflow, w.version AS"
     " workflow_version, c.stage, c.status, c.source, hv_open(c.location,"
     " 'cases', 'location', c.id) AS location, c.urgency, c.risk_level,"
     " c.risk_score, u.login AS assignee,"
     " c.registered_at, r.login AS registered_by, c.updated_at, c.closed_at,"
     " c.version, (SELECT group_concat(code, ';') FROM (SELECT code FROM"
     " case_concerns WHERE case_id = c.id ORDER BY code)) AS concerns,"
     " c.closure_reason, hv_open(c.transferred_to, 'cases',"
     " 'transferred_to', c.id) AS transferred_to, c.closure_planned,"
     " hv_open(c.form, 'cases', 'form', c.id) AS form"
     " FROM cases c JOIN agencies a ON a.id = c.agency_id"
     " JOIN workflows w ON w.id = c.workflow_id"
     " LEFT JOIN users u ON u.id = c.assignee_id"
     " LEFT JOIN users r ON r.id = c.registered_by WHERE c.id = ?1",
     "vvvvvvlvvvvtvttvcvfBj"},
    {"persons", "persons", HV__EXPORT_CSV | HV__EXPORT_JSON,
     "one row per person: the child and the family members",
     "SELECT p.id, p.role, p.relationship, hv_open(p.name, 'persons', 'name',"
     " p.id) AS name, hv_open(p.birth_date, 'persons', 'birth_date', p.id)"
     " AS dob, p.age, p.age_recorded_at, hv_age_now(hv_open(p.birth_date,"
     " 'persons', 'birth_date', p.id), p.age, p.age_recorded_at, ?2) AS"
     " age_now, hv_age_now(hv_open(p.birth_date, 'persons', 'birth_date',"
     " p.id), p.age, p.age_recorded_at, ?2) AS age_band,"
     " p.sex, p.lives_with_child, hv_open(p.details, 'persons', 'details',"
     " p.id) AS details"
     " FROM persons p WHERE p.case_id = ?1 ORDER BY p.id",
     "vvvnbxTxavBj"},
    {NULL, "consents", HV__EXPORT_JSON, "consents",
     "SELECT k.id, k.scope, k.given_by, k.given_at, u.login AS recorded_by,"
     " k.withdrawn_at, hv_open(k.withdrawn_reason, 'consents',"
     " 'withdrawn_reason', k.id) AS withdrawn_reason"
     " FROM consents k LEFT JOIN users u ON u.id = k.recorded_by"
     " WHERE k.case_id = ?1 ORDER BY k.id",
     "vvvtvtf"},
    {NULL, "tasks", HV__EXPORT_JSON, "tasks",
     "SELECT t.id, t.kind, t.label, t.due_at, t.created_at, t.status,"
     " t.done_at, u.login AS assignee, t.subject_id, t.cancel_reason"
     " FROM tasks t LEFT JOIN users u ON u.id = t.assignee_id"
     " WHERE t.case_id = ?1 ORDER BY t.id",
     "vvvttvtvvv"},
    {NULL, "notes", HV__EXPORT_JSON, "notes",
     "SELECT n.id, n.at, u.login AS author, hv_open(n.text, 'notes', 'text',"
     " n.id) AS text"
     " FROM notes n LEFT JOIN users u ON u.id = n.author_id"
     " WHERE n.case_id = ?1 ORDER BY n.id",
     "vtvf"},
    {"assessments", "assessments", HV__EXPORT_CSV | HV__EXPORT_JSON,
     "one row per assessment (initial, comprehensive, reassessment)",
     "SELECT a.id, a.kind, a.at, u.login AS by_user, a.safety,"
     " hv_open(a.data, 'assessments', 'data', a.id) AS detail FROM"
     " assessments a"
     " LEFT JOIN users u ON u.id = a.by_id WHERE a.case_id = ?1 ORDER BY a.id",
     "vvtvvj"},
    {"plans", "plans", HV__EXPORT_CSV | HV__EXPORT_JSON,
     "one row per case plan version",
     "SELECT p.id, p.version, hv_open(p.goal, 'plans', 'goal', p.id) AS"
     " goal, hv_open(p.indicators, 'plans', 'indicators', p.id) AS"
     " indicators, hv_open(p.addresses, 'plans', 'addresses', p.id) AS"
     " addresses, p.target_date, p.status, p.created_at, u.login AS"
     " created_by, p.decided_at, d.login AS decided_by,"
     " hv_open(p.decision_reason, 'plans', 'decision_reason', p.id) AS"
     " decision_reason"
     " FROM plans p LEFT JOIN users u ON u.id = p.created_by"
     " LEFT JOIN users d ON d.id = p.decided_by WHERE p.case_id = ?1"
     " ORDER BY p.id",
     "vvfjjtvtvtvf"},
    {"actions", "actions", HV__EXPORT_CSV | HV__EXPORT_JSON,
     "one row per plan action",
     "SELECT x.id, p.version AS plan_version, x.seq AS number,"
     " hv_open(x.title, 'plan_actions', 'title', x.id) AS title,"
     " x.responsible, hv_open(x.provider, 'plan_actions', 'provider', x.id)"
     " AS provider, x.type, x.due_at, x.status, hv_open(x.status_reason,"
     " 'plan_actions', 'status_reason', x.id) AS reason, x.updated_at FROM"
     " plan_actions x JOIN plans p ON p.id ="
     " x.plan_id WHERE x.case_id = ?1 ORDER BY x.id",
     "vvvfvfvtvft"},
    {"referrals", "referrals", HV__EXPORT_CSV | HV__EXPORT_JSON,
     "one row per referral to a service",
     "SELECT r.id, r.seq AS number, r.service, hv_open(r.provider,"
     " 'referrals', 'provider', r.id) AS provider, r.action_id, r.status,"
     " r.sent_at, r.updated_at, hv_open(r.outcome, 'referrals', 'outcome',"
     " r.id) AS outcome, o.login AS consent_overridden_by,"
     " hv_open(r.consent_override_reason, 'referrals',"
     " 'consent_override_reason', r.id) AS consent_override_reason"
     " FROM referrals r LEFT JOIN users o ON o.id = r.consent_override_by"
     " WHERE r.case_id = ?1 ORDER BY r.id",
     "vvvfvvttfvf"},
    {NULL, "conferences", HV__EXPORT_JSON, "case conferences",
     "SELECT k.id, k.at, u.login AS recorded_by, hv_open(k.participants,"
     " 'conferences', 'participants', k.id) AS participants,"
     " hv_open(k.decisions, 'conferences', 'decisions', k.id) AS decisions"
     " FROM conferences k"
     " LEFT JOIN users u ON u.id = k.recorded_by WHERE k.case_id = ?1"
     " ORDER BY k.id",
     "vtvjj"},
    {"followups", "followups", HV__EXPORT_CSV | HV__EXPORT_JSON,
     "one row per follow-up (home visit, phone call, meeting...)",
     "SELECT f.id, f.at, u.login AS by_user, f.method, f.safety,"
     " hv_open(f.notes, 'followups', 'notes', f.id) AS notes, f.final FROM"
     " followups f"
     " LEFT JOIN users u ON u.id = f.by_id WHERE f.case_id = ?1 ORDER BY f.id",
     "vtvvvfB"},
    {"reviews", "reviews", HV__EXPORT_CSV | HV__EXPORT_JSON,
     "one row per case review",
     "SELECT r.id, r.at, u.login AS by_user, r.outcome, hv_open(r.notes,"
     " 'reviews', 'notes', r.id) AS notes FROM reviews r LEFT JOIN users u"
     " ON u.id = r.by_id"
     " WHERE r.case_id = ?1 ORDER BY r.id",
     "vtvvf"},
    {NULL, "evaluations", HV__EXPORT_JSON, "evaluations",
     "SELECT v.id, v.plan_id, v.at, u.login AS by_user, v.outcome,"
     " hv_open(v.data, 'evaluations', 'data', v.id) AS detail FROM"
     " evaluations v LEFT JOIN users u ON"
     " u.id = v.by_id WHERE v.case_id = ?1 ORDER BY v.id",
     "vvtvvj"},
    {NULL, "approvals", HV__EXPORT_JSON, "approvals",
     "SELECT a.id, a.subject, a.subject_id, a.detail, a.status,"
     " a.requested_at, r.login AS requested_by, a.decided_at, d.login AS"
     " decided_by, hv_open(a.reason, 'approvals', 'reason', a.id) AS reason"
     " FROM approvals a"
     " LEFT JOIN users r ON r.id = a.requested_by"
     " LEFT JOIN users d ON d.id = a.decided_by WHERE a.case_id = ?1"
     " ORDER BY a.id",
     "vvvJvtvtvf"},
    {"closures", NULL, HV__EXPORT_CSV,
     "one row per closed, transferred or closing case",
     "SELECT c.status, c.closure_reason, c.closed_at,"
     " hv_open(c.transferred_to, 'cases', 'transferred_to', c.id) AS"
     " transferred_to, c.closure_planned"
     " FROM cases c WHERE c.id = ?1 AND (c.closure_reason IS NOT NULL OR"
     " c.closed_at IS NOT NULL OR c.closure_planned = 1)",
     "vvtfv"},
    {NULL, "history", HV__EXPORT_JSON, "the case's events",
     "SELECT seq, at, actor AS user, kind, data, coalesce(decision, '[]')"
     " AS decisions FROM events"
     " WHERE case_id = ?1 AND kind NOT IN ('viewed', 'access_refused')"
     " ORDER BY seq",
     "vtvvJJ"},
};
const size_t hv__export_table_count =
    sizeof hv__export_tables / sizeof hv__export_tables[0];

/* ---- pseudonymisation ------------------------------------------------------ */

/* 1 if a column of kind k is left out of a pseudonymous export. */
int hv__export_dropped(char k, int pseudonymous)
{
    return pseudonymous && strchr("nbxTfj", k) != NULL;
}

/* The age band of an age in years. */
static const char *age_band(int64_t age)
{
    return age < 5 ? "0-4" : age < 12 ? "5-11" : age < 15 ? "12-14"
           : age < 18 ? "15-17" : "18+";
}

/* See export_tables.h. */
json_t *hv__export_column(sqlite3_stmt *st, int i, char k, int pseudonymous)
{
    if (hv__export_dropped(k, pseudonymous))
        return NULL;
    int type = sqlite3_column_type(st, i);
    if (type == SQLITE_NULL)
        return json_null();
    const char *text = (const char *)sqlite3_column_text(st, i);
    char buf[256];
    switch (k) {
    case 't':
    case 'T':
        hv_time_format(sqlite3_column_int64(st, i), buf, sizeof buf);
        return json_string(buf);
    case 'a':
        return json_string(age_band(sqlite3_column_int64(st, i)));
    case 'l':
        if (!pseudonymous)
            return json_string(text);
        return hv__location_district(text, buf, sizeof buf) ? json_string(buf) : json_null();
    case 'c': {
        json_t *codes = json_array();
        for (const char *p = text; codes && *p;) {
            size_t n = strcspn(p, ";");
            if (json_array_append_new(codes, json_stringn(p, n))) {
                json_decref(codes);
                return NULL;
            }
            p += n + (p[n] ? 1 : 0);
        }
        return codes;
    }
    case 'B':
        return json_boolean(sqlite3_column_int64(st, i) != 0);
    case 'j':
    case 'J': {
        json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
        return v ? v : json_string(text);
    }
    default:
        if (type == SQLITE_INTEGER)
            return json_integer(sqlite3_column_int64(st, i));
        if (type == SQLITE_FLOAT)
            return hv__json_number(sqlite3_column_double(st, i));
        return json_string(text);
    }
}
