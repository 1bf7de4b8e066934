/*
 * import.c - `haven import`: registrations from CSV (one per row, through
 * hv_case_register like any registration) or whole case histories from a
 * Haven JSON export, in one transaction (hv_engine_batch_begin): each row
 * or case is a savepoint that succeeds or is rejected on its own; with any
 * rejection nothing is kept unless skip_bad.  The report names each
 * rejected row, field and reason, never a value.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "engine.h"
#include "store.h"

/* ---- the report ------------------------------------------------------------ */

typedef struct {
    hv_engine *e;
    json_t *rejected; /* [{row, field, why}] */
    json_t *refs;     /* references imported (JSON) */
    int64_t rows, imported;
} report;

/* Records a rejected row. */
static void reject(report *r, int64_t row, const char *field, const char *why)
{
    json_array_append_new(r->rejected, json_pack("{s:I,s:s,s:s}", "row",
                                                 (json_int_t)row, "field",
                                                 field, "why", why));
}

/* Splits an engine message "register: FIELD: why" into field and why. */
static void reject_message(report *r, int64_t row, const char *msg)
{
    char field[80] = "-";
    const char *why = msg;
    if (!strncmp(why, "register: ", 10))
        why += 10;
    if (!strncmp(why, "possible duplicate", 18)) {
        snprintf(field, sizeof field, "child");
    } else if (!strncmp(why, "unknown field '", 15)) {
        size_t n = strcspn(why + 15, "'");
        snprintf(field, sizeof field, "%.*s", (int)n, why + 15);
        why = "unknown field";
    } else {
        const char *colon = strstr(why, ": ");
        size_t n = colon ? (size_t)(colon - why) : 0;
        if (colon && n < sizeof field && !memchr(why, ' ', n)) {
            snprintf(field, sizeof field, "%.*s", (int)n, why);
            why = colon + 2;
        }
    }
    reject(r, row, field, why);
}

/* A status that rejects one row (bad data, a refusal) rather than the
 * whole import (no memory, a busy database, a denied user). */
static int row_level(hv_status s)
{
    return s == HV_INVALID || s == HV_REFUSED || s == HV_DUPLICATE ||
           s == HV_CONFLICT || s == HV_NOTFOUND;
}

/* ---- CSV ------------------------------------------------------------------- */

typedef struct {
    FILE *f;
    int64_t line; /* the line being read */
    char **cells;
    size_t n, cap;
    char *buf;
    size_t len, bufcap;
} csv_reader;

static int buf_put(csv_reader *c, char ch)
{
    if (c->len + 1 >= c->bufcap) {
        size_t cap = c->bufcap ? c->bufcap * 2 : 256;
        char *b = hv__realloc(c->buf, cap);
        if (!b)
            return -1;
        c->buf = b;
        c->bufcap = cap;
    }
    c->buf[c->len++] = ch;
    return 0;
}

static int cell_end(csv_reader *c)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        char **cells = hv__realloc(c->cells, cap * sizeof *cells);
        if (!cells)
            return -1;
        c->cells = cells;
        c->cap = cap;
    }
    c->buf[c->len] = '\0';
    if (!(c->cells[c->n] = hv__strdup(c->buf)))
        return -1;
    c->n++;
    c->len = 0;
    return 0;
}

static void cells_clear(csv_reader *c)
{
    for (size_t i = 0; i < c->n; i++)
        hv__free(c->cells[i]);
    c->n = 0;
    c->len = 0;
}

/* Reads the next record (RFC 4180; lines starting with '#' and blank lines
 * are skipped).  Returns 1 for a record, 0 at the end, -1 malformed (*why),
 * -2 out of memory. */
static int csv_next(csv_reader *c, const char **why)
{
    int ch;
    cells_clear(c);
    if (!c->bufcap && buf_put(c, 0) < 0)
        return -2;
    c->len = 0;
    for (;;) {
        c->line++;
        ch = getc(c->f);
        if (ch == EOF)
            return 0;
        if (ch == '#') {
            while ((ch = getc(c->f)) != EOF && ch != '\n')
                ;
            continue;
        }
        if (ch == '\n')
            continue;
        if (ch == '\r') {
            if ((ch = getc(c->f)) == '\n')
                continue;
            ungetc(ch, c->f);
            continue;
        }
        ungetc(ch, c->f);
        break;
    }
    int quoted = 0, was_quoted = 0;
    for (;;) {
        ch = getc(c->f);
        if (ch == 0) {
            *why = "a NUL character";
            return -1;
        }
        if (quoted) {
            if (ch == EOF) {
                *why = "a quoted field is never closed";
                return -1;
            }
            if (ch == '"') {
                int next = getc(c->f);
                if (next == '"') {
                    if (buf_put(c, '"') < 0)
                        return -2;
                    continue;
                }
                ungetc(next, c->f);
                quoted = 0;
                continue;
            }
            if (ch == '\n')
                c->line++;
            if (buf_put(c, (char)ch) < 0)
                return -2;
            continue;
        }
        if (ch == '"') {
            if (c->len || was_quoted) {
                *why = "a quote inside an unquoted field";
                return -1;
            }
            quoted = was_quoted = 1;
            continue;
        }
        if (ch == ',' || ch == '\n' || ch == '\r' || ch == EOF) {
            if (cell_end(c) < 0)
                return -2;
            was_quoted = 0;
            if (ch == ',')
                continue;
            if (ch == '\r' && (ch = getc(c->f)) != '\n' && ch != EOF)
                ungetc(ch, c->f);
            return 1;
        }
        if (was_quoted) {
            *why = "text after a closing quote";
            return -1;
        }
        if (buf_put(c, (char)ch) < 0)
            return -2;
    }
}

/* 1 if s is a whole number (into *v). */
static int whole_number(const char *s, json_int_t *v)
{
    char *end;
    if (!*s || (!isdigit((unsigned char)*s) && *s != '-'))
        return 0;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (*end || errno)
        return 0;
    *v = n;
    return 1;
}

/* The JSON value of a cell under key (the types `haven register` gives
 * its key=value pairs). */
static json_t *cell_value(const char *key, const char *text)
{
    json_int_t n;
    size_t klen = strlen(key);
    int is_age = !strcmp(key, "child.age") ||
                 (!strncmp(key, "family.", 7) && klen > 4 &&
                  !strcmp(key + klen - 4, ".age"));
    int is_bool = !strncmp(key, "family.", 7) && klen > 17 &&
                  !strcmp(key + klen - 17, ".lives_with_child");
    if (is_age && whole_number(text, &n))
        return json_integer(n);
    if (is_bool || !strncmp(key, "form.", 5)) {
        if (!strcmp(text, "yes") || !strcmp(text, "true"))
            return json_true();
        if (!strcmp(text, "no") || !strcmp(text, "false"))
            return json_false();
    }
    if (!strncmp(key, "form.", 5) && whole_number(text, &n))
        return json_integer(n);
    if (!strcmp(key, "concerns")) {
        json_t *arr = json_array();
        const char *p = text;
        while (arr && *p) {
            size_t len = strcspn(p, ",;");
            const char *a = p, *b = p + len;
            while (a < b && isspace((unsigned char)*a))
                a++;
            while (b > a && isspace((unsigned char)b[-1]))
                b--;
            if (b > a)
                json_array_append_new(arr, json_stringn(a, (size_t)(b - a)));
            p += len + (p[len] ? 1 : 0);
        }
        return arr;
    }
    return json_string(text);
}

/* Turns objects whose keys are all numbers into lists ordered by number
 * (family.1..., family.2...). */
static json_t *listify(json_t *v)
{
    if (!json_is_object(v))
        return json_incref(v);
    const char *key;
    json_t *x;
    int numeric = json_object_size(v) > 0;
    json_object_foreach(v, key, x) {
        json_int_t n = -1;
        if (!whole_number(key, &n) || n < 0)
            numeric = 0;
    }
    if (!numeric) {
        json_t *out = json_object();
        json_object_foreach(v, key, x)
            json_object_set_new(out, key, listify(x));
        return out;
    }
    json_t *arr = json_array();
    /* at most a few family members: order by number, simply */
    json_int_t last = -1;
    for (size_t k = 0; k < json_object_size(v); k++) {
        json_int_t best = -1;
        json_object_foreach(v, key, x) {
            json_int_t n = -1;
            whole_number(key, &n);
            if (n > last && (best < 0 || n < best))
                best = n;
        }
        char name[32];
        snprintf(name, sizeof name, "%lld", (long long)best);
        json_array_append_new(arr, listify(json_object_get(v, name)));
        last = best;
    }
    return arr;
}

/* The registration of one CSV row.  Returns NULL with *bad_col set for a
 * key that cannot be built (a part used both as a value and a group). */
static json_t *row_object(char **header, char **cells, size_t n, size_t *bad_col)
{
    json_t *obj = json_object();
    for (size_t i = 0; i < n && obj; i++) {
        if (!cells[i][0])
            continue; /* an empty cell: the field is not given */
        json_t *at = obj;
        char path[256];
        snprintf(path, sizeof path, "%s", header[i]);
        char *part = path, *dot;
        while ((dot = strchr(part, '.'))) {
            *dot = '\0';
            json_t *next = json_object_get(at, part);
            if (!next) {
                next = json_object();
                json_object_set_new(at, part, next);
            }
            if (!json_is_object(next)) {
                json_decref(obj);
                *bad_col = i;
                return NULL;
            }
            at = next;
            part = dot + 1;
        }
        if (json_object_get(at, part)) {
            json_decref(obj);
            *bad_col = i;
            return NULL;
        }
        json_object_set_new(at, part, cell_value(header[i], cells[i]));
    }
    json_t *out = listify(obj);
    json_decref(obj);
    return out;
}

static hv_status import_csv(hv_engine *e, FILE *f, const char *path, report *r)
{
    csv_reader c = {.f = f};
    char **header = NULL;
    size_t ncols = 0;
    const char *why = NULL;
    hv_status s = HV_OK;
    int k = csv_next(&c, &why);
    if (k == 0) {
        s = hv__fail(e, HV_INVALID, "import: %s: no header line (the columns "
                                    "are the keys 'haven register' takes)",
                     path);
        goto done;
    }
    if (k < 0)
        goto malformed;
    header = c.cells;
    ncols = c.n;
    c.cells = NULL;
    c.n = c.cap = 0;
    for (size_t i = 0; i < ncols; i++) {
        size_t len = strlen(header[i]);
        if (!len || len > 200 || header[i][0] == '.' || header[i][len - 1] == '.' ||
            strstr(header[i], "..") || strspn(header[i], "abcdefghijklmnopqrstuvwxyz"
                                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                         "0123456789_.-") != len) {
            s = hv__fail(e, HV_INVALID, "import: %s:1: column %zu: not a "
                                        "field name like child.age", path, i + 1);
            goto done;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(header[i], header[j])) {
                s = hv__fail(e, HV_INVALID, "import: %s:1: column %zu: %s "
                                            "given twice", path, i + 1,
                             hv__echo_safe(header[i]) ? header[i] : "a field");
                goto done;
            }
    }
    while ((k = csv_next(&c, &why)) == 1) {
        int64_t row = ++r->rows;
        if (c.n != ncols) {
            char msg[96];
            snprintf(msg, sizeof msg, "has %zu fields, the header %zu", c.n, ncols);
            reject(r, row, "-", msg);
            continue;
        }
        size_t bad = 0;
        json_t *obj = row_object(header, c.cells, ncols, &bad);
        if (!obj) {
            reject(r, row, hv__echo_safe(header[bad]) ? header[bad] : "-",
                   "conflicts with another column");
            continue;
        }
        char *text = json_dumps(obj, JSON_COMPACT);
        json_decref(obj);
        char *ref = NULL;
        if (!text) {
            s = hv__fail(e, HV_NOMEM, "out of memory");
            goto done;
        }
        s = hv_case_register(e, text, 0, &ref);
        free(text);
        if (s == HV_OK) {
            r->imported++;
            json_array_append_new(r->refs, json_string(ref));
            hv_free(ref);
        } else if (row_level(s)) {
            reject_message(r, row, hv_errmsg(e));
            s = HV_OK;
        } else {
            goto done;
        }
    }
    if (k < 0)
        goto malformed;
    goto done;
malformed:
    s = k == -2 ? hv__fail(e, HV_NOMEM, "out of memory")
                : hv__fail(e, HV_INVALID, "import: %s:%lld: not CSV: %s", path,
                           (long long)c.line, why);
done:
    cells_clear(&c);
    hv__free(c.cells);
    hv__free(c.buf);
    for (size_t i = 0; i < ncols; i++)
        hv__free(header[i]);
    hv__free(header);
    return s;
}

/* ---- JSON: whole case histories --------------------------------------------- */

typedef struct {
    char table; /* 'p' plans, 'a' actions, 'r' referrals, 'A' approvals */
    int64_t old_id, new_id;
} id_pair;

typedef struct {
    hv_engine *e;
    int64_t case_id;
    json_t *c;            /* the exported case */
    const char *ref;      /* its reference */
    id_pair *ids;
    size_t nids, capids;
    char field[96];       /* a rejection: where */
    char why[160];        /*              and why */
} case_import;

static void remember(case_import *ci, char table, int64_t old_id, int64_t new_id)
{
    if (ci->nids == ci->capids) {
        size_t cap = ci->capids ? ci->capids * 2 : 16;
        id_pair *p = hv__realloc(ci->ids, cap * sizeof *p);
        if (!p)
            return;
        ci->ids = p;
        ci->capids = cap;
    }
    ci->ids[ci->nids++] = (id_pair){table, old_id, new_id};
}

static int64_t mapped(case_import *ci, char table, int64_t old_id)
{
    for (size_t i = 0; i < ci->nids; i++)
        if (ci->ids[i].table == table && ci->ids[i].old_id == old_id)
            return ci->ids[i].new_id;
    return 0;
}

/* Sets the rejection and returns HV_REFUSED. */
static hv_status bad(case_import *ci, const char *section, const char *key,
                     const char *why)
{
    snprintf(ci->field, sizeof ci->field, "%s%s%s", section, key ? "." : "",
             key ? key : "");
    snprintf(ci->why, sizeof ci->why, "%s", why);
    return HV_REFUSED;
}

/* A user's id by login; a missing user rejects the case. */
static hv_status user_id(case_import *ci, const char *section, const char *key,
                         json_t *v, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    *out = 0;
    if (!v || json_is_null(v))
        return HV_OK;
    if (!json_is_string(v))
        return bad(ci, section, key, "must be a login");
    hv_status s = hv__store_prepare(ci->e, "SELECT id FROM users WHERE login = ?1",
                                    &st);
    if (s)
        return s;
    sqlite3_bind_text(st, 1, json_string_value(v), -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    hv__store_finalize(ci->e, st);
    if (!*out) {
        char why[160];
        snprintf(why, sizeof why, "no user '%s' in this database (an "
                                  "administrator adds it first)",
                 hv__valid_login(json_string_value(v)) ? json_string_value(v) : "?");
        return bad(ci, section, key, why);
    }
    return HV_OK;
}

/*
 * Inserts one exported row.  spec: space-separated "key:type" for ?2, ?3,
 * ... (?1 is the case id), types:
 *   s text   i integer   r number   t ISO time   j JSON value as text
 *   u login -> user id   K a row id kept when free in this database
 *   V plan version -> plan id   P old plan id   A old action id
 *   S a task's subject (by its kind)   b boolean 0/1
 */
static hv_status insert_row(case_import *ci, const char *section, json_t *row,
                            const char *sql, const char *spec, int64_t *out_id)
{
    hv_engine *e = ci->e;
    sqlite3_stmt *st = NULL;
    hv_status s;
    char spec_copy[400];
    if (!json_is_object(row))
        return bad(ci, section, NULL, "must be an object");
    if ((s = hv__store_prepare(e, sql, &st)))
        return s;
    if (ci->case_id) {
        sqlite3_bind_int64(st, 1, ci->case_id);
    } else { /* the case row itself: its reference, agency and workflow */
        sqlite3_bind_text(st, 1, ci->ref, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 19, e->agency_id);
        sqlite3_bind_int64(st, 20, e->workflow_row);
    }
    snprintf(spec_copy, sizeof spec_copy, "%s", spec);
    int idx = 2;
    char *save = NULL;
    for (char *item = strtok_r(spec_copy, " ", &save); item;
         item = strtok_r(NULL, " ", &save), idx++) {
        char *colon = strchr(item, ':');
        *colon = '\0';
        const char *key = item;
        char type = colon[1];
        json_t *v = json_object_get(row, key);
        if (!v || json_is_null(v))
            continue; /* NULL */
        int64_t id = 0;
        hv_time t;
        switch (type) {
        case 's':
            if (!json_is_string(v)) {
                s = bad(ci, section, key, "must be text");
                goto done;
            }
            sqlite3_bind_text(st, idx, json_string_value(v), -1, SQLITE_TRANSIENT);
            break;
        case 'i':
        case 'K':
        case 'V':
        case 'P':
        case 'A':
        case 'S':
        case 'b':
            if (type == 'b' && json_is_boolean(v)) {
                sqlite3_bind_int(st, idx, json_is_true(v));
                break;
            }
            if (!json_is_integer(v)) {
                s = bad(ci, section, key, "must be a whole number");
                goto done;
            }
            id = json_integer_value(v);
            if (type == 'P')
                id = mapped(ci, 'p', id);
            else if (type == 'A')
                id = mapped(ci, 'a', id);
            else if (type == 'S') {
                const char *kind = json_string_value(json_object_get(row, "kind"));
                char table = !kind ? 0 : !strcmp(kind, "action") ? 'a'
                             : !strcmp(kind, "referral_outcome") ? 'r'
                             : !strcmp(kind, "approval")         ? 'A' : 0;
                id = table ? mapped(ci, table, id) : 0;
            } else if (type == 'V') {
                sqlite3_stmt *q = NULL;
                if ((s = hv__store_prepare(e, "SELECT id FROM plans WHERE"
                                              " case_id = ?1 AND version = ?2",
                                           &q)))
                    goto done;
                sqlite3_bind_int64(q, 1, ci->case_id);
                sqlite3_bind_int64(q, 2, id);
                id = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
                hv__store_finalize(e, q);
                if (!id) {
                    s = bad(ci, section, key, "no plan of that version");
                    goto done;
                }
            }
            if (type == 'i' || type == 'K' || type == 'b' || id)
                sqlite3_bind_int64(st, idx, id);
            break;
        case 'r':
            if (!json_is_number(v)) {
                s = bad(ci, section, key, "must be a number");
                goto done;
            }
            sqlite3_bind_double(st, idx, json_number_value(v));
            break;
        case 't':
            if (!json_is_string(v) || hv_time_parse(json_string_value(v), &t)) {
                s = bad(ci, section, key, "must be an ISO 8601 time");
                goto done;
            }
            sqlite3_bind_int64(st, idx, t);
            break;
        case 'j': {
            char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
                                           JSON_PRESERVE_ORDER);
            if (!text) {
                s = hv__fail(e, HV_NOMEM, "out of memory");
                goto done;
            }
            sqlite3_bind_text(st, idx, text, -1, SQLITE_TRANSIENT);
            free(text);
            break;
        }
        case 'u':
            if ((s = user_id(ci, section, key, v, &id)))
                goto done;
            sqlite3_bind_int64(st, idx, id);
            break;
        }
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT) {
        s = bad(ci, section, NULL, "a value is not allowed here (a code, "
                                   "status or number out of range)");
        goto done;
    }
    if (rc != SQLITE_DONE) {
        s = hv__sql_fail(e, rc, "importing a case");
        goto done;
    }
    if (out_id)
        *out_id = sqlite3_last_insert_rowid(e->db);
done:
    hv__store_finalize(e, st);
    return s;
}

/* "id kept when free": the exported row id unless this database uses it. */
#define KEEP_ID(table) "CASE WHEN EXISTS (SELECT 1 FROM " table " WHERE id = ?2)" \
                       " THEN NULL ELSE ?2 END"

static const struct {
    const char *key;  /* the section of the exported case */
    char remember;    /* the id map it fills (0: none) */
    const char *sql;
    const char *spec; /* ?2 onwards */
} sections[] = {
    {"consents", 0,
     "INSERT INTO consents (id, case_id, scope, given_by, given_at,"
     " recorded_by, withdrawn_at, withdrawn_reason) VALUES (" KEEP_ID("consents")
     ", ?1, ?3, ?4, ?5, ?6, ?7, hv_seal(?8))",
     "id:K scope:s given_by:s given_at:t recorded_by:u withdrawn_at:t"
     " withdrawn_reason:s"},
    {"notes", 0,
     "INSERT INTO notes (id, case_id, at, author_id, text) VALUES ("
     KEEP_ID("notes") ", ?1, ?3, ?4, hv_seal(?5))",
     "id:K at:t author:u text:s"},
    {"assessments", 0,
     "INSERT INTO assessments (id, case_id, kind, at, by_id, safety, data)"
     " VALUES (" KEEP_ID("assessments") ", ?1, ?3, ?4, ?5, ?6, hv_seal(?7))",
     "id:K kind:s at:t by_user:u safety:s detail:j"},
    {"plans", 'p',
     "INSERT INTO plans (id, case_id, version, goal, indicators, addresses,"
     " target_date, status, created_at, created_by, decided_at, decided_by,"
     " decision_reason) VALUES (" KEEP_ID("plans") ", ?1, ?3, hv_seal(?4),"
     " hv_seal(?5), hv_seal(?6), ?7, ?8, ?9, ?10, ?11, ?12, hv_seal(?13))",
     "id:K version:i goal:s indicators:j addresses:j target_date:t status:s"
     " created_at:t created_by:u decided_at:t decided_by:u decision_reason:s"},
    {"actions", 'a',
     "INSERT INTO plan_actions (id, case_id, plan_id, seq, title, responsible,"
     " provider, type, due_at, status, status_reason, updated_at) VALUES ("
     KEEP_ID("plan_actions") ", ?1, ?3, ?4, hv_seal(?5), ?6, hv_seal(?7), ?8,"
     " ?9, ?10, hv_seal(?11), ?12)",
     "id:K plan_version:V number:i title:s responsible:s provider:s type:s"
     " due_at:t status:s reason:s updated_at:t"},
    {"referrals", 'r',
     "INSERT INTO referrals (id, case_id, seq, service, provider, action_id,"
     " status, sent_at, updated_at, outcome, consent_override_by,"
     " consent_override_reason) VALUES (" KEEP_ID("referrals") ", ?1, ?3, ?4,"
     " hv_seal(?5), ?6, ?7, ?8, ?9, hv_seal(?10), ?11, hv_seal(?12))",
     "id:K number:i service:s provider:s action_id:A status:s sent_at:t"
     " updated_at:t outcome:s consent_overridden_by:u consent_override_reason:s"},
    {"conferences", 0,
     "INSERT INTO conferences (id, case_id, at, recorded_by, participants,"
     " decisions) VALUES (" KEEP_ID("conferences") ", ?1, ?3, ?4, hv_seal(?5),"
     " hv_seal(?6))",
     "id:K at:t recorded_by:u participants:j decisions:j"},
    {"followups", 0,
     "INSERT INTO followups (id, case_id, at, by_id, method, safety, notes,"
     " final) VALUES (" KEEP_ID("followups") ", ?1, ?3, ?4, ?5, ?6,"
     " hv_seal(?7), coalesce(?8, 0))",
     "id:K at:t by_user:u method:s safety:s notes:s final:b"},
    {"reviews", 0,
     "INSERT INTO reviews (id, case_id, at, by_id, outcome, notes) VALUES ("
     KEEP_ID("reviews") ", ?1, ?3, ?4, ?5, hv_seal(?6))",
     "id:K at:t by_user:u outcome:s notes:s"},
    {"evaluations", 0,
     "INSERT INTO evaluations (id, case_id, plan_id, at, by_id, outcome, data)"
     " VALUES (" KEEP_ID("evaluations") ", ?1, ?3, ?4, ?5, ?6, hv_seal(?7))",
     "id:K plan_id:P at:t by_user:u outcome:s detail:j"},
    {"approvals", 'A',
     "INSERT INTO approvals (id, case_id, subject, subject_id, detail, status,"
     " requested_at, requested_by, decided_at, decided_by, reason) VALUES ("
     KEEP_ID("approvals") ", ?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
     " hv_seal(?11))",
     "id:K subject:s subject_id:P detail:j status:s requested_at:t"
     " requested_by:u decided_at:t decided_by:u reason:s"},
    {"tasks", 0,
     "INSERT INTO tasks (id, case_id, kind, label, due_at, created_at, status,"
     " done_at, assignee_id, subject_id, cancel_reason) VALUES ("
     KEEP_ID("tasks") ", ?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
     "id:K kind:s label:s due_at:t created_at:t status:s done_at:t"
     " assignee:u subject_id:S cancel_reason:s"},
};

/* Appends an imported event to the chain, with its original time, actor,
 * kind, data and decision. */
static hv_status append_history(case_import *ci, json_t *ev)
{
    hv_engine *e = ci->e;
    const char *actor = json_string_value(json_object_get(ev, "actor"));
    const char *kind = json_string_value(json_object_get(ev, "kind"));
    const char *at_text = json_string_value(json_object_get(ev, "at"));
    json_t *data = json_object_get(ev, "data");
    json_t *decision = json_object_get(ev, "decision");
    hv_time at;
    if (!actor || !kind || !at_text || hv_time_parse(at_text, &at) ||
        !json_is_object(data))
        return bad(ci, "history", NULL, "an event needs at, actor, kind and "
                                        "data");
    char *data_text = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *decision_text = decision && !json_is_null(decision)
                              ? json_dumps(decision, JSON_COMPACT | JSON_ENCODE_ANY |
                                                       JSON_PRESERVE_ORDER)
                              : NULL;
    hv_status s;
    if (!data_text)
        s = hv__fail(e, HV_NOMEM, "out of memory");
    else
        s = hv__store_chain_event(e, at, actor, ci->case_id, kind, data_text,
                                  decision_text);
    free(data_text);
    free(decision_text);
    return s;
}

/* Keeps the reference counter ahead of an imported reference, so the next
 * registration never reuses it: the number's place comes from the pattern. */
static hv_status bump_counter(hv_engine *e, const char *ref)
{
    size_t off = 0, width = 0;
    for (const char *p = e->ref_pattern; *p;) {
        if (!strncmp(p, "AGENCY", 6)) {
            off += strlen(e->agency_code);
            p += 6;
        } else if (*p == 'Y') {
            size_t n = strspn(p, "Y");
            off += n == 2 ? 2 : 4;
            p += n;
        } else if (*p == 'N') {
            width = strspn(p, "N");
            break;
        } else {
            off++;
            p++;
        }
    }
    if (!width || strlen(ref) < off)
        return HV_OK;
    size_t digits = strspn(ref + off, "0123456789");
    if (!digits)
        return HV_OK;
    char *prefix = hv__asprintf("%.*s#%s", (int)off, ref, ref + off + digits);
    if (!prefix)
        return hv__fail(e, HV_NOMEM, "out of memory");
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_prepare(e,
                                    "INSERT INTO ref_counters (prefix, next)"
                                    " VALUES (?1, ?2) ON CONFLICT (prefix) DO"
                                    " UPDATE SET next = max(next, ?2)",
                                    &st);
    if (!s) {
        sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, strtoll(ref + off, NULL, 10) + 1);
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            s = hv__sql_fail(e, rc, "counting references");
    }
    hv__store_finalize(e, st);
    hv__free(prefix);
    return s;
}

/* Imports one exported case inside the caller's savepoint. */
static hv_status import_case(case_import *ci)
{
    hv_engine *e = ci->e;
    json_t *c = ci->c, *kase = json_object_get(c, "case");
    hv_status s;
    size_t i;
    json_t *v;
    if (!json_is_object(c))
        return bad(ci, "case", NULL, "must be an object");
    ci->ref = json_string_value(json_object_get(c, "ref"));
    if (!ci->ref || !*ci->ref || strlen(ci->ref) > 64)
        return bad(ci, "ref", NULL, "missing");
    if (!json_is_object(kase))
        return bad(ci, "case", NULL, "missing");
    int64_t existing = 0;
    if (hv__store_case_lookup(e, ci->ref, &existing, NULL) == HV_OK)
        return bad(ci, "ref", NULL, "a case with this reference is already in "
                                    "this database");
    hv__clear_error(e);
    const char *stage = json_string_value(json_object_get(kase, "stage"));
    if (!stage || !hv__workflow_stage(e->wf, stage))
        return bad(ci, "case", "stage", "not a stage of this database's workflow");
    const char *source = json_string_value(json_object_get(kase, "source"));
    if (!source || (hv__workflow_lookup(e->wf, "referral_sources") &&
                    !hv__workflow_has_code(e->wf, "referral_sources", source)))
        return bad(ci, "case", "source", "unknown code");
    ci->case_id = 0;
    if ((s = insert_row(ci, "case", kase,
                        "INSERT INTO cases (ref, stage, status, source,"
                        " location, urgency, risk_level, risk_score,"
                        " assignee_id, registered_at, registered_by,"
                        " updated_at, closed_at, version, closure_reason,"
                        " transferred_to, closure_planned, form, agency_id,"
                        " workflow_id) VALUES (?1, ?2, ?3, ?4, hv_seal(?5),"
                        " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
                        " hv_seal(?16), coalesce(?17, 0),"
                        " hv_seal(coalesce(?18, '{}')), ?19, ?20)",
                        "stage:s status:s source:s location:s urgency:s"
                        " risk_level:s risk_score:r assignee:u registered_at:t"
                        " registered_by:u updated_at:t closed_at:t version:i"
                        " closure_reason:s transferred_to:s closure_planned:b"
                        " form:j",
                        &ci->case_id)))
        return s;
    /* Concerns, codes of the workflow. */
    const char *concerns = json_string_value(json_object_get(kase, "concerns"));
    for (const char *p = concerns; p && *p;) {
        size_t n = strcspn(p, ";");
        char code[80];
        snprintf(code, sizeof code, "%.*s", (int)(n < 79 ? n : 79), p);
        p += n + (p[n] ? 1 : 0);
        if (hv__workflow_lookup(e->wf, "concerns") &&
            !hv__workflow_has_code(e->wf, "concerns", code))
            return bad(ci, "case", "concerns", "unknown code");
        sqlite3_stmt *st = NULL;
        if ((s = hv__store_prepare(e, "INSERT OR IGNORE INTO case_concerns"
                                      " (case_id, code) VALUES (?1, ?2)", &st)))
            return s;
        sqlite3_bind_int64(st, 1, ci->case_id);
        sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        hv__store_finalize(e, st);
        if (rc != SQLITE_DONE)
            return hv__sql_fail(e, rc, "importing concerns");
    }
    /* The child and the family, with their name keys. */
    const char *location = json_string_value(json_object_get(kase, "location"));
    json_array_foreach(json_object_get(c, "persons"), i, v) {
        int64_t person_id = 0;
        const char *role = json_string_value(json_object_get(v, "role"));
        int child = role && !strcmp(role, "child");
        if ((s = insert_row(ci, "persons", v,
                            "INSERT INTO persons (id, case_id, role,"
                            " relationship, name, birth_date, age,"
                            " age_recorded_at, sex, lives_with_child, details)"
                            " VALUES (" KEEP_ID("persons") ", ?1, ?3, ?4,"
                            " hv_seal(?5), hv_seal(?6), ?7, ?8, ?9, ?10,"
                            " hv_seal(coalesce(?11, '{}')))",
                            "id:K role:s relationship:s name:s dob:s age:i"
                            " age_recorded_at:t sex:s lives_with_child:b"
                            " details:j",
                            &person_id)) ||
            (s = hv__index_name(e, person_id,
                                json_string_value(json_object_get(v, "name")),
                                json_string_value(json_object_get(v, "sex")),
                                child ? location : NULL)))
            return s;
    }
    /* Every other section, in an order where each row finds the rows it
     * points at. */
    for (size_t k = 0; k < sizeof sections / sizeof sections[0]; k++) {
        json_t *rows = json_object_get(c, sections[k].key);
        if (rows && !json_is_array(rows))
            return bad(ci, sections[k].key, NULL, "must be a list");
        json_array_foreach(rows, i, v) {
            int64_t new_id = 0;
            if ((s = insert_row(ci, sections[k].key, v, sections[k].sql,
                                sections[k].spec, &new_id)))
                return s;
            json_t *old = json_object_get(v, "id");
            if (sections[k].remember && json_is_integer(old))
                remember(ci, sections[k].remember, json_integer_value(old), new_id);
        }
    }
    /* The history, appended to this database's audit chain with its
     * original times and actors. */
    json_t *hist = json_object_get(c, "history");
    if (hist && !json_is_array(hist))
        return bad(ci, "history", NULL, "must be a list");
    json_array_foreach(hist, i, v) {
        if ((s = append_history(ci, v)))
            return s;
    }
    return bump_counter(e, ci->ref);
}

/* Checks the export's "about" (NULL: none came before "cases"): a Haven
 * identifiable export of this agency and workflow, with a "cases" list. */
static hv_status check_about(hv_engine *e, json_t *about, int has_cases,
                             const char *path)
{
    const char *format = json_string_value(json_object_get(about, "format"));
    if (!json_is_object(about) || !format || strcmp(format, "haven-export-1") ||
        !has_cases)
        return hv__fail(e, HV_INVALID, "import: %s: not a Haven JSON export "
                                       "(no \"about\" of format haven-export-1 "
                                       "and \"cases\" list)", path);
    if (!json_is_true(json_object_get(about, "identifiable")))
        return hv__fail(e, HV_INVALID, "import: %s: a pseudonymous export has "
                                       "no names or narrative and cannot be "
                                       "imported", path);
    const char *agency = json_string_value(json_object_get(about, "agency"));
    if (!agency || strcmp(agency, e->agency_code))
        return hv__fail(e, HV_REFUSED, "import: %s: exported by agency %s, "
                                       "this database is agency %s", path,
                        agency && hv__echo_safe(agency) ? agency : "?",
                        e->agency_code);
    json_t *wf = json_object_get(about, "workflow");
    const char *wf_id = json_string_value(json_object_get(wf, "id"));
    if (!wf_id || strcmp(wf_id, e->wf->id) ||
        json_integer_value(json_object_get(wf, "version")) != e->wf->version)
        return hv__fail(e, HV_REFUSED, "import: %s: exported under another "
                                       "workflow than this database's %s "
                                       "version %d", path, e->wf->id,
                        e->wf->version);
    return HV_OK;
}

/* Imports one case history (its own savepoint of the import's batch). */
static hv_status import_one(hv_engine *e, json_t *c, report *r)
{
    case_import ci = {.e = e, .c = c};
    int64_t row = ++r->rows;
    hv_status s;
    if ((s = hv__store_begin(e)))
        return s;
    s = import_case(&ci);
    hv__free(ci.ids);
    if (s == HV_OK) {
        if ((s = hv__store_commit(e)))
            return s;
        r->imported++;
        json_array_append_new(r->refs, json_string(ci.ref));
        return HV_OK;
    }
    hv__store_rollback(e);
    if (s != HV_REFUSED)
        return s;
    reject(r, row, ci.field, ci.why);
    return HV_OK;
}

/* ---- reading a JSON export one case at a time ---------------------------------
 *
 * An export is {"about": {...}, "cases": [{...}, ...]}.  Rather than the
 * whole file as one tree (ten times its size in memory), the reader walks
 * the top level itself and hands each value, one at a time, to jansson:
 * memory is one case history, whatever the number of cases. */

#define MAX_VALUE_BYTES (256u << 20) /* one case history's text, at most */

typedef struct {
    FILE *f;
    int c;              /* the next byte, or EOF */
    int line, col;      /* of that byte, from 1 */
    char *buf;          /* the value being read */
    size_t len, cap;
    int vline, vcol;    /* where it starts */
    int too_big, nomem;
} jreader;

static void jr_next(jreader *j)
{
    if (j->c == '\n') {
        j->line++;
        j->col = 1;
    } else if (j->c != EOF) {
        /* columns in characters, as jansson counts them */
        int c = getc(j->f);
        if ((c & 0xC0) != 0x80 || c == EOF)
            j->col++;
        j->c = c;
        return;
    }
    j->c = getc(j->f);
}

static void jr_ws(jreader *j)
{
    while (j->c == ' ' || j->c == '\t' || j->c == '\n' || j->c == '\r')
        jr_next(j);
}

/* Keeps the current byte in the value and moves on; 0 if out of room. */
static int jr_keep(jreader *j)
{
    if (j->len + 2 > j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 4096;
        if (cap > MAX_VALUE_BYTES) {
            j->too_big = 1;
            return 0;
        }
        char *b = hv__realloc(j->buf, cap);
        if (!b) {
            j->nomem = 1;
            return 0;
        }
        j->buf = b;
        j->cap = cap;
    }
    j->buf[j->len++] = (char)j->c;
    jr_next(j);
    return 1;
}

/* Reads one JSON value's text into j->buf (brackets balanced, strings
 * whole; jansson checks the rest).  0 on success. */
static int jr_value(jreader *j)
{
    int depth = 0;
    jr_ws(j);
    j->len = 0;
    j->vline = j->line;
    j->vcol = j->col;
    for (;;) {
        int c = j->c;
        if (c == EOF)
            return -1;
        if (c == '"') {
            /* a string, whole: brackets inside it do not count */
            if (!jr_keep(j))
                return -1;
            while (j->c != '"') {
                if (j->c == EOF)
                    return -1;
                if (j->c == '\\' && (!jr_keep(j) || j->c == EOF))
                    return -1;
                if (!jr_keep(j))
                    return -1;
            }
            if (!jr_keep(j))
                return -1;
            if (depth == 0)
                break;
            continue;
        }
        if (depth == 0 && j->len > 0 &&
            (c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' ||
             c == '\r'))
            break; /* the end of a number or literal */
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return -1;
            depth--;
        }
        if (!jr_keep(j))
            return -1;
        if (depth == 0 && (c == '}' || c == ']'))
            break;
    }
    j->buf[j->len] = '\0';
    return 0;
}

/* The value read, as JSON; NULL (and *line, *col of the fault) if not. */
static json_t *jr_json(jreader *j, int *line, int *col)
{
    json_error_t err;
    json_t *v = json_loadb(j->buf, j->len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                           &err);
    if (!v) {
        *line = j->vline + (err.line > 0 ? err.line - 1 : 0);
        *col = err.line > 1 ? err.column : j->vcol + (err.column > 0 ? err.column - 1 : 0);
    }
    return v;
}

static hv_status import_json(hv_engine *e, FILE *f, const char *path, report *r)
{
    jreader j = {.f = f, .line = 1, .col = 1};
    json_t *about = NULL, *seen = json_object();
    hv_status s = HV_OK;
    int line = 0, col = 0, seen_cases = 0;
    if (!seen)
        return hv__fail(e, HV_NOMEM, "out of memory");
    j.c = getc(f);
    jr_ws(&j);
    if (j.c == '[') {
        s = check_about(e, NULL, 0, path); /* JSON, but not an export */
        goto done;
    }
    if (j.c != '{')
        goto bad;
    jr_next(&j);
    jr_ws(&j);
    if (j.c == '}') {
        jr_next(&j);
    } else {
        for (;;) {
            /* a key */
            jr_ws(&j);
            if (j.c != '"' || jr_value(&j))
                goto bad;
            json_t *k = jr_json(&j, &line, &col);
            if (!k)
                goto bad_at;
            const char *name = json_string_value(k);
            int is_about = name && !strcmp(name, "about");
            int is_cases = name && !strcmp(name, "cases");
            int twice = !name || json_object_get(seen, name) != NULL;
            if (!twice && json_object_set_new(seen, name, json_true())) {
                json_decref(k);
                s = hv__fail(e, HV_NOMEM, "out of memory");
                goto done;
            }
            json_decref(k);
            if (twice) { /* a key twice */
                line = j.vline;
                col = j.vcol;
                goto bad_at;
            }
            jr_ws(&j);
            if (j.c != ':')
                goto bad;
            jr_next(&j);
            jr_ws(&j);
            if (is_cases && j.c == '[') {
                /* the about comes first in every export: checked before
                 * any case is read */
                if ((s = check_about(e, about, 1, path)))
                    goto done;
                seen_cases = 1;
                jr_next(&j);
                jr_ws(&j);
                if (j.c == ']') {
                    jr_next(&j);
                } else {
                    for (;;) {
                        if (jr_value(&j))
                            goto bad;
                        json_t *c = jr_json(&j, &line, &col);
                        if (!c)
                            goto bad_at;
                        s = json_is_object(c)
                                ? import_one(e, c, r)
                                : hv__fail(e, HV_INVALID, "import: %s:%d:%d: a case "
                                                          "must be an object",
                                           path, j.vline, j.vcol);
                        json_decref(c);
                        if (s)
                            goto done;
                        jr_ws(&j);
                        if (j.c == ']') {
                            jr_next(&j);
                            break;
                        }
                        if (j.c != ',')
                            goto bad;
                        jr_next(&j);
                    }
                }
            } else {
                if (jr_value(&j))
                    goto bad;
                json_t *v = jr_json(&j, &line, &col);
                if (!v)
                    goto bad_at;
                if (is_about)
                    about = v;
                else
                    json_decref(v); /* another key: not ours */
                if (is_cases) {
                    s = check_about(e, about, 0, path); /* "cases" not a list */
                    goto done;
                }
            }
            jr_ws(&j);
            if (j.c == '}') {
                jr_next(&j);
                break;
            }
            if (j.c != ',')
                goto bad;
            jr_next(&j);
        }
    }
    jr_ws(&j);
    if (j.c != EOF)
        goto bad;
    if (!seen_cases)
        s = check_about(e, about, 0, path);
    goto done;
bad:
    line = j.line;
    col = j.col;
bad_at:
    /* no text of the input in the message: only where */
    if (ferror(f))
        s = hv__fail(e, HV_IOERR, "import: %s:%d:%d: cannot read: %s", path, j.line,
                     j.col, strerror(errno));
    else if (j.nomem)
        s = hv__fail(e, HV_NOMEM, "out of memory");
    else if (j.too_big)
        s = hv__fail(e, HV_INVALID, "import: %s:%d:%d: a value larger than %u MiB",
                     path, j.vline, j.vcol, MAX_VALUE_BYTES >> 20);
    else
        s = hv__fail(e, HV_INVALID, "import: %s:%d:%d: not valid JSON", path, line,
                     col);
done:
    json_decref(about);
    json_decref(seen);
    hv__free(j.buf);
    return s;
}

/* ---- the entry point -------------------------------------------------------- */

HV_API hv_status hv_import(hv_engine *e, const hv_import_options *o,
                           char **out_json)
{
    report r = {.e = e};
    hv_status s;
    FILE *f = NULL;
    char role[32];
    int batch = 0;
    *out_json = NULL;
    hv__clear_error(e);
    if (!o || !o->format || (strcmp(o->format, "csv") && strcmp(o->format, "json")))
        return hv__fail(e, HV_USAGE, "import: --format csv or json");
    if (!o->path)
        return hv__fail(e, HV_USAGE, "import: a FILE is required");
    int csv = !strcmp(o->format, "csv");
    /* CSV rows are registrations (caseworkers and supervisors, checked by
     * registration itself); whole histories come from a supervisor or an
     * administrator moving a database. */
    if (!csv && (s = hv__require_role(e, "supervisor administrator",
                                      "import: whole case histories are "
                                      "imported by a supervisor or an "
                                      "administrator", role, sizeof role)))
        return s;
    if (csv && (s = hv__actor(e, &(int64_t){0}, role, sizeof role)))
        return s;
    if (csv && !hv__role_reads_cases(role))
        return hv__fail(e, HV_DENIED, "import: caseworkers and supervisors "
                                      "register children (%s is %s)",
                        e->actor, role);
    if ((s = hv__need_key(e, "import")))
        return s;
    if (!(f = fopen(o->path, "rb")))
        return hv__fail(e, errno == ENOENT ? HV_NOINPUT : HV_NOINPUT,
                        "import: %s: cannot open: %s", o->path, strerror(errno));
    r.rejected = json_array();
    r.refs = json_array();
    if (!r.rejected || !r.refs) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto done;
    }
    if ((s = hv_engine_batch_begin(e)))
        goto done;
    batch = 1;
    s = csv ? import_csv(e, f, o->path, &r) : import_json(e, f, o->path, &r);
    if (s)
        goto done;
    size_t nrejected = json_array_size(r.rejected);
    int commit = nrejected == 0 || o->skip_bad;
    json_t *out = json_pack("{s:s,s:I,s:I,s:O,s:b}", "format", o->format,
                            "rows", (json_int_t)r.rows, "imported",
                            (json_int_t)(commit ? r.imported : 0), "rejected",
                            r.rejected, "committed", commit);
    if (out && commit)
        json_object_set(out, "refs", r.refs);
    if (!out) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto done;
    }
    if (commit) {
        /* the import itself, in the same transaction (no case content) */
        json_t *data = json_pack("{s:s,s:I,s:I,s:I}", "format", o->format,
                                 "rows", (json_int_t)r.rows, "imported",
                                 (json_int_t)r.imported, "rejected",
                                 (json_int_t)nrejected);
        if ((s = hv__store_begin(e)) == HV_OK) {
            if ((s = hv__store_append_event(e, 0, "imported", data, NULL)) == HV_OK)
                s = hv__store_commit(e);
            else
                hv__store_rollback(e);
        }
        json_decref(data);
        if (s == HV_OK && (s = hv_engine_batch_commit(e)) == HV_OK)
            batch = 0;
    }
    if (s == HV_OK) {
        s = hv__json_out(e, out, out_json);
        if (s == HV_OK && !commit)
            s = hv__fail(e, HV_REFUSED, "import: %zu of %lld rows rejected; "
                                        "nothing imported (--skip-bad imports "
                                        "the others)",
                         nrejected, (long long)r.rows);
    }
    json_decref(out);
done:
    if (batch)
        hv_engine_batch_rollback(e);
    if (f)
        fclose(f);
    json_decref(r.rejected);
    json_decref(r.refs);
    return s;
}
