/* users.c - the people who use Haven (login, role, supervisor), the record
 * of an administrator's unsafe session; and, for now, the administrator's
 * backup and purge. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "access.h"
#include "auth.h"
#include "checkpoint.h"
#include "alloc.h"
#include "migrate.h"
#include "pgstore.h"
#include "store.h"
#include "error.h"
#include "digest.h"
#include "events.h"

static const char *const roles[] = {"caseworker", "supervisor", "manager",
                                    "administrator", "trainer", NULL};

/* 1 if role (not NULL) is one of the roles a user may have. */
static int known_role(const char *role)
{
    for (const char *const *r = roles; *r; r++)
        if (!strcmp(*r, role))
            return 1;
    return 0;
}

/* HV_OK if login is an active user with the supervisor role (only a
 * supervisor gives a team's approvals); else HV_NOTFOUND "no user to
 * supervise" or HV_INVALID naming the role, each prefixed with what. */
static hv_status check_supervisor(hv_engine *e, const char *what,
                                  const char *login)
{
    char *role = NULL;
    hv_status s = hv__store_query_text(e, what, "SELECT role FROM users WHERE"
                                       " login = ?1 AND active = 1",
                                       &role, "t", login);
    if (s)
        return s;
    const char *shown = hv__echo_safe(login) ? login : "?";
    if (!role)
        s = hv__fail(e, HV_NOTFOUND, "%s: no user '%s' to supervise", what, shown);
    else if (strcmp(role, "supervisor"))
        s = hv__fail(e, HV_INVALID, "%s: '%s' is a %s, not a supervisor: only "
                                    "a supervisor supervises caseworkers",
                     what, shown, role);
    hv__free(role);
    return s;
}

HV_API hv_status hv_user_add(hv_engine *e, const char *login, const char *role,
                             const char *supervisor)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    hv__clear_error(e);
    if (!hv__valid_login(login))
        return hv__fail(e, HV_USAGE, "user add: a login is 1 to 64 letters, "
                                     "digits and . _ - @");
    if (!role || !known_role(role))
        return hv__fail(e, HV_USAGE, "user add: --role is one of caseworker, "
                                     "supervisor, manager, administrator, "
                                     "trainer");
    if ((s = hv__begin_admin(e, "user add: only an administrator adds users")))
        return s;
    if (supervisor && (s = check_supervisor(e, "user add", supervisor)))
        goto fail;
    if ((s = hv__store_preparef(
             e, &st,
             "INSERT INTO users (login, agency_id, role,"
             " supervisor_id, created_at) VALUES (?1, ?2, ?3,"
             " (SELECT id FROM users WHERE login = ?4), ?5)",
             "titti", login, e->agency_id, role, supervisor, hv_now(e))))
        goto fail;
    int rc = sqlite3_step(st);
    hv__store_finalize(e, st);
    st = NULL;
    if (rc == SQLITE_CONSTRAINT) {
        s = hv__fail(e, HV_INVALID, "user add: '%s' already exists", login);
        goto fail;
    }
    if (rc != SQLITE_DONE) {
        s = hv__sql_fail(e, rc, "adding a user");
        goto fail;
    }
    return hv__store_event_commit(e, 0, "user_added",
                                  json_pack("{s:s,s:s,s:s?}", "login", login,
                                            "role", role, "supervisor",
                                            supervisor));
fail:
    hv__store_rollback(e);
    return s;
}

/* How many users report to login (any state: a disabled caseworker's
 * cases still wait for their supervisor's approvals).  out: *n. */
static hv_status count_supervisees(hv_engine *e, const char *login, int64_t *n)
{
    return hv__store_query_int(e, "changing a user",
                               "SELECT count(*) FROM users WHERE supervisor_id"
                               " = (SELECT id FROM users WHERE login = ?1)",
                               0, n, "t", login);
}

/* Changes a user (administrators only): active 0/1 (-1: unchanged), role
 * (NULL: unchanged), supervisor (NULL: unchanged, "" none).  A supervisor
 * with users reporting to them keeps the role until those users are moved
 * (their approvals would wait for nobody).  Disabling one is allowed (an
 * absent supervisor must be): their team's approvals then wait until the
 * team is moved to another supervisor, who sees and approves them; the
 * event records how many users were left so. */
HV_API hv_status hv_user_update(hv_engine *e, const char *login, int active,
                                const char *role, const char *supervisor)
{
    hv_status s;
    hv__clear_error(e);
    if (role && !known_role(role))
        return hv__fail(e, HV_USAGE, "user: a role is one of caseworker, "
                                     "supervisor, manager, administrator, trainer");
    if ((s = hv__begin_admin(e, "user: only an administrator changes users")))
        return s;
    if (!strcmp(login, e->actor) && (active == 0 || (role && strcmp(role, "administrator")))) {
        s = hv__fail(e, HV_REFUSED, "user: an administrator cannot disable or "
                                    "demote themself");
        goto fail;
    }
    if (supervisor && supervisor[0] &&
        (s = check_supervisor(e, "user", supervisor)))
        goto fail;
    int64_t team = 0;
    if ((role || active == 0) && (s = count_supervisees(e, login, &team)))
        goto fail;
    if (team && role && strcmp(role, "supervisor")) {
        s = hv__fail(e, HV_INVALID, "user: %s supervises %lld user%s: move them "
                     "to another supervisor first ('user role LOGIN ROLE "
                     "--supervisor OTHER'); nothing changed",
                     hv__echo_safe(login) ? login : "?", (long long)team,
                     team == 1 ? "" : "s");
        goto fail;
    }
    if ((s = hv__store_execf(e, "changing a user",
                             "UPDATE users SET active = CASE WHEN ?2 < 0 THEN"
                             " active ELSE ?2 END, role = coalesce(?3, role),"
                             " supervisor_id = CASE WHEN ?4 IS NULL THEN"
                             " supervisor_id WHEN ?4 = '' THEN NULL ELSE"
                             " (SELECT id FROM users WHERE login = ?4) END"
                             " WHERE login = ?1",
                             "titt", login, (int64_t)active, role, supervisor)))
        goto fail;
    if (sqlite3_changes(e->db) == 0) {
        s = hv__fail(e, HV_NOTFOUND, "user: no user '%s'",
                     hv__echo_safe(login) ? login : "?");
        goto fail;
    }
    /* a disabled user's tokens die with their access */
    int64_t revoked = 0;
    if (active == 0 && (s = hv__auth_revoke_user(e, login, &revoked)))
        goto fail;
    json_t *data = json_pack("{s:s,s:i,s:s?,s:s?}", "login", login, "active",
                             active, "role", role, "supervisor", supervisor);
    if (data && revoked &&
        json_object_set_new(data, "tokens_revoked", json_integer(revoked))) {
        json_decref(data);
        data = NULL;
    }
    if (data && active == 0 && team &&
        json_object_set_new(data, "supervisees_left", json_integer(team))) {
        json_decref(data);
        data = NULL;
    }
    return hv__store_event_commit(e, 0, "user_changed", data);
fail:
    hv__store_rollback(e);
    return s;
}

HV_API hv_status hv_user_list(hv_engine *e, char **out_json)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    *out_json = NULL;
    hv__clear_error(e);
    /* Like every other call: only an existing, active user (exit 77). */
    char role[32];
    int64_t me;
    if ((s = hv__actor(e, &me, role, sizeof role)))
        return s;
    if ((s = hv__store_prepare(e,
                               "SELECT u.login, u.role, s.login, u.active,"
                               " (SELECT count(*) FROM cases WHERE assignee_id"
                               " = u.id AND status = 'open'), u.password_hash IS"
                               " NOT NULL, u.os_login, u.oidc_identity IS NOT NULL"
                               " FROM users u LEFT"
                               " JOIN users s ON s.id = u.supervisor_id ORDER"
                               " BY u.login",
                               &st)))
        return s;
    json_t *arr = json_array();
    int rc;
    while (arr && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *sup = (const char *)sqlite3_column_text(st, 2);
        json_t *row = json_pack("{s:s,s:s,s:s?,s:b,s:I,s:b,s:s?,s:b}", "login",
                                sqlite3_column_text(st, 0), "role",
                                sqlite3_column_text(st, 1), "supervisor", sup,
                                "active", sqlite3_column_int(st, 3), "open_cases",
                                (json_int_t)sqlite3_column_int64(st, 4),
                                "password", sqlite3_column_int(st, 5),
                                "os_login", (const char *)sqlite3_column_text(st, 6),
                                "sso", sqlite3_column_int(st, 7));
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

HV_API hv_status hv_engine_record_unsafe(hv_engine *e, const char *front_end)
{
    char refusal[128];
    hv__clear_error(e);
    /* a label from the caller's code, never typed input: still, only a
     * short plain one reaches the audit trail */
    if (!front_end || !*front_end || strlen(front_end) > 40 ||
        strspn(front_end, "abcdefghijklmnopqrstuvwxyz -") != strlen(front_end))
        return hv__fail(e, HV_USAGE, "unsafe session: not a front end's label");
    snprintf(refusal, sizeof refusal, "%s: only an administrator runs code "
             "outside the sandbox", front_end);
    hv_status s = hv__begin_admin(e, refusal);
    if (s == HV_DENIED) {
        char *keep = hv__strdup(hv_errmsg(e));
        json_t *data = json_pack("{s:s,s:s}", "action", front_end, "why",
                                 "not an administrator");
        hv__audit_event(e, 0, "access_refused", data);
        json_decref(data);
        if (keep) {
            hv__fail(e, HV_DENIED, "%s", keep);
            hv__free(keep);
        }
    }
    if (s)
        return s;
    return hv__store_event_commit(e, 0, "unsafe_session",
                                  json_pack("{s:s}", "action", front_end));
}

/* Writes "<path>.checkpoints" for the backup dest at path: the lines of
 * the database's checkpoints file up to the backup's last entry and that
 * entry signed now, so `audit verify` passes on the backup given copies of
 * the key files (which a backup never holds: keep them apart). */
static hv_status backup_checkpoints(hv_engine *e, sqlite3 *dest, const char *path)
{
    sqlite3_stmt *st = NULL;
    unsigned char hash[32];
    int64_t seq = 0;
    int rc = sqlite3_prepare_v2(dest, "SELECT seq, hash FROM events ORDER BY"
                                      " seq DESC LIMIT 1", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW &&
        sqlite3_column_bytes(st, 1) == (int)sizeof hash) {
        seq = sqlite3_column_int64(st, 0);
        memcpy(hash, sqlite3_column_blob(st, 1), sizeof hash);
    }
    sqlite3_finalize(st);
    if (seq <= 0)
        return hv__fail(e, HV_IOERR, "%s: the backup's audit chain cannot be "
                                     "read back", path);
    return hv__checkpoint_copy(e, path, seq, hash, hv_now(e));
}

/* Copies a PostgreSQL store into the new file at path (pgstore.h: a SQLite
 * file that opens as a file store).  out: *dest, the copy opened. */
static hv_status copy_pg(hv_engine *e, const char *path, sqlite3 **dest)
{
    int version = 0;
    char *err = NULL;
    hv_status s = hv__store_schema_version(e, &version);
    if (s == HV_OK && (s = hv__pg_backup(e->pg, e->db, path, version, &err)))
        s = hv__fail(e, s, "%s: backup failed: %s", path, err ? err : "?");
    hv__free(err);
    if (s == HV_OK && sqlite3_open_v2(path, dest, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        s = hv__fail(e, HV_IOERR, "%s: the backup cannot be read back", path);
    return s;
}

/* Copies the database file into the new file at path, in one step under a
 * consistent read.  out: *dest, the copy opened. */
static hv_status copy_file(hv_engine *e, const char *path, sqlite3 **dest)
{
    int rc = sqlite3_open_v2(path, dest, SQLITE_OPEN_READWRITE, NULL);
    sqlite3_backup *b = rc == SQLITE_OK ? sqlite3_backup_init(*dest, "main", e->db, "main")
                                        : NULL;
    if (!b)
        return hv__fail(e, HV_CANTCREATE, "%s: cannot write the backup: %s", path,
                        *dest ? sqlite3_errmsg(*dest) : sqlite3_errstr(rc));
    rc = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (rc == SQLITE_DONE)
        return HV_OK;
    return rc == SQLITE_BUSY || rc == SQLITE_LOCKED
               ? hv__fail(e, HV_BUSY, "backup: the database is busy; try again")
               : hv__fail(e, HV_IOERR, "%s: backup failed: %s", path, sqlite3_errstr(rc));
}

HV_API hv_status hv_engine_backup(hv_engine *e, const char *path)
{
    char mine[32];
    hv_status s;
    sqlite3 *dest = NULL;
    hv__clear_error(e);
    if (hv__not_in_batch(e, "backup"))
        return HV_USAGE;
    if ((s = hv__require_role(e, "administrator", "backup: only an "
                              "administrator makes backups", mine, sizeof mine)))
        return s;
    /* A new file only, readable by its owner alone. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return hv__fail(e, HV_CANTCREATE, "%s: cannot create: %s", path,
                        strerror(errno));
    close(fd);
    if ((s = e->pg ? copy_pg(e, path, &dest) : copy_file(e, path, &dest)) ||
        (s = backup_checkpoints(e, dest, path)))
        goto fail;
    sqlite3_close(dest);
    json_t *data = json_pack("{s:s}", "action", "backup");
    s = hv__audit_event(e, 0, "backup_made", data);
    json_decref(data);
    return s;
fail:
    sqlite3_close(dest);
    unlink(path);
    return s;
}

/* Reads what purge decides on: the case's status (for hv__free), its
 * closing time (INT64_MIN: none), when it arrived in this database (its
 * last case_imported event, written at this database's time; INT64_MIN:
 * registered here) and the agency's retention period (meta `retention` seconds, else
 * 7 years).  Returns HV_OK, HV_INVALID for a retention that is not a
 * number of seconds, or a failure. */
static hv_status purge_facts(hv_engine *e, int64_t case_id, char **status,
                             int64_t *closed_at, int64_t *arrived,
                             int64_t *retention)
{
    char *text = NULL;
    hv_status s;
    *retention = 7LL * 365 * 86400;
    if ((s = hv__store_query_text(e, "purge",
                                  "SELECT status FROM cases WHERE id = ?1",
                                  status, "i", case_id)) ||
        (s = hv__store_query_int(e, "purge",
                                 "SELECT closed_at FROM cases WHERE id = ?1",
                                 INT64_MIN, closed_at, "i", case_id)) ||
        (s = hv__store_query_int(e, "purge",
                                 "SELECT max(at) FROM events WHERE case_id ="
                                 " ?1 AND kind = 'case_imported'",
                                 INT64_MIN, arrived, "i", case_id)) ||
        (s = hv__store_query_text(e, "purge",
                                  "SELECT value FROM meta WHERE key ="
                                  " 'retention'",
                                  &text, "")))
        return s;
    if (text) {
        char *end;
        errno = 0;
        long long v = strtoll(text, &end, 10);
        /* at most two centuries, so that closing time + retention cannot
         * overflow into a date already past */
        if (!text[0] || *end || errno || v < 0 || v > 200LL * 365 * 86400)
            s = hv__fail(e, HV_INVALID, "purge: the retention setting is not "
                                        "a number of seconds");
        else
            *retention = v;
        hv__free(text);
    }
    return s;
}

HV_API hv_status hv_case_purge(hv_engine *e, const char *ref)
{
    char *status = NULL;
    int64_t case_id = 0, closed_at = 0, arrived = 0, retention = 0;
    hv_status s;
    hv__clear_error(e);
    if (hv__not_in_batch(e, "purge"))
        return HV_USAGE;
    if ((s = hv__begin_admin(e, "purge: only an administrator purges cases")))
        return s;
    if ((s = hv__store_case_lookup(e, ref, &case_id, NULL)) ||
        (s = hv__case_digest_unchanged(e, case_id, ref)) ||
        (s = purge_facts(e, case_id, &status, &closed_at, &arrived,
                         &retention)))
        goto fail;
    if (status && !strcmp(status, "open")) {
        s = hv__fail(e, HV_REFUSED, "purge: %s is open; only a closed case is "
                                    "purged", ref);
        goto fail;
    }
    if (closed_at == INT64_MIN) {
        s = hv__fail(e, HV_REFUSED, "purge: %s has no closing time, so its "
                                    "retention period cannot be measured",
                     ref);
        goto fail;
    }
    /* from the later of its closing and its arrival here: an imported
     * file's closing time is whatever the file says */
    int64_t from = arrived > closed_at ? arrived : closed_at;
    if (hv_now(e) - from < retention) {
        char until[32];
        hv_time_format(from + retention, until, sizeof until);
        s = hv__fail(e, HV_REFUSED, "purge: %s is within the agency's retention "
                                    "period (until %s)", ref, until);
        goto fail;
    }
    /* Identifying data and narrative go; codes, stages, dates, risk and the
     * audit events stay (pseudonymous statistics). */
    static const char *const wipe[] = {
        "DELETE FROM person_name_keys WHERE person_id IN (SELECT id FROM persons"
        " WHERE case_id = ?1)",
        "UPDATE persons SET name = NULL, birth_date = NULL, details = '{}' WHERE"
        " case_id = ?1",
        "UPDATE cases SET location = NULL, form = '{}', transferred_to = NULL"
        " WHERE id = ?1",
        "DELETE FROM notes WHERE case_id = ?1",
        "UPDATE consents SET withdrawn_reason = NULL WHERE case_id = ?1",
        "UPDATE assessments SET data = '{}' WHERE case_id = ?1",
        "UPDATE plans SET goal = '', indicators = '[]', addresses = '[]',"
        " decision_reason = NULL WHERE case_id = ?1",
        "UPDATE plan_actions SET title = '', provider = NULL, status_reason ="
        " NULL WHERE case_id = ?1",
        "UPDATE referrals SET provider = '', outcome = NULL,"
        " consent_override_reason = NULL WHERE case_id = ?1",
        "UPDATE conferences SET participants = '[]', decisions = '[]' WHERE"
        " case_id = ?1",
        "UPDATE followups SET notes = NULL WHERE case_id = ?1",
        "UPDATE reviews SET notes = NULL WHERE case_id = ?1",
        "UPDATE evaluations SET data = '{}' WHERE case_id = ?1",
        "UPDATE approvals SET reason = NULL WHERE case_id = ?1",
        "UPDATE cases SET version = version + 1 WHERE id = ?1",
        NULL};
    for (const char *const *sql = wipe; *sql; sql++) {
        if ((s = hv__store_execf(e, "purging", *sql, "i", case_id)))
            goto fail;
    }
    if ((s = hv__store_event_commit(e, case_id, "purged",
                                    json_pack("{s:s}", "action", "purge"))))
        goto fail;
    /* Push the overwritten pages out of the WAL as well. */
    sqlite3_wal_checkpoint_v2(e->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    hv__free(status);
    return HV_OK;
fail:
    hv__free(status);
    hv__store_rollback(e);
    return s;
}
