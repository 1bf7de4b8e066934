#!/bin/sh
# havend end to end (issue 16): failed authentications are limited per
# address as well as per account.  Twenty refused tokens from 127.0.0.1
# within 15 minutes block that address: the next request, even with a good
# token, is refused (77, "too many failed attempts from this address"); the
# block is audited once (rate_limited), not once per refused request, so a
# flood cannot flood the audit trail; the Unix socket (another address)
# still serves the user.
. "$HAVEN_SOURCE_DIR/tests/cli/lib.sh"
. "$SRC/tests/server/lib_server.sh"
live_db
start_server
enrol amal 'amal-password-1'
login amal 'amal-password-1'
expect_rc 0 "amal logs in"
GOOD=$(token_of amal)
as amal whoami
expect_rc 0 "the good token works before the block"

FORGED="hv1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
n=$(last_event)
i=0
while [ $i -lt 20 ]; do
    api "$FORGED" GET /v1/whoami
    i=$((i + 1))
done
expect_code 401 "the 20th forged token is refused"
[ "$(nevents "seq > $n AND kind = 'auth_refused'")" -eq 20 ] && pass ||
    failt "each of the 20 refusals is audited: $(nevents "seq > $n AND kind = 'auth_refused'")"

n=$(last_event)
api "$GOOD" GET /v1/whoami
expect_code 401 "a good token from a blocked address"
grep -q 'too many failed attempts from this address' "$BODY" && pass ||
    failt "the answer says why: $(cat "$BODY")"
grep -q '"exit":77' "$BODY" && pass || failt "exit 77 in the body"
as amal whoami
expect_rc 77 "the client from the blocked address"
i=0
while [ $i -lt 5 ]; do
    api "$FORGED" GET /v1/whoami
    i=$((i + 1))
done
[ "$(nevents "seq > $n AND kind = 'auth_refused' AND json_extract(data, '\$.reason') = 'rate_limited'")" -eq 1 ] &&
    pass || failt "the block is audited once: $(sql "SELECT data FROM events WHERE seq > $n")"
[ "$(nevents "seq > $n AND kind = 'auth_refused'")" -eq 1 ] && pass ||
    failt "no refusal is audited while the address is blocked"
api "" POST /v1/login '{"login":"amal","password":"amal-password-1"}'
expect_code 401 "a right password from a blocked address"

# The Unix socket is another address: amal's token works there.
HAVEN_TOKEN=$GOOD XDG_CONFIG_HOME="$WORK/cfg-none" run --server "unix:$SOCK" whoami
expect_rc 0 "the same token over the Unix socket"
expect_out '^amal \(caseworker\) via token$' "whoami over the socket"
stop_server
[ "$STOP_RC" = 0 ] && pass || failt "havend stops cleanly: $STOP_RC"
no_secrets "rate limit" "$ERR"
finish
