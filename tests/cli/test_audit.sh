#!/bin/sh
# The tamper-evident audit trail: audit verify names the first bad entry for
# a changed byte, a deleted, reordered or inserted entry, or a cut tail; a
# signed checkpoint detects a rollback or a rewrite; audit log's roles.
. "$(dirname "$0")/lib.sh"

init_db   # events 1-5: initialised, four users added
for i in 1 2 3 4; do
    run --as amal --now "$T0" register --force child.name="Child $i" child.age=9 child.sex=male \
        location=Camp source=community concerns=neglect consent.registration=caregiver
done
run --as amal --now 2026-11-29T09:00:00Z assess CP-2026-00001 kind=initial safety=ok
run audit verify; expect_rc 0 "a fresh database verifies"; expect_out 'ok: 10 entries' "every entry is chained"
[ "$(sql "SELECT count(*) FROM events WHERE length(hash) = 32")" = 10 ] && pass || failt "every event has a hash"
[ -f haven.db.audit-key ] && [ "$(stat -c %a haven.db.audit-key)" = 600 ] && pass || failt "the key beside the database, 0600"

# Each tampering on a copy, with the append-only triggers dropped as an
# attacker with the file would.
tamper() { # NAME SQL WANT
    cp haven.db "$1.db"; cp haven.db.audit-key "$1.db.audit-key"; cp haven.db.key "$1.db.key"
    cp haven.db.checkpoints "$1.db.checkpoints"
    sqlite3 "$1.db" "DROP TRIGGER events_append_only_update; DROP TRIGGER events_append_only_delete; $2"
    run --db "$1.db" audit verify
    expect_rc 65 "$1 is detected"
    expect_err "$3" "$1 names the entry"
}
tamper changed "UPDATE events SET data = replace(data, 'neglect', 'nothing') WHERE seq = 6" 'entry 6 was changed'
tamper byte "UPDATE events SET at = at + 1 WHERE seq = 5" 'entry 5 was changed'
tamper deleted "DELETE FROM events WHERE seq = 4" 'entry 4 is missing'
tamper reordered "UPDATE events SET seq = 100 WHERE seq = 2; UPDATE events SET seq = 2 WHERE seq = 3; UPDATE events SET seq = 3 WHERE seq = 100" 'entry 2'
tamper inserted "INSERT INTO events (seq, at, actor, kind, data, prev_hash, hash) SELECT 11, at, 'mallory', 'registered', '{}', hash, randomblob(32) FROM events WHERE seq = 10" 'entry 11'
tamper actor "UPDATE events SET actor = 'mallory' WHERE seq = 7" 'entry 7 was changed'
tamper truncated "DELETE FROM events WHERE seq = 10" 'entries after 9 are missing'
tamper prefix "DELETE FROM events WHERE seq <= 3" 'entry 1 is missing'
tamper blanked "UPDATE events SET hash = NULL, prev_hash = NULL WHERE seq <= 3" 'entry 1 has no hash'
tamper moved_start "UPDATE meta SET value = '4' WHERE key = 'audit_chain_from'" 'start was moved'
tamper first_prev "UPDATE events SET prev_hash = randomblob(32) WHERE seq = 1" 'entry 1 does not follow'

# A signed checkpoint, then a rollback to an older copy, and a rewrite.
cp haven.db older.db; cp haven.db.audit-key older.db.audit-key; cp haven.db.key older.db.key
run --as amal --now 2026-11-30T09:00:00Z note CP-2026-00002 text="Called the family"
run audit checkpoint; expect_rc 0 "checkpoint"; cp "$OUT" checkpoint.json
[ "$(json_get checkpoint.json '$.seq')" = 11 ] && pass || failt "the checkpoint is at the head"
run audit verify --checkpoint checkpoint.json; expect_rc 0 "the checkpoint matches"
run --db older.db audit verify --checkpoint checkpoint.json
expect_rc 65 "a rollback is detected"; expect_err 'restored to an older state' "a rollback is named"
cp haven.db rewritten.db; cp haven.db.audit-key rewritten.db.audit-key; cp haven.db.key rewritten.db.key
sqlite3 rewritten.db "DROP TRIGGER events_append_only_delete; DELETE FROM events WHERE seq = 11; DELETE FROM notes; UPDATE sqlite_sequence SET seq = 10 WHERE name = 'events'"
run --db rewritten.db --as amal --now 2026-11-30T10:00:00Z note CP-2026-00003 text="a different note"
run --db rewritten.db audit verify; expect_rc 0 "the rewritten chain is itself consistent"
run --db rewritten.db audit verify --checkpoint checkpoint.json
expect_rc 65 "a rewrite after the checkpoint is detected"; expect_err 'rewritten after it' "a rewrite is named"
# (another first digit: never the same signature, whatever it began with)
sed 's/"signature": "0/"signature": "1/;t;s/"signature": "./"signature": "0/' checkpoint.json > forged.json
run audit verify --checkpoint forged.json; expect_rc 65 "a forged checkpoint"; expect_err 'signature' "a bad signature is named"

# audit log: for supervisors and administrators, no case content.
run --as amal audit log; expect_rc 77 "a caseworker cannot read the audit log"
run --as sara audit log CP-2026-00001; expect_rc 0 "a supervisor reads the audit log"
expect_out 'amal +caseworker +CP-2026-00001 +assessed' "who did what to which case"
no_text 'Child 1' "$OUT" "the audit log holds no names"
run --as admin --json audit log --user amal --since 2026-11-29T00:00:00Z; cp "$OUT" log.json
[ "$(sqlite3 :memory: "SELECT json_array_length(readfile('log.json'))")" = 2 ] && pass || failt "--user and --since filter"
finish
