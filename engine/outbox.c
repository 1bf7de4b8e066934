/* outbox.c - a laptop copy's side of offline work (outbox.h, haven.h
 * "Offline work"): the outbox precommit that records every engine call
 * changing a case on the copy, chained and keyed with the device secret;
 * the requests a sync sends and the acknowledgement of an upload; wiping
 * a revoked copy's key.  Building the copy is outbox_build.c. */
#include "outbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "crypto.h"
#include "engine.h"
#include "error.h"
#include "refs.h"
#include "store.h"
#include "sync.h"

/* ---- shared helpers (outbox.h) ---------------------------------------------- */

int hv__outbox_hash(const unsigned char secret[32], const char *prev,
                    json_t *entry, char hex[65])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    char *text = json_dumps(entry, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return -1;
    crypto_auth_hmacsha256_init(&st, secret, 32);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)prev, strlen(prev));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)"\n", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)text, strlen(text));
    crypto_auth_hmacsha256_final(&st, mac);
    free(text);
    sodium_bin2hex(hex, 65, mac, sizeof mac);
    return 0;
}

hv_status hv__outbox_meta(hv_engine *e, const char *key, char **out)
{
    return hv__store_query_text(e, "reading the device settings",
                                "SELECT value FROM meta WHERE key = ?1", out,
                                "t", key);
}

hv_status hv__outbox_meta_set(hv_engine *e, const char *key, const char *value)
{
    return hv__store_execf(e, "writing the device settings",
                           "INSERT OR REPLACE INTO meta (key, value) VALUES"
                           " (?1, ?2)",
                           "tt", key, value);
}

hv_status hv__outbox_secret(hv_engine *e, char hex[65], unsigned char bin[32])
{
    char *text = NULL;
    size_t len = 0;
    hv_status s = hv__need_key(e, "sync");
    if (s)
        return s;
    s = hv__store_query_text(e, "reading the device secret",
                             "SELECT hv_open(value, 'meta', '"
                             HV_OUTBOX_SECRET_COLUMN "', 0) FROM meta"
                             " WHERE key = '" HV_OUTBOX_SECRET_COLUMN "'",
                             &text, "");
    if (s)
        return s;
    int bad = !text || strlen(text) != 64 ||
              sodium_hex2bin(bin, 32, text, 64, NULL, &len, NULL) != 0 ||
              len != 32;
    if (!bad)
        memcpy(hex, text, 65);
    if (text)
        sodium_memzero(text, strlen(text));
    hv__free(text);
    return bad ? hv__fail(e, HV_CORRUPT, "sync: %s: the device secret is "
                                         "missing or damaged", e->path)
               : HV_OK;
}

char *hv__outbox_counter_key(hv_engine *e)
{
    return hv__ref_counter_key(HV_OUTBOX_REF_PATTERN, e->agency_code, 0);
}

/* One outbox row (seq, at, user, kind, ref, step, input opened,
 * base_version, prev, hash) as an ENTRY object; NULL when out of memory. */
static json_t *entry_of_row(sqlite3_stmt *st)
{
    const char *step = (const char *)sqlite3_column_text(st, 5);
    const char *ref = (const char *)sqlite3_column_text(st, 4);
    return json_pack("{s:I,s:I,s:s,s:s,s:s?,s:s?,s:s,s:I,s:s,s:s}", "seq",
                     (json_int_t)sqlite3_column_int64(st, 0), "at",
                     (json_int_t)sqlite3_column_int64(st, 1), "user",
                     (const char *)sqlite3_column_text(st, 2), "kind",
                     (const char *)sqlite3_column_text(st, 3), "ref", ref,
                     "step", step, "input",
                     sqlite3_column_text(st, 6)
                         ? (const char *)sqlite3_column_text(st, 6)
                         : "",
                     "base_version", (json_int_t)sqlite3_column_int64(st, 7),
                     "prev", (const char *)sqlite3_column_text(st, 8), "hash",
                     (const char *)sqlite3_column_text(st, 9));
}

hv_status hv__outbox_entries(hv_engine *e, int unsent_only, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *list = json_array();
    *out = NULL;
    if (!list)
        return hv__fail(e, HV_NOMEM, "out of memory");
    hv_status s = hv__store_preparef(
        e, &st,
        "SELECT seq, at, user, kind, ref, step,"
        " hv_open(input, 'sync_outbox', 'input', seq), base_version, prev,"
        " hash FROM sync_outbox WHERE sent = 0 OR ?1 = 0 ORDER BY seq",
        "i", (int64_t)unsent_only);
    int rc = SQLITE_DONE;
    while (!s && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *entry = entry_of_row(st);
        if (!entry || json_array_append_new(list, entry))
            s = hv__fail(e, HV_NOMEM, "out of memory");
    }
    if (!s && rc != SQLITE_DONE)
        s = hv__sql_fail(e, rc, "reading the outbox");
    hv__store_finalize(e, st);
    if (s) {
        json_decref(list);
        return s;
    }
    *out = list;
    return HV_OK;
}

/* ---- recording a change: the precommit ----------------------------------------- */

/* The chain's end before this entry: *seq (device_seq) and head. */
static hv_status chain_end(hv_engine *e, int64_t *seq, char **head)
{
    hv_status s = hv__store_query_int(e, "reading the device settings",
                                      "SELECT CAST(value AS INTEGER) FROM meta"
                                      " WHERE key = 'device_seq'",
                                      0, seq, "");
    if (!s)
        s = hv__outbox_meta(e, "device_head", head);
    if (!s && !*head && !(*head = hv__strdup("")))
        s = hv__fail(e, HV_NOMEM, "out of memory");
    return s;
}

/* Writes the entry (hash computed) and moves the chain's end to it, with
 * the counter of local references past its number. */
static hv_status write_entry(hv_engine *e, json_t *entry, const char *input,
                             const unsigned char secret[32], const char *prev)
{
    char hash[65], seq_text[32];
    int64_t seq = json_integer_value(json_object_get(entry, "seq"));
    if (hv__outbox_hash(secret, prev, entry, hash))
        return hv__fail(e, HV_NOMEM, "out of memory");
    snprintf(seq_text, sizeof seq_text, "%lld", (long long)seq);
    char *key = hv__outbox_counter_key(e);
    if (!key)
        return hv__fail(e, HV_NOMEM, "out of memory");
    json_t *step = json_object_get(entry, "step");
    hv_status s = hv__store_execf(
        e, "writing the outbox",
        "INSERT INTO sync_outbox (seq, at, user, kind, ref, step, input,"
        " base_version, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
        " hv_seal(?7, 'sync_outbox', 'input', ?1), ?8, ?9, ?10)",
        "iitttttitt", seq,
        (int64_t)json_integer_value(json_object_get(entry, "at")),
        json_string_value(json_object_get(entry, "user")),
        json_string_value(json_object_get(entry, "kind")),
        json_string_value(json_object_get(entry, "ref")),
        json_is_string(step) ? json_string_value(step) : NULL, input,
        (int64_t)json_integer_value(json_object_get(entry, "base_version")),
        prev, hash);
    if (!s)
        s = hv__outbox_meta_set(e, "device_seq", seq_text);
    if (!s)
        s = hv__outbox_meta_set(e, "device_head", hash);
    if (!s)
        s = hv__store_execf(e, "counting local references",
                            "INSERT INTO ref_counters (prefix, next) VALUES"
                            " (?1, ?2) ON CONFLICT (prefix) DO UPDATE SET"
                            " next = max(next, ?2)",
                            "ti", key, seq + 1);
    hv__free(key);
    return s;
}

/* Appends the armed call c to the outbox. */
static hv_status append_entry(hv_engine *e, const struct hv_sync_call *c)
{
    char hex[65];
    unsigned char secret[32];
    int64_t last = 0, base = 0;
    char *prev = NULL;
    const char *user = e->actor ? e->actor : "";
    const char *input = c->input ? c->input : "";
    hv_status s;
    if ((s = hv__outbox_secret(e, hex, secret)) || (s = chain_end(e, &last, &prev)))
        goto done;
    if (c->ref && (s = hv__store_query_int(e, "reading the server versions",
                                           "SELECT server_version FROM"
                                           " sync_cases WHERE ref = ?1",
                                           0, &base, "t", c->ref)))
        goto done;
    json_t *entry = json_pack("{s:I,s:I,s:s,s:s,s:s?,s:s?,s:s,s:I,s:s}", "seq",
                              (json_int_t)(last + 1), "at",
                              (json_int_t)hv_now(e), "user", user, "kind",
                              c->kind, "ref", c->ref, "step", c->step, "input",
                              input, "base_version", (json_int_t)base, "prev",
                              prev);
    if (!entry)
        s = hv__fail(e, HV_NOMEM, "out of memory (or input not UTF-8)");
    else
        s = write_entry(e, entry, input, secret, prev);
    json_decref(entry);
done:
    sodium_memzero(secret, sizeof secret);
    sodium_memzero(hex, sizeof hex);
    hv__free(prev);
    return s;
}

/* HV_BUSY while a sync is replacing the copy (hv_device_build retired it
 * less than HV_OUTBOX_RETIRE_SECONDS ago): a change made now would not be
 * carried into the new copy. */
static hv_status check_retired(hv_engine *e)
{
    char *value = NULL;
    long long at = 0;
    long pid = 0;
    hv_status s = hv__outbox_meta(e, "device_retired", &value);
    int n = value ? sscanf(value, "%lld %ld", &at, &pid) : 0;
    hv__free(value);
    /* a build that was killed (its process gone) retires nothing */
    if (s || n != 2 || (int64_t)time(NULL) - at >= HV_OUTBOX_RETIRE_SECONDS ||
        pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH))
        return s;
    return hv__fail(e, HV_BUSY, "%s: haven sync is replacing this laptop copy; "
                                "try again when it has finished", e->path);
}

/* e->outbox.precommit of a laptop copy: the armed call, once. */
static hv_status outbox_precommit(hv_engine *e)
{
    if (!e->sync_call.armed || !e->sync_call.kind)
        return HV_OK;
    struct hv_sync_call c = e->sync_call;
    e->sync_call.armed = 0;
    hv_status s = check_retired(e);
    return s ? s : append_entry(e, &c);
}

/* hv__device_open_hook: installs the outbox on a laptop copy. */
static hv_status outbox_open(hv_engine *e)
{
    char *name = NULL;
    hv_status s = hv__outbox_meta(e, "device_name", &name);
    if (s == HV_OK && name && *name)
        e->outbox.precommit = outbox_precommit;
    hv__free(name);
    return s;
}

/* Linking this file is what makes every engine record a laptop copy's
 * changes (engine.h, hv__device_open_hook). */
__attribute__((constructor)) static void outbox_link(void)
{
    hv__device_open_hook = outbox_open;
}

/* ---- the requests of a sync ------------------------------------------------------ */

/* The device's name, or HV_USAGE when e is not a laptop copy. */
static hv_status device_name(hv_engine *e, char **name)
{
    hv_status s = hv__outbox_meta(e, "device_name", name);
    if (s == HV_OK && (!*name || !**name)) {
        hv__free(*name);
        *name = NULL;
        s = hv__fail(e, HV_USAGE, "sync: %s is not a laptop copy (made by "
                                  "haven sync)", e->path);
    }
    return s;
}

/* Sets o[key] to the meta value key as text (null when absent). */
static hv_status put_meta(hv_engine *e, json_t *o, const char *name, const char *key)
{
    char *v = NULL;
    hv_status s = hv__outbox_meta(e, key, &v);
    if (!s && json_object_set_new(o, name, v ? json_string(v) : json_null()))
        s = hv__fail(e, HV_NOMEM, "out of memory");
    hv__free(v);
    return s;
}

/* {device, user, server, last_seq, head, acked, unsent}: what the copy
 * knows of its device, for `haven sync` (nothing secret). */
static hv_status status_of(hv_engine *e, json_t *o)
{
    int64_t seq = 0, acked = 0, unsent = 0;
    hv_status s;
    if ((s = put_meta(e, o, "user", "device_user")) ||
        (s = put_meta(e, o, "server", "device_server")) ||
        (s = put_meta(e, o, "head", "device_head")) ||
        (s = hv__store_query_int(e, "reading the device settings",
                                 "SELECT CAST(value AS INTEGER) FROM meta"
                                 " WHERE key = 'device_seq'",
                                 0, &seq, "")) ||
        (s = hv__store_query_int(e, "reading the device settings",
                                 "SELECT CAST(value AS INTEGER) FROM meta"
                                 " WHERE key = 'device_acked'",
                                 0, &acked, "")) ||
        (s = hv__store_query_int(e, "reading the outbox",
                                 "SELECT count(*) FROM sync_outbox WHERE"
                                 " sent = 0",
                                 0, &unsent, "")))
        return s;
    if (json_object_set_new(o, "last_seq", json_integer(seq)) ||
        json_object_set_new(o, "acked", json_integer(acked)) ||
        json_object_set_new(o, "unsent", json_integer(unsent)))
        return hv__fail(e, HV_NOMEM, "out of memory");
    return HV_OK;
}

/* The upload's members: versions, entries (unsent), head. */
static hv_status upload_of(hv_engine *e, json_t *o)
{
    char *versions = NULL, *head = NULL;
    json_t *entries = NULL;
    hv_status s;
    if ((s = hv__outbox_meta(e, "device_versions", &versions)) ||
        (s = hv__outbox_meta(e, "device_head", &head)) ||
        (s = hv__outbox_entries(e, 1, &entries)))
        goto done;
    json_t *v = versions ? json_loads(versions, 0, NULL) : NULL;
    if (!json_is_object(v)) {
        json_decref(v);
        s = hv__fail(e, HV_CORRUPT, "sync: %s: the device settings are "
                                    "damaged (versions)", e->path);
        goto done;
    }
    if (json_object_set_new(o, "versions", v) ||
        json_object_set(o, "entries", entries) ||
        json_object_set_new(o, "head", json_string(head ? head : "")))
        s = hv__fail(e, HV_NOMEM, "out of memory");
done:
    json_decref(entries);
    hv__free(versions);
    hv__free(head);
    return s;
}

/* The checkout's "have": {REF: server_version} of the copy's cases. */
static hv_status have_of(hv_engine *e, json_t *o)
{
    sqlite3_stmt *st = NULL;
    json_t *have = json_object();
    hv_status s = have ? hv__store_prepare(e, "SELECT ref, server_version"
                                              " FROM sync_cases ORDER BY ref",
                                           &st)
                       : hv__fail(e, HV_NOMEM, "out of memory");
    int rc = SQLITE_DONE;
    while (!s && (rc = sqlite3_step(st)) == SQLITE_ROW)
        if (json_object_set_new(have, (const char *)sqlite3_column_text(st, 0),
                                json_integer(sqlite3_column_int64(st, 1))))
            s = hv__fail(e, HV_NOMEM, "out of memory");
    if (!s && rc != SQLITE_DONE)
        s = hv__sql_fail(e, rc, "reading the server versions");
    hv__store_finalize(e, st);
    if (!s && json_object_set(o, "have", have))
        s = hv__fail(e, HV_NOMEM, "out of memory");
    json_decref(have);
    return s;
}

/* The request of op (upload or checkout) with the device and secret. */
static hv_status request_of(hv_engine *e, const char *op, const char *name,
                            json_t *o)
{
    char hex[65];
    unsigned char bin[32];
    hv_status s = hv__outbox_secret(e, hex, bin);
    if (s)
        return s;
    if (json_object_set_new(o, "device", json_string(name)) ||
        json_object_set_new(o, "secret", json_string(hex)))
        s = hv__fail(e, HV_NOMEM, "out of memory");
    sodium_memzero(hex, sizeof hex);
    sodium_memzero(bin, sizeof bin);
    if (s)
        return s;
    return !strcmp(op, "upload") ? upload_of(e, o) : have_of(e, o);
}

HV_API hv_status hv_device_request(hv_engine *e, const char *op, char **out_json)
{
    char *name = NULL;
    json_t *o = NULL;
    *out_json = NULL;
    hv__clear_error(e);
    int known = op && (!strcmp(op, "upload") || !strcmp(op, "checkout") ||
                       !strcmp(op, "status"));
    if (!known)
        return hv__fail(e, HV_USAGE, "sync: a request is upload, checkout "
                                     "or status");
    hv_status s = device_name(e, &name);
    if (s)
        return s;
    if (!(o = json_pack("{s:s}", "op", op))) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto done;
    }
    if (!strcmp(op, "status"))
        s = json_object_set_new(o, "device", json_string(name))
                ? hv__fail(e, HV_NOMEM, "out of memory")
                : status_of(e, o);
    else
        s = request_of(e, op, name, o);
    if (!s && !(*out_json = json_dumps(o, JSON_COMPACT)))
        s = hv__fail(e, HV_NOMEM, "out of memory");
done:
    json_decref(o);
    hv__free(name);
    return s;
}

/* ---- the acknowledgement of an upload -------------------------------------------- */

/* Checks the server's (last_seq, head) against the outbox, under the
 * write lock. */
static hv_status check_ack(hv_engine *e, int64_t last, const char *head)
{
    int64_t seq = 0, missing = 0;
    char *hash = NULL;
    hv_status s = hv__store_query_int(e, "reading the device settings",
                                      "SELECT CAST(value AS INTEGER) FROM meta"
                                      " WHERE key = 'device_seq'",
                                      0, &seq, "");
    if (s)
        return s;
    if (last > seq)
        return hv__fail(e, HV_INVALID, "sync: the server acknowledges change "
                                       "%lld, but this copy made only %lld",
                        (long long)last, (long long)seq);
    if (last == 0)
        return HV_OK;
    if ((s = hv__store_query_text(e, "reading the outbox",
                                  "SELECT hash FROM sync_outbox WHERE seq = ?1",
                                  &hash, "i", last)))
        return s;
    if (hash && strcmp(hash, head))
        s = hv__fail(e, HV_INVALID, "sync: the server's head differs from "
                                    "this copy's change %lld: not acknowledged",
                     (long long)last);
    else if (!hash &&
             !(s = hv__store_query_int(e, "reading the outbox",
                                       "SELECT count(*) FROM sync_outbox"
                                       " WHERE sent = 0 AND seq <= ?1",
                                       0, &missing, "i", last)) &&
             missing)
        s = hv__fail(e, HV_INVALID, "sync: the server acknowledges change "
                                    "%lld, which this copy does not hold",
                     (long long)last);
    hv__free(hash);
    return s;
}

HV_API hv_status hv_device_ack(hv_engine *e, const char *answer_json)
{
    char *name = NULL, acked[32];
    hv__clear_error(e);
    hv_status s = device_name(e, &name);
    hv__free(name);
    if (s)
        return s;
    json_t *a = answer_json ? json_loads(answer_json, 0, NULL) : NULL;
    json_t *last = json_object_get(a, "last_seq");
    const char *head = json_string_value(json_object_get(a, "head"));
    if (!json_is_integer(last) || json_integer_value(last) < 0 || !head) {
        json_decref(a);
        return hv__fail(e, HV_INVALID, "sync: the server's answer to the "
                                       "upload has no last_seq and head");
    }
    int64_t n = json_integer_value(last);
    snprintf(acked, sizeof acked, "%lld", (long long)n);
    if ((s = hv__store_begin(e)) == HV_OK) {
        if ((s = check_ack(e, n, head)) ||
            (s = hv__store_execf(e, "marking the outbox sent",
                                 "UPDATE sync_outbox SET sent = 1 WHERE"
                                 " sent = 0 AND seq <= ?1",
                                 "i", n)) ||
            (s = hv__outbox_meta_set(e, "device_acked", acked)))
            hv__store_rollback(e);
        else
            s = hv__store_commit(e);
    }
    json_decref(a);
    return s;
}

HV_API void hv_device_fault(const char *point)
{
    hv__fault(point);
}

/* ---- wiping a revoked copy ----------------------------------------------------------- */

/* Overwrites the file at path with zeros, syncs it and removes it.  0, or
 * errno (ENOENT: there was none). */
static int shred(const char *path)
{
    int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno;
    off_t size = lseek(fd, 0, SEEK_END);
    char zeros[256] = {0};
    lseek(fd, 0, SEEK_SET);
    for (off_t done = 0; size > 0 && done < size;) {
        size_t n = size - done < (off_t)sizeof zeros ? (size_t)(size - done)
                                                      : sizeof zeros;
        ssize_t w = write(fd, zeros, n);
        if (w <= 0)
            break;
        done += w;
    }
    fsync(fd);
    close(fd);
    return unlink(path) == 0 ? 0 : errno;
}

void hv__outbox_remove_build(const char *dir)
{
    static const char *const names[] = {
        "copy.db.key", "workflow.yaml", "copy.db", "copy.db.audit-key",
        "copy.db.checkpoints", "copy.db-wal", "copy.db-shm", NULL};
    for (int i = 0; names[i]; i++) {
        char *p = hv__asprintf("%s/%s", dir, names[i]);
        if (p && i == 0)
            shred(p);
        else if (p)
            unlink(p);
        hv__free(p);
    }
    rmdir(dir);
}

void hv__outbox_remove_builds(const char *path, int64_t min_age)
{
    char *copy = hv__strdup(path), *slash = copy ? strrchr(copy, '/') : NULL;
    if (!copy)
        return;
    const char *dir = slash ? (slash == copy ? "/" : copy) : ".";
    const char *base = slash ? slash + 1 : copy;
    if (slash)
        *slash = '\0';
    char *prefix = hv__asprintf("%s.sync-", base);
    DIR *d = prefix ? opendir(dir) : NULL;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        struct stat sb;
        char *full = NULL;
        if (strncmp(de->d_name, prefix, strlen(prefix)) ||
            strlen(de->d_name) != strlen(prefix) + 6 ||
            !(full = hv__asprintf("%s/%s", dir, de->d_name)))
            continue;
        if (lstat(full, &sb) == 0 && S_ISDIR(sb.st_mode) &&
            time(NULL) - sb.st_mtime >= min_age)
            hv__outbox_remove_build(full);
        hv__free(full);
    }
    if (d)
        closedir(d);
    hv__free(prefix);
    hv__free(copy);
}

HV_API hv_status hv_device_wipe(const char *path, char **err)
{
    *err = NULL;
    char *key = path ? hv__asprintf("%s.key", path) : NULL;
    char *enrol = path ? hv__asprintf("%s.enrol", path) : NULL;
    if (!key || !enrol) {
        hv__free(key);
        hv__free(enrol);
        return HV_NOMEM;
    }
    int rc = shred(key);
    int rc2 = shred(enrol);
    hv__outbox_remove_builds(path, 0); /* a build a kill left: its key too */
    hv_status s = HV_OK;
    if ((rc && rc != ENOENT) || (rc2 && rc2 != ENOENT)) {
        *err = hv__asprintf("%s: cannot wipe the copy's key: %s", path,
                            strerror(rc && rc != ENOENT ? rc : rc2));
        s = HV_IOERR;
    }
    hv__free(key);
    hv__free(enrol);
    return s;
}
