#!/bin/sh
# A database file crafted with a negative schema version is refused as not
# a haven database (65) by every command: no migration runs (it read
# before the table of migrations) and no key file is made beside it.
. "$(dirname "$0")/lib.sh"

init_db
# A retention setting too large to add to a closing time is refused, not
# wrapped into a date already past (which would purge a child at once).
run --as amal --now "$T0" register child.name=Sami child.age=8 child.sex=male \
    source=community concerns=neglect consent.registration=caregiver location=Hilltop
expect_rc 0 "register"
for bad in 99999999999999999999 '' 1e9 -1; do
    sqlite3 "$HAVEN_DB" "INSERT OR REPLACE INTO meta (key, value) VALUES ('retention', '$bad')"
    run --as admin purge CP-2026-00001
    expect_rc 65 "purge with retention '$bad'"; expect_err "retention setting" "names the setting ('$bad')"
done
sqlite3 "$HAVEN_DB" "DELETE FROM meta WHERE key = 'retention'"

sqlite3 "$HAVEN_DB" "PRAGMA user_version = -5"
rm -f "$DB_KEY"
BEFORE=$(sha256sum <"$HAVEN_DB")
run --as admin show CP-2026-00001
expect_rc 65 "a negative schema version"; expect_err "not a haven database" "says what it is not"
run --as admin user list; expect_rc 65 "every command refuses it"
[ ! -e "$DB_KEY" ] && pass || failt "a key file was made beside a crafted database"
[ "$(sha256sum <"$HAVEN_DB")" = "$BEFORE" ] && pass || failt "the crafted file was changed"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
