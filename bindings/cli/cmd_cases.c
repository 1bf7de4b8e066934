/*
 * cmd_cases.c - the commands on one case and on lists of cases: register,
 * show, history, explain, note, list, search and due.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "kv.h"
#include "render.h"

/* ---- register ------------------------------------------------------------ */

static const kv_field register_fields[] = {
    {"child.age", KV_INT},
    {"family.*.age", KV_INT},
    {"family.*.lives_with_child", KV_BOOL},
    {"concerns", KV_LIST},
    {"form.*", KV_AUTO},
    {NULL, KV_TEXT},
};

/* Prints what `haven register` made of ref: the reference, and whether the
 * rules found the child eligible (as JSON with --json).  Returns the exit
 * code. */
static int print_registered(const cli_globals *g, hv_engine *e, const char *ref)
{
    /* Eligibility is the rules' decision: say when the child was recorded
     * but not registered. */
    char *file = NULL;
    json_t *c = NULL;
    int code = 0;
    if (hv_case_summary_json(e, ref, &file) == HV_OK)
        c = json_loads(file, 0, NULL);
    hv_free(file);
    int registered = !c || strcmp(str_or(c, "status", "open"), "not_registered");
    if (g->json) {
        code = cli_print_json(json_pack("{s:s,s:b,s:s?}", "ref", ref, "registered",
                                        registered, "urgency",
                                        str_or(c, "urgency", NULL)));
    } else if (registered) {
        fprintf(cli_out(), "%s\n", ref);
    } else {
        fprintf(cli_out(), "%s\nnot registered: the rules found the child not eligible "
               "(haven explain %s says why)\n", ref, ref);
    }
    json_decref(c);
    return code;
}

/* Sorts register's arguments: --force into *flags, --json-in's FILE into
 * *json_in, the key=value pairs into pairs (*npairs).  Returns 0, or a
 * usage error's exit code after printing it. */
static int parse_register(int argc, char **argv, unsigned *flags,
                          const char **json_in, char **pairs, int *npairs)
{
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--force")) {
            *flags |= HV_REGISTER_FORCE;
        } else if (!strcmp(argv[i], "--json-in")) {
            if (i + 1 >= argc)
                return cli_usage_error("register", "--json-in needs FILE or -");
            *json_in = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            return cli_unknown_option("register", argv[i]);
        } else {
            pairs[(*npairs)++] = argv[i];
        }
    }
    if (*json_in && *npairs > 0)
        return cli_usage_error("register",
                               "give key=value pairs or --json-in, not both");
    if (!*json_in && *npairs == 0)
        return cli_usage_error("register",
                               "nothing to register (see haven register --help)");
    return 0;
}

/* haven register [--force] (key=value ... | --json-in FILE|-) */
static int cmd_register(const cli_globals *g, int argc, char **argv)
{
    unsigned flags = 0;
    const char *json_in = NULL;
    int npairs = 0, code = 0;
    char **pairs = calloc((size_t)argc + 1, sizeof *pairs);
    char *input = NULL, *ref = NULL;
    hv_engine *e = NULL;
    if (!pairs)
        return hv_status_exit_code(HV_NOMEM);
    if ((code = parse_register(argc, argv, &flags, &json_in, pairs, &npairs)))
        goto done;
    if (!(input = cli_input_json("register", json_in, npairs, pairs,
                                 register_fields, &code)))
        goto done;
    if ((code = cli_open_engine(g, &e)))
        goto done;
    hv_status st = hv_case_register(e, input, flags, &ref);
    code = st != HV_OK ? cli_engine_error(e, st) : print_registered(g, e, ref);
done:
    hv_free(ref);
    free(input);
    free(pairs);
    hv_engine_close(e);
    return code;
}

/* ---- show, history, explain ------------------------------------------------ */

/* Runs fn(e, ref, &text) on the one case reference argv[0] and prints the
 * JSON or its rendering; what names the command in errors.  Returns the
 * exit code. */
static int show_like(const cli_globals *g, int argc, char **argv, const char *what,
                     hv_status (*fn)(hv_engine *, const char *, char **),
                     void (*render)(json_t *))
{
    hv_engine *e = NULL;
    char *text = NULL;
    int code;
    if (argc != 1 || argv[0][0] == '-')
        return cli_usage_error(what, "give one case reference");
    if ((code = cli_open_engine(g, &e)))
        return code;
    hv_status st = fn(e, argv[0], &text);
    return cli_finish(g, e, st, text, render);
}

/* Prints a case's summary (hv_case_summary_json) for people. */
static void render_summary(json_t *v)
{
    fprintf(cli_out(), "%s  %s  %s  version %lld\n", str_or(v, "ref", "?"),
            str_or(v, "stage", "?"), str_or(v, "status", "?"),
            (long long)json_integer_value(json_object_get(v, "version")));
}

/* haven show REF [--summary] */
static int cmd_show(const cli_globals *g, int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--summary"))
        return show_like(g, 1, argv, "show", hv_case_summary_json, render_summary);
    return show_like(g, argc, argv, "show", hv_case_get_json, render_case);
}

/* haven history REF */
static int cmd_history(const cli_globals *g, int argc, char **argv)
{
    return show_like(g, argc, argv, "history", hv_case_history_json,
                     render_history);
}

/* haven explain REF */
static int cmd_explain(const cli_globals *g, int argc, char **argv)
{
    return show_like(g, argc, argv, "explain", hv_case_explain_json,
                     render_explain);
}

/* ---- list and search ----------------------------------------------------- */

/* Reads list's arguments into f.  Returns 0, or a usage error's exit code
 * after printing it. */
static int parse_list(int argc, char **argv, hv_case_filter *f)
{
    for (int i = 0; i < argc; i++) {
        const char **slot = !strcmp(argv[i], "--stage")      ? &f->stage
                            : !strcmp(argv[i], "--source")   ? &f->source
                            : !strcmp(argv[i], "--concern")  ? &f->concern
                            : !strcmp(argv[i], "--assignee") ? &f->assignee
                                                             : NULL;
        if (!strcmp(argv[i], "--limit") && i + 1 >= argc)
            return cli_usage_error("list", "--limit needs a number");
        if (!strcmp(argv[i], "--limit")) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n <= 0 || n > 1000000)
                return cli_usage_error("list", "--limit needs a number from 1 "
                                               "to 1000000");
            f->limit = (int)n;
            continue;
        }
        if (!slot)
            return cli_unknown_argument("list", argv[i]);
        if (i + 1 >= argc)
            return cli_usage_error("list", "option needs a value");
        *slot = argv[++i];
    }
    return 0;
}

/* haven list [--stage S] [--source S] [--concern C] [--assignee LOGIN] [--limit N] */
static int cmd_list(const cli_globals *g, int argc, char **argv)
{
    hv_case_filter f = {0};
    hv_engine *e = NULL;
    char *text = NULL;
    int code;
    if ((code = parse_list(argc, argv, &f)) || (code = cli_open_engine(g, &e)))
        return code;
    hv_status st = hv_case_list(e, &f, &text);
    return cli_finish(g, e, st, text, render_listed);
}

/* haven search NAME */
static int cmd_search(const cli_globals *g, int argc, char **argv)
{
    hv_engine *e = NULL;
    char *text = NULL;
    int code;
    if (argc != 1 || argv[0][0] == '-')
        return cli_usage_error("search", "give one name (quote it if it has "
                                         "spaces)");
    if ((code = cli_open_engine(g, &e)))
        return code;
    hv_status st = hv_case_search(e, argv[0], &text);
    return cli_finish(g, e, st, text, render_found);
}

/* ---- note ---------------------------------------------------------------- */

/* Reads note's arguments: the case *ref, the note *text (text=...) and
 * *expect (--expect-version).  Returns 0, or the exit code after printing
 * the error. */
static int parse_note(int argc, char **argv, const char **ref, const char **text,
                      long long *expect)
{
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--expect-version") && i + 1 >= argc) {
            return cli_usage_error("note", "--expect-version needs a number");
        } else if (!strcmp(argv[i], "--expect-version")) {
            char *end;
            *expect = strtoll(argv[++i], &end, 10);
            if (*end || *expect <= 0)
                return cli_usage_error("note", "--expect-version needs a "
                                               "positive number");
        } else if (!strncmp(argv[i], "text=", 5)) {
            if (*text)
                return cli_usage_error("note", "text= given twice");
            *text = argv[i] + 5;
        } else if (argv[i][0] == '-') {
            return cli_unknown_option("note", argv[i]);
        } else if (!*ref) {
            *ref = argv[i];
        } else {
            return cli_usage_error("note", "unexpected argument (the note "
                                           "goes in text=...)");
        }
    }
    if (!*ref)
        return cli_usage_error("note", "give a case reference");
    if (!*text)
        return cli_fail(HV_INVALID, "note", "missing required field 'text'");
    return 0;
}

/* haven note REF text=TEXT [--expect-version N] */
static int cmd_note(const cli_globals *g, int argc, char **argv)
{
    hv_engine *e = NULL;
    const char *ref = NULL, *text = NULL;
    long long expect = 0;
    int code;
    if ((code = parse_note(argc, argv, &ref, &text, &expect)) ||
        (code = cli_open_engine(g, &e)))
        return code;
    int64_t version = 0;
    hv_status st = hv_case_note(e, ref, text, expect, &version);
    if (st != HV_OK)
        code = cli_engine_error(e, st);
    else if (g->json)
        code = cli_print_json(json_pack("{s:s,s:I}", "ref", ref, "version",
                                        (json_int_t)version));
    else
        fprintf(cli_out(), "%s: note added (version %lld)\n", ref, (long long)version);
    hv_engine_close(e);
    return code;
}

/* ---- due ------------------------------------------------------------------- */

/* Reads due's arguments into f and *count (--count).  Returns 0, or a
 * usage error's exit code after printing it. */
static int parse_due(int argc, char **argv, hv_due_filter *f, int *count)
{
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--count")) {
            *count = 1;
        } else if (!strcmp(argv[i], "--overdue")) {
            f->overdue_only = 1;
        } else if (!strcmp(argv[i], "--team")) {
            f->team = 1;
        } else if (!strcmp(argv[i], "--agency")) {
            f->agency = 1;
        } else if ((!strcmp(argv[i], "--for") || !strcmp(argv[i], "--within")) &&
                   i + 1 >= argc) {
            return cli_usage_error("due", "option needs a value");
        } else if (!strcmp(argv[i], "--for")) {
            f->login = argv[++i];
        } else if (!strcmp(argv[i], "--within")) {
            if (hv_duration_parse(argv[++i], &f->within) != HV_OK)
                return cli_usage_error("due", "--within takes a duration such as "
                                              "7d or 48h");
        } else {
            return cli_unknown_argument("due", argv[i]);
        }
    }
    return 0;
}

/* Prints the due list text as text, then a supervisor's open conflicts. */
static void render_due_text(hv_engine *e, const char *text)
{
    json_t *v = json_loads(text, 0, NULL);
    render_due(v);
    json_decref(v);
    cli_due_conflicts(e);
}

/* haven due [--for LOGIN | --team | --agency] [--overdue] [--within 7d] [--count] */
static int cmd_due(const cli_globals *g, int argc, char **argv)
{
    hv_due_filter f = {0};
    hv_engine *e = NULL;
    char *text = NULL;
    int code, count = 0;
    if ((code = parse_due(argc, argv, &f, &count)) || (code = cli_open_engine(g, &e)))
        return code;
    if (!count) {
        hv_status st = hv_task_list_due(e, &f, &text);
        if (st != HV_OK || g->json)
            return cli_finish(g, e, st, text, render_due);
        render_due_text(e, text);
        hv_free(text);
        hv_engine_close(e);
        return 0;
    }
    int64_t n = 0;
    hv_status st = hv_task_count_due(e, &f, &n);
    if (st != HV_OK)
        code = cli_engine_error(e, st);
    else if (g->json)
        fprintf(cli_out(), "{\n  \"count\": %lld\n}\n", (long long)n);
    else
        fprintf(cli_out(), "%lld\n", (long long)n);
    hv_engine_close(e);
    return code;
}

/* ---- the commands -------------------------------------------------------------- */

const cli_command cli_cmd_register = {
    "register", cmd_register,
    "haven register [--force] (key=value ... | --json-in FILE|-)",
    NULL,
    "Register a child.  Keys: child.name, child.age or child.dob\n"
    "(YYYY-MM-DD), child.sex, location, source (a referral source code),\n"
    "concerns (codes, comma-separated), consent.SCOPE=WHO (e.g.\n"
    "consent.registration=caregiver), family.N.name / .relationship / .age /\n"
    ".sex / .lives_with_child, form.KEY for agency form fields.  Prints the\n"
    "new reference.  A possible duplicate (same sex, similar name, age\n"
    "within a year, same location) is refused with exit 65 and the matching\n"
    "references; --force registers anyway and records the override.",
    "register a child"};

const cli_command cli_cmd_show = {
    "show", cmd_show,
    "haven show REF [--summary]",
    NULL,
    "Print the case file: identification, child, family, concerns, consent,\n"
    "stage, tasks, notes and history (an audited read).  --summary: the\n"
    "pseudonymous summary (stage, status, urgency, risk, version, open tasks;\n"
    "no names), which is not an audited read.",
    "print a case file"};

const cli_command cli_cmd_list = {
    "list", cmd_list,
    "haven list [--stage S] [--source S] [--concern C] [--assignee LOGIN] "
    "[--limit N]",
    NULL,
    "List the cases in your scope, newest first, with the given filters.",
    "list cases"};

const cli_command cli_cmd_search = {
    "search", cmd_search,
    "haven search NAME",
    NULL,
    "Find children by name, honouring spelling variants (Noor, Nour, Nur).\n"
    "Needs the data key (exit 77 without).",
    "find children by name"};

const cli_command cli_cmd_note = {
    "note", cmd_note,
    "haven note REF text=TEXT [--expect-version N]",
    NULL,
    "Add a dated note to a case.  With --expect-version, the note is refused\n"
    "(exit 65) if the case changed since you read version N.",
    "add a note to a case"};

const cli_command cli_cmd_history = {
    "history", cmd_history,
    "haven history REF",
    NULL,
    "Print a case's events, oldest first.",
    "a case's events"};

const cli_command cli_cmd_due = {
    "due", cmd_due,
    "haven due [--for LOGIN | --team | --agency] [--overdue] [--within 7d] [--count]",
    NULL,
    "What is due and overdue, late first, then by urgency: yours, a\n"
    "caseworker's (--for), your team's or the agency's; --overdue only the\n"
    "late, --within a horizon (7d, 48h); --count prints how many tasks the\n"
    "list holds instead (e.g. the agency's overdue count).  A supervisor's\n"
    "list ends with the open conflicts of their team's cases, one line each\n"
    "(changes made offline waiting for a decision: haven conflicts); --json\n"
    "keeps the list of tasks alone.",
    "what is due and overdue"};

const cli_command cli_cmd_explain = {
    "explain", cmd_explain,
    "haven explain REF",
    NULL,
    "Why the case is where it is: every rule decision on the case, with the\n"
    "hook, the pack's name, version and content hash, and the reasons or\n"
    "factors the rule gave.",
    "why a case is where it is"};
