#!/bin/sh
# test_auth_admin.sh - the administrator's side of authentication (issue
# 16): `user enrol LOGIN` prints a one-time code once (stored only as a
# hash, 72 h), `user map LOGIN --os-login NAME --oidc IDENTITY` maps the
# logins the server knows a user by; both administrators only (77 for a
# caseworker, nothing changed, audited as themselves), `user list` says
# who has a password or mappings without any hash, and the audit chain
# verifies (plain and --deep) after each.
. "$(dirname "$0")/lib.sh"

init_db

# a caseworker issues no code and maps nobody
before=$(fingerprint)
run --as amal user enrol bilal
expect_rc 77 "a caseworker issues no enrolment code"
expect_err 'only an administrator' "enrol refusal names the role"
run --as amal user map amal --os-login amal
expect_rc 77 "a caseworker maps no login"
run --as sara user map bilal --oidc 'https://idp.example|b-1'
expect_rc 77 "a supervisor maps no login"
[ "$(fingerprint)" = "$before" ] && pass || failt "a refused enrol/map changed the database"

# usage and unknown users
run --as admin user enrol
expect_rc 64 "user enrol without a login"
run --as admin user enrol nobody
expect_rc 69 "user enrol for an unknown user"
run --as admin user map amal --os-login '-rf'
expect_rc 64 "an OS login that is not one"
run --as admin user map amal --oidc 'not an identity'
expect_rc 64 "an identity that is neither ISSUER|SUBJECT nor an e-mail"
run --as admin user map amal --bogus x
expect_rc 64 "an unknown option"

# the code: shown once, stored as a hash
run --as admin user enrol amal
expect_rc 0 "an administrator issues a code"
expect_out '^enrolment code for amal: [2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}$' "the code's shape"
expect_out 'valid until 20[0-9-]+T' "its expiry"
CODE=$(sed -n 's/^enrolment code for amal: //p' "$OUT")
PLAIN=$(echo "$CODE" | tr -d -)
[ "$(sql "SELECT length(enrol_hash) FROM users WHERE login = 'amal'")" = 32 ] && pass ||
    failt "the code is stored as a 32-byte hash"
for t in "$CODE" "$PLAIN"; do
    [ "$(sql "SELECT count(*) FROM users WHERE instr(coalesce(enrol_hash, ''), '$t') > 0")" = 0 ] &&
        pass || failt "the code itself is stored"
    [ "$(sql "SELECT count(*) FROM events WHERE instr(data, '$t') > 0")" = 0 ] &&
        pass || failt "the code reached an event"
done
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'user_enrol_code' AND actor = 'admin'
          AND json_extract(data, '$.login') = 'amal'")" = 1 ] && pass ||
    failt "user_enrol_code audited"
run --as admin audit verify --deep
expect_rc 0 "audit verify --deep after user_enrol_code"

# a new code voids the old one
run --as admin --json user enrol amal
expect_rc 0 "a second code (--json)"
[ "$(json_ok "$OUT")" = 1 ] && pass || failt "--json output is JSON"
CODE2=$(json_get "$OUT" '$.code')
[ -n "$CODE2" ] && [ "$CODE2" != "$CODE" ] && pass || failt "a new code each time"
[ -n "$(json_get "$OUT" '$.expires')" ] && pass || failt "--json has the expiry"

# mappings
run --as admin user map amal --os-login amal_os --oidc 'https://idp.example|a-1'
expect_rc 0 "map amal"
expect_out 'OS login amal_os, single sign-on mapped' "map says what it set"
run --as admin user map bilal --os-login amal_os
expect_rc 65 "an OS login maps one user only"
expect_err 'mapped to another user' "the conflict is named"
run --as admin user map sara --oidc Sara@Example.ORG
expect_rc 0 "map sara by e-mail"
[ "$(sql "SELECT oidc_identity FROM users WHERE login = 'sara'")" = "sara@example.org" ] &&
    pass || failt "an e-mail is kept in small letters"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'user_mapped'")" = 2 ] && pass ||
    failt "user_mapped audited"
[ "$(sql "SELECT count(*) FROM events WHERE instr(data, 'idp.example') > 0
          OR instr(data, 'example.org') > 0")" = 0 ] && pass ||
    failt "an identity reached an event"
run --as admin user list
expect_rc 0 "user list"
expect_out '^amal .*OS login amal_os, single sign-on$' "user list shows amal's mappings"
no_text 'argon2' "$OUT" "user list shows no hash"
run --as admin --json user list
[ "$(json_get "$OUT" '$[0].password')" = 0 ] && pass || failt "--json user list has password"
run --as admin user map amal
expect_rc 0 "map with nothing clears"
[ "$(sql "SELECT count(*) FROM users WHERE login = 'amal' AND os_login IS NULL
          AND oidc_identity IS NULL")" = 1 ] && pass || failt "amal's mappings cleared"

# a disabled user gets no code
run --as admin user disable bilal
run --as admin user enrol bilal
expect_rc 65 "no code for a disabled user"
run --as admin audit verify --deep
expect_rc 0 "audit verify --deep after the mappings"
finish
