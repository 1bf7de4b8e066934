#!/bin/sh
# check-layers.sh - the house rules of Haven's code, checked from the
# sources and the engine's object files.  Run by the build (CMake target
# `layers`, part of `all`) and by ctest (unit_layers); exits 1 naming every
# breach, 0 when the house is in order.
#
#   sh tools/check-layers.sh SOURCE_DIR GENERATED_DIR ENGINE_OBJECT...
#
# (GENERATED_DIR: the build's generated headers, or "-" for none; the
# objects: the engine's object files, one per engine/*.c.)
#
# What it checks:
#  1. A file under bindings/ includes ("...") only haven.h, headers of
#     bindings/ itself and the build's generated headers: never an engine
#     header or anything from bench/.
#  2. Every engine/*.c and engine/*.h stands on a floor in tools/floors.txt,
#     and includes only headers of its own floor or below.
#  3. Calls (from the object files' symbols, with nm): an engine file calls
#     only files of its own floor or below, and no two engine files call
#     each other in a loop, however long (a transitive closure of the
#     file-level call graph).
#  4. Sizes: no engine/*.c over 900 lines, no function over 150 lines.
#  5. Every hv__ function is declared in the header of the file that
#     defines it (foo.c -> foo.h, or a split file's family header:
#     foo_rows.c -> foo.h), every hv_ one in include/haven.h, and no hv_
#     prototype is typed into a .c file.
set -eu

usage="usage: check-layers.sh SOURCE_DIR GENERATED_DIR ENGINE_OBJECT..."
[ $# -ge 3 ] || { echo "$usage" >&2; exit 64; }
src=$1
gendir=$2
shift 2
NM=${NM:-nm}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/errors"

err() { printf '%s\n' "$*" >>"$tmp/errors"; }

# ---- the floors table: "name floor" per file --------------------------------
awk '!/^#/ && NF > 1 { for (i = 2; i <= NF; i++) print $i, $1 }' \
    "$src/tools/floors.txt" >"$tmp/floors"

# ---- 1. front ends include only the public header -----------------------------
(cd "$src/bindings" && find . -name '*.h' -exec basename {} \;) >"$tmp/bindings_h"
if [ "$gendir" != - ] && [ -d "$gendir" ]; then
    (cd "$gendir" && ls) >>"$tmp/bindings_h"
else
    # Without the build's folder, the embedded Lua of the front ends.
    for f in "$src"/bindings/*/*.lua; do
        b=$(basename "$f" .lua)
        d=$(basename "$(dirname "$f")")
        echo "${d}_${b}.h"
    done >>"$tmp/bindings_h"
fi
find "$src/bindings" -name '*.[ch]' | sort | while read -r f; do
    awk -v file="${f#"$src"/}" -v allowed="$tmp/bindings_h" '
        BEGIN { while ((getline l < allowed) > 0) ok[l] = 1; ok["haven.h"] = 1 }
        /^[ \t]*#[ \t]*include[ \t]*"/ {
            split($0, p, "\""); h = p[2]; n = split(h, parts, "/"); base = parts[n]
            if (!(base in ok) || h ~ /\.\./ || h ~ /^(engine|bench)\//)
                printf "%s:%d: includes \"%s\": a front end may include only haven.h, its own headers and system or library headers\n", file, FNR, h
        }' "$f" >>"$tmp/errors"
done

# ---- 2. every engine file on a floor; includes go down ------------------------
for f in "$src"/engine/*.c "$src"/engine/*.h; do
    b=$(basename "$f")
    grep -q "^$b " "$tmp/floors" || err "engine/$b: not on a floor in tools/floors.txt"
done
for f in "$src"/engine/*.c "$src"/engine/*.h; do
    awk -v file="engine/$(basename "$f")" -v me="$(basename "$f")" -v floors="$tmp/floors" '
        BEGIN { while ((getline l < floors) > 0) { split(l, p, " "); fl[p[1]] = p[2] } }
        /^[ \t]*#[ \t]*include[ \t]*"/ {
            split($0, p, "\""); h = p[2]
            if (h == "haven.h" || !(h in fl) || !(me in fl)) next
            if (fl[h] + 0 > fl[me] + 0)
                printf "%s:%d: includes %s (floor %d) from floor %d: an include goes up\n", file, FNR, h, fl[h], fl[me]
        }' "$f" >>"$tmp/errors"
done

# ---- 3. calls go down, and never in a loop ---------------------------------------
for o in "$@"; do
    [ -f "$o" ] || { err "$o: no such object file"; continue; }
    b=$(basename "$o"); b=${b%.o}; b=${b%.c}
    "$NM" -g --defined-only "$o" | awk -v f="$b" '$3 ~ /^hv_/ { print ($2 == "T" ? "D" : "V"), f, $3 }'
    "$NM" -u "$o" | awk -v f="$b" '$2 ~ /^hv_/ { print "U", f, $2 }'
done >"$tmp/syms"
awk -v floors="$tmp/floors" '
    BEGIN { while ((getline l < floors) > 0) { split(l, p, " "); fl[p[1]] = p[2] } }
    $1 == "D" || $1 == "V" { def[$3] = $2; files[$2] = 1 }
    $1 == "U" { nu++; uf[nu] = $2; us[nu] = $3; files[$2] = 1 }
    END {
        for (i = 1; i <= nu; i++) {
            if (!(us[i] in def)) continue
            a = uf[i]; b = def[us[i]]
            if (a == b) continue
            if (!((a, b) in edge)) { edge[a, b] = us[i] }
        }
        for (k in edge) {
            split(k, p, SUBSEP); a = p[1]; b = p[2]
            fa = fl[a ".c"]; fb = fl[b ".c"]
            if (fa != "" && fb != "" && fb + 0 > fa + 0)
                printf "engine/%s.c calls %s in engine/%s.c: floor %d calls up to floor %d\n", a, edge[k], b, fa, fb
            reach[a, b] = 1
        }
        # Transitive closure (Floyd-Warshall over the few dozen files).
        n = 0; for (f in files) name[++n] = f
        for (m = 1; m <= n; m++) for (i = 1; i <= n; i++) {
            if (!((name[i], name[m]) in reach)) continue
            for (j = 1; j <= n; j++)
                if ((name[m], name[j]) in reach) reach[name[i], name[j]] = 1
        }
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
            if (((name[i], name[j]) in reach) && ((name[j], name[i]) in reach))
                printf "engine/%s.c and engine/%s.c call each other in a loop\n", name[i], name[j]
    }' "$tmp/syms" >>"$tmp/errors"

# ---- 4. sizes -----------------------------------------------------------------
for f in "$src"/engine/*.c; do
    n=$(wc -l <"$f")
    [ "$n" -le 900 ] || err "engine/$(basename "$f"): $n lines (at most 900)"
done
for f in "$src"/engine/*.c "$src"/bindings/*/*.c; do
    awk -v file="${f#"$src"/}" '
        /^[A-Za-z_].*\(/ && !/;[ \t]*$/ { sig = $0; sigline = FNR }
        /^\{/ { start = FNR; name = sig }
        /^\}/ && start {
            if (FNR - start - 1 > 150) {
                match(name, /[A-Za-z_0-9]+[ \t]*\(/)
                printf "%s:%d: %s is %d lines (at most 150)\n", file, sigline, substr(name, RSTART, RLENGTH - 1), FNR - start - 1
            }
            start = 0
        }' "$f" >>"$tmp/errors"
done

# ---- 5. declarations in the header of the defining file --------------------------
awk '$1 == "D" { print $2, $3 }' "$tmp/syms" | sort -u | while read -r file sym; do
    # A split file (rulesdiff_rows.c) may share its family's header
    # (rulesdiff.h).
    case $sym in
    hv__*) h="$src/engine/$file.h"; fam="$src/engine/${file%%_*}.h" ;;
    *) h="$src/engine/include/haven.h"; fam=$h ;;
    esac
    if ! grep -qs "[^A-Za-z0-9_]$sym(" "$h" "$fam"; then
        err "engine/$file.c defines $sym, not declared in ${h#"$src"/}"
    fi
done
for f in "$src"/engine/*.c; do
    awk -v file="engine/$(basename "$f")" '
        /^[A-Za-z_][A-Za-z_0-9 \t\*]*[ \t\*]hv__?[a-z0-9_]+[ \t]*\(/ && !/^(static|typedef)/ { decl = 1; dline = FNR }
        decl && /\{/ { decl = 0 }
        decl && /;[ \t]*$/ { printf "%s:%d: a prototype typed into a .c file\n", file, dline; decl = 0 }
    ' "$f" >>"$tmp/errors"
done

if [ -s "$tmp/errors" ]; then
    sort -u "$tmp/errors" >&2
    echo "check-layers: $(sort -u "$tmp/errors" | wc -l) breaches of the house rules (tools/check-layers.sh)" >&2
    exit 1
fi
echo "check-layers: the house is in order"
