#!/bin/sh
# Tampering by whoever holds the PostgreSQL database (issue 17): a DBA or
# an intruder with the superuser can do what the owner of a SQLite file
# can — disable the events' append-only trigger, edit, delete, insert or
# reorder rows, swap ciphertext between rows, restore an older dump — but
# holds neither the data key nor the audit key (they stay with Haven, in
# $HAVEN_STATE_DIR).  So each attack is detected: `audit verify` names the
# first bad entry of the keyed chain, the signed checkpoints see a
# restored older state, `--deep` names the cases whose rows no longer
# match their digest, a change to such a case is refused, and what the
# DBA can read of the children is ciphertext.  (The same attacks on a
# SQLite file: tests/cli/test_audit.sh, test_deep_verify.sh,
# test_guard_tamper.sh, test_guard_clock_meta.sh, test_seal_binding.sh.)
. "$(dirname "$0")/../cli/lib.sh"
[ -n "${HAVEN_TEST_PG:-}" ] || { echo "test_pg_tamper: PostgreSQL only (pg-test.sh)" >&2; exit 1; }

PSQL="psql -X -q -v ON_ERROR_STOP=1 -h $HAVEN_TEST_PG -U haven"
COPIES=""
trap 'for c in $COPIES; do dropdb -h "$HAVEN_TEST_PG" -U haven --if-exists "$c" 2>/dev/null; done
      dropdb -h "$HAVEN_TEST_PG" -U haven --if-exists "$PGTEST_DB" 2>/dev/null; rm -rf "$WORK"' EXIT

init_db   # events 1-5: initialised, four users added
for i in 1 2 3 4; do
    run --as amal --now "$T0" register --force child.name="Zqxpg$i Tamper" child.age=9 child.sex=male \
        "location=Zqxvillage $i" source=community concerns=neglect consent.registration=caregiver
    expect_rc 0 "register $i"
done
run --as amal --now 2026-11-29T09:00:00Z assess CP-2026-00001 kind=initial safety=ok
run audit verify --deep; expect_rc 0 "a fresh store verifies"; expect_out 'ok: 10 entries' "ten entries"

# What the superuser reads: no name, place or age in any table.
pg_dump -h "$HAVEN_TEST_PG" -U haven "$PGTEST_DB" >dump.sql 2>/dev/null
[ -s dump.sql ] && pass || failt "pg_dump wrote nothing"
no_text Zqxpg dump.sql "no child's name in a dump of the store"
no_text Zqxvillage dump.sql "no location in a dump of the store"

# copy: a fresh database cloned from the store (CREATE DATABASE ...
# TEMPLATE), with copies of the files Haven keeps for it; sets URL.
n=0
copy() {
    n=$((n + 1))
    c="${PGTEST_DB}_c$n"
    COPIES="$COPIES $c"
    createdb -h "$HAVEN_TEST_PG" -U haven -T "$PGTEST_DB" "$c" || failt "createdb $c"
    URL="postgresql:///$c?host=$HAVEN_TEST_PG&user=haven"
    side="$WORK/pg-$c"
    cp "$DB_KEY" "$side.key"; cp "$DB_AUDIT_KEY" "$side.audit-key"
    cp "$DB_CHECKPOINTS" "$side.checkpoints"
    C=$c
}
# tamper NAME SQL WANT: SQL run by the superuser on a copy, with the
# append-only trigger disabled; audit verify fails (65) naming WANT.
tamper() {
    copy
    $PSQL -d "$C" -c "ALTER TABLE events DISABLE TRIGGER events_append_only; $2" ||
        failt "$1: the attack itself failed"
    run --db "$URL" audit verify
    expect_rc 65 "$1 is detected"
    expect_err "$3" "$1 names the entry"
    no_text Zqxpg "$ERR" "$1: no name in the message"
}
tamper changed "UPDATE events SET data = replace(data, 'neglect', 'nothing') WHERE seq = 6" 'entry 6 was changed'
tamper byte "UPDATE events SET at = at + 1 WHERE seq = 5" 'entry 5 was changed'
tamper deleted "DELETE FROM events WHERE seq = 4" 'entry 4 is missing'
tamper reordered "UPDATE events SET seq = 100 WHERE seq = 2; UPDATE events SET seq = 2 WHERE seq = 3;
    UPDATE events SET seq = 3 WHERE seq = 100" 'entry 2'
tamper inserted "INSERT INTO events (seq, at, actor, kind, data, prev_hash, hash)
    SELECT 11, at, 'mallory', 'registered', '{}', hash, sha256(random()::text::bytea) FROM events WHERE seq = 10" 'entry 11'
tamper actor "UPDATE events SET actor = 'mallory' WHERE seq = 7" 'entry 7 was changed'
tamper truncated "DELETE FROM events WHERE seq = 10" 'entries after 9 are missing'
tamper blanked "UPDATE events SET hash = NULL, prev_hash = NULL WHERE seq <= 3" 'entry 1 has no hash'
tamper moved_start "UPDATE meta SET value = '4' WHERE key = 'audit_chain_from'" 'start was moved'

# The clock mode edited in meta (a simulated store marked live): verify
# compares it with the chained initialised event.
copy
$PSQL -d "$C" -c "UPDATE meta SET value = 'live' WHERE key = 'clock'"
run --db "$URL" audit verify; expect_rc 65 "a simulated store marked live"
expect_err "clock is live \(meta clock\) but it was initialised simulated" "names both"

# Rows edited in place (the chain itself stays whole): --deep names the
# cases whose rows no longer match the digest their last event recorded.
# deep_fails WANT WHAT [PLAIN]: as in test_deep_verify.sh.
deep_fails() {
    run --db "$URL" audit verify
    if [ -n "${3:-}" ]; then
        expect_rc 65 "$2: plain verify"; expect_err "$3" "$2: plain verify names it"
    else
        expect_rc 0 "$2: the chain itself is whole"
    fi
    run --db "$URL" audit verify --deep
    expect_rc 65 "$2: detected"
    expect_err "the rows of $1 no longer match" "$2: the cases named"
    no_text Zqxpg "$ERR" "$2: no name in the message"
}
copy
$PSQL -d "$C" -c "UPDATE cases SET risk_level = 'low' WHERE ref = 'CP-2026-00002'"
deep_fails 'CP-2026-00002' "a risk level edited"
# ... and a change to that case is refused, writing nothing.
run --db "$URL" --as amal --now 2026-11-30T09:00:00Z note CP-2026-00002 text="after the edit"
expect_rc 65 "a note on the edited case"
expect_err 'CP-2026-00002: its rows were changed outside Haven' "the refusal names the case"
[ "$($PSQL -d "$C" -At -c "SELECT count(*) FROM notes")" = 0 ] && pass || failt "the refused note was written"

copy
$PSQL -d "$C" -c "DELETE FROM tasks WHERE id = (SELECT min(id) FROM tasks WHERE case_id =
    (SELECT id FROM cases WHERE ref = 'CP-2026-00003'))"
deep_fails 'CP-2026-00003' "a task deleted"

# Ciphertext swapped between two children: each sealed value is bound to
# its table, column and row, so it no longer opens where it was moved.
copy
$PSQL -d "$C" -c "CREATE TEMP TABLE n AS SELECT case_id, name FROM persons WHERE role = 'child';
    UPDATE persons SET name = (SELECT name FROM n WHERE n.case_id = 3 - persons.case_id)
    WHERE role = 'child' AND case_id IN (1, 2)"
deep_fails 'CP-2026-00001, CP-2026-00002' "sealed names swapped" \
    'persons.name row 1 \(case CP-2026-00001\); persons.name row 2 \(case CP-2026-00002\)'
run --db "$URL" --as amal show CP-2026-00001
[ "$RC" -ne 0 ] && pass || failt "a swapped name was shown as the child's"
no_text Zqxpg2 "$OUT" "the other child's name is never shown"

# An older state restored (a dump taken before the last changes, restored
# over the store): the signed checkpoints kept beside it by Haven see it.
copy
OLD=$C
run --as amal --now 2026-11-30T09:00:00Z note CP-2026-00002 text="Called the family"
expect_rc 0 "a note after the copy"
cp "$DB_CHECKPOINTS" "$WORK/pg-$OLD.checkpoints"
run --db "$URL" audit verify
expect_rc 65 "a store restored to an older state is detected"
expect_err 'restored to an older state' "the rollback is named"
run audit verify; expect_rc 0 "the store itself still verifies"
[ -n "$OLD" ] && pass
finish
