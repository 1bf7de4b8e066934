#!/bin/sh
# haven train noor understands the seed's own wording (issue 20, Trainers).
# Seed 001, section 8, "Suggested Model Answer": "Home visit or meeting with
# Noor and mother every two weeks for the first two months, then monthly.
# Bi-weekly phone check-in with the school."; the guiding example "Weekly
# follow-up with Noor and mother for the first month, then monthly. Plan
# review after 3 months"; section 6: "Frequency: ... (could be daily,
# weekly, monthly)"; section 4: a goal "should be SMART: Specific,
# Measurable, Achievable, Relevant, Time-bound".
. "$(dirname "$0")/lib.sh"
cd "$SRC" || exit 1

# The model answer as the seed prints it: the goal sentence carries its
# period and its measures; the actions carry "(Responsible: ..., Timeline: ...)".
cat > "$WORK/model.txt" <<'TXT'
Needs: Psychosocial support for Noor to cope with sadness, anxiety, withdrawal, and the impact of parental separation; Support for the mother to manage stress (psychological and financial) and enhance parenting skills under difficult circumstances; Academic support for Noor
Risks: Risk of deteriorating mental health for Noor; risk of emotional or physical neglect due to mother's stress; risk of school dropout
Strengths: Noor's connection to the school (being the referral source); mother's presence in Noor's life (despite stress); school's awareness of Noor's problem
Additional Information Needed: Nature of the "problems at home"; details of Noor's relationship with her mother, brother, and father; the family's precise financial situation; Noor's views on her situation; family's social support network
Overall Case Plan Goal: Within a 6-month period, Noor's psychosocial and social well-being will be improved, demonstrated by a reduction in symptoms of anxiety and sadness (measured by periodic assessments and school feedback), increased social participation and positive peer interaction, and improved academic performance (monitored with the school). Additionally, the mother will receive effective support to reduce psychological and financial stress and enhance her capacity to provide a supportive environment for Noor.
action: (Immediate) Conduct Comprehensive Best Interests Assessment (BIA): Individual interviews with Noor (using child-friendly techniques), interview with the mother, home visit to assess the environment, gather information from the school (with mother's consent). (Responsible: Caseworker, Timeline: Within 2 weeks).
action: Provide Initial Psychosocial Support (PSS) for Noor: Build a trusting relationship, provide a safe space for expression, simple activities to boost self-esteem and coping skills. (Responsible: Caseworker, Timeline: Ongoing, starting immediately).
action: Refer Mother for Support Services: Assess mother's needs and refer her to financial assistance programs (if available) and/or support groups for mothers or family counseling. (Responsible: Caseworker, Timeline: Within 1 month).
action: Coordinate with the School: Hold a meeting with the school counselor and teachers (with mother's consent) to discuss Noor's situation. (Responsible: Caseworker, Timeline: Within 1 month).
action: Explore Father's Involvement: Assess the nature of the father's relationship with Noor (with mother's and Noor's consent). (Responsible: Caseworker, Timeline: Within 2 months).
Follow-up: Home visit or meeting with Noor and mother every two weeks for the first two months, then monthly. Bi-weekly phone check-in with the school.
Review: Formal case plan review meeting after 3 months of implementation
TXT
train() { "$HAVEN" train noor < "$1" > "$WORK/out" 2> "$WORK/err"; RC=$?; OUT=$WORK/out; ERR=$WORK/err; }

train "$WORK/model.txt"
expect_rc 0 "the seed's model answer as printed"
expect_out '4 of 4 parts complete' "the model answer is complete"
no_text 'no follow-up frequency' "$OUT" "the model answer's frequency was not understood"
expect_out 'understood: follow-up every 14 days for the first 2 months, then every 30 days \(the step-down' \
    "the step-down 'then monthly' is said back"
expect_out 'another contact every 14 days' "the bi-weekly check-in with the school is understood"
expect_out 'understood: 3 indicators, target in 6 months' "the goal's own period and measures are read"
expect_out 'review after 3 months' "the review is understood"

# The guiding example: the review in the follow-up line.
sed -e 's/^Follow-up:.*/Follow-up: Weekly follow-up with Noor and mother for the first month, then monthly. Plan review after 3 months/' \
    -e '/^Review:/d' "$WORK/model.txt" > "$WORK/guide.txt"
train "$WORK/guide.txt"
expect_rc 0 "the guiding example's follow-up"
expect_out 'follow-up every 7 days for the first month, then every 30 days' "weekly, then monthly"
expect_out 'review after 3 months' "the review inside the follow-up line"

# Each way of writing a frequency: "wording days ok|misfit".  At Noor's
# medium risk the rules give every 14 days; monthly and daily do not fit
# but are understood (the misfit is said, not "no follow-up frequency").
for v in "weekly:7:ok" "every week:7:ok" "fortnightly:14:ok" "bi-weekly:14:ok" \
         "biweekly:14:ok" "every two weeks:14:ok" "monthly:30:misfit" "daily:1:misfit"; do
    word=${v%%:*}; rest=${v#*:}; days=${rest%%:*}; verdict=${rest#*:}
    sed "s/^Follow-up:.*/Follow-up: $word/" "$WORK/model.txt" > "$WORK/v.txt"
    train "$WORK/v.txt"
    no_text 'no follow-up frequency' "$OUT" "'$word' was not understood"
    if [ "$days" = 1 ]; then want='every day'; else want="every $days days"; fi
    expect_out "understood: follow-up $want" "'$word' is $want"
    if [ "$verdict" = ok ]; then
        expect_rc 0 "'$word' fits medium risk"
    else
        expect_rc 65 "'$word' does not fit medium risk"
        expect_out "follow-up $want does not fit medium risk: the rules give every 14 days" "'$word': the misfit said"
    fi
done

# "goal: be happier": each SMART part that is missing, by name.
sed -e 's/^Overall Case Plan Goal:.*/goal: be happier/' "$WORK/model.txt" > "$WORK/happier.txt"
train "$WORK/happier.txt"
expect_rc 65 "a goal that is not SMART"
no_text 'no goal sentence' "$OUT" "the old catch-all"
for smart in Specific Measurable Achievable Relevant Time-bound; do
    expect_out "^ +- not $smart: " "'be happier' is said to be not $smart"
done
# A goal that is only missing its period.
sed -e 's/^Overall Case Plan Goal: Within a 6-month period, /goal: /' "$WORK/model.txt" > "$WORK/nodate.txt"
train "$WORK/nodate.txt"
expect_out '^ +- not Time-bound: ' "a goal without its period is not Time-bound"
grep -q 'not Specific\|not Measurable\|not Relevant' "$OUT" && failt "a goal missing only its period is called more" || pass

# No internal message reaches the trainee: an empty list, a bad action.
sed -e 's/^Risks:.*/Risks:/' -e 's/^action: Coordinate.*/action: Coordinate with the school | someone | soon/' \
    "$WORK/model.txt" > "$WORK/bad.txt"
train "$WORK/bad.txt"
expect_rc 65 "an answer with an empty list"
expect_out 'no risks listed' "the empty list is said plainly"
expect_out 'action 4: no timeline' "the action's missing timeline"
for leak in 'must be a list of text' 'assess:' 'plan:' 'actions\.' 'target_date' '=\.\.\.'; do
    if grep -q -- "$leak" "$OUT"; then failt "an internal message leaks: $(grep -- "$leak" "$OUT" | head -1)"; else pass; fi
done

# From outside the checkout the exercise is found all the same (the source
# tree the binary was built from, after ./scenarios and the installed data).
cd "$WORK" || exit 1
train "$WORK/model.txt"
expect_rc 0 "train noor from outside the checkout"
expect_out '4 of 4 parts complete' "the exercise found from elsewhere"
"$HAVEN" train nosuch > "$WORK/out" 2> "$WORK/err"; RC=$?; ERR=$WORK/err
expect_rc 66 "an unknown exercise"
expect_err "no exercise 'nosuch'; available: noor" "the exercises available are listed"
finish
