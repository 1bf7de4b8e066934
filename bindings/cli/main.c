/*
 * main.c - the `haven` program: the global options (before or after the
 * command), --version, then cli_run (clirun.c) with the terminal's
 * stdout and stderr.  The commands and their helpers are the haven_cli
 * library: clirun.c, and a file per group of commands, cmd_*.c.
 *
 *   haven [--db PATH] [--as LOGIN] [--now ISO8601] [--json] COMMAND ...
 *
 * Exit codes follow sysexits.h (hv_status_exit_code); errors are one
 * line on stderr, `haven: WHAT: WHY`, and change nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "clirun.h"
#include "haven.h"
#include "kv.h"

/* ---- the global options ---------------------------------------------------- */

/* Sets g's defaults from the environment. */
static void default_globals(cli_globals *g)
{
    g->db = getenv("HAVEN_DB");
    if (!g->db || !*g->db)
        g->db = "haven.db";
    g->as = getenv("HAVEN_USER");
    if (!g->as || !*g->as)
        g->as = getenv("USER");
    if (!g->as || !*g->as)
        g->as = "admin";
    g->server = getenv("HAVEN_SERVER");
    if (g->server && !*g->server)
        g->server = NULL;
}

/* Takes the global options out of argv[1..argc), which may come before or
 * after the command, into g and *want_version; the other arguments go to
 * rest (argc entries), *nrest of them.  Returns 0, or a usage error's exit
 * code after printing it. */
static int parse_globals(int argc, char **argv, cli_globals *g, int *want_version,
                         char **rest, int *nrest)
{
    int after_dashdash = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (after_dashdash) {
            rest[(*nrest)++] = argv[i];
            continue;
        }
        if (!strcmp(a, "--"))
            after_dashdash = 1, slot = NULL;
        else if (!strcmp(a, "--db"))
            slot = &g->db, g->db_given = 1;
        else if (!strcmp(a, "--as"))
            slot = &g->as, g->as_given = 1;
        else if (!strcmp(a, "--now"))
            slot = &g->now_text;
        else if (!strcmp(a, "--server"))
            slot = &g->server;
        else if (!strcmp(a, "--purpose"))
            slot = &g->purpose;
        else if (!strcmp(a, "--json")) {
            g->json = 1;
            continue;
        } else if (!strcmp(a, "--version")) {
            *want_version = 1;
            continue;
        } else {
            rest[(*nrest)++] = argv[i];
            continue;
        }
        if (after_dashdash)
            continue;
        if (i + 1 >= argc)
            return cli_usage_error(a, "needs a value");
        *slot = argv[++i];
    }
    return 0;
}

/* Prints the version (as JSON with --json); returns 0. */
static int print_version(const cli_globals *g)
{
    if (g->json)
        fprintf(cli_out(), "{\n  \"version\": \"%s\"\n}\n", HV_VERSION_STRING);
    else
        fprintf(cli_out(), "haven %s\n", HV_VERSION_STRING);
    return 0;
}

/* haven [global options] COMMAND ...: returns the exit code. */
int main(int argc, char **argv)
{
    cli_globals g = {0};
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0, want_version = 0, code;
    if (!rest)
        return hv_status_exit_code(HV_NOMEM);
    default_globals(&g);
    code = parse_globals(argc, argv, &g, &want_version, rest, &nrest);
    if (code == 0 && want_version) {
        code = print_version(&g);
    } else if (code == 0 && g.now_text && hv_time_parse(g.now_text, &g.now) != HV_OK) {
        code = cli_usage_error("--now", "not an ISO 8601 time from 1900 to 2200 "
                                        "(e.g. 2026-11-28T09:00:00Z)");
    } else if (code == 0) {
        g.has_now = g.now_text != NULL;
        cli_io io = {.out = stdout, .err = stderr};
        code = cli_run(&g, &io, nrest, rest);
    }
    free(rest);
    return code;
}
