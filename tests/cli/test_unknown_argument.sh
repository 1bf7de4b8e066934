#!/bin/sh
# An argument that `user add|role|map`, `audit verify|checkpoint|log`,
# `list`, `due`, `export`, `report`, `gen` or `init` does not take is
# named in the error, with where to look (issue 20: they said
# "unknown argument" without naming it): `haven: user add: unknown argument
# 'extra' (see haven user add --help)`, exit 64, nothing changed.  An
# option is named as an option, an option missing its value says so, and a
# key=value argument is named without its value (it may be a name).
. "$(dirname "$0")/lib.sh"
init_db
before=$(fingerprint)

# usage_err WHAT PATTERN ARGS...: haven ARGS... exits 64 with the one line
usage_err() {
    what=$1 pattern=$2
    shift 2
    run "$@"
    expect_rc 64 "$what"
    expect_err "$pattern" "$what"
}
usage_err "user add: a stray word" \
    "^haven: user add: unknown argument 'extra' \(see haven user add --help\)$" \
    --as admin user add bob --role caseworker extra
usage_err "user add: a stray key=value shows only its key" \
    "^haven: user add: unknown argument 'child.name' \(see haven user add --help\)$" \
    --as admin user add bob --role caseworker child.name=Noor
no_text Noor "$ERR" "the value of a stray key=value"
usage_err "user add: an unknown option" \
    "^haven: user add: unknown option --rol \(see haven user add --help\)$" \
    --as admin user add bob --rol caseworker
usage_err "user add: --role without its value" \
    "^haven: user add: --role needs a value \(see haven user add --help\)$" \
    --as admin user add bob --role
usage_err "user role: a stray word" \
    "^haven: user role: unknown argument 'now' \(see haven user role --help\)$" \
    --as admin user role amal supervisor now
usage_err "user role: --supervisor without its value" \
    "^haven: user role: --supervisor needs a value" \
    --as admin user role amal caseworker --supervisor
usage_err "user map: a stray word" \
    "^haven: user map: unknown argument 'amal2' \(see haven user map --help\)$" \
    --as admin user map amal --os-login amal amal2
usage_err "user map: --oidc without its value" \
    "^haven: user map: --oidc needs a value" \
    --as admin user map amal --oidc
usage_err "audit log: a second reference" \
    "^haven: audit log: unknown argument 'CP-2026-00002' \(see haven audit log --help\)$" \
    --as sara audit log CP-2026-00001 CP-2026-00002
usage_err "audit verify: a stray word" \
    "^haven: audit verify: unknown argument 'deep' \(see haven audit verify --help\)$" \
    --as admin audit verify deep
usage_err "audit checkpoint: an option of another subcommand" \
    "^haven: audit checkpoint: unknown option --deep \(see haven audit checkpoint --help\)$" \
    --as admin audit checkpoint --deep
usage_err "audit log: --since without its value" \
    "^haven: audit log: --since needs a value" \
    --as sara audit log --since
# a control character is shown as '?', never echoed to the terminal
usage_err "a control character" \
    "^haven: user add: unknown argument 'a\?b' " \
    --as admin user add bob --role caseworker "$(printf 'a\033b')"
# list, due, export, report, gen and init name it too
for cmd in list due export report gen; do
    usage_err "$cmd: a stray word" \
        "^haven: $cmd: unknown argument 'bogus' \(see haven $cmd --help\)$" \
        --as admin "$cmd" bogus
done
usage_err "gen: a stray word after its options" \
    "^haven: gen: unknown argument 'bogus' \(see haven gen --help\)$" \
    --as admin gen --cases 5 bogus
usage_err "init: a stray word" \
    "^haven: init: unknown argument 'bogus' \(see haven init --help\)$" \
    --as admin --db "$WORK/other.db" init --agency CP --workflow "$SRC/workflows/iasc.yaml" bogus
[ ! -e "$WORK/other.db" ] && pass || failt "a refused init made a database"
[ "$(fingerprint)" = "$before" ] && pass || failt "a refused argument changed the database"
# and the named help exists and describes the subcommand
run user add --help
expect_rc 0 "user add --help"
expect_out '^add: ' "user --help describes add"
finish
