#!/bin/sh
# haven --server URL (issue 16), the client side, against a real havend
# ($HAVEND) on a Unix socket and on loopback HTTP (and HTTPS with a
# certificate made here): --as/--now/--db refused (64) before any request,
# bad URLs and plain http off the loopback refused (64), an unreachable
# server 69, an answer that is not JSON 70 (a real non-Haven HTTP server);
# login keeps the token in a 0600 file in a 0700 folder, never printed; a
# token file readable by others is ignored; HAVEN_TOKEN carries an OpenID
# Connect token; logout revokes the token on the server and forgets it here;
# run sends the files a command reads (FILE, -, a rules folder) and writes
# the files it was asked to; exit codes and messages are the local ones;
# enrol sets the password with a one-time code and logs in.
. "$(dirname "$0")/lib.sh"
: "${HAVEND:?set HAVEND to the havend binary}"

export XDG_CONFIG_HOME="$WORK/cfg"
unset HAVEN_TOKEN HAVEN_SERVER HAVEN_CA_FILE
init_db
chmod 600 "$HAVEN_DB"
PASSWORD="correct horse 1"
TOKENS="$XDG_CONFIG_HOME/haven/tokens"
ME=$(id -un)

# The administrator: a code for amal and bilal; the OS login running this
# test is mapped to admin (the Unix socket's peer credentials).
code_of() {
    "$HAVEN" --as admin user enrol "$1" --json | sed -n 's/.*"code": *"\([^"]*\)".*/\1/p'
}
AMAL_CODE=$(code_of amal)
BILAL_CODE=$(code_of bilal)
[ -n "$AMAL_CODE" ] && [ -n "$BILAL_CODE" ] || { echo "no enrolment code" >&2; exit 1; }
"$HAVEN" --as admin user map admin --os-login "$ME" >/dev/null || exit 1

# A test identity provider (haven-test-jwt beside havend): sara is mapped
# to its subject "sara-sub".
JWT=${HAVEN_TEST_JWT:-$(dirname "$HAVEND")/haven-test-jwt}
ISS=https://idp.test
"$JWT" --gen idp.jwk --jwks idp.jwks --alg ES256 && "$JWT" --gen other.jwk --jwks other.jwks ||
    { echo "haven-test-jwt failed" >&2; exit 1; }
"$HAVEN" --as admin user map sara --oidc "$ISS|sara-sub" >/dev/null || exit 1

HTTPS=
if command -v openssl >/dev/null 2>&1 &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
        -keyout key.pem -out cert.pem >/dev/null 2>&1; then
    chmod 600 key.pem
    HTTPS="listen_https = 127.0.0.1:0
tls_cert = $WORK/cert.pem
tls_key = $WORK/key.pem"
fi
SOCK="$WORK/h.sock"
cat >havend.conf <<EOF
db = $HAVEN_DB
listen_unix = $SOCK
listen_http = 127.0.0.1:0
$HTTPS
ready_file = $WORK/ready
idle_exit = 300
token_ttl = 28800
token_idle = 1800
log_level = info
threads = 2
oidc_issuer = $ISS
oidc_audience = haven
oidc_jwks = $WORK/idp.jwks
EOF
"$HAVEND" --config havend.conf </dev/null >havend.log 2>&1 &
DAEMON=$!
trap 'kill $DAEMON 2>/dev/null; rm -rf "$WORK"' EXIT
i=0
while [ ! -s ready ] && kill -0 $DAEMON 2>/dev/null && [ $i -lt 200 ]; do
    sleep 0.05; i=$((i + 1))
done
[ -s ready ] || { echo "havend did not start: $(cat havend.log)" >&2; exit 1; }
U="unix:$SOCK"
PORT=$(sed -n 's/^http 127\.0\.0\.1:\([0-9]*\)$/\1/p' ready)
HTTPS_PORT=$(sed -n 's/^https 127\.0\.0\.1:\([0-9]*\)$/\1/p' ready)
events() { sql "SELECT count(*) FROM events WHERE kind = '$1'"; }

# ---- refused before any request (a server that does not exist: not 69) -------
NONE="unix:$WORK/nothing.sock"
run --server "$NONE" --as bilal show CP-2026-00001
expect_rc 64 "--as over --server"
expect_err '^haven: --as: not over --server \(the server knows who you are\)$' "--as message"
run --server "$NONE" --now "$T0" due
expect_rc 64 "--now over --server"
expect_err '^haven: --now: not over --server' "--now message"
run --server "$NONE" --db "$WORK/other.db" due
expect_rc 64 "--db over --server"
run --server "$NONE" --as bilal whoami
expect_rc 64 "--as with a session command"
# HAVEN_USER and HAVEN_DB (set by lib.sh) are not --as and --db
HAVEN_SERVER="$U" run whoami
expect_rc 0 "HAVEN_USER/HAVEN_DB in the environment do not count as --as/--db"
expect_out "^admin \(administrator\) via peer$" "whoami over the socket without a token: the peer"

for bad in "" "unix:" "ftp://example.org" "https://" "https://ex ample.org" \
           "https://user@example.org" "https://example.org/path" "https://example.org:99999" \
           "http://example.org" "http://10.0.0.1:8080" "http://localhost:8080"; do
    run --server "$bad" due
    expect_rc 64 "bad URL '$bad'"
done
run --server http://example.org due
expect_err 'plain http only to 127.0.0.1 or \[::1\]' "plain http off the loopback"

# ---- cannot connect: 69 --------------------------------------------------------
run --server "$NONE" due
expect_rc 69 "no socket"
expect_err "^haven: $NONE: cannot connect: " "no socket message"
run --server "https://127.0.0.1:1" due
expect_rc 69 "https port closed"

# ---- without --server ------------------------------------------------------------
for c in login logout enrol; do
    run "$c" amal
    expect_rc 64 "$c without --server"
    expect_err "^haven: $c: needs --server \(or HAVEN_SERVER\)$" "$c message"
done
run --as bilal whoami
expect_rc 0 "local whoami"
expect_out '^bilal \(local' "local whoami names the acting user"

# ---- enrol: a one-time code, then the password (>= 10 characters) ----------------
echo "wrong password" >wrong.txt
echo "$PASSWORD" >pw.txt
echo short >short.txt
run --server "$U" enrol amal --code "$AMAL_CODE" --password-stdin <short.txt
[ "$RC" -ne 0 ] && pass || failt "a short password was taken"
[ ! -e "$TOKENS" ] && pass || failt "a refused enrol stored a token"
run --server "$U" enrol amal --code "$BILAL_CODE" --password-stdin <pw.txt
expect_rc 77 "another user's code"
run --server "$U" enrol amal --code "$AMAL_CODE" --password-stdin </dev/null
expect_rc 64 "enrol with nothing to read"
run --server "$U" enrol amal --code "$AMAL_CODE" --password-stdin <pw.txt
expect_rc 0 "enrol"
expect_out "^logged in to $U as amal \(caseworker\) until 20[0-9-]+T[0-9:]+Z$" "enrol logs in"
run --server "$U" enrol amal --code "$AMAL_CODE" --password-stdin <pw.txt
expect_rc 77 "a code is used once"
[ "$(events user_enrolled)" = 1 ] && pass || failt "user_enrolled audited once"

# ---- login: token file 0600 in a 0700 folder, token never printed ----------------
rm -f "$TOKENS"
before=$(events auth_refused)
run --server "$U" login amal --password-stdin <wrong.txt
expect_rc 77 "wrong password"
[ ! -e "$TOKENS" ] && pass || failt "a refused login stored a token"
[ "$(events auth_refused)" -gt "$before" ] && pass || failt "the wrong password is audited"
run --server "$U" login amal --password-stdin <pw.txt
expect_rc 0 "login"
expect_out "^logged in to $U as amal \(caseworker\) until 20[0-9-]+T[0-9:]+Z$" "login message"
TOKEN=$(sed -n "s|^$U \(hv1\.[A-Za-z0-9_-]\{43\}\)\$|\1|p" "$TOKENS")
[ -n "$TOKEN" ] && pass || failt "token line: $(cat "$TOKENS")"
no_text "${TOKEN:-none}" "$OUT" "login stdout"
no_text "${TOKEN:-none}" "$ERR" "login stderr"
[ "$(stat -c %a "$TOKENS")" = 600 ] && pass || failt "token file mode $(stat -c %a "$TOKENS")"
[ "$(stat -c %a "$XDG_CONFIG_HOME/haven")" = 700 ] && pass || failt "token dir mode"
run --server "$U" whoami
expect_out '^amal \(caseworker\) via token$' "whoami with the token"
run --server "$U" --json whoami
[ "$(json_get "$OUT" '$.via')" = token ] && pass || failt "whoami --json: $(cat "$OUT")"

# a second server's login keeps the first's line; a re-login replaces its own
run --server "http://127.0.0.1:$PORT/" login amal --password-stdin <pw.txt
expect_rc 0 "login over loopback http"
[ "$(wc -l <"$TOKENS")" -eq 2 ] && pass || failt "two servers, two lines: $(cat "$TOKENS")"
grep -q "^http://127.0.0.1:$PORT hv1\." "$TOKENS" && pass || failt "URL kept without its final /"
run --server "$U" --json login amal --password-stdin <pw.txt
[ "$(wc -l <"$TOKENS")" -eq 2 ] && pass || failt "re-login adds a line"
[ "$(json_get "$OUT" '$.user')" = amal ] && pass || failt "login --json: $(cat "$OUT")"
[ "$(json_get "$OUT" '$.token')" = "" ] && pass || failt "login --json prints the token"
NEW=$(sed -n "s|^$U \(hv1\..*\)\$|\1|p" "$TOKENS")
[ -n "$NEW" ] && [ "$NEW" != "$TOKEN" ] && pass || failt "re-login: a new token"
[ "$(stat -c %a "$TOKENS")" = 600 ] && pass || failt "token file mode after a re-login"

# a token file readable by others is ignored with a warning (the peer then)
chmod 644 "$TOKENS"
run --server "$U" whoami
expect_out '^admin \(administrator\) via peer$' "a token file readable by others is not used"
grep -q 'readable by others' "$ERR" && pass || failt "no warning: $(cat "$ERR")"
chmod 600 "$TOKENS"

# HAVEN_TOKEN carries another token: an identity provider's, checked by its keys
IDT=$("$JWT" --sign idp.jwk --iss "$ISS" --aud haven --sub sara-sub)
HAVEN_TOKEN="$IDT" run --server "$U" whoami
expect_out '^sara \(supervisor\) via oidc$' "HAVEN_TOKEN is sent"
FORGED=$("$JWT" --sign other.jwk --iss "$ISS" --aud haven --sub sara-sub \
         --kid "$(sed -n 's/.*"kid":"\([^"]*\)".*/\1/p' idp.jwk)")
HAVEN_TOKEN="$FORGED" run --server "$U" whoami
expect_rc 77 "a token signed by another key"
HAVEN_TOKEN="bad token" run --server "$U" whoami
expect_rc 64 "HAVEN_TOKEN with a space"

# over HTTPS: the certificate is checked (HAVEN_CA_FILE for a private CA)
if [ -n "$HTTPS_PORT" ]; then
    run --server "https://127.0.0.1:$HTTPS_PORT" due
    expect_rc 69 "https with a certificate no CA vouches for"
    HAVEN_CA_FILE="$WORK/cert.pem" run --server "https://127.0.0.1:$HTTPS_PORT" \
        login amal --password-stdin <pw.txt
    expect_rc 0 "login over https with HAVEN_CA_FILE"
    HAVEN_CA_FILE="$WORK/cert.pem" run --server "https://127.0.0.1:$HTTPS_PORT" whoami
    expect_out '^amal \(caseworker\) via token$' "whoami over https"
fi

# ---- run: inputs, --json, --purpose; the local answers -------------------------------
cat >case.json <<'JSON'
{"source": "police", "location": "Hilltop", "concerns": ["physical_abuse"],
 "child": {"name": "Omar", "dob": "2016-05-02", "sex": "male"},
 "consent": {"registration": "both", "information_sharing": "caregiver"}}
JSON
run --server "$U" --json register --json-in case.json
expect_rc 0 "register --json-in FILE over --server"
REF=$(json_get "$OUT" '$.ref')
[ -n "$REF" ] && pass || failt "register --json: $(cat "$OUT")"
sed 's/Omar/Yusuf/' case.json >stdin.json
run --server "$U" register --json-in - <stdin.json
expect_rc 0 "register --json-in - over --server"
REF2=$(cat "$OUT")
run --server "$U" --json show "$REF"
[ "$(json_get "$OUT" '$.child.name')" = Omar ] && pass || failt "the file's content reached the server"
cp "$OUT" remote-show.json
run --as amal --json show "$REF"
cmp -s "$OUT" remote-show.json && pass || failt "show --json differs from the local one"
run --server "$U" show "$REF2"
cp "$OUT" remote-show.txt
run --as amal show "$REF2"
cmp -s "$OUT" remote-show.txt && pass || failt "show differs from the local one"
grep -q Yusuf remote-show.txt && pass || failt "standard input reached the server"
n=$(sql "SELECT count(*) FROM events WHERE kind = 'viewed'")
run --server "$U" --purpose court_report show "$REF"
expect_rc 0 "show --purpose"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'viewed' AND json_extract(data, '\$.purpose') = 'court_report'")" = 1 ] &&
    pass || failt "the purpose reached the audit trail"
no_text Omar havend.log "the daemon's log"
run --server "$U" show CP-2026-09999
cp "$ERR" remote.err; rc_remote=$RC
run --as amal show CP-2026-09999
[ "$rc_remote" = "$RC" ] && [ "$rc_remote" = 69 ] && cmp -s "$ERR" remote.err && pass ||
    failt "an unknown case: $rc_remote $(cat remote.err), locally $RC $(cat "$ERR")"
run --server "$U" workflow check "$SRC/workflows/iasc.yaml"
cp "$OUT" remote-wf.txt; cp "$ERR" remote-wf.err; rc_remote=$RC
run --as amal workflow check "$SRC/workflows/iasc.yaml"
[ "$rc_remote" = 0 ] && [ "$RC" = 0 ] && cmp -s "$OUT" remote-wf.txt && pass ||
    failt "workflow check FILE (the file sent): $rc_remote $(head -c 300 remote-wf.txt) $(cat remote-wf.err)"
run --server "$U" workflow check "$WORK/missing.yaml"
expect_rc 66 "workflow check of a file that is not there"
run --server "$U" rules test "$SRC/rules/default"
expect_rc 64 "rules test DIR runs where the pack is"
expect_err 'rules test: not available over --server' "rules test over --server"
printf '\377\376' >binary.json
run --server "$U" register --json-in binary.json
expect_rc 65 "a file that is not UTF-8"

# ---- outputs: written at the paths asked for -----------------------------------------
run --server "$U" export --format json --out out.json
expect_rc 0 "export --out"
[ "$(json_ok out.json)" = 1 ] && grep -q "$REF" out.json && pass || failt "output not written"
[ "$(stat -c %a out.json)" = 600 ] && pass || failt "output mode $(stat -c %a out.json)"
run --server "$U" export --format csv --out csvdir
expect_rc 64 "export --format csv runs where the database is"
[ ! -e csvdir ] && pass || failt "a refused export wrote a folder"
: >cp.txt
run --server "$NONE" audit checkpoint --out cp.txt
expect_rc 73 "audit checkpoint over an existing file (refused before sending)"

# ---- an HTTP server that is not Haven: 70 -------------------------------------------
if command -v python3 >/dev/null 2>&1; then
    mkdir www
    (cd www && exec python3 -u -m http.server --bind 127.0.0.1 0 >../www.log 2>&1) &
    WWW=$!
    trap 'kill $DAEMON $WWW 2>/dev/null; rm -rf "$WORK"' EXIT
    i=0
    while ! grep -q 'port [0-9]' www.log 2>/dev/null && [ $i -lt 100 ]; do
        sleep 0.05; i=$((i + 1))
    done
    WPORT=$(sed -n 's/.* port \([0-9][0-9]*\).*/\1/p' www.log | head -1)
    run --server "http://127.0.0.1:$WPORT" due
    expect_rc 70 "a non-JSON answer"
    expect_err 'not a Haven server' "non-JSON message"
    kill $WWW 2>/dev/null
fi

# ---- logout ------------------------------------------------------------------------
run --server "$U" logout
expect_rc 0 "logout"
expect_out "^logged out of $U\$" "logout message"
grep -q "^$U " "$TOKENS" && failt "logout kept the token" || pass
grep -q "^http://127.0.0.1:$PORT " "$TOKENS" && pass || failt "logout removed another server's token"
[ "$(stat -c %a "$TOKENS")" = 600 ] && pass || failt "token file mode after logout"
[ "$(events auth_logout)" = 1 ] && pass || failt "auth_logout audited"
run --server "$U" logout
expect_out '^not logged in' "logout twice"
# the revoked token is refused, and forgotten even when the server refuses it
echo "$U $NEW" >>"$TOKENS"
run --server "$U" whoami
expect_rc 77 "a revoked token"
run --server "$U" logout
expect_rc 0 "logout of a revoked token"
expect_out 'the server did not take it back' "said so"
grep -q "^$U " "$TOKENS" && failt "a refused logout kept the token" || pass

# no password, code or token in the daemon's log or the audit trail
sqlite3 "$HAVEN_DB" .dump >dump.sql
for secret in "$PASSWORD" "$AMAL_CODE" "$NEW"; do
    no_text "$secret" havend.log "the daemon's log"
    no_text "$secret" dump.sql "the database"
done
finish
