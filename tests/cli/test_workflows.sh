#!/bin/sh
# Each shipped workflow walked end to end by the command line, under its
# rule pack: iasc (rules/default, seeds 001-002), trafficking
# (rules/trafficking, seed 003) and survivor (rules/survivor, seed 004).
# registration -> assessments -> plan -> approval -> implementation ->
# follow-up -> evaluation (where the workflow has one) -> review/closure ->
# approval -> closed -> the final follow-up, with the stage checked after
# every step and each pack's closure conditions met.
. "$(dirname "$0")/lib.sh"

REF=CP-2026-00001

refuse() { # CODE PATTERN WHAT ARGS...
    code=$1 pattern=$2 what=$3
    shift 3
    before=$(fingerprint)
    run "$@"
    expect_rc "$code" "$what"
    expect_err "$pattern" "$what: message"
    [ "$(fingerprint)" = "$before" ] && pass || failt "$what: the database changed"
}

# at NOW WANT_STAGE WHAT ARGS...: haven --now NOW ARGS succeeds and the case
# is then at WANT_STAGE.
at() {
    now=$1 want=$2 what=$3
    shift 3
    run --now "$now" "$@"
    expect_rc 0 "$WF: $what"
    stage_is "$want" "$what"
}

stage_is() { # WANT WHAT
    run --json show "$REF"
    got=$(json_get "$OUT" '$.stage.id')
    [ "$got" = "$1" ] && pass || failt "$WF: $2: stage is '$got', want '$1'"
}

field_is() { # JSONPATH WANT WHAT
    run --json show "$REF"
    got=$(json_get "$OUT" "$1")
    [ "$got" = "$2" ] && pass || failt "$WF: $3: $1 is '$got', want '$2'"
}

setup_db() { # WORKFLOW PACK
    WF=$1
    export HAVEN_DB="$WORK/$1.db"
    run --as admin --now "$T0" init --simulated --agency CP --workflow "$SRC/workflows/$1.yaml" \
        --rules "$SRC/rules/$2"
    expect_rc 0 "$WF: init with rules/$2"
    run --as admin user add sara --role supervisor; expect_rc 0 "$WF: add sara"
    run --as admin user add amal --role caseworker --supervisor sara; expect_rc 0 "$WF: add amal"
}

BIA="kind=comprehensive safety=ok elements.childs_views=wants_to_be_safe
elements.family_relationships=see_assessment elements.safe_environment=see_assessment
elements.development_identity=see_assessment elements.strengths_resources=see_assessment"

plan_args() { # TARGET DUE1 DUE2
    echo "goal=Within_six_months_the_child_is_safe_and_supported indicators.1=safe_at_followups
target_date=$1 addresses.1=safety
actions.1.title=Direct_support actions.1.responsible=caseworker actions.1.type=direct_support actions.1.due=$2
actions.2.title=Coordinate_services actions.2.responsible=caseworker actions.2.type=coordination actions.2.due=$3"
}

final_checks() { # CLOSE_AT FINAL_DUE FINAL_AT
    field_is '$.status' closed "closed at the end"
    got=$(sql "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', due_at, 'unixepoch') FROM tasks WHERE kind='final_followup' AND status='open'")
    [ "$got" = "$2" ] && pass || failt "$WF: the final follow-up about 3 months after closure: due '$got', want '$2'"
    [ "$(sql "SELECT count(*) FROM tasks WHERE status='open'")" = 1 ] && pass || failt "$WF: only the final follow-up open"
    run --now "$3" due --overdue; expect_rc 0 "$WF: due"
    expect_out "LATE [0-9]+d +Final follow-up" "$WF: the final follow-up on the due list, late"
    at "$3" "$CLOSED" "final follow-up" followup "$REF" method=phone_call safety=ok
    expect_out 'final_followup' "$WF: the final follow-up recorded"
    field_is '$.status' closed "still closed after the final follow-up"
    [ "$(sql "SELECT count(*) FROM tasks WHERE status='open'")" = 0 ] && pass || failt "$WF: nothing open at the end"
    refuse 65 "reopen it first" "$WF: no follow-up after the final one" \
        --now "$3" followup "$REF" method=phone_call safety=ok
}

# ---- iasc with rules/default ----------------------------------------------------
setup_db iasc default
CLOSED=closed
register_noor; expect_rc 0 "iasc: register"
stage_is initial_assessment "registered"
at 2026-11-29T10:00:00Z comprehensive_assessment "initial assessment" \
    assess "$REF" kind=initial safety=ok
# shellcheck disable=SC2086
at 2026-12-05T10:00:00Z case_planning "comprehensive assessment" assess "$REF" $BIA \
    strengths.1=school
# shellcheck disable=SC2086
at 2026-12-06T10:00:00Z case_planning "plan submitted" plan "$REF" \
    $(plan_args 2027-06-01 2026-12-20 2027-01-10)
at 2026-12-07T10:00:00Z implementation "plan approved" --as sara approve "$REF"
refuse 65 "no evaluation" "iasc has no evaluation stage" \
    --now 2026-12-08T10:00:00Z evaluate "$REF" outcome=achieved
at 2026-12-15T10:00:00Z implementation "action 1 done" act "$REF" action=1 status=done
at 2026-12-20T10:00:00Z follow_up_review "follow-up" followup "$REF" method=home_visit_scheduled safety=ok
at 2027-01-03T10:00:00Z follow_up_review "follow-up" followup "$REF" method=meeting safety=ok
at 2027-01-10T10:00:00Z follow_up_review "action 2 done" act "$REF" action=2 status=done
at 2027-01-17T10:00:00Z follow_up_review "follow-up" followup "$REF" method=phone_call safety=ok
at 2027-01-24T10:00:00Z follow_up_review "review" review "$REF" outcome=plan_closure
field_is '$.risk.level' low "risk low after the review"
at 2027-01-25T10:00:00Z closure "closure requested" close "$REF" reason=goals_achieved \
    discussed_with=child,caregiver
at 2027-01-26T10:00:00Z closed "closure approved" --as sara approve "$REF"
final_checks 2027-01-26T10:00:00Z 2027-04-26T10:00:00Z 2027-04-27T10:00:00Z

# ---- trafficking with rules/trafficking ------------------------------------------
setup_db trafficking trafficking
CLOSED=closed
run --now "$T0" register child.name=Lina child.age=15 child.sex=female source=police \
    location=Border_town concerns=trafficking,unaccompanied consent.registration=guardian \
    form.safe_place=true form.trafficker_contact=false
expect_rc 0 "trafficking: register"
stage_is initial_assessment "registered"
[ "$(sql "SELECT urgency FROM cases")" = immediate ] && pass || failt "trafficking: immediate"
[ "$(sql "SELECT due_at - created_at FROM tasks WHERE kind='initial_assessment'")" = 86400 ] && pass || failt "trafficking: assessment within 24 hours"
[ "$(sql "SELECT due_at - created_at FROM tasks WHERE kind='comprehensive_assessment'")" = 604800 ] && pass || failt "trafficking: comprehensive assessment within 7 days (unaccompanied)"
at 2026-11-28T18:00:00Z comprehensive_assessment "urgent areas assessed" \
    assess "$REF" kind=initial safety=ok needs.1=safe_place
# shellcheck disable=SC2086
at 2026-12-03T10:00:00Z planning "problems, history, strengths assessed" assess "$REF" $BIA
# shellcheck disable=SC2086
at 2026-12-04T10:00:00Z planning "plan submitted" plan "$REF" \
    $(plan_args 2027-06-01 2026-12-20 2027-01-10)
refuse 77 "only a supervisor" "trafficking: a caseworker approving" \
    --now 2026-12-05T10:00:00Z approve "$REF"
at 2026-12-05T10:00:00Z implementation "plan approved" --as sara approve "$REF"
run --now 2026-12-05T10:00:00Z --json show "$REF"
[ "$(json_get "$OUT" '$.tasks[0].label')" != "" ] && pass || failt "trafficking: tasks after approval"
expect_out 'Follow-up \(meeting\)' "trafficking: meet an unaccompanied child (no family home)"
at 2026-12-15T10:00:00Z implementation "action 1 done" act "$REF" action=1 status=done
at 2026-12-20T10:00:00Z follow_up_monitoring "follow-up" followup "$REF" method=meeting safety=ok
at 2027-01-03T10:00:00Z follow_up_monitoring "follow-up" followup "$REF" method=meeting safety=ok
at 2027-01-10T10:00:00Z follow_up_monitoring "action 2 done" act "$REF" action=2 status=done
at 2027-01-12T10:00:00Z follow_up_monitoring "review" review "$REF" outcome=plan_closure
at 2027-01-17T10:00:00Z follow_up_monitoring "follow-up" followup "$REF" method=meeting safety=ok
# Safety that holds brings the risk of re-trafficking down (risk.lua's
# protective factors): a fourth safe follow-up and a safe re-assessment.
at 2027-01-18T10:00:00Z follow_up_monitoring "follow-up" followup "$REF" method=meeting safety=ok
at 2027-01-19T10:00:00Z follow_up_monitoring "a safe re-assessment" assess "$REF" kind=reassessment safety=ok
at 2027-01-20T10:00:00Z evaluation "evaluation" evaluate "$REF" outcome=achieved \
    indicators.1=safe_at_followups
field_is '$.evaluations[0].outcome' achieved "the evaluation recorded"
# "Following the evaluation, if the goals have been met and there are no new
# problems, the helping relationship is terminated." (seed 003)  The goals
# are met: an approved plan with every action done, a review, safe
# follow-ups, a safe place and no contact with traffickers.
run --now 2027-01-21T10:00:00Z close "$REF" reason=goals_achieved discussed_with=child,guardian
expect_rc 0 "trafficking: close a case whose goals are met (goals_achieved)"
if [ "$RC" -ne 0 ]; then
    # rules/trafficking/risk.lua keeps trafficking + unaccompanied at 19
    # points (high) for ever, so closure.lua's risk_not_low can never be
    # met; walk the rest of the workflow with a reason the pack can meet.
    echo "note: trafficking: goals_achieved refused: $(cat "$ERR")" >&2
    at 2027-01-24T10:00:00Z follow_up_monitoring "follow-up" followup "$REF" method=meeting safety=ok
    at 2027-01-25T10:00:00Z closure "closure requested (fallback)" close "$REF" reason=persistent_refusal
else
    stage_is closure "closure requested"
fi
at 2027-01-26T10:00:00Z closed "closure approved" --as sara approve "$REF"
final_checks 2027-01-26T10:00:00Z 2027-04-26T10:00:00Z 2027-04-27T10:00:00Z

# ---- survivor with rules/survivor --------------------------------------------------
setup_db survivor survivor
CLOSED=closed
run --now "$T0" register child.name=Dana child.age=13 child.sex=female source=health \
    location=Eastside concerns=sexual_abuse consent.registration=both \
    family.1.relationship=mother family.1.lives_with_child=yes \
    form.caregiver_supportive=true form.perpetrator_in_household=false
expect_rc 0 "survivor: register"
stage_is intake_assessment "registered"
[ "$(sql "SELECT urgency FROM cases")" = immediate ] && pass || failt "survivor: always immediate"
at 2026-11-28T20:00:00Z comprehensive_assessment "intake and immediate assessment" \
    assess "$REF" kind=initial safety=ok
# shellcheck disable=SC2086
at 2026-12-03T10:00:00Z case_action_planning "comprehensive assessment" assess "$REF" $BIA
# shellcheck disable=SC2086
at 2026-12-04T10:00:00Z case_action_planning "action plan submitted" plan "$REF" \
    $(plan_args 2027-06-01 2026-12-20 2027-01-10)
at 2026-12-05T10:00:00Z implement_action_plan "plan approved" --as sara approve "$REF"
at 2026-12-15T10:00:00Z implement_action_plan "action 1 done" act "$REF" action=1 status=done
at 2026-12-20T10:00:00Z follow_up_monitoring "follow-up" followup "$REF" method=home_visit_scheduled safety=ok
at 2027-01-03T10:00:00Z follow_up_monitoring "follow-up" followup "$REF" method=phone_call safety=ok
at 2027-01-10T10:00:00Z follow_up_monitoring "action 2 done" act "$REF" action=2 status=done
at 2027-01-12T10:00:00Z follow_up_monitoring "review" review "$REF" outcome=plan_closure
at 2027-01-17T10:00:00Z follow_up_monitoring "follow-up" followup "$REF" method=phone_call safety=ok
at 2027-01-18T10:00:00Z evaluation "evaluation" evaluate "$REF" outcome=achieved
refuse 65 "safety_reassessment" "survivor: closing without a recent safety re-assessment" \
    --now 2027-01-19T10:00:00Z close "$REF" reason=goals_achieved
at 2027-01-19T10:00:00Z evaluation "safety re-assessment" assess "$REF" kind=reassessment safety=ok
run --now 2027-01-20T10:00:00Z close "$REF" reason=goals_achieved discussed_with=child,caregiver
expect_rc 0 "survivor: close a case whose goals are met (goals_achieved)"
if [ "$RC" -ne 0 ]; then
    # rules/survivor/risk.lua keeps sexual_abuse at 14 - 2 (supportive
    # caregiver) = 12 points (high) for ever, so risk_not_low can never be
    # met; walk the rest with a reason the pack can meet.
    echo "note: survivor: goals_achieved refused: $(cat "$ERR")" >&2
    at 2027-01-20T10:00:00Z closure "closure requested (fallback)" close "$REF" reason=persistent_refusal
else
    stage_is closure "closure requested"
fi
at 2027-01-21T10:00:00Z closed "closure approved" --as sara approve "$REF"
final_checks 2027-01-21T10:00:00Z 2027-04-21T10:00:00Z 2027-04-22T10:00:00Z
finish
