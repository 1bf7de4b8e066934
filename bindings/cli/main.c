/*
 * main.c - the `haven` command: the global options, opening the engine,
 * the table of commands, dispatch, help, and the helpers every command
 * prints its results and errors with (cli.h).  The commands themselves
 * live in a file per group, cmd_*.c.
 *
 *   haven [--db PATH] [--as LOGIN] [--now ISO8601] [--json] COMMAND ...
 *
 * Exit codes follow sysexits.h (hv_status_exit_code); errors are one
 * line on stderr, `haven: WHAT: WHY`, and change nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "haven.h"
#include "kv.h"
#include "remote.h"

#define MAX_INPUT_BYTES (4 * 1024 * 1024)

/* ---- errors and output ---------------------------------------------------- */

int cli_fail(hv_status st, const char *what, const char *why)
{
    fprintf(stderr, "haven: %s: %s\n", what, why);
    return hv_status_exit_code(st);
}

int cli_usage_error(const char *what, const char *why)
{
    return cli_fail(HV_USAGE, what, why);
}

int cli_fail_status(hv_status st, const char *msg)
{
    fprintf(stderr, "haven: %s\n", msg && *msg ? msg : hv_strerror(st));
    return hv_status_exit_code(st);
}

int cli_engine_error(hv_engine *e, hv_status st)
{
    return cli_fail_status(st, hv_errmsg(e));
}

int cli_print_json(json_t *v)
{
    char *s = v ? json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(v);
    if (!s)
        return cli_fail_status(HV_NOMEM, NULL);
    puts(s);
    free(s);
    return 0;
}

int cli_finish(const cli_globals *g, hv_engine *e, hv_status st, char *text,
               void (*render)(json_t *))
{
    int code = 0;
    if (st != HV_OK) {
        code = cli_engine_error(e, st);
    } else if (g->json || !render) {
        puts(text);
    } else {
        json_t *v = json_loads(text, 0, NULL);
        render(v);
        json_decref(v);
    }
    hv_free(text);
    hv_engine_close(e);
    return code;
}

/* ---- engine set-up ------------------------------------------------------- */

/* Applies HAVEN_BUSY_TIMEOUT to e: 0, or a usage error's exit code. */
static int apply_busy_timeout(hv_engine *e)
{
    const char *busy = getenv("HAVEN_BUSY_TIMEOUT");
    if (!busy || !*busy)
        return 0;
    char *end;
    long ms = strtol(busy, &end, 10);
    if (*end || ms < 0 || ms > 3600000)
        return cli_usage_error("HAVEN_BUSY_TIMEOUT", "milliseconds from 0 to 3600000");
    hv_engine_set_busy_timeout(e, (int)ms);
    return 0;
}

/* Applies the environment and the global options to the open engine e:
 * 0, or the exit code after printing the error (e stays open). */
static int apply_globals(const cli_globals *g, hv_engine *e)
{
    hv_status st;
    int code = apply_busy_timeout(e);
    if (code)
        return code;
    /* Only a simulated database takes --now: a live one keeps the system
     * clock (the engine refuses; the message names the flag). */
    if (g->has_now && (st = hv_clock_fix(e, g->now)) != HV_OK)
        return st == HV_USAGE
                   ? cli_usage_error("--now", "this database is live: it runs on "
                                              "the system clock (only a database "
                                              "made with 'init --simulated' takes "
                                              "--now)")
                   : cli_engine_error(e, st);
    if (g->purpose && (st = hv_engine_set_purpose(e, g->purpose)) != HV_OK)
        return cli_engine_error(e, st);
    if (getenv("HAVEN_RULES_LOG") && *getenv("HAVEN_RULES_LOG"))
        hv_engine_set_rules_log(e, stderr);
    if (g->as && (st = hv_engine_set_actor(e, g->as)) != HV_OK)
        return cli_engine_error(e, st);
    return 0;
}

int cli_open_engine(const cli_globals *g, hv_engine **out)
{
    char *err = NULL;
    hv_status st = hv_engine_open(g->db, out, &err);
    if (st != HV_OK) {
        int code = cli_fail_status(st, err);
        hv_free(err);
        return code;
    }
    int code = apply_globals(g, *out);
    if (code) {
        hv_engine_close(*out);
        *out = NULL;
    }
    return code;
}

char *cli_read_input(const char *path, int *code)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "haven: %s: cannot open: %s\n", path, strerror(errno));
        *code = hv_status_exit_code(HV_NOINPUT);
        return NULL;
    }
    char *buf = malloc(MAX_INPUT_BYTES + 1);
    size_t n = buf ? fread(buf, 1, MAX_INPUT_BYTES + 1, f) : 0;
    if (f != stdin)
        fclose(f);
    if (!buf) {
        *code = hv_status_exit_code(HV_NOMEM);
        return NULL;
    }
    if (n > MAX_INPUT_BYTES) {
        free(buf);
        fprintf(stderr, "haven: %s: input larger than %d bytes\n", path,
                MAX_INPUT_BYTES);
        *code = hv_status_exit_code(HV_INVALID);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

char *cli_input_json(const char *what, const char *json_in, int npairs,
                     char **pairs, const kv_field *fields, int *code)
{
    if (json_in)
        return cli_read_input(json_in, code);
    char err[200];
    json_t *obj = kv_to_json(npairs, pairs, fields, err, sizeof err);
    if (!obj) {
        *code = cli_fail(HV_INVALID, what, err);
        return NULL;
    }
    char *input = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (!input)
        *code = cli_fail_status(HV_NOMEM, NULL);
    return input;
}

/* ---- the table of commands ----------------------------------------------- */

static int cmd_help(const cli_globals *g, int argc, char **argv);

/* haven help [COMMAND]: its entry (the table is main.c's). */
static const cli_command help_command = {"help", cmd_help, "haven help [COMMAND]",
                                         NULL, "Show help."};

/* Every command, in the order `haven --help` lists them. */
static const cli_command *const commands[] = {
    &cli_cmd_init, &cli_cmd_register, &cli_cmd_show, &cli_cmd_list,
    &cli_cmd_search, &cli_cmd_note, &cli_cmd_history, &cli_cmd_workflow,
#define STEP_COMMAND(verb, synopsis, help) &cli_step_##verb,
    HV_STEP_MAP(STEP_COMMAND)
#undef STEP_COMMAND
    &cli_cmd_due, &cli_cmd_user, &cli_cmd_scenario, &cli_cmd_train,
    &cli_cmd_repl, &cli_cmd_explain, &cli_cmd_rules, &cli_cmd_audit,
    &cli_cmd_purge, &cli_cmd_gen, &cli_cmd_backup, &cli_cmd_export,
    &cli_cmd_import, &cli_cmd_report, &cli_cmd_login, &cli_cmd_logout,
    &cli_cmd_whoami, &cli_cmd_enrol, &help_command,
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

void cli_print_usage(FILE *out, const cli_command *c)
{
    if (c->usage) {
        fputs(c->usage, out);
        return;
    }
    const char *p = c->synopsis;
    fprintf(out, "haven %s REF ", c->name);
    for (const char *bar; (bar = strstr(p, " | ")); p = bar + 3)
        fprintf(out, "%.*s | haven %s REF ", (int)(bar - p), p, c->name);
    fputs(p, out);
}

/* The command called name, or NULL. */
static const cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(commands[i]->name, name))
            return commands[i];
    return NULL;
}

/* Prints `haven COMMAND --help` of c on stdout; returns 0. */
static int command_help(const cli_command *c)
{
    printf("usage: ");
    cli_print_usage(stdout, c);
    printf("\n\n%s\n", c->help);
    return 0;
}

/* Prints the overview of `haven --help` on out. */
static void usage(FILE *out)
{
    fprintf(out,
            "usage: haven [--db PATH] [--as LOGIN] [--now ISO8601] [--json] "
            "COMMAND ...\n\n"
            "Haven %s - child protection case management.\n\n"
            "Global options:\n"
            "  --db PATH      the database (default $HAVEN_DB, else "
            "./haven.db)\n"
            "  --as LOGIN     the acting user (default $HAVEN_USER, else "
            "$USER)\n"
            "  --now TIME     fix the clock of a simulated database (init\n"
            "                 --simulated), e.g. 2026-11-28T09:00:00Z; a live\n"
            "                 database refuses it\n"
            "  --purpose CODE why you act (recorded in the audit trail)\n"
            "  --json         print JSON instead of text\n"
            "  --server URL   run on a Haven server (default $HAVEN_SERVER)\n"
            "  --version, --help\n\nCommands:\n",
            HV_VERSION_STRING);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        fputs("  ", out);
        cli_print_usage(out, commands[i]);
        fputc('\n', out);
    }
    fprintf(out,
            "\n`haven COMMAND --help` describes one command.\n"
            "Exit codes: 0 ok, 64 usage, 65 bad data or refusal, 66 missing "
            "input file,\n69 not found, 70 internal error, 73 cannot create, "
            "75 database busy (retry),\n77 permission denied.\n");
}

/* haven help [COMMAND] */
static int cmd_help(const cli_globals *g, int argc, char **argv)
{
    (void)g;
    if (argc == 0) {
        usage(stdout);
        return 0;
    }
    const cli_command *c = find_command(argv[0]);
    if (c)
        return command_help(c);
    return cli_usage_error(argv[0], "unknown command (see haven --help)");
}

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
        printf("{\n  \"version\": \"%s\"\n}\n", HV_VERSION_STRING);
    else
        printf("haven %s\n", HV_VERSION_STRING);
    return 0;
}

/* Runs the command rest[0] on rest[1..nrest) (its --help or -h anywhere
 * prints its help instead); returns the exit code. */
static int dispatch(const cli_globals *g, int nrest, char **rest)
{
    if (nrest == 0 || !strcmp(rest[0], "--help") || !strcmp(rest[0], "-h")) {
        usage(nrest == 0 ? stderr : stdout);
        return nrest == 0 ? hv_status_exit_code(HV_USAGE) : 0;
    }
    const cli_command *c = find_command(rest[0]);
    if (!c)
        return cli_usage_error(rest[0], rest[0][0] == '-'
                                            ? "unknown option (see haven --help)"
                                            : "unknown command (see haven --help)");
    for (int j = 1; j < nrest; j++)
        if (!strcmp(rest[j], "--help") || !strcmp(rest[j], "-h"))
            return command_help(c);
    if (g->server)
        return cli_remote_main(g->server, g, nrest, rest);
    return c->run(g, nrest - 1, rest + 1);
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
        code = dispatch(&g, nrest, rest);
    }
    free(rest);
    return code;
}
