#!/bin/sh
# make demo: Noor (seed 001, section 8) taken from referral to her first
# review on a fixed clock, then her case file and the due list.
set -eu
HAVEN=${1:-build/haven}
DIR=demo
rm -rf "$DIR"
mkdir -p "$DIR"
export HAVEN_DB="$DIR/haven.db"
h() { # TIME ARGS...: run haven at a fixed time, as $HAVEN_USER
    at=$1; shift
    "$HAVEN" --now "$at" "$@"
}

echo "== An agency with a supervisor (sara) and a caseworker (amal)"
HAVEN_USER=admin h 2026-11-28T08:00:00Z init --agency CP --agency-name "Child Protection Demo" \
    --workflow workflows/iasc.yaml --rules rules/default
HAVEN_USER=admin h 2026-11-28T08:00:00Z user add sara --role supervisor
HAVEN_USER=admin h 2026-11-28T08:00:00Z user add amal --role caseworker --supervisor sara
export HAVEN_USER=amal

echo
echo "== Noor, 12, referred by her school"
REF=$(h 2026-11-28T09:00:00Z register \
    child.name=Noor child.age=12 child.sex=female \
    location="Riverside, block 4" source=school \
    concerns=emotional_distress,school_decline,family_separation \
    consent.registration=caregiver \
    family.1.relationship=mother family.1.name=Amal family.1.lives_with_child=yes \
    family.2.relationship=sibling family.2.sex=male family.2.age=8 family.2.lives_with_child=yes \
    family.3.relationship=father family.3.lives_with_child=no)
echo "$REF"
h 2026-11-28T09:05:00Z due

echo
echo "== Assessment (initial within 24-48 hours; the Best Interests Assessment)"
h 2026-11-29T10:00:00Z assess "$REF" kind=initial safety=ok \
    needs="psychosocial support for Noor" \
    risks="deteriorating mental health,risk of school dropout" \
    strengths="connection to the school,mother present in her life" \
    info_needed="nature of the problems at home,family finances" \
    sources=school,mother verified=school
h 2026-12-08T10:00:00Z assess "$REF" kind=comprehensive \
    elements.childs_views="Noor says she feels alone since her father left" \
    elements.family_relationships="close to her mother, who works long hours and is stressed" \
    elements.safe_environment="no physical danger observed at home" \
    elements.development_identity="academic decline over two terms" \
    elements.strengths_resources="supportive school counsellor" \
    needs="psychosocial support,support for the mother,academic support" \
    risks="emotional neglect due to the mother's stress"

echo
echo "== The case plan (SMART goal), approved by the supervisor"
h 2026-12-09T10:00:00Z plan "$REF" \
    goal="Within 6 months Noor's psychosocial well-being improves and her mother receives support" \
    indicators.1="fewer signs of anxiety and sadness (periodic assessments, school feedback)" \
    indicators.2="improved academic performance" target_date=2027-06-09 \
    addresses.1="psychosocial support for Noor" addresses.2="mother's stress" \
    actions.1.title="Individual psychosocial support sessions" actions.1.responsible=caseworker \
    actions.1.type=direct_support actions.1.due=2027-01-09 \
    actions.2.title="Refer the mother to financial support" actions.2.responsible=caseworker \
    actions.2.type=referral actions.2.due=2027-01-09 \
    actions.3.title="Coordinate with the school" actions.3.responsible=caseworker \
    actions.3.type=coordination actions.3.due=2027-01-09
HAVEN_USER=sara h 2026-12-10T09:00:00Z approve "$REF"

echo
echo "== Implementation and follow-up"
h 2026-12-11T09:00:00Z consent "$REF" scope=information_sharing given_by=caregiver
h 2026-12-11T09:30:00Z refer "$REF" service=financial provider="Family support programme" action=2
h 2026-12-23T10:00:00Z followup "$REF" method=home_visit_scheduled safety=ok notes="Noor more talkative"
h 2027-01-06T10:00:00Z followup "$REF" method=home_visit_scheduled safety=concern \
    notes="the family's finances have worsened"
h 2027-01-07T10:00:00Z conference "$REF" participants="caseworker,school counsellor,mother" \
    decisions="weekly check-in with the school,speed up the financial referral"

echo
echo "== Her case file"
h 2027-01-07T12:00:00Z show "$REF"
echo
echo "== What is due for amal"
h 2027-01-07T12:00:00Z due
echo
echo "The demo database is $HAVEN_DB; try: HAVEN_DB=$HAVEN_DB HAVEN_USER=amal $HAVEN due"
