/* scenario.c - `haven scenario run`: each scenario (a Lua script) runs on
 * a fresh temporary database with the scenario API of prelude.lua, through
 * the real engine and rules, on a simulated clock.
 *
 * A scenario file (and a `haven train` exercise) runs in a sandbox like a
 * rule pack's: loaded as text only, into its own environment holding
 * copies of the safe standard names (base without dofile/loadfile/require,
 * load of text only, string without dump, table, math, utf8, coroutine),
 * no io, os, package or debug, the string metatable locked; and the API
 * the trusted prelude put there.  The haven module and the host functions
 * are never in it: the file acts on its own scratch database only, as the
 * users the prelude opens it as. */
#include "scenario.h"

#include <dirent.h>
#include <jansson.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "haven.h"
#include "lhaven.h"
#include "render.h"
#include "scenario_prelude.h"
#include "scenario_timeline.h"
#include "scenario_train.h"

#include <readline/readline.h>

#ifndef HAVEN_DATADIR
#define HAVEN_DATADIR "/usr/local/share/haven"
#endif

typedef struct {
    char dir[4096];       /* the temporary folder */
    char file[4096];      /* the scenario file */
    char chunk[4200];     /* its chunk name, "@file" */
} run_state;

/* host.database(): the scenario's database path. */
static int h_database(lua_State *L)
{
    run_state *rs = lua_touserdata(L, lua_upvalueindex(1));
    lua_pushfstring(L, "%s/scenario.db", rs->dir);
    return 1;
}

/* 1 if path exists. */
static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* host.find(kind, name, ext): a shipped workflow or rule pack by name
 * (iasc, default), or a path. */
static int h_find(lua_State *L)
{
    run_state *rs = lua_touserdata(L, lua_upvalueindex(1));
    const char *kind = luaL_checkstring(L, 1), *name = luaL_checkstring(L, 2);
    const char *ext = luaL_checkstring(L, 3);
    char base[4096], path[8400];
    snprintf(base, sizeof base, "%s", rs->file);
    char *slash = strrchr(base, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(base, sizeof base, ".");
    const char *roots[] = {base, ".", NULL, HAVEN_DATADIR};
    char parent[4200];
    snprintf(parent, sizeof parent, "%s/..", base);
    roots[2] = parent;
    if (strchr(name, '/')) {
        snprintf(path, sizeof path, "%s/%s", base, name);
        lua_pushstring(L, exists(path) ? path : name);
        return 1;
    }
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s/%s%s", roots[i], kind, name, ext);
        if (exists(path)) {
            lua_pushstring(L, path);
            return 1;
        }
    }
    return luaL_error(L, "no %s '%s' (looked beside the scenario, in ./%s and "
                         "in %s)", kind, name, kind, HAVEN_DATADIR);
}

/* "file:line" of the innermost frame running the scenario file. */
static void push_caller(lua_State *L, run_state *rs)
{
    lua_Debug ar;
    for (int level = 0; lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "Sl", &ar);
        if (ar.currentline > 0 && !strcmp(ar.source, rs->chunk)) {
            lua_pushfstring(L, "%s:%d", rs->file, ar.currentline);
            return;
        }
    }
    lua_pushstring(L, rs->file);
}

/* host.caller(): who the scenario's engine acts as (push_caller). */
static int h_caller(lua_State *L)
{
    push_caller(L, lua_touserdata(L, lua_upvalueindex(1)));
    return 1;
}

/* Message handler: "file:line: message" for the scenario's own line. */
static int message_handler(lua_State *L)
{
    run_state *rs = lua_touserdata(L, lua_upvalueindex(1));
    const char *msg = NULL;
    if (lua_istable(L, 1)) {
        lua_getfield(L, 1, "message");
        msg = lua_tostring(L, -1);
    } else {
        msg = lua_tostring(L, 1);
    }
    if (!msg)
        msg = "(error object is not a string)";
    if (strncmp(msg, rs->file, strlen(rs->file)) == 0) {
        lua_pushstring(L, msg);
    } else {
        push_caller(L, rs);
        lua_pushfstring(L, "%s: %s", lua_tostring(L, -1), msg);
    }
    return 1;
}

/* ---- the sandbox ------------------------------------------------------------ */

/* load(text [, name [, mode [, env]]]) of the sandbox: text only, into
 * the sandbox environment (upvalue 1) unless env is given. */
static int sandbox_load(lua_State *L)
{
    size_t n;
    const char *text = luaL_checklstring(L, 1, &n);
    const char *name = luaL_optstring(L, 2, "=(load)");
    int env = lua_isnone(L, 4) ? lua_upvalueindex(1) : 4;
    if (luaL_loadbufferx(L, text, n, name, "t") != LUA_OK) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    lua_pushvalue(L, env);
    if (!lua_setupvalue(L, -2, 1))
        lua_pop(L, 1);
    return 1;
}

/* Pushes a new sandbox environment: copies of the safe names of the real
 * globals and of the library tables (so the code changes only its own),
 * load of text only into it, and _G as itself. */
static void push_sandbox_env(lua_State *L)
{
    static const char *const names[] = {
        "assert", "error", "ipairs", "next", "pairs", "pcall", "xpcall",
        "select", "tonumber", "tostring", "type", "rawequal", "rawlen",
        "rawget", "rawset", "getmetatable", "setmetatable", "print",
        "_VERSION", NULL};
    static const char *const libraries[] = {"string", "table", "math", "utf8",
                                            "coroutine", NULL};
    lua_newtable(L);
    int env = lua_gettop(L);
    for (const char *const *n = names; *n; n++) {
        lua_getglobal(L, *n);
        lua_setfield(L, env, *n);
    }
    for (const char *const *lib = libraries; *lib; lib++) {
        lua_getglobal(L, *lib);
        lua_newtable(L);
        lua_pushnil(L);
        while (lua_next(L, -3)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -4);
        }
        lua_setfield(L, env, *lib);
        lua_pop(L, 1);
    }
    lua_pushvalue(L, env);
    lua_pushcclosure(L, sandbox_load, 1);
    lua_setfield(L, env, "load");
    lua_pushvalue(L, env);
    lua_setfield(L, env, "_G");
}

/* Loads the file as text into the sandbox environment at env_idx.
 * Returns luaL_loadfilex's status with the chunk (or the message)
 * pushed. */
static int load_sandboxed(lua_State *L, const char *file, int env_idx)
{
    env_idx = lua_absindex(L, env_idx);
    int status = luaL_loadfilex(L, file, "t");
    if (status == LUA_OK) {
        lua_pushvalue(L, env_idx);
        if (!lua_setupvalue(L, -2, 1))
            lua_pop(L, 1);
    }
    return status;
}

/* Removes the temporary folder and the files in it. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *ent;
    char path[8400];
    while ((ent = readdir(d)) != NULL) {
        if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Prints the case files of the scenario's cases (S.files of the prelude's
 * control table at control) as `haven show`. */
static void show_cases(lua_State *L, int control)
{
    lua_getfield(L, control, "S");
    lua_getfield(L, -1, "files");
    if (lua_istable(L, -1)) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            json_t *v = lhaven_to_json(L, -1);
            printf("\n");
            render_case(v);
            json_decref(v);
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 2);
}

/* Writes the timeline page of the scenario (timeline.lua over the
 * prelude's S, with haven.time and haven.iso only) to html.  Returns 0 or
 * an exit code after printing why. */
static int write_timeline(lua_State *L, int haven_idx, int control, const char *html)
{
    int code = 0;
    if (luaL_loadbufferx(L, scenario_timeline, strlen(scenario_timeline),
                         "=timeline", "t") != LUA_OK) {
        fprintf(stderr, "haven: scenario: timeline: %s\n", lua_tostring(L, -1));
        return hv_status_exit_code(HV_INTERNAL);
    }
    lua_createtable(L, 0, 2);
    lua_getfield(L, haven_idx, "time");
    lua_setfield(L, -2, "time");
    lua_getfield(L, haven_idx, "iso");
    lua_setfield(L, -2, "iso");
    lua_getfield(L, control, "S");
    if (lua_pcall(L, 2, 1, 0) == LUA_OK && lua_pcall(L, 0, 1, 0) == LUA_OK) {
        size_t n;
        const char *page = lua_tolstring(L, -1, &n);
        FILE *f = fopen(html, "w");
        if (!f || fwrite(page, 1, n, f) != n) {
            fprintf(stderr, "haven: %s: cannot write\n", html);
            code = hv_status_exit_code(HV_CANTCREATE);
        }
        if (f)
            fclose(f);
    } else {
        fprintf(stderr, "haven: scenario: timeline: %s\n", lua_tostring(L, -1));
        code = hv_status_exit_code(HV_INTERNAL);
    }
    lua_pop(L, 1);
    return code;
}

/* Calls control[name](...) with the nargs values on top, nresults
 * results; returns lua_pcall's status (the message pushed on failure). */
static int call_control(lua_State *L, int control, const char *name, int nargs,
                        int nresults)
{
    lua_getfield(L, control, name);
    lua_insert(L, -nargs - 1);
    return lua_pcall(L, nargs, nresults, 0);
}

/* Runs one scenario; adds its counts; writes html when asked. */
static int run_one(const char *file, const char *html, int show, int *passed,
                   int *failed)
{
    run_state rs;
    const char *tmp = getenv("TMPDIR");
    snprintf(rs.dir, sizeof rs.dir, "%s/haven-scenario-XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(rs.dir)) {
        fprintf(stderr, "haven: scenario: cannot create a temporary folder\n");
        return hv_status_exit_code(HV_CANTCREATE);
    }
    snprintf(rs.file, sizeof rs.file, "%s", file);
    snprintf(rs.chunk, sizeof rs.chunk, "@%s", file);
    lua_State *L = luaL_newstate();
    lhaven_open_safe_libraries(L);
    luaL_requiref(L, "haven", luaopen_haven, 0); /* not a global */
    int haven_idx = lua_gettop(L);
    int code = 0;
    push_sandbox_env(L);
    int env_idx = lua_gettop(L);
    lua_newtable(L); /* host */
    static const luaL_Reg host[] = {{"database", h_database}, {"find", h_find},
                                    {"caller", h_caller}, {NULL, NULL}};
    lua_pushlightuserdata(L, &rs);
    luaL_setfuncs(L, host, 1);
    int host_idx = lua_gettop(L);
    if (luaL_loadbufferx(L, scenario_prelude, strlen(scenario_prelude), "=scenario",
                         "t") != LUA_OK) {
        fprintf(stderr, "haven: scenario: %s\n", lua_tostring(L, -1));
        code = hv_status_exit_code(HV_INTERNAL);
        goto done;
    }
    lua_pushvalue(L, haven_idx);
    lua_pushvalue(L, host_idx);
    lua_pushvalue(L, env_idx);
    if (lua_pcall(L, 3, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
        fprintf(stderr, "haven: scenario: %s\n", lua_tostring(L, -1));
        code = hv_status_exit_code(HV_INTERNAL);
        goto done;
    }
    int control = lua_gettop(L);
    printf("== %s\n", file);
    lua_pushlightuserdata(L, &rs);
    lua_pushcclosure(L, message_handler, 1);
    int handler = lua_gettop(L);
    int status = load_sandboxed(L, file, env_idx);
    if (status == LUA_OK)
        status = lua_pcall(L, 0, 0, handler);
    if (status != LUA_OK) {
        call_control(L, control, "report_error", 1, 0);
        lua_settop(L, handler);
    }
    if (call_control(L, control, "finish", 0, 2) == LUA_OK) {
        *passed += (int)lua_tointeger(L, -2);
        *failed += (int)lua_tointeger(L, -1);
    } else {
        fprintf(stderr, "haven: scenario: %s\n", lua_tostring(L, -1));
        (*failed)++;
    }
    lua_settop(L, handler);
    if (show)
        show_cases(L, control);
    if (html)
        code = write_timeline(L, haven_idx, control, html);
    call_control(L, control, "close", 0, 0);
done:
    lua_close(L);
    remove_dir(rs.dir);
    return code;
}

int hv_scenario_run(char **files, int nfiles, const char *html_path, int show)
{
    int passed = 0, failed = 0, code = 0;
    for (int i = 0; i < nfiles; i++) {
        if (access(files[i], R_OK) != 0) {
            fprintf(stderr, "haven: %s: cannot read\n", files[i]);
            return hv_status_exit_code(HV_NOINPUT);
        }
    }
    for (int i = 0; i < nfiles; i++) {
        int c = run_one(files[i], i == 0 ? html_path : NULL, show, &passed, &failed);
        if (c && !code)
            code = c;
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    if (code)
        return code;
    return failed ? hv_status_exit_code(HV_INVALID) : 0;
}

/* read_line(prompt) for train.lua: readline on a terminal, else stdin. */
static int t_read_line(lua_State *L)
{
    const char *prompt = luaL_optstring(L, 1, "");
    if (isatty(STDIN_FILENO)) {
        char *line = readline(prompt);
        if (!line)
            return 0;
        lua_pushstring(L, line);
        free(line);
        return 1;
    }
    char buf[8192];
    if (!fgets(buf, sizeof buf, stdin))
        return 0;
    buf[strcspn(buf, "\r\n")] = '\0';
    lua_pushstring(L, buf);
    return 1;
}

int hv_train_run(const char *name)
{
    run_state rs;
    char exercise[4200];
    const char *tmp = getenv("TMPDIR");
    /* The exercise: scenarios/train/NAME.lua, found as workflows are. */
    snprintf(rs.file, sizeof rs.file, "./train");
    snprintf(rs.chunk, sizeof rs.chunk, "@train");
    snprintf(rs.dir, sizeof rs.dir, "%s/haven-train-XXXXXX", tmp ? tmp : "/tmp");
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
            fprintf(stderr, "haven: train: an exercise name is lower-case letters, digits and _\n");
            return hv_status_exit_code(HV_USAGE);
        }
    const char *roots[] = {"scenarios/train", HAVEN_DATADIR "/scenarios/train"};
    exercise[0] = '\0';
    for (int i = 0; i < 2 && !exercise[0]; i++) {
        snprintf(exercise, sizeof exercise, "%s/%s.lua", roots[i], name);
        if (!exists(exercise))
            exercise[0] = '\0';
    }
    if (!exercise[0]) {
        fprintf(stderr, "haven: train: no exercise '%s' (scenarios/train/%s.lua)\n", name, name);
        return hv_status_exit_code(HV_NOINPUT);
    }
    if (!mkdtemp(rs.dir)) {
        fprintf(stderr, "haven: train: cannot create a temporary folder\n");
        return hv_status_exit_code(HV_CANTCREATE);
    }
    lua_State *L = luaL_newstate();
    lhaven_open_safe_libraries(L);
    luaL_requiref(L, "haven", luaopen_haven, 0); /* not a global */
    int code = hv_status_exit_code(HV_INTERNAL);
    if (luaL_loadbufferx(L, scenario_train, strlen(scenario_train), "=train", "t") != LUA_OK)
        goto fail;
    lua_pushvalue(L, 1);
    lua_newtable(L);
    static const luaL_Reg host[] = {{"database", h_database}, {"find", h_find}, {NULL, NULL}};
    lua_pushlightuserdata(L, &rs);
    luaL_setfuncs(L, host, 1);
    /* The exercise is data (the referral, the registration, the model
     * answer) from a file: it runs in the sandbox and returns a table. */
    push_sandbox_env(L);
    if (load_sandboxed(L, exercise, -1) != LUA_OK)
        goto fail;
    lua_remove(L, -2);
    if (lua_pcall(L, 0, 1, 0) != LUA_OK)
        goto fail;
    if (!lua_istable(L, -1)) {
        lua_pushfstring(L, "%s: an exercise returns a table", exercise);
        goto fail;
    }
    lua_pushcfunction(L, t_read_line);
    lua_pushboolean(L, isatty(STDIN_FILENO));
    if (lua_pcall(L, 5, 1, 0) != LUA_OK)
        goto fail;
    code = lua_toboolean(L, -1) ? 0 : hv_status_exit_code(HV_INVALID);
    goto done;
fail:
    fprintf(stderr, "haven: train: %s\n", lua_tostring(L, -1));
done:
    fflush(stdout);
    lua_close(L);
    remove_dir(rs.dir);
    return code;
}
