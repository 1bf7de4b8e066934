/*
 * cmd_data.c - the commands that move data in and out: export, import,
 * report (report.c draws it) and gen (a synthetic caseload, gen.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "gen.h"
#include "render.h"
#include "report.h"

/* ---- export and import ------------------------------------------------------ */

/* Reads export's arguments into o.  Returns 0, or a usage error's exit
 * code after printing it. */
static int parse_export(int argc, char **argv, hv_export_options *o)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--pseudonymous")) {
            o->pseudonymous = 1;
            continue;
        }
        const char **slot = !strcmp(a, "--format")     ? &o->format
                            : !strcmp(a, "--out")      ? &o->out_path
                            : !strcmp(a, "--override") ? &o->override
                                                       : NULL;
        if (!slot && strcmp(a, "--since"))
            return cli_unknown_argument("export", a);
        if (i + 1 >= argc)
            return cli_usage_error("export", "option needs a value");
        if (slot)
            *slot = argv[++i];
        else if (hv_time_parse(argv[++i], &o->since) != HV_OK)
            return cli_usage_error("export", "--since: not an ISO 8601 time "
                                             "(e.g. 2026-11-01)");
    }
    if (!o->format)
        return cli_usage_error("export", "--format csv or json is required");
    if (strcmp(o->format, "csv") && strcmp(o->format, "json"))
        return cli_usage_error("export", "--format: csv or json");
    if (!strcmp(o->format, "csv") && !o->out_path)
        return cli_usage_error("export", "CSV needs --out DIRECTORY (a file per "
                                         "table)");
    return 0;
}

/* Prints what an export to a file or folder wrote (hv_export's JSON r). */
static void render_exported(const hv_export_options *o, json_t *r)
{
    json_int_t n = json_integer_value(json_object_get(r, "cases"));
    json_int_t left = json_integer_value(json_object_get(r, "left_out_without_consent"));
    json_int_t over = json_integer_value(json_object_get(r, "consent_overridden"));
    fprintf(cli_out(), "exported %lld case%s (%s) to %s\n", (long long)n, n == 1 ? "" : "s",
           o->pseudonymous ? "pseudonymous" : "identifiable", o->out_path);
    if (left)
        fprintf(cli_out(), "left out %lld case%s without export consent (haven "
               "consent REF scope=export given_by=...; or a supervisor's "
               "--override REASON)\n", (long long)left, left == 1 ? "" : "s");
    if (over)
        fprintf(cli_out(), "included %lld case%s without export consent under the "
               "override (audited)\n", (long long)over, over == 1 ? "" : "s");
}

/* Prints the summary text of an export to a file: as it is (--json), or
 * for people.  In remote mode the file went into the request's outputs
 * (out_path, the user's name for it), which the summary's "files" names. */
static void print_exported(const cli_globals *g, const hv_export_options *o,
                           const char *out_path, char *text)
{
    json_t *r = json_loads(text, 0, NULL);
    if (cli_is_remote() && r)
        json_object_set_new(r, "files", json_pack("[s]", out_path));
    char *shown = g->json && cli_is_remote() && r
                      ? json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER)
                      : NULL;
    if (g->json) {
        cli_puts(shown ? shown : text);
    } else {
        hv_export_options named = *o;
        named.out_path = out_path;
        render_exported(&named, r);
    }
    free(shown);
    json_decref(r);
}

/* haven export --format csv|json [--pseudonymous] [--since T]
 * [--override REASON] [--out PATH] */
static int cmd_export(const cli_globals *g, int argc, char **argv)
{
    hv_export_options o = {0};
    hv_engine *e = NULL;
    char *text = NULL;
    cli_output file = {0};
    int code;
    if ((code = parse_export(argc, argv, &o)))
        return code;
    const char *out_path = o.out_path;
    /* Remotely a JSON file is written into the request's outputs; a CSV
     * export is a folder of files on the disk it runs on. */
    if (cli_is_remote() && !strcmp(o.format, "csv"))
        return cli_remote_refuse("export --format csv");
    if (cli_is_remote() && out_path) {
        if (!(o.out = cli_output_open(&file, out_path)))
            return hv_status_exit_code(HV_NOMEM);
        o.out_path = NULL;
    } else if (!o.out_path) {
        o.out = cli_out();
    }
    if ((code = cli_open_engine(g, &e))) {
        cli_output_drop(&file);
        return code;
    }
    hv_status st = hv_export(e, &o, &text);
    if (st != HV_OK)
        code = cli_engine_error(e, st);
    else if (file.f)
        code = cli_output_keep(&file);
    if (st == HV_OK && !code && out_path)
        print_exported(g, &o, out_path, text);
    cli_output_drop(&file);
    hv_free(text);
    hv_engine_close(e);
    return code;
}

/* Reads import's arguments into o.  Returns 0, or a usage error's exit
 * code after printing it. */
static int parse_import(int argc, char **argv, hv_import_options *o)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--skip-bad")) {
            o->skip_bad = 1;
        } else if (!strcmp(a, "--format")) {
            if (i + 1 >= argc)
                return cli_usage_error("import", "--format needs csv or json");
            o->format = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return cli_unknown_option("import", a);
        } else if (o->path) {
            return cli_usage_error("import", "one FILE at a time");
        } else {
            o->path = a;
        }
    }
    if (!o->format || (strcmp(o->format, "csv") && strcmp(o->format, "json")))
        return cli_usage_error("import", "--format csv or json is required");
    if (!o->path)
        return cli_usage_error("import", "a FILE is required");
    return 0;
}

/* Prints the rejected rows of an import (hv_import's JSON r) and, when it
 * succeeded (ok), how many rows it imported. */
static void render_imported(json_t *r, int ok)
{
    size_t i;
    json_t *row, *rejected = json_object_get(r, "rejected");
    json_array_foreach(rejected, i, row)
        fprintf(cli_out(), "row %lld: %s: %s\n",
               (long long)json_integer_value(json_object_get(row, "row")),
               json_string_value(json_object_get(row, "field")),
               json_string_value(json_object_get(row, "why")));
    if (!ok)
        return;
    json_int_t rows = json_integer_value(json_object_get(r, "rows"));
    fprintf(cli_out(), "imported %lld of %lld row%s%s\n",
           (long long)json_integer_value(json_object_get(r, "imported")),
           (long long)rows, rows == 1 ? "" : "s",
           json_array_size(rejected) ? " (the rejected rows above were skipped)" : "");
}

/* haven import --format csv|json FILE [--skip-bad] */
static int cmd_import(const cli_globals *g, int argc, char **argv)
{
    hv_import_options o = {0};
    hv_engine *e = NULL;
    char *text = NULL;
    int code;
    if ((code = parse_import(argc, argv, &o)))
        return code;
    /* Remotely the file is the request's input, read from memory. */
    if (cli_is_remote()) {
        size_t len;
        const char *content = cli_remote_input(o.path, &len, &code);
        if (!content)
            return code;
        if (!(o.in = fmemopen((void *)content, len, "rb")))
            return cli_fail_status(HV_NOMEM, NULL);
    }
    if ((code = cli_open_engine(g, &e))) {
        if (o.in)
            fclose(o.in);
        return code;
    }
    hv_status st = hv_import(e, &o, &text);
    if (o.in)
        fclose(o.in);
    if (text && g->json) {
        cli_puts(text);
    } else if (text) {
        json_t *r = json_loads(text, 0, NULL);
        render_imported(r, st == HV_OK);
        json_decref(r);
    }
    if (st != HV_OK)
        code = cli_engine_error(e, st);
    hv_free(text);
    hv_engine_close(e);
    return code;
}

/* ---- report ----------------------------------------------------------------- */

/* Reads report's arguments into o and *html.  Returns 0, or a usage
 * error's exit code after printing it. */
static int parse_report(int argc, char **argv, hv_report_options *o, const char **html)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--since") && strcmp(a, "--until") &&
            strcmp(a, "--caseworker") && strcmp(a, "--html"))
            return cli_unknown_argument("report", a);
        if (i + 1 >= argc)
            return cli_usage_error("report", "option needs a value");
        const char *v = argv[++i];
        if (!strcmp(a, "--caseworker")) {
            o->caseworker = v;
        } else if (!strcmp(a, "--html")) {
            *html = v;
        } else if (hv_time_parse(v, !strcmp(a, "--since") ? &o->since : &o->until) != HV_OK) {
            return cli_usage_error("report", "--since and --until take an ISO 8601 "
                                             "date or time (2026-11-28)");
        }
    }
    return 0;
}

/* Prints the report r: the HTML page into html, or JSON (--json), or text
 * tables.  Returns the exit code. */
static int print_report(const cli_globals *g, json_t *r, const char *html)
{
    int code = 0;
    if (html) {
        code = report_write_html(html, r);
        if (code == 0 && g->json)
            code = cli_print_json(json_pack("{s:s,s:s}", "report", "caseload", "html", html));
        else if (code == 0)
            fprintf(cli_out(), "caseload report written to %s\n", html);
    } else if (g->json) {
        /* indented as every --json answer, written as it is made */
        if (json_dumpf(r, cli_out(), JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                      JSON_REAL_PRECISION(12)) ||
            fputc('\n', cli_out()) == EOF)
            code = hv_status_exit_code(HV_INTERNAL);
    } else {
        render_report(r);
    }
    return code;
}

/* haven report [--since T] [--until T] [--caseworker LOGIN] [--html FILE] */
static int cmd_report(const cli_globals *g, int argc, char **argv)
{
    hv_report_options o = {0};
    const char *html = NULL;
    hv_engine *e = NULL;
    char *text = NULL;
    int code;
    if ((code = parse_report(argc, argv, &o, &html)) || (code = cli_open_engine(g, &e)))
        return code;
    /* One-line JSON, parsed here: on a national caseload the report's
     * indented text alone was tens of megabytes (one entry per caseworker). */
    o.compact = 1;
    hv_status st = hv_report_json(e, &o, &text);
    if (st != HV_OK)
        return cli_finish(g, e, st, text, render_report);
    json_t *r = json_loads(text, 0, NULL);
    hv_free(text);
    hv_engine_close(e);
    if (!r)
        return cli_fail(HV_INTERNAL, "report",
                        "the engine's report is not JSON (out of memory?)");
    code = print_report(g, r, html);
    json_decref(r);
    return code;
}

/* ---- gen: a synthetic caseload ------------------------------------------------ */

/* A shipped file: path as given if it exists, else under HAVEN_DATADIR
 * (written into buf, which the result may be). */
static const char *shipped(const char *path, char *buf, size_t size)
{
    if (access(path, F_OK) == 0)
        return path;
    snprintf(buf, size, "%s/%s", HAVEN_DATADIR, path);
    return buf;
}

/* Reads gen's option a with its value v into o or io (*agency_given when
 * --agency).  Returns 0, or a usage error's exit code after printing it. */
static int gen_option(const char *a, const char *v, gen_options *o,
                      hv_init_options *io, int *agency_given)
{
    char *end;
    if (!strcmp(a, "--history")) {
        long n = strtol(v, &end, 10);
        if (*end || n < 0 || n > 100)
            return cli_usage_error("gen", "--history takes a percentage 0-100");
        o->history_percent = n == 100 ? 0 : n == 0 ? -1 : (int)n;
    } else if (!strcmp(a, "--cases") || !strcmp(a, "--batch") || !strcmp(a, "--span")) {
        long n = strtol(v, &end, 10);
        if (*end || n < 1 || n > 100000000)
            return cli_usage_error("gen", "--cases, --batch and --span take a "
                                          "positive whole number");
        if (a[2] == 'c')
            o->cases = n;
        else if (a[2] == 'b')
            o->batch = (int)(n > 1000000 ? 1000000 : n);
        else
            o->span_days = (int)(n > 36500 ? 36500 : n);
    } else if (!strcmp(a, "--seed")) {
        o->seed = strtoull(v, &end, 10);
        if (*end || !*v || *v == '-' || *v == '+')
            return cli_usage_error("gen", "--seed takes a whole number");
    } else if (!strcmp(a, "--workflow")) {
        io->workflow_path = v;
    } else if (!strcmp(a, "--rules")) {
        io->rules_dir = v;
    } else if (!strcmp(a, "--agency")) {
        io->agency = v;
        *agency_given = 1;
    } else {
        return cli_unknown_argument("gen", a);
    }
    return 0;
}

/* Reads gen's arguments into o and io.  Returns 0, or a usage error's exit
 * code after printing it. */
static int parse_gen(int argc, char **argv, gen_options *o, hv_init_options *io,
                     int *agency_given)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int code;
        if (!strcmp(a, "--bulk")) {
            o->batch = 1000;
            continue;
        }
        if (!v)
            return a[0] == '-' ? cli_usage_error("gen", "unknown option or option without "
                                                        "a value (see haven gen --help)")
                               : cli_unknown_argument("gen", a);
        i++;
        if ((code = gen_option(a, v, o, io, agency_given)))
            return code;
    }
    if (o->cases < 1)
        return cli_usage_error("gen", "--cases N is required");
    return 0;
}

/* Makes the database g->db for gen when it does not exist yet (with the
 * shipped workflow and rules unless io names them); an existing one takes
 * no --workflow, --rules or --agency.  Returns 0, or the exit code after
 * printing the error. */
static int gen_database(const cli_globals *g, hv_init_options *io, int agency_given)
{
    char wbuf[4096], rbuf[4096], *err = NULL;
    if (hv_database_exists(g->db)) {
        if (io->workflow_path || io->rules_dir || agency_given)
            return cli_usage_error("gen", "--workflow, --rules and --agency are for "
                                          "a new database; this one exists");
        return 0;
    }
    if (!io->workflow_path)
        io->workflow_path = shipped("workflows/iasc.yaml", wbuf, sizeof wbuf);
    if (!io->rules_dir && !strstr(io->workflow_path, "/trafficking") &&
        !strstr(io->workflow_path, "/survivor"))
        io->rules_dir = shipped("rules/default", rbuf, sizeof rbuf);
    io->admin = g->as;
    hv_status st = hv_engine_init(g->db, io, &err);
    io->workflow_path = io->rules_dir = NULL; /* buf goes out of scope */
    if (st != HV_OK) {
        int code = cli_fail_status(st, err);
        hv_free(err);
        return code;
    }
    return 0;
}

/* Prints what gen made: the counts o and st (as JSON with --json).
 * Returns the exit code. */
static int print_generated(const cli_globals *g, const gen_options *o,
                           const gen_stats *st)
{
    double rate = st->seconds > 0 ? (double)o->cases / st->seconds : 0;
    if (g->json)
        return cli_print_json(json_pack(
            "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:f}", "cases",
            (json_int_t)o->cases, "seed", (json_int_t)o->seed, "registered",
            (json_int_t)st->registered, "not_registered", (json_int_t)st->not_registered,
            "open", (json_int_t)st->open, "closed", (json_int_t)st->closed, "steps",
            (json_int_t)st->steps, "refused", (json_int_t)st->refused, "caseworkers",
            (json_int_t)st->caseworkers, "supervisors", (json_int_t)st->supervisors,
            "seconds", st->seconds, "cases_per_second", rate));
    fprintf(cli_out(), "generated %ld case%s (seed %llu): %ld open, %ld closed, %ld not "
           "registered; %ld steps (%ld refused by rules); %ld caseworkers, %ld "
           "supervisors; %.1f s, %.0f cases/s\n",
           o->cases, plural_s(o->cases), o->seed, st->open, st->closed, st->not_registered, st->steps,
           st->refused, st->caseworkers, st->supervisors, st->seconds, rate);
    return 0;
}

/* haven gen --cases N [--seed S] [--bulk | --batch N] [--span DAYS]
 * [--history PERCENT] [--workflow FILE --rules DIR --agency CODE] */
static int cmd_gen(const cli_globals *g, int argc, char **argv)
{
    gen_options o = {.seed = 1};
    /* synthetic cases: a simulated database, whose clock gen sets */
    hv_init_options io = {.agency = "GEN", .agency_name = "Synthetic caseload",
                          .simulated = 1};
    int agency_given = 0, code;
    hv_engine *e = NULL;
    if ((code = parse_gen(argc, argv, &o, &io, &agency_given)))
        return code;
    if (g->has_now)
        o.end = g->now;
    if ((code = gen_database(g, &io, agency_given)) || (code = cli_open_engine(g, &e)))
        return code;
    gen_stats st;
    char *err = NULL;
    hv_status s = gen_run(e, g->as, &o, &st, &err);
    if (s != HV_OK) {
        code = cli_fail_status(s, err);
        free(err);
    } else {
        code = print_generated(g, &o, &st);
    }
    hv_engine_close(e);
    return code;
}

/* ---- the commands -------------------------------------------------------------- */

const cli_command cli_cmd_gen = {
    "gen", cmd_gen,
    "haven gen --cases N [--seed S] [--bulk | --batch N] [--span DAYS]\n"
    "          [--history PERCENT]\n"
    "          [--workflow FILE --rules DIR --agency CODE]",
    NULL,
    "Fill a database with a synthetic caseload through the engine's own API:\n"
    "children registered over the last --span days (730) before --now\n"
    "(2026-11-28T09:00Z), walked through assessment, planning, approval,\n"
    "actions, referrals, follow-ups, reviews, closure and the final follow-up;\n"
    "some stall and fall late.  Caseworkers cw0001... get 20-60 open cases\n"
    "each, supervisors sup001... a team of six.  The same seed gives the same\n"
    "caseload.  A new database is made with --workflow (workflows/iasc.yaml)\n"
    "and --rules (rules/default), the acting user its administrator; it is\n"
    "simulated (see init --simulated), and gen refuses a live database.  --bulk\n"
    "commits 1,000 registrations (with their histories) per transaction.\n"
    "--history walks only that share of the cases (100); the rest stay as\n"
    "registered, waiting for their initial assessment.",
    "a synthetic caseload for training and benchmarks"};

const cli_command cli_cmd_export = {
    "export", cmd_export,
    "haven export --format csv|json [--pseudonymous] [--since TIME] [--override REASON] "
    "[--out PATH]",
    NULL,
    "Export the cases in your scope: CSV (--out DIRECTORY: cases, persons,\n"
    "assessments, plans, actions, referrals, followups, reviews, closures .csv)\n"
    "or JSON (whole case histories; --out FILE, default standard output).\n"
    "Each file says what it holds and for whom (# lines in CSV, \"about\" in\n"
    "JSON).  Identifiable exports need the data key and include only cases\n"
    "with consent scope export or information_sharing, unless a supervisor\n"
    "gives --override REASON (a code); --pseudonymous drops names, dates of\n"
    "birth (age bands instead), locations below the district and free text.\n"
    "Every export is audited.",
    "export cases as CSV or JSON"};

const cli_command cli_cmd_import = {
    "import", cmd_import,
    "haven import --format csv|json FILE [--skip-bad]",
    NULL,
    "Import registrations (CSV: a header of 'haven register' keys, one child\n"
    "per row) or whole case histories (a Haven JSON export), in one\n"
    "transaction: every rejected row is reported as 'row N: FIELD: why' and\n"
    "nothing is written (exit 65) unless --skip-bad, which keeps the good\n"
    "rows (exit 0).",
    "import registrations or case histories"};

const cli_command cli_cmd_report = {
    "report", cmd_report,
    "haven report [--since TIME] [--until TIME] [--caseworker LOGIN] [--html FILE]",
    NULL,
    "Where the caller's cases stand and what is late: open cases by stage,\n"
    "risk and urgency; overdue and due-this-week tasks by kind and\n"
    "caseworker; approvals pending; follow-up compliance; days to the initial\n"
    "assessment, the approved plan and closure; closure reasons; cases\n"
    "registered and closed per month.  A caseworker sees their cases, a\n"
    "supervisor the team's, a manager the agency's (aggregates, no names).\n"
    "--since/--until bound the period; --html writes one self-contained page\n"
    "with a chart per figure (mode 0600).",
    "where the cases stand and what is late"};
