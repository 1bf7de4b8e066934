/* scenario.c - `haven scenario run`: each scenario (a Lua script) runs on
 * a fresh temporary database with the scenario API of prelude.lua, through
 * the real engine and rules, on a simulated clock. */
#include "scenario.h"

#include <dirent.h>
#include <jansson.h>
#include <lauxlib.h>
#include <lualib.h>
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

/* Prints the case files of the scenario's cases (S.files) as `haven show`. */
static void show_cases(lua_State *L)
{
    lua_getglobal(L, "__scenario");
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
    luaL_openlibs(L);
    luaL_requiref(L, "haven", luaopen_haven, 1);
    int haven_idx = lua_gettop(L);
    int code = 0;
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
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        fprintf(stderr, "haven: scenario: %s\n", lua_tostring(L, -1));
        code = hv_status_exit_code(HV_INTERNAL);
        goto done;
    }
    printf("== %s\n", file);
    lua_pushlightuserdata(L, &rs);
    lua_pushcclosure(L, message_handler, 1);
    int handler = lua_gettop(L);
    int status = luaL_loadfilex(L, file, "t");
    if (status == LUA_OK)
        status = lua_pcall(L, 0, 0, handler);
    if (status != LUA_OK) {
        lua_getglobal(L, "__report_error");
        lua_pushvalue(L, -2);
        lua_pcall(L, 1, 0, 0);
        lua_pop(L, 1);
    }
    lua_getglobal(L, "__finish");
    if (lua_pcall(L, 0, 2, 0) == LUA_OK) {
        *passed += (int)lua_tointeger(L, -2);
        *failed += (int)lua_tointeger(L, -1);
    } else {
        fprintf(stderr, "haven: scenario: %s\n", lua_tostring(L, -1));
        (*failed)++;
    }
    lua_settop(L, handler);
    if (show)
        show_cases(L);
    if (html) {
        lua_getglobal(L, "__scenario");
        int s_idx = lua_gettop(L);
        if (luaL_loadbufferx(L, scenario_timeline, strlen(scenario_timeline),
                             "=timeline", "t") == LUA_OK) {
            lua_pushvalue(L, haven_idx);
            lua_pushvalue(L, s_idx);
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
        }
    }
    lua_getglobal(L, "__engine");
    if (lua_isuserdata(L, -1)) {
        lua_getfield(L, -1, "close");
        lua_pushvalue(L, -2);
        lua_pcall(L, 1, 0, 0);
    }
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
    luaL_openlibs(L);
    luaL_requiref(L, "haven", luaopen_haven, 1);
    int code = hv_status_exit_code(HV_INTERNAL);
    if (luaL_loadbufferx(L, scenario_train, strlen(scenario_train), "=train", "t") != LUA_OK)
        goto fail;
    lua_pushvalue(L, 1);
    lua_newtable(L);
    static const luaL_Reg host[] = {{"database", h_database}, {"find", h_find}, {NULL, NULL}};
    lua_pushlightuserdata(L, &rs);
    luaL_setfuncs(L, host, 1);
    if (luaL_dofile(L, exercise) != LUA_OK)
        goto fail;
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
