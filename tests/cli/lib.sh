# lib.sh - helpers for the command-line tests (POSIX sh).
# Each test script sources this, runs `haven` ($HAVEN) in a fresh temporary
# folder, and checks exit codes, output and the database after each call.
set -u

: "${HAVEN:?set HAVEN to the haven binary}"
: "${HAVEN_SOURCE_DIR:?set HAVEN_SOURCE_DIR to the source tree}"
SRC=$HAVEN_SOURCE_DIR
WORK=$(mktemp -d "${TMPDIR:-/tmp}/haven-cli-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
export HAVEN_DB="$WORK/haven.db"
export HAVEN_USER=amal
unset HAVEN_BUSY_TIMEOUT
T0=2026-11-28T09:00:00Z
PASSED=0
FAILED=0

pass() { PASSED=$((PASSED + 1)); }
failt() { FAILED=$((FAILED + 1)); echo "FAIL: $*" >&2; }

# run ARGS...: runs haven; sets RC, OUT (stdout file), ERR (stderr file).
run() {
    "$HAVEN" "$@" >"$WORK/out" 2>"$WORK/err"
    RC=$?
    OUT="$WORK/out"
    ERR="$WORK/err"
}

# expect_rc CODE WHAT
expect_rc() {
    if [ "$RC" -eq "$1" ]; then pass; else
        failt "$2: exit $RC, want $1; stderr: $(head -c 300 "$ERR")"; fi
}

# expect_out PATTERN WHAT (grep -E on stdout)
expect_out() {
    if grep -Eq -- "$1" "$OUT"; then pass; else
        failt "$2: stdout lacks /$1/: $(head -c 300 "$OUT")"; fi
}

# expect_err PATTERN WHAT: stderr is one line "haven: ..." matching PATTERN
expect_err() {
    lines=$(wc -l <"$ERR")
    if [ "$lines" -eq 1 ] && grep -q '^haven: ' "$ERR" && grep -Eq -- "$1" "$ERR"; then
        pass
    else
        failt "$2: stderr not one line matching /$1/: $(head -c 400 "$ERR")"
    fi
}

# no_text TEXT FILE WHAT: FILE does not contain TEXT
no_text() {
    if grep -q -- "$1" "$2"; then failt "$3: '$1' found in $2"; else pass; fi
}

# fingerprint: a digest of the whole database content.
fingerprint() {
    sqlite3 "$HAVEN_DB" .dump | sha256sum | cut -d' ' -f1
}

# sql QUERY: one value from the database.
sql() { sqlite3 "$HAVEN_DB" "$1"; }

# The files kept beside the database, and whether it exists (a file here;
# redefined below for a PostgreSQL store).
DB_KEY="$HAVEN_DB.key" DB_CHECKPOINTS="$HAVEN_DB.checkpoints" DB_AUDIT_KEY="$HAVEN_DB.audit-key"
db_exists() { [ -e "$HAVEN_DB" ]; }

# The suite's second run on PostgreSQL (tests/pg/pg-test.sh sets
# HAVEN_TEST_PG to the socket folder of a throwaway cluster): each test
# gets a fresh PostgreSQL database as $HAVEN_DB (its key files in $WORK),
# dropped when it ends; `sql` reads it through haven-sql (the same SQLite
# query, over the store's virtual tables).
if [ -n "${HAVEN_TEST_PG:-}" ]; then
    PGTEST_DB="t_$(basename "$WORK" | tr -c 'a-zA-Z0-9\n' '_' | tr 'A-Z' 'a-z')"
    createdb -h "$HAVEN_TEST_PG" -U haven "$PGTEST_DB" || exit 1
    export HAVEN_DB="postgresql:///$PGTEST_DB?host=$HAVEN_TEST_PG&user=haven"
    export HAVEN_STATE_DIR="$WORK"
    trap 'dropdb -h "$HAVEN_TEST_PG" -U haven --if-exists "$PGTEST_DB" 2>/dev/null; rm -rf "$WORK"' EXIT
    sql() { "$HAVEN_SQL" "$HAVEN_DB" "$1"; }
    # the database's rows, as pg_dump writes them (no schema)
    fingerprint() {
        # (without the sequences, which a rolled-back insert moves on, and
        # pg_dump's random \restrict keys)
        pg_dump -h "$HAVEN_TEST_PG" -U haven --data-only "$PGTEST_DB" 2>/dev/null |
            grep -v -e 'setval' -e '^\\restrict' -e '^\\unrestrict' | sha256sum | cut -d' ' -f1
    }
    # the files kept beside a store (fileio.h: in HAVEN_STATE_DIR)
    _side="$WORK/pg-$PGTEST_DB"
    DB_KEY="$_side.key" DB_CHECKPOINTS="$_side.checkpoints" DB_AUDIT_KEY="$_side.audit-key"
    # db_exists: 0 when the store holds a Haven database
    db_exists() { [ "$("$HAVEN_SQL" "$HAVEN_DB" 'SELECT 1' 2>/dev/null)" = 1 ]; }
    # sqlite3 [OPTIONS] "$HAVEN_DB" [QUERY]: the same through haven-sql
    # (options dropped; the query from stdin when none is given); any
    # other file is SQLite's.
    sqlite3() {
        _db=0
        for _a in "$@"; do [ "$_a" = "$HAVEN_DB" ] && _db=1; done
        [ "$_db" -eq 1 ] || { command sqlite3 "$@"; return; }
        while [ "$1" != "$HAVEN_DB" ]; do shift; done
        shift
        if [ $# -eq 0 ]; then "$HAVEN_SQL" "$HAVEN_DB" "$(cat)"; else "$HAVEN_SQL" "$HAVEN_DB" "$*"; fi
    }
fi

# json_ok FILE: 1 if FILE is valid JSON (SQLite's JSON parser).
json_ok() { sqlite3 :memory: "SELECT json_valid(readfile('$1'))"; }
# json_get FILE PATH: a value from a JSON file.
json_get() { sqlite3 :memory: "SELECT json_extract(readfile('$1'), '$2')"; }

# add_users [DB]: sara supervises the caseworkers amal and bilal.
add_users() {
    for u in "sara --role supervisor" "amal --role caseworker --supervisor sara" \
             "bilal --role caseworker --supervisor sara" "mona --role manager"; do
        # shellcheck disable=SC2086
        "$HAVEN" --db "${1:-$HAVEN_DB}" --as admin user add $u >/dev/null 2>&1
    done
}

# expect_screenshot PAGE WIDTH: headless Chromium renders the HTML file PAGE
# at WIDTHx1400 into a PNG that is not blank (many times the size of
# about:blank's, which compresses to a few KB).
expect_screenshot() {
    if ! command -v chromium >/dev/null 2>&1; then
        failt "chromium is missing: run 'sh tools/install-deps.sh' (as root) to install it"
        return
    fi
    for target in "file://$1 shot" "about:blank blank"; do
        # shellcheck disable=SC2086
        set -- "$1" "$2" $target
        timeout 90 chromium --headless --no-sandbox --disable-gpu \
            --user-data-dir="$WORK/chromium" --hide-scrollbars \
            --screenshot="$WORK/$4.png" --window-size="$2,1400" "$3" >/dev/null 2>&1
    done
    if [ -s "$WORK/shot.png" ] && [ -s "$WORK/blank.png" ]; then
        pass
        # PNG signature: bytes 2-4 are "PNG".
        [ "$(head -c 4 "$WORK/shot.png" | tail -c 3)" = PNG ] && pass || failt "shot.png is not a PNG"
        shot=$(wc -c <"$WORK/shot.png")
        blank=$(wc -c <"$WORK/blank.png")
        [ "$shot" -gt 20000 ] && pass || failt "screenshot only $shot bytes: blank?"
        [ "$shot" -gt $((blank * 5)) ] && pass ||
            failt "screenshot $shot bytes is not several times a blank page ($blank bytes)"
    else
        failt "chromium wrote no screenshot (shot.png or blank.png missing)"
    fi
}

# page_layout PAGE WIDTH HEIGHT: headless Chromium lays out a copy of the
# HTML file PAGE in a WIDTHxHEIGHT window and prints what it measured, one
# "name value" per line: scroll_width (the page's width: more than WIDTH
# means it scrolls sideways), and for every element with a data-check
# attribute "check NAME LEFT RIGHT TOP BOTTOM WIDTH_OF_TEXT CLIPPED" (its box
# in pixels; CLIPPED is 1 when its text is wider than its box or it leaves
# the window).  Also saves a screenshot to $WORK/layout-WIDTH.png.
page_layout() {
    _copy="$WORK/layout-$2x$3.html"
    cp "$1" "$_copy"
    cat >>"$_copy" <<'JS'
<script>
(function () {
  var w = window.innerWidth, out = [];
  out.push("scroll_width " + document.documentElement.scrollWidth);
  document.querySelectorAll("[data-check]").forEach(function (e) {
    var r = e.getBoundingClientRect(), tw = r.width;
    if (e.getComputedTextLength) tw = e.getComputedTextLength() * (e.getScreenCTM() ? e.getScreenCTM().a : 1);
    else if (e.scrollWidth) tw = e.scrollWidth;
    var clipped = (tw > r.width + 1 || r.left < 0 || r.right > w + 1) ? 1 : 0;
    out.push("check " + e.getAttribute("data-check") + " " + Math.round(r.left) +
             " " + Math.round(r.right) + " " + Math.round(r.top) + " " +
             Math.round(r.bottom) + " " + Math.round(tw) + " " + clipped);
  });
  var pre = document.createElement("pre");
  pre.id = "haven-layout";
  pre.textContent = "\n" + out.join("\n") + "\n";
  document.body.appendChild(pre);
})();
</script>
JS
    timeout 90 chromium --headless --no-sandbox --disable-gpu \
        --user-data-dir="$WORK/chromium" --hide-scrollbars \
        --window-size="$2,$3" --screenshot="$WORK/layout-$2.png" \
        "file://$_copy" >/dev/null 2>&1
    timeout 90 chromium --headless --no-sandbox --disable-gpu \
        --user-data-dir="$WORK/chromium" --window-size="$2,$3" \
        --dump-dom "file://$_copy" 2>/dev/null |
        sed -n '/<pre id="haven-layout">/,/<\/pre>/p' |
        grep -E '^(scroll_width|check) '
}

init_db() {
    run --as admin --now "$T0" init --simulated --agency CP --workflow "$SRC/workflows/iasc.yaml" \
        --rules "$SRC/rules/default"
    [ "$RC" -eq 0 ] || { echo "init failed: $(cat "$ERR")" >&2; exit 1; }
    add_users
}

register_noor() {
    run --now "$T0" register child.name=Noor child.age=12 child.sex=female \
        source=school concerns=emotional_distress,school_decline \
        consent.registration=caregiver location=Riverside "$@"
}

finish() {
    # Every database a test leaves behind must still verify.
    if [ -s "$HAVEN_DB" ]; then
        if "$HAVEN" --db "$HAVEN_DB" audit verify >/dev/null 2>"$WORK/verify.err"; then
            pass
        else
            failt "audit verify on the test's database: $(cat "$WORK/verify.err")"
        fi
    fi
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    exit $?
}
