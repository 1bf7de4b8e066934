#!/bin/sh
# `workflow graph` draws a terminal stage as a box of normal size (issue 20:
# "draws 'Not eligible' as a huge double circle and leaves edges
# unlabelled") and labels every edge with the step that makes the move;
# checked on what Graphviz renders (dot -Tsvg, and -Tplain for the sizes).
. "$(dirname "$0")/lib.sh"

if ! command -v dot >/dev/null 2>&1; then
    failt "graphviz (dot) is missing: run 'sh tools/install-deps.sh' (as root)"
    finish
fi
for wf in iasc survivor trafficking; do
    run workflow graph "$SRC/workflows/$wf.yaml"; expect_rc 0 "graph $wf"
    cp "$OUT" "$wf.dot"
    dot -Tsvg "$wf.dot" >"$wf.svg" 2>/dev/null && grep -q '<svg' "$wf.svg" && pass || failt "$wf: dot -Tsvg"
    dot -Tplain "$wf.dot" >"$wf.plain" 2>/dev/null && pass || failt "$wf: dot -Tplain"
    edges=$(grep -c '^    "[a-z_]*" -> ' "$wf.dot")
    [ "$edges" -gt 5 ] && pass || failt "$wf: edges in the graph ($edges)"
    # every edge drawn with a label: a <text> in each edge group of the SVG
    drawn=$(grep -c 'class="edge"' "$wf.svg")
    labelled=$(awk '/class="edge"/ { e = 1 } e && /<text/ { n++; e = 0 } END { print n + 0 }' "$wf.svg")
    [ "$drawn" = "$edges" ] && [ "$labelled" = "$edges" ] && pass ||
        failt "$wf: $edges edges, $drawn drawn, $labelled labelled"
    grep -q '>register: not eligible</text>' "$wf.svg" && pass || failt "$wf: the not-eligible edge's label"
    grep -q '>approve closure</text>' "$wf.svg" && pass || failt "$wf: the closure approval's label"
    grep -q '>close</text>' "$wf.svg" && pass || failt "$wf: the close edges' label"
    # no circle, and every node (terminal ones too) of a box's size: under
    # an inch tall and no wider than the widest stage
    grep -q '<ellipse' "$wf.svg" && failt "$wf: a circle is drawn" || pass
    awk '$1 == "node" { if ($6 + 0 > 1.0) bad = bad " " $2 "(" $6 "in tall)" }
         END { if (bad != "") { print bad; exit 1 } }' "$wf.plain" >sizes.txt && pass ||
        failt "$wf: nodes too tall:$(cat sizes.txt)"
    ne=$(awk '$1 == "node" && $2 == "not_eligible" { print $5 }' "$wf.plain")
    widest=$(awk '$1 == "node" && $2 != "not_eligible" && $2 != "closed" { if ($5 > w) w = $5 } END { print w }' "$wf.plain")
    awk -v a="$ne" -v b="$widest" 'BEGIN { exit !(a > 0 && a <= b) }' && pass ||
        failt "$wf: not_eligible ${ne}in wide, the widest stage ${widest}in"
    # the terminal stages: a double border
    grep -Eq '"not_eligible" \[label="[^"]*", peripheries=2\];' "$wf.dot" && pass || failt "$wf: not_eligible's double border"
done
# Mermaid: labelled edges, terminal stages as double-bordered boxes
run workflow graph --mermaid "$SRC/workflows/iasc.yaml"; expect_rc 0 "mermaid"
expect_out '^    registration -->\|"register: not eligible"\| not_eligible$' "mermaid edge label"
expect_out '^    not_eligible\[\["Not eligible for case management"\]\]$' "mermaid terminal box"
no_text '((' "$OUT" "mermaid: no circle"
finish
