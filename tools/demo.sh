#!/bin/sh
# make demo: a fresh demo database, Noor registered (seed 001, section 8),
# and her case file.  Dates are fixed with --now so the output is the same
# every time.
set -eu
HAVEN=${1:-build/haven}
DIR=demo
rm -rf "$DIR"
mkdir -p "$DIR"
export HAVEN_DB="$DIR/haven.db"
export HAVEN_USER=amal
NOW=2026-11-28T09:00:00Z

echo "== haven init"
"$HAVEN" --now "$NOW" init --agency CP --agency-name "Child Protection Demo" \
    --workflow workflows/iasc.yaml --rules rules/default
echo
echo "== haven register (Noor, referred by her school)"
REF=$("$HAVEN" --now "$NOW" register \
    child.name=Noor child.age=12 child.sex=female \
    location="Riverside, block 4" source=school \
    concerns=emotional_distress,school_decline,family_separation \
    consent.registration=caregiver consent.information_sharing=caregiver \
    family.1.relationship=mother family.1.name=Amal family.1.lives_with_child=yes \
    family.2.relationship=sibling family.2.sex=male family.2.age=8 family.2.lives_with_child=yes \
    family.3.relationship=father family.3.lives_with_child=no \
    form.referral_note="withdrawn, sad and anxious; academic decline")
echo "$REF"
echo
echo "== haven show $REF"
"$HAVEN" --now 2026-11-29T10:00:00Z show "$REF"
echo
echo "== haven search Nour (spelling variants)"
"$HAVEN" search Nour
echo
echo "The demo database is $HAVEN_DB; try: HAVEN_DB=$HAVEN_DB $HAVEN list"
