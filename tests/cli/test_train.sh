#!/bin/sh
# haven train noor: a complete and an incomplete answer are graded
# differently, and what is missing is said.
. "$(dirname "$0")/lib.sh"
cd "$SRC" || exit 1

cat > "$WORK/complete.txt" <<'TXT'
needs: psychosocial support for Noor; support for the mother; academic support
risks: deteriorating mental health; neglect due to the mother's stress; school dropout
strengths: connection to the school; mother's presence
info_needed: problems at home; the family's finances
goal: Within 6 months Noor's well-being improves and her mother is supported
indicators: fewer signs of anxiety and sadness; better grades
target: 6 months
action: Comprehensive Best Interests Assessment | caseworker | 2 weeks
action: Psychosocial support sessions | caseworker | 1 month
action: Refer the mother to financial support | caseworker | 1 month
action: Coordinate with the school | caseworker | 1 month
followup: every 2 weeks
review: after 3 months
TXT
"$HAVEN" train noor < "$WORK/complete.txt" > "$WORK/out" 2> "$WORK/err"; RC=$?; OUT=$WORK/out
expect_rc 0 "a complete answer"
expect_out '4 of 4 parts complete' "a complete answer is graded complete"
expect_out 'model: .*Within a 6-month period' "the model answer is shown beside it"
expect_out 'yours: Within 6 months' "the trainee's answer is shown"

# No indicator, a vague action, a follow-up that does not fit the risk.
sed -e '/^indicators:/d' -e 's/^action: Coordinate with the school | caseworker | 1 month$/action: Coordinate with the school | someone | soon/' \
    -e 's/^followup: every 2 weeks$/followup: every 6 months/' "$WORK/complete.txt" > "$WORK/incomplete.txt"
"$HAVEN" train noor < "$WORK/incomplete.txt" > "$WORK/out" 2> "$WORK/err"; RC=$?
expect_rc 65 "an incomplete answer"
expect_out '1 of 4 parts complete' "an incomplete answer is graded lower"
expect_out 'missing  SMART goal: not Measurable: no indicator' "says the indicator is missing"
expect_out 'action 4: no timeline' "says the action has no timeline"
expect_out 'action 4: no responsible party' "says the action has no responsible party"
expect_out 'does not fit .* risk: the rules give every 14 days' "says the follow-up does not fit the risk"

run train nosuch; expect_rc 66 "an unknown exercise"
run train '../x'; expect_rc 64 "an exercise name with a path"
finish
