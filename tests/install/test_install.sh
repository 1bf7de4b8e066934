#!/bin/sh
# `make install` gives integrators and administrators what a Debian tool
# gives: `cmake --install` into a staging DESTDIR under another --prefix
# writes nothing outside DESTDIR, and there
#  - pkg-config's haven.pc compiles and links a C program against the
#    installed libhaven (pkg-config --cflags --libs haven), which runs: it
#    makes a database through the API that haven then verifies;
#  - find_package(Haven CONFIG) gives Haven::haven to a CMake project;
#  - the bash completion is where bash-completion's loader finds it and
#    completes commands, subcommands and options;
#  - the zsh completion loads through compinit for `haven`, and its command
#    list is the table's (`haven --help`);
#  - the manual page and the shipped workflows, rules and scenarios are in.
# The normal build only (a sanitizer build's library needs its runtime), and
# no server: it makes no haven call over --server.
. "${HAVEN_SOURCE_DIR:?set HAVEN_SOURCE_DIR}/tests/cli/lib.sh"
BUILD=${HAVEN_BUILD_DIR:?set HAVEN_BUILD_DIR to the build}
STAGE=$WORK/stage
PREFIX=/opt/haven-test

# ---- install into the stage ---------------------------------------------------
DESTDIR=$STAGE cmake --install "$BUILD" --prefix "$PREFIX" >install.log 2>&1
[ $? -eq 0 ] && pass || { failt "cmake --install: $(tail -3 install.log)"; finish; }
ROOT=$STAGE$PREFIX
# every file went under DESTDIR
outside=$(grep -E '^-- (Installing|Up-to-date): ' install.log | grep -v -- "-- [A-Za-z-]*: $STAGE/")
[ -z "$outside" ] && pass || failt "installed outside DESTDIR: $(echo "$outside" | head -2)"
PC=$(find "$ROOT" -name haven.pc -path '*/pkgconfig/*' | head -1)
for f in bin/haven sbin/havend include/haven.h share/man/man1/haven.1 share/man/man8/havend.8 \
         share/bash-completion/completions/haven \
         share/haven/workflows/iasc.yaml share/haven/rules/default/pack.yaml; do
    [ -f "$ROOT/$f" ] && pass || failt "not installed: $f"
done
[ -n "$PC" ] && pass || failt "haven.pc not installed"
LIBDIR=$(dirname "$(dirname "$PC")")
ZDIR=$(dirname "$(find "$ROOT/share/zsh" -name _haven 2>/dev/null | head -1)")
[ -f "$ZDIR/_haven" ] && pass || failt "the zsh completion _haven is not under share/zsh"
[ -f "$LIBDIR/cmake/haven/haven-config.cmake" ] && pass ||
    failt "haven-config.cmake not in $LIBDIR/cmake/haven"
# the installed page is the one made from the table
"$HAVEN" help --man | cmp -s - "$ROOT/share/man/man1/haven.1" && pass ||
    failt "the installed haven.1 is not \`haven help --man\`"

# ---- pkg-config ----------------------------------------------------------------
cat >hello.c <<'EOF'
/* A database made through libhaven, its users listed. */
#include <stdio.h>
#include <haven.h>
int main(int argc, char **argv)
{
    hv_init_options o = {0};
    hv_engine *e = NULL;
    char *err = NULL, *users = NULL;
    if (argc != 3)
        return 64;
    o.agency = "CP";
    o.workflow_path = argv[2];
    o.admin = "admin";
    o.simulated = 1;
    o.now = "2026-11-28T09:00:00Z";
    hv_status st = hv_engine_init(argv[1], &o, &err);
    if (st == HV_OK)
        st = hv_engine_open(argv[1], &e, &err);
    if (st == HV_OK)
        st = hv_engine_set_actor(e, "admin");
    if (st == HV_OK)
        st = hv_user_list(e, &users);
    if (st != HV_OK) {
        fprintf(stderr, "hello: %s\n", err ? err : hv_strerror(st));
        return hv_status_exit_code(st);
    }
    printf("libhaven %s: %s\n", HV_VERSION_STRING, users);
    hv_free(users);
    hv_engine_close(e);
    return 0;
}
EOF
export PKG_CONFIG_PATH="$LIBDIR/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$STAGE"
# haven.pc names the real prefix (--prefix, not the stage); the sysroot
# puts the stage before its paths
grep -qx "prefix=$PREFIX" "$PC" && pass || failt "haven.pc: $(grep '^prefix=' "$PC"), want $PREFIX"
[ "$(pkg-config --modversion haven)" = "$("$HAVEN" --version | cut -d' ' -f2)" ] && pass ||
    failt "haven.pc version $(pkg-config --modversion haven) is not haven's"
# shellcheck disable=SC2046
if cc -Wall -Werror -o hello hello.c $(pkg-config --cflags --libs haven) 2>cc.err; then
    pass
    LD_LIBRARY_PATH="$LIBDIR" ./hello pc.db "$ROOT/share/haven/workflows/iasc.yaml" \
        >hello.out 2>&1 && pass || failt "the pkg-config program: $(cat hello.out)"
    grep -q '"login": *"admin"' hello.out && pass || failt "no users listed: $(cat hello.out)"
    LD_LIBRARY_PATH="$LIBDIR" ldd ./hello | grep -q "$LIBDIR/libhaven.so" && pass ||
        failt "hello does not load the installed libhaven"
    run --db pc.db --as admin audit verify
    expect_rc 0 "haven verifies the database libhaven made"
else
    failt "cc with pkg-config --cflags --libs haven: $(head -3 cc.err)"
fi
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# ---- CMake ------------------------------------------------------------------------
mkdir -p cm
cp hello.c cm/
cat >cm/CMakeLists.txt <<'EOF'
cmake_minimum_required(VERSION 3.25)
project(hello C)
find_package(Haven 0.1 CONFIG REQUIRED)
add_executable(hello hello.c)
target_link_libraries(hello PRIVATE Haven::haven)
EOF
if cmake -S cm -B cm/build -DCMAKE_PREFIX_PATH="$ROOT" -DCMAKE_C_FLAGS=-Werror \
         >cm.log 2>&1 && cmake --build cm/build >>cm.log 2>&1; then
    pass
    cm/build/hello cm.db "$ROOT/share/haven/workflows/iasc.yaml" >cm.out 2>&1 && pass ||
        failt "the CMake program: $(cat cm.out)"
    grep -q "^libhaven " cm.out && pass || failt "the CMake program said: $(cat cm.out)"
    grep -q "Haven_DIR:PATH=$LIBDIR/cmake/haven" cm/build/CMakeCache.txt && pass ||
        failt "find_package(Haven) did not find the staged package"
    run --db cm.db --as admin audit verify
    expect_rc 0 "haven verifies the database the CMake program made"
else
    failt "find_package(Haven CONFIG): $(tail -5 cm.log)"
fi

# ---- bash completion ----------------------------------------------------------------
BASHC=$ROOT/share/bash-completion/completions/haven
# complete WORDS...: what _haven offers for the last word
complete_bash() {
    bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _haven
             printf "%s\n" "${COMPREPLY[@]}"' sh "$BASHC" "$@" 2>&1 | sort | tr '\n' ' '
}
expect_offer() { # expect_offer WANT WORDS... (WANT sorted)
    want=$1
    shift
    got=$(complete_bash "$@")
    [ "$got" = "$want " ] && pass || failt "bash: '$*' offers '$got', want '$want'"
}
expect_offer "rules" haven rul
expect_offer "diff" haven rules d
expect_offer "--help --hooks" haven rules diff --h
expect_offer "report" haven --db x.db repo
expect_offer "disable" haven user dis
expect_offer "--oidc --os-login" haven user map amal --o
expect_offer "--purpose" haven --pu
expect_offer "--expect-version" haven assess CP-2026-00001 --ex
# bash-completion's loader finds it where it was installed
if [ -f /usr/share/bash-completion/bash_completion ]; then
    XDG_DATA_DIRS="$ROOT/share" bash -c '. /usr/share/bash-completion/bash_completion
        __load_completion haven && complete -p haven' >bc.out 2>&1
    grep -q -- '-F _haven haven$' bc.out && pass ||
        failt "bash-completion does not load it: $(cat bc.out)"
fi

# ---- zsh completion -----------------------------------------------------------------
if command -v zsh >/dev/null 2>&1; then
    zsh -fc 'fpath=("$1" $fpath); autoload -Uz compinit; compinit -u -d "$2"
             print -r -- "${_comps[haven]}"; autoload -Uz +X _haven' zsh "$ZDIR" "$WORK/zcd" \
        >zsh.out 2>zsh.err
    [ "$(cat zsh.out)" = _haven ] && pass || failt "compinit does not bind _haven to haven: $(cat zsh.out)"
    [ ! -s zsh.err ] && pass || failt "zsh: $(head -3 zsh.err)"
    # its commands are the table's, as `haven --help` lists them
    sed -n "/^_haven_cmds=(/,/^)/s/^ *'\([a-z]*\):.*/\1/p" "$ZDIR/_haven" | sort >zsh.cmds
    "$HAVEN" --help | sed -n '/^Commands:/,/^$/s/^  haven \(\[[^]]*\] \)*\(--server URL \)*\([a-z]*\).*/\3/p' |
        sort -u >help.cmds
    [ -s help.cmds ] && cmp -s zsh.cmds help.cmds && pass ||
        failt "zsh's commands differ from haven --help's: $(diff zsh.cmds help.cmds | head -5)"
    # what it offers, with zsh's completion functions stubbed
    zsh -fc '
        _arguments() { if (( CURRENT == 2 )); then state=command
                       else state=argument; shift words; (( CURRENT-- )); fi; return 1 }
        _describe() { print -r -- "${(@)${(P)4}%%:*}" }
        compadd() { shift; print -r -- "$*" }
        _files() { print files }
        fpath=("$1" $fpath); autoload -Uz _haven
        words=(haven rul); CURRENT=2; PREFIX=rul; _haven
        words=(haven rules d); CURRENT=3; PREFIX=d; _haven
        words=(haven rules diff --h); CURRENT=4; PREFIX=--h; _haven' zsh "$ZDIR" >zoff.out 2>&1
    sed -n 1p zoff.out | grep -qw rules && pass || failt "zsh: haven rul: $(sed -n 1p zoff.out)"
    sed -n 2p zoff.out | grep -qw diff && sed -n 2p zoff.out | grep -qw apply && pass ||
        failt "zsh: haven rules d: $(sed -n 2p zoff.out)"
    sed -n 3p zoff.out | grep -q -- '--hooks' && pass || failt "zsh: rules diff --h: $(sed -n 3p zoff.out)"
fi
HAVEN_DB=cm.db
finish
