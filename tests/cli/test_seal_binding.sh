#!/bin/sh
# Issue 15, attack 7 (first half): every sealed value is bound to its table,
# column and row id, so a ciphertext swapped, moved or copied with sqlite3
# (no key needed) does not open: show and search refuse with 65 and one line
# naming the place (never the value), and `audit verify` names every such
# value.  "Assign a unique reference code to each case for confidentiality"
# and "we must keep this information confidentially and securely" (seed
# 001): a child's record must not carry another child's name.
# A database sealed before binding (tests/fixtures/legacy_sealed_v9.sql, made
# by the build before this change; or one made now by $HAVEN_BASE when set)
# is bound once when opened with the key, and reads as before; an old-format
# value planted after that is refused.
. "$(dirname "$0")/lib.sh"

init_db
register_noor; expect_rc 0 "Noor registered"; REF1=$(cat "$OUT")
run --now "$T0" register child.name="Zainab Karim" child.age=9 child.sex=female \
    source=school concerns=emotional_distress consent.registration=caregiver \
    location=Hillside
expect_rc 0 "Zainab registered"; REF2=$(cat "$OUT")
P1=$(sql "SELECT p.id FROM persons p JOIN cases c ON c.id = p.case_id WHERE c.ref = '$REF1' AND role = 'child'")
P2=$(sql "SELECT p.id FROM persons p JOIN cases c ON c.id = p.case_id WHERE c.ref = '$REF2' AND role = 'child'")
C2=$(sql "SELECT id FROM cases WHERE ref = '$REF2'")
names() { sql "SELECT hex(name) FROM persons ORDER BY id" | sha256sum; }
GOOD=$(names)

# swap_names: exchanges the two children's sealed names in place.
swap_names() {
    sql "CREATE TEMP TABLE t AS SELECT id, name FROM persons WHERE id IN ($P1, $P2);
         UPDATE persons SET name = (SELECT name FROM t WHERE t.id = $P1 + $P2 - persons.id)
         WHERE id IN ($P1, $P2);"
}

# 1. Two children's names swapped.
swap_names
run --as amal show "$REF1"; expect_rc 65 "show with a swapped name is refused"
expect_err "persons\.name of row $P1: .*(moved|copied)" "the refusal names the table, column and row"
no_text Zainab "$OUT" "the other child's name is not shown"
no_text Zainab "$ERR" "nor put in the error"
run --as amal show "$REF2"; expect_rc 65 "the other case too"
no_text Noor "$OUT" "Noor's name is not shown under Zainab's reference"
run --as amal search Noor; expect_rc 65 "search over a swapped name is refused"
no_text Zainab "$OUT" "search does not show the swapped name"
no_text Noor "$ERR" "the error holds no name"
run --as admin audit verify; expect_rc 65 "audit verify fails"
expect_err "persons\.name row $P1 \(case $REF1\).*persons\.name row $P2 \(case $REF2\)" \
    "audit verify names both rows and their cases"
no_text Noor "$ERR" "audit verify shows no value"
# A copied file whose reference was edited into a name: verify does not echo it.
cp haven.db crafted.db
for x in key audit-key checkpoints; do cp "haven.db.$x" "crafted.db.$x"; done
sqlite3 crafted.db "UPDATE cases SET ref = 'Noor Hassan' WHERE ref = '$REF1'"
run --db crafted.db --as admin audit verify; expect_rc 65 "verify of the crafted copy fails"
no_text "Noor Hassan" "$ERR" "a reference edited into a name is not echoed"
swap_names
[ "$(names)" = "$GOOD" ] && pass || failt "swapped back"
run --as amal show "$REF1"; expect_rc 0 "swapped back, the case reads again"
expect_out "Noor" "its own name"

# 2. A note's sealed text moved to another case.
run --as amal --now 2026-11-28T10:00:00Z note "$REF1" text="Mother called the school"
expect_rc 0 "a note on Noor's case"
N1=$(sql "SELECT max(id) FROM notes")
sql "INSERT INTO notes (case_id, at, author_id, text)
     SELECT $C2, at, author_id, text FROM notes WHERE id = $N1"
N2=$(sql "SELECT max(id) FROM notes")
run --as amal show "$REF2"; expect_rc 65 "a note moved to another case does not open there"
expect_err "notes\.text of row $N2" "naming the note's row"
no_text "Mother called" "$OUT" "the moved note is not shown"
run --as admin audit verify; expect_rc 65 "audit verify names the moved note"
expect_err "notes\.text row $N2 \(case $REF2\)" "the moved note and its case"
sql "DELETE FROM notes WHERE id = $N2"

# 3. A value copied to another column of its row, and to another table.
sql "UPDATE persons SET birth_date = name WHERE id = $P1"
run --as amal show "$REF1"; expect_rc 65 "a name copied into the date of birth does not open"
expect_err "persons\.birth_date of row $P1" "naming the column"
sql "UPDATE persons SET birth_date = NULL WHERE id = $P1"
sql "UPDATE cases SET location = (SELECT name FROM persons WHERE id = $P2) WHERE id = $C2"
run --as amal show "$REF2"; expect_rc 65 "a name copied into the case's location does not open"
expect_err "cases\.location of row $C2" "naming the table"
no_text Zainab "$OUT" "the copied name is not shown"
# Plain text written into a sealed column is no better.
sql "UPDATE cases SET location = 'Elsewhere' WHERE id = $C2"
run --as amal show "$REF2"; expect_rc 65 "plain text in a sealed column is refused"
expect_err "cases\.location of row $C2: the value is not sealed" "as not sealed"
run --as admin audit verify; expect_rc 65 "audit verify names it"
sql "UPDATE cases SET location = NULL WHERE id = $C2"
run --as admin audit verify; expect_rc 0 "nothing out of place: audit verify passes"

# 4. A database sealed before binding (the build before this change).
legacy_check() { # DB KEY WHAT
    export HAVEN_DB="$1"
    run --as amal list; expect_rc 0 "$3: opens"
    [ "$(sql "SELECT count(*) FROM meta WHERE key = 'seal_binding'")" = 1 ] && pass ||
        failt "$3: the binding is recorded once opened with the key"
    [ "$(sql "SELECT count(*) FROM persons WHERE substr(name, 1, 3) = X'485631'
              OR typeof(details) = 'text'")" = 0 ] && pass ||
        failt "$3: no value left in the old format"
    run --as amal show CP-2026-00001; expect_rc 0 "$3: the case reads"
    expect_out "Noor Haddad" "$3: the child's name"
    expect_out "Amina Haddad" "$3: the mother's name"
    expect_out "Mother called the school" "$3: the note"
    run --as amal search Zainab; expect_rc 0 "$3: search"; expect_out "CP-2026-00002" "$3: finds Zainab"
    run --as admin audit verify; expect_rc 0 "$3: audit verify passes after binding"
    # An old-format value (from a copy made before) planted after binding.
    sql "ATTACH '$2' AS old; UPDATE persons SET name = (SELECT name FROM old.persons
         WHERE id = 3) WHERE id = 3; DELETE FROM meta WHERE key = 'seal_binding'"
    run --as amal show CP-2026-00002; expect_rc 65 "$3: a planted old-format value is refused"
    expect_err "persons\.name of row 3: .*old format" "$3: as old format"
    run --as admin audit verify; expect_rc 65 "$3: audit verify names it"
    expect_err "persons\.name row 3 \(case CP-2026-00002\)" "$3: the planted row"
    sql "UPDATE persons SET name = NULL WHERE id = 3"
}
mkdir legacy && cd legacy || exit 1
sqlite3 legacy.db <"$SRC/tests/fixtures/legacy_sealed_v9.sql"
cp legacy.db before.db
cp "$SRC/tests/fixtures/legacy_sealed_v9.key" legacy.db.key && chmod 600 legacy.db.key
# Opened without the key first: nothing can be bound (nor the audit chain
# keyed, which upgrading to schema 10 needs: 77), nothing changes.
mv legacy.db.key away.key
run --db "$WORK/legacy/legacy.db" --as amal list; expect_rc 77 "without the key: not upgraded"
cmp -s legacy.db before.db && pass || failt "without the key the file changed"
[ "$(sqlite3 legacy.db "SELECT count(*) FROM meta WHERE key = 'seal_binding'")" = 0 ] && pass ||
    failt "without the key nothing is bound"
mv away.key legacy.db.key
legacy_check "$WORK/legacy/legacy.db" "$WORK/legacy/before.db" "fixture"
if [ -n "${HAVEN_BASE:-}" ] && [ -x "$HAVEN_BASE" ]; then
    B="$WORK/legacy/base.db"
    HAVEN_DB=$B "$HAVEN_BASE" --as admin --now "$T0" init --agency CP \
        --workflow "$SRC/workflows/iasc.yaml" >/dev/null 2>&1
    for u in "sara --role supervisor" "amal --role caseworker --supervisor sara"; do
        # shellcheck disable=SC2086
        HAVEN_DB=$B "$HAVEN_BASE" --as admin user add $u >/dev/null 2>&1
    done
    HAVEN_DB=$B "$HAVEN_BASE" --as amal --now "$T0" register child.name="Noor Haddad" \
        child.age=12 child.sex=female source=school concerns=emotional_distress \
        consent.registration=caregiver location=Riverside family.1.relationship=mother \
        family.1.name="Amina Haddad" >/dev/null
    HAVEN_DB=$B "$HAVEN_BASE" --as amal --now "$T0" register child.name="Zainab Karim" \
        child.age=9 child.sex=female source=school concerns=emotional_distress \
        consent.registration=caregiver location=Hillside >/dev/null
    HAVEN_DB=$B "$HAVEN_BASE" --as amal --now 2026-11-28T10:00:00Z note CP-2026-00001 \
        text="Mother called the school" >/dev/null
    cp "$B" "$WORK/legacy/base-before.db"
    legacy_check "$B" "$WORK/legacy/base-before.db" "made by \$HAVEN_BASE"
fi
cd "$WORK" && export HAVEN_DB="$WORK/haven.db"
finish
