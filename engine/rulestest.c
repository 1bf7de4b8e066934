/* rulestest.c - tools for rule writers: `rules test` (a pack's own tests
 * over synthetic cases) and `rules check` (every hook against sample
 * cases and the contract). */
#include <dirent.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rulestest.h"

#include "alloc.h"
#include "luajson.h"
#include "ruleneeds.h"
#include "workflow.h"

#define TEST_BUDGET_FACTOR 50 /* a test may call several hooks */

/* The test API, in Lua, loaded with _ENV = the test API table. */
static const char prelude[] =
    "local function show(v)\n"
    "  if type(v) == 'string' then return string.format('%q', v) end\n"
    "  return tostring(v)\n"
    "end\n"
    "local function deep_equal(a, b, depth)\n"
    "  if a == b then return true end\n"
    "  if type(a) ~= 'table' or type(b) ~= 'table' or depth > 16 then return false end\n"
    "  for k, v in pairs(a) do if not deep_equal(v, b[k], depth + 1) then return false end end\n"
    "  for k in pairs(b) do if a[k] == nil then return false end end\n"
    "  return true\n"
    "end\n"
    "function test(name, fn)\n"
    "  if type(name) ~= 'string' or type(fn) ~= 'function' then\n"
    "    error('test(name, fn): a name and a function', 2)\n"
    "  end\n"
    "  local t = __tests\n"
    "  t[#t + 1] = { name = name, fn = fn }\n"
    "end\n"
    "function expect(v)\n"
    "  local e = {}\n"
    "  function e.to_be(x)\n"
    "    if v ~= x then error('expected ' .. show(x) .. ', got ' .. show(v), 2) end\n"
    "  end\n"
    "  function e.to_equal(x)\n"
    "    if not deep_equal(v, x, 0) then error('expected equal values, got ' .. show(v), 2) end\n"
    "  end\n"
    "  function e.to_contain(x)\n"
    "    if type(v) == 'string' and type(x) == 'string' then\n"
    "      if not string.find(v, x, 1, true) then error('expected ' .. show(v) .. ' to contain ' .. show(x), 2) end\n"
    "    elseif type(v) == 'table' then\n"
    "      if not has(v, x) then error('expected the list to contain ' .. show(x), 2) end\n"
    "    else error('to_contain: expected a list or text, got ' .. show(v), 2) end\n"
    "  end\n"
    "  function e.to_be_at_least(n)\n"
    "    if type(v) ~= 'number' or v < n then error('expected at least ' .. show(n) .. ', got ' .. show(v), 2) end\n"
    "  end\n"
    "  function e.to_be_at_most(n)\n"
    "    if type(v) ~= 'number' or v > n then error('expected at most ' .. show(n) .. ', got ' .. show(v), 2) end\n"
    "  end\n"
    "  function e.to_be_truthy() if not v then error('expected a true value, got ' .. show(v), 2) end end\n"
    "  function e.to_be_falsy() if v then error('expected a false value, got ' .. show(v), 2) end end\n"
    "  function e.to_fail(sub)\n"
    "    local ok, err = pcall(v)\n"
    "    if ok then error('expected an error', 2) end\n"
    "    if sub and not string.find(tostring(err), sub, 1, true) then\n"
    "      error('expected an error containing ' .. show(sub) .. ', got ' .. show(err), 2)\n"
    "    end\n"
    "  end\n"
    "  return e\n"
    "end\n"
    "function case(t)\n"
    "  local c = { stage = 'registration', status = 'open', source = 'school',\n"
    "    location = 'Riverside/Block 4', concerns = { 'neglect' },\n"
    "    child = { age = 12, sex = 'female' }, family = {},\n"
    "    consent = { registration = 'caregiver' },\n"
    "    registered_at = at('2026-11-28T09:00:00Z'), assessments = {},\n"
    "    followups = {}, reviews = {}, form = {} }\n"
    "  for k, v in pairs(t or {}) do c[k] = v end\n"
    "  __check(c)\n"
    "  return c\n"
    "end\n"
    "local function with_reason(ctx, reason)\n"
    "  local x = {}\n"
    "  for k, v in pairs(ctx or {}) do x[k] = v end\n"
    "  x.reason = reason\n"
    "  return x\n"
    "end\n"
    "function registration(c, ctx) return __call('registration', c, ctx) end\n"
    "function risk(c, ctx) return __call('risk', c, ctx) end\n"
    "function followup(c, ctx) return __call('followup', c, ctx) end\n"
    "function closure(c, reason, ctx) return __call('closure', c, with_reason(ctx, reason)) end\n"
    "function assessment(c, ctx) return __call('assessment', c, ctx) end\n"
    "function review(c, ctx) return __call('review', c, ctx) end\n";

/* at("2026-11-28T09:00:00Z") -> UTC seconds. */
static int t_at(lua_State *L)
{
    hv_time t;
    if (hv_time_parse(luaL_checkstring(L, 1), &t) != HV_OK)
        return luaL_error(L, "at: not an ISO 8601 time");
    lua_pushinteger(L, (lua_Integer)t);
    return 1;
}

/* ---- checking a test's synthetic case (as register checks its input) -- */

/* The codes register accepts where the workflow has no such lookup
 * (intake.c's fallbacks); NULL: any code. */
static const char *const fallback_sexes[] = {"female", "male", "other",
                                             "unknown", NULL};
static const char *const fallback_givers[] = {"child", "caregiver", "both",
                                              "guardian", NULL};
static const char *const fallback_safety[] = {"ok", "concern", "urgent", NULL};

/* Raises the message at the top of the stack at the test file's line: the
 * first frame of a file (the test calling case{} or a hook) before it. */
static int raise_at_test(lua_State *L)
{
    lua_Debug ar;
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "Sl", &ar);
        if (ar.source[0] == '@' && ar.currentline > 0) {
            lua_pushfstring(L, "%s:%d: %s", ar.short_src, ar.currentline,
                            lua_tostring(L, -1));
            break;
        }
    }
    return lua_error(L);
}

/* Whether v (a string) is a code of the workflow's lookup (else of
 * fallback; neither: any code is).  If not, pushes "case: WHERE: unknown
 * code 'V' (one of: ...)" (a value that does not look like a code is not
 * echoed) and returns 1. */
static int bad_code(lua_State *L, const hv_workflow *wf, const char *where,
                    const json_t *v, const char *lookup,
                    const char *const *fallback)
{
    const hv_lookup *l = wf ? hv__workflow_lookup(wf, lookup) : NULL;
    const char *code = json_string_value(v);
    if (!code || (!l && !fallback))
        return 0;
    size_t n = 0;
    if (l)
        n = l->ncodes;
    else
        while (fallback[n])
            n++;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(code, l ? l->codes[i] : fallback[i]))
            return 0;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    lua_pushfstring(L, "case: %s: unknown code '%s' (one of: ", where,
                    hv__pack_is_code(code) ? code : "(value not shown)");
    luaL_addvalue(&b);
    for (size_t i = 0; i < n; i++) {
        if (i)
            luaL_addstring(&b, ", ");
        luaL_addstring(&b, l ? l->codes[i] : fallback[i]);
    }
    luaL_addstring(&b, ")");
    luaL_pushresult(&b);
    return 1;
}

/* bad_code for member key of every object in the list `list` of view. */
static int bad_list_code(lua_State *L, const hv_workflow *wf,
                         const json_t *view, const char *list, const char *key,
                         const char *lookup, const char *const *fallback)
{
    const json_t *items = json_object_get(view, list), *x;
    size_t i;
    char where[80];
    json_array_foreach(items, i, x) {
        snprintf(where, sizeof where, "%s[%zu].%s", list, i + 1, key);
        if (bad_code(L, wf, where, json_object_get(x, key), lookup, fallback))
            return 1;
    }
    return 0;
}

/* Whether a synthetic case view breaks what register checks: a member the
 * view does not have (the same table, ruleneeds.c) or a code the workflow
 * does not allow (wf NULL: register's fallbacks).  1 with the message
 * pushed. */
static int bad_view(lua_State *L, const hv_rules *r, const hv_workflow *wf,
                    const json_t *view)
{
    char path[200], allowed[600], where[80];
    if (hv__view_unknown(view, hv__rules_pack(r), path, sizeof path, allowed,
                         sizeof allowed)) {
        int shown = 1;
        for (const char *c = path; *c; c++)
            if (!(*c == '_' || *c == '.' || *c == '[' || *c == ']' ||
                  (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
                shown = 0;
        lua_pushfstring(L, "case: unknown field '%s' (one of: %s)",
                        shown ? path : "(name not shown)", allowed);
        return 1;
    }
    const json_t *x, *c = json_object_get(view, "concerns");
    const char *key;
    size_t i;
    if (bad_code(L, wf, "source", json_object_get(view, "source"),
                 "referral_sources", NULL))
        return 1;
    json_array_foreach(c, i, x) {
        snprintf(where, sizeof where, "concerns[%zu]", i + 1);
        if (bad_code(L, wf, where, x, "concerns", NULL))
            return 1;
    }
    json_object_foreach(json_object_get(view, "consent"), key, x) {
        json_t *k = json_string(key);
        int bad = bad_code(L, wf, "consent", k, "consent_scopes", NULL);
        json_decref(k);
        snprintf(where, sizeof where, "consent.%.40s", key);
        if (bad || bad_code(L, wf, where, x, "consent_givers", fallback_givers))
            return 1;
    }
    return bad_code(L, wf, "child.sex",
                    json_object_get(json_object_get(view, "child"), "sex"),
                    "sexes", fallback_sexes) ||
           bad_list_code(L, wf, view, "family", "sex", "sexes",
                         fallback_sexes) ||
           bad_list_code(L, wf, view, "family", "relationship",
                         "relationships", NULL) ||
           bad_list_code(L, wf, view, "followups", "method",
                         "followup_methods", NULL) ||
           bad_list_code(L, wf, view, "followups", "safety", "safety_levels",
                         fallback_safety) ||
           bad_list_code(L, wf, view, "assessments", "safety",
                         "safety_levels", fallback_safety) ||
           bad_list_code(L, wf, view, "reviews", "outcome", "review_outcomes",
                         NULL);
}

/* __check(case): raises at the test when the case{} it built has a member
 * or code register would refuse. */
static int t_check(lua_State *L)
{
    hv_rules *r = lua_touserdata(L, lua_upvalueindex(1));
    const hv_workflow *wf = lua_touserdata(L, lua_upvalueindex(2));
    luaL_checktype(L, 1, LUA_TTABLE);
    const char *why = NULL;
    json_t *view = hv__lua_to_json(L, 1, HV_RULES_MAX_DEPTH, &why);
    if (!view)
        return luaL_error(L, "the case: %s", why ? why : "out of memory");
    int bad = bad_view(L, r, wf, view);
    json_decref(view);
    return bad ? raise_at_test(L) : 0;
}

/* __call(hook, case, ctx): calls the pack's hook on a synthetic case. */
static int t_call(lua_State *L)
{
    hv_rules *r = lua_touserdata(L, lua_upvalueindex(1));
    const char *name = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    int h;
    for (h = 0; h < HV_HOOK_COUNT; h++)
        if (!strcmp(hv__hook_name((hv_hook)h), name))
            break;
    if (h == HV_HOOK_COUNT)
        return luaL_error(L, "no hook '%s'", name);
    const char *why = NULL;
    json_t *view = hv__lua_to_json(L, 2, HV_RULES_MAX_DEPTH, &why);
    if (!view)
        return luaL_error(L, "the case: %s", why ? why : "out of memory");
    json_t *ctx = lua_isnoneornil(L, 3) ? json_object()
                                        : hv__lua_to_json(L, 3, HV_RULES_MAX_DEPTH, &why);
    if (!ctx || !json_is_object(ctx)) {
        json_decref(view);
        json_decref(ctx);
        return luaL_error(L, "the context: %s", why ? why : "must be a table");
    }
    const hv_workflow *wf = lua_touserdata(L, lua_upvalueindex(2));
    /* (the closure reason is not checked: a pack's test may give an
     * unknown one to see its hook refuse it) */
    if (bad_view(L, r, wf, view)) {
        json_decref(view);
        json_decref(ctx);
        return raise_at_test(L);
    }
    const hv_pack *p = hv__rules_pack(r);
    int bad = 0;
    if (!json_object_get(ctx, "now")) {
        json_t *now = json_object_get(view, "registered_at");
        bad |= now ? json_object_set(ctx, "now", now)
                   : json_object_set_new(ctx, "now", json_integer(0));
    }
    bad |= json_object_set_new(ctx, "pack", json_pack("{s:s,s:s}", "name",
                                                      p->name, "version",
                                                      p->version));
    if (bad) {
        json_decref(view);
        json_decref(ctx);
        return luaL_error(L, "out of memory");
    }
    json_t *result = NULL;
    char *err = NULL;
    hv_status st = hv__rules_call(r, (hv_hook)h, view, ctx, &result, &err);
    json_decref(view);
    json_decref(ctx);
    if (st != HV_OK) {
        lua_pushstring(L, err ? err : "rule error");
        hv__free(err);
        return lua_error(L);
    }
    hv__lua_push_json(L, result, 0);
    json_decref(result);
    return 1;
}

/* Protected: builds the test API table X (writable, over the allow-list)
 * for the host (argument 1) and the workflow whose codes a test's case
 * must use (argument 2, or NULL), and runs the prelude in it.  Leaves X on
 * the stack. */
static int setup_api(lua_State *L)
{
    hv_rules *r = lua_touserdata(L, 1);
    lua_newtable(L); /* X */
    lua_newtable(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, hv__rules_base_ref(r));
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_pushcfunction(L, t_at);
    lua_setfield(L, -2, "at");
    lua_pushlightuserdata(L, r);
    lua_pushlightuserdata(L, lua_touserdata(L, 2));
    lua_pushcclosure(L, t_call, 2);
    lua_setfield(L, -2, "__call");
    lua_pushlightuserdata(L, r);
    lua_pushlightuserdata(L, lua_touserdata(L, 2));
    lua_pushcclosure(L, t_check, 2);
    lua_setfield(L, -2, "__check");
    lua_newtable(L);
    lua_setfield(L, -2, "__tests");
    if (luaL_loadbufferx(L, prelude, sizeof prelude - 1, "=test api", "t"))
        return lua_error(L);
    lua_pushvalue(L, -2);
    lua_setupvalue(L, -2, 1);
    lua_call(L, 0, 0);
    return 1;
}

/* qsort order of file names. */
static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted *.lua files of dir (malloc'd array of malloc'd names). */
static char **list_lua_files(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    *count = 0;
    if (!d)
        return NULL;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        size_t len = strlen(ent->d_name);
        if (len < 5 || strcmp(ent->d_name + len - 4, ".lua") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = hv__realloc(names, cap * sizeof *names);
            if (!grown)
                break;
            names = grown;
        }
        if (!(names[n] = hv__strdup(ent->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, compare_names);
    *count = n;
    return names;
}

hv_status hv__rules_run_tests(hv_rules *r, const char *tests_dir, FILE *out,
                              int *passed, int *failed, char **err)
{
    return hv__rules_run_tests_wf(r, NULL, tests_dir, out, passed, failed,
                                  err);
}

hv_status hv__rules_run_tests_wf(hv_rules *r, const hv_workflow *wf,
                                 const char *tests_dir, FILE *out,
                                 int *passed, int *failed, char **err)
{
    lua_State *L = hv__rules_lua(r);
    size_t nfiles = 0;
    char **files = NULL;
    long budget = hv__rules_budget(r);
    *passed = *failed = 0;
    *err = NULL;
    lua_settop(L, 0);
    lua_pushcfunction(L, setup_api);
    lua_pushlightuserdata(L, r);
    lua_pushlightuserdata(L, (void *)wf);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
        *err = hv__asprintf("rules test: cannot set up: %s", lua_tostring(L, -1));
        lua_settop(L, 0);
        return HV_INTERNAL;
    }
    int api = lua_gettop(L);
    files = list_lua_files(tests_dir, &nfiles);
    if (nfiles == 0) {
        *err = hv__asprintf("%s: no tests (*.lua)", tests_dir);
        lua_settop(L, 0);
        return HV_NOINPUT;
    }
    hv__rules_set_budget(r, budget * TEST_BUDGET_FACTOR);
    for (size_t f = 0; f < nfiles; f++) {
        char path[4096], chunk[4100];
        snprintf(path, sizeof path, "%s/%s", tests_dir, files[f]);
        snprintf(chunk, sizeof chunk, "@%s", path);
        size_t len = 0;
        FILE *fp = fopen(path, "rb");
        char *src = fp ? hv__malloc(1024 * 1024 + 1) : NULL;
        if (fp && src) {
            len = fread(src, 1, 1024 * 1024, fp);
            src[len] = '\0';
        }
        if (fp)
            fclose(fp);
        lua_newtable(L);
        lua_setfield(L, api, "__tests");
        int status = src ? luaL_loadbufferx(L, src, len, chunk, "t") : LUA_ERRFILE;
        hv__free(src);
        if (status == LUA_OK) {
            hv__rules_push_env(r, api);
            lua_setupvalue(L, -2, 1);
            status = hv__rules_pcall(r, 0, 0);
        }
        if (status != LUA_OK) {
            char *msg = status == LUA_ERRFILE ? hv__asprintf("%s: cannot read", path)
                                              : hv__rules_error_text(r, status);
            fprintf(out, "FAIL %s: %s\n", files[f], msg ? msg : "error");
            hv__free(msg);
            (*failed)++;
            lua_settop(L, api);
            continue;
        }
        lua_getfield(L, api, "__tests");
        int tests = lua_gettop(L);
        lua_Integer ntests = (lua_Integer)lua_rawlen(L, tests);
        for (lua_Integer i = 1; i <= ntests; i++) {
            lua_rawgeti(L, tests, i);
            lua_getfield(L, -1, "name");
            char *name = hv__strdup(lua_tostring(L, -1));
            lua_pop(L, 1);
            lua_getfield(L, -1, "fn");
            lua_remove(L, -2);
            status = hv__rules_pcall(r, 0, 0);
            if (status == LUA_OK) {
                fprintf(out, "ok   %s: %s\n", files[f], name ? name : "?");
                (*passed)++;
            } else {
                char *msg = hv__rules_error_text(r, status);
                fprintf(out, "FAIL %s: %s: %s\n", files[f], name ? name : "?",
                        msg ? msg : "error");
                hv__free(msg);
                (*failed)++;
            }
            hv__free(name);
            lua_settop(L, tests);
        }
        if (ntests == 0) {
            fprintf(out, "FAIL %s: defines no test\n", files[f]);
            (*failed)++;
        }
        lua_settop(L, api);
    }
    hv__rules_set_budget(r, budget);
    fprintf(out, "%d passed, %d failed\n", *passed, *failed);
    for (size_t f = 0; f < nfiles; f++)
        hv__free(files[f]);
    hv__free(files);
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT);
    return HV_OK;
}

/* ---- rules check ---------------------------------------------------------- */

/* Sample cases every hook must handle: the seeds' children at several
 * points of their case. */
static const struct {
    const char *name;
    const char *view;
} samples[] = {
    {"Noor at registration (seed 001)",
     "{\"stage\":\"registration\",\"status\":\"open\",\"source\":\"school\","
     "\"location\":\"Riverside/Block 4\",\"concerns\":[\"emotional_distress\","
     "\"school_decline\"],\"child\":{\"age\":12,\"sex\":\"female\"},"
     "\"family\":[{\"relationship\":\"mother\",\"lives_with_child\":true},"
     "{\"relationship\":\"sibling\",\"age\":8,\"lives_with_child\":true}],"
     "\"consent\":{\"registration\":\"caregiver\"},\"registered_at\":1795856400,"
     "\"assessments\":[],\"followups\":[],\"reviews\":[],\"form\":{}}"},
    {"a neighbour-reported neglected 10-year-old (seed 001 quiz)",
     "{\"stage\":\"registration\",\"status\":\"open\",\"source\":\"community\","
     "\"location\":\"Hilltop, North Road\",\"concerns\":[\"neglect\"],\"child\":{\"age\":10,"
     "\"sex\":\"male\"},\"family\":[],\"consent\":{\"registration\":\"child\"},"
     "\"registered_at\":1795856400,\"assessments\":[],\"followups\":[],"
     "\"reviews\":[],\"form\":{}}"},
    {"a trafficked unaccompanied boy (seed 003)",
     "{\"stage\":\"registration\",\"status\":\"open\",\"source\":\"police\","
     "\"location\":\"Border/Camp 2\",\"concerns\":[\"trafficking\",\"unaccompanied\"],"
     "\"child\":{\"age\":16,\"sex\":\"male\"},\"family\":[],"
     "\"consent\":{\"registration\":\"child\"},\"registered_at\":1795856400,"
     "\"assessments\":[],\"followups\":[],\"reviews\":[],\"form\":{}}"},
    {"a child survivor of sexual abuse (seed 004)",
     "{\"stage\":\"registration\",\"status\":\"open\",\"source\":\"health\","
     "\"location\":\"Town > Centre\",\"concerns\":[\"sexual_abuse\"],\"child\":{\"age\":"
     "14,\"sex\":\"female\"},\"family\":[{\"relationship\":\"mother\","
     "\"lives_with_child\":true}],\"consent\":{\"registration\":\"both\"},"
     "\"registered_at\":1795856400,\"assessments\":[],\"followups\":[],"
     "\"reviews\":[],\"form\":{\"caregiver_supportive\":true}}"},
    {"Noor in follow-up, plan approved, finances worse (seed 001 quiz)",
     "{\"ref\":\"CP-2026-00001\",\"stage\":\"follow_up_review\",\"status\":"
     "\"open\",\"source\":\"school\",\"location\":\"Riverside/Block 4\",\"concerns\":"
     "[\"emotional_distress\",\"school_decline\"],\"child\":{\"age\":12,"
     "\"sex\":\"female\"},\"family\":[],\"consent\":{\"registration\":"
     "\"caregiver\",\"information_sharing\":\"caregiver\"},\"urgency\":"
     "\"normal\",\"risk\":{\"level\":\"medium\",\"score\":40},"
     "\"registered_at\":1795856400,\"assessments\":[{\"kind\":\"initial\","
     "\"at\":1795942800,\"safety\":\"ok\",\"needs\":[\"psychosocial_support\"],"
     "\"risks\":[\"school_dropout\"],\"strengths\":[\"school_connection\"],"
     "\"info_needed\":[]},{\"kind\":\"comprehensive\",\"at\":1796893200,"
     "\"safety\":\"ok\",\"needs\":[],\"risks\":[],\"strengths\":[],"
     "\"info_needed\":[]}],\"plan\":{\"goal\":\"improve wellbeing\","
     "\"target_date\":1811581200,\"approved_at\":1797498000,\"version\":1,"
     "\"actions\":[{\"status\":\"in_progress\",\"due\":1798707600}]},"
     "\"followups\":[{\"at\":1798707600,\"method\":\"home_visit_scheduled\","
     "\"safety\":\"concern\"}],\"reviews\":[{\"at\":1805360400,\"outcome\":"
     "\"continue\"}],\"form\":{}}"},
};

static const char *const sample_reasons[] = {
    "goals_achieved", "no_longer_at_risk", "family_capacity",
    "moved_out_of_area", "transferred", "age_of_majority", "death",
    "persistent_refusal", "inaccessible", NULL};

/* Reports a problem once (the same message for several samples is one
 * problem).  Returns -1 when out of memory, else 0. */
static int report(FILE *out, json_t *seen, const char *msg, const char *sample,
                  int *problems)
{
    size_t i;
    json_t *v;
    json_array_foreach(seen, i, v) {
        if (!strcmp(json_string_value(v), msg))
            return 0;
    }
    if (json_array_append_new(seen, json_string(msg)))
        return -1;
    fprintf(out, "%s (sample: %s)\n", msg, sample);
    (*problems)++;
    return 0;
}

/* Calls hook h twice on view with ctx and reports an error or two results
 * that differ.  Returns -1 when out of memory, else 0. */
static int check_hook(hv_rules *r, hv_hook h, json_t *view, json_t *ctx,
                      const char *sample, FILE *out, json_t *seen,
                      int *problems)
{
    const hv_pack *p = hv__rules_pack(r);
    json_t *a = NULL, *b = NULL;
    char *err = NULL;
    int rc = 0;
    if (hv__rules_call(r, h, view, ctx, &a, &err) != HV_OK) {
        rc = report(out, seen, err ? err : "rule error", sample, problems);
    } else if (hv__rules_call(r, h, view, ctx, &b, &err) != HV_OK ||
               !json_equal(a, b)) {
        char msg[700];
        snprintf(msg, sizeof msg,
                 "%s/%s: not deterministic: the same case gave "
                 "two different results",
                 p->dir ? p->dir : p->name, hv__hook_file(h));
        rc = report(out, seen, msg, sample, problems);
    }
    hv__free(err);
    json_decref(a);
    json_decref(b);
    return rc;
}

hv_status hv__rules_check(hv_rules *r, FILE *out, int *problems)
{
    const hv_pack *p = hv__rules_pack(r);
    json_t *seen = json_array();
    int bad = !seen;
    *problems = 0;
    for (size_t s = 0; !bad && s < sizeof samples / sizeof samples[0]; s++) {
        json_t *view = json_loads(samples[s].view, 0, NULL);
        bad = !view;
        for (int h = 0; !bad && h < HV_HOOK_COUNT; h++) {
            if (!hv__rules_has(r, (hv_hook)h))
                continue;
            const char *const *reasons = h == HV_HOOK_CLOSURE ? sample_reasons
                                                              : NULL;
            for (size_t k = 0; !bad && (reasons ? reasons[k] != NULL : k == 0);
                 k++) {
                json_t *ctx = json_pack("{s:I,s:{s:s,s:s}}", "now",
                                        (json_int_t)1812000000, "pack", "name",
                                        p->name, "version", p->version);
                bad = !ctx || (reasons && json_object_set_new(
                                              ctx, "reason",
                                              json_string(reasons[k])));
                if (!bad)
                    bad = check_hook(r, (hv_hook)h, view, ctx, samples[s].name,
                                     out, seen, problems);
                json_decref(ctx);
            }
        }
        json_decref(view);
    }
    json_decref(seen);
    return bad ? HV_NOMEM : HV_OK;
}

/* The first line of text that starts with prefix (NULL: any line), cut to
 * fit buf; "" when there is none. */
static void first_line(const char *text, const char *prefix, char *buf,
                       size_t size)
{
    buf[0] = '\0';
    for (const char *l = text; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        if (!prefix || !strncmp(l, prefix, strlen(prefix))) {
            snprintf(buf, size, "%.*s", (int)n, l);
            return;
        }
        l = nl ? nl + 1 : NULL;
    }
}

/* Runs the check (tests_dir NULL) or the tests of r with their output
 * captured, and sets *why to the first problem when there is one: the
 * check's first line, or the first FAIL line.  Returns HV_OK, HV_INVALID
 * (*why set), or a failure to run. */
static hv_status vet_stage(hv_rules *r, const char *dir, const char *tests_dir,
                           char **why)
{
    char *text = NULL, line[512];
    size_t len = 0;
    int problems = 0, passed = 0, failed = 0;
    char *test_err = NULL;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return HV_NOMEM;
    hv_status s = tests_dir ? hv__rules_run_tests(r, tests_dir, out, &passed,
                                                  &failed, &test_err)
                            : hv__rules_check(r, out, &problems);
    fclose(out);
    if (tests_dir && s == HV_NOINPUT) {
        s = HV_OK; /* a pack without tests/ has none to fail */
    } else if (tests_dir && s != HV_OK) {
        *why = hv__asprintf("the pack's tests do not run (haven rules test "
                            "%s): %s", dir, test_err ? test_err : "error");
        s = *why ? HV_INVALID : HV_NOMEM;
    } else if (s == HV_OK && (problems || failed)) {
        first_line(text, tests_dir ? "FAIL" : NULL, line, sizeof line);
        *why = tests_dir
                   ? hv__asprintf("the pack fails %d of its %d tests (haven "
                                  "rules test %s), the first: %s", failed,
                                  passed + failed, dir, line)
                   : hv__asprintf("the pack fails its check (haven rules check "
                                  "%s): %d problem%s, the first: %s", dir,
                                  problems, problems == 1 ? "" : "s", line);
        s = *why ? HV_INVALID : HV_NOMEM;
    }
    hv__free(test_err);
    free(text);
    return s;
}

hv_status hv__rules_vet(hv_rules *r, const char *dir, char **why)
{
    /* the whole path (a cut one could name no folder: tests skipped) */
    char *tests = hv__asprintf("%s/tests", dir);
    *why = NULL;
    if (!tests)
        return HV_NOMEM;
    hv_status s = vet_stage(r, dir, NULL, why);
    if (s == HV_OK)
        s = vet_stage(r, dir, tests, why);
    hv__free(tests);
    return s;
}

hv_status hv__pack_vet(const char *dir, char **why)
{
    hv_pack *pack = NULL;
    hv_rules *r = NULL;
    *why = NULL;
    hv_status s = hv__pack_read_dir(dir, &pack, why);
    if (s == HV_OK)
        s = hv__rules_new(pack, 0, NULL, NULL, &r, why);
    if (s == HV_OK)
        s = hv__rules_vet(r, dir, why);
    hv__rules_free(r);
    return s;
}
