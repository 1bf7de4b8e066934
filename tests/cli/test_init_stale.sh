#!/bin/sh
# An init killed half-way leaves its temporary file (DB.init-XXXXXX) beside
# the database; the next init removes those untouched for an hour (issue 15,
# point 8), and leaves a running init's younger file and anything else be.
. "$(dirname "$0")/lib.sh"

for f in new.db.init-AbC123 new.db.init-AbC123-wal new.db.init-QrS456; do
    printf 'half-made' > "$f"
    touch -d '2 hours ago' "$f"
done
printf 'running' > new.db.init-XyZ789          # an init still at work
printf 'mine' > new.db.init-notours.txt         # not an init's file
touch -d '2 hours ago' new.db.init-notours.txt
run --db new.db --as admin init --agency CP --workflow "$SRC/workflows/iasc.yaml"
expect_rc 0 "init beside stale temporaries"
for f in new.db.init-AbC123 new.db.init-AbC123-wal new.db.init-QrS456; do
    [ ! -e "$f" ] && pass || failt "$f (stale) removed"
done
[ -e new.db.init-XyZ789 ] && pass || failt "a running init's file kept"
[ -e new.db.init-notours.txt ] && pass || failt "a file that is not an init's kept"
[ "$(ls new.db.init-* | wc -l)" = 2 ] && pass || failt "no new temporary left: $(ls new.db.init-*)"
HAVEN_DB=new.db finish
