/* outbox_build.c - building a laptop copy from a checkout answer
 * (hv_device_build, haven.h "Offline work"; outbox.h).
 *
 * The copy is a normal Haven database made in a private folder beside the
 * target: the server's workflow written to a file and hv_engine_init run
 * with the device key from the answer as the key file (so the copy's data
 * key is wrapped by a key the server holds for the device) and an internal
 * administrator; then the server's users, the rule pack in force, the
 * caseload through the JSON import (histories with their original times
 * and actors), the device's settings, the server versions of its cases
 * and the unsent outbox carried from the copy it replaces.  Only then are
 * its files renamed over the target's, the database last. */
#include "outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "crypto.h"
#include "error.h"
#include "events.h"
#include "migrate.h"
#include "pack.h"
#include "refs.h"
#include "rulesapi.h"
#include "store.h"
#include "sync.h"

/* A build in progress. */
typedef struct {
    json_t *a;                /* the checkout answer */
    const char *device, *user, *key_hex, *workflow, *server;
    json_t *users, *export_doc, *versions, *server_versions, *pack;
    int simulated;
    hv_time now;
    char secret[65];          /* the device secret (hex) */
    int64_t seq;              /* the chain's end: device_seq */
    char head[65];            /*                  device_head */
    int64_t acked;            /* the server's last_seq */
    json_t *carried;          /* unsent entries of the copy replaced */
    char *dir, *db;           /* the build folder and the copy in it */
    char *server_kept;        /* the URL the replaced copy remembered */
    int retired;              /* the replaced copy refuses changes */
    char **err;
} build;

/* Sets *b->err (unless set) to the formatted message; returns st. */
static hv_status fail(build *b, hv_status st, const char *fmt, const char *arg)
{
    if (!*b->err)
        *b->err = hv__asprintf(fmt, arg ? arg : "");
    return st;
}

/* Takes e's message into *b->err; returns st. */
static hv_status fail_engine(build *b, hv_engine *e, hv_status st)
{
    if (!*b->err)
        *b->err = hv__strdup(hv_errmsg(e)[0] ? hv_errmsg(e) : hv_strerror(st));
    return st;
}

/* 1 if s is n lowercase hex digits. */
static int is_hex(const char *s, size_t n)
{
    return s && strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

/* Reads the members of the answer every build needs. */
static hv_status read_answer(build *b)
{
    json_t *a = b->a, *agency = json_object_get(a, "agency");
    json_t *state = json_object_get(a, "device_state");
    const char *op = json_string_value(json_object_get(a, "op"));
    b->device = json_string_value(json_object_get(a, "device"));
    b->user = json_string_value(json_object_get(a, "user"));
    b->key_hex = json_string_value(json_object_get(a, "key"));
    b->workflow = json_string_value(json_object_get(a, "workflow"));
    b->server = json_string_value(json_object_get(a, "server"));
    b->users = json_object_get(a, "users");
    b->export_doc = json_object_get(a, "export");
    b->versions = json_object_get(a, "versions");
    b->server_versions = json_object_get(a, "server_versions");
    b->pack = json_object_get(a, "pack");
    b->simulated = json_is_true(json_object_get(a, "simulated"));
    b->now = json_integer_value(json_object_get(a, "now"));
    b->acked = json_integer_value(json_object_get(state, "last_seq"));
    const char *head = json_string_value(json_object_get(state, "head"));
    const char *secret = json_string_value(json_object_get(a, "secret"));
    if (!op || strcmp(op, "checkout") || !b->device || !b->user ||
        !is_hex(b->key_hex, 64) || !b->workflow || !json_is_array(b->users) ||
        !json_is_object(b->export_doc) || !json_is_object(b->versions) ||
        !json_is_object(agency) ||
        !json_is_string(json_object_get(agency, "code")) ||
        (b->server_versions && !json_is_object(b->server_versions)) ||
        (head && *head && !is_hex(head, 64)) || b->acked < 0 ||
        (secret && !is_hex(secret, 64)))
        return fail(b, HV_INVALID, "sync: the checkout answer is incomplete%s",
                    NULL);
    if (json_integer_value(json_object_get(b->versions, "schema")) !=
        HV_SCHEMA_VERSION)
        return fail(b, HV_INVALID, "sync: the server's schema differs from "
                                   "this program's: update haven%s", NULL);
    snprintf(b->secret, sizeof b->secret, "%s", secret ? secret : "");
    snprintf(b->head, sizeof b->head, "%s", head ? head : "");
    b->seq = b->acked;
    return HV_OK;
}

/* Takes the copy replaced: its device secret, the chain's end and the
 * unsent entries (inputs opened). */
static hv_status read_carry(build *b, const char *from)
{
    hv_engine *e = NULL;
    char *name = NULL, *head = NULL;
    unsigned char bin[32];
    char now[64];
    hv_status s = hv_engine_open(from, &e, b->err);
    if (s)
        return s;
    /* Retired and read under one write lock: a change made after would
     * not be carried, so the old copy refuses it (outbox.c). */
    snprintf(now, sizeof now, "%lld %ld", (long long)time(NULL), (long)getpid());
    if ((s = hv__store_begin(e)) ||
        (s = hv__outbox_meta(e, "device_name", &name)) ||
        (s = hv__outbox_meta(e, "device_head", &head)))
        goto done;
    if (!name || strcmp(name, b->device)) {
        s = fail(b, HV_INVALID, "sync: %s is not this device's copy", from);
        goto done;
    }
    if ((s = hv__outbox_secret(e, b->secret, bin)) ||
        (s = hv__store_query_int(e, "reading the device settings",
                                 "SELECT CAST(value AS INTEGER) FROM meta"
                                 " WHERE key = 'device_seq'",
                                 0, &b->seq, "")) ||
        (s = hv__outbox_entries(e, 1, &b->carried)))
        goto done;
    snprintf(b->head, sizeof b->head, "%s", head ? head : "");
    if (!b->server && !(s = hv__outbox_meta(e, "device_server", &b->server_kept)))
        b->server = b->server_kept; /* keep the URL the copy remembered */
    if (!s && !(s = hv__outbox_meta_set(e, "device_retired", now)))
        s = hv__store_commit(e);
    b->retired = s == HV_OK;
done:
    if (s) {
        hv__store_rollback(e);
        fail_engine(b, e, s);
    }
    sodium_memzero(bin, sizeof bin);
    hv__free(name);
    hv__free(head);
    hv_engine_close(e);
    return s;
}

/* Writes n bytes of text to a new file at path (mode 0600), synced. */
static hv_status write_private(build *b, const char *path, const char *text,
                               size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int ok = fd >= 0;
    for (size_t done = 0; ok && done < n;) {
        ssize_t w = write(fd, text + done, n - done);
        ok = w > 0;
        done += ok ? (size_t)w : 0;
    }
    ok = ok && fsync(fd) == 0;
    if (fd >= 0)
        ok = close(fd) == 0 && ok;
    return ok ? HV_OK
              : fail(b, HV_CANTCREATE, "sync: %s: cannot write the copy",
                     path);
}

/* Makes the private build folder beside path, with the workflow and the
 * copy's key file (the device key) in it. */
static hv_status make_folder(build *b, const char *path)
{
    char *tmpl = hv__asprintf("%s.sync-XXXXXX", path);
    if (!tmpl)
        return HV_NOMEM;
    if (!mkdtemp(tmpl)) {
        hv__free(tmpl);
        return fail(b, HV_CANTCREATE, "sync: %s: cannot make the copy beside it",
                    path);
    }
    b->dir = tmpl;
    char *wf = hv__asprintf("%s/workflow.yaml", b->dir);
    char *key = hv__asprintf("%s/copy.db.key", b->dir);
    b->db = hv__asprintf("%s/copy.db", b->dir);
    hv_status s = !wf || !key || !b->db ? HV_NOMEM : HV_OK;
    if (!s)
        s = write_private(b, wf, b->workflow, strlen(b->workflow));
    if (!s)
        s = write_private(b, key, b->key_hex, 64);
    hv__free(wf);
    hv__free(key);
    return s;
}

/* Runs hv_engine_init for the copy. */
static hv_status init_copy(build *b)
{
    json_t *agency = json_object_get(b->a, "agency");
    char now[40] = "";
    char *wf = hv__asprintf("%s/workflow.yaml", b->dir);
    if (!wf)
        return HV_NOMEM;
    if (b->simulated)
        hv_time_format(b->now, now, sizeof now);
    hv_init_options o = {
        .agency = json_string_value(json_object_get(agency, "code")),
        .agency_name = json_string_value(json_object_get(agency, "name")),
        .workflow_path = wf,
        .ref_pattern = HV_OUTBOX_REF_PATTERN,
        .admin = HV_OUTBOX_ADMIN,
        .simulated = b->simulated,
        .now = b->simulated && b->now ? now : NULL,
    };
    hv_status s = hv_engine_init(b->db, &o, b->err);
    hv__free(wf);
    return s;
}

/* Adds the server's users (then their supervisors, and disables the
 * inactive ones). */
static hv_status add_users(build *b, hv_engine *e)
{
    size_t i;
    json_t *u;
    hv_status s = HV_OK;
    json_array_foreach(b->users, i, u) {
        const char *login = json_string_value(json_object_get(u, "login"));
        const char *role = json_string_value(json_object_get(u, "role"));
        if (login && !strcmp(login, HV_OUTBOX_ADMIN))
            return fail(b, HV_INVALID, "sync: the server has a user named %s, "
                                       "the copy's own administrator",
                        HV_OUTBOX_ADMIN);
        if ((s = hv_user_add(e, login, role, NULL)))
            return fail_engine(b, e, s);
    }
    json_array_foreach(b->users, i, u) {
        const char *login = json_string_value(json_object_get(u, "login"));
        const char *sup = json_string_value(json_object_get(u, "supervisor"));
        int inactive = json_is_false(json_object_get(u, "active"));
        if ((sup || inactive) &&
            (s = hv_user_update(e, login, inactive ? 0 : -1, NULL, sup)))
            return fail_engine(b, e, s);
    }
    return HV_OK;
}

/* Puts the server's rule pack in force, as stored there (its hash
 * checked). */
static hv_status add_pack(build *b, hv_engine *e)
{
    if (!b->pack || json_is_null(b->pack))
        return HV_OK;
    const char *source = json_string_value(json_object_get(b->pack, "source"));
    const char *hash = json_string_value(json_object_get(b->pack, "hash"));
    json_t *obj = source ? json_loads(source, 0, NULL) : NULL;
    hv_pack *p = NULL;
    char *why = NULL;
    hv_status s = obj ? hv__pack_from_json(obj, &p, &why) : HV_INVALID;
    json_decref(obj);
    hv__free(why);
    if (s || !hash || strcmp(hash, p->hash)) {
        hv__pack_free(p);
        return fail(b, HV_INVALID, "sync: the server's rule pack does not "
                                   "match its hash%s", NULL);
    }
    if ((s = hv__store_begin(e)) == HV_OK) {
        if ((s = hv__store_rule_pack(e, p)))
            hv__store_rollback(e);
        else
            s = hv__store_commit(e);
    }
    hv__pack_free(p);
    return s ? fail_engine(b, e, s) : HV_OK;
}

/* Imports the caseload (the export document) through the JSON import. */
static hv_status add_cases(build *b, hv_engine *e)
{
    char *text = json_dumps(b->export_doc, JSON_COMPACT);
    char *out = NULL;
    if (!text)
        return HV_NOMEM;
    FILE *f = fmemopen(text, strlen(text), "r");
    hv_status s = HV_NOMEM;
    if (f) {
        hv_import_options o = {.format = "json", .path = "checkout", .in = f};
        s = hv_import(e, &o, &out);
        fclose(f);
    }
    free(text);
    hv_free(out);
    return s ? fail_engine(b, e, s) : HV_OK;
}

/* Writes one carried entry (its input sealed under the new copy's key). */
static hv_status add_entry(hv_engine *e, json_t *v)
{
    json_t *step = json_object_get(v, "step");
    return hv__store_execf(
        e, "carrying the outbox",
        "INSERT INTO sync_outbox (seq, at, user, kind, ref, step, input,"
        " base_version, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
        " hv_seal(?7, 'sync_outbox', 'input', ?1), ?8, ?9, ?10)",
        "iitttttitt", (int64_t)json_integer_value(json_object_get(v, "seq")),
        (int64_t)json_integer_value(json_object_get(v, "at")),
        json_string_value(json_object_get(v, "user")),
        json_string_value(json_object_get(v, "kind")),
        json_string_value(json_object_get(v, "ref")),
        json_is_string(step) ? json_string_value(step) : NULL,
        json_string_value(json_object_get(v, "input")),
        (int64_t)json_integer_value(json_object_get(v, "base_version")),
        json_string_value(json_object_get(v, "prev")),
        json_string_value(json_object_get(v, "hash")));
}

/* The device's settings in meta (the secret sealed). */
static hv_status add_settings(build *b, hv_engine *e)
{
    char seq[32], acked[32];
    char *versions = json_dumps(b->versions, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(seq, sizeof seq, "%lld", (long long)b->seq);
    snprintf(acked, sizeof acked, "%lld", (long long)b->acked);
    hv_status s = versions ? HV_OK : HV_NOMEM;
    if (!s && !(s = hv__outbox_meta_set(e, "device_name", b->device)) &&
        !(s = hv__outbox_meta_set(e, "device_user", b->user)) &&
        !(s = hv__outbox_meta_set(e, "device_server", b->server ? b->server : "")) &&
        !(s = hv__outbox_meta_set(e, "device_seq", seq)) &&
        !(s = hv__outbox_meta_set(e, "device_head", b->head)) &&
        !(s = hv__outbox_meta_set(e, "device_acked", acked)) &&
        !(s = hv__outbox_meta_set(e, "device_versions", versions)))
        s = hv__store_execf(e, "writing the device secret",
                            "INSERT OR REPLACE INTO meta (key, value) VALUES"
                            " ('" HV_OUTBOX_SECRET_COLUMN "', hv_seal(?1,"
                            " 'meta', '" HV_OUTBOX_SECRET_COLUMN "', 0))",
                            "t", b->secret);
    free(versions);
    return s;
}

/* The server versions of the cases, the carried entries, the counter of
 * local references (past the chain's end) and the "device_copy_built"
 * event. */
static hv_status add_sync_rows(build *b, hv_engine *e)
{
    const char *ref;
    json_t *v;
    size_t i;
    hv_status s = HV_OK;
    json_object_foreach(b->server_versions, ref, v) {
        if ((s = hv__store_execf(e, "recording the server versions",
                                 "INSERT INTO sync_cases (ref, server_version)"
                                 " VALUES (?1, ?2)",
                                 "ti", ref, (int64_t)json_integer_value(v))))
            return s;
    }
    json_array_foreach(b->carried, i, v) {
        if ((s = add_entry(e, v)))
            return s;
    }
    char *key = hv__outbox_counter_key(e);
    if (!key)
        return hv__fail(e, HV_NOMEM, "out of memory");
    s = hv__store_execf(e, "counting local references",
                        "INSERT OR REPLACE INTO ref_counters (prefix, next)"
                        " VALUES (?1, ?2)",
                        "ti", key, b->seq + 1);
    hv__free(key);
    json_t *data = json_pack("{s:s,s:I,s:I}", "device", b->device, "cases",
                             (json_int_t)json_object_size(b->server_versions),
                             "carried", (json_int_t)json_array_size(b->carried));
    if (!s)
        s = data ? hv__store_append_event(e, 0, "device_copy_built", data, NULL)
                 : hv__fail(e, HV_NOMEM, "out of memory");
    json_decref(data);
    return s;
}

/* Fills the initialised copy: users, pack, cases, the device's rows. */
static hv_status fill_copy(build *b)
{
    hv_engine *e = NULL;
    hv_status s = hv_engine_open(b->db, &e, b->err);
    if (s)
        return s;
    if ((s = hv_engine_set_actor(e, HV_OUTBOX_ADMIN)) || (s = add_users(b, e)) ||
        (s = add_pack(b, e)) || (s = add_cases(b, e)))
        goto done;
    if ((s = hv__store_begin(e)) == HV_OK) {
        if ((s = add_settings(b, e)) || (s = add_sync_rows(b, e)))
            hv__store_rollback(e);
        else
            s = hv__store_commit(e);
    }
done:
    if (s)
        fail_engine(b, e, s);
    hv_engine_close(e);
    return s;
}

/* Renames the copy's file with suffix over path's. */
static int place(build *b, const char *path, const char *suffix)
{
    char *from = hv__asprintf("%s%s", b->db, suffix);
    char *to = hv__asprintf("%s%s", path, suffix);
    int ok = from && to && rename(from, to) == 0;
    hv__free(from);
    hv__free(to);
    return ok;
}

/* Puts the built copy at path: its checkpoints, audit key and key file,
 * then the database itself. */
static hv_status swap_in(build *b, const char *path)
{
    char *wal = hv__asprintf("%s-wal", path);
    int open_elsewhere = wal && access(wal, F_OK) == 0;
    hv__free(wal);
    if (open_elsewhere) /* its WAL would be taken for the new copy's */
        return fail(b, HV_BUSY, "sync: %s is open in another program (a REPL?); "
                                "close it and sync again",
                    path);
    if (!place(b, path, ".checkpoints") || !place(b, path, ".audit-key") ||
        !place(b, path, ".key") || !place(b, path, ""))
        return fail(b, HV_CANTCREATE, "sync: %s: cannot put the new copy in "
                                      "place",
                    path);
    char *dir = hv__strdup(path);
    char *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash)
        *slash = '\0';
    int dfd = open(slash ? (dir[0] ? dir : "/") : ".", O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    hv__free(dir);
    return HV_OK;
}

/* HV_BUSY when the copy being replaced took a change after its outbox was
 * carried (a sync paused past the retirement's end, a laptop asleep): the
 * change would be lost at the swap, so the swap waits for the next sync,
 * which carries it. */
static hv_status check_unchanged(build *b, const char *from)
{
    hv_engine *e = NULL;
    int64_t seq = -1;
    char *err = NULL;
    hv_status s = hv_engine_open(from, &e, &err);
    if (s == HV_OK)
        s = hv__store_query_int(e, "reading the device settings",
                                "SELECT CAST(value AS INTEGER) FROM meta"
                                " WHERE key = 'device_seq'",
                                0, &seq, "");
    hv_engine_close(e);
    hv_free(err);
    if (s == HV_OK && seq == b->seq)
        return HV_OK;
    return fail(b, HV_BUSY, "sync: %s changed while the sync ran; sync again "
                            "(nothing is lost)",
                from);
}

/* Lets the copy that was to be replaced take changes again. */
static void unretire(const char *from)
{
    hv_engine *e = NULL;
    char *err = NULL;
    if (hv_engine_open(from, &e, &err) != HV_OK) {
        hv_free(err);
        return;
    }
    if (hv__store_begin(e) == HV_OK) {
        if (hv__store_execf(e, "writing the device settings",
                            "DELETE FROM meta WHERE key = 'device_retired'", ""))
            hv__store_rollback(e);
        else
            hv__store_commit(e);
    }
    hv_engine_close(e);
}

/* Refuses a server whose references could look like local ones, and an
 * environment that would key the copy otherwise than with the device key. */
static hv_status check_setting(build *b)
{
    const char *env[] = {"HAVEN_KEY_FILE", "HAVEN_PASSPHRASE"};
    for (int i = 0; i < 2; i++)
        if (getenv(env[i]) && *getenv(env[i]))
            return fail(b, HV_USAGE, "sync: a laptop copy is keyed with its "
                                     "device key: unset %s",
                        env[i]);
    json_t *agency = json_object_get(b->a, "agency");
    const char *code = json_string_value(json_object_get(agency, "code"));
    const char *pattern = json_string_value(json_object_get(b->a, "ref_pattern"));
    char *sample = pattern ? hv__ref_make(pattern, code, 2026, 1) : NULL;
    int clash = sample && hv__ref_matches(HV_OUTBOX_REF_PATTERN, code, sample,
                                          strlen(sample));
    hv__free(sample);
    return clash ? fail(b, HV_INVALID, "sync: the server's references look "
                                       "like a laptop's (%s)",
                        HV_OUTBOX_REF_PATTERN)
                 : HV_OK;
}

HV_API hv_status hv_device_build(const char *path, const char *checkout_json,
                                 const char *carry_from, char **err)
{
    build b = {.err = err};
    struct stat sb;
    *err = NULL;
    b.a = checkout_json ? json_loads(checkout_json, 0, NULL) : NULL;
    hv_status s = json_is_object(b.a) ? read_answer(&b)
                                      : fail(&b, HV_INVALID, "sync: the "
                                             "checkout answer is not JSON%s",
                                             NULL);
    if (!s && (!carry_from || strcmp(carry_from, path)) && stat(path, &sb) == 0)
        s = fail(&b, HV_CANTCREATE, "sync: %s: already exists", path);
    if (!s)
        s = check_setting(&b);
    if (!s) /* those a killed build left (a build takes seconds) */
        hv__outbox_remove_builds(path, 3600);
    if (!s && carry_from)
        s = read_carry(&b, carry_from);
    if (!s && !b.secret[0])
        s = fail(&b, HV_INVALID, "sync: no device secret for the copy%s", NULL);
    if (!s && !(s = make_folder(&b, path)) && !(s = init_copy(&b)) &&
        !(s = fill_copy(&b))) {
        hv__fault("sync:before-swap");
        if (!carry_from || !(s = check_unchanged(&b, carry_from)))
            s = swap_in(&b, path);
    }
    if (b.dir)
        hv__outbox_remove_build(b.dir);
    if (s && b.retired)
        unretire(carry_from);
    sodium_memzero(b.secret, sizeof b.secret);
    hv__free(b.server_kept);
    json_decref(b.carried);
    json_decref(b.a);
    hv__free(b.dir);
    hv__free(b.db);
    if (s && !*err)
        *err = hv__strdup(hv_strerror(s));
    return s;
}
