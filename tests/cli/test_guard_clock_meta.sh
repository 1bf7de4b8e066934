#!/bin/sh
# The clock mode cannot be changed by editing meta (issue 15, point 4).
# Whether a database is live or simulated is read from meta `clock`, which
# whoever can write the file can edit: a live database turned simulated
# then takes --now on every command.  `init` also records the mode in the
# chained `initialised` event, and `audit verify` compares the two: a
# mismatch fails (65, naming both).  A database whose initialised event
# predates the field says nothing.
. "$(dirname "$0")/lib.sh"

WF="$SRC/workflows/iasc.yaml"
RULES="$SRC/rules/default"

# ---- a live database turned simulated -----------------------------------------
run --as admin init --agency CP --workflow "$WF" --rules "$RULES"; expect_rc 0 "init (live)"
add_users
register_noor
expect_rc 64 "--now is refused on a live database"
run --as amal register child.name=Noor child.age=12 child.sex=female source=school \
    concerns=emotional_distress consent.registration=caregiver location=Riverside
expect_rc 0 "register on the system clock"
run audit verify; expect_rc 0 "the live database verifies"

cp haven.db keep.db; cp haven.db.checkpoints keep.checkpoints
sqlite3 haven.db "UPDATE meta SET value = 'simulated' WHERE key = 'clock'"
# the attack: --now is now taken, and dates a note 1999
run --as amal --now 1999-01-01T00:00:00Z note CP-2026-00001 text=backdated
[ "$RC" -eq 0 ] || [ "$RC" -eq 69 ] || failt "note after the edit: $(cat "$ERR")"
run audit verify
expect_rc 65 "verify of a live database turned simulated"
expect_err "audit verify: the database says its clock is simulated \(meta clock\) but it was initialised live \(entry 1\): the setting was changed outside haven" \
    "names the setting and the entry"
no_text '^audit: ok' "$OUT" "never ok"
run audit verify --deep; expect_rc 65 "--deep too"

# meta clock removed: the engine treats the database as live, as it was made
cp keep.db haven.db; cp keep.checkpoints haven.db.checkpoints
sqlite3 haven.db "DELETE FROM meta WHERE key = 'clock'"
run audit verify; expect_rc 0 "no clock setting: live, as initialised"
cp keep.db haven.db
run audit verify; expect_rc 0 "the setting put back"

# ---- a simulated database turned live ------------------------------------------
export HAVEN_DB="$WORK/sim.db"
init_db
run audit verify; expect_rc 0 "the simulated database verifies"
sqlite3 sim.db "UPDATE meta SET value = 'live' WHERE key = 'clock'"
run audit verify; expect_rc 65 "a simulated database marked live"
expect_err "clock is live \(meta clock\) but it was initialised simulated" "names both"
sqlite3 sim.db "UPDATE meta SET value = 'simulated' WHERE key = 'clock'"

# ---- a database from before the field: nothing said ----------------------------
sqlite3 old.db <"$SRC/tests/fixtures/schema_v1.sql"
run --db old.db audit verify; expect_rc 0 "an upgraded database verifies"
sqlite3 old.db "INSERT OR REPLACE INTO meta (key, value) VALUES ('clock', 'simulated')"
run --db old.db audit verify; expect_rc 0 "its initialised event records no clock: nothing to compare"
finish
