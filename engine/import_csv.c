/*
 * import_csv.c - `haven import --format csv`: registrations from CSV, one
 * per row, through hv_case_register like any registration.  The header
 * names the keys `haven register` takes (child.age, family.1.name,
 * concerns, form.x ...); each row becomes the registration's JSON object.
 * A row rejected on its data is reported (row, field, reason, never a
 * value) and the import goes on.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "import_csv.h"
#include "error.h"

/* ---- reading CSV (RFC 4180) -------------------------------------------------- */

/* The reader: the file, the line it is on, and the record being read. */
typedef struct {
    FILE *f;
    int64_t line; /* the line being read */
    char **cells;
    size_t n, cap;
    char *buf;
    size_t len, bufcap;
} csv_reader;

/* Appends ch to the cell being read.  0, or -1 out of memory. */
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

/* Ends the cell being read: a copy of it joins the record.  0, or -1 out
 * of memory. */
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

/* Frees the cells of the record read (the array stays for the next). */
static void cells_clear(csv_reader *c)
{
    for (size_t i = 0; i < c->n; i++)
        hv__free(c->cells[i]);
    c->n = 0;
    c->len = 0;
}

/* Skips blank lines and lines starting with '#' up to the next record.
 * Returns 1 at a record (its first byte still to read), 0 at the end. */
static int skip_to_record(csv_reader *c)
{
    int ch;
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
        return 1;
    }
}

/* Reads the next record (RFC 4180; lines starting with '#' and blank lines
 * are skipped).  Returns 1 for a record (its cells in c->cells), 0 at the
 * end, -1 malformed (*why says how), -2 out of memory. */
static int csv_next(csv_reader *c, const char **why)
{
    int ch;
    cells_clear(c);
    if (!c->bufcap && buf_put(c, 0) < 0)
        return -2;
    c->len = 0;
    if (!skip_to_record(c))
        return 0;
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

/* ---- a row as a registration ------------------------------------------------ */

/* 1 if s is a whole number (into *v), else 0. */
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

/* The concerns of a cell: codes separated by ',' or ';', trimmed, empty
 * ones left out.  Returns a new list, or NULL out of memory. */
static json_t *concern_list(const char *text)
{
    json_t *arr = json_array();
    const char *p = text;
    while (arr && *p) {
        size_t len = strcspn(p, ",;");
        const char *a = p, *b = p + len;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (b > a && json_array_append_new(arr, json_stringn(a, (size_t)(b - a)))) {
            json_decref(arr);
            return NULL;
        }
        p += len + (p[len] ? 1 : 0);
    }
    return arr;
}

/* The JSON value of a cell under key (the types `haven register` gives
 * its key=value pairs).  Returns a new value, or NULL out of memory. */
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
    if (!strcmp(key, "concerns"))
        return concern_list(text);
    return json_string(text);
}

/* Turns objects whose keys are all numbers into lists ordered by number
 * (family.1..., family.2...), at every depth.  Returns a new value (v
 * stays the caller's), or NULL out of memory. */
static json_t *listify(json_t *v)
{
    if (!json_is_object(v))
        return json_incref(v);
    const char *key;
    json_t *x;
    int numeric = json_object_size(v) > 0, bad = 0;
    json_object_foreach(v, key, x) {
        json_int_t n = -1;
        if (!whole_number(key, &n) || n < 0)
            numeric = 0;
    }
    if (!numeric) {
        json_t *out = json_object();
        json_object_foreach(v, key, x) {
            if (out)
                bad |= json_object_set_new(out, key, listify(x));
        }
        if (bad) {
            json_decref(out);
            return NULL;
        }
        return out;
    }
    json_t *arr = json_array();
    /* at most a few family members: order by number, simply */
    json_int_t last = -1;
    for (size_t k = 0; arr && k < json_object_size(v); k++) {
        json_int_t best = -1;
        json_object_foreach(v, key, x) {
            json_int_t n = -1;
            whole_number(key, &n);
            if (n > last && (best < 0 || n < best))
                best = n;
        }
        char name[32];
        snprintf(name, sizeof name, "%lld", (long long)best);
        bad |= json_array_append_new(arr, listify(json_object_get(v, name)));
        last = best;
    }
    if (bad) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

/* Places the value of cell text under the dotted key path in obj,
 * making the groups on the way.  Returns HV_OK, HV_INVALID (a part used
 * both as a value and as a group, or given twice) or HV_NOMEM. */
static hv_status place_cell(json_t *obj, const char *key, const char *text)
{
    json_t *at = obj;
    char path[256];
    snprintf(path, sizeof path, "%s", key);
    char *part = path, *dot;
    while ((dot = strchr(part, '.'))) {
        *dot = '\0';
        json_t *next = json_object_get(at, part);
        if (!next) {
            next = json_object();
            if (json_object_set_new(at, part, next))
                return HV_NOMEM;
        }
        if (!json_is_object(next))
            return HV_INVALID;
        at = next;
        part = dot + 1;
    }
    if (json_object_get(at, part))
        return HV_INVALID;
    return json_object_set_new(at, part, cell_value(key, text)) ? HV_NOMEM : HV_OK;
}

/* The registration of one CSV row of n cells under header.  out: *out, a
 * new object (NULL on failure).  Returns HV_OK, HV_INVALID (*bad_col is a
 * column that conflicts with another) or HV_NOMEM. */
static hv_status row_object(char **header, char **cells, size_t n, size_t *bad_col,
                            json_t **out)
{
    hv_status st = HV_OK;
    json_t *obj = json_object();
    *out = NULL;
    if (!obj)
        return HV_NOMEM;
    for (size_t i = 0; i < n && st == HV_OK; i++) {
        if (!cells[i][0])
            continue; /* an empty cell: the field is not given */
        st = place_cell(obj, header[i], cells[i]);
        *bad_col = i;
    }
    if (st == HV_OK && !(*out = listify(obj)))
        st = HV_NOMEM;
    json_decref(obj);
    return st;
}

/* ---- the import ---------------------------------------------------------------- */

/* Rejects row with an engine message "register: FIELD: why", split into
 * the field and the reason.  Returns HV_OK or HV_NOMEM. */
static hv_status reject_message(hv_import_report *r, int64_t row, const char *msg)
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
    return hv__import_reject(r, row, field, why);
}

/* 1 for a status that rejects one row (bad data, a refusal) rather than
 * the whole import (no memory, a busy database, a denied user). */
static int row_level(hv_status s)
{
    return s == HV_INVALID || s == HV_REFUSED || s == HV_DUPLICATE ||
           s == HV_CONFLICT || s == HV_NOTFOUND;
}

/* Checks the header's ncols column names: field names like child.age,
 * none twice.  Returns HV_OK or HV_INVALID with the message on e. */
static hv_status check_header(hv_engine *e, const char *path, char **header,
                              size_t ncols)
{
    for (size_t i = 0; i < ncols; i++) {
        size_t len = strlen(header[i]);
        if (!len || len > 200 || header[i][0] == '.' || header[i][len - 1] == '.' ||
            strstr(header[i], "..") || strspn(header[i], "abcdefghijklmnopqrstuvwxyz"
                                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                         "0123456789_.-") != len)
            return hv__fail(e, HV_INVALID, "import: %s:1: column %zu: not a "
                                           "field name like child.age", path, i + 1);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(header[i], header[j]))
                return hv__fail(e, HV_INVALID, "import: %s:1: column %zu: %s "
                                               "given twice", path, i + 1,
                                hv__echo_safe(header[i]) ? header[i] : "a field");
    }
    return HV_OK;
}

/* Registers one row (number row) of ncols cells under header, or rejects
 * it into r.  Returns HV_OK (imported or rejected) or what stops the
 * whole import, with the message on e. */
static hv_status import_row(hv_engine *e, hv_import_report *r, int64_t row,
                            char **header, char **cells, size_t ncols)
{
    size_t bad = 0;
    json_t *obj = NULL;
    hv_status s = row_object(header, cells, ncols, &bad, &obj);
    if (s == HV_INVALID)
        return hv__import_reject(r, row, hv__echo_safe(header[bad]) ? header[bad] : "-",
                                 "conflicts with another column");
    char *text = s == HV_OK ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!text)
        return hv__fail(e, HV_NOMEM, "out of memory");
    char *ref = NULL;
    s = hv_case_register(e, text, 0, &ref);
    free(text);
    if (s == HV_OK)
        s = hv__import_took(r, ref);
    else if (row_level(s))
        s = reject_message(r, row, hv_errmsg(e));
    hv_free(ref);
    return s;
}

/* Skips a UTF-8 byte-order mark (EF BB BF) at the start of f, as Excel
 * writes one before a "CSV UTF-8" file.  Returns 0 (a mark skipped, or a
 * first byte other than EF put back), or -1 when the file starts with EF
 * but not the whole mark (bytes that cannot all be put back, and that no
 * column name starts with). */
static int skip_bom(FILE *f)
{
    static const int bom[3] = {0xEF, 0xBB, 0xBF};
    for (int i = 0; i < 3; i++) {
        int ch = getc(f);
        if (ch != bom[i]) {
            if (i == 0 && ch != EOF)
                ungetc(ch, f);
            return i == 0 ? 0 : -1;
        }
    }
    return 0;
}

/* See import_csv.h. */
hv_status hv__import_csv(hv_engine *e, FILE *f, const char *path,
                         hv_import_report *r)
{
    csv_reader c = {.f = f};
    char **header = NULL;
    size_t ncols = 0;
    const char *why = NULL;
    hv_status s = HV_OK;
    if (skip_bom(f) < 0) {
        s = hv__fail(e, HV_INVALID, "import: %s:1: column 1: not a field "
                                    "name (it starts with a byte EF that "
                                    "is not a UTF-8 byte-order mark)", path);
        goto done;
    }
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
    if ((s = check_header(e, path, header, ncols)))
        goto done;
    while ((k = csv_next(&c, &why)) == 1) {
        int64_t row = ++r->rows;
        if (c.n != ncols) {
            char msg[96];
            snprintf(msg, sizeof msg, "has %zu fields, the header %zu", c.n, ncols);
            s = hv__import_reject(r, row, "-", msg);
        } else {
            s = import_row(e, r, row, header, c.cells, ncols);
        }
        if (s)
            goto done;
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
