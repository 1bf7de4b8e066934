#!/bin/sh
# Issue 19 point 4, last clause: "let assessments record what changed".
# Seed 004 puts "Re-assessment of safety and risk" in the plan's
# implementation and names the influencing factors "Perpetrator ... Family
# dynamics ... Context & resources available": a reassessment records
# which of them changed, as codes of the workflow's assessment_changes
# lookup, stored with the assessment, in its event and shown in the case
# file (the rules' view gets the codes: tests/test_rulesdiff.c).
. "$(dirname "$0")/lib.sh"

is() { [ "$1" = "$2" ] && pass || failt "$3: got '$1', want '$2'"; }

for wf in iasc survivor trafficking; do
    export HAVEN_DB="$WORK/$wf.db"
    run --as admin --now "$T0" init --simulated --agency CP --workflow "$SRC/workflows/$wf.yaml" \
        --rules "$SRC/rules/default"
    expect_rc 0 "init $wf"
    add_users
    register_noor
    expect_rc 0 "$wf: register"
    N=CP-2026-00001
    run --now 2026-11-29T10:00:00Z assess $N kind=initial safety=concern
    expect_rc 0 "$wf: initial assessment"

    # An unknown code is refused, naming the item and the known codes.
    before=$(fingerprint)
    run --now 2026-11-30T10:00:00Z assess $N kind=reassessment safety=ok \
        changes=perpetrator_left_household,aunt_visited
    expect_rc 65 "$wf: a code not in assessment_changes"
    expect_err "changes\.2: unknown code 'aunt_visited' \(one of: perpetrator_left_household, " \
        "$wf: the refusal names the code and lists the lookup"
    [ "$(fingerprint)" = "$before" ] && pass || failt "$wf: a refused reassessment changed the database"

    # "Re-assessment of safety and risk" (seed 004): the perpetrator has
    # left the household ("Perpetrator ... Family dynamics").
    run --now 2026-11-30T10:00:00Z assess $N kind=reassessment safety=ok \
        "changes=perpetrator_left_household, caregiver_changed,income_lost"
    expect_rc 0 "$wf: a reassessment records what changed"
    is "$(sql "SELECT json_extract(data, '\$.changes') FROM events WHERE kind = 'assessed' ORDER BY seq DESC LIMIT 1")" \
        '["perpetrator_left_household","caregiver_changed","income_lost"]' \
        "$wf: the event holds the codes"
    is "$(sql "SELECT count(*) FROM events WHERE kind = 'assessed' AND json_extract(data, '\$.changes') IS NOT NULL")" 1 \
        "$wf: an assessment without changes records none"
    run --now 2026-11-30T11:00:00Z --json show $N
    expect_rc 0 "$wf: case file"
    is "$(json_get "$OUT" '$.assessments[1].detail.changes')" \
        '["perpetrator_left_household","caregiver_changed","income_lost"]' \
        "$wf: stored with the assessment (case file JSON)"
    run --now 2026-11-30T11:00:00Z show $N
    expect_out "changed since the last assessment: perpetrator_left_household; caregiver_changed; income_lost" \
        "$wf: the case file shows what changed"
    # the codes are sealed with the rest of the assessment
    is "$(sql "SELECT count(*) FROM assessments WHERE CAST(data AS TEXT) LIKE '%perpetrator%'")" 0 \
        "$wf: sealed in the assessment row"
    "$HAVEN" audit verify >/dev/null 2>&1 && pass || failt "$wf: audit verify"
done

# A workflow may declare its own codes: the lookup is what the engine takes.
sed 's/    - perpetrator_left_household/    - perpetrator_arrested/' \
    "$SRC/workflows/iasc.yaml" >"$WORK/own.yaml"
export HAVEN_DB="$WORK/own.db"
run --as admin --now "$T0" init --simulated --agency CP --workflow "$WORK/own.yaml" \
    --rules "$SRC/rules/default"
expect_rc 0 "init with its own assessment_changes"
add_users
register_noor; N=CP-2026-00001
run --now 2026-11-29T10:00:00Z assess $N kind=initial safety=concern
run --now 2026-11-30T10:00:00Z assess $N kind=reassessment changes=perpetrator_left_household
expect_rc 65 "a code the workflow does not declare"
run --now 2026-11-30T10:00:00Z assess $N kind=reassessment changes=perpetrator_arrested
expect_rc 0 "the workflow's own code"
finish
