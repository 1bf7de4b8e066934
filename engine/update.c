/* update.c - the `update` step (update.h): the child's details, the
 * location, the family and the form fields changed after registration,
 * checked as registration checks them, written sealed, the name index
 * kept in step, and an event that names what changed without holding an
 * identifying value. */
#include "update.h"

#include <stdlib.h>
#include <string.h>

#include "age.h"
#include "alloc.h"
#include "crypto.h"
#include "error.h"
#include "intake.h"
#include "search.h"
#include "store.h"

#define MAX_FORM_KEY 40

/* A person as recorded (identifying values opened, owned). */
typedef struct {
    int64_t id;
    char *name, *dob, *sex, *relationship;
    int64_t age, age_at; /* age -1: none */
    int lives;           /* -1: not recorded */
} person;

/* One update under way. */
typedef struct {
    hv_step_run *sc;
    hv_time now;
    int has_child;
    person child;
    person family[HV_MAX_FAMILY];
    size_t nfamily;
    char *location, *form_text; /* opened, owned */
    int64_t registered_at;
    int64_t risk_scored;   /* 1 if the case has a risk level */
    int reindex_child;     /* the child's name, sex or location changed */
    json_t *changes;       /* field -> {from, to} or a word (the event's) */
    json_t *changed;       /* the fields changed (the answer's) */
} update_run;

/* ---- small helpers ---- */

/* 1 if a and b (either may be NULL) are the same text. */
static int same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* A new copy of column i's text (NULL when null; *nomem set when the copy
 * fails). */
static char *col_dup(sqlite3_stmt *st, int i, int *nomem)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    char *c = t ? hv__strdup(t) : NULL;
    if (t && !c)
        *nomem = 1;
    return c;
}

/* Replaces *slot with a copy of v (sc->nomem on failure). */
static void keep_text(update_run *u, char **slot, const char *v)
{
    char *c = v ? hv__strdup(v) : NULL;
    if (v && !c)
        u->sc->nomem = 1;
    hv__free(*slot);
    *slot = c;
}

static void person_free(person *p)
{
    hv__free(p->name);
    hv__free(p->dob);
    hv__free(p->sex);
    hv__free(p->relationship);
}

/* Records that field changed: from -> to (new references; NULL for the
 * word "changed": an identifying value is never shown). */
static void note(update_run *u, const char *field, json_t *from, json_t *to)
{
    hv_step_run *sc = u->sc;
    json_t *v = from || to ? json_pack("{s:o?,s:o?}", "from", from, "to", to)
                           : json_string("changed");
    hv__step_put(sc, u->changes, field, v);
    if (json_array_append_new(u->changed, json_string(field)))
        sc->nomem = 1;
}

/* Records that field changed, in words ("changed", "added", "removed"). */
static void note_word(update_run *u, const char *field, const char *word)
{
    hv__step_put(u->sc, u->changes, field, json_string(word));
    if (json_array_append_new(u->changed, json_string(field)))
        u->sc->nomem = 1;
}

/* A JSON integer of n, or null when n < 0. */
static json_t *int_or_null(int64_t n)
{
    return n < 0 ? json_null() : json_integer(n);
}

/* A JSON boolean of b, or null when b < 0. */
static json_t *bool_or_null(int b)
{
    return b < 0 ? json_null() : json_boolean(b);
}

/* ---- reading the record ---- */

/* Reads the case's people: the child and the family in the order the case
 * file lists them. */
static hv_status read_people(update_run *u)
{
    hv_step_run *sc = u->sc;
    sqlite3_stmt *st = NULL;
    int rc, nomem = 0;
    hv_status s = hv__store_preparef(
        sc->e, &st,
        "SELECT id, role, hv_open(name, 'persons', 'name', id),"
        " hv_open(birth_date, 'persons', 'birth_date', id), sex,"
        " relationship, age, age_recorded_at, lives_with_child"
        " FROM persons WHERE case_id = ?1 ORDER BY id",
        "i", sc->call.case_id);
    if (s)
        return s;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int is_child = !strcmp((const char *)sqlite3_column_text(st, 1),
                               "child");
        person *p;
        if (is_child && !u->has_child) {
            u->has_child = 1;
            p = &u->child;
        } else if (!is_child && u->nfamily < HV_MAX_FAMILY) {
            p = &u->family[u->nfamily++];
        } else {
            continue;
        }
        p->id = sqlite3_column_int64(st, 0);
        p->name = col_dup(st, 2, &nomem);
        p->dob = col_dup(st, 3, &nomem);
        p->sex = col_dup(st, 4, &nomem);
        p->relationship = col_dup(st, 5, &nomem);
        p->age = sqlite3_column_type(st, 6) == SQLITE_NULL
                     ? -1
                     : sqlite3_column_int64(st, 6);
        p->age_at = sqlite3_column_type(st, 7) == SQLITE_NULL
                        ? u->now
                        : sqlite3_column_int64(st, 7);
        p->lives = sqlite3_column_type(st, 8) == SQLITE_NULL
                       ? -1
                       : sqlite3_column_int(st, 8) != 0;
    }
    hv__store_finalize(sc->e, st);
    if (rc != SQLITE_DONE)
        return hv__sql_fail(sc->e, rc, sc->verb);
    return nomem ? hv__fail(sc->e, HV_NOMEM, "out of memory") : HV_OK;
}

/* Reads the case's location, form and registration time, and whether its
 * risk has been scored. */
static hv_status read_case(update_run *u)
{
    hv_step_run *sc = u->sc;
    sqlite3_stmt *st = NULL;
    int nomem = 0;
    hv_status s = hv__store_preparef(
        sc->e, &st,
        "SELECT hv_open(location, 'cases', 'location', id), hv_open(form,"
        " 'cases', 'form', id), registered_at, risk_level IS NOT NULL"
        " FROM cases WHERE id = ?1",
        "i", sc->call.case_id);
    if (s)
        return s;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        u->location = col_dup(st, 0, &nomem);
        u->form_text = col_dup(st, 1, &nomem);
        u->registered_at = sqlite3_column_int64(st, 2);
        u->risk_scored = sqlite3_column_int64(st, 3);
    }
    hv__store_finalize(sc->e, st);
    if (rc != SQLITE_ROW)
        return hv__sql_fail(sc->e, rc, sc->verb);
    return nomem ? hv__fail(sc->e, HV_NOMEM, "out of memory") : read_people(u);
}

/* ---- the child ---- */

/* Checks that the child's new age or date of birth (r) still makes a
 * child of the registration: under 18 when registered, born before it;
 * an age alone is refused once a date of birth is on record. */
static hv_status check_child_age(update_run *u, const hv_intake *r)
{
    hv_step_run *sc = u->sc;
    if (r->child_dob) {
        int64_t then = hv__age_from_dob(r->child_dob, u->registered_at);
        if (then < 0 || then > HV_MAX_CHILD_AGE)
            return hv__step_fail(sc, HV_INVALID,
                                 "child.dob: the child must have been born "
                                 "before the registration and under %d then",
                                 HV_MAX_CHILD_AGE + 1);
    } else if (r->child_age >= 0) {
        if (u->child.dob)
            return hv__step_fail(sc, HV_INVALID,
                                 "child.age: the child's date of birth is on "
                                 "record (the age follows it): correct "
                                 "child.dob instead");
        int64_t since = u->now > u->registered_at
                            ? (u->now - u->registered_at) / HV_SECONDS_PER_YEAR
                            : 0;
        if (r->child_age - since > HV_MAX_CHILD_AGE)
            return hv__step_fail(sc, HV_INVALID,
                                 "child.age: the child must have been under "
                                 "%d when registered",
                                 HV_MAX_CHILD_AGE + 1);
    }
    return HV_OK;
}

/* Writes the child's new age: from the new date of birth (sealed), else
 * the age given, recorded now. */
static hv_status write_child_age(update_run *u, const hv_intake *r)
{
    hv_step_run *sc = u->sc;
    person *c = &u->child;
    int64_t old = hv__age_now(c->dob, c->age, c->age_at, u->now);
    hv_status s;
    if (r->child_dob && !same_text(r->child_dob, c->dob)) {
        if ((s = hv__store_execf(
                 sc->e, sc->verb,
                 "UPDATE persons SET birth_date = hv_seal(?2, 'persons',"
                 " 'birth_date', id), age = ?3, age_recorded_at = ?4"
                 " WHERE id = ?1",
                 "itii", c->id, r->child_dob, (int64_t)r->child_age,
                 (int64_t)u->now)))
            return s;
        note(u, "child.dob", NULL, NULL);
        keep_text(u, &c->dob, r->child_dob);
    } else if (!r->child_dob && r->child_age >= 0 && r->child_age != old) {
        if ((s = hv__store_execf(sc->e, sc->verb,
                                 "UPDATE persons SET age = ?2,"
                                 " age_recorded_at = ?3 WHERE id = ?1",
                                 "iii", c->id, (int64_t)r->child_age,
                                 (int64_t)u->now)))
            return s;
    } else {
        return HV_OK;
    }
    c->age = r->child_age;
    c->age_at = u->now;
    int64_t now_age = hv__age_now(c->dob, c->age, c->age_at, u->now);
    if (now_age != old)
        note(u, "child.age", int_or_null(old), int_or_null(now_age));
    return HV_OK;
}

/* The input's child: name, date of birth or age, sex. */
static hv_status update_child(update_run *u)
{
    hv_step_run *sc = u->sc;
    json_t *in = json_object_get(sc->in, "child");
    hv_intake r;
    hv_status s;
    if (!in)
        return HV_OK;
    if ((s = hv__intake_check_child(sc->e, sc->verb, in, HV_MAX_PERSON_AGE,
                                    &r)))
        return s;
    if (!u->has_child)
        return hv__step_fail(sc, HV_REFUSED, "the case has no child recorded");
    if ((s = check_child_age(u, &r)))
        return s;
    person *c = &u->child;
    if (r.child_name && !same_text(r.child_name, c->name)) {
        if ((s = hv__store_execf(sc->e, sc->verb,
                                 "UPDATE persons SET name = hv_seal(?2,"
                                 " 'persons', 'name', id) WHERE id = ?1",
                                 "it", c->id, r.child_name)))
            return s;
        note(u, "child.name", NULL, NULL);
        keep_text(u, &c->name, r.child_name);
        u->reindex_child = 1;
    }
    if (r.child_sex && !same_text(r.child_sex, c->sex)) {
        if ((s = hv__store_execf(sc->e, sc->verb,
                                 "UPDATE persons SET sex = ?2 WHERE id = ?1",
                                 "it", c->id, r.child_sex)))
            return s;
        note(u, "child.sex", c->sex ? json_string(c->sex) : json_null(),
             json_string(r.child_sex));
        keep_text(u, &c->sex, r.child_sex);
        u->reindex_child = 1;
    }
    return write_child_age(u, &r);
}

/* The input's location (sealed; the child's duplicate keys follow it). */
static hv_status update_location(update_run *u)
{
    hv_step_run *sc = u->sc;
    const char *loc;
    hv_status s = hv__intake_check_location(sc->e, sc->verb, sc->in, &loc);
    if (s || !loc || same_text(loc, u->location))
        return s;
    if ((s = hv__store_execf(sc->e, sc->verb,
                             "UPDATE cases SET location = hv_seal(?2, 'cases',"
                             " 'location', id) WHERE id = ?1",
                             "it", sc->call.case_id, loc)))
        return s;
    note(u, "location", NULL, NULL);
    keep_text(u, &u->location, loc);
    u->reindex_child = 1;
    return HV_OK;
}

/* Replaces the name keys of person id with those of name (and, for the
 * child, the duplicate keys of name, sex and location). */
static hv_status reindex(hv_step_run *sc, int64_t id, const char *name,
                         const char *sex, const char *location)
{
    hv_status s = hv__store_execf(sc->e, sc->verb,
                                  "DELETE FROM person_name_keys"
                                  " WHERE person_id = ?1",
                                  "i", id);
    return s ? s : hv__index_name(sc->e, id, name, sex, location);
}

/* ---- the family ---- */

/* The member number of key ("1", "2", ...: no sign, no leading zero), or
 * 0 when it is not one. */
static size_t member_number(const char *key)
{
    size_t n = 0;
    if (!key[0] || key[0] == '0' || strlen(key) > 3)
        return 0;
    for (const char *p = key; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        n = n * 10 + (size_t)(*p - '0');
    }
    return n;
}

/* Checks the input's family: an object of member numbers, each an
 * existing member (with at least one field) or one of the next new ones
 * (with a relationship).  out: *added, how many are new. */
static hv_status check_family(update_run *u, json_t *fam, size_t *added)
{
    hv_step_run *sc = u->sc;
    const char *key;
    json_t *m;
    hv_status s;
    *added = 0;
    if (!json_is_object(fam) || json_object_size(fam) == 0)
        return hv__step_fail(sc, HV_INVALID,
                             "family: give members by number (family.N.FIELD,"
                             " N as the case file lists them)");
    json_object_foreach(fam, key, m) {
        if (member_number(key) > u->nfamily)
            (*added)++;
    }
    json_object_foreach(fam, key, m) {
        size_t n = member_number(key);
        if (n == 0)
            return hv__step_fail(sc, HV_INVALID,
                                 "family: '%s' is not a member number",
                                 hv__echo_safe(key) ? key : "(not shown)");
        if (n > u->nfamily + *added || n > HV_MAX_FAMILY)
            return hv__step_fail(sc, HV_INVALID,
                                 "family.%zu: no such member (the case has "
                                 "%zu; a new one is family.%zu, at most %d)",
                                 n, u->nfamily, u->nfamily + 1,
                                 HV_MAX_FAMILY);
        if (json_is_object(m) && json_object_size(m) == 0)
            return hv__step_fail(sc, HV_INVALID, "family.%zu: no field given",
                                 n);
        if ((s = hv__intake_check_member(sc->e, sc->verb, m, n,
                                         n > u->nfamily)))
            return s;
    }
    return HV_OK;
}

/* Adds family member n (checked) to the case. */
static hv_status add_member(update_run *u, size_t n, json_t *m)
{
    hv_step_run *sc = u->sc;
    char field[48];
    const char *rel = json_string_value(json_object_get(m, "relationship"));
    const char *name = json_string_value(json_object_get(m, "name"));
    const char *sex = json_string_value(json_object_get(m, "sex"));
    json_t *age = json_object_get(m, "age");
    json_t *lw = json_object_get(m, "lives_with_child");
    hv_status s = hv__store_execf(
        sc->e, sc->verb,
        "INSERT INTO persons (id, case_id, role, relationship, name, age,"
        " age_recorded_at, sex, lives_with_child, details) SELECT new_id,"
        " ?1, 'family', ?2, hv_seal(?3, 'persons', 'name', new_id),"
        " nullif(?4, -1), CASE WHEN ?4 >= 0 THEN ?5 END, ?6, nullif(?7, -1),"
        " hv_seal('{}', 'persons', 'details', new_id) FROM "
        HV_NEW_ROW("persons"),
        "ittiiti", sc->call.case_id, rel, name,
        (int64_t)(json_is_integer(age) ? json_integer_value(age) : -1),
        (int64_t)u->now, sex,
        (int64_t)(json_is_boolean(lw) ? json_is_true(lw) : -1));
    if (s || (s = hv__index_name(sc->e, sqlite3_last_insert_rowid(sc->e->db),
                                 name, NULL, NULL)))
        return s;
    snprintf(field, sizeof field, "family.%zu", n);
    hv__step_put(sc, u->changes, field,
                 json_pack("{s:s,s:s,s:o,s:o}", "added", "member",
                           "relationship", rel, "age",
                           json_is_integer(age) ? json_incref(age) : json_null(),
                           "lives_with_child",
                           json_is_boolean(lw) ? json_incref(lw) : json_null()));
    if (json_array_append_new(u->changed, json_string(field)))
        sc->nomem = 1;
    return HV_OK;
}

/* Sets column (a fixed name) of member p to the code v when it differs,
 * recording old -> new as family.N.column. */
static hv_status set_member_code(update_run *u, person *p, size_t n,
                                 const char *column, char **slot,
                                 const char *v)
{
    hv_step_run *sc = u->sc;
    char sql[96], field[64];
    if (!v || same_text(v, *slot))
        return HV_OK;
    snprintf(sql, sizeof sql, "UPDATE persons SET %s = ?2 WHERE id = ?1",
             column);
    hv_status s = hv__store_execf(sc->e, sc->verb, sql, "it", p->id, v);
    if (s)
        return s;
    snprintf(field, sizeof field, "family.%zu.%s", n, column);
    note(u, field, *slot ? json_string(*slot) : json_null(), json_string(v));
    keep_text(u, slot, v);
    return HV_OK;
}

/* Changes the fields given (m, checked) of existing member n. */
static hv_status change_member(update_run *u, size_t n, json_t *m)
{
    hv_step_run *sc = u->sc;
    person *p = &u->family[n - 1];
    char field[64];
    const char *name = json_string_value(json_object_get(m, "name"));
    json_t *age = json_object_get(m, "age");
    json_t *lw = json_object_get(m, "lives_with_child");
    hv_status s;
    if ((s = set_member_code(u, p, n, "relationship", &p->relationship,
                             json_string_value(json_object_get(m, "relationship")))) ||
        (s = set_member_code(u, p, n, "sex", &p->sex,
                             json_string_value(json_object_get(m, "sex")))))
        return s;
    if (name && !same_text(name, p->name)) {
        if ((s = hv__store_execf(sc->e, sc->verb,
                                 "UPDATE persons SET name = hv_seal(?2,"
                                 " 'persons', 'name', id) WHERE id = ?1",
                                 "it", p->id, name)) ||
            (s = reindex(sc, p->id, name, NULL, NULL)))
            return s;
        snprintf(field, sizeof field, "family.%zu.name", n);
        note(u, field, NULL, NULL);
    }
    int64_t old = hv__age_now(NULL, p->age, p->age_at, u->now);
    if (json_is_integer(age) && json_integer_value(age) != old) {
        if ((s = hv__store_execf(sc->e, sc->verb,
                                 "UPDATE persons SET age = ?2,"
                                 " age_recorded_at = ?3 WHERE id = ?1",
                                 "iii", p->id,
                                 (int64_t)json_integer_value(age),
                                 (int64_t)u->now)))
            return s;
        snprintf(field, sizeof field, "family.%zu.age", n);
        note(u, field, int_or_null(old), json_incref(age));
    }
    if (json_is_boolean(lw) && json_is_true(lw) != p->lives) {
        if ((s = hv__store_execf(sc->e, sc->verb,
                                 "UPDATE persons SET lives_with_child = ?2"
                                 " WHERE id = ?1",
                                 "ii", p->id, (int64_t)json_is_true(lw))))
            return s;
        snprintf(field, sizeof field, "family.%zu.lives_with_child", n);
        note(u, field, bool_or_null(p->lives), json_incref(lw));
    }
    return HV_OK;
}

/* The input's family: changes to members by number, new members after the
 * last (in number order). */
static hv_status update_family(update_run *u)
{
    json_t *fam = json_object_get(u->sc->in, "family");
    size_t added;
    char key[16];
    hv_status s;
    if (!fam)
        return HV_OK;
    if ((s = check_family(u, fam, &added)))
        return s;
    for (size_t n = 1; n <= u->nfamily + added; n++) {
        snprintf(key, sizeof key, "%zu", n);
        json_t *m = json_object_get(fam, key);
        if (m && (s = n <= u->nfamily ? change_member(u, n, m)
                                      : add_member(u, n, m)))
            return s;
    }
    return HV_OK;
}

/* ---- the form ---- */

/* Checks form value v of key: text (as a step's text), a number, yes/no,
 * or null / "" (removes the field). */
static hv_status check_form_value(hv_step_run *sc, const char *key, json_t *v)
{
    char field[64];
    if (json_is_string(v)) {
        snprintf(field, sizeof field, "form.%s", key);
        return hv__check_text(sc, field, v);
    }
    if (json_is_null(v) || json_is_boolean(v) || json_is_integer(v) ||
        (json_is_real(v) && json_real_value(v) == json_real_value(v)))
        return HV_OK;
    return hv__step_fail(sc, HV_INVALID,
                         "form.%s: must be text, a number or true/false", key);
}

/* Sets (or removes) field key of form to v, recording the change: old ->
 * new for yes/no values, else only that it changed. */
static void form_set(update_run *u, json_t *form, const char *key, json_t *v)
{
    char field[64];
    json_t *old = json_object_get(form, key);
    int remove = json_is_null(v) ||
                 (json_is_string(v) && json_string_length(v) == 0);
    snprintf(field, sizeof field, "form.%s", key);
    if (remove) {
        if (old) {
            json_object_del(form, key);
            note_word(u, field, "removed");
        }
        return;
    }
    if (old && json_equal(old, v))
        return;
    if (json_is_boolean(v) && (!old || json_is_boolean(old)))
        note(u, field, old ? json_incref(old) : json_null(), json_incref(v));
    else
        note_word(u, field, old ? "changed" : "set");
    if (json_object_set(form, key, v))
        u->sc->nomem = 1;
}

/* The input's form fields, merged into the case's form (sealed). */
static hv_status update_form(update_run *u)
{
    hv_step_run *sc = u->sc;
    json_t *in = json_object_get(sc->in, "form");
    const char *key;
    json_t *v;
    hv_status s = HV_OK;
    if (!in)
        return HV_OK;
    if (!json_is_object(in) || json_object_size(in) == 0)
        return hv__step_fail(sc, HV_INVALID,
                             "form: give fields as form.KEY=VALUE");
    json_object_foreach(in, key, v) {
        if (!hv__echo_safe(key) || strlen(key) > MAX_FORM_KEY ||
            strpbrk(key, "./-"))
            return hv__step_fail(sc, HV_INVALID,
                                 "form: a field name is letters, digits and _");
        if ((s = check_form_value(sc, key, v)))
            return s;
    }
    json_t *form = u->form_text ? json_loads(u->form_text, 0, NULL) : NULL;
    if (!json_is_object(form)) {
        json_decref(form);
        form = json_object();
    }
    size_t before = json_array_size(u->changed);
    json_object_foreach(in, key, v)
        form_set(u, form, key, v);
    char *text = json_array_size(u->changed) > before
                     ? json_dumps(form, JSON_COMPACT | JSON_PRESERVE_ORDER)
                     : NULL;
    if (text)
        s = hv__store_execf(sc->e, sc->verb,
                            "UPDATE cases SET form = hv_seal(?2, 'cases',"
                            " 'form', id) WHERE id = ?1",
                            "it", sc->call.case_id, text);
    else if (json_array_size(u->changed) > before)
        s = hv__fail(sc->e, HV_NOMEM, "out of memory");
    free(text);
    json_decref(form);
    return s;
}

/* ---- the step ---- */

/* Runs the update on u (read, changed, re-indexed, recorded). */
static hv_status run_update(update_run *u)
{
    hv_step_run *sc = u->sc;
    hv_status s;
    if ((s = read_case(u)) || (s = update_child(u)) ||
        (s = update_location(u)) || (s = update_family(u)) ||
        (s = update_form(u)))
        return s;
    if (json_array_size(u->changed) == 0)
        return hv__step_fail(sc, HV_INVALID,
                             "nothing to change: every value given is already "
                             "on record");
    if (u->reindex_child &&
        (s = reindex(sc, u->child.id, u->child.name, u->child.sex,
                     u->location)))
        return s;
    hv__step_put(sc, sc->data, "changes", json_incref(u->changes));
    hv__step_put(sc, sc->out, "changed", json_incref(u->changed));
    sc->event_kind = "updated";
    /* a changed record may change the risk (seed 004: "Re-assessment of
     * safety and risk") */
    return u->risk_scored ? hv__rescore_risk(sc) : HV_OK;
}

hv_status hv__step_update(hv_step_run *sc)
{
    static const char *const fields[] = {"child", "location", "family",
                                         "form", NULL};
    update_run u;
    hv_status s;
    memset(&u, 0, sizeof u);
    u.sc = sc;
    u.now = hv_now(sc->e);
    if ((s = hv__check_fields(sc, fields)) || (s = hv__need_open(sc)))
        return s;
    u.changes = json_object();
    u.changed = json_array();
    s = u.changes && u.changed ? run_update(&u)
                               : hv__fail(sc->e, HV_NOMEM, "out of memory");
    person_free(&u.child);
    for (size_t i = 0; i < u.nfamily; i++)
        person_free(&u.family[i]);
    hv__free(u.location);
    hv__free(u.form_text);
    json_decref(u.changes);
    json_decref(u.changed);
    return s;
}
