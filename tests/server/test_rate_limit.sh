#!/bin/sh
# havend end to end (issue 16): failed authentications are limited per
# address as well as per account.  Twenty refused tokens from 127.0.0.1
# within 15 minutes block that address for passwords and codes: a login
# from it, even with the right password, is refused (77, "too many failed
# attempts from this address"), and the block is audited once
# (rate_limited), not once per refused request.  A valid token still works
# from that address (users behind one proxy or NAT share it), and the Unix
# socket (another address) serves the user too.
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

# A valid token still works from the address (users behind one proxy or
# NAT share it); passwords and codes from it are refused.
api "$GOOD" GET /v1/whoami
expect_code 200 "a good token from a blocked address"
n=$(last_event)
i=0
while [ $i -lt 3 ]; do
    api "" POST /v1/login '{"login":"amal","password":"amal-password-1"}'
    expect_code 401 "a right password from a blocked address"
    i=$((i + 1))
done
grep -q 'too many failed attempts from this address' "$BODY" && pass ||
    failt "the answer says why: $(cat "$BODY")"
grep -q '"exit":77' "$BODY" && pass || failt "exit 77 in the body"
[ "$(nevents "seq > $n AND kind = 'auth_refused' AND json_extract(data, '\$.reason') = 'rate_limited'")" -eq 1 ] &&
    pass || failt "the block is audited once: $(sql "SELECT data FROM events WHERE seq > $n")"
[ "$(nevents "seq > $n AND kind = 'auth_login'")" -eq 0 ] && pass ||
    failt "no login from the blocked address"
printf '%s\n' 'amal-password-1' >"$WORK/pw"
XDG_CONFIG_HOME="$WORK/cfg-x" run --server "$HTTPS_URL" login amal --password-stdin <"$WORK/pw"
expect_rc 77 "haven login from the blocked address"

# The Unix socket is another address: amal's token works there.
HAVEN_TOKEN=$GOOD XDG_CONFIG_HOME="$WORK/cfg-none" run --server "unix:$SOCK" whoami
expect_rc 0 "the same token over the Unix socket"
expect_out '^amal \(caseworker\) via token$' "whoami over the socket"
stop_server
[ "$STOP_RC" = 0 ] && pass || failt "havend stops cleanly: $STOP_RC"
no_secrets "rate limit" "$ERR"
finish
