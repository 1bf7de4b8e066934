#!/bin/sh
# haven sync (issue 18), the laptop's side, against a stand-in for the
# server's POST /v1/sync (fake_sync_server.py: it checks each entry's chain
# and HMAC itself, from SYNC-SPEC.md's ENTRY rule): the first sync enrols
# the device and builds an encrypted copy (key 0600) of the caseload; work
# on the copy (a note, an assessment, an offline registration) is sent by
# the next sync, with the URL remembered; nothing new sends nothing; a
# sync killed after the server answered (before the acknowledgement)
# resends the change, which the server takes once; a sync killed before
# the rebuilt copy is swapped in loses nothing; a server wanting an update
# gets the copy rebuilt first and the change sent after; a revoked device's
# copy has its key wiped (77).  Seed 001 (Noor).
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null 2>&1 || { echo "no python3: skipped"; exit 0; }
unset HAVEN_SERVER HAVEN_TOKEN HAVEN_FAULT
export XDG_CONFIG_HOME="$WORK/cfg"
init_db
register_noor
REF=$(sql "SELECT ref FROM cases")
run --as sara --now "$T0" export --format json --override offline_test --out "$WORK/caseload.json"
expect_rc 0 "the server's caseload export"

mkdir fake
python3 "$SRC/tests/cli/fake_sync_server.py" "$WORK/fake" CODE-123 \
    "$SRC/workflows/iasc.yaml" "$WORK/caseload.json" "$HAVEN_DB" 2>fake.log &
FAKE=$!
trap 'kill $FAKE 2>/dev/null; rm -rf "$WORK"' EXIT
i=0
while [ ! -s fake/port ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
[ -s fake/port ] || { echo "the fake server did not start: $(cat fake.log)" >&2; exit 1; }
URL="http://127.0.0.1:$(cat fake/port)"
LAP="$WORK/laptop.db"
applied() { wc -l <fake/applied.log 2>/dev/null || echo 0; }

# ---- the first sync: enrol and check out --------------------------------------------
run --db "$LAP" sync --device lap1
expect_rc 64 "a first sync without a code"
expect_err "needs --device NAME --code CODE" "a first sync without a code: says so"
run --server "$URL" --db "$LAP" sync --device lap1 --code WRONG
expect_rc 77 "a wrong enrolment code"
[ ! -e "$LAP" ] && pass || failt "a refused enrolment made a copy"
run --server "$URL" --db "$LAP" sync --device lap1 --code CODE-123
expect_rc 0 "the first sync"
expect_out "^sent 0 changes: 0 applied, 0 queued as conflicts; caseload: 1 case \(1 new, 0 changed, 0 gone\)$" \
    "the first sync's summary"
[ "$(stat -c %a "$LAP.key")" = 600 ] && pass || failt "the copy's key file is not 0600"
[ ! -e "$LAP.enrol" ] && pass || failt "the enrolment's secret was left beside the copy"
[ "$(sqlite3 "$LAP" "SELECT count(*) FROM cases WHERE ref = '$REF'")" = 1 ] && pass ||
    failt "the copy lacks the caseload"
no_text "Riverside" "$LAP" "the child's location in the copy's file (not sealed)"

# ---- offline work, then the next sync (URL remembered) ------------------------------
T1=2026-11-28T11:00:00Z
run --db "$LAP" --now "$T1" note "$REF" "text=Home visit: mother Amal present"
expect_rc 0 "a note on the copy"
run --db "$LAP" --now "$T1" assess "$REF" kind=initial safety=ok needs=psychosocial_support
expect_rc 0 "an assessment on the copy"
run --db "$LAP" --now "$T1" register child.name=Samiyah child.age=7 child.sex=female \
    source=community concerns=neglect consent.registration=caregiver location=Hillside
expect_rc 0 "a registration on the copy"
expect_out "OFF-L-000003" "an offline registration gets a local ref"
[ "$(sqlite3 "$LAP" "SELECT count(*) FROM sync_outbox WHERE sent = 0")" = 3 ] && pass ||
    failt "the outbox does not hold the three changes"
no_text "Samiyah" "$LAP" "an offline registration's name in the copy's file"
no_text "mother Amal present" "$LAP" "a note's text in the outbox (not sealed)"
run --db "$LAP" --as _device audit verify
expect_rc 0 "the copy's audit trail verifies"
run --db "$LAP" sync
expect_rc 0 "the second sync"
expect_out "^sent 3 changes: 3 applied, 0 queued as conflicts; caseload: 1 case \(0 new, 0 changed, 0 gone\)$" \
    "the second sync's summary"
[ "$(applied)" = 3 ] && pass || failt "the server applied $(applied) entries, want 3"
grep -q "^3 register OFF-L-000003$" fake/applied.log && pass || failt "the registration not sent"
[ "$(sqlite3 "$LAP" "SELECT count(*) FROM sync_outbox")" = 0 ] && pass ||
    failt "sent entries carried into the rebuilt copy"
run --db "$LAP" sync
expect_out "^sent 0 changes" "nothing new sends nothing"

# ---- killed after the server answered: the next sync resends, applied once ------------
run --db "$LAP" --now "$T1" note "$REF" "text=Second visit"
HAVEN_FAULT=sync:after-upload "$HAVEN" --db "$LAP" sync >/dev/null 2>&1
[ $? -eq 137 ] && pass || failt "HAVEN_FAULT=sync:after-upload did not kill the sync"
[ "$(applied)" = 4 ] && pass || failt "the server did not apply the 4th entry"
run --db "$LAP" sync
expect_rc 0 "the sync after a kill"
expect_out "^sent 1 change: 1 applied" "the unacknowledged change is sent again"
[ "$(applied)" = 4 ] && pass || failt "the resent change was applied twice"

# ---- killed before the rebuilt copy is swapped in: nothing lost -----------------------
run --db "$LAP" --now "$T1" note "$REF" "text=Third visit"
HAVEN_FAULT=sync:before-upload "$HAVEN" --db "$LAP" sync >/dev/null 2>&1
[ $? -eq 137 ] && pass || failt "HAVEN_FAULT=sync:before-upload did not kill the sync"
HAVEN_FAULT=sync:before-swap "$HAVEN" --db "$LAP" sync >/dev/null 2>&1
[ $? -eq 137 ] && pass || failt "HAVEN_FAULT=sync:before-swap did not kill the sync"
[ -n "$(ls -d "$LAP".sync-* 2>/dev/null)" ] && pass || failt "no build folder left by the kill"
[ "$(applied)" = 5 ] && pass || failt "the 5th entry was not applied before the swap"
run --db "$LAP" --now "$T1" note "$REF" "text=Fourth visit"
expect_rc 0 "the copy still works after a kill before the swap"
run --db "$LAP" sync
expect_rc 0 "the sync after a kill before the swap"
expect_out "^sent 1 change: 1 applied" "only the new change is sent"
[ "$(applied)" = 6 ] && pass || failt "the server has $(applied) entries, want 6"

# ---- the server's versions changed: rebuilt first, then sent ----------------------------
run --db "$LAP" --now "$T1" note "$REF" "text=Fifth visit"
touch fake/update_once
run --db "$LAP" sync
expect_rc 0 "a sync that updates the copy first"
expect_out "^sent 1 change: 1 applied" "the change is sent after the update"
[ "$(applied)" = 7 ] && pass || failt "the server has $(applied) entries, want 7"

# ---- revoked: the key is wiped ---------------------------------------------------------
touch fake/revoke
run --db "$LAP" sync
expect_rc 77 "a revoked device's sync"
grep -q "revoked" "$ERR" && pass || failt "the refusal does not say revoked"
[ ! -e "$LAP.key" ] && pass || failt "the revoked copy's key is still there"
[ -z "$(ls -d "$LAP".sync-* 2>/dev/null)" ] && pass ||
    failt "a build folder a kill left (with its key) survived the wipe"
run --db "$LAP" --now "$T1" note "$REF" "text=after revocation"
expect_rc 77 "nothing can be written on a wiped copy"
finish
