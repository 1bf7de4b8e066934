#!/bin/sh
# Need-to-know: a caseworker reaches only the cases assigned to them, a
# supervisor their team's, a manager pseudonymous lists, an administrator no
# case content; a case outside one's scope is "not found" everywhere, and
# every refusal is audited.
. "$(dirname "$0")/lib.sh"

init_db                                   # sara supervises amal and bilal; mona is a manager
run --as admin user add zoe --role supervisor
run --as admin user add yara --role caseworker --supervisor zoe
run --as amal --now "$T0" register child.name=Noor child.age=12 child.sex=female location=Riverside \
    source=school concerns=emotional_distress consent.registration=caregiver
NOOR=$(cat "$OUT")
run --as yara --now "$T0" register child.name=Karim child.age=7 child.sex=male location=Hilltop \
    source=police concerns=neglect consent.registration=caregiver
KARIM=$(cat "$OUT")
BEFORE_REFUSALS=$(sql "SELECT count(*) FROM events WHERE kind = 'access_refused'")

# bilal, another caseworker of the same supervisor, cannot reach amal's case.
for cmd in "show $NOOR" "history $NOOR" "explain $NOOR" "note $NOOR text=hello" \
           "assess $NOOR kind=initial safety=ok"; do
    # shellcheck disable=SC2086
    run --as bilal $cmd
    expect_rc 69 "bilal: $cmd"
    expect_err "$NOOR: no such case" "bilal: $cmd looks like an unknown case"
done
run --as bilal show CP-2026-09999; expect_rc 69 "an unknown case"
cp "$ERR" unknown.err
# the refusal and the unknown case read the same
sed "s/$NOOR/REF/" "$WORK/err" > a.err 2>/dev/null
run --as bilal show "$NOOR"; sed "s/$NOOR/REF/" "$ERR" > a.err; sed "s/CP-2026-09999/REF/" unknown.err > b.err
cmp -s a.err b.err && pass || failt "a refusal cannot be told from an unknown case"
run --as bilal search Noor; expect_rc 0 "bilal searches"; no_text "$NOOR" "$OUT" "search hides other caseworkers' cases"
run --as bilal list; no_text "$NOOR" "$OUT" "list hides other caseworkers' cases"
run --as bilal due; no_text "$NOOR" "$OUT" "due hides other caseworkers' cases"
run --as bilal repl -e "show '$NOOR'"; expect_rc 69 "the REPL hides it too"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'access_refused'")" -ge $((BEFORE_REFUSALS + 6)) ] \
    && pass || failt "each refusal is audited"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'access_refused' AND actor = 'bilal' AND data LIKE '%Noor%'")" = 0 ] \
    && pass || failt "the refusal event holds no name"

# amal reaches her case; her supervisor sara too; zoe (another team) not.
run --as amal show "$NOOR"; expect_rc 0 "amal reads her case"
run --as sara show "$NOOR"; expect_rc 0 "sara reads her team's case"
run --as sara show "$KARIM"; expect_rc 69 "sara cannot read another team's case"
run --as zoe show "$KARIM"; expect_rc 0 "zoe reads her team's case"
run --as sara list; expect_out "$NOOR" "sara's list has her team"; no_text "$KARIM" "$OUT" "but not another team"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'viewed' AND actor = 'sara'")" -ge 1 ] \
    && pass || failt "each read of a case file is audited"

# A manager sees pseudonymous lists and counts, no case file, no names.
run --as mona list; expect_rc 0 "a manager lists the agency"
expect_out "$NOOR" "the manager's list has every case"; expect_out "$KARIM" "the manager's list has every case"
no_text Noor "$OUT" "no names in the manager's list"; no_text Riverside "$OUT" "no locations in the manager's list"
run --as mona show "$NOOR"; expect_rc 77 "a manager reads no case file"
run --as mona search Noor; expect_rc 77 "a manager does not search names"
run --as mona due --agency; expect_rc 0 "a manager sees the agency's tasks"

# An administrator manages users and reads no case content.
run --as admin show "$NOOR"; expect_rc 77 "an administrator reads no case file"
run --as admin list; expect_rc 77 "an administrator lists no cases"
run --as admin register child.name=X child.age=5 child.sex=male location=Y source=self \
    concerns=neglect consent.registration=caregiver
expect_rc 77 "an administrator registers no child"

# The acting user must exist and be active.
run --as nobody list; expect_rc 77 "an unknown user"; expect_err 'no such active user' "an unknown user is named"

# The audit log of a case follows the same scope for supervisors.
run --as zoe audit log "$NOOR"; expect_rc 69 "another team's supervisor cannot read the case's log"
run --as sara audit log "$NOOR"; expect_rc 0 "the team's supervisor reads it"

# A purpose, where given, goes into the audit trail with the user's role.
run --as sara --purpose court_report show "$NOOR"; expect_rc 0 "a read with a purpose"
run --as sara audit log "$NOOR"; expect_out 'sara +supervisor +CP-2026-[0-9]+ +viewed' "the read is in the audit log"
[ "$(sql "SELECT count(*) FROM events WHERE kind = 'viewed' AND json_extract(data, '$.purpose') = 'court_report' AND json_extract(data, '$.by_role') = 'supervisor'")" = 1 ] \
    && pass || failt "the event records the role and the purpose"
run --as sara --purpose "Noor's file" show "$NOOR"; expect_rc 64 "a purpose is a code, not free text"

# Users: disable, enable, change a role (administrators only).
run --as amal user disable bilal; expect_rc 77 "a caseworker cannot disable users"
run --as admin user disable bilal; expect_rc 0 "disable a user"
run --as bilal list; expect_rc 77 "a disabled user cannot act"; expect_err 'no such active user' "disabled"
run --as admin user enable bilal; expect_rc 0 "enable a user again"
run --as bilal list; expect_rc 0 "enabled again"
run --as admin user role bilal supervisor; expect_rc 0 "change a role"
[ "$(sql "SELECT role FROM users WHERE login='bilal'")" = supervisor ] && pass || failt "the role changed"
run --as admin user disable admin; expect_rc 65 "an administrator cannot disable themself"
run --as admin user role nosuch caseworker; expect_rc 69 "an unknown user"

# Backups: a consistent online copy, administrators only.
run --as amal backup copy.db; expect_rc 77 "a caseworker makes no backup"
run --as admin audit checkpoint --out before-backup.json; expect_rc 0 "a checkpoint kept with the backup"
run --as admin backup copy.db; expect_rc 0 "an administrator makes a backup"
[ "$(stat -c %a copy.db)" = 600 ] && pass || failt "the backup is 0600"
[ "$(sqlite3 copy.db 'PRAGMA integrity_check')" = ok ] && pass || failt "the backup is intact"
[ "$(sqlite3 copy.db 'SELECT count(*) FROM cases')" = "$(sql 'SELECT count(*) FROM cases')" ] && pass || failt "the backup has every case"
cp "$DB_AUDIT_KEY" copy.db.audit-key; cp "$DB_KEY" copy.db.key
run --db copy.db audit verify --checkpoint before-backup.json
expect_rc 0 "the backup's audit chain verifies against the checkpoint kept with it"
# The live database's checkpoints have gone on (the backup's own event):
# against them the backup is an older state.
cp "$DB_CHECKPOINTS" copy.db.checkpoints
run --db copy.db audit verify; expect_rc 65 "the backup is older than the live checkpoints"
expect_err 'older state' "said so"
rm copy.db.checkpoints
run --as admin backup copy.db; expect_rc 73 "a backup never overwrites"

# The Lua module keeps the same rules.
cat > lua.lua <<LUA
local haven = require "haven"
local e <close> = assert(haven.open{ db = os.getenv("HAVEN_DB"), as = "bilal" })
local c, msg, code = e:case("$NOOR")
print("case", c, code)
print("show", select(3, e:show("$NOOR")))
LUA
if command -v lua5.4 >/dev/null; then
    LUA_CPATH="$HAVEN_LUA_DIR/?.so;;" LD_PRELOAD="${HAVEN_PRELOAD:-}" ASAN_OPTIONS=detect_leaks=0 \
        lua5.4 lua.lua > "$WORK/out" 2>&1; RC=$?
    expect_rc 0 "the Lua script"; expect_out 'case.nil.69' "the module hides the case"
    expect_out 'show.69' "the module's show hides it"
fi
finish
