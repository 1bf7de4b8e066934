#!/bin/sh
# A database file crafted with a negative schema version is refused as not
# a haven database (65) by every command: no migration runs (it read
# before the table of migrations) and no key file is made beside it.
. "$(dirname "$0")/lib.sh"

init_db
sqlite3 "$HAVEN_DB" "PRAGMA user_version = -5"
rm -f "$HAVEN_DB.key"
BEFORE=$(sha256sum <"$HAVEN_DB")
run --as admin show CP-2026-00001
expect_rc 65 "a negative schema version"; expect_err "not a haven database" "says what it is not"
run --as admin user list; expect_rc 65 "every command refuses it"
[ ! -e "$HAVEN_DB.key" ] && pass || failt "a key file was made beside a crafted database"
[ "$(sha256sum <"$HAVEN_DB")" = "$BEFORE" ] && pass || failt "the crafted file was changed"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
