#!/bin/sh
# havend end to end (issue 16): bearer tokens.  An expired token, an idle
# one, a revoked one (after logout), a forged one ("hv1." and 43 characters
# of the right alphabet) and the token of a disabled user are each refused
# with 77 (HTTP 401) and audited (auth_refused: expired_token, idle_token,
# revoked_token, unknown_token, disabled_user); no token in any event, the
# log or stderr.
. "$HAVEN_SOURCE_DIR/tests/cli/lib.sh"
. "$SRC/tests/server/lib_server.sh"
live_db
start_server
PW="amal-correct-horse-1"
enrol amal "$PW"
enrol bilal "bilal-correct-horse-2"
enrol sara "sara-correct-horse-3"

# tokens of amal: log in, keep the token, log in again (a new one)
new_token() {
    rm -rf "$(cfg_of "$1")/haven"
    login "$1" "$2"
    [ "$RC" -eq 0 ] || { echo "login $1 failed: $(cat "$ERR")" >&2; exit 1; }
    token_of "$1"
}
# the id of the newest token row
last_token() { sql "SELECT max(id) FROM auth_tokens"; }
T_EXP=$(new_token amal "$PW")
ID_EXP=$(last_token)
T_IDLE=$(new_token amal "$PW")
ID_IDLE=$(last_token)
T_REV=$(new_token amal "$PW")
[ "$T_EXP" != "$T_IDLE" ] && [ "$T_IDLE" != "$T_REV" ] && pass || failt "tokens repeat"
for t in "$T_EXP" "$T_IDLE" "$T_REV"; do
    with_token "$t" whoami
    expect_rc 0 "a fresh token works"
    expect_out '^amal \(caseworker\) via token$' "a fresh token is amal's"
done

# refused TOKEN REASON WHAT: the token is refused (77, HTTP 401), audited
refused() {
    n=$(last_event)
    with_token "$1" whoami
    expect_rc 77 "$3 (whoami)"
    no_text "amal (" "$OUT" "$3: whoami answered"
    refused_since "$n" "$2" "$3 is audited"
    api "$1" POST /v1/run '{"argv":["list"]}'
    expect_code 401 "$3 (HTTP)"
    [ "$(json_get "$BODY" '$.exit')" = 77 ] && pass || failt "$3: body exit: $(cat "$BODY")"
}

# ---- expired: expires_at in the past -------------------------------------------
now=$(date +%s)
sql "UPDATE auth_tokens SET expires_at = $((now - 5)) WHERE id = $ID_EXP"
refused "$T_EXP" expired_token "an expired token"
# ---- idle: last used longer ago than its idle timeout ------------------------------
sql "UPDATE auth_tokens SET last_used = $((now - 7200)), idle_timeout = 1800 WHERE id = $ID_IDLE"
refused "$T_IDLE" idle_token "an idle token"
# ---- revoked: after logout -----------------------------------------------------
XDG_CONFIG_HOME=$(cfg_of amal) run --server "$HTTPS_URL" logout
expect_rc 0 "logout"
[ -z "$(token_of amal)" ] && pass || failt "logout left the token in the token file"
[ "$(sql "SELECT count(*) FROM auth_tokens WHERE revoked_at IS NOT NULL")" -ge 1 ] && pass ||
    failt "logout revoked no token"
refused "$T_REV" revoked_token "a revoked token"
# ---- forged: the right shape, never issued -----------------------------------------
FORGED="hv1.$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-43)"
[ ${#FORGED} = 47 ] && pass || failt "the forged token is ${#FORGED} chars"
secret "$FORGED"
refused "$FORGED" unknown_token "a forged token"
# a token of the wrong shape, and a JWT-looking one with no OIDC configured
refused "hv1.short" unknown_token "a malformed token"
n=$(last_event)
with_token "aaaa.bbbb.cccc" whoami
expect_rc 77 "a JWT with no issuer configured"
refused_since "$n" oidc_not_configured "a JWT with no issuer configured is audited"

# ---- a disabled user's token ------------------------------------------------------
T_BILAL=$(new_token bilal "bilal-correct-horse-2")
with_token "$T_BILAL" whoami
expect_rc 0 "bilal's token works"
run --as admin user disable bilal
expect_rc 0 "user disable bilal"
# (disabling revokes the user's tokens: the refusal names either)
refused "$T_BILAL" "disabled_user revoked_token" "a disabled user's token"
[ "$(sql "SELECT count(*) FROM auth_tokens t JOIN users u ON u.id = t.user_id
          WHERE u.login = 'bilal' AND t.revoked_at IS NULL")" = 0 ] && pass ||
    failt "disabling bilal left a live token"
# enabled again: the old token stays dead
run --as admin user enable bilal
expect_rc 0 "user enable bilal"
with_token "$T_BILAL" whoami
expect_rc 77 "a disabled user's token stays revoked after enable"

# the others are untouched
T_SARA=$(new_token sara "sara-correct-horse-3")
with_token "$T_SARA" whoami
expect_rc 0 "sara's token works"
expect_out '^sara \(supervisor\) via token$' "sara via token"

for f in "$ERR" "$OUT"; do cp "$f" "$f.keep"; done
stop_server
[ "$STOP_RC" = 0 ] && pass || failt "havend stopped with $STOP_RC"
no_secrets "tokens" "$WORK/err.keep"
finish
