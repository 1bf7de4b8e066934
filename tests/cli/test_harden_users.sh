#!/bin/sh
# test_harden_users.sh - a supervisor with a team keeps the role until the
# team is moved (red-team review after issue 15, point 2): `user role sara
# caseworker` while amal and bilal report to her would strand their
# approvals (nobody may approve them).  Disabling her is allowed (an absent
# supervisor must be disabled): the team's approvals wait until the team is
# moved to another supervisor, who then approves them.
. "$(dirname "$0")/lib.sh"

init_db
register_noor
expect_rc 0 "register"
REF=$(head -1 "$OUT" | cut -d' ' -f1)
run --now 2026-11-29T09:00:00Z assess "$REF" kind=initial safety=ok
expect_rc 0 "initial assessment"
run --now 2026-12-01T09:00:00Z assess "$REF" kind=comprehensive safety=ok \
    elements.childs_views=a elements.family_relationships=b \
    elements.safe_environment=c elements.development_identity=d \
    elements.strengths_resources=e
expect_rc 0 "comprehensive assessment"
run --now 2026-12-02T09:00:00Z plan "$REF" goal="She is safe and back at school" \
    indicators.1=attendance target_date=2027-06-01 addresses.1=school \
    actions.1.title=Visit actions.1.responsible=caseworker \
    actions.1.type=direct_support actions.1.due=2027-01-01
expect_rc 0 "the plan waits for sara's approval"

for role in caseworker manager administrator; do
    before=$(fingerprint)
    run --as admin --now 2026-12-03T09:00:00Z user role sara $role
    expect_rc 65 "sara, who supervises amal and bilal, made a $role"
    expect_err "user: sara supervises 2 users: move them to another supervisor first" \
        "the refusal says how many and what to do"
    [ "$(fingerprint)" = "$before" ] && pass || failt "the refused role change changed the database"
done
[ "$(sql "SELECT role FROM users WHERE login = 'sara'")" = supervisor ] && pass ||
    failt "sara is still a supervisor"
run --as admin --now 2026-12-03T09:00:00Z user role sara supervisor
expect_rc 0 "keeping the role is fine"

# Disabling an absent supervisor is allowed; the event says how many users
# she leaves; the plan waits until amal is moved to nadia, who approves it.
run --as admin --now 2026-12-03T09:00:00Z user disable sara
expect_rc 0 "sara disabled"
[ "$(sql "SELECT json_extract(data, '\$.supervisees_left') FROM events WHERE kind = 'user_changed' ORDER BY seq DESC LIMIT 1")" = 2 ] &&
    pass || failt "the event records the users she leaves"
run --as admin user add nadia --role supervisor
expect_rc 0 "nadia added"
run --as nadia --now 2026-12-03T10:00:00Z approve "$REF"
expect_rc 69 "nadia may not approve before amal is hers (not in her scope)"
run --as admin --now 2026-12-03T10:00:00Z user role amal caseworker --supervisor nadia
expect_rc 0 "amal moved to nadia"
run --as nadia --now 2026-12-03T11:00:00Z approve "$REF"
expect_rc 0 "nadia approves the plan amal's former supervisor left"
run --as admin --now 2026-12-03T12:00:00Z user role bilal caseworker --supervisor nadia
expect_rc 0 "bilal moved to nadia"
run --as admin --now 2026-12-03T12:00:00Z user enable sara
run --as admin --now 2026-12-03T12:00:00Z user role sara caseworker --supervisor nadia
expect_rc 0 "with nobody reporting to her sara may become a caseworker"
finish
