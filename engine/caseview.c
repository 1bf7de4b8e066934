/*
 * caseview.c - the case as the rules see it (see caseview.h): codes,
 * dates, ages and counts, never names or narrative.
 */
#include <string.h>

#include "caseview.h"
#include "store.h"
#include "error.h"

/* Column i parsed as JSON (JSON null when NULL or not JSON). */
static json_t *col_json(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    json_t *v = t ? json_loads(t, 0, NULL) : NULL;
    return v ? v : json_null();
}

/* Column i as a JSON string (JSON null when NULL). */
static json_t *col_text(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? json_string(t) : json_null();
}

/* Builds one row's object (a new reference, NULL when out of memory). */
typedef json_t *(*view_row)(sqlite3_stmt *st);

/* Appends the rows of sql (?1 = case_id) to arr, each built by fn. */
static hv_status view_rows(hv_engine *e, const char *sql, int64_t case_id,
                           json_t *arr, view_row fn)
{
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_preparef(e, &st, sql, "i", case_id);
    if (s)
        return s;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *row = fn(st);
        if (!row || json_array_append_new(arr, row)) {
            hv__store_finalize(e, st);
            return hv__fail(e, HV_NOMEM, "out of memory");
        }
    }
    hv__store_finalize(e, st);
    return rc == SQLITE_DONE ? HV_OK : hv__sql_fail(e, rc, "reading the case");
}

/* An assessment: kind, at, safety, its lists and what changed (a
 * view_row). */
static json_t *assessment_row(sqlite3_stmt *st)
{
    json_t *d = col_json(st, 3);
    json_t *o = json_pack("{s:o,s:I,s:o}", "kind", col_text(st, 0), "at",
                          (json_int_t)sqlite3_column_int64(st, 1), "safety",
                          col_text(st, 2));
    static const char *const lists[] = {"needs", "risks", "strengths",
                                        "info_needed", NULL};
    int bad = 0;
    for (const char *const *k = lists; o && *k; k++) {
        json_t *l = json_object_get(d, *k);
        bad |= json_object_set_new(o, *k, l ? json_incref(l) : json_array());
    }
    /* what changed since the last assessment: codes of the workflow */
    json_t *ch = json_object_get(d, "changes");
    if (o)
        bad |= json_object_set_new(o, "changes", json_is_array(ch)
                                                     ? json_incref(ch)
                                                     : json_array());
    json_decref(d);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A follow-up: at, method, safety (a view_row). */
static json_t *followup_row(sqlite3_stmt *st)
{
    return json_pack("{s:I,s:o,s:o}", "at",
                     (json_int_t)sqlite3_column_int64(st, 0), "method",
                     col_text(st, 1), "safety", col_text(st, 2));
}

/* A review or evaluation: at, outcome (a view_row). */
static json_t *review_row(sqlite3_stmt *st)
{
    return json_pack("{s:I,s:o}", "at", (json_int_t)sqlite3_column_int64(st, 0),
                     "outcome", col_text(st, 1));
}

/* A plan action: status, due, type, responsible (a view_row). */
static json_t *action_row(sqlite3_stmt *st)
{
    return json_pack("{s:o,s:I,s:o,s:o}", "status", col_text(st, 0), "due",
                     (json_int_t)sqlite3_column_int64(st, 1), "type",
                     col_text(st, 2), "responsible", col_text(st, 3));
}

/* A closure or transfer waiting for approval whose missing consent a
 * supervisor overrode: v's closure.consent_overridden (a flag, never the
 * override's reason; as closure.lua saw it when the request was made). */
static hv_status waiting_override(hv_engine *e, int64_t case_id, json_t *v)
{
    int64_t overridden = 0;
    hv_status s = hv__store_query_int(
        e, "reading the case",
        "SELECT 1 FROM approvals WHERE case_id = ?1 AND status = 'pending'"
        " AND subject = 'closure' AND json_extract(detail,"
        " '$.consent_overridden') = 1 LIMIT 1",
        0, &overridden, "i", case_id);
    if (s || !overridden)
        return s;
    if (json_object_set_new(v, "closure",
                            json_pack("{s:b}", "consent_overridden", 1)))
        return hv__fail(e, HV_NOMEM, "out of memory");
    return HV_OK;
}

hv_status hv__case_view(hv_engine *e, int64_t case_id, json_t **out)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    json_t *v = NULL;
    *out = NULL;
    if ((s = hv__store_preparef(
             e, &st,
             "SELECT ref, stage, status, source, hv_open(location, 'cases',"
             " 'location', c.id), urgency, risk_level, risk_score,"
             " registered_at, hv_open(form, 'cases', 'form', c.id),"
             " (SELECT json_group_array(code) FROM case_concerns"
             "   WHERE case_id = c.id),"
             " (SELECT json_group_object(scope, given_by) FROM consents"
             "   WHERE case_id = c.id AND withdrawn_at IS NULL),"
             " (SELECT json_object('age', hv_age_now(hv_open(birth_date,"
             "   'persons', 'birth_date', persons.id), age, age_recorded_at,"
             "   ?2), 'sex', sex, 'dob', hv_open(birth_date, 'persons',"
             "   'birth_date', persons.id)) FROM persons"
             "   WHERE case_id = c.id AND role = 'child'),"
             " (SELECT json_group_array(json_object('relationship',"
             "   relationship, 'age', hv_age_now(NULL, age, age_recorded_at,"
             "   ?2), 'sex', sex, 'lives_with_child',"
             "   json(CASE lives_with_child WHEN 1 THEN 'true' WHEN 0 THEN"
             "   'false' END))) FROM persons WHERE case_id = c.id AND"
             "   role = 'family')"
             " FROM cases c WHERE id = ?1",
             "ii", case_id, hv_now(e))))
        return s;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        hv__store_finalize(e, st);
        return hv__sql_fail(e, rc, "reading the case");
    }
    v = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:o,s:o,s:o,s:o,s:o}", "ref",
                  col_text(st, 0), "stage", col_text(st, 1), "status",
                  col_text(st, 2), "source", col_text(st, 3), "location",
                  col_text(st, 4), "urgency", col_text(st, 5), "registered_at",
                  (json_int_t)sqlite3_column_int64(st, 8), "form",
                  col_json(st, 9), "concerns", col_json(st, 10), "consent",
                  col_json(st, 11), "child", col_json(st, 12), "family",
                  col_json(st, 13));
    int bad = !v;
    if (v && sqlite3_column_type(st, 6) != SQLITE_NULL)
        bad |= json_object_set_new(v, "risk",
                                   json_pack("{s:o,s:f}", "level",
                                             col_text(st, 6), "score",
                                             sqlite3_column_double(st, 7)));
    hv__store_finalize(e, st);
    st = NULL;
    json_t *assessments = json_array(), *followups = json_array(),
           *reviews = json_array(), *evaluations = json_array();
    if (v) {
        bad |= json_object_set_new(v, "evaluations", evaluations);
        bad |= json_object_set_new(v, "assessments", assessments);
        bad |= json_object_set_new(v, "followups", followups);
        bad |= json_object_set_new(v, "reviews", reviews);
    } else {
        json_decref(evaluations);
        json_decref(assessments);
        json_decref(followups);
        json_decref(reviews);
    }
    if (bad) {
        json_decref(v);
        return hv__fail(e, HV_NOMEM, "out of memory");
    }
    if ((s = view_rows(
             e,
             "SELECT kind, at, safety, hv_open(data, 'assessments', 'data',"
             " id) FROM assessments WHERE case_id = ?1 ORDER BY at, id",
             case_id, assessments, assessment_row)) ||
        (s = view_rows(e,
                       "SELECT at, method, safety FROM followups WHERE"
                       " case_id = ?1 AND final = 0 ORDER BY at, id",
                       case_id, followups, followup_row)) ||
        (s = view_rows(e,
                       "SELECT at, outcome FROM reviews WHERE case_id = ?1"
                       " ORDER BY at, id",
                       case_id, reviews, review_row)) ||
        (s = view_rows(e,
                       "SELECT at, outcome FROM evaluations WHERE case_id = ?1"
                       " ORDER BY at, id",
                       case_id, evaluations, review_row)))
        goto fail;
    /* The plan in force: the latest approved, else the latest made. */
    if ((s = hv__store_preparef(
             e, &st,
             "SELECT id, hv_open(goal, 'plans', 'goal', id), target_date,"
             " decided_at,"
             " version, status FROM plans WHERE case_id = ?1"
             " AND status IN ('approved','pending_approval')"
             " ORDER BY status = 'approved' DESC, version"
             " DESC LIMIT 1",
             "i", case_id)))
        goto fail;
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        s = hv__sql_fail(e, rc, "reading the plan");
        goto fail;
    }
    if (rc == SQLITE_ROW) {
        int64_t plan_id = sqlite3_column_int64(st, 0);
        int approved =
            !strcmp((const char *)sqlite3_column_text(st, 5), "approved");
        json_t *plan = json_pack(
            "{s:o,s:I,s:I,s:o}", "goal", col_text(st, 1), "target_date",
            (json_int_t)sqlite3_column_int64(st, 2), "version",
            (json_int_t)sqlite3_column_int64(st, 4), "actions", json_array());
        if (plan && approved &&
            json_object_set_new(plan, "approved_at",
                                json_integer(sqlite3_column_int64(st, 3)))) {
            json_decref(plan);
            plan = NULL;
        }
        hv__store_finalize(e, st);
        st = NULL;
        if (!plan || json_object_set_new(v, "plan", plan)) {
            s = hv__fail(e, HV_NOMEM, "out of memory");
            goto fail;
        }
        if ((s = view_rows(e,
                           "SELECT status, due_at, type, responsible FROM"
                           " plan_actions WHERE plan_id = ?1 ORDER BY seq",
                           plan_id, json_object_get(plan, "actions"),
                           action_row)))
            goto fail;
    }
    hv__store_finalize(e, st);
    st = NULL;
    if ((s = waiting_override(e, case_id, v)))
        goto fail;
    *out = v;
    return HV_OK;
fail:
    hv__store_finalize(e, st);
    json_decref(v);
    return s;
}

int hv__view_has(json_t *root, const char *path)
{
    char seg[128];
    json_t *node = root;
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ".");
        if (n == 0 || n >= sizeof seg || !json_is_object(node))
            return 0;
        memcpy(seg, p, n);
        seg[n] = '\0';
        node = json_object_get(node, seg);
        p += n + (p[n] == '.');
        if (!node)
            return 0;
    }
    if (json_is_null(node) || json_is_false(node))
        return 0;
    if (json_is_array(node))
        return json_array_size(node) > 0;
    if (json_is_string(node))
        return json_string_length(node) > 0;
    return 1;
}
