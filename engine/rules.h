/*
 * rules.h - the sandboxed Lua rules host (internal).
 *
 * A rule pack is a folder: pack.yaml (name, version, description, optional
 * budget) and one file per hook (registration.lua, risk.lua, followup.lua,
 * closure.lua, and optionally assessment.lua and review.lua).  The host
 * loads the hooks as text into one Lua state per engine, each into its own
 * read-only _ENV over a frozen allow-list of names, and calls them under an
 * instruction budget and a memory cap.  The rules host never touches the
 * store; callers pass the case view in and record the decision.
 */
#ifndef HV_RULES_H
#define HV_RULES_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "haven.h"

#define HV_RULES_DEFAULT_BUDGET 1000000L     /* instructions per call */
#define HV_RULES_DEFAULT_MEMORY (32u << 20)  /* bytes per engine */
#define HV_RULES_MAX_DEPTH 16                /* nesting of results */

typedef enum {
    HV_HOOK_REGISTRATION,
    HV_HOOK_RISK,
    HV_HOOK_FOLLOWUP,
    HV_HOOK_CLOSURE,
    HV_HOOK_ASSESSMENT,
    HV_HOOK_REVIEW,
    HV_HOOK_COUNT
} hv_hook;

/* "registration", ...; and the file name "registration.lua". */
const char *hv__hook_name(hv_hook h);
const char *hv__hook_file(hv_hook h);
/* 1 for the hooks every pack must have. */
int hv__hook_required(hv_hook h);

/* A pack's files, as read from a folder or from the database. */
typedef struct {
    char *name, *version, *description;
    long budget;                 /* instructions per call */
    char hash[65];               /* SHA-256 of the files, hex */
    char *dir;                   /* where it was read from (for messages) */
    char *sources[HV_HOOK_COUNT]; /* hook file text, NULL if absent */
    char *pack_yaml;             /* pack.yaml text */
} hv_pack;

/* Reads and checks a pack folder (pack.yaml and the hook files present).
 * out: *out; *err a one-line message "FILE:LINE: ..." on failure. */
hv_status hv__pack_read_dir(const char *dir, hv_pack **out, char **err);
/* The pack as a JSON object (to store it) and back. */
json_t *hv__pack_to_json(const hv_pack *p);
hv_status hv__pack_from_json(json_t *obj, hv_pack **out, char **err);
void hv__pack_free(hv_pack *p);

typedef struct hv_rules hv_rules;

/* Creates a Lua state for the pack and compiles every hook (text only).
 * Takes ownership of pack (freed by hv__rules_free, or here on failure).
 * memory_cap 0 = HV_RULES_DEFAULT_MEMORY.  A syntax error or a hook that
 * does not return a function fails with "FILE:LINE: ...".
 * log_fn receives log() lines (may be NULL: discarded). */
typedef void (*hv_rules_log_fn)(void *ud, const char *hook, const char *line);
hv_status hv__rules_new(hv_pack *pack, size_t memory_cap,
                        hv_rules_log_fn log_fn, void *log_ud, hv_rules **out,
                        char **err);
void hv__rules_free(hv_rules *r);
const hv_pack *hv__rules_pack(const hv_rules *r);
/* 1 if the pack has this hook. */
int hv__rules_has(const hv_rules *r, hv_hook h);

/* Calls a hook with a read-only view of case_view and ctx (JSON objects),
 * checks the result against the hook's contract and returns it as JSON.
 * On any rule error (raise, budget, memory, wrong shape) returns HV_REFUSED
 * and *err = "FILE:LINE: message".  The state is left clean for the next
 * call either way.  out: *out_result. */
hv_status hv__rules_call(hv_rules *r, hv_hook h, json_t *case_view,
                         json_t *ctx, json_t **out_result, char **err);
/* Until hv__rules_unpin, calls given exactly these view and ctx objects
 * (unchanged meanwhile) share one read-only Lua copy of each, made at the
 * first call, instead of making it at every call. */
void hv__rules_pin(hv_rules *r, const json_t *view, const json_t *ctx);
void hv__rules_unpin(hv_rules *r);

/* ---- the bulk path (rulesdiff.c) ----
 * A hook called on a view pushed straight as Lua tables (no JSON), under
 * the same sandbox, budget and memory cap as hv__rules_call, the result
 * checked against the same contract.  push runs inside the protected call
 * and must push exactly two values: the view and the ctx (read-only, see
 * hv__rules_readonly).  On HV_OK the result table is left on top of the
 * state's stack with its scalars in *vals (method borrowed from it) until
 * hv__rules_bulk_pop; hv__rules_bulk_result converts it to JSON (the shape
 * hv__rules_call returns).  On a rule error: HV_REFUSED, *err
 * "FILE:LINE: ...", the stack as it was. */
typedef struct {
    int ok;              /* closure */
    int level;           /* risk: 0 low .. 3 critical */
    double score;        /* risk */
    int64_t every;       /* followup, review */
    const char *method;  /* followup */
    int64_t final_after; /* closure */
} hv_rule_values;
struct lua_State;
typedef void (*hv_rules_pusher)(struct lua_State *L, void *ud);
hv_status hv__rules_call_bulk(hv_rules *r, hv_hook h, hv_rules_pusher push,
                              void *ud, hv_rule_values *vals, char **err);
json_t *hv__rules_bulk_result(hv_rules *r, hv_hook h);
void hv__rules_bulk_pop(hv_rules *r);
/* Replaces the table on top with a read-only proxy of it (as views are). */
void hv__rules_readonly(struct lua_State *L);
/* "dir/hook.lua" of a hook, for messages. */
const char *hv__rules_path(const hv_rules *r, hv_hook h);

/* Runs the pack's tests (every *.lua in dir/tests, sorted), printing a line
 * per test to out and the closing "N passed, N failed".  out: counts. */
hv_status hv__rules_run_tests(hv_rules *r, const char *tests_dir, FILE *out,
                              int *passed, int *failed, char **err);

/* Runs every hook against built-in sample cases and checks the shapes;
 * prints each problem as "FILE:LINE: message" to out.  out: *problems. */
hv_status hv__rules_check(hv_rules *r, FILE *out, int *problems);

/* The decision record of a hook call, for the event: hook, pack, version,
 * hash and the result. */
json_t *hv__rules_decision(const hv_rules *r, hv_hook h, json_t *result);

/* Internals shared with the test runner (rulestest.c). */
struct lua_State;
struct lua_State *hv__rules_lua(hv_rules *r);
int hv__rules_base_ref(hv_rules *r);
long hv__rules_budget(hv_rules *r);
void hv__rules_set_budget(hv_rules *r, long budget);
/* The one Lua <-> JSON conversion, shared with the Lua module (lhaven.c):
 * push: JSON as Lua tables (read-only proxies when readonly; JSON null
 * members left out); to_json: plain Lua data as JSON (a read-only proxy as
 * what it stands for), NULL with *why on anything else or on nesting
 * max_depth levels deep. */
void hv__rules_push_json(struct lua_State *L, json_t *v, int readonly);
json_t *hv__rules_to_json(struct lua_State *L, int idx, int max_depth,
                          const char **why);
void hv__rules_push_env(hv_rules *r, int extra_idx);
/* The iterator of pairs() over a read-only view: walks the real table held
 * as its upvalue 1 (a lua_CFunction). */
int hv__rules_ro_next(struct lua_State *L);
int hv__rules_pcall(hv_rules *r, int nargs, int nresults);
char *hv__rules_error_text(hv_rules *r, int status);

#endif
