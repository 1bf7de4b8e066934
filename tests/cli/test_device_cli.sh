#!/bin/sh
# Offline work on the server's command line (issue 18): `haven device
# enrol|revoke|list` (administrators) and `haven conflicts [--all]` /
# `conflicts resolve ID --take theirs|ours|merged` (the supervisor's
# queue).  Usage errors name what is wrong, echo no value and change
# nothing (64); the roles that may not are refused (77); an enrolment
# prints a one-time code kept only as a hash; the list shows the device and
# its revocation; an empty queue says so; `due` stays as it was with no
# conflict.  (The queue with conflicts in it: the sync tests.)
. "$(dirname "$0")/lib.sh"

init_db                                   # sara supervises amal and bilal; mona is a manager
run --as admin user add tariq --role trainer; expect_rc 0 "add a trainer"
SECRET=Zarafshanova-4471                  # a value typed where it does not belong

# ---- usage errors: one line, 64, nothing changed ----------------------------
BEFORE=$(fingerprint)
# u EXPECTED-ERE WHAT ARGS...: haven --as admin ARGS is a usage error.
u() {
    want=$1 what=$2
    shift 2
    run --as admin "$@"
    expect_rc 64 "$what"
    expect_err "$want" "$what: the message"
    no_text "$SECRET" "$ERR" "$what: a typed value echoed"
}
u "device: use 'device enrol NAME --user LOGIN'" "device alone" device
u "device: use" "device with an unknown subcommand" device wipe lap-1
u "device enrol: give the device's NAME" "device enrol without NAME" device enrol --user amal
u "device enrol: give --user LOGIN" "device enrol without --user" device enrol lap-1
u "device enrol: --user needs the LOGIN" "--user without its value" device enrol lap-1 --user
u "device enrol: one device NAME only" "two names" device enrol lap-1 lap-2 --user amal
u "device enrol: unknown option --colour \(see haven device enrol --help\)" \
    "device enrol: an unknown option is named, its value is not" \
    device enrol lap-1 --user amal "--colour=$SECRET"
u "device revoke: give one device NAME" "device revoke without NAME" device revoke
u "device revoke: unknown option --force" "device revoke --force" device revoke --force
u "device list: takes no arguments" "device list with an argument" device list "$SECRET"
u "device list: unknown option --all" "device list --all" device list --all
u "conflicts: unknown option --open" "conflicts --open" conflicts --open
u "conflicts: use 'conflicts \[--all\]'" "conflicts with an argument" conflicts "$SECRET"
u "conflicts resolve: give the conflict's ID" "resolve without ID" conflicts resolve --take theirs
u "conflicts resolve: ID is the conflict's number" "resolve with a bad ID" \
    conflicts resolve "x$SECRET" --take theirs
u "conflicts resolve: ID is the conflict's number" "resolve with ID 0" \
    conflicts resolve 0 --take theirs
u "conflicts resolve: give --take theirs" "resolve without --take" conflicts resolve 3
u "conflicts resolve: --take is theirs, ours or merged" "--take mine" \
    conflicts resolve 3 --take mine
u "conflicts resolve: --take is theirs, ours or merged" "--take with a typed value" \
    conflicts resolve 3 --take "$SECRET"
u "conflicts resolve: --take needs theirs, ours or merged" "--take without its value" \
    conflicts resolve 3 --take
u "conflicts resolve: --note needs a TEXT" "--note without its value" \
    conflicts resolve 3 --take theirs --note
u "conflicts: unknown option --force" "resolve --force" conflicts resolve 3 --take ours --force
[ "$(fingerprint)" = "$BEFORE" ] && pass || failt "a usage error changed the database"

# ---- help: both commands are in the table ----------------------------------
run --help
expect_out '^  haven device enrol NAME --user LOGIN' "haven --help lists device"
expect_out '^  haven conflicts \[--all\]' "haven --help lists conflicts"
run device --help
expect_rc 0 "device --help"
expect_out 'one-time code' "device --help says what enrol prints"
run conflicts resolve --help
expect_rc 0 "conflicts resolve --help"
expect_out 'theirs keeps the server' "conflicts --help says what each choice does"

# ---- devices: administrators only -------------------------------------------------
BEFORE=$(fingerprint)
for who in amal sara mona tariq; do
    run --as "$who" device enrol lap-1 --user amal
    expect_rc 77 "$who enrols a device"
    run --as "$who" device list
    expect_rc 77 "$who lists the devices"
done
run --as sara device revoke lap-1
expect_rc 77 "a supervisor revokes a device"
[ "$(fingerprint)" = "$BEFORE" ] && pass || failt "a refused device command changed the database"

run --as admin device list
expect_rc 0 "no devices yet"
expect_out '^no devices enrolled' "an empty device list says so"
run --as admin device enrol lap-amal --user amal
expect_rc 0 "enrol lap-amal for amal"
expect_out '^device lap-amal enrolled for amal$' "enrol says which device for whom"
expect_out '^valid until 20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:]+Z, once' \
    "enrol says until when (ISO 8601)"
CODE=$(sed -n 's/^code: //p' "$OUT")
[ -n "$CODE" ] && pass || failt "enrol printed no code: $(cat "$OUT")"
[ "$(sql "SELECT count(*) FROM events WHERE instr(coalesce(data, ''), '$CODE') > 0")" = 0 ] &&
    pass || failt "the enrolment code is in an event"
[ "$(sqlite3 "$HAVEN_DB" .dump | grep -c -- "$CODE")" = 0 ] && pass ||
    failt "the enrolment code is stored in the clear"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'device_enrolled'")" = 1 ] && pass ||
    failt "no device_enrolled event"
run --as admin device enrol lap-bilal --user bilal --json
expect_rc 0 "enrol lap-bilal --json"
[ "$(json_get "$OUT" '$.device')" = lap-bilal ] && [ "$(json_get "$OUT" '$.user')" = bilal ] &&
    [ -n "$(json_get "$OUT" '$.code')" ] && pass || failt "enrol --json: $(cat "$OUT")"
run --as admin device enrol lap-amal --user bilal
[ "$RC" = 65 ] || [ "$RC" = 64 ] && pass || failt "a name enrolled twice: exit $RC"
run --as admin device enrol Lap_Amal --user amal
[ "$RC" = 65 ] || [ "$RC" = 64 ] && pass || failt "a name outside [a-z0-9-]: exit $RC"
run --as admin device enrol lap-x --user nobody
expect_rc 69 "a device for nobody"

run --as admin device list
expect_rc 0 "device list"
expect_out '^DEVICE +USER +STATUS +ENROLLED +LAST SYNC +SEQ' "the list's header"
expect_out '^lap-amal +amal ' "the list shows lap-amal and its user"
expect_out '^lap-bilal +bilal ' "the list shows lap-bilal"
grep '^lap-amal ' "$OUT" | grep -q ' never ' && pass || failt "lap-amal never synced"
run --as admin device revoke lap-bilal
expect_rc 0 "revoke lap-bilal"
expect_out '^device lap-bilal revoked' "revoke says so"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'device_revoked'")" = 1 ] && pass ||
    failt "no device_revoked event"
run --as admin device revoke nothing-here
expect_rc 69 "revoke an unknown device"
run --as admin --json device list
expect_rc 0 "device list --json"
[ "$(sqlite3 :memory: "SELECT json_array_length(readfile('$OUT'))")" = 2 ] && pass ||
    failt "device list --json: $(cat "$OUT")"
[ "$(sqlite3 :memory: "SELECT json_extract(value, '\$.status') FROM
      json_each(readfile('$OUT')) WHERE json_extract(value, '\$.name') = 'lap-bilal'")" = revoked ] &&
    pass || failt "lap-bilal is not revoked in the list"
run --as admin device list
grep '^lap-bilal ' "$OUT" | grep -q 'revoked' && pass || failt "the list shows lap-bilal revoked"

# ---- the conflict queue, empty ----------------------------------------------------
for who in sara amal mona; do
    run --as "$who" conflicts
    expect_rc 0 "$who: conflicts on an empty queue"
    expect_out '^no conflicts waiting$' "$who: an empty queue says so"
    run --as "$who" --json conflicts --all
    expect_rc 0 "$who: conflicts --all --json"
    [ "$(sqlite3 :memory: "SELECT json_array_length(readfile('$OUT'))")" = 0 ] && pass ||
        failt "$who: conflicts --json is not an empty array: $(cat "$OUT")"
done
for who in admin tariq; do
    run --as "$who" conflicts
    expect_rc 77 "$who: the conflict queue is not theirs"
done
run --as sara conflicts resolve 999 --take theirs
expect_rc 69 "resolve a conflict that does not exist"
run --as amal conflicts resolve 999 --take ours
[ "$RC" = 77 ] || [ "$RC" = 69 ] && pass || failt "a caseworker resolves: exit $RC"
# due is unchanged without conflicts
run --as sara --now "$T0" due
expect_rc 0 "sara's due"
no_text "conflict #" "$OUT" "due shows no conflict on an empty queue"
finish
