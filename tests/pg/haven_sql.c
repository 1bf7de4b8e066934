/* haven-sql DB QUERY: runs one SQLite query on a Haven store, a file or a
 * PostgreSQL store (through the same virtual tables the engine uses), and
 * prints its rows as the sqlite3 shell does ("a|b").  For the tests that
 * look at the rows a command wrote; no keys: sealed values stay sealed. */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "fileio.h"
#include "pgstore.h"
#include "store.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: haven-sql DB QUERY\n");
        return 64;
    }
    sqlite3 *db = NULL;
    struct hv_pg *pg = NULL;
    char *err = NULL;
    int is_pg = hv__is_pg_url(argv[1]);
    char *shown = is_pg ? hv__pg_display(argv[1]) : NULL;
    hv_status s = hv__store_open_pg(is_pg ? shown : argv[1], is_pg ? argv[1] : NULL, 0,
                                    5000, &db, &pg, &err);
    if (s != HV_OK) {
        fprintf(stderr, "haven-sql: %s\n", err ? err : "cannot open");
        return 1;
    }
    int rc = SQLITE_OK;
    const char *tail = argv[2];
    while (rc == SQLITE_OK && tail && *tail) {
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(db, tail, -1, &st, &tail);
        if (rc != SQLITE_OK || !st)
            break;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            for (int i = 0; i < sqlite3_column_count(st); i++) {
                const unsigned char *v = sqlite3_column_text(st, i);
                printf("%s%s", i ? "|" : "", v ? (const char *)v : "");
            }
            putchar('\n');
        }
        sqlite3_finalize(st);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    if (rc != SQLITE_OK)
        fprintf(stderr, "haven-sql: %s\n", sqlite3_errmsg(db));
    sqlite3_close(db);
    hv__pg_close(pg);
    hv__free(shown);
    hv__free(err);
    return rc == SQLITE_OK ? 0 : 1;
}
