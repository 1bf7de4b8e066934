#!/bin/sh
# The README's examples run as printed (issue 20: "The README's examples
# must run as written: make the tour a tested script", and "Three people's
# views, written as short walkthroughs in the README ... whose commands are
# also run by tests").
#
# A fenced ```sh block that follows an HTML comment `<!-- test: NAME -->`
# (invisible when the README is rendered) is a tested block.  The blocks of
# one NAME run in the README's order, in one shell, in a fresh folder that
# holds a copy of the checkout's workflows/, rules/ and scenarios/ (the
# README says to run them at the top of a checkout), with `haven` on PATH
# being the binary under test and no HAVEN_* variable set.  Every command
# (a line, with its `\` continuations and any here-document) runs exactly
# as printed and must exit 0, or N when its line says `# exits N`; a line
# `# -> TEXT` right after a command is a line that command must print.
# The first command that does not do so fails the test, named by its line
# in README.md.  No ```sh block in the tour's section or the walkthroughs'
# goes untested (each needs its marker).  The test also breaks copies of
# the README (a marker dropped, a command, an output line, a refusal) and
# checks that each is caught at the right line.
. "$(dirname "$0")/lib.sh"

README=$SRC/README.md
mkdir -p "$WORK/bin"
ln -s "$HAVEN" "$WORK/bin/haven"

# script README NAME: prints a sh script that runs the NAME blocks of
# README, checking each command as described above.
script() {
    cat <<EOF
__readme='$1'
__t='$WORK'
unset HAVEN_DB HAVEN_USER HAVEN_SERVER HAVEN_TOKEN HAVEN_RULES_LOG
PATH='$WORK/bin':\$PATH
export PATH
__fail() {
    echo "README.md:\$1: \$2"
    echo "    \$(sed -n "\$1p" "\$__readme")"
    sed 's/^/    stderr: /' "\$__t/cmd.err" | head -n 5
    exit 1
}
__check() { [ "\$__rc" -eq "\$2" ] || __fail "\$1" "exit \$__rc, want \$2"; }
__expect() { grep -Fxq -- "\$2" "\$__t/cmd.out" || __fail "\$1" "no line '\$2' in what it printed"; }
__count=0
EOF
    awk -v want="$2" '
    function flush() {
        if (cmd == "") return
        code = 0
        if (match(cmd, /# exits [0-9]+/)) code = substr(cmd, RSTART + 8, RLENGTH - 8) + 0
        print "{"
        print cmd
        print "} >\"$__t/cmd.out\" 2>\"$__t/cmd.err\" </dev/null"
        print "__rc=$?; __check " start " " code "; __count=$((__count + 1))"
        cmd = ""
    }
    function quote(s) { gsub(/\047/, "\047\\\047\047", s); return "\047" s "\047" }
    /^<!-- test: [a-z_]+ -->$/ { name = $3; armed = 1; next }
    armed && /^```sh$/ { inblock = (name == want); armed = 0; next }
    armed && !/^$/ { armed = 0 }
    /^```/ && inblock { flush(); inblock = 0; next }
    !inblock { next }
    heredoc != "" {
        cmd = cmd "\n" $0
        if ($0 == heredoc) heredoc = ""
        next
    }
    cont { cmd = cmd "\n" $0; cont = ($0 ~ /\\$/); next }
    /^# -> / {
        if (cmd == "" && last == "") { print "echo \"README.md:" NR ": # -> without a command\"; exit 1"; next }
        if (cmd != "") flush()
        print "__expect " last " " quote(substr($0, 6))
        next
    }
    /^[ \t]*(#|$)/ { next }
    {
        flush()
        cmd = $0; start = NR; last = NR
        cont = ($0 ~ /\\$/)
        if (match($0, /<<-?\047?[A-Z]+\047?/)) {
            heredoc = substr($0, RSTART, RLENGTH)
            gsub(/[<\047-]/, "", heredoc)
        }
    }
    END { flush() }
    ' "$1"
    echo '[ "$__count" -gt 0 ] || { echo "no command in the blocks"; exit 1; }'
    echo 'echo "ok: $__count commands"'
}

# play README NAME FOLDER: runs the NAME blocks of README in FOLDER (made
# fresh, with the checkout's workflows, rules and scenarios); sets RC and
# OUT (the runner's report).
play() {
    rm -rf "$3"
    mkdir -p "$3"
    cp -R "$SRC/workflows" "$SRC/rules" "$SRC/scenarios" "$3/"
    script "$1" "$2" >"$WORK/play-$2.sh"
    (cd "$3" && sh "$WORK/play-$2.sh") >"$WORK/play.out" 2>&1
    RC=$?
    OUT="$WORK/play.out"
    : >"$WORK/play.err"
    ERR="$WORK/play.err"     # the report is in OUT, shown by each check
}

# line_of TEXT: the README line holding TEXT (the first).
line_of() { grep -nF -- "$1" "$README" | head -n 1 | cut -d: -f1; }

# untested README: the line of every ```sh fence in the tour's section or
# the walkthroughs' that does not come right after its marker.
untested() {
    awk '
    /^```/ {
        if (!fence && watch && $0 == "```sh" && !marked) print NR
        fence = !fence; marked = 0; next
    }
    fence { next }
    /^## / { watch = ($0 == "## A tour of the command line" || $0 == "## Three people\047s views") }
    /^<!-- test: [a-z_]+ -->$/ { marked = 1; next }
    !/^$/ { marked = 0 }
    ' "$1"
}

# ---- every tested block runs as printed -------------------------------------
for name in tour agency trainer; do
    grep -qx "<!-- test: $name -->" "$README" && pass || failt "README.md has no '<!-- test: $name -->' block"
done
bad=$(untested "$README")
[ -z "$bad" ] && pass || failt "README.md: an untested \`\`\`sh block in the tour or the walkthroughs, at line $bad"
awk '/^<!-- test: agency -->$/ && !done { done = 1; next } { print }' "$README" >"$WORK/unmarked.md"
[ "$(untested "$WORK/unmarked.md")" = "$(line_of "<!-- test: agency -->")" ] && pass ||
    failt "a block left without its marker is found: '$(untested "$WORK/unmarked.md")'"

play "$README" tour "$WORK/tour"
expect_rc 0 "the tour runs as printed: $(cat "$OUT")"
n=$(sed -n 's/^ok: \([0-9]*\) commands$/\1/p' "$OUT")
[ "${n:-0}" -ge 40 ] && pass || failt "the tour ran only ${n:-0} commands"
HAVEN_DB="$WORK/tour/agency.db"
run audit verify; expect_rc 0 "the tour's database verifies"
[ "$(sql "SELECT status FROM cases WHERE ref = 'CP-2026-00001'")" = closed ] && pass ||
    failt "the tour closes Noor's case"
[ -s "$WORK/tour/export/cases.csv" ] && pass || failt "the tour's export wrote cases.csv"
grep -q '<svg' "$WORK/tour/iasc.svg" && pass || failt "the tour drew the workflow"

# The caseworker's day and the supervisor's week share one agency.
play "$README" agency "$WORK/agency"
expect_rc 0 "the caseworker's day and the supervisor's week run as printed: $(cat "$OUT")"
n=$(sed -n 's/^ok: \([0-9]*\) commands$/\1/p' "$OUT")
[ "${n:-0}" -ge 20 ] && pass || failt "the walkthroughs ran only ${n:-0} commands"
HAVEN_DB="$WORK/agency/agency.db"
run audit verify; expect_rc 0 "the walkthroughs' database verifies"
grep -q '<html' "$WORK/agency/week.html" && pass || failt "the supervisor's report page was written"

play "$README" trainer "$WORK/training"
expect_rc 0 "the trainer's session runs as printed: $(cat "$OUT")"
grep -q '<svg' "$WORK/training/noor.html" && pass || failt "the timeline page has its chart"

# ---- a broken README is caught at the right line ------------------------------
# A command that fails: the walkthrough reassigns to a user nobody created.
line=$(line_of "assign CP-2027-00002 to=bilal")
sed 's/assign CP-2027-00002 to=bilal/assign CP-2027-00002 to=nobody/' "$README" >"$WORK/broken.md"
play "$WORK/broken.md" agency "$WORK/broken"
expect_rc 1 "a README command that fails fails the test"
expect_out "^README.md:$line: exit 69, want 0" "the failure names the command's line"
# A printed line that differs.
line=$(line_of "child.name=Noor child.age=12")
sed 's/^# -> CP-2026-00001$/# -> CP-2026-00007/' "$README" >"$WORK/broken.md"
play "$WORK/broken.md" tour "$WORK/broken"
expect_rc 1 "a README output line that differs fails the test"
expect_out "^README.md:$line: no line 'CP-2026-00007'" "the failure names the command's line"
# A refusal the README promises that does not come.
line=$(line_of "register child.name=Nour")
sed 's/# exits 65: a possible duplicate/# a possible duplicate/' "$README" >"$WORK/broken.md"
play "$WORK/broken.md" tour "$WORK/broken"
expect_rc 1 "a refusal that is not marked fails the test"
expect_out "^README.md:$line: exit 65, want 0" "the failure names the refused command's line"
rm -rf "$WORK/broken" "$WORK/tour" "$WORK/agency" "$WORK/training"
HAVEN_DB="$WORK/haven.db"
finish
