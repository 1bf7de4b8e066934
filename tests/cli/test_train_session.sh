#!/bin/sh
# The trainer's session as the README's walkthrough ("A trainer's session")
# prints it: each command below is the walkthrough's, run as written from a
# folder outside the checkout.
. "$(dirname "$0")/lib.sh"

# 1. Replay the Noor scenario by name and read the transcript.
run scenario run noor
expect_rc 0 "haven scenario run noor"
expect_out 'CP-2026-00001 plan approved; stage: implementation, next follow-up in 14 days \(home visit scheduled\)$' \
    "the transcript the walkthrough quotes"
expect_out '^28 passed, 0 failed$' "the closing line the walkthrough quotes"

# 2. Project the timelines of three scenarios on one page.
run scenario run --html session.html noor neglect transfer
expect_rc 0 "haven scenario run --html session.html noor neglect transfer"
[ "$(grep -c '<section class="scenario"' session.html)" -eq 3 ] && pass ||
    failt "session.html does not hold the three scenarios"

# 3. The trainee's answer, in the template's own words.
cat > answers.txt <<'TXT'
Needs: psychosocial support for Noor; support for the mother; academic support
Risks: deteriorating mental health; neglect due to the mother's stress; school dropout
Strengths: connection to the school; the mother's presence
Additional Information Needed: the nature of the problems at home; the family's finances
Overall Case Plan Goal: Within 6 months Noor's anxiety and sadness lessen, demonstrated by better attendance, more participation in class and improved grades, and her mother is supported to reduce her stress.
action: Comprehensive Best Interests Assessment | caseworker | within 2 weeks
action: Psychosocial support sessions for Noor | caseworker | ongoing, starting immediately
action: Refer the mother to financial support | caseworker | within a month
action: Coordinate with the school | caseworker | within a month
Follow-up: every two weeks for the first two months, then monthly
Review: after three months
TXT
"$HAVEN" train noor < answers.txt > "$WORK/out" 2> "$WORK/err"; RC=$?; OUT=$WORK/out; ERR=$WORK/err
expect_rc 0 "haven train noor < answers.txt"
expect_out '== 4 of 4 parts complete' "the answer is complete"
expect_out 'understood: follow-up every 14 days for the first 2 months, then every 30 days' \
    "the step-down said back, as the walkthrough shows"

# 4. A vague goal: what SMART part is missing.
sed 's/^Overall Case Plan Goal:.*/goal: be happier/' answers.txt > vague.txt
"$HAVEN" train noor < vague.txt > "$WORK/out" 2> "$WORK/err"; RC=$?
expect_rc 65 "haven train noor < vague.txt"
expect_out '^           - not Specific: ' "the walkthrough's 'not Specific' line"
expect_out '^           - not Time-bound: ' "the walkthrough's 'not Time-bound' line"

# 5. The run as data for a learning platform.
run --json scenario run noor
expect_rc 0 "haven --json scenario run noor"
[ "$(json_get "$OUT" '$.scenarios[0].passed')" = 28 ] && pass || failt "--json: passed"
finish
