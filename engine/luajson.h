/*
 * luajson.h - the one Lua <-> JSON conversion (internal).
 *
 * Used by the rules host (views, results, pack tests) and, through
 * hv_lua_push_json / hv_lua_to_json in haven.h, by the Lua module.
 */
#ifndef HV_LUAJSON_H
#define HV_LUAJSON_H

#include <jansson.h>

struct lua_State;

/* Pushes the JSON value v onto L: objects and arrays as tables (read-only
 * proxies when readonly, else plain tables; JSON null members left out),
 * integers as Lua integers, reals as floats, null as nil.  v stays the
 * caller's.  Raises a Lua error on memory or stack exhaustion. */
void hv__lua_push_json(struct lua_State *L, json_t *v, int readonly);

/* The Lua value at idx as JSON (a new reference, the caller's): plain data
 * only, read with raw accesses (no metamethod runs); a read-only proxy as
 * the table it stands for; a sequence as an array, string keys as an
 * object.  NULL with *why (static text) on anything else or on tables
 * nested more than max_depth deep (the outermost is the first); NULL with
 * *why NULL when memory ran out. */
json_t *hv__lua_to_json(struct lua_State *L, int idx, int max_depth,
                        const char **why);

#endif
