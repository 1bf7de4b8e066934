#!/usr/bin/env python3
"""gen-new-schema.py DB - prints the C text of engine/schemasql.c's
hv__new_schema[]: the schema objects of DB (a database that init built step by
step, every migration one after another), in the order they were made.

Used when HV_NEW_SCHEMA_VERSION moves on (engine/newschema.h says it all):
after adding a migration (schema N to N+1), run this on a new database (`haven init`: the
array so far plus the later migrations, whose schema tests/test_migrations.c
proves the same as one migrated step by step), replace the array and set
HV_NEW_SCHEMA_VERSION.  This prints objects only, never rows: by hand,
  - add to new_schema_rows (newschema.c) every row the migrations passed
    write into an empty file, in their order;
  - mirror in hv__store_create_schema what a C hook of those migrations
    writes on an empty file (migrate.c's hv__store_migrate_steps calls
    hv__chain_anchor after the step to HV_SCHEMA_CHAIN_KEYED, mirrored by
    hv__chain_anchor(e, 0); lean_checks after the step to
    HV_SCHEMA_LEAN_CHECKS edits sqlite_schema, which this script reads);
  - undo the new step in the tests' hand-written downgrades of a new
    database: tests/test_migrations.c schema_8_text_name_keys_become_blobs
    and tests/cli/test_chain.sh section 9 ("Downgrading the schema").
test_migrations (a_new_database_is_the_one_every_migration_makes) compares
an empty file made at once with one made by every step from 0, schema and
every row, and fails while the two differ."""
import sqlite3
import sys

def main():
    db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
    version = db.execute("PRAGMA user_version").fetchone()[0]
    print("/* schema %d, made by tools/gen-new-schema.py */" % version)
    for (sql,) in db.execute(
            "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND"
            " name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid"):
        text = sql.replace("\\", "\\\\").replace('"', '\\"')
        lines = text.split("\n")
        out = []
        for i, line in enumerate(lines):
            piece = line + ("\\n" if i + 1 < len(lines) else "")
            while len(piece) > 72:
                cut = piece.rfind(" ", 0, 72)
                if cut <= 0 or piece[cut - 1] == "\\":
                    cut = 72
                    while piece[cut - 1] == "\\":
                        cut -= 1
                out.append(piece[:cut])
                piece = piece[cut:]
            out.append(piece)
        for j, piece in enumerate(out):
            end = "," if j + 1 == len(out) else ""
            print('    "%s"%s' % (piece, end))

main()
