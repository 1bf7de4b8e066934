#!/bin/sh
# `haven report`: a small known caseload built with the command line on
# fixed dates (two caseworkers of sara's team, one of tariq's), then the
# report's exact figures in --json for each scope, --caseworker, --since and
# --until, bad input, the text tables, the HTML page (self-contained, each
# chart's title, a headless Chromium screenshot that is not blank), and that
# a report changes nothing in the database.
. "$(dirname "$0")/lib.sh"

NOW=2027-01-25T09:00:00Z

init_db
for u in "tariq --role supervisor" "omar --role caseworker --supervisor tariq" \
         "tina --role trainer"; do
    # shellcheck disable=SC2086
    run --as admin user add $u
    expect_rc 0 "user add $u"
done

# reg LOGIN WHEN NAME PLACE: registers a child; prints the reference.
reg() {
    run --as "$1" --now "$2" register child.name="$3" child.age=12 child.sex=female \
        source=school concerns=emotional_distress consent.registration=caregiver \
        location="$4"
    expect_rc 0 "register $3"
    cat "$OUT"
}
# st LOGIN WHEN STEP REF ARGS...: a lifecycle step that must succeed.
st() {
    who=$1 when=$2
    shift 2
    run --as "$who" --now "$when" "$@"
    expect_rc 0 "$who $*"
}
BIA="kind=comprehensive safety=ok elements.childs_views=a elements.family_relationships=b
elements.safe_environment=c elements.development_identity=d elements.strengths_resources=e"

# ---- the caseload ------------------------------------------------------------
# A1 (amal): assessed after 1 day, plan approved after 5 days, follow-ups due
# 17 Dec (done 16 Dec: on time), 30 Dec (done 2 Jan: late), 16 Jan (done
# 20 Jan: late); closed no_longer_at_risk on 21 Jan, 54 days after
# registration; its final follow-up is due on 21 April.
A1=$(reg amal 2026-11-28T09:00:00Z Noor Riverside)
st amal 2026-11-29T09:00:00Z assess "$A1" kind=initial safety=ok
# shellcheck disable=SC2086
st amal 2026-12-01T09:00:00Z assess "$A1" $BIA
st amal 2026-12-02T09:00:00Z plan "$A1" goal="Within 3 months Noor is well" \
    indicators.1=mood target_date=2027-03-01 addresses.1=psychosocial_support \
    actions.1.title=PSS actions.1.responsible=caseworker \
    actions.1.type=direct_support actions.1.due=2027-01-01
st sara 2026-12-03T09:00:00Z approve "$A1"
st amal 2026-12-16T09:00:00Z followup "$A1" method=phone_call safety=ok
st amal 2027-01-02T09:00:00Z followup "$A1" method=phone_call safety=ok
st amal 2027-01-02T10:00:00Z act "$A1" action=1 status=done
st amal 2027-01-20T09:00:00Z followup "$A1" method=phone_call safety=ok
# "The decision to close should be planned and discussed with the child and
# family" (seed 001): a review plans it first.
st amal 2027-01-20T09:30:00Z review "$A1" outcome=plan_closure
st amal 2027-01-20T10:00:00Z close "$A1" reason=no_longer_at_risk discussed_with=child,caregiver
st sara 2027-01-21T09:00:00Z approve "$A1"
# A2 (amal): assessed after 3 days; the BIA (due 15 Dec) is overdue.
A2=$(reg amal 2026-12-01T09:00:00Z Layla Hillside)
st amal 2026-12-04T09:00:00Z assess "$A2" kind=initial safety=ok
# A3 (amal): nothing done; both assessments overdue.
A3=$(reg amal 2026-12-10T09:00:00Z Huda Seaview)
# B1 (bilal): assessed after 1.5 days, closed moved_out_of_area after 3 days.
B1=$(reg bilal 2026-12-05T09:00:00Z Rami Harbour)
st bilal 2026-12-06T21:00:00Z assess "$B1" kind=initial safety=ok
st bilal 2026-12-07T09:00:00Z close "$B1" reason=moved_out_of_area
st sara 2026-12-08T09:00:00Z approve "$B1"
# O1 (omar, tariq's team): nothing done.
O1=$(reg omar 2026-12-20T09:00:00Z Karim Eastgate)
# B3 (bilal): plan approved after 7 days; the follow-up due 18 Jan not done.
B3=$(reg bilal 2026-12-28T09:00:00Z Rana Northfield)
st bilal 2026-12-29T09:00:00Z assess "$B3" kind=initial safety=ok
# shellcheck disable=SC2086
st bilal 2026-12-30T09:00:00Z assess "$B3" $BIA
st bilal 2026-12-31T09:00:00Z plan "$B3" goal="Within 3 months Rana attends school" \
    indicators.1=attendance target_date=2027-04-01 addresses.1=schooling \
    actions.1.title=visits actions.1.responsible=caseworker \
    actions.1.type=direct_support actions.1.due=2027-03-01
st sara 2027-01-04T09:00:00Z approve "$B3"
# B2 (bilal): assessed after 1 day; closure requested, waiting for sara
# (her approval task was due 9 January).
B2=$(reg bilal 2027-01-05T09:00:00Z Sami Westbank)
st bilal 2027-01-06T09:00:00Z assess "$B2" kind=initial safety=ok
st bilal 2027-01-07T09:00:00Z close "$B2" reason=moved_out_of_area
# C1 (amal): registered the day before; the initial assessment is due this week.
C1=$(reg amal 2027-01-24T09:00:00Z Dina Southport)
[ -n "$O1$A3$C1" ] && pass || failt "references"

NAMES="Noor Layla Huda Rami Karim Rana Sami Dina Riverside Hillside Seaview Harbour Eastgate Northfield Westbank Southport"
no_names() { # FILE WHAT: no child's name or location in FILE
    for n in $NAMES; do no_text "$n" "$1" "$2: $n"; done
}
# is PATH WANT WHAT: a value of the last JSON output.
is() {
    got=$(json_get "$OUT" "$1")
    [ "$got" = "$2" ] && pass || failt "$3: $1 is '$got', want '$2'"
}
report() { # LOGIN ARGS...: haven --json report at NOW as LOGIN, must succeed
    who=$1
    shift
    run --as "$who" --now "$NOW" --json report "$@"
    expect_rc 0 "report as $who $*"
    [ "$(json_ok "$OUT")" = 1 ] && pass || failt "report as $who: not JSON"
}

before=$(fingerprint)

# ---- the manager: the whole agency, aggregates only -----------------------------
report mona
# --json is indented like every --json answer (the engine's one-line text is
# re-indented by the command), with the keys in the report's own order
[ "$(sed -n '1p;2p' "$OUT" | tr -d '\n')" = '{  "report": "caseload",' ] &&
    [ "$(wc -l <"$OUT")" -gt 50 ] && pass || failt "report --json indented"
is '$.scope' agency "manager's scope"
is '$.role' manager "role"
is '$.generated_at' "$NOW" "made at"
is '$.open_cases.total' 6 "open cases"
is '$.open_cases.by_stage[0].stage' initial_assessment "stages in workflow order"
is '$.open_cases.by_stage[0].count' 3 "open at the initial assessment (A3, O1, C1)"
is '$.open_cases.by_stage[1].stage' comprehensive_assessment "second stage"
is '$.open_cases.by_stage[1].count' 1 "open at the BIA (A2)"
is '$.open_cases.by_stage[2].stage' implementation "third stage"
is '$.open_cases.by_stage[2].count' 1 "open in implementation (B3)"
is '$.open_cases.by_stage[3].stage' closure "fourth stage"
is '$.open_cases.by_stage[3].count' 1 "waiting for closure (B2)"
is "\$.open_cases.by_stage[4]" "" "no other stage listed"
is '$.open_cases.by_risk.low' 3 "risk low (assessed cases)"
is '$.open_cases.by_risk.unscored' 3 "risk not scored yet"
is '$.open_cases.by_risk.high' 0 "no high risk"
is '$.open_cases.by_urgency.normal' 6 "normal urgency"
is '$.tasks.overdue.total' 8 "overdue tasks"
is '$.tasks.overdue.by_kind.comprehensive_assessment' 4 "overdue BIAs (A2, A3, O1, B2)"
is '$.tasks.overdue.by_kind.initial_assessment' 2 "overdue initial assessments (A3, O1)"
is '$.tasks.overdue.by_kind.approval' 1 "overdue approval (B2's closure)"
is '$.tasks.overdue.by_kind.followup' 1 "overdue follow-up (B3)"
is '$.tasks.overdue.by_caseworker[0].caseworker' amal "first caseworker"
is '$.tasks.overdue.by_caseworker[0].total' 3 "amal's overdue"
is '$.tasks.overdue.by_caseworker[0].by_kind.comprehensive_assessment' 2 "amal's overdue BIAs"
is '$.tasks.overdue.by_caseworker[1].caseworker' bilal "second caseworker"
is '$.tasks.overdue.by_caseworker[1].total' 2 "bilal's overdue"
is '$.tasks.overdue.by_caseworker[1].by_kind.followup' 1 "bilal's overdue follow-up"
is '$.tasks.overdue.by_caseworker[2].caseworker' omar "third"
is '$.tasks.overdue.by_caseworker[2].total' 2 "omar's overdue"
is '$.tasks.overdue.by_caseworker[3].caseworker' sara "the approver"
is '$.tasks.overdue.by_caseworker[3].by_kind.approval' 1 "sara's overdue approval"
is '$.tasks.due_this_week.total' 1 "due this week"
is '$.tasks.due_this_week.by_kind.initial_assessment' 1 "C1's initial assessment this week"
is '$.tasks.due_this_week.by_caseworker[0].caseworker' amal "due this week: amal"
is '$.approvals_pending.total' 1 "approvals pending"
is '$.approvals_pending.by_subject.closure' 1 "a closure waits"
is '$.approvals_pending.by_subject.plan' 0 "no plan waits"
is '$.approvals_pending.oldest_waiting_days' 18.0 "waiting since 7 January"
# Follow-ups due 17 Dec (on time), 30 Dec (late), 16 Jan (late) on A1 and
# 18 Jan (not done) on B3; the 3 Feb one was cancelled at closure.
is '$.followup_compliance.last_30_days.due' 3 "follow-ups due in 30 days"
is '$.followup_compliance.last_30_days.on_time' 0 "on time in 30 days"
is '$.followup_compliance.last_30_days.late' 2 "late in 30 days"
is '$.followup_compliance.last_30_days.not_done' 1 "not done in 30 days"
is '$.followup_compliance.last_30_days.ratio' 0.0 "compliance over 30 days"
is '$.followup_compliance.last_90_days.due' 4 "follow-ups due in 90 days"
is '$.followup_compliance.last_90_days.on_time' 1 "on time in 90 days"
is '$.followup_compliance.last_90_days.ratio' 0.25 "compliance over 90 days"
# Initial assessments after 1, 3, 1.5, 1, 1 days: median (rank 3 of 5) 1,
# 90th percentile (rank 5) 3; plans approved after 5 and 7 days: median
# (rank 1 of 2) 5, 90th (rank 2) 7; closures after 3 and 54 days.
is '$.time_to.initial_assessment.cases' 5 "initial assessments"
is '$.time_to.initial_assessment.median_days' 1.0 "median days to the initial assessment"
is '$.time_to.initial_assessment.p90_days' 3.0 "p90 days to the initial assessment"
is '$.time_to.approved_plan.cases' 2 "approved plans"
is '$.time_to.approved_plan.median_days' 5.0 "median days to an approved plan"
is '$.time_to.approved_plan.p90_days' 7.0 "p90 days to an approved plan"
is '$.time_to.closure.cases' 2 "closures"
is '$.time_to.closure.median_days' 3.0 "median days to closure"
is '$.time_to.closure.p90_days' 54.0 "p90 days to closure"
is '$.closure_reasons[0].reason' moved_out_of_area "closure reasons (ties by name)"
is '$.closure_reasons[0].count' 1 "moved out"
is '$.closure_reasons[1].reason' no_longer_at_risk "second reason"
is '$.per_month[0].month' 2026-11 "first month"
is '$.per_month[0].registered' 1 "registered in November"
is '$.per_month[0].closed' 0 "closed in November"
is '$.per_month[1].registered' 5 "registered in December"
is '$.per_month[1].closed' 1 "closed in December"
is '$.per_month[2].month' 2027-01 "January"
is '$.per_month[2].registered' 2 "registered in January"
is '$.per_month[2].closed' 1 "closed in January"
is "\$.per_month[3]" "" "no later month"
no_names "$OUT" "manager's report"

# ---- a supervisor: the team ----------------------------------------------------------
report sara
is '$.scope' team "supervisor's scope"
is '$.open_cases.total' 5 "the team's open cases (not omar's)"
is '$.tasks.overdue.total' 6 "the team's overdue tasks"
is '$.tasks.overdue.by_caseworker[2].caseworker' sara "sara's approval in her team's report"
is "\$.tasks.overdue.by_caseworker[3]" "" "omar is not in sara's report"
is '$.per_month[1].registered' 4 "the team's December registrations"
no_names "$OUT" "supervisor's report"
report tariq
is '$.open_cases.total' 1 "tariq's team: omar's case"
is '$.tasks.overdue.total' 2 "omar's overdue tasks"
is '$.time_to.closure.cases' 0 "no closures in tariq's team"
is '$.time_to.closure.median_days' "" "no median without cases"

# ---- a caseworker: their own cases ---------------------------------------------------
report amal
is '$.scope' own "caseworker's scope"
is '$.open_cases.total' 3 "amal's open cases (A2, A3, C1)"
is '$.tasks.overdue.total' 3 "amal's overdue"
is "\$.tasks.overdue.by_caseworker[1]" "" "only amal"
is '$.time_to.approved_plan.cases' 1 "amal's approved plan (A1)"
is '$.followup_compliance.last_90_days.ratio' 0.333 "amal's compliance: 1 of 3"
is '$.per_month[2].registered' 1 "amal's January registration (C1)"
is '$.per_month[2].closed' 1 "amal's January closure (A1)"
no_names "$OUT" "caseworker's report"

# ---- --caseworker narrows within the scope ---------------------------------------------
report sara --caseworker bilal
is '$.caseworker' bilal "narrowed to bilal"
is '$.open_cases.total' 2 "bilal's open cases (B2, B3)"
is '$.tasks.overdue.by_caseworker[0].caseworker' bilal "bilal's tasks"
is '$.tasks.overdue.by_caseworker[1].caseworker' sara "and sara's approval on bilal's case"
report mona --caseworker omar
is '$.open_cases.total' 1 "a manager narrows to anyone"
report amal --caseworker amal
is '$.open_cases.total' 3 "a caseworker may name themselves"
run --as amal --now "$NOW" report --caseworker bilal
expect_rc 77 "a caseworker asking for another's cases"
expect_err 'report: --caseworker bilal: outside your scope' "refusal names the scope"
run --as sara --now "$NOW" report --caseworker omar
expect_rc 77 "a supervisor asking for another team's caseworker"
expect_err 'outside your scope' "refusal"
run --as mona --now "$NOW" report --caseworker nobody
expect_rc 69 "an unknown caseworker"
expect_err 'no such user' "unknown caseworker message"

# ---- roles that see no report --------------------------------------------------------
run --as admin --now "$NOW" report
expect_rc 77 "an administrator gets no caseload report"
expect_err 'administrator sees no caseload reports' "administrator refusal"
run --as tina --now "$NOW" report
expect_rc 77 "a trainer gets no caseload report"
expect_err 'trainer sees no caseload reports' "trainer refusal"

# ---- --since/--until: December 2026 ----------------------------------------------------
report mona --since 2026-12-01 --until 2027-01-01
is '$.since' 2026-12-01T00:00:00Z "since"
is '$.until' 2027-01-01T00:00:00Z "until"
is '$.open_cases.total' 6 "open cases are as they stand now"
is '$.per_month[0].month' 2026-12 "only December"
is '$.per_month[0].registered' 5 "December registrations"
is "\$.per_month[1]" "" "nothing after December"
is '$.closure_reasons[0].reason' moved_out_of_area "December's closure"
is "\$.closure_reasons[1]" "" "January's closure left out"
is '$.time_to.closure.cases' 1 "closures in December"
is '$.time_to.closure.median_days' 3.0 "December's closure took 3 days"
# Initial assessments done in December: A2 (3 d), B1 (1.5 d), B3 (1 d).
is '$.time_to.initial_assessment.cases' 3 "initial assessments in December"
is '$.time_to.initial_assessment.median_days' 1.5 "median of 1, 1.5, 3"
is '$.time_to.initial_assessment.p90_days' 3.0 "p90 of 1, 1.5, 3"
is '$.time_to.approved_plan.p90_days' 5.0 "the plan approved in December"
is '$.followup_compliance.period.due' 2 "follow-ups due in December"
is '$.followup_compliance.period.ratio' 0.5 "December's compliance"
is '$.followup_compliance.last_30_days.due' 3 "the 30-day window is not the period"
report mona --since 2027-01-10
is '$.per_month[0].month' 2027-01 "since 10 January"
is '$.per_month[0].registered' 1 "C1 only"

# ---- bad input ---------------------------------------------------------------------------
run --as mona --now "$NOW" report --since 2026-13-45
expect_rc 64 "a bad date"
expect_err 'report: --since and --until take an ISO 8601' "bad date message"
run --as mona --now "$NOW" report --until
expect_rc 64 "an option without its value"
expect_err 'report: option needs a value' "missing value message"
run --as mona --now "$NOW" report --colour
expect_rc 64 "an unknown option"
expect_err 'report: unknown option --colour' "unknown option message"
run --as mona --now "$NOW" report --since 2027-01-01 --until 2026-12-01
expect_rc 65 "--since after --until"
expect_err 'since must be before --until' "since after until message"

# ---- the text tables ------------------------------------------------------------------
run --as sara --now "$NOW" report
expect_rc 0 "text report"
expect_out '^Caseload report for the team of sara \(supervisor sara\), made 2027-01-25T09:00:00Z$' "text heading"
expect_out '^Open cases: 5$' "open cases heading"
expect_out '^  initial_assessment +2  Initial assessment$' "stage row"
expect_out '^Tasks overdue: 6$' "overdue heading"
expect_out '^  bilal +2  comprehensive_assessment 1 followup 1$' "bilal's overdue row"
expect_out '^  last 90 days +4 +1 +2 +1 +25.0%$' "compliance row"
expect_out '^  closure +2 +3.0 +54.0$' "time to closure row"
expect_out '^  2026-12 +4 +1$' "December row"
no_names "$OUT" "text report"

# ---- the HTML page ---------------------------------------------------------------------
PAGE="$WORK/report.html"
run --as mona --now "$NOW" report --html "$PAGE"
expect_rc 0 "report --html"
expect_out "^caseload report written to $PAGE\$" "says where"
[ -s "$PAGE" ] && pass || failt "no page written"
[ "$(stat -c %a "$PAGE")" = 600 ] && pass || failt "page mode $(stat -c %a "$PAGE"), want 600"
[ -z "$(ls "$WORK" | grep 'report.html.tmp')" ] && pass || failt "a temporary file left behind"
for t in "Open cases by stage" "Open cases by risk level" "Open cases by urgency" \
         "Overdue tasks by kind" "Overdue tasks by caseworker" \
         "Tasks due in the next 7 days by kind" "Approvals pending" \
         "Follow-up compliance" "Days from registration to each milestone" \
         "Closure reasons" "Cases registered and closed per month"; do
    grep -q "<h2>$t</h2>" "$PAGE" && pass || failt "chart title '$t' missing"
done
n=$(grep -o '<svg viewBox' "$PAGE" | wc -l)
[ "$n" -ge 11 ] && pass || failt "$n inline SVG charts, want at least 11"
grep -q '<polyline' "$PAGE" && pass || failt "no monthly line"
grep -q '<meta name="viewport" content="width=device-width' "$PAGE" && pass || failt "no mobile viewport"
grep -q '@media print' "$PAGE" && pass || failt "no print style"
grep -q 'Made for mona (manager) at 2027-01-25T09:00:00Z' "$PAGE" && pass || failt "page does not say for whom and when"
for bad in '<script' 'http:' 'https:' 'src=' 'url(' '<link' '@import'; do
    no_text "$bad" "$PAGE" "self-contained page"
done
no_names "$PAGE" "HTML page"
# The stacked bar of overdue tasks holds one segment per kind, each titled.
grep -q '<title>all, followup: 1</title>' "$PAGE" && pass || failt "stacked segment for follow-ups"
run --as mona --now "$NOW" report --html "$WORK/no/such/dir/r.html"
expect_rc 73 "an HTML file that cannot be created"
expect_err 'cannot create' "cannot create message"

# ---- a screenshot of the page is not blank ----------------------------------------------
expect_screenshot "$PAGE" 1000

# ---- a report writes nothing ----------------------------------------------------------------
[ "$(fingerprint)" = "$before" ] && pass || failt "a report changed the database"

finish
