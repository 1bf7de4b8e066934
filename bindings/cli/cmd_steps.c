/*
 * cmd_steps.c - a command per lifecycle step (assess, plan, approve, ...),
 * made from haven.h's HV_STEP_MAP:
 *
 *   haven STEP REF [key=value ... | --json-in FILE] [--expect-version N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "kv.h"
#include "render.h"

static const kv_field step_fields[] = {
    {"needs", KV_LIST},        {"risks", KV_LIST},     {"strengths", KV_LIST},
    {"info_needed", KV_LIST},  {"sources", KV_LIST},   {"verified", KV_LIST},
    {"participants", KV_LIST}, {"decisions", KV_LIST}, {"indicators", KV_LIST},
    {"addresses", KV_LIST},    {"action", KV_INT},     {"referral", KV_INT},
    {"withdraw", KV_BOOL},
    /* update */
    {"child.age", KV_INT},     {"family", KV_MAP},     {"family.*.age", KV_INT},
    {"family.*.lives_with_child", KV_BOOL},            {"form.*", KV_AUTO},
    {NULL, KV_TEXT},
};

/* A step's arguments. */
typedef struct {
    const char *ref;
    const char *json_in;
    long long expect;
    char **pairs;
    int npairs;
} step_args;

/* Sorts the step name's arguments into a (a->pairs has room for argc).
 * Returns 0, or a usage error's exit code after printing it. */
static int parse_step(const char *name, int argc, char **argv, step_args *a)
{
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json-in") || !strcmp(argv[i], "--expect-version")) {
            if (i + 1 >= argc)
                return cli_usage_error(name, "option needs a value");
            if (argv[i][2] == 'j') {
                a->json_in = argv[++i];
            } else {
                char *end;
                a->expect = strtoll(argv[++i], &end, 10);
                if (*end || a->expect <= 0)
                    return cli_usage_error(name,
                                           "--expect-version needs a positive number");
            }
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            return cli_unknown_option(name, argv[i]);
        } else if (!a->ref && !strchr(argv[i], '=')) {
            a->ref = argv[i];
        } else {
            a->pairs[a->npairs++] = argv[i];
        }
    }
    if (!a->ref)
        return cli_usage_error(name, "give a case reference");
    if (a->json_in && a->npairs)
        return cli_usage_error(name, "give key=value pairs or --json-in, not both");
    return 0;
}

/* Runs the step name on a case with the arguments argv[0..argc) and prints
 * its outcome.  Returns the exit code. */
static int run_step(const cli_globals *g, const char *name, int argc, char **argv)
{
    step_args a = {0};
    int code = 0;
    char *input = NULL, *out = NULL;
    hv_engine *e = NULL;
    if (!(a.pairs = calloc((size_t)argc + 1, sizeof *a.pairs)))
        return hv_status_exit_code(HV_NOMEM);
    if ((code = parse_step(name, argc, argv, &a)) ||
        !(input = cli_input_json(name, a.json_in, a.npairs, a.pairs, step_fields,
                                 &code)) ||
        (code = cli_open_engine(g, &e)))
        goto done;
    hv_status st = hv_case_step(e, a.ref, name, input, a.expect, &out);
    if (st != HV_OK) {
        code = cli_engine_error(e, st);
    } else if (g->json) {
        cli_puts(out);
    } else {
        json_t *v = json_loads(out, 0, NULL);
        render_step(v);
        json_decref(v);
    }
done:
    hv_free(out);
    free(input);
    free(a.pairs);
    hv_engine_close(e);
    return code;
}

/* run_VERB: haven VERB REF ..., run_step for each step of HV_STEP_MAP. */
#define STEP_RUN(verb, synopsis, help)                                         \
    static int run_##verb(const cli_globals *g, int argc, char **argv)         \
    {                                                                          \
        return run_step(g, #verb, argc, argv);                                 \
    }
HV_STEP_MAP(STEP_RUN)
#undef STEP_RUN

/* cli_step_VERB: the command table's entry of each step. */
#define STEP_ENTRY(verb, synopsis, help)                                       \
    const cli_command cli_step_##verb = {#verb, run_##verb, NULL, synopsis, help, NULL};
HV_STEP_MAP(STEP_ENTRY)
#undef STEP_ENTRY
