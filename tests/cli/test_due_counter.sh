#!/bin/sh
# The agency's count of open tasks (issue 21): `due --agency --count` and
# the report's due tasks as a manager read the open tasks per due day (task_due_days), kept by
# triggers in the same transaction as every write of a task or of a case's
# status.  After a mixed history (registrations, assessments, follow-ups,
# a closure, a transfer, a reopening, an import, the clock moving past the
# due dates) its answer always equals a recount by plain SQL over the
# tasks and cases, the kept rows equal a recount, and `audit verify --deep`
# reports a counter changed outside haven.
. "$(dirname "$0")/lib.sh"
init_db

# epoch TIME: the seconds of an ISO time.
epoch() { date -u -d "$1" +%s; }
# recount DB LIMIT: the open tasks an agency list counts (the case open, or
# the task its final follow-up) due before LIMIT, by plain SQL.
recount() {
    sqlite3 "$1" "SELECT count(*) FROM tasks t JOIN cases c ON c.id = t.case_id
        WHERE t.status = 'open' AND t.due_at < $2
          AND (c.status = 'open' OR t.kind = 'final_followup')"
}
# kept_rows_wrong DB: the days whose kept counts differ from a recount.
kept_rows_wrong() {
    sqlite3 "$1" "WITH kept AS (SELECT due_day, counted, hidden FROM task_due_days
        WHERE counted <> 0 OR hidden <> 0), re AS (SELECT due_day, sum(k) AS counted,
        count(*) - sum(k) AS hidden FROM (SELECT t.due_at / 86400 AS due_day,
        coalesce(t.kind = 'final_followup' OR c.status = 'open', 0) AS k FROM tasks t
        LEFT JOIN cases c ON c.id = t.case_id WHERE t.status = 'open') GROUP BY 1)
        SELECT (SELECT count(*) FROM (SELECT * FROM kept EXCEPT SELECT * FROM re))
             + (SELECT count(*) FROM (SELECT * FROM re EXCEPT SELECT * FROM kept))"
}
# check DB TIME WHAT: the manager's counts at TIME (overdue, within 7
# days, every open task) equal the recounts, and the kept rows are right.
check() {
    now=$(epoch "$2")
    run --db "$1" --as mona --now "$2" due --agency --overdue --count
    [ "$RC" -eq 0 ] && [ "$(cat "$OUT")" = "$(recount "$1" "$now")" ] && pass ||
        failt "$3: overdue count $(cat "$OUT") (rc $RC), recount $(recount "$1" "$now")"
    run --db "$1" --as mona --now "$2" due --agency --within 7d --count
    [ "$(cat "$OUT")" = "$(recount "$1" $((now + 7 * 86400 + 1)))" ] && pass ||
        failt "$3: within 7d $(cat "$OUT"), recount $(recount "$1" $((now + 7 * 86400 + 1)))"
    run --db "$1" --as mona --now "$2" due --agency --count
    [ "$(cat "$OUT")" = "$(recount "$1" 9999999999)" ] && pass ||
        failt "$3: every task $(cat "$OUT"), recount $(recount "$1" 9999999999)"
    [ "$(kept_rows_wrong "$1")" = 0 ] && pass || failt "$3: $(kept_rows_wrong "$1") kept days differ"
    # the manager's report counts the same tasks (overdue; due within the week)
    run --db "$1" --as mona --now "$2" --json report
    over=$(json_get "$OUT" '$.tasks.overdue.total'); week=$(json_get "$OUT" '$.tasks.due_this_week.total')
    [ "$over" = "$(recount "$1" "$now")" ] && pass || failt "$3: report's overdue $over"
    [ "$week" = $(($(recount "$1" $((now + 7 * 86400))) - $(recount "$1" "$now"))) ] && pass ||
        failt "$3: report's due this week $week"
}

reg() { # reg WHO TIME NAME: registers a child; prints nothing, sets REF
    run --as "$1" --now "$2" register child.name="$3" child.age=9 child.sex=female \
        location=Riverside source=school concerns=neglect consent.registration=caregiver
    expect_rc 0 "register $3"; REF=$(head -1 "$OUT")
}
reg amal 2026-11-28T09:00:00Z Noor; A=$REF
reg amal 2026-11-28T15:00:00Z Lina; B=$REF
reg bilal 2026-11-29T10:00:00Z Sami; C=$REF
reg bilal 2026-11-30T08:00:00Z Huda; D=$REF
check "$HAVEN_DB" 2026-11-30T09:00:00Z "after registrations"
[ "$(recount "$HAVEN_DB" 9999999999)" -ge 4 ] && pass || failt "the registrations made tasks"

run --as amal --now 2026-12-01T10:00:00Z assess "$A" kind=initial safety=ok; expect_rc 0 "assess A"
run --as amal --now 2026-12-01T11:00:00Z assess "$A" kind=comprehensive elements.childs_views=a \
    elements.family_relationships=b elements.safe_environment=c elements.development_identity=d \
    elements.strengths_resources=e; expect_rc 0 "comprehensive A"
run --as bilal --now 2026-12-02T10:00:00Z assess "$C" kind=initial safety=ok; expect_rc 0 "assess C"
run --as bilal --now 2026-12-02T11:00:00Z assess "$D" kind=initial safety=ok; expect_rc 0 "assess D"
check "$HAVEN_DB" 2026-12-05T09:00:00Z "after assessments"

# a closure (death, from any stage), approved: its tasks cancelled, the
# final follow-up set
run --as amal --now 2026-12-06T10:00:00Z close "$A" reason=death; expect_rc 0 "close A"
run --as sara --now 2026-12-06T11:00:00Z approve "$A"; expect_rc 0 "approve A's closure"
[ "$(sql "SELECT status FROM cases WHERE ref = '$A'")" = closed ] && pass || failt "A closed"
check "$HAVEN_DB" 2026-12-07T09:00:00Z "after a closure"

# a transfer (a supervisor's override of the consent), approved by a manager
run --as sara --now 2026-12-08T10:00:00Z transfer "$C" agency="Hill unit" \
    override="ZZOVERRIDE the child is in danger here"; expect_rc 0 "transfer C"
run --as mona --now 2026-12-08T11:00:00Z approve "$C"; expect_rc 0 "approve C's transfer"
[ "$(sql "SELECT status FROM cases WHERE ref = '$C'")" = transferred ] && pass || failt "C transferred"
check "$HAVEN_DB" 2026-12-09T09:00:00Z "after a transfer"

# reopened: the final follow-up cancelled, assessments due again
run --as sara --now 2026-12-20T10:00:00Z reopen "$A" reason=back_in_area; expect_rc 0 "reopen A"
check "$HAVEN_DB" 2026-12-21T09:00:00Z "after a reopening"

# the clock past every due date, and a day boundary at a time of day
check "$HAVEN_DB" 2027-03-01T00:00:00Z "at midnight, months on"
check "$HAVEN_DB" 2027-06-15T13:37:00Z "months on"

# an open task of a closed case other than its final follow-up (as a
# crafted import could hold): counted by neither, kept as hidden; the
# count of its day takes the slow path and stays exact
TID=$(sql "SELECT min(t.id) FROM tasks t JOIN cases c ON c.id = t.case_id WHERE c.ref = '$C'
           AND t.kind <> 'final_followup'")
WAS=$(sql "SELECT status FROM tasks WHERE id = $TID")
sql "UPDATE tasks SET status = 'open' WHERE id = $TID" >/dev/null
[ "$(sql "SELECT sum(hidden) FROM task_due_days")" = 1 ] && pass || failt "the task is kept as hidden"
day=$(sql "SELECT due_at FROM tasks WHERE id = $TID")
at=$(date -u -d "@$((day + 1))" +%Y-%m-%dT%H:%M:%SZ)
check "$HAVEN_DB" "$at" "a hidden task's own day"
sql "UPDATE tasks SET status = '$WAS' WHERE id = $TID" >/dev/null
[ "$(sql "SELECT sum(hidden) FROM task_due_days")" = 0 ] && pass || failt "no hidden task once put back"

# an import: the imported cases' open tasks counted in the other database
run --as sara --now 2027-06-15T14:00:00Z export --format json --override court_order --out all.json
expect_rc 0 "export"
NEW="$WORK/new.db"
run --db "$NEW" --as admin --now "$T0" init --simulated --agency CP --workflow "$SRC/workflows/iasc.yaml" \
    --rules "$SRC/rules/default"; expect_rc 0 "init another"
add_users "$NEW"
run --db "$NEW" --as sara --now 2027-06-15T14:00:00Z import --format json all.json; expect_rc 0 "import"
[ "$(recount "$NEW" 9999999999)" -ge 3 ] && pass || failt "the import brought open tasks"
check "$NEW" 2027-06-15T15:00:00Z "after an import"

# The manager's report reads its due tasks and follow-up compliance in one
# pass over the tasks while no open task of a closed case falls due before
# the week's end, else through the queries that look up each task's case:
# both give the same figures, which equal plain SQL recounts, at the edges
# (a task due at the very second of the report; follow-ups done exactly at
# their due time and a second after).  Rows crafted here, removed after.
T=$(sql "SELECT max(due_at) FROM tasks WHERE status = 'open' AND kind <> 'final_followup'")
TS=$(date -u -d "@$T" +%Y-%m-%dT%H:%M:%SZ)
CA=$(sql "SELECT id FROM cases WHERE ref = '$A'"); CC=$(sql "SELECT id FROM cases WHERE ref = '$C'")
sql "INSERT INTO tasks (case_id, kind, label, due_at, created_at, status, done_at) VALUES
     ($CA, 'followup', 'crafted', $T - 86400, $T - 90000, 'done', $T - 86400),
     ($CA, 'followup', 'crafted', $T - 86400, $T - 90000, 'done', $T - 86399),
     ($CA, 'followup', 'crafted', $T - 172800, $T - 190000, 'open', NULL)" >/dev/null
run --as mona --now "$TS" --json report; expect_rc 0 "report, one pass"
cp "$OUT" fast.json
comply() { # FROM TO WHAT: on time, late, not done in [FROM, TO) by plain SQL
    sql "SELECT count(*) || ' ' || sum(status = 'done' AND done_at <= due_at) || ' '
         || sum(status = 'done' AND done_at > due_at) || ' ' || sum(status = 'open') FROM tasks
         WHERE kind IN ('followup', 'final_followup') AND status IN ('open', 'done')
           AND due_at >= $1 AND due_at < $2"
}
figures() { # FILE WINDOW: due, on time, late, not done of the window
    echo "$(json_get "$1" "\$.followup_compliance.$2.due") $(json_get "$1" "\$.followup_compliance.$2.on_time")" \
         "$(json_get "$1" "\$.followup_compliance.$2.late") $(json_get "$1" "\$.followup_compliance.$2.not_done")"
}
[ "$(figures fast.json last_30_days)" = "$(comply $((T - 30 * 86400)) "$T")" ] && pass ||
    failt "30 days: $(figures fast.json last_30_days), recount $(comply $((T - 30 * 86400)) "$T")"
[ "$(figures fast.json period)" = "$(comply -9999999999 "$T")" ] && pass ||
    failt "period: $(figures fast.json period), recount $(comply -9999999999 "$T")"
[ "$(json_get fast.json '$.tasks.overdue.total')" = "$(recount "$HAVEN_DB" "$T")" ] && pass ||
    failt "overdue at a task's due second: $(json_get fast.json '$.tasks.overdue.total')"
# an open review of the transferred case (counted by no figure) sends the
# report through the queries
sql "INSERT INTO tasks (case_id, kind, label, due_at, created_at, status) VALUES
     ($CC, 'review', 'crafted', $T - 864000, $T - 900000, 'open')" >/dev/null
[ "$(sql "SELECT sum(hidden) FROM task_due_days")" = 1 ] && pass || failt "the review is hidden"
run --as mona --now "$TS" --json report; expect_rc 0 "report, through the queries"
cmp -s "$OUT" fast.json && pass || failt "the one pass and the queries differ: $(diff fast.json "$OUT" | head -20)"
sql "DELETE FROM tasks WHERE label = 'crafted'" >/dev/null
check "$HAVEN_DB" "$TS" "the crafted rows removed"

# the counter changed outside haven: audit verify --deep says so
run --as mona audit verify --deep; expect_rc 0 "verify --deep on a right counter"
sql "UPDATE task_due_days SET counted = counted + 1 WHERE due_day = (SELECT max(due_day)
     FROM task_due_days)" >/dev/null
run --as mona audit verify --deep; expect_rc 65 "a changed counter fails verify --deep"
expect_err "count of open tasks per due day differs from a recount" "verify names the counter"
sql "UPDATE task_due_days SET counted = counted - 1 WHERE due_day = (SELECT max(due_day)
     FROM task_due_days)" >/dev/null
run --as mona audit verify --deep; expect_rc 0 "verify --deep once put back"
run --db "$NEW" --as mona audit verify --deep; expect_rc 0 "verify --deep on the import"

echo "passed $PASSED, failed $FAILED"
[ "$FAILED" -eq 0 ]
