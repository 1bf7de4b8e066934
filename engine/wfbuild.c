/*
 * wfbuild.c - the second step of loading a workflow: the node tree
 * (wfparse.c) is checked against the workflow shape (see DESIGN.md,
 * "Workflow files (YAML)") while the hv_workflow is built; wfcheck.c then
 * links the stages and checks the graph.  Also the workflow's destructor,
 * beside what it frees.
 *
 * Messages quote keys and codes, never narrative text.
 */
#include "wfbuild.h"

#include "alloc.h"
#include "wfcheck.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- Reading the tree ---------------------------------------------------- */

/* 1 if s is a YAML 1.2 (core schema) null, boolean or number when plain. */
static int plain_is_not_text(const char *s)
{
    static const char *const words[] = {
        "", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false",
        "False", "FALSE", ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF",
        "+.inf", "+.Inf", "+.INF", ".nan", ".NaN", ".NAN"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strcmp(s, words[i]) == 0)
            return 1;
    }
    const char *p = s;
    if ((p[0] == '0' && (p[1] == 'o' || p[1] == 'x')) && p[2]) {
        const char *digits = p[1] == 'o' ? "01234567" : "0123456789abcdefABCDEF";
        return strspn(p + 2, digits) == strlen(p + 2);
    }
    /* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
    if (*p == '-' || *p == '+')
        p++;
    size_t whole = strspn(p, "0123456789");
    p += whole;
    size_t fraction = 0;
    if (*p == '.') {
        p++;
        fraction = strspn(p, "0123456789");
        p += fraction;
    }
    if (whole == 0 && fraction == 0)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        size_t exponent = strspn(p, "0123456789");
        if (exponent == 0)
            return 0;
        p += exponent;
    }
    return *p == '\0';
}

/* A scalar's text for messages, or "(not text)" for a list or mapping. */
static const char *shown(const node *n)
{
    return n->kind == NODE_SCALAR ? n->text : "(not text)";
}

/* 1 if n is a text scalar: quoted, or plain and not a null/bool/number. */
static int is_text(const node *n)
{
    return n->kind == NODE_SCALAR && (!n->plain || !plain_is_not_text(n->text));
}

/* 1 if s is a non-empty identifier [a-z][a-z0-9_]* (first_digit_ok allows
 * a leading digit, for codes: [a-z0-9_]+). */
static int is_identifier(const char *s, int first_digit_ok)
{
    if (!*s)
        return 0;
    if (!first_digit_ok && !(s[0] >= 'a' && s[0] <= 'z'))
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(s);
}

/* 1 if s is a dotted field path such as child.age: segments
 * [a-z_][a-z0-9_]* joined by single dots. */
static int is_field_path(const char *s)
{
    const char *p = s;
    for (;;) {
        if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
            return 0;
        p += strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
        if (*p == '\0')
            return 1;
        if (*p != '.')
            return 0;
        p++;
    }
}

/* Index of key in a NULL-terminated list of names, or -1. */
static int key_index(const char *const *names, const char *key)
{
    for (int i = 0; names[i]; i++) {
        if (strcmp(names[i], key) == 0)
            return i;
    }
    return -1;
}

/* Copies a text scalar n (named what in messages) into *out.
 * Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status take_text(loader *ld, const node *n, const char *what, char **out)
{
    if (!is_text(n))
        return FAIL_AT_NODE(ld, n, "'%s' must be text", what);
    if (!n->text[0])
        return FAIL_AT_NODE(ld, n, "'%s' must not be empty", what);
    *out = hv__strdup(n->text);
    return *out ? HV_OK : HV_NOMEM;
}

/* Reads a positive duration (hv_duration_parse) from scalar n, named what.
 * out: *seconds.  Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status take_duration(loader *ld, const node *n, const char *what,
                               int64_t *seconds)
{
    if (n->kind != NODE_SCALAR || hv_duration_parse(n->text, seconds) != HV_OK ||
        *seconds <= 0)
        return FAIL_AT_NODE(ld, n,
                            "bad duration " QUOTED " for '%s' (expected e.g. 48h, "
                            "14d, 2w, 3mo, 1y, 90min, 30s)",
                            shown(n), what);
    return HV_OK;
}

/* Copies the texts of list's items (all scalars, already checked) into a
 * new array.  out: *texts and *count (owned by the workflow being built,
 * which frees them also on failure).  Returns HV_OK or HV_NOMEM. */
static hv_status copy_scalars(const node *list, char ***texts, size_t *count)
{
    if (!list->nitems)
        return HV_OK;
    *texts = hv__calloc(list->nitems, sizeof **texts);
    if (!*texts)
        return HV_NOMEM;
    *count = list->nitems;
    for (size_t i = 0; i < list->nitems; i++) {
        (*texts)[i] = hv__strdup(list->items[i]->text);
        if (!(*texts)[i])
            return HV_NOMEM;
    }
    return HV_OK;
}

/* Reads a sequence of lookup codes into lookup (its name already set).
 * Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status build_lookup(loader *ld, const node *list, hv_lookup *lookup)
{
    hv_status st = HV_OK;
    const node *dup = NULL;
    if (list->kind != NODE_SEQUENCE) {
        st = FAIL_AT_NODE(ld, list, "lookup " QUOTED " must be a list of codes",
                          lookup->name);
        goto done;
    }
    for (size_t i = 0; i < list->nitems; i++) {
        const node *code = list->items[i];
        if (code->kind != NODE_SCALAR || !is_identifier(code->text, 1)) {
            st = FAIL_AT_NODE(ld, code,
                              "code " QUOTED " in lookup " QUOTED
                              " must match [a-z0-9_]+",
                              shown(code),
                              lookup->name);
            goto done;
        }
    }
    if (list->nitems == 0) {
        st = FAIL_AT_NODE(ld, list, "lookup " QUOTED " must list at least one code",
                          lookup->name);
        goto done;
    }
    st = hv__wf_find_duplicate(list->items, list->nitems, 1, &dup);
    if (st == HV_OK && dup)
        st = FAIL_AT_NODE(ld, dup, "duplicate code " QUOTED " in lookup " QUOTED,
                          dup->text, lookup->name);
    if (st == HV_OK)
        st = copy_scalars(list, &lookup->codes, &lookup->ncodes);
done:
    return st;
}

/* 1 if lookup (already read into wf) holds code, else 0. */
static int lookup_has(const hv_workflow *wf, const char *lookup, const char *code)
{
    for (size_t i = 0; i < wf->nlookups; i++) {
        if (!wf->lookups[i].name || strcmp(wf->lookups[i].name, lookup))
            continue;
        for (size_t j = 0; j < wf->lookups[i].ncodes; j++)
            if (!strcmp(wf->lookups[i].codes[j], code))
                return 1;
    }
    return 0;
}

/* The lookups that name closure reasons needing a planned closure
 * (`planned_closure_reasons`: a review planned it) or an evaluation
 * (`evaluated_closure_reasons`), and those that close a case from any open
 * stage (`any_stage_closure_reasons`), may name only codes of
 * `closure_reasons`.
 * map is the `lookups` mapping, already read into wf.
 * Returns HV_OK or HV_INVALID. */
static hv_status check_closure_lookups(loader *ld, const node *map,
                                       const hv_workflow *wf)
{
    static const char *const names[] = {"planned_closure_reasons",
                                        "evaluated_closure_reasons",
                                        "any_stage_closure_reasons", NULL};
    for (size_t i = 0; i < map->nitems / 2; i++) {
        const node *name = map->items[2 * i], *list = map->items[2 * i + 1];
        if (key_index(names, name->text) < 0)
            continue;
        for (size_t j = 0; j < list->nitems; j++) {
            const node *code = list->items[j];
            if (!lookup_has(wf, "closure_reasons", code->text))
                return FAIL_AT_NODE(ld, code, "code " QUOTED " in lookup " QUOTED
                                    " is not one of the workflow's closure_reasons",
                                    code->text, name->text);
        }
    }
    return HV_OK;
}

/* Reads `lookups` (a mapping of name -> list of codes) into wf.
 * Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status build_lookups(loader *ld, const node *map, hv_workflow *wf)
{
    hv_status st = HV_OK;
    if (map->kind != NODE_MAPPING) {
        st = FAIL_AT_NODE(ld, map, "'lookups' must be a mapping of name -> list of codes");
        goto done;
    }
    size_t count = map->nitems / 2;
    if (count) {
        wf->lookups = hv__calloc(count, sizeof *wf->lookups);
        if (!wf->lookups) {
            st = HV_NOMEM;
            goto done;
        }
        wf->nlookups = count;
    }
    for (size_t i = 0; i < count; i++) {
        const node *name = map->items[2 * i];
        if (!is_identifier(name->text, 0)) {
            st = FAIL_AT_NODE(ld, name, "lookup name " QUOTED " must match [a-z][a-z0-9_]*",
                              name->text);
            goto done;
        }
        wf->lookups[i].name = hv__strdup(name->text);
        if (!wf->lookups[i].name) {
            st = HV_NOMEM;
            goto done;
        }
        st = build_lookup(ld, map->items[2 * i + 1], &wf->lookups[i]);
        if (st != HV_OK)
            goto done;
    }
    st = check_closure_lookups(ld, map, wf);
done:
    return st;
}

/* The keys a stage may have, in the order they are usually written. */
enum {
    STAGE_LABEL, STAGE_DESCRIPTION, STAGE_REQUIRES, STAGE_NEXT, STAGE_DUE,
    STAGE_DEFAULT_DUE, STAGE_APPROVAL, STAGE_CHECK, STAGE_TERMINAL, STAGE_STEP
};
static const char *const stage_keys[] = {
    "label", "description", "requires", "next", "due", "default_due",
    "approval", "check", "terminal", "step", NULL};

/* `step:` values, in hv_step order (index 0 is "none"). */
static const char *const step_names[] = {
    "none", "registration", "not_eligible", "initial_assessment",
    "comprehensive_assessment", "planning", "implementation", "followup",
    "evaluation", "closure", "closed", NULL};

/* The step of a stage with a well-known id and no `step:`. */
static hv_step step_from_id(const char *id)
{
    static const struct {
        const char *id;
        hv_step step;
    } known[] = {
        {"registration", HV_STEP_REGISTRATION},
        {"not_eligible", HV_STEP_NOT_ELIGIBLE},
        {"initial_assessment", HV_STEP_INITIAL_ASSESSMENT},
        {"comprehensive_assessment", HV_STEP_COMPREHENSIVE_ASSESSMENT},
        {"case_planning", HV_STEP_PLANNING},
        {"planning", HV_STEP_PLANNING},
        {"implementation", HV_STEP_IMPLEMENTATION},
        {"follow_up_review", HV_STEP_FOLLOWUP},
        {"followup", HV_STEP_FOLLOWUP},
        {"follow_up", HV_STEP_FOLLOWUP},
        {"evaluation", HV_STEP_EVALUATION},
        {"closure", HV_STEP_CLOSURE},
        {"closed", HV_STEP_CLOSED},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(known[i].id, id))
            return known[i].step;
    return HV_STEP_NONE;
}

/* Reads `requires` (a list of dotted field paths) into stage.
 * Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status build_requires(loader *ld, const node *list, hv_stage *stage)
{
    if (list->kind != NODE_SEQUENCE)
        return FAIL_AT_NODE(ld, list, "'requires' of stage " QUOTED
                            " must be a list of field paths such as child.age",
                            stage->id);
    for (size_t i = 0; i < list->nitems; i++) {
        const node *path = list->items[i];
        if (path->kind != NODE_SCALAR || !is_field_path(path->text))
            return FAIL_AT_NODE(ld, path,
                                "required field " QUOTED " of stage " QUOTED
                                " must be a dotted path such as child.age",
                                shown(path), stage->id);
    }
    return copy_scalars(list, &stage->requires, &stage->nrequires);
}

/* Reads scalar n, which must be one of the NULL-terminated words, into
 * *index; key names the setting in messages.
 * Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status take_choice(loader *ld, const node *n, const char *key,
                             const char *const *words, const char *expected,
                             int *index)
{
    *index = n->kind == NODE_SCALAR ? key_index(words, n->text) : -1;
    if (*index < 0)
        return FAIL_AT_NODE(ld, n, "'%s' must be one of %s, not " QUOTED, key,
                            expected,
                            shown(n));
    return HV_OK;
}

/* Reads one stage: its id from key, its settings from the mapping value
 * (except `next`, which needs every stage's id and is read later).
 * Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status build_stage(loader *ld, const node *key, const node *value,
                             hv_stage *stage)
{
    static const char *const approvals[] = {"none", "supervisor", "manager", NULL};
    static const char *const checks[] = {"none", "rule", NULL};
    static const char *const booleans[] = {"false", "true", NULL};
    hv_status st = HV_OK;
    const node *due = NULL, *default_due = NULL;
    int64_t default_seconds = 0;
    int step_given = 0;

    stage->line = key->line;
    stage->column = key->column;
    if (!is_identifier(key->text, 0)) {
        st = FAIL_AT_NODE(ld, key, "stage id " QUOTED " must match [a-z][a-z0-9_]*",
                          key->text);
        goto done;
    }
    stage->id = hv__strdup(key->text);
    if (!stage->id) {
        st = HV_NOMEM;
        goto done;
    }
    if (value->kind != NODE_MAPPING) {
        st = FAIL_AT_NODE(ld, value, "stage " QUOTED " must be a mapping of settings",
                          stage->id);
        goto done;
    }
    for (size_t i = 0; i + 1 < value->nitems; i += 2) {
        const node *k = value->items[i], *v = value->items[i + 1];
        int choice = 0;
        switch (key_index(stage_keys, k->text)) {
        case STAGE_LABEL:
            st = take_text(ld, v, "label", &stage->label);
            break;
        case STAGE_DESCRIPTION:
            st = take_text(ld, v, "description", &stage->description);
            break;
        case STAGE_REQUIRES:
            st = build_requires(ld, v, stage);
            break;
        case STAGE_NEXT:
            if (v->kind != NODE_SEQUENCE)
                st = FAIL_AT_NODE(ld, v, "'next' of stage " QUOTED
                                  " must be a list of stage ids", stage->id);
            break;
        case STAGE_DUE:
            due = v;
            if (v->kind == NODE_SCALAR && strcmp(v->text, "rule") == 0) {
                stage->due = HV_DUE_RULE;
            } else {
                stage->due = HV_DUE_FIXED;
                st = take_duration(ld, v, "due", &stage->due_seconds);
            }
            break;
        case STAGE_DEFAULT_DUE:
            default_due = v;
            st = take_duration(ld, v, "default_due", &default_seconds);
            break;
        case STAGE_APPROVAL:
            st = take_choice(ld, v, "approval", approvals,
                             "none, supervisor or manager", &choice);
            stage->approval = (hv_approval_kind)choice;
            break;
        case STAGE_CHECK:
            st = take_choice(ld, v, "check", checks, "none or rule", &choice);
            stage->check = (hv_check_kind)choice;
            break;
        case STAGE_STEP:
            st = take_choice(ld, v, "step", step_names,
                             "none, registration, not_eligible, "
                             "initial_assessment, comprehensive_assessment, "
                             "planning, implementation, followup, evaluation, "
                             "closure or closed",
                             &choice);
            stage->step = (hv_step)choice;
            step_given = 1;
            break;
        case STAGE_TERMINAL:
            /* a quoted "true" is text, not a boolean */
            choice = v->kind == NODE_SCALAR && v->plain ? key_index(booleans, v->text)
                                                        : -1;
            if (choice < 0)
                st = FAIL_AT_NODE(ld, v, "'terminal' must be true or false");
            stage->terminal = choice == 1;
            break;
        default:
            st = FAIL_AT_NODE(ld, k,
                              "unknown key " QUOTED " in stage " QUOTED
                              " (expected label, description, requires, next, "
                              "due, default_due, approval, check, terminal, step)",
                              k->text, stage->id);
            break;
        }
        if (st != HV_OK)
            goto done;
    }
    if (!step_given)
        stage->step = step_from_id(stage->id);
    if (!stage->label) {
        stage->label = hv__strdup(stage->id);
        if (!stage->label) {
            st = HV_NOMEM;
            goto done;
        }
    }
    /* due: 48h wins; due: rule falls back to default_due; default_due alone
     * is a fixed due time. */
    if (!due && default_due)
        stage->due = HV_DUE_FIXED;
    if (stage->due != HV_DUE_FIXED || !due)
        stage->due_seconds = default_seconds;
done:
    return st;
}

/* Reads `stages` into wf and links them.
 * Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status build_stages(loader *ld, const node *key, const node *map,
                              hv_workflow *wf)
{
    hv_status st = HV_OK;
    if (map->kind != NODE_MAPPING) {
        st = FAIL_AT_NODE(ld, map, "'stages' must be a mapping of stage id -> settings");
        goto done;
    }
    if (map->nitems == 0) {
        st = FAIL_AT_NODE(ld, key, "'stages' must not be empty");
        goto done;
    }
    wf->stages = hv__calloc(map->nitems / 2, sizeof *wf->stages);
    if (!wf->stages) {
        st = HV_NOMEM;
        goto done;
    }
    wf->nstages = map->nitems / 2;
    for (size_t i = 0; i < wf->nstages; i++) {
        st = build_stage(ld, map->items[2 * i], map->items[2 * i + 1], &wf->stages[i]);
        if (st != HV_OK)
            goto done;
    }
    st = hv__wf_link_stages(ld, key, map, wf);
done:
    return st;
}

/* The top-level keys of a workflow file. */
enum { TOP_ID, TOP_NAME, TOP_VERSION, TOP_DESCRIPTION, TOP_LOOKUPS, TOP_STAGES, TOP_COUNT };
static const char *const top_keys[] = {"id", "name", "version", "description",
                                       "lookups", "stages", NULL};

/* Reads `version`: a plain positive integer.  out: *version.
 * Returns HV_OK, HV_INVALID or HV_NOMEM. */
static hv_status take_version(loader *ld, const node *n, int *version)
{
    long value = 0;
    int ok = n->kind == NODE_SCALAR && n->plain && n->text[0] &&
             strspn(n->text, "0123456789") == strlen(n->text) && strlen(n->text) < 10;
    if (ok) {
        value = strtol(n->text, NULL, 10);
        ok = value > 0 && value <= INT_MAX;
    }
    if (!ok)
        return FAIL_AT_NODE(ld, n, "'version' must be a positive integer, not " QUOTED,
                            n->kind == NODE_SCALAR ? n->text : "(not a number)");
    *version = (int)value;
    return HV_OK;
}

/* Checks the tree against the workflow shape and builds the workflow.
 * out: *out.  Returns HV_OK, HV_INVALID (message in ld) or HV_NOMEM. */
hv_status hv__wf_build(loader *ld, const node *root, hv_workflow **out)
{
    hv_status st = HV_OK;
    hv_workflow *wf = NULL;
    const node *keys[TOP_COUNT] = {NULL}, *values[TOP_COUNT] = {NULL};

    *out = NULL;
    if (!root || root->kind != NODE_MAPPING) {
        st = hv__wf_fail_at(ld, root ? root->line : 1, root ? root->column : 1,
                            "the top level must be a mapping (id, name, version, lookups, "
                            "stages)");
        goto done;
    }
    for (size_t i = 0; i + 1 < root->nitems; i += 2) {
        int k = key_index(top_keys, root->items[i]->text);
        if (k < 0) {
            st = FAIL_AT_NODE(ld, root->items[i],
                              "unknown key " QUOTED " (expected id, name, version, "
                              "description, lookups, stages)",
                              root->items[i]->text);
            goto done;
        }
        keys[k] = root->items[i];
        values[k] = root->items[i + 1];
    }
    static const int required[] = {TOP_ID, TOP_NAME, TOP_VERSION, TOP_STAGES};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (!values[required[i]]) {
            st = FAIL_AT_NODE(ld, root, "missing required key '%s'", top_keys[required[i]]);
            goto done;
        }
    }
    wf = hv__calloc(1, sizeof *wf);
    if (!wf) {
        st = HV_NOMEM;
        goto done;
    }
    st = take_text(ld, values[TOP_ID], "id", &wf->id);
    if (st != HV_OK)
        goto done;
    if (strspn(wf->id, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(wf->id)) {
        st = FAIL_AT_NODE(ld, values[TOP_ID], "'id' " QUOTED " must match [a-z0-9_-]+",
                          wf->id);
        goto done;
    }
    st = take_text(ld, values[TOP_NAME], "name", &wf->name);
    if (st == HV_OK)
        st = take_version(ld, values[TOP_VERSION], &wf->version);
    if (st == HV_OK && values[TOP_DESCRIPTION])
        st = take_text(ld, values[TOP_DESCRIPTION], "description", &wf->description);
    if (st == HV_OK && values[TOP_LOOKUPS])
        st = build_lookups(ld, values[TOP_LOOKUPS], wf);
    if (st == HV_OK)
        st = build_stages(ld, keys[TOP_STAGES], values[TOP_STAGES], wf);
    if (st != HV_OK)
        goto done;
    *out = wf;
    wf = NULL;
done:
    hv_workflow_free(wf);
    return st;
}

/* Frees count texts and the array holding them (copy_scalars' result). */
static void free_texts(char **texts, size_t count)
{
    for (size_t i = 0; i < count; i++)
        hv__free(texts[i]);
    hv__free(texts);
}

/* Frees a workflow and everything it owns.  NULL is a no-op. */
HV_API void hv_workflow_free(hv_workflow *wf)
{
    if (!wf)
        return;
    for (size_t i = 0; i < wf->nlookups; i++) {
        free_texts(wf->lookups[i].codes, wf->lookups[i].ncodes);
        hv__free(wf->lookups[i].name);
    }
    hv__free(wf->lookups);
    for (size_t i = 0; i < wf->nstages; i++) {
        hv_stage *stage = &wf->stages[i];
        free_texts(stage->requires, stage->nrequires);
        hv__free(stage->next);
        hv__free(stage->id);
        hv__free(stage->label);
        hv__free(stage->description);
    }
    hv__free(wf->stages);
    hv__free(wf->id);
    hv__free(wf->name);
    hv__free(wf->description);
    hv__free(wf);
}
