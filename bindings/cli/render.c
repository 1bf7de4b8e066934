/* render.c - case files, lists and due lists as people read them (the
 * `haven` command and the REPL print the same). */
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *str_or(json_t *obj, const char *key, const char *dflt)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

const char *plural_s(long long n)
{
    return n == 1 ? "" : "s";
}

/* The columns a code point takes on a terminal: 0 for combining marks
 * (Latin accents, Arabic harakat), 2 for wide East Asian characters and
 * emoji, else 1. */
static int cp_width(unsigned long c)
{
    static const unsigned long zero[][2] = {
        {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x0610, 0x061A},
        {0x064B, 0x065F}, {0x0670, 0x0670}, {0x06D6, 0x06DC}, {0x06DF, 0x06E4},
        {0x06E7, 0x06E8}, {0x06EA, 0x06ED}, {0x200B, 0x200F}, {0x20D0, 0x20FF},
        {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}};
    static const unsigned long wide[][2] = {
        {0x1100, 0x115F}, {0x2E80, 0x303E}, {0x3041, 0x33FF}, {0x3400, 0x4DBF},
        {0x4E00, 0x9FFF}, {0xA000, 0xA4CF}, {0xAC00, 0xD7A3}, {0xF900, 0xFAFF},
        {0xFE30, 0xFE4F}, {0xFF00, 0xFF60}, {0xFFE0, 0xFFE6}, {0x1F300, 0x1F64F},
        {0x1F900, 0x1F9FF}, {0x20000, 0x3FFFD}};
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
        if (c >= zero[i][0] && c <= zero[i][1])
            return 0;
    for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
        if (c >= wide[i][0] && c <= wide[i][1])
            return 2;
    return 1;
}

size_t text_width(const char *s)
{
    size_t w = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        unsigned long c = *p;
        int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
        if (c >= 0x80 && c < 0xC0) { /* a stray continuation byte */
            p++;
            w++;
            continue;
        }
        c &= more == 3 ? 0x07 : more == 2 ? 0x0F : more == 1 ? 0x1F : 0x7F;
        p++;
        for (; more > 0 && (*p & 0xC0) == 0x80; more--, p++)
            c = (c << 6) | (*p & 0x3F);
        w += (size_t)cp_width(c);
    }
    return w;
}

void put_padded(FILE *f, const char *s, size_t width)
{
    fputs(s ? s : "", f);
    for (size_t w = text_width(s); w < width; w++)
        fputc(' ', f);
}

void print_table(json_t *rows, const char *indent, const char *gap)
{
    size_t i, j, widths[16] = {0};
    json_t *row, *cell;
    json_array_foreach(rows, i, row) {
        json_array_foreach(row, j, cell) {
            size_t w = text_width(json_string_value(cell));
            if (j < 16 && w > widths[j])
                widths[j] = w;
        }
    }
    json_array_foreach(rows, i, row) {
        size_t n = json_array_size(row);
        fputs(indent, cli_out());
        json_array_foreach(row, j, cell) {
            const char *text = json_string_value(cell);
            if (j + 1 < n) {
                put_padded(cli_out(), text, j < 16 ? widths[j] : 0);
                fputs(gap, cli_out());
            } else {
                fputs(text ? text : "", cli_out());
            }
        }
        fputc('\n', cli_out());
    }
}

/* Prints the items of a JSON list of text joined with "; ". */
static void print_list(const char *label, json_t *list)
{
    size_t i;
    json_t *v;
    if (json_array_size(list) == 0)
        return;
    fprintf(cli_out(), "    %s: ", label);
    json_array_foreach(list, i, v) {
        if (json_is_string(v))
            fprintf(cli_out(), "%s%s", i ? "; " : "", json_string_value(v));
        else if (json_is_object(v))
            fprintf(cli_out(), "%s%s%s", i ? "; " : "", str_or(v, "source", "?"),
                   json_is_true(json_object_get(v, "verified")) ? " (verified)" : "");
    }
    fprintf(cli_out(), "\n");
}

/* text when the string member key of o is set, else "" (for the
 * separators before optional members). */
static const char *if_set(json_t *o, const char *key, const char *text)
{
    return json_is_string(json_object_get(o, key)) ? text : "";
}

/* An assessment of the case file. */
static void print_assessment(json_t *v)
{
    json_t *d = json_object_get(v, "detail");
    fprintf(cli_out(), "  %s  %s by %s, safety %s\n", str_or(v, "at", "?"), str_or(v, "kind", "?"),
           str_or(v, "by_user", "?"), str_or(v, "safety", "-"));
    if (json_is_string(json_object_get(d, "summary")))
        fprintf(cli_out(), "    summary: %s\n", str_or(d, "summary", ""));
    const char *key;
    json_t *el;
    json_object_foreach(json_object_get(d, "elements"), key, el)
        fprintf(cli_out(), "    %s: %s\n", key, json_string_value(el));
    print_list("needs", json_object_get(d, "needs"));
    print_list("risks", json_object_get(d, "risks"));
    print_list("strengths", json_object_get(d, "strengths"));
    print_list("information still needed", json_object_get(d, "info_needed"));
    print_list("sources", json_object_get(d, "sources"));
    print_list("changed since the last assessment", json_object_get(d, "changes"));
}

/* A version of the case plan, with its actions. */
static void print_plan(json_t *v)
{
    size_t j;
    json_t *a;
    fprintf(cli_out(), "  version %lld, %s (made %s by %s",
           (long long)json_integer_value(json_object_get(v, "version")),
           str_or(v, "status", "?"), str_or(v, "created_at", "?"),
           str_or(v, "created_by", "?"));
    if (json_is_string(json_object_get(v, "decided_by")))
        fprintf(cli_out(), "; decided %s by %s", str_or(v, "decided_at", "?"),
               str_or(v, "decided_by", "?"));
    fprintf(cli_out(), ")\n    goal: %s\n    target date: %s\n", str_or(v, "goal", "?"),
           str_or(v, "target_at", "?"));
    print_list("indicators", json_object_get(v, "indicators"));
    print_list("addresses", json_object_get(v, "addresses"));
    if (json_is_string(json_object_get(v, "decision_reason")))
        fprintf(cli_out(), "    rejected: %s\n", str_or(v, "decision_reason", ""));
    json_array_foreach(json_object_get(v, "actions"), j, a) {
        fprintf(cli_out(), "    %lld. %s [%s] %s%s%s, %s, due %s%s%s\n",
               (long long)json_integer_value(json_object_get(a, "number")),
               str_or(a, "title", "?"), str_or(a, "status", "?"),
               str_or(a, "responsible", "?"), if_set(a, "provider", ": "),
               str_or(a, "provider", ""), str_or(a, "type", "?"), str_or(a, "due", "?"),
               if_set(a, "reason", " - "), str_or(a, "reason", ""));
    }
}

/* A referral. */
static void print_referral(json_t *v)
{
    fprintf(cli_out(), "  %lld. %s to %s: %s (sent %s, updated %s)%s%s\n",
           (long long)json_integer_value(json_object_get(v, "number")),
           str_or(v, "service", "?"), str_or(v, "provider", "?"),
           str_or(v, "status", "?"), str_or(v, "sent_at", "?"),
           str_or(v, "updated_at", "?"), if_set(v, "outcome", "; outcome: "),
           str_or(v, "outcome", ""));
    if (json_is_string(json_object_get(v, "consent_overridden_by")))
        fprintf(cli_out(), "     consent overridden by %s: %s\n",
               str_or(v, "consent_overridden_by", "?"),
               str_or(v, "consent_override_reason", ""));
}

/* A case conference. */
static void print_conference(json_t *v)
{
    fprintf(cli_out(), "  %s (recorded by %s)\n", str_or(v, "at", "?"), str_or(v, "recorded_by", "?"));
    print_list("participants", json_object_get(v, "participants"));
    print_list("decisions", json_object_get(v, "decisions"));
}

/* A follow-up. */
static void print_followup(json_t *v)
{
    fprintf(cli_out(), "  %s  %s by %s, safety %s%s%s%s\n", str_or(v, "at", "?"),
           str_or(v, "method", "?"), str_or(v, "by_user", "?"), str_or(v, "safety", "?"),
           json_is_true(json_object_get(v, "final")) ? " (final follow-up)" : "",
           if_set(v, "notes", ": "), str_or(v, "notes", ""));
}

/* A review of the plan. */
static void print_review(json_t *v)
{
    fprintf(cli_out(), "  %s  %s by %s%s%s\n", str_or(v, "at", "?"), str_or(v, "outcome", "?"),
           str_or(v, "by_user", "?"), if_set(v, "notes", ": "), str_or(v, "notes", ""));
}

/* An evaluation of the plan's goal. */
static void print_evaluation(json_t *v)
{
    fprintf(cli_out(), "  %s  plan version %lld: %s (by %s)\n", str_or(v, "at", "?"),
           (long long)json_integer_value(json_object_get(v, "plan_version")),
           str_or(v, "outcome", "?"), str_or(v, "by_user", "?"));
    print_list("indicators", json_object_get(json_object_get(v, "detail"), "indicators"));
}

/* An approval asked of a supervisor. */
static void print_approval(json_t *v)
{
    fprintf(cli_out(), "  %s: %s (asked %s by %s%s%s%s%s)%s%s\n", str_or(v, "subject", "?"),
           str_or(v, "status", "?"), str_or(v, "requested_at", "?"),
           str_or(v, "requested_by", "?"), if_set(v, "decided_by", "; decided "),
           str_or(v, "decided_at", ""), if_set(v, "decided_by", " by "),
           str_or(v, "decided_by", ""), if_set(v, "reason", ": "), str_or(v, "reason", ""));
}

/* The lifecycle sections of a case file: the member, its heading, and how
 * to print each of its items. */
static const struct {
    const char *key, *title;
    void (*print)(json_t *item);
} lifecycle_sections[] = {
    {"assessments", "Assessments", print_assessment},
    {"plans", "Case plans", print_plan},
    {"referrals", "Referrals", print_referral},
    {"conferences", "Case conferences", print_conference},
    {"followups", "Follow-ups", print_followup},
    {"reviews", "Reviews", print_review},
    {"evaluations", "Evaluations", print_evaluation},
    {"approvals", "Approvals", print_approval},
};

/* Prints the lifecycle sections of the case file c that have items, then
 * its closure. */
static void render_lifecycle(json_t *c)
{
    size_t i;
    json_t *v;
    for (size_t k = 0; k < sizeof lifecycle_sections / sizeof lifecycle_sections[0]; k++) {
        json_t *sec = json_object_get(c, lifecycle_sections[k].key);
        if (!json_array_size(sec))
            continue;
        fprintf(cli_out(), "\n%s\n", lifecycle_sections[k].title);
        json_array_foreach(sec, i, v)
            lifecycle_sections[k].print(v);
    }
    json_t *cl = json_object_get(c, "closure");
    if (json_is_string(json_object_get(cl, "reason"))) {
        fprintf(cli_out(), "\nClosure\n  %s on %s%s%s\n", str_or(cl, "reason", "?"),
               str_or(cl, "closed_at", "?"), if_set(cl, "transferred_to", ", transferred to "),
               str_or(cl, "transferred_to", ""));
    } else if (json_is_true(json_object_get(cl, "planned"))) {
        fprintf(cli_out(), "\nClosure\n  planned (a review decided to plan closure)\n");
    }
}

/* Prints a worded code ({code, wording}): "code (wording)", or the code
 * alone when the pack words it no differently. */
static void print_worded(json_t *w)
{
    const char *code = str_or(w, "code", "?"), *words = str_or(w, "wording", code);
    fprintf(cli_out(), strcmp(words, code) ? "%s (%s)" : "%s", code, words);
}

/* Prints "; label: " and the worded codes of list (nothing when empty). */
static void print_worded_list(const char *label, json_t *list)
{
    size_t i;
    json_t *w;
    if (json_array_size(list) == 0)
        return;
    fprintf(cli_out(), "; %s: ", label);
    json_array_foreach(list, i, w) {
        fprintf(cli_out(), "%s", i ? ", " : "");
        print_worded(w);
    }
}

/* A follow-up interval in seconds as people count it ("every 14 days (2
 * weeks)", "every 1 day", "every 36 hours"). */
static void print_interval(json_t *every)
{
    char text[64];
    format_duration((long long)json_integer_value(every), text, sizeof text);
    fprintf(cli_out(), "every %s", text);
}

/* The latest rule decisions of the case file (c.decisions): registration,
 * risk, follow-up frequency and a refused closure, each code with the
 * wording of the pack in force. */
static void print_decisions(json_t *c)
{
    json_t *d = json_object_get(c, "decisions");
    json_t *reg = json_object_get(d, "registration"), *risk = json_object_get(d, "risk");
    json_t *fu = json_object_get(d, "followup"), *cl = json_object_get(d, "closure");
    if (json_object_size(d) == 0)
        return;
    fprintf(cli_out(), "\nRule decisions (the latest; codes worded by the pack in force)\n");
    if (reg) {
        fprintf(cli_out(), "  Registration: %s, urgency %s",
               json_is_true(json_object_get(reg, "eligible")) ? "eligible" : "not eligible",
               str_or(reg, "urgency", "-"));
        print_worded_list("reasons", json_object_get(reg, "reasons"));
        fprintf(cli_out(), "  (%s)\n", str_or(reg, "at", "?"));
    }
    if (risk) {
        fprintf(cli_out(), "  Risk:         %s (score %g)", str_or(risk, "level", "?"),
               json_number_value(json_object_get(risk, "score")));
        print_worded_list("factors", json_object_get(risk, "factors"));
        fprintf(cli_out(), "  (%s)\n", str_or(risk, "at", "?"));
    }
    if (fu) {
        fprintf(cli_out(), "  Follow-up:    ");
        print_interval(json_object_get(fu, "every"));
        if (json_is_object(json_object_get(fu, "method"))) {
            fprintf(cli_out(), ", ");
            print_worded(json_object_get(fu, "method"));
        }
        print_worded_list("reasons", json_object_get(fu, "reasons"));
        fprintf(cli_out(), "  (%s)\n", str_or(fu, "at", "?"));
    }
    if (cl && !json_is_true(json_object_get(cl, "ok"))) {
        fprintf(cli_out(), "  Closure:      refused");
        print_worded_list("unmet", json_object_get(cl, "unmet"));
        fprintf(cli_out(), "  (%s)\n", str_or(cl, "at", "?"));
    }
}

/* The text items of list joined with sep, as a new JSON string. */
static json_t *joined(json_t *list, const char *sep)
{
    char *text = NULL;
    size_t len = 0, i;
    json_t *v;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return json_string("");
    json_array_foreach(list, i, v)
        fprintf(f, "%s%s", i ? sep : "", json_is_string(v) ? json_string_value(v) : "?");
    fclose(f);
    json_t *s = json_string(text ? text : "");
    free(text);
    return s;
}

/* Prints a case file for a person to read. */
void render_case(json_t *c)
{
    json_t *child = json_object_get(c, "child");
    json_t *stage = json_object_get(c, "stage");
    json_t *wf = json_object_get(c, "workflow");
    json_t *risk = json_object_get(c, "risk");
    size_t i;
    json_t *v;
    fprintf(cli_out(), "Case %s  (version %lld)\n", str_or(c, "ref", "?"),
           (long long)json_integer_value(json_object_get(c, "version")));
    if (!strcmp(str_or(c, "clock", ""), "simulated"))
        fprintf(cli_out(), "  SIMULATED database: its times were set with --now, not real\n");
    fprintf(cli_out(), "  Agency:      %s, workflow %s v%lld\n", str_or(c, "agency", "-"),
           str_or(wf, "id", "-"),
           (long long)json_integer_value(json_object_get(wf, "version")));
    fprintf(cli_out(), "  Stage:       %s (%s), %s\n", str_or(stage, "label", "-"),
           str_or(stage, "id", "-"), str_or(c, "status", "-"));
    fprintf(cli_out(), "  Registered:  %s by %s\n", str_or(c, "registered_at", "-"),
           str_or(c, "registered_by", "-"));
    fprintf(cli_out(), "  Assigned to: %s\n", str_or(c, "assignee", "-"));
    fprintf(cli_out(), "  Source:      %s\n", str_or(c, "source", "-"));
    fprintf(cli_out(), "  Urgency:     %s\n", str_or(c, "urgency", "not yet decided"));
    fprintf(cli_out(), "  Risk:        %s\n", str_or(risk, "level", "not yet assessed"));
    print_decisions(c);
    fprintf(cli_out(), "\nChild\n");
    fprintf(cli_out(), "  Name:        %s\n", str_or(child, "name", "-"));
    json_t *age = json_object_get(child, "age");
    if (json_is_integer(age))
        fprintf(cli_out(), "  Age:         %lld\n", (long long)json_integer_value(age));
    if (json_is_string(json_object_get(child, "dob")))
        fprintf(cli_out(), "  Born:        %s\n", str_or(child, "dob", "-"));
    fprintf(cli_out(), "  Sex:         %s\n", str_or(child, "sex", "-"));
    fprintf(cli_out(), "  Location:    %s\n", str_or(c, "location", "-"));
    json_t *family = json_object_get(c, "family");
    fprintf(cli_out(), "\nFamily\n");
    if (json_array_size(family) == 0)
        fprintf(cli_out(), "  (none recorded)\n");
    json_array_foreach(family, i, v) {
        /* numbered as `haven update REF family.N.FIELD=...` names them */
        fprintf(cli_out(), "  %zu. %s: %s", i + 1, str_or(v, "relationship", "?"),
               str_or(v, "name", "(no name)"));
        if (json_is_integer(json_object_get(v, "age")))
            fprintf(cli_out(), ", %lld", (long long)json_integer_value(json_object_get(v, "age")));
        json_t *lw = json_object_get(v, "lives_with_child");
        if (json_is_boolean(lw))
            fprintf(cli_out(), ", %s", json_is_true(lw) ? "lives with the child"
                                            : "lives elsewhere");
        fprintf(cli_out(), "\n");
    }
    fprintf(cli_out(), "\nConcerns\n  ");
    json_array_foreach(json_object_get(c, "concerns"), i, v)
        fprintf(cli_out(), "%s%s", i ? ", " : "", json_string_value(v));
    fprintf(cli_out(), "\n\nConsent\n");
    json_array_foreach(json_object_get(c, "consent"), i, v) {
        fprintf(cli_out(), "  %s: given by %s on %s%s\n", str_or(v, "scope", "?"),
               str_or(v, "given_by", "?"), str_or(v, "given_at", "?"),
               json_is_string(json_object_get(v, "withdrawn_at"))
                   ? " (withdrawn)"
                   : "");
    }
    json_t *form = json_object_get(c, "form");
    if (json_object_size(form) > 0) {
        const char *key;
        fprintf(cli_out(), "\nForm\n");
        json_object_foreach(form, key, v) {
            /* as typed: text and lists of text as they are, yes/no,
             * numbers; never JSON */
            fprintf(cli_out(), "  %s: ", key);
            if (json_is_string(v)) {
                fputs(json_string_value(v), cli_out());
            } else if (json_is_array(v)) {
                json_t *x = joined(v, ", ");
                fputs(json_string_value(x), cli_out());
                json_decref(x);
            } else {
                put_value(cli_out(), key, v);
            }
            fputc('\n', cli_out());
        }
    }
    fprintf(cli_out(), "\nTasks\n");
    if (json_array_size(json_object_get(c, "tasks")) == 0)
        fprintf(cli_out(), "  (none)\n");
    json_array_foreach(json_object_get(c, "tasks"), i, v) {
        fprintf(cli_out(), "  [%s] %s, due %s%s\n", str_or(v, "status", "?"),
               str_or(v, "label", str_or(v, "kind", "?")),
               str_or(v, "due_at", "?"),
               json_is_true(json_object_get(v, "overdue")) ? "  OVERDUE" : "");
    }
    render_lifecycle(c);
    json_t *notes = json_object_get(c, "notes");
    if (json_array_size(notes) > 0) {
        fprintf(cli_out(), "\nNotes\n");
        json_array_foreach(notes, i, v)
            fprintf(cli_out(), "  %s %s: %s\n", str_or(v, "at", "?"), str_or(v, "by", "?"),
                   str_or(v, "text", ""));
    }
    fprintf(cli_out(), "\nHistory\n");
    print_events(json_object_get(c, "history"), 0);
}


void render_summaries(json_t *arr, int with_name)
{
    size_t i;
    json_t *v;
    if (json_array_size(arr) == 0) {
        fprintf(cli_out(), "no cases\n");
        return;
    }
    /* `haven search` names the child beside the reference */
    json_t *rows = json_array();
    json_array_append_new(rows, with_name
        ? json_pack("[s,s,s,s,s,s,s,s]", "REF", "NAME", "STAGE", "STATUS", "SOURCE",
                    "ASSIGNEE", "REGISTERED", "CONCERNS")
        : json_pack("[s,s,s,s,s,s,s]", "REF", "STAGE", "STATUS", "SOURCE",
                    "ASSIGNEE", "REGISTERED", "CONCERNS"));
    json_array_foreach(arr, i, v) {
        json_t *row = json_pack("[s]", str_or(v, "ref", "?"));
        if (with_name)
            json_array_append_new(row, json_string(str_or(v, "name", "-")));
        json_t *rest = json_pack("[s,s,s,s,s]", str_or(v, "stage", "?"),
                                 str_or(v, "status", "?"), str_or(v, "source", "?"),
                                 str_or(v, "assignee", "-"),
                                 str_or(v, "registered_at", "?"));
        json_array_extend(row, rest);
        json_decref(rest);
        json_array_append_new(row, joined(json_object_get(v, "concerns"), ","));
        json_array_append_new(rows, row);
    }
    print_table(rows, "", "  ");
    json_decref(rows);
}

void render_due(json_t *arr)
{
    size_t i;
    json_t *v;
    if (json_array_size(arr) == 0) {
        fprintf(cli_out(), "nothing due\n");
        return;
    }
    json_t *rows = json_array();
    json_array_append_new(rows, json_pack("[s,s,s,s,s,s]", "DUE", "URGENCY", "REF",
                                          "ASSIGNEE", "LATE", "TASK"));
    json_array_foreach(arr, i, v) {
        char late[32] = "";
        long long late_by = (long long)json_integer_value(json_object_get(v, "late_by"));
        if (json_is_true(json_object_get(v, "overdue")))
            snprintf(late, sizeof late, late_by >= 86400 ? "LATE %lldd" : "LATE %lldh",
                     late_by >= 86400 ? late_by / 86400 : (late_by + 3599) / 3600);
        json_array_append_new(rows, json_pack("[s,s,s,s,s,s]", str_or(v, "due_at", "?"),
                                              str_or(v, "urgency", "-"), str_or(v, "ref", "?"),
                                              str_or(v, "assignee", "(any)"), late,
                                              str_or(v, "label", "?")));
    }
    print_table(rows, "", "  ");
    json_decref(rows);
}

void render_listed(json_t *arr) { render_summaries(arr, 0); }

void render_found(json_t *arr) { render_summaries(arr, 1); }

void render_users(json_t *arr)
{
    json_t *u;
    size_t i;
    json_array_foreach(arr, i, u)
        fprintf(cli_out(), "%-16s %-14s %-16s %s, %lld open case%s%s%s%s%s\n",
               str_or(u, "login", "?"), str_or(u, "role", "?"),
               str_or(u, "supervisor", "-"),
               json_is_true(json_object_get(u, "active")) ? "active" : "disabled",
               (long long)json_integer_value(json_object_get(u, "open_cases")),
               plural_s((long long)json_integer_value(json_object_get(u, "open_cases"))),
               json_is_true(json_object_get(u, "password")) ? ", password" : "",
               json_is_string(json_object_get(u, "os_login")) ? ", OS login " : "",
               str_or(u, "os_login", ""),
               json_is_true(json_object_get(u, "sso")) ? ", single sign-on" : "");
}

void render_reload(json_t *r)
{
    fprintf(cli_out(), "rules: %s %s (sha256 %.12s) in force%s\n", str_or(r, "name", "?"),
           str_or(r, "version", "?"), str_or(r, "hash", "?"),
           json_is_true(json_object_get(r, "changed")) ? "" : ", unchanged");
}

void render_verify(json_t *r)
{
    json_t *deep = json_object_get(r, "deep");
    long long entries = (long long)json_integer_value(json_object_get(r, "entries"));
    fprintf(cli_out(), "audit: ok: %lld %s chained up to entry %lld%s; %lld "
           "checkpoint%s match%s (the newest at entry %lld)%s\n",
           entries, entries == 1 ? "entry" : "entries",
           (long long)json_integer_value(json_object_get(r, "head_seq")),
           json_integer_value(json_object_get(r, "legacy_entries"))
               ? " (older entries predate the chain)" : "",
           (long long)json_integer_value(json_object_get(r, "checkpoints")),
           json_integer_value(json_object_get(r, "checkpoints")) == 1 ? "" : "s",
           json_integer_value(json_object_get(r, "checkpoints")) == 1 ? "es" : "",
           (long long)json_integer_value(json_object_get(r, "checkpoint_seq")),
           json_is_true(json_object_get(r, "checkpoint"))
               ? "; the checkpoint given matches" : "");
    if (deep) {
        long long unchecked = json_integer_value(json_object_get(deep, "unchecked"));
        fprintf(cli_out(), "audit: deep: the rows of %lld case%s match their last event",
               (long long)json_integer_value(json_object_get(deep, "checked")),
               json_integer_value(json_object_get(deep, "checked")) == 1 ? "" : "s");
        if (unchecked)
            fprintf(cli_out(), "; %lld case%s could not be checked (last event from before "
                   "schema 10, which recorded no digest)",
                   unchecked, unchecked == 1 ? "" : "s");
        fprintf(cli_out(), "\n");
    }
}

void render_audit_log(json_t *arr)
{
    json_t *r;
    size_t i;
    json_array_foreach(arr, i, r)
        fprintf(cli_out(), "%6lld  %s  %-10s %-13s %-16s %-20s os: %s\n",
               (long long)json_integer_value(json_object_get(r, "seq")),
               str_or(r, "at", "?"), str_or(r, "user", "?"), str_or(r, "role", "-"),
               str_or(r, "ref", "-"), str_or(r, "kind", "?"),
               str_or(r, "os_user", "-"));
}
