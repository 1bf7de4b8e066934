/*
 * cli.h - what the command files of `haven` share with clirun.c (as git's
 * builtin.h): the global options, the command table's entry, every
 * command's entry, and clirun.c's helpers for opening the engine and
 * printing results and errors.
 *
 * Every exit code comes from hv_status_exit_code(); every error is one line
 * on cli_err(), `haven: WHAT: WHY`.  A command's run function returns the
 * process's exit code.
 */
#ifndef HV_CLI_H
#define HV_CLI_H

#include <stdio.h>

#include <jansson.h>

#include "haven.h"
#include "kv.h"

/* The global options (--db, --as, --purpose, --now, --json). */
typedef struct {
    const char *db;
    const char *as;
    const char *purpose;
    const char *now_text;
    hv_time now;
    int has_now;
    int json;
    const char *server;    /* --server URL or HAVEN_SERVER, else NULL (remote.h) */
    int as_given, db_given; /* --as, --db typed (not from the environment) */
} cli_globals;

/* Runs a command on its arguments (after the command's name); returns the
 * exit code. */
typedef int (*cli_command_fn)(const cli_globals *g, int argc, char **argv);

/* One command of the table: its name, what runs it, its usage line(s), its
 * help and a one-line summary.  `haven --help`, `haven COMMAND --help`, the
 * manual page (doc/haven.1) and the shell completions are all made from
 * these fields (clihelp.c), so they cannot drift:
 *  - usage: the forms of the command, each "haven NAME ...", separated by
 *    " | haven ".  A lower-case word right after the name is a subcommand
 *    ("haven rules diff [DIR]"; "disable|enable" names two); every --option
 *    in a form is completed after that subcommand.
 *  - help: lines of text.  A line starting "SUB: " (or "SUB, SUB: ") for
 *    subcommands SUB begins that subcommand's paragraph; every subcommand
 *    has one (tests/cli/test_guard_manpage.sh).
 *  - summary: a few words for the manual's headings and zsh's list (NULL:
 *    the help's first words up to a '.', '(', ',', ';' or ':').
 * A step (HV_STEP_MAP) has no usage but its synopsis: its usage is
 * "haven VERB REF " synopsis, each " | " starting "haven VERB REF " again,
 * each form taking [--expect-version N], and a last form with --json-in
 * (cli_print_usage). */
typedef struct {
    const char *name;
    cli_command_fn run;
    const char *usage;
    const char *synopsis;
    const char *help;
    const char *summary;
} cli_command;

/* ---- clirun.c: where a command prints, reads and writes ---------------- */

/* The output and error streams of the cli_run the calling thread is in
 * (clirun.h), or stdout and stderr outside one.  Every command prints
 * through them, never on stdout/stderr directly. */
FILE *cli_out(void);
FILE *cli_err(void);
/* puts() on cli_out(). */
int cli_puts(const char *s);
/* 1 when the current cli_run is a server request (remote mode). */
int cli_is_remote(void);
/* Prints `haven: what: not available over --server (run it where the
 * database is)` and returns the usage exit code (64). */
int cli_remote_refuse(const char *what);
/* Remote mode: the content of the file path as sent by the client
 * (borrowed, *len bytes, NUL-terminated), or NULL after printing `haven:
 * PATH: cannot open: not sent by the client`, *code 66.  Never opens a
 * file.  (cli_read_input uses it; a command that hands a stream to the
 * engine uses it directly.) */
const char *cli_remote_input(const char *path, size_t *len, int *code);
/* A file a command writes at a path the user gave, in remote mode: the
 * content goes into the request's outputs under that path, never onto the
 * server's disk.  cli_output_open returns the stream to write it to (NULL
 * after printing the error); cli_output_keep closes it and stores the
 * content (0, or the exit code after printing the error);
 * cli_output_drop discards it.  (Locally, each command writes its file
 * itself, as it always has.) */
typedef struct {
    const char *path;
    char *buf;
    size_t len;
    FILE *f;
} cli_output;
FILE *cli_output_open(cli_output *o, const char *path);
int cli_output_keep(cli_output *o);
void cli_output_drop(cli_output *o);

/* ---- clirun.c: errors and output ------------------------------------------- */

/* Prints `haven: what: why` on cli_err(); returns st's exit code. */
int cli_fail(hv_status st, const char *what, const char *why);
/* cli_fail(HV_USAGE, what, why): a usage error's exit code. */
int cli_usage_error(const char *what, const char *why);
/* Prints `haven: command: unknown option OPT (see haven command --help)`
 * (OPT up to any '=', shortened, control characters shown as '?');
 * returns the usage exit code. */
int cli_unknown_option(const char *command, const char *opt);
/* Prints `haven: msg` (or st's message when msg is NULL or empty) on
 * cli_err(); returns st's exit code. */
int cli_fail_status(hv_status st, const char *msg);
/* cli_fail_status(st, hv_errmsg(e)): reports the engine's failure. */
int cli_engine_error(hv_engine *e, hv_status st);
/* Prints v as indented JSON on cli_out() and releases v (NULL: the failed
 * json_pack of an out-of-memory).  Returns 0, or the exit code of
 * HV_NOMEM after printing "haven: out of memory". */
int cli_print_json(json_t *v);
/* Ends a command whose engine call answered JSON text: prints the error,
 * or the text as it is (--json, or no render), or render() of it; then
 * frees the text and closes the engine (both may be NULL).  Returns the
 * exit code. */
int cli_finish(const cli_globals *g, hv_engine *e, hv_status st, char *text,
               void (*render)(json_t *));
/* Opens the engine with the global options applied.  Returns 0 and sets
 * *out (the caller's, close with hv_engine_close), or prints the error and
 * returns its exit code with *out NULL. */
int cli_open_engine(const cli_globals *g, hv_engine **out);
/* Reads an input file (a path, or "-" for stdin; in remote mode the
 * request's inputs, cli_remote_input) of at most 4 MiB.
 * Returns malloc'd NUL-terminated text (the caller frees it with free), or
 * NULL after printing the error, with *code set to its exit code. */
char *cli_read_input(const char *path, int *code);
/* The input of a command as JSON text: the file json_in (cli_read_input)
 * when not NULL, else the key=value pairs typed by fields (kv_to_json; a
 * bad pair is reported as `haven: what: why`).  Returns malloc'd text (the
 * caller frees it with free), or NULL with *code set after printing the
 * error. */
char *cli_input_json(const char *what, const char *json_in, int npairs,
                     char **pairs, const kv_field *fields, int *code);
/* Prints the usage line(s) of c, without the final newline. */
void cli_print_usage(FILE *out, const cli_command *c);
/* Prints `haven: command: unknown argument 'ARG' (see haven command
 * --help)` (ARG shortened and shown as cli_unknown_option shows an
 * option), or for an ARG starting '-' cli_unknown_option's line; returns
 * the usage exit code. */
int cli_unknown_argument(const char *command, const char *arg);
/* Prints `haven: command: OPT needs a value (see haven command --help)`;
 * returns the usage exit code. */
int cli_missing_value(const char *command, const char *opt);

/* ---- the commands, by file ----------------------------------------------- */

/* cmd_cases.c: one case and lists of cases. */
extern const cli_command cli_cmd_register, cli_cmd_show, cli_cmd_list,
    cli_cmd_search, cli_cmd_note, cli_cmd_history, cli_cmd_explain, cli_cmd_due;
/* cmd_steps.c: a command per lifecycle step, cli_step_VERB. */
#define CLI_STEP_DECLARE(verb, synopsis, help) extern const cli_command cli_step_##verb;
HV_STEP_MAP(CLI_STEP_DECLARE)
#undef CLI_STEP_DECLARE
/* cmd_rules.c: rule packs and workflows. */
extern const cli_command cli_cmd_rules, cli_cmd_workflow;
/* cmd_admin.c: the database and its users. */
extern const cli_command cli_cmd_init, cli_cmd_user, cli_cmd_backup,
    cli_cmd_purge, cli_cmd_audit;
/* cmd_data.c: data in and out. */
extern const cli_command cli_cmd_export, cli_cmd_import, cli_cmd_report,
    cli_cmd_gen;
/* cmd_sync.c: a laptop's offline copy and its sync with the server. */
extern const cli_command cli_cmd_sync;
/* cmd_lua.c: the Lua front ends. */
extern const cli_command cli_cmd_repl, cli_cmd_scenario, cli_cmd_train;
/* cmd_device.c: offline work on the server: devices and the conflict queue. */
extern const cli_command cli_cmd_device, cli_cmd_conflicts;
/* cmd_device.c: for `haven due`: a supervisor's open conflicts, one line
 * each (nothing for other roles, or when the list is refused). */
void cli_due_conflicts(hv_engine *e);

#endif
