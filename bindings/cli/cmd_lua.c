/*
 * cmd_lua.c - the Lua front ends: the caseworker REPL (bindings/repl),
 * training scenarios and the trainee exercise (bindings/scenario).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "repl.h"
#include "scenario.h"

/* haven repl [--unsafe] [-e CODE] */
static int cmd_repl(const cli_globals *g, int argc, char **argv)
{
    hv_repl_options o = {0};
    hv_engine *e = NULL;
    int code;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--unsafe"))
            o.unsafe = 1;
        else if (!strcmp(argv[i], "-e") && i + 1 < argc)
            o.expr = argv[++i];
        else
            return cli_usage_error("repl", "use 'repl [--unsafe] [-e CODE]'");
    }
    if (g->server && !cli_is_remote()) { /* here, on the server's engine */
        if (o.unsafe)
            return cli_usage_error("--unsafe", "not over --server (the full Lua runs "
                                               "only where the database is)");
        o.server = g->server;
        return hv_repl_run(NULL, &o);
    }
    if ((code = cli_open_engine(g, &e)))
        return code;
    /* The full Lua reaches the files (the key file among them) and every
     * user: an administrator's tool, and each session is recorded. */
    hv_status st;
    if (o.unsafe && (st = hv_engine_record_unsafe(e, "repl --unsafe")) != HV_OK) {
        code = cli_engine_error(e, st);
        hv_engine_close(e);
        return code;
    }
    if (g->has_now)
        hv_clock_simulate(e, g->now);
    code = hv_repl_run(e, &o);
    hv_engine_close(e);
    return code;
}

/* Reads scenario's arguments after "run": the scenario files into files
 * (*n of them; room for argc), *html and *show.  Returns 0, or a usage
 * error's exit code after printing it. */
static int parse_scenario(int argc, char **argv, char **files, int *n,
                          const char **html, int *show)
{
    if (argc < 1 || strcmp(argv[0], "run"))
        return cli_usage_error("scenario", "use 'scenario run [--html FILE] [--show] SCENARIO...'");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--html") && i + 1 < argc)
            *html = argv[++i];
        else if (!strcmp(argv[i], "--show"))
            *show = 1;
        else if (argv[i][0] == '-')
            return cli_unknown_option("scenario", argv[i]);
        else
            files[(*n)++] = argv[i];
    }
    if (*n == 0)
        return cli_usage_error("scenario", "give at least one scenario (a file, or a name such as noor)");
    return 0;
}

/* haven scenario run [--html FILE] [--show] SCENARIO... */
static int cmd_scenario(const cli_globals *g, int argc, char **argv)
{
    const char *html = NULL;
    char **files = calloc((size_t)argc + 1, sizeof *files);
    int n = 0, show = 0;
    json_t *json = NULL;
    if (!files)
        return hv_status_exit_code(HV_NOMEM);
    int code = parse_scenario(argc, argv, files, &n, &html, &show);
    if (!code)
        code = hv_scenario_run(files, n, html, show, g->json ? &json : NULL);
    free(files);
    if (json) {
        int c = cli_print_json(json);
        if (c && !code)
            code = c;
    }
    return code;
}

/* haven train NAME */
static int cmd_train(const cli_globals *g, int argc, char **argv)
{
    (void)g;
    if (argc != 1 || argv[0][0] == '-')
        return cli_usage_error("train", "use 'train NAME' (e.g. train noor)");
    return hv_train_run(argv[0]);
}

/* ---- the commands -------------------------------------------------------------- */

const cli_command cli_cmd_scenario = {
    "scenario", cmd_scenario,
    "haven scenario run [--html FILE] [--show] SCENARIO...",
    NULL,
    "Training scenarios: Lua scripts that walk cases through the workflow\n"
    "and check what the engine says.\n"
    "run: run each SCENARIO on a fresh temporary database with a simulated\n"
    "clock: a transcript in words, each failed expectation with its file and\n"
    "line, and 'N passed, N failed' (exit 0 iff every expectation holds).\n"
    "A SCENARIO is a file, or a name (noor: scenarios/noor.lua in ./, the\n"
    "installed share folder or the source tree).  Its workflow and rules are\n"
    "found beside it, in its parent folder, in ./, in the installed share\n"
    "folder, then in the source tree.  A scenario file runs in a sandbox like\n"
    "a rule pack's: the scenario API and the safe parts of Lua (no io, os,\n"
    "debug, require, binary chunks, no haven module), on its own scratch\n"
    "database only; as(login) switches between that database's users.\n"
    "--html writes the timeline page (a section per scenario); --show prints\n"
    "each case's file at the end; with --json it prints {scenarios: [{file,\n"
    "name, passed, failed, steps: [{at, kind, text}]}], passed, failed}\n"
    "instead of the transcript.",
    "run training scenarios"};

const cli_command cli_cmd_train = {
    "train", cmd_train,
    "haven train NAME",
    NULL,
    "The trainee exercise (scenarios/train/NAME.lua in ./, the installed\n"
    "share folder or the source tree; run in the scenario sandbox and\n"
    "returning a table): the referral, then the template's four parts\n"
    "(assessment summary; SMART goal; three to five key actions with\n"
    "responsible party and timeline; follow-up and review plan), checked\n"
    "against the engine's rules, and the model answer beside yours.\n"
    "Answers from a file: 'part: text' lines (needs, risks, strengths,\n"
    "info_needed, goal, indicators, target, action: title | who | when,\n"
    "followup, review; the seed's headings such as 'Overall Case Plan Goal:'\n"
    "and 'Follow-up:' too).  Plain wording is understood: 'weekly', 'every\n"
    "two weeks', 'fortnightly', 'bi-weekly', 'monthly', 'within a 6-month\n"
    "period', 'every two weeks for the first two months, then monthly' (the\n"
    "first frequency is graded, the step-down said back); a goal is checked\n"
    "part by part (Specific, Measurable, Achievable, Relevant, Time-bound).\n"
    "Exit 0 when complete, 65 when parts are missing.",
    "the trainee exercise"};

const cli_command cli_cmd_repl = {
    "repl", cmd_repl,
    "haven repl [--unsafe] [-e CODE]",
    NULL,
    "The caseworker REPL: due(), show \"REF\", open \"REF\", then steps on the\n"
    "open case (followup{ method = ..., safety = ... }), register{...},\n"
    "search \"NAME\", list{...}, help(), help \"STEP\", whoami().  Lua\n"
    "expressions print their value; -e runs CODE and exits.  Reads statements\n"
    "from stdin when it is not a terminal (exit 65 at the first refusal).\n"
    "The REPL acts only as the user who opened it: its Lua has no io, os,\n"
    "require or debug, no haven.open or haven.init, and no way to switch\n"
    "users.  --unsafe: the full Lua library, for an administrator only\n"
    "(others: exit 77), recorded in the audit log.  With --server the REPL\n"
    "runs here and each command on the server, as the user logged in there\n"
    "(--unsafe refused, 64).",
    "the caseworker REPL"};

