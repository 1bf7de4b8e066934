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

/* The source tree this file was compiled from (its absolute __FILE__
 * less "/bindings/scenario/scenario.c"), or "" when the build did not name
 * it so: a binary run from its build folder finds the checkout's
 * workflows, rules and scenarios as an installed one finds HAVEN_DATADIR's. */
static const char *source_dir(void)
{
    static char dir[4096];
    static const char tail[] = "/bindings/scenario/scenario.c";
    const char *f = __FILE__;
    size_t n = strlen(f), t = sizeof tail - 1;
    if (!dir[0] && f[0] == '/' && n > t && n - t < sizeof dir &&
        !strcmp(f + n - t, tail))
        snprintf(dir, sizeof dir, "%.*s", (int)(n - t), f);
    return dir;
}

/* The folders searched for the data a scenario names (workflows/, rules/,
 * scenarios/), in order: the installed share folder, then the source tree
 * the binary was built from.  Sets roots[0..] and returns how many. */
static int data_roots(const char *roots[2])
{
    int n = 0;
    roots[n++] = HAVEN_DATADIR;
    if (source_dir()[0])
        roots[n++] = source_dir();
    return n;
}

/* host.find(kind, name, ext): a shipped workflow or rule pack by name
 * (iasc, default), or a path relative to the scenario.  Searched: the
 * scenario's folder, its parent and grandparent (a scenario in a copy of
 * scenarios/, or scenarios/train/), the current folder, the installed
 * share folder, the source tree (data_roots). */
static int h_find(lua_State *L)
{
    run_state *rs = lua_touserdata(L, lua_upvalueindex(1));
    const char *kind = luaL_checkstring(L, 1), *name = luaL_checkstring(L, 2);
    const char *ext = luaL_checkstring(L, 3);
    char base[4096], path[8400], parent[4200], grand[4200];
    snprintf(base, sizeof base, "%s", rs->file);
    char *slash = strrchr(base, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(base, sizeof base, ".");
    if (strchr(name, '/')) {
        snprintf(path, sizeof path, "%s/%s", base, name);
        lua_pushstring(L, exists(path) ? path : name);
        return 1;
    }
    snprintf(parent, sizeof parent, "%s/..", base);
    snprintf(grand, sizeof grand, "%s/../..", base);
    const char *roots[6] = {base, parent, grand, "."};
    int n = 4 + data_roots(roots + 4);
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s/%s%s", roots[i], kind, name, ext);
        if (exists(path)) {
            lua_pushstring(L, path);
            return 1;
        }
    }
    return luaL_error(L, "no %s '%s': looked beside the scenario, in ./%s, in "
                         "%s/%s%s%s", kind, name, kind, HAVEN_DATADIR, kind,
                      n > 5 ? " and in the source tree's " : "", n > 5 ? kind : "");
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

/* ---- the page and the JSON of the runs ------------------------------------------ */

/* What a run of several scenarios gathers: the options, the timeline page
 * (one head and foot, a section per scenario) and the JSON records. */
typedef struct {
    const char *html; /* --html FILE, or NULL */
    int show;         /* --show */
    int several;      /* more than one scenario */
    int index;        /* the scenario running (from 1) */
    json_t *json;     /* --json: the array of scenario records, else NULL */
    char *page;       /* the sections so far (malloc'd) */
    size_t len;
    char *head, *foot;
    int page_failed;  /* the page could not be made: the exit code */
} run_opts;

/* Appends n bytes of s to ro->page; 0, or -1 out of memory. */
static int page_add(run_opts *ro, const char *s, size_t n)
{
    char *p = realloc(ro->page, ro->len + n + 1);
    if (!p)
        return -1;
    memcpy(p + ro->len, s, n);
    ro->len += n;
    p[ro->len] = '\0';
    ro->page = p;
    return 0;
}

/* Adds the scenario's section of the timeline page (timeline.lua over the
 * prelude's S, with haven.time and haven.iso only) to ro; the page's head
 * and foot from the first.  Returns 0 or an exit code after printing why. */
static int timeline_section(lua_State *L, int haven_idx, int control, run_opts *ro)
{
    int top = lua_gettop(L), code = 0;
    if (luaL_loadbufferx(L, scenario_timeline, strlen(scenario_timeline),
                         "=timeline", "t") != LUA_OK) {
        fprintf(stderr, "haven: scenario: timeline: %s\n", lua_tostring(L, -1));
        lua_settop(L, top);
        return hv_status_exit_code(HV_INTERNAL);
    }
    lua_createtable(L, 0, 2);
    lua_getfield(L, haven_idx, "time");
    lua_setfield(L, -2, "time");
    lua_getfield(L, haven_idx, "iso");
    lua_setfield(L, -2, "iso");
    lua_getfield(L, control, "S");
    if (lua_pcall(L, 2, 1, 0) == LUA_OK) {
        lua_pushinteger(L, ro->index);
        if (ro->several)
            lua_pushfstring(L, "Training scenarios");
        else
            lua_pushnil(L);
    }
    if (lua_gettop(L) == top + 3 && lua_pcall(L, 2, 3, 0) == LUA_OK) {
        size_t n;
        const char *section = lua_tolstring(L, -3, &n);
        if (!ro->head) {
            ro->head = strdup(lua_tostring(L, -2));
            ro->foot = strdup(lua_tostring(L, -1));
        }
        if (!section || !ro->head || !ro->foot || page_add(ro, section, n) ||
            page_add(ro, "\n", 1))
            code = hv_status_exit_code(HV_NOMEM);
    } else {
        fprintf(stderr, "haven: scenario: timeline: %s\n", lua_tostring(L, -1));
        code = hv_status_exit_code(HV_INTERNAL);
    }
    lua_settop(L, top);
    return code;
}

/* Writes the page gathered in ro to ro->html.  Returns 0 or an exit code
 * after printing why. */
static int write_page(run_opts *ro)
{
    if (ro->page_failed)
        return ro->page_failed;
    if (!ro->head)
        return 0;
    FILE *f = fopen(ro->html, "w");
    int ok = f && fputs(ro->head, f) >= 0 &&
             (!ro->len || fwrite(ro->page, 1, ro->len, f) == ro->len) &&
             fputs(ro->foot, f) >= 0;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok) {
        fprintf(stderr, "haven: %s: cannot write\n", ro->html);
        return hv_status_exit_code(HV_CANTCREATE);
    }
    return 0;
}

/* The scenario's JSON record: {file, name, passed, failed, steps: [{at,
 * kind, text}], cases (with --show): {REF: case file}}. */
static json_t *scenario_json(lua_State *L, int control, const char *file, int show)
{
    lua_getfield(L, control, "S");
    int S = lua_gettop(L);
    json_t *steps = json_array();
    lua_getfield(L, S, "lines");
    for (lua_Integer i = 1; lua_geti(L, -1, i) == LUA_TTABLE; i++) {
        lua_getfield(L, -1, "at");
        lua_getfield(L, -2, "kind");
        lua_getfield(L, -3, "text");
        char at[32];
        hv_time_format((hv_time)lua_tointeger(L, -3), at, sizeof at);
        json_array_append_new(steps, json_pack("{s:s, s:s, s:s}", "at", at, "kind",
                                               lua_tostring(L, -2) ? lua_tostring(L, -2) : "",
                                               "text",
                                               lua_tostring(L, -1) ? lua_tostring(L, -1) : ""));
        lua_pop(L, 4);
    }
    lua_pop(L, 2);
    lua_getfield(L, S, "name");
    lua_getfield(L, S, "passed");
    lua_getfield(L, S, "failed");
    json_t *rec = json_pack("{s:s, s:s, s:I, s:I, s:o}", "file", file, "name",
                            lua_tostring(L, -3) ? lua_tostring(L, -3) : "?", "passed",
                            (json_int_t)lua_tointeger(L, -2), "failed",
                            (json_int_t)lua_tointeger(L, -1), "steps", steps);
    lua_pop(L, 3);
    if (rec && show) {
        json_t *cases = json_object();
        lua_getfield(L, S, "files");
        if (lua_istable(L, -1)) {
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                if (lua_type(L, -2) == LUA_TSTRING)
                    json_object_set_new(cases, lua_tostring(L, -2), lhaven_to_json(L, -1));
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
        json_object_set_new(rec, "cases", cases);
    }
    lua_settop(L, S - 1);
    return rec;
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

/* After the scenario file ran: its counts added, its case files shown, its
 * section of the page and its JSON record made as ro asks. */
static int after_run(lua_State *L, int haven_idx, int control, const char *file,
                     run_opts *ro, int *passed, int *failed)
{
    int code = 0;
    lua_pushboolean(L, ro->several);
    lua_pushboolean(L, ro->show || ro->html); /* the case files: shown */
    if (call_control(L, control, "finish", 2, 2) == LUA_OK) {
        *passed += (int)lua_tointeger(L, -2);
        *failed += (int)lua_tointeger(L, -1);
    } else {
        fprintf(stderr, "haven: scenario: %s\n", lua_tostring(L, -1));
        (*failed)++;
    }
    lua_pop(L, 2);
    if (ro->show && !ro->json)
        show_cases(L, control);
    if (ro->html && !ro->page_failed)
        ro->page_failed = timeline_section(L, haven_idx, control, ro);
    if (ro->json) {
        json_t *rec = scenario_json(L, control, file, ro->show);
        if (!rec || json_array_append_new(ro->json, rec))
            code = hv_status_exit_code(HV_NOMEM);
    }
    return code;
}

/* Runs one scenario; adds its counts; gathers its page and record. */
static int run_one(const char *file, run_opts *ro, int *passed, int *failed)
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
    lua_pushboolean(L, ro->json != NULL);
    lua_setfield(L, -2, "quiet");
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
    if (!ro->json)
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
    code = after_run(L, haven_idx, control, file, ro, passed, failed);
    lua_settop(L, handler);
    call_control(L, control, "close", 0, 0);
done:
    lua_close(L);
    remove_dir(rs.dir);
    return code;
}

/* ---- scenarios by name -------------------------------------------------------- */

/* 1 if name is a name (letters, digits, _ and -), not a path. */
static int is_name(const char *name)
{
    if (!*name)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

/* The folders holding scenarios/SUB: ./scenarios/SUB, the installed share
 * folder's, the source tree's.  Sets dirs[] (room for 3, each 4200 bytes)
 * and returns how many. */
static int scenario_dirs(const char *sub, char dirs[3][4200])
{
    const char *roots[2];
    int n = data_roots(roots), k = 0;
    snprintf(dirs[k++], 4200, "scenarios%s", sub);
    for (int i = 0; i < n; i++)
        snprintf(dirs[k++], 4200, "%s/scenarios%s", roots[i], sub);
    return k;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints ", "-separated the names NAME of every NAME.lua in the scenario
 * folders of sub (each once, sorted), or "none". */
static void print_available(FILE *out, const char *sub)
{
    char dirs[3][4200], *names[256];
    int n = 0, ndirs = scenario_dirs(sub, dirs);
    for (int i = 0; i < ndirs; i++) {
        DIR *d = opendir(dirs[i]);
        struct dirent *ent;
        while (d && (ent = readdir(d)) != NULL && n < 256) {
            size_t len = strlen(ent->d_name);
            if (len < 5 || strcmp(ent->d_name + len - 4, ".lua"))
                continue;
            char *name = strndup(ent->d_name, len - 4);
            int seen = !name;
            for (int j = 0; j < n && !seen; j++)
                seen = !strcmp(names[j], name);
            if (seen)
                free(name);
            else
                names[n++] = name;
        }
        if (d)
            closedir(d);
    }
    qsort(names, (size_t)n, sizeof *names, compare_names);
    for (int i = 0; i < n; i++) {
        fprintf(out, "%s%s", i ? ", " : "", names[i]);
        free(names[i]);
    }
    fprintf(out, "%s\n", n ? "" : "none");
}

/* A scenario named NAME: scenarios/SUB/NAME.lua in the first of
 * scenario_dirs that has it, into path.  Returns 1 if found. */
static int find_named(const char *sub, const char *name, char *path, size_t size)
{
    char dirs[3][4200];
    int ndirs = scenario_dirs(sub, dirs);
    for (int i = 0; i < ndirs; i++) {
        if (snprintf(path, size, "%s/%s.lua", dirs[i], name) >= (int)size)
            continue;
        if (exists(path))
            return 1;
    }
    return 0;
}

int hv_scenario_run(char **files, int nfiles, const char *html_path, int show,
                    json_t **json_out)
{
    int passed = 0, failed = 0, code = 0;
    char **paths = calloc((size_t)nfiles + 1, sizeof *paths);
    if (!paths)
        return hv_status_exit_code(HV_NOMEM);
    /* A name (noor) is scenarios/noor.lua as `train noor` finds its
     * exercise; anything else is a file. */
    for (int i = 0; i < nfiles && !code; i++) {
        char path[8400];
        if (is_name(files[i]) && access(files[i], R_OK) != 0) {
            if (!find_named("", files[i], path, sizeof path)) {
                fprintf(stderr, "haven: scenario: no scenario '%s'; available: ", files[i]);
                print_available(stderr, "");
                code = hv_status_exit_code(HV_NOINPUT);
            }
        } else if (access(files[i], R_OK) != 0) {
            fprintf(stderr, "haven: %s: cannot read\n", files[i]);
            code = hv_status_exit_code(HV_NOINPUT);
        } else {
            snprintf(path, sizeof path, "%s", files[i]);
        }
        if (!code && !(paths[i] = strdup(path)))
            code = hv_status_exit_code(HV_NOMEM);
    }
    run_opts ro = {.html = html_path, .show = show, .several = nfiles > 1};
    if (json_out && !code && !(ro.json = json_array()))
        code = hv_status_exit_code(HV_NOMEM);
    for (int i = 0; i < nfiles && !code; i++) {
        ro.index = i + 1;
        int c = run_one(paths[i], &ro, &passed, &failed);
        if (c && !code)
            code = c;
        fflush(stdout);
    }
    for (int i = 0; i < nfiles; i++)
        free(paths[i]);
    free(paths);
    if (!code && html_path) {
        int c = write_page(&ro);
        if (c)
            code = c;
    }
    free(ro.page);
    free(ro.head);
    free(ro.foot);
    if (ro.json) {
        if (!code)
            *json_out = json_pack("{s:o, s:i, s:i}", "scenarios", ro.json, "passed",
                                  passed, "failed", failed);
        else
            json_decref(ro.json);
    } else if (!code || passed || failed) {
        printf("%d passed, %d failed\n", passed, failed);
    }
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
    /* The exercise: scenarios/train/NAME.lua in ./scenarios, the installed
     * share folder or the source tree (scenario_dirs); its workflow and
     * rules are found from there (h_find). */
    snprintf(rs.chunk, sizeof rs.chunk, "@train");
    snprintf(rs.dir, sizeof rs.dir, "%s/haven-train-XXXXXX", tmp ? tmp : "/tmp");
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
            fprintf(stderr, "haven: train: an exercise name is lower-case letters, digits and _\n");
            return hv_status_exit_code(HV_USAGE);
        }
    if (!find_named("/train", name, exercise, sizeof exercise)) {
        fprintf(stderr, "haven: train: no exercise '%s'; available: ", name);
        print_available(stderr, "/train");
        return hv_status_exit_code(HV_NOINPUT);
    }
    if (snprintf(rs.file, sizeof rs.file, "%s", exercise) >= (int)sizeof rs.file) {
        fprintf(stderr, "haven: train: the exercise's path is too long\n");
        return hv_status_exit_code(HV_USAGE);
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
