/* syncserver.c - the agency server's side of offline work (syncserver.h,
 * haven.h "Offline work"): devices an administrator enrols and revokes,
 * the device and secret of every request, the op enrol, and the one entry
 * point of a laptop's requests, hv_sync_serve. */
#include "syncserver.h"

#include <sodium.h>
#include <string.h>

#include "access.h"
#include "alloc.h"
#include "auth.h"
#include "crypto.h"
#include "engine.h"
#include "error.h"
#include "events.h"
#include "store.h"

/* ---- devices ------------------------------------------------------------- */

/* The user login may have a device: an active caseworker or supervisor.
 * out: *user_id.  Inside the caller's transaction. */
static hv_status device_user(hv_engine *e, const char *login, int64_t *user_id)
{
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_preparef(e, &st, "SELECT id, role, active FROM users"
                                     " WHERE login = ?1", "t", login);
    if (s)
        return s;
    int rc = sqlite3_step(st);
    *user_id = 0;
    if (rc == SQLITE_ROW) {
        const char *role = (const char *)sqlite3_column_text(st, 1);
        if (!sqlite3_column_int(st, 2))
            s = hv__fail(e, HV_REFUSED, "device enrol: %s is disabled; enable "
                         "them first", login);
        else if (!hv__role_reads_cases(role))
            s = hv__fail(e, HV_REFUSED, "device enrol: a device holds a "
                         "caseload: caseworkers and supervisors have one (%s "
                         "is %s)", login, role);
        else
            *user_id = sqlite3_column_int64(st, 0);
    } else if (rc == SQLITE_DONE) {
        s = hv__fail(e, HV_NOTFOUND, "device enrol: no user '%s'", login);
    } else {
        s = hv__sql_fail(e, rc, "reading users");
    }
    hv__store_finalize(e, st);
    return s;
}

/* A device enrolled before under name: refused unless it is the same
 * user's and has never synced (then a new code replaces the old one).
 * out: *id (0: no such device). */
static hv_status device_again(hv_engine *e, const char *name, int64_t user_id,
                              int64_t *id)
{
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_preparef(e, &st, "SELECT id, user_id, status,"
                                     " secret_hash IS NOT NULL FROM devices"
                                     " WHERE name = ?1", "t", name);
    if (s)
        return s;
    *id = 0;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (strcmp((const char *)sqlite3_column_text(st, 2), "enrolled"))
            s = hv__fail(e, HV_REFUSED, "device enrol: %s was revoked; enrol "
                         "the laptop under a new name", name);
        else if (sqlite3_column_int64(st, 1) != user_id)
            s = hv__fail(e, HV_REFUSED, "device enrol: %s is enrolled for "
                         "another user; revoke it first", name);
        else if (sqlite3_column_int(st, 3))
            s = hv__fail(e, HV_REFUSED, "device enrol: %s has synced already; "
                         "revoke it and enrol the laptop under a new name", name);
        else
            *id = sqlite3_column_int64(st, 0);
    } else if (rc != SQLITE_DONE) {
        s = hv__sql_fail(e, rc, "reading devices");
    }
    hv__store_finalize(e, st);
    return s;
}

/* Writes the device's code hash (a new device: its row, with a fresh
 * device key sealed under the data key). */
static hv_status device_write(hv_engine *e, const char *name, int64_t user_id,
                              int64_t id, const char *plain, int64_t expires)
{
    unsigned char hash[32], key[32];
    char key_hex[2 * sizeof key + 1];
    sqlite3_stmt *st = NULL;
    hv_status s = HV_OK;
    int fresh = id == 0;
    if (fresh && (s = hv__store_query_int(e, "enrolling a device",
                                          "SELECT coalesce(max(id), 0) + 1 FROM"
                                          " devices", 1, &id, "")))
        return s;
    hv__auth_secret_hash(e, "device-enrol", id, plain, HV_AUTH_CODE_CHARS, hash);
    randombytes_buf(key, sizeof key);
    sodium_bin2hex(key_hex, sizeof key_hex, key, sizeof key);
    sodium_memzero(key, sizeof key);
    s = hv__store_preparef(
        e, &st,
        fresh ? "INSERT INTO devices (id, name, user_id, code_hash, code_expires,"
                " key_sealed, status, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5,"
                " hv_seal(?6, 'devices', 'key_sealed', ?1), 'enrolled', ?7)"
              : "UPDATE devices SET code_hash = ?4, code_expires = ?5 WHERE id = ?1"
                " AND name = ?2 AND user_id = ?3 AND ?6 IS NOT NULL AND ?7 > 0",
        "itiniti", id, name, user_id, NULL, expires,
        key_hex, (int64_t)hv__wall_now(e));
    sodium_memzero(key_hex, sizeof key_hex);
    if (s)
        return s;
    sqlite3_bind_blob(st, 4, hash, sizeof hash, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    hv__store_finalize(e, st);
    return rc == SQLITE_DONE ? HV_OK : hv__sql_fail(e, rc, "enrolling a device");
}

HV_API hv_status hv_device_enrol(hv_engine *e, const char *name,
                                 const char *login, char **out_code)
{
    char code[HV_AUTH_CODE_TEXT], plain[HV_AUTH_CODE_CHARS + 1], until[32];
    int64_t user_id = 0, id = 0;
    hv_status s;
    *out_code = NULL;
    hv__clear_error(e);
    if (sodium_init() < 0)
        return hv__fail(e, HV_INTERNAL, "device enrol: libsodium cannot start");
    if (!hv__device_name_ok(name))
        return hv__fail(e, HV_USAGE, "device enrol: a device name is 1 to 32 "
                                     "of a-z 0-9 and -, not starting with -");
    if (!login || !hv__valid_login(login))
        return hv__fail(e, HV_USAGE, "device enrol: --user: a login is 1 to 64 "
                                     "letters, digits and . _ - @");
    if ((s = hv__need_key(e, "device enrol")) ||
        (s = hv__begin_admin(e, "device enrol: only an administrator enrols "
                                "devices")))
        return s;
    int64_t expires = hv__wall_now(e) + HV_ENROL_CODE_TTL;
    hv__auth_new_code(code, plain);
    if ((s = device_user(e, login, &user_id)) ||
        (s = device_again(e, name, user_id, &id)) ||
        (s = device_write(e, name, user_id, id, plain, expires))) {
        hv__store_rollback(e);
        goto done;
    }
    hv_time_format(expires, until, sizeof until);
    if ((s = hv__store_event_commit(e, 0, "device_enrolled",
                                    json_pack("{s:s,s:s,s:s}", "device", name,
                                              "user", login, "expires", until))))
        goto done;
    if (!(*out_code = hv__strdup(code)))
        s = hv__fail(e, HV_NOMEM, "out of memory");
done:
    sodium_memzero(code, sizeof code);
    sodium_memzero(plain, sizeof plain);
    return s;
}

HV_API hv_status hv_device_revoke(hv_engine *e, const char *name)
{
    int64_t id = 0;
    hv_status s;
    hv__clear_error(e);
    if (!hv__device_name_ok(name))
        return hv__fail(e, HV_USAGE, "device revoke: a device name is 1 to 32 "
                                     "of a-z 0-9 and -");
    if ((s = hv__begin_admin(e, "device revoke: only an administrator revokes "
                                "devices")))
        return s;
    if ((s = hv__store_query_int(e, "reading devices", "SELECT id FROM devices"
                                 " WHERE name = ?1 AND status = 'enrolled'",
                                 0, &id, "t", name)))
        goto fail;
    if (!id) {
        int64_t known = 0;
        if ((s = hv__store_query_int(e, "reading devices", "SELECT count(*) FROM"
                                     " devices WHERE name = ?1", 0, &known, "t",
                                     name)) == HV_OK)
            s = known ? hv__fail(e, HV_REFUSED, "device revoke: %s is revoked "
                                 "already", name)
                      : hv__fail(e, HV_NOTFOUND, "device revoke: no device '%s'",
                                 name);
        goto fail;
    }
    if ((s = hv__store_execf(e, "revoking a device",
                             "UPDATE devices SET status = 'revoked', revoked_at"
                             " = ?2, code_hash = NULL, code_expires = NULL"
                             " WHERE id = ?1", "ii", id,
                             (int64_t)hv__wall_now(e))))
        goto fail;
    return hv__store_event_commit(e, 0, "device_revoked",
                                  json_pack("{s:s}", "device", name));
fail:
    hv__store_rollback(e);
    return s;
}

/* A time column as ISO 8601, or null. */
static json_t *iso_or_null(sqlite3_stmt *st, int i)
{
    char buf[32];
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return json_null();
    hv_time_format(sqlite3_column_int64(st, i), buf, sizeof buf);
    return json_string(buf);
}

HV_API hv_status hv_device_list(hv_engine *e, char **out_json)
{
    sqlite3_stmt *st = NULL;
    char role[32];
    int rc;
    *out_json = NULL;
    hv__clear_error(e);
    hv_status s = hv__require_role(e, "administrator", "device list: only an "
                                   "administrator lists devices", role, sizeof role);
    if (s || (s = hv__store_prepare(e, "SELECT d.name, u.login, d.status,"
                                    " d.enrolled_at, d.revoked_at, d.last_seq,"
                                    " d.last_sync_at FROM devices d JOIN users u"
                                    " ON u.id = d.user_id ORDER BY d.name", &st)))
        return s;
    json_t *arr = json_array();
    while (arr && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *row = json_pack(
            "{s:s,s:s,s:s,s:o,s:o,s:I,s:o}", "name", sqlite3_column_text(st, 0),
            "user", sqlite3_column_text(st, 1), "status",
            sqlite3_column_text(st, 2), "enrolled_at", iso_or_null(st, 3),
            "revoked_at", iso_or_null(st, 4), "last_seq",
            (json_int_t)sqlite3_column_int64(st, 5), "last_sync_at",
            iso_or_null(st, 6));
        if (!row || json_array_append_new(arr, row)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    hv__store_finalize(e, st);
    s = hv__json_out(e, arr, out_json);
    json_decref(arr);
    return s;
}

/* ---- requests ------------------------------------------------------------ */

/* What a request's device row holds, before it is trusted. */
typedef struct {
    hv__device d;
    int found, revoked, has_secret, has_code;
    unsigned char secret_hash[32], code_hash[32];
    int64_t code_expires;
} device_row;

/* Reads the device name into r (r->found 0: none). */
static hv_status device_read(hv_engine *e, const char *name, device_row *r)
{
    sqlite3_stmt *st = NULL;
    memset(r, 0, sizeof *r);
    hv_status s = hv__store_preparef(
        e, &st,
        "SELECT d.id, d.user_id, d.last_seq, coalesce(d.head, ''), u.login,"
        " d.status, d.secret_hash, d.code_hash, coalesce(d.code_expires, 0),"
        " coalesce((SELECT at FROM sync_receipts r WHERE r.device_id = d.id"
        " AND r.at <= r.received_at + ?2 ORDER BY seq DESC LIMIT 1), 0),"
        " d.enrolled_at FROM devices d JOIN users u ON u.id = d.user_id WHERE d.name = ?1",
        "ti", name, (int64_t)HV_SYNC_CLOCK_SLACK);
    if (s)
        return s;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        r->found = 1;
        r->d.id = sqlite3_column_int64(st, 0);
        r->d.user_id = sqlite3_column_int64(st, 1);
        r->d.last_seq = sqlite3_column_int64(st, 2);
        snprintf(r->d.head, sizeof r->d.head, "%s", sqlite3_column_text(st, 3));
        snprintf(r->d.login, sizeof r->d.login, "%s", sqlite3_column_text(st, 4));
        snprintf(r->d.name, sizeof r->d.name, "%s", name);
        r->revoked = strcmp((const char *)sqlite3_column_text(st, 5), "enrolled") != 0;
        if ((r->has_secret = sqlite3_column_bytes(st, 6) == 32))
            memcpy(r->secret_hash, sqlite3_column_blob(st, 6), 32);
        if ((r->has_code = sqlite3_column_bytes(st, 7) == 32))
            memcpy(r->code_hash, sqlite3_column_blob(st, 7), 32);
        r->code_expires = sqlite3_column_int64(st, 8);
        r->d.last_at = sqlite3_column_int64(st, 9);
        r->d.enrolled_at = sqlite3_column_int64(st, 10);
    } else if (rc != SQLITE_DONE) {
        s = hv__sql_fail(e, rc, "reading devices");
    }
    hv__store_finalize(e, st);
    return s;
}

/* The answer of a revoked device: HV_DENIED, {"status": "revoked"}. */
static hv_status revoked(hv_engine *e, const char *name, const char *op,
                         json_t **answer)
{
    *answer = json_pack("{s:s,s:s}", "op", op, "status", "revoked");
    char msg[160];
    snprintf(msg, sizeof msg, "sync refused: device %s is revoked; its copy's "
             "key is to be wiped", name);
    return hv__sync_refuse(e, HV_DENIED, name, op, "revoked", msg);
}

/* The device's user must be the one making the request. */
static hv_status same_user(hv_engine *e, const device_row *r, const char *op)
{
    if (e->actor && !strcmp(e->actor, r->d.login))
        return HV_OK;
    char msg[160];
    snprintf(msg, sizeof msg, "sync refused: device %s belongs to another user",
             r->d.name);
    return hv__sync_refuse(e, HV_DENIED, r->d.name, op, "other_user", msg);
}

/* The request's device and secret: a known device, the right secret, not
 * revoked, the acting user's.  out: *d. */
static hv_status device_auth(hv_engine *e, json_t *req, const char *op,
                             hv__device *d, const char **secret, json_t **answer)
{
    static const char bad[] = "sync refused: unknown device or wrong secret";
    const char *name = json_string_value(json_object_get(req, "device"));
    *secret = json_string_value(json_object_get(req, "secret"));
    device_row r;
    unsigned char hash[32];
    if (!hv__device_name_ok(name))
        return hv__fail(e, HV_USAGE, "sync: \"device\": a device name is 1 to "
                                     "32 of a-z 0-9 and -");
    hv_status s = device_read(e, name, &r);
    if (s)
        return s;
    if (!r.found || !r.has_secret || !*secret ||
        strlen(*secret) != HV_SYNC_HASH_HEX)
        return hv__sync_refuse(e, HV_DENIED, name, op, "bad_secret", bad);
    hv__auth_secret_hash(e, "device-secret", r.d.id, *secret, HV_SYNC_HASH_HEX, hash);
    if (sodium_memcmp(hash, r.secret_hash, sizeof hash) != 0)
        return hv__sync_refuse(e, HV_DENIED, name, op, "bad_secret", bad);
    if (r.revoked)
        return revoked(e, name, op, answer);
    if ((s = same_user(e, &r, op)))
        return s;
    *d = r.d;
    return HV_OK;
}

/* Consumes the device's code (one use) and stores the new secret's hash,
 * with `device_activated`, in one transaction.  *used: the code had
 * gone (another request took it first). */
static hv_status activate(hv_engine *e, const device_row *r, const char *secret,
                          int *used)
{
    unsigned char hash[32];
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_begin(e);
    *used = 0;
    if (s)
        return s;
    hv__auth_secret_hash(e, "device-secret", r->d.id, secret, HV_SYNC_HASH_HEX, hash);
    if ((s = hv__store_preparef(e, &st, "UPDATE devices SET secret_hash = ?2,"
                                " code_hash = NULL, code_expires = NULL WHERE"
                                " id = ?1 AND code_hash = ?3 AND status ="
                                " 'enrolled'", "inn", r->d.id, NULL, NULL))) {
        hv__store_rollback(e);
        return s;
    }
    sqlite3_bind_blob(st, 2, hash, sizeof hash, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 3, r->code_hash, sizeof r->code_hash, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    hv__store_finalize(e, st);
    if (rc != SQLITE_DONE) {
        s = hv__sql_fail(e, rc, "enrolling a device");
        hv__store_rollback(e);
        return s;
    }
    if (sqlite3_changes(e->db) == 0) {
        *used = 1;
        hv__store_rollback(e);
        return HV_OK;
    }
    return hv__store_event_commit(e, 0, "device_activated",
                                  json_pack("{s:s}", "device", r->d.name));
}

/* The op enrol: the one-time code for a device secret. */
static hv_status op_enrol(hv_engine *e, json_t *req, json_t **answer)
{
    static const char bad[] = "sync enrol refused: wrong device or code (or "
                              "the code has expired: ask an administrator for "
                              "a new one)";
    const char *name = json_string_value(json_object_get(req, "device"));
    const char *code = json_string_value(json_object_get(req, "code"));
    char plain[HV_AUTH_CODE_CHARS + 1], secret[HV_SYNC_HASH_HEX + 1];
    unsigned char hash[32], raw[32];
    device_row r;
    int used = 0;
    if (!hv__device_name_ok(name))
        return hv__fail(e, HV_USAGE, "sync: \"device\": a device name is 1 to "
                                     "32 of a-z 0-9 and -");
    hv_status s = device_read(e, name, &r);
    if (s)
        return s;
    /* a revoked device is named so only to its own user */
    if (r.found && r.revoked && e->actor && !strcmp(e->actor, r.d.login))
        return revoked(e, name, "enrol", answer);
    int ok = code && hv__auth_code_normalise(code, plain);
    if (ok && r.found)
        hv__auth_secret_hash(e, "device-enrol", r.d.id, plain, HV_AUTH_CODE_CHARS, hash);
    sodium_memzero(plain, sizeof plain);
    if (!ok || !r.found || r.revoked || !r.has_code ||
        sodium_memcmp(hash, r.code_hash, sizeof hash) != 0 ||
        hv__wall_now(e) >= r.code_expires)
        return hv__sync_refuse(e, HV_DENIED, name, "enrol", "bad_code", bad);
    if ((s = same_user(e, &r, "enrol")))
        return s;
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(secret, sizeof secret, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
    if ((s = activate(e, &r, secret, &used)) == HV_OK && used)
        s = hv__sync_refuse(e, HV_DENIED, name, "enrol", "bad_code", bad);
    if (s == HV_OK && !(*answer = json_pack("{s:s,s:s,s:s}", "op", "enrol",
                                            "device", name, "secret", secret)))
        s = hv__fail(e, HV_NOMEM, "out of memory");
    sodium_memzero(secret, sizeof secret);
    return s;
}

HV_API hv_status hv_sync_serve(hv_engine *e, const char *request_json,
                               char **out_json)
{
    json_error_t jerr;
    json_t *answer = NULL;
    hv__device d;
    const char *secret = NULL;
    int64_t me;
    char role[32];
    hv_status s;
    *out_json = NULL;
    hv__clear_error(e);
    if (sodium_init() < 0)
        return hv__fail(e, HV_INTERNAL, "sync: libsodium cannot start");
    if ((s = hv__not_in_batch(e, "sync")) || (s = hv__actor(e, &me, role, sizeof role)))
        return s;
    json_t *req = json_loads(request_json ? request_json : "", JSON_REJECT_DUPLICATES,
                             &jerr);
    const char *op = json_string_value(json_object_get(req, "op"));
    if (!json_is_object(req))
        s = hv__fail(e, HV_INVALID, "sync: request:%d:%d: not a JSON object",
                     jerr.line, jerr.column);
    else if (!op || (strcmp(op, "enrol") && strcmp(op, "checkout") &&
                     strcmp(op, "upload")))
        s = hv__fail(e, HV_USAGE, "sync: \"op\": enrol, checkout or upload");
    else if (!strcmp(op, "enrol"))
        s = op_enrol(e, req, &answer);
    else if ((s = device_auth(e, req, op, &d, &secret, &answer)) == HV_OK)
        s = !strcmp(op, "checkout") ? hv__sync_checkout(e, &d, req, &answer)
                                    : hv__sync_upload(e, &d, secret, req, &answer);
    if (answer) {
        char *keep = hv__strdup(hv_errmsg(e));
        hv_status j = hv__json_out(e, answer, out_json);
        if (s == HV_OK)
            s = j;
        else if (keep)
            hv__fail(e, s, "%s", keep);
        hv__free(keep);
    }
    json_decref(answer);
    json_decref(req);
    return s;
}
