/*
 * ruleview.h - the case view as Lua tables, for the bulk path (internal;
 * ruleview.c).
 *
 * One case is held in C (hv_view_case: cells and rows of cells, their text
 * in one buffer) and shown to a hook as plain Lua tables, fresh for every
 * call: the root holds the fields the hook's source names (built before
 * the call), and builds any other field when the rule reaches it (by a
 * computed key, or pairs(): the root's hidden metatable), so a rule pays
 * for little more than what it reads, and a sealed value is opened only
 * if shown.  The case's parts are read through the caller's load callback
 * (the rules host never touches the store), sealed values through its open
 * callback.  A rule may write into the tables it is given: they are its
 * own, made for this call and no other, so nothing it writes reaches
 * another case or hook call (test_ruleview); the ctx stays a shared
 * read-only proxy.  Reading a field not yet built from the root of an
 * earlier call is an error.
 */
#ifndef HV_RULEVIEW_H
#define HV_RULEVIEW_H

#include <stdint.h>

#include <jansson.h>

#include "haven.h"
#include "ruleneeds.h"
#include "rules.h"

/* A value as SQLite (or a parsed JSON) gave it. */
typedef enum {
    HV_CELL_NIL, HV_CELL_INT, HV_CELL_REAL, HV_CELL_TEXT, HV_CELL_BOOL,
    HV_CELL_JSON, HV_CELL_SEALED, HV_CELL_COUNTS
} hv_cell_type;
typedef struct {
    hv_cell_type type;
    int json;        /* parse the text as JSON once opened (nil if it is not);
                      * 2: an assessment's data, read for its counts and
                      * changes alone (hv__view_assessment_scan) */
    int64_t i;
    double d;
    size_t off, len; /* in the case's text */
    json_t *j;       /* HV_CELL_JSON, owned */
} hv_view_cell;
/* HV_CELL_COUNTS: an assessment's data as the view shows it, kept in the
 * case's text at i: four int64 counts (needs, risks, strengths,
 * info_needed), the number of changes, then each change's offset (from
 * off, the opened data) and length, all uint64 (hv__view_assessment_scan
 * made it; no JSON object is built). */

/* A growable list of rows of `width` cells. */
typedef struct {
    hv_view_cell *cells;
    size_t n, cap;
    int width;
} hv_view_rows;

/* The parts of a case read on demand (the load callback's part). */
enum {
    HV_VIEW_CONCERNS, HV_VIEW_CONSENTS, HV_VIEW_PERSONS, HV_VIEW_ASSESSMENTS,
    HV_VIEW_FOLLOWUPS, HV_VIEW_REVIEWS, HV_VIEW_EVALUATIONS, HV_VIEW_PLANS,
    HV_VIEW_CLOSURE, /* a closure waiting for approval */
    HV_VIEW_PARTS
};

/* One case, held in C. */
typedef struct {
    int64_t id;
    hv_view_cell ref, stage, status, source, location, urgency, form, risk_level;
    int64_t registered_at;
    double risk_score;
    hv_view_rows concerns;    /* code */
    hv_view_rows consents;    /* scope, given_by */
    int has_child;
    hv_view_cell child[3];    /* age as recorded, sex, dob (the view shows
                               * the age today: age.h) */
    int64_t child_age_at;     /* when child[0] was recorded */
    hv_view_rows family;      /* relationship, age, sex, lives_with_child */
    hv_view_rows assessments; /* kind, at, safety, data (sealed JSON) */
    hv_view_rows followups;   /* at, method, safety */
    hv_view_rows reviews;     /* at, outcome */
    hv_view_rows evaluations; /* at, outcome */
    int has_plan, plan_approved;
    int64_t plan_id, plan_target, plan_version, plan_approved_at;
    hv_view_cell plan_goal;
    hv_view_rows actions;     /* status, due, type, responsible */
    /* for followup/review/closure */
    int64_t followup_task, followup_created, followup_due;
    int64_t review_task, review_created, review_due;
    hv_view_cell closure_reason;
    int closure_overridden; /* the waiting closure's missing consent was
                             * overridden (closure.consent_overridden) */
    /* the parts read for this case so far (a bit per part, the caller's) */
    unsigned loaded;
    char *text;       /* the cells' text, each ended by a NUL */
    size_t text_len, text_cap;
    hv_assess_view assess; /* scratch for an assessment's data, kept */
    int nomem;
} hv_view_case;

/* Reads part (HV_VIEW_*) of the case into the view's case; NULL, or why
 * not (borrowed until the next call). */
typedef const char *(*hv_view_load_fn)(void *ud, int part);
/* Opens sealed[0..n): NULL with *plain (hv__free; NULL without the key)
 * and *plain_len, or why it does not open (static text). */
typedef const char *(*hv_view_open_fn)(void *ud, const unsigned char *sealed,
                                       size_t n, char **plain,
                                       size_t *plain_len);

/* The case shown to the hooks, and how its parts are read. */
typedef struct {
    hv_view_case rec;
    hv_time now;         /* the ctx's now */
    int base_only;       /* the case is outside the acting user's scope
                          * (rules diff by a manager or an administrator):
                          * the base minimised view, no declared form field */
    int64_t gen;         /* one per hook call: older views are spent */
    hv_view_load_fn load;
    hv_view_open_fn open;
    void *ud;            /* for load and open */
} hv_view;

struct hv_view_args;
/* What one rules host keeps for the views it is shown (references in its
 * Lua registry, made on first use). */
typedef struct {
    hv_rules *r;
    hv_view *v;
    int ctx_ref;     /* {now, pack} read-only */
    int root_mt_ref; /* the metatable of the roots (hidden, shared) */
    int root_ref;    /* a registry slot: the root of the call under way */
    unsigned built;  /* its fields built so far (a bit per field) */
    unsigned eager[HV_HOOK_COUNT]; /* per hook: the fields its source names */
    unsigned eager_known;          /* the hooks whose eager[] is known */
    const struct hv_view_args *args; /* of the call under way */
} hv_view_side;

/* The arguments of one hook call on the view (hv__view_push's ud). */
typedef struct hv_view_args {
    hv_view_side *sd;
    const char *reason;   /* closure: the ctx's reason (borrowed), or NULL */
    int replace_risk;     /* the view's risk is the pack's own result */
    hv_rule_values risk;  /* that result */
} hv_view_args;

/* Sets a case up empty (each list's width). */
void hv__view_case_init(hv_view_case *rec);
/* Empties a case for the next one, keeping its buffers. */
void hv__view_case_reset(hv_view_case *rec);
/* Frees what the case holds (not rec itself). */
void hv__view_case_free(hv_view_case *rec);
/* A new row of nil cells at the end of r, or NULL (rec->nomem set). */
hv_view_cell *hv__view_rows_add(hv_view_case *rec, hv_view_rows *r);
/* Sets c to a copy of t[0..n) in the case's text (nil when t is NULL;
 * rec->nomem set when out of memory).  Offsets stay valid as it grows. */
void hv__view_cell_text(hv_view_case *rec, hv_view_cell *c, const char *t,
                        size_t n);
/* The same for t[0..n) followed by more[0..m), as one cell. */
void hv__view_cell_join(hv_view_case *rec, hv_view_cell *c, const char *t,
                        size_t n, const void *more, size_t m);
/* Sets c to the integer v. */
void hv__view_cell_int(hv_view_cell *c, int64_t v);
/* Empties c (nil), freeing its JSON. */
void hv__view_cell_clear(hv_view_cell *c);
/* The text of a text cell (borrowed until the case's text grows). */
const char *hv__view_cell_str(const hv_view_case *rec, const hv_view_cell *c);

/* Sets up a side of v for the rules host r (no Lua references yet). */
void hv__view_side_init(hv_view_side *sd, hv_view *v, hv_rules *r);
/* Drops the side's Lua references (the host lives on). */
void hv__view_side_release(hv_view_side *sd);

/* The hv_rules_pusher of the bulk path: pushes the view of the case and
 * the read-only ctx {now, pack = {name, version}, reason}.  ud is an
 * hv_view_args.  Starts a new view generation. */
void hv__view_push(struct lua_State *L, void *ud);

/* For tests: the view of the case as JSON, read as a rule reads it
 * (through __pairs and __len, so every lazy field is built).  out: *out (a
 * new reference); HV_NOMEM or HV_INTERNAL when it does not build. */
hv_status hv__view_json(hv_view_side *sd, json_t **out);

#endif
