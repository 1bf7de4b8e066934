#!/bin/sh
# Offline work end to end (issue 18): havend on a test socket and HTTPS
# port, two laptops (amal's and bilal's) made with `haven sync`.  Each
# offline step kind (registration with the server's duplicate check,
# assessment, plan, follow-up, note, closure request) syncs and appears on
# the server with the laptop's original time and a server receipt time;
# the same case changed on both sides gives exactly one queued conflict and
# no overwrite; the supervisor resolves them both ways; a revoked device is
# refused and its copy's key wiped; a pack change on the server makes the
# laptop update before its changes are replayed; audit verify holds on the
# server and on both copies.
. "$HAVEN_SOURCE_DIR/tests/cli/lib.sh"
. "$SRC/tests/server/lib_server.sh"
init_db
chmod 600 "$HAVEN_DB"*
start_server
enrol amal "amal-correct-horse-1"
enrol bilal "bilal-correct-horse-2"
enrol sara "sara-correct-horse-3"
enrol admin "admin-correct-horse-4"
clock 2026-11-28T09:00:00Z
as amal register child.name=Noorzadeh child.age=12 child.sex=female source=school \
    concerns=emotional_distress,school_decline consent.registration=caregiver location=Riverside
expect_rc 0 "amal registers Noor on the server"; R1=$(cat "$OUT")
as amal register child.name=Ramizov child.age=11 child.sex=male source=family \
    concerns=neglect consent.registration=both location=Harbour
expect_rc 0 "amal registers Rami on the server"; R2=$(cat "$OUT")
as amal register child.name=Yusufzai child.age=15 child.sex=male source=school \
    concerns=neglect consent.registration=caregiver location=Riverside
expect_rc 0 "amal registers Yusuf on the server"; R4=$(cat "$OUT")
as bilal register child.name=Linaqvist child.age=9 child.sex=female source=health \
    concerns=neglect consent.registration=caregiver location=Hillside
expect_rc 0 "bilal registers Lina on the server"; R3=$(cat "$OUT")

# ---- devices ----------------------------------------------------------------
CA=$(devcode tab-amal amal)
CB=$(devcode tab-bilal bilal)
LA="$WORK/amal-laptop.db"
LB="$WORK/bilal-laptop.db"
# sync_as LOGIN LAPTOP [ARGS...]: `haven sync` of LOGIN's laptop
sync_as() {
    u=$1 l=$2
    shift 2
    XDG_CONFIG_HOME=$(cfg_of "$u") run sync --server "$HTTPS_URL" --db "$l" "$@"
}
# on LAPTOP LOGIN ARGS...: a command on a laptop copy, offline
on() {
    l=$1 u=$2
    shift 2
    run --db "$l" --as "$u" "$@"
}
# on_server SQL: one value from the server's database
sync_as bilal "$LA" --device tab-amal --code "$CA"
expect_rc 77 "bilal cannot take amal's device"
[ ! -e "$LA" ] && pass || failt "a refused first sync leaves no copy"
sync_as amal "$LA" --device tab-amal --code "WRONG-CODE"
expect_rc 77 "a wrong device code is refused"
sync_as amal "$LA" --device tab-amal --code "$CA"
expect_rc 0 "amal's first sync makes her laptop copy"
expect_out "3 cases" "the summary counts her caseload"
sync_as bilal "$LB" --device tab-bilal --code "$CB"
expect_rc 0 "bilal's first sync"
on "$LA" amal list
expect_out "$R1" "amal's copy holds Noor"
expect_out "$R2" "amal's copy holds Rami"
no_text "$R3" "$OUT" "amal's copy lacks bilal's case"
on "$LB" bilal list
expect_out "$R3" "bilal's copy holds Lina"
no_text "$R1" "$OUT" "bilal's copy lacks amal's case"
# encrypted at rest: the child's name is not in the copy's file
no_text Noorzadeh "$LA" "the laptop copy is encrypted at rest"
[ -s "$LA.key" ] && pass || failt "the copy has its key file"
on "$LA" amal show "$R1"
expect_out Noorzadeh "amal reads Noor's file offline"
sync_as amal "$WORK/second.db" --device tab-amal --code "$CA"
expect_rc 77 "the device code works once"
[ ! -e "$WORK/second.db" ] && pass || failt "no second copy from a used code"

# ---- a day offline: every step kind -------------------------------------------
on "$LA" amal --now 2026-11-28T14:00:00Z assess "$R1" kind=initial safety=concern needs=education
expect_rc 0 "offline: initial assessment"
on "$LA" amal --now 2026-11-29T10:00:00Z assess "$R1" kind=comprehensive elements.childs_views=a \
    elements.family_relationships=b elements.safe_environment=c elements.development_identity=d \
    elements.strengths_resources=e
expect_rc 0 "offline: comprehensive assessment"
on "$LA" amal --now 2026-11-29T11:00:00Z plan "$R1" goal="Within 3 months Noor attends school every day" \
    indicators.1=attendance target_date=2027-02-28 addresses.1=schooling actions.1.title=visits \
    actions.1.responsible=caseworker actions.1.type=direct_support actions.1.due=2026-12-20
expect_rc 0 "offline: case plan"
on "$LA" amal --now 2026-11-29T12:00:00Z note "$R2" text="Spoke with the uncle at the market"
expect_rc 0 "offline: note"
on "$LA" amal --now 2026-11-29T13:00:00Z register child.name=Samirov child.age=8 child.sex=male \
    source=community concerns=neglect consent.registration=caregiver location=Riverside
expect_rc 0 "offline: registration"; LOCAL=$(cat "$OUT")
on "$LA" amal --now 2026-11-29T13:00:00Z register child.name=Noorzadeh child.age=12 child.sex=female \
    source=school concerns=emotional_distress consent.registration=caregiver location=Riverside --force
expect_rc 0 "offline: a registration the server will find a duplicate of"
DUPLOCAL=$(cat "$OUT")
on "$LA" amal --now 2026-11-29T15:00:00Z close "$R4" reason=moved_out_of_area
expect_rc 0 "offline: a closure request (the family moved away)"
n=$(sqlite3 "$LA" "SELECT count(*) FROM sync_outbox WHERE sent = 0")
[ "$n" -eq 7 ] && pass || failt "seven changes wait in the outbox, not $n"
clock 2026-11-30T09:00:00Z
sync_as amal "$LA"
expect_rc 0 "amal syncs her day"
expect_out "sent 7 changes" "the summary counts what was sent"
# On the server, each with the laptop's original time and a receipt time.
for k in "assessed:2026-11-28T14:00" "plan_submitted:2026-11-29T11:00" "note_added:2026-11-29T12:00" \
         "registered:2026-11-29T13:00" "closure_requested:2026-11-29T15:00"; do
    kind=${k%%:*} at=${k#*:}
    n=$(sql "SELECT count(*) FROM events WHERE kind = '$kind'
             AND strftime('%Y-%m-%dT%H:%M', at, 'unixepoch') = '$at'
             AND json_extract(data, '\$.offline.device') = 'tab-amal'
             AND json_extract(data, '\$.offline.received_at') IS NOT NULL")
    [ "$n" -ge 1 ] && pass || failt "$kind at $at from tab-amal with a receipt time on the server: $n"
done
n=$(sql "SELECT count(*) FROM cases")
[ "$n" -eq 5 ] && pass || failt "Samir registered on the server (5 cases, not $n)"
n=$(sql "SELECT count(*) FROM sync_conflicts WHERE status = 'open' AND reason LIKE '%duplicate%'")
[ "$n" -eq 1 ] && pass || failt "the duplicate registration is queued, not registered ($n)"
on "$LA" amal list
no_text "$LOCAL" "$OUT" "the local reference is gone after the sync"
n=$(sqlite3 "$LA" "SELECT count(*) FROM sync_outbox WHERE sent = 0")
[ "$n" -eq 0 ] && pass || failt "the outbox is empty after the sync ($n)"

# ---- what the server changed comes back; a follow-up and the REPL offline -----
as sara approve "$R1"
expect_rc 0 "sara approves Noor's plan on the server"
sync_as amal "$LA"
expect_rc 0 "amal syncs again"
expect_out "1 changed" "the approval comes back as a changed case"
on "$LA" amal show "$R1"
expect_out "implementation" "the copy has the approved plan (implementation)"
on "$LA" amal --now 2026-11-30T09:30:00Z followup "$R1" method=home_visit_unannounced safety=ok
expect_rc 0 "offline: follow-up (a home visit)"
on "$LA" amal --now 2026-11-30T09:40:00Z repl -e "open \"$R1\"; note \"Written in the REPL offline\""
expect_rc 0 "offline: a note from the REPL"
clock 2026-11-30T10:00:00Z
sync_as amal "$LA"
expect_rc 0 "the follow-up and the REPL's note sync"
for k in "followed_up:2026-11-30T09:30" "note_added:2026-11-30T09:40"; do
    kind=${k%%:*} at=${k#*:}
    n=$(sql "SELECT count(*) FROM events WHERE kind = '$kind'
             AND strftime('%Y-%m-%dT%H:%M', at, 'unixepoch') = '$at'
             AND json_extract(data, '\$.offline.device') = 'tab-amal'
             AND json_extract(data, '\$.offline.received_at') IS NOT NULL")
    [ "$n" -eq 1 ] && pass || failt "$kind at $at from tab-amal on the server: $n"
done

# ---- the same case on both sides: one conflict, no overwrite ------------------
as sara note "$R2" text="Supervisor: family moved to Harbour"
expect_rc 0 "sara changes Rami's case on the server"
V_BEFORE=$(sql "SELECT version FROM cases WHERE ref = '$R2'")
on "$LA" amal --now 2026-11-30T11:00:00Z note "$R2" text="Visited Rami at home"
on "$LA" amal --now 2026-11-30T11:30:00Z note "$R1" text="Noor at school today"
clock 2026-11-30T12:00:00Z
sync_as amal "$LA"
expect_rc 0 "the sync with a conflict still succeeds"
expect_out "conflict" "the summary names the queued conflict"
n=$(sql "SELECT count(*) FROM sync_conflicts c JOIN cases k ON k.id = c.case_id
         WHERE k.ref = '$R2' AND c.status = 'open'")
[ "$n" -eq 1 ] && pass || failt "exactly one queued conflict for Rami, not $n"
[ "$(sql "SELECT version FROM cases WHERE ref = '$R2'")" = "$V_BEFORE" ] && pass ||
    failt "the server's Rami was not overwritten"
n=$(sql "SELECT count(*) FROM events e JOIN cases k ON k.id = e.case_id
         WHERE k.ref = '$R1' AND e.kind = 'note_added' AND e.at >= strftime('%s','2026-11-30T11:30:00Z')")
[ "$n" -eq 1 ] && pass || failt "the note on the unchanged case applied ($n)"
as sara conflicts
expect_rc 0 "sara lists the conflicts"
expect_out "$R2" "the conflict names the case"
expect_out "Visited Rami at home" "ours: the refused change, whole"
expect_out "sara note_added" "theirs: the server's change beside it"
V0=$(sql "SELECT count(*) FROM events WHERE kind = 'viewed'")
as sara due
expect_out "conflict #[0-9]+ on $R2" "sara's due list shows the waiting conflict"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'viewed'")" -eq "$V0" ] && pass ||
    failt "due reads no refused change (no viewed event), only that one waits"
as amal conflicts resolve 1 --take ours
expect_rc 77 "a caseworker cannot resolve a conflict"
CID=$(sql "SELECT c.id FROM sync_conflicts c JOIN cases k ON k.id = c.case_id WHERE k.ref = '$R2'")
as sara conflicts resolve "$CID" --take ours
expect_rc 0 "sara takes the laptop's change"
n=$(sql "SELECT count(*) FROM events e JOIN cases k ON k.id = e.case_id
         WHERE k.ref = '$R2' AND e.kind = 'note_added'
         AND json_extract(e.data, '\$.offline.resolved_by') = 'sara'")
[ "$n" -eq 1 ] && pass || failt "taking ours applied amal's note, sara recorded ($n)"
as sara conflicts resolve "$CID" --take theirs
expect_rc 65 "a resolved conflict cannot be resolved again"
DID=$(sql "SELECT id FROM sync_conflicts WHERE case_id IS NULL")
as sara conflicts resolve "$DID" --take theirs
expect_rc 0 "sara drops the duplicate registration"
n=$(sql "SELECT count(*) FROM events WHERE kind = 'sync_conflict_resolved'")
[ "$n" -ge 2 ] && pass || failt "each resolution is an audited event ($n)"

# ---- a pack change: the laptop updates before its change is replayed ----------
# The agency's new pack (2.0.0) screens out children of 10 and over at
# registration.  amal registered one offline under the old pack, and noted
# a case: her next sync is told to update, rebuilds her copy under the new
# pack, then sends both; the note applies, and the registration is
# screened by the new pack's registration.lua on the server (not
# registered: a child of 13 no longer meets the criteria), as it would be
# online.
cp -R "$SRC/rules/default" "$WORK/pack2"
sed -i 's/^version: .*/version: "2.0.0"/' "$WORK/pack2/pack.yaml"
sed -i 's/if age ~= nil and age >= 18 then/if age ~= nil and age >= 10 then/' "$WORK/pack2/registration.lua"
rm -f "$WORK/pack2/tests/registration_test.lua" # (its cases expect the old age)
on "$LA" amal --now 2026-11-30T13:00:00Z register child.name=Karimova child.age=13 child.sex=female \
    source=school concerns=neglect consent.registration=caregiver location=Hillside
expect_rc 0 "offline: a registration the new pack will screen out"
on "$LA" amal --now 2026-11-30T13:10:00Z note "$R1" text="Noor settled at school"
expect_rc 0 "offline: a note before the pack changes"
run --db "$HAVEN_DB" --as admin rules apply "$WORK/pack2"
expect_rc 0 "the administrator applies pack 2.0.0 on the server"
NEWHASH=$(sql "SELECT hash FROM rule_packs ORDER BY id DESC LIMIT 1")
OLDHASH=$(sqlite3 "$LA" "SELECT hash FROM rule_packs ORDER BY id DESC LIMIT 1")
[ "$OLDHASH" != "$NEWHASH" ] && pass || failt "the copy still has the old pack"
clock 2026-11-30T14:00:00Z
sync_as amal "$LA"
expect_rc 0 "the sync updates the copy, then sends"
[ "$(sqlite3 "$LA" "SELECT hash FROM rule_packs ORDER BY id DESC LIMIT 1")" = "$NEWHASH" ] &&
    pass || failt "the copy runs the server's new pack after the sync"
n=$(sql "SELECT count(*) FROM events WHERE kind = 'note_added'
         AND json_extract(data, '\$.offline.device') = 'tab-amal'
         AND at = strftime('%s', '2026-11-30T13:10:00Z')")
[ "$n" -eq 1 ] && pass || failt "the note made before the update applied once ($n)"
st=$(sql "SELECT status FROM cases WHERE registered_at = strftime('%s', '2026-11-30T13:00:00Z')")
[ "$st" = not_registered ] && pass ||
    failt "the offline registration was screened by the new pack on the server (status '$st')"

# ---- a revoked device ----------------------------------------------------------
XDG_CONFIG_HOME=$(cfg_of admin) run --server "$HTTPS_URL" device revoke tab-bilal
expect_rc 0 "the administrator revokes bilal's tablet"
on "$LB" bilal --now 2026-11-30T13:00:00Z note "$R3" text="offline note"
sync_as bilal "$LB"
expect_rc 77 "a revoked device is refused"
[ ! -e "$LB.key" ] && pass || failt "the revoked copy's key is wiped"
on "$LB" bilal show "$R3"
no_text Linaqvist "$OUT" "nothing of the revoked copy can be read"

for db in "$LA"; do
    "$HAVEN" --db "$db" audit verify >/dev/null 2>"$WORK/v.err" && pass ||
        failt "audit verify on $db: $(cat "$WORK/v.err")"
done
stop_server
finish
