/* test_lua.c - the Lua module `haven` through an embedded Lua state. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "lhaven.h"
#include "testutil.h"

/* Runs a Lua chunk with DB, WORKFLOW and RULES set; fails the test with the
 * Lua error if it raises. */
static void run_lua(const char *code)
{
    char *dir = tu_tempdir();
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    luaL_requiref(L, "haven", luaopen_haven, 0);
    lua_pop(L, 1);
    char db[4200];
    snprintf(db, sizeof db, "%s", tu_db_path(dir));
    lua_pushstring(L, db);
    lua_setglobal(L, "DB");
    /* a database that is not there (on PostgreSQL: an empty one) */
    char *empty = tu_tempdir();
    lua_pushstring(L, tu_db_path(empty));
    lua_setglobal(L, "MISSING");
    lua_pushstring(L, tu_source_path("workflows/iasc.yaml"));
    lua_setglobal(L, "WORKFLOW");
    lua_pushstring(L, tu_source_path("rules/default"));
    lua_setglobal(L, "RULES");
    if (luaL_dostring(L, code) != LUA_OK)
        fail_msg("lua: %s", lua_tostring(L, -1));
    lua_close(L);
    tu_rmtree(dir);
    free(dir);
    tu_rmtree(empty);
    free(empty);
}

static void the_whole_api_from_lua(void **state)
{
    (void)state;
    run_lua(
        "local haven = require 'haven'\n"
        "assert(haven.init{ db = DB, agency = 'CP', workflow = WORKFLOW, rules = RULES, as = 'admin',\n"
        "                   simulated = true })\n"
        "do\n"
        "  local a <close> = assert(haven.open{ db = DB, as = 'admin' })\n"
        "  assert(a:user_add('sara', 'supervisor'))\n"
        "  assert(a:user_add('amal', 'caseworker', 'sara'))\n"
        "  -- an open engine acts as its user only: no way to switch\n"
        "  assert(a.as == nil and a:whoami() == 'admin')\n"
        "end\n"
        "do\n"
        "  local e <close> = assert(haven.open{ db = DB, as = 'amal', now = '2026-11-28T09:00:00Z' })\n"
        "  assert(e:whoami() == 'amal')\n"
        "  local c = assert(e:register{ source = 'school', location = 'Riverside',\n"
        "    concerns = { 'emotional_distress', 'school_decline' },\n"
        "    child = { name = 'Noor', age = 12, sex = 'female' },\n"
        "    consent = { registration = 'caregiver' } })\n"
        "  assert(c.ref == 'CP-2026-00001', c.ref)\n"
        "  assert(c.stage == 'initial_assessment', c.stage)\n"
        "  assert(c.urgency == 'normal')\n"
        "  local file = c:show()\n"
        "  assert(file.child.name == 'Noor' and #file.tasks == 2)\n"
        "  -- an expected failure returns nil, message, code, status\n"
        "  local r, msg, code, name = c:plan{ goal = 'too early' }\n"
        "  assert(r == nil and code == 65 and name == 'REFUSED' and msg:find('assessment'), msg)\n"
        "  local none, m2, c2 = e:case('CP-2099-00001')\n"
        "  assert(none == nil and c2 == 69, m2)\n"
        "  -- the clock\n"
        "  local iso, secs = e:advance('1d')\n"
        "  assert(iso == '2026-11-29T09:00:00Z' and secs == haven.time('2026-11-29T09:00:00Z'))\n"
        "  assert(haven.iso(secs) == iso and haven.duration('2w') == 14 * 86400)\n"
        "  local a = assert(c:assess{ kind = 'initial', safety = 'ok', needs = { 'psychosocial support' } })\n"
        "  assert(a.stage == 'comprehensive_assessment' and a.risk)\n"
        "  assert(#e:due() >= 1 and e:due()[1].ref == c.ref)\n"
        "  assert(#e:search('Nour') == 1)\n"
        "  assert(#e:list{ concern = 'school_decline' } == 1)\n"
        "  assert(c:note('Called the school') == 3)\n"
        "  assert(#c:history() == 3)\n"
        "  assert(#c:explain() >= 1)\n"
        "  assert(e:workflow().lookups.referral_sources[4] == 'school')\n"
        "  -- misuse raises\n"
        "  local ok, err = pcall(function() return e:register(42) end)\n"
        "  assert(not ok and err:find(\"bad argument #1 to 'register'\"), err)\n"
        "  ok, err = pcall(function() return haven.open(true) end)\n"
        "  assert(not ok and err:find('bad argument'), err)\n"
        "  -- what is not plain data raises, and registers nothing\n"
        "  ok, err = pcall(function() return e:register{ child = { name = print } } end)\n"
        "  assert(not ok and err:find('cannot pass a value that is not data'), err)\n"
        "  local deep = {}; local t = deep\n"
        "  for i = 1, 40 do t.x = {}; t = t.x end\n"
        "  ok, err = pcall(function() return e:register(deep) end)\n"
        "  assert(not ok and err:find('nested too deeply'), err)\n"
        "  assert(#e:list{} == 1)\n"
        "  held = e\n"
        "  held_case = c\n"
        "end\n"
        "-- the <close> variable closed the engine: using it again raises\n"
        "local ok, err = pcall(held.due, held)\n"
        "assert(not ok and err:find('closed haven engine'), err)\n"
        "ok, err = pcall(held_case.show, held_case)\n"
        "assert(not ok and err:find('closed haven engine'), err)\n"
        "assert(tostring(held) == 'haven.Engine (closed)')\n");
}

static void opening_what_is_not_there_fails_softly(void **state)
{
    (void)state;
    run_lua("local haven = require 'haven'\n"
            "local e, msg, code = haven.open(MISSING)\n"
            "assert(e == nil and code == 66 and msg:find('haven init'), msg)\n"
            "local ok, m, c = haven.init{ db = DB, agency = 'bad code', workflow = WORKFLOW }\n"
            "assert(ok == nil and c == 64, m)\n");
}

/* A live database (haven.init without simulated) keeps the system clock:
 * open{now=} fails softly (nil, message, 64), set_now and advance raise
 * the engine's message; init{now=} fails softly too. */
static void a_live_database_refuses_the_clock(void **state)
{
    (void)state;
    run_lua("local haven = require 'haven'\n"
            "local ok, m, c = haven.init{ db = DB, agency = 'CP', workflow = WORKFLOW,\n"
            "                             now = '2026-11-28T09:00:00Z' }\n"
            "assert(ok == nil and c == 64 and m:find('--now'), m)\n"
            "assert(haven.init{ db = DB, agency = 'CP', workflow = WORKFLOW, as = 'admin' })\n"
            "local none, m2, c2 = haven.open{ db = DB, as = 'admin', now = '1970-01-01' }\n"
            "assert(none == nil and c2 == 64 and m2:find('live'), m2)\n"
            "local e <close> = assert(haven.open{ db = DB, as = 'admin' })\n"
            "okk, err = pcall(e.set_now, e, '2035-01-01')\n"
            "assert(not okk and err:find('live'), err)\n"
            "okk, err = pcall(e.advance, e, '1y')\n"
            "assert(not okk and err:find('live'), err)\n"
            "local _, now = e:now()\n"
            "assert(math.abs(now - os.time()) < 600, now)\n");
}

/* A scratch database (built without fsyncs, issue 21) is a simulated one
 * only: init{scratch = true} on a live one fails softly (nil, message,
 * 64) and makes nothing; a simulated scratch one opens and works. */
static void a_scratch_database_is_simulated_only(void **state)
{
    (void)state;
    run_lua("local haven = require 'haven'\n"
            "local ok, m, c = haven.init{ db = DB, agency = 'CP', workflow = WORKFLOW,\n"
            "                             as = 'admin', scratch = true }\n"
            "assert(ok == nil and c == 64 and m:find('scratch'), m)\n"
            "assert(haven.open(DB) == nil, 'a refused init made a database')\n"
            "assert(haven.init{ db = DB, agency = 'CP', workflow = WORKFLOW, rules = RULES,\n"
            "                   as = 'admin', simulated = true, scratch = true })\n"
            "local e <close> = assert(haven.open{ db = DB, as = 'admin', scratch = true,\n"
            "                                     now = '2026-11-28T09:00:00Z' })\n"
            "assert(e:user_add('amal', 'caseworker'))\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_whole_api_from_lua),
        cmocka_unit_test(opening_what_is_not_there_fails_softly),
        cmocka_unit_test(a_live_database_refuses_the_clock),
        cmocka_unit_test(a_scratch_database_is_simulated_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
