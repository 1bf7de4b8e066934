/* render_event.c - a case's events, rule decisions and step outcomes in
 * words (issue 20: never raw JSON, never an event code, intervals in days
 * and weeks).  `haven history`, the history of `haven show`, `haven
 * explain`, a step's confirmation and the REPL's explain() and history()
 * print through here.
 *
 * Only what the event, decision or outcome holds is worded: nothing is
 * looked up, so nothing is shown that the JSON would not show. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "render.h"

/* ---- words for codes and numbers ---------------------------------------- */

void format_duration(long long sec, char *buf, size_t size)
{
    if (sec > 0 && sec % 86400 == 0) {
        long long d = sec / 86400;
        if (d % 7 == 0)
            snprintf(buf, size, "%lld day%s (%lld week%s)", d, plural_s(d), d / 7,
                     plural_s(d / 7));
        else if (d % 30 == 0)
            snprintf(buf, size, "%lld days (about %lld month%s)", d, d / 30,
                     plural_s(d / 30));
        else
            snprintf(buf, size, "%lld day%s", d, plural_s(d));
    } else if (sec > 0 && sec % 3600 == 0) {
        snprintf(buf, size, "%lld hour%s", sec / 3600, plural_s(sec / 3600));
    } else if (sec > 0 && sec % 60 == 0) {
        snprintf(buf, size, "%lld minute%s", sec / 60, plural_s(sec / 60));
    } else {
        snprintf(buf, size, "%lld second%s", sec, plural_s(sec));
    }
}

void put_words(FILE *f, const char *code)
{
    for (const char *p = code ? code : "?"; *p; p++)
        fputc(*p == '_' ? ' ' : *p, f);
}

/* 1 if a number under key is a length of time in seconds (every,
 * initial_due, final_followup_after, followup_every, ...). */
static int is_duration_key(const char *key)
{
    size_t n = strlen(key);
    return !strcmp(key, "every") || !strcmp(key, "within") ||
           (n > 4 && !strcmp(key + n - 4, "_due")) ||
           (n > 6 && !strcmp(key + n - 6, "_after")) ||
           (n > 6 && !strcmp(key + n - 6, "_every"));
}

/* qsort's order of key names. */
static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void put_value(FILE *f, const char *key, json_t *v)
{
    size_t i;
    json_t *x;
    const char *k;
    char dur[64];
    if (json_is_string(v)) {
        put_words(f, json_string_value(v));
    } else if (json_is_integer(v) && key && is_duration_key(key)) {
        format_duration((long long)json_integer_value(v), dur, sizeof dur);
        fputs(dur, f);
    } else if (json_is_integer(v)) {
        fprintf(f, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        fprintf(f, "%g", json_real_value(v));
    } else if (json_is_boolean(v)) {
        fputs(json_is_true(v) ? "yes" : "no", f);
    } else if (json_is_array(v)) {
        if (!json_array_size(v))
            fputs("none", f);
        json_array_foreach(v, i, x) {
            fputs(i ? ", " : "", f);
            put_value(f, key, x);
        }
    } else if (json_is_object(v)) {
        const char *keys[32];
        size_t n = 0;
        json_object_foreach(v, k, x)
            if (n < 32)
                keys[n++] = k;
        qsort(keys, n, sizeof keys[0], by_name);
        fputc('(', f);
        for (i = 0; i < n; i++) {
            fputs(i ? ", " : "", f);
            put_words(f, keys[i]);
            fputc(' ', f);
            put_value(f, keys[i], json_object_get(v, keys[i]));
        }
        fputc(')', f);
    } else {
        fputs("-", f);
    }
}

/* ---- what each kind of event is called ------------------------------------ */

static const struct {
    const char *kind, *title;
} event_titles[] = {
    {"registered", "registered"},
    {"not_registered", "recorded, not registered (not eligible)"},
    {"assessed", "assessment recorded"},
    {"plan_submitted", "plan submitted"},
    {"plan_approved", "plan approved"},
    {"plan_rejected", "plan rejected"},
    {"action_updated", "action updated"},
    {"referred", "referral sent"},
    {"referral_updated", "referral updated"},
    {"conference_held", "case conference recorded"},
    {"followed_up", "follow-up recorded"},
    {"final_followup", "final follow-up recorded"},
    {"reviewed", "plan reviewed"},
    {"evaluated", "goal evaluated"},
    {"closure_requested", "closure requested"},
    {"closure_rejected", "closure rejected"},
    {"closed", "case closed"},
    {"transfer_requested", "transfer requested"},
    {"transfer_rejected", "transfer rejected"},
    {"transferred", "case transferred"},
    {"reopened", "case reopened"},
    {"reassigned", "case reassigned"},
    {"consent_recorded", "consent recorded"},
    {"consent_withdrawn", "consent withdrawn"},
    {"consent_strengthened", "consent strengthened"},
    {"updated", "case record updated"},
    {"note_added", "note added"},
    {"rules_applied", "new rules applied"},
    {"duplicate_checked", "matched as a possible duplicate"},
    {"case_imported", "case imported"},
    {"purged", "identifying data purged"},
    {"sync_conflict_queued", "offline change waiting for a decision"},
    {"sync_conflict_resolved", "offline change decided"},
    {"viewed", "case read"},
    {"access_refused", "access refused"},
};

void put_event_title(FILE *f, const char *kind)
{
    for (size_t i = 0; i < sizeof event_titles / sizeof event_titles[0]; i++)
        if (kind && !strcmp(kind, event_titles[i].kind)) {
            fputs(event_titles[i].title, f);
            return;
        }
    put_words(f, kind);
}

/* ---- an event in words ----------------------------------------------------- */

/* An event being worded: its data (a copy: each member is removed once
 * worded, what is left is worded generically at the end), its decisions,
 * and where the words go. */
typedef struct {
    FILE *f;
    json_t *d;        /* the data, a copy */
    json_t *decision; /* the rule decisions (array), may be NULL */
    int facts;        /* how many facts were printed after the title */
} ev_words;

/* Takes the member key out of the data: a new reference, or NULL. */
static json_t *take(ev_words *w, const char *key)
{
    json_t *v = json_incref(json_object_get(w->d, key));
    json_object_del(w->d, key);
    return v;
}

/* Starts a fact: ": " after the title, "; " between facts. */
static void fact(ev_words *w)
{
    fputs(w->facts++ ? "; " : ": ", w->f);
}

/* The result of the decision by hook (e.g. "risk.lua"), or NULL. */
static json_t *decided(ev_words *w, const char *hook)
{
    size_t i;
    json_t *x;
    json_array_foreach(w->decision, i, x)
        if (!strcmp(str_or(x, "hook", ""), hook))
            return json_object_get(x, "result");
    return NULL;
}

/* Prints "label VALUE" as a fact when the data has key (taken). */
static void fact_of(ev_words *w, const char *key, const char *label)
{
    json_t *v = take(w, key);
    if (!v)
        return;
    fact(w);
    fputs(label, w->f);
    put_value(w->f, key, v);
    json_decref(v);
}

/* The facts every kind of event may carry: the stage moved, the risk
 * re-scored, follow-ups and reviews rescheduled, an approval asked for. */
static void common_facts(ev_words *w)
{
    json_t *from = take(w, "from"), *to = take(w, "to");
    if (json_is_string(from) || json_is_string(to)) {
        fact(w);
        fputs("stage ", w->f);
        put_words(w->f, json_is_string(from) ? json_string_value(from) : "?");
        fputs(" -> ", w->f);
        put_words(w->f, json_is_string(to) ? json_string_value(to) : "?");
    }
    json_decref(from);
    json_decref(to);
    json_t *risk = json_object_get(w->d, "risk");
    if (json_is_string(risk)) {
        json_t *r = decided(w, "risk.lua");
        fact(w);
        fprintf(w->f, "risk %s", json_string_value(risk));
        if (json_is_number(json_object_get(r, "score")))
            fprintf(w->f, " (score %g)", json_number_value(json_object_get(r, "score")));
        json_object_del(w->d, "risk");
    }
    json_t *every = json_object_get(w->d, "followup_every");
    if (json_is_integer(every)) {
        json_t *r = decided(w, "followup.lua");
        fact(w);
        fputs("follow-up every ", w->f);
        put_value(w->f, "followup_every", every);
        if (json_is_string(json_object_get(r, "method"))) {
            fputs(" by ", w->f);
            put_words(w->f, str_or(r, "method", "?"));
        }
        json_object_del(w->d, "followup_every");
    }
    if (json_is_integer(json_object_get(w->d, "review_every")))
        fact_of(w, "review_every", "review every ");
    fact_of(w, "approval_requested", "waiting for approval of the ");
    fact_of(w, "final_followup_after", "final follow-up after ");
    json_t *over = take(w, "consent_overridden");
    if (json_is_true(over)) {
        fact(w);
        fputs("missing consent overridden by a supervisor", w->f);
    }
    json_decref(over);
    fact_of(w, "purpose", "purpose: ");
}

/* The words of one kind: the main facts of its data.  Each takes what it
 * words from w->d. */
static void kind_facts(ev_words *w, const char *kind)
{
    json_t *v;
    if (!strcmp(kind, "registered") || !strcmp(kind, "not_registered")) {
        fact_of(w, "urgency", "urgency ");
        fact_of(w, "source", "source ");
        fact_of(w, "concerns", "concerns: ");
        fact_of(w, "consent", "consent: ");
        json_decref(take(w, "workflow"));
        json_decref(take(w, "workflow_version"));
        fact_of(w, "stage", "stage ");
    } else if (!strcmp(kind, "assessed")) {
        json_decref(take(w, "assessment"));
        fact_of(w, "safety", "safety ");
        fact_of(w, "changes", "changed since the last assessment: ");
    } else if (!strcmp(kind, "plan_submitted") || !strcmp(kind, "plan_approved")) {
        json_decref(take(w, "plan"));
        json_decref(take(w, "plan_approved"));
        json_decref(take(w, "subject"));
        fact_of(w, "plan_version", "version ");
        if ((v = take(w, "actions"))) {
            fact(w);
            fprintf(w->f, "%lld action%s", (long long)json_integer_value(v),
                    plural_s((long long)json_integer_value(v)));
            json_decref(v);
        }
    } else if (!strcmp(kind, "referred")) {
        fact_of(w, "service", "");
    } else if (!strcmp(kind, "conference_held")) {
        json_decref(take(w, "conference"));
        if ((v = take(w, "participants"))) {
            fact(w);
            fprintf(w->f, "%lld participant%s", (long long)json_integer_value(v),
                    plural_s((long long)json_integer_value(v)));
            json_decref(v);
        }
    } else if (!strcmp(kind, "followed_up") || !strcmp(kind, "final_followup")) {
        json_decref(take(w, "followup"));
        json_decref(take(w, "final"));
        fact_of(w, "method", "");
        fact_of(w, "safety", "safety ");
    } else if (!strcmp(kind, "closure_requested") || !strcmp(kind, "closed") ||
               !strcmp(kind, "transfer_requested") || !strcmp(kind, "transferred")) {
        json_decref(take(w, "subject"));
        json_decref(take(w, "transferred"));
        if (kind[0] == 't')
            json_decref(take(w, "closure_reason"));
        fact_of(w, "closure_reason", "");
        fact_of(w, "discussed_with", "discussed with ");
    } else if (!strcmp(kind, "reassigned")) {
        fact_of(w, "to", "to ");
    } else if (!strncmp(kind, "consent_", 8)) {
        fact_of(w, "scope", "");
        fact_of(w, "given_by", "given by ");
        fact_of(w, "from", "before: given by ");
        fact_of(w, "added", "added: ");
    } else if (!strcmp(kind, "note_added")) {
        json_decref(take(w, "version"));
    } else if (!strcmp(kind, "sync_conflict_queued") ||
               !strcmp(kind, "sync_conflict_resolved")) {
        fact_of(w, "conflict", "conflict ");
        fact_of(w, "resolution", "");
        fact_of(w, "device", "device ");
        json_decref(take(w, "seqs"));
    } else {
        if (!strcmp(kind, "reopened") || !strcmp(kind, "plan_rejected") ||
            !strcmp(kind, "closure_rejected") || !strcmp(kind, "transfer_rejected")) {
            json_decref(take(w, "reopened"));
            json_decref(take(w, "subject"));
        }
        fact_of(w, "outcome", "");
    }
}

/* Prints the event's title, with the number of what it is about when it
 * has one: "initial assessment recorded", "action 3 done", "referral 1
 * accepted", "referral 1 sent", "note 2 added". */
static void put_numbered_title(ev_words *w, const char *kind)
{
    json_t *v = NULL, *status = NULL;
    if (!strcmp(kind, "assessed") && json_is_string(json_object_get(w->d, "kind"))) {
        v = take(w, "kind");
        put_words(w->f, json_string_value(v));
        fputs(" assessment recorded", w->f);
    } else if (!strcmp(kind, "note_added") && json_is_integer(json_object_get(w->d, "note"))) {
        v = take(w, "note");
        fprintf(w->f, "note %lld added", (long long)json_integer_value(v));
    } else if (!strcmp(kind, "action_updated") || !strcmp(kind, "referral_updated") ||
               !strcmp(kind, "referred")) {
        const char *what = kind[0] == 'a' ? "action" : "referral";
        v = take(w, what);
        fprintf(w->f, "%s %lld ", what, (long long)json_integer_value(v));
        if (strcmp(kind, "referred") && (status = take(w, "status")))
            put_value(w->f, "status", status);
        else
            fputs(strcmp(kind, "referred") ? "updated" : "sent", w->f);
    } else {
        put_event_title(w->f, kind);
    }
    json_decref(v);
    json_decref(status);
}

/* rules_applied: the pack now in force and what changed ({from, to}). */
static void rules_facts(ev_words *w)
{
    json_t *pack = take(w, "pack"), *prev = take(w, "previous");
    if (pack) {
        fact(w);
        fprintf(w->f, "pack %s %s", str_or(pack, "name", "?"), str_or(pack, "version", "?"));
        if (prev)
            fprintf(w->f, " (was %s %s)", str_or(prev, "name", "?"),
                    str_or(prev, "version", "?"));
    }
    json_decref(pack);
    json_decref(prev);
    static const char *const changes[][2] = {
        {"risk", "risk "}, {"followup_every", "follow-up every "},
        {"review_every", "review every "}};
    for (size_t i = 0; i < 3; i++) {
        json_t *c = json_object_get(w->d, changes[i][0]);
        if (!json_is_object(c))
            continue;
        fact(w);
        fputs(changes[i][1], w->f);
        put_value(w->f, changes[i][0], json_object_get(c, "to"));
        fputs(" (was ", w->f);
        put_value(w->f, changes[i][0], json_object_get(c, "from"));
        fputc(')', w->f);
        json_object_del(w->d, changes[i][0]);
    }
    json_t *verdict = take(w, "closure_verdict_changed");
    if (json_is_true(verdict)) {
        fact(w);
        fputs("the closure verdict changed", w->f);
    }
    json_decref(verdict);
}

void put_event(FILE *f, json_t *ev)
{
    const char *kind = str_or(ev, "kind", "?");
    json_t *data = json_object_get(ev, "data");
    ev_words w = {f, json_is_object(data) ? json_deep_copy(data) : json_object(),
                  json_object_get(ev, "decisions"), 0};
    if (!w.d)
        return;
    json_object_del(w.d, "by_role"); /* the actor's role: the actor is shown */
    put_numbered_title(&w, kind);
    if (!strcmp(kind, "rules_applied"))
        rules_facts(&w);
    else
        kind_facts(&w, kind);
    common_facts(&w);
    /* anything else the event holds, in words, by name */
    const char *keys[64], *key;
    json_t *v;
    size_t n = 0;
    json_object_foreach(w.d, key, v)
        if (n < 64)
            keys[n++] = key;
    qsort(keys, n, sizeof keys[0], by_name);
    for (size_t i = 0; i < n; i++) {
        fact(&w);
        put_words(f, keys[i]);
        fputc(' ', f);
        put_value(f, keys[i], json_object_get(w.d, keys[i]));
    }
    json_decref(w.d);
}

char *event_text(json_t *ev)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    put_event(f, ev);
    if (fclose(f)) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- history, explain, a step's outcome ------------------------------------ */

void print_events(json_t *events, int numbered)
{
    size_t i;
    json_t *v;
    if (json_array_size(events) == 0) {
        fprintf(cli_out(), numbered ? "no events\n" : "  (none)\n");
        return;
    }
    json_t *rows = json_array();
    if (!rows)
        return;
    json_array_foreach(events, i, v) {
        char seq[32];
        char *text = event_text(v);
        snprintf(seq, sizeof seq, "%lld", (long long)json_integer_value(json_object_get(v, "seq")));
        json_t *row = json_pack("[s,s,s]", str_or(v, "at", "?"), str_or(v, "user", "?"),
                                text ? text : str_or(v, "kind", "?"));
        if (row && numbered)
            json_array_insert_new(row, 0, json_string(seq));
        json_array_append_new(rows, row);
        free(text);
    }
    print_table(rows, numbered ? "" : "  ", "  ");
    json_decref(rows);
}

void render_history(json_t *arr) { print_events(arr, 1); }

/* Prints the code of a rule result with the wording the pack in force
 * gives it (words: code -> wording) when it differs from the code. */
static void print_code(const char *code, json_t *words)
{
    const char *w = json_string_value(json_object_get(words, code));
    if (w && strcmp(w, code))
        fprintf(cli_out(), "%s (%s)", code, w);
    else
        fprintf(cli_out(), "%s", code);
}

/* Prints "    label: " and the worded codes of list ("none" when empty). */
static void print_codes(const char *label, json_t *list, json_t *words)
{
    size_t k;
    json_t *item;
    fprintf(cli_out(), "    %s: ", label);
    json_array_foreach(list, k, item) {
        fputs(k ? ", " : "", cli_out());
        print_code(json_is_string(item) ? json_string_value(item) : "?", words);
    }
    fprintf(cli_out(), "%s\n", json_array_size(list) ? "" : "none");
}

/* What the members of a hook's result mean: the key, and the words put
 * before its value ("" when the key is worded generically). */
static const struct {
    const char *hook, *key, *words;
} result_words[] = {
    {"assessment.lua", "initial_due", "initial assessment due within "},
    {"assessment.lua", "comprehensive_due", "comprehensive assessment due within "},
    {"followup.lua", "every", "follow-up every "},
    {"followup.lua", "method", "follow-up method: "},
    {"review.lua", "every", "review every "},
    {"closure.lua", "final_followup_after", "final follow-up after "},
    {"registration.lua", "urgency", "urgency "},
    {"risk.lua", "score", "score "},
};

/* Prints one member of a hook's result: a list of codes on one line with
 * their wording, a code with its wording, a length of time in days and
 * weeks, anything else in words (never as JSON). */
static void print_result_member(const char *hook, const char *key, json_t *x,
                                json_t *words, json_t *result)
{
    const char *label = NULL;
    if (!strcmp(hook, "risk.lua") && json_is_string(json_object_get(result, "level")) &&
        json_is_number(json_object_get(result, "score"))) {
        /* "risk high (score 13)" on one line */
        if (!strcmp(key, "level"))
            fprintf(cli_out(), "    risk %s (score %g)\n", json_string_value(x),
                    json_number_value(json_object_get(result, "score")));
        if (!strcmp(key, "level") || !strcmp(key, "score"))
            return;
    }
    if (!strcmp(hook, "closure.lua") && !strcmp(key, "ok")) {
        fprintf(cli_out(), "    %s\n", json_is_true(x) ? "closure may go ahead"
                                                        : "closure refused");
        return;
    }
    for (size_t i = 0; i < sizeof result_words / sizeof result_words[0]; i++)
        if (!strcmp(hook, result_words[i].hook) && !strcmp(key, result_words[i].key))
            label = result_words[i].words;
    if (json_is_array(x)) {
        char title[64];
        snprintf(title, sizeof title, "%s", key);
        for (char *p = title; *p; p++)
            *p = *p == '_' ? ' ' : *p;
        print_codes(title, x, words);
        return;
    }
    fputs("    ", cli_out());
    if (label) {
        fputs(label, cli_out());
    } else if (json_is_boolean(x)) {
        /* ok: true -> "ok", eligible: false -> "not eligible" */
        fprintf(cli_out(), "%s", json_is_true(x) ? "" : "not ");
        put_words(cli_out(), key);
        fputc('\n', cli_out());
        return;
    } else {
        put_words(cli_out(), key);
        fputs(": ", cli_out());
    }
    if (json_is_string(x) && json_object_get(words, json_string_value(x)))
        print_code(json_string_value(x), words);
    else
        put_value(cli_out(), key, x);
    fputc('\n', cli_out());
}

/* The order a hook's result is worded in: the decision first, its
 * reasons last; other members after these, by name (a result from the
 * REPL's Lua tables comes in no order). */
static int member_rank(const char *key)
{
    static const char *const order[] = {
        "eligible", "urgency", "level", "score", "ok", "initial_due",
        "comprehensive_due", "every", "method", "final_followup_after", "unmet",
        "factors", "reasons"};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (!strcmp(key, order[i]))
            return (int)i;
    return 100;
}

static int by_rank(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int rx = member_rank(x), ry = member_rank(y);
    return rx != ry ? rx - ry : strcmp(x, y);
}

/* Prints the members of the decision d's result in member_rank's order. */
static void print_result(json_t *d)
{
    const char *hook = str_or(d, "hook", "?"), *keys[64], *key;
    json_t *result = json_object_get(d, "result"), *x;
    size_t n = 0;
    json_object_foreach(result, key, x)
        if (n < 64)
            keys[n++] = key;
    qsort(keys, n, sizeof keys[0], by_rank);
    for (size_t i = 0; i < n; i++)
        print_result_member(hook, keys[i], json_object_get(result, keys[i]),
                            json_object_get(d, "wording"), result);
}

void render_explain(json_t *arr)
{
    size_t i, j;
    json_t *v, *d;
    if (json_array_size(arr) == 0)
        fprintf(cli_out(), "no rule decisions recorded (the workflow's defaults decided)\n");
    json_array_foreach(arr, i, v) {
        fprintf(cli_out(), "%s  ", str_or(v, "at", "?"));
        put_event_title(cli_out(), str_or(v, "kind", "?"));
        fprintf(cli_out(), ", by %s\n", str_or(v, "user", "?"));
        json_array_foreach(json_object_get(v, "decisions"), j, d) {
            const char *hook = str_or(d, "hook", "?");
            fprintf(cli_out(), "  %s, pack %s %s (sha256 %.12s)\n", hook,
                    str_or(d, "pack", "?"), str_or(d, "version", "?"), str_or(d, "hash", "?"));
            print_result(d);
        }
    }
}

void render_step(json_t *v)
{
    const char *ref = str_or(v, "ref", "?");
    fprintf(cli_out(), "%s: ", ref);
    put_event_title(cli_out(), str_or(v, "event", str_or(v, "step", "?")));
    fprintf(cli_out(), "; stage %s (%s), %s, version %lld\n", str_or(v, "stage_label", "?"),
            str_or(v, "stage", "?"), str_or(v, "status", "?"),
            (long long)json_integer_value(json_object_get(v, "version")));
    if (json_object_get(v, "risk"))
        fprintf(cli_out(), "  risk: %s\n", str_or(v, "risk", "?"));
    if (json_object_get(v, "approval")) {
        /* "Obtain approval from a supervisor or manager before formal
         * closure" (seed 001): a manager decides closures and transfers */
        const char *of = str_or(v, "approval_of", "plan");
        fprintf(cli_out(), "  waiting for a supervisor's%s approval of the %s\n",
                strcmp(of, "plan") ? " or manager's" : "", of);
    }
    json_t *f = json_object_get(v, "next_followup");
    if (f) {
        char every[64];
        format_duration((long long)json_integer_value(json_object_get(f, "every")), every,
                        sizeof every);
        fprintf(cli_out(), "  next follow-up: %s by ", str_or(f, "due", "?"));
        put_words(cli_out(), str_or(f, "method", "?"));
        fprintf(cli_out(), ", then every %s\n", every);
    }
    json_t *r = json_object_get(v, "next_review");
    if (r) {
        char every[64];
        format_duration((long long)json_integer_value(json_object_get(r, "every")), every,
                        sizeof every);
        fprintf(cli_out(), "  next review: %s, then every %s\n", str_or(r, "due", "?"), every);
    }
    if (json_object_get(v, "final_followup_due"))
        fprintf(cli_out(), "  final follow-up due: %s\n", str_or(v, "final_followup_due", "?"));
    if (json_object_get(v, "referral"))
        fprintf(cli_out(), "  referral %lld sent\n",
                (long long)json_integer_value(json_object_get(v, "referral")));
    json_t *changed = json_object_get(v, "changed");
    if (json_array_size(changed)) {
        size_t i;
        json_t *c;
        fprintf(cli_out(), "  changed: ");
        json_array_foreach(changed, i, c)
            fprintf(cli_out(), "%s%s", i ? ", " : "", json_is_string(c) ? json_string_value(c) : "?");
        fputc('\n', cli_out());
    }
}
