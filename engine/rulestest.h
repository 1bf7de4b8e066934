/*
 * rulestest.h - tools for rule writers (internal; rulestest.c): a pack's
 * own tests over synthetic cases, and every hook against sample cases.
 */
#ifndef HV_RULESTEST_H
#define HV_RULESTEST_H

#include <stdio.h>

#include "rules.h"
#include "workflow.h"

/* Runs the pack's tests (every *.lua in tests_dir, sorted), printing a line
 * per test to out and the closing "N passed, N failed".  out: *passed and
 * *failed; on failure *err (hv__free). */
hv_status hv__rules_run_tests(hv_rules *r, const char *tests_dir, FILE *out,
                              int *passed, int *failed, char **err);
/* hv__rules_run_tests where a test's synthetic case (case{} and the hook
 * calls) must use the codes of workflow wf, as register does (wf NULL:
 * register's fallback codes; its members are always checked). */
hv_status hv__rules_run_tests_wf(hv_rules *r, const hv_workflow *wf,
                                 const char *tests_dir, FILE *out,
                                 int *passed, int *failed, char **err);

/* Runs every hook against built-in sample cases and checks the shapes;
 * prints each problem as "FILE:LINE: message" to out.  out: *problems. */
hv_status hv__rules_check(hv_rules *r, FILE *out, int *problems);

/* Vets the pack in dir before it goes into force (init, rules reload,
 * rules apply): every hook passes the check against the sample cases
 * (hv__rules_check) and every test of its tests/ passes (a pack without
 * tests has none to fail).  Returns HV_OK, or a failure with *why
 * (hv__free) naming the command that shows the problems and the first of
 * them: HV_INVALID for a pack that fails, or the status of a pack that does
 * not load. */
hv_status hv__pack_vet(const char *dir, char **why);
/* hv__pack_vet on a host already built from dir (the one that goes into
 * force, so what was vetted is what is stored); r stays the caller's. */
hv_status hv__rules_vet(hv_rules *r, const char *dir, char **why);

#endif
