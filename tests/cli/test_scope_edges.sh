#!/bin/sh
# Scope at the edges (issue 15, point 8): a case is reassigned only to an
# active caseworker or supervisor within the caller's scope, never stranded
# with a manager or outside the team; only a supervisor supervises.
. "$(dirname "$0")/lib.sh"

init_db                                   # sara supervises amal and bilal; mona is a manager
run --as admin user add zoe --role supervisor; expect_rc 0 "add zoe"
run --as admin user add yara --role caseworker --supervisor zoe; expect_rc 0 "add yara"
run --as amal --now "$T0" register child.name=Noor child.age=12 child.sex=female location=Riverside \
    source=school concerns=emotional_distress consent.registration=caregiver
expect_rc 0 "register"; REF=$(head -1 "$OUT")
assignee() { sql "SELECT u.login FROM cases c JOIN users u ON u.id = c.assignee_id WHERE c.ref = '$REF'"; }
BEFORE=$(sqlite3 "$HAVEN_DB" .dump | sha256sum)

run --as amal assign "$REF" to=mona
expect_rc 65 "not to a manager"; expect_err "'mona' is a manager" "the refusal names the role"
run --as amal assign "$REF" to=yara
expect_rc 65 "not outside the team"; expect_err "outside your team" "the refusal says why"
run --as amal assign "$REF" to=zoe
expect_rc 65 "not to another team's supervisor"
run --as amal assign "$REF" to=nobody
expect_rc 69 "not to nobody"
[ "$(sqlite3 "$HAVEN_DB" .dump | sha256sum)" = "$BEFORE" ] && pass || failt "a refused assign changed the database"

run --as amal assign "$REF" to=bilal; expect_rc 0 "to a teammate"
[ "$(assignee)" = bilal ] && pass || failt "bilal has the case: $(assignee)"
run --as bilal assign "$REF" to=sara; expect_rc 0 "to the team's supervisor"
run --as sara assign "$REF" to=zoe; expect_rc 65 "a supervisor keeps a case within the team"
run --as sara assign "$REF" to=amal; expect_rc 0 "a supervisor to a caseworker of the team"
[ "$(assignee)" = amal ] && pass || failt "amal has the case again: $(assignee)"

# Only a supervisor supervises.
run --as admin user add xena --role caseworker --supervisor amal
expect_rc 65 "a caseworker cannot supervise"; expect_err "'amal' is a caseworker, not a supervisor" "says why"
[ "$(sql "SELECT count(*) FROM users WHERE login = 'xena'")" = 0 ] && pass || failt "xena not added"
run --as admin user add xena --role caseworker --supervisor nobody; expect_rc 69 "no such supervisor"
run --as admin user role bilal caseworker --supervisor mona
expect_rc 65 "a manager is not made a supervisor"
[ "$(sql "SELECT s.login FROM users u JOIN users s ON s.id = u.supervisor_id WHERE u.login = 'bilal'")" = sara ] \
    && pass || failt "bilal still supervised by sara"
run --as admin user add xena --role caseworker --supervisor zoe; expect_rc 0 "a supervisor supervises"

# `due --for LOGIN` answers as `report --caseworker` does: outside the
# caller's scope is refused (77), an unknown login is not found (69) --
# never an empty list that hides the difference.
run --as amal due --for bilal; expect_rc 77 "a caseworker sees only their own tasks"
expect_err "due: --for bilal: outside your scope" "the refusal says why"
run --as sara due --for yara; expect_rc 77 "a supervisor sees only their team's tasks"
run --as sara due --for nobody; expect_rc 69 "an unknown login"
run --as sara due --for amal; expect_rc 0 "a supervisor sees a team member's tasks"
expect_out "$REF" "amal's tasks listed for sara"
run --as amal due --for amal; expect_rc 0 "anyone sees their own tasks"
run --as mona due --for yara; expect_rc 0 "a manager sees the agency"

# A supervisor's audit log holds only the events of their team's cases.
run --as yara --now "$T0" register child.name=Lina child.age=7 child.sex=female \
    location=Eastside source=health concerns=neglect consent.registration=caregiver
expect_rc 0 "yara registers a child of zoe's team"; REF_Y=$(head -1 "$OUT")
run --as sara audit log; expect_rc 0 "sara's audit log"
if grep -q "$REF_Y" "$OUT"; then failt "sara's log shows a case of zoe's team"; else pass; fi
expect_out "$REF" "sara's log shows her team's case"
run --as sara audit log --user yara; expect_rc 0 "sara's log of yara's actions"
if grep -q "$REF_Y" "$OUT"; then failt "--user yara shows sara a case outside her team"; else pass; fi
run --as zoe audit log; expect_rc 0 "zoe's audit log"
expect_out "$REF_Y" "zoe's log shows her team's case"
run --as mona audit log; expect_rc 0 "a manager's audit log"
expect_out "$REF_Y" "a manager's log shows the agency"

# user list checks the acting user like every other command.
run --as nobody user list; expect_rc 77 "user list by an unknown user"
run --as admin user disable yara; expect_rc 0 "disable yara"
run --as yara user list; expect_rc 77 "user list by a disabled user"
if grep -q amal "$OUT"; then failt "users listed to a disabled user"; else pass; fi
run --as admin user list; expect_rc 0 "user list by an administrator"
expect_out amal "the users listed"
finish
