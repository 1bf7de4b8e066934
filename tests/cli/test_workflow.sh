#!/bin/sh
# `haven workflow check` and `haven workflow graph`.
. "$(dirname "$0")/lib.sh"

for wf in "$SRC"/workflows/*.yaml; do
    run workflow check "$wf"; expect_rc 0 "check $(basename "$wf")"; expect_out ': ok:' "check $wf"
    run workflow graph "$wf"; expect_rc 0 "graph $(basename "$wf")"
    dot -Tsvg "$OUT" > graph.svg 2>dot.err && grep -q '<svg' graph.svg && pass \
        || failt "dot -Tsvg $(basename "$wf"): $(head -c 200 dot.err)"
    run workflow graph --mermaid "$wf"; expect_rc 0 "mermaid"; expect_out '^flowchart' "mermaid"
done
run workflow check "$SRC/workflows/iasc.yaml"; expect_out 'workflow iasc version 1' "iasc summary"
run workflow graph "$SRC/workflows/iasc.yaml"
expect_out 'registration.*->.*initial_assessment' "DOT edge registration -> initial_assessment"
run --json workflow check "$SRC/workflows/iasc.yaml"; cp "$OUT" wf.json
[ "$(json_get wf.json '$.id')" = iasc ] && pass || failt "--json workflow check"

# Every malformed fixture is refused with FILE:LINE:COLUMN.
for bad in "$SRC"/tests/fixtures/workflows/bad_*.yaml; do
    name=$(basename "$bad")
    run workflow check "$bad"
    expect_rc 65 "$name"
    expect_err "$name:[0-9]+:[0-9]+: " "$name"
done

run workflow check nowhere.yaml; expect_rc 66 "missing workflow"; expect_err "nowhere.yaml" "missing workflow"
run workflow frobnicate x; expect_rc 64 "unknown workflow subcommand"
# A document over 1 MiB is refused without parsing it.
{ echo "id: big"; echo "description: |"; i=0; while [ $i -lt 20000 ]; do echo "  padding line $i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; i=$((i+1)); done; } > big.yaml
run workflow check big.yaml; expect_rc 65 "oversized workflow"; expect_err "big.yaml" "oversized workflow"
finish
