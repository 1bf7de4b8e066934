#!/bin/sh
# havend end to end (issue 18): POST /v1/sync, the route of a laptop's
# `haven sync`.  It is authenticated on the headers like every route (no
# token: 401 and the body dropped; the Unix peer's mapped OS login
# authenticates), its body has its own limit (max_sync_body; over it: 413,
# exit 65), a body that is not a JSON object is refused 400/65 with a
# message that quotes none of it, and the log has the route and the
# outcome, never the body.  With the engine's side: an enrol op with a
# wrong code is refused 403/77 and audited; the right code answers a
# device secret once; a revoked device is refused with its answer; 20
# wrong codes from an address block its enrol ops (401, audited).
. "$HAVEN_SOURCE_DIR/tests/cli/lib.sh"
. "$SRC/tests/server/lib_server.sh"
live_db
start_server "max_sync_body = 65536"
enrol amal "amal-correct-horse-1"
T=$(token_of amal)
MARK=Zarafshanova-7731   # text of a body: in no answer, no log line
secret "$MARK"

# ---- authentication comes first ---------------------------------------------
api "" POST /v1/sync "{\"op\":\"checkout\",\"device\":\"lap-1\",\"secret\":\"$MARK\"}"
expect_code 401 "no token: POST /v1/sync"
grep -q '"exit":77' "$BODY" && pass || failt "no token: exit not 77: $(cat "$BODY")"
grep -qi '^WWW-Authenticate: Bearer' "$HDRS" && pass || failt "401 without WWW-Authenticate"
api "hv1.not-a-real-token-at-all-00000000000000000000" POST /v1/sync '{"op":"enrol"}'
expect_code 401 "an unknown token: POST /v1/sync"
# an unauthenticated body over the limit is refused as unauthenticated (the
# body was never kept), not sized
{ printf '{"op":"upload","pad":"'; head -c 70000 /dev/zero | tr '\0' x; printf '"}'; } \
    >"$WORK/over.json"
curl -s --max-time 60 --cacert "$WORK/cert.pem" -H 'Content-Type: application/json' \
    -o "$WORK/un.body" -w '%{http_code}' --data-binary "@$WORK/over.json" \
    "$HTTPS_URL/v1/sync" >"$WORK/un.code"
[ "$(cat "$WORK/un.code")" = 401 ] && pass ||
    failt "an unauthenticated oversized body: HTTP $(cat "$WORK/un.code"), want 401"

# ---- the body's limit (max_sync_body = 64 KiB here) ------------------------------
api_file "$T" POST /v1/sync "$WORK/over.json"
expect_code 413 "a body over max_sync_body"
grep -q '"exit":65' "$BODY" && grep -q 'too large' "$BODY" && pass ||
    failt "413 body: $(cat "$BODY")"
# the limit is the sync route's own: /v1/run keeps max_body (4 MiB), so the
# same size there is read and answered (not a JSON command: 400, exit 64)
{ printf '{"argv":["whoami"],"pad":"'; head -c 70000 /dev/zero | tr '\0' x; printf '"}'; } \
    >"$WORK/run.json"
api_file "$T" POST /v1/run "$WORK/run.json"
[ "$CODE" != 413 ] && pass || failt "/v1/run took max_sync_body as its limit"

# ---- a body that is not a JSON object: 400, exit 65, none of it quoted ---------
for body in "{\"op\":\"enrol\",\"device\":\"lap-1\",\"code\":\"$MARK" \
            "[\"$MARK\"]" "\"$MARK\"" "$MARK" \
            "{\"op\":\"enrol\",\"code\":\"$MARK\",\"code\":\"dup\"}"; do
    api "$T" POST /v1/sync "$body"
    expect_code 400 "malformed body ${body%%$MARK*}..."
    grep -q '"exit":65' "$BODY" && pass || failt "malformed body: exit: $(cat "$BODY")"
    grep -q "sync: the body is not a JSON object" "$BODY" && pass ||
        failt "malformed body: message: $(cat "$BODY")"
    no_text "$MARK" "$BODY" "the refusal of a malformed body"
done
# an empty body, and a NUL inside an object
api "$T" POST /v1/sync ""
expect_code 400 "an empty body"
printf '{"op":"enrol","code":"a\000b"}' >"$WORK/nul.json"
api_file "$T" POST /v1/sync "$WORK/nul.json"
expect_code 400 "a body with a NUL byte"
# only POST
api "$T" GET /v1/sync
expect_code 404 "GET /v1/sync"

# ---- the Unix socket: the peer's mapped OS login authenticates -------------
unix_sync() {
    curl -s --max-time 60 --unix-socket "$SOCK" -H 'Content-Type: application/json' \
        -o "$WORK/unix.body" -w '%{http_code}' --data-binary "$1" \
        http://localhost/v1/sync >"$WORK/unix.code"
    CODE=$(cat "$WORK/unix.code")
    BODY="$WORK/unix.body"
}
unix_sync '{"op":"enrol"'
expect_code 401 "an unmapped Unix peer"
ME=$(id -un)
run --as admin user map amal --os-login "$ME"
expect_rc 0 "map the test's OS login to amal"
unix_sync "{\"op\":\"enrol\",\"code\":\"$MARK\""
expect_code 400 "a mapped Unix peer is authenticated (its malformed body is read: 400)"
no_text "$MARK" "$BODY" "the Unix peer's refusal"

# ---- with the engine (hv_sync_serve) ------------------------------------------------
run --as admin device enrol lap-amal --user amal --json
expect_rc 0 "device enrol lap-amal"
CODE_LAP=$(json_get "$OUT" '$.code')
[ -n "$CODE_LAP" ] && pass || failt "device enrol printed no code: $(cat "$OUT")"
secret "$CODE_LAP"
n0=$(last_event)
api "$T" POST /v1/sync "{\"op\":\"enrol\",\"device\":\"lap-amal\",\"code\":\"WRONG-$MARK\"}"
expect_code 403 "an enrol op with a wrong code"
grep -q '"exit":77' "$BODY" && pass || failt "wrong code: exit: $(cat "$BODY")"
no_text "$MARK" "$BODY" "the wrong code's refusal"
[ "$(nevents "seq > $n0 AND data LIKE '%$MARK%'")" = 0 ] && pass ||
    failt "the wrong code is in an event"
api "$T" POST /v1/sync "{\"op\":\"enrol\",\"device\":\"lap-amal\",\"code\":\"$CODE_LAP\"}"
expect_code 200 "the enrol op with the right code"
S=$(json_get "$BODY" '$.secret')
case $S in
????????????????????????????????????????????????????????????????) pass ;;
*) failt "enrol answered no 64-hex secret: $(head -c 200 "$BODY")" ;;
esac
secret "$S"
api "$T" POST /v1/sync "{\"op\":\"enrol\",\"device\":\"lap-amal\",\"code\":\"$CODE_LAP\"}"
expect_code 403 "the code again (it is used up)"
# another user's token cannot use amal's device
enrol sara "sara-correct-horse-3"
TS=$(token_of sara)
api "$TS" POST /v1/sync "{\"op\":\"checkout\",\"device\":\"lap-amal\",\"secret\":\"$S\",\"have\":{}}"
expect_code 403 "sara's token with amal's device"

# ---- a real conflict through the front ends: the laptop's note on a case
# that changed on the server since its copy is queued; sara sees both sides
# in `conflicts` and a line in `due`, and resolves it over --server ---------
CHILD=Qaraqalpaq-5512
secret "$CHILD"
as amal register "child.name=$CHILD" child.age=9 child.sex=male source=school \
    concerns=emotional_distress consent.registration=caregiver location=Riverside
expect_rc 0 "amal registers a case over the server"
REF=$(head -1 "$OUT")
api "$T" POST /v1/sync "{\"op\":\"checkout\",\"device\":\"lap-amal\",\"secret\":\"$S\",\"have\":{}}"
expect_code 200 "amal's device checks out"
V=$(json_get "$BODY" "\$.server_versions.\"$REF\"")
VERS=$(json_get "$BODY" '$.versions')
[ -n "$V" ] && [ -n "$VERS" ] && pass || failt "the checkout lacks the case's version or versions"
as amal note "$REF" "text=online after the copy"
expect_rc 0 "the case changes on the server after the copy"
AT=$(( $(date +%s) - 60 ))
J="{\"at\":$AT,\"base_version\":$V,\"input\":\"offline visit: all well\",\"kind\":\"note\",\"prev\":\"\",\"ref\":\"$REF\",\"seq\":1,\"step\":null,\"user\":\"amal\"}"
H=$(printf '\n%s' "$J" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$S" -r | cut -d' ' -f1)
printf '{"op":"upload","device":"lap-amal","secret":"%s","versions":%s,"entries":[%s],"head":"%s"}' \
    "$S" "$VERS" "${J%\}},\"hash\":\"$H\"}" "$H" >"$WORK/upload.json"
api_file "$T" POST /v1/sync "$WORK/upload.json"
expect_code 200 "the upload"
[ "$(json_get "$BODY" '$.results[0].outcome')" = conflict ] && pass ||
    failt "the stale note was not queued: $(head -c 300 "$BODY")"
CID=$(json_get "$BODY" '$.results[0].conflict')
as sara conflicts
expect_rc 0 "sara: conflicts over --server"
expect_out "^conflict #$CID on $REF: waiting for a decision since 20[0-9-]+T[0-9:]+Z\$" \
    "the conflict's header line"
expect_out "based on version $V; the case is now at version" "the versions of both sides"
expect_out '^  OURS .*\| THEIRS ' "the two sides' headings side by side"
expect_out '^  20[0-9-]+T[0-9:]+Z amal note +\| ' "ours: the laptop's note, its time and author"
expect_out 'text: offline visit: all well +\|' "ours: the note's text in the left column"
expect_out "decide \\(the case's supervisor or a manager\\): haven conflicts resolve $CID --take theirs\\|ours\\|merged" "the hint"
as sara due
expect_rc 0 "sara: due"
expect_out "^conflict #$CID on $REF: waiting for a decision since 20[0-9-]+T[0-9:]+Z\$" \
    "due lists the open conflict"
as sara --json due
[ "$(sqlite3 :memory: "SELECT json_type(readfile('$OUT'))")" = array ] && pass ||
    failt "due --json is no longer the list of tasks"
as amal conflicts
expect_out "^conflict #$CID on $REF" "amal sees her own conflict"
as amal due
no_text "conflict #" "$OUT" "a caseworker's due has no conflict lines"
as amal conflicts resolve "$CID" --take ours
expect_rc 77 "a caseworker cannot resolve"
as sara conflicts resolve "$CID" --take ours --note "checked with amal"
expect_rc 0 "sara takes ours"
expect_out "^conflict #$CID on $REF resolved: the laptop's changes applied \(1 change\)\$" \
    "resolve says what happened"
as sara conflicts
expect_out '^no conflicts waiting$' "the queue is empty"
as sara conflicts --all
expect_out "^conflict #$CID on $REF: resolved" "--all shows the resolved one"
expect_out "resolved: took ours by sara" "who took what"
as sara conflicts resolve "$CID" --take theirs
expect_rc 65 "a resolved conflict cannot be resolved again"
as sara show "$REF"
expect_out 'offline visit: all well' "the laptop's note is on the case"

# ---- `haven sync` (the laptop's client) over this route, end to end: a
# first sync, a note made offline on a case changed since, queued; sara
# merges by hand; the device revoked, its next sync wipes the copy's key ----
run --as admin device enrol lap-e2e --user amal --json
expect_rc 0 "device enrol lap-e2e"
C2=$(json_get "$OUT" '$.code')
secret "$C2"
as amal sync --db "$WORK/laptop.db" --device lap-e2e --code "$C2"
expect_rc 0 "the laptop's first sync through /v1/sync"
expect_out 'caseload: [0-9]+ cases? \([0-9]+ new' "the first sync's summary"
run --db "$WORK/laptop.db" --as amal note "$REF" "text=second offline visit"
expect_rc 0 "a note on the laptop"
as amal note "$REF" "text=online again"
expect_rc 0 "the case changes on the server"
as amal sync --db "$WORK/laptop.db"
expect_rc 0 "the second sync"
expect_out 'sent 1 change: 0 applied, 1 queued as conflicts \(#[0-9]+\)' "the note was queued"
CID2=$(sed -n 's/.*(#\([0-9]*\)).*/\1/p' "$OUT")
as sara conflicts
expect_out "^conflict #$CID2 on $REF: waiting" "sara sees the laptop's conflict"
expect_out 'text: second offline visit +\|' "ours: the laptop's note"
as sara conflicts resolve "$CID2" --take merged --note "merged by hand"
expect_rc 0 "sara merged by hand"
expect_out "^conflict #$CID2 on $REF resolved: merged by hand\$" "resolve merged says so"
run --as admin device list
expect_out '^lap-e2e +amal +[a-z]+ +20[0-9-]+T[0-9:]+Z +20[0-9-]+T[0-9:]+Z +1$' \
    "the list shows lap-e2e's last sync and its last change received"
run --as admin device revoke lap-e2e
expect_rc 0 "revoke lap-e2e"
as amal sync --db "$WORK/laptop.db"
expect_rc 77 "a revoked laptop's sync"
run --as admin device revoke lap-amal
expect_rc 0 "device revoke lap-amal"
api "$T" POST /v1/sync "{\"op\":\"checkout\",\"device\":\"lap-amal\",\"secret\":\"$S\",\"have\":{}}"
expect_code 403 "a revoked device's checkout"
[ "$(json_get "$BODY" '$.status')" = revoked ] && pass ||
    failt "a revoked device's answer lacks status revoked: $(head -c 300 "$BODY")"
grep -q '"exit":77' "$BODY" && pass || failt "revoked: the answer lacks exit 77"

# ---- codes are not guessed: after 20 refused enrol ops from one address, the
# next is refused before the engine (401) and the block audited once --------------
run --as admin device enrol lap-two --user amal
expect_rc 0 "device enrol lap-two"
secret "$(sed -n 's/^code: //p' "$OUT")"
# (the address has already failed 3 times above: a bad token, a wrong and
# a used-up code)
n1=$(last_event)
i=0 blocked=0
while [ $i -lt 25 ] && [ $blocked = 0 ]; do
    api "$T" POST /v1/sync "{\"op\":\"enrol\",\"device\":\"lap-two\",\"code\":\"GUESS-$i\"}"
    i=$((i + 1))
    case $CODE in
    401) blocked=$i ;;
    403) ;;
    *) failt "guess $i: HTTP $CODE, want 403 or 401: $(head -c 200 "$BODY")"; break ;;
    esac
done
[ "$blocked" = 18 ] && pass || failt "enrol guesses blocked after $blocked, want the 18th (20 failures)"
grep -q 'too many failed attempts' "$BODY" && pass || failt "blocked: $(cat "$BODY")"
refused_since "$n1" rate_limited "the block is audited"
# a valid token still syncs from the address (only codes are limited)
api "$T" POST /v1/sync "{\"op\":\"checkout\",\"device\":\"lap-amal\",\"secret\":\"$S\",\"have\":{}}"
expect_code 403 "a checkout from the blocked address still reaches the engine"
[ "$(json_get "$BODY" '$.status')" = revoked ] && pass || failt "checkout after the block: $(head -c 200 "$BODY")"

# ---- the log: the route and its outcome, never the body --------------------------
grep -q '"msg":"sync"' "$HLOG" && pass || failt "no sync line in the log"
grep '"msg":"sync"' "$HLOG" | grep -q '"exit":"65"' && pass ||
    failt "the log lacks the outcome of a refused sync"
no_secrets "POST /v1/sync"
stop_server
[ "$STOP_RC" = 0 ] && pass || failt "havend stopped with $STOP_RC"
finish
