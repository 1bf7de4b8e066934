#!/bin/sh
# Issue 15, point 8: a duplicate-check hit on someone else's child is
# audited.  bilal registers a child; amal's registration of the same child
# is refused as a possible duplicate, which tells amal that bilal's case
# exists: the case found gets a `duplicate_checked` event (by amal, codes
# only), whether the registration was refused or forced through.  (A hit
# on the registrar's own case, or their team's, is not news: no event.)
. "$(dirname "$0")/lib.sh"

init_db
run --as bilal --now "$T0" register child.name=Noor child.age=12 child.sex=female \
    source=school concerns=emotional_distress consent.registration=caregiver location=Riverside
expect_rc 0 "bilal registers Noor"
checked() { # checked OUTCOME: duplicate_checked events on bilal's case by amal
    sql "SELECT count(*) FROM events e JOIN cases c ON c.id = e.case_id
         WHERE c.ref = 'CP-2026-00001' AND e.kind = 'duplicate_checked' AND e.actor = 'amal'
           AND json_extract(e.data, '\$.outcome') = '$1'"
}

# A refused registration: nothing registered, the hit audited.
run --as amal --now "$T0" register child.name=Nour child.age=12 child.sex=female \
    source=school concerns=emotional_distress consent.registration=caregiver location=Riverside
expect_rc 65 "a possible duplicate is refused"
expect_err 'possible duplicate of CP-2026-00001' "the refusal names the case found"
[ "$(sql "SELECT count(*) FROM cases")" = 1 ] && pass || failt "the refused registration left a case"
[ "$(checked refused)" = 1 ] && pass || failt "the refused duplicate check on bilal's child is not audited"

# Forced through: the new case, and the hit audited on the old one.
run --as amal --now "$T0" register --force child.name=Nour child.age=12 child.sex=female \
    source=school concerns=emotional_distress consent.registration=caregiver location=Riverside
expect_rc 0 "--force registers anyway"
[ "$(checked overridden)" = 1 ] && pass || failt "the overridden duplicate check is not audited"

# bilal's check hits his own child (not news: no event) and amal's forced
# case (someone else's: audited).
run --as bilal --now "$T0" register child.name=Nour child.age=12 child.sex=female \
    source=school concerns=emotional_distress consent.registration=caregiver location=Riverside
expect_rc 65 "bilal's duplicate is refused"
by_bilal() {
    sql "SELECT count(*) FROM events e JOIN cases c ON c.id = e.case_id
         WHERE c.ref = '$1' AND e.kind = 'duplicate_checked' AND e.actor = 'bilal'"
}
[ "$(by_bilal CP-2026-00001)" = 0 ] && pass ||
    failt "a hit on the registrar's own child was audited as someone else's"
[ "$(by_bilal CP-2026-00002)" = 1 ] && pass || failt "bilal's hit on amal's child is not audited"

# The events hold codes only: no name, no place.
sql "SELECT data FROM events WHERE kind = 'duplicate_checked'" > "$WORK/dup_events"
[ -s "$WORK/dup_events" ] && pass || failt "no duplicate_checked events"
no_text Nour "$WORK/dup_events" "the duplicate event names the child"
no_text Noor "$WORK/dup_events" "the duplicate event names the child"
no_text Riverside "$WORK/dup_events" "the duplicate event names the place"

# bilal's supervisor sees in the case's audit log that amal's check hit it.
run --as sara audit log CP-2026-00001
expect_rc 0 "the supervisor reads the case's audit log"
expect_out 'amal.*duplicate_checked' "the audit log shows amal's duplicate check"

finish
