/*
 * exportcmd.c - `haven export` and `haven import`: argument parsing and
 * output around hv_export and hv_import.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "exportcmd.h"

#define EXIT_USAGE 64

static int usage_error(const char *what, const char *why)
{
    fprintf(stderr, "haven: %s: %s\n", what, why);
    return EXIT_USAGE;
}

/* Prints the engine's failure and returns its exit code. */
static int engine_error(hv_engine *e, hv_status st)
{
    const char *msg = hv_errmsg(e);
    fprintf(stderr, "haven: %s\n", msg && *msg ? msg : hv_strerror(st));
    return hv_status_exit_code(st);
}

static void print_text(const char *text, FILE *out)
{
    fputs(text, out);
    fputc('\n', out);
}

int exportcmd_export(const void *globals, exportcmd_open open, int json,
                     int argc, char **argv)
{
    hv_export_options o = {0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--pseudonymous")) {
            o.pseudonymous = 1;
            continue;
        }
        const char **slot = !strcmp(a, "--format")     ? &o.format
                            : !strcmp(a, "--out")      ? &o.out_path
                            : !strcmp(a, "--override") ? &o.override
                                                       : NULL;
        const char *since = NULL;
        if (!slot && strcmp(a, "--since"))
            return usage_error("export", "unknown argument (see haven export "
                                         "--help)");
        if (i + 1 >= argc)
            return usage_error("export", "option needs a value");
        if (!slot) {
            since = argv[++i];
            if (hv_time_parse(since, &o.since) != HV_OK)
                return usage_error("export", "--since: not an ISO 8601 time "
                                             "(e.g. 2026-11-01)");
            continue;
        }
        *slot = argv[++i];
    }
    if (!o.format)
        return usage_error("export", "--format csv or json is required");
    if (strcmp(o.format, "csv") && strcmp(o.format, "json"))
        return usage_error("export", "--format: csv or json");
    if (!strcmp(o.format, "csv") && !o.out_path)
        return usage_error("export", "CSV needs --out DIRECTORY (a file per "
                                     "table)");
    if (!o.out_path)
        o.out = stdout;
    hv_engine *e = NULL;
    int code = open(globals, &e);
    if (code)
        return code;
    char *text = NULL;
    hv_status st = hv_export(e, &o, &text);
    if (st != HV_OK) {
        code = engine_error(e, st);
    } else if (o.out_path) {
        json_t *r = json_loads(text, 0, NULL);
        if (json) {
            print_text(text, stdout);
        } else {
            json_int_t n = json_integer_value(json_object_get(r, "cases"));
            json_int_t left = json_integer_value(json_object_get(r,
                                                 "left_out_without_consent"));
            json_int_t over = json_integer_value(json_object_get(r,
                                                 "consent_overridden"));
            printf("exported %lld case%s (%s) to %s\n", (long long)n,
                   n == 1 ? "" : "s", o.pseudonymous ? "pseudonymous" : "identifiable",
                   o.out_path);
            if (left)
                printf("left out %lld case%s without export consent (haven "
                       "consent REF scope=export given_by=...; or a supervisor's "
                       "--override REASON)\n", (long long)left, left == 1 ? "" : "s");
            if (over)
                printf("included %lld case%s without export consent under the "
                       "override (audited)\n", (long long)over, over == 1 ? "" : "s");
        }
        json_decref(r);
    }
    hv_free(text);
    hv_engine_close(e);
    return code;
}

int exportcmd_import(const void *globals, exportcmd_open open, int json,
                     int argc, char **argv)
{
    hv_import_options o = {0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--skip-bad")) {
            o.skip_bad = 1;
        } else if (!strcmp(a, "--format")) {
            if (i + 1 >= argc)
                return usage_error("import", "--format needs csv or json");
            o.format = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return usage_error("import", "unknown option (see haven import "
                                         "--help)");
        } else if (o.path) {
            return usage_error("import", "one FILE at a time");
        } else {
            o.path = a;
        }
    }
    if (!o.format || (strcmp(o.format, "csv") && strcmp(o.format, "json")))
        return usage_error("import", "--format csv or json is required");
    if (!o.path)
        return usage_error("import", "a FILE is required");
    hv_engine *e = NULL;
    int code = open(globals, &e);
    if (code)
        return code;
    char *text = NULL;
    hv_status st = hv_import(e, &o, &text);
    if (text) {
        json_t *r = json_loads(text, 0, NULL);
        if (json) {
            print_text(text, stdout);
        } else {
            size_t i;
            json_t *row;
            json_array_foreach(json_object_get(r, "rejected"), i, row)
                printf("row %lld: %s: %s\n",
                       (long long)json_integer_value(json_object_get(row, "row")),
                       json_string_value(json_object_get(row, "field")),
                       json_string_value(json_object_get(row, "why")));
            if (st == HV_OK)
                printf("imported %lld of %lld row%s%s\n",
                       (long long)json_integer_value(json_object_get(r, "imported")),
                       (long long)json_integer_value(json_object_get(r, "rows")),
                       json_integer_value(json_object_get(r, "rows")) == 1 ? "" : "s",
                       json_array_size(json_object_get(r, "rejected"))
                           ? " (the rejected rows above were skipped)" : "");
        }
        json_decref(r);
    }
    if (st != HV_OK)
        code = engine_error(e, st);
    hv_free(text);
    hv_engine_close(e);
    return code;
}
