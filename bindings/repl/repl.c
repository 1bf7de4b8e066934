/*
 * repl.c - `haven repl`, after Lua's own lua.c: lines are tried as
 * `return <line>` first so expressions print; input whose syntax error ends
 * at <eof> continues on the next line; every chunk runs under a message
 * handler; Ctrl-C cancels the line being typed (readline's callback
 * interface, the signal handler only sets a flag) or stops running code
 * (a hook set from the handler, as lua.c does); Ctrl-D leaves.
 *
 * The Lua it offers is safe by default: the engine it was given (acting
 * as the user who opened it, with no way to switch), the caseworker
 * commands of prelude.lua, haven.time/iso/duration/steps/version (no
 * haven.open or haven.init), and base, string, table, math, utf8,
 * coroutine without io, os, package/require, debug, dofile, loadfile or
 * binary chunks.  `--unsafe` gives an administrator (cmd_lua.c checks and
 * records it) the full standard library and module.  Over --server the
 * engine is haven.connect's (lremote.c): the same commands, each run on
 * the server as the authenticated user; never unsafe.
 *
 * The history (~/.haven_history, 0600) keeps only lines made of command
 * names, this database's references, codes and short numbers
 * (history_worthy).
 */
#include "repl.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <lualib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <readline/history.h>
#include <readline/readline.h>

#include "haven.h"
#include "lhaven.h"
#include "lremote.h"
#include "render.h"
#include "repl_prelude.h"


/* Only what the signal handler may touch. */
static volatile sig_atomic_t interrupted;
static lua_State *running_state; /* set while Lua code runs */

/* ---- rendering callbacks for the prelude ------------------------------------ */

/* Calls fn with the Lua table at 1 as JSON. */
static int with_json(lua_State *L, void (*fn)(json_t *))
{
    json_t *v = lhaven_to_json(L, 1);
    fn(v);
    json_decref(v);
    fflush(stdout);
    return 0;
}

/* render.case(v) and the other renderers of the prelude: print the Lua
 * value as the command line would (with_json). */
static int r_case(lua_State *L) { return with_json(L, render_case); }
static int r_due(lua_State *L) { return with_json(L, render_due); }
static int r_search(lua_State *L) { return with_json(L, render_found); }
static int r_list(lua_State *L) { return with_json(L, render_listed); }
static int r_explain(lua_State *L) { return with_json(L, render_explain); }
static int r_history(lua_State *L) { return with_json(L, render_history); }
static int r_step(lua_State *L) { return with_json(L, render_step); }

/* ---- errors ------------------------------------------------------------------ */

/* Message handler: a friendly error (a refusal, a missing field) stays as it
 * is; anything else becomes its message (no traceback: a refusal or a
 * mistake in what was typed is one line). */
static int message_handler(lua_State *L)
{
    if (lua_istable(L, 1) && lua_getmetatable(L, 1)) {
        lua_getfield(L, LUA_REGISTRYINDEX, "haven.friendly");
        int friendly = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
        if (friendly)
            return 1;
    }
    if (lua_type(L, 1) != LUA_TSTRING)
        lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    else
        lua_settop(L, 1);
    return 1;
}

/* Interactive sessions mark refusals with "! "; scripts use the command
 * line's one-line form "haven: WHAT: WHY". */
static const char *refusal_prefix = "haven: ";

/* The message of the Lua error at idx without the chunk's name: "stdin:1: "
 * and "prelude:N: " go, "stdin:N: " of a statement over several lines
 * becomes "line N: " in where (else "").  Returns the message (borrowed
 * from the stack). */
static const char *lua_error_text(lua_State *L, int idx, char *where, size_t size)
{
    const char *msg = lua_tostring(L, idx);
    where[0] = '\0';
    if (!msg)
        return "error";
    static const char *const chunks[] = {"stdin:", "prelude:"};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        size_t n = strlen(chunks[i]);
        const char *p = msg + n, *digits = p;
        if (strncmp(msg, chunks[i], n))
            continue;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == digits || p - digits > 9 || p[0] != ':' || p[1] != ' ')
            continue;
        if (i == 0 && !(p - digits == 1 && *digits == '1'))
            snprintf(where, size, "line %.*s: ", (int)(p - digits), digits);
        return p + 2;
    }
    return msg;
}

/* Prints the error at the top, one line; returns its exit code: a friendly
 * refusal's own, the engine's for a failure the module raised (64 for the
 * clock of a live database), 70 out of memory, else 65 (an error in the
 * Lua that was typed). */
static int report_error(lua_State *L, int status)
{
    int code = hv_status_exit_code(status == LUA_ERRMEM ? HV_NOMEM : HV_INVALID);
    int engine_code = lhaven_error_code(L, -1);
    if (lua_istable(L, -1)) {
        int isnum = 0;
        lua_getfield(L, -1, "message");
        lua_getfield(L, -2, "code");
        code = (int)lua_tointegerx(L, -1, &isnum);
        if (!isnum || code <= 0 || code > 125)
            code = hv_status_exit_code(HV_REFUSED);
        const char *msg = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2)
                                                         : "refused";
        fprintf(stderr, "%s%s\n", refusal_prefix, msg);
        lua_pop(L, 2);
    } else if (engine_code) { /* the engine's own refusal says what */
        code = engine_code;
        fprintf(stderr, "%s%s\n", refusal_prefix,
                lua_tostring(L, -1) ? lua_tostring(L, -1) : "refused");
    } else { /* an error in the Lua that was typed: "error: MESSAGE" */
        char where[32];
        const char *msg = lua_error_text(L, -1, where, sizeof where);
        fprintf(stderr, "%s%serror: %s%s\n",
                refusal_prefix[0] == '!' ? "" : "haven: repl: ",
                status == LUA_ERRSYNTAX ? "syntax " : "", where, msg);
    }
    lua_pop(L, 1);
    fflush(stderr);
    return code;
}

/* A hook that stops the running code with "interrupted!" (set by
 * on_sigint). */
static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted!");
}

/* SIGINT: marks the interruption and, while code runs, sets stop_hook (as
 * lua.c, never touching the state otherwise). */
static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
    if (running_state) /* as lua.c: stop running code at the next instruction */
        lua_sethook(running_state, stop_hook,
                    LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT, 1);
}

/* Runs the chunk on the stack with a message handler; prints results
 * (prelude.lua's __print_values). */
static int run_chunk(lua_State *L)
{
    int base = lua_gettop(L);
    lua_pushcfunction(L, message_handler);
    lua_insert(L, base);
    running_state = L;
    int status = lua_pcall(L, 0, LUA_MULTRET, base);
    running_state = NULL;
    lua_sethook(L, NULL, 0, 0);
    lua_remove(L, base);
    if (status != LUA_OK)
        return report_error(L, status);
    int n = lua_gettop(L) - base + 1;
    /* called with no values too: the prelude forgets what register{}
     * announced, once the chunk that registered is over */
    {
        lua_getglobal(L, "__print_values");
        lua_insert(L, base);
        lua_pushcfunction(L, message_handler);
        lua_insert(L, base);
        status = lua_pcall(L, n, 0, base);
        lua_remove(L, base);
        if (status != LUA_OK)
            return report_error(L, status);
    }
    lua_settop(L, base - 1);
    return 0;
}

/* Compiles text: first as "return <text>" (expressions print), then as a
 * statement.  Returns LUA_OK, or the status with the message on the stack. */
static int compile(lua_State *L, const char *text)
{
    const char *ret = lua_pushfstring(L, "return %s;", text);
    int status = luaL_loadbufferx(L, ret, strlen(ret), "=stdin", "t");
    lua_remove(L, -2);
    if (status == LUA_OK)
        return LUA_OK;
    lua_pop(L, 1);
    return luaL_loadbufferx(L, text, strlen(text), "=stdin", "t");
}

/* 1 if the message on the stack says the input ended too soon. */
static int incomplete(lua_State *L, int status)
{
    if (status != LUA_ERRSYNTAX)
        return 0;
    size_t n;
    const char *msg = lua_tolstring(L, -1, &n);
    return n >= 5 && strcmp(msg + n - 5, "<eof>") == 0;
}

/* ---- the sandbox ------------------------------------------------------------ */

/* load() of text only. */
static int safe_load(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *name = luaL_optstring(L, 2, "=(load)");
    if (luaL_loadbufferx(L, s, n, name, "t") != LUA_OK) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    return 1;
}

/* Opens the Lua libraries of the REPL in L: the safe subset, or all with
 * unsafe (haven then also by require); sets the global haven. */
static void open_libraries(lua_State *L, int unsafe)
{
    if (unsafe) {
        luaL_openlibs(L);
        luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
        lua_pushcfunction(L, luaopen_haven);
        lua_setfield(L, -2, "haven");
        lua_pop(L, 1);
    } else {
        lhaven_open_safe_libraries(L);
        lua_pushnil(L);
        lua_setglobal(L, "collectgarbage");
        lua_pushcfunction(L, safe_load);
        lua_setglobal(L, "load");
    }
    luaopen_haven(L);
    if (!unsafe) {
        /* Only what acts as nobody: no haven.open (another user, another
         * database), no haven.init (files anywhere), no rules_check (a
         * folder anywhere).  The REPL's engine is its one way in. */
        static const char *const kept[] = {"time", "iso", "duration", "steps",
                                           "version", NULL};
        lua_createtable(L, 0, 5);
        for (const char *const *k = kept; *k; k++) {
            lua_getfield(L, -2, *k);
            lua_setfield(L, -2, *k);
        }
        lua_remove(L, -2);
    }
    lua_setglobal(L, "haven");
}

/* ---- completion -------------------------------------------------------------- */

/* The REPL's commands (prelude.lua), the steps from HV_STEP_MAP among
 * them: what completion offers and what the history keeps. */
static const char *const repl_commands[] = {
    "due", "show", "open", "register", "search", "help", "whoami", "list",
#define STEP_NAME(verb, synopsis, help) #verb,
    HV_STEP_MAP(STEP_NAME)
#undef STEP_NAME
    "note", "explain", "history", "now", "advance", NULL};

/* 1 if the n bytes at s are one of words. */
static int in_list(const char *const *words, const char *s, size_t n)
{
    for (const char *const *w = words; *w; w++)
        if (strlen(*w) == n && !strncmp(*w, s, n))
            return 1;
    return 0;
}

static lua_State *completion_state;
static json_t *candidates; /* words offered by the generator */

/* Offers the word w (none if NULL or empty) among the candidates.  Returns
 * 0, or -1 when out of memory. */
static int add_word(const char *w)
{
    if (!w || !*w)
        return 0;
    return json_array_append_new(candidates, json_string(w));
}

/* Offers the references of recent cases (engine:list, at most 500).
 * Returns 0, or -1 when out of memory.  Leaves L's stack as it was. */
static int add_references(lua_State *L)
{
    int bad = 0;
    lua_getglobal(L, "engine");
    if (lua_isuserdata(L, -1)) {
        lua_getfield(L, -1, "list");
        lua_pushvalue(L, -2);
        lua_createtable(L, 0, 1);
        lua_pushinteger(L, 500);
        lua_setfield(L, -2, "limit");
        if (lua_pcall(L, 2, 1, 0) == LUA_OK && lua_istable(L, -1)) {
            for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TTABLE; i++) {
                lua_getfield(L, -1, "ref");
                bad |= add_word(lua_tostring(L, -1));
                lua_pop(L, 2);
            }
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return bad;
}

/* Offers the codes of the workflow's lookup `name` (NULL: of every
 * lookup), or its stage ids when name is "stages".  Returns 0, or -1 when
 * out of memory.  Leaves L's stack as it was. */
static int add_lookup(lua_State *L, const char *name)
{
    int bad = 0;
    lua_getglobal(L, "engine");
    if (lua_isuserdata(L, -1)) {
        lua_getfield(L, -1, "workflow");
        lua_pushvalue(L, -2);
        if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
            int stages = name && !strcmp(name, "stages");
            lua_getfield(L, -1, stages ? "stages" : "lookups");
            lua_pushnil(L);
            while (lua_istable(L, -2) && lua_next(L, -2)) {
                if (stages && lua_istable(L, -1)) {
                    lua_getfield(L, -1, "id");
                    bad |= add_word(lua_tostring(L, -1));
                    lua_pop(L, 1);
                } else if (!stages && lua_istable(L, -1) &&
                           (!name || (lua_type(L, -2) == LUA_TSTRING &&
                                      !strcmp(lua_tostring(L, -2), name)))) {
                    for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
                        bad |= add_word(lua_tostring(L, -1));
                        lua_pop(L, 1);
                    }
                    lua_pop(L, 1);
                }
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return bad;
}

/* What may be written inside the quotes of `KEY = "...` (or of a list
 * `KEY = { "...`) in a command: a lookup of the workflow, or a fixed list
 * of codes (help's synopses).  cmd NULL: any command. */
static const char *const assessment_kinds[] = {"initial", "comprehensive",
                                               "reassessment", NULL};
static const char *const action_states[] = {"in_progress", "done", "dropped", NULL};
static const char *const referral_states[] = {"accepted", "declined", "completed", NULL};
static const char *const responsible[] = {"caseworker", "child", "family", "provider",
                                          NULL};
static const char *const action_types[] = {"direct_support", "referral",
                                           "coordination", NULL};
static const char *const evaluations[] = {"achieved", "partly_achieved",
                                          "not_achieved", NULL};
static const char *const subjects[] = {"plan", "closure", "transfer", NULL};
static const struct {
    const char *cmd, *key, *lookup;
    const char *const *codes;
} value_sources[] = {
    {NULL, "method", "followup_methods", NULL},
    {NULL, "safety", "safety_levels", NULL},
    {NULL, "source", "referral_sources", NULL},
    {NULL, "concern", "concerns", NULL},
    {NULL, "concerns", "concerns", NULL},
    {NULL, "service", "services", NULL},
    {"evaluate", "outcome", NULL, evaluations},
    {NULL, "outcome", "review_outcomes", NULL},
    {"close", "reason", "closure_reasons", NULL},
    {NULL, "scope", "consent_scopes", NULL},
    {NULL, "given_by", "consent_givers", NULL},
    {NULL, "discussed_with", "closure_discussed_with", NULL},
    {NULL, "changes", "assessment_changes", NULL},
    {NULL, "kind", NULL, assessment_kinds},
    {"act", "status", NULL, action_states},
    {"refer", "status", NULL, referral_states},
    {NULL, "responsible", NULL, responsible},
    {NULL, "type", NULL, action_types},
    {NULL, "subject", NULL, subjects},
    {NULL, "stage", "stages", NULL},
};

/* Offers the values that fit key in the command cmd (none for a key
 * whose value is free text: a name, a goal, notes).  Returns 0, or -1
 * when out of memory. */
static int add_values(lua_State *L, const char *cmd, const char *key)
{
    for (size_t i = 0; i < sizeof value_sources / sizeof value_sources[0]; i++) {
        if (strcmp(key, value_sources[i].key) ||
            (value_sources[i].cmd && strcmp(cmd, value_sources[i].cmd)))
            continue;
        if (value_sources[i].lookup)
            return add_lookup(L, value_sources[i].lookup);
        int bad = 0;
        for (const char *const *c = value_sources[i].codes; *c; c++)
            bad |= add_word(*c);
        return bad;
    }
    return 0;
}

static int ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
}

/* The identifier that ends just before line[end] (after spaces) into out;
 * returns where it starts (or -1 if there is none). */
static int ident_before(const char *line, int end, char *out, size_t size)
{
    while (end > 0 && line[end - 1] == ' ')
        end--;
    int begin = end;
    while (begin > 0 && ident_char(line[begin - 1]))
        begin--;
    if (begin == end || (size_t)(end - begin) >= size)
        return -1;
    snprintf(out, size, "%.*s", end - begin, line + begin);
    return begin;
}

/* Inside a string opened at line[quote]: the key it is the value of
 * (`key = "`, or `key = { "a", "` for a list) into key ("" when none: a
 * command's argument, `show "`).  Returns 0, or -1 when the string is
 * not where a value goes. */
static int string_key(const char *line, int quote, char *key, size_t size)
{
    int i = quote;
    key[0] = '\0';
    while (i > 0 && line[i - 1] == ' ')
        i--;
    /* a list: back over its items to its `{` */
    if (i > 0 && (line[i - 1] == ',' || line[i - 1] == '{')) {
        while (i > 0 && line[i - 1] != '{' && line[i - 1] != '=')
            i--;
        if (i == 0 || line[i - 1] != '{')
            return -1;
        i--;
        while (i > 0 && line[i - 1] == ' ')
            i--;
        if (i == 0 || line[i - 1] != '=')
            return 0; /* a command's table with strings in it: no key */
    }
    if (i > 0 && line[i - 1] == '=') {
        if (ident_before(line, i - 1, key, size) < 0)
            return -1;
    }
    return 0;
}

/* Offers, for `prefix.` or `prefix:` (prefix a global, or a path of
 * names through tables), the keys of that table, or the methods of a case
 * or engine (its metatable's "methods" or __index table); `:` offers only
 * functions.  Reads with raw accesses, so nothing typed runs.  Returns
 * 0, or -1 when out of memory.  Leaves L's stack as it was. */
static int add_members(lua_State *L, const char *text, size_t sep)
{
    char path[256];
    int bad = 0, top = lua_gettop(L);
    int methods_only = text[sep] == ':';
    if (sep >= sizeof path)
        return 0;
    memcpy(path, text, sep);
    path[sep] = '\0';
    lua_pushglobaltable(L);
    for (char *name = path, *dot; name; name = dot) {
        if ((dot = strchr(name, '.')))
            *dot++ = '\0';
        if (!lua_istable(L, -1)) {
            lua_settop(L, top);
            return 0;
        }
        lua_pushstring(L, name);
        lua_rawget(L, -2);
        lua_remove(L, -2);
    }
    if (!lua_istable(L, -1) && lua_getmetatable(L, -1)) {
        /* a case (its methods) or an engine (its __index table) */
        lua_pushliteral(L, "methods");
        lua_rawget(L, -2);
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            lua_pushliteral(L, "__index");
            lua_rawget(L, -2);
        }
        lua_remove(L, -2);
        lua_remove(L, -2);
    }
    if (lua_istable(L, -1)) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            if (lua_type(L, -2) == LUA_TSTRING &&
                (!methods_only || lua_isfunction(L, -1))) {
                char word[300];
                snprintf(word, sizeof word, "%.*s%s", (int)sep + 1, text,
                         lua_tostring(L, -2));
                bad |= add_word(word);
            }
            lua_pop(L, 1);
        }
    }
    lua_settop(L, top);
    return bad;
}

/* Makes the candidates for text, the word at line[start..end), from its
 * context: after `x.` or `x:` the members of x; inside quotes the values
 * that fit the key being written (`method = "ph` offers follow-up
 * methods, never a concern; `show "` references; a free-text key
 * nothing); else the REPL's commands.  Out of memory, none.  Leaves L's
 * stack as it was. */
static void collect_words(lua_State *L, const char *line, int start, const char *text)
{
    int bad = 0;
    json_decref(candidates);
    candidates = json_array();
    size_t sep = strcspn(text, ".:");
    char key[64], cmd[64] = "";
    int cmd_end = 0;
    while (line[cmd_end] == ' ')
        cmd_end++;
    while (ident_char(line[cmd_end]))
        cmd_end++;
    ident_before(line, cmd_end, cmd, sizeof cmd);
    if (text[sep]) {
        bad |= add_members(L, text, sep);
    } else if (start > 0 && (line[start - 1] == '"' || line[start - 1] == '\'')) {
        if (string_key(line, start - 1, key, sizeof key) == 0) {
            /* a string argument is a reference, but for the commands
             * whose argument is free text or a login */
            static const char *const free_text[] = {"note", "search", "reopen",
                                                    "reject", "assign", NULL};
            if (key[0])
                bad |= add_values(L, cmd, key);
            else if (!in_list(free_text, cmd, strlen(cmd)))
                bad |= add_references(L);
        }
    } else {
        for (const char *const *c = repl_commands; *c; c++)
            bad |= add_word(*c);
        bad |= add_word("haven") | add_word("engine") | add_word("case");
    }
    if (bad) {
        json_decref(candidates);
        candidates = NULL;
    }
}

/* readline's generator: the next candidate (malloc'd, readline frees it)
 * that starts with text, state 0 starting over; NULL when none is left. */
static char *generator(const char *text, int state)
{
    static size_t index;
    if (!state)
        index = 0;
    size_t n = strlen(text);
    while (index < json_array_size(candidates)) {
        const char *w = json_string_value(json_array_get(candidates, index++));
        if (strncmp(w, text, n) == 0)
            return strdup(w);
    }
    return NULL;
}

/* readline's completion: the candidates for text (collect_words), never
 * file names. */
static char **complete(const char *text, int start, int end)
{
    (void)end;
    rl_attempted_completion_over = 1;
    collect_words(completion_state, rl_line_buffer, start, text);
    return rl_completion_matches(text, generator);
}

/* ---- history ------------------------------------------------------------------ */

/* What ~/.haven_history may keep: only lines made of command names,
 * references, codes, numbers and punctuation.  A line with any other
 * identifier, a string that is not a reference or a known code, a comment,
 * a long string or an escape, or one that continues a statement, is free
 * text that may name a child or tell their story: it is never written. */

/* The identifiers a saved line may hold besides the REPL's commands: the
 * keys of the commands' tables (help's synopses) and Lua's constants. */
static const char *const history_keys[] = {
    "for", "team", "agency", "overdue", "within", "limit", "stage", "source",
    "concern", "assignee", "kind", "safety", "method", "outcome", "reason",
    "scope", "given_by", "withdraw", "action", "status", "referral",
    "service", "to", "expect_version", "force", "true", "false", "nil",
    "case", "close_case", NULL};

/* Codes a command takes that are not the workflow's lookups (help's
 * synopses): assessment kinds, action and referral states, responsible
 * parties, action types, evaluation outcomes. */
static const char *const history_codes[] = {
    "initial", "comprehensive", "reassessment", "in_progress", "done",
    "dropped", "accepted", "declined", "completed", "caseworker", "child",
    "family", "provider", "direct_support", "referral", "coordination",
    "achieved", "partly_achieved", "not_achieved", NULL};

/* Commands whose argument is always identifying or narrative: their lines
 * are never saved, whatever they quote. */
static const char *const history_never[] = {"register", "search", "note", NULL};

static json_t *history_words; /* known codes and command names (a set) */


/* Makes history_words: the REPL's commands, the codes above, and the
 * workflow's lookup codes and stage ids.  Out of memory, none (then no
 * string is a known code).  Leaves L's stack as it was. */
static void collect_history_words(lua_State *L)
{
    json_decref(history_words);
    history_words = json_object();
    for (const char *const *w = repl_commands; *w; w++)
        json_object_set_new(history_words, *w, json_true());
    for (const char *const *w = history_codes; *w; w++)
        json_object_set_new(history_words, *w, json_true());
    lua_getglobal(L, "engine");
    if (lua_isuserdata(L, -1)) {
        lua_getfield(L, -1, "workflow");
        lua_pushvalue(L, -2);
        if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
            lua_getfield(L, -1, "lookups");
            lua_pushnil(L);
            while (lua_istable(L, -2) && lua_next(L, -2)) {
                for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
                    json_object_set_new(history_words, lua_tostring(L, -1), json_true());
                    lua_pop(L, 1);
                }
                lua_pop(L, 2);
            }
            lua_pop(L, 1);
            lua_getfield(L, -1, "stages");
            for (lua_Integer i = 1; lua_istable(L, -1) &&
                                    lua_rawgeti(L, -1, i) == LUA_TTABLE; i++) {
                lua_getfield(L, -1, "id");
                if (lua_isstring(L, -1))
                    json_object_set_new(history_words, lua_tostring(L, -1), json_true());
                lua_pop(L, 2);
            }
            lua_pop(L, 2);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* The engine whose references the history keeps (hv_repl_run). */
static const hv_engine *history_engine;

/* The end of a number starting at p when it is a short decimal one (at
 * most 4 digits, a point among them allowed; no hex, exponent or letter
 * after it), else NULL: a phone number or an id is no number to keep. */
static const char *short_number(const char *p)
{
    int digits = 0, points = 0;
    for (; (*p >= '0' && *p <= '9') || *p == '.'; p++) {
        if (*p == '.' && (++points > 1 || p[1] == '.'))
            return NULL;
        digits += *p != '.';
    }
    if (digits > 4 || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
        *p == '_')
        return NULL;
    return p;
}

/* 1 if the statement text may be written to the history (see above). */
static int history_worthy(const char *text)
{
    const char *p = text;
    if (strchr(text, '\n') || strchr(text, '\r'))
        return 0; /* a statement over several lines */
    while (*p) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\t') {
            p++;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
            const char *w = p;
            while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') || *p == '_')
                p++;
            size_t n = (size_t)(p - w);
            if (in_list(history_never, w, n) ||
                !(in_list(repl_commands, w, n) || in_list(history_keys, w, n)))
                return 0;
        } else if (c >= '0' && c <= '9') {
            if (!(p = short_number(p)))
                return 0;
        } else if (c == '"' || c == '\'') {
            const char *w = ++p;
            while (*p && *p != (char)c && *p != '\\')
                p++;
            if (*p != (char)c)
                return 0; /* an escape, or no end */
            size_t n = (size_t)(p++ - w);
            /* a reference of this database, or a known code */
            if (!(history_engine && hv_engine_is_reference(history_engine, w, n)) &&
                !(history_words && n < 64 && json_object_getn(history_words, w, n)))
                return 0;
        } else if (c == '-' && p[1] == '-') {
            return 0; /* a comment */
        } else if (c == '[' && (p[1] == '[' || p[1] == '=')) {
            return 0; /* a long string */
        } else if (strchr("(){}[],;=.:+-*/%^#<>~", c)) {
            p++;
        } else {
            return 0;
        }
    }
    return 1;
}

static char history_path[4096];

/* Reads ~/.haven_history (made 0600 when missing) into readline's history. */
static void history_open(void)
{
    const char *home = getenv("HOME");
    if (!home || !*home)
        return;
    snprintf(history_path, sizeof history_path, "%s/.haven_history", home);
    /* Created 0600: only its owner reads it. */
    int fd = open(history_path, O_CREAT | O_RDWR, 0600);
    if (fd < 0) {
        history_path[0] = '\0';
        return;
    }
    fchmod(fd, 0600);
    close(fd);
    read_history(history_path);
}

/* Writes readline's history back to ~/.haven_history. */
static void history_save(void)
{
    if (history_path[0])
        write_history(history_path);
}

/* ---- the interactive loop ------------------------------------------------------ */

static char *pending_line;
static int line_ready, eof_seen;

/* readline's callback: hands a line over to the loop (NULL at end of
 * input); the loop owns it. */
static void line_handler(char *line)
{
    if (!line)
        eof_seen = 1;
    pending_line = line;
    line_ready = 1;
    rl_callback_handler_remove();
}

/* Reads one line with readline's callback interface so Ctrl-C only sets a
 * flag.  Returns the line (malloc'd), NULL at EOF, or "" with *cancelled
 * set when Ctrl-C was pressed. */
static char *read_line(const char *prompt, int *cancelled)
{
    *cancelled = 0;
    line_ready = 0;
    eof_seen = 0;
    pending_line = NULL;
    rl_callback_handler_install(prompt, line_handler);
    while (!line_ready) {
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(fileno(rl_instream), &fds);
        int r = select(fileno(rl_instream) + 1, &fds, NULL, NULL, NULL);
        if (interrupted) {
            interrupted = 0;
            rl_free_line_state();
            rl_callback_sigcleanup();
            rl_callback_handler_remove();
            fputs("^C\n", rl_outstream);
            fflush(rl_outstream);
            *cancelled = 1;
            return strdup("");
        }
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rl_callback_handler_remove();
            return NULL;
        }
        rl_callback_read_char();
    }
    return eof_seen ? NULL : pending_line;
}

/* The prompt: the open case, and ">>" while a statement continues. */
static void make_prompt(lua_State *L, int continuing, char *buf, size_t size)
{
    if (continuing) {
        snprintf(buf, size, ">> ");
        return;
    }
    lua_getglobal(L, "__prompt_case");
    if (lua_isstring(L, -1))
        snprintf(buf, size, "haven %s> ", lua_tostring(L, -1));
    else
        snprintf(buf, size, "haven> ");
    lua_pop(L, 1);
}

/* The statement so far: *acc (the lines of a statement that goes on; freed
 * and set to NULL) and line joined by a newline, or line alone.  Returns
 * malloc'd text (the caller's), or NULL when out of memory. */
static char *join_statement(char **acc, const char *line)
{
    char *text;
    if (!*acc)
        return strdup(line);
    text = malloc(strlen(*acc) + strlen(line) + 2);
    if (text)
        sprintf(text, "%s\n%s", *acc, line);
    free(*acc);
    *acc = NULL;
    return text;
}

/* Adds line to the statement being typed (*acc) and compiles it.  Returns
 * the statement's text (malloc'd, the caller's) with compile's status in
 * *status (the chunk, or the error message, pushed on L); or NULL when
 * there is nothing to run yet: an empty line, a statement that goes on
 * (kept in *acc), or out of memory (*status LUA_ERRMEM); nothing pushed. */
static char *next_statement(lua_State *L, char **acc, const char *line, int *status)
{
    char *text = join_statement(acc, line);
    *status = text ? LUA_OK : LUA_ERRMEM;
    if (!text)
        return NULL;
    if (!*text) {
        free(text);
        return NULL;
    }
    *status = compile(L, text);
    if (incomplete(L, *status)) {
        lua_pop(L, 1);
        *acc = text;
        *status = LUA_OK;
        return NULL;
    }
    return text;
}

/* The interactive loop on a terminal: reads, runs and prints until Ctrl-D.
 * Returns the exit code. */
static int interactive(lua_State *L, int unsafe, hv_engine *e, const char *actor)
{
    char prompt[96];
    luaL_Buffer pending;
    int have_pending = 0;
    printf("Haven %s REPL - acting as %s%s. help() lists the commands; "
           "Ctrl-D leaves.\n",
           HV_VERSION_STRING, actor,
           unsafe ? " - UNSAFE: the full Lua standard library, no sandbox" : "");
    completion_state = L;
    refusal_prefix = "! ";
    rl_attempted_completion_function = complete;
    rl_catch_signals = 0;
    rl_readline_name = "haven";
    history_open();
    collect_history_words(L);
    history_engine = e;
    char *acc = NULL; /* the statement being typed over several lines */
    (void)pending;
    (void)have_pending;
    for (;;) {
        int cancelled;
        make_prompt(L, acc != NULL, prompt, sizeof prompt);
        char *line = read_line(prompt, &cancelled);
        if (!line) {
            putchar('\n');
            break;
        }
        if (cancelled) {
            free(acc);
            acc = NULL;
            free(line);
            continue;
        }
        int status;
        char *text = next_statement(L, &acc, line, &status);
        free(line);
        if (!text) {
            if (status == LUA_ERRMEM)
                fprintf(stderr, "%s\n", hv_strerror(HV_NOMEM));
            continue;
        }
        if (history_worthy(text))
            add_history(text);
        free(text);
        if (status != LUA_OK) {
            report_error(L, status);
            continue;
        }
        run_chunk(L);
        fflush(stdout);
    }
    free(acc);
    history_save();
    json_decref(candidates);
    candidates = NULL;
    json_decref(history_words);
    history_words = NULL;
    return 0;
}

/* Not a terminal: reads statements from stdin, stops at the first error. */
static int batch(lua_State *L, FILE *in)
{
    char *line = NULL, *acc = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, in)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        int status;
        char *text = next_statement(L, &acc, line, &status);
        if (!text && status == LUA_ERRMEM) {
            free(line);
            fprintf(stderr, "haven: repl: %s\n", hv_strerror(HV_NOMEM));
            return hv_status_exit_code(HV_NOMEM);
        }
        if (!text)
            continue;
        free(text);
        int code = 0;
        if (status != LUA_OK)
            code = report_error(L, status);
        else
            code = run_chunk(L);
        fflush(stdout);
        if (code) {
            free(line);
            return code;
        }
    }
    free(line);
    if (acc) {
        fprintf(stderr, "haven: repl: stdin: the input ended inside a statement\n");
        free(acc);
        return hv_status_exit_code(HV_INVALID);
    }
    return 0;
}

/* The acting user's role, looked up through the engine at the top of L's
 * stack (its users(): only an existing, active user may list them).  Pushes
 * the role and returns 0; or prints the refusal "haven: WHY", pushes
 * nothing and returns its exit code (77 for an unknown or disabled user). */
static int push_acting_role(lua_State *L)
{
    static const char check[] =
        "local E = ...\n"
        "local users, msg, code = E:users()\n"
        "if not users then return nil, msg, code end\n"
        "local me = E:whoami()\n"
        "for _, u in ipairs(users) do\n"
        "  if u.login == me and u.active then return u.role end\n"
        "end\n"
        "return nil, 'the acting user: no such active user here', 77\n";
    int top = lua_gettop(L);
    if (luaL_loadbufferx(L, check, sizeof check - 1, "=repl", "t") != LUA_OK) {
        lua_settop(L, top);
        return hv_status_exit_code(HV_INTERNAL);
    }
    lua_pushvalue(L, top);
    if (lua_pcall(L, 1, 3, 0) != LUA_OK) {
        fprintf(stderr, "haven: repl: %s\n", lua_tostring(L, -1) ? lua_tostring(L, -1)
                                                                  : "error");
        lua_settop(L, top);
        return hv_status_exit_code(HV_INTERNAL);
    }
    if (lua_type(L, -3) == LUA_TSTRING) {
        lua_pop(L, 2);
        return 0;
    }
    int isnum = 0, code = (int)lua_tointegerx(L, -1, &isnum);
    if (!isnum || code <= 0 || code > 125)
        code = hv_status_exit_code(HV_DENIED);
    fprintf(stderr, "haven: %s\n",
            lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "refused");
    lua_settop(L, top);
    return code;
}

int hv_repl_run(hv_engine *e, const hv_repl_options *o)
{
    lua_State *L = luaL_newstate();
    if (!L)
        return hv_status_exit_code(HV_NOMEM);
    int code = 0;
    char actor[128], err[512];
    open_libraries(L, o->unsafe && !o->server);
    if (o->server) { /* the server's engine, as the user it authenticates */
        if ((code = lremote_push_engine(L, o->server, actor, sizeof actor, err,
                                        sizeof err))) {
            fprintf(stderr, "haven: %s\n", err);
            lua_close(L);
            return code;
        }
    } else {
        snprintf(actor, sizeof actor, "%s", hv_engine_actor(e));
        lhaven_push_borrowed_engine(L, e);
    }
    /* Only an existing, active user starts a session: refused here, before
     * any prompt, rather than at the first command. */
    if ((code = push_acting_role(L))) {
        lua_close(L);
        return code;
    }
    snprintf(actor + strlen(actor), sizeof actor - strlen(actor), " (%s)",
             lua_tostring(L, -1));
    lua_insert(L, -2);
    lua_setglobal(L, "engine");
    /* The caseworker commands, given the engine, the renderers and the
     * acting user's role. */
    static const luaL_Reg renderers[] = {
        {"case", r_case}, {"due", r_due}, {"search", r_search}, {"list", r_list},
        {"explain", r_explain}, {"history", r_history}, {"step", r_step},
        {NULL, NULL}};
    if (luaL_loadbufferx(L, repl_prelude, strlen(repl_prelude), "=prelude", "t") !=
        LUA_OK) {
        fprintf(stderr, "haven: repl: %s\n", lua_tostring(L, -1));
        lua_close(L);
        return hv_status_exit_code(HV_INTERNAL);
    }
    lua_insert(L, -2); /* the prelude below the role */
    lua_getglobal(L, "engine");
    luaL_newlib(L, renderers);
    lua_rotate(L, -3, -1); /* prelude, engine, renderers, role */
    if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
        fprintf(stderr, "haven: repl: %s\n", lua_tostring(L, -1));
        lua_close(L);
        return hv_status_exit_code(HV_INTERNAL);
    }
    /* The prelude's marker for friendly errors, kept out of reach of the
     * REPL's Lua. */
    lua_getglobal(L, "__friendly_mt");
    lua_setfield(L, LUA_REGISTRYINDEX, "haven.friendly");
    lua_pushnil(L);
    lua_setglobal(L, "__friendly_mt");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: select() wakes up */
    if (o->expr) {
        int status = compile(L, o->expr);
        code = status != LUA_OK ? report_error(L, status) : run_chunk(L);
        fflush(stdout);
    } else if (isatty(STDIN_FILENO)) {
        code = interactive(L, o->unsafe && !o->server, e, actor);
    } else {
        code = batch(L, stdin);
    }
    signal(SIGINT, SIG_DFL);
    lua_close(L);
    return code;
}
