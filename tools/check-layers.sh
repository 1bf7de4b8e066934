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

# A file's path from the source folder, in awk: rel(FILENAME).
REL='function rel(f) { return substr(f, length(src) + 2) }
     function base(f,    n, p) { n = split(f, p, "/"); return p[n] }'

# ---- 1. front ends include only the public header -----------------------------
# Allowed: haven.h, any header of bindings/, and the build's generated
# headers (without the build's folder: the embedded Lua of the front ends,
# bindings/DIR/NAME.lua -> DIR_NAME.h).
find "$src/bindings" -name '*.h' >"$tmp/bindings_h"
find "$src/bindings" -name '*.lua' | awk -v src="$src" "$REL"'
    { n = split(rel($0), p, "/"); sub(/\.lua$/, "", p[n]); print p[n - 1] "_" p[n] ".h" }' \
    >>"$tmp/bindings_h"
if [ "$gendir" != - ] && [ -d "$gendir" ]; then
    find "$gendir" -name '*.h' >>"$tmp/bindings_h"
fi
find "$src/bindings" -name '*.[ch]' | sort >"$tmp/bindings_src"
ls "$src"/engine/*.h >"$tmp/engine_h"
# shellcheck disable=SC2046
awk -v src="$src" -v allowed="$tmp/bindings_h" -v engine_list="$tmp/engine_h" "$REL"'
    BEGIN { while ((getline l < allowed) > 0) ok[base(l)] = 1; ok["haven.h"] = 1
            while ((getline l < engine_list) > 0) engine_h[base(l)] = 1 }
    /^[ \t]*#[ \t]*include[ \t]*"/ {
        split($0, p, "\""); h = p[2]
        if (!(base(h) in ok) || h ~ /\.\./ || h ~ /^(engine|bench)\//)
            printf "%s:%d: includes \"%s\": a front end may include only haven.h, its own headers and system or library headers\n", rel(FILENAME), FNR, h
    }
    # <...> reaches engine/ too through -I engine/include: never a path up,
    # never the name of an engine header
    /^[ \t]*#[ \t]*include[ \t]*</ {
        h = $0; sub(/^[^<]*</, "", h); sub(/>.*/, "", h)
        if (h ~ /\.\./ || base(h) in engine_h)
            printf "%s:%d: includes <%s>: a front end may include only haven.h, its own headers and system or library headers\n", rel(FILENAME), FNR, h
    }' $(cat "$tmp/bindings_src") >>"$tmp/errors"

# ---- 2. every engine file on a floor; includes go down ------------------------
# shellcheck disable=SC2086
awk -v src="$src" -v floors="$tmp/floors" "$REL"'
    BEGIN { while ((getline l < floors) > 0) { split(l, p, " "); fl[p[1]] = p[2] } }
    FNR == 1 {
        me = base(FILENAME)
        if (!(me in fl)) printf "engine/%s: not on a floor in tools/floors.txt\n", me
    }
    /^[ \t]*#[ \t]*include[ \t]*"/ {
        split($0, p, "\""); h = p[2]
        if (h == "haven.h" || !(h in fl) || !(me in fl)) next
        if (fl[h] + 0 > fl[me] + 0)
            printf "engine/%s:%d: includes %s (floor %d) from floor %d: an include goes up\n", me, FNR, h, fl[h], fl[me]
    }' "$src"/engine/*.c "$src"/engine/*.h >>"$tmp/errors"

# ---- 3. calls go down, and never in a loop ---------------------------------------
for o in "$@"; do
    [ -f "$o" ] || err "$o: no such object file"
done
# "D file sym" for a function defined there, "V" for data, "U" for a use;
# file is the source's name without .c (nm -A names each object).
# nm's own failure (missing, unreadable objects) must not pass for "no
# calls": its output goes to files and its status is checked.
"$NM" -A -g --defined-only "$@" >"$tmp/nm_def" 2>"$tmp/nm_err" ||
    err "$NM failed on the engine's objects: $(head -1 "$tmp/nm_err")"
"$NM" -A -u "$@" >"$tmp/nm_und" 2>>"$tmp/nm_err" ||
    err "$NM failed on the engine's objects: $(head -1 "$tmp/nm_err")"
grep -q ' T hv_' "$tmp/nm_def" || err "no hv_ function found in the engine's objects"
{
    awk '{ print "DEF", $1, $2, $3 }' "$tmp/nm_def"
    awk '{ print "UND", $1, "U", $NF }' "$tmp/nm_und"
} | awk '$4 ~ /^hv_/ {
        f = $2; sub(/:.*/, "", f); n = split(f, p, "/"); f = p[n]; sub(/\.o$/, "", f); sub(/\.c$/, "", f)
        if ($1 == "UND") print "U", f, $4
        else print ($3 == "T" ? "D" : "V"), f, $4
    }' >"$tmp/syms"
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
# shellcheck disable=SC2086
awk -v src="$src" "$REL"'
    FNR == 1 { file = rel(FILENAME); start = 0; sig = "" }
    /^[A-Za-z_].*\(/ && !/;[ \t]*$/ { sig = $0; sigline = FNR }
    /^\{/ { start = FNR; name = sig }
    /^\}/ && start {
        if (FNR - start - 1 > 150) {
            match(name, /[A-Za-z_0-9]+[ \t]*\(/)
            printf "%s:%d: %s is %d lines (at most 150)\n", file, sigline, substr(name, RSTART, RLENGTH - 1), FNR - start - 1
        }
        start = 0
    }
    { lines[FILENAME] = FNR }
    END {
        for (f in lines)
            if (f ~ /\/engine\/[^\/]*\.c$/ && lines[f] > 900)
                printf "%s: %d lines (at most 900)\n", rel(f), lines[f]
    }' "$src"/engine/*.c $(cat "$tmp/bindings_src" | grep '\.c$') >>"$tmp/errors"

# ---- 5. declarations in the header of the defining file --------------------------
awk -v src="$src" '
    # The text of a header, read once; "" when there is none.
    function text(h,    l, t) {
        if (h in cache) return cache[h]
        t = ""
        while ((getline l < h) > 0) t = t "\n" l
        close(h)
        return cache[h] = t
    }
    # 1 if t declares sym: sym( after a character that is not part of a name.
    function declares(t, sym,    i, c) {
        while ((i = index(t, sym "(")) > 0) {
            c = substr(t, i - 1, 1)
            if (i > 1 && c !~ /[A-Za-z0-9_]/) return 1
            t = substr(t, i + length(sym))
        }
        return 0
    }
    $1 == "D" {
        file = $2; sym = $3
        # A split file (rulesdiff_rows.c) may share its family header
        # (rulesdiff.h).
        if (sym ~ /^hv__/) { h = src "/engine/" file ".h"; fam = file; sub(/_.*/, "", fam); fam = src "/engine/" fam ".h" }
        else { h = src "/engine/include/haven.h"; fam = h }
        if (!declares(text(h), sym) && !declares(text(fam), sym)) {
            shown = h; sub("^" src "/", "", shown)
            printf "engine/%s.c defines %s, not declared in %s\n", file, sym, shown
        }
    }' "$tmp/syms" >>"$tmp/errors"
awk -v src="$src" "$REL"'
    FNR == 1 { decl = 0 }
    /^[A-Za-z_][A-Za-z_0-9 \t\*]*[ \t\*]hv__?[a-z0-9_]+[ \t]*\(/ && !/^(static|typedef)/ { decl = 1; dline = FNR }
    decl && /\{/ { decl = 0 }
    decl && /;[ \t]*$/ { printf "%s:%d: a prototype typed into a .c file\n", rel(FILENAME), dline; decl = 0 }
' "$src"/engine/*.c >>"$tmp/errors"

if [ -s "$tmp/errors" ]; then
    sort -u "$tmp/errors" >&2
    echo "check-layers: $(sort -u "$tmp/errors" | wc -l) breaches of the house rules (tools/check-layers.sh)" >&2
    exit 1
fi
echo "check-layers: the house is in order"
