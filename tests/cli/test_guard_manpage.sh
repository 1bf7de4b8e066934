#!/bin/sh
# doc/haven.1 documents what issue 15 added: `repl [--unsafe]`
# (administrators only, recorded), `init --simulated` (and --now only on a
# simulated database), `audit verify --deep`, backup's FILE.checkpoints,
# purge's retention from the arrival, and <db>.checkpoints under FILES.
. "$(dirname "$0")/lib.sh"
MAN="$SRC/doc/haven.1"

# has ERE WHAT: the page holds a line matching ERE (troff escapes removed).
sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' "$MAN" >man.txt
has() { grep -Eq -- "$1" man.txt && pass || failt "haven.1 lacks $2 (/$1/)"; }
has '^\.B repl \[--unsafe\]' "repl [--unsafe]"
has 'administrator only.*recorded|recorded in the audit log' "--unsafe: administrators only, recorded"
has '^\.B init .*\[--simulated\]' "init --simulated"
has '^--now on every command \(exit 64\)' "a live database refuses --now"
has 'audit verify \[--deep\]' "audit verify --deep"
has '^\.B backup FILE' "backup"
has 'FILE\.checkpoints' "backup's FILE.checkpoints"
has 'arrival' "purge's retention from the arrival"
has '^\.B rules diff \[DIR\]' "rules diff"
has '^\.B rules apply DIR' "rules apply"
# <db>.checkpoints is listed under FILES
sed -n '/^\.SH FILES/,/^\.SH /p' man.txt >files.txt
grep -q '^\.I <db>\.checkpoints' files.txt && pass || failt "FILES lacks <db>.checkpoints"
grep -q '^\.I <db>\.audit-key' files.txt && pass || failt "FILES lacks <db>.audit-key"
# it renders without warnings (when groff is here)
if command -v groff >/dev/null 2>&1; then
    groff -man -ww -z "$MAN" 2>groff.err
    [ ! -s groff.err ] && pass || failt "groff warns: $(head -3 groff.err)"
fi
finish
