/*
 * import.c - `haven import`: registrations from CSV (one per row, through
 * hv_case_register like any registration; import_csv.c) or whole case
 * histories from a Haven JSON export (import_json.c, import_case.c), in
 * one transaction (hv_engine_batch_begin): each row or case is a
 * savepoint that succeeds or is rejected on its own; with any rejection
 * nothing is kept unless skip_bad.  The report (import_report.c) names
 * each rejected row, field and reason, never a value.
 */
#include <errno.h>
#include <string.h>

#include "import_csv.h"
#include "import_json.h"
#include "store.h"
#include "access.h"
#include "error.h"
#include "events.h"
#include "crypto.h"

/* Checks who may import in this format: CSV rows are registrations
 * (caseworkers and supervisors, checked by registration itself); whole
 * histories come from a supervisor or an administrator moving a database.
 * Returns HV_OK or HV_DENIED (or a failure), with the message on e. */
static hv_status check_importer(hv_engine *e, int csv)
{
    char role[32];
    if (!csv)
        return hv__require_role(e, "supervisor administrator",
                                "import: whole case histories are imported by "
                                "a supervisor or an administrator",
                                role, sizeof role);
    return hv__registrar(e, "import", &(int64_t){0});
}

/* Records the import itself (counts only, no case content) in its own
 * savepoint and commits the batch.  Returns HV_OK or a failure (the batch
 * is then still open). */
static hv_status record_import(hv_engine *e, const char *format,
                               const hv_import_report *r, size_t nrejected)
{
    json_t *data = json_pack("{s:s,s:I,s:I,s:I}", "format", format, "rows",
                             (json_int_t)r->rows, "imported",
                             (json_int_t)r->imported, "rejected",
                             (json_int_t)nrejected);
    hv_status s;
    if (!data)
        return hv__fail(e, HV_NOMEM, "out of memory");
    if ((s = hv__store_begin(e)) == HV_OK) {
        if ((s = hv__store_append_event(e, 0, "imported", data, NULL)) == HV_OK)
            s = hv__store_commit(e);
        else
            hv__store_rollback(e);
    }
    json_decref(data);
    if (s == HV_OK)
        s = hv_engine_batch_commit(e);
    return s;
}

/* Ends the import read into r: commits it (with its record) when nothing
 * was rejected or skip_bad, and writes the answer.  out: *out_json.
 * Changes: *batch 0 once the batch is committed.  Returns HV_OK, HV_REFUSED
 * (rows rejected, nothing imported; the answer still written) or a
 * failure. */
static hv_status finish_import(hv_engine *e, const hv_import_options *o,
                               const hv_import_report *r, int *batch,
                               char **out_json)
{
    size_t nrejected = json_array_size(r->rejected);
    int commit = nrejected == 0 || o->skip_bad;
    hv_status s = HV_OK;
    json_t *out = json_pack("{s:s,s:I,s:I,s:O,s:b}", "format", o->format,
                            "rows", (json_int_t)r->rows, "imported",
                            (json_int_t)(commit ? r->imported : 0), "rejected",
                            r->rejected, "committed", commit);
    if (!out || (commit && json_object_set(out, "refs", r->refs))) {
        json_decref(out);
        return hv__fail(e, HV_NOMEM, "out of memory");
    }
    if (commit && (s = record_import(e, o->format, r, nrejected)) == HV_OK)
        *batch = 0;
    if (s == HV_OK) {
        s = hv__json_out(e, out, out_json);
        if (s == HV_OK && !commit)
            s = hv__fail(e, HV_REFUSED, "import: %zu of %lld rows rejected; "
                                        "nothing imported (--skip-bad imports "
                                        "the others)",
                         nrejected, (long long)r->rows);
    }
    json_decref(out);
    return s;
}

/* See haven.h. */
HV_API hv_status hv_import(hv_engine *e, const hv_import_options *o,
                           char **out_json)
{
    hv_import_report r = {.e = e};
    hv_status s;
    FILE *f = NULL;
    int batch = 0;
    *out_json = NULL;
    hv__clear_error(e);
    if (!o || !o->format || (strcmp(o->format, "csv") && strcmp(o->format, "json")))
        return hv__fail(e, HV_USAGE, "import: --format csv or json");
    if (!o->path)
        return hv__fail(e, HV_USAGE, "import: a FILE is required");
    int csv = !strcmp(o->format, "csv");
    if ((s = check_importer(e, csv)))
        return s;
    if ((s = hv__need_key(e, "import")))
        return s;
    if (!(f = o->in ? o->in : fopen(o->path, "rb")))
        return hv__fail(e, HV_NOINPUT, "import: %s: cannot open: %s", o->path,
                        strerror(errno));
    r.rejected = json_array();
    r.refs = json_array();
    if (!r.rejected || !r.refs) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto done;
    }
    if ((s = hv_engine_batch_begin(e)))
        goto done;
    batch = 1;
    s = csv ? hv__import_csv(e, f, o->path, &r) : hv__import_json(e, f, o->path, &r);
    if (s == HV_OK)
        s = finish_import(e, o, &r, &batch, out_json);
done:
    if (batch)
        hv_engine_batch_rollback(e);
    if (f && f != o->in)
        fclose(f);
    json_decref(r.rejected);
    json_decref(r.refs);
    return s;
}
