/* rulesapi.c - the rule pack in force (stored in the database), reloading
 * it, the rule-writer tools, and explaining a case's decisions. */
#include "rulesapi.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "ruleneeds.h"
#include "rulestest.h"
#include "store.h"
#include "error.h"
#include "access.h"
#include "events.h"
#include "context.h"

/* Writes a log() line of a rule to the engine's rules log. */
static void engine_log(void *ud, const char *hook, const char *line)
{
    hv_engine *e = ud;
    if (e->rules_log)
        fprintf(e->rules_log, "haven: rules log: %s: %s\n", hook, line);
}

hv_status hv__store_rule_pack(hv_engine *e, const hv_pack *pack)
{
    json_t *j = hv__pack_to_json(pack);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        return hv__fail(e, HV_NOMEM, "out of memory storing the rule pack");
    hv_status s = hv__store_execf(e, "storing the rule pack",
                                  "INSERT INTO rule_packs (name, version, hash,"
                                  " source, loaded_at, loaded_by) VALUES"
                                  " (?1,?2,?3,?4,?5,?6)",
                                  "ttttit", pack->name, pack->version,
                                  pack->hash, text, (int64_t)hv_now(e),
                                  e->actor);
    hv__free(text);
    return s;
}

hv_status hv__engine_rules(hv_engine *e, hv_rules **out)
{
    hv_status s;
    *out = NULL;
    if (e->rules_loaded) {
        *out = e->rules;
        return HV_OK;
    }
    char *source;
    if ((s = hv__store_query_text(e, "reading the rule pack",
                                  "SELECT source FROM rule_packs ORDER BY id"
                                  " DESC LIMIT 1",
                                  &source, "")))
        return s;
    if (!source) {
        e->rules_loaded = 1;
        return HV_OK;
    }
    json_t *j = json_loads(source, 0, NULL);
    hv__free(source);
    hv_pack *pack = NULL;
    char *err = NULL;
    if (!j || (s = hv__pack_from_json(j, &pack, &err)) ||
        (s = hv__rules_new(pack, 0, engine_log, e, &e->rules, &err))) {
        if (!j)
            s = HV_CORRUPT;
        s = hv__fail(e, s == HV_NOMEM ? HV_NOMEM : HV_CORRUPT,
                     "%s: the stored rule pack does not load: %s", e->path,
                     err ? err : "damaged");
        json_decref(j);
        hv__free(err);
        return s;
    }
    json_decref(j);
    e->rules_loaded = 1;
    *out = e->rules;
    return HV_OK;
}

/* Loads the pack in dir into a new rules host.  out: *out. */
static hv_status load_dir(const char *dir, hv_rules **out, char **err)
{
    hv_pack *pack = NULL;
    hv_status s = hv__pack_read_dir(dir, &pack, err);
    if (s == HV_OK)
        s = hv__rules_new(pack, 0, NULL, NULL, out, err);
    return s;
}

HV_API hv_status hv_rules_check_dir(const char *dir, FILE *out, int *problems,
                                    char **err)
{
    hv_rules *r = NULL;
    *problems = 0;
    *err = NULL;
    hv_status s = load_dir(dir, &r, err);
    if (s != HV_OK)
        return s;
    s = hv__rules_check(r, out, problems);
    if (s == HV_OK)
        hv__pack_print_needs(hv__rules_pack(r), out);
    hv__rules_free(r);
    return s;
}

/* log() lines during tests go to the test output. */
static void test_log(void *ud, const char *hook, const char *line)
{
    fprintf((FILE *)ud, "     log: %s: %s\n", hook, line);
}

HV_API hv_status hv_rules_test_dir(const char *dir, FILE *out, int *passed,
                                   int *failed, char **err)
{
    return hv_rules_test_dir_wf(dir, NULL, out, passed, failed, err);
}

HV_API hv_status hv_rules_test_dir_wf(const char *dir, const char *workflow,
                                      FILE *out, int *passed, int *failed,
                                      char **err)
{
    hv_rules *r = NULL;
    hv_pack *pack = NULL;
    hv_workflow *wf = NULL;
    char tests[4096];
    *passed = *failed = 0;
    *err = NULL;
    hv_status s = workflow ? hv_workflow_load_file(workflow, &wf, err) : HV_OK;
    if (s == HV_OK)
        s = hv__pack_read_dir(dir, &pack, err);
    if (s == HV_OK)
        s = hv__rules_new(pack, 0, test_log, out, &r, err);
    if (s == HV_OK) {
        snprintf(tests, sizeof tests, "%s/tests", dir);
        s = hv__rules_run_tests_wf(r, wf, tests, out, passed, failed, err);
    }
    hv__rules_free(r);
    hv_workflow_free(wf);
    return s;
}

hv_status hv__rules_set_dir(hv_engine *e, const char *dir)
{
    return hv__store_execf(e, "recording the rules folder",
                           "UPDATE meta SET value = ?1 WHERE key = 'rules_dir'",
                           "t", dir);
}

HV_API hv_status hv_rules_reload(hv_engine *e, const char *dir,
                                 char **out_json)
{
    hv_rules *fresh = NULL, *current = NULL;
    char *err = NULL;
    hv_status s;
    *out_json = NULL;
    hv__clear_error(e);
    if (hv__not_in_batch(e, "rules reload"))
        return HV_USAGE;
    /* Only an administrator changes the rules that decide for every case. */
    char role[32];
    if ((s = hv__require_role(e, "administrator", "rules reload: only an "
                              "administrator changes the rule pack", role,
                              sizeof role)))
        return s;
    const char *from = dir && dir[0] ? dir : e->rules_dir;
    if (!from || !from[0])
        return hv__fail(e, HV_USAGE,
                        "rules reload: no rules folder recorded; give one");
    if ((s = hv__engine_rules(e, &current)))
        return s;
    const hv_pack *old = current ? hv__rules_pack(current) : NULL;
    if ((s = load_dir(from, &fresh, &err)) ||
        (s = hv__rules_vet(fresh, from, &err))) {
        hv__rules_free(fresh);
        s = hv__fail(e, s == HV_NOINPUT ? HV_NOINPUT
                        : s == HV_NOMEM ? HV_NOMEM : HV_INVALID,
                     "rules reload: %s; the pack in force is still %s %s", err,
                     old ? old->name : "(none)", old ? old->version : "");
        hv__free(err);
        return s;
    }
    const hv_pack *p = hv__rules_pack(fresh);
    int changed = !old || strcmp(old->hash, p->hash) != 0;
    if (changed) {
        json_t *data = json_pack("{s:s,s:s,s:s,s:s?,s:s?}", "pack", p->name,
                                 "version", p->version, "hash", p->hash,
                                 "previous_version", old ? old->version : NULL,
                                 "previous_hash", old ? old->hash : NULL);
        if (!data) {
            hv__rules_free(fresh);
            return hv__fail(e, HV_NOMEM, "out of memory");
        }
        char *abs = dir && dir[0] ? realpath(dir, NULL) : NULL;
        if ((s = hv__store_begin(e)) == HV_OK &&
            (s = hv__store_rule_pack(e, p)) == HV_OK &&
            (!abs || (s = hv__rules_set_dir(e, abs)) == HV_OK) &&
            (s = hv__store_append_event(e, 0, "rules_loaded", data, NULL)) ==
                HV_OK)
            s = hv__store_commit(e);
        else
            hv__store_rollback(e);
        json_decref(data);
        if (s == HV_OK && abs) {
            hv__free(e->rules_dir);
            e->rules_dir = hv__strdup(abs);
        }
        free(abs);
        if (s != HV_OK) {
            hv__rules_free(fresh);
            return s;
        }
        hv__rules_free(e->rules);
        e->rules = fresh;
        fresh = NULL;
        e->rules_loaded = 1;
    }
    p = hv__rules_pack(e->rules);
    json_t *j = json_pack("{s:s,s:s,s:s,s:b}", "name", p->name, "version",
                          p->version, "hash", p->hash, "changed", changed);
    s = hv__json_out(e, j, out_json);
    json_decref(j);
    hv__rules_free(fresh);
    return s;
}

/* Adds to each decision of decisions (an array, may be NULL) "wording":
 * every code of its result (reasons, factors, unmet, method) -> the words
 * the pack in force gives it (the code itself when it gives none).  The
 * stored decision keeps codes; the display maps them.  Returns 0, or -1
 * when out of memory. */
static int add_wording(const hv_rules *rules, json_t *decisions)
{
    static const char *const lists[] = {"reasons", "factors", "unmet", "method"};
    size_t i, k;
    json_t *d, *code;
    json_array_foreach(decisions, i, d) {
        json_t *result = json_object_get(d, "result"), *words = json_object();
        if (!words || json_object_set_new(d, "wording", words))
            return -1;
        for (size_t l = 0; l < sizeof lists / sizeof *lists; l++) {
            json_t *v = json_object_get(result, lists[l]);
            json_t *one = json_is_string(v) ? json_pack("[O]", v) : json_incref(v);
            json_array_foreach(one, k, code) {
                const char *c = json_string_value(code);
                if (c && json_object_set_new(words, c,
                                             json_string(hv__rules_word(rules, c)))) {
                    json_decref(one);
                    return -1;
                }
            }
            json_decref(one);
        }
    }
    return 0;
}

HV_API hv_status hv_case_explain_json(hv_engine *e, const char *ref,
                                      char **out_json)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    int64_t case_id;
    *out_json = NULL;
    hv__clear_error(e);
    if ((s = hv__case_access(e, ref, "explain", 0, &case_id, NULL)))
        return s;
    {
        json_t *data = json_pack("{s:s}", "action", "explain");
        s = hv__audit_event(e, case_id, "viewed", data);
        json_decref(data);
        if (s)
            return s;
    }
    const hv_rules *rules = hv__rules_for_words(e);
    if ((s = hv__store_preparef(e, &st,
                                "SELECT seq, at, actor, kind, decision FROM"
                                " events WHERE case_id = ?1 AND decision IS"
                                " NOT NULL ORDER BY seq",
                                "i", case_id)))
        return s;
    json_t *arr = json_array();
    int rc;
    while (arr && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        char at[32];
        hv_time_format(sqlite3_column_int64(st, 1), at, sizeof at);
        json_t *decisions = json_loads((const char *)sqlite3_column_text(st, 4),
                                       0, NULL);
        if (add_wording(rules, decisions)) {
            json_decref(decisions);
            json_decref(arr);
            arr = NULL;
            break;
        }
        json_t *row = json_pack("{s:I,s:s,s:s,s:s,s:o}", "seq",
                                (json_int_t)sqlite3_column_int64(st, 0), "at",
                                at, "user", sqlite3_column_text(st, 2), "kind",
                                sqlite3_column_text(st, 3), "decisions",
                                decisions ? decisions : json_array());
        if (!row || json_array_append_new(arr, row)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    hv__store_finalize(e, st);
    if (!arr)
        return hv__fail(e, HV_NOMEM, "out of memory");
    s = hv__json_out(e, arr, out_json);
    json_decref(arr);
    return s;
}

const hv_rules *hv__rules_for_words(hv_engine *e)
{
    hv_rules *rules = NULL;
    if (hv__engine_rules(e, &rules) != HV_OK) {
        hv__clear_error(e);
        return NULL;
    }
    return rules;
}

const char *hv__rules_word(const hv_rules *rules, const char *code)
{
    const hv_pack *p = rules && code ? hv__rules_pack(rules) : NULL;
    const char *w = p ? hv__pack_wording(p, code) : NULL;
    return w ? w : code;
}

/* {code, wording} for the code v (a JSON string) worded by rules; NULL
 * when out of memory (or v is not a string). */
static json_t *worded_code(const hv_rules *rules, json_t *v)
{
    const char *code = json_string_value(v);
    return code ? json_pack("{s:s,s:s}", "code", code, "wording",
                            hv__rules_word(rules, code))
                : NULL;
}

/* A new copy of a decision's result with its codes worded (see
 * hv__case_decisions), "at" and "pack" first; NULL out of memory. */
static json_t *worded_decision(const hv_rules *rules, json_t *d, const char *at)
{
    const char *pack = json_string_value(json_object_get(d, "pack"));
    const char *version = json_string_value(json_object_get(d, "version"));
    json_t *o = json_pack("{s:s,s:s++}", "at", at, "pack", pack ? pack : "?",
                          " ", version ? version : "?");
    const char *key;
    json_t *v, *item;
    size_t k;
    int bad = !o;
    json_object_foreach(json_object_get(d, "result"), key, v) {
        json_t *w;
        if (!bad && json_is_array(v)) {
            w = json_array();
            json_array_foreach(v, k, item)
                if (json_is_string(item))
                    bad |= json_array_append_new(w, worded_code(rules, item));
        } else {
            w = !strcmp(key, "method") && json_is_string(v) ? worded_code(rules, v)
                                                            : json_incref(v);
        }
        bad |= json_object_set_new(o, key, w);
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The hooks whose latest decision the case file shows, under their key. */
static const struct {
    const char *hook, *key;
} shown_hooks[] = {{"registration.lua", "registration"},
                   {"risk.lua", "risk"},
                   {"followup.lua", "followup"},
                   {"closure.lua", "closure"}};

/* Sets out[key] from the decision d of a shown hook, unless a later one
 * is there already.  Returns 0, or -1 out of memory. */
static int take_decision(const hv_rules *rules, json_t *out, json_t *d,
                         const char *at)
{
    const char *hook = json_string_value(json_object_get(d, "hook"));
    for (size_t i = 0; hook && i < sizeof shown_hooks / sizeof *shown_hooks; i++) {
        if (strcmp(hook, shown_hooks[i].hook) ||
            json_object_get(out, shown_hooks[i].key))
            continue;
        return json_object_set_new(out, shown_hooks[i].key,
                                   worded_decision(rules, d, at));
    }
    return 0;
}

hv_status hv__case_decisions(hv_engine *e, int64_t case_id, json_t *out)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    /* a stored pack that no longer loads leaves the codes unworded: the
     * case file is still read */
    const hv_rules *rules = hv__rules_for_words(e);
    if ((s = hv__store_preparef(e, &st,
                                "SELECT at, decision FROM events WHERE"
                                " case_id = ?1 AND decision IS NOT NULL"
                                " ORDER BY seq DESC",
                                "i", case_id)))
        return s;
    json_t *found = json_object();
    int rc = SQLITE_DONE, bad = !found;
    const size_t wanted = sizeof shown_hooks / sizeof *shown_hooks;
    while (!bad && json_object_size(found) < wanted &&
           (rc = sqlite3_step(st)) == SQLITE_ROW) {
        char at[32];
        hv_time_format(sqlite3_column_int64(st, 0), at, sizeof at);
        json_t *decisions =
            json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
        /* within one event the later decision of a hook is the latest */
        for (size_t i = json_array_size(decisions); !bad && i > 0; i--)
            bad |= take_decision(rules, found, json_array_get(decisions, i - 1),
                                 at);
        json_decref(decisions);
    }
    if (!bad && json_object_size(found) < wanted && rc != SQLITE_DONE)
        s = hv__sql_fail(e, rc, "reading the case's rule decisions");
    hv__store_finalize(e, st);
    /* out in the order of the case's story, whatever was found first */
    for (size_t i = 0; !bad && i < wanted; i++) {
        json_t *v = json_object_get(found, shown_hooks[i].key);
        bad |= v && json_object_set(out, shown_hooks[i].key, v);
    }
    json_decref(found);
    return bad ? hv__fail(e, HV_NOMEM, "out of memory") : s;
}
