#!/bin/sh
# Encryption at rest on a PostgreSQL store (issue 17: "PostgreSQL sees only
# ciphertext and blind-index keys"): canary values appear nowhere in a
# pg_dump of the store, in PostgreSQL's own files, or in a backup; search
# works with the key (kept by Haven in $HAVEN_STATE_DIR, never in the
# database) and fails cleanly without it; a key file others may read is
# refused; a password in the URL appears in no message and no file name.
# (The same for a SQLite file: tests/cli/test_encryption.sh, test_key_mode.sh.)
. "$(dirname "$0")/../cli/lib.sh"
[ -n "${HAVEN_TEST_PG:-}" ] || { echo "test_pg_keys: PostgreSQL only (pg-test.sh)" >&2; exit 1; }

init_db
[ -f "$DB_KEY" ] && [ "$(stat -c %a "$DB_KEY")" = 600 ] && pass || failt "the key file in HAVEN_STATE_DIR, 0600"
[ "$(sql "SELECT count(*) FROM meta WHERE value LIKE '%$(od -An -tx1 -N8 "$DB_KEY" | tr -d ' \n')%'")" = 0 ] &&
    pass || failt "the key's bytes are stored in the database"
CANARIES="Zqxwyvname Qzvtownplace Kqxmothername Wqzformvalue Jqxnotetext Vqzsummary"
# Seed 001: Noor, 12, referred by her school for emotional distress.
run --as amal --now "$T0" register child.name="Noor Zqxwyvname" child.age=12 child.sex=female \
    child.dob=2014-05-02 location="Qzvtownplace block 4" source=school concerns=emotional_distress \
    consent.registration=caregiver consent.information_sharing=caregiver \
    family.1.relationship=mother family.1.name=Kqxmothername form.referral_note=Wqzformvalue
expect_rc 0 "register with canaries"; REF=$(cat "$OUT")
run --as amal --now 2026-11-28T10:00:00Z note "$REF" text="Jqxnotetext from the school"
expect_rc 0 "a note with a canary"
run --as amal --now 2026-11-29T09:00:00Z assess "$REF" kind=initial safety=ok summary=Vqzsummary
expect_rc 0 "an assessment with a canary"
run --as amal show "$REF"
for c in Zqxwyvname Qzvtownplace Kqxmothername Jqxnotetext Vqzsummary; do
    grep -q "$c" "$OUT" && pass || failt "$c is readable with the key"
done

# What PostgreSQL holds: a dump of the store, and the cluster's files (the
# tables, after a checkpoint, and the WAL).
pg_dump -h "$HAVEN_TEST_PG" -U haven "$PGTEST_DB" >dump.sql 2>/dev/null
[ -s dump.sql ] && grep -q 'COPY public.persons' dump.sql && pass || failt "pg_dump of the store"
psql -X -q -h "$HAVEN_TEST_PG" -U haven -d "$PGTEST_DB" -c CHECKPOINT >/dev/null 2>&1
dbdir="$HAVEN_TEST_PG/data/base/$(psql -X -At -h "$HAVEN_TEST_PG" -U haven -d "$PGTEST_DB" \
    -c "SELECT oid FROM pg_database WHERE datname = current_database()")"
[ -d "$dbdir" ] && pass || failt "the store's folder in the cluster: $dbdir"
run --as admin backup backup.db; expect_rc 0 "a backup"
for c in $CANARIES; do
    if grep -q "$c" dump.sql; then failt "$c is in plaintext in pg_dump's output"; else pass; fi
    if grep -rqa "$c" "$dbdir" "$HAVEN_TEST_PG/data/pg_wal"; then
        failt "$c is in plaintext in PostgreSQL's files"
    else pass; fi
    if grep -aq "$c" backup.db; then failt "$c is in plaintext in the backup"; else pass; fi
done
# (the control: what is stored in clear, the reference, is found there)
grep -rqa "$REF" "$dbdir" "$HAVEN_TEST_PG/data/pg_wal" && pass || failt "the search of PostgreSQL's files finds nothing at all"
[ "$(psql -X -At -h "$HAVEN_TEST_PG" -U haven -d "$PGTEST_DB" -c \
    "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
     WHERE attrelid = 'persons'::regclass AND attname = 'name'")" = bytea ] &&
    pass || failt "a sealed column is bytea in PostgreSQL"

run --as amal search Zqxwyvname; expect_rc 0 "search with the key"; expect_out "$REF" "search finds the child"

# Without the key: pseudonymous reading only, no writing.
mv "$DB_KEY" away.key
run --as amal list; expect_rc 0 "list without the key"; expect_out "$REF" "references stay readable"
no_text Zqxwyvname "$OUT" "no name without the key"
run --as amal search Noor; expect_rc 77 "search without the key fails cleanly"
expect_err 'data key is not available' "search names the missing key"
run --as amal --now 2026-12-11T09:00:00Z note "$REF" text=x; expect_rc 77 "no writing without the key"
head -c 32 /dev/urandom >"$DB_KEY"; chmod 600 "$DB_KEY"
run --as amal search Noor; expect_rc 77 "a wrong key file reads nothing"
mv away.key "$DB_KEY"
run --as amal search Noor; expect_rc 0 "the key back: search works again"

# A key file its group or others may read is refused, naming the chmod.
for mode in 640 604; do
    chmod "$mode" "$DB_KEY"
    run --as amal show "$REF"
    expect_rc 77 "show with a key file of mode $mode"
    expect_err "chmod 600 " "the refusal names the chmod to run ($mode)"
done
chmod 600 "$DB_KEY"
run --as amal show "$REF"; expect_rc 0 "the key the owner's alone again"

# A password in the URL: in no message and no file name.
SECRET=Zqxpassw0rd
PWURL="postgresql://haven:$SECRET@/$PGTEST_DB?host=$HAVEN_TEST_PG"
run --db "$PWURL" --as amal show CP-2026-99999
expect_rc 69 "an unknown case on the store reached with a password"
no_text "$SECRET" "$ERR" "no password in the error"
run --db "postgresql://haven:$SECRET@/no_such_db_zq?host=$HAVEN_TEST_PG" --as amal list
[ "$RC" -ne 0 ] && pass || failt "a missing database is refused"
no_text "$SECRET" "$ERR" "no password when the database is missing"
grep -q no_such_db_zq "$ERR" && pass || failt "the message names the database: $(cat "$ERR")"
if ls "$HAVEN_STATE_DIR" | grep -q "$SECRET"; then failt "a password in a file name"; else pass; fi
finish
