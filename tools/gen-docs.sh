#!/bin/sh
# gen-docs.sh - writes the checked-in texts that `haven` makes from its one
# table of commands (bindings/cli/clirun.c, clihelp.c):
#   doc/haven.1                  haven help --man
#   dist/completion/haven.bash   haven help --completion bash
#   dist/completion/_haven       haven help --completion zsh
# Run it after changing a command, its usage or its help; the build installs
# these files and tests/cli/test_guard_manpage.sh fails when one differs.
#
#   sh tools/gen-docs.sh [HAVEN_BINARY]     (default build/haven)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
haven=${1:-$src/build/haven}
[ -x "$haven" ] || { echo "gen-docs: $haven: not built (make first)" >&2; exit 66; }
gen() { # gen FILE ARGS...: FILE from `haven help ARGS...`, replaced whole
    out=$1
    shift
    "$haven" help "$@" >"$out.tmp" && mv "$out.tmp" "$out"
}
gen "$src/doc/haven.1" --man
gen "$src/dist/completion/haven.bash" --completion bash
gen "$src/dist/completion/_haven" --completion zsh
