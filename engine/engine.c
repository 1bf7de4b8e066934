/* engine.c - creating and opening an engine, its clock and its messages. */
#include "engine.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "alloc.h"
#include "fileio.h"
#include "rules.h"
#include "store.h"

#define DEFAULT_BUSY_MS 5000
#define DEFAULT_REF_PATTERN "AGENCY-YYYY-NNNNN"

/* ---- messages ------------------------------------------------------------ */

hv_status hv__fail(hv_engine *e, hv_status st, const char *fmt, ...)
{
    va_list ap;
    char buf[1024];
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *copy = hv__strdup(buf);
    if (copy) {
        hv__free(e->errmsg);
        e->errmsg = copy;
    }
    return st;
}

void hv__clear_error(hv_engine *e)
{
    if (e->errmsg && e->errmsg[0])
        e->errmsg[0] = '\0';
}

hv_status hv__json_out(hv_engine *e, json_t *v, char **out)
{
    /* jansson allocates through hv__malloc (engine_new), so its text is
     * already the caller's to hv_free. */
    *out = v ? json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    return *out ? HV_OK : hv__fail(e, HV_NOMEM, "out of memory");
}

void hv__jb_raw(hv_jbuf *b, const char *s, size_t n)
{
    if (b->err)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *t = hv__realloc(b->text, cap);
        if (!t) {
            b->err = 1;
            return;
        }
        b->text = t;
        b->cap = cap;
    }
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
}

/* As jansson writes strings: quotes, backslashes and control characters
 * escaped, UTF-8 kept as it is. */
void hv__jb_str(hv_jbuf *b, const char *s)
{
    if (!s) {
        hv__jb_raw(b, "null", 4);
        return;
    }
    hv__jb_raw(b, "\"", 1);
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        hv__jb_raw(b, run, (size_t)(p - run));
        char esc[8];
        switch (c) {
        case '"': memcpy(esc, "\\\"", 3); break;
        case '\\': memcpy(esc, "\\\\", 3); break;
        case '\n': memcpy(esc, "\\n", 3); break;
        case '\t': memcpy(esc, "\\t", 3); break;
        case '\r': memcpy(esc, "\\r", 3); break;
        case '\b': memcpy(esc, "\\b", 3); break;
        case '\f': memcpy(esc, "\\f", 3); break;
        default: snprintf(esc, sizeof esc, "\\u%04X", c); break;
        }
        hv__jb_raw(b, esc, strlen(esc));
        run = p + 1;
    }
    hv__jb_raw(b, run, strlen(run));
    hv__jb_raw(b, "\"", 1);
}

void hv__jb_key(hv_jbuf *b, int first, const char *key)
{
    hv__jb_raw(b, first ? "\n    " : ",\n    ", first ? 5 : 6);
    hv__jb_str(b, key);
    hv__jb_raw(b, ": ", 2);
}

void hv__jb_int(hv_jbuf *b, long long v)
{
    char n[32];
    int k = snprintf(n, sizeof n, "%lld", v);
    hv__jb_raw(b, n, (size_t)k);
}

hv_status hv__sql_fail(hv_engine *e, int rc, const char *what)
{
    int primary = rc & 0xff;
    hv_status st;
    switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return hv__fail(e, HV_BUSY,
                        "%s: database is locked by another process (%s); "
                        "try again",
                        e->path, what);
    case SQLITE_NOMEM: st = HV_NOMEM; break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: st = HV_CORRUPT; break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: st = HV_DENIED; break;
    case SQLITE_IOERR:
    case SQLITE_FULL: st = HV_IOERR; break;
    case SQLITE_CANTOPEN: st = HV_CANTCREATE; break;
    case SQLITE_CONSTRAINT: st = HV_INVALID; break;
    default: st = HV_INTERNAL; break;
    }
    return hv__fail(e, st, "%s: %s: %s", e->path, what,
                    e->db ? sqlite3_errmsg(e->db) : sqlite3_errstr(rc));
}

HV_API const char *hv_errmsg(const hv_engine *e)
{
    if (!e)
        return "no engine";
    return e->errmsg ? e->errmsg : "";
}

/* ---- clock --------------------------------------------------------------- */

HV_API hv_time hv_now(const hv_engine *e)
{
    if (e->clock_mode == HV_CLOCK_SYSTEM)
        return (hv_time)time(NULL);
    return e->clock_time;
}

HV_API hv_clock_mode hv_clock_mode_get(const hv_engine *e)
{
    return e->clock_mode;
}

HV_API void hv_clock_use_system(hv_engine *e)
{
    e->clock_mode = HV_CLOCK_SYSTEM;
}

HV_API void hv_clock_fix(hv_engine *e, hv_time t)
{
    e->clock_mode = HV_CLOCK_FIXED;
    e->clock_time = t;
}

HV_API void hv_clock_simulate(hv_engine *e, hv_time t)
{
    e->clock_mode = HV_CLOCK_SIMULATED;
    e->clock_time = t;
}

HV_API hv_status hv_clock_set(hv_engine *e, hv_time t)
{
    hv__clear_error(e);
    if (e->clock_mode == HV_CLOCK_SYSTEM)
        return hv__fail(e, HV_INVALID, "clock: the system clock cannot be set");
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
    e->clock_time += seconds;
    return HV_OK;
}

/* ---- engine lifecycle ---------------------------------------------------- */

/* A fresh engine in a safe "closed" state (no database yet). */
static hv_engine *engine_new(const char *path)
{
    /* jansson allocates through the engine's allocator too, so tests that
     * make allocations fail reach every JSON path. */
    json_set_alloc_funcs(hv__malloc, hv__free);
    hv_engine *e = hv__calloc(1, sizeof *e);
    if (!e)
        return NULL;
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
    hv_workflow_free(e->wf);
    hv__rules_free(e->rules);
    sodium_memzero(e->data_key, sizeof e->data_key);
    sodium_memzero(e->index_key, sizeof e->index_key);
    sodium_memzero(e->kek, sizeof e->kek);
    sodium_memzero(&e->index_mac, sizeof e->index_mac);
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

int hv__echo_safe(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    int lower = 0, upper = 0, digit = 0;
    if (n == 0 || n > 40)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (islower(c))
            lower = 1;
        else if (isupper(c))
            upper = 1;
        else if (isdigit(c))
            digit = 1;
        else if (!strchr("_./-", c))
            return 0;
    }
    /* a code (lower case, digits, _) or a reference (upper case with a
     * number); a capitalised word may be a name and is never echoed */
    return (lower && !upper) || (!lower && digit) || (!lower && !upper);
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
    int rc = sqlite3_exec(e->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        hv_status st = hv__sql_fail(e, rc, "committing the batch");
        hv__store_rollback(e);
        batch_end(e);
        return st;
    }
    batch_end(e);
    return HV_OK;
}

HV_API void hv_engine_batch_rollback(hv_engine *e)
{
    if (!e || !e->batch)
        return;
    e->batch = 0;
    e->batch_change = 0;
    if (!sqlite3_get_autocommit(e->db))
        sqlite3_exec(e->db, "ROLLBACK", NULL, NULL, NULL);
    batch_end(e);
}

/* Reads one meta value into *out (malloc'd).  HV_CORRUPT if missing. */
static hv_status read_meta(hv_engine *e, const char *key, char **out)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    *out = NULL;
    if ((s = hv__store_prepare(e, "SELECT value FROM meta WHERE key=?1", &st)))
        return s;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = hv__column_strdup(st, 0);
        s = *out ? HV_OK : hv__fail(e, HV_NOMEM, "out of memory");
    } else if (rc == SQLITE_DONE) {
        s = hv__fail(e, HV_CORRUPT, "%s: not a haven database (no %s)",
                     e->path, key);
    } else {
        s = hv__sql_fail(e, rc, "reading settings");
    }
    hv__store_finalize(e, st);
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

/* Takes e's message as a caller-owned error string and closes e. */
static void fail_with_engine(hv_engine *e, char **err)
{
    if (err && !*err)
        *err = hv__strdup(e->errmsg && e->errmsg[0] ? e->errmsg : "failed");
    hv_engine_close(e);
}

HV_API hv_status hv_engine_open(const char *path, hv_engine **out, char **err)
{
    hv_status s;
    struct stat sb;
    *out = NULL;
    if (err)
        *err = NULL;
    if (stat(path, &sb) != 0 || S_ISDIR(sb.st_mode)) {
        if (err)
            *err = hv__asprintf("%s: no database here (create one with "
                                "'haven init')",
                                path);
        return HV_NOINPUT;
    }
    hv_engine *e = engine_new(path);
    if (!e)
        return HV_NOMEM;
    if ((s = hv__store_open(path, 0, e->busy_ms, &e->db, err)) != HV_OK) {
        hv_engine_close(e);
        return s;
    }
    int version = 0;
    if ((s = hv__store_schema_version(e, &version)))
        goto fail;
    if (version == 0) {
        s = hv__fail(e, HV_CORRUPT,
                     "%s: not a haven database (create one with 'haven init')",
                     path);
        goto fail;
    }
    /* The data key: unwrapped when the key file or passphrase is here; a
     * database from before encryption gets one as it is migrated. */
    if ((s = hv__crypto_register(e)))
        goto fail;
    if ((s = hv__store_migrate(e, 0)))
        goto fail;
    /* Unless this process just made it, unwrap the data key. */
    if (!e->have_key && (s = hv__keys_load(e)))
        goto fail;
    if ((s = load_settings(e)))
        goto fail;
    *out = e;
    return HV_OK;
fail:
    fail_with_engine(e, err);
    return s;
}

/* Checks an agency code: 2 to 12 of A-Z and 0-9. */
static int valid_agency_code(const char *code)
{
    size_t n = code ? strlen(code) : 0;
    if (n < 2 || n > 12)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isupper((unsigned char)code[i]) && !isdigit((unsigned char)code[i]))
            return 0;
    return 1;
}

hv_status hv__ref_pattern_check(const char *pattern, char **why);

/* Inserts one meta row. */
static hv_status put_meta(hv_engine *e, const char *key, const char *value)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    if ((s = hv__store_prepare(e, "INSERT INTO meta (key, value) VALUES (?1,?2)",
                               &st)))
        return s;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    hv__store_finalize(e, st);
    return rc == SQLITE_DONE ? HV_OK : hv__sql_fail(e, rc, "writing settings");
}

/* Writes the agency, settings, first administrator and workflow. */
hv_status hv__store_rule_pack(hv_engine *e, const hv_pack *pack);
hv_status hv__audit_make_key(hv_engine *e);

static hv_status init_contents(hv_engine *e, const hv_init_options *o,
                               const char *workflow_text,
                               const hv_workflow *wf, int schema_version,
                               const hv_pack *pack)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    char buf[32];
    int version = 0;
    hv_time now = hv_now(e);
    /* Reloads read the folder again from anywhere: keep its full path. */
    char *rules_abs = o->rules_dir && o->rules_dir[0]
                          ? realpath(o->rules_dir, NULL)
                          : NULL;
    if ((s = hv__store_begin(e)))
        goto fail;
    /* Under the write lock: refuse a file another process initialised. */
    if ((s = hv__store_schema_version(e, &version)))
        goto fail;
    if ((s = hv__store_prepare(e, "SELECT count(*) FROM sqlite_schema", &st)))
        goto fail;
    int rc = sqlite3_step(st);
    int objects = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    hv__store_finalize(e, st);
    st = NULL;
    if (version != 0 || objects != 0) {
        s = hv__fail(e, HV_CANTCREATE,
                     "%s: already exists; refusing to initialise it again",
                     e->path);
        goto fail;
    }
    if ((s = hv__store_migrate_steps(
             e, 0, schema_version > 0 ? schema_version : HV_SCHEMA_VERSION)))
        goto fail;
    if ((s = hv__store_prepare(e,
                               "INSERT INTO agencies (code, name, created_at)"
                               " VALUES (?1, ?2, ?3)",
                               &st)))
        goto fail;
    sqlite3_bind_text(st, 1, o->agency, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, o->agency_name ? o->agency_name : o->agency, -1,
                      SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    rc = sqlite3_step(st);
    hv__store_finalize(e, st);
    st = NULL;
    if (rc != SQLITE_DONE) {
        s = hv__sql_fail(e, rc, "writing the agency");
        goto fail;
    }
    e->agency_id = sqlite3_last_insert_rowid(e->db);
    snprintf(buf, sizeof buf, "%lld", (long long)e->agency_id);
    if ((s = put_meta(e, "agency", o->agency)) ||
        (s = put_meta(e, "agency_id", buf)) ||
        (s = put_meta(e, "ref_pattern", o->ref_pattern ? o->ref_pattern
                                                        : DEFAULT_REF_PATTERN)) ||
        (s = put_meta(e, "rules_dir", rules_abs ? rules_abs : "")))
        goto fail;
    if ((s = hv__store_prepare(e,
                               "INSERT INTO users (login, agency_id, role,"
                               " created_at) VALUES (?1,?2,'administrator',?3)",
                               &st)))
        goto fail;
    sqlite3_bind_text(st, 1, o->admin ? o->admin : "admin", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, e->agency_id);
    sqlite3_bind_int64(st, 3, now);
    rc = sqlite3_step(st);
    hv__store_finalize(e, st);
    st = NULL;
    if (rc != SQLITE_DONE) {
        s = hv__sql_fail(e, rc, "writing the administrator");
        goto fail;
    }
    if ((s = hv__store_prepare(e,
                               "INSERT INTO workflows (code, version, source,"
                               " loaded_at) VALUES (?1,?2,?3,?4)",
                               &st)))
        goto fail;
    sqlite3_bind_text(st, 1, hv_workflow_id(wf), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, hv_workflow_version(wf));
    sqlite3_bind_text(st, 3, workflow_text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    rc = sqlite3_step(st);
    hv__store_finalize(e, st);
    st = NULL;
    if (rc != SQLITE_DONE) {
        s = hv__sql_fail(e, rc, "storing the workflow");
        goto fail;
    }
    if (pack && (s = hv__store_rule_pack(e, pack)))
        goto fail;
    json_t *data = json_pack("{s:s,s:s,s:i}", "agency", o->agency, "workflow",
                             hv_workflow_id(wf), "workflow_version",
                             hv_workflow_version(wf));
    if (data && pack)
        json_object_set_new(data, "rules",
                            json_pack("{s:s,s:s,s:s}", "pack", pack->name,
                                      "version", pack->version, "hash",
                                      pack->hash));
    s = hv__store_append_event(e, 0, "initialised", data, NULL);
    json_decref(data);
    if (s)
        goto fail;
    free(rules_abs);
    return hv__store_commit(e);
fail:
    free(rules_abs);
    hv__store_finalize(e, st);
    hv__store_rollback(e);
    return s;
}

HV_API hv_status hv_engine_init(const char *path, const hv_init_options *o,
                                char **err)
{
    return hv__engine_init_schema(path, o, 0, err);
}

hv_status hv__engine_init_schema(const char *path, const hv_init_options *o,
                                 int schema_version, char **err)
{
    hv_status s;
    hv_workflow *wf = NULL;
    hv_engine *e = NULL;
    char *text = NULL, *why = NULL, *tmp = NULL;
    hv_pack *pack = NULL;
    int created = 0, made_key_file = 0;
    struct stat sb;
    *err = NULL;
    if (!o || !valid_agency_code(o->agency)) {
        *err = hv__strdup("init: --agency must be 2 to 12 capital letters or "
                          "digits");
        return HV_USAGE;
    }
    if (!o->workflow_path) {
        *err = hv__strdup("init: --workflow FILE is required");
        return HV_USAGE;
    }
    if (o->admin && !hv__valid_login(o->admin)) {
        *err = hv__strdup("init: the administrator's login (--as) is 1 to 64 "
                          "letters, digits and . _ - @");
        return HV_USAGE;
    }
    if (hv__ref_pattern_check(o->ref_pattern ? o->ref_pattern
                                             : DEFAULT_REF_PATTERN,
                              &why) != HV_OK) {
        *err = hv__asprintf("init: --ref-pattern: %s", why ? why : "invalid");
        hv__free(why);
        return HV_USAGE;
    }
    if (o->rules_dir && o->rules_dir[0] &&
        (stat(o->rules_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        *err = hv__asprintf("%s: no such rules folder", o->rules_dir);
        return HV_NOINPUT;
    }
    /* The text is read once: parsed here and kept in the database. */
    size_t text_len = 0;
    if ((s = hv__read_file(o->workflow_path, HV_WF_MAX_BYTES, 0, &text,
                           &text_len, err)) ||
        (s = hv_workflow_load_string(text, text_len, o->workflow_path, &wf, err)))
        goto done;
    if (o->rules_dir && o->rules_dir[0]) {
        /* The pack must load (every hook compiles) before anything is made. */
        hv_rules *probe = NULL;
        hv_pack *copy = NULL;
        if ((s = hv__pack_read_dir(o->rules_dir, &pack, err)) ||
            (s = hv__pack_read_dir(o->rules_dir, &copy, err)) ||
            (s = hv__rules_new(copy, 0, NULL, NULL, &probe, err)))
            goto done;
        hv__rules_free(probe);
    }
    int replace_empty = 0;
    if (stat(path, &sb) == 0) {
        if (sb.st_size > 0 || !S_ISREG(sb.st_mode)) {
            *err = hv__asprintf("%s: already exists; refusing to initialise "
                                "it again",
                                path);
            s = HV_CANTCREATE;
            goto done;
        }
        replace_empty = 1; /* an empty file (e.g. from mktemp) is taken */
    }
    /* Build the whole database in a temporary file beside the target, then
     * link it into place: link() never overwrites, so two processes
     * initialising one path cannot both win, and a failure leaves nothing
     * half-made at the path. */
    tmp = hv__asprintf("%s.init-XXXXXX", path);
    if (!tmp) {
        s = HV_NOMEM;
        goto done;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        *err = hv__asprintf("%s: cannot create: %s", path, strerror(errno));
        s = HV_CANTCREATE;
        goto done;
    }
    close(fd);
    created = 1;
    if (!(e = engine_new(path))) {
        s = HV_NOMEM;
        goto done;
    }
    if (o->admin)
        hv_engine_set_actor(e, o->admin);
    if ((s = hv__store_open(tmp, 1, e->busy_ms, &e->db, err)))
        goto done;
    if ((s = hv__crypto_register(e)))
        goto done;
    if (schema_version == 0 || schema_version >= 7) {
        char key_path[4200];
        const char *env = getenv("HAVEN_KEY_FILE");
        snprintf(key_path, sizeof key_path, "%s", env && *env ? env : "");
        if (!key_path[0])
            snprintf(key_path, sizeof key_path, "%s.key", path);
        made_key_file = access(key_path, F_OK) != 0;
        if ((s = hv__keys_create(e)))
            goto done;
    }
    if ((s = hv__store_exec(e, "PRAGMA journal_mode=WAL")) ||
        (s = init_contents(e, o, text, wf, schema_version, pack))) {
        if (s == HV_IOERR || s == HV_DENIED)
            s = HV_CANTCREATE;
        goto done;
    }
    hv_engine_close(e); /* checkpoints and removes the WAL */
    e = NULL;
    if (replace_empty ? rename(tmp, path) != 0 : link(tmp, path) != 0) {
        s = HV_CANTCREATE;
        *err = errno == EEXIST
                   ? hv__asprintf("%s: already exists; refusing to initialise "
                                  "it again",
                                  path)
                   : hv__asprintf("%s: cannot create: %s", path,
                                  strerror(errno));
        goto done;
    }
    /* The audit signing key, beside the database (not in it). */
    {
        hv_engine *k = engine_new(path);
        hv_status ks = k ? hv__audit_make_key(k) : HV_NOMEM;
        if (ks != HV_OK && !*err)
            *err = hv__strdup(k && k->errmsg ? k->errmsg : "cannot make the audit key");
        hv_engine_close(k);
        if (ks != HV_OK) {
            s = ks;
            unlink(path);
            goto done;
        }
    }
    /* Make the new name durable. */
    char *slash = strrchr(tmp, '/');
    char *dir = slash ? hv__strndup(tmp, (size_t)(slash - tmp + 1))
                      : hv__strdup(".");
    int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY) : -1;
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    hv__free(dir);
done:
    if (s != HV_OK && e && !*err)
        *err = hv__strdup(e->errmsg && e->errmsg[0] ? e->errmsg : "failed");
    hv_engine_close(e);
    if (created) {
        char side[4200];
        unlink(tmp);
        snprintf(side, sizeof side, "%s-wal", tmp);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", tmp);
        unlink(side);
    }
    if (s != HV_OK && made_key_file && !(getenv("HAVEN_KEY_FILE") &&
                                         *getenv("HAVEN_KEY_FILE"))) {
        char key_path[4200];
        snprintf(key_path, sizeof key_path, "%s.key", path);
        unlink(key_path);
    }
    hv__free(tmp);
    hv__pack_free(pack);
    hv_workflow_free(wf);
    hv__free(text);
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
