#!/bin/sh
# A key file its group or others may read is refused (issue 15, point 8: a
# world-readable key file was used without a word): every command exits 77
# naming the chmod to run, and nothing is read or written; made the owner's
# alone again, the database works as before.
. "$(dirname "$0")/lib.sh"

init_db
run --now "$T0" register child.name=Sami child.age=8 child.sex=male source=community \
    concerns=neglect consent.registration=caregiver location=Hilltop
expect_rc 0 "register"; REF=$(head -1 "$OUT")
BEFORE=$(sqlite3 "$HAVEN_DB" .dump | sha256sum)
for mode in 644 640 604; do
    chmod "$mode" "$DB_KEY"
    run show "$REF"
    expect_rc 77 "show with a key file of mode $mode"
    expect_err "chmod 600 .*haven\.db\.key" "the refusal names the chmod to run ($mode)"
    if grep -q Sami "$OUT"; then failt "the child shown with a $mode key file"; else pass; fi
    run --now "$T0" note "$REF" text="written with an exposed key"
    expect_rc 77 "no writing with a key file of mode $mode"
done
[ "$(sqlite3 "$HAVEN_DB" .dump | sha256sum)" = "$BEFORE" ] && pass \
    || failt "the database changed while the key file was exposed"
chmod 600 "$DB_KEY"
run show "$REF"; expect_rc 0 "the key the owner's alone again: show works"
expect_out Sami "the child's name is read again"
finish
