#!/usr/bin/env python3
"""profile_summary.py - the summary bench/profile.sh appends to RESULTS.md.

Reads WORK/{register,rescore}.{time,once,self,incl} (the native time per
item, the items of the callgrind run,
and callgrind_annotate's self and inclusive listings of the loop) and
prints, for each loop, the instructions' shares by part and by engine
function, turned into microseconds per item with the native time.

    python3 bench/profile_summary.py WORK CASELOAD
"""
import os
import re
import sys

LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.*?):(\S+)(?:\s+\[(.+)\])?\s*$")


def listing(path):
    """(instructions, file, function, object) of each line of a listing."""
    rows = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if m:
                rows.append((int(m.group(1).replace(",", "")), m.group(3), m.group(4),
                             m.group(5) or ""))
    return rows


def total(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if "PROGRAM TOTALS" in line:
                return int(line.split()[0].replace(",", ""))
    return 0


# What a function's own instructions are spent on, from its object file,
# its source file or its name (first match wins).
PARTS = [
    (lambda f, fn, o: "libsqlite3" in o or "sqlite3.c" in f,
     "SQLite: statements, b-trees, pages, journal"),
    (lambda f, fn, o: "libsodium" in o,
     "libsodium: HMAC name keys, BLAKE2b chain and digests, XChaCha20 sealing"),
    (lambda f, fn, o: "liblua" in o, "Lua: the rule packs' VM, tables, strings, GC"),
    (lambda f, fn, o: "libjansson" in o, "jansson: JSON in and out"),
    (lambda f, fn, o: "libyaml" in o, "libyaml"),
    (lambda f, fn, o: "libc" in o and re.match(r"_?_?(int_)?(malloc|free|realloc|calloc)|"
                                              r"_int_|malloc_|tcache|unlink_chunk", fn),
     "malloc and free"),
    (lambda f, fn, o: "libc" in o, "libc: copies, string and number formatting"),
    (lambda f, fn, o: "ld-linux" in o or "libm" in o, "the dynamic linker, libm"),
]


def part_of(f, fn, o):
    for test, name in PARTS:
        if test(f, fn, o):
            return name
    if f.startswith(("engine/", "bindings/", "bench/")) or "/engine/" in f \
            or "/bindings/" in f or "/bench/" in f:
        base = f[f.rfind("/", 0, f.rfind("/")) + 1:] if "/" in f else f
        return "Haven: " + base
    return "other: " + (os.path.basename(o) if o else f)


def summary(work, name, title, unit, skip):
    time_path = os.path.join(work, name + ".time")
    with open(time_path, encoding="utf-8") as f:
        items, us = f.read().split()
    items, us = int(items), float(us)
    self_rows = listing(os.path.join(work, name + ".self"))
    incl_rows = listing(os.path.join(work, name + ".incl"))
    all_ir = total(os.path.join(work, name + ".self"))
    with open(os.path.join(work, name + ".once"), encoding="utf-8") as f:
        once_items = int(f.read().split()[0])
    print(f"\n### {title}\n")
    print(f"{us:.1f} µs per {unit} natively (median of 5 runs of {items:,} {unit}s); "
          f"{all_ir / once_items:,.0f} instructions per {unit} under callgrind "
          f"(one run of {once_items:,}).\n")
    parts = {}
    for ir, f, fn, o in self_rows:
        p = part_of(f, fn, o)
        parts[p] = parts.get(p, 0) + ir
    print("| part (the instructions it runs itself) | share | µs per " + unit + " |")
    print("|---|---|---|")
    shown = 0
    for p, ir in sorted(parts.items(), key=lambda kv: -kv[1]):
        share = ir / all_ir if all_ir else 0
        if share < 0.005:
            continue
        shown += ir
        print(f"| {p} | {share * 100:.1f} % | {share * us:.2f} |")
    rest = all_ir - shown
    if all_ir and rest > 0:
        print(f"| everything under 0.5 % each | {rest / all_ir * 100:.1f} % | "
              f"{rest / all_ir * us:.2f} |")
    print()
    print("| engine function (with all it calls) | share | µs per " + unit + " |")
    print("|---|---|---|")
    n = 0
    seen = set()  # a function can be listed under two spellings of its file
    for ir, f, fn, o in sorted(incl_rows, key=lambda r: -r[0]):
        if not re.match(r"hv_|hv__", fn) or "'" in fn or fn in skip or fn in seen:
            continue
        seen.add(fn)
        share = ir / all_ir if all_ir else 0
        if share < 0.02:
            break
        print(f"| `{fn}` ({os.path.basename(f)}) | {share * 100:.1f} % | {share * us:.2f} |")
        n += 1
        if n >= 18:
            break


def main():
    work, caseload = sys.argv[1], sys.argv[2]
    print("\n## Where the time goes (callgrind)\n")
    print("Made by bench/profile.sh in this run: each loop (bench/profile.c) runs "
          "natively for its time per item, then once under `valgrind --tool=callgrind`, "
          "collecting inside the loop only.  Each share of the instructions is turned "
          "into microseconds with the native time (instructions are not all equally "
          "fast: cache misses and system calls, the fdatasync above all, cost time "
          "without instructions, so the shares are of the CPU's work).  The parts "
          "count each function's own instructions once; the functions count "
          "everything they call, so they overlap.")
    summary(work, "register", "Bulk registration (1,000 per transaction)", "registration",
            {"hv_case_register"})
    summary(work, "rescore",
            f"Re-scoring with risk.lua (the open cases of {os.path.basename(caseload)}, "
            "on one thread: the work of each case, wherever it runs)",
            "case", {"hv_rules_diff"})


if __name__ == "__main__":
    main()
