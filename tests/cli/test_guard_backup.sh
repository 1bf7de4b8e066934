#!/bin/sh
# `haven backup FILE` also writes FILE.checkpoints, consistent with the
# backup: the lines of <db>.checkpoints up to the backup's last entry and
# that entry signed with the audit key.  So `audit verify` (and --deep)
# passes on the backup once its key files are copied beside it (a backup
# never holds the keys).  A FILE.checkpoints already there refuses the
# backup (73) and nothing is written.
. "$(dirname "$0")/lib.sh"

init_db
register_noor; expect_rc 0 "register"
REF=$(head -n 1 "$OUT" | cut -d' ' -f1)
run --as amal --now "$T0" note "$REF" text="a visit"; expect_rc 0 "note"

# with_keys NAME: the live key files copied beside NAME.db.
with_keys() { cp "$DB_KEY" "$1.db.key"; cp "$DB_AUDIT_KEY" "$1.db.audit-key"; }

run --as admin --now "$T0" backup b1.db; expect_rc 0 "backup"
[ -s b1.db.checkpoints ] && pass || failt "the backup has no checkpoints file"
[ "$(stat -c %a b1.db.checkpoints 2>/dev/null)" = 600 ] && pass || failt "b1.db.checkpoints is not 0600"
[ ! -e b1.db.key ] && [ ! -e b1.db.audit-key ] && pass || failt "a backup copies no key"
with_keys b1
run --db b1.db audit verify; expect_rc 0 "audit verify on the backup"
expect_out '^audit: ok' "the backup verifies"
run --db b1.db audit verify --deep; expect_rc 0 "audit verify --deep on the backup"
# its newest line names the backup's last entry, signed (verify checked it)
last=$(tail -n 1 b1.db.checkpoints)
[ "$(sqlite3 :memory: "SELECT json_extract('$last', '\$.seq')")" = \
  "$(sqlite3 b1.db 'SELECT max(seq) FROM events')" ] && pass ||
    failt "the last line is not the backup's head"
# the live file's lines after the backup (its backup_made event) are not copied
[ "$(sqlite3 b1.db 'SELECT count(*) FROM events WHERE kind = "backup_made"')" = 0 ] && pass ||
    failt "the backup holds its own backup_made event?"
n_live=$(wc -l <"$DB_CHECKPOINTS")
n_b1=$(wc -l <b1.db.checkpoints)
[ "$n_b1" -eq "$n_live" ] && pass || failt "b1 has $n_b1 lines, the live file $n_live (its earlier lines and the head)"

# Later changes: a second backup verifies, and so does the first.
run --as amal --now "$T0" note "$REF" text="another visit"; expect_rc 0 "note after the backup"
run --as admin --now "$T0" backup b2.db; expect_rc 0 "second backup"
with_keys b2
run --db b2.db audit verify; expect_rc 0 "the second backup verifies"
run --db b1.db audit verify; expect_rc 0 "the first backup still verifies"
# a rewritten backup does not verify against its own checkpoints
cp b2.db b3.db; cp b2.db.checkpoints b3.db.checkpoints; with_keys b3
for t in $(sqlite3 b3.db "SELECT name FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'events'"); do
    sqlite3 b3.db "DROP TRIGGER $t"
done
sqlite3 b3.db "DELETE FROM events WHERE seq = (SELECT max(seq) FROM events)"
run --db b3.db audit verify; expect_rc 65 "a backup cut short fails against its checkpoints"

# A checkpoints file already there: refused, nothing written.
echo keep >b4.db.checkpoints
before=$(fingerprint)
run --as admin --now "$T0" backup b4.db; expect_rc 73 "backup over an existing FILE.checkpoints"
expect_err 'b4.db.checkpoints: cannot create' "names the file"
[ ! -e b4.db ] && pass || failt "a refused backup left b4.db"
[ "$(cat b4.db.checkpoints)" = keep ] && pass || failt "the existing file was overwritten"
[ "$(fingerprint)" = "$before" ] && pass || failt "a refused backup was recorded"
finish
