#!/bin/sh
# make demo: the Noor scenario (seed 001, section 8) through the engine and
# the default rules on a simulated clock, from referral to the final
# follow-up: its transcript, her case file, and the timeline page.
set -eu
HAVEN=${1:-build/haven}
rm -rf demo
mkdir -p demo
"$HAVEN" scenario run --show --html demo/noor.html scenarios/noor.lua
echo
echo "The timeline of Noor's case: demo/noor.html (open it in a browser)."
