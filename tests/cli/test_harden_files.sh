#!/bin/sh
# test_harden_files.sh - the audit key and the checkpoints must be the
# owner's alone, like the data key (red-team review after issue 15, point
# 5): an <db>.audit-key its group or others may read (they could sign
# forged checkpoints) is refused by every write and by audit verify, and a
# <db>.checkpoints they may write (they could cut the anchors) is refused
# by every write: 77, naming the chmod to run, nothing changed.
. "$(dirname "$0")/lib.sh"

init_db
register_noor
expect_rc 0 "register"
REF=$(head -1 "$OUT" | cut -d' ' -f1)
BEFORE=$(fingerprint)
CP_BEFORE=$(sha256sum < "$DB_CHECKPOINTS")

for mode in 644 640 604 620; do
    chmod "$mode" "$DB_AUDIT_KEY"
    run --now "$T0" note "$REF" text="written with an exposed audit key"
    expect_rc 77 "a note with an audit key of mode $mode"
    expect_err "audit key may be read or written by others.*chmod 600 .*haven\.db\.audit-key" \
        "the refusal names the chmod to run ($mode)"
    run audit verify
    expect_rc 77 "audit verify with an audit key of mode $mode"
    expect_err "chmod 600 .*haven\.db\.audit-key" "verify names the chmod to run ($mode)"
done
chmod 600 "$DB_AUDIT_KEY"

for mode in 666 664 646 620; do
    chmod "$mode" "$DB_CHECKPOINTS"
    run --now "$T0" note "$REF" text="written beside open checkpoints"
    expect_rc 77 "a note with checkpoints of mode $mode"
    expect_err "checkpoints may be written by others.*chmod 600 .*haven\.db\.checkpoints" \
        "the refusal names the chmod to run ($mode)"
done
[ "$(fingerprint)" = "$BEFORE" ] && pass || failt "the database changed while a file was exposed"
[ "$(sha256sum < "$DB_CHECKPOINTS")" = "$CP_BEFORE" ] && pass ||
    failt "the checkpoints changed while a file was exposed"

# Readable by the group is fine for the checkpoints (they are public
# statements); the owner's alone again, writes work as before.
chmod 640 "$DB_CHECKPOINTS"
run --now "$T0" note "$REF" text="written again"
expect_rc 0 "a note with checkpoints of mode 640"
chmod 600 "$DB_CHECKPOINTS"
run --now "$T0" note "$REF" text="written again"
expect_rc 0 "a note with checkpoints of mode 600"
finish
