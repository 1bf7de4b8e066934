#!/bin/sh
# Issue 21: a registration's event records the digest of the new case's
# rows read from the tables the registration writes alone (cases, persons,
# case_concerns, consents, tasks: engine/registration.c, digest.c
# hv__case_digest_new), not from every table with a case_id.  It must equal
# what `audit verify --deep` recomputes over every table: here for children
# with and without family, consents, several concerns, a child found not
# eligible and a duplicate registered with --force, each case then changed
# on.  A row of the new case planted in another table before it was
# registered (foreign keys off, outside Haven) is not blessed by the
# registration: --deep names the case.
. "$(dirname "$0")/lib.sh"

init_db
# reg ARGS...: registers a child at T0 (the fields given, or none)
reg() { run --now "$T0" register source=school location=Riverside "$@"; }
# every table a registration writes, several rows in some
reg child.name=Noor child.age=12 child.sex=female \
    concerns=neglect,emotional_distress,family_separation \
    consent.registration=caregiver consent.referral=caregiver \
    family.1.relationship=mother family.1.name=Amal family.1.lives_with_child=yes \
    family.2.relationship=sibling family.2.name=Sami family.2.age=15
expect_rc 0 "a child with family, two consents, three concerns"
reg child.name=Karim child.age=3 child.sex=male concerns=sexual_abuse consent.registration=both
expect_rc 0 "a young child, one concern, no family"
[ "$(sql "SELECT urgency FROM cases WHERE ref = 'CP-2026-00002'")" = immediate ] && pass ||
    failt "the second case is immediate"
reg child.name=Noor child.age=12 child.sex=female concerns=neglect consent.registration=caregiver
expect_rc 65 "the same child again: a possible duplicate"
reg --force child.name=Noor child.age=12 child.sex=female concerns=neglect consent.registration=caregiver
expect_rc 0 "registered anyway with --force"
reg child.name=Lina child.age=16 child.sex=female concerns=neglect consent.registration=child
expect_rc 0 "a fourth child"
[ "$(sql "SELECT count(*) FROM tasks WHERE case_id = 1")" -ge 1 ] && pass || failt "first tasks written"
[ "$(sql "SELECT count(*) FROM persons WHERE case_id = 1")" = 3 ] && pass || failt "the child and two relatives"
[ "$(sql "SELECT count(*) FROM consents WHERE case_id = 1")" = 2 ] && pass || failt "two consents"

run audit verify --deep
expect_rc 0 "each registration's digest is the one verify recomputes"
expect_out 'deep: the rows of 4 cases match their last event' "all four cases checked"

# the registered event's digest: the one every table gives (the next change
# of the case checks it before writing, and refuses when it differs)
run --now 2026-11-29T09:00:00Z note CP-2026-00001 text="Visited the family"
expect_rc 0 "a change after the registration finds its rows as recorded"
run --now 2026-11-29T09:30:00Z assess CP-2026-00004 kind=initial safety=ok
expect_rc 0 "an assessment of the fourth case"
run audit verify --deep
expect_rc 0 "still whole after more changes"

# A row planted for the next case's number before it is registered: the
# registration's digest leaves it out, so verify --deep names the case (a
# digest over every table would have blessed it).  On a local SQLite file
# only: the PostgreSQL store keeps its foreign keys on, and through havend
# (srv_) the copy is not the daemon's database.
if [ -z "${HAVEN_TEST_PG:-}" ] && [ -z "${HAVEN_REAL:-}" ]; then
    cp haven.db planted.db
    for s in key audit-key checkpoints; do cp "haven.db.$s" "planted.db.$s"; done
    next=$(sqlite3 planted.db "SELECT max(id) + 1 FROM cases")
    sqlite3 planted.db "PRAGMA foreign_keys = OFF;
        INSERT INTO reviews (case_id, at, by_id, outcome) VALUES ($next, 0, 1, 'continue')" \
        2>"$WORK/plant.err" || failt "planting a review: $(cat "$WORK/plant.err")"
    run --db planted.db --now "$T0" register --force child.name=Omar child.age=8 child.sex=male \
        source=school location=Camp concerns=neglect consent.registration=caregiver
    expect_rc 0 "registered over the planted row"
    run --db planted.db audit verify --deep
    expect_rc 65 "the planted row is not blessed"
    expect_err "the rows of CP-2026-00005 no longer match" "the new case named"
    no_text 'Omar' "$ERR" "no name in the message"
fi

finish
