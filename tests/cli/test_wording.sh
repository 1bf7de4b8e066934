#!/bin/sh
# Rule results are codes that the pack words in pack.yaml (issue 15, point 1),
# and that wording is what people read: `show` (text and --json) gives the
# latest registration, risk and follow-up decisions with each code's wording
# of the pack in force; a pack that words a code differently changes what
# `show` prints once it is reloaded; the report counts the risk factors of
# the open cases' current risk decisions, worded, in the caller's scope.
. "$(dirname "$0")/lib.sh"

init_db                                   # sara supervises amal and bilal; mona is a manager
register_noor; expect_rc 0 "register Noor"; REF=$(head -1 "$OUT")
# The initial assessment reports a safety concern: risk.lua's factors
# include latest_safety_concern and assessed_risks.
run --now 2026-11-29T15:00:00Z assess "$REF" kind=initial safety=concern \
    needs.1=psychosocial_support risks.1=emotional_neglect
expect_rc 0 "the initial assessment"
SAFETY_WORDS='The latest observation reported a safety concern'

# ---- show, text ---------------------------------------------------------------
run show "$REF"; expect_rc 0 "show"
expect_out '^Rule decisions' "show has a rule decisions section"
expect_out "^  Risk: +medium \\(score [0-9]+\\); factors: .*latest_safety_concern \\($SAFETY_WORDS\\)" \
    "the risk decision's factors with the default pack's wording"
expect_out 'school_decline \(Academic decline\)' "each factor worded"
expect_out '^  Registration: eligible, urgency normal; reasons: eligible_child_with_concerns \(A child with protection concerns' \
    "the registration reasons worded"
no_text 'Follow-up:' "$OUT" "no follow-up decision before a plan is approved"

# ---- show, JSON -----------------------------------------------------------------
run --json show "$REF"; expect_rc 0 "show --json"
[ "$(json_ok "$OUT")" = 1 ] && pass || failt "show --json is JSON"
factor_wording() { # FILE CODE: the wording of the factor CODE in the risk decision
    sqlite3 :memory: "SELECT json_extract(value, '\$.wording') FROM json_each(readfile('$1'),
        '\$.decisions.risk.factors') WHERE json_extract(value, '\$.code') = '$2'"
}
[ "$(factor_wording "$OUT" latest_safety_concern)" = "$SAFETY_WORDS" ] && pass ||
    failt "decisions.risk.factors: latest_safety_concern worded: '$(factor_wording "$OUT" latest_safety_concern)'"
[ "$(json_get "$OUT" '$.decisions.risk.level')" = medium ] && pass || failt "decisions.risk.level"
[ "$(json_get "$OUT" '$.decisions.risk.level')" = "$(json_get "$OUT" '$.risk.level')" ] && pass ||
    failt "the risk decision is the case's current risk"
[ -n "$(json_get "$OUT" '$.decisions.risk.score')" ] && pass || failt "decisions.risk.score"
[ "$(json_get "$OUT" '$.decisions.registration.reasons[0].code')" = eligible_child_with_concerns ] &&
    pass || failt "decisions.registration.reasons[0].code"
case "$(json_get "$OUT" '$.decisions.registration.reasons[0].wording')" in
"A child with protection concerns"*) pass ;;
*) failt "decisions.registration.reasons[0].wording" ;;
esac
[ "$(json_get "$OUT" '$.decisions.registration.pack')" = "default 1.1.0" ] && pass ||
    failt "the pack that decided"
[ "$(json_get "$OUT" '$.risk.level')" = medium ] && [ -n "$(json_get "$OUT" '$.child.name')" ] &&
    pass || failt "the case file's existing keys are unchanged"

# ---- the approved plan's follow-up decision ----------------------------------------
run --now 2026-12-08T10:00:00Z assess "$REF" kind=comprehensive safety=ok \
    elements.childs_views=a elements.family_relationships=b elements.safe_environment=c \
    elements.development_identity=d elements.strengths_resources=e \
    needs.1=psychosocial_support strengths.1=mother_present
expect_rc 0 "the comprehensive assessment re-scores the risk"
run --now 2026-12-09T10:00:00Z plan "$REF" goal="Within six months Noor's well-being improves" \
    indicators.1="fewer symptoms of anxiety" target_date=2027-06-09 addresses.1=psychosocial_support \
    actions.1.title="Psychosocial support" actions.1.responsible=caseworker \
    actions.1.type=direct_support actions.1.due=2027-01-09
expect_rc 0 "the plan"
run --as sara --now 2026-12-09T11:00:00Z approve "$REF" note=agreed; expect_rc 0 "sara approves"
run show "$REF"; expect_rc 0 "show after approval"
expect_out '^  Follow-up: +every 14 days \(2 weeks\), phone_call \(Phone call\); reasons: risk_low \(' \
    "the follow-up decision: frequency, method and reasons worded"
expect_out '^  Risk: +low ' "the latest risk decision replaces the first"
no_text "latest_safety_concern ($SAFETY_WORDS)" "$OUT" "the first risk decision's factors are not current"
run --json show "$REF"
[ "$(json_get "$OUT" '$.decisions.followup.method.wording')" = "Phone call" ] && pass ||
    failt "decisions.followup.method worded"
[ "$(json_get "$OUT" '$.decisions.followup.every')" = 1209600 ] && pass || failt "decisions.followup.every"

# ---- a second child, bilal's: neglect, a safety concern -----------------------------
run --as bilal --now "$T0" register child.name=Lina child.age=7 child.sex=female \
    location=Eastside source=health concerns=neglect consent.registration=caregiver
expect_rc 0 "bilal registers Lina"; REF_B=$(head -1 "$OUT")
run --as bilal --now 2026-11-29T15:00:00Z assess "$REF_B" kind=initial safety=concern \
    needs.1=food
expect_rc 0 "Lina's initial assessment"

# ---- the report: risk factors across the caseload ------------------------------------
factor_count() { # FILE CODE: open cases counted for the factor CODE
    sqlite3 :memory: "SELECT json_extract(value, '\$.open_cases') FROM json_each(readfile('$1'),
        '\$.risk_factors') WHERE json_extract(value, '\$.code') = '$2'"
}
run --as mona --now 2026-12-10T09:00:00Z --json report; expect_rc 0 "the manager's report"
[ "$(factor_count "$OUT" neglect)" = 1 ] && pass || failt "mona: neglect in 1 open case"
[ "$(factor_count "$OUT" emotional_distress)" = 1 ] && pass || failt "mona: emotional_distress in 1 open case"
[ "$(factor_count "$OUT" latest_safety_concern)" = 1 ] && pass ||
    failt "mona: latest_safety_concern only in Lina's current decision: '$(factor_count "$OUT" latest_safety_concern)'"
no_text "$REF" "$OUT" "the manager's report names no case"
no_text "Noor" "$OUT" "the manager's report names no child"
run --as amal --now 2026-12-10T09:00:00Z --json report; expect_rc 0 "amal's report"
[ "$(factor_count "$OUT" emotional_distress)" = 1 ] && pass || failt "amal: her case counted"
[ -z "$(factor_count "$OUT" neglect)" ] && pass || failt "amal's report counts bilal's case"
run --as mona --now 2026-12-10T09:00:00Z report; expect_rc 0 "the report as text"
expect_out '^Risk factors across the caseload' "the report has the factor table"
expect_out "^  latest_safety_concern +1  $SAFETY_WORDS\$" "a factor, its count and wording"
expect_out '^  neglect +1  Neglect$' "neglect counted and worded"
run --as mona --now 2026-12-10T09:00:00Z report --html "$WORK/report.html"; expect_rc 0 "the report as HTML"
OUT="$WORK/report.html"
expect_out '<h2>Risk factors across the caseload</h2>' "the HTML page has the factor table"
expect_out "<td>latest_safety_concern</td><td[^>]*>$SAFETY_WORDS</td><td>1</td>" "an HTML row"

# ---- a pack that words a code differently -----------------------------------------------
cp -r "$SRC/rules/default" reworded
sed -i 's/^version: .*/version: "1.1.0-reworded"/' reworded/pack.yaml
sed -i 's/^  latest_safety_concern: .*/  latest_safety_concern: "Reworded: danger seen on the last visit"/' \
    reworded/pack.yaml
sed -i 's/^  neglect: .*/  neglect: "Reworded neglect"/' reworded/pack.yaml
grep -q 'Reworded: danger' reworded/pack.yaml && pass || failt "the test pack is reworded"
run --as admin rules reload reworded; expect_rc 0 "rules reload the reworded pack"
run --as bilal show "$REF_B"; expect_rc 0 "show Lina after the reload"
expect_out 'latest_safety_concern \(Reworded: danger seen on the last visit\)' \
    "show words the factor as the pack in force does"
expect_out 'neglect \(Reworded neglect\)' "every code worded by the new pack"
no_text "$SAFETY_WORDS" "$OUT" "the old wording is gone"
run --as bilal --json show "$REF_B"
[ "$(factor_wording "$OUT" latest_safety_concern)" = "Reworded: danger seen on the last visit" ] &&
    pass || failt "show --json words the factor as the pack in force does"
[ "$(json_get "$OUT" '$.decisions.risk.pack')" = "default 1.1.0" ] && pass ||
    failt "the decision still names the pack that made it"
run --as mona --now 2026-12-10T09:00:00Z report; expect_rc 0 "the report after the reload"
expect_out '^  latest_safety_concern +1  Reworded: danger seen on the last visit$' \
    "the report words the factor as the pack in force does"
finish
