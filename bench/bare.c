/*
 * bare.c - the floor under a `haven` command: a process that opens the
 * database with SQLite, reads one row, creates a Lua state with its
 * standard libraries, and exits.  bench.c compares `haven show` with it.
 */
#include <lauxlib.h>
#include <lualib.h>
#include <sqlite3.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    if (argc != 2 || sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT count(*) FROM meta", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        fprintf(stderr, "haven-bare: cannot read %s\n", argc > 1 ? argv[1] : "(none)");
        return 1;
    }
    sqlite3_finalize(st);
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    lua_close(L);
    sqlite3_close(db);
    return 0;
}
