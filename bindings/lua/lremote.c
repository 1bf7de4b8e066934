/*
 * lremote.c - the Lua module's engine on a havend server (issue 16):
 *
 *   local haven = require "haven"
 *   local e <close> = haven.connect{ server = "https://haven.example.org" }
 *   local c = e:register{ child = { name = "Noor", age = 12, sex = "female" }, ... }
 *   c:followup{ method = "home_visit_scheduled", safety = "ok" }
 *   for _, t in ipairs(e:due()) do print(t.ref, t.label, t.due_at) end
 *
 * The engine and its cases have the methods and return shapes of
 * haven.open's (lhaven.c), each one command run on the server (POST /v1/run
 * with "json": true, its --json output decoded into tables) as the user the
 * server authenticates: the token given, else HAVEN_TOKEN, else the one
 * `haven --server URL login` stored, else (a Unix socket) the OS login.
 * Expected failures return nil, message, exit code and, when the code names
 * a single status, its name (65 and 70 name several: none).  What only a
 * database file can do (advance, set_now) returns nil, "...: not over
 * --server ...", 64.  No case content goes into a URL: commands and their
 * input travel in the request's body (http.c: TLS verified, no redirects).
 */
#include "lremote.h"

#include <lauxlib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "haven.h"
#include "curllib.h"
#include "http.h"
#include "lhaven.h"

#define RENGINE "haven.RemoteEngine"
#define RCASE "haven.RemoteCase"
#define MAX_ARGS 24

typedef struct {
    cli_server *s;   /* NULL once closed */
    char login[128]; /* who the server says we are */
} rengine;

typedef struct {
    char ref[48];
} rcase;

/* ---- failures ---------------------------------------------------------------- */

/* The name of the one status whose exit code is code, or NULL. */
static const char *status_of_exit(int code)
{
    const char *name = NULL;
    int n = 0;
    for (int st = 0; st < HV_STATUS_COUNT; st++)
        if (hv_status_exit_code((hv_status)st) == code) {
            name = hv_status_name((hv_status)st);
            n++;
        }
    return n == 1 ? name : NULL;
}

/* nil, message, exit code [, status name]. */
static int push_failure(lua_State *L, const char *msg, int code)
{
    const char *name = status_of_exit(code);
    lua_pushnil(L);
    lua_pushstring(L, msg);
    lua_pushinteger(L, code);
    if (!name)
        return 3;
    lua_pushstring(L, name);
    return 4;
}

/* The message of a failed command's stderr text: its last line, without
 * "haven: " and control characters, into buf. */
static void stderr_message(const char *text, char *buf, size_t size)
{
    const char *line = NULL, *end = NULL;
    for (const char *p = text ? text : ""; *p;) {
        const char *nl = strchr(p, '\n');
        const char *e = nl ? nl : p + strlen(p);
        if (e > p) {
            line = p;
            end = e;
        }
        p = nl ? nl + 1 : e;
    }
    if (!line) {
        snprintf(buf, size, "the command failed");
        return;
    }
    if ((size_t)(end - line) > 7 && !strncmp(line, "haven: ", 7))
        line += 7;
    size_t n = 0;
    for (; line < end && n + 1 < size; line++)
        buf[n++] = (unsigned char)*line < 0x20 || *line == 0x7f ? '?' : *line;
    buf[n] = '\0';
}

/* ---- a command on the server ---------------------------------------------------- */

typedef struct {
    int code;       /* the exit code */
    char *out;      /* its standard output (malloc), when 0 */
    size_t len;
    char msg[512];  /* why, when not 0 */
} run_result;

/* Builds the body of POST /v1/run for argv with "-" = in (or no input). */
static json_t *run_body(int argc, const char *const *argv, const char *in)
{
    json_t *args = json_array(), *inputs = json_object();
    int bad = !args || !inputs;
    for (int i = 0; !bad && i < argc; i++)
        bad = json_array_append_new(args, json_string(argv[i])) != 0;
    if (!bad && in)
        bad = json_object_set_new(inputs, "-", json_string(in)) != 0;
    if (bad) {
        json_decref(args);
        json_decref(inputs);
        return NULL;
    }
    return json_pack("{s:o,s:b,s:o}", "argv", args, "json", 1, "inputs", inputs);
}

/* Runs argv (argv[0] the command) on re's server, with in as its standard
 * input ("-") when not NULL, into *r.  Calls no Lua. */
static void run_command(rengine *re, int argc, const char *const *argv, const char *in,
                        run_result *r)
{
    json_t *answer = NULL, *body = run_body(argc, argv, in);
    long http = 0;
    memset(r, 0, sizeof *r);
    if (!body) {
        r->code = hv_status_exit_code(HV_INVALID);
        snprintf(r->msg, sizeof r->msg, "%s: not UTF-8 text (cannot be sent to the "
                                        "server)", argv[0]);
        return;
    }
    r->code = cli_http_call(re->s, "POST", "/v1/run", body, 1, &answer, &http, r->msg,
                            sizeof r->msg);
    json_decref(body);
    if (r->code)
        return;
    json_t *ex = json_object_get(answer, "exit"), *out = json_object_get(answer, "stdout");
    if (json_object_get(answer, "error") || !json_is_integer(ex)) {
        r->code = cli_http_failed(re->s, answer, http, r->msg, sizeof r->msg);
    } else if (json_integer_value(ex) != 0) {
        json_int_t code = json_integer_value(ex);
        r->code = code > 0 && code < 256 ? (int)code : hv_status_exit_code(HV_INTERNAL);
        stderr_message(json_string_value(json_object_get(answer, "stderr")), r->msg,
                       sizeof r->msg);
    } else if (json_is_string(out)) {
        r->len = json_string_length(out);
        if ((r->out = malloc(r->len + 1)))
            memcpy(r->out, json_string_value(out), r->len + 1);
        else
            r->code = hv_status_exit_code(HV_NOMEM);
    }
    if (!r->code && !r->out) {
        r->code = hv_status_exit_code(HV_INTERNAL);
        snprintf(r->msg, sizeof r->msg, "%s: not a Haven server's answer",
                 cli_server_url(re->s));
    }
    json_decref(answer);
}

/* Pushes the decoded output of r (1), or its failure (3 or 4); frees it. */
static int push_result(lua_State *L, run_result *r)
{
    if (r->code) {
        free(r->out);
        return push_failure(L, r->msg[0] ? r->msg : "the command failed", r->code);
    }
    char *out = r->out;
    r->out = NULL;
    lua_pushlstring(L, out, r->len); /* the text, safe from a raise below */
    free(out);
    size_t len;
    const char *text = lua_tolstring(L, -1, &len);
    int ok = hv_lua_push_json(L, text, len);
    lua_remove(L, -2);
    if (ok)
        return 1;
    lua_pop(L, 1);
    return push_failure(L, "the server's answer is not JSON",
                        hv_status_exit_code(HV_INTERNAL));
}

/* Runs argv and pushes the decoded output or the failure. */
static int run_json(lua_State *L, rengine *re, int argc, const char *const *argv,
                    const char *in)
{
    run_result r;
    run_command(re, argc, argv, in, &r);
    return push_result(L, &r);
}

/* Runs argv with the Lua value at idx as JSON on its standard input. */
static int run_with_input(lua_State *L, rengine *re, int argc, const char *const *argv,
                          json_t *input)
{
    char *text = json_dumps(input, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(input);
    if (!text)
        return push_failure(L, hv_strerror(HV_NOMEM), hv_status_exit_code(HV_NOMEM));
    run_result r;
    run_command(re, argc, argv, text, &r);
    free(text);
    return push_result(L, &r);
}

/* ---- the engine ------------------------------------------------------------------- */

/* The open remote engine at idx; raises on a closed one. */
static rengine *check_rengine(lua_State *L, int idx)
{
    rengine *re = luaL_checkudata(L, idx, RENGINE);
    if (!re->s)
        luaL_error(L, "attempt to use a closed haven engine");
    return re;
}

/* Pushes a remote Case for ref with the engine at engine_idx. */
static void push_rcase(lua_State *L, int engine_idx, const char *ref)
{
    engine_idx = lua_absindex(L, engine_idx);
    rcase *c = lua_newuserdatauv(L, sizeof *c, 1);
    snprintf(c->ref, sizeof c->ref, "%s", ref);
    luaL_setmetatable(L, RCASE);
    lua_pushvalue(L, engine_idx);
    lua_setiuservalue(L, -2, 1);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static hv_status curl_started;
static char curl_why[400];

static void curl_start(void)
{
    curl_started = cli_http_start(curl_why, sizeof curl_why);
}

/* Opens url (with token, or NULL for HAVEN_TOKEN / the token file) into re
 * and asks the server who we are.  0, or the exit code with err. */
static int connect_to(rengine *re, const char *url, const char *token, char *err,
                      size_t errlen)
{
    json_t *answer = NULL;
    long http = 0;
    /* libcurl loaded and started once for the process's life (a
     * connection may outlive the state that made it) */
    pthread_once(&curl_once, curl_start);
    if (curl_started != HV_OK) {
        snprintf(err, errlen, "%s", curl_why);
        return hv_status_exit_code(curl_started);
    }
    int code = cli_http_open(url, token, &re->s, err, errlen);
    if (!code)
        code = cli_http_call(re->s, "GET", "/v1/whoami", NULL, 1, &answer, &http, err,
                             errlen);
    if (!code)
        code = cli_http_failed(re->s, answer, http, err, errlen);
    const char *login = json_string_value(json_object_get(answer, "user"));
    if (!code && !login) {
        snprintf(err, errlen, "%s: not a Haven server's answer", url);
        code = hv_status_exit_code(HV_INTERNAL);
    }
    if (!code)
        snprintf(re->login, sizeof re->login, "%s", login);
    json_decref(answer);
    if (code) {
        cli_server_free(re->s);
        re->s = NULL;
    }
    return code;
}

/* A new remote engine userdata, closed. */
static rengine *new_rengine(lua_State *L)
{
    rengine *re = lua_newuserdatauv(L, sizeof *re, 0);
    memset(re, 0, sizeof *re);
    luaL_setmetatable(L, RENGINE);
    return re;
}

int lremote_connect(lua_State *L)
{
    static const char *const local_only[][2] = {
        {"as", "as: not over --server (the server knows who you are)"},
        {"now", "now: not over --server (the server's clock is the only clock)"},
        {"db", "db: not with server (the server has its database)"},
        {"scratch", "scratch: not over --server"}};
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "server");
    const char *url = luaL_optstring(L, -1, NULL);
    if (!url)
        return luaL_argerror(L, 1, "server = URL is required");
    lua_getfield(L, 1, "token");
    const char *token = luaL_optstring(L, -1, NULL);
    for (size_t i = 0; i < sizeof local_only / sizeof *local_only; i++) {
        int t = lua_getfield(L, 1, local_only[i][0]);
        lua_pop(L, 1);
        if (t != LUA_TNIL)
            return push_failure(L, local_only[i][1], hv_status_exit_code(HV_USAGE));
    }
    rengine *re = new_rengine(L);
    char err[512];
    int code = connect_to(re, url, token, err, sizeof err);
    if (code)
        return push_failure(L, err, code);
    return 1;
}

int lremote_push_engine(lua_State *L, const char *url, char *actor, size_t actorlen,
                        char *err, size_t errlen)
{
    rengine *re = new_rengine(L);
    int code = connect_to(re, url, NULL, err, errlen);
    if (code) {
        lua_pop(L, 1);
        return code;
    }
    snprintf(actor, actorlen, "%s", re->login);
    return 0;
}

/* __gc, __close and e:close(): forgets the server (again is fine). */
static int rengine_gc(lua_State *L)
{
    rengine *re = luaL_checkudata(L, 1, RENGINE);
    cli_server_free(re->s);
    re->s = NULL;
    return 0;
}

/* tostring(e): "haven.Engine (login on URL)" or "(closed)". */
static int rengine_tostring(lua_State *L)
{
    rengine *re = luaL_checkudata(L, 1, RENGINE);
    if (re->s)
        lua_pushfstring(L, "haven.Engine (%s on %s)", re->login, cli_server_url(re->s));
    else
        lua_pushliteral(L, "haven.Engine (closed)");
    return 1;
}

/* e:register(t [, { force = true }]) -> Case | nil, msg, code */
static int r_register(lua_State *L)
{
    rengine *re = check_rengine(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    const char *argv[4] = {"register", "--json-in", "-", "--force"};
    int argc = 3;
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "force");
        argc += lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    int n = run_with_input(L, re, argc, argv, lhaven_to_json(L, 2));
    if (n != 1)
        return n;
    lua_getfield(L, -1, "ref");
    if (!lua_isstring(L, -1))
        return push_failure(L, "register: no reference in the server's answer",
                            hv_status_exit_code(HV_INTERNAL));
    push_rcase(L, 1, lua_tostring(L, -1));
    return 1;
}

/* e:case(ref) -> Case | nil, msg, code (the case must exist and be
 * readable: its summary, which is not an audited read). */
static int r_case(lua_State *L)
{
    rengine *re = check_rengine(L, 1);
    const char *argv[] = {"show", luaL_checkstring(L, 2), "--summary"};
    int n = run_json(L, re, 3, argv, NULL);
    if (n != 1)
        return n;
    push_rcase(L, 1, argv[1]);
    return 1;
}

/* e:show(ref) -> the case file. */
static int r_show(lua_State *L)
{
    rengine *re = check_rengine(L, 1);
    const char *argv[] = {"show", luaL_checkstring(L, 2)};
    return run_json(L, re, 2, argv, NULL);
}

/* e:search(name) -> cases matching a name. */
static int r_search(lua_State *L)
{
    rengine *re = check_rengine(L, 1);
    const char *argv[] = {"search", luaL_checkstring(L, 2)};
    return run_json(L, re, 2, argv, NULL);
}

/* Adds "--OPTION value" to argv for each string field of the table at idx
 * named in keys (as the options of the same name). */
static void add_options(lua_State *L, int idx, const char *const *keys, const char **argv,
                        int *argc)
{
    for (; *keys; keys++) {
        lua_getfield(L, idx, *keys + 2);
        const char *v = luaL_optstring(L, -1, NULL);
        lua_pop(L, 1); /* the string stays alive in the table */
        if (v) {
            argv[(*argc)++] = *keys;
            argv[(*argc)++] = v;
        }
    }
}

/* e:list{ stage, source, concern, assignee, limit } */
static int r_list(lua_State *L)
{
    rengine *re = check_rengine(L, 1);
    static const char *const keys[] = {"--stage", "--source", "--concern", "--assignee",
                                       NULL};
    const char *argv[MAX_ARGS] = {"list"};
    int argc = 1;
    char limit[32];
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        add_options(L, 2, keys, argv, &argc);
        lua_getfield(L, 2, "limit");
        lua_Integer n = luaL_optinteger(L, -1, 0);
        lua_pop(L, 1);
        if (n > 0) {
            snprintf(limit, sizeof limit, "%lld", (long long)n);
            argv[argc++] = "--limit";
            argv[argc++] = limit;
        }
    }
    return run_json(L, re, argc, argv, NULL);
}

/* e:due{ for = LOGIN, team = true, agency = true, overdue = true, within = "7d" } */
static int r_due(lua_State *L)
{
    rengine *re = check_rengine(L, 1);
    static const char *const keys[] = {"--for", NULL};
    static const char *const flags[] = {"--team", "--agency", "--overdue", NULL};
    const char *argv[MAX_ARGS] = {"due"};
    int argc = 1;
    char within[32];
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        add_options(L, 2, keys, argv, &argc);
        for (const char *const *f = flags; *f; f++) {
            lua_getfield(L, 2, *f + 2);
            if (lua_toboolean(L, -1))
                argv[argc++] = *f;
            lua_pop(L, 1);
        }
        int64_t s = -1;
        if (lua_getfield(L, 2, "within") == LUA_TSTRING) {
            if (hv_duration_parse(lua_tostring(L, -1), &s) != HV_OK)
                return luaL_error(L, "within: a duration such as 7d");
        } else if (lua_isinteger(L, -1)) {
            s = lua_tointeger(L, -1);
        }
        lua_pop(L, 1);
        if (s >= 0) {
            snprintf(within, sizeof within, "%llds", (long long)s);
            argv[argc++] = "--within";
            argv[argc++] = within;
        }
    }
    return run_json(L, re, argc, argv, NULL);
}

/* e:now() -> ISO text, seconds: the server's clock (GET /v1/health). */
static int r_now(lua_State *L)
{
    rengine *re = check_rengine(L, 1);
    json_t *answer = NULL;
    long http = 0;
    char err[512], iso[32] = "";
    int code = cli_http_call(re->s, "GET", "/v1/health", NULL, 0, &answer, &http, err,
                             sizeof err);
    if (!code)
        code = cli_http_failed(re->s, answer, http, err, sizeof err);
    const char *now = json_string_value(json_object_get(answer, "now"));
    hv_time t = 0;
    if (!code && (!now || hv_time_parse(now, &t) != HV_OK)) {
        snprintf(err, sizeof err, "now: %s does not tell its clock", cli_server_url(re->s));
        code = hv_status_exit_code(HV_NOTFOUND);
    }
    json_decref(answer);
    if (code)
        return push_failure(L, err, code);
    hv_time_format(t, iso, sizeof iso);
    lua_pushstring(L, iso);
    lua_pushinteger(L, (lua_Integer)t);
    return 2;
}

/* e:advance(d), e:set_now(t): only a database file's clock moves. */
static int r_advance(lua_State *L)
{
    check_rengine(L, 1);
    return push_failure(L, "advance: not over --server (the server's clock is the only "
                           "clock)", hv_status_exit_code(HV_USAGE));
}

static int r_set_now(lua_State *L)
{
    check_rengine(L, 1);
    return push_failure(L, "set_now: not over --server (the server's clock is the only "
                           "clock)", hv_status_exit_code(HV_USAGE));
}

/* e:whoami() -> the authenticated user's login. */
static int r_whoami(lua_State *L)
{
    rengine *re = check_rengine(L, 1);
    lua_pushstring(L, re->login);
    return 1;
}

/* e:user_add(login, role [, supervisor]) -> true | nil, msg, code */
static int r_user_add(lua_State *L)
{
    rengine *re = check_rengine(L, 1);
    const char *argv[] = {"user", "add", luaL_checkstring(L, 2), "--role",
                          luaL_checkstring(L, 3), "--supervisor",
                          luaL_optstring(L, 4, NULL)};
    int n = run_json(L, re, argv[6] ? 7 : 5, argv, NULL);
    if (n != 1)
        return n;
    lua_pushboolean(L, 1);
    return 1;
}

/* e:users() -> the users. */
static int r_users(lua_State *L)
{
    rengine *re = check_rengine(L, 1);
    const char *argv[] = {"user", "list"};
    return run_json(L, re, 2, argv, NULL);
}

/* e:rules_reload() -> the pack now in force (a DIR is refused by the
 * server: it names a folder there). */
static int r_rules_reload(lua_State *L)
{
    rengine *re = check_rengine(L, 1);
    const char *argv[] = {"rules", "reload", luaL_optstring(L, 2, NULL)};
    return run_json(L, re, argv[2] ? 3 : 2, argv, NULL);
}

/* e:workflow() -> { id, name, version, stages, lookups } (workflow show). */
static int r_workflow(lua_State *L)
{
    rengine *re = check_rengine(L, 1);
    const char *argv[] = {"workflow", "show"};
    return run_json(L, re, 2, argv, NULL);
}

/* e:close() */
static int r_close(lua_State *L)
{
    luaL_checkudata(L, 1, RENGINE);
    return rengine_gc(L);
}

/* ---- cases ------------------------------------------------------------------------- */

/* The remote case at idx and its open engine. */
static rengine *rcase_engine(lua_State *L, int idx, rcase **out)
{
    rcase *c = luaL_checkudata(L, idx, RCASE);
    lua_getiuservalue(L, idx, 1);
    rengine *re = luaL_testudata(L, -1, RENGINE);
    lua_pop(L, 1);
    if (!re || !re->s)
        luaL_error(L, "attempt to use a case of a closed haven engine");
    *out = c;
    return re;
}

/* c:show(), c:history(), c:explain(): the command named by the upvalue. */
static int rc_read(lua_State *L)
{
    rcase *c;
    rengine *re = rcase_engine(L, 1, &c);
    const char *argv[] = {lua_tostring(L, lua_upvalueindex(1)), c->ref};
    return run_json(L, re, 2, argv, NULL);
}

/* c:note("text" [, expect_version]) -> new version */
static int rc_note(lua_State *L)
{
    rcase *c;
    rengine *re = rcase_engine(L, 1, &c);
    lua_Integer expect = luaL_optinteger(L, 3, 0);
    const char *text = lua_pushfstring(L, "text=%s", luaL_checkstring(L, 2));
    char version[32];
    snprintf(version, sizeof version, "%lld", (long long)expect);
    const char *argv[] = {"note", c->ref, text, "--expect-version", version};
    int n = run_json(L, re, expect ? 5 : 3, argv, NULL);
    if (n != 1)
        return n;
    lua_getfield(L, -1, "version");
    return 1;
}

/* c:STEP{ ... [, expect_version = N] } for every lifecycle step. */
static int rc_step(lua_State *L)
{
    rcase *c;
    rengine *re = rcase_engine(L, 1, &c);
    const char *step = lua_tostring(L, lua_upvalueindex(1));
    lua_Integer expect = 0;
    if (lua_istable(L, 2)) {
        if (lua_getfield(L, 2, "expect_version") == LUA_TNUMBER)
            expect = lua_tointeger(L, -1);
        lua_pop(L, 1);
    } else if (lua_type(L, 2) == LUA_TSTRING) {
        /* c:reopen "reason", c:assign "login", c:reject "reason" */
        lua_createtable(L, 0, 1);
        lua_pushvalue(L, 2);
        lua_setfield(L, -2, !strcmp(step, "assign") ? "to" : "reason");
        lua_replace(L, 2);
    } else if (lua_isnoneornil(L, 2)) {
        lua_settop(L, 1);
        lua_newtable(L);
    } else {
        luaL_checktype(L, 2, LUA_TTABLE);
    }
    json_t *input = lhaven_to_json(L, 2);
    json_object_del(input, "expect_version");
    char version[32];
    snprintf(version, sizeof version, "%lld", (long long)expect);
    const char *argv[] = {step, c->ref, "--json-in", "-", "--expect-version", version};
    return run_with_input(L, re, expect ? 6 : 4, argv, input);
}

/* c.ref, c.stage, c.status, ... from the summary (no audited read) or the
 * case file; methods first (as lhaven.c's Case). */
static int rcase_index(lua_State *L)
{
    rcase *c = luaL_checkudata(L, 1, RCASE);
    const char *key = luaL_checkstring(L, 2);
    luaL_getmetatable(L, RCASE);
    lua_getfield(L, -1, "methods");
    if (lua_getfield(L, -1, key) != LUA_TNIL)
        return 1;
    lua_pop(L, 3);
    if (!strcmp(key, "ref")) {
        lua_pushstring(L, c->ref);
        return 1;
    }
    rengine *re = rcase_engine(L, 1, &c);
    static const char *const summary_keys[] = {"stage", "status", "urgency",
        "risk", "version", "source", "assignee", "registered_at", "concerns",
        "open_tasks", NULL};
    int in_summary = 0;
    for (const char *const *k = summary_keys; *k; k++)
        in_summary |= !strcmp(*k, key);
    const char *argv[] = {"show", c->ref, "--summary"};
    run_result r;
    run_command(re, in_summary ? 3 : 2, argv, NULL, &r);
    if (r.code) {
        free(r.out);
        return lhaven_raise(L, r.msg, r.code);
    }
    if (push_result(L, &r) != 1 || !lua_istable(L, -1)) {
        lua_pushnil(L);
        return 1;
    }
    lhaven_case_field(L, key);
    return 1;
}

/* tostring(c): "haven.Case REF" (as a local case: the REPL prints it as its
 * case file). */
static int rcase_tostring(lua_State *L)
{
    rcase *c = luaL_checkudata(L, 1, RCASE);
    lua_pushfstring(L, "haven.Case %s", c->ref);
    return 1;
}

/* c1 == c2: the same reference. */
static int rcase_eq(lua_State *L)
{
    rcase *a = luaL_checkudata(L, 1, RCASE), *b = luaL_checkudata(L, 2, RCASE);
    lua_pushboolean(L, strcmp(a->ref, b->ref) == 0);
    return 1;
}

/* ---- registration ------------------------------------------------------------------- */

static const luaL_Reg rengine_methods[] = {
    {"register", r_register}, {"case", r_case},       {"find", r_case},
    {"show", r_show},         {"search", r_search},   {"list", r_list},
    {"due", r_due},           {"now", r_now},         {"advance", r_advance},
    {"set_now", r_set_now},   {"whoami", r_whoami},   {"user_add", r_user_add},
    {"users", r_users},       {"rules_reload", r_rules_reload},
    {"workflow", r_workflow}, {"close", r_close},     {NULL, NULL}};

static const luaL_Reg rengine_meta[] = {
    {"__gc", rengine_gc}, {"__close", rengine_gc}, {"__tostring", rengine_tostring},
    {NULL, NULL}};

void lremote_register(lua_State *L)
{
    static const char *const reads[] = {"show", "history", "explain", NULL};
    static const char *const steps[] = {
#define XX(verb, synopsis, help) #verb,
        HV_STEP_MAP(XX)
#undef XX
        NULL};
    if (luaL_newmetatable(L, RENGINE)) {
        luaL_setfuncs(L, rengine_meta, 0);
        luaL_newlib(L, rengine_methods);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    if (luaL_newmetatable(L, RCASE)) {
        lua_newtable(L);
        for (const char *const *r = reads; *r; r++) {
            lua_pushstring(L, *r);
            lua_pushcclosure(L, rc_read, 1);
            lua_setfield(L, -2, *r);
        }
        lua_pushcfunction(L, rc_note);
        lua_setfield(L, -2, "note");
        for (const char *const *s = steps; *s; s++) {
            lua_pushstring(L, *s);
            lua_pushcclosure(L, rc_step, 1);
            lua_setfield(L, -2, *s);
        }
        lua_setfield(L, -2, "methods");
        lua_pushcfunction(L, rcase_index);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, rcase_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushcfunction(L, rcase_eq);
        lua_setfield(L, -2, "__eq");
    }
    lua_pop(L, 1);
}
