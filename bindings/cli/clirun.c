/*
 * clirun.c - the commands run in process (clirun.h): the current cli_io
 * of the calling thread, the helpers every command prints its results and
 * errors with and reads and writes its files through (cli.h), opening the
 * engine, the table of commands, help, and cli_run.  main.c (the `haven`
 * program) and havend both call cli_run.
 *
 * Exit codes follow sysexits.h (hv_status_exit_code); errors are one
 * line on the error stream, `haven: WHAT: WHY`, and change nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "clihelp.h"
#include "clirun.h"
#include "haven.h"
#include "kv.h"
#include "remote.h"

#define MAX_INPUT_BYTES (4 * 1024 * 1024)

/* ---- the current cli_io ----------------------------------------------------- */

/* The cli_io of the cli_run this thread is in (NULL: none, the process's
 * stdout and stderr). */
static _Thread_local cli_io *current_io;

FILE *cli_out(void)
{
    return current_io && current_io->out ? current_io->out : stdout;
}

FILE *cli_err(void)
{
    return current_io && current_io->err ? current_io->err : stderr;
}

int cli_puts(const char *s)
{
    FILE *out = cli_out();
    return fputs(s, out) == EOF || putc('\n', out) == EOF ? EOF : 1;
}

int cli_is_remote(void)
{
    return current_io && current_io->remote;
}

int cli_remote_refuse(const char *what)
{
    fprintf(cli_err(), "haven: %s: not available over --server (run it where "
                       "the database is)\n", what);
    return hv_status_exit_code(HV_USAGE);
}

const char *cli_remote_input(const char *path, size_t *len, int *code)
{
    json_t *v = current_io ? json_object_get(current_io->inputs, path) : NULL;
    if (!json_is_string(v)) {
        fprintf(cli_err(), "haven: %s: cannot open: not sent by the client\n", path);
        *code = hv_status_exit_code(HV_NOINPUT);
        return NULL;
    }
    *len = json_string_length(v);
    return json_string_value(v);
}

FILE *cli_output_open(cli_output *o, const char *path)
{
    memset(o, 0, sizeof *o);
    o->path = path;
    o->f = open_memstream(&o->buf, &o->len);
    if (!o->f)
        cli_fail_status(HV_NOMEM, NULL);
    return o->f;
}

int cli_output_keep(cli_output *o)
{
    int bad = !o->f || ferror(o->f);
    if (o->f && fclose(o->f) != 0)
        bad = 1;
    o->f = NULL;
    json_t *text = bad ? NULL : json_stringn(o->buf, o->len);
    free(o->buf);
    o->buf = NULL;
    if (bad)
        return cli_fail_status(HV_NOMEM, NULL);
    if (!text)
        return cli_fail(HV_INTERNAL, o->path, "the file is not UTF-8 text");
    if (!current_io || !json_is_object(current_io->outputs) ||
        json_object_set_new(current_io->outputs, o->path, text))
        return cli_fail(HV_INTERNAL, o->path, "no outputs to return it in");
    return 0;
}

void cli_output_drop(cli_output *o)
{
    if (o->f)
        fclose(o->f);
    free(o->buf);
    memset(o, 0, sizeof *o);
}

/* ---- errors and output ---------------------------------------------------- */

int cli_fail(hv_status st, const char *what, const char *why)
{
    fprintf(cli_err(), "haven: %s: %s\n", what, why);
    return hv_status_exit_code(st);
}

int cli_usage_error(const char *what, const char *why)
{
    return cli_fail(HV_USAGE, what, why);
}

/* Copies the word s into buf (size > 4) for an error line: up to any '='
 * (a value is never echoed), at most 40 bytes, and a byte outside
 * printable ASCII as '?'. */
static const char *typed_word(char *buf, size_t size, const char *s)
{
    size_t n = 0;
    for (; s[n] && s[n] != '=' && n + 1 < size && n < 40; n++)
        buf[n] = (s[n] > 0x20 && s[n] < 0x7f) ? s[n] : '?';
    buf[n] = '\0';
    return buf;
}

int cli_unknown_option(const char *command, const char *opt)
{
    char word[48];
    fprintf(cli_err(), "haven: %s: unknown option %s (see haven %s --help)\n", command,
            typed_word(word, sizeof word, opt), command);
    return hv_status_exit_code(HV_USAGE);
}

int cli_unknown_argument(const char *command, const char *arg)
{
    char word[48];
    if (arg[0] == '-')
        return cli_unknown_option(command, arg);
    fprintf(cli_err(), "haven: %s: unknown argument '%s' (see haven %s --help)\n", command,
            typed_word(word, sizeof word, arg), command);
    return hv_status_exit_code(HV_USAGE);
}

int cli_missing_value(const char *command, const char *opt)
{
    char word[48];
    fprintf(cli_err(), "haven: %s: %s needs a value (see haven %s --help)\n", command,
            typed_word(word, sizeof word, opt), command);
    return hv_status_exit_code(HV_USAGE);
}

int cli_fail_status(hv_status st, const char *msg)
{
    fprintf(cli_err(), "haven: %s\n", msg && *msg ? msg : hv_strerror(st));
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
    cli_puts(s);
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
        cli_puts(text);
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
        hv_engine_set_rules_log(e, cli_err());
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

/* cli_read_input in remote mode: the content of path from the request's
 * inputs. */
static char *remote_read_input(const char *path, int *code)
{
    size_t n;
    const char *text = cli_remote_input(path, &n, code);
    if (!text)
        return NULL;
    if (n > MAX_INPUT_BYTES) {
        fprintf(cli_err(), "haven: %s: input larger than %d bytes\n", path,
                MAX_INPUT_BYTES);
        *code = hv_status_exit_code(HV_INVALID);
        return NULL;
    }
    char *buf = malloc(n + 1);
    if (!buf) {
        *code = hv_status_exit_code(HV_NOMEM);
        return NULL;
    }
    memcpy(buf, text, n);
    buf[n] = '\0';
    return buf;
}

char *cli_read_input(const char *path, int *code)
{
    if (cli_is_remote())
        return remote_read_input(path, code);
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(cli_err(), "haven: %s: cannot open: %s\n", path, strerror(errno));
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
        fprintf(cli_err(), "haven: %s: input larger than %d bytes\n", path,
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

/* haven help: its entry (the table is clirun.c's). */
static const cli_command help_command = {
    "help", cmd_help,
    "haven help [COMMAND] | haven help --man | haven help --completion bash|zsh",
    NULL,
    "Without COMMAND, what `haven --help` prints; with one, what `haven COMMAND\n"
    "--help` prints.  --man prints this manual page in roff (doc/haven.1 is\n"
    "that text); --completion prints the bash or zsh completion script (as\n"
    "installed).  All are made from the one table of commands, so they\n"
    "never disagree.",
    "help, the manual page and shell completions"};

/* Every command, in the order `haven --help` and the manual list them. */
static const cli_command *const commands[] = {
    &cli_cmd_init, &cli_cmd_register, &cli_cmd_show, &cli_cmd_list,
    &cli_cmd_search, &cli_cmd_note, &cli_cmd_history, &cli_cmd_explain,
    &cli_cmd_due,
#define STEP_COMMAND(verb, synopsis, help) &cli_step_##verb,
    HV_STEP_MAP(STEP_COMMAND)
#undef STEP_COMMAND
    &cli_cmd_workflow, &cli_cmd_rules, &cli_cmd_user, &cli_cmd_audit,
    &cli_cmd_backup, &cli_cmd_purge, &cli_cmd_export, &cli_cmd_import,
    &cli_cmd_report, &cli_cmd_gen, &cli_cmd_scenario, &cli_cmd_train,
    &cli_cmd_repl, &cli_cmd_login, &cli_cmd_logout, &cli_cmd_whoami,
    &cli_cmd_enrol, &cli_cmd_sync, &cli_cmd_device, &cli_cmd_conflicts,
    &help_command,
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

const cli_command *const *cli_commands(size_t *n)
{
    *n = NCOMMANDS;
    return commands;
}

void cli_print_usage(FILE *out, const cli_command *c)
{
    if (c->usage) {
        fputs(c->usage, out);
        return;
    }
    /* every step also takes its fields as JSON and --expect-version
     * (cmd_steps.c) */
    const char *p = c->synopsis;
    fprintf(out, "haven %s REF ", c->name);
    for (const char *bar; (bar = strstr(p, " | ")); p = bar + 3)
        fprintf(out, "%.*s [--expect-version N] | haven %s REF ", (int)(bar - p), p,
                c->name);
    fprintf(out, "%s [--expect-version N] | haven %s REF --json-in FILE|- "
                 "[--expect-version N]",
            p, c->name);
}

/* The command called name, or NULL. */
static const cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(commands[i]->name, name))
            return commands[i];
    return NULL;
}

/* The edit distance of a and b (insert, delete, replace or swap two
 * neighbours: one each), or 3 when more than 2 or a word is long. */
static int distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int d[34][34];
    if (la > 32 || lb > 32)
        return 3;
    for (size_t i = 0; i <= la; i++)
        for (size_t j = 0; j <= lb; j++) {
            if (!i || !j) {
                d[i][j] = (int)(i + j);
                continue;
            }
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb] > 2 ? 3 : d[la][lb];
}

/* Refuses the unknown command (or global option) name: names it, and the
 * nearest command within 2 edits if any; returns the usage exit code. */
static int unknown_command(const char *name)
{
    char word[48];
    typed_word(word, sizeof word, name);
    if (name[0] == '-') {
        fprintf(cli_err(), "haven: unknown option %s (see haven --help)\n", word);
        return hv_status_exit_code(HV_USAGE);
    }
    const char *near = NULL;
    int best = 3;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        int d = distance(name, commands[i]->name);
        if (d < best && (size_t)d < strlen(name)) {
            best = d;
            near = commands[i]->name;
        }
    }
    if (near)
        fprintf(cli_err(), "haven: %s: unknown command; did you mean %s? (see haven --help)\n",
                word, near);
    else
        fprintf(cli_err(), "haven: %s: unknown command (see haven --help)\n", word);
    return hv_status_exit_code(HV_USAGE);
}

/* haven help [COMMAND] | help --man | help --completion bash|zsh */
static int cmd_help(const cli_globals *g, int argc, char **argv)
{
    (void)g;
    if (argc == 0) {
        cli_help_overview(cli_out());
        return 0;
    }
    if (!strcmp(argv[0], "--man") && argc == 1) {
        cli_help_man(cli_out());
        return 0;
    }
    if (!strcmp(argv[0], "--completion")) {
        if (argc == 2 && !cli_help_completion(cli_out(), argv[1]))
            return 0;
        return cli_usage_error("help --completion", "give bash or zsh");
    }
    if (argv[0][0] == '-')
        return cli_unknown_option("help", argv[0]);
    const cli_command *c = find_command(argv[0]);
    if (!c)
        return unknown_command(argv[0]);
    if (argc > 1)
        return cli_unknown_argument("help", argv[1]);
    cli_help_command(cli_out(), c);
    return 0;
}

/* ---- running a command -------------------------------------------------------- */

/* The commands that never run over --server: they make or copy database
 * files, run scripts or a terminal session, or read folders of the
 * machine they run on. */
static const char *const local_only[] = {"init",  "gen",    "repl",  "scenario",
                                         "train", "backup", "purge", "sync",
                                         NULL};

int cli_remote_allowed(const char *command, const char *subcommand)
{
    for (int i = 0; local_only[i]; i++)
        if (!strcmp(command, local_only[i]))
            return 0;
    /* rules check/test DIR and rules apply DIR need a pack folder */
    if (!strcmp(command, "rules") && subcommand &&
        (!strcmp(subcommand, "check") || !strcmp(subcommand, "test") ||
         !strcmp(subcommand, "apply")))
        return 0;
    return 1;
}

/* Runs the command argv[0] on argv[1..argc) (its --help or -h anywhere
 * prints its help instead; in remote mode a command cli_remote_allowed
 * refuses is refused); returns the exit code. */
static int dispatch(const cli_globals *g, int argc, char **argv)
{
    if (argc == 0 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
        cli_help_overview(argc == 0 ? cli_err() : cli_out());
        return argc == 0 ? hv_status_exit_code(HV_USAGE) : 0;
    }
    const cli_command *c = find_command(argv[0]);
    if (!c)
        return unknown_command(argv[0]);
    for (int j = 1; j < argc; j++)
        if (!strcmp(argv[j], "--help") || !strcmp(argv[j], "-h")) {
            cli_help_command(cli_out(), c);
            return 0;
        }
    if (cli_is_remote() && !cli_remote_allowed(c->name, argc > 1 ? argv[1] : NULL)) {
        char what[64];
        if (cli_remote_allowed(c->name, NULL))
            snprintf(what, sizeof what, "%s %.40s", c->name, argv[1]);
        else
            snprintf(what, sizeof what, "%s", c->name);
        return cli_remote_refuse(what);
    }
    /* sync talks to the server itself (cmd_sync.c): --server is its URL */
    if (g->server && !cli_is_remote() && strcmp(c->name, "sync"))
        return cli_remote_main(g->server, g, argc, argv);
    return c->run(g, argc - 1, argv + 1);
}

int cli_is_command(const char *name)
{
    return name && find_command(name) != NULL;
}

int cli_run(const cli_globals *g, cli_io *io, int argc, char **argv)
{
    cli_io *outer = current_io;
    int code;
    current_io = io;
    cli_globals server_g;
    if (cli_is_remote() && g->has_now) {
        code = cli_usage_error("--now", "not over --server (the server's clock "
                                        "is the only clock)");
    } else if (cli_is_remote() && io->has_clock) {
        server_g = *g;
        server_g.has_now = 1;
        server_g.now = io->clock;
        code = dispatch(&server_g, argc, argv);
    } else {
        code = dispatch(g, argc, argv);
    }
    fflush(cli_out());
    fflush(cli_err());
    current_io = outer;
    return code;
}
