#!/bin/sh
# Install the Debian packages Haven needs to build, test and run.
# `install-deps.sh bench` adds what `make bench` needs besides (valgrind,
# for bench/profile.sh).  Idempotent: checks each package with dpkg-query first; runs apt-get update
# and apt-get install only when something is missing; silent when nothing is.
set -eu

PACKAGES="gcc make cmake pkg-config
liblua5.4-dev lua5.4 libsqlite3-dev sqlite3 libyaml-dev libreadline-dev
libjansson-dev libcmocka-dev libsodium-dev graphviz
libmicrohttpd-dev libcurl4-gnutls-dev libjose-dev jose openssl curl
chromium fonts-dejavu-core python3 python3-jsonschema zsh bash-completion
libpq-dev postgresql"
[ "${1:-}" = bench ] && PACKAGES="$PACKAGES valgrind"

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *" installed") ;;
        *) missing="$missing $p" ;;
    esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages:$missing" >&2
    echo "install-deps: run as root (or: sudo apt-get install$missing)" >&2
    exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
