/* test_auth.c - authentication (engine/auth.c): enrolment codes, Argon2id
 * passwords, bearer tokens (expiry, idle timeout, logout, a disabled
 * user's), the account lock, OS login and OIDC mappings, the audit of
 * each, and that no secret reaches an event or a message.  Argon2 calls
 * are kept few (the suite also runs under ASan). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define PW "correct horse battery"

/* Runs SQL on the database through a connection of its own (the way an
 * attacker with the file, or a test moving time, would). */
static void exec_sql(const char *db_path, const char *sql)
{
    sqlite3 *db = tu_sql_open(db_path);
    assert_non_null(db);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
    tu_sql_close(db);
}

/* How many auth_refused events carry reason. */
static long refusals(const char *db, const char *reason)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM events WHERE kind ="
             " 'auth_refused' AND json_extract(data, '$.reason') = '%s'", reason);
    return tu_count(db, sql);
}

/* How many events hold text anywhere in their data, decision or actor. */
static long events_with(const char *db, const char *text)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM events WHERE instr(data ||"
             " coalesce(decision, '') || actor, '%s') > 0", text);
    return tu_count(db, sql);
}

/* The audit chain verifies (plain and deep) as an administrator. */
static void verify_audit(hv_engine *e)
{
    char *out = NULL;
    assert_int_equal(hv_engine_set_actor(e, "admin"), HV_OK);
    hv_status st = hv_audit_verify(e, NULL, &out);
    if (st != HV_OK)
        fail_msg("audit verify: %s", hv_errmsg(e));
    hv_free(out);
    st = hv_audit_verify_deep(e, NULL, &out);
    if (st != HV_OK)
        fail_msg("audit verify --deep: %s", hv_errmsg(e));
    hv_free(out);
}

/* An enrolment code for login, issued by admin. */
static char *issue_code(hv_engine *e, const char *login)
{
    char *code = NULL;
    assert_int_equal(hv_engine_set_actor(e, "admin"), HV_OK);
    assert_int_equal(hv_user_enrol_code(e, login, &code), HV_OK);
    assert_non_null(code);
    return code;
}

/* A token for login with PW (one Argon2 verify). */
static char *login_ok(hv_engine *e, const char *login, int64_t ttl, int64_t idle)
{
    char *token = NULL, *json = NULL;
    hv_status st = hv_auth_login(e, login, PW, "127.0.0.1", ttl, idle, &token, &json);
    if (st != HV_OK)
        fail_msg("login: %s", hv_errmsg(e));
    assert_non_null(strstr(json, "\"role\""));
    hv_free(json);
    return token;
}

static void enrol_login_tokens(void **state)
{
    (void)state;
    char *dir;
    hv_engine *e = tu_fresh_engine(&dir, NULL);
    const char *db = tu_db_path(dir);
    char dbp[4096];
    snprintf(dbp, sizeof dbp, "%s", db);

    /* only an administrator issues a code */
    char *code = NULL;
    assert_int_equal(hv_engine_set_actor(e, "amal"), HV_OK);
    assert_int_equal(hv_user_enrol_code(e, "bilal", &code), HV_DENIED);
    assert_null(code);
    code = issue_code(e, "amal");
    /* XXXX-XXXX-XXXX-XXXX from the unambiguous alphabet */
    assert_int_equal(strlen(code), 19);
    assert_int_equal(strspn(code, "23456789ABCDEFGHJKLMNPQRSTUVWXYZ-"), 19);
    assert_true(code[4] == '-' && code[9] == '-' && code[14] == '-');
    assert_int_equal(tu_count(dbp, "SELECT count(*) FROM users WHERE login ="
                                   " 'amal' AND length(enrol_hash) = 32"), 1);

    /* a wrong code, a short password, an expired code */
    char wrong[32];
    snprintf(wrong, sizeof wrong, "%s", code);
    wrong[0] = wrong[0] == '2' ? '3' : '2';
    assert_int_equal(hv_auth_enrol(e, "amal", wrong, PW, "127.0.0.1"), HV_FORBIDDEN);
    assert_null(strstr(hv_errmsg(e), wrong));
    assert_int_equal(refusals(dbp, "bad_code"), 1);
    assert_int_equal(hv_auth_enrol(e, "amal", code, "short", NULL), HV_INVALID);
    assert_int_equal(hv_auth_enrol(e, "nobody", code, PW, NULL), HV_FORBIDDEN);
    assert_int_equal(refusals(dbp, "unknown_user"), 1);
    exec_sql(dbp, "UPDATE users SET enrol_expires = 1000 WHERE login = 'amal'");
    assert_int_equal(hv_auth_enrol(e, "amal", code, PW, NULL), HV_FORBIDDEN);
    assert_non_null(strstr(hv_errmsg(e), "expired"));
    assert_int_equal(refusals(dbp, "expired_code"), 1);
    exec_sql(dbp, "UPDATE users SET enrol_expires = 4000000000 WHERE login = 'amal'");

    /* the right code sets the password (lower case, no dashes works too);
     * used once only */
    char typed[32];
    size_t k = 0;
    for (const char *p = code; *p; p++)
        if (*p != '-')
            typed[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    typed[k] = '\0';
    assert_int_equal(hv_auth_enrol(e, "amal", typed, PW, "127.0.0.1"), HV_OK);
    assert_int_equal(tu_count(dbp, "SELECT count(*) FROM users WHERE login ="
                                   " 'amal' AND password_hash LIKE '$argon2id$%'"
                                   " AND enrol_hash IS NULL"), 1);
    assert_int_equal(hv_auth_enrol(e, "amal", code, PW "2", NULL), HV_FORBIDDEN);
    assert_int_equal(refusals(dbp, "bad_code"), 2);

    /* wrong password and unknown login: one message */
    char *token = NULL, *json = NULL;
    assert_int_equal(hv_auth_login(e, "amal", "not the password", "10.0.0.9", 3600,
                                   600, &token, &json), HV_FORBIDDEN);
    assert_null(token);
    assert_string_equal(hv_errmsg(e), "login refused: wrong login or password (or too many attempts: try again later)");
    assert_int_equal(hv_auth_login(e, "nobody", PW, "10.0.0.9", 3600, 600, &token,
                                   &json), HV_FORBIDDEN);
    assert_string_equal(hv_errmsg(e), "login refused: wrong login or password (or too many attempts: try again later)");
    assert_int_equal(refusals(dbp, "bad_password"), 1);
    assert_int_equal(refusals(dbp, "unknown_user"), 2);
    /* an unknown login is not recorded (it may be a password typed in the
     * wrong field): the actor is one no login can be */
    assert_int_equal(tu_count(dbp, "SELECT count(*) FROM events WHERE kind ="
                                   " 'auth_refused' AND actor = '(unknown)'"
                                   " AND json_extract(data, '$.reason') ="
                                   " 'unknown_user'"), 2);
    assert_int_equal(events_with(dbp, "nobody"), 0);

    /* a good login: a token that resolves, stored only as its hash */
    token = login_ok(e, "amal", 3600, 600);
    assert_int_equal(strlen(token), 47);
    assert_memory_equal(token, "hv1.", 4);
    char *who = NULL;
    assert_int_equal(hv_auth_token(e, token, "127.0.0.1", &who), HV_OK);
    assert_string_equal(who, "amal");
    hv_free(who);
    assert_int_equal(tu_count(dbp, "SELECT count(*) FROM auth_tokens WHERE"
                                   " length(hash) = 32"), 1);

    /* last_used is written at most once a minute, not on every request */
    exec_sql(dbp, "UPDATE auth_tokens SET last_used = last_used - 30");
    long before = tu_count(dbp, "SELECT last_used FROM auth_tokens");
    assert_int_equal(hv_auth_token(e, token, NULL, &who), HV_OK);
    hv_free(who);
    assert_int_equal(tu_count(dbp, "SELECT last_used FROM auth_tokens"), before);
    exec_sql(dbp, "UPDATE auth_tokens SET last_used = last_used - 31");
    assert_int_equal(hv_auth_token(e, token, NULL, &who), HV_OK);
    hv_free(who);
    assert_true(tu_count(dbp, "SELECT last_used FROM auth_tokens") >= before + 30);

    /* a forged token of the right shape, and garbage */
    char forged[48];
    snprintf(forged, sizeof forged, "%s", token);
    forged[10] = forged[10] == 'A' ? 'B' : 'A';
    assert_int_equal(hv_auth_token(e, forged, "10.0.0.9", &who), HV_FORBIDDEN);
    assert_null(who);
    assert_int_equal(hv_auth_token(e, "hv1.short", NULL, &who), HV_FORBIDDEN);
    assert_int_equal(hv_auth_token(e, "", NULL, &who), HV_FORBIDDEN);
    assert_int_equal(refusals(dbp, "unknown_token"), 3);

    /* logout revokes it */
    assert_int_equal(hv_auth_logout(e, token), HV_OK);
    assert_int_equal(hv_auth_token(e, token, NULL, &who), HV_FORBIDDEN);
    assert_int_equal(refusals(dbp, "revoked_token"), 1);
    assert_int_equal(hv_auth_logout(e, token), HV_FORBIDDEN);

    /* an expired token, an idle one */
    char *t2 = login_ok(e, "amal", 3600, 600);
    exec_sql(dbp, "UPDATE auth_tokens SET expires_at = 1000 WHERE revoked_at IS NULL");
    assert_int_equal(hv_auth_token(e, t2, NULL, &who), HV_FORBIDDEN);
    assert_int_equal(refusals(dbp, "expired_token"), 1);
    char *t3 = login_ok(e, "amal", 3600, 600);
    exec_sql(dbp, "UPDATE auth_tokens SET last_used = last_used - 601 WHERE"
                  " revoked_at IS NULL AND expires_at > 1000");
    assert_int_equal(hv_auth_token(e, t3, NULL, &who), HV_FORBIDDEN);
    assert_int_equal(refusals(dbp, "idle_token"), 1);

    /* disabling a user revokes their tokens; enabling does not revive them */
    char *t4 = login_ok(e, "amal", 3600, 600);
    assert_int_equal(hv_engine_set_actor(e, "admin"), HV_OK);
    assert_int_equal(hv_user_update(e, "amal", 0, NULL, NULL), HV_OK);
    assert_int_equal(tu_count(dbp, "SELECT count(*) FROM auth_tokens WHERE"
                                   " revoked_at IS NULL"), 0);
    assert_int_equal(hv_auth_token(e, t4, NULL, &who), HV_FORBIDDEN);
    assert_int_equal(hv_user_update(e, "amal", 1, NULL, NULL), HV_OK);
    assert_int_equal(hv_auth_token(e, t4, NULL, &who), HV_FORBIDDEN);
    assert_null(who);

    /* every step audited, no secret in any event */
    assert_int_equal(tu_count(dbp, "SELECT count(*) FROM events WHERE kind ="
                                   " 'user_enrol_code' AND actor = 'admin'"), 1);
    assert_int_equal(tu_count(dbp, "SELECT count(*) FROM events WHERE kind ="
                                   " 'user_enrolled' AND actor = 'amal'"), 1);
    assert_int_equal(tu_count(dbp, "SELECT count(*) FROM events WHERE kind ="
                                   " 'auth_login' AND actor = 'amal'"), 4);
    assert_int_equal(tu_count(dbp, "SELECT count(*) FROM events WHERE kind ="
                                   " 'auth_logout'"), 1);
    assert_int_equal(tu_count(dbp, "SELECT count(*) FROM events WHERE kind ="
                                   " 'auth_refused' AND json_extract(data,"
                                   " '$.from') = '10.0.0.9'"), 3);
    const char *secrets[] = {PW, code, typed, token + 4, t2 + 4, t3 + 4, t4 + 4,
                             "argon2"};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        assert_int_equal(events_with(dbp, secrets[i]), 0);
    assert_int_equal(tu_count(dbp, "SELECT count(*) FROM events e, auth_tokens t"
                                   " WHERE instr(upper(e.data), hex(t.hash)) > 0"
                                   " OR instr(e.data, t.hash) > 0"), 0);
    verify_audit(e);
    hv_free(code);
    hv_free(token);
    hv_free(t2);
    hv_free(t3);
    hv_free(t4);
    hv_engine_close(e);
    tu_rmtree(dir);
    free(dir);
}

static void lock_after_failures(void **state)
{
    (void)state;
    char *dir;
    hv_engine *e = tu_fresh_engine(&dir, NULL);
    char dbp[4096];
    snprintf(dbp, sizeof dbp, "%s", tu_db_path(dir));
    char *code = issue_code(e, "bilal");
    assert_int_equal(hv_auth_enrol(e, "bilal", code, PW, NULL), HV_OK);
    char *token = NULL, *json = NULL;
    for (int i = 0; i < 5; i++)
        assert_int_equal(hv_auth_login(e, "bilal", "wrong password!", "10.1.1.1",
                                       3600, 600, &token, &json), HV_FORBIDDEN);
    /* now even the right password is refused, without a token */
    assert_int_equal(hv_auth_login(e, "bilal", PW, "10.1.1.1", 3600, 600, &token,
                                   &json), HV_FORBIDDEN);
    assert_string_equal(hv_errmsg(e), "login refused: wrong login or password (or too many attempts: try again later)");
    assert_null(token);
    assert_int_equal(refusals(dbp, "bad_password"), 5);
    assert_int_equal(refusals(dbp, "locked"), 1);
    assert_int_equal(tu_count(dbp, "SELECT count(*) FROM auth_tokens"), 0);
    /* counted in the database: another connection sees the lock too */
    hv_engine *other = NULL;
    char *err = NULL;
    assert_int_equal(hv_engine_open(dbp, &other, &err), HV_OK);
    assert_int_equal(hv_auth_login(other, "bilal", PW, NULL, 3600, 600, &token,
                                   &json), HV_FORBIDDEN);
    hv_engine_close(other);
    /* 15 minutes later the account opens again */
    exec_sql(dbp, "UPDATE auth_failures SET at = at - 901");
    token = login_ok(e, "bilal", 3600, 600);
    assert_int_equal(tu_count(dbp, "SELECT count(*) FROM auth_failures"), 0);
    assert_int_equal(events_with(dbp, "wrong password!"), 0);
    verify_audit(e);
    hv_free(token);
    hv_free(code);
    hv_engine_close(e);
    tu_rmtree(dir);
    free(dir);
}

static void os_login_and_oidc(void **state)
{
    (void)state;
    char *dir;
    hv_engine *e = tu_fresh_engine(&dir, NULL);
    char dbp[4096];
    snprintf(dbp, sizeof dbp, "%s", tu_db_path(dir));
    char *who = NULL;
    /* a caseworker maps nobody */
    assert_int_equal(hv_user_map(e, "amal", "amal", NULL), HV_DENIED);
    assert_int_equal(hv_engine_set_actor(e, "admin"), HV_OK);
    assert_int_equal(hv_user_map(e, "amal", "amal_os", "https://idp.example|sub-1"),
                     HV_OK);
    assert_int_equal(hv_user_map(e, "sara", NULL, "Sara.K@Example.org"), HV_OK);
    /* one OS login, one identity per user */
    assert_int_equal(hv_user_map(e, "bilal", "amal_os", NULL), HV_INVALID);
    assert_int_equal(hv_user_map(e, "bilal", "-rf", NULL), HV_USAGE);
    assert_int_equal(hv_user_map(e, "bilal", NULL, "not an identity"), HV_USAGE);
    assert_int_equal(hv_user_map(e, "nobody", "x", NULL), HV_NOTFOUND);

    assert_int_equal(hv_auth_os_login(e, "amal_os", "unix:uid=1001", &who), HV_OK);
    assert_string_equal(who, "amal");
    hv_free(who);
    assert_int_equal(hv_auth_os_login(e, "mallory", "unix:uid=1002", &who),
                     HV_FORBIDDEN);
    assert_null(who);
    assert_int_equal(refusals(dbp, "unmapped_peer"), 1);

    assert_int_equal(hv_auth_oidc(e, "https://idp.example", "sub-1", NULL, NULL, &who),
                     HV_OK);
    assert_string_equal(who, "amal");
    hv_free(who);
    assert_int_equal(hv_auth_oidc(e, "https://idp.example", "sub-9",
                                  "sara.k@example.ORG", NULL, &who), HV_OK);
    assert_string_equal(who, "sara");
    hv_free(who);
    /* the same subject from another issuer is someone else */
    assert_int_equal(hv_auth_oidc(e, "https://evil.example", "sub-1", NULL, "1.2.3.4",
                                  &who), HV_FORBIDDEN);
    assert_int_equal(refusals(dbp, "unknown_oidc"), 1);

    /* a disabled user's mapping no longer lets them in */
    assert_int_equal(hv_user_update(e, "amal", 0, NULL, NULL), HV_OK);
    assert_int_equal(hv_auth_os_login(e, "amal_os", NULL, &who), HV_FORBIDDEN);
    assert_int_equal(refusals(dbp, "disabled_user"), 1);
    /* NULL clears */
    assert_int_equal(hv_user_map(e, "sara", NULL, NULL), HV_OK);
    assert_int_equal(hv_auth_oidc(e, "x", "y", "sara.k@example.org", NULL, &who),
                     HV_FORBIDDEN);

    /* a refusal decided outside (the daemon's) */
    assert_int_equal(hv_auth_refused(e, "bad_jwt", "192.0.2.7"), HV_OK);
    assert_int_equal(refusals(dbp, "bad_jwt"), 1);
    assert_int_equal(hv_auth_refused(e, "Not a code", NULL), HV_USAGE);

    /* user list says who has what, without the values of secrets */
    char *list = NULL;
    assert_int_equal(hv_user_list(e, &list), HV_OK);
    assert_non_null(strstr(list, "\"os_login\": \"amal_os\""));
    assert_non_null(strstr(list, "\"password\": false"));
    assert_null(strstr(list, "idp.example"));
    hv_free(list);
    assert_int_equal(tu_count(dbp, "SELECT count(*) FROM events WHERE kind ="
                                   " 'user_mapped'"), 3);
    assert_int_equal(events_with(dbp, "sub-1"), 0);
    verify_audit(e);
    hv_engine_close(e);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(enrol_login_tokens),
        cmocka_unit_test(lock_after_failures),
        cmocka_unit_test(os_login_and_oidc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
