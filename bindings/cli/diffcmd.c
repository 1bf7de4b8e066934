/* diffcmd.c - `haven rules diff` and `haven rules apply` output: a line per
 * changed decision, then the counts; or one JSON document, streamed so a
 * large caseload never sits in memory. */
#include "diffcmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int json;
    long long listed;
} printer;

static const char *str_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "?";
}

/* "14 days", "36 hours", "90 seconds". */
static void duration(json_int_t s, char *buf, size_t size)
{
    if (s % 86400 == 0)
        snprintf(buf, size, "%lld day%s", (long long)(s / 86400),
                 s == 86400 ? "" : "s");
    else if (s % 3600 == 0)
        snprintf(buf, size, "%lld hours", (long long)(s / 3600));
    else
        snprintf(buf, size, "%lld seconds", (long long)s);
}

static void print_list(json_t *list)
{
    size_t i;
    json_t *v;
    if (!json_array_size(list))
        return;
    printf(" (");
    json_array_foreach(list, i, v)
        printf("%s%s", i ? ", " : "", json_string_value(v));
    printf(")");
}

static void print_case(json_t *c)
{
    const char *ref = str_of(c, "ref");
    json_t *k;
    char a[32], b[32];
    if ((k = json_object_get(c, "risk"))) {
        json_t *o = json_object_get(k, "old"), *n = json_object_get(k, "new");
        printf("%s risk: %s (%g) → %s (%g)", ref, str_of(o, "level"),
               json_number_value(json_object_get(o, "score")), str_of(n, "level"),
               json_number_value(json_object_get(n, "score")));
        print_list(json_object_get(n, "factors"));
        printf("\n");
    }
    if ((k = json_object_get(c, "followup"))) {
        json_t *o = json_object_get(k, "old"), *n = json_object_get(k, "new");
        json_t *due = json_object_get(k, "due");
        duration(json_integer_value(json_object_get(o, "every")), a, sizeof a);
        duration(json_integer_value(json_object_get(n, "every")), b, sizeof b);
        printf("%s follow-up: every %s by %s → every %s by %s, due %s → %s", ref,
               a, str_of(o, "method"), b, str_of(n, "method"),
               str_of(due, "now"), str_of(due, "new"));
        print_list(json_object_get(n, "reasons"));
        printf("\n");
    }
    if ((k = json_object_get(c, "review"))) {
        json_t *due = json_object_get(k, "due");
        duration(json_integer_value(json_object_get(json_object_get(k, "old"),
                                                    "every")), a, sizeof a);
        duration(json_integer_value(json_object_get(json_object_get(k, "new"),
                                                    "every")), b, sizeof b);
        printf("%s review: every %s → every %s, due %s → %s\n", ref, a, b,
               str_of(due, "now"), str_of(due, "new"));
    }
    if ((k = json_object_get(c, "closure"))) {
        json_t *o = json_object_get(k, "old"), *n = json_object_get(k, "new");
        printf("%s closure (%s): %s → %s", ref, str_of(k, "reason"),
               json_is_true(json_object_get(o, "ok")) ? "allowed" : "refused",
               json_is_true(json_object_get(n, "ok")) ? "allowed" : "refused");
        print_list(json_object_get(n, "unmet"));
        printf("\n");
    }
}

static void on_change(void *ud, const char *case_json)
{
    printer *p = ud;
    if (p->json) {
        printf("%s\n    %s", p->listed ? "," : "", case_json);
    } else {
        json_t *c = json_loads(case_json, 0, NULL);
        if (c)
            print_case(c);
        json_decref(c);
    }
    p->listed++;
}

unsigned cli_diff_hooks(const char *list)
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

hv_status cli_rules_diff(hv_engine *e, const char *dir, unsigned hooks,
                         int json, long long *rule_errors)
{
    printer p = {json, 0};
    hv_rules_diff_options o = {hooks, on_change, &p};
    char *text = NULL;
    *rule_errors = 0;
    if (json)
        printf("{\n  \"changed\": [");
    hv_status st = hv_rules_diff(e, dir, &o, &text);
    if (st != HV_OK) {
        if (json)
            printf("]\n}\n");
        fflush(stdout);
        return st;
    }
    json_t *r = json_loads(text, 0, NULL);
    *rule_errors = json_integer_value(json_object_get(r, "errors_total"));
    if (json) {
        /* the summary's members after "changed" */
        const char *body = strchr(text, '{');
        printf("%s],\n%s\n", p.listed ? "\n  " : "", body ? body + 1 : "}");
    } else {
        json_t *old = json_object_get(r, "old"), *new = json_object_get(r, "new");
        json_t *counts = json_object_get(r, "counts"), *errors;
        const char *key;
        json_t *v;
        size_t i;
        printf("%s%lld open case%s evaluated: %lld would change (%s %s %.12s → "
               "%s %s %.12s)\n", p.listed ? "\n" : "",
               (long long)json_integer_value(json_object_get(r, "cases_evaluated")),
               json_integer_value(json_object_get(r, "cases_evaluated")) == 1 ? ""
                                                                            : "s",
               (long long)json_integer_value(json_object_get(r, "cases_changed")),
               str_of(old, "name"), str_of(old, "version"), str_of(old, "hash"),
               str_of(new, "name"), str_of(new, "version"), str_of(new, "hash"));
        json_object_foreach(counts, key, v)
            printf("  %s: %lld\n", key, (long long)json_integer_value(v));
        errors = json_object_get(r, "errors");
        json_array_foreach(errors, i, v)
            printf("rule error: %s %s (%s pack): %s\n", str_of(v, "ref"),
                   str_of(v, "hook"), str_of(v, "pack"), str_of(v, "message"));
        if ((long long)json_array_size(errors) < *rule_errors)
            printf("rule error: ... %lld more\n",
                   *rule_errors - (long long)json_array_size(errors));
    }
    fflush(stdout);
    json_decref(r);
    hv_free(text);
    return HV_OK;
}

void render_apply(json_t *r)
{
    if (!json_is_true(json_object_get(r, "changed"))) {
        printf("rules: %s %s (sha256 %.12s) already in force; nothing changed\n",
               str_of(r, "name"), str_of(r, "version"), str_of(r, "hash"));
        return;
    }
    printf("rules: %s %s (sha256 %.12s) in force; %lld of %lld open cases "
           "changed (risk and follow-up/review due dates updated, one event "
           "each)\n",
           str_of(r, "name"), str_of(r, "version"), str_of(r, "hash"),
           (long long)json_integer_value(json_object_get(r, "cases_changed")),
           (long long)json_integer_value(json_object_get(r, "cases_evaluated")));
}
