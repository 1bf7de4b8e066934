/*
 * plan.h - the case plan and its actions (internal).
 */
#ifndef HV_PLAN_H
#define HV_PLAN_H

#include "stepkit.h"

/* Approves plan plan_id of the case: supersedes the plan in force,
 * schedules the plan's open actions as tasks, the first follow-up and
 * review, and moves the case from planning to implementation. */
hv_status hv__approve_plan(hv_step_run *sc, int64_t plan_id);
/* Action number seq of the approved plan in force (HV_REFUSED without
 * one; HV_NOTFOUND without such an action).  out: *action_id, status (its
 * status, size bytes). */
hv_status hv__plan_action(hv_step_run *sc, int64_t seq, int64_t *action_id,
                          char *status, size_t size);
/* The plan step: a new plan version with a SMART goal (input: goal,
 * indicators, target_date, addresses, actions), waiting for approval
 * where the stage asks, else approved at once. */
hv_status hv__step_plan(hv_step_run *sc);
/* The act step: updates an action of the plan in force (input: action,
 * status, reason; dropping needs a reason); done or dropped closes its
 * task. */
hv_status hv__step_act(hv_step_run *sc);

#endif
