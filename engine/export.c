/*
 * export.c - `haven export`: the cases in the acting user's scope as CSV
 * (one file per table) or JSON (one document of whole case histories),
 * identifiable (with consent, audited) or pseudonymous.
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
#include "store.h"

/*
 * Column kinds, one letter per column of a table's query:
 *   v  a code, number, login or reference: kept as it is
 *   t  a time (UTC seconds): ISO 8601
 *   n  a name: dropped when pseudonymous
 *   b  a date of birth: dropped when pseudonymous
 *   x  a number that narrows identity (exact age): dropped when pseudonymous
 *   T  a time that narrows identity (when an age was recorded): ISO,
 *      dropped when pseudonymous
 *   a  a current age: an age band when pseudonymous (and always the band)
 *   l  a location: cut to its district when pseudonymous
 *   f  free text (notes, goals, reasons, providers): dropped when
 *      pseudonymous
 *   j  JSON narrative (assessment details, indicators): embedded in JSON,
 *      text in CSV; dropped when pseudonymous
 *   J  JSON of codes only (events): embedded in JSON, text in CSV
 */
const hv__export_table hv__export_tables[] = {
    {"cases", "case", HV__EXPORT_CSV | HV__EXPORT_JSON | HV__EXPORT_ONE,
     "one row per case: stage, status, codes, risk, dates, assignee",
     "SELECT a.code AS agency, w.code AS workflow, w.version AS"
     " workflow_version, c.stage, c.status, c.source, hv_open(c.location) AS"
     " location, c.urgency, c.risk_level, c.risk_score, u.login AS assignee,"
     " c.registered_at, r.login AS registered_by, c.updated_at, c.closed_at,"
     " c.version, (SELECT group_concat(code, ';') FROM (SELECT code FROM"
     " case_concerns WHERE case_id = c.id ORDER BY code)) AS concerns,"
     " c.closure_reason, hv_open(c.transferred_to) AS transferred_to,"
     " c.closure_planned, hv_open(c.form) AS form"
     " FROM cases c JOIN agencies a ON a.id = c.agency_id"
     " JOIN workflows w ON w.id = c.workflow_id"
     " LEFT JOIN users u ON u.id = c.assignee_id"
     " LEFT JOIN users r ON r.id = c.registered_by WHERE c.id = ?1",
     "vvvvvvlvvvvtvttvvvfvj"},
    {"persons", "persons", HV__EXPORT_CSV | HV__EXPORT_JSON,
     "one row per person: the child and the family members",
     "SELECT p.id, p.role, p.relationship, hv_open(p.name) AS name,"
     " hv_open(p.birth_date) AS dob, p.age, p.age_recorded_at, CASE WHEN"
     " p.age IS NULL THEN NULL ELSE p.age + max(0, (?2 - p.age_recorded_at)"
     " / 31556952) END AS age_now, CASE WHEN p.age IS NULL THEN NULL ELSE"
     " p.age + max(0, (?2 - p.age_recorded_at) / 31556952) END AS age_band,"
     " p.sex, p.lives_with_child, hv_open(p.details) AS details"
     " FROM persons p WHERE p.case_id = ?1 ORDER BY p.id",
     "vvvnbxTxavvj"},
    {NULL, "consents", HV__EXPORT_JSON, "consents",
     "SELECT k.id, k.scope, k.given_by, k.given_at, u.login AS recorded_by,"
     " k.withdrawn_at, hv_open(k.withdrawn_reason) AS withdrawn_reason"
     " FROM consents k LEFT JOIN users u ON u.id = k.recorded_by"
     " WHERE k.case_id = ?1 ORDER BY k.id",
     "vvvtvtf"},
    {NULL, "tasks", HV__EXPORT_JSON, "tasks",
     "SELECT t.id, t.kind, t.label, t.due_at, t.created_at, t.status,"
     " t.done_at, u.login AS assignee, t.subject_id, t.cancel_reason"
     " FROM tasks t LEFT JOIN users u ON u.id = t.assignee_id"
     " WHERE t.case_id = ?1 ORDER BY t.id",
     "vvvttvtvvv"},
    {NULL, "notes", HV__EXPORT_JSON, "notes",
     "SELECT n.id, n.at, u.login AS author, hv_open(n.text) AS text"
     " FROM notes n LEFT JOIN users u ON u.id = n.author_id"
     " WHERE n.case_id = ?1 ORDER BY n.id",
     "vtvf"},
    {"assessments", "assessments", HV__EXPORT_CSV | HV__EXPORT_JSON,
     "one row per assessment (initial, comprehensive, reassessment)",
     "SELECT a.id, a.kind, a.at, u.login AS by_user, a.safety,"
     " hv_open(a.data) AS detail FROM assessments a"
     " LEFT JOIN users u ON u.id = a.by_id WHERE a.case_id = ?1 ORDER BY a.id",
     "vvtvvj"},
    {"plans", "plans", HV__EXPORT_CSV | HV__EXPORT_JSON,
     "one row per case plan version",
     "SELECT p.id, p.version, hv_open(p.goal) AS goal, hv_open(p.indicators)"
     " AS indicators, hv_open(p.addresses) AS addresses, p.target_date,"
     " p.status, p.created_at, u.login AS created_by, p.decided_at, d.login"
     " AS decided_by, hv_open(p.decision_reason) AS decision_reason"
     " FROM plans p LEFT JOIN users u ON u.id = p.created_by"
     " LEFT JOIN users d ON d.id = p.decided_by WHERE p.case_id = ?1"
     " ORDER BY p.id",
     "vvfjjtvtvtvf"},
    {"actions", "actions", HV__EXPORT_CSV | HV__EXPORT_JSON,
     "one row per plan action",
     "SELECT x.id, p.version AS plan_version, x.seq AS number,"
     " hv_open(x.title) AS title, x.responsible, hv_open(x.provider) AS"
     " provider, x.type, x.due_at, x.status, hv_open(x.status_reason) AS"
     " reason, x.updated_at FROM plan_actions x JOIN plans p ON p.id ="
     " x.plan_id WHERE x.case_id = ?1 ORDER BY x.id",
     "vvvfvfvtvft"},
    {"referrals", "referrals", HV__EXPORT_CSV | HV__EXPORT_JSON,
     "one row per referral to a service",
     "SELECT r.id, r.seq AS number, r.service, hv_open(r.provider) AS"
     " provider, r.action_id, r.status, r.sent_at, r.updated_at,"
     " hv_open(r.outcome) AS outcome, o.login AS consent_overridden_by,"
     " hv_open(r.consent_override_reason) AS consent_override_reason"
     " FROM referrals r LEFT JOIN users o ON o.id = r.consent_override_by"
     " WHERE r.case_id = ?1 ORDER BY r.id",
     "vvvfvvttfvf"},
    {NULL, "conferences", HV__EXPORT_JSON, "case conferences",
     "SELECT k.id, k.at, u.login AS recorded_by, hv_open(k.participants) AS"
     " participants, hv_open(k.decisions) AS decisions FROM conferences k"
     " LEFT JOIN users u ON u.id = k.recorded_by WHERE k.case_id = ?1"
     " ORDER BY k.id",
     "vtvjj"},
    {"followups", "followups", HV__EXPORT_CSV | HV__EXPORT_JSON,
     "one row per follow-up (home visit, phone call, meeting...)",
     "SELECT f.id, f.at, u.login AS by_user, f.method, f.safety,"
     " hv_open(f.notes) AS notes, f.final FROM followups f"
     " LEFT JOIN users u ON u.id = f.by_id WHERE f.case_id = ?1 ORDER BY f.id",
     "vtvvvfv"},
    {"reviews", "reviews", HV__EXPORT_CSV | HV__EXPORT_JSON,
     "one row per case review",
     "SELECT r.id, r.at, u.login AS by_user, r.outcome, hv_open(r.notes) AS"
     " notes FROM reviews r LEFT JOIN users u ON u.id = r.by_id"
     " WHERE r.case_id = ?1 ORDER BY r.id",
     "vtvvf"},
    {NULL, "evaluations", HV__EXPORT_JSON, "evaluations",
     "SELECT v.id, v.plan_id, v.at, u.login AS by_user, v.outcome,"
     " hv_open(v.data) AS detail FROM evaluations v LEFT JOIN users u ON"
     " u.id = v.by_id WHERE v.case_id = ?1 ORDER BY v.id",
     "vvtvvj"},
    {NULL, "approvals", HV__EXPORT_JSON, "approvals",
     "SELECT a.id, a.subject, a.subject_id, a.detail, a.status,"
     " a.requested_at, r.login AS requested_by, a.decided_at, d.login AS"
     " decided_by, hv_open(a.reason) AS reason FROM approvals a"
     " LEFT JOIN users r ON r.id = a.requested_by"
     " LEFT JOIN users d ON d.id = a.decided_by WHERE a.case_id = ?1"
     " ORDER BY a.id",
     "vvvJvtvtvf"},
    {"closures", NULL, HV__EXPORT_CSV,
     "one row per closed, transferred or closing case",
     "SELECT c.status, c.closure_reason, c.closed_at,"
     " hv_open(c.transferred_to) AS transferred_to, c.closure_planned"
     " FROM cases c WHERE c.id = ?1 AND (c.closure_reason IS NOT NULL OR"
     " c.closed_at IS NOT NULL OR c.closure_planned = 1)",
     "vvtfv"},
    {NULL, "history", HV__EXPORT_JSON, "the case's events",
     "SELECT seq, at, actor, kind, data, decision FROM events"
     " WHERE case_id = ?1 AND kind NOT IN ('viewed', 'access_refused')"
     " ORDER BY seq",
     "vtvvJJ"},
};
const size_t hv__export_table_count =
    sizeof hv__export_tables / sizeof hv__export_tables[0];

/* ---- pseudonymisation ------------------------------------------------------ */

/* 1 if a column of kind k is left out of a pseudonymous export. */
static int dropped(char k, int pseudonymous)
{
    return pseudonymous && strchr("nbxTfj", k) != NULL;
}

/* The age band of an age in years. */
static const char *age_band(int64_t age)
{
    return age < 5 ? "0-4" : age < 12 ? "5-11" : age < 15 ? "12-14"
           : age < 18 ? "15-17" : "18+";
}

/* The district of a location written from the largest area down
 * ("District/Area/Village", "District, Area", "District > Area"): its
 * first part, trimmed, into buf.  A location with no separator names a
 * place below the district (a village, a street): 0, nothing kept. */
static int district_of(const char *loc, char *buf, size_t size)
{
    size_t n = strcspn(loc, "/,>;|");
    if (!loc[n])
        return 0;
    while (n && (loc[n - 1] == ' ' || loc[n - 1] == '\t'))
        n--;
    while (n && (*loc == ' ' || *loc == '\t'))
        loc++, n--;
    if (!n)
        return 0;
    snprintf(buf, size, "%.*s", (int)n, loc);
    return 1;
}

/* Column i of st as JSON for kind k (NULL for a column left out). */
static json_t *column_value(sqlite3_stmt *st, int i, char k, int pseudonymous)
{
    if (dropped(k, pseudonymous))
        return NULL;
    int type = sqlite3_column_type(st, i);
    if (type == SQLITE_NULL)
        return json_null();
    const char *text = (const char *)sqlite3_column_text(st, i);
    char buf[256];
    switch (k) {
    case 't':
    case 'T':
        hv_time_format(sqlite3_column_int64(st, i), buf, sizeof buf);
        return json_string(buf);
    case 'a':
        return json_string(age_band(sqlite3_column_int64(st, i)));
    case 'l':
        if (!pseudonymous)
            return json_string(text);
        return district_of(text, buf, sizeof buf) ? json_string(buf) : json_null();
    case 'j':
    case 'J': {
        json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
        return v ? v : json_string(text);
    }
    default:
        if (type == SQLITE_INTEGER)
            return json_integer(sqlite3_column_int64(st, i));
        if (type == SQLITE_FLOAT)
            return json_real(sqlite3_column_double(st, i));
        return json_string(text);
    }
}

/* ---- CSV ------------------------------------------------------------------- */

/* Writes one CSV field (RFC 4180 quoting). */
static void csv_field(FILE *f, const char *s, int first)
{
    if (!first)
        fputc(',', f);
    if (!s)
        return;
    if (!s[strcspn(s, ",\"\r\n")] && s[0] != ' ' && s[0] != '#') {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
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
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        csv_field(f, t ? t : "", first);
        free(t);
    }
}

/* ---- the export ------------------------------------------------------------ */

typedef struct {
    hv_engine *e;
    const hv_export_options *o;
    int csv;
    FILE *files[32];      /* CSV: one per table; JSON: files[0] */
    char *tmp[32];        /* temporary names (NULL when none) */
    char *final[32];      /* destination names */
    int renamed[32];
    sqlite3_stmt *rows[32]; /* each table's query, prepared once */
    int first_case;
} exporter;

/* Opens a fresh temporary file beside dest (mode 0600).  out: x->files[i],
 * x->tmp[i], x->final[i]. */
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

/* The "about" of every file: what it holds, for whom, when, how. */
static json_t *about(exporter *x, const char *role, const char *scope,
                     int64_t cases, int64_t left_out, int64_t overridden,
                     const char *contents)
{
    hv_engine *e = x->e;
    char now[32], since[32];
    hv_time_format(hv_now(e), now, sizeof now);
    if (x->o->since > 0)
        hv_time_format(x->o->since, since, sizeof since);
    json_t *a = json_object();
    json_object_set_new(a, "format", json_string("haven-export-1"));
    json_object_set_new(a, "contents", json_string(contents));
    json_object_set_new(a, "agency", json_string(e->agency_code));
    json_object_set_new(a, "workflow", json_pack("{s:s,s:i}", "id", e->wf->id,
                                                 "version", e->wf->version));
    json_object_set_new(a, "made_at", json_string(now));
    json_object_set_new(a, "made_for",
                        json_pack("{s:s,s:s,s:s?}", "user", e->actor, "role",
                                  role, "purpose", e->purpose));
    json_object_set_new(a, "identifiable", json_boolean(!x->o->pseudonymous));
    json_object_set_new(a, "data",
                        json_string(x->o->pseudonymous
                                        ? "pseudonymous: no names, dates of "
                                          "birth (age bands instead), exact "
                                          "ages, locations below the district "
                                          "or free text"
                                        : "identifiable: names, dates of "
                                          "birth, locations and narrative; "
                                          "confidential"));
    json_object_set_new(a, "filters",
                        json_pack("{s:s,s:s?}", "scope", scope, "since",
                                  x->o->since > 0 ? since : NULL));
    json_object_set_new(a, "cases", json_integer(cases));
    if (!x->o->pseudonymous) {
        json_object_set_new(a, "left_out_without_consent", json_integer(left_out));
        json_object_set_new(a, "consent_overridden", json_integer(overridden));
        if (x->o->override)
            json_object_set_new(a, "override", json_string(x->o->override));
    }
    return a;
}

/* Writes the `# ` header of a CSV file and its column names. */
static hv_status csv_header(exporter *x, FILE *f, json_t *ab,
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
        if (!dropped(t->kinds[i], x->o->pseudonymous))
            csv_field(f, sqlite3_column_name(st, i), 0);
    fputc('\n', f);
    return HV_OK;
}

/* Writes one case: each table's rows (CSV) or the case object (JSON). */
static hv_status export_case(exporter *x, int64_t case_id, const char *ref)
{
    hv_engine *e = x->e;
    hv_status s = HV_OK;
    json_t *obj = x->csv ? NULL : json_pack("{s:s}", "ref", ref);
    if (!x->csv && !obj)
        return hv__fail(e, HV_NOMEM, "out of memory");
    for (size_t ti = 0; ti < hv__export_table_count && !s; ti++) {
        const hv__export_table *t = &hv__export_tables[ti];
        sqlite3_stmt *st = x->rows[ti];
        if (!st)
            continue;
        json_t *arr = NULL;
        if (!x->csv && !(t->flags & HV__EXPORT_ONE)) {
            arr = json_array();
            json_object_set_new(obj, t->json_key, arr);
        }
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, case_id);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            int n = sqlite3_column_count(st);
            if (x->csv) {
                FILE *f = x->files[ti];
                csv_field(f, ref, 1);
                for (int i = 0; i < n; i++) {
                    json_t *v = column_value(st, i, t->kinds[i], x->o->pseudonymous);
                    if (dropped(t->kinds[i], x->o->pseudonymous))
                        continue;
                    csv_value(f, v, 0);
                    json_decref(v);
                }
                fputc('\n', f);
            } else {
                json_t *row = json_object();
                for (int i = 0; i < n; i++) {
                    json_t *v = column_value(st, i, t->kinds[i], x->o->pseudonymous);
                    if (v)
                        json_object_set_new(row, sqlite3_column_name(st, i), v);
                }
                if (arr)
                    json_array_append_new(arr, row);
                else
                    json_object_set_new(obj, t->json_key, row);
            }
        }
        if (rc != SQLITE_DONE)
            s = hv__sql_fail(e, rc, "reading a case for export");
        sqlite3_reset(st);
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

/* Flushes, syncs and closes every file; HV_IOERR naming the first that
 * failed (a full disk). */
static hv_status close_files(exporter *x)
{
    hv_status s = HV_OK;
    for (int i = 0; i < 32; i++) {
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

/* Removes what was written (temporary files, and renamed ones on a failed
 * commit). */
static void remove_files(exporter *x)
{
    for (int i = 0; i < 32; i++) {
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

static void free_exporter(exporter *x)
{
    for (int i = 0; i < 32; i++) {
        if (x->files[i])
            fclose(x->files[i]);
        hv__store_finalize(x->e, x->rows[i]);
        hv__free(x->tmp[i]);
        hv__free(x->final[i]);
    }
}

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

static void bind_scope(sqlite3_stmt *st, int all, int64_t me, int supervisor,
                       hv_time since)
{
    sqlite3_bind_int(st, 1, all);
    sqlite3_bind_int64(st, 2, me);
    sqlite3_bind_int(st, 3, supervisor);
    sqlite3_bind_int64(st, 4, since > 0 ? since : 0);
}

HV_API hv_status hv_export(hv_engine *e, const hv_export_options *o,
                           char **out_json)
{
    exporter x;
    hv_status s;
    sqlite3_stmt *st = NULL;
    json_t *ab = NULL, *summary = NULL, *files = NULL;
    int in_tx = 0;
    int64_t me = 0, total = 0, consented = 0, exported = 0, overridden = 0;
    char role[32];
    memset(&x, 0, sizeof x);
    x.e = e;
    x.o = o;
    x.first_case = 1;
    *out_json = NULL;
    hv__clear_error(e);
    if (hv__not_in_batch(e, "export"))
        return HV_USAGE;
    if (!o || !o->format || (strcmp(o->format, "csv") && strcmp(o->format, "json")))
        return hv__fail(e, HV_USAGE, "export: --format csv or json");
    x.csv = !strcmp(o->format, "csv");
    if (x.csv && !o->out_path)
        return hv__fail(e, HV_USAGE, "export: CSV needs --out DIRECTORY (one "
                                     "file per table)");
    if (!x.csv && !o->out_path && !o->out)
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
    /* Who exports what. */
    if ((s = hv__actor(e, &me, role, sizeof role)))
        return s;
    int all = !strcmp(role, "manager"), supervisor = !strcmp(role, "supervisor");
    if (!all && !hv__role_reads_cases(role))
        return hv__fail(e, HV_DENIED, "export: a%s %s exports no case data "
                                      "(caseworkers, supervisors and, "
                                      "pseudonymously, managers do)",
                        role[0] == 'a' ? "n" : "", role);
    if (all && !o->pseudonymous)
        return hv__fail(e, HV_DENIED, "export: a manager exports "
                                      "pseudonymously only (--pseudonymous)");
    if (!o->pseudonymous && (s = hv__need_key(e, "export (--pseudonymous "
                                                 "needs no key)")))
        return s;
    if (o->override && !supervisor)
        return hv__fail(e, HV_DENIED, "export: only a supervisor may override "
                                      "missing export consent (%s is a %s)",
                        e->actor, role);
    const char *scope = all ? "every case of the agency"
                        : supervisor ? "the supervisor's own cases and their team's"
                                     : "the caseworker's own cases";
    /* One transaction: a consistent snapshot of the cases, and the audit
     * events of the export committed only with its files. */
    if ((s = hv__store_begin(e)))
        return s;
    in_tx = 1;
    if ((s = hv__store_prepare(e, "SELECT count(*), coalesce(sum(" HAS_CONSENT
                                  "), 0)" EXPORT_CASES,
                               &st)))
        goto fail;
    bind_scope(st, all, me, supervisor, o->since);
    if (sqlite3_step(st) == SQLITE_ROW) {
        total = sqlite3_column_int64(st, 0);
        consented = sqlite3_column_int64(st, 1);
    }
    hv__store_finalize(e, st);
    st = NULL;
    int64_t left_out = o->pseudonymous || o->override ? 0 : total - consented;
    int64_t will_export = total - left_out;
    int64_t will_override = !o->pseudonymous && o->override ? total - consented : 0;
    /* The files, and each table's query. */
    for (size_t ti = 0; ti < hv__export_table_count; ti++) {
        const hv__export_table *t = &hv__export_tables[ti];
        if (!(t->flags & (x.csv ? HV__EXPORT_CSV : HV__EXPORT_JSON)))
            continue;
        if ((s = hv__store_prepare(e, t->sql, &x.rows[ti])))
            goto fail;
        if ((size_t)sqlite3_column_count(x.rows[ti]) != strlen(t->kinds)) {
            s = hv__fail(e, HV_INTERNAL, "export: %s: column kinds mismatch",
                         t->json_key ? t->json_key : t->file);
            goto fail;
        }
        sqlite3_bind_int64(x.rows[ti], 2, hv_now(e));
    }
    if (x.csv) {
        if (mkdir(o->out_path, 0700) != 0 && errno != EEXIST) {
            s = hv__fail(e, errno == EACCES ? HV_DENIED : HV_CANTCREATE,
                         "export: %s: cannot create the directory: %s",
                         o->out_path, strerror(errno));
            goto fail;
        }
        for (size_t ti = 0; ti < hv__export_table_count; ti++) {
            const hv__export_table *t = &hv__export_tables[ti];
            if (!(t->flags & HV__EXPORT_CSV))
                continue;
            char *dest = hv__asprintf("%s/%s.csv", o->out_path, t->file);
            if (!dest) {
                s = hv__fail(e, HV_NOMEM, "out of memory");
                goto fail;
            }
            s = open_tmp(&x, (int)ti, dest);
            hv__free(dest);
            if (s)
                goto fail;
            char contents[200];
            snprintf(contents, sizeof contents, "Haven export, %s.csv: %s",
                     t->file, t->contents);
            ab = about(&x, role, scope, will_export, left_out, will_override,
                       contents);
            csv_header(&x, x.files[ti], ab, t);
            json_decref(ab);
            ab = NULL;
        }
    } else {
        if (o->out_path) {
            if ((s = open_tmp(&x, 0, o->out_path)))
                goto fail;
        } else if (!(x.files[0] = tmpfile())) {
            s = hv__fail(e, HV_CANTCREATE, "export: cannot create a temporary "
                                           "file: %s", strerror(errno));
            goto fail;
        }
        ab = about(&x, role, scope, will_export, left_out, will_override,
                   "Haven export: whole case histories (case, persons, "
                   "consents, tasks, notes, assessments, plans, actions, "
                   "referrals, conferences, follow-ups, reviews, evaluations, "
                   "approvals, history), one object per case");
        fputs("{\n  \"about\": ", x.files[0]);
        json_dumpf(ab, x.files[0], JSON_COMPACT | JSON_PRESERVE_ORDER);
        fputs(",\n  \"cases\": [", x.files[0]);
        json_decref(ab);
        ab = NULL;
    }
    /* The cases, one at a time. */
    if ((s = hv__store_prepare(e, "SELECT c.id, c.ref, " HAS_CONSENT EXPORT_CASES
                                  " ORDER BY c.id",
                               &st)))
        goto fail;
    bind_scope(st, all, me, supervisor, o->since);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t case_id = sqlite3_column_int64(st, 0);
        const char *ref = (const char *)sqlite3_column_text(st, 1);
        int has_consent = sqlite3_column_int(st, 2);
        if (!o->pseudonymous && !has_consent && !o->override)
            continue; /* counted in the header as left out */
        if ((s = export_case(&x, case_id, ref)))
            goto fail;
        exported++;
        if (!o->pseudonymous) {
            /* identifying data was read: the audit trail's read event */
            json_t *data = json_pack("{s:s}", "action", "export");
            if (!has_consent) {
                json_object_set_new(data, "consent_overridden", json_true());
                json_object_set_new(data, "override", json_string(o->override));
                overridden++;
            }
            s = hv__store_append_event(e, case_id, "viewed", data, NULL);
            json_decref(data);
            if (s)
                goto fail;
        }
    }
    if (rc != SQLITE_DONE) {
        s = hv__sql_fail(e, rc, "listing the cases to export");
        goto fail;
    }
    hv__store_finalize(e, st);
    st = NULL;
    if (!x.csv)
        fputs(x.first_case ? "]\n}\n" : "\n  ]\n}\n", x.files[0]);
    /* The export itself, without case content. */
    summary = json_pack("{s:s,s:b,s:I,s:I,s:I,s:s}", "format", o->format,
                        "identifiable", !o->pseudonymous, "cases",
                        (json_int_t)exported, "left_out_without_consent",
                        (json_int_t)left_out, "consent_overridden",
                        (json_int_t)overridden, "scope", scope);
    if (!summary) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto fail;
    }
    if (o->since > 0)
        json_object_set_new(summary, "since", json_integer(o->since));
    if (o->override)
        json_object_set_new(summary, "override", json_string(o->override));
    if ((s = hv__store_append_event(e, 0, "exported", summary, NULL)))
        goto fail;
    /* Complete files into place, then the commit that records them. */
    FILE *stream_copy = NULL;
    if (!x.csv && !o->out_path) {
        stream_copy = x.files[0];
        fflush(stream_copy);
        if (ferror(stream_copy)) {
            s = hv__fail(e, HV_IOERR, "export: writing failed");
            goto fail;
        }
        x.files[0] = NULL;
    } else if ((s = close_files(&x))) {
        goto fail;
    }
    files = json_array();
    for (int i = 0; i < 32; i++) {
        if (!x.tmp[i])
            continue;
        if (rename(x.tmp[i], x.final[i]) != 0) {
            s = hv__fail(e, HV_CANTCREATE, "export: %s: cannot create: %s",
                         x.final[i], strerror(errno));
            if (stream_copy)
                fclose(stream_copy);
            goto fail;
        }
        x.renamed[i] = 1;
        json_array_append_new(files, json_string(x.final[i]));
    }
    if ((s = hv__store_commit(e))) {
        in_tx = 0;
        if (stream_copy)
            fclose(stream_copy);
        goto fail;
    }
    in_tx = 0;
    if (stream_copy) {
        /* Only a complete, recorded export reaches the stream. */
        char buf[65536];
        size_t n;
        rewind(stream_copy);
        while ((n = fread(buf, 1, sizeof buf, stream_copy)) > 0)
            if (fwrite(buf, 1, n, o->out) != n)
                break;
        fclose(stream_copy);
        if (fflush(o->out) != 0 || ferror(o->out)) {
            s = hv__fail(e, HV_IOERR, "export: writing the output failed");
            goto done;
        }
    }
    json_object_del(summary, "scope");
    json_object_set_new(summary, "files", files);
    files = NULL;
    s = hv__json_out(e, summary, out_json);
    goto done;
fail:
    if (in_tx)
        hv__store_rollback(e);
    remove_files(&x);
done:
    hv__store_finalize(e, st);
    free_exporter(&x);
    json_decref(ab);
    json_decref(summary);
    json_decref(files);
    return s;
}
