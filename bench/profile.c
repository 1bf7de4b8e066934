/*
 * profile.c - the two loops bench/profile.sh runs under callgrind: bulk
 * registration and re-scoring, each in a function of its own (the
 * --toggle-collect target), so the profile holds the loop and nothing of
 * the set-up around it.
 *
 *   haven-bench --profile register --data DIR --source SRC
 *   haven-bench --profile rescore  --data DIR --source SRC --profile-db DB
 *
 * Run natively, each prints "items microseconds-per-item" (the median of
 * 5 runs) on stdout for the summary's conversion of instruction shares into
 * microseconds; under callgrind (--profile-once 1) it runs the loop once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "gen.h"
#include "haven.h"
#include "rulesdiff.h"

/* Registrations in this loop and their batch (as figure 2: 1,000 per
 * transaction). */
#define PROFILE_REGISTRATIONS 2000
#define PROFILE_BATCH 1000

/* The timed loop of bulk registration: n children into e, batch to a
 * transaction.  Not inlined: callgrind collects inside it only. */
__attribute__((noinline, noclone)) double profiled_registrations(hv_engine *e, int n, int batch,
                                                        long seed)
{
    char in[4096];
    double t0 = bench_now();
    for (int i = 0; i < n; i++) {
        if (batch > 1 && i % batch == 0 && hv_engine_batch_begin(e) != HV_OK)
            bench_die("batch: %s", hv_errmsg(e));
        char *ref = NULL;
        if (gen_registration_json(e, (unsigned long long)seed, i, in, sizeof in))
            bench_die("registration input");
        hv_status s = hv_case_register(e, in, 0, &ref);
        if (s == HV_DUPLICATE)
            s = hv_case_register(e, in, HV_REGISTER_FORCE, &ref);
        if (s != HV_OK)
            bench_die("register: %s", hv_errmsg(e));
        hv_free(ref);
        if (batch > 1 && (i % batch == batch - 1 || i == n - 1) &&
            hv_engine_batch_commit(e) != HV_OK)
            bench_die("commit: %s", hv_errmsg(e));
    }
    return bench_now() - t0;
}

/* The timed loop of re-scoring: risk.lua on every open case the actor of
 * e may see (the pack in force against itself, as figure 6).  Not inlined:
 * callgrind collects inside it only.  out: *evaluated, the cases. */
__attribute__((noinline, noclone)) double profiled_rescore(hv_engine *e, long *evaluated)
{
    /* full: the pack in force is run, not answered from its digest */
    hv_rules_diff_options o = {.hooks = HV_DIFF_RISK, .full = 1};
    char *res = NULL;
    double t0 = bench_now();
    if (hv_rules_diff(e, NULL, &o, &res) != HV_OK)
        bench_die("rules diff: %s", hv_errmsg(e));
    double t = bench_now() - t0;
    const char *p = strstr(res, "\"cases_evaluated\"");
    *evaluated = p ? strtol(strchr(p, ':') + 1, NULL, 10) : 0;
    hv_free(res);
    return t;
}

/* The profile run of what ("register" or "rescore"; db: the caseload of
 * the second); once: a single run (under callgrind), else the median of 5
 * printed as "items µs-per-item".  Returns the exit status. */
int profile_run(const char *what, const char *data_dir, const char *db, int once)
{
    series s = {0};
    long items = 0;
    int runs = once ? 1 : 5;
    for (int r = 0; r < runs; r++) {
        if (!strcmp(what, "register")) {
            char path[4200];
            snprintf(path, sizeof path, "%s/profile.db", data_dir);
            hv_engine *e = fresh_engine(path);
            /* one batch under callgrind: the shares per item are the same */
            items = once ? PROFILE_BATCH : PROFILE_REGISTRATIONS;
            push(&s, profiled_registrations(e, (int)items, PROFILE_BATCH, 300 + r) /
                         (double)items);
            hv_engine_close(e);
        } else if (!strcmp(what, "rescore")) {
            if (!db)
                bench_die("--profile rescore needs --profile-db");
            hv_engine *e = open_engine(db, "admin");
            /* one thread: callgrind collects only on the thread that
             * enters profiled_rescore, and the profile is of each case's
             * work (figure 6 runs on every core) */
            hv__diff_parts_set(1, 0);
            double t = profiled_rescore(e, &items);
            hv__diff_parts_set(0, 4096);
            if (items <= 0)
                bench_die("re-scoring evaluated no case");
            push(&s, t / (double)items);
            hv_engine_close(e);
        } else {
            bench_die("--profile: register or rescore, not %s", what);
        }
    }
    printf("%ld %.3f\n", items, median(&s) * 1e6);
    return 0;
}
