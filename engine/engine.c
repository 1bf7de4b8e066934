/* engine.c - opening and closing an engine, its clock, its setters and
 * batches (floor 3: it calls the store, the keys and the hosts, never the
 * concepts above it). */
#include "engine.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <sodium.h>

#include "alloc.h"
#include "checkpoint.h"
#include "crypto.h"
#include "refs.h"
#include "error.h"
#include "migrate.h"
#include "fileio.h"
#include "pgstore.h"
#include "sealcheck.h"
#include "rules.h"
#include "store.h"
#include "sync.h"

#define DEFAULT_BUSY_MS 5000

/* ---- clock --------------------------------------------------------------- */

HV_API hv_clock_mode hv_clock_mode_get(const hv_engine *e)
{
    return e->clock_mode;
}

HV_API int hv_engine_is_simulated(const hv_engine *e)
{
    return e->simulated;
}

HV_API int hv_engine_is_reference(const hv_engine *e, const char *s, size_t n)
{
    return e->ref_pattern && e->agency_code &&
           hv__ref_matches(e->ref_pattern, e->agency_code, s, n);
}

HV_API void hv_clock_use_system(hv_engine *e)
{
    e->clock_mode = HV_CLOCK_SYSTEM;
}

/* HV_OK when e's clock may be set to t: a simulated database and a time
 * Haven takes; else the refusal. */
static hv_status clock_settable(hv_engine *e, hv_time t)
{
    if (!e->simulated)
        return hv__fail(e, HV_USAGE,
                        "clock: this database is live: its clock is the "
                        "system clock and cannot be set (only a database made "
                        "with 'init --simulated' can)");
    if (t < HV_TIME_MIN || t > HV_TIME_MAX)
        return hv__fail(e, HV_INVALID,
                        "clock: a time from 1900-01-01 to 2200-01-01 is "
                        "required");
    return HV_OK;
}

/* Sets e's clock to mode at t when it may be set (clock_settable). */
static hv_status clock_start(hv_engine *e, hv_clock_mode mode, hv_time t)
{
    hv__clear_error(e);
    hv_status s = clock_settable(e, t);
    if (s)
        return s;
    e->clock_mode = mode;
    e->clock_time = t;
    return HV_OK;
}

HV_API hv_status hv_clock_fix(hv_engine *e, hv_time t)
{
    return clock_start(e, HV_CLOCK_FIXED, t);
}

HV_API hv_status hv_clock_simulate(hv_engine *e, hv_time t)
{
    return clock_start(e, HV_CLOCK_SIMULATED, t);
}

HV_API hv_status hv_clock_set(hv_engine *e, hv_time t)
{
    hv__clear_error(e);
    if (e->clock_mode == HV_CLOCK_SYSTEM)
        return hv__fail(e, HV_INVALID, "clock: the system clock cannot be set");
    hv_status s = clock_settable(e, t);
    if (s)
        return s;
    e->clock_time = t;
    return HV_OK;
}

HV_API hv_status hv_clock_advance(hv_engine *e, int64_t seconds)
{
    hv__clear_error(e);
    if (e->clock_mode == HV_CLOCK_SYSTEM)
        return hv__fail(e, HV_INVALID,
                        "clock: the system clock cannot be advanced");
    if (seconds < 0)
        return hv__fail(e, HV_INVALID, "clock: cannot go back in time");
    hv_status s = clock_settable(e, seconds > HV_TIME_MAX - e->clock_time
                                        ? HV_TIME_MAX + 1
                                        : e->clock_time + seconds);
    if (s)
        return s;
    e->clock_time += seconds;
    return HV_OK;
}

/* ---- engine lifecycle ---------------------------------------------------- */

hv_engine *hv__engine_new(const char *path)
{
    /* jansson allocates through the engine's allocator too, so tests that
     * make allocations fail reach every JSON path. */
    json_set_alloc_funcs(hv__malloc, hv__free);
    hv_engine *e = hv__calloc(1, sizeof *e);
    if (!e)
        return NULL;
    if (hv__is_pg_url(path)) { /* messages and side files never show the password */
        e->path = hv__pg_display(path);
        if (!(e->conninfo = hv__strdup(path))) {
            hv_engine_close(e);
            return NULL;
        }
    } else
        e->path = hv__strdup(path);
    e->errmsg = hv__strdup("");
    e->actor = hv__strdup("system");
    e->busy_ms = DEFAULT_BUSY_MS;
    e->clock_mode = HV_CLOCK_SYSTEM;
    if (!e->path || !e->errmsg || !e->actor) {
        hv_engine_close(e);
        return NULL;
    }
    return e;
}

HV_API void hv_engine_close(hv_engine *e)
{
    if (!e)
        return;
    if (e->db) {
        hv_engine_batch_rollback(e);
        hv__store_rollback(e);
        hv__store_cache_clear(e);
        sqlite3_close_v2(e->db);
    }
    hv__pg_close(e->pg);
    if (e->conninfo)
        sodium_memzero(e->conninfo, strlen(e->conninfo));
    hv__free(e->conninfo);
    hv__sync_release(e);
    hv_workflow_free(e->wf);
    hv__rules_free(e->rules);
    sodium_memzero(e->data_key, sizeof e->data_key);
    sodium_memzero(e->index_key, sizeof e->index_key);
    sodium_memzero(e->kek, sizeof e->kek);
    sodium_memzero(&e->index_mac, sizeof e->index_mac);
    sodium_memzero(e->chain_key, sizeof e->chain_key);
    sodium_memzero(e->audit_sk, sizeof e->audit_sk);
    hv__free(e->path);
    hv__free(e->errmsg);
    hv__free(e->actor);
    hv__free(e->purpose);
    hv__free(e->agency_code);
    hv__free(e->ref_pattern);
    hv__free(e->rules_dir);
    hv__free(e);
}

int hv__valid_login(const char *login)
{
    size_t n = login ? strlen(login) : 0;
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)login[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-' && c != '@')
            return 0;
    }
    return 1;
}

HV_API hv_status hv_engine_set_actor(hv_engine *e, const char *login)
{
    hv__clear_error(e);
    if (!hv__valid_login(login))
        return hv__fail(e, HV_USAGE,
                        "user: a login is 1 to 64 letters, digits and . _ - @");
    char *copy = hv__strdup(login);
    if (!copy)
        return hv__fail(e, HV_NOMEM, "out of memory");
    hv__free(e->actor);
    e->actor = copy;
    return HV_OK;
}

HV_API hv_status hv_engine_set_purpose(hv_engine *e, const char *purpose)
{
    hv__clear_error(e);
    if (purpose && (!purpose[0] || strlen(purpose) > 80 || !hv__echo_safe(purpose)))
        return hv__fail(e, HV_USAGE, "purpose: a short code such as "
                                     "court_report or supervision (letters, "
                                     "digits, _ - . /)");
    char *copy = purpose ? hv__strdup(purpose) : NULL;
    if (purpose && !copy)
        return hv__fail(e, HV_NOMEM, "out of memory");
    hv__free(e->purpose);
    e->purpose = copy;
    return HV_OK;
}

HV_API void hv_engine_set_rules_log(hv_engine *e, FILE *log)
{
    e->rules_log = log;
}

HV_API void hv_engine_set_busy_timeout(hv_engine *e, int ms)
{
    e->busy_ms = ms < 0 ? 0 : ms;
    if (e->db)
        sqlite3_busy_timeout(e->db, e->busy_ms);
    if (e->pg)
        hv__pg_busy_timeout(e->pg, e->busy_ms);
}

HV_API hv_status hv_engine_set_scratch(hv_engine *e)
{
    hv__clear_error(e);
    int rc = sqlite3_exec(e->db, "PRAGMA synchronous=OFF", NULL, NULL, NULL);
    return rc == SQLITE_OK ? HV_OK : hv__sql_fail(e, rc, "scratch database");
}

hv_status hv__not_in_batch(hv_engine *e, const char *what)
{
    if (!e->batch)
        return HV_OK;
    return hv__fail(e, HV_USAGE, "%s: not inside a batch (what it does outside "
                                 "the database, or its audit record, could not be "
                                 "undone with the batch); commit the batch first",
                    what);
}

/* Back to temporary files for sorts (report and export sort large sets,
 * which in memory would grow the process past its budget). */
static void batch_end(hv_engine *e)
{
    sqlite3_exec(e->db, "PRAGMA temp_store=DEFAULT", NULL, NULL, NULL);
}

HV_API hv_status hv_engine_batch_begin(hv_engine *e)
{
    hv__clear_error(e);
    if (e->batch)
        return hv__fail(e, HV_USAGE, "a batch is already open");
    /* Each change of the batch is a savepoint, whose journal of the pages
     * it changes is kept in memory (and emptied as the change is released)
     * rather than written page by page to a temporary file.  A speed-up
     * only: if it cannot be set, the batch runs as well without it. */
    sqlite3_exec(e->db, "PRAGMA temp_store=MEMORY", NULL, NULL, NULL);
    int rc = sqlite3_exec(e->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        batch_end(e);
        return hv__sql_fail(e, rc, "starting a batch");
    }
    e->batch = 1;
    return HV_OK;
}

HV_API hv_status hv_engine_batch_commit(hv_engine *e)
{
    hv__clear_error(e);
    if (!e->batch)
        return hv__fail(e, HV_USAGE, "no batch is open");
    e->batch = 0;
    e->batch_change = 0;
    if (sqlite3_get_autocommit(e->db)) {
        batch_end(e);
        return hv__fail(e, HV_INTERNAL, "the batch was undone by an earlier "
                                        "failure; nothing of it was kept");
    }
    /* The batch's events are checkpointed as it commits (checkpoint.h). */
    hv_status st = hv__checkpoint_prepare(e, hv_now(e));
    int rc = st ? SQLITE_OK : sqlite3_exec(e->db, "COMMIT", NULL, NULL, NULL);
    if (st || rc != SQLITE_OK) {
        if (!st)
            st = hv__sql_fail(e, rc, "committing the batch");
        hv__store_rollback(e);
        batch_end(e);
        return st;
    }
    hv__checkpoint_append(e, 0);
    batch_end(e);
    return HV_OK;
}

HV_API void hv_engine_batch_rollback(hv_engine *e)
{
    if (!e || !e->batch)
        return;
    e->batch = 0;
    e->batch_change = 0;
    hv__checkpoint_forget(e);
    if (!sqlite3_get_autocommit(e->db))
        sqlite3_exec(e->db, "ROLLBACK", NULL, NULL, NULL);
    batch_end(e);
}

/* Reads one meta value into *out (malloc'd).  HV_CORRUPT if missing. */
static hv_status read_meta(hv_engine *e, const char *key, char **out)
{
    hv_status s = hv__store_query_text(e, "reading settings",
                                       "SELECT value FROM meta WHERE key=?1",
                                       out, "t", key);
    if (s == HV_OK && !*out)
        s = hv__fail(e, HV_CORRUPT, "%s: not a haven database (no %s)", e->path,
                     key);
    return s;
}

/* Reads whether the database is simulated (meta "clock" is "simulated");
 * anything else, or none (a database made before the distinction), is
 * live.  A live database's clock goes back to the system clock. */
static hv_status read_clock(hv_engine *e)
{
    char *clock = NULL;
    hv_status s = hv__store_query_text(e, "reading settings",
                                       "SELECT value FROM meta WHERE key=?1",
                                       &clock, "t", "clock");
    e->simulated = s == HV_OK && clock && !strcmp(clock, "simulated");
    if (!e->simulated)
        e->clock_mode = HV_CLOCK_SYSTEM;
    hv__free(clock);
    return s;
}

/* Loads the settings and the current workflow from the database. */
static hv_status load_settings(hv_engine *e)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    char *agency_id = NULL, *err = NULL;
    if ((s = read_meta(e, "agency", &e->agency_code)) ||
        (s = read_meta(e, "ref_pattern", &e->ref_pattern)) ||
        (s = read_meta(e, "rules_dir", &e->rules_dir)) ||
        (s = read_meta(e, "agency_id", &agency_id)))
        goto done;
    e->agency_id = strtoll(agency_id, NULL, 10);
    if ((s = read_clock(e)))
        goto done;
    if ((s = hv__store_prepare(e,
                               "SELECT id, code, source FROM workflows"
                               " ORDER BY id DESC LIMIT 1",
                               &st)))
        goto done;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        s = rc == SQLITE_DONE
                ? hv__fail(e, HV_CORRUPT, "%s: not a haven database (no "
                                          "workflow)", e->path)
                : hv__sql_fail(e, rc, "reading the workflow");
        goto done;
    }
    e->workflow_row = sqlite3_column_int64(st, 0);
    const char *source = (const char *)sqlite3_column_text(st, 2);
    int len = sqlite3_column_bytes(st, 2);
    char name[96];
    snprintf(name, sizeof name, "workflow %s (stored)",
             (const char *)sqlite3_column_text(st, 1));
    s = hv_workflow_load_string(source ? source : "", (size_t)len, name,
                                &e->wf, &err);
    if (s != HV_OK)
        s = hv__fail(e, s == HV_NOMEM ? HV_NOMEM : HV_CORRUPT, "%s",
                     err ? err : "stored workflow invalid");
done:
    hv__store_finalize(e, st);
    hv__free(agency_id);
    hv__free(err);
    return s;
}

/* Brings the schema up to date.  A database crossing HV_SCHEMA_KEYED gets
 * its data key here, under the migration's write lock, made only by the
 * process that really migrates (the migration's SQL wraps it). */
static hv_status migrate(hv_engine *e)
{
    int from = 0, to = 0;
    hv_status s = hv__migrate_begin(e, 0, &from, &to);
    if (s || from == to)
        return s;
    if (from < HV_SCHEMA_KEYED && to >= HV_SCHEMA_KEYED &&
        (s = hv__keys_create(e))) {
        hv__store_rollback(e);
        return s;
    }
    return hv__migrate_finish(e, from, to);
}

hv_status (*hv__device_open_hook)(hv_engine *e);

/* The outbox precommit of a laptop copy opened by a program without the
 * laptop side (hv__device_open_hook NULL): refuses every change. */
static hv_status refuse_unrecorded(hv_engine *e)
{
    return hv__fail(e, HV_REFUSED, "this database is a laptop copy and "
                                   "this program cannot record its "
                                   "changes for sync; use haven");
}

/* Installs the outbox of a laptop copy (meta device_name): through the
 * hook when the laptop side is linked, else refuse_unrecorded. */
static hv_status device_open(hv_engine *e)
{
    if (hv__device_open_hook)
        return hv__device_open_hook(e);
    char *name = NULL;
    hv_status s = hv__store_query_text(e, "reading settings",
                                       "SELECT value FROM meta WHERE key=?1",
                                       &name, "t", "device_name");
    if (s == HV_OK && name && *name)
        e->outbox.precommit = refuse_unrecorded;
    hv__free(name);
    return s;
}

/* Takes e's message as a caller-owned error string and closes e. */
static void fail_with_engine(hv_engine *e, char **err)
{
    if (err && !*err)
        *err = hv__strdup(e->errmsg && e->errmsg[0] ? e->errmsg : "failed");
    hv_engine_close(e);
}

HV_API int hv_database_exists(const char *path)
{
    struct stat sb;
    if (hv__is_pg_url(path))
        return hv__pg_exists(path);
    return stat(path, &sb) == 0;
}

HV_API hv_status hv_engine_open(const char *path, hv_engine **out, char **err)
{
    hv_status s;
    struct stat sb;
    *out = NULL;
    if (err)
        *err = NULL;
    if (!hv__is_pg_url(path) && (stat(path, &sb) != 0 || S_ISDIR(sb.st_mode))) {
        if (err)
            *err = hv__asprintf("%s: no database here (create one with "
                                "'haven init')",
                                path);
        return HV_NOINPUT;
    }
    hv_engine *e = hv__engine_new(path);
    if (!e)
        return HV_NOMEM;
    if ((s = hv__store_open_pg(e->path, e->conninfo, 0, e->busy_ms, &e->db, &e->pg,
                               err)) != HV_OK) {
        hv_engine_close(e);
        return s;
    }
    int version = 0;
    if ((s = hv__store_schema_version(e, &version)))
        goto fail;
    if (version <= 0) { /* none, or a crafted negative user_version */
        s = hv__fail(e, HV_CORRUPT,
                     "%s: not a haven database (create one with 'haven init')",
                     path);
        goto fail;
    }
    /* The data key: unwrapped when the key file or passphrase is here; a
     * database from before encryption gets one as it is migrated. */
    if ((s = hv__crypto_register(e)))
        goto fail;
    /* The keys first: migration 10 anchors the chain under the chain key. */
    if ((s = hv__keys_load(e)) || (s = migrate(e)))
        goto fail;
    /* A database that had no data key before: unless this process just
     * made it, another process's migration did, so unwrap it now (with a
     * data key from the start, the load above already said all: a second
     * would only rerun the key file or passphrase for nothing). */
    if (!e->have_key && version < HV_SCHEMA_KEYED && (s = hv__keys_load(e)))
        goto fail;
    /* Values sealed before binding are bound to their rows, once. */
    if ((s = hv__seals_bind(e)))
        goto fail;
    if ((s = load_settings(e)) || (s = device_open(e)))
        goto fail;
    *out = e;
    return HV_OK;
fail:
    fail_with_engine(e, err);
    return s;
}

HV_API const hv_workflow *hv_engine_workflow(const hv_engine *e) { return e->wf; }

HV_API const char *hv_engine_actor(const hv_engine *e) { return e->actor; }

HV_API size_t hv_workflow_lookup_count(const hv_workflow *wf)
{
    return wf ? wf->nlookups : 0;
}

HV_API const char *hv_workflow_lookup_name(const hv_workflow *wf, size_t i)
{
    return wf && i < wf->nlookups ? wf->lookups[i].name : NULL;
}

HV_API const char *const *hv_workflow_lookup_codes(const hv_workflow *wf,
                                                    size_t i, size_t *count)
{
    if (!wf || i >= wf->nlookups) {
        *count = 0;
        return NULL;
    }
    *count = wf->lookups[i].ncodes;
    return (const char *const *)wf->lookups[i].codes;
}

HV_API const char *hv_workflow_stage_id(const hv_workflow *wf, size_t i)
{
    return wf && i < wf->nstages ? wf->stages[i].id : NULL;
}

HV_API const char *hv_workflow_stage_label(const hv_workflow *wf, size_t i)
{
    return wf && i < wf->nstages ? wf->stages[i].label : NULL;
}
