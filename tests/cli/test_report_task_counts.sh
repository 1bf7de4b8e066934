#!/bin/sh
# A manager's agency report (issue 21) takes its task figures (the open
# tasks overdue and due within the week by kind and caseworker, the
# follow-up compliance of the last 30 days, the last 90 days and the
# period) from the tasks counted per due day, kind, assignee and state
# (task_day_counts, schema 16), kept by triggers in the same transaction as
# every write of a task, and reads the tasks of only the days a window's
# edges cut.  After every step of a mixed history (registrations,
# assessments, follow-ups recorded, a closure, a transfer, a reopening,
# rules apply, an import, the clock past the due dates) the counters equal
# a plain-SQL recount from the tasks, and the agency report equals to the
# byte the same report narrowed to the one caseworker who holds every case
# (which counts with the report's SQL queries over the tasks and cases),
# for periods and times whose edges cut days; its totals equal plain-SQL
# counts.  A counter row removed, planted or changed fails
# `audit verify --deep` (exit 65).
. "$(dirname "$0")/lib.sh"
init_db

epoch() { date -u -d "$1" +%s; }
# kept_wrong DB: the counter rows that differ from a recount of the tasks
# (written here apart from the engine's: every time here is after 1970).
kept_wrong() {
    sqlite3 "$1" "WITH kept AS (SELECT due_day, kind, assignee, state, n FROM task_day_counts),
        re AS (SELECT due_at / 86400 AS d, kind AS k,
            CASE status WHEN 'open' THEN coalesce(assignee_id, 0) ELSE 0 END AS a,
            CASE WHEN status = 'open' THEN 0 WHEN done_at IS NULL THEN 3
                 WHEN done_at <= due_at THEN 1 ELSE 2 END AS s, count(*) AS n
            FROM tasks WHERE status = 'open'
               OR (status = 'done' AND kind IN ('followup', 'final_followup'))
            GROUP BY 1, 2, 3, 4)
        SELECT (SELECT count(*) FROM (SELECT * FROM kept EXCEPT SELECT * FROM re))
             + (SELECT count(*) FROM (SELECT * FROM re EXCEPT SELECT * FROM kept))"
}
# due_sql DB FROM TO: the open tasks due in [FROM, TO), by plain SQL.
due_sql() {
    sqlite3 "$1" "SELECT count(*) FROM tasks WHERE status = 'open' AND due_at >= $2 AND due_at < $3"
}
# comply_sql DB FROM TO: due, on time, late, not done of the follow-ups due in [FROM, TO).
comply_sql() {
    sqlite3 "$1" "SELECT count(*) || ' ' || coalesce(sum(status = 'done' AND done_at <= due_at), 0)
        || ' ' || coalesce(sum(status = 'done' AND done_at > due_at), 0) || ' '
        || coalesce(sum(status = 'open'), 0) FROM tasks
        WHERE kind IN ('followup', 'final_followup') AND status IN ('open', 'done')
          AND due_at >= $2 AND due_at < $3"
}
figures() { # FILE WINDOW: due, on time, late, not done of a window
    echo "$(json_get "$1" "\$.followup_compliance.$2.due") $(json_get "$1" "\$.followup_compliance.$2.on_time")" \
         "$(json_get "$1" "\$.followup_compliance.$2.late") $(json_get "$1" "\$.followup_compliance.$2.not_done")"
}
# plain DB NOW WHAT [SINCE UNTIL]: mona's report's totals equal plain SQL.
plain() {
    now=$(epoch "$2")
    if [ $# -gt 3 ]; then
        run --db "$1" --as mona --now "$2" --json report --since "$4" --until "$5"
        pfrom=$(epoch "$4"); pto=$(epoch "$5"); [ "$pto" -gt "$now" ] && pto=$now
    else
        run --db "$1" --as mona --now "$2" --json report; pfrom=-99999999999; pto=$now
    fi
    expect_rc 0 "$3: report"; cp "$OUT" plain.json
    [ "$(json_get plain.json '$.tasks.overdue.total')" = "$(due_sql "$1" -99999999999 "$now")" ] &&
        pass || failt "$3: overdue $(json_get plain.json '$.tasks.overdue.total')"
    [ "$(json_get plain.json '$.tasks.due_this_week.total')" = \
      "$(due_sql "$1" "$now" $((now + 7 * 86400)))" ] && pass || failt "$3: due this week"
    [ "$(figures plain.json last_30_days)" = "$(comply_sql "$1" $((now - 30 * 86400)) "$now")" ] &&
        pass || failt "$3: 30 days $(figures plain.json last_30_days)"
    [ "$(figures plain.json last_90_days)" = "$(comply_sql "$1" $((now - 90 * 86400)) "$now")" ] &&
        pass || failt "$3: 90 days $(figures plain.json last_90_days)"
    if [ "$pfrom" -lt "$pto" ]; then want=$(comply_sql "$1" "$pfrom" "$pto"); else want="0 0 0 0"; fi
    [ "$(figures plain.json period)" = "$want" ] && pass ||
        failt "$3: period $(figures plain.json period), want $want"
}
# same NOW WHAT ARGS...: mona's agency report (the counters) and the same
# narrowed to amal (the queries) give the same bytes, but the narrowing's
# own member
same() {
    now=$1 what=$2; shift 2
    run --as mona --now "$now" --json report "$@"; expect_rc 0 "$what: agency report $*"
    cp "$OUT" agency.json
    run --as mona --now "$now" --json report --caseworker amal "$@"; expect_rc 0 "$what: amal's $*"
    cp "$OUT" amal.json
    strip() { command sqlite3 :memory: "SELECT json_remove(readfile('$1'), '\$.caseworker')"; }
    [ "$(strip agency.json)" = "$(strip amal.json)" ] && pass ||
        failt "$what: the counters and the queries differ ($now $*): $(diff agency.json amal.json | head -20)"
}
# check TIME WHAT: the counters right, and the report at TIME and at
# times cutting days, over several periods, as the queries and plain SQL
check() {
    [ "$(kept_wrong "$HAVEN_DB")" = 0 ] && pass || failt "$2: $(kept_wrong "$HAVEN_DB") counter rows differ"
    [ "$(sql "SELECT count(*) FROM task_day_counts WHERE n <= 0")" = 0 ] && pass ||
        failt "$2: a counter row at 0 or below kept"
    [ "$(sql "SELECT coalesce(sum(hidden), 0) FROM task_due_days")" = 0 ] && pass ||
        failt "$2: a hidden task (the report would take the queries)"
    same "$1" "$2"
    same 2027-01-25T13:37:11Z "$2" --since 2026-11-29T10:30:00Z --until 2027-01-09T10:30:00Z
    plain "$HAVEN_DB" 2027-01-25T13:37:11Z "$2" 2026-12-01T13:00:00Z 2027-01-09T10:30:00Z
}

# schema 16's trigger of case_risk_factors no longer looks for a later
# risk decision of the case (always none: seq only grows)
if [ -z "${HAVEN_TEST_PG:-}" ]; then
    trig=$(sql "SELECT sql FROM sqlite_master WHERE name = 'case_risk_factors_event'")
    case "$trig" in
        *"x.seq > NEW.seq"*) failt "the risk factors' trigger still looks for a later event" ;;
        *"case_risk_factors"*) pass ;;
        *) failt "no trigger of case_risk_factors" ;;
    esac
fi

reg() { # reg TIME NAME AGE CONCERNS: amal registers a child, sets REF
    run --as amal --now "$1" register child.name="$2" child.age="$3" child.sex=female \
        location=Riverside source=school concerns="$4" consent.registration=caregiver
    expect_rc 0 "register $2"; REF=$(head -1 "$OUT" | cut -d' ' -f1)
}
reg 2026-11-28T09:00:00Z Noor 3 neglect; A=$REF
reg 2026-11-29T09:00:00Z Lina 9 child_labour; B=$REF
reg 2026-11-30T15:00:00Z Sami 10 emotional_distress; C=$REF
reg 2026-12-02T09:00:00Z Huda 15 child_labour,school_decline; D=$REF
[ "$(sql "SELECT count(*) FROM task_day_counts")" -ge 1 ] && pass || failt "registrations counted"
check 2026-12-02T10:00:00Z "after registrations"

# assessments (the tasks they answer done; new ones made)
run --as amal --now 2026-12-03T10:00:00Z assess "$A" kind=initial safety=concern; expect_rc 0 "assess A"
run --as amal --now 2026-12-03T11:00:00Z assess "$A" kind=comprehensive safety=ok \
    elements.childs_views=a elements.family_relationships=b elements.safe_environment=c \
    elements.development_identity=d elements.strengths_resources=e \
    needs.1=psychosocial_support; expect_rc 0 "BIA of A"
run --as amal --now 2026-12-04T10:00:00Z assess "$B" kind=initial safety=urgent; expect_rc 0 "assess B"
run --as amal --now 2026-12-06T10:00:00Z assess "$C" kind=initial safety=ok; expect_rc 0 "assess C"
run --as amal --now 2026-12-20T10:00:00Z assess "$D" kind=initial safety=ok; expect_rc 0 "assess D late"
check 2026-12-20T11:00:00Z "after assessments"

# a plan approved (its action a task), follow-ups recorded: one on time,
# one after its due time
run --as amal --now 2026-12-05T11:00:00Z plan "$A" \
    goal="Within six months she is safe and back at school" \
    indicators.1=attendance target_date=2027-06-01 addresses.1=school \
    actions.1.title=Visit actions.1.responsible=caseworker \
    actions.1.type=direct_support actions.1.due=2027-01-01; expect_rc 0 "plan of A"
run --as sara --now 2026-12-05T12:00:00Z approve "$A"; expect_rc 0 "approve A's plan"
run --as amal --now 2026-12-12T09:00:00Z followup "$A" method=meeting safety=ok; expect_rc 0 "follow-up A"
run --as amal --now 2027-01-20T09:00:00Z followup "$A" method=phone_call safety=concern; expect_rc 0 "follow-up A, late"
[ "$(sql "SELECT count(*) FROM task_day_counts WHERE state IN (1, 2)")" -ge 1 ] && pass ||
    failt "a done follow-up counted"
check 2027-01-20T10:00:00Z "after follow-ups"

# rules apply of a pack that scores children of 5 to 11 otherwise
PACK="$WORK/pack"
cp -r "$SRC/rules/default" "$PACK"
sed -i 's/add(1, "child_under_12")/add(2, "child_under_5")/' "$PACK/risk.lua"
sed -i 's/^version: "[^"]*"/version: "9.9.0"/' "$PACK/pack.yaml"
run --as admin --now 2027-01-21T09:00:00Z rules apply "$PACK"; expect_rc 0 "rules apply"
check 2027-01-21T10:00:00Z "after rules apply"

# a closure (death), approved: its tasks cancelled, the final follow-up set
run --as amal --now 2027-01-21T11:00:00Z close "$B" reason=death; expect_rc 0 "close B"
run --as sara --now 2027-01-21T12:00:00Z approve "$B"; expect_rc 0 "approve B's closure"
check 2027-01-21T13:00:00Z "after a closure"

# a transfer, approved by a manager
run --as sara --now 2027-01-22T10:00:00Z transfer "$C" agency="Hill unit" \
    override="ZZOVERRIDE the child is in danger here"; expect_rc 0 "transfer C"
run --as mona --now 2027-01-22T11:00:00Z approve "$C"; expect_rc 0 "approve C's transfer"
check 2027-01-22T12:00:00Z "after a transfer"

# reopened: the final follow-up cancelled, assessments due again
run --as sara --now 2027-01-24T10:00:00Z reopen "$B" reason=back_in_area; expect_rc 0 "reopen B"
check 2027-01-24T11:00:00Z "after a reopening"

# more periods and times, each cutting days
same 2027-01-24T11:00:00Z "periods" --since 2026-12-01T13:00:00Z
same 2027-01-24T11:00:00Z "periods" --until 2027-01-01T06:30:00Z
same 2027-03-10T00:00:00Z "periods" --since 2027-01-09T23:59:59Z
same 2027-03-10T00:00:00Z "periods" --since 2026-11-29T10:30:00Z --until 2027-01-21T11:30:00Z
plain "$HAVEN_DB" 2027-01-24T11:00:00Z "periods"

# months on: every open task overdue
plain "$HAVEN_DB" 2027-09-01T17:45:00Z "months on"
plain "$HAVEN_DB" 2027-09-01T17:45:00Z "months on, a period" 2027-01-01T12:00:00Z 2027-08-15T12:00:00Z

# an import: the imported cases' tasks counted in the other database
run --as sara --now 2027-01-25T14:00:00Z export --format json --override court_order --out all.json
expect_rc 0 "export"
NEW="$WORK/new.db"
run --db "$NEW" --as admin --now "$T0" init --simulated --agency CP --workflow "$SRC/workflows/iasc.yaml" \
    --rules "$SRC/rules/default"; expect_rc 0 "init another"
add_users "$NEW"
run --db "$NEW" --as sara --now 2027-01-25T15:00:00Z import --format json all.json; expect_rc 0 "import"
[ "$(kept_wrong "$NEW")" = 0 ] && pass || failt "after an import: $(kept_wrong "$NEW") rows differ"
[ "$(sqlite3 "$NEW" "SELECT coalesce(sum(n), 0) FROM task_day_counts")" -ge 3 ] && pass ||
    failt "the import brought counted tasks"
plain "$NEW" 2027-01-25T16:20:00Z "after an import"
plain "$NEW" 2027-01-25T16:20:00Z "after an import, a period" 2026-12-01T13:00:00Z 2027-01-09T10:30:00Z
run --db "$NEW" --as mona audit verify --deep; expect_rc 0 "verify --deep on the import"

# The report reads the counters: a row changed outside haven changes its
# figure (and audit verify --deep says so); put back, both are right.
run --as mona audit verify --deep; expect_rc 0 "verify --deep on right counters"
NOW=2027-01-25T13:37:11Z
run --as mona --now "$NOW" --json report; cp "$OUT" right.json
DAY=$(sql "SELECT min(due_day) FROM task_day_counts WHERE state = 0")
ROW=$(sql "SELECT due_day || ',' || quote(kind) || ',' || assignee || ',' || state || ',' || n
           FROM task_day_counts WHERE due_day = $DAY AND state = 0 ORDER BY kind, assignee LIMIT 1")
set -- $(echo "$ROW" | tr ',' ' ')
WHERE="due_day = $1 AND kind = $2 AND assignee = $3 AND state = $4"
sql "UPDATE task_day_counts SET n = n + 1 WHERE $WHERE" >/dev/null
run --as mona --now "$NOW" --json report; cp "$OUT" changed.json
[ "$(json_get changed.json '$.tasks.overdue.total')" = $(($(json_get right.json '$.tasks.overdue.total') + 1)) ] &&
    pass || failt "the report does not read the counters"
run --as mona audit verify --deep; expect_rc 65 "a changed counter fails verify --deep"
expect_err "counts of tasks per due day.*differ from a recount" "verify names the counter"
sql "DELETE FROM task_day_counts WHERE $WHERE" >/dev/null
run --as mona audit verify --deep; expect_rc 65 "a removed counter row fails verify --deep"
sql "INSERT INTO task_day_counts (due_day, kind, assignee, state, n) VALUES (${ROW})" >/dev/null
run --as mona audit verify --deep; expect_rc 0 "verify --deep once put back"
sql "INSERT INTO task_day_counts (due_day, kind, assignee, state, n) VALUES ($DAY, 'planted', 0, 0, 1)" >/dev/null
run --as mona audit verify --deep; expect_rc 65 "a planted counter row fails verify --deep"
sql "DELETE FROM task_day_counts WHERE kind = 'planted'" >/dev/null
run --as mona audit verify --deep; expect_rc 0 "verify --deep once removed"
run --as mona --now "$NOW" --json report; cmp -s "$OUT" right.json && pass || failt "the report once put back"

echo "passed $PASSED, failed $FAILED"
[ "$FAILED" -eq 0 ]
