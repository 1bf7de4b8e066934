/*
 * rules.c - the sandboxed Lua rules host.
 *
 * How a call is made safe (after Redis's scripting engine and lua.c):
 *  - hooks load as text only ("t" mode) into their own _ENV: a read-only
 *    proxy over a frozen allow-list of names; assigning a global is an error;
 *  - library tables (string, table, math, utf8, coroutine) are read-only
 *    proxies over copies holding only their safe functions; the string
 *    metatable is locked;
 *  - every call runs under an instruction budget: a count hook that, once
 *    the budget is spent, fires on every instruction of every thread and
 *    raises each time, so neither pcall nor a coroutine can swallow it; a
 *    call during which the budget ran out fails even if the rule caught the
 *    error;
 *  - all memory comes from an allocator with a cap; running into it fails
 *    the call the same way;
 *  - a step's view and every ctx are read-only proxies (the bulk path's
 *    view: tables made for that one call, ruleview.c); results are read with
 *    raw accesses only (no metamethod of the rule's ever runs in C's hands)
 *    and checked field by field against the hook's contract;
 *  - setmetatable refuses __gc, so no finalizer can run (or loop) later;
 *  - after every call the hook is cleared and the stack restored.
 *
 * Beside it, on the same floor: proxy.c (the read-only proxy), luajson.c
 * (Lua <-> JSON), rulescontract.c (the result contracts), ruleview.c (the
 * case view as Lua tables for the bulk path), rulestest.c (rule writers'
 * tools) and pack.c (reading a pack).
 */
#include "rules.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "luajson.h"
#include "proxy.h"
#include "ruleneeds.h"
#include "rulescontract.h"

#define HOOK_STEP 1000          /* instructions between budget checks */

typedef hv_capped mem_state; /* the state's memory under its cap (alloc.h) */

struct hv_rules {
    lua_State *L;
    hv_pack *pack;
    mem_state mem;
    long budget;           /* instructions per call */
    long used;             /* spent in this call */
    int exceeded;          /* the budget ran out during this call */
    int depth;             /* nesting of calls (tests call hooks) */
    int hook_ref[HV_HOOK_COUNT]; /* the compiled hook files, run again by
                                   * every call for a fresh function */
    int hook_line[HV_HOOK_COUNT];
    int base_ref;          /* the frozen allow-list (real table) */
    int env_mt_ref;        /* the metatable of envs over it alone */
    hv_rules_log_fn log_fn;
    void *log_ud;
    int quiet;             /* log() lines dropped (hv__rules_quiet) */
    const char *current;   /* hook being called, for log() */
    int calling;           /* its hv_hook, -1 between calls */
    char paths[HV_HOOK_COUNT][512]; /* "dir/hook.lua", for messages */
    /* arguments pushed once for several calls (hv__rules_pin): the
     * caller's view and ctx, the minimised view shown for pin[0] */
    const json_t *pin[2];
    json_t *pin_view;
    int pin_ref[2];
    /* the last failed call: its kind and hook (hv__rules_error_brief) */
    hv_rule_error_kind err_kind;
    hv_hook err_hook;
    /* a bad result's replay (return_line): the hook watched, the line of
     * its last return, 0 until seen */
    int ret_watch;
    int ret_line;
};

/* ---- memory -------------------------------------------------------------- */

/* The host of a Lua state (kept in its extra space). */
static hv_rules *rules_of(lua_State *L)
{
    return *(hv_rules **)lua_getextraspace(L);
}

/* ---- the instruction budget ---------------------------------------------- */

/* The count hook: charges HOOK_STEP instructions; once the budget is
 * spent, raises on every instruction of every thread (pcall cannot
 * swallow it). */
static void count_hook(lua_State *L, lua_Debug *ar)
{
    hv_rules *r = rules_of(L);
    if (ar->event == LUA_HOOKRET) {
        /* a bad result's replay: the line of the hook function's return
         * (the function defined at the hook file's `return function`) */
        if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0 &&
            ar->linedefined == r->hook_line[r->ret_watch] &&
            strcmp(ar->source + (ar->source[0] == '@'),
                   r->paths[r->ret_watch]) == 0)
            r->ret_line = ar->currentline;
        return;
    }
    if (!r->exceeded) {
        r->used += HOOK_STEP;
        if (r->used <= r->budget)
            return;
        r->exceeded = 1;
    }
    /* From now on raise on every instruction of this thread. */
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    lua_getinfo(L, "Sl", ar);
    lua_pushfstring(L, "%s:%d: instruction budget of %d exceeded",
                    ar->short_src, ar->currentline, (int)r->budget);
    lua_error(L);
}

/* Starts a call's budget: nothing spent, no limit hit, the hook set. */
static void start_budget(hv_rules *r)
{
    r->used = 0;
    r->exceeded = 0;
    r->mem.hit = r->mem.armed = 0;
    lua_sethook(r->L, count_hook, LUA_MASKCOUNT, HOOK_STEP);
}

/* Clears the count hook after a call. */
static void stop_budget(hv_rules *r) { lua_sethook(r->L, NULL, 0, 0); }

/* ---- helpers given to rules ------------------------------------------------ */

/* Pushes argument 1 times factor (an integer when whole); raises when
 * not finite. */
static int scaled(lua_State *L, lua_Number factor)
{
    lua_Number n = luaL_checknumber(L, 1);
    lua_Number v = n * factor;
    if (!isfinite(v))
        return luaL_error(L, "duration out of range");
    if (v == floor(v) && fabs(v) < 9e15)
        lua_pushinteger(L, (lua_Integer)v);
    else
        lua_pushnumber(L, v);
    return 1;
}

/* hours(n), days(n), weeks(n), months(n) (30 days): seconds. */
static int h_hours(lua_State *L) { return scaled(L, 3600); }
static int h_days(lua_State *L) { return scaled(L, 86400); }
static int h_weeks(lua_State *L) { return scaled(L, 7 * 86400); }
static int h_months(lua_State *L) { return scaled(L, 30 * 86400); }

/* has(list, x): 1 if x is an element of list (a table or proxy). */
static int h_has(lua_State *L)
{
    luaL_checkany(L, 2);
    if (lua_isnoneornil(L, 1)) {
        lua_pushboolean(L, 0);
        return 1;
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 1, i);
        int eq = lua_rawequal(L, -1, 2);
        lua_pop(L, 1);
        if (eq) {
            lua_pushboolean(L, 1);
            return 1;
        }
    }
    lua_pushboolean(L, 0);
    return 1;
}

/* log(msg): one line to the engine's log (at most 200 bytes). */
static int h_log(lua_State *L)
{
    hv_rules *r = rules_of(L);
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    char line[201];
    size_t k = n < 200 ? n : 200;
    memcpy(line, s, k);
    line[k] = '\0';
    for (size_t i = 0; i < k; i++)
        if ((unsigned char)line[i] < 0x20)
            line[i] = ' ';
    if (r->log_fn && !r->quiet)
        r->log_fn(r->log_ud, r->current ? r->current : "rules", line);
    return 0;
}

/* setmetatable without __gc (no finalizer may run later) and never on a
 * protected table. */
static int h_setmetatable(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (!lua_isnil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "setmetatable: __gc is not allowed in rules");
        lua_pop(L, 1);
    }
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

/* ---- the sandbox ------------------------------------------------------------ */

static const char *const base_names[] = {
    "assert", "error",  "ipairs",   "next",     "pairs",  "pcall",
    "xpcall", "select", "tonumber", "tostring", "type",   "rawequal",
    "rawlen", "rawget", "getmetatable", "_VERSION", NULL};
static const char *const string_names[] = {
    "byte", "char", "find", "format", "gmatch", "gsub", "len", "lower",
    "match", "rep", "reverse", "sub", "upper", "pack", "packsize", "unpack",
    NULL};
static const char *const table_names[] = {"concat", "insert", "move", "pack",
                                          "remove", "sort", "unpack", NULL};
static const char *const math_names[] = {
    "abs", "ceil", "cos", "deg", "exp", "floor", "fmod", "huge", "log",
    "max", "maxinteger", "min", "mininteger", "modf", "pi", "rad", "sin",
    "sqrt", "tan", "tointeger", "type", "ult", "acos", "asin", "atan", NULL};
static const char *const utf8_names[] = {"char", "charpattern", "codepoint",
                                         "codes", "len", "offset", NULL};
static const char *const coroutine_names[] = {
    "create", "isyieldable", "resume", "running", "status", "wrap", "yield",
    "close", NULL};

/* Sets base[name] = a read-only proxy of the allowed members of the
 * library table g[name] (g: the real globals). */
static void add_library(lua_State *L, int base, int g, const char *name,
                        const char *const *names)
{
    lua_getfield(L, g, name);
    lua_newtable(L);
    for (const char *const *n = names; *n; n++) {
        lua_getfield(L, -2, *n);
        lua_setfield(L, -2, *n);
    }
    hv__proxy_make(L);
    lua_setfield(L, base, name);
    lua_pop(L, 1);
}

/* Pattern functions guarded against runaway backtracking: a pattern with
 * several unbounded repetitions over a long subject costs roughly
 * len^repetitions steps inside C, where the count hook cannot see them;
 * that estimate is charged to the budget first.  Upvalues: the original
 * function, and whether it is string.find (whose 4th argument asks for a
 * plain search). */
static int guarded(lua_State *L)
{
    hv_rules *r = rules_of(L);
    size_t slen = 0, plen = 0;
    luaL_checklstring(L, 1, &slen);
    const char *pattern = luaL_checklstring(L, 2, &plen);
    int plain = lua_toboolean(L, lua_upvalueindex(2)) && lua_toboolean(L, 4);
    if (!plain && r->depth > 0) {
        int reps = 0;
        for (size_t i = 0; i < plen; i++) {
            if (pattern[i] == '%')
                i++;
            else if (pattern[i] == '*' || pattern[i] == '+' || pattern[i] == '-')
                reps++;
        }
        double cost = (double)slen + 1;
        for (int i = 1; i < reps && cost < 1e18; i++)
            cost *= (double)slen + 1;
        cost /= 10; /* a backtracking step is cheaper than an instruction */
        if (cost > (double)(r->budget - r->used)) {
            r->exceeded = 1;
            return luaL_error(L, "pattern too costly for the instruction "
                                 "budget (%d repetitions over %d bytes)",
                              reps, (int)slen);
        }
        r->used += (long)cost;
    }
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

/* Builds the allow-list and locks shared metatables.  Leaves nothing on
 * the stack; stores the base table in the registry. */
static void build_sandbox(hv_rules *r)
{
    lua_State *L = r->L;
    luaL_openlibs(L);
    lua_pushglobaltable(L);
    int g = lua_gettop(L);
    lua_newtable(L);
    int base = lua_gettop(L);
    for (const char *const *n = base_names; *n; n++) {
        lua_getfield(L, g, *n);
        lua_setfield(L, base, *n);
    }
    static const luaL_Reg helpers[] = {
        {"hours", h_hours}, {"days", h_days},     {"weeks", h_weeks},
        {"months", h_months}, {"has", h_has},     {"log", h_log},
        {"setmetatable", h_setmetatable}, {NULL, NULL}};
    luaL_setfuncs(L, helpers, 0);
    /* string, with the pattern functions guarded */
    lua_getfield(L, g, "string");
    int str = lua_gettop(L);
    lua_newtable(L);
    int str_copy = lua_gettop(L);
    for (const char *const *n = string_names; *n; n++) {
        lua_getfield(L, str, *n);
        if (!strcmp(*n, "find") || !strcmp(*n, "match") ||
            !strcmp(*n, "gmatch") || !strcmp(*n, "gsub")) {
            lua_pushboolean(L, !strcmp(*n, "find"));
            lua_pushcclosure(L, guarded, 2);
        }
        lua_setfield(L, str_copy, *n);
    }
    lua_pushvalue(L, str_copy);
    hv__proxy_make(L);
    int str_proxy = lua_gettop(L);
    lua_pushvalue(L, str_proxy);
    lua_setfield(L, base, "string");
    /* the shared string metatable: methods from the proxy, locked */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushvalue(L, str_proxy);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
    lua_settop(L, base);
    add_library(L, base, g, "table", table_names);
    add_library(L, base, g, "math", math_names);
    add_library(L, base, g, "utf8", utf8_names);
    add_library(L, base, g, "coroutine", coroutine_names);
    /* _G: the frozen allow-list itself, read-only */
    lua_pushvalue(L, base);
    hv__proxy_make(L);
    lua_setfield(L, base, "_G");
    r->base_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    /* Empty the real globals: nothing outside the allow-list is reachable. */
    lua_newtable(L);
    lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_settop(L, 0);
}

/* Pushes a fresh read-only environment over the allow-list, with the
 * extra table at extra_idx (0: none) layered over it. */
static void push_env(hv_rules *r, int extra_idx)
{
    lua_State *L = r->L;
    lua_newtable(L); /* env: fresh for every call; over the allow-list
                      * alone, one locked (hidden) metatable for all */
    if (!extra_idx && r->env_mt_ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->env_mt_ref);
        lua_setmetatable(L, -2);
        return;
    }
    lua_newtable(L); /* mt */
    if (extra_idx)
        lua_pushvalue(L, extra_idx);
    else
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->base_ref);
    lua_setfield(L, -2, "__index");
    hv__proxy_lock(L, NULL, NULL);
    if (!extra_idx) {
        lua_pushvalue(L, -1);
        r->env_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    lua_setmetatable(L, -2);
}

/* ---- calling -------------------------------------------------------------- */

/* The message handler of every call: a string error as it is (Lua put
 * the place of the error() before it, unless the rule asked for none with
 * error(msg, 0)); any other error object named by its type and where it
 * was raised (never calling the rule's __tostring). */
static int message_handler(lua_State *L)
{
    if (lua_type(L, 1) != LUA_TSTRING) {
        /* never call the rule's __tostring; say where it was raised */
        hv_rules *r = rules_of(L);
        lua_Debug ar;
        int level = 1;
        while (lua_getstack(L, level, &ar)) {
            lua_getinfo(L, "Sl", &ar);
            if (ar.currentline > 0)
                break;
            level++;
        }
        if (ar.currentline > 0)
            lua_pushfstring(L, "%s:%d: error object is a %s value", ar.short_src,
                            ar.currentline, luaL_typename(L, 1));
        else
            lua_pushfstring(L, "%s: error object is a %s value",
                            r->current ? r->current : "rules",
                            luaL_typename(L, 1));
    }
    return 1;
}

/* The error text at the top of the stack, with the limits named. */
static char *error_text(hv_rules *r, int status)
{
    lua_State *L = r->L;
    if (r->mem.hit || status == LUA_ERRMEM)
        return hv__asprintf("%s: memory cap of %zu MiB exceeded",
                            r->current ? r->current : "rules",
                            r->mem.cap >> 20);
    const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                      : "rule error";
    if (r->exceeded && !strstr(msg, "budget"))
        return hv__asprintf("%s: instruction budget of %ld exceeded",
                            r->current ? r->current : "rules", r->budget);
    return hv__strdup(msg);
}

/* Calls the function at the top of the stack (with nargs arguments below
 * it... pushed after it) under the budget; leaves one result or the error.
 * Nested calls (a test calling a hook) share the outer budget. */
static int budgeted_pcall(hv_rules *r, int nargs, int nresults)
{
    lua_State *L = r->L;
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, message_handler);
    lua_insert(L, base);
    if (r->depth++ == 0)
        start_budget(r);
    int status = lua_pcall(L, nargs, nresults, base);
    if (--r->depth == 0)
        stop_budget(r);
    lua_remove(L, base);
    if (status == LUA_OK && (r->exceeded || r->mem.hit) && r->depth == 0)
        status = LUA_ERRRUN; /* the rule swallowed a limit: still a failure */
    return status;
}

/* The arguments of one protected hook call (call_trampoline). */
typedef struct {
    hv_rules *r;
    hv_hook h;
    json_t *view, *ctx;      /* hv__rules_call: pushed read-only */
    hv_rules_pusher push;    /* the bulk path: pushes view and ctx */
    void *ud;
    hv_rule_values *vals;    /* the bulk path: the result's scalars */
    json_t *result;          /* the checked result (a marker with vals) */
    char why[400];           /* why the result breaks the contract */
} call_args;

/* Pushes v read-only; a pinned argument is made once and kept. */
static void push_arg(lua_State *L, hv_rules *r, const json_t *v)
{
    int k = v && v == r->pin_view ? 0 : v == r->pin[1] ? 1 : -1;
    if (k >= 0 && r->pin_ref[k] != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, r->pin_ref[k]);
        return;
    }
    hv__lua_push_json(L, (json_t *)v, 1);
    if (k >= 0) {
        lua_pushvalue(L, -1);
        r->pin_ref[k] = luaL_ref(L, LUA_REGISTRYINDEX);
    }
}

void hv__rules_pin(hv_rules *r, const json_t *view, const json_t *ctx)
{
    hv__rules_unpin(r);
    r->pin[0] = view;
    r->pin[1] = ctx;
}

void hv__rules_unpin(hv_rules *r)
{
    json_decref(r->pin_view);
    r->pin_view = NULL;
    for (int k = 0; k < 2; k++) {
        luaL_unref(r->L, LUA_REGISTRYINDEX, r->pin_ref[k]);
        r->pin_ref[k] = LUA_NOREF;
        r->pin[k] = NULL;
    }
}

/* Runs in protected mode: pushes the hook and its read-only arguments,
 * calls it, and checks what it returned.  The bulk path (push) keeps the
 * result table: it is returned. */
static int call_trampoline(lua_State *L)
{
    call_args *a = lua_touserdata(L, 1);
    /* Every call starts clean: the hook's file runs again in a fresh
     * environment, so nothing a rule kept (a chunk-level local, a global)
     * survives from one case to the next. */
    lua_rawgeti(L, LUA_REGISTRYINDEX, a->r->hook_ref[a->h]);
    push_env(a->r, 0);
    lua_setupvalue(L, -2, 1);
    lua_call(L, 0, 1);
    if (lua_type(L, -1) != LUA_TFUNCTION)
        return luaL_error(L, "%s:%d: the file must return a function",
                          a->r->paths[a->h], a->r->hook_line[a->h]);
    if (a->push) {
        a->push(L, a->ud);
    } else {
        push_arg(L, a->r, a->view);
        push_arg(L, a->r, a->ctx);
    }
    lua_call(L, 2, 1);
    a->result = hv__contract_check(L, a->h, lua_gettop(L), a->r->pack->codes,
                                   a->why, sizeof a->why, a->vals);
    return a->push ? 1 : 0;
}

/* The line of the `return` that gave a's bad result: the call made again
 * (rules are pure: each call runs the hook file afresh) with a return hook
 * beside the count hook, its budget and limits put back afterwards; the
 * `return function` line when the return is not seen (a tail call). */
static int return_line(hv_rules *r, const call_args *a)
{
    lua_State *L = r->L;
    call_args again = *a;
    again.result = NULL;
    long used = r->used;
    int exceeded = r->exceeded, hit = r->mem.hit, top = lua_gettop(L);
    lua_Hook hook = lua_gethook(L);
    int mask = lua_gethookmask(L), count = lua_gethookcount(L);
    r->used = 0;
    r->exceeded = 0;
    r->ret_watch = a->h;
    r->ret_line = 0;
    lua_sethook(L, count_hook, LUA_MASKCOUNT | LUA_MASKRET, HOOK_STEP);
    lua_pushcfunction(L, call_trampoline);
    lua_pushlightuserdata(L, &again);
    r->depth++;
    (void)lua_pcall(L, 1, 0, 0);
    r->depth--;
    lua_settop(L, top);
    json_decref(again.result);
    lua_sethook(L, hook, mask, count);
    r->used = used;
    r->exceeded = exceeded;
    r->mem.hit = hit;
    return r->ret_line > 0 ? r->ret_line : r->hook_line[a->h];
}

/* Calls the hook a->h with a's arguments under the budget.  HV_OK with
 * a->result set (and, on the bulk path, the result table left on top);
 * else HV_REFUSED with *err (hv__free), the stack restored and, outside
 * nested calls, the state left clean for the next call. */
static hv_status call_hook(hv_rules *r, call_args *a, char **err)
{
    lua_State *L = r->L;
    int top = lua_gettop(L);
    const char *saved = r->current;
    hv_hook h = a->h;
    *err = NULL;
    if (r->hook_ref[h] == LUA_NOREF) {
        *err = hv__asprintf("%s: the pack has no %s hook", r->paths[h],
                            hv__hook_name(h));
        return HV_REFUSED;
    }
    if (!lua_checkstack(L, 8)) {
        *err = hv__strdup("rules: stack exhausted");
        return HV_REFUSED;
    }
    int saved_calling = r->calling;
    r->current = r->paths[h];
    r->calling = (int)h;
    lua_pushcfunction(L, call_trampoline);
    lua_pushlightuserdata(L, a);
    int status = budgeted_pcall(r, 1, a->push ? 1 : 0);
    r->calling = saved_calling;
    if (status == LUA_OK && a->result) {
        r->current = saved;
        return HV_OK;
    }
    r->err_kind = r->mem.hit || status == LUA_ERRMEM ? HV_RULE_ERR_MEMORY
                  : r->exceeded                      ? HV_RULE_ERR_TIMEOUT
                  : status != LUA_OK                 ? HV_RULE_ERR_RUNTIME
                                                     : HV_RULE_ERR_RESULT;
    r->err_hook = h;
    if (status != LUA_OK)
        *err = error_text(r, status);
    else
        *err = hv__asprintf("%s:%d: %s result: %s", r->paths[h],
                            return_line(r, a), hv__hook_name(h), a->why);
    r->current = saved;
    json_decref(a->result);
    a->result = NULL;
    lua_settop(L, top);
    if (r->depth == 0) {
        /* leave the state clean for the next call */
        r->exceeded = 0;
        r->mem.hit = r->mem.armed = 0;
        lua_gc(L, LUA_GCCOLLECT);
    }
    if (!*err)
        *err = hv__strdup("rules: out of memory");
    return HV_REFUSED;
}

hv_status hv__rules_call(hv_rules *r, hv_hook h, json_t *case_view,
                         json_t *ctx, json_t **out_result, char **err)
{
    /* the hook sees the minimised view (ruleneeds.h), made once for a
     * pinned view */
    int pinned = case_view == r->pin[0] && case_view;
    json_t *view = pinned && r->pin_view ? json_incref(r->pin_view)
                                         : hv__view_minimise(case_view, r->pack);
    *out_result = NULL;
    *err = NULL;
    if (!view) {
        *err = hv__strdup("rules: out of memory");
        return HV_NOMEM;
    }
    if (pinned && !r->pin_view)
        r->pin_view = json_incref(view);
    call_args a = {r, h, view, ctx, NULL, NULL, NULL, NULL, ""};
    hv_status st = call_hook(r, &a, err);
    json_decref(view);
    *out_result = st == HV_OK ? a.result : NULL;
    return st;
}

void hv__rules_error_brief(const hv_rules *r, char *buf, size_t size)
{
    static const char *const kinds[] = {
        [HV_RULE_ERR_RUNTIME] = "runtime error",
        [HV_RULE_ERR_TIMEOUT] = "timeout (instruction budget exceeded)",
        [HV_RULE_ERR_MEMORY] = "memory cap exceeded",
        [HV_RULE_ERR_RESULT] = "bad result (breaks the hook's contract)"};
    /* the hook's file, never the line: where a rule raises can depend on
     * the case (error() on line 3 + age) */
    const char *file = strrchr(r->paths[r->err_hook], '/');
    snprintf(buf, size, "%.100s: %s", file ? file + 1 : r->paths[r->err_hook],
             kinds[r->err_kind]);
}

/* ---- the bulk path (rulesdiff.c): views pushed straight as Lua ---------- */

hv_status hv__rules_call_bulk(hv_rules *r, hv_hook h, hv_rules_pusher push,
                              void *ud, hv_rule_values *vals, char **err)
{
    call_args a = {r, h, NULL, NULL, push, ud, vals, NULL, ""};
    return call_hook(r, &a, err);
}

typedef struct {
    hv_rules *r;
    hv_hook h;
    json_t *out;
    char why[400];
} result_args;

/* Protected: checks the result table at 2 into a JSON result (a->out). */
static int result_trampoline(lua_State *L)
{
    result_args *a = lua_touserdata(L, 1);
    a->out = hv__contract_check(L, a->h, 2, a->r->pack->codes, a->why,
                                sizeof a->why, NULL);
    return 0;
}

json_t *hv__rules_bulk_result(hv_rules *r, hv_hook h)
{
    lua_State *L = r->L;
    result_args a = {r, h, NULL, ""};
    int top = lua_gettop(L);
    if (!lua_checkstack(L, 4))
        return NULL;
    lua_pushcfunction(L, result_trampoline);
    lua_pushlightuserdata(L, &a);
    lua_pushvalue(L, top);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        json_decref(a.out);
        a.out = NULL;
    }
    lua_settop(L, top);
    return a.out;
}

void hv__rules_bulk_pop(hv_rules *r) { lua_pop(r->L, 1); }

/* ---- for the test runner (rulestest.c): see rules.h ---- */

lua_State *hv__rules_lua(hv_rules *r) { return r->L; }
int hv__rules_base_ref(hv_rules *r) { return r->base_ref; }
long hv__rules_budget(hv_rules *r) { return r->budget; }
void hv__rules_set_budget(hv_rules *r, long budget) { r->budget = budget; }
void hv__rules_push_env(hv_rules *r, int extra_idx) { push_env(r, extra_idx); }
int hv__rules_pcall(hv_rules *r, int nargs, int nresults)
{
    return budgeted_pcall(r, nargs, nresults);
}
char *hv__rules_error_text(hv_rules *r, int status)
{
    char *t = error_text(r, status);
    if (r->depth == 0) {
        r->exceeded = 0;
        r->mem.hit = r->mem.armed = 0;
    }
    return t;
}

/* ---- loading ---------------------------------------------------------------- */

typedef struct {
    hv_rules *r;
    hv_hook h;
    char *err;
} load_args;

/* Protected: compiles one hook (text only) into its own environment, runs
 * the chunk (under the budget, by the caller) and keeps the function it
 * returns.  Problems go to a->err; only memory errors are raised. */
static int load_trampoline(lua_State *L)
{
    load_args *a = lua_touserdata(L, 1);
    hv_rules *r = a->r;
    const char *src = r->pack->sources[a->h];
    char chunk[600];
    snprintf(chunk, sizeof chunk, "@%s/%s",
             r->pack->dir ? r->pack->dir : r->pack->name, hv__hook_file(a->h));
    int status = luaL_loadbufferx(L, src, strlen(src), chunk, "t");
    if (status != LUA_OK) {
        if (status == LUA_ERRMEM)
            return lua_error(L);
        const char *msg = lua_tostring(L, -1);
        /* Lua names the file in syntax errors but not when it refuses a
         * binary chunk: always say which file. */
        a->err = strncmp(msg, chunk + 1, strlen(chunk + 1)) == 0
                     ? hv__strdup(msg)
                     : hv__asprintf("%s:1: %s", chunk + 1, msg);
        return 0;
    }
    /* Kept: the compiled file, which each call runs again (call_trampoline)
     * for a fresh function; run once here to check it returns one. */
    lua_pushvalue(L, -1);
    push_env(r, 0);
    lua_setupvalue(L, -2, 1);
    lua_call(L, 0, 1);
    if (lua_type(L, -1) != LUA_TFUNCTION) {
        a->err = hv__asprintf("%s:1: the file must return a function (it "
                              "returned a %s value)",
                              chunk + 1, luaL_typename(L, -1));
        return 0;
    }
    lua_Debug ar;
    lua_getinfo(L, ">S", &ar);
    r->hook_line[a->h] = ar.linedefined > 0 ? ar.linedefined : 1;
    r->hook_ref[a->h] = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* Loads hook h of the pack, if present, into hook_ref[h].  HV_OK, or
 * HV_INVALID with *err "FILE:LINE: ..." (hv__free). */
static hv_status load_hook(hv_rules *r, hv_hook h, char **err)
{
    load_args a = {r, h, NULL};
    r->hook_ref[h] = LUA_NOREF;
    if (!r->pack->sources[h])
        return HV_OK;
    r->current = r->paths[h];
    lua_pushcfunction(r->L, load_trampoline);
    lua_pushlightuserdata(r->L, &a);
    int status = budgeted_pcall(r, 1, 0);
    if (status != LUA_OK && !a.err)
        a.err = error_text(r, status);
    lua_settop(r->L, 0);
    r->current = NULL;
    r->exceeded = 0;
    r->mem.hit = r->mem.armed = 0;
    if (a.err) {
        *err = a.err;
        return HV_INVALID;
    }
    return HV_OK;
}

/* Protected: builds the sandbox of the host (argument 1). */
static int sandbox_trampoline(lua_State *L)
{
    build_sandbox(lua_touserdata(L, 1));
    return 0;
}

hv_status hv__rules_new(hv_pack *pack, size_t memory_cap,
                        hv_rules_log_fn log_fn, void *log_ud, hv_rules **out,
                        char **err)
{
    hv_status st = HV_OK;
    *out = NULL;
    *err = NULL;
    hv_rules *r = hv__calloc(1, sizeof *r);
    if (!r) {
        hv__pack_free(pack);
        return HV_NOMEM;
    }
    r->pack = pack;
    r->budget = pack->budget > 0 ? pack->budget : HV_RULES_DEFAULT_BUDGET;
    r->mem.cap = memory_cap ? memory_cap : HV_RULES_DEFAULT_MEMORY;
    r->log_fn = log_fn;
    r->log_ud = log_ud;
    r->base_ref = LUA_NOREF;
    r->env_mt_ref = LUA_NOREF;
    r->calling = -1;
    r->pin_ref[0] = r->pin_ref[1] = LUA_NOREF;
    for (int i = 0; i < HV_HOOK_COUNT; i++) {
        r->hook_ref[i] = LUA_NOREF;
        snprintf(r->paths[i], sizeof r->paths[i], "%s/%s",
                 pack->dir ? pack->dir : pack->name, hv__hook_file((hv_hook)i));
    }
    r->mem.pool = hv__pool_new();
    r->L = r->mem.pool ? lua_newstate(hv__capped_alloc, &r->mem) : NULL;
    if (!r->L) {
        hv__rules_free(r);
        return HV_NOMEM;
    }
    *(hv_rules **)lua_getextraspace(r->L) = r;
    lua_setwarnf(r->L, NULL, NULL);
    lua_pushcfunction(r->L, sandbox_trampoline);
    lua_pushlightuserdata(r->L, r);
    if (lua_pcall(r->L, 1, 0, 0) != LUA_OK) {
        hv__rules_free(r);
        *err = hv__strdup("rules: out of memory building the sandbox");
        return HV_NOMEM;
    }
    for (int i = 0; i < HV_HOOK_COUNT && st == HV_OK; i++)
        st = load_hook(r, (hv_hook)i, err);
    if (st != HV_OK) {
        hv__rules_free(r);
        if (!*err)
            *err = hv__strdup("rules: out of memory");
        return st;
    }
    *out = r;
    return HV_OK;
}

void hv__rules_free(hv_rules *r)
{
    if (!r)
        return;
    if (r->L)
        lua_close(r->L);
    hv__pool_free(r->mem.pool);
    json_decref(r->pin_view);
    hv__pack_free(r->pack);
    hv__free(r);
}

const hv_pack *hv__rules_pack(const hv_rules *r) { return r->pack; }

void hv__rules_quiet(hv_rules *r, int quiet) { r->quiet = quiet; }

int hv__rules_calling(const hv_rules *r) { return r->calling; }

int hv__rules_has(const hv_rules *r, hv_hook h)
{
    return r->hook_ref[h] != LUA_NOREF;
}

json_t *hv__rules_decision(const hv_rules *r, hv_hook h, json_t *result)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:O}", "hook", hv__hook_file(h), "pack",
                     r->pack->name, "version", r->pack->version, "hash",
                     r->pack->hash, "result", result);
}
