/* intake.c - a registration's input: parsed, and checked against the
 * contract and the workflow before anything is decided or written. */
#include "intake.h"
#include "error.h"
#include "age.h"
#include "alloc.h"

#include <stdio.h>
#include <string.h>

#define MAX_NAME_BYTES 200
#define MAX_CODE_BYTES 64
#define MAX_SHORT_BYTES 32 /* a sex code, a date */
/* The fields a registration input may hold, at the top and in each part. */
static const char *const top_fields[] = {"source", "location", "concerns",
                                         "child", "family", "consent",
                                         "form", NULL};
static const char *const child_fields[] = {"name", "age", "dob", "sex", NULL};
static const char *const family_fields[] = {"name", "relationship", "age",
                                            "sex", "lives_with_child", NULL};
static const char *const default_sexes[] = {"female", "male", "other",
                                            "unknown", NULL};
static const char *const default_givers[] = {"child", "caregiver", "both",
                                             "guardian", NULL};

/* The value itself if it looks like a code, else a placeholder: a mistyped
 * value may be a name, which never goes into a message. */
static const char *echo_code(const char *v)
{
    return hv__echo_safe(v) ? v : "(value not shown)";
}

/* 1 if s is in the NULL-terminated list. */
static int in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

/* Refuses any key of obj not in allowed; `where` prefixes the field. */
static hv_status check_keys(hv_engine *e, json_t *obj, const char *where,
                            const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        if (!in_list(allowed, key))
            return hv__echo_safe(key)
                       ? hv__fail(e, HV_INVALID,
                                  "register: unknown field '%s%s'", where, key)
                       : hv__fail(e, HV_INVALID,
                                  "register: unknown field in '%s' (not "
                                  "shown: it does not look like a field name)",
                                  where[0] ? where : "the input");
    }
    return HV_OK;
}

/* 1 if code is allowed: by the workflow's lookup, else by the fallback
 * (none: not allowed). */
static int code_allowed(hv_engine *e, const char *lookup, const char *code,
                        const char *const *fallback)
{
    if (hv__workflow_lookup(e->wf, lookup))
        return hv__workflow_has_code(e->wf, lookup, code);
    return fallback ? in_list(fallback, code) : 0;
}

/* Writes "female, male, ..." into buf: the codes of the workflow's lookup,
 * else of the fallback; a list too long for buf ends in "...". Returns
 * buf. */
static const char *codes_of(hv_engine *e, const char *lookup,
                            const char *const *fallback, char *buf,
                            size_t size)
{
    const hv_lookup *l = hv__workflow_lookup(e->wf, lookup);
    size_t n = 0, count = l ? l->ncodes : 0;
    buf[0] = '\0';
    while (!l && fallback && fallback[count])
        count++;
    for (size_t i = 0; i < count; i++) {
        const char *c = l ? l->codes[i] : fallback[i];
        if (n + strlen(c) + 7 >= size) {
            snprintf(buf + n, size - n, "%s...", i ? ", " : "");
            break;
        }
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "", c);
    }
    return buf;
}

/* Refuses the unknown code v of field `where` (lookup, else fallback),
 * naming the valid codes. */
static hv_status bad_code(hv_engine *e, const char *where, const char *v,
                          const char *lookup, const char *const *fallback)
{
    char codes[320];
    return hv__fail(e, HV_INVALID, "register: %s: unknown code '%s' (one of: %s)",
                    where, echo_code(v),
                    codes_of(e, lookup, fallback, codes, sizeof codes));
}

/* A text field of at most max bytes; *out NULL if absent or null, else
 * pointing into obj.  Refuses non-strings, blank or over-long strings and
 * control characters but tabs; `field` names it in the message. */
static hv_status opt_string(hv_engine *e, json_t *obj, const char *key,
                            const char *field, size_t max, const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return HV_OK;
    if (!json_is_string(v))
        return hv__fail(e, HV_INVALID, "register: %s: must be text", field);
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    size_t lead = strspn(s, " \t");
    if (n == 0 || lead == n)
        return hv__fail(e, HV_INVALID, "register: %s: must not be empty",
                        field);
    if (n > max)
        return hv__fail(e, HV_INVALID, "register: %s: longer than %zu bytes",
                        field, max);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
            return hv__fail(e, HV_INVALID,
                            "register: %s: control characters not allowed",
                            field);
    *out = s;
    return HV_OK;
}

/* The "age" field of obj: a whole number 0..max into *out; -1 if absent. */
static hv_status opt_age(hv_engine *e, json_t *obj, const char *field,
                         int max, int *out)
{
    json_t *v = json_object_get(obj, "age");
    *out = -1;
    if (!v || json_is_null(v))
        return HV_OK;
    if (!json_is_integer(v))
        return hv__fail(e, HV_INVALID, "register: %s: must be a whole number",
                        field);
    json_int_t a = json_integer_value(v);
    if (a < 0 || a > max)
        return hv__fail(e, HV_INVALID,
                        "register: %s: must be from 0 to %d", field, max);
    *out = (int)a;
    return HV_OK;
}

/* 1 if the dotted path names a present, non-empty value in the input. */
static int path_present(json_t *root, const char *path)
{
    char seg[128];
    json_t *node = root;
    const char *p = path;
    while (*p) {
        size_t n = strcspn(p, ".");
        if (n == 0 || n >= sizeof seg)
            return 0;
        memcpy(seg, p, n);
        seg[n] = '\0';
        if (!json_is_object(node))
            return 0;
        node = json_object_get(node, seg);
        if (!node)
            return 0;
        p += n;
        if (*p == '.')
            p++;
    }
    if (json_is_null(node))
        return 0;
    if (json_is_string(node))
        return json_string_length(node) > 0;
    if (json_is_array(node))
        return json_array_size(node) > 0;
    if (json_is_object(node))
        return json_object_size(node) > 0;
    return 1;
}

/* Checks the child's date of birth against the age given and today's
 * date (an age over max refused); the age it gives goes into r and into
 * the input (child.age). */
static hv_status check_dob(hv_engine *e, json_t *child, int max,
                           hv_intake *r)
{
    hv_time dob;
    if (hv_time_parse(r->child_dob, &dob) != HV_OK ||
        strlen(r->child_dob) != 10)
        return hv__fail(e, HV_INVALID,
                        "register: child.dob: must be a date YYYY-MM-DD "
                        "from 1900 on");
    if (dob > hv_now(e))
        return hv__fail(e, HV_INVALID, "register: child.dob: is in the future");
    int age = (int)hv__age_from_dob(r->child_dob, hv_now(e));
    if (age > max)
        return hv__fail(e, HV_INVALID,
                        "register: child.dob: the child must be under %d",
                        max + 1);
    if (r->child_age >= 0 && r->child_age != age)
        return hv__fail(e, HV_INVALID,
                        "register: child.age: does not match child.dob");
    r->child_age = age;
    if (json_object_set_new(child, "age", json_integer(age)))
        return hv__fail(e, HV_NOMEM, "out of memory");
    return HV_OK;
}

/* Checks the child object (NULL: none) into r, ages up to max. */
static hv_status check_child_obj(hv_engine *e, json_t *child, int max,
                                 hv_intake *r)
{
    hv_status s;
    if (!child)
        return HV_OK;
    if (!json_is_object(child))
        return hv__fail(e, HV_INVALID, "register: child: must be an object");
    if ((s = check_keys(e, child, "child.", child_fields)) ||
        (s = opt_string(e, child, "name", "child.name", MAX_NAME_BYTES,
                        &r->child_name)) ||
        (s = opt_string(e, child, "sex", "child.sex", MAX_SHORT_BYTES,
                        &r->child_sex)) ||
        (s = opt_string(e, child, "dob", "child.dob", MAX_SHORT_BYTES,
                        &r->child_dob)) ||
        (s = opt_age(e, child, "child.age", max, &r->child_age)))
        return s;
    if (r->child_sex && !code_allowed(e, "sexes", r->child_sex, default_sexes))
        return bad_code(e, "child.sex", r->child_sex, "sexes", default_sexes);
    return r->child_dob ? check_dob(e, child, max, r) : HV_OK;
}

/* Checks the input's child (if any) into r. */
static hv_status check_child(hv_engine *e, json_t *in, hv_intake *r)
{
    return check_child_obj(e, json_object_get(in, "child"), HV_MAX_CHILD_AGE,
                           r);
}

/* Checks the input's concerns (if any): known codes, each once. */
static hv_status check_concerns(hv_engine *e, hv_intake *r)
{
    size_t i;
    json_t *c;
    if (!r->concerns)
        return HV_OK;
    if (!json_is_array(r->concerns))
        return hv__fail(e, HV_INVALID,
                        "register: concerns: must be a list of codes");
    json_array_foreach(r->concerns, i, c) {
        if (!json_is_string(c))
            return hv__fail(e, HV_INVALID,
                            "register: concerns[%zu]: must be a code", i);
        if (!code_allowed(e, "concerns", json_string_value(c), NULL))
            return bad_code(e, "concerns", json_string_value(c), "concerns",
                            NULL);
        for (size_t j = 0; j < i; j++)
            if (json_equal(json_array_get(r->concerns, j), c))
                return hv__fail(e, HV_INVALID,
                                "register: concerns: '%s' given twice",
                                echo_code(json_string_value(c)));
    }
    return HV_OK;
}

/* Checks the input's consent (if any): known scopes, each given by one of
 * the known givers. */
static hv_status check_consent(hv_engine *e, hv_intake *r)
{
    const char *scope;
    json_t *g;
    if (!r->consent)
        return HV_OK;
    if (!json_is_object(r->consent))
        return hv__fail(e, HV_INVALID,
                        "register: consent: must map scopes to who gave it");
    json_object_foreach(r->consent, scope, g) {
        if (hv__workflow_lookup(e->wf, "consent_scopes") &&
            !hv__workflow_has_code(e->wf, "consent_scopes", scope))
            return hv__fail(e, HV_INVALID,
                            "register: consent.%s: unknown consent scope",
                            echo_code(scope));
        if (!json_is_string(g) ||
            !code_allowed(e, "consent_givers", json_string_value(g),
                          default_givers))
            return hv__fail(e, HV_INVALID,
                            "register: consent.%s: who gave it must be "
                            "one of child, caregiver, both, guardian",
                            echo_code(scope));
    }
    return HV_OK;
}

/* Checks family member number n (from 1), the object m (its relationship
 * required when need_relationship). */
static hv_status check_member(hv_engine *e, json_t *m, size_t n,
                              int need_relationship)
{
    const char *rel, *name, *sex;
    int age;
    char where[48];
    hv_status s;
    snprintf(where, sizeof where, "family.%zu.", n);
    if (!json_is_object(m))
        return hv__fail(e, HV_INVALID, "register: family.%zu: must be an object",
                        n);
    if ((s = check_keys(e, m, where, family_fields)))
        return s;
    snprintf(where, sizeof where, "family.%zu.relationship", n);
    if ((s = opt_string(e, m, "relationship", where, MAX_CODE_BYTES, &rel)))
        return s;
    if (!rel && need_relationship)
        return hv__fail(e, HV_INVALID, "register: missing required field '%s'",
                        where);
    if (rel && !code_allowed(e, "relationships", rel, NULL) &&
        hv__workflow_lookup(e->wf, "relationships"))
        return bad_code(e, where, rel, "relationships", NULL);
    snprintf(where, sizeof where, "family.%zu.name", n);
    if ((s = opt_string(e, m, "name", where, MAX_NAME_BYTES, &name)))
        return s;
    snprintf(where, sizeof where, "family.%zu.sex", n);
    if ((s = opt_string(e, m, "sex", where, MAX_SHORT_BYTES, &sex)))
        return s;
    if (sex && !code_allowed(e, "sexes", sex, default_sexes))
        return bad_code(e, where, sex, "sexes", default_sexes);
    snprintf(where, sizeof where, "family.%zu.age", n);
    if ((s = opt_age(e, m, where, HV_MAX_PERSON_AGE, &age)))
        return s;
    json_t *lw = json_object_get(m, "lives_with_child");
    if (lw && !json_is_boolean(lw))
        return hv__fail(e, HV_INVALID,
                        "register: family.%zu.lives_with_child: must be true "
                        "or false",
                        n);
    return HV_OK;
}

/* Checks the input's family (if any): a list of at most HV_MAX_FAMILY
 * people. */
static hv_status check_family(hv_engine *e, hv_intake *r)
{
    size_t i;
    json_t *m;
    hv_status s;
    if (!r->family)
        return HV_OK;
    if (!json_is_array(r->family))
        return hv__fail(e, HV_INVALID,
                        "register: family: must be a list of people");
    if (json_array_size(r->family) > HV_MAX_FAMILY)
        return hv__fail(e, HV_INVALID, "register: family: more than %d people",
                        HV_MAX_FAMILY);
    json_array_foreach(r->family, i, m) {
        if ((s = check_member(e, m, i + 1, 1)))
            return s;
    }
    return HV_OK;
}

/* Checks that the input holds what the workflow's first stage requires,
 * and what the engine itself needs whatever the workflow says. */
static hv_status check_required(hv_engine *e, json_t *in, hv_intake *r)
{
    const hv_stage *first = &e->wf->stages[0];
    char list[400] = "";
    size_t n = 0, missing = 0, by_workflow = 0;
    const char *own[3] = {
        r->source ? NULL : "source",
        r->concerns && json_array_size(r->concerns) ? NULL : "concerns",
        r->consent && json_object_get(r->consent, "registration")
            ? NULL
            : "consent.registration"};
    for (size_t i = 0; i < first->nrequires + 3; i++) {
        const char *f = i < first->nrequires ? first->requires[i]
                                             : own[i - first->nrequires];
        if (!f || (i < first->nrequires && path_present(in, f)))
            continue;
        char quoted[80];
        snprintf(quoted, sizeof quoted, "'%s'", f);
        if (strstr(list, quoted) || n + strlen(quoted) + 3 >= sizeof list)
            continue;
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s",
                              missing ? ", " : "", quoted);
        missing++;
        by_workflow += i < first->nrequires;
    }
    if (!missing)
        return HV_OK;
    char why[96] = "";
    if (by_workflow)
        snprintf(why, sizeof why, " (workflow %s, stage %s)", e->wf->id,
                 first->id);
    else if (missing == 1 && !own[0] && !own[1])
        snprintf(why, sizeof why, " (informed consent or assent)");
    return hv__fail(e, HV_INVALID, "register: missing required field%s %s%s",
                    missing == 1 ? "" : "s", list, why);
}

/* Checks the input against the contract and the workflow; fills r (which
 * points into in) and normalises the input (child.age derived from
 * child.dob). */
static hv_status validate(hv_engine *e, json_t *in, hv_intake *r)
{
    hv_status s;
    memset(r, 0, sizeof *r);
    r->input = in;
    r->child_age = -1;
    if (!json_is_object(in))
        return hv__fail(e, HV_INVALID, "register: input must be a JSON object");
    if ((s = check_keys(e, in, "", top_fields)) ||
        (s = check_child(e, in, r)) ||
        (s = opt_string(e, in, "source", "source", MAX_CODE_BYTES,
                        &r->source)) ||
        (s = opt_string(e, in, "location", "location", MAX_NAME_BYTES,
                        &r->location)))
        return s;
    if (r->source && !code_allowed(e, "referral_sources", r->source, NULL))
        return bad_code(e, "source", r->source, "referral_sources", NULL);
    r->concerns = json_object_get(in, "concerns");
    r->consent = json_object_get(in, "consent");
    r->family = json_object_get(in, "family");
    r->form = json_object_get(in, "form");
    if ((s = check_concerns(e, r)) || (s = check_consent(e, r)) ||
        (s = check_family(e, r)))
        return s;
    if (r->form && !json_is_object(r->form))
        return hv__fail(e, HV_INVALID, "register: form: must be an object");
    return check_required(e, in, r);
}
/* Parses input JSON text (NULL: HV_USAGE).  A parse error's message gives
 * line, column and why, never the text.  out: *out, a new reference. */
static hv_status parse_input(hv_engine *e, const char *text, json_t **out)
{
    json_error_t jerr;
    *out = NULL;
    if (!text)
        return hv__fail(e, HV_USAGE, "register: no input");
    json_t *in = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!in) {
        /* jansson's text quotes the input ("near '...'"): never echo it. */
        const char *why;
        switch (json_error_code(&jerr)) {
        case json_error_end_of_input_expected: why = "text after the JSON value"; break;
        case json_error_premature_end_of_input: why = "the JSON ends early"; break;
        case json_error_invalid_utf8: why = "not UTF-8"; break;
        case json_error_duplicate_key: why = "a key given twice"; break;
        case json_error_null_character:
        case json_error_null_byte_in_key: why = "a NUL character"; break;
        default: why = "not valid JSON"; break;
        }
        return hv__fail(e, HV_INVALID, "register: input:%d:%d: %s", jerr.line,
                        jerr.column, why);
    }
    *out = in;
    return HV_OK;
}

hv_status hv__intake_read(hv_engine *e, const char *text, json_t **in,
                          hv_intake *r)
{
    memset(r, 0, sizeof *r);
    r->child_age = -1;
    hv_status s = parse_input(e, text, in);
    return s ? s : validate(e, *in, r);
}

/* ---- the same checks for a later change of the record (update.c) ---- */

/* The failure s with its message's "register: " put as "<verb>: ". */
static hv_status as_verb(hv_engine *e, hv_status s, const char *verb)
{
    const char *m = hv_errmsg(e);
    if (s == HV_OK || s == HV_NOMEM || strncmp(m, "register: ", 10) != 0)
        return s;
    char *keep = hv__strdup(m + 10);
    if (!keep)
        return hv__fail(e, HV_NOMEM, "out of memory");
    hv__fail(e, s, "%s: %s", verb, keep);
    hv__free(keep);
    return s;
}

hv_status hv__intake_check_child(hv_engine *e, const char *verb,
                                 json_t *child, int max_age, hv_intake *r)
{
    memset(r, 0, sizeof *r);
    r->child_age = -1;
    return as_verb(e, check_child_obj(e, child, max_age, r), verb);
}

hv_status hv__intake_check_member(hv_engine *e, const char *verb, json_t *m,
                                  size_t n, int need_relationship)
{
    return as_verb(e, check_member(e, m, n, need_relationship), verb);
}

hv_status hv__intake_check_location(hv_engine *e, const char *verb,
                                    json_t *obj, const char **out)
{
    return as_verb(e, opt_string(e, obj, "location", "location",
                                 MAX_NAME_BYTES, out), verb);
}
