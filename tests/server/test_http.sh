#!/bin/sh
# havend end to end (issue 16): the HTTP surface and operations.
# GET /v1/health answers without authentication; every answer carries
# Cache-Control: no-store and no Access-Control-Allow-Origin (CORS off,
# also for a preflight); a GET with a case name in the URL is no route;
# --as and --now are refused remotely (64), by the client and by the server
# (a raw POST /v1/run with them in argv); `havend --check-config` exits 78
# with one line naming the problem (an unknown key, plain http off the
# loopback, a database others can read) and 0 on a good configuration;
# SIGTERM while a request runs: the request gets its answer, the daemon
# exits 0.
. "$HAVEN_SOURCE_DIR/tests/cli/lib.sh"
. "$SRC/tests/server/lib_server.sh"
live_db

# ---- --check-config --------------------------------------------------------------
# check WHAT CODE PATTERN [LINE...]: havend --check-config on the test's
# configuration plus LINEs exits CODE with one line matching PATTERN.
check() {
    what=$1 code=$2 pat=$3
    shift 3
    write_conf "$@"
    "$HAVEND" --config "$HCONF" --check-config >"$WORK/cc.out" 2>"$WORK/cc.err"
    RC=$?
    ERR="$WORK/cc.err"
    expect_rc "$code" "check-config: $what"
    if [ "$code" != 0 ]; then
        [ "$(wc -l <"$WORK/cc.err")" -eq 1 ] && grep -Eq -- "$pat" "$WORK/cc.err" && pass ||
            failt "check-config $what: not one line matching /$pat/: $(cat "$WORK/cc.err")"
    fi
}
check "a good configuration" 0 ''
check "an unknown key" 78 'colour: unknown key' "colour = blue"
check "plain http off the loopback" 78 'listen_http: plain HTTP only on the loopback' \
    "listen_http = 0.0.0.0:8080"
check "a bad number" 78 'threads' "threads = many"
chmod 644 "$HAVEN_DB"
check "a database others can read" 78 'db: .*readable by other accounts' 
chmod 600 "$HAVEN_DB"
chmod 640 "$HAVEN_DB.key"
check "a data key others can read" 78 'haven.db.key: readable by other accounts'
chmod 600 "$HAVEN_DB.key"
check "half an OIDC configuration" 78 'oidc' "oidc_issuer = https://idp.example.test"
check "a good configuration again" 0 ''
# the daemon itself refuses a bad configuration the same way
write_conf "colour = blue"
"$HAVEND" --config "$HCONF" >"$WORK/d.out" 2>"$WORK/d.err"
RC=$?
expect_rc 78 "havend on a bad configuration"

start_server
enrol amal "amal-correct-horse-1"
T=$(token_of amal)
as amal register child.name=Zarafshanova child.age=12 child.sex=female source=school \
    concerns=emotional_distress consent.registration=caregiver location=Riverside
expect_rc 0 "register"
REF=$(cat "$OUT")

# ---- health, headers, CORS ------------------------------------------------------
api "" GET /v1/health
expect_code 200 "GET /v1/health without a token"
[ "$(json_get "$BODY" '$.status')" = ok ] && pass || failt "health: $(cat "$BODY")"
# headers HTTP-WHAT: no-store, no CORS
headers() {
    grep -qi '^Cache-Control: no-store' "$HDRS" && pass || failt "$1: no Cache-Control: no-store"
    grep -qi '^Access-Control-' "$HDRS" && failt "$1: a CORS header" || pass
    grep -qi '^Set-Cookie' "$HDRS" && failt "$1: a cookie" || pass
}
headers "health"
api "$T" GET "/v1/cases/$REF"
expect_code 200 "GET /v1/cases/REF"
headers "a case"
api "" GET "/v1/cases/$REF"
expect_code 401 "GET /v1/cases/REF without a token"
headers "a refusal"
printf 'Origin: https://evil.example\nAccess-Control-Request-Method: POST\n' |
    curl -s --max-time 30 --cacert "$WORK/cert.pem" -H @- -X OPTIONS -D "$WORK/api.hdrs" \
        -o "$WORK/api.body" -w '%{http_code}' "$HTTPS_URL/v1/run" >"$WORK/api.code"
CODE=$(cat "$WORK/api.code") HDRS="$WORK/api.hdrs" BODY="$WORK/api.body"
[ "$CODE" != 200 ] && [ "$CODE" != 204 ] && pass || failt "a CORS preflight got $CODE"
headers "a CORS preflight"
printf 'Authorization: Bearer %s\nOrigin: https://evil.example\n' "$T" |
    curl -s --max-time 30 --cacert "$WORK/cert.pem" -H @- -D "$WORK/api.hdrs" \
        -o "$WORK/api.body" "$HTTPS_URL/v1/cases/$REF"
headers "a request with an Origin"

# ---- no case content in URLs -------------------------------------------------------
for path in "/v1/cases/Zarafshanova" "/v1/search/Zarafshanova" "/v1/search?name=Zarafshanova" \
            "/v1/cases?name=Zarafshanova" "/v1/cases/$REF/Zarafshanova" "/v1/show/$REF"; do
    api "$T" GET "$path"
    [ "$CODE" = 404 ] && pass || failt "GET $path: HTTP $CODE, want 404"
    no_text Zarafshanova "$BODY" "GET $path"
done
no_text Zarafshanova "$HLOG" "the daemon's log"

# ---- --as and --now: refused remotely ---------------------------------------------
as amal --as bilal show "$REF"
expect_rc 64 "--as over --server"
expect_err '^haven: --as: not over --server' "--as message"
as amal --now 2026-11-28T09:00:00Z due
expect_rc 64 "--now over --server"
for argv in '["--as","bilal","show","'"$REF"'"]' '["show","--as","bilal","'"$REF"'"]' \
            '["due","--now","2026-11-28T09:00:00Z"]' '["--now","2026-11-28T09:00:00Z","due"]' \
            '["list","--db","/tmp/other.db"]'; do
    api "$T" POST /v1/run "{\"argv\":$argv}"
    expect_code 400 "raw /v1/run $argv"
    [ "$(json_get "$BODY" '$.exit')" = 64 ] && pass || failt "raw /v1/run $argv: $(cat "$BODY")"
done
[ "$(nevents "actor = 'bilal'")" = 0 ] && pass || failt "something ran as bilal"

# ---- graceful shutdown: a request in flight gets its answer -------------------------
# the body arrives 2 s after the headers; SIGTERM comes in between
(sleep 2; printf '{"argv":["show","%s"]}' "$REF") |
    { printf 'Authorization: Bearer %s\n' "$T" >"$WORK/hdr"
      curl -s --max-time 60 --cacert "$WORK/cert.pem" -H @"$WORK/hdr" \
          -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/json' \
          -X POST -T - -o "$WORK/slow.body" -w '%{http_code}' "$HTTPS_URL/v1/run" \
          >"$WORK/slow.code" 2>"$WORK/slow.err"; } &
SLOW=$!
sleep 1
t0=$(date +%s)
stop_server
wait $SLOW
[ "$STOP_RC" = 0 ] && pass || failt "havend stopped with $STOP_RC"
[ "$(cat "$WORK/slow.code")" = 200 ] && pass ||
    failt "the request in flight got HTTP $(cat "$WORK/slow.code"): $(cat "$WORK/slow.err")"
[ "$(json_get "$WORK/slow.body" '$.exit')" = 0 ] && grep -q Zarafshanova "$WORK/slow.body" &&
    pass || failt "the request in flight's answer: $(head -c 200 "$WORK/slow.body")"
[ ! -e "$SOCK" ] && pass || failt "the socket file is left after a clean stop"
rm -f "$WORK/hdr"
finish
