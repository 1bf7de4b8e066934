/*
 * curve.c - the agency-wide commands on every caseload, each a whole
 * `haven` process measured against its raw limit, and the cost curve they
 * draw from 10,000 cases up (with 10,000,000 estimated from it: which
 * command breaks first).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "verify_raw.h"

/* One agency-wide command: its words after `haven --db DB --as as`, its
 * target at 1,000,000 cases (NULL: none), the bound past which we call it
 * broken (seconds: what an agency can wait for it), and its median time
 * at each size. */
typedef struct {
    const char *what, *as;
    const char *words[8];
    const char *target;
    double bound;
    const char *bound_why;
    double t[8];
} agency_command;

/* A copy of source's rules/default at to with risk.lua's "high" threshold
 * moved from 12 to 10 (a change of policy a rule writer might try), so
 * that a diff has changes to find.  Dies on failure. */
static void changed_pack(const char *source, const char *to)
{
    char cmd[22000];
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' && cp -r '%s/rules/default' '%s' &&"
             " sed -i 's/if score >= 12 then return \"high\"/if score >= 10 then return"
             " \"high\"/' '%s/risk.lua' && grep -q 'score >= 10 then' '%s/risk.lua'",
             to, source, to, to, to);
    if (system(cmd) != 0)
        bench_die("making the changed pack %s", to);
}

/* Seconds for the raw work of a diff on db: the open cases read raw once
 * and given to the pack in force's risk.lua on plain Lua tables, and to
 * the changed pack's (when changed is not NULL) on the same tables, on
 * as many threads as Haven's agency-wide diff (raw_rescore_on); out:
 * *cases. */
static double raw_rescore_time(sqlite3 *db, const char *source, const char *changed,
                               long *cases)
{
    double rate = raw_rescore_on(db, source, changed, bench_threads(), cases);
    return rate > 0 ? (double)*cases / rate : 0;
}

/* The median seconds of reps runs of argv, into *s too. */
static double timed(const char *const argv[], int reps, series *s)
{
    long rss;
    for (int i = 0; i < reps; i++)
        push(s, run_process(argv, &rss));
    return median(s);
}

/* File size in MiB of path (0 when missing). */
static double mib(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (double)st.st_size / 1048576.0 : 0;
}

/* The section "Agency-wide commands" and the cost curve (see the file's
 * comment) on the caseloads db_of[0..nsizes) of sizes cases. */
void bench_curve(int nsizes, const long *sizes, char **db_of, const char *haven_bin,
                 const char *source, const char *data_dir, int reps)
{
    char changed[4200];
    snprintf(changed, sizeof changed, "%s/pack-changed", data_dir);
    changed_pack(source, changed);
    agency_command cmds[] = {
        {"due --agency --overdue --count", "manager1",
         {"due", "--agency", "--overdue", "--count"}, NULL, 1, "a dashboard's figure", {0}},
        {"report (manager)", "manager1", {"report"}, "≤ 2 s", 2, "the target", {0}},
        {"rules diff (the pack against itself)", "admin", {"rules", "diff", "--hooks", "risk"},
         "≤ 5 s or ≥ 0.8 × raw", 5, "the target", {0}},
        {"rules diff --full (the pack against itself, run)", "admin",
         {"rules", "diff", "--hooks", "risk", "--full"}, NULL, 60,
         "a rule writer's check of the pack in force", {0}},
        {"rules diff (a changed pack)", "admin",
         {"rules", "diff", changed, "--hooks", "risk"}, "≤ 5 s or ≥ 0.8 × raw", 5,
         "the target", {0}},
        {"audit verify", "admin", {"audit", "verify"}, "≥ 0.8 × raw", 600,
         "a nightly check in ten minutes", {0}},
    };
    size_t ncmds = sizeof cmds / sizeof cmds[0];
    out("\n## Agency-wide commands (whole processes)\n\n"
        "Each a whole `haven` process on each caseload (median of %d, min – max), beside\n"
        "its raw limit measured in this run; the targets hold at 1,000,000 cases.\n"
        "Raw limits: for the count, the agency's open late tasks counted in plain SQLite\n"
        "over the `tasks_due` index; for the report, the same rows the report reads, read\n"
        "in one plain SQLite pass each (bench_raw.c raw_report); for a diff, the same\n"
        "open cases read raw once and given to each pack's risk.lua on plain Lua tables,\n"
        "on as many threads as Haven's diff (raw_rescore_on); for audit verify, the same event bytes read with plain SQLite\n"
        "and hashed with keyed BLAKE2b (verify_raw.c).\n\n"
        "| figure | Haven | raw limit | ratio | target | |\n|---|---|---|---|---|---|\n",
        reps);
    for (int k = 0; k < nsizes; k++) {
        const char *db = db_of[k];
        sqlite3 *raw_db;
        if (sqlite3_open_v2(db, &raw_db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
            bench_die("open %s", db);
        for (size_t c = 0; c < ncmds; c++) {
            const char *argv[16] = {haven_bin, "--db", db, "--as", cmds[c].as};
            int a = 5;
            for (int w = 0; cmds[c].words[w]; w++)
                argv[a++] = cmds[c].words[w];
            argv[a] = NULL;
            series h = {0}, r = {0};
            cmds[c].t[k] = timed(argv, reps, &h);
            for (int i = 0; i < reps; i++) {
                long n = 0;
                int64_t count = 0;
                switch (c) {
                case 0: push(&r, raw_index_count(raw_db, &count)); break;
                case 1: push(&r, raw_report(raw_db)); break;
                case 2: /* one pack's pass */
                case 3:
                    push(&r, raw_rescore_time(raw_db, source, NULL, &n));
                    break;
                case 4: /* both packs on each case read once */
                    push(&r, raw_rescore_time(raw_db, source, changed, &n));
                    break;
                default: push(&r, raw_verify(db, &n)); break;
                }
            }
            char what[200];
            snprintf(what, sizeof what, "`haven %s`, %ld cases", cmds[c].what, sizes[k]);
            int at_target = sizes[k] >= 1000000 && cmds[c].target;
            double hm = median(&h), rm = median(&r);
            int met = -1;
            if (at_target) {
                if (c == 1)
                    met = hm <= 2;
                else if (c == 2 || c == 4)
                    met = hm <= 5 || rm / hm >= 0.8;
                else if (c == 5)
                    met = rm / hm >= 0.8;
            }
            bench_row(what, &h, "s", &r, 0, at_target ? cmds[c].target : "-", met);
        }
        sqlite3_close(raw_db);
    }
    /* The cost curve. */
    out("\n## The cost curve\n\nEach command's median time on each caseload (from the table "
        "above), and at 10,000,000 cases estimated from the last step (a power law through "
        "the two largest sizes).  The bound is what we "
        "hold each command to at national scale.\n\n| command |");
    for (int k = 0; k < nsizes; k++)
        out(" %ld |", sizes[k]);
    out(" 10,000,000 (estimated) | bound | |\n|---|");
    for (int k = 0; k < nsizes; k++)
        out("---|");
    out("---|---|---|\n");
    const char *first = NULL;
    double first_over = 0;
    for (size_t c = 0; c < ncmds; c++) {
        out("| `%s` |", cmds[c].what);
        for (int k = 0; k < nsizes; k++) {
            char v[32];
            fmt_num(v, sizeof v, cmds[c].t[k], "s");
            out(" %s |", v);
        }
        double est = 0;
        if (nsizes >= 2 && cmds[c].t[nsizes - 2] > 0 &&
            sizes[nsizes - 1] > sizes[nsizes - 2]) {
            /* t = a * n^b through the last two sizes, carried to 10M */
            double b = log(cmds[c].t[nsizes - 1] / cmds[c].t[nsizes - 2]) /
                       log((double)sizes[nsizes - 1] / (double)sizes[nsizes - 2]);
            est = cmds[c].t[nsizes - 1] * pow(1e7 / (double)sizes[nsizes - 1], b);
        }
        char e[32] = "-", b[32];
        if (est > 0)
            fmt_num(e, sizeof e, est, "s");
        fmt_num(b, sizeof b, cmds[c].bound, "s");
        int over = est > cmds[c].bound;
        out(" %s | %s (%s) | %s |\n", e, b, cmds[c].bound_why, over ? "**over**" : "within");
        if (over && (!first || est / cmds[c].bound > first_over)) {
            first = cmds[c].what;
            first_over = est / cmds[c].bound;
        }
    }
    out("\nDatabase files:");
    for (int k = 0; k < nsizes; k++)
        out(" %s%ld cases %.0f MiB", k ? ", " : "", sizes[k], mib(db_of[k]));
    double per_case = nsizes ? mib(db_of[nsizes - 1]) / (double)sizes[nsizes - 1] : 0;
    long ram = (long)((double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE) /
                      1048576.0);
    out("; at 10,000,000 cases about %.0f MiB (%.0f%% of this machine's %ld MiB of RAM: %s).\n",
        per_case * 1e7, per_case * 1e7 / (double)ram * 100, ram,
        per_case * 1e7 > (double)ram * 0.5
            ? "the page cache no longer holds it, and a command that reads in an order other "
              "than the file's pays a disk read per page"
            : "it still fits the page cache");
    if (first)
        out("\nThe first to break at 10,000,000 cases: `%s`, estimated at %.1f × its bound.\n",
            first, first_over);
    else
        out("\nNo command is estimated past its bound at 10,000,000 cases.\n");
}
