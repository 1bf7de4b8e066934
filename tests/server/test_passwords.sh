#!/bin/sh
# havend end to end (issue 16): password logins over HTTPS.  A wrong
# password and an unknown login are refused with 77 and the same message,
# each audited (auth_refused: bad_password, unknown_user); after 5 failures
# the account is locked (even the right password is refused: locked).  No
# password, code or token in any event, the daemon's log or the client's
# stderr.
. "$HAVEN_SOURCE_DIR/tests/cli/lib.sh"
. "$SRC/tests/server/lib_server.sh"
live_db
start_server
PW_AMAL="amal-correct-horse-1"
PW_BILAL="bilal-correct-horse-2"
WRONG="not-the-password-9"
secret "$WRONG"
enrol amal "$PW_AMAL"
enrol bilal "$PW_BILAL"

login amal "$PW_AMAL"
expect_rc 0 "amal logs in"
expect_out '^logged in to .* as amal \(caseworker\) until ' "login message"
[ -n "$(token_of amal)" ] && pass || failt "no token stored for amal"
as amal whoami
expect_rc 0 "whoami with the token"
expect_out '^amal \(caseworker\) via token$' "whoami names amal"

# ---- a wrong password, an unknown login: 77, one message, audited --------

n=$(last_event)
login ghost "$WRONG"          # no such account
cp "$ERR" "$WORK/err.unknown"
login bilal "$WRONG"
expect_rc 77 "a wrong password"
cp "$ERR" "$WORK/err.wrong"
# the same client state (no stored token) for both: the same message
rm -rf "$(cfg_of bilal)/haven"
login bilal "$WRONG"
expect_rc 77 "a wrong password again"
cp "$ERR" "$WORK/err.wrong2"
login ghost "$WRONG"
expect_rc 77 "an unknown login"
cmp -s "$WORK/err.wrong2" "$ERR" && pass ||
    failt "unknown login and wrong password differ: '$(cat "$WORK/err.wrong2")' vs '$(cat "$ERR")'"
expect_err 'login refused: wrong login or password' "the generic message"
refused_since "$n" bad_password "a wrong password is audited"
refused_since "$n" unknown_user "an unknown login is audited"
[ "$(nevents "seq > $n AND kind = 'auth_refused' AND actor = 'bilal'")" = 2 ] && pass ||
    failt "the wrong passwords are not both audited against bilal"
no_secrets "after wrong passwords" "$WORK/err.wrong" "$WORK/err.unknown" "$ERR"

# ---- the lock: 5 failures in 15 minutes ----------------------------------------
for i in 3 4 5; do
    login bilal "$WRONG"
    expect_rc 77 "wrong password $i"
done
n=$(last_event)
login bilal "$PW_BILAL"
expect_rc 77 "the right password on a locked account"
refused_since "$n" locked "the lock is audited"
[ -z "$(token_of bilal)" ] && pass || failt "a locked account got a token"
# amal is not locked by bilal's failures
login amal "$PW_AMAL"
expect_rc 0 "another account still logs in"

# ---- a password through the API: never in the answer or the log ------------
api "" POST /v1/login "{\"login\":\"bilal\",\"password\":\"$WRONG\"}"
expect_code 401 "a refused login is HTTP 401"
[ "$(json_get "$BODY" '$.exit')" = 77 ] && pass || failt "a refused login's body exit: $(cat "$BODY")"
no_text "$WRONG" "$BODY" "the refused login's answer"
grep -qi '^WWW-Authenticate: Bearer' "$HDRS" && pass || failt "no WWW-Authenticate on 401"

stop_server
[ "$STOP_RC" = 0 ] && pass || failt "havend stopped with $STOP_RC"
no_secrets "at the end"
finish
