/* registry.c - registering a child: validation against the workflow,
 * reference codes, duplicate detection, and the one registration
 * transaction; also case notes (the simplest versioned change). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "engine.h"
#include "names.h"
#include "rules.h"
#include "store.h"

#define MAX_CHILD_AGE 17   /* a child: under the age of majority (18) */
#define MAX_NAME_BYTES 200
#define MAX_TEXT_BYTES 2000
#define MAX_FAMILY 30
#define SECONDS_PER_YEAR 31556952 /* 365.2425 days */

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

/* 1 if code is allowed: by the workflow's lookup, else by the fallback. */
static int code_allowed(hv_engine *e, const char *lookup, const char *code,
                        const char *const *fallback)
{
    if (hv__workflow_lookup(e->wf, lookup))
        return hv__workflow_has_code(e->wf, lookup, code);
    return fallback ? in_list(fallback, code) : 0;
}

/* A string field of at most max bytes, trimmed of nothing; NULL if absent.
 * Refuses non-strings and empty or over-long strings. */
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

/* An age field: a whole number 0..max; -1 if absent. */
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

/* Age in whole years on `now` of someone born on dob (YYYY-MM-DD). */
static int age_from_dob(hv_time dob, hv_time now)
{
    char b[32], n[32];
    hv_time_format(dob, b, sizeof b);
    hv_time_format(now, n, sizeof n);
    int by, bm, bd, ny, nm, nd;
    sscanf(b, "%d-%d-%d", &by, &bm, &bd);
    sscanf(n, "%d-%d-%d", &ny, &nm, &nd);
    int age = ny - by;
    if (nm < bm || (nm == bm && nd < bd))
        age--;
    return age;
}

/* Validated registration, pointing into the input JSON. */
typedef struct {
    json_t *input;
    const char *source, *location;
    const char *child_name, *child_sex, *child_dob;
    int child_age;
    json_t *concerns; /* array of strings */
    json_t *family;   /* array of objects, or NULL */
    json_t *consent;  /* object scope -> giver */
    json_t *form;     /* object or NULL */
    /* Decided by the rules (or the workflow's defaults). */
    int eligible;
    const char *urgency;       /* NULL: not decided */
    int64_t initial_due;       /* seconds after registration; 0: default */
    int64_t comprehensive_due; /* 0: the workflow's default */
    json_t *decisions;         /* array of decision records, or NULL */
} registration;

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

/* Validates the input against the contract and the workflow; fills r and
 * normalises the input (age derived from dob). */
static hv_status validate(hv_engine *e, json_t *in, registration *r)
{
    hv_status s;
    memset(r, 0, sizeof *r);
    r->input = in;
    r->child_age = -1;
    if (!json_is_object(in))
        return hv__fail(e, HV_INVALID, "register: input must be a JSON object");
    if ((s = check_keys(e, in, "", top_fields)))
        return s;
    json_t *child = json_object_get(in, "child");
    if (child && !json_is_object(child))
        return hv__fail(e, HV_INVALID, "register: child: must be an object");
    if (child) {
        if ((s = check_keys(e, child, "child.", child_fields)) ||
            (s = opt_string(e, child, "name", "child.name", MAX_NAME_BYTES,
                            &r->child_name)) ||
            (s = opt_string(e, child, "sex", "child.sex", 32, &r->child_sex)) ||
            (s = opt_string(e, child, "dob", "child.dob", 32, &r->child_dob)) ||
            (s = opt_age(e, child, "child.age", MAX_CHILD_AGE, &r->child_age)))
            return s;
        if (r->child_sex && !code_allowed(e, "sexes", r->child_sex,
                                          default_sexes))
            return hv__fail(e, HV_INVALID,
                            "register: child.sex: unknown code '%s'",
                            echo_code(r->child_sex));
        if (r->child_dob) {
            hv_time dob;
            if (hv_time_parse(r->child_dob, &dob) != HV_OK ||
                strlen(r->child_dob) != 10)
                return hv__fail(e, HV_INVALID,
                                "register: child.dob: must be a date "
                                "YYYY-MM-DD");
            if (dob > hv_now(e))
                return hv__fail(e, HV_INVALID,
                                "register: child.dob: is in the future");
            int age = age_from_dob(dob, hv_now(e));
            if (age > MAX_CHILD_AGE)
                return hv__fail(e, HV_INVALID,
                                "register: child.dob: the child must be under "
                                "%d",
                                MAX_CHILD_AGE + 1);
            if (r->child_age >= 0 && r->child_age != age)
                return hv__fail(e, HV_INVALID,
                                "register: child.age: does not match "
                                "child.dob");
            r->child_age = age;
            if (json_object_set_new(child, "age", json_integer(age)))
                return hv__fail(e, HV_NOMEM, "out of memory");
        }
    }
    if ((s = opt_string(e, in, "source", "source", 64, &r->source)) ||
        (s = opt_string(e, in, "location", "location", MAX_NAME_BYTES,
                        &r->location)))
        return s;
    if (r->source && !code_allowed(e, "referral_sources", r->source, NULL))
        return hv__fail(e, HV_INVALID, "register: source: unknown code '%s'",
                        echo_code(r->source));
    r->concerns = json_object_get(in, "concerns");
    if (r->concerns) {
        size_t i;
        json_t *c;
        if (!json_is_array(r->concerns))
            return hv__fail(e, HV_INVALID,
                            "register: concerns: must be a list of codes");
        json_array_foreach(r->concerns, i, c) {
            if (!json_is_string(c))
                return hv__fail(e, HV_INVALID,
                                "register: concerns[%zu]: must be a code", i);
            if (!code_allowed(e, "concerns", json_string_value(c), NULL))
                return hv__fail(e, HV_INVALID,
                                "register: concerns: unknown code '%s'",
                                echo_code(json_string_value(c)));
            for (size_t j = 0; j < i; j++)
                if (json_equal(json_array_get(r->concerns, j), c))
                    return hv__fail(e, HV_INVALID,
                                    "register: concerns: '%s' given twice",
                                    echo_code(json_string_value(c)));
        }
    }
    r->consent = json_object_get(in, "consent");
    if (r->consent) {
        const char *scope;
        json_t *g;
        if (!json_is_object(r->consent))
            return hv__fail(e, HV_INVALID,
                            "register: consent: must map scopes to who gave "
                            "it");
        json_object_foreach(r->consent, scope, g) {
            if (hv__workflow_lookup(e->wf, "consent_scopes") &&
                !hv__workflow_has_code(e->wf, "consent_scopes", scope))
                return hv__fail(e, HV_INVALID,
                                "register: consent.%s: unknown consent "
                                "scope",
                                echo_code(scope));
            if (!json_is_string(g) ||
                !code_allowed(e, "consent_givers", json_string_value(g),
                              default_givers))
                return hv__fail(e, HV_INVALID,
                                "register: consent.%s: who gave it must be "
                                "one of child, caregiver, both, guardian",
                                echo_code(scope));
        }
    }
    r->family = json_object_get(in, "family");
    if (r->family) {
        size_t i;
        json_t *m;
        char where[48];
        if (!json_is_array(r->family))
            return hv__fail(e, HV_INVALID,
                            "register: family: must be a list of people");
        if (json_array_size(r->family) > MAX_FAMILY)
            return hv__fail(e, HV_INVALID,
                            "register: family: more than %d people",
                            MAX_FAMILY);
        json_array_foreach(r->family, i, m) {
            const char *rel, *name, *sex;
            int age;
            snprintf(where, sizeof where, "family.%zu.", i + 1);
            if (!json_is_object(m))
                return hv__fail(e, HV_INVALID,
                                "register: family.%zu: must be an object",
                                i + 1);
            if ((s = check_keys(e, m, where, family_fields)))
                return s;
            snprintf(where, sizeof where, "family.%zu.relationship", i + 1);
            if ((s = opt_string(e, m, "relationship", where, 64, &rel)))
                return s;
            if (!rel)
                return hv__fail(e, HV_INVALID,
                                "register: missing required field '%s'",
                                where);
            if (!code_allowed(e, "relationships", rel, NULL) &&
                hv__workflow_lookup(e->wf, "relationships"))
                return hv__fail(e, HV_INVALID,
                                "register: %s: unknown code '%s'", where,
                                echo_code(rel));
            snprintf(where, sizeof where, "family.%zu.name", i + 1);
            if ((s = opt_string(e, m, "name", where, MAX_NAME_BYTES, &name)))
                return s;
            snprintf(where, sizeof where, "family.%zu.sex", i + 1);
            if ((s = opt_string(e, m, "sex", where, 32, &sex)))
                return s;
            if (sex && !code_allowed(e, "sexes", sex, default_sexes))
                return hv__fail(e, HV_INVALID,
                                "register: %s: unknown code '%s'", where,
                                echo_code(sex));
            snprintf(where, sizeof where, "family.%zu.age", i + 1);
            if ((s = opt_age(e, m, where, 120, &age)))
                return s;
            json_t *lw = json_object_get(m, "lives_with_child");
            if (lw && !json_is_boolean(lw))
                return hv__fail(e, HV_INVALID,
                                "register: family.%zu.lives_with_child: must "
                                "be true or false",
                                i + 1);
        }
    }
    r->form = json_object_get(in, "form");
    if (r->form && !json_is_object(r->form))
        return hv__fail(e, HV_INVALID, "register: form: must be an object");
    /* What the workflow's first stage requires. */
    const hv_stage *first = &e->wf->stages[0];
    for (size_t i = 0; i < first->nrequires; i++) {
        if (!path_present(in, first->requires[i]))
            return hv__fail(e, HV_INVALID,
                            "register: missing required field '%s' (workflow "
                            "%s, stage %s)",
                            first->requires[i], e->wf->id, first->id);
    }
    /* The engine itself needs these whatever the workflow says. */
    if (!r->source)
        return hv__fail(e, HV_INVALID,
                        "register: missing required field 'source'");
    if (!r->concerns || json_array_size(r->concerns) == 0)
        return hv__fail(e, HV_INVALID,
                        "register: missing required field 'concerns'");
    if (!r->consent || !json_object_get(r->consent, "registration"))
        return hv__fail(e, HV_INVALID,
                        "register: missing required field "
                        "'consent.registration' (informed consent or assent)");
    return HV_OK;
}

/* ---- reference codes ------------------------------------------------------ */

/*
 * A reference pattern is literal characters (A-Z except N and Y, 0-9, and
 * - _ / .) and the tokens AGENCY, YYYY or YY, and one run of 3 to 9 N's for
 * the sequence number.  Nothing about the child can appear in it.
 */
hv_status hv__ref_pattern_check(const char *pattern, char **why);
hv_status hv__ref_pattern_check(const char *pattern, char **why)
{
    int nruns = 0;
    *why = NULL;
    size_t len = strlen(pattern);
    if (len == 0 || len > 40) {
        *why = hv__strdup("must be 1 to 40 characters");
        return HV_INVALID;
    }
    for (const char *p = pattern; *p;) {
        if (strncmp(p, "AGENCY", 6) == 0) {
            p += 6;
        } else if (*p == 'Y') {
            size_t n = strspn(p, "Y");
            if (n != 2 && n != 4) {
                *why = hv__strdup("the year is YYYY or YY");
                return HV_INVALID;
            }
            p += n;
        } else if (*p == 'N') {
            size_t n = strspn(p, "N");
            if (n < 3 || n > 9) {
                *why = hv__strdup("the sequence is 3 to 9 N's");
                return HV_INVALID;
            }
            nruns++;
            p += n;
        } else if (isupper((unsigned char)*p) || isdigit((unsigned char)*p) ||
                   strchr("-_/.", *p)) {
            p++;
        } else {
            *why = hv__asprintf("character '%c' not allowed (use A-Z, 0-9, - _ "
                                "/ . and the tokens AGENCY, YYYY, YY, NNNNN)",
                                *p);
            return HV_INVALID;
        }
    }
    if (nruns != 1) {
        *why = hv__strdup("needs exactly one sequence (NNN to NNNNNNNNN)");
        return HV_INVALID;
    }
    return HV_OK;
}

/* Expands the pattern for year and agency; the sequence run becomes "%0Nlld"
 * in *fmt and "#" in *prefix (the counter's key).  Both malloc'd. */
static hv_status ref_expand(const char *pattern, const char *agency, int year,
                            char **fmt, char **prefix)
{
    char f[128], k[128];
    size_t fi = 0, ki = 0;
    *fmt = *prefix = NULL;
    for (const char *p = pattern; *p && fi < 100 && ki < 100;) {
        if (strncmp(p, "AGENCY", 6) == 0) {
            fi += (size_t)snprintf(f + fi, sizeof f - fi, "%s", agency);
            ki += (size_t)snprintf(k + ki, sizeof k - ki, "%s", agency);
            p += 6;
        } else if (*p == 'Y') {
            size_t n = strspn(p, "Y");
            int y = n == 2 ? year % 100 : year;
            fi += (size_t)snprintf(f + fi, sizeof f - fi, "%0*d", (int)n, y);
            ki += (size_t)snprintf(k + ki, sizeof k - ki, "%0*d", (int)n, y);
            p += n;
        } else if (*p == 'N') {
            size_t n = strspn(p, "N");
            fi += (size_t)snprintf(f + fi, sizeof f - fi, "%%0%zulld", n);
            k[ki++] = '#';
            p += n;
        } else {
            f[fi++] = *p;
            k[ki++] = *p;
            p++;
        }
    }
    f[fi] = k[ki] = '\0';
    *fmt = hv__strdup(f);
    *prefix = hv__strdup(k);
    if (!*fmt || !*prefix) {
        hv__free(*fmt);
        hv__free(*prefix);
        *fmt = *prefix = NULL;
        return HV_NOMEM;
    }
    return HV_OK;
}

/* Allocates the next reference inside the current transaction.
 * out: *out_ref (malloc'd). */
static hv_status next_reference(hv_engine *e, char **out_ref)
{
    sqlite3_stmt *st = NULL;
    char *fmt = NULL, *prefix = NULL;
    char year_buf[32];
    hv_status s;
    *out_ref = NULL;
    hv_time_format(hv_now(e), year_buf, sizeof year_buf);
    if ((s = ref_expand(e->ref_pattern, e->agency_code, atoi(year_buf), &fmt,
                        &prefix)))
        return hv__fail(e, s, "out of memory");
    if ((s = hv__store_prepare(e,
                               "INSERT INTO ref_counters (prefix, next)"
                               " VALUES (?1, 2) ON CONFLICT (prefix) DO UPDATE"
                               " SET next = next + 1 RETURNING next - 1",
                               &st)))
        goto done;
    sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        s = hv__sql_fail(e, rc, "allocating a reference");
        goto done;
    }
    long long seq = sqlite3_column_int64(st, 0);
    if (sqlite3_step(st) != SQLITE_DONE) {
        s = hv__sql_fail(e, rc, "allocating a reference");
        goto done;
    }
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    *out_ref = hv__asprintf(fmt, seq);
#pragma GCC diagnostic pop
    if (!*out_ref)
        s = hv__fail(e, HV_NOMEM, "out of memory");
done:
    hv__store_finalize(e, st);
    hv__free(fmt);
    hv__free(prefix);
    return s;
}

/* ---- duplicates ----------------------------------------------------------- */

/* References of possible duplicates of r, as a JSON array (newest first).
 * Same sex, a shared name key, age now within a year, same location
 * (ignoring case and surrounding spaces). */
static hv_status find_duplicates(hv_engine *e, const registration *r,
                                 json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *keys = json_array(), *refs = json_array();
    char *keys_text = NULL;
    hv_status s = HV_OK;
    *out = NULL;
    if (!keys || !refs || hv__name_keys(r->child_name ? r->child_name : "",
                                        keys) != 0 ||
        !(keys_text = json_dumps(keys, JSON_COMPACT))) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto done;
    }
    if (!r->child_name || json_array_size(keys) == 0 || !r->child_sex ||
        r->child_age < 0 || !r->location)
        goto found; /* not enough to compare: no candidates */
    if ((s = hv__store_prepare(
             e,
             "SELECT c.id, c.ref FROM person_name_keys k"
             " JOIN persons p ON p.id = k.person_id"
             " JOIN cases c ON c.id = p.case_id"
             " WHERE k.key IN (SELECT hv_blind('d:' || value || '|' || ?2 ||"
             "       '|' || replace(replace(lower(?3), ' ', ''), char(9), ''))"
             "       FROM json_each(?1))"
             "   AND abs((p.age + (?5 - p.age_recorded_at) / 31556952) - ?4)"
             "       <= 1",
             &st)))
        goto done;
    sqlite3_bind_text(st, 1, keys_text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->child_sex, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r->location, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, r->child_age);
    sqlite3_bind_int64(st, 5, hv_now(e));
    /* The newest MAX_DUPLICATES cases, each once: kept here rather than
     * with DISTINCT and ORDER BY, which cost SQLite two temporary b-trees
     * at every registration for the few rows a name and place match. */
    enum { MAX_DUPLICATES = 20 };
    struct {
        int64_t id;
        json_t *ref;
    } top[MAX_DUPLICATES];
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        int at = n, seen = 0;
        for (int i = 0; i < n && !seen; i++)
            seen = top[i].id == id;
        while (at > 0 && top[at - 1].id < id)
            at--;
        if (seen || at >= MAX_DUPLICATES)
            continue;
        json_t *ref = json_string((const char *)sqlite3_column_text(st, 1));
        if (!ref) {
            s = hv__fail(e, HV_NOMEM, "out of memory");
            break;
        }
        if (n == MAX_DUPLICATES)
            json_decref(top[--n].ref);
        memmove(&top[at + 1], &top[at], (size_t)(n - at) * sizeof top[0]);
        top[at].id = id;
        top[at].ref = ref;
        n++;
    }
    for (int i = 0; i < n; i++)
        if (s == HV_OK && json_array_append_new(refs, top[i].ref))
            s = hv__fail(e, HV_NOMEM, "out of memory");
        else if (s != HV_OK)
            json_decref(top[i].ref);
    if (s != HV_OK)
        goto done;
    if (rc != SQLITE_DONE) {
        s = hv__sql_fail(e, rc, "looking for duplicates");
        goto done;
    }
found:
    *out = refs;
    refs = NULL;
done:
    hv__store_finalize(e, st);
    json_decref(keys);
    json_decref(refs);
    free(keys_text);
    return s;
}

/* ---- writing ------------------------------------------------------------- */

hv_status hv__index_name(hv_engine *e, int64_t person_id, const char *name,
                         const char *sex, const char *location)
{
    static const char *const sql[2] = {
        /* the spelling keys, for search */
        "INSERT OR IGNORE INTO person_name_keys (person_id, key) SELECT ?1,"
        " hv_blind(value) FROM json_each(?2)",
        /* the duplicate-detection keys of a child (schema 6) */
        "INSERT OR IGNORE INTO person_name_keys (person_id, key) SELECT ?1,"
        " hv_blind('d:' || value || '|' || ?3 || '|' || replace(replace("
        "lower(?4), ' ', ''), char(9), '')) FROM json_each(?2)"};
    if (!name)
        return HV_OK;
    /* the name's spelling keys, made once for both */
    json_t *keys = json_array();
    char *text = keys && hv__name_keys(name, keys) == 0
                     ? json_dumps(keys, JSON_COMPACT)
                     : NULL;
    json_decref(keys);
    if (!text)
        return hv__fail(e, HV_NOMEM, "out of memory");
    hv_status s = HV_OK;
    for (int pass = 0; pass < (sex && location ? 2 : 1) && !s; pass++) {
        sqlite3_stmt *st = NULL;
        if ((s = hv__store_prepare(e, sql[pass], &st)))
            break;
        sqlite3_bind_int64(st, 1, person_id);
        sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
        if (pass == 1) {
            sqlite3_bind_text(st, 3, sex, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 4, location, -1, SQLITE_STATIC);
        }
        int rc = sqlite3_step(st);
        hv__store_finalize(e, st);
        if (rc != SQLITE_DONE)
            s = hv__sql_fail(e, rc, "indexing a name");
    }
    free(text);
    return s;
}

/* Inserts one person and their name keys (a child's duplicate keys too,
 * given the case's location).  out: nothing. */
static hv_status insert_person(hv_engine *e, int64_t case_id, const char *role,
                               json_t *p, const char *location)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    const char *name = json_string_value(json_object_get(p, "name"));
    json_t *age = json_object_get(p, "age");
    json_t *lw = json_object_get(p, "lives_with_child");
    if ((s = hv__store_prepare(e,
                               "INSERT INTO persons (case_id, role,"
                               " relationship, name, birth_date, age,"
                               " age_recorded_at, sex, lives_with_child)"
                               " VALUES (?1,?2,?3,hv_seal(?4),hv_seal(?5),?6,?7,"
                               "?8,?9)",
                               &st)))
        return s;
    sqlite3_bind_int64(st, 1, case_id);
    sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
    if (json_object_get(p, "relationship"))
        sqlite3_bind_text(st, 3,
                          json_string_value(json_object_get(p, "relationship")),
                          -1, SQLITE_STATIC);
    if (name)
        sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
    if (json_is_string(json_object_get(p, "dob")))
        sqlite3_bind_text(st, 5, json_string_value(json_object_get(p, "dob")),
                          -1, SQLITE_STATIC);
    if (json_is_integer(age)) {
        sqlite3_bind_int64(st, 6, json_integer_value(age));
        sqlite3_bind_int64(st, 7, hv_now(e));
    }
    if (json_is_string(json_object_get(p, "sex")))
        sqlite3_bind_text(st, 8, json_string_value(json_object_get(p, "sex")),
                          -1, SQLITE_STATIC);
    if (json_is_boolean(lw))
        sqlite3_bind_int(st, 9, json_is_true(lw));
    int rc = sqlite3_step(st);
    hv__store_finalize(e, st);
    if (rc != SQLITE_DONE)
        return hv__sql_fail(e, rc, "recording a person");
    return hv__index_name(e, sqlite3_last_insert_rowid(e->db), name,
                          json_string_value(json_object_get(p, "sex")), location);
}

/* Runs an INSERT with text/int binds given as a printf-free list. */
static hv_status insert_simple(hv_engine *e, const char *sql, int64_t case_id,
                               const char *a, const char *b, int64_t t,
                               int64_t user)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    if ((s = hv__store_prepare(e, sql, &st)))
        return s;
    sqlite3_bind_int64(st, 1, case_id);
    sqlite3_bind_text(st, 2, a, -1, SQLITE_STATIC);
    if (b)
        sqlite3_bind_text(st, 3, b, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, t);
    sqlite3_bind_int64(st, 5, user);
    int rc = sqlite3_step(st);
    hv__store_finalize(e, st);
    return rc == SQLITE_DONE ? HV_OK
                             : hv__sql_fail(e, rc, "recording the case");
}

/* The stage a newly registered case enters: the first non-terminal stage
 * in the first stage's `next`, else the first stage itself. */
static const hv_stage *entry_stage(const hv_workflow *wf)
{
    const hv_stage *first = &wf->stages[0];
    for (size_t i = 0; i < first->nnext; i++) {
        const hv_stage *st = &wf->stages[first->next[i]];
        if (!st->terminal)
            return st;
    }
    return first;
}

/* The stage of a child the rules found not eligible: the first terminal
 * stage in the first stage's `next` (iasc: not_eligible), else the first
 * stage itself. */
static const hv_stage *not_eligible_stage(const hv_workflow *wf)
{
    const hv_stage *first = &wf->stages[0];
    for (size_t i = 0; i < first->nnext; i++)
        if (wf->stages[first->next[i]].terminal)
            return &wf->stages[first->next[i]];
    return first;
}

/* Writes the whole registration in one transaction.  out: *out_ref. */
static void join_refs(json_t *refs, char *buf, size_t size);

static hv_status write_registration(hv_engine *e, registration *r,
                                    unsigned flags, char **out_ref)
{
    json_t *overridden = NULL;
    sqlite3_stmt *st = NULL;
    hv_status s;
    char *ref = NULL, *form_text = NULL;
    json_t *data = NULL;
    int64_t user_id = 0, case_id;
    hv_time now = hv_now(e);
    const hv_stage *stage = r->eligible ? entry_stage(e->wf)
                                        : not_eligible_stage(e->wf);
    *out_ref = NULL;
    form_text = r->form ? json_dumps(r->form, JSON_COMPACT | JSON_PRESERVE_ORDER)
                        : hv__strdup("{}");
    if (!form_text)
        return hv__fail(e, HV_NOMEM, "out of memory");
    if ((s = hv__store_begin(e)))
        goto done;
    /* Duplicates are looked for under the write lock, so two processes
     * registering the same child at once cannot both miss each other. */
    if ((s = find_duplicates(e, r, &overridden)))
        goto fail;
    if (json_array_size(overridden) > 0 && !(flags & HV_REGISTER_FORCE)) {
        char refs[512];
        join_refs(overridden, refs, sizeof refs);
        s = hv__fail(e, HV_DUPLICATE,
                     "register: possible duplicate of %s (same sex, similar "
                     "name, age within a year, same location); check, or use "
                     "--force to register anyway",
                     refs);
        goto fail;
    }
    {
        char role[32];
        if ((s = hv__actor(e, &user_id, role, sizeof role)))
            goto fail;
        if (!hv__role_reads_cases(role)) {
            s = hv__fail(e, HV_DENIED, "register: caseworkers and supervisors "
                                       "register children (%s is %s)",
                         e->actor, role);
            goto fail;
        }
    }
    if ((s = next_reference(e, &ref)))
        goto fail;
    if ((s = hv__store_prepare(e,
                               "INSERT INTO cases (ref, agency_id, workflow_id,"
                               " stage, source, location, assignee_id,"
                               " registered_at, registered_by, updated_at,"
                               " form, status, urgency) VALUES (?1,?2,?3,?4,?5,"
                               "hv_seal(?6),?7,?8,?7,?8,hv_seal(?9),?10,?11)",
                               &st)))
        goto fail;
    sqlite3_bind_text(st, 10, r->eligible ? "open" : "not_registered", -1,
                      SQLITE_STATIC);
    if (r->urgency)
        sqlite3_bind_text(st, 11, r->urgency, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, e->agency_id);
    sqlite3_bind_int64(st, 3, e->workflow_row);
    sqlite3_bind_text(st, 4, stage->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, r->source, -1, SQLITE_STATIC);
    if (r->location)
        sqlite3_bind_text(st, 6, r->location, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, user_id);
    sqlite3_bind_int64(st, 8, now);
    sqlite3_bind_text(st, 9, form_text, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    hv__store_finalize(e, st);
    st = NULL;
    if (rc != SQLITE_DONE) {
        s = hv__sql_fail(e, rc, "recording the case");
        goto fail;
    }
    case_id = sqlite3_last_insert_rowid(e->db);
    json_t *child = json_object_get(r->input, "child");
    if (child && (s = insert_person(e, case_id, "child", child, r->location)))
        goto fail;
    size_t i;
    json_t *v;
    json_array_foreach(r->family, i, v) {
        if ((s = insert_person(e, case_id, "family", v, NULL)))
            goto fail;
    }
    json_array_foreach(r->concerns, i, v) {
        if ((s = insert_simple(e,
                               "INSERT INTO case_concerns (case_id, code)"
                               " VALUES (?1, ?2)",
                               case_id, json_string_value(v), NULL, 0, 0)))
            goto fail;
    }
    const char *scope;
    json_object_foreach(r->consent, scope, v) {
        if ((s = insert_simple(e,
                               "INSERT INTO consents (case_id, scope, given_by,"
                               " given_at, recorded_by) VALUES (?1,?2,?3,?4,"
                               "?5)",
                               case_id, scope, json_string_value(v), now,
                               user_id)))
            goto fail;
    }
    /* The first tasks: the entry stage (the initial assessment) and, if the
     * workflow has one, the comprehensive assessment. */
    const hv_stage *comp = NULL;
    for (size_t k = 0; k < e->wf->nstages && !comp; k++)
        if (e->wf->stages[k].step == HV_STEP_COMPREHENSIVE_ASSESSMENT)
            comp = &e->wf->stages[k];
    for (int k = 0; k < 2 && r->eligible; k++) {
        const hv_stage *ts = k == 0 ? stage : comp;
        int64_t rule_due = k == 0 ? r->initial_due : r->comprehensive_due;
        if (!ts || ts == &e->wf->stages[0] || (k == 1 && ts == stage))
            continue;
        if (!rule_due && ts->due_seconds <= 0 && ts->due == HV_DUE_NONE)
            continue;
        int64_t due = rule_due > 0           ? rule_due
                      : ts->due_seconds > 0 ? ts->due_seconds
                                            : 48 * 3600;
        if ((s = hv__store_prepare(e,
                                   "INSERT INTO tasks (case_id, kind, label,"
                                   " due_at, created_at, assignee_id) VALUES"
                                   " (?1,?2,?3,?4,?5,?6)",
                                   &st)))
            goto fail;
        sqlite3_bind_int64(st, 1, case_id);
        sqlite3_bind_text(st, 2, ts->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, ts->label, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now + due);
        sqlite3_bind_int64(st, 5, now);
        sqlite3_bind_int64(st, 6, user_id);
        rc = sqlite3_step(st);
        hv__store_finalize(e, st);
        st = NULL;
        if (rc != SQLITE_DONE) {
            s = hv__sql_fail(e, rc, "scheduling the first tasks");
            goto fail;
        }
    }
    /* The event holds codes and field names, never names or places. */
    data = json_pack("{s:s,s:O,s:s,s:s,s:i}", "source", r->source, "concerns",
                     r->concerns, "stage", stage->id, "workflow", e->wf->id,
                     "workflow_version", e->wf->version);
    if (!data) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto fail;
    }
    json_t *consent_scopes = json_array();
    int bad = !consent_scopes;
    json_object_foreach(r->consent, scope, v)
        bad |= json_array_append_new(consent_scopes, json_string(scope));
    bad |= json_object_set_new(data, "consent", consent_scopes);
    if (overridden && json_array_size(overridden) > 0)
        bad |= json_object_set(data, "duplicate_warning_overridden",
                               overridden);
    if (bad) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto fail;
    }
    if (r->urgency)
        bad |= json_object_set_new(data, "urgency", json_string(r->urgency));
    if (bad) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto fail;
    }
    if ((s = hv__store_append_event(e, case_id,
                                    r->eligible ? "registered"
                                                : "not_registered",
                                    data,
                                    json_array_size(r->decisions) ? r->decisions
                                                                  : NULL)))
        goto fail;
    if ((s = hv__store_commit(e)))
        goto done;
    *out_ref = ref;
    ref = NULL;
    goto done;
fail:
    hv__store_rollback(e);
done:
    hv__store_finalize(e, st);
    json_decref(data);
    json_decref(overridden);
    hv__free(ref);
    free(form_text);
    return s;
}

/* Parses input JSON text.  out: *out (new reference). */
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

/* Joins the references of a JSON array with ", " into buf. */
static void join_refs(json_t *refs, char *buf, size_t size)
{
    size_t i, n = 0;
    json_t *v;
    buf[0] = '\0';
    json_array_foreach(refs, i, v) {
        n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s",
                              i ? ", " : "", json_string_value(v));
        if (n >= size)
            break;
    }
}

/* The read-only view of a registration the rules see: everything the
 * engine reasons about, and no names. */
static json_t *registration_view(hv_engine *e, const registration *r)
{
    json_t *child = json_object(), *family = json_array();
    json_t *in_child = json_object_get(r->input, "child");
    size_t i;
    json_t *m;
    if (json_object_get(in_child, "age"))
        json_object_set(child, "age", json_object_get(in_child, "age"));
    if (json_object_get(in_child, "sex"))
        json_object_set(child, "sex", json_object_get(in_child, "sex"));
    if (json_object_get(in_child, "dob"))
        json_object_set(child, "dob", json_object_get(in_child, "dob"));
    json_array_foreach(r->family, i, m) {
        json_t *p = json_deep_copy(m);
        json_object_del(p, "name");
        json_array_append_new(family, p);
    }
    return json_pack("{s:s,s:s,s:s,s:s?,s:O,s:o,s:o,s:O,s:I,s:[],s:[],s:[],s:o}",
                     "stage", e->wf->stages[0].id, "status", "open", "source",
                     r->source, "location", r->location, "concerns",
                     r->concerns, "child", child, "family", family, "consent",
                     r->consent, "registered_at", (json_int_t)hv_now(e),
                     "assessments", "followups", "reviews", "form",
                     r->form ? json_incref(r->form) : json_object());
}

/* Asks the rule pack (if any) who is eligible, how urgent, and when the
 * assessments fall due.  Fills r; a rule error is HV_REFUSED. */
static hv_status decide(hv_engine *e, registration *r)
{
    hv_rules *rules = NULL;
    hv_status s;
    r->eligible = 1;
    if ((s = hv__engine_rules(e, &rules)) || !rules)
        return s;
    const hv_pack *p = hv__rules_pack(rules);
    json_t *view = registration_view(e, r);
    json_t *ctx = json_pack("{s:I,s:{s:s,s:s}}", "now", (json_int_t)hv_now(e),
                            "pack", "name", p->name, "version", p->version);
    r->decisions = json_array();
    if (!view || !ctx || !r->decisions) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto done;
    }
    static const hv_hook order[] = {HV_HOOK_REGISTRATION, HV_HOOK_ASSESSMENT};
    hv__rules_pin(rules, view, ctx); /* both hooks see the same view */
    for (size_t k = 0; k < 2; k++) {
        json_t *result = NULL;
        char *err = NULL;
        if (!hv__rules_has(rules, order[k]) || !r->eligible)
            continue;
        if ((s = hv__rules_call(rules, order[k], view, ctx, &result, &err))) {
            s = hv__fail(e, s, "register: %s", err ? err : "rule error");
            hv__free(err);
            goto done;
        }
        if (order[k] == HV_HOOK_REGISTRATION) {
            r->eligible = json_is_true(json_object_get(result, "eligible"));
            /* a static string from the contract, not the result's memory */
            const char *u = json_string_value(json_object_get(result, "urgency"));
            r->urgency = !strcmp(u, "immediate") ? "immediate"
                         : !strcmp(u, "high")    ? "high"
                                                 : "normal";
        } else {
            r->initial_due = json_integer_value(json_object_get(result, "initial_due"));
            r->comprehensive_due =
                json_integer_value(json_object_get(result, "comprehensive_due"));
        }
        json_t *d = hv__rules_decision(rules, order[k], result);
        json_decref(result);
        if (!d || json_array_append_new(r->decisions, d)) {
            s = hv__fail(e, HV_NOMEM, "out of memory");
            goto done;
        }
    }
done:
    hv__rules_unpin(rules);
    json_decref(view);
    json_decref(ctx);
    return s;
}

HV_API hv_status hv_case_register(hv_engine *e, const char *input_json,
                                  unsigned flags, char **out_ref)
{
    json_t *in = NULL;
    registration r;
    hv_status s;
    *out_ref = NULL;
    hv__clear_error(e);
    r.decisions = NULL;
    if ((s = hv__need_key(e, "register")))
        return s;
    if ((s = parse_input(e, input_json, &in)) || (s = validate(e, in, &r)) ||
        (s = decide(e, &r)))
        goto done;
    s = write_registration(e, &r, flags, out_ref);
done:
    json_decref(r.decisions);
    json_decref(in);
    return s;
}

HV_API hv_status hv_case_find_duplicates(hv_engine *e, const char *input_json,
                                         char **out_json)
{
    json_t *in = NULL, *dups = NULL;
    registration r;
    hv_status s;
    *out_json = NULL;
    hv__clear_error(e);
    {
        /* only those who register children look for duplicates */
        int64_t me;
        char role[32];
        if ((s = hv__actor(e, &me, role, sizeof role)))
            return s;
        if (!hv__role_reads_cases(role))
            return hv__fail(e, HV_DENIED, "duplicates: caseworkers and "
                                          "supervisors only");
        if ((s = hv__need_key(e, "duplicates")))
            return s;
    }
    if ((s = parse_input(e, input_json, &in)) || (s = validate(e, in, &r)) ||
        (s = find_duplicates(e, &r, &dups)))
        goto done;
    char *text = json_dumps(dups, JSON_COMPACT);
    if (!text || !(*out_json = hv__strdup(text)))
        s = hv__fail(e, HV_NOMEM, "out of memory");
    free(text);
done:
    json_decref(in);
    json_decref(dups);
    return s;
}

HV_API hv_status hv_case_note(hv_engine *e, const char *ref, const char *text,
                              int64_t expected_version, int64_t *out_version)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    int64_t case_id, version, user_id, note_id;
    *out_version = 0;
    hv__clear_error(e);
    if ((s = hv__need_key(e, "note")))
        return s;
    if (!text || !text[0] || strspn(text, " \t\n") == strlen(text))
        return hv__fail(e, HV_INVALID, "note: text: must not be empty");
    if (strlen(text) > 20000)
        return hv__fail(e, HV_INVALID, "note: text: longer than 20000 bytes");
    for (const char *p = text; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
            return hv__fail(e, HV_INVALID,
                            "note: text: control characters not allowed");
    json_t *utf8 = json_string(text);
    if (!utf8)
        return hv__fail(e, HV_INVALID, "note: text: not UTF-8 text");
    json_decref(utf8);
    if ((s = hv__store_begin(e)))
        return s;
    char role[32];
    if ((s = hv__case_access(e, ref, "note", 1, &case_id, &version)) ||
        (s = hv__actor(e, &user_id, role, sizeof role)))
        goto fail;
    if ((s = hv__store_case_touch(e, ref, case_id, expected_version, &version)))
        goto fail;
    if ((s = hv__store_prepare(e,
                               "INSERT INTO notes (case_id, at, author_id,"
                               " text) VALUES (?1,?2,?3,hv_seal(?4))",
                               &st)))
        goto fail;
    sqlite3_bind_int64(st, 1, case_id);
    sqlite3_bind_int64(st, 2, hv_now(e));
    sqlite3_bind_int64(st, 3, user_id);
    sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    hv__store_finalize(e, st);
    if (rc != SQLITE_DONE) {
        s = hv__sql_fail(e, rc, "recording a note");
        goto fail;
    }
    note_id = sqlite3_last_insert_rowid(e->db);
    json_t *data = json_pack("{s:I,s:I}", "note", (json_int_t)note_id,
                             "version", (json_int_t)version);
    s = data ? hv__store_append_event(e, case_id, "note_added", data, NULL)
             : hv__fail(e, HV_NOMEM, "out of memory");
    json_decref(data);
    if (s || (s = hv__store_commit(e)))
        goto fail;
    *out_version = version;
    return HV_OK;
fail:
    hv__store_rollback(e);
    hv__audit_pending_refusal(e, "note");
    return s;
}
