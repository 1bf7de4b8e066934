/*
 * report.c - `haven report` for people: text tables, and one self-contained
 * HTML page with an inline SVG chart per figure.  Both read the JSON of
 * hv_report_json; every text put into the page is escaped.
 */
#include "report.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "haven.h"
#include "cli.h"
#include "render.h"

/* ---- reading the report ------------------------------------------------------ */

static json_int_t num(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* The member at a dotted path ("tasks.overdue"), or NULL. */
static json_t *at(json_t *o, const char *path)
{
    char key[64];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof key)
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        o = json_object_get(o, key);
        path += n + (path[n] == '.');
    }
    return o;
}

static const char *const window_names[][2] = {
    {"last_30_days", "last 30 days"},
    {"last_90_days", "last 90 days"},
    {"period", "the period"},
};
static const char *const milestone_names[][2] = {
    {"initial_assessment", "initial assessment"},
    {"approved_plan", "approved plan"},
    {"closure", "closure"},
};
#define NWINDOWS 3
#define NMILESTONES 3

/* "12.5" for a number, "-" for null. */
static const char *fmt_days(json_t *v, char *buf, size_t size)
{
    if (!json_is_number(v))
        return "-";
    snprintf(buf, size, "%.1f", json_number_value(v));
    return buf;
}

/* "12.5%" for a share (0..1), "-" for null; the text may be buf. */
static const char *fmt_share(json_t *v, char *buf, size_t size)
{
    if (!json_is_number(v))
        return "-";
    snprintf(buf, size, "%.1f%%", json_number_value(v) * 100.0);
    return buf;
}

/* Writes whose cases the report r covers ("the whole agency", "the team of
 * ", "the cases of ") to f. */
static void describe_scope(FILE *f, json_t *r)
{
    const char *scope = str_or(r, "scope", "");
    fprintf(f, "%s", !strcmp(scope, "agency") ? "the whole agency"
                     : !strcmp(scope, "team") ? "the team of "
                                              : "the cases of ");
}

/* ---- text -------------------------------------------------------------------- */

static void heading(const char *title, json_int_t n, int with_n)
{
    if (with_n)
        fprintf(cli_out(), "\n%s: %lld\n", title, (long long)n);
    else
        fprintf(cli_out(), "\n%s\n", title);
}

/* Prints a table of the counts in obj with col as the first column's
 * heading. */
static void text_counts(const char *col, json_t *obj)
{
    const char *k;
    json_t *v;
    fprintf(cli_out(), "  %-28s %8s\n", col, "CASES");
    json_object_foreach(obj, k, v)
        fprintf(cli_out(), "  %-28s %8lld\n", k, (long long)json_integer_value(v));
}

/* Prints the task group g (overdue or due soon) under title: by kind, then
 * by caseworker. */
static void text_tasks(const char *title, json_t *g)
{
    const char *k;
    json_t *v, *p;
    size_t i;
    heading(title, num(g, "total"), 1);
    if (!num(g, "total"))
        return;
    fprintf(cli_out(), "  %-28s %8s\n", "KIND", "TASKS");
    json_object_foreach(json_object_get(g, "by_kind"), k, v)
        fprintf(cli_out(), "  %-28s %8lld\n", k, (long long)json_integer_value(v));
    fprintf(cli_out(), "  %-28s %8s  %s\n", "ASSIGNED TO", "TASKS", "BY KIND");
    json_array_foreach(json_object_get(g, "by_caseworker"), i, p) {
        fprintf(cli_out(), "  %-28s %8lld ", str_or(p, "caseworker", "(unassigned)"),
               (long long)num(p, "total"));
        json_object_foreach(json_object_get(p, "by_kind"), k, v)
            fprintf(cli_out(), " %s %lld", k, (long long)json_integer_value(v));
        fprintf(cli_out(), "\n");
    }
}

void render_report(json_t *r)
{
    char b1[32], b2[32];
    size_t i;
    json_t *v;
    fprintf(cli_out(), "Caseload report for ");
    describe_scope(cli_out(), r);
    if (strcmp(str_or(r, "scope", ""), "agency"))
        fprintf(cli_out(), "%s", str_or(r, "actor", "?"));
    fprintf(cli_out(), " (%s %s), made %s\n", str_or(r, "role", "?"), str_or(r, "actor", "?"),
           str_or(r, "generated_at", "?"));
    if (json_is_string(json_object_get(r, "caseworker")))
        fprintf(cli_out(), "Caseworker: %s\n", str_or(r, "caseworker", ""));
    fprintf(cli_out(), "Period: %s to %s (registrations, closures, durations, months)\n",
           str_or(r, "since", "the beginning"), str_or(r, "until", "now"));
    if (!strcmp(str_or(r, "clock", ""), "simulated"))
        fprintf(cli_out(), "SIMULATED database: its times were set with --now, not real\n");

    json_t *open = json_object_get(r, "open_cases");
    heading("Open cases", num(open, "total"), 1);
    fprintf(cli_out(), "  %-28s %8s  %s\n", "STAGE", "CASES", "LABEL");
    json_array_foreach(json_object_get(open, "by_stage"), i, v)
        fprintf(cli_out(), "  %-28s %8lld  %s\n", str_or(v, "stage", "?"),
               (long long)num(v, "count"), str_or(v, "label", "?"));
    text_counts("RISK LEVEL", json_object_get(open, "by_risk"));
    text_counts("URGENCY", json_object_get(open, "by_urgency"));

    json_t *factors = json_object_get(r, "risk_factors");
    heading("Risk factors across the caseload (open cases whose current risk "
            "decision includes each)", 0, 0);
    if (!json_array_size(factors))
        fprintf(cli_out(), "  no open case has a risk decision\n");
    else
        fprintf(cli_out(), "  %-28s %8s  %s\n", "FACTOR", "CASES", "WORDING");
    json_array_foreach(factors, i, v)
        fprintf(cli_out(), "  %-28s %8lld  %s\n", str_or(v, "code", "?"),
               (long long)num(v, "open_cases"), str_or(v, "wording", ""));

    text_tasks("Tasks overdue", at(r, "tasks.overdue"));
    text_tasks("Tasks due in the next 7 days", at(r, "tasks.due_this_week"));

    json_t *ap = json_object_get(r, "approvals_pending");
    heading("Approvals pending", num(ap, "total"), 1);
    if (num(ap, "total"))
        fprintf(cli_out(), "  plan %lld, closure %lld, transfer %lld; the oldest has waited %s days\n",
               (long long)num(json_object_get(ap, "by_subject"), "plan"),
               (long long)num(json_object_get(ap, "by_subject"), "closure"),
               (long long)num(json_object_get(ap, "by_subject"), "transfer"),
               fmt_days(json_object_get(ap, "oldest_waiting_days"), b1, sizeof b1));

    heading("Follow-up compliance (done on or before the due date)", 0, 0);
    fprintf(cli_out(), "  %-16s %8s %8s %8s %8s %8s\n", "FELL DUE IN", "DUE", "ON TIME",
           "LATE", "NOT DONE", "SHARE");
    for (int k = 0; k < NWINDOWS; k++) {
        json_t *w = at(json_object_get(r, "followup_compliance"), window_names[k][0]);
        fprintf(cli_out(), "  %-16s %8lld %8lld %8lld %8lld %8s\n", window_names[k][1],
               (long long)num(w, "due"), (long long)num(w, "on_time"),
               (long long)num(w, "late"), (long long)num(w, "not_done"),
               fmt_share(json_object_get(w, "ratio"), b1, sizeof b1));
    }

    heading("Days from registration to", 0, 0);
    fprintf(cli_out(), "  %-22s %8s %8s %8s\n", "MILESTONE", "CASES", "MEDIAN", "90TH PCT");
    for (int k = 0; k < NMILESTONES; k++) {
        json_t *m = at(json_object_get(r, "time_to"), milestone_names[k][0]);
        fprintf(cli_out(), "  %-22s %8lld %8s %8s\n", milestone_names[k][1],
               (long long)num(m, "cases"),
               fmt_days(json_object_get(m, "median_days"), b1, sizeof b1),
               fmt_days(json_object_get(m, "p90_days"), b2, sizeof b2));
    }

    heading("Closure reasons", 0, 0);
    if (!json_array_size(json_object_get(r, "closure_reasons")))
        fprintf(cli_out(), "  no closures in the period\n");
    else
        fprintf(cli_out(), "  %-28s %8s\n", "REASON", "CASES");
    json_array_foreach(json_object_get(r, "closure_reasons"), i, v)
        fprintf(cli_out(), "  %-28s %8lld\n", str_or(v, "reason", "?"), (long long)num(v, "count"));

    heading("Cases registered and closed per month", 0, 0);
    if (!json_array_size(json_object_get(r, "per_month")))
        fprintf(cli_out(), "  none in the period\n");
    else
        fprintf(cli_out(), "  %-10s %10s %10s\n", "MONTH", "REGISTERED", "CLOSED");
    json_array_foreach(json_object_get(r, "per_month"), i, v)
        fprintf(cli_out(), "  %-10s %10lld %10lld\n", str_or(v, "month", "?"),
               (long long)num(v, "registered"), (long long)num(v, "closed"));
}

/* ---- HTML ---------------------------------------------------------------------- */

/* Escapes text for HTML and SVG (element content and quoted attributes). */
static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* Escapes at most max bytes of s (cut at a UTF-8 character boundary) and
 * "..." when it was longer: bar labels fit their column. */
static void esc_short(FILE *f, const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max) {
        esc(f, s);
        return;
    }
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    char buf[64];
    if (max >= sizeof buf)
        max = sizeof buf - 1;
    memcpy(buf, s, max);
    buf[max] = '\0';
    esc(f, buf);
    fputs("...", f);
}

/* Colours that stay apart on screen and in greyscale print (darker to
 * lighter), each with a value label beside it anyway. */
static const char *const palette[] = {"#1b4f72", "#d35400", "#27ae60", "#8e44ad",
                                      "#c0392b", "#7f8c8d", "#2e86c1", "#b7950b",
                                      "#16a085", "#6e2c00"};
#define NPALETTE (sizeof palette / sizeof palette[0])

/* A bar chart: rows of bars, one series (plain bars), several stacked in
 * one bar, or several side by side (grouped). */
typedef struct {
    const char *title;
    const char *note;        /* a line under the title (may be NULL) */
    size_t rows, series;
    const char **row_label;  /* rows */
    const char **series_label; /* series (a legend when series > 1) */
    double *v;               /* rows x series */
    int stacked;
    const char *unit;        /* after each value ("", "%", " d") */
    double max;              /* 0: the largest bar */
    const char **colour;     /* series' colours (NULL: the palette's) */
    const char *missing;     /* shown for a NAN value (nothing to measure:
                              * no bar is drawn), NULL: "-" */
} bars;

#define LABEL_W 190
#define BAR_W 330
#define ROW_H 26

/* Opens a chart's section with its title and note (may be NULL) on f. */
static void chart_open(FILE *f, const char *title, const char *note)
{
    /* data-check: the title in lower case, words joined by '-' (the
     * tests measure each chart's box, tests/cli/lib.sh page_layout) */
    fputs("<section class=\"chart\" data-check=\"", f);
    for (const char *c = title; *c; c++)
        if (isalnum((unsigned char)*c))
            fputc(tolower((unsigned char)*c), f);
        else if (c[1] && isalnum((unsigned char)c[1]) && c != title)
            fputc('-', f);
    fputs("\"><h2>", f);
    esc(f, title);
    fputs("</h2>\n", f);
    if (note) {
        fputs("<p class=\"note\">", f);
        esc(f, note);
        fputs("</p>\n", f);
    }
}

/* Writes the legend of a chart's n series, labels[0..n), to f, in their
 * colours (NULL: the palette's, in order). */
static void legend(FILE *f, size_t n, const char **labels,
                   const char **colours)
{
    fputs("<p class=\"legend\">", f);
    for (size_t s = 0; s < n; s++) {
        fprintf(f, "<span><svg width=\"12\" height=\"12\" aria-hidden=\"true\">"
                   "<rect width=\"12\" height=\"12\" fill=\"%s\"/></svg> ",
                colours ? colours[s] : palette[s % NPALETTE]);
        esc(f, labels[s]);
        fputs("</span> ", f);
    }
    fputs("</p>\n", f);
}

/* Opens an SVG of w by h with its accessible title on f. */
static void svg_open(FILE *f, const char *title, int w, int h)
{
    fprintf(f, "<svg viewBox=\"0 0 %d %d\" width=\"100%%\" role=\"img\" "
               "preserveAspectRatio=\"xMinYMin meet\" style=\"max-width:%dpx\"><title>", w, h, w);
    esc(f, title);
    fputs("</title>\n", f);
}

/* Writes v with its unit into buf: whole numbers without decimals, others
 * with one. */
static void fmt_value(char *buf, size_t size, double v, const char *unit)
{
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, size, "%.0f%s", v, unit);
    else
        snprintf(buf, size, "%.1f%s", v, unit);
}

/* Writes the bar chart b (a section with its SVG) to f; "None." when it has
 * no rows. */
static void chart_bars(FILE *f, const bars *b)
{
    chart_open(f, b->title, b->note);
    if (b->rows == 0) {
        fputs("<p class=\"none\">None.</p></section>\n", f);
        return;
    }
    size_t per_row = b->stacked ? 1 : b->series;
    double max = b->max;
    for (size_t r = 0; r < b->rows && b->max <= 0; r++) {
        double sum = 0;
        for (size_t s = 0; s < b->series; s++) {
            double x = b->v[r * b->series + s];
            if (isnan(x))
                continue;
            if (b->stacked)
                sum += x;
            else if (x > max)
                max = x;
        }
        if (sum > max)
            max = sum;
    }
    if (max <= 0)
        max = 1;
    int bar_h = per_row > 1 ? 12 : 18;
    int row_h = per_row > 1 ? (int)per_row * (bar_h + 2) + 8 : ROW_H;
    int w = LABEL_W + BAR_W + 90, h = (int)b->rows * row_h + 6;
    /* a legend for several series, and for task kinds even when one kind
     * alone is drawn (its name and colour, the same as in other charts) */
    int named = b->series_label && (b->series > 1 || b->colour);
    if (named)
        legend(f, b->series, b->series_label, b->colour);
    svg_open(f, b->title, w, h);
    char val[48];
    for (size_t r = 0; r < b->rows; r++) {
        int y = 3 + (int)r * row_h;
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"lbl\">",
                LABEL_W - 8, y + row_h / 2 + 4);
        esc_short(f, b->row_label[r], 22);
        fputs("</text>\n", f);
        double x = LABEL_W, sum = 0;
        for (size_t s = 0; s < b->series; s++) {
            double v = b->v[r * b->series + s];
            const char *fill = b->colour ? b->colour[s] : palette[s % NPALETTE];
            if (isnan(v)) {
                /* nothing to measure (nothing fell due): no bar, a word */
                int by = b->stacked || per_row == 1
                             ? y + (row_h - bar_h) / 2
                             : y + 4 + (int)s * (bar_h + 2);
                if (!b->stacked)
                    fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"val none\">%s"
                               "</text>\n", LABEL_W + 4, by + bar_h - 3,
                            b->missing ? b->missing : "-");
                continue;
            }
            double len = v / max * BAR_W;
            int by = b->stacked || per_row == 1 ? y + (row_h - bar_h) / 2
                                                : y + 4 + (int)s * (bar_h + 2);
            if (!b->stacked)
                x = LABEL_W;
            if (v > 0) {
                fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                           "fill=\"%s\"><title>",
                        x, by, len < 1 ? 1 : len, bar_h, fill);
                esc(f, b->row_label[r]);
                if (named) {
                    fputs(", ", f);
                    esc(f, b->series_label[s]);
                }
                fmt_value(val, sizeof val, v, b->unit);
                fprintf(f, ": %s</title></rect>\n", val);
            }
            if (!b->stacked) {
                fmt_value(val, sizeof val, v, b->unit);
                fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"val\">%s</text>\n",
                        x + (len < 1 ? 1 : len) + 4, by + bar_h - 3, val);
            }
            x += len;
            sum += v;
        }
        if (b->stacked) {
            fmt_value(val, sizeof val, sum, b->unit);
            fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"val\">%s</text>\n", x + 4,
                    y + (row_h - bar_h) / 2 + bar_h - 4, val);
        }
    }
    fputs("</svg></section>\n", f);
}

/* The monthly line chart of registrations and closures. */
static void chart_months(FILE *f, const char *title, json_t *months)
{
    static const char *const names[] = {"registered", "closed"};
    chart_open(f, title, "Cases registered and cases closed in each month (UTC).");
    size_t n = json_array_size(months);
    if (n == 0) {
        fputs("<p class=\"none\">None in the period.</p></section>\n", f);
        return;
    }
    legend(f, 2, (const char **)names, NULL);
    int left = 50, right = 40, top = 12, bottom = 46, plot_w = 540, plot_h = 220;
    int w = left + plot_w + right, h = top + plot_h + bottom;
    json_int_t max = 1;
    size_t i;
    json_t *m;
    json_array_foreach(months, i, m) {
        if (num(m, "registered") > max)
            max = num(m, "registered");
        if (num(m, "closed") > max)
            max = num(m, "closed");
    }
    svg_open(f, title, w, h);
    /* Axes with three grid lines at 0, step and 2 x step: the scale's top
     * is 2 x step (a whole step at least half the largest value), so every
     * label is a whole number drawn where that number is. */
    json_int_t gstep = (max + 1) / 2;
    max = 2 * gstep;
    for (int k = 0; k <= 2; k++) {
        double y = top + plot_h - plot_h * k / 2.0;
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>"
                   "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"val\">%lld</text>\n",
                left, y, left + plot_w, y, left - 6, y + 4,
                (long long)(gstep * k));
    }
    double step = n > 1 ? (double)plot_w / (double)(n - 1) : 0;
    size_t every = n <= 12 ? 1 : (n + 11) / 12;
    json_array_foreach(months, i, m) {
        if (i % every && i != n - 1)
            continue;
        double x = left + (n > 1 ? step * (double)i : plot_w / 2.0);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" class=\"val\">",
                x, top + plot_h + 18);
        esc(f, str_or(m, "month", "?"));
        fputs("</text>\n", f);
    }
    for (int s = 0; s < 2; s++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\"%s points=\"",
                palette[s], s ? " stroke-dasharray=\"6 3\"" : "");
        json_array_foreach(months, i, m) {
            double x = left + (n > 1 ? step * (double)i : plot_w / 2.0);
            double y = top + plot_h - (double)num(m, names[s]) / (double)max * plot_h;
            fprintf(f, "%.1f,%.1f ", x, y);
        }
        fputs("\"/>\n", f);
        json_array_foreach(months, i, m) {
            double x = left + (n > 1 ? step * (double)i : plot_w / 2.0);
            double y = top + plot_h - (double)num(m, names[s]) / (double)max * plot_h;
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>",
                    x, y, palette[s]);
            esc(f, str_or(m, "month", "?"));
            fprintf(f, ": %lld %s</title></circle>\n", (long long)num(m, names[s]),
                    names[s]);
        }
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"val\">cases per month</text>\n",
            left, h - 6);
    fputs("</svg>\n", f);
    /* The figures as a table too (printed pages, screen readers). */
    fputs("<table><thead><tr><th>Month</th><th>Registered</th><th>Closed</th>"
          "</tr></thead><tbody>\n", f);
    json_array_foreach(months, i, m) {
        fputs("<tr><td>", f);
        esc(f, str_or(m, "month", "?"));
        fprintf(f, "</td><td>%lld</td><td>%lld</td></tr>\n",
                (long long)num(m, "registered"), (long long)num(m, "closed"));
    }
    fputs("</tbody></table></section>\n", f);
}

/* One-series bars from an object {label: count} (keys in order). */
static void chart_object(FILE *f, const char *title, const char *note, json_t *obj)
{
    size_t n = json_object_size(obj), r = 0;
    const char **labels = calloc(n + 1, sizeof *labels);
    double *v = calloc(n + 1, sizeof *v);
    const char *k;
    json_t *x;
    if (labels && v) {
        json_object_foreach(obj, k, x) {
            labels[r] = k;
            v[r++] = (double)json_integer_value(x);
        }
        bars b = {title, note, r, 1, labels, NULL, v, 0, "", 0, NULL, NULL};
        chart_bars(f, &b);
    }
    free(labels);
    free(v);
}

/* The colour of a task kind, the same in every chart: a fixed map of the
 * kinds the engine makes, else one picked by the kind's name (never by
 * its place in a chart's list, which changes from chart to chart). */
static const char *kind_colour(const char *kind)
{
    static const char *const map[][2] = {
        {"initial_assessment", "#1b4f72"}, {"comprehensive_assessment", "#d35400"},
        {"followup", "#27ae60"},           {"review", "#8e44ad"},
        {"action", "#c0392b"},             {"approval", "#7f8c8d"},
        {"referral_outcome", "#2e86c1"},   {"final_followup", "#b7950b"},
        {"evaluation", "#16a085"},         {"intake_assessment", "#1b4f72"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(kind, map[i][0]))
            return map[i][1];
    unsigned h = 2166136261u; /* FNV-1a */
    for (const char *c = kind; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    return palette[h % NPALETTE];
}

#define MAX_PEOPLE_IN_CHART 25

/* A stacked bar of tasks by kind (all together), and one per caseworker. */
static void chart_tasks(FILE *f, const char *what, json_t *g)
{
    json_t *by_kind = json_object_get(g, "by_kind");
    json_t *people = json_object_get(g, "by_caseworker");
    size_t nk = json_object_size(by_kind), np = json_array_size(people);
    const char **kinds = calloc(nk + 1, sizeof *kinds);
    const char **rows = calloc(np + 1, sizeof *rows);
    double *v = calloc((np + 1) * (nk + 1), sizeof *v);
    char title[128], note[160];
    const char *k;
    const char **colours = NULL;
    json_t *x, *p;
    size_t i = 0;
    if (!kinds || !rows || !v)
        goto done;
    json_object_foreach(by_kind, k, x) {
        kinds[i] = k;
        v[i++] = (double)json_integer_value(x);
    }
    colours = calloc(nk + 1, sizeof *colours);
    if (!colours)
        goto done;
    for (size_t c = 0; c < nk; c++)
        colours[c] = kind_colour(kinds[c]);
    static const char *const all_row[] = {"all"};
    snprintf(title, sizeof title, "%s by kind", what);
    snprintf(note, sizeof note, "%lld task%s in all, one colour per kind.",
             (long long)num(g, "total"), plural_s((long long)num(g, "total")));
    bars b = {title, note, nk ? 1 : 0, nk, (const char **)all_row, kinds, v, 1, "", 0,
              colours, NULL};
    chart_bars(f, &b);
    /* Per person: the rows come ordered by login; the chart shows those
     * with the most tasks when there are many. */
    size_t shown = np < MAX_PEOPLE_IN_CHART ? np : MAX_PEOPLE_IN_CHART;
    int *taken = calloc(np + 1, sizeof *taken);
    if (!taken)
        goto done;
    memset(v, 0, (np + 1) * (nk + 1) * sizeof *v);
    for (size_t r = 0; r < shown; r++) {
        size_t best = np;
        for (size_t j = 0; j < np; j++)
            if (!taken[j] && (best == np || num(json_array_get(people, j), "total") >
                                                num(json_array_get(people, best), "total")))
                best = j;
        taken[best] = 1;
        p = json_array_get(people, best);
        rows[r] = str_or(p, "caseworker", "(unassigned)");
        for (size_t s = 0; s < nk; s++)
            v[r * nk + s] = (double)num(json_object_get(p, "by_kind"), kinds[s]);
    }
    free(taken);
    snprintf(title, sizeof title, "%s by caseworker", what);
    if (np > shown)
        snprintf(note, sizeof note, "The %zu of %zu people with the most tasks; "
                                    "stacked by kind.", shown, np);
    else
        snprintf(note, sizeof note, "Whom the tasks are assigned to; stacked by kind.");
    bars c = {title, note, shown, nk, rows, kinds, v, 1, "", 0, colours, NULL};
    chart_bars(f, &c);
done:
    free(colours);
    free(kinds);
    free(rows);
    free(v);
}

static const char page_css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "margin:0 auto;padding:1rem;max-width:52rem;color:#111;background:#fff;"
    "line-height:1.4}"
    "h1{font-size:1.5rem;margin:.2rem 0}"
    "h2{font-size:1.1rem;margin:1.2rem 0 .3rem;border-bottom:1px solid #ccc}"
    ".meta{color:#333;font-size:.95rem}"
    ".note,.legend{font-size:.85rem;color:#333;margin:.2rem 0}"
    ".legend span{margin-right:.8rem;white-space:nowrap}"
    ".legend svg{display:inline-block;vertical-align:middle}"
    "svg{display:block;height:auto}"
    "svg text{font-size:13px;fill:#111}"
    "svg .val{font-size:12px;fill:#222}"
    "svg .grid{stroke:#ccc;stroke-width:1}"
    "table{border-collapse:collapse;font-size:.9rem;margin:.4rem 0}"
    "th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:right}"
    "th:first-child,td:first-child{text-align:left}"
    ".chart{break-inside:avoid;page-break-inside:avoid}"
    "@media (max-width:600px){body{padding:.5rem}h1{font-size:1.25rem}"
    "table{font-size:.8rem}}"
    "@media print{body{max-width:none;padding:0;font-size:10pt}"
    "h2{break-after:avoid;page-break-after:avoid}"
    "svg{max-width:100%!important}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

/* Writes the table of risk factors across the caseload (r.risk_factors):
 * each factor's code, its wording and the open cases counted. */
static void write_factors(FILE *f, json_t *factors)
{
    size_t i;
    json_t *v;
    fputs("<div class=\"chart\"><h2>Risk factors across the caseload</h2>\n"
          "<p class=\"note\">Open cases whose current risk decision includes "
          "each factor, worded by the rule pack in force.</p>\n", f);
    if (!json_array_size(factors)) {
        fputs("<p class=\"note\">No open case has a risk decision.</p></div>\n", f);
        return;
    }
    fputs("<table><thead><tr><th>Factor</th><th>Wording</th><th>Open cases</th>"
          "</tr></thead><tbody>\n", f);
    json_array_foreach(factors, i, v) {
        fputs("<tr><td>", f);
        esc(f, str_or(v, "code", "?"));
        fputs("</td><td style=\"text-align:left\">", f);
        esc(f, str_or(v, "wording", ""));
        fprintf(f, "</td><td>%lld</td></tr>\n", (long long)num(v, "open_cases"));
    }
    fputs("</tbody></table></div>\n", f);
}


/* The rows and shares (in %) of the compliance chart from fc: NAN where
 * nothing fell due (no share to draw; the table says "-"). */
static void compliance_shares(json_t *fc, const char **rows, double *share)
{
    for (int k = 0; k < NWINDOWS; k++) {
        json_t *ratio = json_object_get(json_object_get(fc, window_names[k][0]),
                                        "ratio");
        rows[k] = window_names[k][1];
        share[k] = json_is_number(ratio) ? json_number_value(ratio) * 100.0
                                         : NAN;
    }
}

/* Writes the whole HTML page of the report r to f. */
static void write_page(FILE *f, json_t *r)
{
    char b1[32], b2[32];
    size_t i;
    json_t *v;
    const char *scope = str_or(r, "scope", "");
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>Haven caseload report</title>\n<style>", f);
    fputs(page_css, f);
    fputs("</style></head><body>\n<h1>Haven caseload report</h1>\n<p class=\"meta\">", f);
    fputs("Where cases stand and what is late, for ", f);
    describe_scope(f, r);
    if (strcmp(scope, "agency"))
        esc(f, str_or(r, "actor", "?"));
    if (json_is_string(json_object_get(r, "caseworker"))) {
        fputs(", narrowed to the cases of ", f);
        esc(f, str_or(r, "caseworker", ""));
    }
    static const char *const made[][3] = {
        {". Made for ", "actor", "?"},      {" (", "role", "?"},
        {") at ", "generated_at", "?"},     {". Period: ", "since", "the beginning"},
        {" to ", "until", "now"},
    };
    for (size_t k = 0; k < sizeof made / sizeof made[0]; k++) {
        fputs(made[k][0], f);
        esc(f, str_or(r, made[k][1], made[k][2]));
    }
    fputs(" (registrations, closures, durations, closure reasons and the monthly "
          "series); open cases, tasks and approvals are as they stand now. "
          "Aggregate figures only: no names or other identifying data.</p>\n", f);
    if (!strcmp(str_or(r, "clock", ""), "simulated"))
        fputs("<p class=\"meta\"><strong>Simulated database:</strong> its times "
              "were set with --now, not real.</p>\n", f);

    json_t *open = json_object_get(r, "open_cases");
    json_t *by_stage = json_object_get(open, "by_stage");
    size_t ns = json_array_size(by_stage);
    const char **labels = calloc(ns + 1, sizeof *labels);
    double *vals = calloc(ns + 1, sizeof *vals);
    if (labels && vals) {
        json_array_foreach(by_stage, i, v) {
            labels[i] = str_or(v, "label", "?");
            vals[i] = (double)num(v, "count");
        }
        char note[64];
        snprintf(note, sizeof note, "%lld open case%s.", (long long)num(open, "total"),
                 plural_s((long long)num(open, "total")));
        bars b = {"Open cases by stage", note, ns, 1, labels, NULL, vals, 0, "", 0,
                  NULL, NULL};
        chart_bars(f, &b);
    }
    free(labels);
    free(vals);
    chart_object(f, "Open cases by risk level", "The risk level last scored.",
                 json_object_get(open, "by_risk"));
    chart_object(f, "Open cases by urgency", NULL, json_object_get(open, "by_urgency"));
    write_factors(f, json_object_get(r, "risk_factors"));

    chart_tasks(f, "Overdue tasks", at(r, "tasks.overdue"));
    chart_tasks(f, "Tasks due in the next 7 days", at(r, "tasks.due_this_week"));

    json_t *ap = json_object_get(r, "approvals_pending");
    char apnote[96];
    if (num(ap, "total"))
        snprintf(apnote, sizeof apnote, "%lld waiting; the oldest for %s days.",
                 (long long)num(ap, "total"),
                 fmt_days(json_object_get(ap, "oldest_waiting_days"), b1, sizeof b1));
    else
        snprintf(apnote, sizeof apnote, "Nothing is waiting for approval.");
    chart_object(f, "Approvals pending", apnote, json_object_get(ap, "by_subject"));

    /* Compliance: the share of follow-ups done on time, per window. */
    {
        const char *rows[NWINDOWS];
        double share[NWINDOWS];
        json_t *fc = json_object_get(r, "followup_compliance");
        compliance_shares(fc, rows, share);
        bars b = {"Follow-up compliance",
                  "Share of the follow-ups that fell due in each window that were "
                  "done on or before their due date.",
                  NWINDOWS, 1, rows, NULL, share, 0, "%", 100, NULL, "none due"};
        chart_bars(f, &b);
        fputs("<table><thead><tr><th>Fell due in</th><th>Due</th><th>On time</th>"
              "<th>Late</th><th>Not done</th><th>Share</th></tr></thead><tbody>\n", f);
        for (int k = 0; k < NWINDOWS; k++) {
            json_t *w = json_object_get(fc, window_names[k][0]);
            fprintf(f, "<tr><td>%s</td><td>%lld</td><td>%lld</td><td>%lld</td>"
                       "<td>%lld</td><td>%s</td></tr>\n",
                    window_names[k][1], (long long)num(w, "due"),
                    (long long)num(w, "on_time"), (long long)num(w, "late"),
                    (long long)num(w, "not_done"),
                    fmt_share(json_object_get(w, "ratio"), b1, sizeof b1));
        }
        fputs("</tbody></table>\n", f);
    }

    /* Time to milestones: median and 90th percentile side by side. */
    {
        const char *rows[NMILESTONES];
        static const char *const series[] = {"median", "90th percentile"};
        double d[NMILESTONES * 2];
        json_t *tt = json_object_get(r, "time_to");
        for (int k = 0; k < NMILESTONES; k++) {
            json_t *m = json_object_get(tt, milestone_names[k][0]);
            rows[k] = milestone_names[k][1];
            json_t *md = json_object_get(m, "median_days");
            json_t *p9 = json_object_get(m, "p90_days");
            d[k * 2] = json_is_number(md) ? json_number_value(md) : NAN;
            d[k * 2 + 1] = json_is_number(p9) ? json_number_value(p9) : NAN;
        }
        bars b = {"Days from registration to each milestone",
                  "Median and 90th percentile (nearest rank) over the cases that "
                  "reached the milestone in the period.",
                  NMILESTONES, 2, rows, (const char **)series, d, 0, " d", 0,
                  NULL, "none"};
        chart_bars(f, &b);
        fputs("<table><thead><tr><th>Milestone</th><th>Cases</th><th>Median days</th>"
              "<th>90th percentile days</th></tr></thead><tbody>\n", f);
        for (int k = 0; k < NMILESTONES; k++) {
            json_t *m = json_object_get(tt, milestone_names[k][0]);
            fprintf(f, "<tr><td>%s</td><td>%lld</td><td>%s</td><td>%s</td></tr>\n",
                    milestone_names[k][1], (long long)num(m, "cases"),
                    fmt_days(json_object_get(m, "median_days"), b1, sizeof b1),
                    fmt_days(json_object_get(m, "p90_days"), b2, sizeof b2));
        }
        fputs("</tbody></table>\n", f);
    }

    json_t *reasons = json_object_get(r, "closure_reasons");
    size_t nr = json_array_size(reasons);
    labels = calloc(nr + 1, sizeof *labels);
    vals = calloc(nr + 1, sizeof *vals);
    if (labels && vals) {
        json_array_foreach(reasons, i, v) {
            labels[i] = str_or(v, "reason", "?");
            vals[i] = (double)num(v, "count");
        }
        bars b = {"Closure reasons", "Cases closed (or transferred) in the period.",
                  nr, 1, labels, NULL, vals, 0, "", 0, NULL, NULL};
        chart_bars(f, &b);
    }
    free(labels);
    free(vals);

    chart_months(f, "Cases registered and closed per month",
                 json_object_get(r, "per_month"));
    fputs("<p class=\"note\">Made by haven report. The figures are defined in the "
          "README, section Reports.</p>\n</body></html>\n", f);
}

int report_write_html(const char *path, json_t *r)
{
    if (cli_is_remote()) { /* into the request's outputs */
        cli_output file;
        FILE *f = cli_output_open(&file, path);
        if (!f)
            return hv_status_exit_code(HV_NOMEM);
        write_page(f, r);
        return cli_output_keep(&file);
    }
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp)
        return hv_status_exit_code(HV_NOMEM);
    snprintf(tmp, n + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp); /* mode 0600 */
    if (fd < 0) {
        fprintf(cli_err(), "haven: %s: cannot create: %s\n", path, strerror(errno));
        free(tmp);
        return hv_status_exit_code(HV_CANTCREATE);
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        free(tmp);
        fprintf(cli_err(), "haven: %s: cannot write\n", path);
        return hv_status_exit_code(HV_IOERR);
    }
    write_page(f, r);
    int bad = fflush(f) != 0 || ferror(f) || fchmod(fd, 0600) != 0 || fsync(fd) != 0;
    int err = errno;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        if (!bad)
            err = errno;
        unlink(tmp);
        fprintf(cli_err(), "haven: %s: cannot write: %s\n", path, strerror(err));
        free(tmp);
        return hv_status_exit_code(HV_IOERR);
    }
    free(tmp);
    return 0;
}
