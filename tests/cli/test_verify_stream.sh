#!/bin/sh
# test_verify_stream.sh - `haven audit verify` walks the chain in one pass,
# hashing each column in place as SQLite stores it (issue 21): every entry
# counted, and a text changed after a NUL byte (which a hash stopping at
# the first NUL would not see) is caught; the sealed values are swept one
# table at a time, every column of each row.
. "$(dirname "$0")/lib.sh"
init_db
register_noor
expect_rc 0 "register"
REF=$(head -1 "$OUT" | cut -d' ' -f1)
run --now "$T0" register child.name=Omar child.age=9 child.sex=male source=police \
    concerns=neglect consent.registration=caregiver location=Hilltop
expect_rc 0 "a second case"
run --as admin --json audit verify
expect_rc 0 "verify"
[ "$(json_get "$OUT" '$.entries')" = "$(sql 'SELECT count(*) FROM events')" ] && pass ||
    failt "every entry walked: $(head -c 300 "$OUT")"
[ "$(json_get "$OUT" '$.head_seq')" = "$(sql 'SELECT max(seq) FROM events')" ] && pass ||
    failt "up to the last entry"
run --as admin --json audit verify --deep
expect_rc 0 "verify --deep"
[ "$(json_get "$OUT" '$.deep.checked')" = 2 ] && pass || failt "both cases' rows checked"

# The rest edits the SQLite file itself (PostgreSQL text holds no NUL; the
# same attacks there: tests/pg/test_pg_tamper.sh).
[ -n "${HAVEN_TEST_PG:-}" ] && finish
tamper() { # WHAT SQL: a copy of the database with SQL run on it, then verify
    rm -f t.db t.db.key t.db.checkpoints t.db.audit-key
    for x in '' .key .checkpoints .audit-key; do cp "$HAVEN_DB$x" "t.db$x"; done
    sqlite3 t.db "DROP TRIGGER events_append_only_update; $2" || failt "$1: sql"
    run --db t.db --as admin audit verify
}
SEQ=$(sql "SELECT max(seq) FROM events WHERE kind = 'registered'")
tamper "a NUL then more in data" \
    "UPDATE events SET data = data || char(0) || ',\"by_role\":\"manager\"}' WHERE seq = $SEQ"
[ "$(sqlite3 t.db "SELECT instr(CAST(data AS BLOB), X'00') > 0 FROM events WHERE seq = $SEQ")" = 1 ] &&
    pass || failt "the NUL is in the row"
expect_rc 65 "a text extended after a NUL"
expect_err "entry $SEQ was changed" "the entry is named"
tamper "a NUL then more in the actor" \
    "UPDATE events SET actor = actor || char(0) || 'x' WHERE seq = $SEQ"
expect_rc 65 "an actor extended after a NUL"
expect_err "entry $SEQ was changed" "the entry is named"
# two sealed values of one row swapped: caught, each named (one scan per table)
tamper "swapped" "UPDATE persons SET name = details, details = name WHERE id =
    (SELECT min(id) FROM persons WHERE typeof(details) = 'blob' AND typeof(name) = 'blob')"
expect_rc 65 "a row's name and details swapped"
expect_err "2 sealed values do not open.*persons\.name row [0-9]+ \(case $REF\); persons\.details row" \
    "both values and the case named"
finish
