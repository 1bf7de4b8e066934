#!/bin/sh
# havend end to end (issue 16): a request body larger than max_body is
# refused (HTTP 413, {"exit":65}) whether it says its length
# (Content-Length) or not (chunked), before authentication and without the
# daemon keeping it: after 50 bodies of 8 MiB its resident memory has not
# grown more than a few MiB over its value after a warm-up.  A body within
# the limit still works.
. "$HAVEN_SOURCE_DIR/tests/cli/lib.sh"
. "$SRC/tests/server/lib_server.sh"
live_db
# A sanitizer build keeps freed memory in quarantine (256 MiB by default),
# which would hide or fake growth: the daemon runs without one here.
if [ -n "${HAVEN_SANITIZED:-}" ] && [ "${HAVEN_SANITIZED}" != OFF ]; then
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
    export ASAN_OPTIONS
fi
start_server
# ---- nobody unauthenticated gets a body kept: 16 bodies of 3 MiB (under the
# default max_body of 4 MiB) at once, first thing after start (before any
# Argon2 hash, whose 64 MiB would set the peak), without a token are refused (401, 77) and the daemon's
# peak memory does not grow by their size ----------------------------------
head -c 3000000 /dev/zero | tr '\0' 'a' | sed 's/^/{"argv":["list"],"pad":"/; s/$/"}/' >"$WORK/mid.json"
P0=$(awk '/^VmHWM:/ {print $2}' "/proc/$HPID/status")
i=0
pids=
while [ $i -lt 16 ]; do
    curl -s --max-time 60 --cacert "$WORK/cert.pem" -H 'Content-Type: application/json' \
        -o "$WORK/un.$i" -w '%{http_code}' --data-binary "@$WORK/mid.json" \
        "$HTTPS_URL/v1/run" >"$WORK/un.code.$i" 2>/dev/null &
    pids="$pids $!"
    i=$((i + 1))
done
# shellcheck disable=SC2086
wait $pids
i=0
while [ $i -lt 16 ]; do
    [ "$(cat "$WORK/un.code.$i")" = 401 ] && grep -q '"exit":77' "$WORK/un.$i" && pass ||
        failt "an unauthenticated body $i: HTTP $(cat "$WORK/un.code.$i")"
    i=$((i + 1))
done
P1=$(awk '/^VmHWM:/ {print $2}' "/proc/$HPID/status")
echo "peak RSS before ${P0} kB, after 16 unauthenticated bodies ${P1} kB"
[ $((P1 - P0)) -le 16384 ] && pass || failt "the peak grew from $P0 to $P1 kB"
stop_server
[ "$STOP_RC" = 0 ] && pass || failt "havend stopped with $STOP_RC"

start_server "max_body = 65536"
enrol amal "amal-correct-horse-1"
T=$(token_of amal)



# an 8 MiB JSON body, and one just over the limit
{ printf '{"argv":["note","CP-2026-00001","text='; head -c 8388608 /dev/zero | tr '\0' a
  printf '"]}'; } >"$WORK/big.json"
{ printf '{"argv":["list"],"pad":"'; head -c 65536 /dev/zero | tr '\0' b; printf '"}'; } \
    >"$WORK/over.json"

# big MODE FILE: POST FILE to /v1/run ("length": Content-Length; "chunked")
big() {
    te='X-None: 1'
    [ "$1" = chunked ] && te='Transfer-Encoding: chunked'
    printf 'Authorization: Bearer %s\n' "$T" |
        curl -s --max-time 120 --cacert "$WORK/cert.pem" -H @- -H "$te" \
            -H 'Content-Type: application/json' -o "$WORK/api.body" -w '%{http_code}' \
            --data-binary "@$2" "$HTTPS_URL/v1/run" >"$WORK/api.code" 2>/dev/null
    CODE=$(cat "$WORK/api.code")
    BODY="$WORK/api.body"
}
# too_large WHAT: 413 with exit 65 in the body
too_large() {
    expect_code 413 "$1"
    [ "$(json_get "$BODY" '$.exit')" = 65 ] && pass || failt "$1: body $(head -c 200 "$BODY")"
}

big length "$WORK/over.json"
too_large "a body 1 byte over max_body (Content-Length)"
big chunked "$WORK/over.json"
too_large "a body 1 byte over max_body (chunked)"
big length "$WORK/big.json"
too_large "an 8 MiB body (Content-Length)"
big chunked "$WORK/big.json"
too_large "an 8 MiB body (chunked)"
# without a token too: the size is checked first
printf 'X-None: 1\n' | curl -s --max-time 120 --cacert "$WORK/cert.pem" -H @- \
    -H 'Transfer-Encoding: chunked' -o "$WORK/api.body" -w '%{http_code}' \
    --data-binary "@$WORK/big.json" "$HTTPS_URL/v1/login" >"$WORK/api.code" 2>/dev/null
CODE=$(cat "$WORK/api.code")
too_large "an 8 MiB login body without a token (chunked)"
api "$T" POST /v1/run '{"argv":["list"]}'
expect_code 200 "a small body still works"

# ---- memory: warm up, then 50 oversized bodies ------------------------------------
for i in 1 2 3 4 5; do big length "$WORK/big.json"; big chunked "$WORK/big.json"; done
api "$T" POST /v1/run '{"argv":["list"]}'
R0=$(rss_kb "$HPID")
i=0
while [ $i -lt 25 ]; do
    big length "$WORK/big.json"
    [ "$CODE" = 413 ] || failt "oversized body $i (Content-Length): HTTP $CODE"
    big chunked "$WORK/big.json"
    [ "$CODE" = 413 ] || failt "oversized body $i (chunked): HTTP $CODE"
    i=$((i + 1))
done
api "$T" POST /v1/run '{"argv":["list"]}'
expect_code 200 "the daemon still answers after 50 oversized bodies"
R1=$(rss_kb "$HPID")
# a few MiB (a sanitizer build's allocator keeps a little more)
limit=$((6 * 1024))
[ -n "${HAVEN_SANITIZED:-}" ] && [ "${HAVEN_SANITIZED}" != OFF ] && limit=$((16 * 1024))
echo "VmRSS after warm-up ${R0} kB, after 50 x 8 MiB ${R1} kB (limit +${limit} kB)"
[ $((R1 - R0)) -le $limit ] && pass ||
    failt "the daemon grew from $R0 kB to $R1 kB over 50 oversized bodies"

stop_server
[ "$STOP_RC" = 0 ] && pass || failt "havend stopped with $STOP_RC"
finish
