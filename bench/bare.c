/*
 * bare.c - the floor under a `haven` command: a process that opens the
 * database with SQLite, reads one row, creates a Lua state with its
 * standard libraries, and exits.  bench.c compares `haven show` with it.
 *
 * `haven-bare --rss-to FILE COMMAND...` runs COMMAND and writes its peak
 * RSS (KiB) to FILE: a small process to fork from, since a child forked
 * from the benchmark itself would count the benchmark's memory as its own.
 */
#include <lauxlib.h>
#include <lualib.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* --rss-to FILE PROGRAM ARGS: runs the program and writes its peak resident
 * set (KiB) to FILE.  Returns its exit code, or 1. */
static int run_for_rss(const char *file, char **argv)
{
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0)
        return 1;
    FILE *f = fopen(file, "w");
    if (!f)
        return 1;
    fprintf(f, "%ld\n", ru.ru_maxrss);
    fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* haven-bare DB: the floor of opening a Haven database with SQLite alone
 * (and --rss-to).  Returns the exit code. */
int main(int argc, char **argv)
{
    if (argc > 3 && !strcmp(argv[1], "--rss-to"))
        return run_for_rss(argv[2], argv + 3);
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
