/*
 * ruleview.c - the case view as Lua tables, for the bulk path (rulesdiff):
 * one case held in C, shown to a hook as a read-only lazy table built
 * field by field on first use.  See ruleview.h.
 */
#include "ruleview.h"

#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#include "age.h"
#include "alloc.h"
#include "luajson.h"
#include "names.h"
#include "proxy.h"
#include "ruleneeds.h"

/* ---- one case, held in C ------------------------------------------------- */

/* The lists of a case, for the loops over all of them. */
#define CASE_LISTS(rec)                                                        \
    {&(rec)->concerns, &(rec)->consents, &(rec)->family, &(rec)->assessments, \
     &(rec)->followups, &(rec)->reviews, &(rec)->evaluations, &(rec)->actions}

void hv__view_case_init(hv_view_case *rec)
{
    static const int widths[] = {1, 2, 4, 4, 3, 2, 2, 4};
    hv_view_rows *lists[] = CASE_LISTS(rec);
    for (size_t k = 0; k < sizeof lists / sizeof *lists; k++)
        lists[k]->width = widths[k];
}

hv_view_cell *hv__view_rows_add(hv_view_case *rec, hv_view_rows *r)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        hv_view_cell *c = hv__realloc(r->cells, cap * (size_t)r->width * sizeof *c);
        if (!c) {
            rec->nomem = 1;
            return NULL;
        }
        r->cells = c;
        r->cap = cap;
    }
    hv_view_cell *row = r->cells + r->n++ * (size_t)r->width;
    memset(row, 0, (size_t)r->width * sizeof *row);
    return row;
}

/* Empties r (freeing its cells' JSON), keeping its memory. */
static void rows_clear(hv_view_rows *r)
{
    for (size_t k = 0; k < r->n * (size_t)r->width; k++)
        if (r->cells[k].type == HV_CELL_JSON)
            json_decref(r->cells[k].j);
    r->n = 0;
}

void hv__view_cell_clear(hv_view_cell *c)
{
    if (c->type == HV_CELL_JSON)
        json_decref(c->j);
    memset(c, 0, sizeof *c);
}

void hv__view_cell_int(hv_view_cell *c, int64_t v)
{
    c->type = HV_CELL_INT;
    c->i = v;
}

const char *hv__view_cell_str(const hv_view_case *rec, const hv_view_cell *c)
{
    return rec->text + c->off;
}

/* Appends t[0..n) and a NUL to the case's text; 0, or -1 when out of
 * memory. */
static int text_append(hv_view_case *rec, const char *t, size_t n)
{
    if (rec->text_len + n + 1 > rec->text_cap) {
        size_t cap = rec->text_cap ? rec->text_cap : 1024;
        while (cap < rec->text_len + n + 1)
            cap *= 2;
        char *grown = hv__realloc(rec->text, cap);
        if (!grown)
            return -1;
        rec->text = grown;
        rec->text_cap = cap;
    }
    memcpy(rec->text + rec->text_len, t, n);
    rec->text_len += n;
    rec->text[rec->text_len++] = '\0';
    return 0;
}

void hv__view_cell_text(hv_view_case *rec, hv_view_cell *c, const char *t,
                        size_t n)
{
    size_t off = rec->text_len;
    if (!t) {
        c->type = HV_CELL_NIL;
        return;
    }
    if (text_append(rec, t, n)) {
        rec->nomem = 1;
        c->type = HV_CELL_NIL;
        return;
    }
    c->type = HV_CELL_TEXT;
    c->off = off;
    c->len = n;
}

void hv__view_case_reset(hv_view_case *rec)
{
    hv_view_cell *singles[] = {&rec->form, &rec->child[0], &rec->child[1],
                               &rec->child[2], &rec->plan_goal,
                               &rec->closure_reason};
    for (size_t k = 0; k < sizeof singles / sizeof *singles; k++)
        hv__view_cell_clear(singles[k]);
    hv_view_rows *lists[] = CASE_LISTS(rec);
    for (size_t k = 0; k < sizeof lists / sizeof *lists; k++)
        rows_clear(lists[k]);
    rec->has_child = rec->has_plan = rec->plan_approved = 0;
    rec->followup_task = rec->review_task = 0;
    rec->closure_overridden = 0;
    rec->loaded = 0;
    rec->text_len = 0;
}

void hv__view_case_free(hv_view_case *rec)
{
    hv__view_case_reset(rec);
    hv_view_rows *lists[] = CASE_LISTS(rec);
    for (size_t k = 0; k < sizeof lists / sizeof *lists; k++) {
        hv__free(lists[k]->cells);
        lists[k]->cells = NULL;
        lists[k]->cap = 0;
    }
    hv__free(rec->text);
    rec->text = NULL;
    rec->text_cap = 0;
}

/* Opens a sealed cell (nil without the key) and parses it when it holds
 * JSON (nil when it is not JSON).  Returns NULL, or why it does not open. */
static const char *cell_ready(hv_view *v, hv_view_cell *c)
{
    hv_view_case *rec = &v->rec;
    if (c->type == HV_CELL_SEALED) {
        char *plain = NULL;
        size_t n = 0;
        const char *why = v->open(v->ud, (const unsigned char *)rec->text + c->off,
                                  c->len, &plain, &n);
        if (why)
            return why;
        hv__view_cell_text(rec, c, plain, n); /* nil without the key */
        hv__free(plain);
        if (rec->nomem)
            return "out of memory";
    }
    if (c->json && c->type == HV_CELL_TEXT) {
        json_t *j = json_loadb(rec->text + c->off, c->len, 0, NULL);
        c->type = j ? HV_CELL_JSON : HV_CELL_NIL;
        c->j = j;
    }
    c->json = 0;
    return NULL;
}

/* Reads part k of the case for the view; raises when it does not read. */
static void need(lua_State *L, hv_view *v, int k)
{
    const char *why = v->load(v->ud, k);
    if (why)
        luaL_error(L, "the case view: %s", why);
}

/* ---- the view, as Lua ----------------------------------------------------- */

enum { VIEW_ROOT, VIEW_CHILD };
static const char *const root_fields[] = {
    "ref", "stage", "status", "source", "location", "urgency", "registered_at",
    "form", "concerns", "consent", "child", "family", "risk", "evaluations",
    "assessments", "followups", "reviews", "plan", "closure", NULL};
/* the minimised view (ruleneeds.h): never the date of birth */
static const char *const child_fields[] = {"age", "sex", NULL};
static const char *const *const view_fields[] = {root_fields, child_fields};

static const char *const levels[] = {"low", "medium", "high", "critical"};

/* Pushes a cell (opening it first); raises if it does not open. */
static void push_cell(lua_State *L, hv_view *v, hv_view_cell *c)
{
    const char *why = cell_ready(v, c);
    if (why)
        luaL_error(L, "the case view: %s", why);
    switch (c->type) {
    case HV_CELL_INT: lua_pushinteger(L, (lua_Integer)c->i); break;
    case HV_CELL_REAL: lua_pushnumber(L, c->d); break;
    case HV_CELL_TEXT: lua_pushlstring(L, v->rec.text + c->off, c->len); break;
    case HV_CELL_BOOL: lua_pushboolean(L, (int)c->i); break;
    case HV_CELL_JSON: hv__lua_push_json(L, c->j, 1); break;
    default: lua_pushnil(L); break;
    }
}

/* Pushes the child's age today (age.h): from the date of birth when it is
 * recorded (opened here, never shown), else the age recorded plus the
 * years since; nil when neither is known.  Raises if the date of birth
 * does not open. */
static void push_child_age(lua_State *L, hv_view *v)
{
    hv_view_case *rec = &v->rec;
    hv_view_cell *dob = &rec->child[2], *age = &rec->child[0];
    const char *why = cell_ready(v, dob);
    if (why)
        luaL_error(L, "the case view: %s", why);
    int64_t now = hv__age_now(
        dob->type == HV_CELL_TEXT ? hv__view_cell_str(rec, dob) : NULL,
        age->type == HV_CELL_INT ? age->i : -1, rec->child_age_at, v->now);
    if (now < 0)
        lua_pushnil(L);
    else
        lua_pushinteger(L, (lua_Integer)now);
}

/* t[name] = the value on top, for the table below it (nil left out). */
static void set_top(lua_State *L, const char *name)
{
    if (lua_isnil(L, -1))
        lua_pop(L, 1);
    else
        lua_setfield(L, -2, name);
}

/* t[name] = c for the table on top (nil left out). */
static void set_cell(lua_State *L, hv_view *v, const char *name, hv_view_cell *c)
{
    push_cell(L, v, c);
    set_top(L, name);
}

/* Pushes the side's one empty read-only list. */
static void push_empty(lua_State *L, hv_view_side *sd)
{
    if (sd->empty_ref == LUA_NOREF) {
        lua_newtable(L);
        hv__proxy_make(L);
        lua_pushvalue(L, -1);
        sd->empty_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        return;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, sd->empty_ref);
}

/* Pushes a read-only list of rows (each a read-only table of names), or of
 * the first cells when names is NULL. */
static void push_rows(lua_State *L, hv_view_side *sd, hv_view_rows *r,
                      const char *const *names)
{
    hv_view *v = sd->v;
    if (r->n == 0) {
        push_empty(L, sd);
        return;
    }
    lua_createtable(L, (int)r->n, 0);
    for (size_t i = 0; i < r->n; i++) {
        hv_view_cell *row = r->cells + i * (size_t)r->width;
        if (!names) {
            push_cell(L, v, &row[0]);
        } else {
            lua_createtable(L, 0, r->width);
            for (int k = 0; k < r->width; k++)
                set_cell(L, v, names[k], &row[k]);
            hv__proxy_make(L);
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    hv__proxy_make(L);
}

/* What an assessment records as changed: its codes (text items only), a
 * read-only list. */
static void push_changes(lua_State *L, hv_view_side *sd, json_t *codes)
{
    size_t i, n = 0;
    json_t *c;
    if (json_array_size(codes) == 0) {
        push_empty(L, sd);
        return;
    }
    lua_createtable(L, (int)json_array_size(codes), 0);
    json_array_foreach(codes, i, c) {
        if (!json_is_string(c))
            continue;
        lua_pushstring(L, json_string_value(c));
        lua_rawseti(L, -2, (lua_Integer)++n);
    }
    hv__proxy_make(L);
}

/* The assessments: kind, at, safety, the four lists of their data (as
 * counts) and what changed (codes). */
static void push_assessments(lua_State *L, hv_view_side *sd)
{
    static const char *const lists[] = {"needs", "risks", "strengths",
                                        "info_needed"};
    hv_view *v = sd->v;
    hv_view_rows *r = &v->rec.assessments;
    if (r->n == 0) {
        push_empty(L, sd);
        return;
    }
    lua_createtable(L, (int)r->n, 0);
    for (size_t i = 0; i < r->n; i++) {
        hv_view_cell *row = r->cells + i * 4;
        lua_createtable(L, 0, 8);
        set_cell(L, v, "kind", &row[0]);
        set_cell(L, v, "at", &row[1]);
        set_cell(L, v, "safety", &row[2]);
        const char *why = cell_ready(v, &row[3]);
        if (why)
            luaL_error(L, "the case view: %s", why);
        /* free text: how many items each list holds, never their text */
        for (int l = 0; l < 4; l++) {
            json_t *j = row[3].type == HV_CELL_JSON
                            ? json_object_get(row[3].j, lists[l]) : NULL;
            lua_pushinteger(L, (lua_Integer)hv__view_count(j));
            set_top(L, lists[l]);
        }
        push_changes(L, sd, row[3].type == HV_CELL_JSON
                                ? json_object_get(row[3].j, "changes") : NULL);
        set_top(L, "changes");
        hv__proxy_make(L);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    hv__proxy_make(L);
}

/* Pushes the consents: scope -> given_by; a later row of a scope wins. */
static void push_consents(lua_State *L, hv_view *v)
{
    hv_view_case *c = &v->rec;
    lua_createtable(L, 0, (int)c->consents.n);
    for (size_t i = 0; i < c->consents.n; i++) {
        hv_view_cell *row = c->consents.cells + i * 2;
        push_cell(L, v, &row[1]);
        lua_setfield(L, -2, c->text + row[0].off);
    }
    hv__proxy_make(L);
}

/* Pushes the risk {level, score}: the pack's own result when the call
 * replaces it, else as stored (nil when never scored). */
static void push_risk(lua_State *L, hv_view_side *sd)
{
    hv_view_case *c = &sd->v->rec;
    const hv_view_args *a = sd->args;
    if (!a->replace_risk && c->risk_level.type == HV_CELL_NIL) {
        lua_pushnil(L);
        return;
    }
    lua_createtable(L, 0, 2);
    if (a->replace_risk) {
        lua_pushstring(L, levels[a->risk.level]);
        lua_setfield(L, -2, "level");
        lua_pushnumber(L, a->risk.score);
    } else {
        set_cell(L, sd->v, "level", &c->risk_level);
        lua_pushnumber(L, c->risk_score);
    }
    lua_setfield(L, -2, "score");
    hv__proxy_make(L);
}

/* Pushes the plan in force {target_date, version, actions, approved_at}
 * (never its goal: free text), or nil. */
static void push_plan(lua_State *L, hv_view_side *sd)
{
    static const char *const action[] = {"status", "due", "type", "responsible"};
    hv_view_case *c = &sd->v->rec;
    if (!c->has_plan) {
        lua_pushnil(L);
        return;
    }
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, (lua_Integer)c->plan_target);
    lua_setfield(L, -2, "target_date");
    lua_pushinteger(L, (lua_Integer)c->plan_version);
    lua_setfield(L, -2, "version");
    push_rows(L, sd, &c->actions, action);
    lua_setfield(L, -2, "actions");
    if (c->plan_approved) {
        lua_pushinteger(L, (lua_Integer)c->plan_approved_at);
        lua_setfield(L, -2, "approved_at");
    }
    hv__proxy_make(L);
}

static void push_lazy(lua_State *L, hv_view_side *sd, int kind);

/* Pushes the location cut to its district (ruleneeds.h), or nil. */
static void push_location(lua_State *L, hv_view *v)
{
    hv_view_cell *c = &v->rec.location;
    char district[256];
    const char *why = cell_ready(v, c);
    if (why)
        luaL_error(L, "the case view: %s", why);
    if (c->type == HV_CELL_TEXT &&
        hv__location_district(v->rec.text + c->off, district, sizeof district))
        lua_pushstring(L, district);
    else
        lua_pushnil(L);
}

/* Pushes the form: only the fields the pack declares, each only with its
 * declared type (ruleneeds.h), read-only. */
static void push_form(lua_State *L, hv_view_side *sd)
{
    hv_view_cell *c = &sd->v->rec.form;
    const hv_pack *p = hv__rules_pack(sd->r);
    const char *name;
    json_t *type;
    /* outside the user's scope: the base view holds no form field (a
     * declared field is case content the user may not see; not opened) */
    const char *why = sd->v->base_only ? NULL : cell_ready(sd->v, c);
    if (why)
        luaL_error(L, "the case view: %s", why);
    json_t *form = c->type == HV_CELL_JSON && !sd->v->base_only ? c->j : NULL;
    lua_createtable(L, 0, (int)json_object_size(p->fields));
    json_object_foreach(p->fields, name, type) {
        json_t *v = json_object_get(form, name);
        if (!v || !hv__view_field_ok(v, json_string_value(type)))
            continue;
        hv__lua_push_json(L, v, 1); /* a scalar: code, number or boolean */
        lua_setfield(L, -2, name);
    }
    hv__proxy_make(L);
}

/* Pushes field k (of root_fields) of the view's root (nil when the case
 * has none), reading its part of the case first. */
static void build_root_field(lua_State *L, hv_view_side *sd, int k)
{
    static const char *const family[] = {"relationship", "age", "sex",
                                         "lives_with_child"};
    static const char *const followup[] = {"at", "method", "safety"};
    static const char *const review[] = {"at", "outcome"};
    static const int part[] = {
        [8] = HV_VIEW_CONCERNS,     [9] = HV_VIEW_CONSENTS,
        [10] = HV_VIEW_PERSONS,     [11] = HV_VIEW_PERSONS,
        [13] = HV_VIEW_EVALUATIONS, [14] = HV_VIEW_ASSESSMENTS,
        [15] = HV_VIEW_FOLLOWUPS,   [16] = HV_VIEW_REVIEWS,
        [17] = HV_VIEW_PLANS};
    hv_view *v = sd->v;
    hv_view_case *c = &v->rec;
    hv_view_cell *cells[] = {&c->ref, &c->stage, &c->status, &c->source,
                             &c->location, &c->urgency};
    if (k == 4) {
        push_location(L, v);
        return;
    }
    if (k < 6) {
        push_cell(L, v, cells[k]);
        return;
    }
    if (k >= 8 && k != 12 && k < 18)
        need(L, v, part[k]);
    switch (k) {
    case 6: lua_pushinteger(L, (lua_Integer)c->registered_at); break;
    case 7: push_form(L, sd); break;
    case 8: push_rows(L, sd, &c->concerns, NULL); break;
    case 9: push_consents(L, v); break;
    case 10:
        if (c->has_child)
            push_lazy(L, sd, VIEW_CHILD);
        else
            lua_pushnil(L);
        break;
    case 11: push_rows(L, sd, &c->family, family); break;
    case 12: push_risk(L, sd); break;
    case 13: push_rows(L, sd, &c->evaluations, review); break;
    case 14: push_assessments(L, sd); break;
    case 15: push_rows(L, sd, &c->followups, followup); break;
    case 16: push_rows(L, sd, &c->reviews, review); break;
    case 17: push_plan(L, sd); break;
    case 18:
        /* read with the case (hv__diff_next_case): a flag, never the
         * override's reason */
        if (c->closure_overridden) {
            lua_createtable(L, 0, 1);
            lua_pushboolean(L, 1);
            lua_setfield(L, -2, "consent_overridden");
            hv__proxy_make(L);
        } else {
            lua_pushnil(L);
        }
        break;
    default: lua_pushnil(L); break;
    }
}

/* __index of a lazy table.  Upvalues: the real table, the built fields (a
 * bit mask), the view's generation, the kind, the side, the field numbers
 * (push_field_numbers). */
static int lazy_index(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL || lua_type(L, 2) != LUA_TSTRING)
        return 1;
    int kind = (int)lua_tointeger(L, lua_upvalueindex(4));
    /* the field's number: names -> kind * 64 + k (upvalue 6) */
    lua_pushvalue(L, 2);
    lua_Integer code = lua_rawget(L, lua_upvalueindex(6)) == LUA_TNUMBER
                           ? lua_tointeger(L, -1)
                           : -1;
    lua_pop(L, 1);
    int k = (int)(code & 63);
    lua_Integer built = lua_tointeger(L, lua_upvalueindex(2));
    if (code < 0 || code >> 6 != kind || (built & ((lua_Integer)1 << k)))
        return 1; /* nil */
    hv_view_side *sd = lua_touserdata(L, lua_upvalueindex(5));
    if (lua_tointeger(L, lua_upvalueindex(3)) != sd->v->gen)
        return luaL_error(L, "the case view can be read only during the "
                             "rule's call");
    lua_pop(L, 1);
    luaL_checkstack(L, 12, "the case view");
    if (kind == VIEW_CHILD && k == 0)
        push_child_age(L, sd->v);
    else if (kind == VIEW_CHILD)
        push_cell(L, sd->v, &sd->v->rec.child[k]);
    else
        build_root_field(L, sd, k);
    lua_pushinteger(L, built | ((lua_Integer)1 << k));
    lua_replace(L, lua_upvalueindex(2));
    if (!lua_isnil(L, -1)) {
        lua_pushvalue(L, 2);
        lua_pushvalue(L, -2);
        lua_rawset(L, lua_upvalueindex(1));
    }
    return 1;
}

/* __pairs: builds every field (through the proxy's __index closure), then
 * walks the real table (the closure's first upvalue). */
static int lazy_pairs(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    if (!lua_getmetatable(L, 1) || lua_getfield(L, 2, "__index") != LUA_TFUNCTION ||
        lua_tocfunction(L, 3) != lazy_index)
        return luaL_error(L, "not a case view");
    lua_getupvalue(L, 3, 4);
    int kind = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    for (const char *const *n = view_fields[kind]; *n; n++) {
        lua_pushvalue(L, 3);
        lua_pushvalue(L, 1);
        lua_pushstring(L, *n);
        lua_call(L, 2, 0);
    }
    lua_getupvalue(L, 3, 1);
    lua_pushcclosure(L, hv__proxy_next, 1);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

/* __len of a lazy table: 0 (it is a record, not a list). */
static int lazy_len(lua_State *L)
{
    lua_pushinteger(L, 0);
    return 1;
}

/* Pushes the table of the lazy views' field names -> kind * 64 + number
 * (one per side, made on first use). */
static void push_field_numbers(lua_State *L, hv_view_side *sd)
{
    if (sd->names_ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, sd->names_ref);
        return;
    }
    lua_createtable(L, 0, 24);
    for (int kind = 0; kind < 2; kind++)
        for (int k = 0; view_fields[kind][k]; k++) {
            /* one number per name: no name may be a field of two kinds */
            if (lua_getfield(L, -1, view_fields[kind][k]) != LUA_TNIL)
                luaL_error(L, "the case view: field %s twice", view_fields[kind][k]);
            lua_pop(L, 1);
            lua_pushinteger(L, (lua_Integer)kind * 64 + k);
            lua_setfield(L, -2, view_fields[kind][k]);
        }
    lua_pushvalue(L, -1);
    sd->names_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Pushes a lazy read-only table of the kind (the root or the child). */
static void push_lazy(lua_State *L, hv_view_side *sd, int kind)
{
    luaL_checkstack(L, 10, "the case view");
    lua_createtable(L, 0, 0);                           /* proxy */
    lua_createtable(L, 0, 5);                           /* proxy mt */
    lua_createtable(L, 0, kind == VIEW_ROOT ? 19 : 3);  /* real */
    int real = lua_gettop(L);
    lua_pushvalue(L, real);
    lua_pushinteger(L, 0);
    lua_pushinteger(L, (lua_Integer)sd->v->gen);
    lua_pushinteger(L, kind);
    lua_pushlightuserdata(L, sd);
    push_field_numbers(L, sd);
    lua_pushcclosure(L, lazy_index, 6);
    lua_setfield(L, real - 1, "__index");
    lua_pop(L, 1); /* real */
    hv__proxy_lock(L, lazy_len, lazy_pairs);
    lua_setmetatable(L, -2);
}

/* Pushes the read-only ctx {now, pack = {name, version}, reason}; without
 * a reason it is made once per side. */
static void push_ctx(lua_State *L, const hv_view_args *a)
{
    hv_view_side *sd = a->sd;
    if (!a->reason && sd->ctx_ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, sd->ctx_ref);
        return;
    }
    const hv_pack *p = hv__rules_pack(sd->r);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, (lua_Integer)sd->v->now);
    lua_setfield(L, -2, "now");
    lua_createtable(L, 0, 2);
    lua_pushstring(L, p->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, p->version);
    lua_setfield(L, -2, "version");
    hv__proxy_make(L);
    lua_setfield(L, -2, "pack");
    if (a->reason) {
        lua_pushstring(L, a->reason);
        lua_setfield(L, -2, "reason");
    }
    hv__proxy_make(L);
    if (!a->reason) {
        lua_pushvalue(L, -1);
        sd->ctx_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
}

void hv__view_push(lua_State *L, void *ud)
{
    hv_view_args *a = ud;
    a->sd->v->gen++;
    a->sd->args = a;
    push_lazy(L, a->sd, VIEW_ROOT);
    push_ctx(L, a);
}

void hv__view_side_init(hv_view_side *sd, hv_view *v, hv_rules *r)
{
    sd->r = r;
    sd->v = v;
    sd->ctx_ref = sd->empty_ref = sd->names_ref = LUA_NOREF;
    sd->args = NULL;
}

void hv__view_side_release(hv_view_side *sd)
{
    if (!sd->r)
        return;
    lua_State *L = hv__rules_lua(sd->r);
    luaL_unref(L, LUA_REGISTRYINDEX, sd->ctx_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, sd->empty_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, sd->names_ref);
    sd->ctx_ref = sd->empty_ref = sd->names_ref = LUA_NOREF;
    lua_gc(L, LUA_GCINC, 0, 0, 0);
}

/* ---- for tests: the view as JSON ------------------------------------------ */

/* The value at idx as JSON, read through __pairs and __len as a rule
 * would (so every lazy field is built); a table with a length is a list.
 * NULL when out of memory. */
static json_t *deep_json(lua_State *L, int idx, int depth)
{
    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 8, "deep_json");
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN: return json_boolean(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        return lua_isinteger(L, idx) ? json_integer(lua_tointeger(L, idx))
                                     : json_real(lua_tonumber(L, idx));
    case LUA_TSTRING: return json_string(lua_tostring(L, idx));
    case LUA_TTABLE: break;
    default: return json_null();
    }
    if (depth > 32)
        return json_null();
    lua_Integer n = luaL_len(L, idx);
    json_t *out = n > 0 ? json_array() : json_object();
    int bad = !out;
    if (n > 0) {
        for (lua_Integer i = 1; !bad && i <= n; i++) {
            lua_geti(L, idx, i);
            bad = json_array_append_new(out, deep_json(L, -1, depth + 1));
            lua_pop(L, 1);
        }
    } else {
        int top = lua_gettop(L);
        luaL_getmetafield(L, idx, "__pairs");
        lua_pushvalue(L, idx);
        lua_call(L, 1, 3);
        while (!bad) {
            lua_pushvalue(L, -3);
            lua_pushvalue(L, -3);
            lua_pushvalue(L, -3);
            lua_call(L, 2, 2);
            if (lua_isnil(L, -2))
                break;
            bad = json_object_set_new(out, lua_tostring(L, -2),
                                      deep_json(L, -1, depth + 1));
            lua_pop(L, 1);
            lua_replace(L, -2);
        }
        lua_settop(L, top);
    }
    if (bad) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* Protected: pushes the view of side ud's case and converts it. */
static int view_json_trampoline(lua_State *L)
{
    hv_view_side *sd = lua_touserdata(L, 1);
    json_t **out = lua_touserdata(L, 2);
    hv_view_args a = {sd, NULL, 0, {0}};
    sd->v->gen++;
    sd->args = &a;
    push_lazy(L, sd, VIEW_ROOT);
    *out = deep_json(L, -1, 0);
    return 0;
}

hv_status hv__view_json(hv_view_side *sd, json_t **out)
{
    lua_State *L = hv__rules_lua(sd->r);
    *out = NULL;
    lua_pushcfunction(L, view_json_trampoline);
    lua_pushlightuserdata(L, sd);
    lua_pushlightuserdata(L, out);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        lua_pop(L, 1);
        json_decref(*out);
        *out = NULL;
        return HV_NOMEM;
    }
    return *out ? HV_OK : HV_INTERNAL;
}
