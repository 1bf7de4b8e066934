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

#endif
