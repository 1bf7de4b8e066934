#!/bin/sh
# Closure reasons that apply from any open stage (issue 20: "A case in
# planning cannot be closed for death or moving away"): seed 001, "Case
# closure ... occurring when the case plan goals are sustainably achieved,
# or when the need for case management services ceases for other reasons"
# ("The child passes away.", "The child or family moves to an area outside
# the organization's service scope").  The workflow lists them
# (any_stage_closure_reasons); the closure stage's supervisor approval is
# kept ("Obtain approval from a supervisor or manager before formal
# closure"); other reasons keep the normal path.  And a refused closure
# says what is unmet and what to do.
. "$(dirname "$0")/lib.sh"
init_db
register_noor; REF=$(head -1 "$OUT")
run --now 2026-11-28T10:00:00Z assess "$REF" kind=initial safety=ok needs="psychosocial support" risks="school dropout"
expect_rc 0 "initial assessment"
run --now 2026-11-28T10:30:00Z assess "$REF" kind=comprehensive elements.childs_views=a \
    elements.family_relationships=b elements.safe_environment=c elements.development_identity=d \
    elements.strengths_resources=e
expect_rc 0 "comprehensive assessment"
[ "$(sql "SELECT stage FROM cases WHERE ref = '$REF'")" = case_planning ] && pass || failt "the case is in planning"

# goals met: not from planning, and the refusal names the reasons that are
fp=$(fingerprint)
run --now 2026-11-28T11:00:00Z close "$REF" reason=goals_achieved discussed_with=child
expect_rc 65 "goals_achieved from planning"
expect_err "not allowed at stage case_planning .*: this stage does not lead to closure for reason goals_achieved \\(from any open stage only: death, moved_out_of_area\\)" \
    "the refusal names the reasons that close from any stage"
[ "$(fingerprint)" = "$fp" ] && pass || failt "the refused close changed the database"

# death from planning: requested, waiting for the supervisor
run --now 2026-11-28T11:00:00Z close "$REF" reason=death
expect_rc 0 "death closes from planning"
expect_out "closure requested; stage Case closure \\(closure\\)" "the case waits at the closure stage"
expect_out "waiting for a supervisor's or manager's approval of the closure" "the approval kept"
[ "$(sql "SELECT status FROM cases WHERE ref = '$REF'")" = open ] && pass || failt "still open until approved"
run --now 2026-11-28T11:05:00Z approve "$REF"
expect_rc 77 "the caseworker cannot approve her own closure"
# rejected: back to planning, where it came from
run --as sara --now 2026-11-28T12:00:00Z reject "$REF" reason="wrong child"
expect_rc 0 "the supervisor rejects"
[ "$(sql "SELECT stage FROM cases WHERE ref = '$REF'")" = case_planning ] && pass ||
    failt "a rejected any-stage closure goes back to planning: $(sql "SELECT stage FROM cases WHERE ref = '$REF'")"

# moved out of the area: requested and approved: closed
run --now 2026-11-28T13:00:00Z close "$REF" reason=moved_out_of_area
expect_rc 0 "moved_out_of_area closes from planning"
run --as sara --now 2026-11-28T14:00:00Z approve "$REF"
expect_rc 0 "approved"
expect_out "closed; stage Closed \\(closed\\), closed" "closed"
[ "$(sql "SELECT status FROM cases WHERE ref = '$REF'")" = closed ] && pass || failt "the case is closed"
# approving again: nothing waits, and the message says when something does
run --as sara --now 2026-11-28T14:05:00Z approve "$REF"
expect_rc 65 "nothing waits"
expect_err "nothing on this case is waiting for approval \\(a plan waits once 'plan REF \\.\\.\\.' is accepted, a closure once 'close REF reason=\\.\\.\\.' is; a refused one asks for nothing\\)" \
    "approve with nothing waiting says why"

# a closure.lua refusal says what is unmet and what to do
run --now "$T0" register child.name=Samir child.age=9 child.sex=male source=school \
    concerns=neglect consent.registration=caregiver location=Hillside
expect_rc 0 "a second child"; R2=$(head -1 "$OUT")
run --now 2026-11-28T15:00:00Z assess "$R2" kind=initial safety=ok needs="x" risks="y"
run --now 2026-11-28T15:30:00Z assess "$R2" kind=comprehensive elements.childs_views=a \
    elements.family_relationships=b elements.safe_environment=c elements.development_identity=d \
    elements.strengths_resources=e
run --now 2026-11-28T16:00:00Z plan "$R2" goal="Within 6 months Nour attends school" indicators.1="attends" \
    target_date=2027-06-01 addresses.1="school" actions.1.title="visit" actions.1.responsible=caseworker \
    actions.1.type=direct_support actions.1.due=2026-12-25
expect_rc 0 "plan"
run --as sara --now 2026-11-28T17:00:00Z approve "$R2"; expect_rc 0 "plan approved"
run --now 2026-11-29T12:00:00Z followup "$R2" method=home_visit_scheduled safety=ok; expect_rc 0 "followup"
run --now 2026-11-30T12:00:00Z review "$R2" outcome=plan_closure; expect_rc 0 "review plans the closure"
fp=$(fingerprint)
run --now 2026-11-30T13:00:00Z close "$R2" reason=goals_achieved discussed_with=child,caregiver
expect_rc 65 "closure.lua refuses"
expect_err "closure checks not met \\(closure\\.lua, reason goals_achieved\\): plan_actions_open \\(Plan actions still open.*; nothing was requested: meet each condition and run close again, or close for another reason" \
    "the refusal names the unmet condition and what to do"
[ "$(fingerprint)" = "$fp" ] && pass || failt "the refused close changed the database"
run --as sara --now 2026-11-30T14:00:00Z approve "$R2"
expect_rc 65 "then approve"; expect_err "nothing on this case is waiting for approval \\(.*a refused one asks for nothing\\)" \
    "approve after a refused close says why nothing waits"
finish
