/*
 * export.c - `haven export`: the cases in the acting user's scope as CSV
 * (one file per table) or JSON (one document of whole case histories),
 * identifiable (with consent, audited) or pseudonymous.  What each table
 * holds, and what pseudonymisation leaves out, is in export_tables.c.
 *
 * Rows are streamed: one case is read, written and forgotten before the
 * next, so memory stays bounded whatever the caseload.  The files are
 * written to temporary files beside their destination (mode 0600) and
 * renamed into place only when complete, inside the transaction that
 * records the export; on any failure nothing is left behind and nothing
 * is recorded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "engine.h"
#include "export.h"
#include "export_tables.h"
#include "store.h"
#include "error.h"
#include "access.h"
#include "crypto.h"
#include "events.h"

/* ---- CSV ------------------------------------------------------------------- */

/* Writes one CSV field (RFC 4180 quoting).  A text value a spreadsheet would
 * take for a formula (beginning with = + - @, a tab or a carriage return)
 * is neutralised: written quoted, after an apostrophe, so that opening the
 * export runs nothing (OWASP's advice on CSV injection). */
static void csv_cell(FILE *f, const char *s, int first, int text)
{
    if (!first)
        fputc(',', f);
    if (!s)
        return;
    int formula = text && s[0] && strchr("=+-@\t\r", s[0]) != NULL;
    if (!formula && !s[strcspn(s, ",\"\r\n")] && s[0] != ' ' && s[0] != '#') {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    if (formula)
        fputc('\'', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* Writes one CSV text field (csv_cell, neutralised where needed). */
static void csv_field(FILE *f, const char *s, int first)
{
    csv_cell(f, s, first, 1);
}

/* Writes a JSON value as one CSV field: strings as they are, null empty,
 * everything else as compact JSON. */
static void csv_value(FILE *f, json_t *v, int first)
{
    if (!v || json_is_null(v)) {
        csv_field(f, NULL, first);
    } else if (json_is_string(v)) {
        csv_field(f, json_string_value(v), first);
    } else {
        /* a number, a boolean or a structure: no formula to neutralise
         * (a negative number stays a number) */
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        csv_cell(f, t ? t : "", first, json_is_number(v) || json_is_boolean(v) ? 0 : 1);
        free(t);
    }
}

/* ---- the export ------------------------------------------------------------ */

#define EXPORT_FILES 32 /* room for one file (and one query) per table */

/* One export under way: who exports what, the counts its headers
 * announce, and the files and queries it owns. */
typedef struct {
    hv_engine *e;
    const hv_export_options *o;
    int csv;
    /* who exports what */
    int64_t me;
    int all, supervisor;  /* a manager: every case; a supervisor: the team's */
    char role[32];
    const char *scope;    /* the scope in words */
    /* what the headers announce, and what was done */
    int64_t will_export, left_out, will_override;
    int64_t exported, overridden;
    int in_tx;            /* the export's transaction is open */
    FILE *files[EXPORT_FILES];      /* CSV: one per table; JSON: files[0] */
    char *tmp[EXPORT_FILES];        /* temporary names (NULL when none) */
    char *final[EXPORT_FILES];      /* destination names */
    int renamed[EXPORT_FILES];
    sqlite3_stmt *rows[EXPORT_FILES]; /* each table's query, prepared once */
    int first_case;
    FILE *stream_copy;    /* JSON for o->out: the whole text, until recorded */
    json_t *written;      /* the names of the files put in place */
} exporter;

/* Opens a fresh temporary file beside dest (mode 0600).  Changes:
 * x->files[i], x->tmp[i], x->final[i] (freed by free_exporter).
 * Returns HV_OK, HV_DENIED, HV_CANTCREATE or HV_NOMEM. */
static hv_status open_tmp(exporter *x, int i, const char *dest)
{
    hv_engine *e = x->e;
    x->final[i] = hv__strdup(dest);
    x->tmp[i] = hv__asprintf("%s.tmp-XXXXXX", dest);
    if (!x->final[i] || !x->tmp[i])
        return hv__fail(e, HV_NOMEM, "out of memory");
    int fd = mkstemp(x->tmp[i]);
    if (fd < 0) {
        hv__free(x->tmp[i]);
        x->tmp[i] = NULL;
        return hv__fail(e, errno == EACCES ? HV_DENIED : HV_CANTCREATE,
                        "export: %s: cannot create: %s", dest, strerror(errno));
    }
    fchmod(fd, 0600);
    if (!(x->files[i] = fdopen(fd, "w"))) {
        close(fd);
        return hv__fail(e, HV_NOMEM, "out of memory");
    }
    return HV_OK;
}

/* The "about" of every file: what it holds (contents), for whom, when,
 * how.  Returns a new object, or NULL out of memory. */
static json_t *about(const exporter *x, const char *contents)
{
    hv_engine *e = x->e;
    const hv_export_options *o = x->o;
    char now[32], since[32];
    hv_time_format(hv_now(e), now, sizeof now);
    if (o->since > 0)
        hv_time_format(o->since, since, sizeof since);
    json_t *a = json_object();
    int bad = !a;
    bad |= json_object_set_new(a, "format", json_string("haven-export-1"));
    bad |= json_object_set_new(a, "contents", json_string(contents));
    bad |= json_object_set_new(a, "agency", json_string(e->agency_code));
    bad |= json_object_set_new(a, "workflow", json_pack("{s:s,s:i}", "id", e->wf->id,
                                                        "version", e->wf->version));
    bad |= json_object_set_new(a, "made_at", json_string(now));
    /* a simulated database's times were set with --now, not lived */
    bad |= json_object_set_new(a, "clock",
                               json_string(e->simulated ? "simulated" : "live"));
    bad |= json_object_set_new(a, "made_for",
                               json_pack("{s:s,s:s,s:s?}", "user", e->actor, "role",
                                         x->role, "purpose", e->purpose));
    bad |= json_object_set_new(a, "identifiable", json_boolean(!o->pseudonymous));
    bad |= json_object_set_new(a, "data",
                               json_string(o->pseudonymous
                                               ? "pseudonymous: no names, dates of "
                                                 "birth (age bands instead), exact "
                                                 "ages, locations below the district "
                                                 "or free text"
                                               : "identifiable: names, dates of "
                                                 "birth, locations and narrative; "
                                                 "confidential"));
    bad |= json_object_set_new(a, "filters",
                               json_pack("{s:s,s:s?}", "scope", x->scope, "since",
                                         o->since > 0 ? since : NULL));
    bad |= json_object_set_new(a, "cases", json_integer(x->will_export));
    if (!o->pseudonymous) {
        bad |= json_object_set_new(a, "left_out_without_consent",
                                   json_integer(x->left_out));
        bad |= json_object_set_new(a, "consent_overridden",
                                   json_integer(x->will_override));
        if (o->override)
            bad |= json_object_set_new(a, "override", json_string(o->override));
    }
    if (bad) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* Writes the `# ` header of the CSV file of table t (the about ab, one
 * line per key) and its column names, to f. */
static void csv_header(const exporter *x, FILE *f, json_t *ab,
                       const hv__export_table *t)
{
    const char *key;
    json_t *v;
    json_object_foreach(ab, key, v) {
        char *text = json_is_string(v) ? NULL
                                       : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
                                                           JSON_PRESERVE_ORDER);
        fprintf(f, "# %s: %s\n", key, text ? text : json_string_value(v));
        free(text);
    }
    /* the column names, from the query */
    sqlite3_stmt *st = x->rows[t - hv__export_tables];
    csv_field(f, "ref", 1);
    for (int i = 0; i < sqlite3_column_count(st); i++)
        if (!hv__export_dropped(t->kinds[i], x->o->pseudonymous))
            csv_field(f, sqlite3_column_name(st, i), 0);
    fputc('\n', f);
}

/* Writes the row st is on, of the case ref, as a line of the CSV file of
 * table ti. */
static void csv_row(exporter *x, size_t ti, sqlite3_stmt *st, const char *ref)
{
    const char *kinds = hv__export_tables[ti].kinds;
    FILE *f = x->files[ti];
    csv_field(f, ref, 1);
    for (int i = 0; i < sqlite3_column_count(st); i++) {
        if (hv__export_dropped(kinds[i], x->o->pseudonymous))
            continue;
        /* a code list stays its joined text, a flag 0 or 1 */
        char k = kinds[i] == 'c' || kinds[i] == 'B' ? 'v' : kinds[i];
        json_t *v = hv__export_column(st, i, k, x->o->pseudonymous);
        csv_value(f, v, 0);
        json_decref(v);
    }
    fputc('\n', f);
}

/* The row st is on, of table ti, as a JSON object of its columns kept.
 * Returns a new object, or NULL out of memory. */
static json_t *json_row(const exporter *x, size_t ti, sqlite3_stmt *st)
{
    const char *kinds = hv__export_tables[ti].kinds;
    json_t *row = json_object();
    int bad = !row;
    for (int i = 0; i < sqlite3_column_count(st) && !bad; i++) {
        json_t *v = hv__export_column(st, i, kinds[i], x->o->pseudonymous);
        if (v) /* NULL: a column left out (or text that is not UTF-8) */
            bad |= json_object_set_new(row, sqlite3_column_name(st, i), v);
    }
    if (bad) {
        json_decref(row);
        return NULL;
    }
    return row;
}

/* Writes the rows of table ti of the case (case_id, ref): lines of its
 * CSV file, or (JSON) the table's section of the case object obj.
 * Returns HV_OK or a failure with the message on e. */
static hv_status case_table(exporter *x, size_t ti, int64_t case_id, const char *ref,
                            json_t *obj)
{
    const hv__export_table *t = &hv__export_tables[ti];
    sqlite3_stmt *st = x->rows[ti];
    json_t *arr = NULL;
    int bad = 0, rc = SQLITE_DONE;
    if (!x->csv && !(t->flags & HV__EXPORT_ONE)) {
        arr = json_array();
        bad |= json_object_set_new(obj, t->json_key, arr);
    }
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, case_id);
    while (!bad && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (x->csv)
            csv_row(x, ti, st, ref);
        else if (arr)
            bad |= json_array_append_new(arr, json_row(x, ti, st));
        else
            bad |= json_object_set_new(obj, t->json_key, json_row(x, ti, st));
    }
    sqlite3_reset(st);
    if (bad)
        return hv__fail(x->e, HV_NOMEM, "out of memory");
    if (rc != SQLITE_DONE)
        return hv__sql_fail(x->e, rc, "reading a case for export");
    return HV_OK;
}

/* Writes one case: each table's rows (CSV) or the case object (JSON).
 * Returns HV_OK or a failure with the message on e. */
static hv_status export_case(exporter *x, int64_t case_id, const char *ref)
{
    hv_engine *e = x->e;
    hv_status s = HV_OK;
    json_t *obj = x->csv ? NULL : json_pack("{s:s}", "ref", ref);
    if (!x->csv && !obj)
        return hv__fail(e, HV_NOMEM, "out of memory");
    for (size_t ti = 0; ti < hv__export_table_count && !s; ti++) {
        if (x->rows[ti])
            s = case_table(x, ti, case_id, ref, obj);
    }
    if (!s && !x->csv) {
        FILE *f = x->files[0];
        fputs(x->first_case ? "\n    " : ",\n    ", f);
        if (json_dumpf(obj, f, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0)
            s = hv__fail(e, HV_IOERR, "export: writing failed");
        x->first_case = 0;
    }
    json_decref(obj);
    return s;
}

/* Flushes, syncs and closes every file.  Returns HV_OK, or HV_IOERR
 * naming the first that failed (a full disk). */
static hv_status close_files(exporter *x)
{
    hv_status s = HV_OK;
    for (int i = 0; i < EXPORT_FILES; i++) {
        if (!x->files[i])
            continue;
        int bad = fflush(x->files[i]) != 0 || ferror(x->files[i]) ||
                  (x->tmp[i] && fsync(fileno(x->files[i])) != 0);
        if (fclose(x->files[i]) != 0)
            bad = 1;
        x->files[i] = NULL;
        if (bad && !s)
            s = hv__fail(x->e, HV_IOERR, "export: %s: writing failed: %s",
                         x->final[i] ? x->final[i] : "output", strerror(errno));
    }
    return s;
}

/* Removes what was written: the temporary files, and the renamed ones
 * (a failed commit).  The files are closed. */
static void remove_files(exporter *x)
{
    for (int i = 0; i < EXPORT_FILES; i++) {
        if (x->files[i])
            fclose(x->files[i]);
        x->files[i] = NULL;
        if (x->tmp[i] && !x->renamed[i])
            unlink(x->tmp[i]);
        if (x->renamed[i])
            unlink(x->final[i]);
        x->renamed[i] = 0;
    }
}

/* Frees what the exporter holds: files still open, queries, names. */
static void free_exporter(exporter *x)
{
    for (int i = 0; i < EXPORT_FILES; i++) {
        if (x->files[i])
            fclose(x->files[i]);
        hv__store_finalize(x->e, x->rows[i]);
        hv__free(x->tmp[i]);
        hv__free(x->final[i]);
    }
    if (x->stream_copy)
        fclose(x->stream_copy);
    json_decref(x->written);
}

/* ---- the steps of an export ------------------------------------------------- */

/* The cases of the export: scope, --since; each with whether it has
 * export consent. ?1 all, ?2 me, ?3 supervisor, ?4 since. */
#define EXPORT_CASES                                                          \
    " FROM cases c LEFT JOIN users a ON a.id = c.assignee_id"                 \
    " WHERE (?1 = 1 OR c.assignee_id = ?2 OR (?3 = 1 AND"                     \
    "        a.supervisor_id = ?2))"                                          \
    "   AND (?4 = 0 OR c.registered_at >= ?4 OR c.updated_at >= ?4)"
#define HAS_CONSENT                                                           \
    "EXISTS (SELECT 1 FROM consents k WHERE k.case_id = c.id AND"             \
    " k.withdrawn_at IS NULL AND k.scope IN ('export', 'information_sharing'))"

/* Prepares sql, a query over EXPORT_CASES, with the exporter's scope and
 * --since bound.  out: *st, for hv__store_finalize.
 * Returns HV_OK or a failure. */
static hv_status prepare_cases(exporter *x, const char *sql, sqlite3_stmt **st)
{
    hv_status s = hv__store_prepare(x->e, sql, st);
    if (s)
        return s;
    sqlite3_bind_int(*st, 1, x->all);
    sqlite3_bind_int64(*st, 2, x->me);
    sqlite3_bind_int(*st, 3, x->supervisor);
    sqlite3_bind_int64(*st, 4, x->o->since > 0 ? x->o->since : 0);
    return HV_OK;
}

/* Checks the options: a format, where to write, an override reason that
 * is a short code and only for identifiable exports.
 * Returns HV_OK or HV_USAGE with the message on e. */
static hv_status check_options(hv_engine *e, const hv_export_options *o)
{
    if (!o || !o->format || (strcmp(o->format, "csv") && strcmp(o->format, "json")))
        return hv__fail(e, HV_USAGE, "export: --format csv or json");
    int csv = !strcmp(o->format, "csv");
    if (csv && !o->out_path)
        return hv__fail(e, HV_USAGE, "export: CSV needs --out DIRECTORY (one "
                                     "file per table)");
    if (!csv && !o->out_path && !o->out)
        return hv__fail(e, HV_USAGE, "export: JSON needs --out FILE or a stream");
    if (o->override && (!o->override[0] || strlen(o->override) > 80 ||
                        !hv__echo_safe(o->override)))
        return hv__fail(e, HV_USAGE, "export: --override: a short reason code "
                                     "such as court_order (letters, digits, _ "
                                     "- . /), recorded in the audit trail");
    if (o->override && o->pseudonymous)
        return hv__fail(e, HV_USAGE, "export: --override is for identifiable "
                                     "exports; a pseudonymous one needs no "
                                     "consent");
    return HV_OK;
}

/* Who exports what: caseworkers their own cases, supervisors their
 * team's, managers every case but pseudonymously only; an identifiable
 * export needs the data key, an override a supervisor.  Changes: x->me,
 * role, all, supervisor, scope.  Returns HV_OK, HV_DENIED or a failure. */
static hv_status who_exports(exporter *x)
{
    hv_engine *e = x->e;
    const hv_export_options *o = x->o;
    hv_status s = hv__actor(e, &x->me, x->role, sizeof x->role);
    if (s)
        return s;
    x->all = !strcmp(x->role, "manager");
    x->supervisor = !strcmp(x->role, "supervisor");
    if (!x->all && !hv__role_reads_cases(x->role))
        return hv__fail(e, HV_DENIED, "export: a%s %s exports no case data "
                                      "(caseworkers, supervisors and, "
                                      "pseudonymously, managers do)",
                        x->role[0] == 'a' ? "n" : "", x->role);
    if (x->all && !o->pseudonymous)
        return hv__fail(e, HV_DENIED, "export: a manager exports "
                                      "pseudonymously only (--pseudonymous)");
    if (!o->pseudonymous && (s = hv__need_key(e, "export (--pseudonymous "
                                                 "needs no key)")))
        return s;
    if (o->override && !x->supervisor)
        return hv__fail(e, HV_DENIED, "export: only a supervisor may override "
                                      "missing export consent (%s is a %s)",
                        e->actor, x->role);
    x->scope = x->all ? "every case of the agency"
               : x->supervisor ? "the supervisor's own cases and their team's"
                               : "the caseworker's own cases";
    return HV_OK;
}

/* Counts the cases in scope and those with export consent, for the
 * headers.  Changes: x->will_export, left_out, will_override.
 * Returns HV_OK or a failure. */
static hv_status count_cases(exporter *x)
{
    const hv_export_options *o = x->o;
    sqlite3_stmt *st = NULL;
    int64_t total = 0, consented = 0;
    hv_status s = prepare_cases(x, "SELECT count(*), coalesce(sum(" HAS_CONSENT
                                   "), 0)" EXPORT_CASES,
                                &st);
    if (s)
        return s;
    if (sqlite3_step(st) == SQLITE_ROW) {
        total = sqlite3_column_int64(st, 0);
        consented = sqlite3_column_int64(st, 1);
    }
    hv__store_finalize(x->e, st);
    x->left_out = o->pseudonymous || o->override ? 0 : total - consented;
    x->will_export = total - x->left_out;
    x->will_override = !o->pseudonymous && o->override ? total - consented : 0;
    return HV_OK;
}

/* Prepares the query of each table this export writes (now bound as ?2).
 * Changes: x->rows.  Returns HV_OK or a failure. */
static hv_status prepare_tables(exporter *x)
{
    hv_engine *e = x->e;
    for (size_t ti = 0; ti < hv__export_table_count; ti++) {
        const hv__export_table *t = &hv__export_tables[ti];
        if (!(t->flags & (x->csv ? HV__EXPORT_CSV : HV__EXPORT_JSON)))
            continue;
        hv_status s = hv__store_prepare(e, t->sql, &x->rows[ti]);
        if (s)
            return s;
        if ((size_t)sqlite3_column_count(x->rows[ti]) != strlen(t->kinds))
            return hv__fail(e, HV_INTERNAL, "export: %s: column kinds mismatch",
                            t->json_key ? t->json_key : t->file);
        sqlite3_bind_int64(x->rows[ti], 2, hv_now(e));
    }
    return HV_OK;
}

/* Opens the CSV files (the --out directory made if needed), one per
 * table, each with its header.  Returns HV_OK or a failure. */
static hv_status open_csv_files(exporter *x)
{
    hv_engine *e = x->e;
    const char *dir = x->o->out_path;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return hv__fail(e, errno == EACCES ? HV_DENIED : HV_CANTCREATE,
                        "export: %s: cannot create the directory: %s", dir,
                        strerror(errno));
    for (size_t ti = 0; ti < hv__export_table_count; ti++) {
        const hv__export_table *t = &hv__export_tables[ti];
        if (!(t->flags & HV__EXPORT_CSV))
            continue;
        char *dest = hv__asprintf("%s/%s.csv", dir, t->file);
        if (!dest)
            return hv__fail(e, HV_NOMEM, "out of memory");
        hv_status s = open_tmp(x, (int)ti, dest);
        hv__free(dest);
        if (s)
            return s;
        char contents[200];
        snprintf(contents, sizeof contents, "Haven export, %s.csv: %s", t->file,
                 t->contents);
        json_t *ab = about(x, contents);
        if (!ab)
            return hv__fail(e, HV_NOMEM, "out of memory");
        csv_header(x, x->files[ti], ab, t);
        json_decref(ab);
    }
    return HV_OK;
}

/* Opens the JSON file (--out, or a temporary file for the stream) and
 * writes the document's start and its "about".
 * Returns HV_OK or a failure. */
static hv_status open_json_file(exporter *x)
{
    hv_engine *e = x->e;
    hv_status s;
    if (x->o->out_path) {
        if ((s = open_tmp(x, 0, x->o->out_path)))
            return s;
    } else if (!(x->files[0] = tmpfile())) {
        return hv__fail(e, HV_CANTCREATE, "export: cannot create a temporary "
                                          "file: %s", strerror(errno));
    }
    json_t *ab = about(x, "Haven export: whole case histories (case, persons, "
                          "consents, tasks, notes, assessments, plans, actions, "
                          "referrals, conferences, follow-ups, reviews, "
                          "evaluations, approvals, history), one object per case");
    if (!ab)
        return hv__fail(e, HV_NOMEM, "out of memory");
    fputs("{\n  \"about\": ", x->files[0]);
    json_dumpf(ab, x->files[0], JSON_COMPACT | JSON_PRESERVE_ORDER);
    fputs(",\n  \"cases\": [", x->files[0]);
    json_decref(ab);
    return HV_OK;
}

/* Records the audit trail's read of an identifiable case (case_id),
 * noting an override of missing consent.  Changes: x->overridden.
 * Returns HV_OK or a failure. */
static hv_status record_read(exporter *x, int64_t case_id, int has_consent)
{
    json_t *data = json_pack("{s:s}", "action", "export");
    int bad = !data;
    if (!has_consent) {
        bad |= json_object_set_new(data, "consent_overridden", json_true());
        bad |= json_object_set_new(data, "override", json_string(x->o->override));
        x->overridden++;
    }
    hv_status s = bad ? hv__fail(x->e, HV_NOMEM, "out of memory")
                      : hv__store_append_event(x->e, case_id, "viewed", data, NULL);
    json_decref(data);
    return s;
}

/* Writes the cases, one at a time (those without export consent left
 * out of an identifiable export unless overridden), then the JSON
 * document's end.  Changes: x->exported, x->overridden.
 * Returns HV_OK or a failure. */
static hv_status export_cases(exporter *x)
{
    const hv_export_options *o = x->o;
    sqlite3_stmt *st = NULL;
    int rc;
    hv_status s = prepare_cases(x, "SELECT c.id, c.ref, " HAS_CONSENT EXPORT_CASES
                                   " ORDER BY c.id",
                                &st);
    if (s)
        return s;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t case_id = sqlite3_column_int64(st, 0);
        const char *ref = (const char *)sqlite3_column_text(st, 1);
        int has_consent = sqlite3_column_int(st, 2);
        if (!o->pseudonymous && !has_consent && !o->override)
            continue; /* counted in the header as left out */
        if ((s = export_case(x, case_id, ref)))
            break;
        x->exported++;
        /* identifying data was read: the audit trail's read event */
        if (!o->pseudonymous && (s = record_read(x, case_id, has_consent)))
            break;
    }
    hv__store_finalize(x->e, st);
    if (s)
        return s;
    if (rc != SQLITE_DONE)
        return hv__sql_fail(x->e, rc, "listing the cases to export");
    if (!x->csv)
        fputs(x->first_case ? "]\n}\n" : "\n  ]\n}\n", x->files[0]);
    return HV_OK;
}

/* Records the export itself, without case content.  out: *summary, the
 * event's data (also the answer's start), the caller's to free.
 * Returns HV_OK or a failure. */
static hv_status record_export(exporter *x, json_t **summary)
{
    const hv_export_options *o = x->o;
    json_t *sum = json_pack("{s:s,s:b,s:I,s:I,s:I,s:s}", "format", o->format,
                            "identifiable", !o->pseudonymous, "cases",
                            (json_int_t)x->exported, "left_out_without_consent",
                            (json_int_t)x->left_out, "consent_overridden",
                            (json_int_t)x->overridden, "scope", x->scope);
    int bad = !sum;
    *summary = sum;
    if (o->since > 0)
        bad |= json_object_set_new(sum, "since", json_integer(o->since));
    if (o->override)
        bad |= json_object_set_new(sum, "override", json_string(o->override));
    if (bad)
        return hv__fail(x->e, HV_NOMEM, "out of memory");
    return hv__store_append_event(x->e, 0, "exported", sum, NULL);
}

/* Completes the files, renames them into place and commits the
 * transaction that records them (a JSON stream is kept aside in
 * x->stream_copy until then).  Changes: x->written, renamed, in_tx.
 * Returns HV_OK or a failure (the caller removes what was written). */
static hv_status publish(exporter *x)
{
    hv_engine *e = x->e;
    hv_status s;
    if (!x->csv && !x->o->out_path) {
        fflush(x->files[0]);
        if (ferror(x->files[0]))
            return hv__fail(e, HV_IOERR, "export: writing failed");
        x->stream_copy = x->files[0];
        x->files[0] = NULL;
    } else if ((s = close_files(x))) {
        return s;
    }
    x->written = json_array();
    for (int i = 0; i < EXPORT_FILES; i++) {
        if (!x->tmp[i])
            continue;
        if (rename(x->tmp[i], x->final[i]) != 0)
            return hv__fail(e, HV_CANTCREATE, "export: %s: cannot create: %s",
                            x->final[i], strerror(errno));
        x->renamed[i] = 1;
        if (json_array_append_new(x->written, json_string(x->final[i])))
            return hv__fail(e, HV_NOMEM, "out of memory");
    }
    s = hv__store_commit(e);
    x->in_tx = 0;
    return s;
}

/* After the commit: copies a JSON stream's text to o->out (only a
 * complete, recorded export reaches it).  Returns HV_OK or HV_IOERR. */
static hv_status copy_stream(exporter *x)
{
    char buf[65536];
    size_t n;
    FILE *out = x->o->out;
    if (!x->stream_copy)
        return HV_OK;
    rewind(x->stream_copy);
    while ((n = fread(buf, 1, sizeof buf, x->stream_copy)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            break;
    fclose(x->stream_copy);
    x->stream_copy = NULL;
    if (fflush(out) != 0 || ferror(out))
        return hv__fail(x->e, HV_IOERR, "export: writing the output failed");
    return HV_OK;
}

/* See haven.h. */
HV_API hv_status hv_export(hv_engine *e, const hv_export_options *o,
                           char **out_json)
{
    exporter x;
    hv_status s;
    json_t *summary = NULL;
    memset(&x, 0, sizeof x);
    x.e = e;
    x.o = o;
    x.first_case = 1;
    *out_json = NULL;
    hv__clear_error(e);
    if (hv__not_in_batch(e, "export"))
        return HV_USAGE;
    if ((s = check_options(e, o)))
        return s;
    x.csv = !strcmp(o->format, "csv");
    if ((s = who_exports(&x)))
        return s;
    /* One transaction: a consistent snapshot of the cases, and the audit
     * events of the export committed only with its files. */
    if ((s = hv__store_begin(e)))
        return s;
    x.in_tx = 1;
    if ((s = count_cases(&x)) || (s = prepare_tables(&x)) ||
        (s = x.csv ? open_csv_files(&x) : open_json_file(&x)) ||
        (s = export_cases(&x)) || (s = record_export(&x, &summary)) ||
        (s = publish(&x))) {
        if (x.in_tx)
            hv__store_rollback(e);
        remove_files(&x);
        goto done;
    }
    if ((s = copy_stream(&x)))
        goto done;
    json_object_del(summary, "scope");
    if (json_object_set(summary, "files", x.written))
        s = hv__fail(e, HV_NOMEM, "out of memory");
    else
        s = hv__json_out(e, summary, out_json);
done:
    free_exporter(&x);
    json_decref(summary);
    return s;
}

/* Exports the case id of a checkout (hv__export_offline) and records its
 * read, with purpose "offline".  Returns HV_OK or a failure. */
static hv_status offline_case(exporter *x, const char *device, int64_t id)
{
    hv_engine *e = x->e;
    char *ref = NULL;
    int64_t version = 0;
    hv_status s = hv__store_query_text(e, "reading a case for a checkout",
                                       "SELECT ref FROM cases WHERE id = ?1",
                                       &ref, "i", id);
    if (s == HV_OK && !ref)
        s = hv__fail(e, HV_INTERNAL, "checkout: a case vanished");
    if (s == HV_OK)
        s = hv__store_query_int(e, "reading a case for a checkout",
                                "SELECT version FROM cases WHERE id = ?1", 0,
                                &version, "i", id);
    if (s == HV_OK)
        s = export_case(x, id, ref);
    hv__free(ref);
    if (s)
        return s;
    x->exported++;
    char *keep = e->purpose;
    e->purpose = (char *)"offline";
    /* the device and the version its copy holds: what a change it sends
     * back was based on (syncserver_upload.c) */
    json_t *data = json_pack("{s:s,s:s,s:I}", "action", "export", "device",
                             device, "version", (json_int_t)version);
    s = data ? hv__store_append_event(e, id, "viewed", data, NULL)
             : hv__fail(e, HV_NOMEM, "out of memory");
    e->purpose = keep;
    json_decref(data);
    return s;
}

/* See export.h. */
hv_status hv__export_offline(hv_engine *e, const char *device,
                             const int64_t *ids, size_t n, char **out_text)
{
    exporter x;
    hv_export_options o = {.format = "json"};
    hv_status s;
    memset(&x, 0, sizeof x);
    x.e = e;
    x.o = &o;
    x.first_case = 1;
    x.will_export = (int64_t)n;
    x.scope = "the user's caseload, checked out to their device";
    *out_text = NULL;
    if ((s = hv__need_key(e, "checkout")) ||
        (s = hv__actor(e, &x.me, x.role, sizeof x.role)) ||
        (s = prepare_tables(&x)) || (s = open_json_file(&x)))
        goto done;
    for (size_t i = 0; i < n && !s; i++)
        s = offline_case(&x, device, ids[i]);
    if (s)
        goto done;
    FILE *f = x.files[0];
    fputs(x.first_case ? "]\n}\n" : "\n  ]\n}\n", f);
    long len = fflush(f) == 0 && !ferror(f) ? ftell(f) : -1;
    char *text = len >= 0 ? hv__malloc((size_t)len + 1) : NULL;
    if (len < 0) {
        s = hv__fail(e, HV_IOERR, "checkout: writing the export failed");
    } else if (!text) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
    } else {
        rewind(f);
        if (fread(text, 1, (size_t)len, f) != (size_t)len) {
            hv__free(text);
            s = hv__fail(e, HV_IOERR, "checkout: reading the export failed");
        } else {
            text[len] = '\0';
            *out_text = text;
        }
    }
done:
    free_exporter(&x);
    return s;
}
