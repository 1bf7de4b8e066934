/* init.c - creating a Haven database: checking the options, building it in
 * a temporary file, and putting it in place with its keys. */
#include "init.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "checkpoint.h"
#include "crypto.h"
#include "engine.h"
#include "error.h"
#include "events.h"
#include "fileio.h"
#include "pgstore.h"
#include "pqlib.h"
#include "migrate.h"
#include "newschema.h"
#include "rules.h"
#include "rulestest.h"
#include "store.h"
#include "refs.h"
#include "rulesapi.h"

#define DEFAULT_REF_PATTERN "AGENCY-YYYY-NNNNN"

/* What hv__engine_init_schema reads before it makes anything. */
typedef struct {
    char *text;      /* the workflow's YAML, kept in the database */
    hv_workflow *wf; /* text, parsed */
    hv_pack *pack;   /* the rule pack, or NULL without --rules */
} init_inputs;

/* Checks an agency code: 2 to 12 of A-Z and 0-9.  Returns 1 if valid. */
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

/* Checks the options before anything is read or made: HV_OK, or
 * HV_USAGE / HV_NOINPUT with *err (for hv_free) saying why. */
static hv_status check_options(const hv_init_options *o, char **err)
{
    struct stat sb;
    char *why = NULL;
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
    if (o->now && !o->simulated) {
        *err = hv__strdup("init: --now: a live database runs on the system "
                          "clock; only a simulated one (init --simulated) "
                          "takes a time");
        return HV_USAGE;
    }
    if (o->scratch && !o->simulated) {
        *err = hv__strdup("init: a scratch database (thrown away after use) "
                          "is a simulated one; a live one is always durable");
        return HV_USAGE;
    }
    hv_time t;
    if (o->now && hv_time_parse(o->now, &t) != HV_OK) {
        *err = hv__strdup("init: --now: not an ISO 8601 time from 1900 to "
                          "2200 (e.g. 2026-11-28T09:00:00Z)");
        return HV_USAGE;
    }
    if (o->rules_dir && o->rules_dir[0] &&
        (stat(o->rules_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        *err = hv__asprintf("%s: no such rules folder", o->rules_dir);
        return HV_NOINPUT;
    }
    return HV_OK;
}

/* Reads the workflow (once: parsed here and kept in the database) and the
 * rule pack, which must load (every hook compiles) before anything is
 * made.  out: *in's fields, the caller's to free even on failure; *err. */
static hv_status read_inputs(const hv_init_options *o, init_inputs *in,
                             char **err)
{
    size_t text_len = 0;
    hv_status s;
    if ((s = hv__read_file(o->workflow_path, HV_WF_MAX_BYTES, 0, &in->text,
                           &text_len, err)) ||
        (s = hv_workflow_load_string(in->text, text_len, o->workflow_path,
                                     &in->wf, err)))
        return s;
    if (!o->rules_dir || !o->rules_dir[0])
        return HV_OK;
    /* The pack goes into force only if it passes its check and tests. */
    if ((s = hv__pack_vet(o->rules_dir, err)) ||
        (s = hv__pack_read_dir(o->rules_dir, &in->pack, err)))
        return s;
    return HV_OK;
}

/* HV_CANTCREATE unless the file e works on is empty: neither a schema
 * version nor any schema object (another process may have initialised
 * it).  Inside the write transaction. */
static hv_status refuse_initialised(hv_engine *e)
{
    sqlite3_stmt *st = NULL;
    int version = 0;
    hv_status s;
    if ((s = hv__store_schema_version(e, &version)) ||
        (s = hv__store_prepare(e, "SELECT count(*) FROM sqlite_schema", &st)))
        return s;
    int rc = sqlite3_step(st);
    int objects = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    hv__store_finalize(e, st);
    if (version != 0 || objects != 0)
        return hv__fail(e, HV_CANTCREATE,
                        "%s: already exists; refusing to initialise it again",
                        e->path);
    return HV_OK;
}

/* Inserts one meta row. */
static hv_status put_meta(hv_engine *e, const char *key, const char *value)
{
    return hv__store_execf(e, "writing settings",
                           "INSERT INTO meta (key, value) VALUES (?1,?2)", "tt",
                           key, value);
}

/* Writes the agency (e->agency_id is its row), created at now, and the
 * settings; rules_abs is the rule folder's full path (NULL: none). */
static hv_status write_agency(hv_engine *e, const hv_init_options *o,
                              const char *rules_abs, hv_time now)
{
    char id[32];
    hv_status s = hv__store_execf(
        e, "writing the agency",
        "INSERT INTO agencies (code, name, created_at) VALUES (?1, ?2, ?3)",
        "tti", o->agency, o->agency_name ? o->agency_name : o->agency,
        (int64_t)now);
    if (s)
        return s;
    e->agency_id = sqlite3_last_insert_rowid(e->db);
    snprintf(id, sizeof id, "%lld", (long long)e->agency_id);
    if ((s = put_meta(e, "agency", o->agency)) ||
        (s = put_meta(e, "agency_id", id)) ||
        /* sealed values are bound to their rows from the start */
        (s = put_meta(e, "seal_binding", "2")) ||
        (s = put_meta(e, "ref_pattern", o->ref_pattern ? o->ref_pattern
                                                        : DEFAULT_REF_PATTERN)) ||
        (s = put_meta(e, "clock", o->simulated ? "simulated" : "live")))
        return s;
    return put_meta(e, "rules_dir", rules_abs ? rules_abs : "");
}

/* Appends the "initialised" event: agency, workflow and (when given) the
 * rule pack.  HV_NOMEM when its data cannot be built whole. */
static hv_status event_initialised(hv_engine *e, const hv_init_options *o,
                                   const init_inputs *in)
{
    json_t *data = json_pack("{s:s,s:s,s:i,s:s}", "agency", o->agency,
                             "workflow", hv_workflow_id(in->wf),
                             "workflow_version", hv_workflow_version(in->wf),
                             "clock", o->simulated ? "simulated" : "live");
    int bad = !data;
    if (data && in->pack)
        bad |= json_object_set_new(data, "rules",
                                   json_pack("{s:s,s:s,s:s}", "pack",
                                             in->pack->name, "version",
                                             in->pack->version, "hash",
                                             in->pack->hash));
    hv_status s = bad ? hv__fail(e, HV_NOMEM, "out of memory")
                      : hv__store_append_event(e, 0, "initialised", data, NULL);
    json_decref(data);
    return s;
}

/* Writes the schema (up to schema_version; 0 = latest), the agency,
 * settings, first administrator, workflow, rule pack and the first event,
 * in one transaction on e's empty file. */
static hv_status init_contents(hv_engine *e, const hv_init_options *o,
                               const init_inputs *in, int schema_version)
{
    hv_status s;
    hv_time now = hv_now(e);
    /* Reloads read the folder again from anywhere: keep its full path. */
    char *rules_abs = o->rules_dir && o->rules_dir[0]
                          ? realpath(o->rules_dir, NULL)
                          : NULL;
    if ((s = hv__store_begin(e)))
        goto done;
    /* Under the write lock: refuse a file another process initialised. */
    if ((s = refuse_initialised(e)) ||
        (s = hv__store_create_schema(
             e, schema_version > 0 ? schema_version : HV_SCHEMA_VERSION)) ||
        (s = write_agency(e, o, rules_abs, now)) ||
        (s = hv__store_execf(e, "writing the administrator",
                             "INSERT INTO users (login, agency_id, role,"
                             " created_at) VALUES (?1,?2,'administrator',?3)",
                             "tii", o->admin ? o->admin : "admin", e->agency_id,
                             (int64_t)now)) ||
        (s = hv__store_execf(e, "storing the workflow",
                             "INSERT INTO workflows (code, version, source,"
                             " loaded_at) VALUES (?1,?2,?3,?4)",
                             "titi", hv_workflow_id(in->wf),
                             (int64_t)hv_workflow_version(in->wf), in->text,
                             (int64_t)now)) ||
        (in->pack && (s = hv__store_rule_pack(e, in->pack))) ||
        (s = event_initialised(e, o, in)))
        goto done;
    s = hv__store_commit(e);
done:
    if (s)
        hv__store_rollback(e);
    free(rules_abs);
    return s;
}

/* The data key file's path for the database at path into buf:
 * $HAVEN_KEY_FILE, else "<path>.key" (as crypto.c finds it).  Returns 1
 * when it comes from $HAVEN_KEY_FILE. */
static int data_key_path(const char *path, char *buf, size_t size)
{
    const char *env = getenv("HAVEN_KEY_FILE");
    if (env && *env) {
        snprintf(buf, size, "%s", env);
        return 1;
    }
    hv__side_path(path, ".key", buf, size);
    return 0;
}

/* Builds the database in the empty file tmp (for the database at path):
 * the data key (from schema HV_SCHEMA_KEYED on; *made_key_file 1 when its
 * key file did not exist before), the contents, WAL mode; then closes it
 * (checkpointing the WAL away).  *err for hv_free on failure. */
static hv_status build_database(const char *path, const char *tmp,
                                const hv_init_options *o, const init_inputs *in,
                                int schema_version, int *made_key_file,
                                struct hv_chain_head *head, char **err)
{
    hv_status s;
    hv_engine *e = hv__engine_new(path);
    if (!e)
        return HV_NOMEM;
    e->no_checkpoints = 1; /* the first is written once the file is placed */
    e->scratch = o->scratch != 0;
    /* (the login was checked with the options: only memory can fail) */
    if (o->admin && (s = hv_engine_set_actor(e, o->admin))) {
        *err = hv__strdup(hv_errmsg(e));
        hv_engine_close(e);
        return s;
    }
    /* A simulated database is made at its --now (checked with the
     * options); a live one at the system time. */
    hv_time now;
    e->simulated = o->simulated != 0;
    if (o->simulated && o->now && hv_time_parse(o->now, &now) == HV_OK)
        hv_clock_fix(e, now);
    if ((s = hv__store_open(tmp, 1, e->busy_ms, &e->db, err)) ||
        (s = hv__crypto_register(e)))
        goto done;
    /* A scratch database is deleted after its run: its build need not
     * survive a power cut, so its commits do not wait for the disk (as
     * hv_engine_set_scratch for its later engines). */
    if (o->scratch && (s = hv_engine_set_scratch(e)))
        goto done;
    if (schema_version == 0 || schema_version >= HV_SCHEMA_KEYED) {
        char key_path[4200];
        data_key_path(path, key_path, sizeof key_path);
        *made_key_file = access(key_path, F_OK) != 0;
        if ((s = hv__keys_create(e)))
            goto done;
    }
    if ((s = hv__store_exec(e, "PRAGMA journal_mode=WAL")) ||
        (s = init_contents(e, o, in, schema_version))) {
        if (s == HV_IOERR || s == HV_DENIED)
            s = HV_CANTCREATE;
        goto done;
    }
done:
    if (s != HV_OK && !*err)
        *err = hv__strdup(e->errmsg && e->errmsg[0] ? e->errmsg : "failed");
    *head = e->head;
    head->pending = s == HV_OK && !e->chain_legacy;
    hv_engine_close(e);
    return s;
}

/* Puts the built file tmp at path: link() never overwrites, so two
 * processes initialising one path cannot both win; an empty file at path
 * (replace_empty: e.g. from mktemp) is replaced.  *err on failure. */
static hv_status place_file(const char *tmp, const char *path,
                            int replace_empty, char **err)
{
    if (replace_empty ? rename(tmp, path) == 0 : link(tmp, path) == 0)
        return HV_OK;
    *err = errno == EEXIST
               ? hv__asprintf("%s: already exists; refusing to initialise "
                              "it again",
                              path)
               : hv__asprintf("%s: cannot create: %s", path, strerror(errno));
    return HV_CANTCREATE;
}

/* Makes the audit signing key beside the database at path (not in it),
 * unless it is there, and starts "<path>.checkpoints" (replacing one a
 * deleted database left) with the signed head of the new chain (none
 * for an old schema's); a scratch database's key is not fsynced.  *err
 * on failure. */
static hv_status make_audit_key(const char *path, int scratch,
                                const struct hv_chain_head *head, char **err)
{
    hv_engine *k = hv__engine_new(path);
    if (k)
        k->scratch = scratch;
    hv_status s = k ? hv__audit_key_load(k, 1) : HV_NOMEM;
    if (s == HV_OK && head->pending) {
        k->head = *head;
        if ((s = hv__checkpoint_prepare(k, hv_now(k))) == HV_OK)
            hv__checkpoint_append(k, 1);
    }
    if (s != HV_OK && !*err)
        *err = hv__strdup(k && k->errmsg ? k->errmsg : "cannot make the audit key");
    hv_engine_close(k);
    return s;
}

/* Makes a new name in file's folder durable (fsync of the folder; best
 * effort). */
static void sync_folder_of(const char *file)
{
    const char *slash = strrchr(file, '/');
    char *dir = slash ? hv__strndup(file, (size_t)(slash - file + 1))
                      : hv__strdup(".");
    int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY) : -1;
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    hv__free(dir);
}

/* Removes the temporary file tmp and its WAL and shared-memory files. */
static void remove_temporary(const char *tmp)
{
    char side[4200];
    unlink(tmp);
    snprintf(side, sizeof side, "%s-wal", tmp);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", tmp);
    unlink(side);
}

/* An init's temporary file untouched this long was left by an init that
 * was killed (a whole init takes well under a second). */
#define STALE_INIT_SECONDS 3600

/* Removes the temporary files (path.init-XXXXXX and their -wal and -shm)
 * that killed inits left beside path, those untouched for
 * STALE_INIT_SECONDS; a running init's file is younger and stays. */
static void remove_stale_temporaries(const char *path)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : path;
    char prefix[4200];
    snprintf(prefix, sizeof prefix, "%s.init-", base);
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    if (!dir[0])
        snprintf(dir, sizeof dir, "/");
    DIR *d = opendir(dir);
    if (!d)
        return;
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *name = de->d_name;
        /* prefix + six characters of mkstemp, nothing else */
        if (strncmp(name, prefix, strlen(prefix)) ||
            strlen(name) != strlen(prefix) + 6)
            continue;
        char *full = hv__asprintf("%s/%s", dir, name);
        struct stat sb;
        if (full && lstat(full, &sb) == 0 && S_ISREG(sb.st_mode) &&
            now - sb.st_mtime > STALE_INIT_SECONDS)
            remove_temporary(full);
        hv__free(full);
    }
    closedir(d);
}

/* HV_CANTCREATE (*err) when something is at path already, but for an empty
 * regular file, which is taken (*replace_empty 1). */
static hv_status check_target(const char *path, int *replace_empty, char **err)
{
    struct stat sb;
    *replace_empty = 0;
    if (stat(path, &sb) != 0)
        return HV_OK;
    if (sb.st_size > 0 || !S_ISREG(sb.st_mode)) {
        *err = hv__asprintf("%s: already exists; refusing to initialise it again",
                            path);
        return HV_CANTCREATE;
    }
    *replace_empty = 1;
    return HV_OK;
}

/* Creates a PostgreSQL store at url: built whole in a temporary SQLite
 * file, then copied into the empty PostgreSQL database in one transaction
 * (pgstore.h); the key files beside it go to HAVEN_STATE_DIR (fileio.h). */
static hv_status create_database_pg(const char *url, const hv_init_options *o,
                                    const init_inputs *in, int schema_version,
                                    char **err)
{
    /* without libpq nothing is built first (not even the key file, whose
     * name comes from the URL libpq parses) */
    hv_status loaded = hv__pq_load(err);
    if (loaded)
        return loaded;
    int made_key_file = 0;
    struct hv_chain_head head = {0};
    const char *dir = getenv("TMPDIR");
    char *shown = hv__pg_display(url);
    char *tmp = hv__asprintf("%s/haven-init-XXXXXX", dir && *dir ? dir : "/tmp");
    hv_status s = shown && tmp ? HV_OK : HV_NOMEM;
    int fd = s ? -1 : mkstemp(tmp);
    if (s == HV_OK && fd < 0) {
        *err = hv__asprintf("%s: cannot create a temporary file: %s", tmp, strerror(errno));
        s = HV_CANTCREATE;
    }
    if (fd >= 0)
        close(fd);
    if (s == HV_OK &&
        !(s = build_database(shown, tmp, o, in, schema_version, &made_key_file, &head, err)) &&
        !(s = hv__pg_create(url, tmp, err)))
        s = make_audit_key(shown, o->scratch, &head, err);
    if (fd >= 0)
        remove_temporary(tmp);
    char key_path[4200];
    if (s != HV_OK && made_key_file && shown &&
        !data_key_path(shown, key_path, sizeof key_path))
        unlink(key_path);
    hv__free(tmp);
    hv__free(shown);
    return s;
}

/* Creates the database at path from the checked inputs: built whole in a
 * temporary file beside it, then put in place with its audit key, so a
 * failure leaves nothing half-made at the path (and no new key file). */
static hv_status create_database(const char *path, const hv_init_options *o,
                                 const init_inputs *in, int schema_version,
                                 char **err)
{
    int replace_empty = 0, made_key_file = 0;
    struct hv_chain_head head = {0};
    if (hv__is_pg_url(path))
        return create_database_pg(path, o, in, schema_version, err);
    hv_status s = check_target(path, &replace_empty, err);
    if (s)
        return s;
    remove_stale_temporaries(path);
    char *tmp = hv__asprintf("%s.init-XXXXXX", path);
    if (!tmp)
        return HV_NOMEM;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        *err = hv__asprintf("%s: cannot create: %s", path, strerror(errno));
        hv__free(tmp);
        return HV_CANTCREATE;
    }
    close(fd);
    if (!(s = build_database(path, tmp, o, in, schema_version, &made_key_file,
                             &head, err)) &&
        !(s = place_file(tmp, path, replace_empty, err))) {
        if ((s = make_audit_key(path, o->scratch, &head, err)))
            unlink(path);
        else if (!o->scratch)
            sync_folder_of(tmp);
    }
    remove_temporary(tmp);
    char key_path[4200];
    if (s != HV_OK && made_key_file &&
        !data_key_path(path, key_path, sizeof key_path))
        unlink(key_path);
    hv__free(tmp);
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
    init_inputs in = {NULL, NULL, NULL};
    *err = NULL;
    hv_status s = check_options(o, err);
    if (s)
        return s;
    if (!(s = read_inputs(o, &in, err)))
        s = create_database(path, o, &in, schema_version, err);
    hv__pack_free(in.pack);
    hv_workflow_free(in.wf);
    hv__free(in.text);
    return s;
}
