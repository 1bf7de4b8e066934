/*
 * main.c - the `haven` command.
 *
 *   haven [--db PATH] [--as LOGIN] [--now ISO8601] [--json] COMMAND ...
 *
 * Exit codes follow sysexits.h (see hv_status_exit_code); errors are one
 * line on stderr, `haven: WHAT: WHY`, and change nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "haven.h"
#include "gen.h"
#include "exportcmd.h"
#include "kv.h"
#include "render.h"
#include "report.h"
#include "diffcmd.h"
#include "repl.h"
#include "scenario.h"

#define EXIT_USAGE 64
#define MAX_INPUT_BYTES (4 * 1024 * 1024)

typedef struct {
    const char *db;
    const char *as;
    const char *purpose;
    const char *now_text;
    hv_time now;
    int has_now;
    int json;
} globals;

typedef int (*command_fn)(const globals *g, int argc, char **argv);

typedef struct {
    const char *name;
    command_fn run;
    const char *usage;
    const char *help;
} command;

/* ---- output helpers ------------------------------------------------------ */

static int fail(int code, const char *what, const char *why)
{
    fprintf(stderr, "haven: %s: %s\n", what, why);
    return code;
}

/* Reports an engine failure: the engine's message, the status's code. */
static int fail_status(hv_status st, const char *msg)
{
    fprintf(stderr, "haven: %s\n", msg && *msg ? msg : hv_strerror(st));
    return hv_status_exit_code(st);
}

static void print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s) {
        puts(s);
        free(s);
    }
}

/* Prints JSON text returned by the engine as it is (already indented). */
static void print_json_text(const char *text) { puts(text); }

/* Ends a command whose engine call answers JSON text: prints the error, or
 * the text as it is (--json, or no render), or render() of it; then frees
 * the text and closes the engine.  Returns the exit code. */
static int finish(const globals *g, hv_engine *e, hv_status st, char *text,
                  void (*render)(json_t *))
{
    int code = 0;
    if (st != HV_OK) {
        code = fail_status(st, hv_errmsg(e));
    } else if (g->json || !render) {
        print_json_text(text);
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

/* Opens the engine with the globals applied.  On failure prints the error
 * and returns the exit code; on success returns 0 and sets *out. */
static int open_engine(const globals *g, hv_engine **out)
{
    char *err = NULL;
    hv_status st = hv_engine_open(g->db, out, &err);
    if (st != HV_OK) {
        int code = fail_status(st, err);
        hv_free(err);
        return code;
    }
    const char *busy = getenv("HAVEN_BUSY_TIMEOUT");
    if (busy && *busy) {
        char *end;
        long ms = strtol(busy, &end, 10);
        if (*end || ms < 0 || ms > 3600000) {
            hv_engine_close(*out);
            *out = NULL;
            return fail(EXIT_USAGE, "HAVEN_BUSY_TIMEOUT",
                        "milliseconds from 0 to 3600000");
        }
        hv_engine_set_busy_timeout(*out, (int)ms);
    }
    if (g->has_now)
        hv_clock_fix(*out, g->now);
    if (g->purpose && (st = hv_engine_set_purpose(*out, g->purpose)) != HV_OK) {
        int code = fail_status(st, hv_errmsg(*out));
        hv_engine_close(*out);
        *out = NULL;
        return code;
    }
    if (getenv("HAVEN_RULES_LOG") && *getenv("HAVEN_RULES_LOG"))
        hv_engine_set_rules_log(*out, stderr);
    if (g->as && (st = hv_engine_set_actor(*out, g->as)) != HV_OK) {
        int code = fail_status(st, hv_errmsg(*out));
        hv_engine_close(*out);
        *out = NULL;
        return code;
    }
    return 0;
}

/* Reads --json-in input: a file path or "-" for stdin.  Returns malloc'd
 * text or NULL after printing an error (*code set). */
static char *read_input(const char *path, int *code)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "haven: %s: cannot open: %s\n", path, strerror(errno));
        *code = 66;
        return NULL;
    }
    char *buf = malloc(MAX_INPUT_BYTES + 1);
    size_t n = buf ? fread(buf, 1, MAX_INPUT_BYTES + 1, f) : 0;
    if (f != stdin)
        fclose(f);
    if (!buf) {
        *code = 70;
        return NULL;
    }
    if (n > MAX_INPUT_BYTES) {
        free(buf);
        fprintf(stderr, "haven: %s: input larger than %d bytes\n", path,
                MAX_INPUT_BYTES);
        *code = 65;
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* ---- init ---------------------------------------------------------------- */

static int cmd_init(const globals *g, int argc, char **argv)
{
    hv_init_options o = {0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = !strcmp(a, "--agency")        ? &o.agency
                            : !strcmp(a, "--agency-name") ? &o.agency_name
                            : !strcmp(a, "--workflow")    ? &o.workflow_path
                            : !strcmp(a, "--rules")       ? &o.rules_dir
                            : !strcmp(a, "--ref-pattern") ? &o.ref_pattern
                                                          : NULL;
        if (!slot)
            return fail(EXIT_USAGE, "init", "unknown argument (see haven init "
                                            "--help)");
        if (i + 1 >= argc)
            return fail(EXIT_USAGE, "init", "option needs a value");
        *slot = argv[++i];
    }
    if (!o.agency || !o.workflow_path)
        return fail(EXIT_USAGE, "init", "--agency CODE and --workflow FILE are "
                                        "required");
    o.admin = g->as;
    char *err = NULL;
    hv_status st = hv_engine_init(g->db, &o, &err);
    if (st != HV_OK) {
        int code = fail_status(st, err);
        hv_free(err);
        return code;
    }
    if (g->json) {
        json_t *r = json_pack("{s:s,s:s,s:s}", "db", g->db, "agency", o.agency,
                              "admin", g->as);
        print_json(r);
        json_decref(r);
    } else {
        printf("initialised %s for agency %s (administrator %s)\n", g->db,
               o.agency, g->as);
    }
    return 0;
}

/* ---- register ------------------------------------------------------------ */

static const kv_field register_fields[] = {
    {"child.age", KV_INT},
    {"family.*.age", KV_INT},
    {"family.*.lives_with_child", KV_BOOL},
    {"concerns", KV_LIST},
    {"form.*", KV_AUTO},
    {NULL, KV_TEXT},
};

static int cmd_register(const globals *g, int argc, char **argv)
{
    unsigned flags = 0;
    const char *json_in = NULL;
    int npairs = 0, code = 0;
    char **pairs = calloc((size_t)argc + 1, sizeof *pairs);
    char *input = NULL, *ref = NULL;
    hv_engine *e = NULL;
    if (!pairs)
        return 70;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--force")) {
            flags |= HV_REGISTER_FORCE;
        } else if (!strcmp(argv[i], "--json-in")) {
            if (i + 1 >= argc) {
                code = fail(EXIT_USAGE, "register", "--json-in needs FILE or -");
                goto done;
            }
            json_in = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            code = fail(EXIT_USAGE, "register",
                        "unknown option (see haven register --help)");
            goto done;
        } else {
            pairs[npairs++] = argv[i];
        }
    }
    if (json_in && npairs > 0) {
        code = fail(EXIT_USAGE, "register",
                    "give key=value pairs or --json-in, not both");
        goto done;
    }
    if (!json_in && npairs == 0) {
        code = fail(EXIT_USAGE, "register",
                    "nothing to register (see haven register --help)");
        goto done;
    }
    if (json_in) {
        if (!(input = read_input(json_in, &code)))
            goto done;
    } else {
        char err[200];
        json_t *obj = kv_to_json(npairs, pairs, register_fields, err,
                                 sizeof err);
        if (!obj) {
            code = fail(65, "register", err);
            goto done;
        }
        input = json_dumps(obj, JSON_COMPACT);
        json_decref(obj);
    }
    if ((code = open_engine(g, &e)))
        goto done;
    hv_status st = hv_case_register(e, input, flags, &ref);
    if (st != HV_OK) {
        code = fail_status(st, hv_errmsg(e));
        goto done;
    }
    /* Eligibility is the rules' decision: say when the child was recorded
     * but not registered. */
    char *file = NULL;
    json_t *c = NULL;
    if (hv_case_summary_json(e, ref, &file) == HV_OK)
        c = json_loads(file, 0, NULL);
    hv_free(file);
    int registered = !c || strcmp(str_or(c, "status", "open"), "not_registered");
    if (g->json) {
        json_t *r = json_pack("{s:s,s:b,s:s?}", "ref", ref, "registered",
                              registered, "urgency", str_or(c, "urgency", NULL));
        print_json(r);
        json_decref(r);
    } else if (registered) {
        printf("%s\n", ref);
    } else {
        printf("%s\nnot registered: the rules found the child not eligible "
               "(haven explain %s says why)\n", ref, ref);
    }
    json_decref(c);
done:
    hv_free(ref);
    free(input);
    free(pairs);
    hv_engine_close(e);
    return code;
}

/* ---- show ---------------------------------------------------------------- */

/* Runs fn(e, ref, &text) and prints the JSON or its rendering. */
static int show_like(const globals *g, int argc, char **argv, const char *what,
                     hv_status (*fn)(hv_engine *, const char *, char **),
                     void (*render)(json_t *))
{
    hv_engine *e = NULL;
    char *text = NULL;
    int code;
    if (argc != 1 || argv[0][0] == '-')
        return fail(EXIT_USAGE, what, "give one case reference");
    if ((code = open_engine(g, &e)))
        return code;
    hv_status st = fn(e, argv[0], &text);
    return finish(g, e, st, text, render);
}

static int cmd_show(const globals *g, int argc, char **argv)
{
    return show_like(g, argc, argv, "show", hv_case_get_json, render_case);
}

static void render_history(json_t *arr)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char *data = json_dumps(json_object_get(v, "data"),
                                JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf("%lld  %s  %-10s %-14s %s\n",
               (long long)json_integer_value(json_object_get(v, "seq")),
               str_or(v, "at", "?"), str_or(v, "actor", "?"),
               str_or(v, "kind", "?"), data ? data : "");
        free(data);
    }
}

static int cmd_history(const globals *g, int argc, char **argv)
{
    return show_like(g, argc, argv, "history", hv_case_history_json,
                     render_history);
}

/* ---- list and search ----------------------------------------------------- */

static int cmd_list(const globals *g, int argc, char **argv)
{
    hv_case_filter f = {0};
    hv_engine *e = NULL;
    char *text = NULL;
    int code;
    for (int i = 0; i < argc; i++) {
        const char **slot = !strcmp(argv[i], "--stage")      ? &f.stage
                            : !strcmp(argv[i], "--source")   ? &f.source
                            : !strcmp(argv[i], "--concern")  ? &f.concern
                            : !strcmp(argv[i], "--assignee") ? &f.assignee
                                                             : NULL;
        if (!strcmp(argv[i], "--limit") && i + 1 >= argc)
            return fail(EXIT_USAGE, "list", "--limit needs a number");
        if (!strcmp(argv[i], "--limit")) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n <= 0 || n > 1000000)
                return fail(EXIT_USAGE, "list", "--limit needs a number from 1 "
                                                "to 1000000");
            f.limit = (int)n;
            continue;
        }
        if (!slot)
            return fail(EXIT_USAGE, "list", "unknown argument (see haven list "
                                            "--help)");
        if (i + 1 >= argc)
            return fail(EXIT_USAGE, "list", "option needs a value");
        *slot = argv[++i];
    }
    if ((code = open_engine(g, &e)))
        return code;
    hv_status st = hv_case_list(e, &f, &text);
    return finish(g, e, st, text, render_listed);
}

static int cmd_search(const globals *g, int argc, char **argv)
{
    hv_engine *e = NULL;
    char *text = NULL;
    int code;
    if (argc != 1 || argv[0][0] == '-')
        return fail(EXIT_USAGE, "search", "give one name (quote it if it has "
                                          "spaces)");
    if ((code = open_engine(g, &e)))
        return code;
    hv_status st = hv_case_search(e, argv[0], &text);
    return finish(g, e, st, text, render_found);
}

/* ---- note ---------------------------------------------------------------- */

static int cmd_note(const globals *g, int argc, char **argv)
{
    hv_engine *e = NULL;
    const char *ref = NULL, *text = NULL;
    long long expect = 0;
    int code;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--expect-version") && i + 1 >= argc) {
            return fail(EXIT_USAGE, "note", "--expect-version needs a number");
        } else if (!strcmp(argv[i], "--expect-version")) {
            char *end;
            expect = strtoll(argv[++i], &end, 10);
            if (*end || expect <= 0)
                return fail(EXIT_USAGE, "note", "--expect-version needs a "
                                                "positive number");
        } else if (!strncmp(argv[i], "text=", 5)) {
            if (text)
                return fail(EXIT_USAGE, "note", "text= given twice");
            text = argv[i] + 5;
        } else if (argv[i][0] == '-') {
            return fail(EXIT_USAGE, "note", "unknown option (see haven note "
                                            "--help)");
        } else if (!ref) {
            ref = argv[i];
        } else {
            return fail(EXIT_USAGE, "note", "unexpected argument (the note "
                                            "goes in text=...)");
        }
    }
    if (!ref)
        return fail(EXIT_USAGE, "note", "give a case reference");
    if (!text)
        return fail(65, "note", "missing required field 'text'");
    if ((code = open_engine(g, &e)))
        return code;
    int64_t version = 0;
    hv_status st = hv_case_note(e, ref, text, expect, &version);
    if (st != HV_OK) {
        code = fail_status(st, hv_errmsg(e));
    } else if (g->json) {
        json_t *r = json_pack("{s:s,s:I}", "ref", ref, "version",
                              (json_int_t)version);
        print_json(r);
        json_decref(r);
    } else {
        printf("%s: note added (version %lld)\n", ref, (long long)version);
    }
    hv_engine_close(e);
    return code;
}

/* ---- workflow ------------------------------------------------------------ */

static int cmd_workflow(const globals *g, int argc, char **argv)
{
    hv_graph_format fmt = HV_GRAPH_DOT;
    const char *file = NULL;
    if (argc < 1 || (strcmp(argv[0], "check") && strcmp(argv[0], "graph")))
        return fail(EXIT_USAGE, "workflow", "use 'workflow check FILE' or "
                                            "'workflow graph FILE'");
    int graph = !strcmp(argv[0], "graph");
    for (int i = 1; i < argc; i++) {
        if (graph && !strcmp(argv[i], "--mermaid"))
            fmt = HV_GRAPH_MERMAID;
        else if (graph && !strcmp(argv[i], "--dot"))
            fmt = HV_GRAPH_DOT;
        else if (argv[i][0] == '-' && argv[i][1])
            return fail(EXIT_USAGE, "workflow", "unknown option");
        else if (!file)
            file = argv[i];
        else
            return fail(EXIT_USAGE, "workflow", "give one FILE");
    }
    if (!file)
        return fail(EXIT_USAGE, "workflow", "give a workflow FILE");
    hv_workflow *wf = NULL;
    char *err = NULL;
    hv_status st = hv_workflow_load_file(file, &wf, &err);
    if (st != HV_OK) {
        int code = fail_status(st, err);
        hv_free(err);
        return code;
    }
    if (graph) {
        char *text = NULL;
        st = hv_workflow_graph(wf, fmt, &text);
        if (st == HV_OK && g->json) {
            json_t *r = json_pack("{s:s,s:s,s:s}", "workflow",
                                  hv_workflow_id(wf), "format",
                                  fmt == HV_GRAPH_DOT ? "dot" : "mermaid",
                                  "graph", text);
            print_json(r);
            json_decref(r);
        } else if (st == HV_OK) {
            fputs(text, stdout);
        }
        hv_free(text);
    } else if (g->json) {
        json_t *r = json_pack("{s:s,s:b,s:s,s:s,s:i,s:I}", "file", file, "ok",
                              1, "id", hv_workflow_id(wf), "name",
                              hv_workflow_name(wf), "version",
                              hv_workflow_version(wf), "stages",
                              (json_int_t)hv_workflow_stage_count(wf));
        print_json(r);
        json_decref(r);
    } else {
        printf("%s: ok: workflow %s version %d, %zu stages\n", file,
               hv_workflow_id(wf), hv_workflow_version(wf),
               hv_workflow_stage_count(wf));
    }
    hv_workflow_free(wf);
    return st == HV_OK ? 0 : fail_status(st, hv_strerror(st));
}

/* ---- lifecycle steps -------------------------------------------------------- */

static const kv_field step_fields[] = {
    {"needs", KV_LIST},        {"risks", KV_LIST},     {"strengths", KV_LIST},
    {"info_needed", KV_LIST},  {"sources", KV_LIST},   {"verified", KV_LIST},
    {"participants", KV_LIST}, {"decisions", KV_LIST}, {"indicators", KV_LIST},
    {"addresses", KV_LIST},    {"action", KV_INT},     {"referral", KV_INT},
    {"withdraw", KV_BOOL},     {NULL, KV_TEXT},
};

/* haven STEP REF [key=value ... | --json-in FILE] [--expect-version N] */
static int run_step(const globals *g, const char *name, int argc, char **argv)
{
    const char *ref = NULL, *json_in = NULL;
    long long expect = 0;
    int npairs = 0, code = 0;
    char **pairs = calloc((size_t)argc + 1, sizeof *pairs);
    char *input = NULL, *out = NULL;
    hv_engine *e = NULL;
    if (!pairs)
        return 70;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json-in") || !strcmp(argv[i], "--expect-version")) {
            if (i + 1 >= argc) {
                code = fail(EXIT_USAGE, name, "option needs a value");
                goto done;
            }
            if (argv[i][2] == 'j') {
                json_in = argv[++i];
            } else {
                char *end;
                expect = strtoll(argv[++i], &end, 10);
                if (*end || expect <= 0) {
                    code = fail(EXIT_USAGE, name,
                                "--expect-version needs a positive number");
                    goto done;
                }
            }
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            code = fail(EXIT_USAGE, name, "unknown option (see --help)");
            goto done;
        } else if (!ref && !strchr(argv[i], '=')) {
            ref = argv[i];
        } else {
            pairs[npairs++] = argv[i];
        }
    }
    if (!ref) {
        code = fail(EXIT_USAGE, name, "give a case reference");
        goto done;
    }
    if (json_in && npairs) {
        code = fail(EXIT_USAGE, name, "give key=value pairs or --json-in, not both");
        goto done;
    }
    if (json_in) {
        if (!(input = read_input(json_in, &code)))
            goto done;
    } else {
        char err[200];
        json_t *obj = kv_to_json(npairs, pairs, step_fields, err, sizeof err);
        if (!obj) {
            code = fail(65, name, err);
            goto done;
        }
        input = json_dumps(obj, JSON_COMPACT);
        json_decref(obj);
    }
    if ((code = open_engine(g, &e)))
        goto done;
    hv_status st = hv_case_step(e, ref, name, input, expect, &out);
    if (st != HV_OK) {
        code = fail_status(st, hv_errmsg(e));
        goto done;
    }
    if (g->json) {
        print_json_text(out);
    } else {
        json_t *v = json_loads(out, 0, NULL);
        printf("%s: %s; stage %s (%s), %s, version %lld\n", ref,
               str_or(v, "event", name), str_or(v, "stage_label", "?"),
               str_or(v, "stage", "?"), str_or(v, "status", "?"),
               (long long)json_integer_value(json_object_get(v, "version")));
        if (json_object_get(v, "risk"))
            printf("  risk: %s\n", str_or(v, "risk", "?"));
        if (json_object_get(v, "approval"))
            printf("  waiting for a supervisor's approval\n");
        json_t *f = json_object_get(v, "next_followup");
        if (f)
            printf("  next follow-up: %s (%s), every %lld days\n",
                   str_or(f, "due", "?"), str_or(f, "method", "?"),
                   (long long)json_integer_value(json_object_get(f, "every")) / 86400);
        json_t *r = json_object_get(v, "next_review");
        if (r)
            printf("  next review: %s\n", str_or(r, "due", "?"));
        if (json_object_get(v, "final_followup_due"))
            printf("  final follow-up due: %s\n", str_or(v, "final_followup_due", "?"));
        if (json_object_get(v, "referral"))
            printf("  referral %lld sent\n",
                   (long long)json_integer_value(json_object_get(v, "referral")));
        json_decref(v);
    }
done:
    hv_free(out);
    free(input);
    free(pairs);
    hv_engine_close(e);
    return code;
}

#define STEP_COMMAND(verb)                                                     \
    static int cmd_##verb(const globals *g, int argc, char **argv)             \
    {                                                                          \
        return run_step(g, #verb, argc, argv);                                 \
    }
STEP_COMMAND(assess)
STEP_COMMAND(plan)
STEP_COMMAND(approve)
STEP_COMMAND(reject)
STEP_COMMAND(act)
STEP_COMMAND(refer)
STEP_COMMAND(conference)
STEP_COMMAND(followup)
STEP_COMMAND(review)
STEP_COMMAND(evaluate)
STEP_COMMAND(close)
STEP_COMMAND(reopen)
STEP_COMMAND(transfer)
STEP_COMMAND(assign)
STEP_COMMAND(consent)

/* ---- due and users --------------------------------------------------------- */

static int cmd_due(const globals *g, int argc, char **argv)
{
    hv_due_filter f = {0};
    hv_engine *e = NULL;
    char *text = NULL;
    int code, count = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--count")) {
            count = 1;
        } else if (!strcmp(argv[i], "--overdue")) {
            f.overdue_only = 1;
        } else if (!strcmp(argv[i], "--team")) {
            f.team = 1;
        } else if (!strcmp(argv[i], "--agency")) {
            f.agency = 1;
        } else if ((!strcmp(argv[i], "--for") || !strcmp(argv[i], "--within")) &&
                   i + 1 >= argc) {
            return fail(EXIT_USAGE, "due", "option needs a value");
        } else if (!strcmp(argv[i], "--for")) {
            f.login = argv[++i];
        } else if (!strcmp(argv[i], "--within")) {
            if (hv_duration_parse(argv[++i], &f.within) != HV_OK)
                return fail(EXIT_USAGE, "due", "--within takes a duration such as "
                                               "7d or 48h");
        } else {
            return fail(EXIT_USAGE, "due", "unknown argument (see haven due --help)");
        }
    }
    if ((code = open_engine(g, &e)))
        return code;
    if (count) {
        int64_t n = 0;
        hv_status st = hv_task_count_due(e, &f, &n);
        if (st != HV_OK) {
            code = fail_status(st, hv_errmsg(e));
        } else if (g->json) {
            printf("{\n  \"count\": %lld\n}\n", (long long)n);
        } else {
            printf("%lld\n", (long long)n);
        }
        hv_engine_close(e);
        return code;
    }
    hv_status st = hv_task_list_due(e, &f, &text);
    return finish(g, e, st, text, render_due);
}

static int cmd_user(const globals *g, int argc, char **argv)
{
    hv_engine *e = NULL;
    int code;
    if (argc >= 1 && !strcmp(argv[0], "list") && argc == 1) {
        char *text = NULL;
        if ((code = open_engine(g, &e)))
            return code;
        hv_status st = hv_user_list(e, &text);
        return finish(g, e, st, text, render_users);
    }
    if (argc >= 2 && (!strcmp(argv[0], "disable") || !strcmp(argv[0], "enable") ||
                      !strcmp(argv[0], "role"))) {
        const char *role = NULL, *sup = NULL;
        int active = -1;
        if (!strcmp(argv[0], "disable") && argc == 2)
            active = 0;
        else if (!strcmp(argv[0], "enable") && argc == 2)
            active = 1;
        else if (!strcmp(argv[0], "role") && argc >= 3) {
            role = argv[2];
            for (int i = 3; i < argc; i++) {
                if (!strcmp(argv[i], "--supervisor") && i + 1 < argc)
                    sup = argv[++i];
                else
                    return fail(EXIT_USAGE, "user role", "unknown argument");
            }
        } else {
            return fail(EXIT_USAGE, "user", "use 'user disable LOGIN', 'user enable "
                                            "LOGIN' or 'user role LOGIN ROLE "
                                            "[--supervisor LOGIN]'");
        }
        if ((code = open_engine(g, &e)))
            return code;
        hv_status st = hv_user_update(e, argv[1], active, role, sup);
        if (st != HV_OK)
            code = fail_status(st, hv_errmsg(e));
        else
            printf("user %s %s\n", argv[1],
                   active == 0 ? "disabled" : active == 1 ? "enabled" : "changed");
        hv_engine_close(e);
        return code;
    }
    if (argc < 2 || strcmp(argv[0], "add"))
        return fail(EXIT_USAGE, "user", "use 'user add LOGIN --role ROLE "
                                        "[--supervisor LOGIN]', 'user list', 'user "
                                        "disable|enable LOGIN' or 'user role LOGIN "
                                        "ROLE'");
    const char *login = argv[1], *role = NULL, *supervisor = NULL;
    for (int i = 2; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--role"))
            role = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--supervisor"))
            supervisor = argv[++i];
        else
            return fail(EXIT_USAGE, "user add", "unknown argument");
    }
    if ((code = open_engine(g, &e)))
        return code;
    hv_status st = hv_user_add(e, login, role, supervisor);
    if (st != HV_OK)
        code = fail_status(st, hv_errmsg(e));
    else if (!g->json)
        printf("user %s added (%s)\n", login, role);
    else
        printf("{\n  \"login\": \"%s\",\n  \"role\": \"%s\"\n}\n", login, role);
    hv_engine_close(e);
    return code;
}

/* ---- rules and explain ----------------------------------------------------- */

/* rules diff [DIR] [--hooks LIST] [--json] | rules apply DIR */
static int cmd_rules_diff(const globals *g, int argc, char **argv)
{
    const char *dir = NULL;
    unsigned hooks = 0;
    int json = g->json, code;
    hv_engine *e = NULL;
    int apply = !strcmp(argv[0], "apply");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json") && !apply)
            json = 1;
        else if (!strcmp(argv[i], "--hooks") && i + 1 < argc && !apply) {
            if (!(hooks = cli_diff_hooks(argv[++i])))
                return fail(EXIT_USAGE, "rules diff", "--hooks takes a list of "
                            "risk, followup, review, closure");
        } else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else
            return fail(EXIT_USAGE, apply ? "rules apply" : "rules diff",
                        apply ? "use 'rules apply DIR'"
                              : "use 'rules diff [DIR] [--hooks LIST] [--json]'");
    }
    if (apply && !dir)
        return fail(EXIT_USAGE, "rules apply", "use 'rules apply DIR'");
    if ((code = open_engine(g, &e)))
        return code;
    if (apply) {
        char *text = NULL;
        hv_status st = hv_rules_apply(e, dir, &text);
        return finish(g, e, st, text, render_apply);
    }
    long long rule_errors = 0;
    hv_status st = cli_rules_diff(e, dir, hooks, json, &rule_errors);
    if (st != HV_OK)
        code = fail_status(st, hv_errmsg(e));
    else if (rule_errors) {
        fprintf(stderr, "haven: rules diff: the rules failed on %lld evaluation%s "
                "(listed)\n", rule_errors, rule_errors == 1 ? "" : "s");
        code = 65;
    }
    hv_engine_close(e);
    return code;
}

static int cmd_rules(const globals *g, int argc, char **argv)
{
    char *err = NULL;
    hv_status st;
    if (argc < 1)
        return fail(EXIT_USAGE, "rules", "use 'rules check DIR', 'rules test "
                                         "DIR' or 'rules reload [DIR]'");
    const char *sub = argv[0];
    if (!strcmp(sub, "diff") || !strcmp(sub, "apply"))
        return cmd_rules_diff(g, argc, argv);
    if (!strcmp(sub, "reload")) {
        hv_engine *e = NULL;
        char *text = NULL;
        int code;
        if (argc > 2)
            return fail(EXIT_USAGE, "rules reload", "give at most one DIR");
        if ((code = open_engine(g, &e)))
            return code;
        st = hv_rules_reload(e, argc == 2 ? argv[1] : NULL, &text);
        return finish(g, e, st, text, render_reload);
    }
    if ((strcmp(sub, "check") && strcmp(sub, "test")) || argc != 2)
        return fail(EXIT_USAGE, "rules", "use 'rules check DIR', 'rules test "
                                         "DIR' or 'rules reload [DIR]'");
    if (!strcmp(sub, "check")) {
        int problems = 0;
        st = hv_rules_check_dir(argv[1], stdout, &problems, &err);
        if (st != HV_OK) {
            int code = fail_status(st, err);
            hv_free(err);
            return code;
        }
        if (problems) {
            fprintf(stderr, "haven: rules check: %s: %d problem%s\n", argv[1],
                    problems, problems == 1 ? "" : "s");
            return 65;
        }
        printf("%s: ok: every hook loads and returns its contract's shape\n",
               argv[1]);
        return 0;
    }
    int passed = 0, failed = 0;
    st = hv_rules_test_dir(argv[1], stdout, &passed, &failed, &err);
    if (st != HV_OK) {
        int code = fail_status(st, err);
        hv_free(err);
        return code;
    }
    return failed ? 65 : 0;
}

static void render_explain(json_t *arr)
{
    size_t i, j, k;
    json_t *v, *d, *x;
    if (json_array_size(arr) == 0)
        printf("no rule decisions recorded (the workflow's defaults decided)\n");
    json_array_foreach(arr, i, v) {
        printf("%s  %s by %s\n", str_or(v, "at", "?"), str_or(v, "event", "?"),
               str_or(v, "actor", "?"));
        json_array_foreach(json_object_get(v, "decisions"), j, d) {
            json_t *res = json_object_get(d, "result");
            printf("  %s, pack %s %s (sha256 %.12s)\n", str_or(d, "hook", "?"),
                   str_or(d, "pack", "?"), str_or(d, "version", "?"),
                   str_or(d, "hash", "?"));
            const char *key;
            json_object_foreach(res, key, x) {
                if (json_is_array(x)) {
                    printf("    %s:", key);
                    json_t *item;
                    json_array_foreach(x, k, item)
                        printf("%s %s", k ? "," : "", json_string_value(item));
                    printf("%s\n", json_array_size(x) ? "" : " (none)");
                } else {
                    char *t = json_dumps(x, JSON_ENCODE_ANY);
                    printf("    %s: %s\n", key, t ? t : "?");
                    free(t);
                }
            }
        }
    }
}

static int cmd_explain(const globals *g, int argc, char **argv)
{
    return show_like(g, argc, argv, "explain", hv_case_explain_json,
                     render_explain);
}

/* ---- the REPL ----------------------------------------------------------- */

static int cmd_repl(const globals *g, int argc, char **argv)
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
            return fail(EXIT_USAGE, "repl", "use 'repl [--unsafe] [-e CODE]'");
    }
    if ((code = open_engine(g, &e)))
        return code;
    if (g->has_now)
        hv_clock_simulate(e, g->now);
    code = hv_repl_run(e, &o);
    hv_engine_close(e);
    return code;
}

/* ---- scenarios ------------------------------------------------------------ */

static int cmd_scenario(const globals *g, int argc, char **argv)
{
    (void)g;
    const char *html = NULL;
    char **files = calloc((size_t)argc + 1, sizeof *files);
    int n = 0, show = 0;
    if (!files)
        return 70;
    if (argc < 1 || strcmp(argv[0], "run")) {
        free(files);
        return fail(EXIT_USAGE, "scenario", "use 'scenario run [--html FILE] FILE...'");
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--html") && i + 1 < argc) {
            html = argv[++i];
        } else if (!strcmp(argv[i], "--show")) {
            show = 1;
        } else if (argv[i][0] == '-') {
            free(files);
            return fail(EXIT_USAGE, "scenario", "unknown option");
        } else {
            files[n++] = argv[i];
        }
    }
    if (n == 0) {
        free(files);
        return fail(EXIT_USAGE, "scenario", "give at least one scenario FILE");
    }
    int code = hv_scenario_run(files, n, html, show);
    free(files);
    return code;
}

static int cmd_train(const globals *g, int argc, char **argv)
{
    (void)g;
    if (argc != 1 || argv[0][0] == '-')
        return fail(EXIT_USAGE, "train", "use 'train NAME' (e.g. train noor)");
    return hv_train_run(argv[0]);
}

static int cmd_purge(const globals *g, int argc, char **argv)
{
    hv_engine *e = NULL;
    int code;
    if (argc != 1 || argv[0][0] == '-')
        return fail(EXIT_USAGE, "purge", "give one case reference");
    if ((code = open_engine(g, &e)))
        return code;
    hv_status st = hv_case_purge(e, argv[0]);
    if (st != HV_OK)
        code = fail_status(st, hv_errmsg(e));
    else
        printf("%s: identifying data erased; codes, dates and the audit trail "
               "remain\n", argv[0]);
    hv_engine_close(e);
    return code;
}

static int cmd_backup(const globals *g, int argc, char **argv)
{
    hv_engine *e = NULL;
    int code;
    if (argc != 1 || argv[0][0] == '-')
        return fail(EXIT_USAGE, "backup", "give the new FILE");
    if ((code = open_engine(g, &e)))
        return code;
    hv_status st = hv_engine_backup(e, argv[0]);
    if (st != HV_OK)
        code = fail_status(st, hv_errmsg(e));
    else
        printf("backup written to %s (identifying data stays sealed in it; the "
               "data key %s.key and the audit key %s.audit-key are not in it)\n",
               argv[0], g->db, g->db);
    hv_engine_close(e);
    return code;
}

/* ---- audit ------------------------------------------------------------------ */

static int cmd_audit(const globals *g, int argc, char **argv)
{
    hv_engine *e = NULL;
    char *text = NULL, *checkpoint = NULL;
    const char *ref = NULL, *user = NULL;
    hv_time since = 0;
    int code;
    if (argc < 1)
        return fail(EXIT_USAGE, "audit", "use 'audit verify [--checkpoint FILE]', "
                                         "'audit checkpoint' or 'audit log [REF] "
                                         "[--user U] [--since T]'");
    const char *sub = argv[0];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--checkpoint") && i + 1 < argc && !strcmp(sub, "verify")) {
            int rc = 0;
            if (!(checkpoint = read_input(argv[++i], &rc)))
                return rc;
        } else if (!strcmp(argv[i], "--user") && i + 1 < argc && !strcmp(sub, "log")) {
            user = argv[++i];
        } else if (!strcmp(argv[i], "--since") && i + 1 < argc && !strcmp(sub, "log")) {
            if (hv_time_parse(argv[++i], &since) != HV_OK) {
                free(checkpoint);
                return fail(EXIT_USAGE, "audit log", "--since takes an ISO 8601 time");
            }
        } else if (!strcmp(sub, "log") && !ref && argv[i][0] != '-') {
            ref = argv[i];
        } else {
            free(checkpoint);
            return fail(EXIT_USAGE, "audit", "unknown argument");
        }
    }
    if (strcmp(sub, "verify") && strcmp(sub, "checkpoint") && strcmp(sub, "log")) {
        free(checkpoint);
        return fail(EXIT_USAGE, "audit", "use verify, checkpoint or log");
    }
    if ((code = open_engine(g, &e))) {
        free(checkpoint);
        return code;
    }
    hv_status st = !strcmp(sub, "verify")       ? hv_audit_verify(e, checkpoint, &text)
                   : !strcmp(sub, "checkpoint") ? hv_audit_checkpoint(e, &text)
                                                : hv_audit_log(e, ref, user, since, &text);
    free(checkpoint);
    return finish(g, e, st, text,
                  !strcmp(sub, "checkpoint") ? NULL
                  : !strcmp(sub, "verify")   ? render_verify
                                             : render_audit_log);
}

/* ---- report ----------------------------------------------------------------- */

static int cmd_report(const globals *g, int argc, char **argv)
{
    hv_report_options o = {0};
    const char *html = NULL;
    hv_engine *e = NULL;
    char *text = NULL;
    int code;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--since") && strcmp(a, "--until") &&
            strcmp(a, "--caseworker") && strcmp(a, "--html"))
            return fail(EXIT_USAGE, "report", "unknown argument (see haven report --help)");
        if (i + 1 >= argc)
            return fail(EXIT_USAGE, "report", "option needs a value");
        const char *v = argv[++i];
        if (!strcmp(a, "--caseworker")) {
            o.caseworker = v;
        } else if (!strcmp(a, "--html")) {
            html = v;
        } else if (hv_time_parse(v, !strcmp(a, "--since") ? &o.since : &o.until) != HV_OK) {
            return fail(EXIT_USAGE, "report", "--since and --until take an ISO 8601 "
                                              "date or time (2026-11-28)");
        }
    }
    if ((code = open_engine(g, &e)))
        return code;
    /* One-line JSON, parsed here: on a national caseload the report's
     * indented text alone was tens of megabytes (one entry per caseworker). */
    o.compact = 1;
    hv_status st = hv_report_json(e, &o, &text);
    if (st != HV_OK)
        return finish(g, e, st, text, render_report);
    json_t *r = json_loads(text, 0, NULL);
    hv_free(text);
    hv_engine_close(e);
    if (!r)
        return fail(70, "report", "the engine's report is not JSON (out of memory?)");
    if (html) {
        code = report_write_html(html, r);
        if (code == 0)
            printf("caseload report written to %s\n", html);
    } else if (g->json) {
        /* indented as every --json answer, written as it is made */
        code = json_dumpf(r, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                         JSON_REAL_PRECISION(12)) ||
                       putchar('\n') == EOF
                   ? 70
                   : 0;
    } else {
        render_report(r);
    }
    json_decref(r);
    return code;
}

/* ---- the table of commands ----------------------------------------------- */

/* ---- gen: a synthetic caseload ------------------------------------------------ */

/* A shipped file: PATH as given if it exists, else under HAVEN_DATADIR. */
static const char *shipped(const char *path, char *buf, size_t size)
{
    if (access(path, F_OK) == 0)
        return path;
    snprintf(buf, size, "%s/%s", HAVEN_DATADIR, path);
    return buf;
}

static int cmd_gen(const globals *g, int argc, char **argv)
{
    gen_options o = {.seed = 1};
    hv_init_options io = {.agency = "GEN", .agency_name = "Synthetic caseload"};
    char wbuf[4096], rbuf[4096], *end;
    int agency_given = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--bulk")) {
            o.batch = 1000;
            continue;
        }
        if (!v)
            return fail(EXIT_USAGE, "gen", "unknown argument or option without a "
                                           "value (see haven gen --help)");
        i++;
        if (!strcmp(a, "--history")) {
            long n = strtol(v, &end, 10);
            if (*end || n < 0 || n > 100)
                return fail(EXIT_USAGE, "gen", "--history takes a percentage 0-100");
            o.history_percent = n == 100 ? 0 : n == 0 ? -1 : (int)n;
        } else if (!strcmp(a, "--cases") || !strcmp(a, "--batch") || !strcmp(a, "--span")) {
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > 100000000)
                return fail(EXIT_USAGE, "gen", "--cases, --batch and --span take a "
                                               "positive whole number");
            if (a[2] == 'c')
                o.cases = n;
            else if (a[2] == 'b')
                o.batch = (int)(n > 1000000 ? 1000000 : n);
            else
                o.span_days = (int)(n > 36500 ? 36500 : n);
        } else if (!strcmp(a, "--seed")) {
            o.seed = strtoull(v, &end, 10);
            if (*end || !*v || *v == '-' || *v == '+')
                return fail(EXIT_USAGE, "gen", "--seed takes a whole number");
        } else if (!strcmp(a, "--workflow")) {
            io.workflow_path = v;
        } else if (!strcmp(a, "--rules")) {
            io.rules_dir = v;
        } else if (!strcmp(a, "--agency")) {
            io.agency = v;
            agency_given = 1;
        } else {
            return fail(EXIT_USAGE, "gen", "unknown argument (see haven gen --help)");
        }
    }
    if (o.cases < 1)
        return fail(EXIT_USAGE, "gen", "--cases N is required");
    if (g->has_now)
        o.end = g->now;
    if (access(g->db, F_OK) != 0) {
        /* A new database for the caseload. */
        char *err = NULL;
        if (!io.workflow_path)
            io.workflow_path = shipped("workflows/iasc.yaml", wbuf, sizeof wbuf);
        if (!io.rules_dir && !strstr(io.workflow_path, "/trafficking") &&
            !strstr(io.workflow_path, "/survivor"))
            io.rules_dir = shipped("rules/default", rbuf, sizeof rbuf);
        io.admin = g->as;
        hv_status st = hv_engine_init(g->db, &io, &err);
        if (st != HV_OK) {
            int code = fail_status(st, err);
            hv_free(err);
            return code;
        }
    } else if (io.workflow_path || io.rules_dir || agency_given) {
        return fail(EXIT_USAGE, "gen", "--workflow, --rules and --agency are for a "
                                       "new database; this one exists");
    }
    hv_engine *e = NULL;
    int code;
    if ((code = open_engine(g, &e)))
        return code;
    gen_stats st;
    char *err = NULL;
    hv_status s = gen_run(e, g->as, &o, &st, &err);
    if (s != HV_OK) {
        code = fail_status(s, err ? err : hv_strerror(s));
        free(err);
        hv_engine_close(e);
        return code;
    }
    double rate = st.seconds > 0 ? (double)o.cases / st.seconds : 0;
    if (g->json) {
        json_t *r = json_pack(
            "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:f}", "cases",
            (json_int_t)o.cases, "seed", (json_int_t)o.seed, "registered",
            (json_int_t)st.registered, "not_registered", (json_int_t)st.not_registered,
            "open", (json_int_t)st.open, "closed", (json_int_t)st.closed, "steps",
            (json_int_t)st.steps, "refused", (json_int_t)st.refused, "caseworkers",
            (json_int_t)st.caseworkers, "supervisors", (json_int_t)st.supervisors,
            "seconds", st.seconds, "cases_per_second", rate);
        print_json(r);
        json_decref(r);
    } else {
        printf("generated %ld cases (seed %llu): %ld open, %ld closed, %ld not "
               "registered; %ld steps (%ld refused by rules); %ld caseworkers, %ld "
               "supervisors; %.1f s, %.0f cases/s\n",
               o.cases, o.seed, st.open, st.closed, st.not_registered, st.steps,
               st.refused, st.caseworkers, st.supervisors, st.seconds, rate);
    }
    hv_engine_close(e);
    return 0;
}

static int cmd_help(const globals *g, int argc, char **argv);
static int open_engine_cb(const void *g, hv_engine **out) { return open_engine(g, out); }
static int cmd_export(const globals *g, int argc, char **argv)
{
    return exportcmd_export(g, open_engine_cb, g->json, argc, argv);
}
static int cmd_import(const globals *g, int argc, char **argv)
{
    return exportcmd_import(g, open_engine_cb, g->json, argc, argv);
}

static const command commands[] = {
    {"init", cmd_init,
     "haven init --agency CODE --workflow FILE [--rules DIR] "
     "[--ref-pattern PATTERN] [--agency-name NAME]",
     "Create a new database for an agency, with its workflow.  The acting\n"
     "user (--as) becomes its first administrator.  PATTERN makes case\n"
     "references (default AGENCY-YYYY-NNNNN): AGENCY, YYYY or YY, and a run\n"
     "of 3-9 N's for the number; they never carry identifying data."},
    {"register", cmd_register,
     "haven register [--force] (key=value ... | --json-in FILE|-)",
     "Register a child.  Keys: child.name, child.age or child.dob\n"
     "(YYYY-MM-DD), child.sex, location, source (a referral source code),\n"
     "concerns (codes, comma-separated), consent.SCOPE=WHO (e.g.\n"
     "consent.registration=caregiver), family.N.name / .relationship / .age /\n"
     ".sex / .lives_with_child, form.KEY for agency form fields.  Prints the\n"
     "new reference.  A possible duplicate (same sex, similar name, age\n"
     "within a year, same location) is refused with exit 65 and the matching\n"
     "references; --force registers anyway and records the override."},
    {"show", cmd_show, "haven show REF",
     "Print the case file: identification, child, family, concerns, consent,\n"
     "stage, tasks, notes and history."},
    {"list", cmd_list,
     "haven list [--stage S] [--source S] [--concern C] [--assignee LOGIN] "
     "[--limit N]",
     "List cases, newest first, with the given filters."},
    {"search", cmd_search, "haven search NAME",
     "Find children by name, honouring spelling variants (Noor, Nour, Nur)."},
    {"note", cmd_note, "haven note REF text=TEXT [--expect-version N]",
     "Add a dated note to a case.  With --expect-version, the note is refused\n"
     "(exit 65) if the case changed since you read version N."},
    {"history", cmd_history, "haven history REF",
     "Print a case's events, oldest first."},
    {"workflow", cmd_workflow,
     "haven workflow check FILE | haven workflow graph FILE [--dot|--mermaid]",
     "Check a workflow file (errors give FILE:LINE:COLUMN), or draw it as\n"
     "Graphviz DOT (the default; pipe into `dot -Tsvg`) or Mermaid."},
    {"assess", cmd_assess,
     "haven assess REF kind=initial|comprehensive|reassessment safety=ok|concern|urgent ...",
     "Record an assessment (seed 001: initial within 24-48 hours; the Best\n"
     "Interests Assessment with elements.childs_views, .family_relationships,\n"
     ".safe_environment, .development_identity, .strengths_resources).  Lists:\n"
     "needs, risks, strengths, info_needed, sources, verified (comma-separated,\n"
     "or needs.1=... for text with commas); summary.  Closes the assessment's\n"
     "task, moves the case on and re-scores risk with risk.lua."},
    {"plan", cmd_plan,
     "haven plan REF goal=... indicators.1=... target_date=YYYY-MM-DD addresses.1=... "
     "actions.1.title=... actions.1.responsible=caseworker|child|family|provider "
     "actions.1.type=direct_support|referral|coordination actions.1.due=YYYY-MM-DD",
     "Make a case plan (a new version each time) with a SMART goal; a refused\n"
     "plan names the missing SMART part.  Where the workflow asks, it waits for\n"
     "a supervisor's approval; an approved plan schedules its actions, the\n"
     "first follow-up (followup.lua) and the first review (review.lua)."},
    {"approve", cmd_approve, "haven approve REF [note=...]",
     "A supervisor approves what waits on the case (a plan or a closure)."},
    {"reject", cmd_reject, "haven reject REF reason=...",
     "A supervisor rejects what waits on the case, with the reason."},
    {"act", cmd_act, "haven act REF action=N status=in_progress|done|dropped [reason=...]",
     "Update an action of the plan in force (dropping one needs a reason)."},
    {"refer", cmd_refer,
     "haven refer REF service=CODE provider=NAME [action=N] [override=REASON] | "
     "haven refer REF referral=N status=accepted|declined|completed [outcome=...]",
     "Refer to a service, only with consent to share information on record\n"
     "(a supervisor may override with a reason); then track the referral."},
    {"conference", cmd_conference,
     "haven conference REF participants=... decisions=... [at=DATE]",
     "Record a case conference with its participants and decisions."},
    {"followup", cmd_followup,
     "haven followup REF method=CODE safety=ok|concern|urgent [notes=...] [at=DATE]",
     "Record a follow-up (home visit scheduled or unannounced, phone call,\n"
     "meeting, provider check).  A concern re-scores risk; the next follow-up\n"
     "is scheduled from followup.lua.  On a closed case: the final follow-up."},
    {"review", cmd_review, "haven review REF outcome=continue|adjust_plan|plan_closure [notes=...]",
     "Review the plan; adjust_plan opens a new plan version."},
    {"evaluate", cmd_evaluate,
     "haven evaluate REF outcome=achieved|partly_achieved|not_achieved [indicators=...]",
     "Evaluate the plan's goal against its indicators (workflows with evaluation)."},
    {"close", cmd_close, "haven close REF reason=CODE [notes=...]",
     "Request closure with a reason; closure.lua must agree and a supervisor\n"
     "approves where the workflow asks.  Closing schedules the final follow-up\n"
     "and cancels every other task."},
    {"reopen", cmd_reopen, "haven reopen REF reason=...",
     "Reopen a closed case, back to assessment."},
    {"transfer", cmd_transfer, "haven transfer REF agency=NAME [reason=...] [override=REASON]",
     "Transfer to another agency (needs consent for transfer); closes the case\n"
     "here as transferred."},
    {"assign", cmd_assign, "haven assign REF to=LOGIN",
     "Reassign the case and its open tasks to another caseworker."},
    {"consent", cmd_consent,
     "haven consent REF scope=CODE given_by=child|caregiver|both|guardian | "
     "haven consent REF scope=CODE withdraw=yes [reason=...]",
     "Record or withdraw consent for a scope (information_sharing, referral,\n"
     "transfer, export)."},
    {"due", cmd_due, "haven due [--for LOGIN | --team | --agency] [--overdue] [--within 7d] [--count]",
     "What is due and overdue, late first, then by urgency; --count prints how\n"
     "many tasks the list holds instead (e.g. the agency's overdue count)."},
    {"user", cmd_user, "haven user add LOGIN --role ROLE [--supervisor LOGIN] | haven user list | "
     "haven user disable|enable LOGIN | haven user role LOGIN ROLE [--supervisor LOGIN]",
     "Manage users (an administrator adds them).  Roles: caseworker,\n"
     "supervisor, manager, administrator, trainer."},
    {"scenario", cmd_scenario, "haven scenario run [--html FILE] [--show] FILE...",
     "Run training scenarios, each on a fresh temporary database with a\n"
     "simulated clock: a transcript, each failed expectation with its file and\n"
     "line, and 'N passed, N failed' (exit 0 iff every expectation holds).\n"
     "--html writes the first scenario's timeline page; --show prints each\n"
     "case's file at the end."},
    {"train", cmd_train, "haven train NAME",
     "The trainee exercise (scenarios/train/NAME.lua): the referral, then the\n"
     "template's four parts (assessment summary; SMART goal; three to five key\n"
     "actions with responsible party and timeline; follow-up and review plan),\n"
     "checked against the engine's rules, and the model answer beside yours.\n"
     "Answers from a file: 'key: value' lines (needs, risks, strengths,\n"
     "info_needed, goal, indicators, target, action: title | who | when,\n"
     "followup, review).  Exit 0 when complete, 65 when parts are missing."},
    {"repl", cmd_repl, "haven repl [--unsafe] [-e CODE]",
     "The caseworker REPL: due(), show \"REF\", open \"REF\", then steps on the\n"
     "open case (followup{ method = ..., safety = ... }), register{...},\n"
     "search \"NAME\", help(), help \"STEP\", whoami().  Lua expressions print\n"
     "their value.  Reads statements from stdin when it is not a terminal\n"
     "(exit 65 at the first refusal).  --unsafe: the full Lua library."},
    {"explain", cmd_explain, "haven explain REF",
     "Why the case is where it is: every rule decision on the case, with the\n"
     "hook, the pack's name, version and content hash, and the reasons or\n"
     "factors the rule gave."},
    {"rules", cmd_rules,
     "haven rules check DIR | haven rules test DIR | haven rules reload [DIR] | "
     "haven rules diff [DIR] [--hooks LIST] [--json] | haven rules apply DIR",
     "check: load every hook of the pack in DIR and run it on sample cases,\n"
     "reporting each problem as FILE:LINE (exit 65 if any).\n"
     "test: run DIR/tests/*.lua, a line per test and 'N passed, N failed'.\n"
     "reload: load the pack again (from DIR, or the folder recorded at init)\n"
     "into the database; a pack that fails to load leaves the one in force."},
    {"audit", cmd_audit,
     "haven audit verify [--checkpoint FILE] | haven audit checkpoint | "
     "haven audit log [REF] [--user U] [--since T]",
     "verify: walk the events' hash chain; names the first entry changed,\n"
     "deleted, reordered or inserted, or a cut tail (exit 65).  With a\n"
     "checkpoint: also a database restored to an older state or rewritten.\n"
     "checkpoint: print a signed head (Ed25519; the key is <db>.audit-key).\n"
     "log: who did what to which case, when (supervisors, managers and\n"
     "administrators); no case content."},
    {"purge", cmd_purge, "haven purge REF",
     "Erase a closed case's identifying data and narrative irrecoverably\n"
     "after the agency's retention period (7 years unless the database's\n"
     "meta 'retention' says otherwise), keeping its pseudonymous statistics and\n"
     "audit events; administrators only."},
    {"gen", cmd_gen,
     "haven gen --cases N [--seed S] [--bulk | --batch N] [--span DAYS]\n"
     "          [--history PERCENT]\n"
     "          [--workflow FILE --rules DIR --agency CODE]",
     "Fill a database with a synthetic caseload through the engine's own API:\n"
     "children registered over the last --span days (730) before --now\n"
     "(2026-11-28T09:00Z), walked through assessment, planning, approval,\n"
     "actions, referrals, follow-ups, reviews, closure and the final follow-up;\n"
     "some stall and fall late.  Caseworkers cw0001... get 20-60 open cases\n"
     "each, supervisors sup001... a team of six.  The same seed gives the same\n"
     "caseload.  A new database is made with --workflow (workflows/iasc.yaml)\n"
     "and --rules (rules/default), the acting user its administrator.  --bulk\n"
     "commits 1,000 registrations (with their histories) per transaction.\n"
     "--history walks only that share of the cases (100); the rest stay as\n"
     "registered, waiting for their initial assessment."},
    {"backup", cmd_backup, "haven backup FILE",
     "A consistent online copy of the database into a new FILE (mode 0600),\n"
     "while others keep working; administrators only."},
    {"export", cmd_export,
     "haven export --format csv|json [--pseudonymous] [--since T] [--override REASON] [--out PATH]",
     "Export the cases in your scope: CSV (--out DIRECTORY: cases, persons,\n"
     "assessments, plans, actions, referrals, followups, reviews, closures .csv)\n"
     "or JSON (whole case histories; --out FILE, default standard output).\n"
     "Each file says what it holds and for whom (# lines in CSV, \"about\" in\n"
     "JSON).  Identifiable exports need the data key and include only cases\n"
     "with consent scope export or information_sharing, unless a supervisor\n"
     "gives --override REASON (a code); --pseudonymous drops names, dates of\n"
     "birth (age bands instead), locations below the district and free text.\n"
     "Every export is audited."},
    {"import", cmd_import, "haven import --format csv|json FILE [--skip-bad]",
     "Import registrations (CSV: a header of 'haven register' keys, one child\n"
     "per row) or whole case histories (a Haven JSON export), in one\n"
     "transaction: every rejected row is reported as 'row N: FIELD: why' and\n"
     "nothing is written (exit 65) unless --skip-bad, which keeps the good\n"
     "rows (exit 0)."},
    {"report", cmd_report,
     "haven report [--since T] [--until T] [--caseworker LOGIN] [--html FILE]",
     "Where the caller's cases stand and what is late: open cases by stage,\n"
     "risk and urgency; overdue and due-this-week tasks by kind and\n"
     "caseworker; approvals pending; follow-up compliance; days to the initial\n"
     "assessment, the approved plan and closure; closure reasons; cases\n"
     "registered and closed per month.  A caseworker sees their cases, a\n"
     "supervisor the team's, a manager the agency's (aggregates, no names).\n"
     "--since/--until bound the period; --html writes one self-contained page\n"
     "with a chart per figure (mode 0600)."},
    {"help", cmd_help, "haven help [COMMAND]", "Show help."},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

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
            "  --now TIME     fix the clock, e.g. 2026-11-28T09:00:00Z\n"
            "  --purpose CODE why you act (recorded in the audit trail)\n"
            "  --json         print JSON instead of text\n"
            "  --version, --help\n\nCommands:\n",
            HV_VERSION_STRING);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %s\n", commands[i].usage);
    fprintf(out,
            "\n`haven COMMAND --help` describes one command.\n"
            "Exit codes: 0 ok, 64 usage, 65 bad data or refusal, 66 missing "
            "input file,\n69 not found, 70 internal error, 73 cannot create, "
            "75 database busy (retry),\n77 permission denied.\n");
}

static int cmd_help(const globals *g, int argc, char **argv)
{
    (void)g;
    if (argc == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (!strcmp(commands[i].name, argv[0])) {
            printf("usage: %s\n\n%s\n", commands[i].usage, commands[i].help);
            return 0;
        }
    }
    return fail(EXIT_USAGE, argv[0], "unknown command (see haven --help)");
}

int main(int argc, char **argv)
{
    globals g = {0};
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0, code;
    if (!rest)
        return 70;
    g.db = getenv("HAVEN_DB");
    if (!g.db || !*g.db)
        g.db = "haven.db";
    g.as = getenv("HAVEN_USER");
    if (!g.as || !*g.as)
        g.as = getenv("USER");
    if (!g.as || !*g.as)
        g.as = "admin";
    /* Global options may come before or after the command. */
    int after_dashdash = 0, want_version = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (after_dashdash) {
            rest[nrest++] = argv[i];
            continue;
        }
        if (!strcmp(a, "--"))
            after_dashdash = 1, slot = NULL;
        else if (!strcmp(a, "--db"))
            slot = &g.db;
        else if (!strcmp(a, "--as"))
            slot = &g.as;
        else if (!strcmp(a, "--now"))
            slot = &g.now_text;
        else if (!strcmp(a, "--purpose"))
            slot = &g.purpose;
        else if (!strcmp(a, "--json")) {
            g.json = 1;
            continue;
        } else if (!strcmp(a, "--version")) {
            want_version = 1;
            continue;
        } else {
            rest[nrest++] = argv[i];
            continue;
        }
        if (after_dashdash)
            continue;
        if (i + 1 >= argc) {
            free(rest);
            return fail(EXIT_USAGE, a, "needs a value");
        }
        *slot = argv[++i];
    }
    if (want_version) {
        if (g.json)
            printf("{\n  \"version\": \"%s\"\n}\n", HV_VERSION_STRING);
        else
            printf("haven %s\n", HV_VERSION_STRING);
        free(rest);
        return 0;
    }
    if (g.now_text) {
        if (hv_time_parse(g.now_text, &g.now) != HV_OK) {
            free(rest);
            return fail(EXIT_USAGE, "--now",
                        "not an ISO 8601 time (e.g. 2026-11-28T09:00:00Z)");
        }
        g.has_now = 1;
    }
    if (nrest == 0 || !strcmp(rest[0], "--help") || !strcmp(rest[0], "-h")) {
        usage(nrest == 0 ? stderr : stdout);
        free(rest);
        return nrest == 0 ? EXIT_USAGE : 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].name, rest[0]) != 0)
            continue;
        for (int j = 1; j < nrest; j++) {
            if (!strcmp(rest[j], "--help") || !strcmp(rest[j], "-h")) {
                printf("usage: %s\n\n%s\n", commands[i].usage,
                       commands[i].help);
                free(rest);
                return 0;
            }
        }
        code = commands[i].run(&g, nrest - 1, rest + 1);
        free(rest);
        return code;
    }
    code = fail(EXIT_USAGE, rest[0],
                rest[0][0] == '-' ? "unknown option (see haven --help)"
                                  : "unknown command (see haven --help)");
    free(rest);
    return code;
}
