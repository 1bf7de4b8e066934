/*
 * import_json.c - `haven import --format json`: whole case histories from
 * a Haven JSON export, {"about": {...}, "cases": [{...}, ...]}.
 *
 * Rather than the whole file as one tree (ten times its size in memory),
 * the reader walks the top level itself and hands each value, one at a
 * time, to jansson: memory is one case history, whatever the number of
 * cases.  Each case is imported on its own (import_case.c).  Messages say
 * where in the file, never what it holds.
 */
#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "jbuf.h"
#include "import_case.h"
#include "import_json.h"
#include "error.h"

/* ---- reading a JSON export one value at a time ---------------------------------- */

#define MAX_VALUE_BYTES (256u << 20) /* one case history's text, at most */

/* The reader: the file, the byte ahead and where it is, and the value
 * being read. */
typedef struct {
    FILE *f;
    int c;              /* the next byte, or EOF */
    int line, col;      /* of that byte, from 1 */
    hv_jbuf value;      /* the value being read */
    int vline, vcol;    /* where it starts */
    int too_big, nomem;
} jreader;

/* Moves to the next byte, counting lines and (UTF-8) columns. */
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

/* Skips JSON white space. */
static void jr_ws(jreader *j)
{
    while (j->c == ' ' || j->c == '\t' || j->c == '\n' || j->c == '\r')
        jr_next(j);
}

/* Keeps the current byte in the value and moves on; 0 if out of room
 * (j->too_big or j->nomem set). */
static int jr_keep(jreader *j)
{
    char byte = (char)j->c;
    if (j->value.len + 2 > MAX_VALUE_BYTES) {
        j->too_big = 1;
        return 0;
    }
    hv__jb_raw(&j->value, &byte, 1);
    if (j->value.err) {
        j->nomem = 1;
        return 0;
    }
    jr_next(j);
    return 1;
}

/* Reads one JSON value's text into j->value (brackets balanced, strings
 * whole; jansson checks the rest).  0 on success. */
static int jr_value(jreader *j)
{
    int depth = 0;
    jr_ws(j);
    hv__jb_reset(&j->value);
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
        if (depth == 0 && j->value.len > 0 &&
            (c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' ||
             c == '\n' || c == '\r'))
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
    return 0;
}

/* The value read, as JSON (a new reference); NULL (and *line, *col of
 * the fault) if it is not JSON. */
static json_t *jr_json(jreader *j, int *line, int *col)
{
    json_error_t err;
    json_t *v = json_loadb(j->value.text, j->value.len,
                           JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (!v) {
        *line = j->vline + (err.line > 0 ? err.line - 1 : 0);
        *col = err.line > 1 ? err.column : j->vcol + (err.column > 0 ? err.column - 1 : 0);
    }
    return v;
}

/* After a list item or an object member: skips white space and reads a
 * comma (0) or the closing bracket close (1); anything else is -1. */
static int jr_after_item(jreader *j, int close)
{
    jr_ws(j);
    if (j->c == close) {
        jr_next(j);
        return 1;
    }
    if (j->c != ',')
        return -1;
    jr_next(j);
    return 0;
}

/* ---- the export's top level ----------------------------------------------------- */


/* 1 if s has the shape of an agency code (2 to 12 of A-Z and 0-9, as init
 * takes): an agency's code is not identifying and is named in messages. */
static int agency_code_shape(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 2 || n > 12)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] >= 'A' && s[i] <= 'Z') && !(s[i] >= '0' && s[i] <= '9'))
            return 0;
    return 1;
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
    /* A simulated database's history carries whatever times its trainer
     * set: it never enters a live one, where times are the machine's. */
    const char *clock = json_string_value(json_object_get(about, "clock"));
    if (!e->simulated && clock && strcmp(clock, "live"))
        return hv__fail(e, HV_REFUSED, "import: %s: exported from a simulated "
                                       "database; a live database takes only "
                                       "live exports", path);
    const char *agency = json_string_value(json_object_get(about, "agency"));
    if (!agency || strcmp(agency, e->agency_code))
        return hv__fail(e, HV_REFUSED, "import: %s: exported by %s%s%s, this "
                                       "database is agency %s", path,
                        agency_code_shape(agency) ? "agency " : "",
                        agency_code_shape(agency) ? agency : "",
                        agency_code_shape(agency)
                            ? ""
                            : agency && *agency
                                  ? "an agency whose code is not shown (not "
                                    "an agency code: 2 to 12 of A-Z and 0-9)"
                                  : "an unknown agency (the export names none)",
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


/* How walking the top level goes on: on, stopped with w->s, or stopped at
 * a syntax error at the reader's position (WALK_BAD) or at w->line, w->col
 * (WALK_BAD_AT). */
enum { WALK_ON, WALK_DONE, WALK_BAD, WALK_BAD_AT };

/* The walk over an export's top level. */
typedef struct {
    hv_engine *e;
    const char *path;
    hv_import_report *r;
    jreader j;
    json_t *about;  /* the export's "about", once read (owned) */
    json_t *seen;   /* the top-level keys read, as an object (owned) */
    int line, col;  /* where a value that is not JSON fails */
    int seen_cases; /* the "cases" list was read */
    hv_status s;    /* the outcome, when WALK_DONE */
} walk;

/* Stops the walk with status s.  Returns WALK_DONE. */
static int walk_done(walk *w, hv_status s)
{
    w->s = s;
    return WALK_DONE;
}

/* Reads the next value.  out: *out a new reference (on WALK_ON).
 * Returns WALK_ON, WALK_BAD or WALK_BAD_AT. */
static int walk_value(walk *w, json_t **out)
{
    if (jr_value(&w->j))
        return WALK_BAD;
    *out = jr_json(&w->j, &w->line, &w->col);
    return *out ? WALK_ON : WALK_BAD_AT;
}

/* Reads the "cases" list (its '[' ahead) after checking the "about" read
 * before it, importing each case as it is read.  Returns a WALK_ code. */
static int walk_cases(walk *w)
{
    hv_status s = check_about(w->e, w->about, 1, w->path);
    if (s)
        return walk_done(w, s);
    w->seen_cases = 1;
    jr_next(&w->j);
    jr_ws(&w->j);
    if (w->j.c == ']') {
        jr_next(&w->j);
        return WALK_ON;
    }
    for (;;) {
        json_t *c = NULL;
        int k = walk_value(w, &c);
        if (k != WALK_ON)
            return k;
        s = json_is_object(c) ? hv__import_case(w->e, c, w->r)
                              : hv__fail(w->e, HV_INVALID, "import: %s:%d:%d: a case "
                                                           "must be an object",
                                         w->path, w->j.vline, w->j.vcol);
        json_decref(c);
        if (s)
            return walk_done(w, s);
        k = jr_after_item(&w->j, ']');
        if (k)
            return k > 0 ? WALK_ON : WALK_BAD;
    }
}

/* Reads one member of the top-level object: its key (once only), then the
 * "cases" list, the "about" (kept) or any other value (skipped).
 * Returns a WALK_ code. */
static int walk_member(walk *w)
{
    jreader *j = &w->j;
    json_t *k = NULL, *v = NULL;
    jr_ws(j);
    if (j->c != '"')
        return WALK_BAD;
    int step = walk_value(w, &k);
    if (step != WALK_ON)
        return step;
    const char *name = json_string_value(k);
    int is_about = name && !strcmp(name, "about");
    int is_cases = name && !strcmp(name, "cases");
    int twice = !name || json_object_get(w->seen, name) != NULL;
    int nomem = !twice && json_object_set_new(w->seen, name, json_true());
    json_decref(k);
    if (nomem)
        return walk_done(w, hv__fail(w->e, HV_NOMEM, "out of memory"));
    if (twice) { /* a key twice */
        w->line = j->vline;
        w->col = j->vcol;
        return WALK_BAD_AT;
    }
    jr_ws(j);
    if (j->c != ':')
        return WALK_BAD;
    jr_next(j);
    jr_ws(j);
    if (is_cases && j->c == '[')
        return walk_cases(w);
    if ((step = walk_value(w, &v)) != WALK_ON)
        return step;
    if (is_about)
        w->about = v;
    else
        json_decref(v); /* another key: not ours */
    if (is_cases) /* "cases" not a list */
        return walk_done(w, check_about(w->e, w->about, 0, w->path));
    return WALK_ON;
}

/* Walks the whole export: one object of members, then the end of the
 * file.  Returns a WALK_ code (WALK_DONE with w->s when it ends well). */
static int walk_top(walk *w)
{
    jreader *j = &w->j;
    j->c = getc(j->f);
    jr_ws(j);
    if (j->c == '[') /* JSON, but not an export */
        return walk_done(w, check_about(w->e, NULL, 0, w->path));
    if (j->c != '{')
        return WALK_BAD;
    jr_next(j);
    jr_ws(j);
    if (j->c == '}') {
        jr_next(j);
    } else {
        for (;;) {
            int step = walk_member(w);
            if (step != WALK_ON)
                return step;
            step = jr_after_item(j, '}');
            if (step < 0)
                return WALK_BAD;
            if (step > 0)
                break;
        }
    }
    jr_ws(j);
    if (j->c != EOF)
        return WALK_BAD;
    return walk_done(w, w->seen_cases ? HV_OK : check_about(w->e, w->about, 0, w->path));
}

/* The failure of a walk stopped at a syntax error (step WALK_BAD or
 * WALK_BAD_AT): a read error, no memory, a value too large, or not JSON,
 * saying only where.  Returns the status, with the message on w->e. */
static hv_status walk_fail(walk *w, int step)
{
    const jreader *j = &w->j;
    if (step == WALK_BAD) {
        w->line = j->line;
        w->col = j->col;
    }
    if (ferror(j->f))
        return hv__fail(w->e, HV_IOERR, "import: %s:%d:%d: cannot read: %s", w->path,
                        j->line, j->col, strerror(errno));
    if (j->nomem)
        return hv__fail(w->e, HV_NOMEM, "out of memory");
    if (j->too_big)
        return hv__fail(w->e, HV_INVALID, "import: %s:%d:%d: a value larger than %u MiB",
                        w->path, j->vline, j->vcol, MAX_VALUE_BYTES >> 20);
    return hv__fail(w->e, HV_INVALID, "import: %s:%d:%d: not valid JSON", w->path,
                    w->line, w->col);
}

/* See import_json.h. */
hv_status hv__import_json(hv_engine *e, FILE *f, const char *path,
                          hv_import_report *r)
{
    walk w = {.e = e, .path = path, .r = r, .j = {.f = f, .line = 1, .col = 1}};
    if (!(w.seen = json_object()))
        return hv__fail(e, HV_NOMEM, "out of memory");
    int step = walk_top(&w);
    hv_status s = step == WALK_DONE ? w.s : walk_fail(&w, step);
    json_decref(w.about);
    json_decref(w.seen);
    hv__jb_release(&w.j.value);
    return s;
}
