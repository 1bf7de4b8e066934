#!/bin/sh
# Issue 15, point 6: the audit chain is keyed with a secret kept outside the
# database (derived from the data key), anchored (its start is set only by
# a migration and recorded in a keyed entry), and checked against the
# signed checkpoints every change appends to <db>.checkpoints.  Each attack
# of the issue, as someone holding the database file (not its keys) would
# make it, must fail `audit verify`; and every event records the OS account
# that ran the command beside the Haven user.
. "$(dirname "$0")/lib.sh"

init_db
for i in 1 2 3; do
    run --as amal --now "$T0" register --force child.name="Child $i" child.age=9 child.sex=male \
        location=Camp source=community concerns=neglect consent.registration=caregiver
done
run --as amal --now 2026-11-29T09:00:00Z note CP-2026-00001 text="Visited the family"
run audit verify; expect_rc 0 "the fresh chain verifies"
expect_out 'ok: 9 entries chained up to entry 9; 9 checkpoints match' "every change checkpointed"
[ "$(wc -l < haven.db.checkpoints)" = 9 ] && pass || failt "one signed line per committed change"
[ "$(stat -c %a haven.db.checkpoints)" = 600 ] && pass || failt "the checkpoints file is the owner's"

# copy NAME: the database and every file beside it, as the attacker finds them.
copy() {
    cp haven.db "$1.db"
    for s in key audit-key checkpoints; do cp "haven.db.$s" "$1.db.$s"; done
}
# edit NAME SQL: with the append-only triggers dropped, as an attacker would.
edit() {
    sqlite3 "$1.db" "DROP TRIGGER IF EXISTS events_append_only_update;
        DROP TRIGGER IF EXISTS events_append_only_delete; $2"
}
# rehash NAME: recomputes every hash of the chain with the public constant
# key of the unkeyed chain (BLAKE2b-256 keyed "haven-audit-v1").
rehash() {
    python3 - "$1.db" <<'PY'
import hashlib, sqlite3, struct, sys
db = sqlite3.connect(sys.argv[1])
prev = None
rows = db.execute("SELECT seq, at, actor, case_id, kind, data, decision"
                  " FROM events ORDER BY seq").fetchall()
for seq, at, actor, case_id, kind, data, decision in rows:
    h = hashlib.blake2b(key=b"haven-audit-v1", digest_size=32)
    h.update(prev or bytes(32))
    def num(v): h.update(struct.pack("<q", v or 0))
    def text(v): h.update(b"\xff" if v is None else v.encode() + b"\0")
    num(seq); num(at); text(actor); num(case_id); text(kind); text(data); text(decision)
    digest = h.digest()
    db.execute("UPDATE events SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, seq))
    prev = digest
db.commit()
PY
}
# verify_fails NAME WANT WHAT
verify_fails() {
    run --db "$1.db" audit verify
    expect_rc 65 "$3: detected"
    expect_err "$2" "$3: named"
    no_text 'ok:' "$OUT" "$3: never ok"
}

# 1. Recomputing every hash after an edit, without the key.
if command -v python3 >/dev/null 2>&1; then
    copy recomputed
    edit recomputed "UPDATE events SET actor = 'mallory' WHERE seq = 7"
    rehash recomputed
    verify_fails recomputed 'entry 1 was changed' "every hash recomputed with the public key"
else
    failt "python3 is missing: run 'sh tools/install-deps.sh' (as root) to install it"
fi

# 2. Every hash nulled and the chain's start moved past the end.
copy nulled
edit nulled "UPDATE events SET hash = NULL, prev_hash = NULL;
    UPDATE meta SET value = (SELECT max(seq) + 1 FROM events) WHERE key = 'audit_chain_from'"
verify_fails nulled 'start was moved' "hashes nulled, start moved"
copy nulled2
edit nulled2 "UPDATE events SET hash = NULL, prev_hash = NULL;
    UPDATE meta SET value = (SELECT max(seq) + 1 FROM events)
    WHERE key IN ('audit_chain_from', 'audit_chain_keyed_from')"
verify_fails nulled2 'entry 10, the start of the keyed chain, is missing' "both starts moved"
copy unanchored
edit unanchored "DELETE FROM meta WHERE key = 'audit_chain_keyed_from'"
verify_fails unanchored 'keyed chain is not recorded' "the keyed start removed"

# 3. Every event deleted (and SQLite's memory of the highest number).
copy emptied
edit emptied "DELETE FROM events; DELETE FROM sqlite_sequence WHERE name = 'events'"
verify_fails emptied 'entry 1, the start of the keyed chain, is missing' "DELETE FROM events"

# 4. The tail cut consistently: the chain itself is whole, the signed
#    checkpoints are not.
copy cut
edit cut "DELETE FROM events WHERE seq > 7; UPDATE sqlite_sequence SET seq = 7 WHERE name = 'events'"
verify_fails cut 'ends at entry 7 but the checkpoint of line 8 saw entry 8' "a cut tail"
# ...with the checkpoints of the cut entries replaced by a forged one for
# the new head (whoever holds only the files cannot sign it).
grep -v '"seq":8,\|"seq":9,' haven.db.checkpoints > cut.db.checkpoints
HEAD7=$(sqlite3 cut.db "SELECT hex(hash) FROM events WHERE seq = 7")
printf '{"seq":7,"hash":"%s","at_seconds":1796000000,"signature":"%0128d"}\n' "$HEAD7" 0 >> cut.db.checkpoints
verify_fails cut 'line 8 is not signed with this database.s audit key' "a forged checkpoint"
# ...or signed with another key (the attacker's own database's).
run --db other.db --as admin init --agency CP --workflow "$SRC/workflows/iasc.yaml"
grep -v '"seq":8,\|"seq":9,' haven.db.checkpoints > cut.db.checkpoints
cp cut.db.audit-key saved.audit-key; cp other.db.audit-key cut.db.audit-key
run --db cut.db audit checkpoint --out mine.json; expect_rc 0 "a checkpoint signed with another key"
cp saved.audit-key cut.db.audit-key
tr -d '\n ' < mine.json >> cut.db.checkpoints; echo >> cut.db.checkpoints
verify_fails cut 'not signed with this database.s audit key' "a checkpoint signed with another key"
# ...or no checkpoints at all.
copy gone
rm gone.db.checkpoints
run --db gone.db audit verify; expect_rc 66 "a missing checkpoints file"
expect_err 'checkpoints: missing' "named"; no_text 'ok:' "$OUT" "never ok"
# A torn last line (a crash while appending) is not an attack.
copy torn
printf '{"seq":10,"hash":"AB' >> torn.db.checkpoints
run --db torn.db audit verify; expect_rc 0 "a torn last line is ignored"

# 5. audit checkpoint --out still exports one to keep elsewhere.
run audit checkpoint --out kept.json; expect_rc 0 "export a checkpoint"
[ "$(json_get kept.json '$.seq')" = 9 ] && pass || failt "the exported checkpoint is at the head"
run audit checkpoint --out kept.json; expect_rc 73 "--out never overwrites"
run --db cut.db audit verify --checkpoint kept.json; expect_rc 65 "the kept checkpoint catches the cut"

# 6. Without the key: the chain cannot be checked (77), never "ok"; a
#    change cannot be recorded so it is refused; a read goes on.
mv haven.db.key away.key
run audit verify; expect_rc 77 "verify without the chain key"
expect_err 'cannot be checked without it' "says why"; no_text 'ok:' "$OUT" "never ok"
run --as admin user add nadia --role caseworker --supervisor sara
expect_rc 77 "no change without the key (even one that needs no data key)"
expect_err 'audit chain key is not available' "says why"
[ "$(sql "SELECT count(*) FROM users WHERE login = 'nadia'")" = 0 ] && pass || failt "nothing changed"
run --as amal list; expect_rc 0 "a pseudonymous read still works"
mv away.key haven.db.key

# 7. The OS account beside the Haven user, so --as is visible.
ME=$(id -un); UID_=$(id -u)
run --as admin audit log CP-2026-00001; expect_rc 0 "the audit log"
expect_out "amal +caseworker +CP-2026-00001 +note_added +os: $ME \\(uid $UID_\\)" "the OS account that ran --as amal"
run --as admin --json audit log; cp "$OUT" log.json
[ "$(json_get log.json '$[0].os_user')" = "$ME (uid $UID_)" ] && pass || failt "os_user in JSON"
[ "$(sql "SELECT count(*) FROM events WHERE os_uid = $UID_ AND os_login = '$ME'")" = 9 ] && pass \
    || failt "every event records the OS account"
copy osedit
edit osedit "UPDATE events SET os_login = 'someone' WHERE seq = 4"
verify_fails osedit 'entry 4 was changed' "the OS account is under the hash"

# 8. A database of an older schema is anchored as it is migrated (the
#    anchor records a keyed digest of every entry before it); editing the
#    old part afterwards fails verify.
sqlite3 old.db < "$SRC/tests/fixtures/schema_v1.sql"
run --db old.db --as amal note CP-2026-00001 text="after the upgrade"
expect_rc 0 "the old database migrates and takes a change"
[ -f old.db.checkpoints ] && [ -f old.db.audit-key ] && pass || failt "the upgrade makes the checkpoints and audit key"
run --db old.db audit verify; expect_rc 0 "the migrated chain verifies"
run --db old.db --as admin audit log; expect_out 'system +- +- +audit_chain_anchored' "the re-anchoring is recorded"
cp old.db old2.db; for s in key audit-key checkpoints; do cp "old.db.$s" "old2.db.$s"; done
edit old2 "UPDATE events SET data = replace(data, 'school', 'police') WHERE seq = 2"
verify_fails old2 'entries before the anchor \(entry [0-9]+\) were changed' "an edit before the anchor"

# A schema 9 database opened without its key is not upgraded (the anchor
# needs the chain key): refused, nothing changed.
copy nine
sqlite3 nine.db "ALTER TABLE events DROP COLUMN os_uid; ALTER TABLE events DROP COLUMN os_login;
    ALTER TABLE events DROP COLUMN digest;
    DELETE FROM meta WHERE key = 'audit_chain_keyed_from'; PRAGMA user_version = 9"
rm nine.db.key
run --db nine.db --as amal list; expect_rc 77 "no upgrade without the key"
expect_err 'upgrading to schema 10 keys the audit chain' "says why"
[ "$(sqlite3 nine.db 'PRAGMA user_version')" = 9 ] && pass || failt "still schema 9"

# 9. Downgrading the schema to be re-anchored over a rewritten chain: the
#    checkpoints signed before tell.
if command -v python3 >/dev/null 2>&1; then
    copy downgraded
    edit downgraded "UPDATE events SET actor = 'mallory' WHERE seq = 7;
        ALTER TABLE events DROP COLUMN os_uid; ALTER TABLE events DROP COLUMN os_login;
        ALTER TABLE events DROP COLUMN digest;
        DELETE FROM meta WHERE key = 'audit_chain_keyed_from';
        DROP TABLE auth_tokens; DROP TABLE auth_failures;
        DROP INDEX users_os_login; DROP INDEX users_oidc_identity;
        ALTER TABLE users DROP COLUMN os_login; ALTER TABLE users DROP COLUMN oidc_identity;
        ALTER TABLE users DROP COLUMN password_hash; ALTER TABLE users DROP COLUMN enrol_hash;
        ALTER TABLE users DROP COLUMN enrol_expires;
        DROP TABLE sync_receipts; DROP TABLE sync_conflicts; DROP TABLE devices;
        DROP TABLE sync_outbox; DROP TABLE sync_cases;
        DROP TRIGGER task_due_days_insert; DROP TRIGGER task_due_days_delete;
        DROP TRIGGER task_due_days_update; DROP TRIGGER task_due_days_case;
        DROP TABLE task_due_days;
        DROP TRIGGER case_risk_factors_event; DROP TABLE case_risk_factors;
        DROP TRIGGER task_day_counts_insert; DROP TRIGGER task_day_counts_delete;
        DROP TRIGGER task_day_counts_update; DROP TABLE task_day_counts;
        PRAGMA user_version = 9"
    rehash downgraded
    run --db downgraded.db --as amal list; expect_rc 0 "the downgraded file is migrated again"
    verify_fails downgraded 'entry 1 differs from the checkpoint of line 1' "a downgrade and re-anchor"
else
    failt "python3 is missing: run 'sh tools/install-deps.sh' (as root) to install it"
fi
finish
