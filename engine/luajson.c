/*
 * luajson.c - the one Lua <-> JSON conversion, for the rules host and
 * (through haven.h) the Lua module.
 */
#include "luajson.h"

#include <lauxlib.h>
#include <lua.h>
#include <math.h>

#include "haven.h"
#include "proxy.h"

/* Pushes the members of the JSON object v as a new table. */
static void push_object(lua_State *L, json_t *v, int readonly)
{
    const char *key;
    json_t *item;
    lua_createtable(L, 0, (int)json_object_size(v));
    json_object_foreach(v, key, item) {
        if (json_is_null(item))
            continue;
        hv__lua_push_json(L, item, readonly);
        lua_setfield(L, -2, key);
    }
}

void hv__lua_push_json(lua_State *L, json_t *v, int readonly)
{
    size_t i;
    json_t *item;
    luaL_checkstack(L, 4, "nesting");
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        push_object(L, v, readonly);
        if (readonly)
            hv__proxy_make(L);
        break;
    case JSON_ARRAY:
        lua_createtable(L, (int)json_array_size(v), 0);
        json_array_foreach(v, i, item) {
            hv__lua_push_json(L, item, readonly);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        if (readonly)
            hv__proxy_make(L);
        break;
    case JSON_STRING:
        lua_pushlstring(L, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER: lua_pushinteger(L, (lua_Integer)json_integer_value(v)); break;
    case JSON_REAL: lua_pushnumber(L, json_real_value(v)); break;
    case JSON_TRUE: lua_pushboolean(L, 1); break;
    case JSON_FALSE: lua_pushboolean(L, 0); break;
    default: lua_pushnil(L); break;
    }
}

static json_t *to_json(lua_State *L, int idx, int depth, int max, const char **why);

/* A scalar at idx as JSON; NULL with *why on a value that is not data. */
static json_t *scalar_json(lua_State *L, int idx, const char **why)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL: return json_null();
    case LUA_TBOOLEAN: return json_boolean(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            return json_integer((json_int_t)lua_tointeger(L, idx));
        if (!isfinite(lua_tonumber(L, idx))) {
            *why = "a number that is not finite";
            return NULL;
        }
        return json_real(lua_tonumber(L, idx));
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        json_t *j = json_stringn(s, n);
        if (!j)
            *why = "text that is not UTF-8";
        return j;
    }
    default:
        *why = "a value that is not data (a function, thread or userdata)";
        return NULL;
    }
}

/* The sequence 1..n of the table at idx as a JSON array (NULL on failure,
 * *why set as to_json sets it). */
static json_t *array_json(lua_State *L, int idx, size_t n, int depth, int max,
                          const char **why)
{
    json_t *out = json_array();
    for (size_t i = 1; out && i <= n; i++) {
        lua_rawgeti(L, idx, (lua_Integer)i);
        json_t *item = to_json(L, -1, depth + 1, max, why);
        lua_pop(L, 1);
        if (!item || json_array_append_new(out, item)) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* The string-keyed table at idx as a JSON object (NULL on failure, *why
 * set as to_json sets it). */
static json_t *object_json(lua_State *L, int idx, int depth, int max,
                           const char **why)
{
    json_t *out = json_object();
    lua_pushnil(L);
    while (out && lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            *why = "a table mixing list items and named fields";
            lua_pop(L, 2);
            json_decref(out);
            return NULL;
        }
        json_t *item = to_json(L, -1, depth + 1, max, why);
        if (!item || json_object_set_new(out, lua_tostring(L, -2), item)) {
            lua_pop(L, 2);
            json_decref(out);
            if (!*why)
                *why = "a field name that is not UTF-8";
            return NULL;
        }
        lua_pop(L, 1);
    }
    return out;
}

/* The value at idx as JSON, depth levels down of at most max. */
static json_t *to_json(lua_State *L, int idx, int depth, int max, const char **why)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) != LUA_TTABLE)
        return scalar_json(L, idx, why);
    if (depth >= max || !lua_checkstack(L, 4)) {
        *why = "tables nested too deeply";
        return NULL;
    }
    if (hv__proxy_real(L, idx)) {
        /* a proxy: convert what it stands for */
        json_t *j = to_json(L, -1, depth, max, why);
        lua_pop(L, 1);
        return j;
    }
    size_t n = lua_rawlen(L, idx), count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        count++;
        lua_pop(L, 1);
    }
    if (n > 0 && count == n)
        return array_json(L, idx, n, depth, max, why);
    return object_json(L, idx, depth, max, why);
}

json_t *hv__lua_to_json(lua_State *L, int idx, int max_depth, const char **why)
{
    *why = NULL;
    return to_json(L, idx, 0, max_depth, why);
}

/* ---- the public face, for the Lua module ---------------------------------- */

HV_API int hv_lua_push_json(lua_State *L, const char *json, size_t len)
{
    json_t *v = json ? json_loadb(json, len, JSON_DECODE_ANY, NULL) : NULL;
    if (!v) {
        lua_pushnil(L);
        return 0;
    }
    hv__lua_push_json(L, v, 0);
    json_decref(v);
    return 1;
}

HV_API hv_status hv_lua_to_json(lua_State *L, int idx, int max_depth,
                                char **out_json, const char **why)
{
    *out_json = NULL;
    json_t *j = hv__lua_to_json(L, idx, max_depth, why);
    if (!j)
        return *why ? HV_INVALID : HV_NOMEM;
    *out_json = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    return *out_json ? HV_OK : HV_NOMEM;
}
