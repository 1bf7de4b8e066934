/*
 * tasks.c - the tasks of cases: every write of the tasks table (a step's
 * or registration's new task, tasks done, cancelled or reassigned) and the
 * due lists.  A task's label names its kind, never narrative.
 */
#include <string.h>

#include "access.h"
#include "alloc.h"
#include "store.h"
#include "tasks.h"
#include "error.h"
#include "jbuf.h"
#include "migrate.h"

/* The refusal of a task of kind that would fall due after 2200-01-01
 * (HV_TIME_MAX, the last time Haven takes: no export of it would import). */
static hv_status past_2200(hv_engine *e, const char *kind)
{
    return hv__fail(e, HV_INVALID, "the %s task would fall due after "
                    "2200-01-01, the last time Haven takes; nothing changed",
                    kind);
}

hv_status hv__task_add(hv_engine *e, int64_t case_id, const char *kind,
                       const char *label, hv_time due, int64_t assignee,
                       int64_t subject)
{
    if (due > HV_TIME_MAX)
        return past_2200(e, kind);
    return hv__store_execf(
        e, "adding a task",
        "INSERT INTO tasks (case_id, kind, label, due_at,"
        " created_at, assignee_id, subject_id) VALUES (?1,?2,"
        "?3,?4,?5,nullif(?6,0),nullif(?7,0))",
        "ittiiii", case_id, kind, label, (int64_t)due, (int64_t)hv_now(e),
        assignee, subject);
}

hv_status hv__tasks_redue(hv_engine *e, int64_t case_id, const char *kind,
                          int64_t every, const char *label)
{
    int64_t late = 0;
    hv_status s = hv__store_query_int(
        e, "rescheduling tasks",
        "SELECT count(*) FROM tasks WHERE case_id = ?1 AND kind = ?2 AND"
        " status = 'open' AND created_at + ?3 > ?4",
        0, &late, "itii", case_id, kind, every, (int64_t)HV_TIME_MAX);
    if (s || late)
        return s ? s : past_2200(e, kind);
    return hv__store_execf(
        e, "rescheduling tasks",
        "UPDATE tasks SET due_at = created_at + ?3, label = coalesce(?4, label)"
        " WHERE case_id = ?1 AND kind = ?2 AND status = 'open'",
        "itit", case_id, kind, every, label);
}

hv_status hv__tasks_relabel(hv_engine *e, int64_t case_id, const char *kind,
                            int64_t subject, const char *label)
{
    return hv__store_execf(e, "relabelling a task",
                           "UPDATE tasks SET label = ?4 WHERE case_id = ?1"
                           " AND kind = ?2 AND subject_id = ?3 AND status ="
                           " 'open'",
                           "itit", case_id, kind, subject, label);
}

/* Ends the case's open tasks of kind (NULL: every kind) now with status
 * ('done' or 'cancelled'), only those about subject when subject is not 0,
 * recording reason (may be NULL). */
static hv_status tasks_end(hv_engine *e, int64_t case_id, const char *kind,
                           const char *status, int64_t subject,
                           const char *reason)
{
    return hv__store_execf(
        e, "closing tasks",
        "UPDATE tasks SET status = ?3, done_at = ?4,"
        " cancel_reason = coalesce(?6, cancel_reason) WHERE case_id = ?1"
        " AND status = 'open' AND (?2 IS NULL OR kind = ?2) AND"
        " (?5 = 0 OR subject_id = ?5)",
        "ittiit", case_id, kind, status, (int64_t)hv_now(e), subject, reason);
}

hv_status hv__tasks_done(hv_engine *e, int64_t case_id, const char *kind,
                         int64_t subject)
{
    return tasks_end(e, case_id, kind, "done", subject, NULL);
}

hv_status hv__tasks_cancel(hv_engine *e, int64_t case_id, const char *kind,
                           const char *reason)
{
    return tasks_end(e, case_id, kind, "cancelled", 0, reason);
}

hv_status hv__tasks_reassign(hv_engine *e, int64_t case_id, int64_t user_id)
{
    return hv__store_execf(e, "reassigning tasks",
                           "UPDATE tasks SET assignee_id = ?2 WHERE case_id ="
                           " ?1 AND status = 'open' AND kind != 'approval'",
                           "ii", case_id, user_id);
}

hv_status hv__tasks_open(hv_engine *e, int64_t case_id, const char *kind,
                         int64_t *count)
{
    return hv__store_query_int(e, "counting tasks",
                               "SELECT count(*) FROM tasks WHERE case_id ="
                               " ?1 AND kind = ?2 AND status = 'open'",
                               0, count, "it", case_id, kind);
}

/* ---- the due lists ------------------------------------------------------- */

/* The open tasks a due list covers.  Each kind of list takes its own
 * indexed path (a UNION ALL of disjoint branches; the ones a call does not
 * want are switched off by their first condition): the user's own tasks
 * and, for approvers, the approvals waiting for any supervisor
 * (tasks_assignee_due); a supervisor's team (users, then each member's
 * tasks); the agency (tasks_due, by due time).  The caller's scope is then
 * checked on the case. */
#define DUE_WINDOW                                                             \
    " AND (?5 = 0 OR t.due_at < ?6) AND (?7 = 0 OR t.due_at <= ?6 + ?7)"
/* The caller's scope, checked on the case. */
#define DUE_SCOPE                                                              \
    " (?8 = 1 OR c.assignee_id = ?9 OR (?10 = 1 AND"                           \
    "   (SELECT supervisor_id FROM users WHERE id = c.assignee_id) = ?9)"      \
    "   OR (t.kind = 'approval' AND ?10 = 1))"                                 \
    " AND (c.status = 'open' OR t.kind = 'final_followup')"
/* A personal list, each part through the assignee index: the user's own
 * tasks, the approvals waiting for any supervisor (approvers), the team's
 * tasks (--team). */
#define DUE_FROM                                                               \
    " FROM (SELECT t.* FROM tasks t WHERE t.status = 'open'"                   \
    "         AND t.assignee_id = (SELECT id FROM users WHERE login = "        \
    "?2)" DUE_WINDOW "       UNION ALL"                                        \
    "       SELECT t.* FROM tasks t WHERE ?3 = 1"                              \
    "         AND t.status = 'open' AND t.assignee_id IS NULL"                 \
    "         AND t.kind = 'approval'" DUE_WINDOW "       UNION ALL"           \
    "       SELECT t.* FROM users m CROSS JOIN tasks t ON t.assignee_id = "    \
    "m.id"                                                                     \
    "         AND t.status = 'open'"                                           \
    "         WHERE ?4 = 1 AND m.supervisor_id ="                              \
    "           (SELECT id FROM users WHERE login = ?2)"                       \
    "         AND m.login <> ?2" DUE_WINDOW                                    \
    "      ) t JOIN cases c ON c.id = t.case_id WHERE" DUE_SCOPE
/* The agency's list (--agency): the open tasks streamed in due order
 * (nothing set aside in memory, however many there are). */
#define DUE_FROM_AGENCY                                                        \
    " FROM tasks t JOIN cases c ON c.id = t.case_id"                           \
    " WHERE t.status = 'open'" DUE_WINDOW " AND" DUE_SCOPE

/* Prepares the due query (head: what to select) for the filter, with the
 * caller's scope checked.  out: *st, and (when not NULL) *agency_all: a
 * manager's --agency (no scope to check). */
static hv_status due_query(hv_engine *e, const hv_due_filter *f,
                           const char *sql, const char *agency_sql,
                           sqlite3_stmt **st, int *agency_all)
{
    hv_status s;
    char role[32];
    const char *who = f->login ? f->login : e->actor;
    if ((s = hv__actor_role(e, role, sizeof role)))
        return s;
    char caller_role[32];
    snprintf(caller_role, sizeof caller_role, "%s", role);
    if (f->login) {
        /* a supervisor's role decides whether unassigned approvals show */
        sqlite3_stmt *r = NULL;
        if ((s = hv__store_preparef(
                 e, &r, "SELECT role FROM users WHERE login = ?1", "t", who)))
            return s;
        role[0] = '\0';
        if (sqlite3_step(r) == SQLITE_ROW)
            snprintf(role, sizeof role, "%s", sqlite3_column_text(r, 0));
        hv__store_finalize(e, r);
    }
    int approver = !strcmp(role, "supervisor") || !strcmp(role, "manager");
    /* Whose tasks the caller may see: their own cases, their team's
     * (supervisors), the agency (managers). */
    int all = 0, sup = 0;
    int64_t me = 0;
    if ((s = hv__list_scope(e, 0, &all, &me, &sup)))
        return s;
    if (agency_all)
        *agency_all = f->agency && all;
    if (f->agency && !all && !sup)
        return hv__fail(e, HV_DENIED,
                        "due: --agency is for supervisors and "
                        "managers");
    /* `due --for LOGIN` answers as `report --caseworker` does: never an
     * empty list that hides an unknown login or one outside the scope. */
    int64_t for_id;
    if (f->login && strcmp(f->login, e->actor) &&
        (s = hv__scope_user(e, "due: --for", f->login, caller_role,
                            sup ? "sees their team's tasks"
                                : "sees their own tasks",
                            all, me, sup, &for_id)))
        return s;
    return hv__store_preparef(
        e, st, f->agency ? agency_sql : sql, "itiiiiiiii", (int64_t)f->agency,
        who, (int64_t)approver, (int64_t)f->team, (int64_t)f->overdue_only,
        hv_now(e), (int64_t)(f->within > 0 ? f->within : 0), (int64_t)all, me,
        (int64_t)sup);
}

/* The due list: overdue first, then by urgency, then by due time. */
#define DUE_LIST_HEAD                                                          \
    "SELECT c.ref, t.kind, t.label, t.due_at, c.urgency,"                      \
    " (SELECT login FROM users WHERE id = t.assignee_id), c.stage,"            \
    " c.risk_level, t.id, c.risk_score"
#define DUE_LIST_ORDER                                                         \
    " ORDER BY t.due_at >= ?6, CASE c.urgency WHEN 'immediate' THEN 0 WHEN"    \
    " 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END, t.due_at, t.id"

/* Appends the key and text column i of st (or null) to b; first: the
 * object's first key. */
static void put_column(hv_jbuf *b, int first, const char *key, sqlite3_stmt *st,
                       int i)
{
    hv__jb_key(b, first, key);
    hv__jb_str(b, (const char *)sqlite3_column_text(st, i));
}

/* Appends column i of st as a JSON number (whole: no ".0") or null. */
static void put_number(hv_jbuf *b, sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) {
        hv__jb_raw(b, "null", 4);
        return;
    }
    /* a score is in tenths at most (rulescontract.c) */
    double v = sqlite3_column_double(st, i);
    if (v == (double)(long long)v)
        hv__jb_int(b, (long long)v);
    else
        hv__jb_printf(b, "%.10g", v);
}

HV_API hv_status hv_task_list_due(hv_engine *e, const hv_due_filter *f,
                                  char **out_json)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    hv_due_filter none = {0};
    *out_json = NULL;
    hv__clear_error(e);
    if ((s = due_query(e, f ? f : &none, DUE_LIST_HEAD DUE_FROM DUE_LIST_ORDER,
                       DUE_LIST_HEAD DUE_FROM_AGENCY DUE_LIST_ORDER, &st, NULL)))
        return s;
    /* Written as text row by row: a supervisor's or the agency's list can
     * hold thousands of tasks. */
    hv_time now = hv_now(e);
    hv_jbuf b = HV_JBUF_INIT;
    int rc, n = 0;
    hv__jb_raw(&b, "[", 1);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char due[32];
        int64_t due_at = sqlite3_column_int64(st, 3);
        hv_time_format(due_at, due, sizeof due);
        hv__jb_raw(&b, n ? ",\n  {" : "\n  {", n ? 5 : 4);
        n++;
        put_column(&b, 1, "ref", st, 0);
        put_column(&b, 0, "kind", st, 1);
        put_column(&b, 0, "label", st, 2);
        hv__jb_key(&b, 0, "due_at");
        hv__jb_str(&b, due);
        hv__jb_key(&b, 0, "overdue");
        hv__jb_raw(&b, due_at < now ? "true" : "false", due_at < now ? 4 : 5);
        hv__jb_key(&b, 0, "late_by");
        hv__jb_int(&b, due_at < now ? (long long)(now - due_at) : 0);
        put_column(&b, 0, "urgency", st, 4);
        put_column(&b, 0, "assignee", st, 5);
        put_column(&b, 0, "stage", st, 6);
        /* risk {level, score}, as in the case file */
        hv__jb_key(&b, 0, "risk");
        static const char level[] = "{\n      \"level\": ",
                          score[] = ",\n      \"score\": ", end[] = "\n    }\n  }";
        hv__jb_raw(&b, level, sizeof level - 1);
        hv__jb_str(&b, (const char *)sqlite3_column_text(st, 7));
        hv__jb_raw(&b, score, sizeof score - 1);
        put_number(&b, st, 9);
        hv__jb_raw(&b, end, sizeof end - 1);
    }
    hv__jb_raw(&b, n ? "\n]" : "]", n ? 2 : 1);
    hv__store_finalize(e, st);
    if (rc != SQLITE_DONE) {
        hv__jb_release(&b);
        return hv__sql_fail(e, rc, "listing what is due");
    }
    if (!(*out_json = hv__jb_detach(&b, NULL)))
        return hv__fail(e, HV_NOMEM, "out of memory");
    return HV_OK;
}

/* The agency's open tasks a due list counts (migrate.h's task_due_days)
 * due before limit (exclusive; INT64_MAX: every one): the counter's whole
 * days before limit's day, and that day's tasks before limit counted from
 * the tasks_due index (joined with their cases only when the day holds an
 * open task of a closed case, which the engine's writes never leave).  A
 * manager's view: no scope to check.  out: *count. */
static hv_status count_from_days(hv_engine *e, int64_t limit, int64_t *count)
{
    if (limit == INT64_MAX)
        return hv__store_query_int(e, "counting tasks",
                                   "SELECT coalesce(sum(counted), 0) FROM"
                                   " task_due_days", 0, count, "");
    int64_t day = limit / 86400 - (limit % 86400 < 0);
    return hv__store_query_int(
        e, "counting tasks",
        "SELECT (SELECT coalesce(sum(counted), 0) FROM task_due_days WHERE"
        " due_day < ?1) + CASE WHEN coalesce((SELECT hidden FROM"
        " task_due_days WHERE due_day = ?1), 0) = 0 THEN (SELECT count(*)"
        " FROM tasks WHERE status = 'open' AND due_at >= ?2 AND due_at < ?3)"
        " ELSE (SELECT count(*) FROM tasks t JOIN cases c ON c.id ="
        " t.case_id WHERE t.status = 'open' AND t.due_at >= ?2 AND t.due_at"
        " < ?3 AND (c.status = 'open' OR t.kind = 'final_followup')) END",
        0, count, "iii", day, day * 86400, limit);
}

HV_API hv_status hv_task_count_due(hv_engine *e, const hv_due_filter *f,
                                   int64_t *out_count)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    hv_due_filter none = {0};
    int agency_all = 0;
    *out_count = 0;
    hv__clear_error(e);
    if (!f)
        f = &none;
    if ((s = due_query(e, f, "SELECT count(*)" DUE_FROM,
                       "SELECT count(*)" DUE_FROM_AGENCY, &st, &agency_all)))
        return s;
    /* A manager's agency count reads the per-day counter; the window is a
     * time before which (exclusive) tasks count. */
    hv_time now = hv_now(e);
    int64_t limit = f->overdue_only ? now : INT64_MAX;
    if (f->within > 0 && f->within < HV_TIME_MAX && now + f->within < limit)
        limit = now + f->within + 1;
    if (agency_all && f->within < HV_TIME_MAX) {
        hv__store_finalize(e, st);
        return count_from_days(e, limit, out_count);
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out_count = sqlite3_column_int64(st, 0);
    hv__store_finalize(e, st);
    return rc == SQLITE_ROW ? HV_OK : hv__sql_fail(e, rc, "counting tasks");
}

hv_status hv__task_due_days_check(hv_engine *e, int64_t *wrong)
{
    /* the rows that differ, either way (a day at 0 is as good as none) */
    return hv__store_query_int(
        e, "checking the count of open tasks",
        "WITH kept AS (SELECT due_day, counted, hidden FROM task_due_days"
        " WHERE counted <> 0 OR hidden <> 0), recount AS ("
        HV_TASK_DUE_DAYS_RECOUNT ") SELECT (SELECT count(*) FROM (SELECT *"
        " FROM kept EXCEPT SELECT * FROM recount)) + (SELECT count(*) FROM"
        " (SELECT * FROM recount EXCEPT SELECT * FROM kept))",
        0, wrong, "");
}
