/* lremote.h - haven.connect: the Lua module's engine on a havend server
 * (bindings/lua/lremote.c). */
#ifndef LREMOTE_H
#define LREMOTE_H

#include <stddef.h>

#include <lua.h>

/* haven.connect{ server = URL [, token = TOKEN] } -> a remote engine, or
 * nil, message, exit code [, status name]. */
int lremote_connect(lua_State *L);

/* Makes the metatables of remote engines and cases (luaopen_haven). */
void lremote_register(lua_State *L);

/* For a front end (the REPL over --server): connects to url with the token
 * of HAVEN_TOKEN or the token file and pushes the remote engine, with the
 * authenticated login in actor.  Returns 0, or the exit code with the
 * message in err (nothing pushed). */
int lremote_push_engine(lua_State *L, const char *url, char *actor, size_t actorlen,
                        char *err, size_t errlen);

#endif
