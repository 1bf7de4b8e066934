/*
 * proxy.h - the one read-only proxy of the rules host (internal).
 *
 * A read-only proxy is an empty table whose locked metatable reads through
 * __index to the real table it stands for, refuses every write, and gives
 * # and pairs() of the real table without ever handing it out.  The rules
 * host uses it for the sandbox's library tables and _G, the case view and
 * its context, and the Lua <-> JSON conversion recognises it.
 */
#ifndef HV_PROXY_H
#define HV_PROXY_H

struct lua_State;

/* Replaces the table on top of L's stack with a read-only proxy of it.
 * Raises a Lua error (memory) like any Lua API call. */
void hv__proxy_make(struct lua_State *L);

/* Completes the metatable on top of L's stack (its __index set by the
 * caller) as a read-only one: __len and __pairs the given functions (NULL:
 * none), writes raise, getmetatable() of its table gives false.  Leaves
 * the stack as it was. */
void hv__proxy_lock(struct lua_State *L, int (*len)(struct lua_State *),
                    int (*pairs)(struct lua_State *));

/* If the value at idx is a read-only proxy, pushes the real table behind it
 * and returns 1; else pushes nothing and returns 0.  No metamethod runs. */
int hv__proxy_real(struct lua_State *L, int idx);

/* The iterator of pairs() over a read-only table: walks the real table held
 * as the closure's upvalue 1 (a lua_CFunction; push it with
 * lua_pushcclosure(L, hv__proxy_next, 1)). */
int hv__proxy_next(struct lua_State *L);

#endif
