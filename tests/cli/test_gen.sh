#!/bin/sh
# `haven gen`: a synthetic caseload made through the engine's public API.
# The summary (text and --json) against the database; determinism (two
# fresh databases with the same seed give the same lists, case files, times
# and users, but different ciphertexts; another seed a different caseload);
# realism (stages, closures, concerns, sources, caseloads of 20-60 open
# cases, teams under supervisors, every kind of record, overdue tasks);
# --history 0; --bulk against one transaction per change; bad input; and
# `haven due --count` against the lists it counts.
. "$(dirname "$0")/lib.sh"

N=300
WF="$SRC/workflows/iasc.yaml"
RULES="$SRC/rules/default"
A=$HAVEN_DB          # seed 7, verified by finish
B="$WORK/b.db"       # seed 7 again
C="$WORK/c.db"       # seed 8

# gen DB ARGS...: haven gen on DB as admin at T0 (a new DB gets the iasc
# workflow and the default pack).
gen() {
    db=$1
    shift
    if [ -e "$db" ]; then
        run --db "$db" --as admin --now "$T0" "$@"
    else
        run --db "$db" --as admin --now "$T0" "$@" --workflow "$WF" --rules "$RULES" \
            --agency GEN
    fi
}
# q DB QUERY: one value from DB.
q() { sqlite3 "$1" "$2"; }
# is FILE PATH WANT WHAT: a JSON value.
is() {
    got=$(json_get "$1" "$2")
    [ "$got" = "$3" ] && pass || failt "$4: $2 is '$got', want '$3'"
}
# at_least GOT MIN WHAT / between GOT LO HI WHAT
at_least() { [ "$1" -ge "$2" ] && pass || failt "$3: $1 < $2"; }
between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ] && pass || failt "$4: $1 not in $2..$3"; }
same() { # FILE1 FILE2 WHAT
    if cmp -s "$1" "$2"; then pass; else
        failt "$3: differ: $(diff "$1" "$2" | head -5)"; fi
}
# haven_to FILE ARGS...: haven ARGS > FILE, which must succeed.
haven_to() {
    f=$1
    shift
    "$HAVEN" --now "$T0" "$@" >"$f" 2>"$WORK/err2"
    rc=$?
    [ "$rc" -eq 0 ] && pass || failt "haven $*: exit $rc: $(head -c 300 "$WORK/err2")"
}

# ---- the summary ---------------------------------------------------------------
gen "$A" gen --cases $N --seed 7 --bulk
expect_rc 0 "gen --cases $N --seed 7 --bulk"
expect_out "^generated $N cases \(seed 7\): [0-9]+ open, [0-9]+ closed, 0 not registered; [0-9]+ steps" \
    "summary line"
[ "$(wc -l <"$OUT")" -eq 1 ] && pass || failt "summary: not one line: $(cat "$OUT")"
[ -s "$ERR" ] && failt "gen wrote to stderr: $(head -c 300 "$ERR")" || pass
s_open=$(sed -n 's/.*: \([0-9]*\) open, .*/\1/p' "$OUT")
s_closed=$(sed -n 's/.* open, \([0-9]*\) closed,.*/\1/p' "$OUT")
[ "$s_open" = "$(q "$A" "SELECT count(*) FROM cases WHERE status='open'")" ] && pass ||
    failt "summary's open ($s_open) is not the open cases in the database"
[ "$s_closed" = "$(q "$A" "SELECT count(*) FROM cases WHERE status IN ('closed','transferred')")" ] &&
    pass || failt "summary's closed ($s_closed) is not the closed cases in the database"
[ "$(q "$A" "SELECT count(*) FROM cases")" = $N ] && pass || failt "not $N cases"
[ -f "$A.key" ] && [ -f "$A.audit-key" ] && pass || failt "no key files beside the new database"
[ "$(q "$A" "SELECT role FROM users WHERE login='admin'")" = administrator ] && pass ||
    failt "the acting user is not the administrator"
[ "$(q "$A" "SELECT code FROM agencies")" = GEN ] && pass || failt "agency code"

gen "$B" --json gen --cases $N --seed 7 --bulk
expect_rc 0 "gen --json, same seed"
[ "$(json_ok "$OUT")" = 1 ] && pass || failt "gen --json: not JSON: $(head -c 300 "$OUT")"
cp "$OUT" "$WORK/b.json"
is "$WORK/b.json" '$.cases' $N "json cases"
is "$WORK/b.json" '$.seed' 7 "json seed"
is "$WORK/b.json" '$.open' "$s_open" "json open = the text summary's"
is "$WORK/b.json" '$.closed' "$s_closed" "json closed = the text summary's"
is "$WORK/b.json" '$.registered' $N "json registered"
is "$WORK/b.json" '$.refused' 0 "no step refused by the default pack"
steps=$(json_get "$WORK/b.json" '$.steps')
at_least "${steps:-0}" $((N * 5)) "json steps (several per case)"
ncw=$(json_get "$WORK/b.json" '$.caseworkers')
at_least "${ncw:-0}" 2 "json caseworkers"
is "$WORK/b.json" '$.caseworkers' "$(q "$B" "SELECT count(*) FROM users WHERE role='caseworker'")" \
    "json caseworkers = caseworker users"
is "$WORK/b.json" '$.supervisors' "$(q "$B" "SELECT count(*) FROM users WHERE role='supervisor'")" \
    "json supervisors = supervisor users"
# every step is one event (beside the registrations and the users)
[ "$(q "$B" "SELECT count(*) FROM events WHERE case_id IS NOT NULL AND kind NOT IN ('registered','viewed','access_refused')")" -ge "$steps" ] &&
    pass || failt "fewer case events than steps"

# ---- determinism -----------------------------------------------------------------
haven_to "$WORK/a.list" --db "$A" --as manager1 --json list
haven_to "$WORK/b.list" --db "$B" --as manager1 --json list
same "$WORK/a.list" "$WORK/b.list" "same seed: the manager's list"
[ "$(sqlite3 :memory: "SELECT json_array_length(readfile('$WORK/a.list'))")" = $N ] && pass ||
    failt "list does not hold the $N cases"
# The plain columns: cases, tasks, users and the events' kinds and times
# (but `initialised`: hv_engine_init stamps it with the wall clock).
for t in "SELECT ref, stage, status, source, urgency, risk_level, risk_score, registered_at,
            updated_at, closed_at, version, closure_reason, assignee_id FROM cases ORDER BY ref" \
         "SELECT case_id, kind, label, due_at, created_at, status, done_at, assignee_id FROM tasks ORDER BY id" \
         "SELECT login, role, supervisor_id FROM users ORDER BY id" \
         "SELECT seq, at, actor, case_id, kind FROM events WHERE kind <> 'initialised' ORDER BY seq" \
         "SELECT case_id, code FROM case_concerns ORDER BY 1, 2"; do
    q "$A" "$t" >"$WORK/a.sql"
    q "$B" "$t" >"$WORK/b.sql"
    same "$WORK/a.sql" "$WORK/b.sql" "same seed: $(echo "$t" | cut -c1-50)"
done
# A few case files (names are sealed: compare what the engine shows).
refs=$(q "$A" "SELECT ref FROM (SELECT ref FROM cases WHERE status='open' ORDER BY registered_at DESC LIMIT 2)
               UNION ALL SELECT ref FROM (SELECT ref FROM cases WHERE status='closed' ORDER BY ref LIMIT 1)
               UNION ALL SELECT ref FROM (SELECT ref FROM cases WHERE stage='follow_up_review' ORDER BY ref LIMIT 1)")
[ "$(echo "$refs" | wc -l)" -eq 4 ] && pass || failt "refs to compare: $refs"
for ref in $refs; do
    cw=$(q "$A" "SELECT u.login FROM cases c JOIN users u ON u.id = c.assignee_id WHERE c.ref='$ref'")
    haven_to "$WORK/a.show" --db "$A" --as "$cw" --json show "$ref"
    haven_to "$WORK/b.show" --db "$B" --as "$cw" --json show "$ref"
    same "$WORK/a.show" "$WORK/b.show" "same seed: show $ref"
    name=$(json_get "$WORK/a.show" '$.child.name')
    echo "$name" | grep -Eq '^[A-Z][a-z]+ [A-Z][a-z]+$' && pass || failt "$ref: child name '$name'"
    # ... and sealed in each file under its own key
    no_text "$name" "$A" "$ref: child's name in the database file"
done
# Each database its own key: the sealed names differ.
q "$A" "SELECT hex(name) FROM persons ORDER BY id LIMIT 20" >"$WORK/a.sql"
q "$B" "SELECT hex(name) FROM persons ORDER BY id LIMIT 20" >"$WORK/b.sql"
if cmp -s "$WORK/a.sql" "$WORK/b.sql"; then failt "same ciphertexts in two databases"; else pass; fi
# Names made from syllables: many distinct children's names.
distinct=$(for ref in $(q "$A" "SELECT ref FROM cases WHERE status='open' LIMIT 40"); do
    cw=$(q "$A" "SELECT u.login FROM cases c JOIN users u ON u.id = c.assignee_id WHERE c.ref='$ref'")
    "$HAVEN" --db "$A" --as "$cw" --now "$T0" --json show "$ref" >"$WORK/n.show" 2>/dev/null
    json_get "$WORK/n.show" '$.child.name'
done | sort -u | wc -l)
at_least "$distinct" 38 "distinct names among 40 children"

gen "$C" --json gen --cases $N --seed 8 --bulk
expect_rc 0 "gen, another seed"
haven_to "$WORK/c.list" --db "$C" --as manager1 --json list
if cmp -s "$WORK/a.list" "$WORK/c.list"; then failt "another seed gives the same list"; else pass; fi

# ---- realism ---------------------------------------------------------------------
at_least "$(q "$A" "SELECT count(DISTINCT stage) FROM cases WHERE status='open'")" 4 \
    "distinct stages among open cases"
at_least "$(q "$A" "SELECT count(*) FROM cases WHERE status='open' AND stage IN
              ('initial_assessment','comprehensive_assessment','case_planning')")" 1 \
    "open cases still being assessed or planned"
at_least "$(q "$A" "SELECT count(*) FROM cases WHERE status='closed' AND closure_reason IS NOT NULL")" \
    $((N / 10)) "closed cases with a reason"
[ "$(q "$A" "SELECT count(*) FROM cases WHERE status='closed' AND (closure_reason IS NULL OR closed_at IS NULL)")" = 0 ] &&
    pass || failt "a closed case without a reason or date"
at_least "$(q "$A" "SELECT count(DISTINCT closure_reason) FROM cases")" 3 "closure reasons"
at_least "$(q "$A" "SELECT count(DISTINCT code) FROM case_concerns")" 5 "distinct concerns"
at_least "$(q "$A" "SELECT count(DISTINCT source) FROM cases")" 4 "distinct referral sources"
at_least "$(q "$A" "SELECT count(DISTINCT urgency) FROM cases")" 2 "distinct urgencies"
at_least "$(q "$A" "SELECT count(DISTINCT risk_level) FROM cases")" 3 "distinct risk levels"
# registrations spread over the span, none after --now
between "$(q "$A" "SELECT (max(registered_at) - min(registered_at)) / 86400 FROM cases")" 600 730 \
    "days between the first and last registration"
[ "$(q "$A" "SELECT count(*) FROM events WHERE at > strftime('%s','$T0') AND kind <> 'initialised'")" = 0 ] && pass ||
    failt "events after --now"
# caseloads
q "$A" "SELECT count(*) FROM cases WHERE status='open' GROUP BY assignee_id" >"$WORK/loads"
at_least "$(wc -l <"$WORK/loads")" 2 "caseworkers with open cases"
while read -r n; do between "$n" 20 60 "a caseworker's open cases"; done <"$WORK/loads"
[ "$(q "$A" "SELECT count(*) FROM cases c JOIN users u ON u.id = c.assignee_id
             WHERE c.status='open' AND u.role <> 'caseworker'")" = 0 ] && pass ||
    failt "open cases assigned to someone not a caseworker"
# teams: every caseworker under a supervisor, at most six each
[ "$(q "$A" "SELECT count(*) FROM users u LEFT JOIN users s ON s.id = u.supervisor_id
             WHERE u.role='caseworker' AND (s.id IS NULL OR s.role <> 'supervisor')")" = 0 ] &&
    pass || failt "a caseworker without a supervisor"
[ "$(q "$A" "SELECT max(n) FROM (SELECT count(*) n FROM users WHERE role='caseworker' GROUP BY supervisor_id)")" -le 6 ] &&
    pass || failt "a team of more than six"
[ "$(q "$A" "SELECT role FROM users WHERE login='manager1'")" = manager ] && pass || failt "manager1"
q "$A" "SELECT login FROM users WHERE role='caseworker' ORDER BY login LIMIT 2" | tr '\n' ' ' |
    grep -q '^cw0001 cw0002 $' && pass || failt "caseworker logins"
[ "$(q "$A" "SELECT login FROM users WHERE role='supervisor' ORDER BY login LIMIT 1")" = sup001 ] &&
    pass || failt "supervisor logins"
# every kind of record
for t in events assessments plans plan_actions followups reviews approvals referrals persons consents; do
    at_least "$(q "$A" "SELECT count(*) FROM $t")" 1 "rows in $t"
done
at_least "$(q "$A" "SELECT count(*) FROM assessments")" $N "an assessment per case or more"
at_least "$(q "$A" "SELECT count(*) FROM followups")" $((N * 2)) "follow-ups"
at_least "$(q "$A" "SELECT count(*) FROM plan_actions WHERE status='done'")" 1 "actions done"
at_least "$(q "$A" "SELECT count(*) FROM tasks WHERE kind='final_followup' AND status='done'")" 1 \
    "final follow-ups done"

# ---- overdue tasks and due --count -----------------------------------------------
NOWS=$(q "$A" "SELECT strftime('%s','$T0')")
# what `due` covers: open tasks of open cases, and a closed case's final follow-up
DUE_SQL="SELECT count(*) FROM tasks t JOIN cases c ON c.id = t.case_id
         WHERE t.status='open' AND (c.status='open' OR t.kind='final_followup')"
overdue=$(q "$A" "$DUE_SQL AND t.due_at < $NOWS")
at_least "$overdue" 1 "overdue tasks in the caseload"
at_least "$(q "$A" "SELECT count(*) FROM tasks t JOIN cases c ON c.id = t.case_id
                    WHERE t.status='open' AND c.status='open' AND t.due_at < $NOWS")" 1 \
    "overdue tasks on open cases"
run --db "$A" --as manager1 --now "$T0" due --agency --overdue --count
expect_rc 0 "manager: due --agency --overdue --count"
[ "$(cat "$OUT")" = "$overdue" ] && pass ||
    failt "due --agency --overdue --count: '$(cat "$OUT")', want $overdue (SQL)"
run --db "$A" --as manager1 --now "$T0" due --agency --count
expect_rc 0 "manager: due --agency --count"
[ "$(cat "$OUT")" = "$(q "$A" "$DUE_SQL")" ] && pass ||
    failt "due --agency --count: '$(cat "$OUT")', want $(q "$A" "$DUE_SQL") (SQL)"
run --db "$A" --as manager1 --now "$T0" --json due --agency --overdue --count
expect_rc 0 "manager: --json due --count"
is "$OUT" '$.count' "$overdue" "--json due --count"
haven_to "$WORK/agency.due" --db "$A" --as manager1 --json due --agency --overdue
[ "$(sqlite3 :memory: "SELECT json_array_length(readfile('$WORK/agency.due'))")" = "$overdue" ] &&
    pass || failt "the agency's overdue list is not the count"
# a caseworker: the count is the length of the list it counts
cw=$(q "$A" "SELECT u.login FROM cases c JOIN users u ON u.id = c.assignee_id
             WHERE c.status='open' GROUP BY u.login ORDER BY count(*) DESC LIMIT 1")
for opt in "" "--overdue" "--within 7d"; do
    # shellcheck disable=SC2086
    haven_to "$WORK/cw.due" --db "$A" --as "$cw" --json due $opt
    want=$(sqlite3 :memory: "SELECT json_array_length(readfile('$WORK/cw.due'))")
    # shellcheck disable=SC2086
    run --db "$A" --as "$cw" --now "$T0" due $opt --count
    expect_rc 0 "$cw: due $opt --count"
    [ "$(cat "$OUT")" = "$want" ] && pass ||
        failt "$cw: due $opt --count is '$(cat "$OUT")', the list has $want"
done
[ "$(q "$A" "SELECT count(*) FROM tasks t JOIN cases c ON c.id = t.case_id JOIN users u
             ON u.id = c.assignee_id WHERE u.login='$cw' AND t.status='open' AND c.status='open'
             AND t.due_at < $NOWS")" -ge 1 ] && pass || failt "$cw has no overdue task"
# a supervisor's team
haven_to "$WORK/team.due" --db "$A" --as sup001 --json due --team
run --db "$A" --as sup001 --now "$T0" due --team --count
expect_rc 0 "sup001: due --team --count"
[ "$(cat "$OUT")" = "$(sqlite3 :memory: "SELECT json_array_length(readfile('$WORK/team.due'))")" ] &&
    pass || failt "sup001: due --team --count is not the list's length"
# refused like the list
before=$(fingerprint)
run --db "$A" --as "$cw" --now "$T0" due --agency --overdue --count
expect_rc 77 "caseworker: due --agency --overdue --count"
expect_err "agency" "caseworker: due --agency --count refused"
[ -s "$OUT" ] && failt "refused count printed: $(cat "$OUT")" || pass
run --db "$A" --as "$cw" --now "$T0" due --agency
expect_rc 77 "caseworker: due --agency"
run --db "$A" --as "$cw" --now "$T0" due --count --bogus
expect_rc 64 "due --count --bogus"

# ---- bad input -------------------------------------------------------------------
run --db "$A" --as admin gen
expect_rc 64 "gen without --cases"
expect_err "cases" "gen without --cases"
run --db "$A" --as admin gen --cases 0
expect_rc 64 "gen --cases 0"
expect_err "cases" "gen --cases 0"
run --db "$A" --as admin gen --cases ten
expect_rc 64 "gen --cases ten"
run --db "$A" --as admin gen --cases 5 --history 101
expect_rc 64 "gen --history 101"
expect_err "history" "gen --history 101"
run --db "$A" --as admin gen --cases 5 --frobnicate 1
expect_rc 64 "gen --frobnicate"
expect_err "gen" "gen --frobnicate"
run --db "$A" --as admin gen --cases 5 --workflow "$WF"
expect_rc 64 "gen --workflow on an existing database"
expect_err "exists" "gen --workflow on an existing database"
run --db "$A" --as admin gen --cases 5 --rules "$RULES"
expect_rc 64 "gen --rules on an existing database"
[ "$(fingerprint)" = "$before" ] && pass || failt "a refused gen changed the database"
# a missing workflow: nothing left behind
run --db "$WORK/m.db" --as admin gen --cases 5 --workflow "$WORK/nope.yaml" --rules "$RULES"
[ "$RC" -ne 0 ] && pass || failt "gen with a missing workflow: exit 0"
expect_err "nope.yaml" "gen with a missing workflow"
for f in m.db m.db.key m.db.audit-key m.db-wal m.db-journal; do
    [ -e "$WORK/$f" ] && failt "missing workflow: $f left behind" || pass
done
run --db "$WORK/m.db" --as admin gen --cases 5 --workflow "$WF" --rules "$WORK/nope"
[ "$RC" -ne 0 ] && pass || failt "gen with a missing rules folder: exit 0"
expect_err "nope" "gen with a missing rules folder"
[ -e "$WORK/m.db" ] && failt "missing rules: database left behind" || pass

# ---- --history 0 -----------------------------------------------------------------
D="$WORK/d.db"
gen "$D" --json gen --cases 60 --seed 3 --bulk --history 0
expect_rc 0 "gen --history 0"
is "$OUT" '$.steps' 0 "--history 0: no steps"
is "$OUT" '$.open' 60 "--history 0: every case open"
[ "$(q "$D" "SELECT count(*) FROM cases WHERE stage='initial_assessment' AND status='open'")" = 60 ] &&
    pass || failt "--history 0: not every case at the initial assessment"
[ "$(q "$D" "SELECT count(*) FROM events WHERE case_id IS NOT NULL AND kind <> 'registered'")" = 0 ] &&
    pass || failt "--history 0: events beyond registration"
run --db "$D" --as manager1 --now "$T0" due --agency --overdue --count
expect_rc 0 "--history 0: due --count"
at_least "$(cat "$OUT")" 55 "--history 0: assessments overdue"

# ---- --bulk gives the caseload of one transaction per change -----------------------
E="$WORK/e.db"
F="$WORK/f.db"
gen "$E" gen --cases 30 --seed 11 --bulk
expect_rc 0 "gen --bulk (30)"
gen "$F" gen --cases 30 --seed 11
expect_rc 0 "gen without --bulk (30)"
haven_to "$WORK/e.list" --db "$E" --as manager1 --json list
haven_to "$WORK/f.list" --db "$F" --as manager1 --json list
same "$WORK/e.list" "$WORK/f.list" "--bulk and not: the same list"
q "$E" "SELECT case_id, kind, due_at, status, done_at FROM tasks ORDER BY id" >"$WORK/e.sql"
q "$F" "SELECT case_id, kind, due_at, status, done_at FROM tasks ORDER BY id" >"$WORK/f.sql"
same "$WORK/e.sql" "$WORK/f.sql" "--bulk and not: the same tasks"
G="$WORK/g.db"
gen "$G" gen --cases 30 --seed 11 --batch 7
expect_rc 0 "gen --batch 7"
haven_to "$WORK/g.list" --db "$G" --as manager1 --json list
same "$WORK/e.list" "$WORK/g.list" "--batch 7: the same list"
"$HAVEN" --db "$F" audit verify >/dev/null 2>&1 && pass || failt "audit verify without --bulk"
"$HAVEN" --db "$B" audit verify >/dev/null 2>&1 && pass || failt "audit verify (b)"

finish
