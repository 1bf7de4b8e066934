/*
 * closure.h - closure, approval decisions, reopening, transfer and
 * reassignment (internal).
 */
#ifndef HV_CLOSURE_H
#define HV_CLOSURE_H

#include "stepkit.h"

/* The approve step (input: note, subject): a supervisor, or a manager for a
 * closure or a transfer, approves what waits on the case (a plan: approved
 * and scheduled; a closure: the case closes; a transfer: the case closes
 * here as transferred); never whoever asked for it. */
hv_status hv__step_approve(hv_step_run *sc);
/* The reject step (input: reason, subject): as approve, rejects what
 * waits (a plan: rejected; a closure: back to follow-up; a transfer: the
 * case goes on here). */
hv_status hv__step_reject(hv_step_run *sc);
/* The close step (input: reason, notes): re-scores risk, asks closure.lua,
 * moves the case to closure and waits for approval where the workflow asks,
 * else closes it (every other task cancelled, the final follow-up due). */
hv_status hv__step_close(hv_step_run *sc);
/* The reopen step (input: reason): a closed case opens again, back to
 * assessment, with its assessment tasks due again. */
hv_status hv__step_reopen(hv_step_run *sc);
/* The transfer step (input: agency, reason, override): with consent for
 * the transfer given by both (or a supervisor's override, shown to
 * closure.lua as case.closure.consent_overridden) and closure.lua's
 * agreement, requests the transfer, which waits for approval as the
 * workflow's closure stage asks (else the case closes here at once as
 * transferred). */
hv_status hv__step_transfer(hv_step_run *sc);
/* The assign step (input: to): reassigns the case and its open tasks to
 * another active user. */
hv_status hv__step_assign(hv_step_run *sc);

#endif
