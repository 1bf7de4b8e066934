/*
 * cmd_rules.c - the commands on rule packs and workflows: rules check,
 * test, reload, diff and apply; workflow check and graph.  `rules diff`
 * prints a line per changed decision, then the counts; or one JSON
 * document, streamed so a large caseload never sits in memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "render.h"

/* ---- rules diff: printing the changes ------------------------------------ */

/* Where `rules diff` prints: as JSON or not, and how many cases so far. */
typedef struct {
    int json;
    long long listed;
} printer;

/* The string member key of o, or "?". */
static const char *str_of(json_t *o, const char *key)
{
    return str_or(o, key, "?");
}

/* Writes a duration of s seconds into buf: "14 days", "36 hours",
 * "90 seconds". */
static void duration(json_int_t s, char *buf, size_t size)
{
    if (s % 86400 == 0)
        snprintf(buf, size, "%lld day%s", (long long)(s / 86400),
                 s == 86400 ? "" : "s");
    else if (s % 3600 == 0)
        snprintf(buf, size, "%lld hour%s", (long long)(s / 3600), plural_s(s / 3600));
    else
        snprintf(buf, size, "%lld second%s", (long long)s, plural_s(s));
}

/* Prints " (a, b, c)" for a non-empty list of strings. */
static void print_list(json_t *list)
{
    size_t i;
    json_t *v;
    if (!json_array_size(list))
        return;
    fprintf(cli_out(), " (");
    json_array_foreach(list, i, v)
        fprintf(cli_out(), "%s%s", i ? ", " : "", json_string_value(v));
    fprintf(cli_out(), ")");
}

/* Prints the follow-up and review changes of case ref as a user outside
 * its scope sees them (the intervals in whole days); 0 when c holds them
 * in full instead. */
static int print_days(const char *ref, json_t *c)
{
    static const char *const what[][2] = {{"followup", "follow-up"},
                                          {"review", "review"}};
    int shown = 0;
    for (int i = 0; i < 2; i++) {
        json_t *k = json_object_get(c, what[i][0]);
        json_t *o = json_object_get(json_object_get(k, "old"), "every_days");
        json_t *n = json_object_get(json_object_get(k, "new"), "every_days");
        if (!o || !n)
            continue;
        fprintf(cli_out(), "%s %s: every %lld day%s → every %lld day%s\n", ref, what[i][1],
               (long long)json_integer_value(o), json_integer_value(o) == 1 ? "" : "s",
               (long long)json_integer_value(n), json_integer_value(n) == 1 ? "" : "s");
        shown = 1;
    }
    return shown;
}

/* Prints the follow-up and review changes k of case ref. */
static void print_schedules(const char *ref, json_t *c)
{
    json_t *k;
    char a[32], b[32];
    if (print_days(ref, c))
        return;
    if ((k = json_object_get(c, "followup"))) {
        json_t *o = json_object_get(k, "old"), *n = json_object_get(k, "new");
        json_t *due = json_object_get(k, "due");
        duration(json_integer_value(json_object_get(o, "every")), a, sizeof a);
        duration(json_integer_value(json_object_get(n, "every")), b, sizeof b);
        fprintf(cli_out(), "%s follow-up: every %s by %s → every %s by %s, due %s → %s", ref,
               a, str_of(o, "method"), b, str_of(n, "method"),
               str_of(due, "old"), str_of(due, "new"));
        print_list(json_object_get(n, "reasons"));
        fprintf(cli_out(), "\n");
    }
    if ((k = json_object_get(c, "review"))) {
        json_t *due = json_object_get(k, "due");
        duration(json_integer_value(json_object_get(json_object_get(k, "old"),
                                                    "every")), a, sizeof a);
        duration(json_integer_value(json_object_get(json_object_get(k, "new"),
                                                    "every")), b, sizeof b);
        fprintf(cli_out(), "%s review: every %s → every %s, due %s → %s\n", ref, a, b,
               str_of(due, "old"), str_of(due, "new"));
    }
}

/* Prints the changed decisions of one case c, a line each.  A case
 * outside the user's scope comes without scores, codes or the closure's
 * reason (rulesdiff.c): its levels and verdicts only. */
static void print_case(json_t *c)
{
    const char *ref = str_of(c, "ref");
    json_t *k;
    if ((k = json_object_get(c, "risk"))) {
        json_t *o = json_object_get(k, "old"), *n = json_object_get(k, "new");
        fprintf(cli_out(), "%s risk: %s", ref, str_of(o, "level"));
        if (json_object_get(o, "score"))
            fprintf(cli_out(), " (%g)", json_number_value(json_object_get(o, "score")));
        fprintf(cli_out(), " → %s", str_of(n, "level"));
        if (json_object_get(n, "score"))
            fprintf(cli_out(), " (%g)", json_number_value(json_object_get(n, "score")));
        print_list(json_object_get(n, "factors"));
        fprintf(cli_out(), "\n");
    }
    print_schedules(ref, c);
    if ((k = json_object_get(c, "closure"))) {
        json_t *o = json_object_get(k, "old"), *n = json_object_get(k, "new");
        fprintf(cli_out(), "%s closure", ref);
        if (json_object_get(k, "reason"))
            fprintf(cli_out(), " (%s)", str_of(k, "reason"));
        fprintf(cli_out(), ": %s → %s",
               json_is_true(json_object_get(o, "ok")) ? "allowed" : "refused",
               json_is_true(json_object_get(n, "ok")) ? "allowed" : "refused");
        print_list(json_object_get(n, "unmet"));
        fprintf(cli_out(), "\n");
    }
}

/* hv_rules_diff's callback: prints one changed case as it comes. */
static void on_change(void *ud, const char *case_json)
{
    printer *p = ud;
    if (p->json) {
        fprintf(cli_out(), "%s\n    %s", p->listed ? "," : "", case_json);
    } else {
        json_t *c = json_loads(case_json, 0, NULL);
        if (c)
            print_case(c);
        json_decref(c);
    }
    p->listed++;
}

/* Parses "risk,followup,review,closure" into HV_DIFF_ bits; 0 if bad. */
static unsigned diff_hooks(const char *list)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"risk", HV_DIFF_RISK}, {"followup", HV_DIFF_FOLLOWUP},
                 {"review", HV_DIFF_REVIEW}, {"closure", HV_DIFF_CLOSURE}};
    unsigned bits = 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        unsigned bit = 0;
        for (size_t i = 0; i < sizeof names / sizeof *names; i++)
            if (strlen(names[i].name) == n && !strncmp(names[i].name, p, n))
                bit = names[i].bit;
        if (!bit)
            return 0;
        bits |= bit;
        p += n + (p[n] == ',');
    }
    return bits;
}

/* Prints the summary r of `rules diff` for people: the counts and the rule
 * errors; listed says whether cases were listed above it. */
static void print_diff_summary(json_t *r, long long listed, long long rule_errors)
{
    json_t *old = json_object_get(r, "old"), *new = json_object_get(r, "new");
    json_t *counts = json_object_get(r, "counts"), *errors;
    const char *key;
    json_t *v;
    size_t i;
    fprintf(cli_out(), "%s%lld open case%s evaluated: %lld would change (%s %s %.12s → "
           "%s %s %.12s)\n", listed ? "\n" : "",
           (long long)json_integer_value(json_object_get(r, "cases_evaluated")),
           json_integer_value(json_object_get(r, "cases_evaluated")) == 1 ? "" : "s",
           (long long)json_integer_value(json_object_get(r, "cases_changed")),
           str_of(old, "name"), str_of(old, "version"), str_of(old, "hash"),
           str_of(new, "name"), str_of(new, "version"), str_of(new, "hash"));
    if (!strcmp(str_of(r, "answered_from"), "digest"))
        fprintf(cli_out(), "answered from the packs' digest: the same pack as the one "
               "in force, so no decision can change (no rule was run)\n");
    json_object_foreach(counts, key, v)
        fprintf(cli_out(), "  %s: %lld\n", key, (long long)json_integer_value(v));
    if (json_is_true(json_object_get(r, "outside_scope"))) {
        json_t *fields = json_object_get(r, "fields_not_shown");
        fprintf(cli_out(), "note: these cases are outside your scope: each case lists only "
               "its risk levels, follow-up and review intervals in whole days "
               "and closure verdict");
        if (json_array_size(fields)) {
            fprintf(cli_out(), "; the rules ran without the form fields the packs read (");
            json_array_foreach(fields, i, v)
                fprintf(cli_out(), "%s%s", i ? ", " : "", json_string_value(v));
            fprintf(cli_out(), "), so this diff is partial");
        }
        fprintf(cli_out(), "\n");
    }
    errors = json_object_get(r, "errors");
    json_array_foreach(errors, i, v)
        fprintf(cli_out(), "rule error: %s %s (%s pack): %s\n", str_of(v, "ref"),
               str_of(v, "hook"), str_of(v, "pack"), str_of(v, "message"));
    if ((long long)json_array_size(errors) < rule_errors)
        fprintf(cli_out(), "rule error: ... %lld more\n",
               rule_errors - (long long)json_array_size(errors));
}

/* Runs hv_rules_diff for dir (NULL: the pack in force against itself) and
 * prints each changed case as it comes (text lines, or the JSON document
 * when json), then the counts and any rule errors.  out: *rule_errors (the
 * number of cases a rule failed on).  Returns the engine's status. */
static hv_status rules_diff(hv_engine *e, const char *dir, unsigned hooks, int full,
                            int json, long long *rule_errors)
{
    printer p = {json, 0};
    hv_rules_diff_options o = {hooks, on_change, &p, full};
    char *text = NULL;
    *rule_errors = 0;
    if (json)
        fprintf(cli_out(), "{\n  \"changed\": [");
    hv_status st = hv_rules_diff(e, dir, &o, &text);
    if (st != HV_OK) {
        if (json)
            fprintf(cli_out(), "]\n}\n");
        fflush(cli_out());
        return st;
    }
    json_t *r = json_loads(text, 0, NULL);
    *rule_errors = json_integer_value(json_object_get(r, "errors_total"));
    if (json) {
        /* the summary's members after "changed" */
        const char *body = strchr(text, '{');
        fprintf(cli_out(), "%s],\n%s\n", p.listed ? "\n  " : "", body ? body + 1 : "}");
    } else {
        print_diff_summary(r, p.listed, *rule_errors);
    }
    fflush(cli_out());
    json_decref(r);
    hv_free(text);
    return HV_OK;
}

/* Prints what `rules apply` did (hv_rules_apply's JSON r). */
static void render_apply(json_t *r)
{
    if (!json_is_true(json_object_get(r, "changed"))) {
        fprintf(cli_out(), "rules: %s %s (sha256 %.12s) already in force; nothing changed\n",
               str_of(r, "name"), str_of(r, "version"), str_of(r, "hash"));
        return;
    }
    fprintf(cli_out(), "rules: %s %s (sha256 %.12s) in force; %lld of %lld open case%s "
           "changed (risk and follow-up/review due dates updated, one event "
           "each)\n",
           str_of(r, "name"), str_of(r, "version"), str_of(r, "hash"),
           (long long)json_integer_value(json_object_get(r, "cases_changed")),
           (long long)json_integer_value(json_object_get(r, "cases_evaluated")),
           plural_s((long long)json_integer_value(json_object_get(r, "cases_evaluated"))));
}

/* ---- rules ------------------------------------------------------------------ */

/* rules diff [DIR] [--hooks LIST] [--full] [--json] | rules apply DIR
 * (argv[0] is "diff" or "apply").  Returns the exit code. */
static int cmd_rules_diff(const cli_globals *g, int argc, char **argv)
{
    const char *dir = NULL;
    unsigned hooks = 0;
    int json = g->json, full = 0, code;
    hv_engine *e = NULL;
    int apply = !strcmp(argv[0], "apply");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json") && !apply)
            json = 1;
        else if (!strcmp(argv[i], "--full") && !apply)
            full = 1;
        else if (!strcmp(argv[i], "--hooks") && i + 1 < argc && !apply) {
            if (!(hooks = diff_hooks(argv[++i])))
                return cli_usage_error("rules diff", "--hooks takes a list of "
                                       "risk, followup, review, closure");
        } else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else
            return cli_usage_error(apply ? "rules apply" : "rules diff",
                                   apply ? "use 'rules apply DIR'"
                                         : "use 'rules diff [DIR] [--hooks LIST] [--full] [--json]'");
    }
    if (apply && !dir)
        return cli_usage_error("rules apply", "use 'rules apply DIR'");
    /* a pack folder is on the disk it runs on */
    if (dir && cli_is_remote())
        return cli_remote_refuse(apply ? "rules apply DIR" : "rules diff DIR");
    if ((code = cli_open_engine(g, &e)))
        return code;
    if (apply) {
        char *text = NULL;
        hv_status st = hv_rules_apply(e, dir, &text);
        return cli_finish(g, e, st, text, render_apply);
    }
    long long rule_errors = 0;
    hv_status st = rules_diff(e, dir, hooks, full, json, &rule_errors);
    if (st != HV_OK)
        code = cli_engine_error(e, st);
    else if (rule_errors) {
        fprintf(cli_err(), "haven: rules diff: the rules failed on %lld evaluation%s "
                "(listed)\n", rule_errors, rule_errors == 1 ? "" : "s");
        code = hv_status_exit_code(HV_INVALID);
    }
    hv_engine_close(e);
    return code;
}

/* --json of rules check and rules test: the lines the engine wrote into
 * buf (len bytes), each line an object made by line(obj, text, dir),
 * appended to the array key of r, printed.  Returns the exit code code,
 * or an error's. */
static int print_lines_json(json_t *r, const char *key, char *buf, size_t len,
                            const char *dir, int (*line)(json_t *, const char *, const char *),
                            int code)
{
    json_t *lines = json_array();
    int bad = !r || !lines;
    for (char *p = buf; !bad && p && p < buf + len && *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        json_t *o = json_object();
        bad |= !o || line(o, p, dir) || json_array_append_new(lines, o);
        p = nl ? nl + 1 : NULL;
    }
    if (bad || json_object_set_new(r, key, lines)) {
        json_decref(r);
        return cli_fail_status(HV_NOMEM, NULL);
    }
    int printed = cli_print_json(r);
    return printed ? printed : code;
}

/* A line of rules check: "DIR: note" (what the pack reads and returns) or
 * a problem "FILE:LINE: message (sample: ...)". */
static int check_line(json_t *o, const char *text, const char *dir)
{
    size_t n = strlen(dir);
    int note = !strncmp(text, dir, n) && !strncmp(text + n, ": ", 2);
    return json_object_set_new(o, "problem", json_boolean(!note)) ||
           json_object_set_new(o, "text", json_string(note ? text + n + 2 : text));
}

/* A line of rules test: "ok   FILE: TEST", "FAIL FILE: TEST: WHY" (or
 * "FAIL FILE: WHY"); the closing "N passed, N failed" is left out. */
static int test_line(json_t *o, const char *text, const char *dir)
{
    (void)dir;
    int ok = !strncmp(text, "ok   ", 5);
    if (!ok && strncmp(text, "FAIL ", 5))
        return json_object_set_new(o, "ok", json_null()) ||
               json_object_set_new(o, "text", json_string(text));
    const char *file = text + 5, *colon = strstr(file, ": ");
    return json_object_set_new(o, "ok", json_boolean(ok)) ||
           json_object_set_new(o, "file", colon ? json_stringn(file, (size_t)(colon - file))
                                                : json_string(file)) ||
           json_object_set_new(o, "text", json_string(colon ? colon + 2 : ""));
}

/* rules check DIR: every hook of the pack loads and keeps its contract
 * (with --json: {dir, ok, problems, lines: [{problem, text}]}).
 * Returns the exit code. */
static int rules_check(const cli_globals *g, const char *dir)
{
    char *err = NULL, *buf = NULL;
    size_t len = 0;
    int problems = 0;
    FILE *out = g->json ? open_memstream(&buf, &len) : cli_out();
    if (!out)
        return cli_fail_status(HV_NOMEM, NULL);
    hv_status st = hv_rules_check_dir(dir, out, &problems, &err);
    if (g->json)
        fclose(out);
    if (st != HV_OK) {
        int code = cli_fail_status(st, err);
        hv_free(err);
        free(buf);
        return code;
    }
    if (g->json) {
        int code = problems ? hv_status_exit_code(HV_INVALID) : 0;
        if (problems)
            fprintf(cli_err(), "haven: rules check: %s: %d problem%s\n", dir, problems,
                    problems == 1 ? "" : "s");
        code = print_lines_json(json_pack("{s:s,s:b,s:i}", "dir", dir, "ok", !problems,
                                          "problems", problems),
                                "lines", buf, len, dir, check_line, code);
        free(buf);
        return code;
    }
    if (problems) {
        fprintf(cli_err(), "haven: rules check: %s: %d problem%s\n", dir, problems,
                problems == 1 ? "" : "s");
        return hv_status_exit_code(HV_INVALID);
    }
    fprintf(cli_out(), "%s: ok: every hook loads and returns its contract's shape\n", dir);
    return 0;
}

/* rules test DIR [--workflow FILE]: runs the pack's tests (with --json:
 * {dir, ok, passed, failed, tests: [{ok, file, text}]}).  Returns the exit
 * code. */
static int rules_test(const cli_globals *g, const char *dir, const char *workflow)
{
    char *err = NULL, *buf = NULL;
    size_t len = 0;
    int passed = 0, failed = 0;
    FILE *out = g->json ? open_memstream(&buf, &len) : cli_out();
    if (!out)
        return cli_fail_status(HV_NOMEM, NULL);
    hv_status st = hv_rules_test_dir_wf(dir, workflow, out, &passed, &failed, &err);
    if (g->json)
        fclose(out);
    if (st != HV_OK) {
        int code = cli_fail_status(st, err);
        hv_free(err);
        free(buf);
        return code;
    }
    int code = failed ? hv_status_exit_code(HV_INVALID) : 0;
    if (g->json) {
        /* the closing "N passed, N failed" line: the counts say it */
        char *last = len ? strrchr(buf, '\n') : NULL;
        if (last && last == buf + len - 1) {
            *last = '\0';
            char *prev = strrchr(buf, '\n');
            *(prev ? prev + 1 : buf) = '\0';
            len = strlen(buf);
        }
        code = print_lines_json(json_pack("{s:s,s:b,s:i,s:i}", "dir", dir, "ok", !failed,
                                          "passed", passed, "failed", failed),
                                "tests", buf, len, dir, test_line, code);
        free(buf);
    }
    return code;
}

/* haven rules check|test|reload|diff|apply ... */
static int cmd_rules(const cli_globals *g, int argc, char **argv)
{
    static const char *const use = "use 'rules check DIR', 'rules test DIR "
                                   "[--workflow FILE]' or 'rules reload [DIR]'";
    if (argc < 1)
        return cli_usage_error("rules", use);
    const char *sub = argv[0];
    if (!strcmp(sub, "diff") || !strcmp(sub, "apply"))
        return cmd_rules_diff(g, argc, argv);
    if (!strcmp(sub, "reload")) {
        hv_engine *e = NULL;
        char *text = NULL;
        int code;
        if (argc > 2)
            return cli_usage_error("rules reload", "give at most one DIR");
        if (argc == 2 && cli_is_remote())
            return cli_remote_refuse("rules reload DIR");
        if ((code = cli_open_engine(g, &e)))
            return code;
        hv_status st = hv_rules_reload(e, argc == 2 ? argv[1] : NULL, &text);
        return cli_finish(g, e, st, text, render_reload);
    }
    if (!strcmp(sub, "test") && argc == 4 && !strcmp(argv[2], "--workflow"))
        return rules_test(g, argv[1], argv[3]);
    if (!strcmp(sub, "test") && argc == 4 && !strcmp(argv[1], "--workflow"))
        return rules_test(g, argv[3], argv[2]);
    if ((strcmp(sub, "check") && strcmp(sub, "test")) || argc != 2)
        return cli_usage_error("rules", use);
    return !strcmp(sub, "check") ? rules_check(g, argv[1]) : rules_test(g, argv[1], NULL);
}

/* ---- workflow ------------------------------------------------------------ */

/* Prints workflow wf's graph in fmt (as JSON with --json).  Returns the
 * exit code. */
static int workflow_graph(const cli_globals *g, hv_workflow *wf, hv_graph_format fmt)
{
    char *text = NULL;
    int code = 0;
    hv_status st = hv_workflow_graph(wf, fmt, &text);
    if (st != HV_OK)
        code = cli_fail_status(st, hv_strerror(st));
    else if (g->json)
        code = cli_print_json(json_pack("{s:s,s:s,s:s}", "workflow", hv_workflow_id(wf),
                                        "format", fmt == HV_GRAPH_DOT ? "dot" : "mermaid",
                                        "graph", text));
    else
        fputs(text, cli_out());
    hv_free(text);
    return code;
}

/* Prints that workflow wf in file is well-formed (as JSON with --json).
 * Returns the exit code. */
static int workflow_checked(const cli_globals *g, const char *file, hv_workflow *wf)
{
    if (g->json)
        return cli_print_json(json_pack(
            "{s:s,s:b,s:s,s:s,s:i,s:I}", "file", file, "ok", 1, "id",
            hv_workflow_id(wf), "name", hv_workflow_name(wf), "version",
            hv_workflow_version(wf), "stages", (json_int_t)hv_workflow_stage_count(wf)));
    fprintf(cli_out(), "%s: ok: workflow %s version %d, %zu stages\n", file, hv_workflow_id(wf),
           hv_workflow_version(wf), hv_workflow_stage_count(wf));
    return 0;
}

/* The workflow wf as JSON: {id, name, version, stages: [{id, label}],
 * lookups: {NAME: [codes]}} (the Lua module's e:workflow()); NULL when out
 * of memory. */
static json_t *workflow_json(const hv_workflow *wf)
{
    json_t *stages = json_array(), *lookups = json_object();
    int bad = !stages || !lookups;
    for (size_t i = 0; !bad && i < hv_workflow_stage_count(wf); i++)
        bad = json_array_append_new(stages, json_pack("{s:s,s:s}", "id",
                                                      hv_workflow_stage_id(wf, i), "label",
                                                      hv_workflow_stage_label(wf, i))) != 0;
    for (size_t i = 0; !bad && i < hv_workflow_lookup_count(wf); i++) {
        size_t n;
        const char *const *codes = hv_workflow_lookup_codes(wf, i, &n);
        json_t *list = json_array();
        for (size_t j = 0; list && j < n; j++)
            bad |= json_array_append_new(list, json_string(codes[j])) != 0;
        bad |= json_object_set_new(lookups, hv_workflow_lookup_name(wf, i), list) != 0;
    }
    if (bad) {
        json_decref(stages);
        json_decref(lookups);
        return NULL;
    }
    return json_pack("{s:s,s:s,s:i,s:o,s:o}", "id", hv_workflow_id(wf), "name",
                     hv_workflow_name(wf), "version", hv_workflow_version(wf), "stages",
                     stages, "lookups", lookups);
}

/* haven workflow show: the workflow of the database (as JSON with --json). */
static int workflow_show(const cli_globals *g, int argc)
{
    hv_engine *e = NULL;
    int code;
    if (argc != 1)
        return cli_usage_error("workflow show", "takes no arguments");
    if ((code = cli_open_engine(g, &e)))
        return code;
    const hv_workflow *wf = hv_engine_workflow(e);
    if (g->json) {
        code = cli_print_json(workflow_json(wf));
    } else {
        fprintf(cli_out(), "workflow %s version %d: %s\nstages:", hv_workflow_id(wf),
                hv_workflow_version(wf), hv_workflow_name(wf));
        for (size_t i = 0; i < hv_workflow_stage_count(wf); i++)
            fprintf(cli_out(), " %s", hv_workflow_stage_id(wf, i));
        fputc('\n', cli_out());
    }
    hv_engine_close(e);
    return code;
}

/* haven workflow show | haven workflow check FILE | haven workflow graph FILE [--dot|--mermaid] */
static int cmd_workflow(const cli_globals *g, int argc, char **argv)
{
    hv_graph_format fmt = HV_GRAPH_DOT;
    const char *file = NULL;
    if (argc >= 1 && !strcmp(argv[0], "show"))
        return workflow_show(g, argc);
    if (argc < 1 || (strcmp(argv[0], "check") && strcmp(argv[0], "graph")))
        return cli_usage_error("workflow", "use 'workflow show', 'workflow check FILE' or "
                                           "'workflow graph FILE'");
    int graph = !strcmp(argv[0], "graph");
    for (int i = 1; i < argc; i++) {
        if (graph && !strcmp(argv[i], "--mermaid"))
            fmt = HV_GRAPH_MERMAID;
        else if (graph && !strcmp(argv[i], "--dot"))
            fmt = HV_GRAPH_DOT;
        else if (argv[i][0] == '-' && argv[i][1])
            return cli_unknown_option("workflow", argv[i]);
        else if (!file)
            file = argv[i];
        else
            return cli_usage_error("workflow", "give one FILE");
    }
    if (!file)
        return cli_usage_error("workflow", "give a workflow FILE");
    hv_workflow *wf = NULL;
    char *err = NULL, *text = NULL;
    hv_status st;
    if (cli_is_remote()) { /* the file as the request carries it */
        int code = 0;
        if (!(text = cli_read_input(file, &code)))
            return code;
        st = hv_workflow_load_string(text, strlen(text), file, &wf, &err);
        free(text);
    } else {
        st = hv_workflow_load_file(file, &wf, &err);
    }
    if (st != HV_OK) {
        int code = cli_fail_status(st, err);
        hv_free(err);
        return code;
    }
    int code = graph ? workflow_graph(g, wf, fmt) : workflow_checked(g, file, wf);
    hv_workflow_free(wf);
    return code;
}

/* ---- the commands -------------------------------------------------------------- */

const cli_command cli_cmd_workflow = {
    "workflow", cmd_workflow,
    "haven workflow show | haven workflow check FILE | "
    "haven workflow graph FILE [--dot|--mermaid]",
    NULL,
    "The process a case follows: stages, steps, tasks and their timings.\n"
    "show: the database's workflow (its id, version, name and stages; with\n"
    "--json also its lookups).\n"
    "check: check a workflow file without a database (errors give\n"
    "FILE:LINE:COLUMN).\n"
    "graph: draw a workflow file as Graphviz DOT (the default; pipe into\n"
    "`dot -Tsvg`) or Mermaid.",
    "the workflow: show, check, draw"};

const cli_command cli_cmd_rules = {
    "rules", cmd_rules,
    "haven rules check DIR | haven rules test DIR [--workflow FILE] | haven rules reload [DIR] | "
    "haven rules diff [DIR] [--hooks LIST] [--full] [--json] | haven rules apply DIR",
    NULL,
    "The agency's rule pack (a folder of Lua hooks and pack.yaml); only a pack\n"
    "that passes its check and its tests goes into force.\n"
    "check: load every hook of the pack in DIR and run it on sample cases,\n"
    "reporting each problem as FILE:LINE (exit 65 if any).\n"
    "test: run DIR/tests/*.lua, a line per test and 'N passed, N failed'; a\n"
    "test's case{} is checked as register checks its input (its fields, and\n"
    "with --workflow FILE the workflow's codes).\n"
    "reload: load the pack again (from DIR, or the folder recorded at init)\n"
    "into the database; a pack that fails to load leaves the one in force.\n"
    "diff: a dry run: which open cases in your scope the pack in DIR (default:\n"
    "the pack in force) would decide differently (risk, follow-up and review\n"
    "intervals, closure verdict), old -> new with the reasons; --hooks LIST\n"
    "limits it to some of risk,followup,review,closure.  The same pack as the\n"
    "one in force (the same files) is answered from their digest without\n"
    "running the rules; --full runs them anyway (to find the cases the pack\n"
    "in force fails on, or to time them).  Changes no case\n"
    "(exit 65 if a rule failed on a case).  A manager's or administrator's\n"
    "diff runs the rules without the declared form fields, shows levels and\n"
    "whole-day intervals only, and is recorded (a rules_diffed event).\n"
    "apply: switch to the pack in DIR and update the affected open cases\n"
    "(risk, follow-up and review due dates) in one transaction, one event\n"
    "per case; a rule error on any case changes nothing (administrators).",
    "the rule pack: check, test, reload, diff, apply"};
