/*
 * caseview.h - the read-only view of one case that rules are given and a
 * stage's `requires` is checked on (internal).
 */
#ifndef HV_CASEVIEW_H
#define HV_CASEVIEW_H

#include <jansson.h>

#include "engine.h"

/* The view of case_id as it is now (inside the caller's transaction, if
 * any): ref, stage, status, source, location, urgency, registered_at,
 * form, concerns, consent, child, family, risk, assessments, followups,
 * reviews, evaluations and the plan in force with its actions.
 * out: *out a new object for the caller to json_decref, NULL on failure. */
hv_status hv__case_view(hv_engine *e, int64_t case_id, json_t **out);
/* 1 if the dotted path (e.g. "risk.level") names a present, non-empty
 * value of view (not null, false, "" or []). */
int hv__view_has(json_t *view, const char *path);

#endif
