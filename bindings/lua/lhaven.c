/*
 * lhaven.c - the Lua module `haven`, after Lua's own liolib.c.
 *
 *   local haven = require "haven"
 *   local e <close> = haven.open{ db = "agency.db", as = "amal", now = "2026-11-28T09:00:00Z" }
 *   local c = e:register{ child = { name = "Noor", age = 12, sex = "female" }, ... }
 *   c:followup{ method = "home_visit_scheduled", safety = "ok" }
 *   for _, t in ipairs(e:due()) do print(t.ref, t.label, t.due_at) end
 *
 * Two userdata types: haven.Engine and haven.Case (a reference to a case on
 * an engine); haven.connect{ server = URL } makes their remote twins, with
 * the same methods, over a havend server (lremote.c).  An engine acts as the user it was opened as (the `as`
 * option, the command line's --as) for as long as it is open: there is no
 * way to change the acting user of an open engine, so code handed one
 * (the REPL, a scenario) cannot act as anyone else.  Expected failures (a refusal, an unknown reference) return
 * nil, message, exit code, status name; misuse raises ("bad argument #n").
 * Values come back as plain tables decoded from the engine's JSON; times
 * are ISO 8601 strings, with haven.time()/haven.iso() to convert.
 */
#include "lhaven.h"

#include <lauxlib.h>
#include <lualib.h>
#include <string.h>

#include <jansson.h>

#include "haven.h"
#include "lremote.h"

#define ENGINE "haven.Engine"
#define CASE "haven.Case"
#define MAX_DEPTH 32

typedef struct {
    hv_engine *e;  /* NULL once closed */
    int borrowed;  /* not ours to close */
} lengine;

typedef struct {
    char ref[48];
} lcase;

/* ---- JSON <-> Lua ---------------------------------------------------------- */

/* Pushes the JSON text as plain Lua tables (the engine's own converter;
 * nil on NULL or invalid text). */
static void push_json_text(lua_State *L, const char *text)
{
    hv_lua_push_json(L, text, text ? strlen(text) : 0);
}

/* The value at idx as JSON text (hv_free); raises "cannot pass WHY to
 * haven" on what is not plain data. */
static char *to_json_text(lua_State *L, int idx)
{
    char *text = NULL;
    const char *why = NULL;
    if (hv_lua_to_json(L, idx, MAX_DEPTH + 1, &text, &why) != HV_OK)
        luaL_error(L, "cannot pass %s to haven", why ? why : "this value");
    return text;
}

json_t *lhaven_to_json(lua_State *L, int idx)
{
    char *text = to_json_text(L, idx);
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    hv_free(text);
    if (!j)
        luaL_error(L, "cannot pass this value to haven");
    return j;
}

/* JSON text of the table at idx (hv_free); "{}" for none/nil. */
static char *table_text(lua_State *L, int idx)
{
    if (lua_isnoneornil(L, idx)) {
        lua_newtable(L);
        char *text = to_json_text(L, -1);
        lua_pop(L, 1);
        return text;
    }
    luaL_checktype(L, idx, LUA_TTABLE);
    return to_json_text(L, idx);
}

/* ---- results --------------------------------------------------------------- */

/* nil, message, exit code, status name. */
static int push_failure(lua_State *L, hv_status st, const char *msg)
{
    lua_pushnil(L);
    lua_pushstring(L, msg && *msg ? msg : hv_strerror(st));
    lua_pushinteger(L, hv_status_exit_code(st));
    lua_pushstring(L, hv_status_name(st));
    return 4;
}

/* Raises the engine's failure st as its message alone (no position: the
 * engine says what and why), remembering the message and its exit code
 * for lhaven_error_code.  Never returns. */
static int raise_failure(lua_State *L, hv_status st, const char *msg)
{
    return lhaven_raise(L, msg && *msg ? msg : hv_strerror(st), hv_status_exit_code(st));
}

int lhaven_raise(lua_State *L, const char *msg, int exit_code)
{
    lua_pushstring(L, msg);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "haven.raised");
    lua_pushinteger(L, exit_code);
    lua_setfield(L, LUA_REGISTRYINDEX, "haven.raised_code");
    return lua_error(L);
}

int lhaven_error_code(lua_State *L, int idx)
{
    int code = 0;
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TSTRING)
        return 0;
    lua_getfield(L, LUA_REGISTRYINDEX, "haven.raised");
    if (lua_rawequal(L, -1, idx)) {
        lua_getfield(L, LUA_REGISTRYINDEX, "haven.raised_code");
        code = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return code;
}

/* ---- Engine ------------------------------------------------------------------ */

/* The open Engine at idx; raises on a closed one. */
static lengine *check_engine(lua_State *L, int idx)
{
    lengine *le = luaL_checkudata(L, idx, ENGINE);
    if (!le->e)
        luaL_error(L, "attempt to use a closed haven engine");
    return le;
}

/* A new Engine userdata, created closed (safe if what follows fails). */
static lengine *new_engine(lua_State *L)
{
    lengine *le = lua_newuserdatauv(L, sizeof *le, 0);
    le->e = NULL;
    le->borrowed = 0;
    luaL_setmetatable(L, ENGINE);
    return le;
}

void lhaven_push_borrowed_engine(lua_State *L, void *engine)
{
    lengine *le = new_engine(L);
    le->e = engine;
    le->borrowed = 1;
}

/* Applies the `as` and `now` options of the table at idx: HV_OK, or the
 * engine's refusal (a live database refuses `now`, 64); raises on misuse
 * (a `now` that is no time). */
static hv_status apply_options(lua_State *L, int idx, hv_engine *e)
{
    hv_status st = HV_OK;
    if (lua_getfield(L, idx, "as") == LUA_TSTRING)
        st = hv_engine_set_actor(e, lua_tostring(L, -1));
    lua_pop(L, 1);
    if (st)
        return st;
    /* now = TIME: refused by a live database (hv_clock_simulate) */
    int t = lua_getfield(L, idx, "now");
    if (t == LUA_TSTRING) {
        hv_time now;
        if (hv_time_parse(lua_tostring(L, -1), &now) != HV_OK)
            luaL_error(L, "now: not an ISO 8601 time from 1900 to 2200");
        st = hv_clock_simulate(e, now);
    } else if (t == LUA_TNUMBER) {
        st = hv_clock_simulate(e, (hv_time)lua_tointeger(L, -1));
    } else if (t != LUA_TNIL) {
        luaL_error(L, "now: an ISO 8601 time or a number");
    }
    lua_pop(L, 1);
    if (st)
        return st;
    /* scratch = true: a throwaway database (hv_engine_set_scratch) */
    if (lua_getfield(L, idx, "scratch") != LUA_TNIL && lua_toboolean(L, -1))
        st = hv_engine_set_scratch(e);
    lua_pop(L, 1);
    return st;
}

/* haven.open(path [, options]) or haven.open{ db = ..., as = ..., now = ...,
 * scratch = true } */
static int l_open(lua_State *L)
{
    const char *path;
    int opts = 0;
    if (lua_istable(L, 1)) {
        opts = 1;
        lua_getfield(L, 1, "db");
        path = luaL_optstring(L, -1, NULL);
        lua_pop(L, 1);
        if (!path)
            return luaL_argerror(L, 1, "db = PATH is required");
        lua_pushstring(L, path);
        path = lua_tostring(L, -1);
    } else {
        path = luaL_checkstring(L, 1);
        if (!lua_isnoneornil(L, 2)) {
            luaL_checktype(L, 2, LUA_TTABLE);
            opts = 2;
        }
    }
    lengine *le = new_engine(L);
    char *err = NULL;
    hv_status st = hv_engine_open(path, &le->e, &err);
    if (st != HV_OK) {
        int n = push_failure(L, st, err);
        hv_free(err);
        return n;
    }
    if (opts && (st = apply_options(L, opts, le->e)) != HV_OK) {
        /* an expected failure: nil, message, code, status (the engine
         * closed) */
        char msg[512];
        snprintf(msg, sizeof msg, "%.500s", hv_errmsg(le->e));
        hv_engine_close(le->e);
        le->e = NULL;
        return push_failure(L, st, msg);
    }
    return 1;
}

/* haven.init{ db, agency, workflow, rules, ref_pattern, agency_name, as,
 * simulated, now, scratch } */
static int l_init(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    hv_init_options o = {0};
    const char **slots[] = {&o.agency, &o.workflow_path, &o.rules_dir,
                            &o.ref_pattern, &o.agency_name, &o.admin, &o.now};
    const char *keys[] = {"agency", "workflow", "rules", "ref_pattern",
                          "agency_name", "as", "now"};
    for (int i = 0; i < 7; i++) {
        lua_getfield(L, 1, keys[i]);
        *slots[i] = luaL_optstring(L, -1, NULL);
        lua_pop(L, 1); /* strings stay alive in the argument table */
    }
    /* simulated = true: a database whose clock may be set (now = ...) */
    lua_getfield(L, 1, "simulated");
    o.simulated = lua_toboolean(L, -1);
    lua_pop(L, 1);
    /* scratch = true: a throwaway simulated database (built without
     * fsyncs: hv_init_options.scratch) */
    lua_getfield(L, 1, "scratch");
    o.scratch = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, 1, "db");
    const char *db = luaL_optstring(L, -1, NULL);
    if (!db)
        return luaL_argerror(L, 1, "db = PATH is required");
    char *err = NULL;
    hv_status st = hv_engine_init(db, &o, &err);
    if (st != HV_OK) {
        int n = push_failure(L, st, err);
        hv_free(err);
        return n;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* __gc and __close of an Engine, and e:close(): closes the engine unless
 * borrowed; the userdata stays, closed. */
static int engine_gc(lua_State *L)
{
    lengine *le = luaL_checkudata(L, 1, ENGINE);
    if (le->e && !le->borrowed)
        hv_engine_close(le->e);
    le->e = NULL;
    return 0;
}

/* tostring(e): "haven.Engine (login)" or "(closed)". */
static int engine_tostring(lua_State *L)
{
    lengine *le = luaL_checkudata(L, 1, ENGINE);
    if (le->e)
        lua_pushfstring(L, "haven.Engine (%s)", hv_engine_actor(le->e));
    else
        lua_pushliteral(L, "haven.Engine (closed)");
    return 1;
}

/* Pushes a Case for ref with the engine (at engine_idx) as its user value. */
static void push_case(lua_State *L, int engine_idx, const char *ref)
{
    engine_idx = lua_absindex(L, engine_idx);
    lcase *c = lua_newuserdatauv(L, sizeof *c, 1);
    snprintf(c->ref, sizeof c->ref, "%s", ref);
    luaL_setmetatable(L, CASE);
    lua_pushvalue(L, engine_idx);
    lua_setiuservalue(L, -2, 1);
}

/* e:register(t [, { force = true }]) -> Case | nil, msg, code */
static int e_register(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    unsigned flags = 0;
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "force");
        if (lua_toboolean(L, -1))
            flags |= HV_REGISTER_FORCE;
        lua_pop(L, 1);
    }
    char *input = table_text(L, 2), *ref = NULL;
    hv_status st = hv_case_register(le->e, input, flags, &ref);
    hv_free(input);
    if (st != HV_OK)
        return push_failure(L, st, hv_errmsg(le->e));
    push_case(L, 1, ref);
    hv_free(ref);
    return 1;
}

/* e:case(ref) -> Case | nil, msg, code (the case must exist). */
static int e_case(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    const char *ref = luaL_checkstring(L, 2);
    char *text = NULL;
    hv_status st = hv_case_history_json(le->e, ref, &text);
    hv_free(text);
    if (st != HV_OK)
        return push_failure(L, st, hv_errmsg(le->e));
    push_case(L, 1, ref);
    return 1;
}

/* Runs fn(e, ..., &json) and returns the decoded JSON. */
#define RETURN_JSON(le, call)                                                  \
    do {                                                                       \
        char *text_ = NULL;                                                    \
        hv_status st_ = (call);                                                \
        if (st_ != HV_OK)                                                      \
            return push_failure(L, st_, hv_errmsg((le)->e));                   \
        push_json_text(L, text_);                                              \
        hv_free(text_);                                                        \
        return 1;                                                              \
    } while (0)

/* e:show(ref) -> the case file. */
static int e_show(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    const char *ref = luaL_checkstring(L, 2);
    RETURN_JSON(le, hv_case_get_json(le->e, ref, &text_));
}

/* e:search(name) -> cases matching a name. */
static int e_search(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    const char *name = luaL_checkstring(L, 2);
    RETURN_JSON(le, hv_case_search(le->e, name, &text_));
}

/* e:list{ stage, source, concern, assignee, limit } */
static int e_list(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    hv_case_filter f = {0};
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        const char **slots[] = {&f.stage, &f.source, &f.concern, &f.assignee};
        const char *keys[] = {"stage", "source", "concern", "assignee"};
        for (int i = 0; i < 4; i++) {
            lua_getfield(L, 2, keys[i]);
            *slots[i] = luaL_optstring(L, -1, NULL);
            lua_pop(L, 1);
        }
        lua_getfield(L, 2, "limit");
        f.limit = (int)luaL_optinteger(L, -1, 0);
        lua_pop(L, 1);
    }
    RETURN_JSON(le, hv_case_list(le->e, &f, &text_));
}

/* e:due{ for = LOGIN, team = true, agency = true, overdue = true, within = "7d" } */
static int e_due(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    hv_due_filter f = {0};
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_getfield(L, 2, "for");
        f.login = luaL_optstring(L, -1, NULL);
        lua_pop(L, 1);
        lua_getfield(L, 2, "team");
        f.team = lua_toboolean(L, -1);
        lua_getfield(L, 2, "agency");
        f.agency = lua_toboolean(L, -1);
        lua_getfield(L, 2, "overdue");
        f.overdue_only = lua_toboolean(L, -1);
        lua_pop(L, 3);
        if (lua_getfield(L, 2, "within") == LUA_TSTRING) {
            if (hv_duration_parse(lua_tostring(L, -1), &f.within) != HV_OK)
                return luaL_error(L, "within: a duration such as 7d");
        } else if (lua_isinteger(L, -1)) {
            f.within = lua_tointeger(L, -1);
        }
        lua_pop(L, 1);
    }
    RETURN_JSON(le, hv_task_list_due(le->e, &f, &text_));
}

/* Seconds from a duration string ("2w") or a number. */
static int64_t check_duration(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TSTRING) {
        int64_t s;
        if (hv_duration_parse(lua_tostring(L, idx), &s) != HV_OK)
            luaL_argerror(L, idx, "a duration such as 2w, 14d, 48h, 3mo");
        return s;
    }
    return (int64_t)luaL_checkinteger(L, idx);
}

/* e:now() -> ISO text, seconds */
static int e_now(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    char buf[32];
    hv_time_format(hv_now(le->e), buf, sizeof buf);
    lua_pushstring(L, buf);
    lua_pushinteger(L, (lua_Integer)hv_now(le->e));
    return 2;
}

/* e:advance("2w") moves a simulated or fixed clock forward. */
static int e_advance(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    int64_t s = check_duration(L, 2);
    hv_status st = HV_OK;
    if (hv_clock_mode_get(le->e) == HV_CLOCK_SYSTEM)
        st = hv_clock_simulate(le->e, hv_now(le->e));
    if (st == HV_OK)
        st = hv_clock_advance(le->e, s);
    if (st != HV_OK)
        return raise_failure(L, st, hv_errmsg(le->e));
    return e_now(L);
}

/* e:set_now("2027-03-01") sets the simulated clock. */
static int e_set_now(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    hv_time t;
    if (lua_type(L, 2) == LUA_TNUMBER)
        t = (hv_time)luaL_checkinteger(L, 2);
    else if (hv_time_parse(luaL_checkstring(L, 2), &t) != HV_OK)
        return luaL_argerror(L, 2, "an ISO 8601 time from 1900 to 2200");
    hv_status st = hv_clock_simulate(le->e, t); /* refused by a live database */
    if (st != HV_OK)
        return raise_failure(L, st, hv_errmsg(le->e));
    return e_now(L);
}

/* e:whoami() -> the acting user's login. */
static int e_whoami(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    lua_pushstring(L, hv_engine_actor(le->e));
    return 1;
}

/* e:user_add(login, role [, supervisor]) -> true | nil, msg, code */
static int e_user_add(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    hv_status st = hv_user_add(le->e, luaL_checkstring(L, 2),
                               luaL_checkstring(L, 3), luaL_optstring(L, 4, NULL));
    if (st != HV_OK)
        return push_failure(L, st, hv_errmsg(le->e));
    lua_pushboolean(L, 1);
    return 1;
}

/* e:users() -> the users. */
static int e_users(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    RETURN_JSON(le, hv_user_list(le->e, &text_));
}

/* e:rules_reload([dir]) -> the pack now in force. */
static int e_rules_reload(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    const char *dir = luaL_optstring(L, 2, NULL);
    RETURN_JSON(le, hv_rules_reload(le->e, dir, &text_));
}

/* e:workflow() -> { id, name, version, stages = {{id, label}...},
 * lookups = { name = {codes...} } } */
static int e_workflow(lua_State *L)
{
    lengine *le = check_engine(L, 1);
    const hv_workflow *wf = hv_engine_workflow(le->e);
    lua_createtable(L, 0, 5);
    lua_pushstring(L, hv_workflow_id(wf));
    lua_setfield(L, -2, "id");
    lua_pushstring(L, hv_workflow_name(wf));
    lua_setfield(L, -2, "name");
    lua_pushinteger(L, hv_workflow_version(wf));
    lua_setfield(L, -2, "version");
    lua_createtable(L, (int)hv_workflow_stage_count(wf), 0);
    for (size_t i = 0; i < hv_workflow_stage_count(wf); i++) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, hv_workflow_stage_id(wf, i));
        lua_setfield(L, -2, "id");
        lua_pushstring(L, hv_workflow_stage_label(wf, i));
        lua_setfield(L, -2, "label");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "stages");
    lua_newtable(L);
    for (size_t i = 0; i < hv_workflow_lookup_count(wf); i++) {
        size_t n;
        const char *const *codes = hv_workflow_lookup_codes(wf, i, &n);
        lua_createtable(L, (int)n, 0);
        for (size_t j = 0; j < n; j++) {
            lua_pushstring(L, codes[j]);
            lua_rawseti(L, -2, (lua_Integer)j + 1);
        }
        lua_setfield(L, -2, hv_workflow_lookup_name(wf, i));
    }
    lua_setfield(L, -2, "lookups");
    return 1;
}

/* e:close(): closes the engine (again is fine). */
static int e_close(lua_State *L)
{
    luaL_checkudata(L, 1, ENGINE);
    return engine_gc(L);
}

/* ---- Case -------------------------------------------------------------------- */

/* The case at idx and its open engine. */
static lengine *case_engine(lua_State *L, int idx, lcase **out)
{
    lcase *c = luaL_checkudata(L, idx, CASE);
    lua_getiuservalue(L, idx, 1);
    lengine *le = luaL_testudata(L, -1, ENGINE);
    lua_pop(L, 1);
    if (!le || !le->e)
        luaL_error(L, "attempt to use a case of a closed haven engine");
    *out = c;
    return le;
}

/* c:STEP{ ... [, expect_version = N] } for every lifecycle step. */
static int c_step(lua_State *L)
{
    lcase *c;
    lengine *le = case_engine(L, 1, &c);
    const char *step = lua_tostring(L, lua_upvalueindex(1));
    int64_t expect = 0;
    if (lua_istable(L, 2)) {
        if (lua_getfield(L, 2, "expect_version") == LUA_TNUMBER) {
            expect = lua_tointeger(L, -1);
            lua_pushnil(L);
            lua_setfield(L, 2, "expect_version");
        }
        lua_pop(L, 1);
    } else if (lua_type(L, 2) == LUA_TSTRING) {
        /* c:reopen "reason", c:assign "login", c:reject "reason" */
        const char *key = !strcmp(step, "assign") ? "to" : "reason";
        lua_createtable(L, 0, 1);
        lua_pushvalue(L, 2);
        lua_setfield(L, -2, key);
        lua_replace(L, 2);
    }
    char *input = table_text(L, 2), *out = NULL;
    hv_status st = hv_case_step(le->e, c->ref, step, input, expect, &out);
    hv_free(input);
    if (st != HV_OK)
        return push_failure(L, st, hv_errmsg(le->e));
    push_json_text(L, out);
    hv_free(out);
    return 1;
}

/* Runs read(e, ref, &json) on the case at 1 and returns the decoded JSON
 * (or nil, msg, code). */
static int case_json(lua_State *L,
                     hv_status (*read)(hv_engine *, const char *, char **))
{
    lcase *c;
    lengine *le = case_engine(L, 1, &c);
    RETURN_JSON(le, read(le->e, c->ref, &text_));
}

/* c:show() -> the case file; c:history() -> its events; c:explain() ->
 * the rule decisions on it. */
static int c_show(lua_State *L) { return case_json(L, hv_case_get_json); }
static int c_history(lua_State *L) { return case_json(L, hv_case_history_json); }
static int c_explain(lua_State *L) { return case_json(L, hv_case_explain_json); }

/* c:note("text" [, expect_version]) -> new version */
static int c_note(lua_State *L)
{
    lcase *c;
    lengine *le = case_engine(L, 1, &c);
    const char *text = luaL_checkstring(L, 2);
    int64_t version = 0;
    hv_status st = hv_case_note(le->e, c->ref, text, luaL_optinteger(L, 3, 0), &version);
    if (st != HV_OK)
        return push_failure(L, st, hv_errmsg(le->e));
    lua_pushinteger(L, (lua_Integer)version);
    return 1;
}

/* c.ref, c.stage, c.status, ... read from the case file; methods first. */
static int case_index(lua_State *L)
{
    lcase *c = luaL_checkudata(L, 1, CASE);
    const char *key = luaL_checkstring(L, 2);
    luaL_getmetatable(L, CASE);
    lua_getfield(L, -1, "methods");
    if (lua_getfield(L, -1, key) != LUA_TNIL)
        return 1;
    lua_pop(L, 3);
    if (!strcmp(key, "ref")) {
        lua_pushstring(L, c->ref);
        return 1;
    }
    lengine *le = case_engine(L, 1, &c);
    char *text = NULL;
    /* stage, status, urgency, risk, version, ... come from the summary (not
     * an audited read); anything else from the case file. */
    static const char *const summary_keys[] = {"stage", "status", "urgency",
        "risk", "version", "source", "assignee", "registered_at", "concerns",
        "open_tasks", NULL};
    int in_summary = 0;
    for (const char *const *k = summary_keys; *k; k++)
        in_summary |= !strcmp(*k, key);
    hv_status st = in_summary ? hv_case_summary_json(le->e, c->ref, &text)
                              : hv_case_get_json(le->e, c->ref, &text);
    if (st != HV_OK)
        return raise_failure(L, st, hv_errmsg(le->e));
    int pushed = hv_lua_push_json(L, text, strlen(text));
    hv_free(text);
    if (!pushed || !lua_istable(L, -1)) {
        lua_pushnil(L);
        return 1;
    }
    lhaven_case_field(L, key);
    return 1;
}

void lhaven_case_field(lua_State *L, const char *key)
{
    lua_getfield(L, -1, key);
    /* in the case file, stage is {id, label} and risk {level, score} */
    if (lua_istable(L, -1)) {
        if (lua_getfield(L, -1, "id") != LUA_TNIL)
            return;
        lua_pop(L, 1);
        if (!strcmp(key, "risk"))
            lua_getfield(L, -1, "level");
    }
}

/* tostring(c): "haven.Case REF". */
static int case_tostring(lua_State *L)
{
    lcase *c = luaL_checkudata(L, 1, CASE);
    lua_pushfstring(L, "haven.Case %s", c->ref);
    return 1;
}

/* c1 == c2: the same reference. */
static int case_eq(lua_State *L)
{
    lcase *a = luaL_checkudata(L, 1, CASE), *b = luaL_checkudata(L, 2, CASE);
    lua_pushboolean(L, strcmp(a->ref, b->ref) == 0);
    return 1;
}

/* ---- module functions ------------------------------------------------------------ */

/* haven.time("2026-11-28") -> seconds */
static int l_time(lua_State *L)
{
    hv_time t;
    if (hv_time_parse(luaL_checkstring(L, 1), &t) != HV_OK)
        return luaL_argerror(L, 1, "an ISO 8601 date or time");
    lua_pushinteger(L, (lua_Integer)t);
    return 1;
}

/* haven.iso(seconds) -> "2026-11-28T00:00:00Z" */
static int l_iso(lua_State *L)
{
    char buf[32];
    hv_time_format((hv_time)luaL_checkinteger(L, 1), buf, sizeof buf);
    lua_pushstring(L, buf);
    return 1;
}

/* haven.duration("2w") -> seconds */
static int l_duration(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)check_duration(L, 1));
    return 1;
}

/* haven.rules_check(dir) -> problems (0 = ok), report text */
static int l_rules_check(lua_State *L)
{
    const char *dir = luaL_checkstring(L, 1);
    char *buf = NULL, *err = NULL;
    size_t len = 0;
    int problems = 0;
    FILE *out = open_memstream(&buf, &len);
    hv_status st = hv_rules_check_dir(dir, out, &problems, &err);
    fclose(out);
    if (st != HV_OK) {
        free(buf);
        int n = push_failure(L, st, err);
        hv_free(err);
        return n;
    }
    lua_pushinteger(L, problems);
    lua_pushlstring(L, buf ? buf : "", len);
    free(buf);
    return 2;
}

/* The lifecycle steps, in HV_STEP_MAP order: a Case method each, and
 * haven.steps. */
static const char *const steps[] = {
#define XX(verb, synopsis, help) #verb,
    HV_STEP_MAP(XX)
#undef XX
    NULL};

static const luaL_Reg engine_methods[] = {
    {"register", e_register}, {"case", e_case},       {"find", e_case},
    {"show", e_show},         {"search", e_search},   {"list", e_list},
    {"due", e_due},           {"now", e_now},         {"advance", e_advance},
    {"set_now", e_set_now},   {"whoami", e_whoami},   {"user_add", e_user_add},
    {"users", e_users},       {"rules_reload", e_rules_reload},
    {"workflow", e_workflow}, {"close", e_close},     {NULL, NULL}};

static const luaL_Reg engine_meta[] = {
    {"__gc", engine_gc}, {"__close", engine_gc}, {"__tostring", engine_tostring},
    {NULL, NULL}};

static const luaL_Reg case_methods[] = {
    {"show", c_show}, {"history", c_history}, {"explain", c_explain},
    {"note", c_note}, {NULL, NULL}};

static const luaL_Reg module_functions[] = {
    {"open", l_open},         {"init", l_init},     {"time", l_time},
    {"iso", l_iso},           {"duration", l_duration},
    {"rules_check", l_rules_check}, {"connect", lremote_connect}, {NULL, NULL}};

void lhaven_open_safe_libraries(lua_State *L)
{
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},       {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8}, {LUA_COLIBNAME, luaopen_coroutine},
        {NULL, NULL}};
    for (const luaL_Reg *lib = libs; lib->func; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
    static const char *const removed[] = {"dofile", "loadfile", NULL};
    for (const char *const *n = removed; *n; n++) {
        lua_pushnil(L);
        lua_setglobal(L, *n);
    }
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump"); /* binary chunks */
    lua_pop(L, 1);
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
}

LHAVEN_API int luaopen_haven(lua_State *L)
{
    /* Engine */
    if (luaL_newmetatable(L, ENGINE)) {
        luaL_setfuncs(L, engine_meta, 0);
        luaL_newlib(L, engine_methods);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    /* Case */
    if (luaL_newmetatable(L, CASE)) {
        luaL_newlib(L, case_methods);
        for (const char *const *s = steps; *s; s++) {
            lua_pushstring(L, *s);
            lua_pushcclosure(L, c_step, 1);
            lua_setfield(L, -2, *s);
        }
        lua_setfield(L, -2, "methods");
        lua_pushcfunction(L, case_index);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, case_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushcfunction(L, case_eq);
        lua_setfield(L, -2, "__eq");
    }
    lua_pop(L, 1);
    lremote_register(L); /* haven.connect's engines and cases (lremote.c) */
    luaL_newlib(L, module_functions);
    lua_pushstring(L, HV_VERSION_STRING);
    lua_setfield(L, -2, "version");
    lua_createtable(L, (int)(sizeof steps / sizeof *steps) - 1, 0);
    for (size_t i = 0; steps[i]; i++) {
        lua_pushstring(L, steps[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "steps");
    return 1;
}
