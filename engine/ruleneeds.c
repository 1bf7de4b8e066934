/*
 * ruleneeds.c - the minimised case view every hook is shown (see
 * ruleneeds.h): a whitelist of members, each copied only when it has its
 * kind.
 */
#include "ruleneeds.h"

#include <math.h>
#include <string.h>

#include "alloc.h"
#include "names.h"

/* The kinds of member a view may hold. */
typedef enum {
    K_TEXT,     /* a string (a code or a reference) */
    K_NUMBER,   /* a finite number */
    K_BOOL,     /* true or false */
    K_TEXTS,    /* a list of strings (codes) */
    K_COUNT,    /* a list of free text: how many items (or a number) */
    K_LOCATION, /* cut to its district */
    K_FORM,     /* only the declared fields */
    K_MAP,      /* an object of strings (consent: scope -> who) */
    K_OBJECT,   /* an object of its own members (spec) */
    K_LIST      /* a list of objects of their own members (spec) */
} member_kind;

typedef struct member {
    const char *key;
    member_kind kind;
    const struct member *spec; /* K_OBJECT, K_LIST */
} member;

#define END {NULL, K_TEXT, NULL}

static const member child_spec[] = {{"age", K_NUMBER, NULL},
                                    {"sex", K_TEXT, NULL}, END};
static const member family_spec[] = {
    {"relationship", K_TEXT, NULL}, {"age", K_NUMBER, NULL},
    {"sex", K_TEXT, NULL}, {"lives_with_child", K_BOOL, NULL}, END};
static const member risk_spec[] = {{"level", K_TEXT, NULL},
                                   {"score", K_NUMBER, NULL}, END};
static const member assessment_spec[] = {
    {"kind", K_TEXT, NULL},      {"at", K_NUMBER, NULL},
    {"safety", K_TEXT, NULL},    {"needs", K_COUNT, NULL},
    {"risks", K_COUNT, NULL},    {"strengths", K_COUNT, NULL},
    {"info_needed", K_COUNT, NULL}, {"changes", K_TEXTS, NULL}, END};
static const member followup_spec[] = {{"at", K_NUMBER, NULL},
                                       {"method", K_TEXT, NULL},
                                       {"safety", K_TEXT, NULL}, END};
static const member review_spec[] = {{"at", K_NUMBER, NULL},
                                     {"outcome", K_TEXT, NULL}, END};
static const member action_spec[] = {
    {"status", K_TEXT, NULL}, {"due", K_NUMBER, NULL},
    {"type", K_TEXT, NULL}, {"responsible", K_TEXT, NULL}, END};
static const member plan_spec[] = {
    {"target_date", K_NUMBER, NULL}, {"version", K_NUMBER, NULL},
    {"approved_at", K_NUMBER, NULL}, {"actions", K_LIST, action_spec}, END};
/* a closure or transfer being requested: whether a supervisor overrode
 * missing consent (a flag, never the override's reason) */
static const member closure_spec[] = {{"consent_overridden", K_BOOL, NULL},
                                      END};
static const member root_spec[] = {
    {"ref", K_TEXT, NULL},           {"stage", K_TEXT, NULL},
    {"status", K_TEXT, NULL},        {"source", K_TEXT, NULL},
    {"location", K_LOCATION, NULL},  {"urgency", K_TEXT, NULL},
    {"registered_at", K_NUMBER, NULL}, {"form", K_FORM, NULL},
    {"concerns", K_TEXTS, NULL},     {"consent", K_MAP, NULL},
    {"child", K_OBJECT, child_spec}, {"family", K_LIST, family_spec},
    {"risk", K_OBJECT, risk_spec},   {"evaluations", K_LIST, review_spec},
    {"assessments", K_LIST, assessment_spec},
    {"followups", K_LIST, followup_spec}, {"reviews", K_LIST, review_spec},
    {"plan", K_OBJECT, plan_spec},   {"closure", K_OBJECT, closure_spec},
    END};

json_t *hv__view_location(const char *loc)
{
    char buf[256];
    return loc && hv__location_district(loc, buf, sizeof buf) ? json_string(buf)
                                                              : NULL;
}

json_int_t hv__view_count(const json_t *v)
{
    return json_is_array(v)     ? (json_int_t)json_array_size(v)
           : json_is_integer(v) ? json_integer_value(v)
                                : 0;
}

int hv__view_field_ok(const json_t *v, const char *type)
{
    if (!strcmp(type, "boolean"))
        return json_is_boolean(v);
    if (!strcmp(type, "number"))
        return json_is_number(v) && isfinite(json_number_value(v));
    return json_is_string(v) && hv__pack_is_code(json_string_value(v));
}

json_t *hv__view_form(const json_t *form, const hv_pack *p)
{
    json_t *out = json_object();
    const char *name;
    json_t *type;
    if (!out)
        return NULL;
    json_object_foreach((json_t *)p->fields, name, type) {
        json_t *v = json_object_get(form, name);
        if (v && hv__view_field_ok(v, json_string_value(type)) &&
            json_object_set(out, name, v)) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static json_t *copy_object(const json_t *in, const member *spec,
                           const hv_pack *p, int *bad);

/* Member m of in, as the view shows it: a new value, or NULL when it is
 * left out (*bad set when out of memory). */
static json_t *copy_member(const json_t *v, const member *m, const hv_pack *p,
                           int *bad)
{
    json_t *out = NULL, *x;
    size_t i;
    const char *key;
    switch (m->kind) {
    case K_TEXT: return json_is_string(v) ? json_incref((json_t *)v) : NULL;
    case K_NUMBER:
        return json_is_number(v) && isfinite(json_number_value(v))
                   ? json_incref((json_t *)v) : NULL;
    case K_BOOL: return json_is_boolean(v) ? json_incref((json_t *)v) : NULL;
    case K_COUNT: return json_integer(hv__view_count(v));
    case K_LOCATION: return hv__view_location(json_string_value(v));
    case K_FORM:
        if (!(out = hv__view_form(v, p)))
            *bad = 1;
        return out;
    case K_TEXTS:
    case K_LIST:
        if (!json_is_array(v))
            return NULL;
        out = json_array();
        json_array_foreach((json_t *)v, i, x) {
            json_t *item = m->kind == K_TEXTS
                               ? (json_is_string(x) ? json_incref(x) : NULL)
                               : copy_object(x, m->spec, p, bad);
            if (item && json_array_append_new(out, item))
                *bad = 1;
        }
        break;
    case K_MAP:
        if (!json_is_object(v))
            return NULL;
        out = json_object();
        json_object_foreach((json_t *)v, key, x) {
            if (json_is_string(x) && json_object_set(out, key, x))
                *bad = 1;
        }
        break;
    case K_OBJECT: return copy_object(v, m->spec, p, bad);
    }
    if (!out)
        *bad = 1;
    return out;
}

/* The members of spec that in (an object) has, each as the view shows it;
 * NULL when in is not an object (*bad set when out of memory). */
static json_t *copy_object(const json_t *in, const member *spec,
                           const hv_pack *p, int *bad)
{
    if (!json_is_object(in))
        return NULL;
    json_t *out = json_object();
    if (!out) {
        *bad = 1;
        return NULL;
    }
    for (const member *m = spec; m->key; m++) {
        json_t *v = json_object_get(in, m->key);
        if (!v && m->kind != K_FORM && m->kind != K_COUNT)
            continue;
        json_t *shown = copy_member(v, m, p, bad);
        if (shown && json_object_set_new(out, m->key, shown))
            *bad = 1;
    }
    return out;
}

json_t *hv__view_minimise(const json_t *full, const hv_pack *p)
{
    int bad = 0;
    json_t *out = copy_object(full, root_spec, p, &bad);
    if (!out && !bad)
        out = json_object();
    if (bad) {
        json_decref(out);
        return NULL;
    }
    return out;
}

void hv__pack_print_needs(const hv_pack *p, FILE *out)
{
    const char *name;
    json_t *type;
    fprintf(out, "%s: reads the minimised case view (codes, numbers, dates "
                 "of steps, the child's age, the location's district; no "
                 "names, date of birth or free text)",
            p->dir ? p->dir : p->name);
    if (json_object_size(p->fields) == 0)
        fprintf(out, " and no form field\n");
    else {
        fprintf(out, " and the form field%s",
                json_object_size(p->fields) == 1 ? "" : "s");
        size_t k = 0;
        json_object_foreach((json_t *)p->fields, name, type)
            fprintf(out, "%s %s (%s)", k++ ? "," : "", name,
                    json_string_value(type));
        fprintf(out, "\n");
    }
    fprintf(out, "%s: returns %zu declared code%s (pack.yaml codes)\n",
            p->dir ? p->dir : p->name, json_object_size(p->codes),
            json_object_size(p->codes) == 1 ? "" : "s");
}

/* Writes "a, b, c" (the keys of spec, or of the declared form fields) to
 * buf. */
static void list_members(const member *spec, const hv_pack *p, char *buf,
                         size_t size)
{
    size_t n = 0;
    const char *name;
    json_t *type;
    buf[0] = '\0';
    if (!spec) {
        json_object_foreach((json_t *)p->fields, name, type) {
            (void)type;
            if (n < size)
                n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "",
                                      name);
        }
        if (!n)
            snprintf(buf, size, "none: pack.yaml declares no form field");
        return;
    }
    for (; spec->key && n < size; spec++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "",
                              spec->key);
}

/* hv__view_unknown for the object v under spec (NULL: the form) at path
 * (a prefix, "" at the top). */
static int unknown_in(const json_t *v, const member *spec, const hv_pack *p,
                      const char *at, char *path, size_t psize, char *allowed,
                      size_t asize)
{
    const char *key;
    json_t *x;
    if (!json_is_object(v))
        return 0;
    json_object_foreach((json_t *)v, key, x) {
        const member *m = spec;
        while (m && m->key && strcmp(m->key, key))
            m++;
        if (spec ? !m->key : !json_object_get(p->fields, key)) {
            snprintf(path, psize, "%s%s", at, key);
            list_members(spec, p, allowed, asize);
            return 1;
        }
        if (!spec)
            continue;
        char sub[200];
        if (m->kind == K_OBJECT || m->kind == K_FORM) {
            snprintf(sub, sizeof sub, "%s%s.", at, key);
            if (unknown_in(x, m->kind == K_FORM ? NULL : m->spec, p, sub, path,
                           psize, allowed, asize))
                return 1;
        } else if (m->kind == K_LIST && json_is_array(x)) {
            for (size_t i = 0; i < json_array_size(x); i++) {
                snprintf(sub, sizeof sub, "%s%s[%zu].", at, key, i + 1);
                if (unknown_in(json_array_get(x, i), m->spec, p, sub, path,
                               psize, allowed, asize))
                    return 1;
            }
        }
    }
    return 0;
}

int hv__view_unknown(const json_t *view, const hv_pack *p, char *path,
                     size_t psize, char *allowed, size_t asize)
{
    return unknown_in(view, root_spec, p, "", path, psize, allowed, asize);
}

/* ---- an assessment's data, read for its counts alone ---------------------- */

/* A pass over JSON text that checks it as jansson would and keeps only
 * what the view shows of an assessment.  unsure: the text holds what this
 * pass does not decide alike (\u escapes, bytes over 0x7f, numbers other
 * than short integers, deep nesting): jansson reads it instead.  bad: not
 * JSON (the view then shows nothing of it, as for a value jansson
 * refuses). */
typedef struct {
    const char *p, *end, *base;
    int unsure, bad;
} json_scan;

/* The members of an assessment's data the view shows (ruleneeds.h). */
static const char *const counted[] = {"needs", "risks", "strengths", "info_needed"};

static void scan_ws(json_scan *s)
{
    while (s->p < s->end &&
           (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* A string at s->p (the opening quote); *start, *len: its text between
 * the quotes, *plain: without escapes.  0, or -1 (s->bad or s->unsure). */
static int scan_string(json_scan *s, const char **start, size_t *len, int *plain)
{
    *plain = 1;
    *start = ++s->p;
    while (s->p < s->end && *s->p != '"') {
        unsigned char c = (unsigned char)*s->p;
        if (c < 0x20) {
            s->bad = 1;
            return -1;
        }
        if (c > 0x7f) {
            s->unsure = 1;
            return -1;
        }
        if (c == '\\') {
            *plain = 0;
            if (++s->p >= s->end || !strchr("\"\\/bfnrtu", *s->p) || *s->p == 'u') {
                if (s->p < s->end && *s->p == 'u')
                    s->unsure = 1;
                else
                    s->bad = 1;
                return -1;
            }
        }
        s->p++;
    }
    if (s->p >= s->end) {
        s->bad = 1;
        return -1;
    }
    *len = (size_t)(s->p - *start);
    s->p++;
    return 0;
}

/* A number at s->p: 0 with *v when it is an integer of at most 18 digits;
 * else -1 (s->bad, or s->unsure for any other number). */
static int scan_integer(json_scan *s, json_int_t *v)
{
    const char *q = s->p;
    int neg = q < s->end && *q == '-';
    q += neg;
    const char *digits = q;
    json_int_t n = 0;
    /* past 18 digits the number is unsure (below): stop adding before
     * the value could overflow */
    while (q < s->end && *q >= '0' && *q <= '9') {
        if (q - digits < 18)
            n = n * 10 + (*q - '0');
        q++;
    }
    size_t nd = (size_t)(q - digits);
    if (nd == 0 || (nd > 1 && *digits == '0')) {
        s->bad = 1;
        return -1;
    }
    if (nd > 18 || (q < s->end && (*q == '.' || *q == 'e' || *q == 'E'))) {
        s->unsure = 1;
        return -1;
    }
    s->p = q;
    *v = neg ? -n : n;
    return 0;
}

/* After an array's or object's item: 1 at a comma (another item
 * follows), 0 at close (the end, passed), else -1 (s->bad). */
static int scan_next(json_scan *s, char close)
{
    scan_ws(s);
    if (s->p < s->end && (*s->p == ',' || *s->p == close))
        return *s->p++ == ',';
    s->bad = 1;
    return -1;
}

static int scan_value(json_scan *s, int depth);

int hv__view_assessment_change(hv_assess_view *out, size_t off, size_t len)
{
    if (out->nchanges == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 8;
        size_t *grown = hv__realloc(out->changes, cap * 2 * sizeof *grown);
        if (!grown)
            return -1;
        out->changes = grown;
        out->cap = cap;
    }
    out->changes[2 * out->nchanges] = off;
    out->changes[2 * out->nchanges + 1] = len;
    out->nchanges++;
    return 0;
}

/* The members of an array at s->p, each skipped; *n: how many.  Strings
 * among them are added to texts' changes when it is not NULL. */
static int scan_array(json_scan *s, int depth, json_int_t *n, hv_assess_view *texts)
{
    *n = 0;
    s->p++;
    scan_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return 0;
    }
    for (;;) {
        scan_ws(s);
        if (texts && s->p < s->end && *s->p == '"') {
            const char *t;
            size_t len;
            int plain;
            if (scan_string(s, &t, &len, &plain))
                return -1;
            if (!plain) { /* an escaped code: decoded by jansson */
                s->unsure = 1;
                return -1;
            }
            if (hv__view_assessment_change(texts, (size_t)(t - s->base), len)) {
                s->unsure = 1; /* out of memory: jansson's way fails alike */
                return -1;
            }
        } else if (scan_value(s, depth + 1)) {
            return -1;
        }
        (*n)++;
        int more = scan_next(s, ']');
        if (more <= 0)
            return more;
    }
}

/* Skips the object at s->p (on '{'); its members to on_member. */
static int scan_object(json_scan *s, int depth, hv_assess_view *out);

static int scan_value(json_scan *s, int depth)
{
    json_int_t n;
    const char *t;
    size_t len;
    int plain;
    if (depth > 512) {
        s->unsure = 1;
        return -1;
    }
    scan_ws(s);
    if (s->p >= s->end) {
        s->bad = 1;
        return -1;
    }
    switch (*s->p) {
    case '{': return scan_object(s, depth, NULL);
    case '[': return scan_array(s, depth, &n, NULL);
    case '"': return scan_string(s, &t, &len, &plain);
    case 't':
    case 'f':
    case 'n': {
        const char *word = *s->p == 't' ? "true" : *s->p == 'f' ? "false" : "null";
        size_t k = strlen(word);
        if ((size_t)(s->end - s->p) < k || memcmp(s->p, word, k)) {
            s->bad = 1;
            return -1;
        }
        s->p += k;
        return 0;
    }
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return scan_integer(s, &n);
        s->bad = 1;
        return -1;
    }
}

/* The value of member key (at s->p) into out (the top object only): a
 * later member of the same name replaces an earlier one, as jansson's
 * object keeps the last. */
static int scan_member(json_scan *s, int depth, const char *key, size_t klen,
                       hv_assess_view *out)
{
    int which = -1;
    json_int_t n = 0;
    for (int k = 0; out && k < 4; k++)
        if (strlen(counted[k]) == klen && !memcmp(counted[k], key, klen))
            which = k;
    int changes = out && klen == 7 && !memcmp(key, "changes", 7);
    scan_ws(s);
    if (which < 0 && !changes)
        return scan_value(s, depth + 1);
    if (changes)
        out->nchanges = 0; /* this member replaces an earlier one */
    if (s->p < s->end && *s->p == '[') {
        int rc = scan_array(s, depth + 1, &n, changes ? out : NULL);
        if (rc || changes)
            return rc;
    } else if (s->p < s->end && (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))) {
        if (scan_integer(s, &n))
            return -1;
        if (changes)
            return 0; /* not a list: no codes */
    } else {
        if (scan_value(s, depth + 1))
            return -1;
        if (changes)
            return 0;
    }
    /* a list: its size; an integer: itself; anything else: 0 */
    out->count[which] = n;
    return 0;
}

static int scan_object(json_scan *s, int depth, hv_assess_view *out)
{
    s->p++;
    scan_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return 0;
    }
    for (;;) {
        const char *key;
        size_t klen;
        int plain;
        scan_ws(s);
        if (s->p >= s->end || *s->p != '"' || scan_string(s, &key, &klen, &plain)) {
            s->bad |= !s->unsure;
            return -1;
        }
        if (!plain && out) { /* an escaped key may spell a counted one */
            s->unsure = 1;
            return -1;
        }
        scan_ws(s);
        if (s->p >= s->end || *s->p != ':') {
            s->bad = 1;
            return -1;
        }
        s->p++;
        if (scan_member(s, depth, key, klen, out))
            return -1;
        int more = scan_next(s, '}');
        if (more <= 0)
            return more;
    }
}

int hv__view_assessment_scan(const char *text, size_t n, hv_assess_view *out)
{
    json_scan s = {text, text + n, text, 0, 0};
    memset(out->count, 0, sizeof out->count);
    out->nchanges = 0;
    scan_ws(&s);
    if (s.p < s.end && *s.p == '{' && scan_object(&s, 1, out) == 0) {
        scan_ws(&s);
        if (s.p != s.end)
            s.bad = 1;
    } else if (!s.unsure) {
        /* not an object (an array or not JSON): nothing of it is shown */
        s.bad = 1;
    }
    if (s.unsure)
        return 1;
    if (s.bad) {
        memset(out->count, 0, sizeof out->count);
        out->nchanges = 0;
    }
    /* a counted list that is absent or not a list or integer counts 0,
     * as hv__view_count says */
    return 0;
}
