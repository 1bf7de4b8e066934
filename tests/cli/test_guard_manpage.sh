#!/bin/sh
# The manual page, `haven --help`, `haven COMMAND --help` and the shell
# completions are made from one table of commands (bindings/cli/clirun.c,
# clihelp.c), so they cannot drift:
#  - doc/haven.1 and dist/completion/* are exactly what `haven help --man`
#    and `haven help --completion bash|zsh` print (tools/gen-docs.sh);
#  - every command defined in the sources (a cli_command entry, a step of
#    HV_STEP_MAP) is in the table: in `haven --help` and in the manual;
#  - every subcommand in a command's usage has its paragraph in the
#    command's --help and a tagged paragraph in the manual;
#  - every environment variable the code reads (getenv, and every
#    "HAVEN_..." name) is under ENVIRONMENT, every exit code of the
#    engine's status table under EXIT STATUS;
#  - the page renders without a warning.
# Also what earlier issues asked of the page (issue 15: repl --unsafe, init
# --simulated, audit verify --deep, backup's FILE.checkpoints, purge's
# retention from the arrival; issue 20: report, export, import, gen,
# backup, purge, rules diff|apply, user disable|enable|role|map, sync,
# device, conflicts, login/logout/whoami/enrol, --purpose, --server,
# ENVIRONMENT, FILES, SEE ALSO havend(8)).
. "$(dirname "$0")/lib.sh"
MAN="$SRC/doc/haven.1"

# ---- the checked-in texts are the table's ------------------------------------------
same() { # same FILE ARGS...: FILE is `haven help ARGS...`
    f=$1
    shift
    "$HAVEN" help "$@" >gen.out 2>gen.err
    if cmp -s gen.out "$SRC/$f"; then pass; else
        failt "$f differs from \`haven help $*\` (run tools/gen-docs.sh): $(diff "$SRC/$f" gen.out | head -4)"
    fi
}
same doc/haven.1 --man
same dist/completion/haven.bash --completion bash
same dist/completion/_haven --completion zsh
run help --completion fish
expect_rc 64 "help --completion fish"
expect_err "^haven: help --completion: give bash or zsh$" "an unknown shell is named"

# The page without roff escapes, for grepping.
sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\(em/--/g' -e 's/\\&//g' "$MAN" >man.txt
has() { grep -Eq -- "$1" man.txt && pass || failt "haven.1 lacks $2 (/$1/)"; }
section() { sed -n "/^\.SH \"*$1\"*\$/,/^\.SH /p" man.txt; }

# ---- every command of the sources is in --help and in the manual ---------------------
# The commands defined in the sources: each cli_command entry's name (the
# line after `const cli_command ... = {`) and each step of HV_STEP_MAP.
for f in "$SRC"/bindings/cli/*.c; do
    awk '/^(static )?const cli_command [a-z_]+ = \{/ { getline; print }' "$f"
done | sed -n 's/^ *"\([a-z]*\)".*/\1/p' >src.cmds
sed -n '/^#define HV_STEP_MAP/,/^$/s/^ *XX(\([a-z]*\),.*/\1/p' "$SRC/engine/include/haven.h" >>src.cmds
sort -u src.cmds -o src.cmds
[ "$(wc -l <src.cmds)" -ge 45 ] && pass || failt "found only $(wc -l <src.cmds) commands in the sources"
run --help
expect_rc 0 "haven --help"
cp "$OUT" help.txt
while read -r c; do
    grep -Eq "^  haven (\[[^]]*\] )?(--server URL )?$c( |$)" help.txt && pass ||
        failt "haven --help does not list the command $c"
    grep -q "^\.SS \"$c --" man.txt && pass || failt "haven.1 has no section for the command $c"
    run "$c" --help
    expect_rc 0 "$c --help"
    grep -Eq "^(usage: |       )haven (\[[^]]*\] )?(--server URL )?$c( |$)" "$OUT" && pass ||
        failt "$c --help gives no usage of $c"
done <src.cmds
# the table has no command the sources do not define
sed -n 's/^\.SS "\([a-z]*\) --.*/\1/p' man.txt | sort >man.cmds
cmp -s man.cmds src.cmds && pass || failt "haven.1's commands differ: $(diff src.cmds man.cmds | head -4)"

# ---- every subcommand has its paragraph ---------------------------------------------
# A command's subcommands: the lower-case word after its name in a form of
# its usage ("haven rules diff [DIR]"; "disable|enable" names two).
nsubs=0
while read -r c; do
    "$HAVEN" "$c" --help >cmd.txt
    sed -n '1,/^$/p' cmd.txt | sed -n "s/^.*haven $c \([a-z|]*\)\( .*\)*\$/\1/p" | tr '|' '\n' |
        sort -u >subs.txt
    while read -r s; do
        nsubs=$((nsubs + 1))
        sed '1,/^$/d' cmd.txt | grep -Eq "^([a-z]+(, |\|))*$s((, |\|)[a-z]+)*: " && pass ||
            failt "$c --help does not describe its subcommand $s (a line '$s: ...')"
        sed -n "/^\.SS \"$c --/,/^\.SS /p" man.txt | grep -Eq "^\.B ([a-z]+(, |\|))*$s((, |\|)[a-z]+)*$" &&
            pass || failt "haven.1 has no paragraph for $c $s"
    done <subs.txt
done <src.cmds
[ "$nsubs" -ge 20 ] && pass || failt "found only $nsubs subcommands"
run rules --help
expect_out '^diff: ' "rules --help describes diff"
expect_out '^apply: ' "rules --help describes apply"
expect_out '^       haven rules apply DIR' "rules --help gives apply's usage"

# ---- environment, exit codes, files, see also -----------------------------------------
section ENVIRONMENT >env.txt
grep -rhoE 'getenv\("[A-Za-z0-9_]+"\)|"HAVEN_[A-Z0-9_]+"' "$SRC/bindings" "$SRC/engine" \
    --include='*.c' --include='*.h' | sed 's/getenv(//; s/)$//; s/"//g' | sort -u >getenv.txt
[ "$(wc -l <getenv.txt)" -ge 10 ] && pass || failt "found only $(wc -l <getenv.txt) variables"
while read -r v; do
    grep -qx "\.B $v" env.txt && pass || failt "ENVIRONMENT does not document $v (read by the code)"
done <getenv.txt
for v in HAVEN_DB HAVEN_USER HAVEN_KEY_FILE HAVEN_PASSPHRASE HAVEN_BUSY_TIMEOUT HAVEN_SERVER; do
    grep -qx "\.B $v" env.txt && pass || failt "ENVIRONMENT lacks $v"
done
section "EXIT STATUS" >exit.txt
sed -n '/^#define HV_STATUS_MAP/,/^$/s/^ *XX([A-Z_]*, *\([0-9]*\),.*/\1/p' \
    "$SRC/engine/include/haven.h" | sort -un >codes.txt
[ "$(wc -l <codes.txt)" -ge 8 ] && pass || failt "found only $(wc -l <codes.txt) exit codes"
while read -r code; do
    grep -qx "\.B $code" exit.txt && pass || failt "EXIT STATUS lacks $code"
    grep -Eq "(^ *|, |: )$code [a-z]" help.txt && pass || failt "haven --help's exit codes lack $code"
done <codes.txt
section FILES >files.txt
for f in '<db>\.key' '<db>\.audit-key' '<db>\.checkpoints' '~/\.config/haven/tokens' \
         'share/haven/workflows/' 'share/haven/rules/' 'share/haven/scenarios/'; do
    grep -Eq "^\.I .*$f\$" files.txt && pass || failt "FILES lacks $f"
done
section "SEE ALSO" | grep -q '^\.BR havend (8)' && pass || failt "SEE ALSO lacks havend(8)"
section OPTIONS >opts.txt
for o in --db --as --purpose --now --json --server --version --help; do
    grep -Eq "^\.B $o( |$)" opts.txt && pass || failt "OPTIONS lacks $o"
done

# ---- what earlier issues asked of the page ------------------------------------------
has '^repl \[--unsafe\]' "repl [--unsafe]"
has 'administrator only.*recorded|recorded in the audit log' "--unsafe: administrators only, recorded"
has '^init .*\[--simulated\]' "init --simulated"
has 'every command refuses --now|--now is refused by every command' "a live database refuses --now"
has '^audit verify \[--deep\]' "audit verify --deep"
has '^backup FILE' "backup"
has 'FILE\.checkpoints' "backup's FILE.checkpoints"
has 'arrival' "purge's retention from the arrival"
has '^rules diff \[DIR\]' "rules diff"
has '^rules apply DIR' "rules apply"
for c in 'report' 'export --format' 'import --format' 'gen --cases' 'purge REF' \
         'user disable\|enable LOGIN' 'user role LOGIN ROLE' 'user map LOGIN' 'sync --server URL' \
         'device enrol NAME' 'conflicts resolve ID' 'whoami'; do
    has "^(\[--server URL\] |--server URL )?$c" "$c"
done
for c in login logout enrol; do has "^--server URL $c" "$c"; done

# ---- it renders without warnings ----------------------------------------------------
if command -v groff >/dev/null 2>&1; then
    groff -man -ww -z "$MAN" 2>groff.err
    [ ! -s groff.err ] && pass || failt "groff warns: $(head -3 groff.err)"
fi
if command -v man >/dev/null 2>&1; then
    MANWIDTH=80 man --warnings -l "$MAN" >man.out 2>man.err
    [ ! -s man.err ] && pass || failt "man -l warns: $(head -3 man.err)"
    grep -q '^EXIT STATUS' man.out && grep -q '^ENVIRONMENT' man.out && pass ||
        failt "man -l does not render the sections"
fi
finish
