#!/bin/sh
# A change after tampering never blesses it (issue 15, point 7, closed).
# Each case event records a keyed digest of the case's rows after the
# change; a change to a case whose rows were edited outside Haven would
# record a fresh digest over the edited rows and `audit verify --deep`
# would pass again.  So before any change (a step, a note, assign, close,
# purge, rules apply) the case's digest is recomputed and compared with
# its last event's: a mismatch refuses the change (65, one line naming the
# case, nothing written) and --deep still names the case afterwards.
# Cases whose last event predates the digests are changed as before.
. "$(dirname "$0")/lib.sh"
NEW="${HAVEN_FIXTURES:?set HAVEN_FIXTURES to the build's fixtures folder}/rules/child_labour"

init_db
for i in 1 2 3; do
    run --as amal --now "$T0" register --force child.name="Zqxguard$i" child.age=9 child.sex=male \
        location=Camp source=community concerns=child_labour consent.registration=caregiver
    [ "$RC" -eq 0 ] || failt "register $i: $(cat "$ERR")"
done
# CP-2026-00003 closed (and approved), for purge.
run --as amal --now 2026-11-29T09:00:00Z assess CP-2026-00003 kind=initial safety=ok
run --as amal --now 2026-11-29T10:00:00Z close CP-2026-00003 reason=death
run --as sara --now 2026-11-29T11:00:00Z approve CP-2026-00003
expect_rc 0 "CP-2026-00003 closed"
run audit verify --deep; expect_rc 0 "untouched rows match"

# The tampering: the risk level of an open and of a closed case edited in
# place (no key needed).
sqlite3 "$HAVEN_DB" "CREATE TABLE kept AS SELECT id, risk_level FROM cases;
    UPDATE cases SET risk_level = 'low' WHERE ref IN ('CP-2026-00001', 'CP-2026-00003')"
run audit verify --deep; expect_rc 65 "--deep sees the edit"

# refused WHAT ARGS...: exit 65, one line naming CP-2026-00001 (or the
# case in REFD) and what to run, no name, and the database as it was.
REFD=CP-2026-00001
refused() {
    what=$1
    shift
    before=$(fingerprint)
    run "$@"
    expect_rc 65 "$what"
    expect_err "^haven: $REFD: its rows were changed outside Haven; run haven audit verify --deep$" \
        "$what: names the case and what to run"
    no_text Zqxguard "$ERR" "$what: no name in the message"
    [ "$(fingerprint)" = "$before" ] && pass || failt "$what: something was written"
}
N=2026-11-30T09:00:00Z
refused "a note" --as amal --now $N note CP-2026-00001 text="after the edit"
refused "a step (assess)" --as amal --now $N assess CP-2026-00001 kind=initial safety=ok
refused "a consent step" --as amal --now $N consent CP-2026-00001 scope=assessment given_by=caregiver
refused "assign" --as sara --now $N assign CP-2026-00001 to=bilal
refused "close" --as amal --now $N close CP-2026-00001 reason=death
REFD=CP-2026-00003
refused "purge (past any retention)" --as admin --now 2199-01-01T00:00:00Z purge CP-2026-00003
REFD=CP-2026-00001
# rules apply re-scores the open cases with child labour (1 and 2): it
# would write a fresh digest over 1's edited rows.
refused "rules apply" --as admin --now $N rules apply "$NEW"

# A read still works, and blesses nothing.
run --as amal --now $N show CP-2026-00001; expect_rc 0 "the case can still be read"
run audit verify --deep; expect_rc 65 "--deep still names the case after every attempt"
expect_err 'the rows of CP-2026-00001, CP-2026-00003 no longer match' "both cases still named"

# The untouched case changes as before.
run --as amal --now $N note CP-2026-00002 text="still fine"; expect_rc 0 "an untouched case takes a note"
run --as amal --now $N assess CP-2026-00002 kind=initial safety=ok; expect_rc 0 "and a step"

# Once the rows are put back as Haven wrote them, the case changes again.
sqlite3 "$HAVEN_DB" "UPDATE cases SET risk_level = (SELECT risk_level FROM kept WHERE kept.id = cases.id)
    WHERE ref IN ('CP-2026-00001', 'CP-2026-00003');
    DROP TABLE kept"
run audit verify --deep; expect_rc 0 "the rows restored match again"
run --as amal --now $N note CP-2026-00001 text="after the repair"; expect_rc 0 "the restored case takes a note"

# A note moved onto another case: both cases are refused.
sqlite3 "$HAVEN_DB" "CREATE TABLE moved AS SELECT id FROM notes WHERE case_id = 2;
    UPDATE notes SET case_id = 1 WHERE case_id = 2"
REFD=CP-2026-00002
refused "a note moved away" --as amal --now $N note CP-2026-00002 text=x
REFD=CP-2026-00001
refused "a note moved in" --as amal --now $N note CP-2026-00001 text=x

# A table a later migration adds (with a case_id, no rows yet) changes no
# case's digest: every case still takes changes and verifies deep.  A row
# of the case in it is a change like any other.
sqlite3 "$HAVEN_DB" "UPDATE notes SET case_id = 2 WHERE id IN (SELECT id FROM moved);
    DROP TABLE moved; CREATE TABLE later_things (id INTEGER PRIMARY KEY, case_id INTEGER, code TEXT)"
run audit verify --deep; expect_rc 0 "an empty new table changes no digest"
run --as amal --now $N note CP-2026-00001 text="after the migration"; expect_rc 0 "a note after the new table"
sqlite3 "$HAVEN_DB" "INSERT INTO later_things (case_id, code) VALUES (1, 'x')"
refused "a row added to a new table" --as amal --now $N note CP-2026-00001 text=x
sqlite3 "$HAVEN_DB" "DELETE FROM later_things"

# Code planted in the file: a trigger runs inside Haven's own writes, so it
# could edit a case's rows before or after the digest is taken.  While the
# file holds a trigger or view Haven did not make, no change is recorded
# (65, naming it, nothing written) and audit verify fails naming it; once
# dropped, both work again.
run audit verify --deep; expect_rc 0 "clean before the planted trigger"
sqlite3 "$HAVEN_DB" "CREATE TRIGGER planted_edit AFTER INSERT ON events BEGIN
    UPDATE cases SET urgency = 'high' WHERE id = NEW.case_id; END"
before=$(fingerprint)
run --as amal --now $N note CP-2026-00002 text="with the trigger there"
expect_rc 65 "a change while a planted trigger is there"
expect_err "trigger or view Haven did not make \\(planted_edit\\)" "names the trigger"
[ "$(fingerprint)" = "$before" ] && pass || failt "the refused change wrote something"
run --as amal --now $N register --force child.name=Zqxguard4 child.age=9 child.sex=male \
    location=Camp source=community concerns=child_labour consent.registration=caregiver
expect_rc 65 "a registration while a planted trigger is there"
run audit verify; expect_rc 65 "audit verify names the planted trigger"
expect_err "planted_edit" "audit verify: the trigger's name"
sqlite3 "$HAVEN_DB" "DROP TRIGGER planted_edit"
run audit verify --deep; expect_rc 0 "the trigger dropped: verify passes"
run --as amal --now $N note CP-2026-00002 text="the trigger gone"
expect_rc 0 "the trigger dropped: changes go on"

# A case whose last event predates the digests (an upgraded database) is
# changed as before, and checked from then on.
sqlite3 old.db < "$SRC/tests/fixtures/schema_v1.sql"
run --db old.db --as amal note CP-2026-00001 text="after the upgrade"
expect_rc 0 "a case with no digest yet takes a note"
sqlite3 old.db "UPDATE cases SET risk_level = 'low' WHERE ref = 'CP-2026-00001'"
run --db old.db --as amal note CP-2026-00001 text="again"
expect_rc 65 "from its first digest on, an edit is refused"
expect_err 'CP-2026-00001: its rows were changed outside Haven' "names it"
finish
