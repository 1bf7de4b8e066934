/*
 * report_tasks.h - the agency's task figures of the report (report.c)
 * from the counters kept beside the tasks (migrate.h's task_day_counts),
 * aggregated in C (internal, floor 4): the open tasks overdue and due
 * within the week by kind and assignee, and the follow-up compliance of
 * three windows.  For a manager's report without --caseworker only: it
 * looks up no task's case, so the caller checks first that no open task of
 * a closed case falls due before the week's end (migrate.h's
 * task_due_days) and that no user has the id 0 (the counters' "no
 * assignee"), and relies on every task having its case (the foreign key).
 */
#ifndef HV_REPORT_TASKS_H
#define HV_REPORT_TASKS_H

#include "engine.h"

/* What the pass gives: per window i, [i][0] the follow-ups (kinds followup
 * and final_followup, open or done) due in [from[i], to[i]), [i][1] done
 * on or before the due time, [i][2] done after it, [i][3] still open. */
typedef int64_t hv_report_compliance[3][4];

/* Called once per (kind, assignee's login (NULL: none), overdue) with the
 * count n of open tasks due before week_end, in the order login (NULL
 * last), kind, overdue, each byte-wise as SQLite's BINARY collation
 * orders.  Returns 0, or nonzero to stop (no memory). */
typedef int (*hv_report_due_fn)(void *ctx, const char *kind, const char *login,
                                int overdue, int64_t n);

/* Counts the open tasks due before week_end (overdue: before now) to
 * row(ctx, ...), the follow-ups into *compliance, as a pass over every
 * open or done task would: each window's whole days from the counters,
 * the days its edges cut from their tasks (the tasks_due index).
 * Returns HV_OK, HV_NOMEM (also when row said so) or the store's failure
 * naming what. */
hv_status hv__report_task_pass(hv_engine *e, hv_time now, hv_time week_end,
                               const hv_time from[3], const hv_time to[3],
                               hv_report_due_fn row, void *ctx,
                               hv_report_compliance *compliance);

/* A new group of task counts {total, by_kind, by_caseworker} (NULL out
 * of memory). */
json_t *hv__report_task_group(void);
/* Adds n tasks of kind for login (NULL: unassigned) to group g; rows come
 * ordered by login, so a login's entry is the last one or a new one.
 * Returns 0, or nonzero out of memory. */
int hv__report_task_group_add(json_t *g, const char *kind, const char *login,
                              json_int_t n);

/* The keys of the three windows of follow-up compliance (the last 30
 * days, the last 90 days, the period [since, until)), and their bounds
 * [from, to) at now (each ends at now at the latest). */
void hv__report_compliance_windows(hv_time now, hv_time since, hv_time until,
                                   hv_time from[3], hv_time to[3]);
/* Sets out's members, each window's figures from n as {due, on_time,
 * late, not_done, ratio}.  Returns 0, or nonzero out of memory. */
int hv__report_compliance_json(const hv_report_compliance *n, json_t *out);

/* Compares the counters (migrate.h's task_day_counts) with a recount from
 * the tasks.  out: *wrong, how many rows differ either way (0: right). */
hv_status hv__task_day_counts_check(hv_engine *e, int64_t *wrong);

#endif
