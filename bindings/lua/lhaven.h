/* lhaven.h - the Lua module `haven` (bindings/lua/lhaven.c). */
#ifndef LHAVEN_H
#define LHAVEN_H

#include <lua.h>

#if defined(__GNUC__)
#define LHAVEN_API __attribute__((visibility("default")))
#else
#define LHAVEN_API
#endif

/* Opens the module: returns the `haven` table (haven.open, haven.init,
 * haven.connect, ..., haven.steps: the lifecycle step verbs in HV_STEP_MAP
 * order). */
LHAVEN_API int luaopen_haven(lua_State *L);

/* Opens the standard libraries a sandboxed front end offers (base, string,
 * table, math, utf8, coroutine: never io, os, package or debug) without
 * dofile, loadfile and string.dump, and locks the shared string metatable
 * so no code reaches the string table through getmetatable(""). */
void lhaven_open_safe_libraries(lua_State *L);

/* Pushes the engine userdata of an open engine the caller already holds
 * (the REPL shares its own).  The Lua object does not close it, and like
 * every engine it acts only as the user it was opened as. */
void lhaven_push_borrowed_engine(lua_State *L, void *engine);

/* The exit code of the error value at idx when it is the last failure of
 * the engine the module raised (set_now and advance on a live database,
 * 64; a field of a case that may not be read), else 0: a front end prints
 * it as the engine's one-line refusal. */
int lhaven_error_code(lua_State *L, int idx);

/* Raises msg as the engine's refusal with its exit code (what
 * lhaven_error_code then answers).  Never returns. */
int lhaven_raise(lua_State *L, const char *msg, int exit_code);

/* The Lua value at idx as JSON (a new reference, the caller's to
 * json_decref); raises "cannot pass WHY to haven" on what is not plain
 * data. */
struct json_t;
struct json_t *lhaven_to_json(lua_State *L, int idx);

/* Pushes field key of the case table on top of L (a case file or a
 * summary, local or remote), flattened as a case object reads it: stage
 * {id, label} gives the id, risk {level, score} the level. */
void lhaven_case_field(lua_State *L, const char *key);

#endif
