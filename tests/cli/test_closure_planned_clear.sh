#!/bin/sh
# Issue 19 point 5 follow-up: the closure a review planned ("The decision
# to close should be planned and discussed with the child and family",
# seed 001) no longer stands once a supervisor rejects the closure, once a
# transfer is asked for instead, or once the case is reopened.  And a
# waiting transfer is shown as one ("Obtain approval from a supervisor or
# manager before formal closure", seed 001).
. "$(dirname "$0")/lib.sh"
is() { [ "$1" = "$2" ] && pass || failt "$3: got '$1', want '$2'"; }
ok() { what=$1; shift; run "$@"; expect_rc 0 "$what"; }
planned() { sql "SELECT closure_planned FROM cases WHERE ref = '$1'"; }
BIA="kind=comprehensive safety=ok elements.childs_views=a elements.family_relationships=b
elements.safe_environment=c elements.development_identity=d elements.strengths_resources=e"
init_db
register_noor consent.transfer=both; N=CP-2026-00001
ok "initial" --now 2026-11-29T10:00:00Z assess $N kind=initial safety=ok
# shellcheck disable=SC2086
ok "BIA" --now 2026-12-05T10:00:00Z assess $N $BIA strengths.1=school
# shellcheck disable=SC2086
ok "plan" --now 2026-12-06T10:00:00Z plan $N goal=Within_six_months_the_child_is_safe \
    indicators.1=safe_at_followups target_date=2027-06-01 addresses.1=safety \
    actions.1.title=Support actions.1.responsible=caseworker actions.1.type=direct_support \
    actions.1.due=2026-12-20
ok "approved" --as sara --now 2026-12-07T10:00:00Z approve $N
ok "action" --now 2026-12-15T10:00:00Z act $N action=1 status=done
ok "follow-up" --now 2026-12-20T10:00:00Z followup $N method=home_visit_scheduled safety=ok
ok "follow-up" --now 2027-01-03T10:00:00Z followup $N method=meeting safety=ok
ok "review plans the closure" --now 2027-01-24T10:00:00Z review $N outcome=plan_closure
is "$(planned $N)" 1 "planned"
ok "close" --now 2027-01-25T10:00:00Z close $N reason=goals_achieved discussed_with=child,caregiver
expect_out "waiting for a supervisor's or manager's approval of the closure" "a closure waits for a supervisor or manager"
ok "rejected" --as sara --now 2027-01-26T10:00:00Z reject $N reason=not_yet
is "$(planned $N)" 0 "a rejected closure is planned again before it is asked for again"
run --now 2027-01-27T10:00:00Z close $N reason=goals_achieved discussed_with=child,caregiver
expect_rc 65 "closing again without a new plan_closure review"
ok "review plans it again" --now 2027-01-28T10:00:00Z review $N outcome=plan_closure
is "$(planned $N)" 1 "planned again"
ok "a transfer instead" --now 2027-01-29T10:00:00Z transfer $N agency=Northern_unit
expect_out "waiting for a supervisor's or manager's approval of the transfer" "the transfer waits as a transfer"
is "$(planned $N)" 0 "a transfer replaces the planned closure"
run --now 2027-01-29T11:00:00Z show $N
expect_out "^  transfer: pending" "the case file lists the approval as a transfer"
run --as mona --now 2027-01-29T11:00:00Z --json report
is "$(json_get "$OUT" '$.approvals_pending.by_subject.transfer')/$(json_get "$OUT" '$.approvals_pending.by_subject.closure')" \
    "1/0" "the report counts the waiting transfer as a transfer"
ok "transfer approved" --as sara --now 2027-01-30T10:00:00Z approve $N
# reopen clears the flag whatever the closed case carried
ok "reopened" --as sara --now 2027-02-01T10:00:00Z reopen $N reason=back_in_area
is "$(planned $N)" 0 "a reopened case has no planned closure"
finish
