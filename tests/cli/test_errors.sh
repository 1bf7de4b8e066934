#!/bin/sh
# Every bad input: a documented exit code, a one-line error naming the field
# or file, and an unchanged database.
. "$(dirname "$0")/lib.sh"

init_db
register_noor; expect_rc 0 "register Noor"
REF=$(cat "$OUT")
BEFORE=$(fingerprint)

unchanged() {
    if [ "$(fingerprint)" = "$BEFORE" ]; then pass; else failt "$1: database changed"; fi
}

# bad REGISTER-ARGS: refused with 65 naming FIELD, nothing written
bad_register() {
    code=$1; field=$2; shift 2
    run --now "$T0" register "$@"
    expect_rc "$code" "register ($field)"
    expect_err "$field" "register ($field)"
    unchanged "register ($field)"
}

BASE="child.name=Layla child.sex=female source=community location=Hilltop consent.registration=child"
# shellcheck disable=SC2086
bad_register 65 "child.age" $BASE concerns=neglect                    # missing required field
bad_register 65 "child.age" $BASE concerns=neglect child.age=twelve   # non-numeric age
bad_register 65 "child.age" $BASE concerns=neglect child.age=12x      # non-numeric age
bad_register 65 "child.age" $BASE concerns=neglect child.age=19       # out of range
bad_register 65 "child.age" $BASE concerns=neglect child.age=-3       # out of range
bad_register 65 "concerns: unknown code 'sadness'" $BASE concerns=neglect,sadness child.age=9
bad_register 65 "source" child.name=Layla child.sex=female location=Hilltop \
    consent.registration=child concerns=neglect child.age=9
bad_register 65 "consent.registration" child.name=Layla child.sex=female location=Hilltop \
    source=school concerns=neglect child.age=9
bad_register 65 "child.colour" $BASE concerns=neglect child.age=9 child.colour=blue
bad_register 65 "key=value" $BASE concerns=neglect child.age=9 stray
bad_register 64 "unknown option" $BASE concerns=neglect child.age=9 --frobnicate
bad_register 65 "possible duplicate of $REF" child.name=Nour child.age=12 child.sex=female \
    source=health concerns=neglect consent.registration=child location=riverside
no_text "Nour" "$ERR" "duplicate warning names no one"

# Identifying data never goes into an error message.
printf '{"child": {"name": "Noor" "Hassan"}}' > named.json
run register --json-in named.json; expect_rc 65 "malformed JSON with a name"
no_text "Hassan" "$ERR" "JSON errors do not quote the input"
bad_register 65 "child.sex" child.name=Layla source=community location=Hilltop \
    consent.registration=child concerns=neglect child.age=9 child.sex=Noor
no_text "Noor" "$ERR" "a mistyped code that may be a name is not echoed"
run --now "$T0" register "Noor Hassan lives at 12 Secret St.x=1" $BASE concerns=neglect child.age=9
expect_rc 65 "a key that is free text"; no_text "Secret" "$ERR" "free-text keys are not echoed"; unchanged "free-text key"
run show Noor; expect_rc 69 "a name given as a reference"; no_text "Noor" "$ERR" "references that look like names are not echoed"
# "1" and "01" would name the same family member: refused, not merged.
bad_register 65 "family" $BASE concerns=neglect child.age=9 family.1.relationship=mother family.01.relationship=father
run list --stage nowhere; expect_rc 65 "unknown stage filter"; expect_err "stage" "unknown stage filter"
run list --concern sadness; expect_rc 65 "unknown concern filter"
run list --limit; expect_rc 64 "--limit without a value"
HAVEN_BUSY_TIMEOUT=abc "$HAVEN" list >"$WORK/out" 2>"$WORK/err"; RC=$?
expect_rc 64 "bad HAVEN_BUSY_TIMEOUT"; expect_err "HAVEN_BUSY_TIMEOUT" "bad HAVEN_BUSY_TIMEOUT"
run note "$REF" "text=$(printf 'bell\033[2J')"; expect_rc 65 "control characters in a note"; unchanged "control characters in a note"
run --as "Jane Doe" --db other.db init --agency CP --workflow "$SRC/workflows/iasc.yaml"
expect_rc 64 "an administrator login with a space"; [ ! -e other.db ] && pass || failt "bad admin login left a file"

# Malformed JSON input, missing input file.
printf '{"source": "school",' > broken.json
run register --json-in broken.json; expect_rc 65 "malformed JSON"; expect_err "input:" "malformed JSON"; unchanged "malformed JSON"
run register --json-in nowhere.json; expect_rc 66 "missing input"; expect_err "nowhere.json" "missing input"; unchanged "missing input"

# Unknown flags and commands.
run --frobnicate list; expect_rc 64 "unknown global option"; expect_err "frobnicate" "unknown global option"
run frobnicate; expect_rc 64 "unknown command"; expect_err "unknown command" "unknown command"
run list --colour red; expect_rc 64 "unknown list option"
run --now yesterday list; expect_rc 64 "bad --now"; expect_err "--now" "bad --now"

# Unknown reference.
run show CP-2026-09999; expect_rc 69 "unknown reference"; expect_err "CP-2026-09999" "unknown reference"
run history CP-2026-09999; expect_rc 69 "unknown reference (history)"
run note CP-2026-09999 text=hello; expect_rc 69 "unknown reference (note)"; unchanged "note on unknown case"

# A note that is not UTF-8 is refused and the case file stays readable.
BEFORE=$(fingerprint)
run note "$REF" "text=$(printf 'bad \377 bytes')"; expect_rc 65 "a note that is not UTF-8"
expect_err 'not UTF-8' "a note that is not UTF-8"; unchanged "a note that is not UTF-8"
run show "$REF"; expect_rc 0 "the case file stays readable"
run note "$REF" text=a text=b; expect_rc 64 "text given twice"

# A stale case version.
run note "$REF" "text=first" --expect-version 1; expect_rc 0 "note at version 1"
BEFORE=$(fingerprint)
run note "$REF" "text=second, from a stale copy" --expect-version 1
expect_rc 65 "stale version"; expect_err "stale version" "stale version"; unchanged "stale version"
run note "$REF"; expect_rc 65 "note without text"; expect_err "text" "note without text"; unchanged "note without text"

# Unwritable database path.
run --db /nonexistent-dir/sub/haven.db init --agency CP --workflow "$SRC/workflows/iasc.yaml"
expect_rc 73 "unwritable path"; expect_err "nonexistent-dir" "unwritable path"
[ ! -e /nonexistent-dir ] && pass || failt "nothing created"
if [ "$(id -u)" -ne 0 ]; then
    mkdir ro && chmod 555 ro
    run --db ro/haven.db init --agency CP --workflow "$SRC/workflows/iasc.yaml"
    expect_rc 73 "read-only folder"
fi
# Initialising an existing database again.
run init --agency CP --workflow "$SRC/workflows/iasc.yaml"
expect_rc 73 "init twice"; expect_err "already exists" "init twice"; unchanged "init twice"
# A bad workflow at init: nothing created.
run --db new.db init --agency CP --workflow "$SRC/tests/fixtures/workflows/bad_unknown_next.yaml"
expect_rc 65 "init with a bad workflow"; expect_err "bad_unknown_next.yaml:[0-9]+:[0-9]+:" "init with a bad workflow"
[ ! -e new.db ] && pass || failt "bad init left a file"
run --db new.db init --agency "c p" --workflow "$SRC/workflows/iasc.yaml"
expect_rc 64 "bad agency code"
run --db new.db init --agency CP --workflow "$SRC/workflows/iasc.yaml" --ref-pattern "CP-{name}-NNNN"
expect_rc 64 "bad reference pattern"; expect_err "ref-pattern" "bad reference pattern"
[ ! -e new.db ] && pass || failt "bad init left a file"

# A missing database.
run --db missing.db show "$REF"; expect_rc 66 "missing database"; expect_err "haven init" "missing database"
[ ! -e missing.db ] && pass || failt "missing database was created"

# A file that is not a database.
yes "not a database" | head -c 20000 > notes.txt
cp notes.txt notes.orig
run --db notes.txt list; expect_rc 65 "not a database"; expect_err "notes.txt" "not a database"
cmp -s notes.txt notes.orig && pass || failt "not-a-database file changed"

# A truncated database.
cp haven.db trunc.db
sqlite3 trunc.db 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
"$HAVEN" --db haven.db list >/dev/null 2>&1
sqlite3 haven.db 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
cp haven.db trunc.db; rm -f trunc.db-wal trunc.db-shm
truncate -s 12288 trunc.db
cp trunc.db trunc.orig
run --db trunc.db show "$REF"; expect_rc 65 "truncated database"; expect_err "trunc.db" "truncated database"
run --db trunc.db --now "$T0" register child.name=Zara child.age=5 child.sex=female source=self concerns=neglect consent.registration=caregiver location=Far
expect_rc 65 "register into a truncated database"
cmp -s trunc.db trunc.orig && pass || failt "truncated database changed"

# A database locked by another process: exit 75 after the busy timeout.
BEFORE=$(fingerprint)
if [ -n "${HAVEN_TEST_PG:-}" ]; then # PostgreSQL: the store's write lock (pgstore.h)
    ( printf 'BEGIN;\nSELECT pg_advisory_xact_lock(4826117935);\n'; sleep 3; printf 'ROLLBACK;\n' ) |
        psql -q -h "$HAVEN_TEST_PG" -U haven "$PGTEST_DB" >/dev/null &
else
    ( printf 'BEGIN IMMEDIATE;\nSELECT 1;\n'; sleep 3; printf 'ROLLBACK;\n' ) | sqlite3 haven.db >/dev/null &
fi
LOCKER=$!
sleep 1
HAVEN_BUSY_TIMEOUT=200 "$HAVEN" --now "$T0" register child.name=Zara child.age=5 child.sex=female \
    source=self concerns=neglect consent.registration=caregiver location=Far >"$WORK/out" 2>"$WORK/err"
RC=$?
expect_rc 75 "locked database"; expect_err "locked" "locked database"
wait $LOCKER
unchanged "locked database"
run --now "$T0" register child.name=Zara child.age=5 child.sex=female source=self \
    concerns=neglect consent.registration=caregiver location=Far
expect_rc 0 "register after the lock is released"

finish
