#!/bin/sh
# A manager's agency report (issue 21) counts its case figures in one pass
# over the cases and each milestone's rows, in C (engine/report_cases.c);
# the same report narrowed with --caseworker runs the report's SQL queries.
# With every case amal's, both must give the same figures to the byte
# (open cases by stage, risk and urgency, risk factors, tasks, follow-up
# compliance, time to each milestone, closure reasons, the months), for the
# whole history and for periods that cut it (--since, --until), including
# closures and registrations in several months, a transfer, a reopening.
. "$(dirname "$0")/lib.sh"
init_db

reg() { # reg TIME NAME AGE CONCERNS: amal registers a child, sets REF
    run --as amal --now "$1" register child.name="$2" child.age="$3" child.sex=female \
        location=Riverside source=school concerns="$4" consent.registration=caregiver
    expect_rc 0 "register $2"; REF=$(head -1 "$OUT" | cut -d' ' -f1)
}
walk() { # walk REF DAY: initial assessment, BIA, plan, approval (December DAY on)
    run --as amal --now "2026-12-${2}T09:00:00Z" assess "$1" kind=initial safety=ok
    expect_rc 0 "initial assessment of $1"
    run --as amal --now "2026-12-${2}T10:00:00Z" assess "$1" kind=comprehensive safety=ok \
        elements.childs_views=a elements.family_relationships=b \
        elements.safe_environment=c elements.development_identity=d \
        elements.strengths_resources=e needs.1=psychosocial_support
    expect_rc 0 "BIA of $1"
    run --as amal --now "2026-12-${2}T11:00:00Z" plan "$1" \
        goal="Within six months she is safe and back at school" \
        indicators.1=attendance target_date=2027-06-01 addresses.1=school \
        actions.1.title=Visit actions.1.responsible=caseworker \
        actions.1.type=direct_support actions.1.due=2027-01-01
    expect_rc 0 "plan of $1"
    run --as sara --now "2026-12-${2}T12:00:00Z" approve "$1"
    expect_rc 0 "approval of $1"
}

reg 2026-11-28T09:00:00Z Noor 3 neglect; A=$REF
reg 2026-11-29T09:00:00Z Lina 9 child_labour; B=$REF
reg 2026-11-30T09:00:00Z Sami 10 emotional_distress; C=$REF
reg 2026-12-02T09:00:00Z Huda 15 child_labour,school_decline; D=$REF
reg 2026-12-20T09:00:00Z Rami 7 neglect; E=$REF
reg 2027-01-05T09:00:00Z Dana 11 emotional_distress; F=$REF
walk "$A" 03; walk "$B" 05; walk "$D" 10
run --as amal --now 2026-12-06T09:00:00Z assess "$C" kind=initial safety=urgent; expect_rc 0 "assess C"
run --as amal --now 2027-01-06T09:00:00Z assess "$F" kind=initial safety=concern; expect_rc 0 "assess F"
run --as amal --now 2026-12-12T09:00:00Z followup "$A" method=meeting safety=ok; expect_rc 0 "follow-up A"
run --as amal --now 2026-12-21T09:00:00Z close "$B" reason=death; expect_rc 0 "close B"
run --as sara --now 2026-12-21T10:00:00Z approve "$B"; expect_rc 0 "approve B's closure"
run --as sara --now 2027-01-08T10:00:00Z transfer "$C" agency="Hill unit" \
    override="ZZOVERRIDE the child is in danger here"; expect_rc 0 "transfer C"
run --as mona --now 2027-01-08T11:00:00Z approve "$C"; expect_rc 0 "approve C's transfer"
run --as amal --now 2027-01-09T10:00:00Z close "$E" reason=death; expect_rc 0 "close E"
run --as sara --now 2027-01-09T11:00:00Z approve "$E"; expect_rc 0 "approve E's closure"
run --as sara --now 2027-01-20T10:00:00Z reopen "$B" reason=back_in_area; expect_rc 0 "reopen B"
[ "$(sql "SELECT count(DISTINCT assignee_id) FROM cases")" = 1 ] && pass ||
    failt "every case is amal's"

# same NOW ARGS...: mona's agency report (the pass) and the same narrowed to
# amal (the queries) give the same figures (all but the narrowing's own
# member)
same() {
    now=$1; shift
    run --as mona --now "$now" --json report "$@"; expect_rc 0 "agency report $*"
    cp "$OUT" agency.json
    run --as mona --now "$now" --json report --caseworker amal "$@"; expect_rc 0 "amal's report $*"
    cp "$OUT" amal.json
    strip() { command sqlite3 :memory: "SELECT json_remove(readfile('$1'), '\$.caseworker')"; }
    [ "$(strip agency.json)" = "$(strip amal.json)" ] && pass ||
        failt "the pass and the queries differ ($*): $(diff agency.json amal.json | head -20)"
}
same 2027-01-25T09:00:00Z
same 2027-01-25T09:00:00Z --since 2026-12-01
same 2027-01-25T09:00:00Z --until 2027-01-01
same 2027-01-25T09:00:00Z --since 2026-12-05 --until 2027-01-09T10:30:00Z
same 2027-03-01T09:00:00Z --since 2027-01-01
same 2027-01-25T09:00:00Z --since 2027-01-09
# the figures are not empty: something was compared
run --as mona --now 2027-01-25T09:00:00Z --json report; cp "$OUT" r.json
[ "$(json_get r.json '$.time_to.approved_plan.cases')" = 3 ] && pass || failt "3 approved plans"
[ "$(json_get r.json '$.time_to.closure.cases')" = 2 ] && pass || failt "2 closures (B reopened)"
[ "$(json_get r.json '$.per_month[1].month')" = 2026-12 ] && pass || failt "a month series"
[ "$(json_get r.json '$.risk_factors[0].open_cases')" -ge 1 ] && pass || failt "risk factors"

echo "passed $PASSED, failed $FAILED"
[ "$FAILED" -eq 0 ]
