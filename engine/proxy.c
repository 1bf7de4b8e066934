/*
 * proxy.c - the one read-only proxy of the rules host.
 *
 * Every read-only table a rule or the Lua module sees is built here: the
 * proxy is empty, so every read goes through __index to the real table
 * (a table, or for the lazy case view a function); __newindex raises;
 * __len and __pairs answer for the real table; __metatable = false hides
 * the metatable from getmetatable and setmetatable.
 */
#include "proxy.h"

#include <lauxlib.h>
#include <lua.h>

/* __newindex of every read-only table: raises. */
static int ro_newindex(lua_State *L)
{
    return luaL_error(L, "attempt to change a read-only table");
}

/* Pushes the real table behind the proxy at idx (nil if it has none). */
static void push_real(lua_State *L, int idx)
{
    if (!lua_getmetatable(L, idx)) {
        lua_pushnil(L);
        return;
    }
    lua_getfield(L, -1, "__index");
    lua_remove(L, -2);
}

/* __len: the raw length of the real table. */
static int ro_len(lua_State *L)
{
    push_real(L, 1);
    lua_pushinteger(L, lua_istable(L, -1) ? (lua_Integer)lua_rawlen(L, -1) : 0);
    return 1;
}

int hv__proxy_next(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushvalue(L, 2);
    if (lua_next(L, lua_upvalueindex(1)))
        return 2;
    lua_pushnil(L);
    return 1;
}

/* __pairs: walks the real table (an upvalue), never handing it out. */
static int ro_pairs(lua_State *L)
{
    push_real(L, 1);
    lua_pushcclosure(L, hv__proxy_next, 1);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

void hv__proxy_lock(lua_State *L, lua_CFunction len, lua_CFunction pairs)
{
    if (len) {
        lua_pushcfunction(L, len);
        lua_setfield(L, -2, "__len");
    }
    if (pairs) {
        lua_pushcfunction(L, pairs);
        lua_setfield(L, -2, "__pairs");
    }
    lua_pushcfunction(L, ro_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
}

void hv__proxy_make(lua_State *L)
{
    lua_newtable(L);          /* real proxy */
    lua_createtable(L, 0, 6); /* real proxy mt */
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    hv__proxy_lock(L, ro_len, ro_pairs);
    lua_setmetatable(L, -2);
    lua_remove(L, -2);
}

int hv__proxy_real(lua_State *L, int idx)
{
    if (!lua_getmetatable(L, idx))
        return 0;
    lua_getfield(L, -1, "__newindex");
    int locked = lua_tocfunction(L, -1) == ro_newindex;
    lua_pop(L, 1);
    if (locked && lua_getfield(L, -1, "__index") == LUA_TTABLE) {
        lua_remove(L, -2);
        return 1;
    }
    lua_pop(L, locked ? 2 : 1);
    return 0;
}
