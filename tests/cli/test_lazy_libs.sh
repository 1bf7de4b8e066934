#!/bin/sh
# libpq and libcurl are opened only when needed (engine/pqlib.c,
# bindings/cli/curllib.c): `haven` does not link them, a command on a
# database file runs where they cannot be loaded, and a postgresql:// store
# or a server without them is one line and exit 69, changing nothing.
# "Cannot be loaded" is made real with LD_LIBRARY_PATH: a folder searched
# first whose libpq.so.5 and libcurl*.so.4 are not those libraries.
. "$(dirname "$0")/lib.sh"

# The program itself names neither library (ldd lists what the loader maps
# at start).
ldd "$HAVEN" >"$WORK/ldd" 2>&1
if grep -q 'libpq\|libcurl' "$WORK/ldd"; then
    failt "haven links libpq or libcurl: $(grep 'libpq\|libcurl' "$WORK/ldd" | tr '\n' ' ')"
else pass; fi

init_db
register_noor; expect_rc 0 "register"
REF=$(cat "$OUT")

# Libraries that cannot be opened: empty files by their names.
mkdir "$WORK/broken"
for lib in libpq.so.5 libcurl.so.4 libcurl-gnutls.so.4; do : >"$WORK/broken/$lib"; done
# Libraries that open but are not libpq/libcurl (no PQ or curl functions):
# copies of SQLite's.
sqlite_so=$(awk '/libsqlite3/ { print $3 }' "$WORK/ldd")
mkdir "$WORK/wrong"
for lib in libpq.so.5 libcurl.so.4 libcurl-gnutls.so.4; do cp "$sqlite_so" "$WORK/wrong/$lib"; done

# run_without DIR ARGS...: haven with DIR searched first for libraries.
run_without() {
    _dir=$1; shift
    LD_LIBRARY_PATH="$_dir" "$HAVEN" "$@" >"$WORK/out" 2>"$WORK/err"
    RC=$?
}

BAD_PG="postgresql:///haven_nowhere?host=$WORK/no-such-socket-dir&user=nobody"
for dir in broken wrong; do
    before=$(fingerprint)
    if [ -z "${HAVEN_TEST_PG:-}" ]; then
        # A database file needs neither library.
        run_without "$WORK/$dir" --now 2026-11-29T09:00:00Z show "$REF"
        expect_rc 0 "show on a file without libpq/libcurl ($dir)"
        before=$(fingerprint) # (show records the reading)
        expect_out "^Case $REF" "show's heading without libpq/libcurl ($dir)"
        run_without "$WORK/$dir" --help; expect_rc 0 "--help without libpq/libcurl ($dir)"
    else
        # The test's store is PostgreSQL: without libpq it is one line, 69.
        run_without "$WORK/$dir" --now 2026-11-29T09:00:00Z show "$REF"
        expect_rc 69 "show on PostgreSQL without libpq ($dir)"
        expect_err '^haven: postgresql:// needs libpq \(libpq\.so\.[0-9]+\): ' \
            "show on PostgreSQL without libpq ($dir)"
        run_without "$WORK/$dir" --now 2026-11-29T09:00:00Z note "$REF" text=hello
        expect_rc 69 "note on PostgreSQL without libpq ($dir)"
    fi
    # Any postgresql:// URL: the missing library is said before a connection.
    run_without "$WORK/$dir" --db "$BAD_PG" --as admin user list
    expect_rc 69 "a postgresql:// URL without libpq ($dir)"
    expect_err '^haven: postgresql:// needs libpq \(libpq\.so\.[0-9]+\): ' \
        "a postgresql:// URL without libpq ($dir)"
    no_text "nobody" "$WORK/err" "the URL's user stays out of the message ($dir)"
    # init of a postgresql:// store: the missing library is said before
    # anything is built (no key file, no temporary database left behind).
    mkdir "$WORK/initdir-$dir"
    ( cd "$WORK/initdir-$dir" &&
      TMPDIR="$WORK/initdir-$dir" HAVEN_STATE_DIR="$WORK/initdir-$dir" \
          LD_LIBRARY_PATH="$WORK/$dir" "$HAVEN" --db "$BAD_PG" --as admin \
          --now 2026-11-29T09:00:00Z init --simulated --agency CP \
          --workflow "$SRC/workflows/iasc.yaml" --rules "$SRC/rules/default" \
          >"$WORK/out" 2>"$WORK/err" )
    RC=$?
    expect_rc 69 "init of a postgresql:// store without libpq ($dir)"
    expect_err '^haven: postgresql:// needs libpq \(libpq\.so\.[0-9]+\): ' \
        "init of a postgresql:// store without libpq ($dir)"
    left=$(ls -A "$WORK/initdir-$dir")
    [ -z "$left" ] && pass || failt "init without libpq left files behind ($dir): $left"
    # --server without libcurl: one line, 69, before any connection.
    run_without "$WORK/$dir" --server "unix:$WORK/no.sock" show "$REF"
    expect_rc 69 "--server without libcurl ($dir)"
    expect_err '^haven: --server: needs libcurl \(libcurl[a-z-]*\.so\.[0-9]+\): ' \
        "--server without libcurl ($dir)"
    [ "$(fingerprint)" = "$before" ] && pass || failt "the database changed ($dir)"
done
grep -q 'lacks curl_global_init' "$WORK/err" && pass ||
    failt "a library without curl's functions is named as such: $(cat "$WORK/err")"

# With the libraries where they are, the same commands reach them: the
# store (a connection refused for the bogus URL, 75) and the server (69,
# nothing listening).
run --db "$BAD_PG" --as admin user list
expect_rc 75 "a postgresql:// URL with libpq: a connection refused"
expect_err 'cannot connect' "a postgresql:// URL with libpq"
run --server "unix:$WORK/no.sock" show "$REF"
expect_rc 69 "--server with libcurl: nothing listening"
no_text "needs libcurl" "$ERR" "--server with libcurl loads it"
run --now 2026-11-29T09:00:00Z show "$REF"; expect_rc 0 "show with the libraries"

finish
