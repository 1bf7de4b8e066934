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
#include "pack.h"

#define HV_RULES_DEFAULT_MEMORY (32u << 20)  /* bytes per engine */
#define HV_RULES_MAX_DEPTH 16                /* nesting of results */

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
/* Closes the Lua state and frees the pack; NULL is fine. */
void hv__rules_free(hv_rules *r);
/* The pack the host runs (borrowed, lives as long as r). */
const hv_pack *hv__rules_pack(const hv_rules *r);
/* Drops the log() lines of the hooks (quiet 1) or writes them again (0):
 * a run over cases the user may not see (rules diff by a manager) must
 * not print what a rule logs of them. */
void hv__rules_quiet(hv_rules *r, int quiet);
/* The hook (hv_hook) being called on r, or -1 between calls. */
int hv__rules_calling(const hv_rules *r);
/* 1 if the pack has this hook. */
int hv__rules_has(const hv_rules *r, hv_hook h);

/* Calls a hook with a read-only view of case_view and ctx (JSON objects),
 * checks the result against the hook's contract and returns it as JSON.
 * The hook sees the minimised view of case_view (ruleneeds.h: no names,
 * date of birth or free text), and its result may hold only codes the
 * pack declares (HV_NOMEM when the view cannot be made).
 * On any rule error (raise, budget, memory, wrong shape) returns HV_REFUSED
 * and *err = "FILE:LINE: message".  The state is left clean for the next
 * call either way.  out: *out_result. */
hv_status hv__rules_call(hv_rules *r, hv_hook h, json_t *case_view,
                         json_t *ctx, json_t **out_result, char **err);
/* The kind of a failed call (hv__rules_error_brief). */
typedef enum {
    HV_RULE_ERR_RUNTIME, /* the rule raised an error */
    HV_RULE_ERR_TIMEOUT, /* the instruction budget ran out */
    HV_RULE_ERR_MEMORY,  /* the memory cap was hit */
    HV_RULE_ERR_RESULT   /* the result breaks the hook's contract */
} hv_rule_error_kind;
/* After a call that failed (HV_REFUSED): "HOOKFILE: KIND" into buf
 * ("risk.lua: runtime error") - the hook's file and the kind, never the
 * message (which may quote the case) nor the line (where a rule raises
 * may depend on the case), for whoever may not see the case. */
void hv__rules_error_brief(const hv_rules *r, char *buf, size_t size);
/* Until hv__rules_unpin, calls given exactly these view and ctx objects
 * (unchanged meanwhile, borrowed) share one read-only Lua copy of each,
 * made at the first call, instead of making it at every call. */
void hv__rules_pin(hv_rules *r, const json_t *view, const json_t *ctx);
/* Forgets the pinned objects and their Lua copies. */
void hv__rules_unpin(hv_rules *r);

/* ---- the bulk path (rulesdiff.c) ----
 * A hook called on a view pushed straight as Lua tables (no JSON), under
 * the same sandbox, budget and memory cap as hv__rules_call, the result
 * checked against the same contract.  push runs inside the protected call
 * and must push exactly two values: the view and the ctx (read-only, see
 * proxy.h).  On HV_OK the result table is left on top of the
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
/* The result left on top by hv__rules_call_bulk as JSON, the shape
 * hv__rules_call returns (a new reference; NULL when out of memory). */
json_t *hv__rules_bulk_result(hv_rules *r, hv_hook h);
/* Pops the result hv__rules_call_bulk left on top. */
void hv__rules_bulk_pop(hv_rules *r);

/* The decision record of a hook call, for the event: hook, pack, version,
 * hash and the result (a new reference, the caller's; NULL when out of
 * memory; result is borrowed). */
json_t *hv__rules_decision(const hv_rules *r, hv_hook h, json_t *result);

/* ---- internals shared with the test runner and the bulk path ---- */
/* The host's Lua state (borrowed). */
struct lua_State *hv__rules_lua(hv_rules *r);
/* The registry reference of the frozen allow-list (a real table). */
int hv__rules_base_ref(hv_rules *r);
/* The instruction budget per call, and setting it (tests raise it). */
long hv__rules_budget(hv_rules *r);
void hv__rules_set_budget(hv_rules *r, long budget);
/* Pushes a fresh read-only environment over the allow-list, with the table
 * at extra_idx (0: none) read instead of it. */
void hv__rules_push_env(hv_rules *r, int extra_idx);
/* Calls the function below its nargs arguments on top under the budget and
 * the memory cap, with a message handler; returns the lua_pcall status
 * (LUA_ERRRUN also when a limit was hit and swallowed).  Nested calls share
 * the outer budget. */
int hv__rules_pcall(hv_rules *r, int nargs, int nresults);
/* The error text on top after a failed hv__rules_pcall, the limits named
 * (a new string, hv__free; NULL when out of memory); clears the limit
 * flags outside nested calls. */
char *hv__rules_error_text(hv_rules *r, int status);

#endif
