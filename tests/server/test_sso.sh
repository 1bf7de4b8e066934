#!/bin/sh
# havend end to end (issue 16): single sign-on and the Unix socket's peer.
# OIDC: a test issuer's key made here (haven-test-jwt); a good JWT of a
# mapped subject works (whoami via oidc); a JWT of another issuer, one
# signed by another key under the same kid, an expired one, and one of an
# unmapped subject are refused with 77 and audited (bad_jwt, unknown_oidc).
# Peer: a Unix-socket client without a token whose OS login is not mapped
# is refused (77, unmapped_peer); mapped with `user map --os-login`, it works
# without a token (whoami via peer).  No JWT in any event, log or stderr.
. "$HAVEN_SOURCE_DIR/tests/cli/lib.sh"
. "$SRC/tests/server/lib_server.sh"
live_db
ISS="https://idp.example.test/realms/agency"
AUD="haven"
"$HAVEN_TEST_JWT" --gen "$WORK/issuer.jwk" --jwks "$WORK/issuer.jwks" >/dev/null 2>&1 ||
    { echo "haven-test-jwt --gen failed" >&2; exit 1; }
"$HAVEN_TEST_JWT" --gen "$WORK/rogue.jwk" --jwks "$WORK/rogue.jwks" >/dev/null 2>&1 ||
    { echo "haven-test-jwt --gen failed" >&2; exit 1; }
KID=$(sqlite3 :memory: "SELECT json_extract(readfile('$WORK/issuer.jwks'), '\$.keys[0].kid')")
[ -n "$KID" ] && pass || failt "the issuer's key set has no kid"
start_server "oidc_issuer = $ISS" "oidc_audience = $AUD" "oidc_jwks = $WORK/issuer.jwks"

# jwt KEY ISS SUB [ARGS...]: a signed token on stdout (remembered as a secret)
jwt() {
    key=$1 iss=$2 sub=$3
    shift 3
    j=$("$HAVEN_TEST_JWT" --sign "$WORK/$key.jwk" --iss "$iss" --aud "$AUD" --sub "$sub" "$@") ||
        { echo "haven-test-jwt --sign failed" >&2; exit 1; }
    secret "$j"
    echo "$j"
}

# ---- a good token, unmapped, then mapped ---------------------------------------
GOOD=$(jwt issuer "$ISS" sub-amal-42)
n=$(last_event)
with_token "$GOOD" whoami
expect_rc 77 "a good JWT of an unmapped subject"
refused_since "$n" unknown_oidc "an unmapped subject is audited"
run --as admin user map amal --oidc "$ISS|sub-amal-42"
expect_rc 0 "user map amal --oidc"
with_token "$GOOD" whoami
expect_rc 0 "a good JWT of a mapped subject"
expect_out '^amal \(caseworker\) via oidc$' "whoami via oidc"
with_token "$GOOD" list
expect_rc 0 "a command with the JWT"

# ---- refused: another issuer, another key under the same kid, expired -----------
# sso_refused TOKEN REASONS WHAT
sso_refused() {
    n=$(last_event)
    with_token "$1" whoami
    expect_rc 77 "$3"
    no_text "amal (" "$OUT" "$3: whoami answered"
    refused_since "$n" "$2" "$3 is audited"
    cp "$ERR" "$WORK/err.sso.$n"
}
sso_refused "$(jwt issuer "https://evil.example.test" sub-amal-42)" bad_jwt "a JWT of another issuer"
sso_refused "$(jwt rogue "$ISS" sub-amal-42 --kid "$KID")" bad_jwt \
    "a JWT signed by another key with the issuer's kid"
sso_refused "$(jwt issuer "$ISS" sub-amal-42 --exp-in -600)" bad_jwt "an expired JWT"
sso_refused "$(jwt issuer "$ISS" sub-nobody-7)" unknown_oidc "a JWT of an unmapped subject"
# the good token's signature tampered with: its last characters changed
BAD=$(printf '%s' "$GOOD" | sed 's/.....$/AAAAA/')
[ "$BAD" != "$GOOD" ] || BAD=$(printf '%s' "$GOOD" | sed 's/.....$/BBBBB/')
secret "$BAD"
sso_refused "$BAD" bad_jwt "a JWT with a tampered signature"
# the payload swapped for another subject's, the signature kept
OTHER=$(jwt issuer "$ISS" sub-bilal-43)
SPLICE="$(printf '%s' "$OTHER" | cut -d. -f1-2).$(printf '%s' "$GOOD" | cut -d. -f3)"
secret "$SPLICE"
run --as admin user map bilal --oidc "$ISS|sub-bilal-43"
expect_rc 0 "user map bilal --oidc"
sso_refused "$SPLICE" bad_jwt "a JWT with another token's signature"
# a JWT with alg none
NONE="$(printf '{"alg":"none","typ":"JWT"}' | base64 | tr '+/' '-_' | tr -d '=\n').$(printf '%s' "$GOOD" | cut -d. -f2)."
sso_refused "$NONE" "bad_jwt unknown_token" "a JWT with alg none"

# ---- the peer of the Unix socket ---------------------------------------------------
ME=$(id -un)
n=$(last_event)
XDG_CONFIG_HOME="$WORK/cfg-none" run --server "$UNIX_URL" whoami
expect_rc 77 "an unmapped OS login over the socket"
expect_err 'not mapped to a Haven user' "the unmapped peer's message"
refused_since "$n" unmapped_peer "an unmapped peer is audited"
[ "$(nevents "seq > $n AND kind = 'auth_refused' AND instr(data, 'unix:uid=$(id -u)') > 0")" -ge 1 ] &&
    pass || failt "the refusal does not say where from (unix:uid=N)"
run --as admin user map sara --os-login "$ME"
expect_rc 0 "user map sara --os-login $ME"
XDG_CONFIG_HOME="$WORK/cfg-none" run --server "$UNIX_URL" whoami
expect_rc 0 "a mapped OS login over the socket"
expect_out '^sara \(supervisor\) via peer$' "whoami via peer"
# mapping cleared: refused again
run --as admin user map sara
expect_rc 0 "user map sara (cleared)"
XDG_CONFIG_HOME="$WORK/cfg-none" run --server "$UNIX_URL" whoami
expect_rc 77 "an OS login no longer mapped"
# the peer's identity is not taken over HTTPS: no token there is no one
XDG_CONFIG_HOME="$WORK/cfg-none" run --server "$HTTPS_URL" whoami
expect_rc 77 "no token over HTTPS"
api "" GET /v1/whoami
expect_code 401 "no token over HTTPS (HTTP)"

cp "$ERR" "$WORK/err.last"
# ---- an e-mail claim that poses as another user's ISSUER|SUBJECT mapping --------
n=$(last_event)
with_token "$(jwt issuer "$ISS" mallory --email "$ISS|sub-amal-42")" whoami
expect_rc 77 "an e-mail claim shaped like amal's ISSUER|SUBJECT mapping"
no_text "amal (" "$OUT" "the posing e-mail: whoami answered"
refused_since "$n" unknown_oidc "the posing e-mail is audited"
# a verified e-mail mapped as an e-mail works
run --as admin user map bilal --oidc bilal@agency.test
expect_rc 0 "user map bilal --oidc (an e-mail)"
with_token "$(jwt issuer "$ISS" some-other-sub --email Bilal@Agency.test)" whoami
expect_rc 0 "a JWT whose verified e-mail is mapped"
expect_out '^bilal \(caseworker\) via oidc$' "whoami via the e-mail"

stop_server
[ "$STOP_RC" = 0 ] && pass || failt "havend stopped with $STOP_RC"
no_secrets "single sign-on" "$WORK"/err.sso.* "$WORK/err.last"
finish
