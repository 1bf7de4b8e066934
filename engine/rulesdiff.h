/*
 * rulesdiff.h - dry runs of rule changes and applying a new pack to the
 * open cases (internal; rulesdiff.c, rulesdiff_rows.c, rulesapply.c).
 *
 * A run walks the open cases in scope, reading each by a streaming bulk
 * path (rulesdiff_rows.c: a fixed set of statements, each walking one
 * table in case id order, merged case by case), shows it to the hooks of
 * the pack in force and of the new pack as a lazy Lua view (ruleview.c),
 * and compares the decisions (rulesdiff.c).  Applying (rulesapply.c)
 * writes what changed, through the run's apply callback.
 */
#ifndef HV_RULESDIFF_H
#define HV_RULESDIFF_H

#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "engine.h"
#include "rules.h"
#include "ruleview.h"

/* The streams: the view's parts, then what the engine itself decides on. */
enum {
    HV_DIFF_CLOSURE_WAITING = HV_VIEW_CLOSURE, /* a closure waiting for approval */
    HV_DIFF_TASKS = HV_VIEW_PARTS, /* the open follow-up and review tasks */
    HV_DIFF_STREAMS
};

/* One statement walking a table in case id order. */
typedef struct {
    sqlite3_stmt *st;
    int row;    /* a row is current */
    int64_t id; /* its case id */
    int used;   /* the stream is read at all */
} hv_diff_stream;

struct hv_diff_run;
/* Writes what apply changes on the case d->view.rec, and its event: the
 * risk, follow-up and review results of both packs ([0] old, [1] new) and
 * whether each changed; entry is the case's change record. */
typedef hv_status (*hv_diff_apply_fn)(struct hv_diff_run *d, json_t *entry,
                                      const hv_rule_values *risk,
                                      int risk_changed,
                                      const hv_rule_values *fu, int fu_changed,
                                      const hv_rule_values *rv, int rv_changed);

typedef struct hv_diff_run {
    hv_engine *e;
    unsigned hooks;          /* HV_DIFF_... */
    hv_diff_apply_fn apply;  /* NULL: a dry run */
    hv_view view;            /* the case under evaluation */
    hv_view_side s[2];       /* old, new */
    int same;  /* both sides are the same pack (same content hash): each
                * hook runs once and its result stands for both */
    int from_digest; /* a diff answered from the packs' digests alone
                      * (the same pack: nothing can change), no rule run */
    int brief_errors; /* the user's scope does not include the cases (a
                       * manager, an administrator): a rule error is listed
                       * as the hook's file and its kind (never its line nor
                       * message: hv__rules_error_brief) */
    int64_t lo, hi; /* a part of the run: the cases with lo <= id < hi
                     * (hi 0: no bound above; rulesdiff_run.c) */
    hv_diff_stream streams[HV_DIFF_STREAMS];
    sqlite3_stmt *cases, *actions;
    hv_status fatal; /* a stream failed to read during a rule call */
    /* results */
    json_t *changed, *errors, *counts;
    int64_t evaluated, nchanged, nerrors;
    hv_rules_diff_fn on_change;
    void *ud;
    json_t *old_info, *new_info;
} hv_diff_run;

/* The rule errors a run lists (the others are counted only). */
#define HV_DIFF_ERRORS_LISTED 100

/* ---- rulesdiff_rows.c: reading the open cases ---- */

/* Prepares the statements of d (d->hooks says which streams are read).
 * Scope: all open cases (all), else the acting user's (me) and, for
 * supervisors, their team's; only_case (0: any): that case only; the
 * cases of d->lo and d->hi only.  Wires
 * the view's load and open callbacks.  HV_OK or the failure (message set). */
hv_status hv__diff_prepare(hv_diff_run *d, int all, int64_t me, int supervisor,
                           int64_t only_case);
/* Steps to the next open case and reads its row and what the engine
 * decides on (the scheduled follow-up and review, a closure waiting); the
 * other parts are read when a rule first reads them.  HV_OK with *more 1
 * on a case, 0 after the last; else the failure (message set). */
hv_status hv__diff_next_case(hv_diff_run *d, int *more);
/* *n: the number of open cases a run with this scope (as
 * hv__diff_prepare's, any case) would evaluate, by one count.  HV_OK or
 * the failure (message set). */
hv_status hv__diff_count_open(hv_engine *e, int all, int64_t me, int supervisor,
                              int64_t *n);
/* Finalizes d's statements (again is fine). */
void hv__diff_close(hv_diff_run *d);

/* ---- rulesdiff.c: the run ---- */

/* Sets d (zeroed, its hooks, apply and on_change set) up on the engine:
 * the pack in force and the new pack from
 * new_pack_dir (NULL: a second host of the pack in force), the results.
 * out: *fresh, the new pack's host (the caller's to hv__rules_free).
 * what names the command in messages.  HV_OK or the failure (message set). */
hv_status hv__diff_init(hv_diff_run *d, hv_engine *e, const char *new_pack_dir,
                        const char *what, hv_rules **fresh);
/* A second rules host of the pack of from (its copy, loaded afresh: its
 * own Lua state).  out: *out.  HV_OK or the failure (message set). */
hv_status hv__diff_copy_host(hv_engine *e, const hv_rules *from, hv_rules **out);
/* The summary of a finished run as JSON (a new reference; NULL when out
 * of memory). */
json_t *hv__diff_summary(hv_diff_run *d);
/* Evaluates every open case of the prepared statements.  HV_OK or the
 * failure (message set). */
hv_status hv__diff_scan(hv_diff_run *d);
/* Frees what d holds (not the new pack's host). */
void hv__diff_free(hv_diff_run *d);
/* The end of a command's run: the engine's host (the pack in force) made
 * to log again, d freed, and fresh (the new pack's host, NULL is fine). */
void hv__diff_end(hv_diff_run *d, hv_rules *fresh);

/* ---- rulesdiff_run.c: hv_rules_diff, on one thread or in parts ---- */

/* For tests: a diff of every open case runs in parts on that many
 * threads (0: one per core, the default; 1: always one thread) when its
 * case ids span min_span or more (the default 4096). */
void hv__diff_parts_set(int parts, int64_t min_span);
/* The threads the calling thread's last diff ran on (1: one). */
int hv__diff_parts_last(void);

/* For tests (test_rulesdiff): the bulk view of one open case as JSON.
 * out: *out (a new reference). */
hv_status hv__rules_bulk_view(hv_engine *e, int64_t case_id, json_t **out);

#endif
