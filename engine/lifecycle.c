/*
 * lifecycle.c - the case lifecycle after registration: assessment, case
 * planning and approval, implementation (actions, referrals, conferences),
 * follow-up and review, evaluation, closure, reopening, transfer,
 * reassignment and consent.
 *
 * Every step is one call of hv_case_step(): it parses the input, takes the
 * write lock, loads the case, checks what the workflow allows (the stage's
 * step, its `next` edges, `requires`, approval and check), asks the rule
 * pack where the contract says so, writes, bumps the case's version and
 * appends one event holding codes, row ids and the rule decisions — never
 * names or narrative — all in one transaction, or nothing.
 */
#include <stdarg.h>
#include <string.h>

#include "alloc.h"
#include "engine.h"
#include "rules.h"
#include "store.h"

#define DEFAULT_FOLLOWUP_EVERY (14 * 86400)   /* without followup.lua */
#define DEFAULT_REVIEW_EVERY (90 * 86400)     /* "e.g., every 3 months" */
#define DEFAULT_FINAL_FOLLOWUP (90 * 86400)   /* "about 3 months after" */
#define DEFAULT_REFERRAL_OUTCOME (14 * 86400) /* check a referral's outcome */
#define MAX_TEXT 4000

typedef struct {
    hv_engine *e;
    const char *ref;
    const char *verb;
    json_t *in;
    const hv_workflow *wf;
    hv_workflow *own_wf;   /* the case's older workflow version, if loaded */
    int64_t case_id, version, assignee_id, user_id, workflow_row;
    char *stage_id, *status, *urgency, *role;
    const hv_stage *stage; /* the current stage (updated by moves) */
    json_t *decisions;     /* rule decisions for the event */
    json_t *data;          /* the event's data */
    json_t *out;           /* what the caller gets back */
    json_t *view;          /* the rules' view of the case, kept while no
                            * write has happened since it was read */
    sqlite3_int64 view_changes; /* sqlite3_total_changes64 when it was read */
    const char *event_kind;
} step;

/* ---- small SQL helpers -------------------------------------------------- */

/* Runs sql to completion with bind values described by fmt, one letter
 * each: 'i' int64, 't' text (NULL binds null), 'n' null. */
static hv_status exec_binds(step *sc, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_prepare(sc->e, sql, &st);
    if (s)
        return s;
    va_list ap;
    va_start(ap, fmt);
    for (int i = 0; fmt[i]; i++) {
        if (fmt[i] == 'i')
            sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
        else if (fmt[i] == 't') {
            const char *t = va_arg(ap, const char *);
            if (t)
                sqlite3_bind_text(st, i + 1, t, -1, SQLITE_TRANSIENT);
        } else {
            (void)va_arg(ap, void *);
        }
    }
    va_end(ap);
    int rc = sqlite3_step(st);
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    hv__store_finalize(sc->e, st);
    return rc == SQLITE_DONE ? HV_OK : hv__sql_fail(sc->e, rc, sc->verb);
}

/* One integer from a query with one int64 bind (?1) and an optional text
 * bind (?2); *out = dflt when there is no row. */
static hv_status query_int(step *sc, const char *sql, int64_t a, const char *b,
                           int64_t dflt, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_prepare(sc->e, sql, &st);
    *out = dflt;
    if (s)
        return s;
    sqlite3_bind_int64(st, 1, a);
    if (b)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        *out = sqlite3_column_int64(st, 0);
    hv__store_finalize(sc->e, st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? HV_OK
                                                 : hv__sql_fail(sc->e, rc, sc->verb);
}

static hv_status fail(step *sc, hv_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static hv_status fail(step *sc, hv_status st, const char *fmt, ...)
{
    char buf[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return hv__fail(sc->e, st, "%s: %s", sc->verb, buf);
}

/* ---- input -------------------------------------------------------------- */

static hv_status check_fields(step *sc, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(sc->in, key, v) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            ok |= !strcmp(*a, key);
        if (!ok)
            return hv__echo_safe(key)
                       ? fail(sc, HV_INVALID, "unknown field '%s'", key)
                       : fail(sc, HV_INVALID, "unknown field (not shown)");
    }
    return HV_OK;
}

/* A text field; NULL if absent and not required. */
static hv_status in_text(step *sc, const char *key, int required,
                         const char **out)
{
    json_t *v = json_object_get(sc->in, key);
    *out = NULL;
    if (!v || json_is_null(v) ||
        (json_is_string(v) && strspn(json_string_value(v), " \t\n") ==
                                  json_string_length(v))) {
        if (required)
            return fail(sc, HV_INVALID, "missing required field '%s'", key);
        return HV_OK;
    }
    if (!json_is_string(v))
        return fail(sc, HV_INVALID, "%s: must be text", key);
    if (json_string_length(v) > MAX_TEXT)
        return fail(sc, HV_INVALID, "%s: longer than %d bytes", key, MAX_TEXT);
    for (const char *p = json_string_value(v); *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
            return fail(sc, HV_INVALID, "%s: control characters not allowed",
                        key);
    *out = json_string_value(v);
    return HV_OK;
}

static int in_words(const char *const *words, const char *s)
{
    for (; *words; words++)
        if (!strcmp(*words, s))
            return 1;
    return 0;
}

/* A code from the workflow's lookup (or the fixed words when the workflow
 * has no such lookup). */
static hv_status in_code(step *sc, const char *key, const char *lookup,
                         const char *const *words, int required,
                         const char **out)
{
    hv_status s = in_text(sc, key, required, out);
    if (s || !*out)
        return s;
    int ok = lookup && hv__workflow_lookup(sc->wf, lookup)
                 ? hv__workflow_has_code(sc->wf, lookup, *out)
                 : words ? in_words(words, *out) : 1;
    if (!ok) {
        char list[300] = "";
        size_t n = 0;
        const hv_lookup *l = lookup ? hv__workflow_lookup(sc->wf, lookup) : NULL;
        for (size_t i = 0; l && i < l->ncodes && n < sizeof list; i++)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s",
                                  i ? ", " : "", l->codes[i]);
        for (size_t i = 0; !l && words && words[i] && n < sizeof list; i++)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s",
                                  i ? ", " : "", words[i]);
        return fail(sc, HV_INVALID, "%s: unknown code '%s' (one of: %s)", key,
                    hv__echo_safe(*out) ? *out : "(not shown)", list);
    }
    return HV_OK;
}

/* A date or time; *out = dflt when absent. */
static hv_status in_time(step *sc, const char *key, int required, hv_time dflt,
                         hv_time *out)
{
    const char *t;
    hv_status s = in_text(sc, key, required, &t);
    *out = dflt;
    if (s || !t)
        return s;
    if (hv_time_parse(t, out) != HV_OK)
        return fail(sc, HV_INVALID, "%s: must be a date (YYYY-MM-DD) or an "
                                    "ISO 8601 time", key);
    return HV_OK;
}

/* A list of texts (a JSON array, or one text = a list of one).  Returns a
 * new reference in *out (an empty list when absent and min == 0). */
static hv_status in_list(step *sc, const char *key, size_t min, json_t **out)
{
    json_t *v = json_object_get(sc->in, key);
    *out = NULL;
    if (v && json_is_string(v))
        v = json_pack("[O]", v);
    else if (v)
        json_incref(v);
    else
        v = json_array();
    if (!v)
        return fail(sc, HV_NOMEM, "out of memory");
    if (!json_is_array(v)) {
        json_decref(v);
        return fail(sc, HV_INVALID, "%s: must be a list of text", key);
    }
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        if (!json_is_string(item) || json_string_length(item) == 0 ||
            json_string_length(item) > MAX_TEXT) {
            json_decref(v);
            return fail(sc, HV_INVALID, "%s.%zu: must be text", key, i + 1);
        }
    }
    if (json_array_size(v) < min) {
        json_decref(v);
        return fail(sc, HV_INVALID, "missing required field '%s' (at least %zu)",
                    key, min);
    }
    *out = v;
    return HV_OK;
}

/* A positive whole number field. */
static hv_status in_int(step *sc, const char *key, int required, int64_t *out)
{
    json_t *v = json_object_get(sc->in, key);
    *out = 0;
    if (!v) {
        if (required)
            return fail(sc, HV_INVALID, "missing required field '%s'", key);
        return HV_OK;
    }
    if (json_is_string(v)) {
        char *end;
        long long n = strtoll(json_string_value(v), &end, 10);
        if (*end || n <= 0)
            return fail(sc, HV_INVALID, "%s: must be a whole number", key);
        *out = n;
        return HV_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return fail(sc, HV_INVALID, "%s: must be a whole number", key);
    *out = json_integer_value(v);
    return HV_OK;
}

/* ---- the case view (what rules see and `requires` is checked on) --------- */

static json_t *col_json(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    json_t *v = t ? json_loads(t, 0, NULL) : NULL;
    return v ? v : json_null();
}

static json_t *col_text(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? json_string(t) : json_null();
}

/* Appends rows of sql (?1 = case id) to arr, each built by fn. */
typedef json_t *(*view_row)(sqlite3_stmt *st);
static hv_status view_rows(hv_engine *e, const char *sql, int64_t case_id,
                           json_t *arr, view_row fn)
{
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_prepare(e, sql, &st);
    if (s)
        return s;
    sqlite3_bind_int64(st, 1, case_id);
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

static json_t *assessment_row(sqlite3_stmt *st)
{
    json_t *d = col_json(st, 3);
    json_t *o = json_pack("{s:o,s:I,s:o}", "kind", col_text(st, 0), "at",
                          (json_int_t)sqlite3_column_int64(st, 1), "safety",
                          col_text(st, 2));
    static const char *const lists[] = {"needs", "risks", "strengths",
                                        "info_needed", NULL};
    for (const char *const *k = lists; o && *k; k++) {
        json_t *l = json_object_get(d, *k);
        json_object_set_new(o, *k, l ? json_incref(l) : json_array());
    }
    json_decref(d);
    return o;
}

static json_t *followup_row(sqlite3_stmt *st)
{
    return json_pack("{s:I,s:o,s:o}", "at",
                     (json_int_t)sqlite3_column_int64(st, 0), "method",
                     col_text(st, 1), "safety", col_text(st, 2));
}

static json_t *review_row(sqlite3_stmt *st)
{
    return json_pack("{s:I,s:o}", "at", (json_int_t)sqlite3_column_int64(st, 0),
                     "outcome", col_text(st, 1));
}

static json_t *action_row(sqlite3_stmt *st)
{
    return json_pack("{s:o,s:I,s:o,s:o}", "status", col_text(st, 0), "due",
                     (json_int_t)sqlite3_column_int64(st, 1), "type",
                     col_text(st, 2), "responsible", col_text(st, 3));
}

/* The read-only view of a case for rules: no names, no narrative. */
static hv_status case_view(hv_engine *e, int64_t case_id, json_t **out)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    json_t *v = NULL;
    *out = NULL;
    if ((s = hv__store_prepare(
             e,
             "SELECT ref, stage, status, source, hv_open(location), urgency,"
             " risk_level, risk_score, registered_at, hv_open(form),"
             " (SELECT json_group_array(code) FROM case_concerns"
             "   WHERE case_id = c.id),"
             " (SELECT json_group_object(scope, given_by) FROM consents"
             "   WHERE case_id = c.id AND withdrawn_at IS NULL),"
             " (SELECT json_object('age', age + (?2 - age_recorded_at) /"
             "   31556952, 'sex', sex, 'dob', hv_open(birth_date)) FROM persons"
             "   WHERE case_id = c.id AND role = 'child'),"
             " (SELECT json_group_array(json_object('relationship',"
             "   relationship, 'age', age, 'sex', sex, 'lives_with_child',"
             "   json(CASE lives_with_child WHEN 1 THEN 'true' WHEN 0 THEN"
             "   'false' END))) FROM persons WHERE case_id = c.id AND"
             "   role = 'family')"
             " FROM cases c WHERE id = ?1",
             &st)))
        return s;
    sqlite3_bind_int64(st, 1, case_id);
    sqlite3_bind_int64(st, 2, hv_now(e));
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
    if (v && sqlite3_column_type(st, 6) != SQLITE_NULL)
        json_object_set_new(v, "risk",
                            json_pack("{s:o,s:f}", "level", col_text(st, 6),
                                      "score", sqlite3_column_double(st, 7)));
    hv__store_finalize(e, st);
    st = NULL;
    if (!v)
        return hv__fail(e, HV_NOMEM, "out of memory");
    json_t *assessments = json_array(), *followups = json_array(),
           *reviews = json_array(), *evaluations = json_array();
    json_object_set_new(v, "evaluations", evaluations);
    json_object_set_new(v, "assessments", assessments);
    json_object_set_new(v, "followups", followups);
    json_object_set_new(v, "reviews", reviews);
    if ((s = view_rows(e,
                       "SELECT kind, at, safety, hv_open(data) FROM assessments WHERE"
                       " case_id = ?1 ORDER BY at, id",
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
    if ((s = hv__store_prepare(e,
                               "SELECT id, hv_open(goal), target_date, decided_at,"
                               " version, status FROM plans WHERE case_id = ?1"
                               " AND status IN ('approved','pending_approval')"
                               " ORDER BY status = 'approved' DESC, version"
                               " DESC LIMIT 1",
                               &st)))
        goto fail;
    sqlite3_bind_int64(st, 1, case_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        int64_t plan_id = sqlite3_column_int64(st, 0);
        int approved = !strcmp((const char *)sqlite3_column_text(st, 5), "approved");
        json_t *plan = json_pack("{s:o,s:I,s:I,s:o}", "goal", col_text(st, 1),
                                 "target_date",
                                 (json_int_t)sqlite3_column_int64(st, 2),
                                 "version",
                                 (json_int_t)sqlite3_column_int64(st, 4),
                                 "actions", json_array());
        if (plan && approved)
            json_object_set_new(plan, "approved_at",
                                json_integer(sqlite3_column_int64(st, 3)));
        hv__store_finalize(e, st);
        st = NULL;
        if (!plan) {
            s = hv__fail(e, HV_NOMEM, "out of memory");
            goto fail;
        }
        json_object_set_new(v, "plan", plan);
        if ((s = view_rows(e,
                           "SELECT status, due_at, type, responsible FROM"
                           " plan_actions WHERE plan_id = ?1 ORDER BY seq",
                           plan_id, json_object_get(plan, "actions"),
                           action_row)))
            goto fail;
    }
    hv__store_finalize(e, st);
    *out = v;
    return HV_OK;
fail:
    hv__store_finalize(e, st);
    json_decref(v);
    return s;
}

/* The view a step gives rules (for test_rulesdiff, which compares the
 * bulk view of rules diff with it). */
hv_status hv__case_view(hv_engine *e, int64_t case_id, json_t **out);
hv_status hv__case_view(hv_engine *e, int64_t case_id, json_t **out)
{
    return case_view(e, case_id, out);
}

/* 1 if the dotted path names a present, non-empty value. */
static int view_has(json_t *root, const char *path)
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

/* ---- rules -------------------------------------------------------------- */

/* Calls a hook on the case as it is now (inside the transaction).  *result
 * is NULL when there is no pack or no such hook: the caller's default. */
static hv_status run_rule(step *sc, hv_hook h, const char *reason,
                          json_t **result)
{
    hv_rules *rules = NULL;
    json_t *view = NULL, *ctx = NULL;
    char *err = NULL;
    hv_status s;
    *result = NULL;
    if ((s = hv__engine_rules(sc->e, &rules)) || !rules ||
        !hv__rules_has(rules, h))
        return s;
    /* Hooks run one after another in a step (risk, then follow-up, then
     * review...); the view is read again only when something was written
     * since (rescore_risk keeps it current itself). */
    sqlite3_int64 changes = sqlite3_total_changes64(sc->e->db);
    if (!sc->view || sc->view_changes != changes) {
        json_decref(sc->view);
        sc->view = NULL;
        if ((s = case_view(sc->e, sc->case_id, &sc->view)))
            return s;
        sc->view_changes = changes;
    }
    view = json_incref(sc->view);
    const hv_pack *p = hv__rules_pack(rules);
    ctx = json_pack("{s:I,s:{s:s,s:s}}", "now", (json_int_t)hv_now(sc->e),
                    "pack", "name", p->name, "version", p->version);
    if (ctx && reason)
        json_object_set_new(ctx, "reason", json_string(reason));
    if (!ctx) {
        json_decref(view);
        return fail(sc, HV_NOMEM, "out of memory");
    }
    s = hv__rules_call(rules, h, view, ctx, result, &err);
    json_decref(view);
    json_decref(ctx);
    if (s) {
        s = fail(sc, s, "%s", err ? err : "rule error");
        hv__free(err);
        return s;
    }
    json_t *d = hv__rules_decision(rules, h, *result);
    if (!d || json_array_append_new(sc->decisions, d)) {
        json_decref(*result);
        *result = NULL;
        return fail(sc, HV_NOMEM, "out of memory");
    }
    return HV_OK;
}

/* ---- tasks --------------------------------------------------------------- */

static hv_status task_add(step *sc, const char *kind, const char *label,
                          hv_time due, int64_t assignee, int64_t subject)
{
    return exec_binds(sc,
                      "INSERT INTO tasks (case_id, kind, label, due_at,"
                      " created_at, assignee_id, subject_id) VALUES (?1,?2,?3,"
                      "?4,?5,nullif(?6,0),nullif(?7,0))",
                      "ittiiii", sc->case_id, kind, label, (int64_t)due,
                      (int64_t)hv_now(sc->e), assignee, subject);
}

/* Marks open tasks of a kind done (subject 0: any). */
static hv_status tasks_done(step *sc, const char *kind, int64_t subject)
{
    return exec_binds(sc,
                      "UPDATE tasks SET status = 'done', done_at = ?3 WHERE"
                      " case_id = ?1 AND kind = ?2 AND status = 'open' AND"
                      " (?4 = 0 OR subject_id = ?4)",
                      "itii", sc->case_id, kind, (int64_t)hv_now(sc->e),
                      subject);
}

/* Cancels open tasks (kind NULL: all) with a reason. */
static hv_status tasks_cancel(step *sc, const char *kind, const char *reason)
{
    return exec_binds(sc,
                      "UPDATE tasks SET status = 'cancelled', done_at = ?3,"
                      " cancel_reason = ?4 WHERE case_id = ?1 AND status ="
                      " 'open' AND (?2 IS NULL OR kind = ?2)",
                      "itit", sc->case_id, kind, (int64_t)hv_now(sc->e), reason);
}

/* Records a reason or note given with a step as a dated case note (the
 * narrative stays out of the event). */
static hv_status add_note(step *sc, const char *prefix, const char *text)
{
    if (!text)
        return HV_OK;
    char *full = hv__asprintf("%s: %s", prefix, text);
    if (!full)
        return fail(sc, HV_NOMEM, "out of memory");
    hv_status s = exec_binds(sc,
                             "INSERT INTO notes (case_id, at, author_id, text)"
                             " VALUES (?1,?2,?3,hv_seal(?4))",
                             "iiit", sc->case_id, (int64_t)hv_now(sc->e),
                             sc->user_id, full);
    hv__free(full);
    return s;
}

/* Cancels approvals still waiting (the case closed, moved or reopened). */
static hv_status cancel_approvals(step *sc, const char *reason)
{
    hv_status s = exec_binds(sc,
                             "UPDATE approvals SET status = 'rejected', decided_at"
                             " = ?2, reason = hv_seal(?3) WHERE case_id = ?1 AND status ="
                             " 'pending'",
                             "iit", sc->case_id, (int64_t)hv_now(sc->e), reason);
    if (s == HV_OK)
        s = exec_binds(sc,
                       "UPDATE plans SET status = 'rejected', decided_at = ?2,"
                       " decision_reason = hv_seal(?3) WHERE case_id = ?1 AND status ="
                       " 'pending_approval'",
                       "iit", sc->case_id, (int64_t)hv_now(sc->e), reason);
    return s;
}

/* ---- moving along the workflow -------------------------------------------- */

/* The first stage in the current stage's `next` whose step is `kind`. */
static const hv_stage *next_with(step *sc, hv_step kind)
{
    for (size_t i = 0; i < sc->stage->nnext; i++) {
        const hv_stage *t = &sc->wf->stages[sc->stage->next[i]];
        if (t->step == kind)
            return t;
    }
    return NULL;
}

/* Refuses a step that needs another stage, naming what is needed. */
static hv_status wrong_stage(step *sc, const char *needs)
{
    return fail(sc, HV_REFUSED,
                "not allowed at stage %s (%s) of workflow %s: %s",
                sc->stage->id, sc->stage->label, sc->wf->id, needs);
}

/* Moves the case to target (an edge of the workflow), after checking the
 * target's `requires` on the case as it will be. */
static hv_status move_to(step *sc, const hv_stage *target)
{
    hv_status s;
    if (!target || !hv__workflow_allows(sc->wf, sc->stage->id, target->id))
        return fail(sc, HV_REFUSED, "workflow %s does not allow moving from "
                                    "%s to %s",
                    sc->wf->id, sc->stage->id, target ? target->id : "?");
    if ((s = exec_binds(sc, "UPDATE cases SET stage = ?2 WHERE id = ?1", "it",
                        sc->case_id, target->id)))
        return s;
    if (target->nrequires) {
        json_t *view = NULL;
        if ((s = case_view(sc->e, sc->case_id, &view)))
            return s;
        for (size_t i = 0; i < target->nrequires; i++) {
            if (!view_has(view, target->requires[i])) {
                json_decref(view);
                return fail(sc, HV_REFUSED,
                            "stage %s of workflow %s requires '%s', which the "
                            "case does not have yet",
                            target->id, sc->wf->id, target->requires[i]);
            }
        }
        json_decref(view);
    }
    json_object_set_new(sc->data, "from", json_string(sc->stage->id));
    json_object_set_new(sc->data, "to", json_string(target->id));
    sc->stage = target;
    return HV_OK;
}

static int case_open(step *sc) { return !strcmp(sc->status, "open"); }

static hv_status need_open(step *sc)
{
    if (!case_open(sc))
        return fail(sc, HV_REFUSED, "the case is %s%s", sc->status,
                    !strcmp(sc->status, "closed") ? "; reopen it first" : "");
    return HV_OK;
}

/* ---- risk, follow-up and review scheduling --------------------------------- */

static hv_status rescore_risk(step *sc)
{
    json_t *r = NULL;
    hv_status s = run_rule(sc, HV_HOOK_RISK, NULL, &r);
    if (s || !r)
        return s;
    const char *level = json_string_value(json_object_get(r, "level"));
    json_t *score = json_object_get(r, "score");
    sqlite3_stmt *st = NULL;
    if ((s = hv__store_prepare(sc->e,
                               "UPDATE cases SET risk_level = ?2, risk_score = ?3"
                               " WHERE id = ?1",
                               &st)) == HV_OK) {
        sqlite3_bind_int64(st, 1, sc->case_id);
        sqlite3_bind_text(st, 2, level, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 3, json_number_value(score));
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            s = hv__sql_fail(sc->e, rc, sc->verb);
    }
    hv__store_finalize(sc->e, st);
    if (s == HV_OK && sc->view &&
        sc->view_changes + 1 == sqlite3_total_changes64(sc->e->db)) {
        /* The view was current before this one update: keep it so. */
        json_t *risk = json_pack("{s:s,s:f}", "level", level, "score",
                                 json_number_value(score));
        if (risk && json_object_set_new(sc->view, "risk", risk) == 0)
            sc->view_changes++;
    }
    if (s == HV_OK) {
        json_object_set_new(sc->data, "risk", json_string(level));
        json_object_set_new(sc->out, "risk", json_string(level));
    }
    json_decref(r);
    return s;
}

/* Schedules the next follow-up from followup.lua (or every two weeks). */
static hv_status schedule_followup(step *sc)
{
    json_t *r = NULL;
    hv_status s = run_rule(sc, HV_HOOK_FOLLOWUP, NULL, &r);
    if (s)
        return s;
    int64_t every = r ? json_integer_value(json_object_get(r, "every"))
                      : DEFAULT_FOLLOWUP_EVERY;
    const char *method = r ? json_string_value(json_object_get(r, "method"))
                           : "home_visit_scheduled";
    char label[160];
    snprintf(label, sizeof label, "Follow-up (%s)", method);
    if ((s = tasks_cancel(sc, "followup", "rescheduled")) == HV_OK &&
        (s = task_add(sc, "followup", label, hv_now(sc->e) + every,
                      sc->assignee_id, 0)) == HV_OK) {
        char due[32];
        hv_time_format(hv_now(sc->e) + every, due, sizeof due);
        json_object_set_new(sc->data, "followup_every", json_integer(every));
        json_object_set_new(sc->out, "next_followup",
                            json_pack("{s:s,s:I,s:s}", "due", due, "every",
                                      (json_int_t)every, "method", method));
    }
    json_decref(r);
    return s;
}

/* Schedules the next review from review.lua (or every three months). */
static hv_status schedule_review(step *sc)
{
    json_t *r = NULL;
    hv_status s = run_rule(sc, HV_HOOK_REVIEW, NULL, &r);
    if (s)
        return s;
    int64_t every = r ? json_integer_value(json_object_get(r, "every"))
                      : DEFAULT_REVIEW_EVERY;
    if ((s = tasks_cancel(sc, "review", "rescheduled")) == HV_OK &&
        (s = task_add(sc, "review", "Case plan review", hv_now(sc->e) + every,
                      sc->assignee_id, 0)) == HV_OK) {
        char due[32];
        hv_time_format(hv_now(sc->e) + every, due, sizeof due);
        json_object_set_new(sc->data, "review_every", json_integer(every));
        json_object_set_new(sc->out, "next_review",
                            json_pack("{s:s,s:I}", "due", due, "every",
                                      (json_int_t)every));
    }
    json_decref(r);
    return s;
}

/* ---- approvals -------------------------------------------------------------- */

static int is_supervisor(step *sc, hv_approval_kind need)
{
    if (need == HV_APPROVAL_MANAGER)
        return !strcmp(sc->role, "manager");
    return !strcmp(sc->role, "supervisor") || !strcmp(sc->role, "manager");
}

/* Records a pending approval and the supervisor's task. */
static hv_status request_approval(step *sc, const char *subject,
                                  int64_t subject_id, json_t *detail)
{
    char *text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    hv_status s = exec_binds(sc,
                             "INSERT INTO approvals (case_id, subject,"
                             " subject_id, detail, status, requested_at,"
                             " requested_by) VALUES (?1,?2,?3,?4,'pending',?5,?6)",
                             "itntii", sc->case_id, subject, NULL, text,
                             (int64_t)hv_now(sc->e), sc->user_id);
    hv__free(text);
    if (s)
        return s;
    int64_t approval_id = sqlite3_last_insert_rowid(sc->e->db);
    if ((s = exec_binds(sc, "UPDATE approvals SET subject_id = nullif(?2,0) WHERE id = ?1",
                        "ii", approval_id, subject_id)))
        return s;
    int64_t supervisor = 0;
    if ((s = query_int(sc,
                       "SELECT supervisor_id FROM users WHERE id = ?1",
                       sc->assignee_id, NULL, 0, &supervisor)))
        return s;
    char label[80];
    snprintf(label, sizeof label, "Approve the %s", subject);
    /* Approvals are due within two working days. */
    if ((s = task_add(sc, "approval", label, hv_now(sc->e) + 2 * 86400,
                      supervisor, approval_id)))
        return s;
    json_object_set_new(sc->data, "approval_requested", json_string(subject));
    json_object_set_new(sc->out, "approval", json_string("pending"));
    return HV_OK;
}

/* ---- steps ---------------------------------------------------------------- */

static const char *const safety_words[] = {"ok", "concern", "urgent", NULL};

static hv_status step_assess(step *sc)
{
    static const char *const fields[] = {"kind", "safety", "summary", "needs",
        "risks", "strengths", "info_needed", "sources", "verified", "elements",
        "at", NULL};
    static const char *const kinds[] = {"initial", "comprehensive",
                                        "reassessment", NULL};
    static const char *const elements[] = {"childs_views", "family_relationships",
        "safe_environment", "development_identity", "strengths_resources", NULL};
    hv_status s;
    const char *kind, *safety, *summary;
    json_t *lists[4] = {NULL, NULL, NULL, NULL}, *sources = NULL, *verified = NULL;
    static const char *const list_names[] = {"needs", "risks", "strengths",
                                             "info_needed"};
    hv_time at;
    if ((s = check_fields(sc, fields)) || (s = need_open(sc)) ||
        (s = in_code(sc, "kind", NULL, kinds, 0, &kind)) ||
        (s = in_code(sc, "safety", "safety_levels", safety_words, 0, &safety)) ||
        (s = in_text(sc, "summary", 0, &summary)) ||
        (s = in_time(sc, "at", 0, hv_now(sc->e), &at)))
        return s;
    hv_step here = sc->stage->step;
    if (!kind)
        kind = here == HV_STEP_INITIAL_ASSESSMENT         ? "initial"
               : here == HV_STEP_COMPREHENSIVE_ASSESSMENT ? "comprehensive"
                                                          : "reassessment";
    if (!strcmp(kind, "initial") && here != HV_STEP_INITIAL_ASSESSMENT)
        return wrong_stage(sc, "the initial assessment is done at the initial "
                               "assessment stage");
    if (!strcmp(kind, "comprehensive") && here != HV_STEP_COMPREHENSIVE_ASSESSMENT)
        return wrong_stage(sc, here == HV_STEP_INITIAL_ASSESSMENT
                                   ? "complete the initial assessment first"
                                   : "the comprehensive assessment is done at "
                                     "its own stage");
    if (!strcmp(kind, "reassessment") &&
        (here == HV_STEP_INITIAL_ASSESSMENT || here == HV_STEP_REGISTRATION))
        return wrong_stage(sc, "complete the initial assessment first");
    if (at > hv_now(sc->e))
        return fail(sc, HV_INVALID, "at: is in the future");
    if (!strcmp(kind, "initial") && !safety)
        return fail(sc, HV_INVALID, "missing required field 'safety' (the "
                                    "initial assessment is about immediate "
                                    "needs and safety: ok, concern or urgent)");
    json_t *el = json_object_get(sc->in, "elements");
    if (el && !json_is_object(el))
        return fail(sc, HV_INVALID, "elements: must be an object");
    if (!strcmp(kind, "comprehensive")) {
        for (const char *const *k = elements; *k; k++) {
            json_t *t = json_object_get(el, *k);
            if (!json_is_string(t) || json_string_length(t) == 0)
                return fail(sc, HV_INVALID,
                            "missing required field 'elements.%s' (the Best "
                            "Interests Assessment has five elements: "
                            "childs_views, family_relationships, "
                            "safe_environment, development_identity, "
                            "strengths_resources)",
                            *k);
        }
    }
    const char *key;
    json_t *v;
    json_object_foreach(el, key, v) {
        if (!in_words(elements, key))
            return fail(sc, HV_INVALID, "elements: unknown element '%s'",
                        hv__echo_safe(key) ? key : "?");
        if (!json_is_string(v))
            return fail(sc, HV_INVALID, "elements.%s: must be text", key);
    }
    json_t *data = NULL;
    for (int i = 0; i < 4; i++)
        if ((s = in_list(sc, list_names[i], 0, &lists[i])))
            goto done;
    if ((s = in_list(sc, "sources", 0, &sources)) ||
        (s = in_list(sc, "verified", 0, &verified)))
        goto done;
    json_t *src = json_array();
    size_t i;
    json_array_foreach(sources, i, v) {
        int ok = 0;
        size_t j;
        json_t *w;
        json_array_foreach(verified, j, w) ok |= json_equal(v, w);
        json_array_append_new(src, json_pack("{s:O,s:b}", "source", v,
                                             "verified", ok));
    }
    json_array_foreach(verified, i, v) {
        int ok = 0;
        size_t j;
        json_t *w;
        json_array_foreach(sources, j, w) ok |= json_equal(v, w);
        if (!ok) {
            json_decref(src);
            s = fail(sc, HV_INVALID, "verified.%zu: not one of the sources", i + 1);
            goto done;
        }
    }
    data = json_pack("{s:O,s:O,s:O,s:O,s:o,s:s?,s:o}", "needs", lists[0],
                     "risks", lists[1], "strengths", lists[2], "info_needed",
                     lists[3], "sources", src, "summary", summary, "elements",
                     el ? json_incref(el) : json_object());
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    if (!text) {
        s = fail(sc, HV_NOMEM, "out of memory");
        goto done;
    }
    s = exec_binds(sc,
                   "INSERT INTO assessments (case_id, kind, at, by_id, safety,"
                   " data) VALUES (?1,?2,?3,?4,?5,hv_seal(?6))",
                   "itiitt", sc->case_id, kind, (int64_t)at, sc->user_id,
                   safety, text);
    hv__free(text);
    if (s)
        goto done;
    int64_t id = sqlite3_last_insert_rowid(sc->e->db);
    json_object_set_new(sc->data, "assessment", json_integer(id));
    json_object_set_new(sc->data, "kind", json_string(kind));
    if (safety)
        json_object_set_new(sc->data, "safety", json_string(safety));
    /* Completing an assessment closes its task and moves the case on. */
    const hv_stage *target = NULL;
    if (!strcmp(kind, "initial")) {
        if ((s = tasks_done(sc, sc->stage->id, 0)))
            goto done;
        target = next_with(sc, HV_STEP_COMPREHENSIVE_ASSESSMENT);
        if (!target)
            target = next_with(sc, HV_STEP_PLANNING);
        if (!target) {
            s = wrong_stage(sc, "the workflow leads nowhere after the initial "
                                "assessment");
            goto done;
        }
    } else if (!strcmp(kind, "comprehensive")) {
        if ((s = tasks_done(sc, sc->stage->id, 0)))
            goto done;
        if (!(target = next_with(sc, HV_STEP_PLANNING))) {
            s = wrong_stage(sc, "the workflow has no case planning after the "
                                "comprehensive assessment");
            goto done;
        }
    }
    if (target && (s = move_to(sc, target)))
        goto done;
    /* The comprehensive assessment is done once: if it was done, its task
     * (scheduled at registration) is no longer due. */
    if (!strcmp(kind, "comprehensive") || sc->stage->step == HV_STEP_PLANNING) {
        for (size_t k = 0; k < sc->wf->nstages; k++)
            if (sc->wf->stages[k].step == HV_STEP_COMPREHENSIVE_ASSESSMENT &&
                !strcmp(kind, "comprehensive"))
                tasks_done(sc, sc->wf->stages[k].id, 0);
    }
    s = rescore_risk(sc);
    sc->event_kind = "assessed";
done:
    for (int k = 0; k < 4; k++)
        json_decref(lists[k]);
    json_decref(sources);
    json_decref(verified);
    json_decref(data);
    return s;
}

/* Approves plan plan_id: supersedes the old plan, schedules the actions,
 * the first follow-up and review, and moves the case to implementation. */
static hv_status approve_plan(step *sc, int64_t plan_id)
{
    hv_status s;
    sqlite3_stmt *st = NULL;
    if ((s = exec_binds(sc,
                        "UPDATE tasks SET status = 'cancelled', done_at = ?2,"
                        " cancel_reason = 'plan superseded' WHERE case_id = ?1"
                        " AND kind = 'action' AND status = 'open'",
                        "ii", sc->case_id, (int64_t)hv_now(sc->e))) ||
        (s = exec_binds(sc,
                        "UPDATE plans SET status = 'superseded' WHERE case_id"
                        " = ?1 AND status = 'approved'",
                        "i", sc->case_id)) ||
        (s = exec_binds(sc,
                        "UPDATE plans SET status = 'approved', decided_at = ?2,"
                        " decided_by = ?3 WHERE id = ?1",
                        "iii", plan_id, (int64_t)hv_now(sc->e), sc->user_id)))
        return s;
    if ((s = hv__store_prepare(sc->e,
                               "SELECT id, seq, type, due_at FROM plan_actions"
                               " WHERE plan_id = ?1 AND status IN ('pending',"
                               "'in_progress') ORDER BY seq",
                               &st)))
        return s;
    sqlite3_bind_int64(st, 1, plan_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char label[200];
        /* The label names the action by number and type only: titles are
         * narrative and stay sealed in plan_actions. */
        snprintf(label, sizeof label, "Action %lld (%.40s)",
                 (long long)sqlite3_column_int64(st, 1),
                 (const char *)sqlite3_column_text(st, 2));
        if ((s = task_add(sc, "action", label, sqlite3_column_int64(st, 3),
                          sc->assignee_id, sqlite3_column_int64(st, 0)))) {
            hv__store_finalize(sc->e, st);
            return s;
        }
    }
    hv__store_finalize(sc->e, st);
    if (rc != SQLITE_DONE)
        return hv__sql_fail(sc->e, rc, sc->verb);
    json_object_set_new(sc->data, "plan_approved", json_integer(plan_id));
    if (sc->stage->step == HV_STEP_PLANNING) {
        const hv_stage *target = next_with(sc, HV_STEP_IMPLEMENTATION);
        if (!target)
            return wrong_stage(sc, "the workflow has no implementation stage "
                                   "after planning");
        if ((s = move_to(sc, target)))
            return s;
    }
    if ((s = schedule_followup(sc)) || (s = schedule_review(sc)))
        return s;
    return HV_OK;
}

static hv_status step_plan(step *sc)
{
    static const char *const fields[] = {"goal", "indicators", "target_date",
                                         "addresses", "actions", NULL};
    static const char *const action_fields[] = {"title", "responsible",
        "provider", "type", "due", NULL};
    static const char *const responsibles[] = {"caseworker", "child", "family",
                                               "provider", NULL};
    static const char *const types[] = {"direct_support", "referral",
                                        "coordination", NULL};
    hv_status s;
    const char *goal;
    json_t *indicators = NULL, *addresses = NULL;
    hv_time target;
    int64_t pending = 0, version = 0;
    if ((s = check_fields(sc, fields)) || (s = need_open(sc)))
        return s;
    if (sc->stage->step != HV_STEP_PLANNING)
        return wrong_stage(sc, sc->stage->step == HV_STEP_INITIAL_ASSESSMENT ||
                                       sc->stage->step ==
                                           HV_STEP_COMPREHENSIVE_ASSESSMENT
                                   ? "a case plan is made after the assessment"
                                   : "a case plan is made at the planning stage "
                                     "(a review with outcome adjust_plan "
                                     "reopens it)");
    if ((s = query_int(sc,
                       "SELECT count(*) FROM plans WHERE case_id = ?1 AND"
                       " status = 'pending_approval'",
                       sc->case_id, NULL, 0, &pending)))
        return s;
    if (pending)
        return fail(sc, HV_REFUSED, "a plan is already waiting for approval");
    /* SMART: each part that is missing is named. */
    if ((s = in_text(sc, "goal", 0, &goal)))
        return s;
    if (!goal || strlen(goal) < 15)
        return fail(sc, HV_INVALID, "the goal is not Specific: give the goal "
                                    "as a sentence (goal=...)");
    if ((s = in_list(sc, "indicators", 0, &indicators)))
        return s;
    if (json_array_size(indicators) == 0) {
        json_decref(indicators);
        return fail(sc, HV_INVALID, "the goal is not Measurable: give at least "
                                    "one indicator (indicators.1=...)");
    }
    if ((s = in_time(sc, "target_date", 0, 0, &target)))
        goto done;
    if (!target) {
        s = fail(sc, HV_INVALID, "the goal is not Time-bound: give a "
                                 "target_date (YYYY-MM-DD)");
        goto done;
    }
    if (target <= hv_now(sc->e)) {
        s = fail(sc, HV_INVALID, "the goal is not Time-bound: target_date is "
                                 "not in the future");
        goto done;
    }
    if ((s = in_list(sc, "addresses", 0, &addresses)))
        goto done;
    if (json_array_size(addresses) == 0) {
        s = fail(sc, HV_INVALID, "the goal is not Relevant: name the needs or "
                                 "risks it addresses (addresses.1=...)");
        goto done;
    }
    json_t *actions = json_object_get(sc->in, "actions");
    if (!json_is_array(actions) || json_array_size(actions) == 0) {
        s = fail(sc, HV_INVALID, "the goal is not Achievable without actions: "
                                 "give at least one (actions.1.title=...)");
        goto done;
    }
    size_t i;
    json_t *a;
    json_array_foreach(actions, i, a) {
        if (!json_is_object(a)) {
            s = fail(sc, HV_INVALID, "actions.%zu: must be an object", i + 1);
            goto done;
        }
        const char *key;
        json_t *v;
        json_object_foreach(a, key, v) {
            if (!in_words(action_fields, key)) {
                s = fail(sc, HV_INVALID, "actions.%zu: unknown field '%s'", i + 1,
                         hv__echo_safe(key) ? key : "?");
                goto done;
            }
        }
        json_t *title = json_object_get(a, "title"), *resp = json_object_get(a, "responsible"),
               *type = json_object_get(a, "type"), *due = json_object_get(a, "due"),
               *prov = json_object_get(a, "provider");
        hv_time due_at;
        if (!json_is_string(title) || json_string_length(title) == 0) {
            s = fail(sc, HV_INVALID, "actions.%zu.title: missing", i + 1);
            goto done;
        }
        if (!json_is_string(resp)) {
            s = fail(sc, HV_INVALID, "actions.%zu.responsible: missing: who is "
                                     "responsible (caseworker, child, family or "
                                     "provider)", i + 1);
            goto done;
        }
        if (!in_words(responsibles, json_string_value(resp))) {
            s = fail(sc, HV_INVALID, "actions.%zu.responsible: one of caseworker, "
                                     "child, family, provider", i + 1);
            goto done;
        }
        if (!strcmp(json_string_value(resp), "provider") &&
            (!json_is_string(prov) || json_string_length(prov) == 0)) {
            s = fail(sc, HV_INVALID, "actions.%zu.provider: name the provider "
                                     "responsible", i + 1);
            goto done;
        }
        if (!json_is_string(type) || !in_words(types, json_string_value(type))) {
            s = fail(sc, HV_INVALID, "actions.%zu.type: one of direct_support, "
                                     "referral, coordination", i + 1);
            goto done;
        }
        if (!json_is_string(due)) {
            s = fail(sc, HV_INVALID, "actions.%zu.due: missing: when it is due "
                                     "(YYYY-MM-DD)", i + 1);
            goto done;
        }
        if (hv_time_parse(json_string_value(due), &due_at) != HV_OK) {
            s = fail(sc, HV_INVALID, "actions.%zu.due: must be a date", i + 1);
            goto done;
        }
        if (due_at > target) {
            s = fail(sc, HV_INVALID, "actions.%zu.due: after the plan's "
                                     "target_date", i + 1);
            goto done;
        }
    }
    if ((s = query_int(sc, "SELECT max(version) FROM plans WHERE case_id = ?1",
                       sc->case_id, NULL, 0, &version)))
        goto done;
    version++;
    char *ind = json_dumps(indicators, JSON_COMPACT);
    char *adr = json_dumps(addresses, JSON_COMPACT);
    int approval = sc->stage->approval != HV_APPROVAL_NONE;
    s = ind && adr ? exec_binds(sc,
                                "INSERT INTO plans (case_id, version, goal,"
                                " indicators, addresses, target_date, status,"
                                " created_at, created_by) VALUES (?1,?2,"
                                "hv_seal(?3),hv_seal(?4),hv_seal(?5),?6,?7,?8,"
                                "?9)",
                                "iitttitii", sc->case_id, version, goal, ind,
                                adr, (int64_t)target,
                                approval ? "pending_approval" : "approved",
                                (int64_t)hv_now(sc->e), sc->user_id)
                   : fail(sc, HV_NOMEM, "out of memory");
    hv__free(ind);
    hv__free(adr);
    if (s)
        goto done;
    int64_t plan_id = sqlite3_last_insert_rowid(sc->e->db);
    json_array_foreach(actions, i, a) {
        hv_time due_at;
        hv_time_parse(json_string_value(json_object_get(a, "due")), &due_at);
        if ((s = exec_binds(sc,
                            "INSERT INTO plan_actions (plan_id, case_id, seq,"
                            " title, responsible, provider, type, due_at,"
                            " updated_at) VALUES (?1,?2,?3,hv_seal(?4),?5,"
                            "hv_seal(?6),?7,?8,?9)",
                            "iiittttii", plan_id, sc->case_id, (int64_t)i + 1,
                            json_string_value(json_object_get(a, "title")),
                            json_string_value(json_object_get(a, "responsible")),
                            json_string_value(json_object_get(a, "provider")),
                            json_string_value(json_object_get(a, "type")),
                            (int64_t)due_at, (int64_t)hv_now(sc->e))))
            goto done;
    }
    json_object_set_new(sc->data, "plan", json_integer(plan_id));
    json_object_set_new(sc->data, "plan_version", json_integer(version));
    json_object_set_new(sc->data, "actions", json_integer((json_int_t)json_array_size(actions)));
    json_object_set_new(sc->out, "plan_version", json_integer(version));
    if (approval) {
        s = request_approval(sc, "plan", plan_id, NULL);
        sc->event_kind = "plan_submitted";
    } else {
        s = approve_plan(sc, plan_id);
        sc->event_kind = "plan_approved";
    }
done:
    json_decref(indicators);
    json_decref(addresses);
    return s;
}

/* Closes the case: the closed stage, status, the final follow-up task,
 * every other open task cancelled with the reason. */
static hv_status do_close(step *sc, const char *reason, int64_t final_after)
{
    hv_status s;
    const hv_stage *target = next_with(sc, HV_STEP_CLOSED);
    if (!target)
        return wrong_stage(sc, "the workflow has no closed stage after closure");
    if ((s = move_to(sc, target)) ||
        (s = tasks_cancel(sc, NULL, "case closed")) ||
        (s = cancel_approvals(sc, "case closed")) ||
        (s = exec_binds(sc,
                        "UPDATE cases SET status = 'closed', closed_at = ?2,"
                        " closure_reason = ?3, closure_planned = 0 WHERE id = ?1",
                        "iit", sc->case_id, (int64_t)hv_now(sc->e), reason)))
        return s;
    if (final_after > 0) {
        /* "Conduct a final follow-up about 3 months after closure" */
        if ((s = task_add(sc, "final_followup", "Final follow-up after closure",
                          hv_now(sc->e) + final_after, sc->assignee_id, 0)))
            return s;
        char due[32];
        hv_time_format(hv_now(sc->e) + final_after, due, sizeof due);
        json_object_set_new(sc->out, "final_followup_due", json_string(due));
    }
    json_object_set_new(sc->data, "closure_reason", json_string(reason));
    json_object_set_new(sc->data, "final_followup_after", json_integer(final_after));
    sc->event_kind = "closed";
    return HV_OK;
}

/* Asks closure.lua for its verdict; a refusal names the unmet conditions.
 * out: *final_after. */
static hv_status closure_verdict(step *sc, const hv_stage *closure_stage,
                                 const char *reason, int64_t *final_after)
{
    json_t *r = NULL;
    hv_status s;
    *final_after = strcmp(reason, "death") && strcmp(reason, "transferred")
                       ? DEFAULT_FINAL_FOLLOWUP
                       : 0;
    if (closure_stage && closure_stage->check != HV_CHECK_RULE)
        return HV_OK;
    if ((s = run_rule(sc, HV_HOOK_CLOSURE, reason, &r)) || !r)
        return s;
    *final_after = json_integer_value(json_object_get(r, "final_followup_after"));
    if (!json_is_true(json_object_get(r, "ok"))) {
        char unmet[600] = "";
        size_t n = 0, i;
        json_t *u;
        json_array_foreach(json_object_get(r, "unmet"), i, u)
            n += (size_t)snprintf(unmet + n, n < sizeof unmet ? sizeof unmet - n : 0,
                                  "%s%s", i ? "; " : "", json_string_value(u));
        json_decref(r);
        return fail(sc, HV_REFUSED, "closure checks not met (closure.lua, "
                                    "reason %s): %s",
                    reason, unmet[0] ? unmet : "no reason given");
    }
    json_decref(r);
    return HV_OK;
}

static hv_status step_decide(step *sc, int approve)
{
    static const char *const fields[] = {"reason", "note", NULL};
    hv_status s;
    const char *reason;
    sqlite3_stmt *st = NULL;
    if ((s = check_fields(sc, fields)) ||
        (s = in_text(sc, "reason", !approve, &reason)))
        return s;
    if ((s = hv__store_prepare(sc->e,
                               "SELECT id, subject, subject_id, detail FROM"
                               " approvals WHERE case_id = ?1 AND status ="
                               " 'pending' ORDER BY id LIMIT 1",
                               &st)))
        return s;
    sqlite3_bind_int64(st, 1, sc->case_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        hv__store_finalize(sc->e, st);
        return fail(sc, HV_REFUSED, "nothing on this case is waiting for "
                                    "approval");
    }
    int64_t approval_id = sqlite3_column_int64(st, 0);
    char subject[16];
    snprintf(subject, sizeof subject, "%s", sqlite3_column_text(st, 1));
    int64_t subject_id = sqlite3_column_int64(st, 2);
    json_t *detail = col_json(st, 3);
    hv__store_finalize(sc->e, st);
    const hv_stage *at = sc->stage;
    hv_step needed = !strcmp(subject, "plan") ? HV_STEP_PLANNING : HV_STEP_CLOSURE;
    if (!case_open(sc) || at->step != needed) {
        json_decref(detail);
        return fail(sc, HV_REFUSED, "the %s waiting is no longer current (the "
                                    "case is %s at stage %s)",
                    subject, sc->status, at->id);
    }
    if (!is_supervisor(sc, at->approval)) {
        json_decref(detail);
        return fail(sc, HV_DENIED, "only a %s may %s the %s (%s is a %s)",
                    at->approval == HV_APPROVAL_MANAGER ? "manager" : "supervisor",
                    approve ? "approve" : "reject", subject, sc->e->actor,
                    sc->role);
    }
    if ((s = exec_binds(sc,
                        "UPDATE approvals SET status = ?2, decided_at = ?3,"
                        " decided_by = ?4, reason = hv_seal(?5) WHERE id = ?1",
                        "itiit", approval_id, approve ? "approved" : "rejected",
                        (int64_t)hv_now(sc->e), sc->user_id, reason)) ||
        (s = tasks_done(sc, "approval", approval_id))) {
        json_decref(detail);
        return s;
    }
    json_object_set_new(sc->data, "subject", json_string(subject));
    json_object_set_new(sc->out, "subject", json_string(subject));
    {
        const char *note = json_string_value(json_object_get(sc->in, "note"));
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%s %s", approve ? "Approved" : "Rejected",
                 subject);
        if ((s = add_note(sc, prefix, approve ? note : reason))) {
            json_decref(detail);
            return s;
        }
    }
    if (!strcmp(subject, "plan")) {
        if (approve) {
            s = approve_plan(sc, subject_id);
            sc->event_kind = "plan_approved";
        } else {
            s = exec_binds(sc,
                           "UPDATE plans SET status = 'rejected', decided_at = ?2,"
                           " decided_by = ?3, decision_reason = hv_seal(?4) WHERE"
                           " id = ?1",
                           "iiit", subject_id, (int64_t)hv_now(sc->e),
                           sc->user_id, reason);
            sc->event_kind = "plan_rejected";
        }
    } else {
        const char *why = json_string_value(json_object_get(detail, "reason"));
        if (approve) {
            s = do_close(sc, why ? why : "goals_achieved",
                         json_integer_value(json_object_get(detail,
                                                            "final_followup_after")));
        } else {
            const hv_stage *back = next_with(sc, HV_STEP_FOLLOWUP);
            s = back ? move_to(sc, back) : HV_OK;
            sc->event_kind = "closure_rejected";
        }
    }
    json_decref(detail);
    return s;
}

/* The id of the approved plan in force; HV_REFUSED if there is none. */
static hv_status current_plan(step *sc, int64_t *plan_id)
{
    hv_status s = query_int(sc,
                            "SELECT id FROM plans WHERE case_id = ?1 AND status"
                            " = 'approved' ORDER BY version DESC LIMIT 1",
                            sc->case_id, NULL, 0, plan_id);
    if (s == HV_OK && !*plan_id)
        return fail(sc, HV_REFUSED, "the case has no approved plan yet");
    return s;
}

static hv_status step_act(step *sc)
{
    static const char *const fields[] = {"action", "status", "reason", NULL};
    static const char *const statuses[] = {"pending", "in_progress", "done",
                                           "dropped", NULL};
    hv_status s;
    int64_t seq, plan_id, action_id;
    const char *status, *reason;
    if ((s = check_fields(sc, fields)) || (s = need_open(sc)) ||
        (s = in_int(sc, "action", 1, &seq)) ||
        (s = in_code(sc, "status", NULL, statuses, 1, &status)) ||
        (s = in_text(sc, "reason", 0, &reason)) ||
        (s = current_plan(sc, &plan_id)))
        return s;
    sqlite3_stmt *st = NULL;
    if ((s = hv__store_prepare(sc->e,
                               "SELECT id, status FROM plan_actions WHERE"
                               " plan_id = ?1 AND seq = ?2",
                               &st)))
        return s;
    sqlite3_bind_int64(st, 1, plan_id);
    sqlite3_bind_int64(st, 2, seq);
    if (sqlite3_step(st) != SQLITE_ROW) {
        hv__store_finalize(sc->e, st);
        return fail(sc, HV_NOTFOUND, "the plan in force has no action %lld",
                    (long long)seq);
    }
    action_id = sqlite3_column_int64(st, 0);
    char was[16];
    snprintf(was, sizeof was, "%s", sqlite3_column_text(st, 1));
    hv__store_finalize(sc->e, st);
    if (!strcmp(was, "done") || !strcmp(was, "dropped"))
        return fail(sc, HV_REFUSED, "action %lld is already %s", (long long)seq,
                    was);
    if (!strcmp(status, "dropped") && !reason)
        return fail(sc, HV_INVALID, "missing required field 'reason' (why the "
                                    "action is dropped)");
    if ((s = exec_binds(sc,
                        "UPDATE plan_actions SET status = ?2, status_reason = hv_seal(?3),"
                        " updated_at = ?4 WHERE id = ?1",
                        "itti", action_id, status, reason, (int64_t)hv_now(sc->e))))
        return s;
    if ((!strcmp(status, "done") || !strcmp(status, "dropped")) &&
        (s = tasks_done(sc, "action", action_id)))
        return s;
    json_object_set_new(sc->data, "action", json_integer(seq));
    json_object_set_new(sc->data, "status", json_string(status));
    sc->event_kind = "action_updated";
    return HV_OK;
}

/* 1 if consent on record (not withdrawn) covers one of the scopes. */
static hv_status has_consent(step *sc, const char *a, const char *b, int *yes)
{
    int64_t n = 0;
    hv_status s = query_int(sc,
                            "SELECT count(*) FROM consents WHERE case_id = ?1"
                            " AND withdrawn_at IS NULL AND scope IN (?2, ?3)",
                            sc->case_id, a, 0, &n);
    if (s == HV_OK && !n && b) {
        sqlite3_stmt *st = NULL;
        if ((s = hv__store_prepare(sc->e,
                                   "SELECT count(*) FROM consents WHERE case_id"
                                   " = ?1 AND withdrawn_at IS NULL AND scope = ?2",
                                   &st)))
            return s;
        sqlite3_bind_int64(st, 1, sc->case_id);
        sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        hv__store_finalize(sc->e, st);
    }
    *yes = n > 0;
    return s;
}

/* Consent for sharing, or a supervisor's recorded override. */
static hv_status consent_or_override(step *sc, const char *scope,
                                     const char *what, int *overridden)
{
    int yes = 0;
    const char *override;
    hv_status s;
    *overridden = 0;
    if ((s = has_consent(sc, scope, "information_sharing", &yes)))
        return s;
    if (yes)
        return HV_OK;
    if ((s = in_text(sc, "override", 0, &override)))
        return s;
    if (!override)
        return fail(sc, HV_REFUSED,
                    "no consent on record covers %s (consent.%s or "
                    "consent.information_sharing); record it with 'haven "
                    "consent', or a supervisor may override=REASON",
                    what, scope);
    if (!is_supervisor(sc, HV_APPROVAL_SUPERVISOR))
        return fail(sc, HV_DENIED, "only a supervisor may override missing "
                                   "consent (%s is a %s)",
                    sc->e->actor, sc->role);
    *overridden = 1;
    json_object_set_new(sc->data, "consent_overridden", json_true());
    return HV_OK;
}

static hv_status step_refer(step *sc)
{
    static const char *const fields[] = {"service", "provider", "action",
        "override", "referral", "status", "outcome", NULL};
    static const char *const statuses[] = {"sent", "accepted", "declined",
                                           "completed", NULL};
    hv_status s;
    int64_t number;
    if ((s = check_fields(sc, fields)) || (s = need_open(sc)) ||
        (s = in_int(sc, "referral", 0, &number)))
        return s;
    if (number) {
        /* Tracking: sent -> accepted/declined -> completed. */
        const char *status, *outcome;
        int64_t id = 0;
        char was[16] = "";
        sqlite3_stmt *st = NULL;
        if ((s = in_code(sc, "status", NULL, statuses, 1, &status)) ||
            (s = in_text(sc, "outcome", 0, &outcome)))
            return s;
        if ((s = hv__store_prepare(sc->e,
                                   "SELECT id, status FROM referrals WHERE"
                                   " case_id = ?1 AND seq = ?2",
                                   &st)))
            return s;
        sqlite3_bind_int64(st, 1, sc->case_id);
        sqlite3_bind_int64(st, 2, number);
        if (sqlite3_step(st) == SQLITE_ROW) {
            id = sqlite3_column_int64(st, 0);
            snprintf(was, sizeof was, "%s", sqlite3_column_text(st, 1));
        }
        hv__store_finalize(sc->e, st);
        if (!id)
            return fail(sc, HV_NOTFOUND, "no referral %lld on this case",
                        (long long)number);
        int ok = (!strcmp(was, "sent") && (!strcmp(status, "accepted") ||
                                           !strcmp(status, "declined"))) ||
                 (!strcmp(was, "accepted") && !strcmp(status, "completed"));
        if (!ok)
            return fail(sc, HV_REFUSED, "referral %lld is %s; it can go sent -> "
                                        "accepted or declined -> completed",
                        (long long)number, was);
        if ((s = exec_binds(sc,
                            "UPDATE referrals SET status = ?2, outcome ="
                            " coalesce(hv_seal(?3), outcome), updated_at = ?4"
                            " WHERE id = ?1",
                            "itti", id, status, outcome, (int64_t)hv_now(sc->e))))
            return s;
        if (strcmp(status, "accepted") &&
            (s = tasks_done(sc, "referral_outcome", id)))
            return s;
        json_object_set_new(sc->data, "referral", json_integer(number));
        json_object_set_new(sc->data, "status", json_string(status));
        sc->event_kind = "referral_updated";
        return HV_OK;
    }
    const char *service, *provider;
    int64_t action_seq = 0, action_id = 0, next_seq = 0, plan_id = 0;
    int overridden = 0;
    if ((s = in_code(sc, "service", "services", NULL, 1, &service)) ||
        (s = in_text(sc, "provider", 1, &provider)) ||
        (s = in_int(sc, "action", 0, &action_seq)))
        return s;
    if (sc->stage->step == HV_STEP_REGISTRATION ||
        sc->stage->step == HV_STEP_INITIAL_ASSESSMENT)
        return wrong_stage(sc, "referrals follow the assessment");
    if (action_seq) {
        if ((s = current_plan(sc, &plan_id)) ||
            (s = query_int(sc, "SELECT id FROM plan_actions WHERE plan_id = ?1"
                               " AND seq = CAST(?2 AS INTEGER)",
                           plan_id, NULL, 0, &action_id)))
            return s;
        sqlite3_stmt *st = NULL;
        if ((s = hv__store_prepare(sc->e, "SELECT id FROM plan_actions WHERE"
                                          " plan_id = ?1 AND seq = ?2", &st)))
            return s;
        sqlite3_bind_int64(st, 1, plan_id);
        sqlite3_bind_int64(st, 2, action_seq);
        action_id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        hv__store_finalize(sc->e, st);
        if (!action_id)
            return fail(sc, HV_NOTFOUND, "the plan in force has no action %lld",
                        (long long)action_seq);
    }
    if ((s = consent_or_override(sc, "referral", "sharing information with a "
                                                 "service provider",
                                 &overridden)))
        return s;
    if ((s = query_int(sc, "SELECT max(seq) FROM referrals WHERE case_id = ?1",
                       sc->case_id, NULL, 0, &next_seq)))
        return s;
    next_seq++;
    const char *override = json_string_value(json_object_get(sc->in, "override"));
    if ((s = exec_binds(sc,
                        "INSERT INTO referrals (case_id, seq, service, provider,"
                        " action_id, status, sent_at, updated_at,"
                        " consent_override_by, consent_override_reason) VALUES"
                        " (?1,?2,?3,hv_seal(?4),nullif(?5,0),'sent',?6,?6,"
                        "nullif(?7,0),hv_seal(?8))",
                        "iittiiit", sc->case_id, next_seq, service, provider,
                        action_id, (int64_t)hv_now(sc->e),
                        overridden ? sc->user_id : (int64_t)0,
                        overridden ? override : NULL)))
        return s;
    int64_t id = sqlite3_last_insert_rowid(sc->e->db);
    char label[200];
    snprintf(label, sizeof label, "Outcome of referral %lld (%s)",
             (long long)next_seq, service);
    if ((s = task_add(sc, "referral_outcome", label,
                      hv_now(sc->e) + DEFAULT_REFERRAL_OUTCOME, sc->assignee_id,
                      id)))
        return s;
    json_object_set_new(sc->data, "referral", json_integer(next_seq));
    json_object_set_new(sc->data, "service", json_string(service));
    json_object_set_new(sc->out, "referral", json_integer(next_seq));
    sc->event_kind = "referred";
    return HV_OK;
}

static hv_status step_conference(step *sc)
{
    static const char *const fields[] = {"at", "participants", "decisions", NULL};
    hv_status s;
    json_t *participants = NULL, *decisions = NULL;
    hv_time at;
    if ((s = check_fields(sc, fields)) || (s = need_open(sc)) ||
        (s = in_time(sc, "at", 0, hv_now(sc->e), &at)) ||
        (s = in_list(sc, "participants", 1, &participants)) ||
        (s = in_list(sc, "decisions", 1, &decisions)))
        goto done;
    char *p = json_dumps(participants, JSON_COMPACT);
    char *d = json_dumps(decisions, JSON_COMPACT);
    s = p && d ? exec_binds(sc,
                            "INSERT INTO conferences (case_id, at, recorded_by,"
                            " participants, decisions) VALUES (?1,?2,?3,"
                            "hv_seal(?4),hv_seal(?5))",
                            "iiitt", sc->case_id, (int64_t)at, sc->user_id, p, d)
               : fail(sc, HV_NOMEM, "out of memory");
    hv__free(p);
    hv__free(d);
    if (s == HV_OK) {
        json_object_set_new(sc->data, "conference",
                            json_integer(sqlite3_last_insert_rowid(sc->e->db)));
        json_object_set_new(sc->data, "participants",
                            json_integer((json_int_t)json_array_size(participants)));
        sc->event_kind = "conference_held";
    }
done:
    json_decref(participants);
    json_decref(decisions);
    return s;
}

static hv_status step_followup(step *sc)
{
    static const char *const fields[] = {"method", "safety", "notes", "at", NULL};
    static const char *const methods[] = {"home_visit_scheduled",
        "home_visit_unannounced", "phone_call", "meeting", "provider_check", NULL};
    hv_status s;
    const char *method, *safety, *notes;
    hv_time at;
    int64_t final_open = 0;
    if ((s = check_fields(sc, fields)) ||
        (s = in_code(sc, "method", "followup_methods", methods, 1, &method)) ||
        (s = in_code(sc, "safety", "safety_levels", safety_words, 1, &safety)) ||
        (s = in_text(sc, "notes", 0, &notes)) ||
        (s = in_time(sc, "at", 0, hv_now(sc->e), &at)))
        return s;
    if (at > hv_now(sc->e))
        return fail(sc, HV_INVALID, "at: is in the future");
    if (!case_open(sc)) {
        if ((s = query_int(sc,
                           "SELECT count(*) FROM tasks WHERE case_id = ?1 AND"
                           " kind = 'final_followup' AND status = 'open'",
                           sc->case_id, NULL, 0, &final_open)))
            return s;
        if (!final_open)
            return fail(sc, HV_REFUSED, "the case is %s; reopen it first",
                        sc->status);
        /* The final follow-up after closure. */
        if ((s = exec_binds(sc,
                            "INSERT INTO followups (case_id, at, by_id, method,"
                            " safety, notes, final) VALUES (?1,?2,?3,?4,?5,"
                            "hv_seal(?6),1)",
                            "iiittt", sc->case_id, (int64_t)at, sc->user_id,
                            method, safety, notes)) ||
            (s = tasks_done(sc, "final_followup", 0)))
            return s;
        json_object_set_new(sc->data, "final", json_true());
        json_object_set_new(sc->data, "safety", json_string(safety));
        sc->event_kind = "final_followup";
        return HV_OK;
    }
    hv_step here = sc->stage->step;
    if (here != HV_STEP_IMPLEMENTATION && here != HV_STEP_FOLLOWUP &&
        here != HV_STEP_EVALUATION)
        return wrong_stage(sc, "follow-up starts once a plan is approved and "
                               "being implemented");
    if (here == HV_STEP_IMPLEMENTATION || here == HV_STEP_EVALUATION) {
        const hv_stage *t = next_with(sc, HV_STEP_FOLLOWUP);
        if (t && (s = move_to(sc, t)))
            return s;
    }
    if ((s = exec_binds(sc,
                        "INSERT INTO followups (case_id, at, by_id, method,"
                        " safety, notes) VALUES (?1,?2,?3,?4,?5,hv_seal(?6))",
                        "iiittt", sc->case_id, (int64_t)at, sc->user_id, method,
                        safety, notes)))
        return s;
    json_object_set_new(sc->data, "followup",
                        json_integer(sqlite3_last_insert_rowid(sc->e->db)));
    json_object_set_new(sc->data, "method", json_string(method));
    json_object_set_new(sc->data, "safety", json_string(safety));
    if ((s = tasks_done(sc, "followup", 0)))
        return s;
    /* "re-assessment of risk when things change" */
    if (strcmp(safety, "ok") && (s = rescore_risk(sc)))
        return s;
    if ((s = schedule_followup(sc)))
        return s;
    sc->event_kind = "followed_up";
    return HV_OK;
}

static hv_status step_review(step *sc)
{
    static const char *const fields[] = {"outcome", "notes", NULL};
    static const char *const outcomes[] = {"continue", "adjust_plan",
                                           "plan_closure", NULL};
    hv_status s;
    const char *outcome, *notes;
    int64_t plan_id;
    if ((s = check_fields(sc, fields)) || (s = need_open(sc)) ||
        (s = in_code(sc, "outcome", "review_outcomes", outcomes, 1, &outcome)) ||
        (s = in_text(sc, "notes", 0, &notes)) ||
        (s = current_plan(sc, &plan_id)))
        return s;
    hv_step here = sc->stage->step;
    if (here == HV_STEP_IMPLEMENTATION || here == HV_STEP_EVALUATION) {
        const hv_stage *t = next_with(sc, HV_STEP_FOLLOWUP);
        if (t && (s = move_to(sc, t)))
            return s;
        here = sc->stage->step;
    }
    if (here != HV_STEP_FOLLOWUP)
        return wrong_stage(sc, "a review happens during follow-up");
    if ((s = exec_binds(sc,
                        "INSERT INTO reviews (case_id, at, by_id, outcome, notes)"
                        " VALUES (?1,?2,?3,?4,hv_seal(?5))",
                        "iiitt", sc->case_id, (int64_t)hv_now(sc->e), sc->user_id,
                        outcome, notes)) ||
        (s = tasks_done(sc, "review", 0)))
        return s;
    json_object_set_new(sc->data, "outcome", json_string(outcome));
    if ((s = rescore_risk(sc)))
        return s;
    if (!strcmp(outcome, "adjust_plan")) {
        const hv_stage *t = next_with(sc, HV_STEP_PLANNING);
        if (!t)
            return wrong_stage(sc, "the workflow does not lead back to planning");
        if ((s = move_to(sc, t)))
            return s;
    } else if (!strcmp(outcome, "plan_closure") &&
               (s = exec_binds(sc, "UPDATE cases SET closure_planned = 1 WHERE"
                                   " id = ?1", "i", sc->case_id))) {
        return s;
    }
    if ((s = schedule_followup(sc)) || (s = schedule_review(sc)))
        return s;
    sc->event_kind = "reviewed";
    return HV_OK;
}

static hv_status step_evaluate(step *sc)
{
    static const char *const fields[] = {"outcome", "indicators", "notes", NULL};
    static const char *const outcomes[] = {"achieved", "partly_achieved",
                                           "not_achieved", NULL};
    hv_status s;
    const char *outcome, *notes;
    json_t *indicators = NULL;
    int64_t plan_id;
    if ((s = check_fields(sc, fields)) || (s = need_open(sc)) ||
        (s = in_code(sc, "outcome", NULL, outcomes, 1, &outcome)) ||
        (s = in_text(sc, "notes", 0, &notes)) ||
        (s = current_plan(sc, &plan_id)))
        return s;
    if (sc->stage->step != HV_STEP_EVALUATION) {
        const hv_stage *t = next_with(sc, HV_STEP_EVALUATION);
        if (!t)
            return wrong_stage(sc, "this workflow has no evaluation here");
        if ((s = move_to(sc, t)))
            return s;
    }
    if ((s = in_list(sc, "indicators", 0, &indicators)))
        return s;
    json_t *data = json_pack("{s:O,s:s?}", "indicators", indicators, "notes", notes);
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    s = text ? exec_binds(sc,
                          "INSERT INTO evaluations (case_id, plan_id, at, by_id,"
                          " outcome, data) VALUES (?1,?2,?3,?4,?5,hv_seal(?6))",
                          "iiiitt", sc->case_id, plan_id, (int64_t)hv_now(sc->e),
                          sc->user_id, outcome, text)
             : fail(sc, HV_NOMEM, "out of memory");
    hv__free(text);
    json_decref(indicators);
    if (s)
        return s;
    json_object_set_new(sc->data, "outcome", json_string(outcome));
    sc->event_kind = "evaluated";
    return HV_OK;
}

static hv_status step_close(step *sc)
{
    static const char *const fields[] = {"reason", "notes", NULL};
    hv_status s;
    const char *reason, *notes;
    int64_t final_after;
    if ((s = check_fields(sc, fields)) || (s = need_open(sc)) ||
        (s = in_code(sc, "reason", "closure_reasons", NULL, 1, &reason)) ||
        (s = in_text(sc, "notes", 0, &notes)))
        return s;
    if (sc->stage->step == HV_STEP_CLOSURE)
        return fail(sc, HV_REFUSED, "closure was already requested and waits "
                                    "for approval");
    const hv_stage *target = next_with(sc, HV_STEP_CLOSURE);
    if (!target)
        return wrong_stage(sc, "this stage does not lead to closure");
    /* Closure is judged on the risk as it is now, not as last scored. */
    if ((s = rescore_risk(sc)) ||
        (s = closure_verdict(sc, target, reason, &final_after)) ||
        (s = move_to(sc, target)))
        return s;
    json_object_set_new(sc->data, "closure_reason", json_string(reason));
    if ((s = add_note(sc, "Closure requested", notes)))
        return s;
    if (target->approval != HV_APPROVAL_NONE) {
        json_t *detail = json_pack("{s:s,s:I}", "reason", reason,
                                   "final_followup_after", (json_int_t)final_after);
        s = request_approval(sc, "closure", 0, detail);
        json_decref(detail);
        sc->event_kind = "closure_requested";
        return s;
    }
    return do_close(sc, reason, final_after);
}

static hv_status step_reopen(step *sc)
{
    static const char *const fields[] = {"reason", NULL};
    hv_status s;
    const char *reason;
    if ((s = check_fields(sc, fields)) || (s = in_text(sc, "reason", 1, &reason)))
        return s;
    if (case_open(sc))
        return fail(sc, HV_REFUSED, "the case is open; only a closed case can "
                                    "be reopened");
    const hv_stage *target = next_with(sc, HV_STEP_INITIAL_ASSESSMENT);
    if (!target && sc->stage->nnext)
        target = &sc->wf->stages[sc->stage->next[0]];
    if (!target)
        return wrong_stage(sc, "the workflow does not allow reopening from here");
    if ((s = move_to(sc, target)) ||
        (s = tasks_cancel(sc, NULL, "case reopened")) ||
        (s = cancel_approvals(sc, "case reopened")) ||
        (s = add_note(sc, "Reopened", reason)) ||
        (s = exec_binds(sc,
                        "UPDATE cases SET status = 'open', closed_at = NULL,"
                        " closure_reason = NULL, transferred_to = NULL WHERE id = ?1",
                        "i", sc->case_id)))
        return s;
    /* The assessments fall due again, as at registration: assessment.lua
     * decides (by the case's urgency), else the stages' defaults. */
    json_t *r = NULL;
    if ((s = run_rule(sc, HV_HOOK_ASSESSMENT, NULL, &r)))
        return s;
    int64_t initial = r ? json_integer_value(json_object_get(r, "initial_due")) : 0;
    int64_t comprehensive =
        r ? json_integer_value(json_object_get(r, "comprehensive_due")) : 0;
    json_decref(r);
    if (!initial)
        initial = target->due_seconds > 0 ? target->due_seconds : 48 * 3600;
    if ((s = task_add(sc, target->id, target->label, hv_now(sc->e) + initial,
                      sc->assignee_id, 0)))
        return s;
    for (size_t k = 0; k < sc->wf->nstages; k++) {
        const hv_stage *c = &sc->wf->stages[k];
        if (c->step != HV_STEP_COMPREHENSIVE_ASSESSMENT)
            continue;
        int64_t due = comprehensive ? comprehensive
                      : c->due_seconds > 0 ? c->due_seconds
                                           : 14 * 86400;
        if ((s = task_add(sc, c->id, c->label, hv_now(sc->e) + due,
                          sc->assignee_id, 0)))
            return s;
        break;
    }
    json_object_set_new(sc->data, "reopened", json_true());
    sc->event_kind = "reopened";
    return HV_OK;
}

static hv_status step_transfer(step *sc)
{
    static const char *const fields[] = {"agency", "reason", "override", NULL};
    hv_status s;
    const char *agency, *reason;
    
    int64_t final_after;
    if ((s = check_fields(sc, fields)) || (s = need_open(sc)) ||
        (s = in_text(sc, "agency", 1, &agency)) ||
        (s = in_text(sc, "reason", 0, &reason)))
        return s;
    /* "Transfer requires ... the consent of the child and family" (seed
     * 001): consent for the transfer scope itself, given by both. */
    int64_t both = 0;
    if ((s = query_int(sc,
                       "SELECT count(*) FROM consents WHERE case_id = ?1 AND"
                       " scope = ?2 AND given_by = 'both' AND withdrawn_at IS"
                       " NULL",
                       sc->case_id, "transfer", 0, &both)))
        return s;
    if (!both) {
        const char *override;
        if ((s = in_text(sc, "override", 0, &override)))
            return s;
        if (!override)
            return fail(sc, HV_REFUSED,
                        "a transfer needs the consent of the child and family "
                        "(consent scope=transfer given_by=both); a supervisor "
                        "may override=REASON");
        if (!is_supervisor(sc, HV_APPROVAL_SUPERVISOR))
            return fail(sc, HV_DENIED, "only a supervisor may override missing "
                                       "consent (%s is a %s)",
                        sc->e->actor, sc->role);
        json_object_set_new(sc->data, "consent_overridden", json_true());
    }
    const hv_stage *closed = NULL;
    for (size_t i = 0; i < sc->wf->nstages && !closed; i++)
        if (sc->wf->stages[i].step == HV_STEP_CLOSED)
            closed = &sc->wf->stages[i];
    if (!closed)
        return wrong_stage(sc, "the workflow has no closed stage");
    if ((s = closure_verdict(sc, NULL, "transferred", &final_after)))
        return s;
    /* A transfer closes the case here whatever stage it is at. */
    if ((s = exec_binds(sc, "UPDATE cases SET stage = ?2, status = 'transferred',"
                            " closed_at = ?3, closure_reason = 'transferred',"
                            " transferred_to = hv_seal(?4) WHERE id = ?1",
                        "itit", sc->case_id, closed->id, (int64_t)hv_now(sc->e),
                        agency)) ||
        (s = tasks_cancel(sc, NULL, "case transferred")) ||
        (s = cancel_approvals(sc, "case transferred")) ||
        (s = add_note(sc, "Transferred", reason)))
        return s;
    {
        const char *override = json_string_value(json_object_get(sc->in, "override"));
        if (json_object_get(sc->data, "consent_overridden") &&
            (s = add_note(sc, "Consent for the transfer overridden by a supervisor",
                          override)))
            return s;
    }
    json_object_set_new(sc->data, "from", json_string(sc->stage->id));
    json_object_set_new(sc->data, "to", json_string(closed->id));
    sc->stage = closed;
    if (final_after > 0 &&
        (s = task_add(sc, "final_followup", "Final follow-up after transfer",
                      hv_now(sc->e) + final_after, sc->assignee_id, 0)))
        return s;
    json_object_set_new(sc->data, "transferred", json_true());
    sc->event_kind = "transferred";
    return HV_OK;
}

static hv_status step_assign(step *sc)
{
    static const char *const fields[] = {"to", NULL};
    hv_status s;
    const char *to;
    int64_t user = 0;
    if ((s = check_fields(sc, fields)) || (s = in_text(sc, "to", 1, &to)))
        return s;
    sqlite3_stmt *st = NULL;
    if ((s = hv__store_prepare(sc->e, "SELECT id FROM users WHERE login = ?1 AND"
                                      " active = 1", &st)))
        return s;
    sqlite3_bind_text(st, 1, to, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        user = sqlite3_column_int64(st, 0);
    hv__store_finalize(sc->e, st);
    if (!user)
        return fail(sc, HV_NOTFOUND, "no active user '%s'",
                    hv__echo_safe(to) ? to : "?");
    if ((s = exec_binds(sc, "UPDATE cases SET assignee_id = ?2 WHERE id = ?1",
                        "ii", sc->case_id, user)) ||
        (s = exec_binds(sc, "UPDATE tasks SET assignee_id = ?2 WHERE case_id ="
                            " ?1 AND status = 'open' AND kind != 'approval'",
                        "ii", sc->case_id, user)))
        return s;
    json_object_set_new(sc->data, "to", json_string(to));
    sc->event_kind = "reassigned";
    return HV_OK;
}

static hv_status step_consent(step *sc)
{
    static const char *const fields[] = {"scope", "given_by", "withdraw",
                                         "reason", NULL};
    static const char *const givers[] = {"child", "caregiver", "both",
                                         "guardian", NULL};
    hv_status s;
    const char *scope, *given_by, *reason;
    json_t *w = json_object_get(sc->in, "withdraw");
    int withdraw = json_is_true(w) ||
                   (json_is_string(w) && (!strcmp(json_string_value(w), "yes") ||
                                          !strcmp(json_string_value(w), "true")));
    int64_t active = 0;
    if ((s = check_fields(sc, fields)) ||
        (s = in_code(sc, "scope", "consent_scopes", NULL, 1, &scope)) ||
        (s = in_text(sc, "reason", 0, &reason)))
        return s;
    if ((s = query_int(sc,
                       "SELECT id FROM consents WHERE case_id = ?1 AND scope ="
                       " ?2 AND withdrawn_at IS NULL",
                       sc->case_id, scope, 0, &active)))
        return s;
    json_object_set_new(sc->data, "scope", json_string(scope));
    if (withdraw) {
        if (!active)
            return fail(sc, HV_REFUSED, "no consent for %s is on record", scope);
        if ((s = exec_binds(sc,
                            "UPDATE consents SET withdrawn_at = ?2,"
                            " withdrawn_reason = hv_seal(?3) WHERE id = ?1",
                            "iit", active, (int64_t)hv_now(sc->e), reason)))
            return s;
        sc->event_kind = "consent_withdrawn";
        return HV_OK;
    }
    if ((s = in_code(sc, "given_by", "consent_givers", givers, 1, &given_by)))
        return s;
    if (active)
        return fail(sc, HV_REFUSED, "consent for %s is already on record", scope);
    if ((s = exec_binds(sc,
                        "INSERT INTO consents (case_id, scope, given_by,"
                        " given_at, recorded_by) VALUES (?1,?2,?3,?4,?5)",
                        "ittii", sc->case_id, scope, given_by,
                        (int64_t)hv_now(sc->e), sc->user_id)))
        return s;
    json_object_set_new(sc->data, "given_by", json_string(given_by));
    sc->event_kind = "consent_recorded";
    return HV_OK;
}

/* ---- the entry point ------------------------------------------------------- */

typedef hv_status (*step_fn)(step *sc);

static hv_status step_approve(step *sc) { return step_decide(sc, 1); }
static hv_status step_reject(step *sc) { return step_decide(sc, 0); }

static const struct {
    const char *name;
    step_fn run;
} steps[] = {
    {"assess", step_assess},       {"plan", step_plan},
    {"approve", step_approve},     {"reject", step_reject},
    {"act", step_act},             {"refer", step_refer},
    {"conference", step_conference}, {"followup", step_followup},
    {"review", step_review},       {"evaluate", step_evaluate},
    {"close", step_close},         {"reopen", step_reopen},
    {"transfer", step_transfer},   {"assign", step_assign},
    {"consent", step_consent},
};

/* Loads the case row into sc (inside the transaction). */
static hv_status load_case(step *sc)
{
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_prepare(sc->e,
                                    "SELECT c.stage, c.status, c.urgency,"
                                    " c.assignee_id, c.workflow_id, c.version"
                                    " FROM cases c WHERE c.id = ?1",
                                    &st);
    if (s)
        return s;
    sqlite3_bind_int64(st, 1, sc->case_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        sc->stage_id = hv__column_strdup(st, 0);
        sc->status = hv__column_strdup(st, 1);
        sc->urgency = hv__column_strdup(st, 2);
        sc->assignee_id = sqlite3_column_int64(st, 3);
        sc->workflow_row = sqlite3_column_int64(st, 4);
        sc->version = sqlite3_column_int64(st, 5);
    }
    hv__store_finalize(sc->e, st);
    if (rc != SQLITE_ROW)
        return hv__sql_fail(sc->e, rc, "reading the case");
    if (!sc->stage_id || !sc->status)
        return hv__fail(sc->e, HV_NOMEM, "out of memory");
    /* The case keeps the workflow version it was opened under. */
    sc->wf = sc->e->wf;
    if (sc->workflow_row != sc->e->workflow_row) {
        char *err = NULL;
        if ((s = hv__store_prepare(sc->e, "SELECT source FROM workflows WHERE id = ?1",
                                   &st)))
            return s;
        sqlite3_bind_int64(st, 1, sc->workflow_row);
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *src = (const char *)sqlite3_column_text(st, 0);
            s = hv_workflow_load_string(src, strlen(src), "stored workflow",
                                        &sc->own_wf, &err);
        } else {
            s = HV_CORRUPT;
        }
        hv__store_finalize(sc->e, st);
        hv__free(err);
        if (s)
            return hv__fail(sc->e, HV_CORRUPT, "%s: the case's workflow is "
                                               "damaged", sc->e->path);
        sc->wf = sc->own_wf;
    }
    sc->stage = hv__workflow_stage(sc->wf, sc->stage_id);
    if (!sc->stage)
        return hv__fail(sc->e, HV_CORRUPT, "%s: the case is at a stage its "
                                           "workflow does not have", sc->ref);
    return HV_OK;
}

HV_API hv_status hv_case_step(hv_engine *e, const char *ref, const char *name,
                              const char *input_json, int64_t expected_version,
                              char **out_json)
{
    step sc;
    hv_status s;
    step_fn run = NULL;
    json_error_t jerr;
    memset(&sc, 0, sizeof sc);
    *out_json = NULL;
    hv__clear_error(e);
    for (size_t i = 0; name && i < sizeof steps / sizeof steps[0]; i++)
        if (!strcmp(steps[i].name, name))
            run = steps[i].run;
    if (!run)
        return hv__fail(e, HV_USAGE, "no such step '%s'",
                        name && hv__echo_safe(name) ? name : "?");
    if ((s = hv__need_key(e, name)))
        return s;
    sc.e = e;
    sc.ref = ref;
    sc.verb = name;
    sc.in = json_loads(input_json && *input_json ? input_json : "{}",
                       JSON_REJECT_DUPLICATES, &jerr);
    if (!sc.in || !json_is_object(sc.in)) {
        json_decref(sc.in);
        return hv__fail(e, HV_INVALID, "%s: input:%d:%d: not a JSON object",
                        name, jerr.line, jerr.column);
    }
    sc.decisions = json_array();
    sc.data = json_object();
    sc.out = json_object();
    if (!sc.decisions || !sc.data || !sc.out) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto done;
    }
    if ((s = hv__store_begin(e)))
        goto done;
    char role[32];
    if ((s = hv__case_access(e, ref, name, 1, &sc.case_id, &sc.version)) ||
        (s = hv__actor(e, &sc.user_id, role, sizeof role)) ||
        (s = load_case(&sc)))
        goto fail;
    if (!(sc.role = hv__strdup(role))) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto fail;
    }
    if (expected_version > 0 && expected_version != sc.version) {
        s = hv__fail(e, HV_CONFLICT,
                     "%s: stale version: the case changed since version %lld "
                     "(it is at %lld); reload it and try again",
                     ref, (long long)expected_version, (long long)sc.version);
        goto fail;
    }
    if ((s = run(&sc)))
        goto fail;
    int64_t version;
    if ((s = hv__store_case_touch(e, ref, sc.case_id, 0, &version)) ||
        (s = hv__store_append_event(e, sc.case_id,
                                    sc.event_kind ? sc.event_kind : name, sc.data,
                                    json_array_size(sc.decisions) ? sc.decisions
                                                                  : NULL)))
        goto fail;
    /* What the caller sees, built before the commit: once committed, the
     * step has happened and must not be reported as failed. */
    sqlite3_stmt *st = NULL;
    char *status = NULL;
    if (hv__store_prepare(e, "SELECT status FROM cases WHERE id = ?1", &st) == HV_OK) {
        sqlite3_bind_int64(st, 1, sc.case_id);
        if (sqlite3_step(st) == SQLITE_ROW)
            status = hv__column_strdup(st, 0);
    }
    hv__store_finalize(e, st);
    int bad = !status;
    bad |= json_object_set_new(sc.out, "ref", json_string(ref));
    bad |= json_object_set_new(sc.out, "step", json_string(name));
    bad |= json_object_set_new(sc.out, "event",
                               json_string(sc.event_kind ? sc.event_kind : name));
    bad |= json_object_set_new(sc.out, "version", json_integer(version));
    bad |= json_object_set_new(sc.out, "stage", json_string(sc.stage->id));
    bad |= json_object_set_new(sc.out, "stage_label", json_string(sc.stage->label));
    bad |= json_object_set_new(sc.out, "status", json_string(status ? status : "?"));
    hv__free(status);
    char *result = NULL;
    if ((s = hv__json_out(e, bad ? NULL : sc.out, &result)))
        goto fail;
    if ((s = hv__store_commit(e))) {
        hv__free(result);
        goto fail;
    }
    *out_json = result;
    s = HV_OK;
    goto done;
fail:
    hv__store_rollback(e);
    hv__audit_pending_refusal(e, name);
done:
    json_decref(sc.in);
    json_decref(sc.decisions);
    json_decref(sc.view);
    json_decref(sc.data);
    json_decref(sc.out);
    hv_workflow_free(sc.own_wf);
    hv__free(sc.stage_id);
    hv__free(sc.status);
    hv__free(sc.urgency);
    hv__free(sc.role);
    return s;
}
