/* test_rules.c - the sandboxed rules host: limits, the sandbox, result
 * contracts.  Each hostile rule is stopped with a clear message naming the
 * file and line, and the next call works normally. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ruleneeds.h"
#include "rules.h"
#include "testutil.h"

/* A registration view of Noor (no name). */
static const char *const NOOR_VIEW =
    "{\"stage\":\"registration\",\"status\":\"open\",\"source\":\"school\","
    "\"location\":\"Riverside\",\"concerns\":[\"emotional_distress\"],"
    "\"child\":{\"age\":12,\"sex\":\"female\"},\"family\":[],"
    "\"consent\":{\"registration\":\"caregiver\"},\"registered_at\":1795856400,"
    "\"assessments\":[],\"followups\":[],\"reviews\":[],\"form\":{}}";

/* A registration view with form.attack = 1: the hostile branch runs. */
static const char *const ATTACK_VIEW =
    "{\"stage\":\"registration\",\"concerns\":[\"neglect\"],\"child\":{\"age\":"
    "12},\"form\":{\"attack\":true},\"registered_at\":1795856400}";

typedef struct {
    char *dir;
    hv_rules *rules;
} fixture;

/* A pack in a temp dir: the default pack's other hooks, and this
 * registration.lua; budget and memory cap as given (0: defaults). */
static fixture *make_pack(const char *registration, long budget, size_t memory,
                          hv_status expect, const char *expect_msg)
{
    fixture *f = calloc(1, sizeof *f);
    char path[4200], *err = NULL;
    f->dir = tu_tempdir();
    snprintf(path, sizeof path, "%s/pack.yaml", f->dir);
    FILE *fp = fopen(path, "w");
    fprintf(fp, "name: test\nversion: \"1.0\"\n");
    if (budget)
        fprintf(fp, "budget: %ld\n", budget);
    /* the hostile branch reads form.attack; the codes the tests return */
    fprintf(fp, "needs:\n  fields:\n    attack: boolean\ncodes:\n  a: A\n"
                "  c: C\n  eligible_child_with_concerns: Eligible\n");
    fclose(fp);
    const char *others[] = {"risk.lua", "followup.lua", "closure.lua"};
    for (int i = 0; i < 3; i++) {
        char src[4200];
        snprintf(src, sizeof src, "rules/default/%s", others[i]);
        char *text = tu_read_file(tu_source_path(src), NULL);
        assert_non_null(text);
        snprintf(path, sizeof path, "%s/%s", f->dir, others[i]);
        fp = fopen(path, "w");
        fputs(text, fp);
        fclose(fp);
        free(text);
    }
    snprintf(path, sizeof path, "%s/registration.lua", f->dir);
    fp = fopen(path, "w");
    fputs(registration, fp);
    fclose(fp);
    hv_pack *pack = NULL;
    hv_status st = hv__pack_read_dir(f->dir, &pack, &err);
    if (st == HV_OK)
        st = hv__rules_new(pack, memory, NULL, NULL, &f->rules, &err);
    if (st != expect || (expect_msg && (!err || !strstr(err, expect_msg))))
        fail_msg("loading: status %s, message '%s', want '%s'",
                 hv_status_name(st), err ? err : "", expect_msg ? expect_msg : "");
    hv_free(err);
    return f;
}

static void free_pack(fixture *f)
{
    hv__rules_free(f->rules);
    char path[4200];
    const char *files[] = {"pack.yaml", "registration.lua", "risk.lua",
                           "followup.lua", "closure.lua"};
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", f->dir, files[i]);
        unlink(path);
    }
    rmdir(f->dir);
    free(f->dir);
    free(f);
}

/* Calls registration on a view; returns the status, *msg the message. */
static hv_status call(fixture *f, const char *view_text, json_t **result,
                      char **msg)
{
    json_t *view = json_loads(view_text, 0, NULL);
    json_t *ctx = json_pack("{s:i,s:{s:s,s:s}}", "now", 1795856400, "pack",
                            "name", "test", "version", "1.0");
    json_t *res = NULL;
    *msg = NULL;
    hv_status st = hv__rules_call(f->rules, HV_HOOK_REGISTRATION, view, ctx, &res, msg);
    json_decref(view);
    json_decref(ctx);
    if (result)
        *result = res;
    else
        json_decref(res);
    return st;
}

/* The attack is refused with a message containing want (and the file
 * name), and the next, ordinary call succeeds. */
static void attack_is_stopped(const char *rule, long budget, size_t memory,
                              const char *want)
{
    fixture *f = make_pack(rule, budget, memory, HV_OK, NULL);
    char *msg = NULL;
    json_t *res = NULL;
    hv_status st = call(f, ATTACK_VIEW, NULL, &msg);
    if (st != HV_REFUSED || !msg || !strstr(msg, want) || !strstr(msg, "registration.lua"))
        fail_msg("attack: status %s, message '%s', want '%s'", hv_status_name(st),
                 msg ? msg : "", want);
    hv_free(msg);
    st = call(f, NOOR_VIEW, &res, &msg);
    if (st != HV_OK)
        fail_msg("the next call failed: %s", msg ? msg : "");
    assert_true(json_is_true(json_object_get(res, "eligible")));
    json_decref(res);
    hv_free(msg);
    free_pack(f);
}

#define OK_RESULT "return { eligible = true, urgency = 'normal', reasons = {} }"
#define ATTACK(body) "return function(c, ctx)\n  if c.form.attack then\n    " body "\n  end\n  " OK_RESULT "\nend\n"

static void a_plain_loop_is_stopped(void **state)
{
    (void)state;
    attack_is_stopped(ATTACK("while true do end"), 0, 0, "instruction budget");
}

static void a_loop_inside_pcall_is_stopped(void **state)
{
    (void)state;
    attack_is_stopped(ATTACK("for i = 1, 100 do pcall(function() while true do end end) end"),
                      0, 0, "instruction budget");
}

static void a_loop_inside_a_coroutine_is_stopped(void **state)
{
    (void)state;
    attack_is_stopped(ATTACK("local co = coroutine.create(function() while true do end end)\n"
                             "    coroutine.resume(co)\n    " OK_RESULT),
                      0, 0, "instruction budget");
    attack_is_stopped(ATTACK("while true do pcall(coroutine.wrap(function() while true do end end)) end"),
                      0, 0, "instruction budget");
}

static void forbidden_names_are_nil(void **state)
{
    (void)state;
    fixture *f = make_pack(
        "return function(c)\n"
        "  local names = { 'io', 'os', 'require', 'load', 'loadstring', 'dofile',\n"
        "    'loadfile', 'debug', 'collectgarbage', 'print', 'rawset', 'package',\n"
        "    'module', 'setfenv', 'getfenv', 'newproxy' }\n"
        "  local present = {}\n"
        "  for _, n in ipairs(names) do if _G[n] ~= nil or _ENV[n] ~= nil then present[#present + 1] = n end end\n"
        "  if string.dump then present[#present + 1] = 'string.dump' end\n"
        "  if math.random then present[#present + 1] = 'math.random' end\n"
        "  if math.randomseed then present[#present + 1] = 'math.randomseed' end\n"
        "  return { eligible = true, urgency = 'normal', reasons = present }\n"
        "end\n",
        0, 0, HV_OK, NULL);
    json_t *res = NULL;
    char *msg = NULL;
    assert_int_equal(call(f, NOOR_VIEW, &res, &msg), HV_OK);
    char *text = json_dumps(json_object_get(res, "reasons"), 0);
    assert_string_equal(text, "[]");
    free(text);
    json_decref(res);
    free_pack(f);
}

static void a_binary_chunk_is_refused(void **state)
{
    (void)state;
    fixture *f = make_pack("\x1bLua\x54\x00", 0, 0, HV_INVALID, "binary chunk");
    free_pack(f);
}

static void a_syntax_error_names_file_and_line(void **state)
{
    (void)state;
    fixture *f = make_pack("return function(c)\n  local x = \n  return {\nend\n", 0, 0,
                           HV_INVALID, "registration.lua:");
    free_pack(f);
    f = make_pack("return 42\n", 0, 0, HV_INVALID, "must return a function");
    free_pack(f);
}

static void shared_state_cannot_be_changed(void **state)
{
    (void)state;
    const char *attacks[] = {
        ATTACK("setmetatable(_G, { __index = function() return 1 end })"),
        ATTACK("getmetatable('').__index = { rep = function() return 'pwned' end }"),
        ATTACK("rawset(_G, 'hours', function() return 0 end)"),
        ATTACK("hours = function() return 0 end"),
        ATTACK("string.rep = function() return 'pwned' end"),
        ATTACK("table.insert = nil"),
        ATTACK("_ENV.has = nil"),
    };
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        fixture *f = make_pack(attacks[i], 0, 0, HV_OK, NULL);
        char *msg = NULL;
        assert_int_equal(call(f, ATTACK_VIEW, NULL, &msg), HV_REFUSED);
        hv_free(msg);
        free_pack(f);
    }
    /* And in one state, after every attack the helpers still work. */
    fixture *f = make_pack(
        "return function(c)\n"
        "  if c.form.attack then\n"
        "    pcall(function() hours = nil end)\n"
        "    pcall(function() getmetatable('').__index = {} end)\n"
        "    pcall(function() setmetatable(_G, {}) end)\n"
        "    pcall(function() string.rep = nil end)\n"
        "    error('attacked')\n"
        "  end\n"
        "  assert(hours(1) == 3600 and days(1) == 86400 and months(1) == 2592000)\n"
        "  assert(('x'):rep(3) == 'xxx' and string.rep('y', 2) == 'yy')\n"
        "  assert(has({ 'a', 'b' }, 'b') and not has({ 'a' }, 'c'))\n"
        "  " OK_RESULT "\n"
        "end\n",
        0, 0, HV_OK, NULL);
    for (int round = 0; round < 3; round++) {
        char *msg = NULL;
        assert_int_equal(call(f, ATTACK_VIEW, NULL, &msg), HV_REFUSED);
        assert_non_null(strstr(msg, "attacked"));
        hv_free(msg);
        assert_int_equal(call(f, NOOR_VIEW, NULL, &msg), HV_OK);
        hv_free(msg);
    }
    free_pack(f);
}

static void the_case_view_is_read_only(void **state)
{
    (void)state;
    attack_is_stopped(ATTACK("c.child.age = 3"), 0, 0, "read-only");
    attack_is_stopped(ATTACK("c.concerns[1] = 'none'"), 0, 0, "read-only");
    attack_is_stopped(ATTACK("ctx.now = 0"), 0, 0, "read-only");
    attack_is_stopped(ATTACK("local _, real = pairs(c); real.stage = 'closed'"), 0, 0, "");
    /* Reading works as on plain tables: #, ipairs, pairs. */
    fixture *f = make_pack(
        "return function(c)\n"
        "  local n = 0\n"
        "  for _ in pairs(c.child) do n = n + 1 end\n"
        "  local k = 0\n"
        "  for _, v in ipairs(c.concerns) do k = k + 1 end\n"
        "  assert(#c.concerns == 1 and k == 1 and n == 2 and c.child.age == 12)\n"
        "  assert(has(c.concerns, 'emotional_distress'))\n"
        "  " OK_RESULT "\nend\n",
        0, 0, HV_OK, NULL);
    char *msg = NULL;
    if (call(f, NOOR_VIEW, NULL, &msg) != HV_OK)
        fail_msg("%s", msg);
    free_pack(f);
}

static void memory_is_capped(void **state)
{
    (void)state;
    attack_is_stopped(ATTACK("local s = ('x'):rep(2^40)"), 0, 0, "registration.lua");
    attack_is_stopped(ATTACK("local t = {} for i = 1, 1e12 do t[i] = ('x'):rep(64) .. i end"),
                      100000000, 8u << 20, "memory cap");
    attack_is_stopped(ATTACK("local s = 'x' while true do s = s .. s end"),
                      100000000, 8u << 20, "memory cap");
}

static void a_pathological_pattern_ends(void **state)
{
    (void)state;
    attack_is_stopped(ATTACK("local s = ('a'):rep(60) string.find(s, ('a*'):rep(30) .. 'b')"),
                      0, 0, "budget");
    attack_is_stopped(ATTACK("local s = ('a'):rep(5000) for i = 1, 1e9 do s:match('(a-)(a-)(a-)b') end"),
                      0, 0, "budget");
}

static void recursion_and_deep_results_are_clean_errors(void **state)
{
    (void)state;
    attack_is_stopped(ATTACK("local function f(n) return f(n + 1) + 1 end return f(1)"),
                      100000000, 0, "registration.lua");
    attack_is_stopped(ATTACK("local t = {} local cur = t\n"
                             "    for i = 1, 100000 do cur[1] = {} cur = cur[1] end\n"
                             "    return { eligible = true, urgency = 'normal', reasons = t }"),
                      0, 0, "must be a code");
}

static void hostile_metatables_never_reach_the_host(void **state)
{
    (void)state;
    attack_is_stopped(ATTACK("return setmetatable({}, { __index = function() error('boom') end })"),
                      0, 0, "missing field 'eligible'");
    attack_is_stopped(ATTACK("error(setmetatable({}, { __tostring = function() error('boom') end }))"),
                      0, 0, "error object is a table value");
    /* Results are read raw: a raising __len/__index is never called. */
    fixture *f = make_pack("return function(c)\n  return { eligible = true, urgency = 'normal',"
                           " reasons = setmetatable({}, { __len = function() error('x') end,"
                           " __index = function() error('y') end }) }\nend\n",
                           0, 0, HV_OK, NULL);
    char *msg = NULL;
    json_t *res = NULL;
    assert_int_equal(call(f, NOOR_VIEW, &res, &msg), HV_OK);
    assert_int_equal(json_array_size(json_object_get(res, "reasons")), 0);
    json_decref(res);
    free_pack(f);
    attack_is_stopped(ATTACK("setmetatable({}, { __gc = function() while true do end end })"),
                      0, 0, "__gc");
}

static void closing_never_hangs(void **state)
{
    (void)state;
    /* Whatever a rule left behind, freeing the host returns. */
    fixture *f = make_pack(
        "local keep = {}\n"
        "return function(c)\n"
        "  pcall(setmetatable, keep, { __gc = function() while true do end end })\n"
        "  keep[#keep + 1] = coroutine.create(function() while true do coroutine.yield() end end)\n"
        "  coroutine.resume(keep[#keep])\n"
        "  " OK_RESULT "\nend\n",
        0, 0, HV_OK, NULL);
    char *msg = NULL;
    assert_int_equal(call(f, NOOR_VIEW, NULL, &msg), HV_OK);
    free_pack(f);
}

static void wrong_shapes_are_rule_errors(void **state)
{
    (void)state;
    static const struct {
        const char *ret;
        const char *want;
    } shapes[] = {
        {"return { eligible = true, reasons = {} }", "missing field 'urgency'"},
        {"return { eligible = 'yes', urgency = 'normal', reasons = {} }", "'eligible' must be true or false"},
        {"return { eligible = true, urgency = 'urgent', reasons = {} }", "must be one of immediate, high, normal"},
        {"return { eligible = true, urgency = 'normal', reasons = 'none' }", "must be a list"},
        {"return { eligible = true, urgency = 'normal', reasons = { 1, 2 } }", "'reasons'[1] must be a code"},
        {"return { eligible = true, urgency = 'normal', reasons = { 'a', 'Riverside' } }", "'reasons'[2] must be a code"},
        {"return { eligible = true, urgency = 'normal', reasons = { 'undeclared' } }", "'reasons'[1] is a code pack.yaml does not declare"},
        {"return { eligible = true, urgency = 'normal', reasons = { c.source } }", "'reasons'[1] is a code pack.yaml does not declare"},
        {"return { eligible = true, urgency = 'normal', reasons = {}, extra = 1 }", "a field that is not in the result"},
        {"return 'eligible'", "must return a table"},
        {"return nil", "must return a table"},
        {"return { eligible = true, urgency = 'normal', reasons = { [1] = 'a', [3] = 'c' } }", "must be a list"},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        char rule[600];
        snprintf(rule, sizeof rule, "-- line 1\nreturn function(c)\n  %s\nend\n", shapes[i].ret);
        fixture *f = make_pack(rule, 0, 0, HV_OK, NULL);
        char *msg = NULL;
        hv_status st = call(f, NOOR_VIEW, NULL, &msg);
        /* file:line names the line of the return that gave the result (3) */
        if (st != HV_REFUSED || !strstr(msg, shapes[i].want) || !strstr(msg, "registration.lua:3:"))
            fail_msg("shape %zu: %s '%s'", i, hv_status_name(st), msg ? msg : "");
        /* never the value the rule returned */
        if (strstr(msg, "Riverside") || strstr(msg, "school") || strstr(msg, "undeclared"))
            fail_msg("shape %zu: the message echoes the value: '%s'", i, msg);
        hv_free(msg);
        free_pack(f);
    }
}

static void intervals_must_be_positive(void **state)
{
    (void)state;
    char *dir = tu_tempdir(), path[4200], *err = NULL;
    const char *files[] = {"registration.lua", "risk.lua", "closure.lua"};
    for (int i = 0; i < 3; i++) {
        char src[200];
        snprintf(src, sizeof src, "rules/default/%s", files[i]);
        char *text = tu_read_file(tu_source_path(src), NULL);
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        FILE *fp = fopen(path, "w");
        fputs(text, fp);
        fclose(fp);
        free(text);
    }
    snprintf(path, sizeof path, "%s/pack.yaml", dir);
    FILE *fp = fopen(path, "w");
    fputs("name: neg\nversion: \"1\"\ncodes:\n  phone_call: Phone call\n", fp);
    fclose(fp);
    snprintf(path, sizeof path, "%s/followup.lua", dir);
    fp = fopen(path, "w");
    fputs("return function(c)\n  return { every = -days(1), method = 'phone_call', reasons = {} }\nend\n", fp);
    fclose(fp);
    hv_pack *pack = NULL;
    hv_rules *r = NULL;
    assert_int_equal(hv__pack_read_dir(dir, &pack, &err), HV_OK);
    assert_int_equal(hv__rules_new(pack, 0, NULL, NULL, &r, &err), HV_OK);
    json_t *view = json_loads(NOOR_VIEW, 0, NULL), *ctx = json_object(), *res = NULL;
    assert_int_equal(hv__rules_call(r, HV_HOOK_FOLLOWUP, view, ctx, &res, &err), HV_REFUSED);
    assert_non_null(strstr(err, "followup.lua:2: followup result: 'every'"));
    hv_free(err);
    json_decref(view);
    json_decref(ctx);
    hv__rules_free(r);
    const char *all[] = {"registration.lua", "risk.lua", "closure.lua", "followup.lua", "pack.yaml"};
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, all[i]);
        unlink(path);
    }
    rmdir(dir);
    free(dir);
}

static void the_same_inputs_give_the_same_result(void **state)
{
    (void)state;
    hv_pack *pack = NULL;
    hv_rules *r = NULL;
    char *err = NULL;
    assert_int_equal(hv__pack_read_dir(tu_source_path("rules/default"), &pack, &err), HV_OK);
    assert_int_equal(hv__rules_new(pack, 0, NULL, NULL, &r, &err), HV_OK);
    json_t *view = json_loads(NOOR_VIEW, 0, NULL);
    json_t *ctx = json_pack("{s:i}", "now", 1795856400);
    for (int h = 0; h < HV_HOOK_COUNT; h++) {
        json_t *a = NULL, *b = NULL;
        if (!hv__rules_has(r, (hv_hook)h))
            continue;
        if (h == HV_HOOK_CLOSURE)
            json_object_set_new(ctx, "reason", json_string("goals_achieved"));
        assert_int_equal(hv__rules_call(r, (hv_hook)h, view, ctx, &a, &err), HV_OK);
        assert_int_equal(hv__rules_call(r, (hv_hook)h, view, ctx, &b, &err), HV_OK);
        assert_true(json_equal(a, b));
        json_decref(a);
        json_decref(b);
    }
    json_decref(view);
    json_decref(ctx);
    hv__rules_free(r);
}

/* Rules see the least they need: the view a hook is shown holds no name,
 * date of birth or free text, the location cut to its district, counts for
 * an assessment's texts, and only the form fields the pack declares with
 * their declared type. */
static void the_view_is_minimised(void **state)
{
    (void)state;
    static const char *const full_text =
        "{\"ref\":\"CP-2026-00001\",\"stage\":\"follow_up_review\","
        "\"location\":\"Canaryville/Block 9/House 3\",\"concerns\":[\"neglect\"],"
        "\"child\":{\"name\":\"Canaryname\",\"age\":12,\"sex\":\"female\","
        "\"dob\":\"2014-03-01\"},\"family\":[{\"relationship\":\"mother\","
        "\"name\":\"Canarymum\",\"age\":38}],"
        "\"assessments\":[{\"kind\":\"initial\",\"at\":5,\"safety\":\"ok\","
        "\"needs\":[\"Canaryneed\",\"x\"],\"risks\":[\"Canaryrisk\"],"
        "\"strengths\":[],\"summary\":\"Canarysummary\"}],"
        "\"plan\":{\"goal\":\"Canarygoal\",\"target_date\":9,\"version\":1,"
        "\"actions\":[{\"status\":\"done\",\"due\":7,\"title\":\"Canarytitle\"}]},"
        "\"followups\":[{\"at\":6,\"method\":\"meeting\",\"safety\":\"ok\","
        "\"notes\":\"Canarynote\"}],"
        "\"form\":{\"attack\":true,\"free\":\"Canaryfree\",\"n\":3}}";
    fixture *f = make_pack("return function(c) " OK_RESULT " end\n", 0, 0, HV_OK, NULL);
    json_t *full = json_loads(full_text, 0, NULL);
    json_t *v = hv__view_minimise(full, hv__rules_pack(f->rules));
    assert_non_null(v);
    char *text = json_dumps(v, JSON_SORT_KEYS);
    if (strstr(text, "Canaryname") || strstr(text, "Canarymum") || strstr(text, "2014") ||
        strstr(text, "Canaryneed") || strstr(text, "Canaryrisk") || strstr(text, "Canarysummary") ||
        strstr(text, "Canarygoal") || strstr(text, "Canarytitle") || strstr(text, "Canarynote") ||
        strstr(text, "Canaryfree") || strstr(text, "Block 9") || strstr(text, "dob") ||
        strstr(text, "goal") || strstr(text, "\"n\""))
        fail_msg("the view carries what no rule needs: %s", text);
    assert_string_equal(json_string_value(json_object_get(v, "location")), "Canaryville");
    json_t *a = json_array_get(json_object_get(v, "assessments"), 0);
    assert_int_equal(json_integer_value(json_object_get(a, "needs")), 2);
    assert_int_equal(json_integer_value(json_object_get(a, "risks")), 1);
    assert_int_equal(json_integer_value(json_object_get(a, "info_needed")), 0);
    assert_true(json_is_true(json_object_get(json_object_get(v, "form"), "attack")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "child"), "age")), 12);
    free(text);
    json_decref(v);
    /* a location without a separator names a place below the district */
    json_object_set_new(full, "location", json_string("Canaryvillage"));
    v = hv__view_minimise(full, hv__rules_pack(f->rules));
    assert_null(json_object_get(v, "location"));
    json_decref(v);
    /* a declared field of another type is left out */
    json_object_set_new(json_object_get(full, "form"), "attack", json_string("yes"));
    v = hv__view_minimise(full, hv__rules_pack(f->rules));
    assert_null(json_object_get(json_object_get(v, "form"), "attack"));
    json_decref(v);
    json_decref(full);
    free_pack(f);
}

/* What a user who may not see the case is told of a rule error: the hook's
 * file and the kind, never the message nor the line. */
static void an_error_in_brief_names_the_hook_and_kind(void **state)
{
    (void)state;
    static const struct {
        const char *rule;
        const char *want;
    } cases[] = {
        {ATTACK("error(tostring(c.stage) .. '|secret', 0)"), "registration.lua: runtime error"},
        {ATTACK("while true do end"), "registration.lua: timeout"},
        {ATTACK("return { eligible = true, urgency = 'normal', reasons = { c.stage } }"),
         "registration.lua: bad result"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fixture *f = make_pack(cases[i].rule, 0, 0, HV_OK, NULL);
        char *msg = NULL, brief[400];
        assert_int_equal(call(f, ATTACK_VIEW, NULL, &msg), HV_REFUSED);
        hv__rules_error_brief(f->rules, brief, sizeof brief);
        /* the hook's file and the kind: no line, no folder */
        if (strncmp(brief, cases[i].want, strlen(cases[i].want)) ||
            strstr(brief, "secret") ||
            strstr(brief, "registration|"))
            fail_msg("case %zu: brief '%s', want '%s' (full: %s)", i, brief,
                     cases[i].want, msg);
        hv_free(msg);
        free_pack(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_plain_loop_is_stopped),
        cmocka_unit_test(a_loop_inside_pcall_is_stopped),
        cmocka_unit_test(a_loop_inside_a_coroutine_is_stopped),
        cmocka_unit_test(forbidden_names_are_nil),
        cmocka_unit_test(a_binary_chunk_is_refused),
        cmocka_unit_test(a_syntax_error_names_file_and_line),
        cmocka_unit_test(shared_state_cannot_be_changed),
        cmocka_unit_test(the_case_view_is_read_only),
        cmocka_unit_test(memory_is_capped),
        cmocka_unit_test(a_pathological_pattern_ends),
        cmocka_unit_test(recursion_and_deep_results_are_clean_errors),
        cmocka_unit_test(hostile_metatables_never_reach_the_host),
        cmocka_unit_test(closing_never_hangs),
        cmocka_unit_test(wrong_shapes_are_rule_errors),
        cmocka_unit_test(intervals_must_be_positive),
        cmocka_unit_test(the_same_inputs_give_the_same_result),
        cmocka_unit_test(the_view_is_minimised),
        cmocka_unit_test(an_error_in_brief_names_the_hook_and_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
