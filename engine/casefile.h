/*
 * casefile.h - reading cases (internal): what the case file, list and
 * search answers share.  The public calls (hv_case_get_json,
 * hv_case_summary_json, hv_case_list, hv_case_history_json) are in
 * haven.h.
 */
#ifndef HV_CASEFILE_H
#define HV_CASEFILE_H

#include "engine.h"

/* The columns of a case summary, selected from cases c LEFT JOIN users u
 * (the assignee), in the order hv__case_summaries reads them. */
#define HV_CASE_SUMMARY_COLUMNS                                              \
    "c.ref, c.stage, c.status, c.source, u.login, c.registered_at,"          \
    " c.version, c.urgency, c.risk_level, c.risk_score,"                     \
    " (SELECT json_group_array(code) FROM case_concerns k"                   \
    "  WHERE k.case_id = c.id)"

/* Steps st to its end, appending to arr one summary object per row (the
 * columns HV_CASE_SUMMARY_COLUMNS, then the child's name when with_name).
 * `what` names the read in a SQL failure's message.  st stays the
 * caller's to finalize; arr gains what was read even on failure. */
hv_status hv__case_summaries(hv_engine *e, sqlite3_stmt *st, int with_name,
                             json_t *arr, const char *what);

/* Records in the audit trail (its own transaction) that the acting user
 * read identifying data of case_id by `action` ("show", "search", ...):
 * a "viewed" event, not part of the case's story. */
hv_status hv__case_audit_read(hv_engine *e, int64_t case_id,
                              const char *action);

#endif
