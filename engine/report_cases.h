/*
 * report_cases.h - the agency's case figures of the report (report.c) in
 * one pass over the cases, aggregated in C (internal, floor 4): the open
 * cases by stage, risk level and urgency, the risk factors of the open
 * cases (migrate.h's case_risk_factors), the time from registration to
 * each milestone, the closure reasons and the monthly series.  For a
 * manager's report without --caseworker only (every case counts).  The
 * cases are read once, the milestones' rows (initial assessments, approved
 * plans) and the kept factors once each, instead of a scan per figure with
 * a lookup of each row's case.  Every figure comes out as the report's
 * queries give it (the same groups, in the same order: SQLite's BINARY
 * order, NULL first).
 */
#ifndef HV_REPORT_CASES_H
#define HV_REPORT_CASES_H

#include "engine.h"

/* The time from registration to a milestone: the cases that reached it
 * within the period and the median and 90th percentile (nearest rank) of
 * their seconds from registration (0 when n is 0). */
typedef struct {
    int64_t n, median, p90;
} hv_report_milestone;

/* Where the pass gives its groups, each called in the report's order;
 * every one returns 0, or nonzero to stop (no memory). */
typedef struct {
    void *ctx;
    /* open cases per (stage, risk level, urgency), NULL for none: in the
     * order of the three, NULL first */
    int (*open)(void *ctx, const char *stage, const char *risk, const char *urgency,
                int64_t n);
    /* open cases per risk factor: most first, then by code */
    int (*factor)(void *ctx, const char *code, int64_t n);
    /* cases closed in the period per reason (NULL: "unknown"): most
     * first, then by reason */
    int (*reason)(void *ctx, const char *reason, int64_t n);
    /* registrations and closures in the period per month (UTC) with any,
     * in order */
    int (*month)(void *ctx, int year, int month, int64_t registered, int64_t closed);
} hv_report_case_fns;

/* The pass over the cases in [since, until): the groups to fns, the
 * milestones (initial assessment, approved plan, closure) into ms.  *done
 * is 0 when the case ids are too sparse for tables by id (nothing given:
 * the caller runs its queries).  Returns HV_OK, HV_NOMEM (also when a
 * callback said so) or the store's failure. */
hv_status hv__report_case_pass(hv_engine *e, hv_time since, hv_time until,
                               const hv_report_case_fns *fns,
                               hv_report_milestone ms[3], int *done);

#endif
