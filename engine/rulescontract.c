/*
 * rulescontract.c - checking a hook's result against its contract, field
 * by field, with raw accesses only.
 */
#include "rulescontract.h"

#include "jbuf.h"
#include "pack.h"

#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <string.h>

#define MAX_LIST_ITEMS 100  /* reasons, factors, unmet */
#define MAX_SECONDS (10LL * 365 * 86400)
#define MAX_SCORE 1000 /* the risk's score: 0 to 1000 */

typedef enum { F_BOOL, F_NUMBER, F_SECONDS, F_SECONDS0, F_ENUM, F_CODE, F_LIST } field_type;
typedef struct {
    const char *name;
    field_type type;
    const char *const *values; /* F_ENUM */
} field;

static const char *const urgencies[] = {"immediate", "high", "normal", NULL};
static const char *const levels[] = {"low", "medium", "high", "critical", NULL};

static const field contract_registration[] = {
    {"eligible", F_BOOL, NULL}, {"urgency", F_ENUM, urgencies},
    {"reasons", F_LIST, NULL}, {NULL, F_BOOL, NULL}};
static const field contract_risk[] = {
    {"level", F_ENUM, levels}, {"score", F_NUMBER, NULL},
    {"factors", F_LIST, NULL}, {NULL, F_BOOL, NULL}};
static const field contract_followup[] = {
    {"every", F_SECONDS, NULL}, {"method", F_CODE, NULL},
    {"reasons", F_LIST, NULL}, {NULL, F_BOOL, NULL}};
static const field contract_closure[] = {
    {"ok", F_BOOL, NULL}, {"unmet", F_LIST, NULL},
    {"final_followup_after", F_SECONDS0, NULL}, {NULL, F_BOOL, NULL}};
static const field contract_assessment[] = {
    {"initial_due", F_SECONDS, NULL}, {"comprehensive_due", F_SECONDS, NULL},
    {NULL, F_BOOL, NULL}};
static const field contract_review[] = {{"every", F_SECONDS, NULL},
                                        {NULL, F_BOOL, NULL}};
static const field *const contracts[HV_HOOK_COUNT] = {
    contract_registration, contract_risk,       contract_followup,
    contract_closure,      contract_assessment, contract_review};

/* Describes the contract of a hook, e.g. "{ eligible, urgency, reasons }". */
static void contract_text(hv_hook h, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "{ ");
    for (const field *f = contracts[h]; f->name && n < size; f++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", f->name,
                              f[1].name ? ", " : " }");
}

/* 0 if every key of the table at idx is a field of hook h's contract
 * (raw traversal: no metamethods), else -1 with the message in why. */
static int check_unknown_fields(lua_State *L, hv_hook h, int idx, char *why,
                                size_t size)
{
    char shape[160];
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int known = 0;
        if (lua_type(L, -2) == LUA_TSTRING)
            for (const field *f = contracts[h]; f->name; f++)
                if (!strcmp(f->name, lua_tostring(L, -2)))
                    known = 1;
        if (!known) {
            contract_text(h, shape, sizeof shape);
            if (lua_type(L, -2) == LUA_TSTRING)
                snprintf(why, size, "a field that is not in the result %s "
                         "(the name is not echoed: it may quote the case)",
                         shape);
            else
                snprintf(why, size, "the result must be %s (it has a %s key)",
                         shape, luaL_typename(L, -2));
            lua_pop(L, 2);
            return -1;
        }
        lua_pop(L, 1);
    }
    return 0;
}

/* The checks below read the field's value on top of the stack (of Lua
 * type t); each returns 0 and sets *v (a new JSON value, unless vals is
 * given: then the scalar goes to *vals and *v stays NULL), or -1 with the
 * message in why. */

/* F_BOOL: true or false (its type checked by check_field). */
static int check_bool(lua_State *L, const field *f, int t, char *why,
                      size_t size, hv_rule_values *vals, json_t **v,
                      const json_t *codes)
{
    (void)t, (void)why, (void)size, (void)f, (void)codes; /* the type: check_field */
    if (vals)
        vals->ok = lua_toboolean(L, -1);
    else
        *v = json_boolean(lua_toboolean(L, -1));
    return 0;
}

/* F_NUMBER (the risk's score): a number from 0 to MAX_SCORE in tenths at
 * most.  Bounded so that no rule can store an identifier (a phone number,
 * an id, a date of birth as digits) as the score in cases.risk_score or a
 * decision. */
static int check_number(lua_State *L, const field *f, int t, char *why,
                        size_t size, hv_rule_values *vals, json_t **v,
                        const json_t *codes)
{
    (void)codes;
    lua_Number x = lua_tonumber(L, -1);
    if (t != LUA_TNUMBER || !isfinite(x) || x < 0 || x > MAX_SCORE ||
        fabs(x * 10 - round(x * 10)) > 1e-6) {
        snprintf(why, size, "'%s' must be a number from 0 to %d (in tenths "
                 "at most)", f->name, MAX_SCORE);
        return -1;
    }
    if (vals)
        vals->score = lua_tonumber(L, -1);
    else
        *v = lua_isinteger(L, -1) ? json_integer(lua_tointeger(L, -1))
                                  : hv__json_number(lua_tonumber(L, -1));
    return 0;
}

/* F_SECONDS (1 to 10 years) and F_SECONDS0 (0 to 10 years), whole. */
static int check_seconds(lua_State *L, const field *f, int t, char *why,
                         size_t size, hv_rule_values *vals, json_t **v,
                         const json_t *codes)
{
    (void)codes;
    lua_Number s = lua_tonumber(L, -1);
    if (t != LUA_TNUMBER || !isfinite(s) || s != floor(s) ||
        s < (f->type == F_SECONDS ? 1 : 0) || s > (lua_Number)MAX_SECONDS) {
        snprintf(why, size,
                 "'%s' must be a whole number of seconds %s 10 years "
                 "(use hours(), days(), weeks(), months())",
                 f->name, f->type == F_SECONDS ? "from 1 to" : "from 0 to");
        return -1;
    }
    if (vals && f->type == F_SECONDS0)
        vals->final_after = (int64_t)s;
    else if (vals)
        vals->every = (int64_t)s;
    else
        *v = json_integer((json_int_t)s);
    return 0;
}

/* 1 if s is one of the F_ENUM field's values, else 0. */
static int enum_ok(const field *f, const char *s)
{
    for (const char *const *e = f->values; *e; e++)
        if (!strcmp(*e, s))
            return 1;
    return 0;
}

/* 0 when s (of len bytes) is a code the pack declares; else -1 with why
 * naming what (the field name, and item i when i > 0) - never the text,
 * which may quote the case.  The name is formatted only on failure. */
static int code_ok(const char *s, size_t len, const json_t *codes,
                   const char *name, size_t i, char *why, size_t size)
{
    int known = s && strlen(s) == len && hv__pack_is_code(s);
    if (known && json_object_get(codes, s))
        return 0;
    char what[80];
    if (i)
        snprintf(what, sizeof what, "'%s'[%zu]", name, i);
    else
        snprintf(what, sizeof what, "'%s'", name);
    if (!known)
        snprintf(why, size, "%s must be a code ([a-z][a-z0-9_]*, at most 64 "
                 "bytes) that pack.yaml declares under codes:", what);
    else
        snprintf(why, size, "%s is a code pack.yaml does not declare (add it "
                 "with its wording under codes:)", what);
    return -1;
}

/* F_ENUM (one of its values; vals->level its position) and F_CODE (a
 * declared code; vals->method borrowed). */
static int check_word(lua_State *L, const field *f, int t, char *why,
                      size_t size, hv_rule_values *vals, json_t **v,
                      const json_t *codes)
{
    size_t len = 0;
    const char *s = t == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
    if (f->type == F_ENUM && (!s || !enum_ok(f, s))) {
        char list[120];
        size_t n = 0;
        list[0] = '\0';
        for (const char *const *e = f->values; *e; e++)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s",
                                  n ? ", " : "", *e);
        snprintf(why, size, "'%s' must be one of %s", f->name, list);
        return -1;
    }
    if (f->type == F_CODE && code_ok(s, len, codes, f->name, 0, why, size))
        return -1;
    if (vals && f->type == F_ENUM) {
        vals->level = 0;
        for (const char *const *e = f->values; strcmp(*e, s); e++)
            vals->level++;
    } else if (vals) {
        vals->method = s;
    } else {
        *v = json_string(s);
    }
    return 0;
}

/* Item i of the list at the top: 0 when it is a declared code, appended
 * to list (when not NULL); else -1 with why. */
static int check_item(lua_State *L, const field *f, size_t i, json_t *list,
                      const json_t *codes, char *why, size_t size)
{
    size_t len = 0;
    int t = lua_rawgeti(L, -1, (lua_Integer)i);
    const char *s = t == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
    int bad = code_ok(s, len, codes, f->name, i, why, size);
    json_t *item = !bad && list ? json_string(s) : NULL;
    lua_pop(L, 1);
    if (bad)
        return -1;
    if (list && json_array_append_new(list, item)) {
        snprintf(why, size, "out of memory");
        return -1;
    }
    return 0;
}

/* F_LIST: a sequence of at most MAX_LIST_ITEMS declared codes (a table:
 * checked by check_field). */
static int check_list(lua_State *L, const field *f, int t, char *why,
                      size_t size, hv_rule_values *vals, json_t **v,
                      const json_t *codes)
{
    (void)t; /* the type: check_field */
    int list = lua_gettop(L);
    size_t n = lua_rawlen(L, list), count = 0;
    lua_pushnil(L);
    while (lua_next(L, list)) {
        count++;
        lua_pop(L, 1);
    }
    if (count != n || n > MAX_LIST_ITEMS) {
        snprintf(why, size, "'%s' must be a list (a sequence of at most %d "
                 "items)", f->name, MAX_LIST_ITEMS);
        return -1;
    }
    json_t *out = vals ? NULL : json_array();
    if (!vals && !out)
        return 0; /* *v stays NULL: out of memory */
    for (size_t i = 1; i <= n; i++)
        if (check_item(L, f, i, out, codes, why, size)) {
            json_decref(out);
            return -1;
        }
    *v = out;
    return 0;
}

/* Checks one field of the result at idx (pushing and popping it). */
static int check_field(lua_State *L, hv_hook h, const field *f, int idx,
                       const json_t *codes, char *why, size_t size,
                       hv_rule_values *vals, json_t **v)
{
    static int (*const check[])(lua_State *, const field *, int, char *,
                                size_t, hv_rule_values *, json_t **,
                                const json_t *) = {
        [F_BOOL] = check_bool,     [F_NUMBER] = check_number,
        [F_SECONDS] = check_seconds, [F_SECONDS0] = check_seconds,
        [F_ENUM] = check_word,     [F_CODE] = check_word,
        [F_LIST] = check_list};
    /* the Lua type a field must have, where one type is all it may be */
    static const struct {
        int type;
        const char *what;
    } want[] = {[F_BOOL] = {LUA_TBOOLEAN, "true or false"},
                [F_LIST] = {LUA_TTABLE, "a list of codes"}};
    int rc;
    lua_pushstring(L, f->name);
    int t = lua_rawget(L, idx);
    if (t == LUA_TNIL) {
        char shape[160];
        contract_text(h, shape, sizeof shape);
        snprintf(why, size, "missing field '%s' in the result %s", f->name,
                 shape);
        rc = -1;
    } else if ((size_t)f->type < sizeof want / sizeof *want &&
               want[f->type].what && t != want[f->type].type) {
        snprintf(why, size, "'%s' must be %s, not a %s", f->name,
                 want[f->type].what, lua_typename(L, t));
        rc = -1;
    } else {
        rc = check[f->type](L, f, t, why, size, vals, v, codes);
    }
    lua_pop(L, 1);
    return rc;
}

json_t *hv__contract_check(lua_State *L, hv_hook h, int idx,
                           const json_t *codes, char *why, size_t size,
                           hv_rule_values *vals)
{
    if (lua_type(L, idx) != LUA_TTABLE) {
        char shape[160];
        contract_text(h, shape, sizeof shape);
        snprintf(why, size, "must return a table %s, not a %s value", shape,
                 luaL_typename(L, idx));
        return NULL;
    }
    if (check_unknown_fields(L, h, idx, why, size))
        return NULL;
    json_t *out = vals ? json_null() : json_object();
    if (!out) {
        snprintf(why, size, "out of memory");
        return NULL;
    }
    if (vals)
        memset(vals, 0, sizeof *vals);
    for (const field *f = contracts[h]; f->name; f++) {
        json_t *v = NULL;
        if (check_field(L, h, f, idx, codes, why, size, vals, &v)) {
            json_decref(out);
            return NULL;
        }
        if (vals)
            continue;
        if (!v || json_object_set_new(out, f->name, v)) {
            snprintf(why, size, "out of memory");
            json_decref(out);
            return NULL;
        }
    }
    return out;
}
