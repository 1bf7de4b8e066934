/*
 * followup.h - follow-up, review and evaluation (internal).
 */
#ifndef HV_FOLLOWUP_H
#define HV_FOLLOWUP_H

#include "stepkit.h"

/* The followup step (input: method, safety, notes, at): records a
 * follow-up, moving the case to its follow-up stage; a safety concern
 * re-scores risk; schedules the next.  On a closed case with its final
 * follow-up due: the final follow-up. */
hv_status hv__step_followup(hv_step_run *sc);
/* The review step (input: outcome, notes): records a review of the plan
 * in force, re-scores risk, back to planning (adjust_plan) or closure
 * planned (plan_closure); schedules the next follow-up and review. */
hv_status hv__step_review(hv_step_run *sc);
/* The evaluate step (input: outcome, indicators, notes): evaluates the
 * plan's goal, moving the case to its evaluation stage. */
hv_status hv__step_evaluate(hv_step_run *sc);
/* Whether a closure for reason was prepared as the workflow asks: for a
 * reason in its planned_closure_reasons a review planned the closure
 * (outcome plan_closure, not taken back by a later review or a failed
 * evaluation); for one in evaluated_closure_reasons the latest evaluation
 * of the plan in force found its goals achieved; for either, the input's
 * discussed_with names with whom it was discussed.  HV_REFUSED or
 * HV_INVALID (on sc) otherwise.  out: *discussed, the discussed_with
 * codes (a new reference, possibly empty; NULL on failure). */
hv_status hv__closure_prepared(hv_step_run *sc, const char *reason,
                               json_t **discussed);

#endif
