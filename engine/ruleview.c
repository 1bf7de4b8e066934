/*
 * ruleview.c - the case view as Lua tables, for the bulk path (rulesdiff):
 * one case held in C, shown to each hook call as fresh plain tables (the
 * fields its source names built first, the rest when reached).  See
 * ruleview.h.
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

/* Makes room for n bytes and a NUL at the end of the case's text; 0, or
 * -1 when out of memory. */
static int text_reserve(hv_view_case *rec, size_t n)
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
    return 0;
}

void hv__view_cell_join(hv_view_case *rec, hv_view_cell *c, const char *t,
                        size_t n, const void *more, size_t m)
{
    size_t off = rec->text_len;
    c->type = HV_CELL_NIL;
    if (!t)
        return;
    if (text_reserve(rec, n + m)) {
        rec->nomem = 1;
        return;
    }
    memcpy(rec->text + off, t, n);
    if (m)
        memcpy(rec->text + off + n, more, m);
    rec->text_len += n + m;
    rec->text[rec->text_len++] = '\0';
    c->type = HV_CELL_TEXT;
    c->off = off;
    c->len = n + m;
}

void hv__view_cell_text(hv_view_case *rec, hv_view_cell *c, const char *t,
                        size_t n)
{
    hv__view_cell_join(rec, c, t, n, NULL, 0);
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
    hv__free(rec->assess.changes);
    memset(&rec->assess, 0, sizeof rec->assess);
}

static const char *const assessment_lists[] = {"needs", "risks", "strengths",
                                               "info_needed"};

/* What the view shows of c's opened text by jansson's parse (where the
 * one-pass scan leaves it to jansson) into rec->assess: the counts
 * (hv__view_count) and the changes' strings, appended to the case's text.
 * 0, or -1 when out of memory. */
static int count_by_jansson(hv_view_case *rec, hv_view_cell *c)
{
    hv_assess_view *a = &rec->assess;
    json_t *j = json_loadb(rec->text + c->off, c->len, 0, NULL), *item;
    size_t i;
    int bad = 0;
    for (int l = 0; l < 4; l++)
        a->count[l] = hv__view_count(json_object_get(j, assessment_lists[l]));
    a->nchanges = 0;
    json_array_foreach(json_object_get(j, "changes"), i, item) {
        const char *t = json_string_value(item);
        hv_view_cell copy;
        if (t && !bad) {
            hv__view_cell_text(rec, &copy, t, strlen(t));
            bad = rec->nomem ||
                  hv__view_assessment_change(a, copy.off - c->off, copy.len);
        }
    }
    json_decref(j);
    return bad ? -1 : 0;
}

/* Reads the opened assessment data in c into a counts record in the
 * case's text (HV_CELL_COUNTS).  0, or -1 when out of memory. */
static int count_assessment(hv_view_case *rec, hv_view_cell *c)
{
    hv_assess_view *a = &rec->assess;
    if (hv__view_assessment_scan(rec->text + c->off, c->len, a) &&
        count_by_jansson(rec, c))
        return -1;
    uint64_t head[5];
    for (int k = 0; k < 4; k++)
        head[k] = (uint64_t)a->count[k];
    head[4] = a->nchanges;
    size_t n = sizeof head + a->nchanges * 2 * sizeof(uint64_t);
    if (text_reserve(rec, n))
        return -1;
    size_t at = rec->text_len;
    memcpy(rec->text + at, head, sizeof head);
    for (size_t i = 0; i < 2 * a->nchanges; i++) {
        uint64_t v = a->changes[i];
        memcpy(rec->text + at + sizeof head + i * sizeof v, &v, sizeof v);
    }
    rec->text_len += n;
    rec->text[rec->text_len++] = '\0';
    c->type = HV_CELL_COUNTS;
    c->i = (int64_t)at;
    return 0;
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
    if (c->json == 2 && c->type == HV_CELL_TEXT && count_assessment(rec, c))
        return "out of memory"; /* an assessment's data: counts, changes */
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

static const char *const root_fields[] = {
    "ref", "stage", "status", "source", "location", "urgency", "registered_at",
    "form", "concerns", "consent", "child", "family", "risk", "evaluations",
    "assessments", "followups", "reviews", "plan", "closure", NULL};
/* the child: age and sex (the minimised view, ruleneeds.h: never the
 * date of birth) */

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

/* Pushes a list of rows (each a table of names), or of the first cells
 * when names is NULL: fresh tables (each call its own, even an empty
 * list: a rule may write into what it is given, never into what another
 * call sees). */
static void push_rows(lua_State *L, hv_view_side *sd, hv_view_rows *r,
                      const char *const *names)
{
    hv_view *v = sd->v;
    lua_createtable(L, (int)r->n, 0);
    for (size_t i = 0; i < r->n; i++) {
        hv_view_cell *row = r->cells + i * (size_t)r->width;
        if (!names) {
            push_cell(L, v, &row[0]);
        } else {
            lua_createtable(L, 0, r->width);
            for (int k = 0; k < r->width; k++)
                set_cell(L, v, names[k], &row[k]);
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* Sets the counts and the changes of the assessment data cell c (an
 * HV_CELL_COUNTS; else none: zeros) into the table on top. */
static void push_counts(lua_State *L, hv_view_case *rec, const hv_view_cell *c)
{
    const char *at = rec->text + c->i;
    uint64_t head[5] = {0, 0, 0, 0, 0};
    if (c->type == HV_CELL_COUNTS)
        memcpy(head, at, sizeof head);
    for (int l = 0; l < 4; l++) {
        lua_pushinteger(L, (lua_Integer)(int64_t)head[l]);
        lua_setfield(L, -2, assessment_lists[l]);
    }
    lua_createtable(L, (int)head[4], 0);
    for (uint64_t i = 0; i < head[4]; i++) {
        uint64_t pair[2];
        memcpy(pair, at + sizeof head + i * sizeof pair, sizeof pair);
        lua_pushlstring(L, rec->text + c->off + pair[0], (size_t)pair[1]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "changes");
}

/* The assessments: kind, at, safety, the four lists of their data (as
 * counts) and what changed (codes). */
static void push_assessments(lua_State *L, hv_view_side *sd)
{
    hv_view *v = sd->v;
    hv_view_rows *r = &v->rec.assessments;
    lua_createtable(L, (int)r->n, 0);
    for (size_t i = 0; i < r->n; i++) {
        hv_view_cell *row = r->cells + i * 4;
        lua_createtable(L, 0, 8);
        set_cell(L, v, "kind", &row[0]);
        set_cell(L, v, "at", &row[1]);
        set_cell(L, v, "safety", &row[2]);
        if (row[3].json)
            row[3].json = 2; /* counted, not parsed whole (cell_ready) */
        const char *why = cell_ready(v, &row[3]);
        if (why)
            luaL_error(L, "the case view: %s", why);
        /* free text: how many items each list holds, never their text */
        push_counts(L, &v->rec, &row[3]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
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
}

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
}

/* Pushes the child {age, sex} (the age today: push_child_age). */
static void push_child(lua_State *L, hv_view *v)
{
    lua_createtable(L, 0, 2);
    push_child_age(L, v);
    set_top(L, "age");
    set_cell(L, v, "sex", &v->rec.child[1]);
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
        [17] = HV_VIEW_PLANS,       [18] = HV_VIEW_CLOSURE};
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
    if (k >= 8 && k != 12)
        need(L, v, part[k]);
    switch (k) {
    case 6: lua_pushinteger(L, (lua_Integer)c->registered_at); break;
    case 7: push_form(L, sd); break;
    case 8: push_rows(L, sd, &c->concerns, NULL); break;
    case 9: push_consents(L, v); break;
    case 10:
        if (c->has_child)
            push_child(L, v);
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
        /* a flag, never the override's reason */
        if (c->closure_overridden) {
            lua_createtable(L, 0, 1);
            lua_pushboolean(L, 1);
            lua_setfield(L, -2, "consent_overridden");
        } else {
            lua_pushnil(L);
        }
        break;
    default: lua_pushnil(L); break;
    }
}

/* The root fields a hook's source names (a bit per root_fields entry):
 * every identifier and every word inside a string literal, comments left
 * out.  A field named nowhere is built only if the rule reaches it some
 * other way (a computed key, pairs): root_index builds it then. */
static unsigned named_fields(const char *src)
{
    unsigned mask = 0;
    const char *p = src;
    while (p && *p) {
        if (p[0] == '-' && p[1] == '-') {
            /* a comment: long (--[==[ ... ]==]) or to the end of the line */
            p += 2;
            int level = -1;
            if (*p == '[') {
                const char *q = p + 1;
                int eq = 0;
                while (*q == '=')
                    q++, eq++;
                if (*q == '[')
                    level = eq, p = q + 1;
            }
            if (level < 0) {
                p += strcspn(p, "\n");
                continue;
            }
            for (; *p; p++)
                if (*p == ']') {
                    const char *q = p + 1;
                    int eq = 0;
                    while (*q == '=')
                        q++, eq++;
                    if (*q == ']' && eq == level) {
                        p = q + 1;
                        break;
                    }
                }
            continue;
        }
        if (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
            size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "_0123456789");
            for (int k = 0; root_fields[k]; k++)
                if (strlen(root_fields[k]) == n && !memcmp(root_fields[k], p, n))
                    mask |= 1u << k;
            p += n;
            continue;
        }
        p++;
    }
    return mask;
}

/* The fields built with the root for the hook being called on side sd:
 * those its source names (made once per side and hook). */
static unsigned eager_fields(hv_view_side *sd)
{
    int h = hv__rules_calling(sd->r);
    if (h < 0 || h >= HV_HOOK_COUNT)
        return 0;
    if (!(sd->eager_known & (1u << h))) {
        sd->eager[h] = named_fields(hv__rules_pack(sd->r)->sources[h]);
        sd->eager_known |= 1u << h;
    }
    return sd->eager[h];
}

/* Builds root field k into the root at idx (when not nil) and marks it
 * built. */
static void build_into(lua_State *L, hv_view_side *sd, int idx, int k)
{
    build_root_field(L, sd, k);
    sd->built |= 1u << k;
    if (lua_isnil(L, -1))
        lua_pop(L, 1);
    else
        lua_setfield(L, idx, root_fields[k]);
}

/* Pushes the root of the view being shown on side sd, or raises when t
 * (at 1) is not it (a view from an earlier call). */
static hv_view_side *current_root(lua_State *L)
{
    hv_view_side *sd = lua_touserdata(L, lua_upvalueindex(1));
    lua_rawgeti(L, LUA_REGISTRYINDEX, sd->root_ref);
    int current = lua_rawequal(L, 1, -1);
    lua_pop(L, 1);
    if (!current)
        luaL_error(L, "the case view can be read only during the rule's call");
    return sd;
}

/* __index of the view's root: builds a field no one built yet (a field
 * the hook's source does not name, reached by a computed key).  Upvalues:
 * the side, the field numbers (push_field_numbers). */
static int root_index(lua_State *L)
{
    lua_settop(L, 2);
    if (lua_type(L, 2) != LUA_TSTRING)
        return 0;
    lua_pushvalue(L, 2);
    int k = lua_rawget(L, lua_upvalueindex(2)) == LUA_TNUMBER
                ? (int)lua_tointeger(L, -1) : -1;
    lua_pop(L, 1);
    if (k < 0)
        return 0;
    hv_view_side *sd = current_root(L);
    if (sd->built & (1u << k))
        return 0; /* built: nil, or taken away by the rule */
    luaL_checkstack(L, 12, "the case view");
    build_into(L, sd, 1, k);
    lua_rawget(L, 1);
    return 1;
}

/* next(t, k) for the root's pairs (a rule's own next may be hidden). */
static int plain_next(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    if (lua_next(L, 1))
        return 2;
    lua_pushnil(L);
    return 1;
}

/* __pairs of the view's root: builds every field, then walks the table
 * (a plain table: next). */
static int root_pairs(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    hv_view_side *sd = current_root(L);
    luaL_checkstack(L, 12, "the case view");
    for (int k = 0; root_fields[k]; k++)
        if (!(sd->built & (1u << k)))
            build_into(L, sd, 1, k);
    lua_pushcfunction(L, plain_next);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

/* Pushes the table of the root's field names -> numbers. */
static void push_field_numbers(lua_State *L)
{
    lua_createtable(L, 0, 24);
    for (int k = 0; root_fields[k]; k++) {
        lua_pushinteger(L, k);
        lua_setfield(L, -2, root_fields[k]);
    }
}

/* Pushes the side's metatable of roots (made on first use): __index and
 * __pairs build what is missing; the metatable is hidden (__metatable),
 * so no rule can take it off or change it. */
static void push_root_meta(lua_State *L, hv_view_side *sd)
{
    if (sd->root_mt_ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, sd->root_mt_ref);
        return;
    }
    lua_createtable(L, 0, 3);
    lua_pushlightuserdata(L, sd);
    push_field_numbers(L);
    lua_pushcclosure(L, root_index, 2);
    lua_setfield(L, -2, "__index");
    lua_pushlightuserdata(L, sd);
    lua_pushcclosure(L, root_pairs, 1);
    lua_setfield(L, -2, "__pairs");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pushvalue(L, -1);
    sd->root_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Pushes the root of the view: a fresh plain table per call holding the
 * fields the hook's source names (built now), the others built when
 * reached.  Fresh tables for every call: whatever a rule writes into what
 * it is given dies with the call (test_ruleview). */
static void push_root(lua_State *L, hv_view_side *sd)
{
    unsigned eager = eager_fields(sd);
    luaL_checkstack(L, 12, "the case view");
    if (sd->root_ref == LUA_NOREF) {
        lua_pushboolean(L, 0);
        sd->root_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    sd->built = 0;
    lua_createtable(L, 0, 8);
    int root = lua_gettop(L);
    lua_pushvalue(L, root);
    lua_rawseti(L, LUA_REGISTRYINDEX, sd->root_ref);
    for (int k = 0; root_fields[k]; k++)
        if (eager & (1u << k))
            build_into(L, sd, root, k);
    push_root_meta(L, sd);
    lua_setmetatable(L, root);
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
    push_root(L, a->sd);
    push_ctx(L, a);
}

void hv__view_side_init(hv_view_side *sd, hv_view *v, hv_rules *r)
{
    sd->r = r;
    sd->v = v;
    sd->ctx_ref = sd->root_mt_ref = sd->root_ref = LUA_NOREF;
    sd->args = NULL;
    sd->built = sd->eager_known = 0;
}

void hv__view_side_release(hv_view_side *sd)
{
    if (!sd->r)
        return;
    lua_State *L = hv__rules_lua(sd->r);
    luaL_unref(L, LUA_REGISTRYINDEX, sd->ctx_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, sd->root_mt_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, sd->root_ref);
    sd->ctx_ref = sd->root_mt_ref = sd->root_ref = LUA_NOREF;
    sd->eager_known = 0;
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
        if (luaL_getmetafield(L, idx, "__pairs") == LUA_TNIL) {
            lua_pushcfunction(L, plain_next);
            lua_pushvalue(L, idx);
            lua_pushnil(L);
        } else {
            lua_pushvalue(L, idx);
            lua_call(L, 1, 3);
        }
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
    push_root(L, sd);
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
