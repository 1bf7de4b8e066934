/*
 * report.c - the caseload report (issue 9): where cases stand and what is
 * late, for the acting user's scope, as aggregate figures only.
 *
 * Every figure is an aggregate SQL query over the tables (GROUP BY in
 * SQLite); the only per-case work in C is stepping through the sorted
 * durations of a milestone to pick the median and the 90th percentile, so
 * memory stays bounded however many cases there are.  The report holds no
 * names, dates of birth, locations, narrative or case references: codes,
 * counts, durations and the logins of staff only.  It reads inside one read
 * transaction (a consistent snapshot) and writes nothing, not even an
 * event: like a case list, it is pseudonymous and not an audited read.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "engine.h"
#include "store.h"
#include "error.h"
#include "access.h"
#include "report_cases.h"
#include "report_tasks.h"
#include "rulesapi.h"

#define DAY 86400
#define WEEK (7 * DAY)

/* What every query of one report binds: the scope, the narrowing to one
 * caseworker, the clock and the period. */
typedef struct {
    hv_engine *e;
    int all, sup;     /* managers: every case; supervisors: their team */
    int64_t me, cw;   /* the acting user; --caseworker's id (0: none) */
    hv_time now, since, until; /* the period [since, until) */
} report_query;

/* HV_NOMEM with its message on q's engine. */
static hv_status nomem(report_query *q)
{
    return hv__fail(q->e, HV_NOMEM, "out of memory");
}

/* The cases the acting user may count, narrowed to one caseworker's: the
 * token @SCOPE in a query becomes the condition on c for this scope, written
 * so that SQLite can use the cases_assignee index for a caseworker's or a
 * team's report instead of scanning every case of the agency. */
#define SCOPE_FROM " FROM cases c"
#define SCOPE_WHERE " @SCOPE"

/* The condition on c for the scope of q (a caseworker's cases, every
 * case, a team's or one's own), with the parameters :cw and :me. */
static const char *scope_condition(const report_query *q)
{
    if (q->cw)
        return "c.assignee_id = :cw";
    if (q->all)
        return "1";
    if (q->sup)
        return "c.assignee_id IN (SELECT id FROM users WHERE id = :me OR"
               " supervisor_id = :me)";
    return "c.assignee_id = :me";
}

/* Binds v to the parameter called name, if st has one. */
static void bind_named(sqlite3_stmt *st, const char *name, int64_t v)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (i > 0)
        sqlite3_bind_int64(st, i, v);
}

/* Prepares sql, its @SCOPE tokens replaced with the scope's condition,
 * and binds the named parameters it uses: :all :me :sup :cw :now :week
 * (now + 7 days) :since :until, and :from/:to.  out: *st, for
 * hv__store_finalize.  Returns HV_OK or a failure. */
static hv_status prepare(report_query *q, const char *sql, hv_time from,
                         hv_time to, sqlite3_stmt **st)
{
    char *text = hv__strdup(sql), *at;
    while (text && (at = strstr(text, "@SCOPE"))) {
        char *next = hv__asprintf("%.*s%s%s", (int)(at - text), text,
                                  scope_condition(q), at + strlen("@SCOPE"));
        hv__free(text);
        text = next;
    }
    if (!text)
        return nomem(q);
    hv_status s = hv__store_prepare(q->e, text, st);
    hv__free(text);
    if (s)
        return s;
    bind_named(*st, ":all", q->all);
    bind_named(*st, ":me", q->me);
    bind_named(*st, ":sup", q->sup);
    bind_named(*st, ":cw", q->cw);
    bind_named(*st, ":now", q->now);
    bind_named(*st, ":week", q->now + WEEK);
    bind_named(*st, ":since", q->since);
    bind_named(*st, ":until", q->until);
    bind_named(*st, ":from", from);
    bind_named(*st, ":to", to);
    return HV_OK;
}

/* Finishes a stepping loop, finalising st: HV_OK at SQLITE_DONE (rc), a
 * failure naming what otherwise. */
static hv_status stepped(report_query *q, sqlite3_stmt *st, int rc,
                         const char *what)
{
    hv__store_finalize(q->e, st);
    return rc == SQLITE_DONE ? HV_OK : hv__sql_fail(q->e, rc, what);
}

/* Column i of the row st is on as text (borrowed), or dflt for NULL. */
static const char *col_text(sqlite3_stmt *st, int i, const char *dflt)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? t : dflt;
}

/* Adds n to the integer member key of obj (created at 0).  Returns 0, or
 * nonzero out of memory. */
static int add_count(json_t *obj, const char *key, json_int_t n)
{
    json_t *v = json_object_get(obj, key);
    if (v)
        return json_integer_set(v, json_integer_value(v) + n);
    return json_object_set_new(obj, key, json_integer(n));
}

/* Sets o's member key to the time t as ISO 8601 text.  Returns 0, or
 * nonzero out of memory. */
static int set_time(json_t *o, const char *key, hv_time t)
{
    char buf[32];
    hv_time_format(t, buf, sizeof buf);
    return json_object_set_new(o, key, json_string(buf));
}

/* Seconds as days, rounded to a tenth: a new real (NULL out of memory). */
static json_t *days(double seconds)
{
    return json_real(round(seconds / DAY * 10.0) / 10.0);
}

/* What each_row calls on each row of its query, with its context; returns
 * 0, or nonzero when a JSON value could not be built (no memory). */
typedef int (*row_fn)(sqlite3_stmt *st, void *ctx);

/* Runs sql (see prepare; no :from/:to) and calls fn(st, ctx) on each row.
 * Returns HV_OK, a failure naming what, or HV_NOMEM when fn said so. */
static hv_status each_row(report_query *q, const char *sql, const char *what,
                          row_fn fn, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int bad = 0, rc;
    hv_status s = prepare(q, sql, 0, 0, &st);
    if (s)
        return s;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        bad |= fn(st, ctx);
    if ((s = stepped(q, st, rc, what)))
        return s;
    return bad ? nomem(q) : HV_OK;
}

/* ---- open cases by stage, risk level and urgency --------------------------- */

/* The open cases counted by stage (an object), risk level and urgency. */
typedef struct {
    json_t *stage_counts, *by_risk, *by_urgency;
    json_int_t total;
} open_counts;

/* Adds n open cases of (stage, risk level, urgency) (NULL: none) to the
 * open_counts ctx. */
static int open_case_add(void *ctx, const char *stage, const char *risk,
                         const char *urgency, int64_t n)
{
    open_counts *c = ctx;
    c->total += n;
    return add_count(c->stage_counts, stage ? stage : "?", n) |
           add_count(c->by_risk, risk ? risk : "unscored", n) |
           add_count(c->by_urgency, urgency ? urgency : "unset", n);
}

/* Adds one row (stage, risk level, urgency, count) to the open_counts ctx. */
static int open_case_row(sqlite3_stmt *st, void *ctx)
{
    return open_case_add(ctx, (const char *)sqlite3_column_text(st, 0),
                         (const char *)sqlite3_column_text(st, 1),
                         (const char *)sqlite3_column_text(st, 2),
                         sqlite3_column_int64(st, 3));
}

/* Appends to by_stage each stage of stage_counts with its label and count:
 * the workflow's stages in its order, then any it no longer has.  Returns
 * 0, or nonzero out of memory. */
static int list_stages(const hv_workflow *wf, json_t *stage_counts, json_t *by_stage)
{
    int bad = 0;
    for (size_t k = 0; k < wf->nstages; k++) {
        const char *id = wf->stages[k].id;
        json_t *n = json_object_get(stage_counts, id);
        if (n)
            bad |= json_array_append_new(
                by_stage, json_pack("{s:s,s:s,s:O}", "stage", id, "label",
                                    wf->stages[k].label, "count", n));
    }
    for (void *it = json_object_iter(stage_counts); it;
         it = json_object_iter_next(stage_counts, it)) {
        const char *id = json_object_iter_key(it);
        if (hv__workflow_stage(wf, id))
            continue;
        bad |= json_array_append_new(
            by_stage, json_pack("{s:s,s:s,s:O}", "stage", id, "label", id,
                                "count", json_object_iter_value(it)));
    }
    return bad;
}

/* ---- risk factors across the caseload -------------------------------------- */

/* The list of risk factors being written, and the rules that word them. */
typedef struct {
    json_t *out;
    const hv_rules *rules;
} factor_rows;

/* Appends a factor code (NULL: "?") held by n open cases to the list of
 * the factor_rows ctx, worded by its rules. */
static int factor_add(void *ctx, const char *code, int64_t n)
{
    factor_rows *f = ctx;
    code = code ? code : "?";
    return json_array_append_new(
        f->out, json_pack("{s:s,s:s,s:I}", "code", code, "wording",
                          hv__rules_word(f->rules, code), "open_cases", (json_int_t)n));
}

/* Appends one row (factor code, open cases) to the factor_rows ctx. */
static int factor_row(sqlite3_stmt *st, void *ctx)
{
    return factor_add(ctx, (const char *)sqlite3_column_text(st, 0),
                      sqlite3_column_int64(st, 1));
}

/* The factors of the current risk decision (the latest risk.lua decision
 * in the case's events) of the open cases in scope: each factor code with
 * the wording of the pack in force and how many cases' decision holds it,
 * most frequent first, appended to the list out.  Counts only, from the
 * factors kept per case (migrate.h's case_risk_factors: one row per case
 * and factor).  Returns HV_OK or a failure. */
static hv_status risk_factors(report_query *q, json_t *out)
{
    /* a stored pack that no longer loads leaves the codes unworded */
    factor_rows f = {out, hv__rules_for_words(q->e)};
    return each_row(q,
                    "SELECT f.factor, count(*)" SCOPE_FROM
                    " JOIN case_risk_factors f ON f.for_case = c.id"
                    " WHERE c.status = 'open' AND" SCOPE_WHERE
                    " GROUP BY 1 ORDER BY 2 DESC, 1",
                    "report: counting risk factors", factor_row, &f);
}

/* ---- overdue and due-this-week tasks by kind and by caseworker ------------- */

/* The two groups of tasks_due. */
typedef struct {
    json_t *overdue, *week;
} due_groups;

/* Adds one row (kind, login, overdue, count) to the due_groups ctx. */
static int due_task_row(sqlite3_stmt *st, void *ctx)
{
    due_groups *g = ctx;
    return hv__report_task_group_add(sqlite3_column_int(st, 2) ? g->overdue : g->week,
                          col_text(st, 0, "?"),
                          (const char *)sqlite3_column_text(st, 1),
                          sqlite3_column_int64(st, 3));
}

/* The open tasks overdue and due within a week, by kind and by
 * caseworker, into out.  Returns HV_OK or a failure. */
static hv_status tasks_due(report_query *q, json_t *out)
{
    due_groups g = {hv__report_task_group(), hv__report_task_group()};
    /* out holds the groups themselves: the rows fill them in place */
    int bad = json_object_set(out, "overdue", g.overdue);
    bad |= json_object_set(out, "due_this_week", g.week);
    /* Open tasks of the cases in scope (and the final follow-up of a closed
     * one), as `haven due` lists them; grouped by the task's assignee. */
    hv_status s =
        bad ? nomem(q)
            : each_row(q,
                       "SELECT t.kind, u.login, t.due_at < :now, count(*)"
                       " FROM tasks t JOIN cases c ON c.id = t.case_id"
                       " LEFT JOIN users u ON u.id = t.assignee_id"
                       " WHERE t.status = 'open' AND t.due_at < :week"
                       "   AND (c.status = 'open' OR t.kind = 'final_followup')"
                       "   AND" SCOPE_WHERE
                       " GROUP BY 1, 2, 3 ORDER BY u.login IS NULL, u.login, 1",
                       "report: counting due tasks", due_task_row, &g);
    json_decref(g.overdue);
    json_decref(g.week);
    return s;
}

/* ---- approvals pending ------------------------------------------------------ */

/* The pending approvals counted by subject, and the oldest request. */
typedef struct {
    json_t *by_subject;
    json_int_t total;
    int64_t oldest;
} pending_counts;

/* Adds one row (subject, count, first requested) to the pending_counts
 * ctx. */
static int pending_row(sqlite3_stmt *st, void *ctx)
{
    pending_counts *p = ctx;
    json_int_t n = sqlite3_column_int64(st, 1);
    int64_t first = sqlite3_column_int64(st, 2);
    p->total += n;
    if (!p->oldest || first < p->oldest)
        p->oldest = first;
    return add_count(p->by_subject, col_text(st, 0, "?"), n);
}

/* The approvals waiting: how many, by subject, and the longest wait in
 * days, into out.  Returns HV_OK or a failure. */
static hv_status approvals_pending(report_query *q, json_t *out)
{
    pending_counts p = {json_pack("{s:i,s:i,s:i}", "plan", 0, "closure", 0,
                                  "transfer", 0), 0, 0};
    int bad = !p.by_subject;
    hv_status s = bad ? nomem(q)
                      : each_row(q,
                                 /* a transfer waits as a closure whose
                                  * reason is transferred */
                                 "SELECT CASE WHEN ap.subject = 'closure' AND"
                                 " json_extract(ap.detail, '$.reason') ="
                                 " 'transferred' THEN 'transfer' ELSE"
                                 " ap.subject END, count(*),"
                                 " min(ap.requested_at) FROM approvals ap"
                                 " JOIN cases c ON c.id = ap.case_id"
                                 " WHERE ap.status = 'pending' AND" SCOPE_WHERE
                                 " GROUP BY 1",
                                 "report: counting approvals", pending_row, &p);
    if (s)
        goto done;
    bad |= json_object_set_new(out, "total", json_integer(p.total));
    bad |= json_object_set(out, "by_subject", p.by_subject);
    bad |= json_object_set_new(out, "oldest_waiting_days",
                               p.total ? days((double)(q->now - p.oldest))
                                       : json_null());
    if (bad)
        s = nomem(q);
done:
    json_decref(p.by_subject);
    return s;
}

/* ---- follow-up compliance ----------------------------------------------------- */

/* Follow-up tasks (kinds followup and final_followup, not cancelled) that
 * fell due in each window [from, to) of the three: how many, done on or
 * before the due date, done after it, still not done.  One pass over the
 * tasks for all three; the agency's without a lookup of each task's case
 * (every task has its case: the foreign key). */
#define WINDOW_SUMS(f, t)                                                      \
    " coalesce(sum(t.due_at >= " f " AND t.due_at < " t "), 0),"               \
    " coalesce(sum(t.due_at >= " f " AND t.due_at < " t " AND t.status ="      \
    " 'done' AND t.done_at <= t.due_at), 0),"                                  \
    " coalesce(sum(t.due_at >= " f " AND t.due_at < " t " AND t.status ="      \
    " 'done' AND t.done_at > t.due_at), 0),"                                   \
    " coalesce(sum(t.due_at >= " f " AND t.due_at < " t " AND t.status ="      \
    " 'open'), 0)"
#define COMPLIANCE_SUMS                                                        \
    "SELECT" WINDOW_SUMS(":f1", ":t1") "," WINDOW_SUMS(":f2", ":t2") ","        \
    WINDOW_SUMS(":f3", ":t3")
#define COMPLIANCE_WHERE                                                       \
    " AND t.kind IN ('followup', 'final_followup')"                            \
    " AND t.due_at < max(:t1, :t2, :t3)"

/* Follow-up compliance over the last 30 days, the last 90 days and the
 * period, into out.  Returns HV_OK or a failure. */
static hv_status followup_compliance(report_query *q, json_t *out)
{
    static const char *const params[3][2] = {{":f1", ":t1"}, {":f2", ":t2"},
                                             {":f3", ":t3"}};
    sqlite3_stmt *st = NULL;
    hv_time from[3], to[3];
    hv_report_compliance n;
    hv_status s = prepare(q,
                          q->all && !q->cw
                              ? COMPLIANCE_SUMS " FROM tasks t WHERE"
                                " +t.status IN ('open', 'done')" COMPLIANCE_WHERE
                              : COMPLIANCE_SUMS " FROM tasks t JOIN cases c ON"
                                " c.id = t.case_id WHERE t.status IN ('open',"
                                " 'done')" COMPLIANCE_WHERE " AND" SCOPE_WHERE,
                          0, 0, &st);
    if (s)
        return s;
    hv__report_compliance_windows(q->now, q->since, q->until, from, to);
    for (int i = 0; i < 3; i++) {
        bind_named(st, params[i][0], from[i]);
        bind_named(st, params[i][1], to[i]);
    }
    int rc = sqlite3_step(st);
    for (int i = 0; rc == SQLITE_ROW && i < 12; i++)
        n[i / 4][i % 4] = sqlite3_column_int64(st, i);
    if ((s = stepped(q, st, rc == SQLITE_ROW ? SQLITE_DONE : rc,
                     "report: follow-up compliance")))
        return s;
    return hv__report_compliance_json(&n, out) ? nomem(q) : HV_OK;
}

/* One due row of the task pass (report_tasks.h) into the due_groups ctx. */
static int due_pass_row(void *ctx, const char *kind, const char *login, int overdue,
                        int64_t n)
{
    due_groups *g = ctx;
    return hv__report_task_group_add(overdue ? g->overdue : g->week, kind, login, n);
}

/* The due tasks (into tasks) and the follow-up compliance (into
 * compliance).  A manager's agency report counts both from the counters
 * kept beside the tasks (report_tasks.h) when the open tasks per due day
 * (migrate.h) hold no open task of a closed case due before the week's end
 * (so no task's case needs looking up) and no user has the id 0 (the
 * counters' "no assignee"); otherwise a query for each.  Returns HV_OK or
 * a failure. */
static hv_status task_figures(report_query *q, json_t *tasks, json_t *compliance)
{
    int64_t hidden = 1;
    hv_status s;
    if (q->all && !q->cw &&
        (s = hv__store_query_int(q->e, "report: counting due tasks",
                                 "SELECT coalesce(sum(hidden), 0) + (SELECT"
                                 " count(*) FROM users WHERE id = 0) FROM"
                                 " task_due_days WHERE due_day <= ?1",
                                 1, &hidden, "i",
                                 (int64_t)((q->now + WEEK) / DAY + 1))))
        return s;
    if (hidden)
        return (s = tasks_due(q, tasks)) ? s : followup_compliance(q, compliance);
    due_groups g = {hv__report_task_group(), hv__report_task_group()};
    hv_time from[3], to[3];
    hv_report_compliance n;
    hv__report_compliance_windows(q->now, q->since, q->until, from, to);
    int bad = json_object_set(tasks, "overdue", g.overdue);
    bad |= json_object_set(tasks, "due_this_week", g.week);
    s = bad ? nomem(q)
            : hv__report_task_pass(q->e, q->now, q->now + WEEK, from, to,
                                   due_pass_row, &g, &n);
    json_decref(g.overdue);
    json_decref(g.week);
    return s ? s : hv__report_compliance_json(&n, compliance) ? nomem(q) : HV_OK;
}

/* ---- time from registration to a milestone --------------------------------------- */

/* The milestones: when a case c reached each (NULL: not yet), as a
 * correlated subquery on the case's own rows (an index lookup per case in
 * scope, so a caseworker's report reads only their cases). */
static const struct {
    const char *key;
    const char *reached;  /* per case, for a caseworker's or a team's scope */
    const char *grouped;  /* (case_id, reached) for the whole agency at once */
} milestones[] = {
    {"initial_assessment",
     "(SELECT min(x.at) FROM assessments x WHERE x.case_id = c.id AND"
     " x.kind = 'initial')",
     "SELECT case_id, min(at) AS reached FROM assessments WHERE kind ="
     " 'initial' GROUP BY case_id"},
    {"approved_plan",
     "(SELECT min(x.decided_at) FROM plans x WHERE x.case_id = c.id AND"
     " x.status IN ('approved', 'superseded') AND x.decided_at IS NOT NULL)",
     "SELECT case_id, min(decided_at) AS reached FROM plans WHERE status IN"
     " ('approved', 'superseded') AND decided_at IS NOT NULL GROUP BY case_id"},
    {"closure",
     "CASE WHEN c.status IN ('closed', 'transferred') THEN c.closed_at END",
     "SELECT id AS case_id, closed_at AS reached FROM cases WHERE status IN"
     " ('closed', 'transferred')"},
};

/* The value at nearest rank ceil(p/100 * n) (1-based) of n sorted values. */
static int64_t rank_of(int p, int64_t n)
{
    int64_t r = (p * n + 99) / 100;
    return r < 1 ? 1 : r;
}

/* The figures of a milestone reached by n cases, the median and 90th
 * percentile in seconds, as {cases, median_days, p90_days} into *out. */
static hv_status milestone_json(report_query *q, int64_t n, int64_t median,
                                int64_t p90, json_t **out)
{
    *out = json_pack("{s:I,s:o,s:o}", "cases", (json_int_t)n, "median_days",
                     n ? days((double)median) : json_null(), "p90_days",
                     n ? days((double)p90) : json_null());
    return *out ? HV_OK : nomem(q);
}

/* Cases in scope that reached the milestone within the period: their count
 * and the median and 90th percentile of the seconds from registration. */
static hv_status milestone(report_query *q, const char *reached,
                           const char *grouped, json_t **out)
{
    sqlite3_stmt *st = NULL;
    char sql[1024];
    int64_t n = 0, median = 0, p90 = 0;
    *out = NULL;
    /* First the count, then the sorted durations, stepped only as far as
     * the 90th percentile. */
    for (int pass = 0; pass < 2; pass++) {
        if (q->all && !q->cw) /* one pass over the rows beats a lookup per case */
            snprintf(sql, sizeof sql,
                     "SELECT %s FROM (SELECT c.registered_at AS registered,"
                     " g.reached FROM (%s) g JOIN cases c ON c.id = g.case_id) m"
                     " WHERE m.reached >= :since AND m.reached < :until%s",
                     pass ? "max(m.reached - m.registered, 0) AS d" : "count(*)",
                     grouped, pass ? " ORDER BY d" : "");
        else
            snprintf(sql, sizeof sql,
                     "SELECT %s FROM (SELECT c.registered_at AS registered, %s AS"
                     " reached" SCOPE_FROM " WHERE" SCOPE_WHERE ") m"
                     " WHERE m.reached >= :since AND m.reached < :until%s",
                     pass ? "max(m.reached - m.registered, 0) AS d" : "count(*)",
                     reached, pass ? " ORDER BY d" : "");
        hv_status s = prepare(q, sql, 0, 0, &st);
        if (s)
            return s;
        int rc = SQLITE_DONE;
        if (!pass) {
            if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                n = sqlite3_column_int64(st, 0);
                rc = SQLITE_DONE;
            }
        } else {
            int64_t i = 0, r50 = rank_of(50, n), r90 = rank_of(90, n);
            while (i < r90 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                i++;
                if (i == r50)
                    median = sqlite3_column_int64(st, 0);
                if (i == r90)
                    p90 = sqlite3_column_int64(st, 0);
            }
            if (i == r90 || n == 0)
                rc = SQLITE_DONE;
        }
        if ((s = stepped(q, st, rc, "report: time to a milestone")))
            return s;
        if (n == 0)
            break;
    }
    return milestone_json(q, n, median, p90, out);
}

/* The time from registration to each milestone, into out.
 * Returns HV_OK or a failure. */
static hv_status time_to(report_query *q, json_t *out)
{
    for (size_t i = 0; i < sizeof milestones / sizeof milestones[0]; i++) {
        json_t *m = NULL;
        hv_status s = milestone(q, milestones[i].reached, milestones[i].grouped, &m);
        if (s)
            return s;
        if (json_object_set_new(out, milestones[i].key, m))
            return nomem(q);
    }
    return HV_OK;
}

/* ---- closure reasons and the monthly series ---------------------------------------- */

/* Appends a reason (NULL: "?") of n closures to the list ctx. */
static int reason_add(void *ctx, const char *reason, int64_t n)
{
    return json_array_append_new(ctx, json_pack("{s:s,s:I}", "reason",
                                                 reason ? reason : "?", "count",
                                                 (json_int_t)n));
}

/* Appends one row (reason, count) to the list ctx. */
static int reason_row(sqlite3_stmt *st, void *ctx)
{
    return reason_add(ctx, (const char *)sqlite3_column_text(st, 0),
                      sqlite3_column_int64(st, 1));
}

/* The reasons of the cases closed in the period, most frequent first,
 * appended to the list out.  Returns HV_OK or a failure. */
static hv_status closure_reasons(report_query *q, json_t *out)
{
    return each_row(q,
                    "SELECT coalesce(c.closure_reason, 'unknown'), count(*)"
                    SCOPE_FROM
                    " WHERE c.status IN ('closed', 'transferred')"
                    "   AND c.closed_at >= :since AND c.closed_at < :until"
                    "   AND" SCOPE_WHERE
                    " GROUP BY 1 ORDER BY 2 DESC, 1",
                    "report: closure reasons", reason_row, out);
}

/* The monthly series being written: the list, and the last month in it
 * (year 0: none yet). */
typedef struct {
    json_t *out;
    int year, month;
} month_series;

/* Appends the month (year, month) with reg registrations and closed
 * closures to the series, and makes it the last.  Returns 0, or nonzero
 * out of memory. */
static int month_append(month_series *m, int year, int month, json_int_t reg,
                        json_int_t closed)
{
    char text[32];
    m->year = year;
    m->month = month;
    snprintf(text, sizeof text, "%04d-%02d", year % 10000, month % 100);
    return json_array_append_new(m->out, json_pack("{s:s,s:I,s:I}", "month", text,
                                                   "registered", reg, "closed",
                                                   closed));
}

/* Adds the month (y, mo) with its registrations and closures to the
 * month_series ctx, after the months between with nothing in them. */
static int month_add(void *ctx, int y, int mo, int64_t registered, int64_t closed)
{
    month_series *m = ctx;
    int bad = 0;
    for (;;) {
        int year = m->year, month = m->month + 1;
        if (month > 12) {
            month = 1;
            year++;
        }
        if (!m->year || year * 12 + month >= y * 12 + mo)
            break;
        bad |= month_append(m, year, month, 0, 0);
    }
    return bad | month_append(m, y, mo, registered, closed);
}

/* Adds one row (YYYY-MM, registered, closed) to the month_series ctx. */
static int month_row(sqlite3_stmt *st, void *ctx)
{
    int y, mo;
    if (sscanf(col_text(st, 0, ""), "%d-%d", &y, &mo) != 2)
        return 0;
    return month_add(ctx, y, mo, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));
}

/* Cases registered and closed per calendar month (UTC) in the period, every
 * month from the first to the last with any, zeros included, appended to
 * the list out.  Returns HV_OK or a failure. */
static hv_status per_month(report_query *q, json_t *out)
{
    month_series m = {out, 0, 0};
    return each_row(
        q,
        "SELECT m, sum(r), sum(k) FROM ("
        " SELECT strftime('%Y-%m', c.registered_at, 'unixepoch') AS m, 1 AS r,"
        "  0 AS k" SCOPE_FROM
        "  WHERE c.status <> 'not_registered' AND c.registered_at >= :since"
        "    AND c.registered_at < :until AND" SCOPE_WHERE
        " UNION ALL"
        " SELECT strftime('%Y-%m', c.closed_at, 'unixepoch'), 0, 1" SCOPE_FROM
        "  WHERE c.status IN ('closed', 'transferred') AND c.closed_at >= :since"
        "    AND c.closed_at < :until AND" SCOPE_WHERE
        ") GROUP BY m ORDER BY m",
        "report: registrations and closures per month", month_row, &m);
}

/* ---- the agency's case figures in one pass ------------------------------------- */

/* The figures the agency's pass (report_cases.h) fills besides the open
 * cases, and whether it did (0: the ids were too sparse; the queries). */
typedef struct {
    json_t *factors, *times, *reasons, *months;
    int done;
} agency_figures;

/* The contexts of the pass's callbacks. */
typedef struct {
    open_counts *open;
    factor_rows factors;
    json_t *reasons;
    month_series months;
} agency_pass;

static int agency_open(void *ctx, const char *stage, const char *risk,
                       const char *urgency, int64_t n)
{
    return open_case_add(((agency_pass *)ctx)->open, stage, risk, urgency, n);
}
static int agency_factor(void *ctx, const char *code, int64_t n)
{
    return factor_add(&((agency_pass *)ctx)->factors, code, n);
}
static int agency_reason(void *ctx, const char *reason, int64_t n)
{
    return reason_add(((agency_pass *)ctx)->reasons, reason, n);
}
static int agency_month(void *ctx, int year, int month, int64_t registered,
                        int64_t closed)
{
    return month_add(&((agency_pass *)ctx)->months, year, month, registered, closed);
}

/* The agency's pass: the open cases into c, the other figures into f.
 * Returns HV_OK (f->done 0 when the queries must count instead) or a
 * failure. */
static hv_status agency_counts(report_query *q, open_counts *c, agency_figures *f)
{
    agency_pass a = {c, {f->factors, hv__rules_for_words(q->e)}, f->reasons,
                     {f->months, 0, 0}};
    hv_report_case_fns fns = {&a, agency_open, agency_factor, agency_reason,
                              agency_month};
    hv_report_milestone ms[3];
    hv_status s = hv__report_case_pass(q->e, q->since, q->until, &fns, ms, &f->done);
    for (size_t i = 0; !s && f->done && i < 3; i++) {
        json_t *m = NULL;
        if (!(s = milestone_json(q, ms[i].n, ms[i].median, ms[i].p90, &m)) &&
            json_object_set_new(f->times, milestones[i].key, m))
            s = nomem(q);
    }
    return s;
}

/* The open cases in scope: their total, by stage, by risk level and by
 * urgency (every level and urgency listed, at 0 when none), into out.
 * With f (a manager's agency report), counted by the agency's pass, which
 * fills f's figures too (f->done).  Returns HV_OK or a failure. */
static hv_status open_cases(report_query *q, json_t *out, agency_figures *f)
{
    static const char *const risks[] = {"low", "medium", "high", "critical",
                                        "unscored", NULL};
    static const char *const urgencies[] = {"immediate", "high", "normal",
                                            "unset", NULL};
    open_counts c = {json_object(), json_object(), json_object(), 0};
    json_t *by_stage = json_array();
    int bad = !c.stage_counts || !by_stage || !c.by_risk || !c.by_urgency;
    for (int i = 0; !bad && risks[i]; i++)
        bad |= json_object_set_new(c.by_risk, risks[i], json_integer(0));
    for (int i = 0; !bad && urgencies[i]; i++)
        bad |= json_object_set_new(c.by_urgency, urgencies[i], json_integer(0));
    hv_status s = bad ? nomem(q) : f ? agency_counts(q, &c, f) : HV_OK;
    if (!s && !(f && f->done))
        s = each_row(q,
                     "SELECT c.stage, c.risk_level, c.urgency,"
                     " count(*)" SCOPE_FROM
                     " WHERE c.status = 'open' AND" SCOPE_WHERE
                     " GROUP BY 1, 2, 3",
                     "report: counting open cases", open_case_row, &c);
    if (s)
        goto done;
    bad |= list_stages(q->e->wf, c.stage_counts, by_stage);
    bad |= json_object_set_new(out, "total", json_integer(c.total));
    bad |= json_object_set(out, "by_stage", by_stage);
    bad |= json_object_set(out, "by_risk", c.by_risk);
    bad |= json_object_set(out, "by_urgency", c.by_urgency);
    if (bad)
        s = nomem(q);
done:
    json_decref(c.stage_counts);
    json_decref(by_stage);
    json_decref(c.by_risk);
    json_decref(c.by_urgency);
    return s;
}

/* ---- the report ------------------------------------------------------------------ */

/* The scope and the --caseworker narrowing.  Administrators and trainers
 * get no report (they read no case lists); a caseworker may narrow only to
 * themselves, a supervisor to themselves or someone they supervise. */
static hv_status report_scope(hv_engine *e, const hv_report_options *o,
                              report_query *q, char *role, size_t size,
                              const char **scope)
{
    hv_status s = hv__actor(e, &q->me, role, size);
    if (s)
        return s;
    if (strcmp(role, "manager") && !hv__role_reads_cases(role))
        return hv__fail(e, HV_DENIED,
                        "report: a%s %s sees no caseload reports (caseworkers, "
                        "supervisors and managers do)",
                        role[0] == 'a' ? "n" : "", role);
    q->all = !strcmp(role, "manager");
    q->sup = !strcmp(role, "supervisor");
    *scope = q->all ? "agency" : q->sup ? "team" : "own";
    if (!o->caseworker)
        return HV_OK;
    int64_t id = 0;
    if ((s = hv__scope_user(e, "report: --caseworker", o->caseworker, role,
                            q->sup ? "reports on their team"
                                   : "reports on their own cases",
                            q->all, q->me, q->sup, &id)))
        return s;
    q->cw = id;
    return HV_OK;
}

/* See haven.h. */
HV_API hv_status hv_report_json(hv_engine *e, const hv_report_options *o,
                                char **out_json)
{
    hv_report_options none = {0};
    report_query q = {0};
    char role[32];
    const char *scope = NULL;
    json_t *r = NULL;
    int began = 0;
    hv_status s;
    *out_json = NULL;
    hv__clear_error(e);
    if (!o)
        o = &none;
    q.e = e;
    q.now = hv_now(e);
    q.since = o->since ? o->since : INT64_MIN;
    q.until = o->until ? o->until : INT64_MAX;
    if (o->since && o->until && o->since >= o->until)
        return hv__fail(e, HV_INVALID, "report: --since must be before --until");
    /* One read transaction: every figure from the same snapshot. */
    if (sqlite3_get_autocommit(e->db)) {
        if ((s = hv__store_execf(e, "report: starting a read", "BEGIN DEFERRED", "")))
            return s;
        began = 1;
    }
    if ((s = report_scope(e, o, &q, role, sizeof role, &scope)))
        goto done;
    json_t *open = json_object(), *tasks = json_object(),
           *approvals = json_object(), *compliance = json_object(),
           *times = json_object(), *reasons = json_array(),
           *months = json_array(), *factors = json_array();
    r = json_object();
    int bad = !r;
    bad |= json_object_set_new(r, "report", json_string("caseload"));
    bad |= set_time(r, "generated_at", q.now);
    /* a simulated database's figures are not of real time */
    bad |= json_object_set_new(r, "clock",
                               json_string(e->simulated ? "simulated" : "live"));
    bad |= json_object_set_new(r, "actor", json_string(e->actor));
    bad |= json_object_set_new(r, "role", json_string(role));
    bad |= json_object_set_new(r, "scope", json_string(scope));
    bad |= json_object_set_new(r, "caseworker",
                                     o->caseworker ? json_string(o->caseworker)
                                                   : json_null());
    bad |= (o->since ? set_time(r, "since", o->since)
                           : json_object_set_new(r, "since", json_null()));
    bad |= (o->until ? set_time(r, "until", o->until)
                           : json_object_set_new(r, "until", json_null()));
    bad |= json_object_set_new(r, "open_cases", open);
    bad |= json_object_set_new(r, "risk_factors", factors);
    bad |= json_object_set_new(r, "tasks", tasks);
    bad |= json_object_set_new(r, "approvals_pending", approvals);
    bad |= json_object_set_new(r, "followup_compliance", compliance);
    bad |= json_object_set_new(r, "time_to", times);
    bad |= json_object_set_new(r, "closure_reasons", reasons);
    bad |= json_object_set_new(r, "per_month", months);
    if (bad) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto done;
    }
    /* a manager's agency report: the case figures in one pass */
    agency_figures ag = {factors, times, reasons, months, 0};
    if ((s = open_cases(&q, open, q.all && !q.cw ? &ag : NULL)) ||
        (!ag.done && ((s = risk_factors(&q, factors)) || (s = time_to(&q, times)) ||
                      (s = closure_reasons(&q, reasons)) || (s = per_month(&q, months)))) ||
        (s = task_figures(&q, tasks, compliance)) || (s = approvals_pending(&q, approvals)))
        goto done;
    /* hv__json_out's text, with reals to 12 digits so a ratio of 1/3 reads
     * 0.333, not 0.33300000000000002. */
    *out_json = json_dumps(r, (o->compact ? JSON_COMPACT : JSON_INDENT(2)) |
                                  JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    s = *out_json ? HV_OK : hv__fail(e, HV_NOMEM, "out of memory");
done:
    if (began) /* the end of a read: it changes nothing, and cannot fail */
        hv__store_execf(e, "report: ending a read", "COMMIT", "");
    json_decref(r);
    return s;
}
