#!/bin/sh
# profile.sh - where each microsecond of a registration and of a
# re-scoring goes: runs haven-bench's two profile loops (bench/profile.c)
# natively (the time per item, median of 5) and once under callgrind
# (instructions, collected inside the loop only), and appends a summary to
# the results file: the instructions' shares by part (self cost: the
# libraries and Haven's own source files) and by engine function
# (inclusive), each turned into microseconds per item with the native
# time.  Run by `make bench`.
#
#   sh bench/profile.sh HAVEN_BENCH DATA_DIR SOURCE CASELOAD RESULTS.md
set -eu
bench=$1 data=$2 source=$3 caseload=$4 results=$5
work="$data/profile"
mkdir -p "$work"

if ! command -v valgrind >/dev/null 2>&1 || ! command -v callgrind_annotate >/dev/null 2>&1; then
    printf '\n## Where the time goes (callgrind)\n\nNot measured in this run: valgrind is not installed.\n' \
        | tee -a "$results"
    exit 0
fi

# profile NAME TOGGLE [haven-bench options]: the native time and a callgrind
# profile of the loop TOGGLE; writes $work/NAME.{time,once,cg,self,incl}.
profile() {
    name=$1 toggle=$2
    shift 2
    "$bench" --profile "$name" --data "$work" --source "$source" "$@" > "$work/$name.time"
    valgrind --tool=callgrind --callgrind-out-file="$work/$name.cg" \
        --collect-atstart=no --toggle-collect="$toggle" \
        "$bench" --profile "$name" --profile-once 1 --data "$work" --source "$source" "$@" \
        > "$work/$name.once" 2> "$work/$name.log"
    callgrind_annotate --inclusive=no --threshold=100 "$work/$name.cg" > "$work/$name.self"
    callgrind_annotate --inclusive=yes --threshold=100 "$work/$name.cg" > "$work/$name.incl"
}

echo "profile.sh: registration under callgrind..." >&2
profile register profiled_registrations
echo "profile.sh: re-scoring under callgrind..." >&2
profile rescore profiled_rescore --profile-db "$caseload"

python3 "$source/bench/profile_summary.py" "$work" "$caseload" | tee -a "$results"
