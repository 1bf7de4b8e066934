#!/bin/sh
# haven --server URL (issue 16), the client side, against a stand-in for the
# daemon's wire protocol (tests/server/fake_havend.py): --as/--now/--db
# refused (64), bad URLs and plain http off the loopback refused (64), an
# unreachable server 69, a non-JSON answer 70; login keeps the token in a
# 0600 file in a 0700 folder, never printed; a token file readable by others
# is ignored; logout forgets the token; run sends the files a command reads
# and writes only the files it was asked to; exit codes pass through.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null 2>&1 || { echo "skip: no python3"; exit 0; }

export XDG_CONFIG_HOME="$WORK/cfg"
unset HAVEN_TOKEN HAVEN_SERVER HAVEN_CA_FILE
SOCK="$WORK/fake.sock"
LOG="$WORK/fake.log"
python3 "$SRC/tests/server/fake_havend.py" "$SOCK" "$WORK/port" "$LOG" &
FAKE=$!
trap 'kill $FAKE 2>/dev/null; rm -rf "$WORK"' EXIT
i=0
while [ ! -s "$WORK/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$SOCK" ] || { echo "fake server did not start" >&2; exit 1; }
U="unix:$SOCK"
TOKEN="hv1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
PASSWORD="correct horse 1"
TOKENS="$XDG_CONFIG_HOME/haven/tokens"

# ---- refused before any request ----------------------------------------------
run --server "$U" --as bilal show CP-2026-0001
expect_rc 64 "--as over --server"
expect_err '^haven: --as: not over --server \(the server knows who you are\)$' "--as message"
run --server "$U" --now "$T0" due
expect_rc 64 "--now over --server"
expect_err '^haven: --now: not over --server' "--now message"
run --server "$U" --db "$WORK/other.db" due
expect_rc 64 "--db over --server"
run --server "$U" --as bilal whoami
expect_rc 64 "--as with a session command"
[ ! -s "$LOG" ] && pass || failt "a refused call reached the server: $(cat "$LOG")"
# HAVEN_USER and HAVEN_DB (set by lib.sh) are not --as and --db
HAVEN_SERVER="$U" run whoami
expect_rc 0 "HAVEN_USER/HAVEN_DB in the environment do not count as --as/--db"
expect_out '^peeruser \(administrator\) via peer$' "whoami over the socket without a token: peer"

for bad in "" "unix:" "ftp://example.org" "https://" "https://ex ample.org" \
           "https://user@example.org" "https://example.org/path" "https://example.org:99999" \
           "http://example.org" "http://10.0.0.1:8080" "http://localhost:8080"; do
    run --server "$bad" due
    expect_rc 64 "bad URL '$bad'"
done
run --server http://example.org due
expect_err 'plain http only to 127.0.0.1 or \[::1\]' "plain http off the loopback"

# ---- cannot connect: 69 --------------------------------------------------------
run --server "unix:$WORK/nothing.sock" due
expect_rc 69 "no socket"
expect_err "^haven: unix:$WORK/nothing.sock: cannot connect: " "no socket message"
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
expect_out '^bilal ' "local whoami names the acting user"

# ---- login: token file 0600 in a 0700 folder, token never printed ----------------
echo "wrong password" >wrong.txt
echo "$PASSWORD" >pw.txt
run --server "$U" login amal --password-stdin <wrong.txt
expect_rc 77 "wrong password"
[ ! -e "$TOKENS" ] && pass || failt "a refused login stored a token"
run --server "$U" login amal --password-stdin <pw.txt
expect_rc 0 "login"
expect_out "^logged in to $U as amal \(caseworker\) until 2026-11-28T17:00:00Z$" "login message"
no_text "$TOKEN" "$OUT" "login stdout"
no_text "$TOKEN" "$ERR" "login stderr"
[ "$(stat -c %a "$TOKENS")" = 600 ] && pass || failt "token file mode $(stat -c %a "$TOKENS")"
[ "$(stat -c %a "$XDG_CONFIG_HOME/haven")" = 700 ] && pass || failt "token dir mode"
grep -qx "$U $TOKEN" "$TOKENS" && pass || failt "token line: $(cat "$TOKENS")"
grep -q '"login": "amal"' "$LOG" && pass || failt "login body"
run --server "$U" whoami
expect_out '^amal \(caseworker\) via token$' "whoami with the token"
run --server "$U" --json whoami
[ "$(json_get "$OUT" '$.via')" = token ] && pass || failt "whoami --json: $(cat "$OUT")"

# a second server's login keeps the first's line; a re-login replaces its own
PORT=$(cat "$WORK/port")
run --server "http://127.0.0.1:$PORT/" login amal --password-stdin <pw.txt
expect_rc 0 "login over loopback http"
[ "$(wc -l <"$TOKENS")" -eq 2 ] && pass || failt "two servers, two lines: $(cat "$TOKENS")"
grep -q "^http://127.0.0.1:$PORT $TOKEN\$" "$TOKENS" && pass || failt "URL kept without its final /"
run --server "$U" --json login amal --password-stdin <pw.txt
[ "$(wc -l <"$TOKENS")" -eq 2 ] && pass || failt "re-login adds a line"
[ "$(json_get "$OUT" '$.user')" = amal ] && pass || failt "login --json: $(cat "$OUT")"
no_text "$TOKEN" "$OUT" "login --json stdout"
[ "$(stat -c %a "$TOKENS")" = 600 ] && pass || failt "token file mode after a re-login"

# a token file readable by others is ignored with a warning
chmod 644 "$TOKENS"
run --server "$U" whoami
expect_out '^peeruser ' "a token file readable by others is not used"
grep -q 'readable by others' "$ERR" && pass || failt "no warning: $(cat "$ERR")"
chmod 600 "$TOKENS"

# HAVEN_TOKEN carries another token (an identity provider's JWT)
HAVEN_TOKEN="eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln" run --server "$U" whoami
expect_out '^oidcuser \(supervisor\) via oidc$' "HAVEN_TOKEN is sent"
HAVEN_TOKEN="bad token" run --server "$U" whoami
expect_rc 64 "HAVEN_TOKEN with a space"

# ---- run: argv, --json, --purpose, inputs ------------------------------------------
printf '{"child":{"name":"Noor"}}' >case.json
run --server "$U" --json --purpose duty register --json-in case.json
expect_rc 0 "run"
[ "$(json_get "$OUT" '$.argv[0]')" = register ] && pass || failt "argv: $(cat "$OUT")"
[ "$(json_get "$OUT" '$.argv[2]')" = case.json ] && pass || failt "argv keeps the path"
[ "$(json_get "$OUT" '$.json')" = 1 ] && pass || failt "json flag"
[ "$(json_get "$OUT" '$.purpose')" = duty ] && pass || failt "purpose"
[ "$(json_get "$OUT" '$.user')" = amal ] && pass || failt "run sends the token"
[ "$(json_get "$OUT" '$.inputs."case.json"')" = '{"child":{"name":"Noor"}}' ] && pass ||
    failt "input file content: $(cat "$OUT")"
grep -q 'Noor' "$LOG" && ! grep -o '"path": "[^"]*"' "$LOG" | grep -q 'Noor' && pass ||
    failt "case content in a URL"
printf 'from stdin' >stdin.txt
run --server "$U" followup CP-2026-0001 --json-in - <stdin.txt
[ "$(json_get "$OUT" '$.inputs."-"')" = 'from stdin' ] && pass || failt "stdin input: $(cat "$OUT")"
printf 'ref,name\n' >rows.csv
run --server "$U" import --format csv rows.csv --skip-bad
[ "$(json_get "$OUT" '$.inputs."rows.csv"')" = "$(printf 'ref,name\n')" ] && pass ||
    failt "import FILE: $(cat "$OUT")"
run --server "$U" rules test "$SRC/rules/default"
[ -n "$(json_get "$OUT" "\$.inputs.\"$SRC/rules/default/pack.yaml\"")" ] && pass ||
    failt "rules DIR sends its files"
[ -n "$(json_get "$OUT" "\$.inputs.\"$SRC/rules/default/tests/risk_test.lua\"")" ] && pass ||
    failt "rules DIR sends its tests"
run --server "$U" show CP-2026-0001 missing.json
[ "$(json_get "$OUT" '$.inputs')" = '{}' ] && pass || failt "show sends no file"
printf '\377\376' >binary.json
run --server "$U" register --json-in binary.json
expect_rc 65 "a file that is not UTF-8"

# ---- outputs: only at typed paths ----------------------------------------------------
run --server "$U" export --format json --out out.json
expect_rc 0 "export --out"
[ "$(cat out.json)" = "written by the server" ] && pass || failt "output not written"
[ "$(stat -c %a out.json)" = 600 ] && pass || failt "output mode $(stat -c %a out.json)"
run --server "$U" export --format csv --out csvdir
[ -f csvdir/cases.csv ] && [ -f csvdir/persons.csv ] && pass || failt "CSV folder not written"
[ "$(stat -c %a csvdir)" = 700 ] && pass || failt "CSV folder mode"
run --server "$U" show EVIL --out mine.txt
[ ! -e /tmp/haven-evil-output ] && [ ! -e ../evil ] && [ ! -e evil.txt ] && pass ||
    failt "wrote a file not asked for"
[ -f mine.txt ] && pass || failt "the asked-for output"
grep -q 'sent a file not asked for' "$ERR" && pass || failt "no warning of unasked outputs"
: >cp.txt
n=$(wc -l <"$LOG")
run --server "$U" audit checkpoint --out cp.txt
expect_rc 73 "audit checkpoint over an existing file"
[ "$(wc -l <"$LOG")" -eq "$n" ] && pass || failt "checkpoint over a file was sent"

# ---- answers ------------------------------------------------------------------------
run --server "$U" show FAIL
expect_rc 65 "the run's exit code"
expect_err '^haven: fail: bad data$' "the run's stderr"
run --server "$U" show HTML
expect_rc 70 "a non-JSON answer"
expect_err 'not a Haven server' "non-JSON message"

# ---- enrol, logout ---------------------------------------------------------------------
echo short >short.txt
run --server "$U" enrol bilal --code 123456 --password-stdin <short.txt
expect_rc 77 "enrol refused"
run --server "$U" enrol bilal --code 123456 --password-stdin <pw.txt
expect_rc 0 "enrol then login"
expect_out 'logged in to .* as bilal' "enrol logs in"
run --server "$U" enrol bilal --password-stdin </dev/null
expect_rc 64 "enrol with nothing to read"
run --server "$U" logout
expect_rc 0 "logout"
grep -q '"/v1/logout"' "$LOG" && pass || failt "logout not sent"
grep -q "^$U " "$TOKENS" && failt "logout kept the token" || pass
grep -q "^http://127.0.0.1:$PORT " "$TOKENS" && pass || failt "logout removed another server's token"
[ "$(stat -c %a "$TOKENS")" = 600 ] && pass || failt "token file mode after logout"
run --server "$U" logout
expect_out '^not logged in' "logout twice"
# the revoked token is forgotten even when the server refuses it
echo "$U $TOKEN" >>"$TOKENS"
run --server "$U" logout
expect_rc 0 "logout of a revoked token"
grep -q "^$U " "$TOKENS" && failt "a refused logout kept the token" || pass

# no password or code ever in the log's URLs or headers, only in bodies
sed 's/"body".*//' "$LOG" | grep -q "$PASSWORD\|123456" &&
    failt "a secret outside a body" || pass
finish
