#!/bin/sh
# Noor (seed 001 section 8: "a 12-year-old girl, was referred to your
# organization by her school ... withdrawn, shows signs of sadness and
# anxiety, and her academic performance has significantly declined") taken
# through the whole IASC workflow by the command line alone, on --now dates,
# under rules/default: registration, the initial assessment within 48 hours,
# the Best Interests Assessment within 2 weeks, the model answer's plan,
# approval, consent and a referral of the mother to financial support,
# follow-ups "every two weeks for the first two months, then monthly", a case
# conference, the review after 3 months, closure after a follow-up period,
# approval, the final follow-up about 3 months later.  `haven due` is checked
# at each point, and every refusal must leave the database as it was.
. "$(dirname "$0")/lib.sh"

REF=CP-2026-00001

# refuse CODE PATTERN WHAT ARGS...: haven ARGS exits CODE with one line
# matching PATTERN on stderr, and the database is unchanged.
refuse() {
    code=$1 pattern=$2 what=$3
    shift 3
    before=$(fingerprint)
    run "$@"
    expect_rc "$code" "$what"
    expect_err "$pattern" "$what: message"
    [ "$(fingerprint)" = "$before" ] && pass || failt "$what: the database changed"
}

# step WHAT ARGS...: haven ARGS succeeds.
step() {
    what=$1
    shift
    run "$@"
    expect_rc 0 "$what"
}

stage_is() { # WANT WHAT
    run --json show "$REF"
    got=$(json_get "$OUT" '$.stage.id')
    [ "$got" = "$1" ] && pass || failt "$2: stage is '$got', want '$1'"
}

# due_at NOW [DUE-OPTIONS...]: haven due at NOW, as amal.
due_at() {
    now=$1
    shift
    run --now "$now" due "$@"
    expect_rc 0 "due at $now $*"
}
# due_as LOGIN NOW: haven due at NOW as LOGIN.
due_as() {
    run --as "$1" --now "$2" due
    expect_rc 0 "due for $1 at $2"
}
# due_lists TASK_PATTERN on|late WHAT: the due list (OUT) has TASK, late or not.
due_lists() {
    if [ "$2" = late ]; then
        expect_out "^[^ ]+ +[a-z]+ +$REF +[a-z]+ +LATE [0-9]+[dh] +$1" "$3 (late)"
    else
        expect_out "^[^ ]+ +[a-z]+ +$REF +[a-z(]+[a-z)]* +$1" "$3 (not late)"
    fi
}
due_count() { # N WHAT: the due list has N tasks
    n=$(grep -c " $REF " "$OUT")
    [ "$n" -eq "$1" ] && pass || failt "$2: $n tasks listed, want $1: $(cat "$OUT")"
}

# ---- set-up: the agency, a supervisor and a caseworker ----------------------
run --as admin --now "$T0" init --simulated --agency CP --workflow "$SRC/workflows/iasc.yaml" \
    --rules "$SRC/rules/default"
expect_rc 0 "init"
step "user add sara" --as admin user add sara --role supervisor
step "user add amal" --as admin user add amal --role caseworker --supervisor sara
refuse 77 'administrator' "a caseworker cannot add users" user add omar --role caseworker

# ---- 1. identification and registration -------------------------------------
register_noor family.1.relationship=mother family.1.name=Amal \
    family.1.lives_with_child=yes family.2.relationship=sibling family.2.age=8 \
    family.2.sex=male form.referral_note="withdrawn, sad and anxious"
expect_rc 0 "register Noor"; expect_out "^$REF" "the reference"
stage_is initial_assessment "registered"
due_at "$T0"
due_lists 'Initial assessment' on "the initial assessment is due"
due_lists 'Comprehensive assessment' on "the BIA is due"
expect_out '^2026-11-30T09:00:00Z .*Initial assessment' "initial assessment within 48 hours (normal urgency)"
expect_out '^2026-12-12T09:00:00Z .*Comprehensive' "BIA within 2 weeks"
due_at "$T0" --overdue; expect_out '^nothing due$' "nothing overdue at registration"
due_at 2026-11-30T10:00:00Z --overdue
due_lists 'Initial assessment' late "after 48 hours the initial assessment would be late"
due_count 1 "only the initial assessment is late"

# Nothing can skip the assessment.
refuse 65 'plan: .*initial_assessment' "a plan before the assessment" \
    --now 2026-11-29T15:00:00Z plan "$REF" goal="Noor is well within six months" \
    indicators.1=anxiety target_date=2027-06-01 addresses.1=psychosocial_support \
    actions.1.title=PSS actions.1.responsible=caseworker \
    actions.1.type=direct_support actions.1.due=2027-01-01
refuse 65 "safety" "an initial assessment without safety" \
    --now 2026-11-29T15:00:00Z assess "$REF" kind=initial
refuse 69 'no such case' "an unknown case" --now 2026-11-29T15:00:00Z assess CP-2026-09999 \
    kind=initial safety=ok

# ---- 2a. the initial assessment, within 48 hours ---------------------------
step "initial assessment" --now 2026-11-29T15:00:00Z assess "$REF" kind=initial \
    safety=ok needs.1=psychosocial_support needs.2=academic_support \
    summary="no immediate danger; Noor hints at problems at home"
expect_out 'stage .*\(comprehensive_assessment\)' "moves to the comprehensive assessment"
expect_out 'risk: low' "risk scored by risk.lua"
stage_is comprehensive_assessment "after the initial assessment"
due_at 2026-11-29T15:00:00Z
due_count 1 "only the BIA is due"
due_lists 'Comprehensive assessment' on "the BIA is due"

# ---- 2b. the comprehensive Best Interests Assessment ------------------------
BIA="kind=comprehensive safety=ok
elements.childs_views=wants_to_feel_less_alone_and_do_well_at_school
elements.family_relationships=close_to_mother;_father_in_another_city
elements.safe_environment=no_harm_seen;_mother_stressed
elements.development_identity=grades_falling;_withdrawn
elements.strengths_resources=school_counsellor;_mother_present
needs.1=psychosocial_support needs.2=mother_stress_and_finances needs.3=academic_support
risks.1=deteriorating_mental_health risks.2=emotional_neglect
strengths.1=connection_to_school strengths.2=mother_present strengths.3=school_aware
info_needed.1=problems_at_home info_needed.2=relationship_with_father
sources.1=noor sources.2=mother sources.3=school verified.1=school"
# shellcheck disable=SC2086
refuse 65 "elements\.safe_environment" "a BIA without the safe environment" \
    --now 2026-12-08T10:00:00Z assess "$REF" $(echo "$BIA" | grep -v safe_environment)
# shellcheck disable=SC2086
refuse 65 "elements\.childs_views" "a BIA without the child's views" \
    --now 2026-12-08T10:00:00Z assess "$REF" $(echo "$BIA" | grep -v childs_views)
# shellcheck disable=SC2086
step "the BIA" --now 2026-12-08T10:00:00Z assess "$REF" $BIA
expect_out 'stage .*\(case_planning\)' "moves to case planning"
stage_is case_planning "after the BIA"
[ "$(sql "SELECT status FROM tasks WHERE kind='comprehensive_assessment'")" = done ] && pass || failt "BIA task done"
[ "$(sql "SELECT risk_level FROM cases")" = low ] && pass || failt "risk low after the BIA (3 + 4 - 3)"
due_at 2026-12-08T10:00:00Z; expect_out '^nothing due$' "nothing due while planning"

# ---- 3. case planning: the model answer ------------------------------------
GOAL="Within a 6-month period, Noor's psychosocial and social well-being will be improved, and the mother will receive effective support to reduce psychological and financial stress"
refuse 65 "Measurable" "a plan without indicators" \
    --now 2026-12-09T10:00:00Z plan "$REF" goal="$GOAL" target_date=2027-06-09 \
    addresses.1=psychosocial_support actions.1.title=PSS \
    actions.1.responsible=caseworker actions.1.type=direct_support actions.1.due=2027-01-09
refuse 65 "Time-bound" "a plan without a target date" \
    --now 2026-12-09T10:00:00Z plan "$REF" goal="$GOAL" indicators.1=anxiety \
    addresses.1=psychosocial_support actions.1.title=PSS \
    actions.1.responsible=caseworker actions.1.type=direct_support actions.1.due=2027-01-09
refuse 65 "actions\.1\.responsible" "an action nobody is responsible for" \
    --now 2026-12-09T10:00:00Z plan "$REF" goal="$GOAL" indicators.1=anxiety \
    target_date=2027-06-09 addresses.1=psychosocial_support actions.1.title=PSS \
    actions.1.type=direct_support actions.1.due=2027-01-09
step "the plan" --now 2026-12-09T10:00:00Z plan "$REF" goal="$GOAL" \
    indicators.1="reduction in symptoms of anxiety and sadness (periodic assessments, school feedback)" \
    indicators.2="increased social participation and positive peer interaction" \
    indicators.3="improved academic performance (monitored with the school)" \
    target_date=2027-06-09 \
    addresses.1=psychosocial_support addresses.2=mother_stress_and_finances \
    addresses.3=academic_support addresses.4=deteriorating_mental_health \
    actions.1.title="Psychosocial support for Noor: safe space, coping skills" \
    actions.1.responsible=caseworker actions.1.type=direct_support actions.1.due=2027-03-09 \
    actions.2.title="Refer mother to financial assistance and a support group" \
    actions.2.responsible=caseworker actions.2.type=referral actions.2.due=2027-01-09 \
    actions.3.title="Coordinate with the school counsellor and teachers" \
    actions.3.responsible=caseworker actions.3.type=coordination actions.3.due=2027-01-09 \
    actions.4.title="Explore the father's involvement" \
    actions.4.responsible=caseworker actions.4.type=coordination actions.4.due=2027-02-09
expect_out 'waiting for a supervisor' "the plan waits for approval"
stage_is case_planning "a plan waiting for approval"
due_at 2026-12-09T10:00:00Z; expect_out '^nothing due$' "nothing due for amal while the plan waits"
due_as sara 2026-12-09T10:00:00Z
due_lists 'Approve the plan' on "sara is asked to approve"
refuse 77 "only a supervisor" "a caseworker approving" --now 2026-12-10T09:00:00Z approve "$REF"

# ---- approval -----------------------------------------------------------------
step "sara approves" --as sara --now 2026-12-10T09:00:00Z approve "$REF" note="agreed"
expect_out 'stage .*\(implementation\)' "implementation"
expect_out 'next follow-up: 2026-12-24T09:00:00Z .*every 14 days' "every two weeks at first"
expect_out 'next review: 2027-03-10T09:00:00Z' "review after 3 months"
stage_is implementation "after approval"
due_at 2026-12-10T09:00:00Z
due_count 6 "4 actions, a follow-up and a review"
due_lists 'Follow-up' on "the first follow-up"
due_lists 'Action 2 \(referral\)' on "action 2"
due_lists 'Case plan review' on "the review"
due_at 2026-12-10T09:00:00Z --within 15d
due_count 1 "within 15 days: the follow-up only"
due_lists 'Follow-up' on "the follow-up within 15 days"

# ---- 4. implementation: consent, a referral, the school -------------------------
refuse 65 "consent" "a referral without consent" --now 2026-12-11T10:00:00Z \
    refer "$REF" service=financial provider="Municipal social assistance" action=2
refuse 77 "supervisor" "a caseworker overriding consent" --now 2026-12-11T10:00:00Z \
    refer "$REF" service=financial provider="Municipal social assistance" override=urgent
refuse 65 "only a closed case" "reopening an open case" --now 2026-12-11T10:00:00Z \
    reopen "$REF" reason="new concern"
step "consent for information sharing" --now 2026-12-11T10:00:00Z consent "$REF" \
    scope=information_sharing given_by=caregiver
step "refer the mother" --now 2026-12-11T10:00:00Z refer "$REF" service=financial \
    provider="Municipal social assistance" action=2
expect_out 'referral 1 sent' "referral 1"
due_at 2026-12-11T10:00:00Z
due_lists 'Outcome of referral 1 \(financial\)' on "the referral's outcome is due"
refuse 65 "referral 1 is sent" "a referral completed before it is accepted" \
    --now 2026-12-15T10:00:00Z refer "$REF" referral=1 status=completed

# ---- 5. follow-up: every two weeks for the first two months -----------------
step "follow-up 1" --now 2026-12-23T10:00:00Z followup "$REF" method=home_visit_scheduled \
    safety=ok notes="Noor talked about school"
expect_out 'stage .*\(follow_up_review\)' "follow-up and review"
expect_out 'next follow-up: 2027-01-06T10:00:00Z .*every 14 days' "two weeks later"
step "referral accepted" --now 2026-12-28T10:00:00Z refer "$REF" referral=1 status=accepted
# The second follow-up is missed: on 8 January it is late.
due_at 2027-01-08T10:00:00Z --overdue
due_lists 'Follow-up' late "the missed follow-up is late"
due_lists 'Outcome of referral 1' late "the referral was accepted but its outcome is not known: late"
due_count 2 "the follow-up and the referral's outcome are late"
step "follow-up 2 (late)" --now 2027-01-08T10:00:00Z followup "$REF" method=meeting safety=ok
expect_out 'next follow-up: 2027-01-22T10:00:00Z' "two weeks after the late visit"
due_at 2027-01-08T10:00:00Z --overdue
due_count 1 "after the visit only the referral's outcome is late"
step "case conference" --now 2027-01-08T14:00:00Z conference "$REF" \
    participants.1=caseworker participants.2="school counsellor" participants.3=teacher \
    participants.4=mother decisions.1="academic and social support plan at school" \
    decisions.2="fortnightly phone check-in with the school"
step "action 3 done" --now 2027-01-08T15:00:00Z act "$REF" action=3 status=done
step "referral completed" --now 2027-01-15T10:00:00Z refer "$REF" referral=1 \
    status=completed outcome="monthly family allowance granted"
due_at 2027-01-15T10:05:00Z --overdue
due_lists 'Action 2 \(referral\)' late "action 2 (due 9 January) is late"
due_count 1 "the referral's outcome is no longer late once completed"
step "action 2 done" --now 2027-01-15T10:05:00Z act "$REF" action=2 status=done
due_at 2027-01-15T10:05:00Z --overdue; expect_out '^nothing due$' "nothing late once action 2 is done"
step "follow-up 3" --now 2027-01-22T10:00:00Z followup "$REF" method=home_visit_scheduled safety=ok
expect_out 'every 14 days' "still every two weeks"
step "action 4 done" --now 2027-02-04T10:00:00Z act "$REF" action=4 status=done
step "follow-up 4" --now 2027-02-05T10:00:00Z followup "$REF" method=phone_call safety=ok
expect_out 'next follow-up: 2027-02-19T10:00:00Z .*every 14 days' "two weeks, the plan is under two months old"
# ... then monthly.
step "follow-up 5" --now 2027-02-19T10:00:00Z followup "$REF" method=home_visit_scheduled safety=ok
expect_out 'next follow-up: 2027-03-21T10:00:00Z .*every 30 days' "then monthly (low risk)"
due_at 2027-03-08T10:00:00Z
due_lists 'Action 1 \(direct_support\)' on "action 1 still open"
due_lists 'Case plan review' on "the review is next"

# ---- the review after three months --------------------------------------------
due_at 2027-03-11T10:00:00Z --overdue
due_lists 'Case plan review' late "the review is late on 11 March"
due_lists 'Action 1 \(direct_support\)' late "action 1 is late too"
refuse 65 "plan_actions_open" "closing with an action still open" \
    --now 2027-03-11T10:00:00Z close "$REF" reason=goals_achieved
step "the review" --now 2027-03-11T10:00:00Z review "$REF" outcome=plan_closure \
    notes="anxiety down, grades up, mother supported"
expect_out 'risk: low' "risk re-scored at the review"
expect_out 'next follow-up: 2027-04-10T10:00:00Z' "a monthly follow-up"
step "action 1 done" --now 2027-03-12T10:00:00Z act "$REF" action=1 status=done
due_at 2027-03-12T10:00:00Z
due_count 2 "the follow-up and the next review"

# ---- 6. closure after the follow-up period ------------------------------------
step "follow-up 6" --now 2027-04-10T10:00:00Z followup "$REF" method=home_visit_scheduled safety=ok
refuse 65 "child_under_18" "closing for the age of majority" \
    --now 2027-04-10T11:00:00Z close "$REF" reason=age_of_majority
# "The decision to close should be planned and discussed with the child and
# family (as appropriate)" (seed 001): the review planned it; say with whom.
refuse 65 "discussed_with" "closing without saying with whom it was discussed" \
    --now 2027-04-10T11:00:00Z close "$REF" reason=goals_achieved
step "close" --now 2027-04-10T11:00:00Z close "$REF" reason=goals_achieved \
    discussed_with=child,caregiver notes="goals sustainably achieved"
expect_out 'waiting for a supervisor' "closure waits for approval"
stage_is closure "closure requested"
[ "$(sql "SELECT status FROM cases")" = open ] && pass || failt "still open until approved"
refuse 77 "only a supervisor" "a caseworker approving the closure" \
    --now 2027-04-10T12:00:00Z approve "$REF"
due_as sara 2027-04-10T12:00:00Z
due_lists 'Approve the closure' on "sara is asked to approve the closure"
step "sara approves the closure" --as sara --now 2027-04-11T09:00:00Z approve "$REF"
expect_out 'closed' "closed"
expect_out 'final follow-up due: 2027-07-10T09:00:00Z' "the final follow-up about 3 months later"
stage_is closed "after approval"
run --json show "$REF"
[ "$(json_get "$OUT" '$.status')" = closed ] && pass || failt "status closed"
[ "$(sql "SELECT count(*) FROM tasks WHERE status='open'")" = 1 ] && pass || failt "only the final follow-up is open"
[ "$(sql "SELECT count(*) FROM tasks WHERE status='cancelled' AND cancel_reason='case closed'")" -ge 2 ] && pass || failt "the other tasks cancelled"
due_at 2027-04-11T09:00:00Z
due_count 1 "only the final follow-up"
due_lists 'Final follow-up' on "the final follow-up"
refuse 65 "closed" "a review on a closed case" --now 2027-05-01T10:00:00Z review "$REF" outcome=continue

# ---- the final follow-up -------------------------------------------------------
due_at 2027-07-12T10:00:00Z --overdue
due_lists 'Final follow-up' late "the final follow-up is late on 12 July"
step "final follow-up" --now 2027-07-12T10:00:00Z followup "$REF" method=home_visit_scheduled \
    safety=ok notes="stable; family knows how to ask for help again"
expect_out 'final follow-up recorded' "the final follow-up recorded"
due_at 2027-07-12T10:00:00Z; expect_out '^nothing due$' "nothing due after the final follow-up"
refuse 65 "reopen it first" "another follow-up on the closed case" \
    --now 2027-07-13T10:00:00Z followup "$REF" method=phone_call safety=ok

# ---- the case file at the end ----------------------------------------------------
run --now 2027-07-13T10:00:00Z show "$REF"; expect_rc 0 "show"
expect_out 'Stage: +Closed \(closed\), closed' "show: closed"
expect_out 'version 1, approved' "show: the plan"
expect_out 'Refer mother to financial assistance.*\[done\]' "show: action 2 done"
expect_out 'financial' "show: the referral"
expect_out 'goals_achieved' "show: the closure reason"
expect_out '  final follow-up recorded: safety ok' "show: the final follow-up in the history"
run --json show "$REF"
[ "$(json_get "$OUT" '$.closure.reason')" = goals_achieved ] && pass || failt "closure reason in JSON"
[ "$(json_get "$OUT" '$.plans[0].status')" = approved ] && pass || failt "the plan in JSON"
[ "$(json_get "$OUT" '$.referrals[0].status')" = completed ] && pass || failt "the referral completed"
[ "$(json_get "$OUT" '$.conferences[0].participants[3]')" = mother ] && pass || failt "the conference's participants"
n=$(sqlite3 :memory: "SELECT json_array_length(readfile('$OUT'), '\$.followups')")
[ "$n" = 7 ] && pass || failt "six follow-ups and the final one ($n)"
# Confidentiality: the events hold no names, locations or narrative.
[ "$(sql "SELECT count(*) FROM events WHERE data LIKE '%Noor%' OR data LIKE '%Riverside%' OR data LIKE '%allowance%' OR data LIKE '%Municipal%'")" = 0 ] && pass || failt "no names or free text in events"
# Every event is in the history.
n=$(sql "SELECT count(*) FROM events WHERE case_id IS NOT NULL AND kind NOT IN ('viewed', 'access_refused')")
[ "$n" -eq 24 ] && pass || failt "every step recorded: $n events, want 24"

# A plan waiting for approval does not survive a transfer: the supervisor
# can no longer approve it, and the reasons given are kept as case notes.
run --as admin user add bilal --role caseworker --supervisor sara
run --as bilal --now 2027-01-01T09:00:00Z register child.name=Rami child.age=11 child.sex=male \
    location=Harbour source=family concerns=neglect consent.registration=both consent.transfer=both
expect_rc 0 "register Rami"; R2=$(cat "$OUT")
run --as bilal --now 2027-01-02T09:00:00Z assess "$R2" kind=initial safety=ok
run --as bilal --now 2027-01-05T09:00:00Z assess "$R2" kind=comprehensive elements.childs_views=a \
    elements.family_relationships=b elements.safe_environment=c elements.development_identity=d \
    elements.strengths_resources=e
run --as bilal --now 2027-01-06T09:00:00Z plan "$R2" goal="Within 3 months Rami attends school every day" \
    indicators.1=attendance target_date=2027-04-06 addresses.1=schooling actions.1.title=visits \
    actions.1.responsible=caseworker actions.1.type=direct_support actions.1.due=2027-02-01
expect_rc 0 "Rami's plan waits for approval"
run --as bilal --now 2027-01-07T09:00:00Z transfer "$R2" agency="Harbour district unit" reason="ZZREASON family moved"
expect_rc 0 "transfer with the family's consent (requested)"
# Two decisions wait (the plan and the transfer): the supervisor names one.
BEFORE_T=$(fingerprint)
run --as sara --now 2027-01-08T09:00:00Z approve "$R2"
expect_rc 65 "approve with a plan and a transfer waiting"; expect_err 'subject=plan or subject=transfer' "both are named"
[ "$(fingerprint)" = "$BEFORE_T" ] && pass || failt "the ambiguous approval changed nothing"
run --as sara --now 2027-01-08T09:00:00Z approve "$R2" subject=transfer
expect_rc 0 "the transfer approved"
BEFORE_T=$(fingerprint)
run --as sara --now 2027-01-08T09:00:00Z approve "$R2"
expect_rc 65 "a stale approval after a transfer is refused"; expect_err 'nothing on this case is waiting' "the withdrawn approval is named"
[ "$(fingerprint)" = "$BEFORE_T" ] && pass || failt "the refused approval changed nothing"
run --as bilal show "$R2"; expect_out 'Transfer requested: ZZREASON family moved' "the transfer reason is kept as a note"
[ "$(sql "SELECT count(*) FROM notes WHERE text LIKE '%ZZREASON%'")" = 0 ] && pass || failt "the note is sealed at rest"
[ "$(sql "SELECT count(*) FROM events WHERE data LIKE '%ZZREASON%'")" = 0 ] && pass || failt "the reason is not in the events"
[ "$(sql "SELECT p.status FROM plans p JOIN cases c ON c.id = p.case_id WHERE c.ref = '$R2'")" = rejected ] && pass || failt "the waiting plan was withdrawn"
finish
