/* auth.c - authentication for the agency server: enrolment codes and
 * Argon2id passwords, bearer tokens stored as keyed hashes, the lock after
 * failed logins, and OS login / single sign-on mappings (auth.h). */
#include "auth.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "alloc.h"
#include "core.h"
#include "engine.h"
#include "error.h"
#include "events.h"
#include "store.h"

#define TOKEN_PREFIX "hv1."
#define TOKEN_RAW 32                /* random bytes of a token */
#define TOKEN_B64 43                /* their base64url text, no padding */
#define TOKEN_LEN (4 + TOKEN_B64)
#define LOCK_FAILURES 5             /* failed logins that lock an account */
#define LOCK_WINDOW (15 * 60)       /* ... within this many seconds */
#define LAST_USED_EVERY 60          /* last_used written at most this often */
#define PASSWORD_MAX 1024
#define CODE_CHARS HV_AUTH_CODE_CHARS /* an enrolment code: 4 groups of 4 */
/* The actor of a refusal that names no known user: not a login (logins
 * have no parentheses), so no user can be confused with it. */
#define ANONYMOUS "(unknown)"

/* Without 0/O, 1/I: 32 letters and digits read aloud or typed unmistaken. */
static const char code_alphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/* Verified against for an unknown login, so that a login that does not
 * exist takes as long to refuse as a wrong password (the hash of a random
 * password nobody kept). */
static const char dummy_hash[crypto_pwhash_STRBYTES] =
    "$argon2id$v=19$m=65536,t=2,p=1$42Dx5R39vVC+wWPOryhmPw$"
    "AwFqMFXtf9dPuNfiR4C4COl4vbUfhFHdKCqB1VCKyhE";
/* One answer for an unknown login, a wrong password and a locked account
 * (the audited reasons tell them apart), so no answer tells a login exists. */
static const char login_refused[] = "login refused: wrong login or password "
                                    "(or too many attempts: try again later)";

/* A user as authentication reads them. */
typedef struct {
    int64_t id;
    int active;
    char login[72];
    char role[32];
    char *password_hash;   /* NULL: none yet (hv__free) */
    unsigned char enrol[32];
    int has_enrol;
    int64_t enrol_expires;
} auth_user;

static int64_t wall(void) { return (int64_t)time(NULL); }

/* from as it may be recorded: NULL stays NULL, anything but a short plain
 * address label becomes "?". */
static const char *safe_from(const char *from)
{
    if (!from)
        return NULL;
    size_t n = strlen(from);
    if (n == 0 || n > 80 ||
        strspn(from, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789.:=_-[]/%") != n)
        return "?";
    return from;
}

/* The keyed BLAKE2b-256 of a secret (a token or an enrolment code) into
 * out: keyed with a key derived from the data key when it is here (so
 * whoever holds only the file cannot test guesses), else plain; domain
 * and user_id (0: none) are hashed in first. */
static void secret_hash(const hv_engine *e, const char *domain, int64_t user_id,
                        const char *secret, size_t n, unsigned char out[32])
{
    unsigned char key[32];
    crypto_generichash_state h;
    if (e->have_key) {
        crypto_generichash(key, sizeof key, (const unsigned char *)"haven-auth-secrets",
                           18, e->data_key, sizeof e->data_key);
        crypto_generichash_init(&h, key, sizeof key, 32);
    } else {
        crypto_generichash_init(&h, NULL, 0, 32);
    }
    unsigned char id[8];
    for (int i = 0; i < 8; i++)
        id[i] = (unsigned char)((uint64_t)user_id >> (8 * i));
    crypto_generichash_update(&h, (const unsigned char *)domain, strlen(domain) + 1);
    crypto_generichash_update(&h, id, sizeof id);
    crypto_generichash_update(&h, (const unsigned char *)secret, n);
    crypto_generichash_final(&h, out, 32);
    sodium_memzero(key, sizeof key);
}

/* Appends the event kind as actor (not the engine's acting user: the one
 * logging in, or ANONYMOUS) inside the open transaction. */
static hv_status append_as(hv_engine *e, const char *actor, const char *kind,
                           json_t *data)
{
    char *keep = e->actor;
    e->actor = (char *)actor;
    hv_status s = hv__store_append_event(e, 0, kind, data, NULL);
    e->actor = keep;
    return s;
}

/* Refuses with HV_FORBIDDEN and msg, after recording `auth_refused`
 * (reason, from) in its own transaction as actor (NULL: ANONYMOUS) and,
 * when fail_user is not 0, a failed attempt against that account.  The
 * refusal stands even when it cannot be recorded. */
static hv_status refuse(hv_engine *e, const char *actor, const char *reason,
                        const char *from, int64_t fail_user, const char *msg)
{
    json_t *data = json_pack("{s:s,s:s?}", "reason", reason, "from", safe_from(from));
    hv_status s = data ? hv__store_begin(e) : HV_NOMEM;
    if (s == HV_OK && fail_user)
        s = hv__store_execf(e, "recording a failed login",
                            "INSERT INTO auth_failures (user_id, at) VALUES (?1, ?2)",
                            "ii", fail_user, wall());
    if (s == HV_OK && fail_user)
        s = hv__store_execf(e, "recording a failed login",
                            "DELETE FROM auth_failures WHERE user_id = ?1 AND at <= ?2",
                            "ii", fail_user, wall() - LOCK_WINDOW);
    if (s == HV_OK)
        s = append_as(e, actor ? actor : ANONYMOUS, "auth_refused", data);
    if (s == HV_OK)
        s = hv__store_commit(e);
    if (s != HV_OK && data)
        hv__store_rollback(e);
    json_decref(data);
    return hv__fail(e, HV_FORBIDDEN, "%s", msg);
}

enum user_key { BY_LOGIN, BY_OS_LOGIN, BY_OIDC };

/* Reads the user whose login, OS login or OIDC identity is key (for
 * BY_OIDC: the identity, or the e-mail alt when no identity matches).
 * out: *u (the caller frees u->password_hash), *found. */
static hv_status user_by(hv_engine *e, enum user_key by, const char *key,
                         const char *alt, auth_user *u, int *found)
{
    static const char *const sql[] = {
        "SELECT id, login, role, active, password_hash, enrol_hash, enrol_expires"
        " FROM users WHERE login = ?1",
        "SELECT id, login, role, active, password_hash, enrol_hash, enrol_expires"
        " FROM users WHERE os_login = ?1",
        "SELECT id, login, role, active, password_hash, enrol_hash, enrol_expires"
        " FROM users WHERE oidc_identity = ?1 OR (instr(?2, '@') > 0 AND"
        " instr(?2, '|') = 0 AND instr(oidc_identity, '|') = 0 AND"
        " oidc_identity = lower(?2)) ORDER BY oidc_identity = ?1 DESC LIMIT 1"};
    sqlite3_stmt *st = NULL;
    memset(u, 0, sizeof *u);
    *found = 0;
    hv_status s = hv__store_preparef(e, &st, sql[by], "tt", key, alt);
    if (s)
        return s;
    int rc = sqlite3_step(st), lost = 0;
    if (rc == SQLITE_ROW) {
        *found = 1;
        u->id = sqlite3_column_int64(st, 0);
        snprintf(u->login, sizeof u->login, "%s", sqlite3_column_text(st, 1));
        snprintf(u->role, sizeof u->role, "%s", sqlite3_column_text(st, 2));
        u->active = sqlite3_column_int(st, 3);
        u->password_hash = hv__column_strdup(st, 4);
        lost = sqlite3_column_type(st, 4) == SQLITE_TEXT && !u->password_hash;
        if (sqlite3_column_bytes(st, 5) == 32) {
            memcpy(u->enrol, sqlite3_column_blob(st, 5), 32);
            u->has_enrol = 1;
        }
        u->enrol_expires = sqlite3_column_int64(st, 6);
    }
    hv__store_finalize(e, st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return hv__sql_fail(e, rc, "reading a user");
    if (lost)
        return hv__fail(e, HV_NOMEM, "out of memory");
    return HV_OK;
}

/* The failed logins of the user within the lock window.  out: *n. */
static hv_status failures(hv_engine *e, int64_t user_id, int64_t *n)
{
    return hv__store_query_int(e, "reading failed logins",
                               "SELECT count(*) FROM auth_failures WHERE"
                               " user_id = ?1 AND at > ?2",
                               0, n, "ii", user_id, wall() - LOCK_WINDOW);
}

hv_status hv__auth_revoke_user(hv_engine *e, const char *login, int64_t *count)
{
    *count = 0;
    hv_status s = hv__store_execf(e, "revoking tokens",
                                  "UPDATE auth_tokens SET revoked_at = ?2 WHERE"
                                  " revoked_at IS NULL AND user_id = (SELECT id"
                                  " FROM users WHERE login = ?1)",
                                  "ti", login, wall());
    if (s == HV_OK)
        *count = sqlite3_changes(e->db);
    return s;
}

/* ---- enrolment ----------------------------------------------------------- */

/* Copies code into out (CODE_CHARS + 1) without dashes and spaces, in
 * capitals.  0 when it is not CODE_CHARS characters of the alphabet. */
static int normalise_code(const char *code, char out[CODE_CHARS + 1])
{
    size_t n = 0;
    for (const char *p = code; *p; p++) {
        if (*p == '-' || *p == ' ')
            continue;
        char c = (char)toupper((unsigned char)*p);
        if (n == CODE_CHARS || !strchr(code_alphabet, c) || c == '\0')
            return 0;
        out[n++] = c;
    }
    out[n] = '\0';
    return n == CODE_CHARS;
}

void hv__auth_new_code(char code[HV_AUTH_CODE_TEXT], char plain[HV_AUTH_CODE_CHARS + 1])
{
    for (int i = 0, k = 0; i < CODE_CHARS; i++) {
        plain[i] = code_alphabet[randombytes_uniform(sizeof code_alphabet - 1)];
        if (i && i % 4 == 0)
            code[k++] = '-';
        code[k++] = plain[i];
        code[k] = '\0';
    }
    plain[CODE_CHARS] = '\0';
}

int hv__auth_code_normalise(const char *code, char out[HV_AUTH_CODE_CHARS + 1])
{
    return normalise_code(code, out);
}

void hv__auth_secret_hash(const hv_engine *e, const char *domain, int64_t id,
                          const char *secret, size_t n, unsigned char out[32])
{
    secret_hash(e, domain, id, secret, n, out);
}

HV_API hv_status hv_user_enrol_code(hv_engine *e, const char *login, char **out_code)
{
    char code[CODE_CHARS + CODE_CHARS / 4], plain[CODE_CHARS + 1];
    unsigned char hash[32];
    int64_t id = 0, active = 0;
    hv_status s;
    *out_code = NULL;
    hv__clear_error(e);
    if (sodium_init() < 0)
        return hv__fail(e, HV_INTERNAL, "user enrol: libsodium cannot start");
    if (!hv__valid_login(login))
        return hv__fail(e, HV_USAGE, "user enrol: a login is 1 to 64 letters, "
                                     "digits and . _ - @");
    if ((s = hv__begin_admin(e, "user enrol: only an administrator issues "
                            "enrolment codes")))
        return s;
    if ((s = hv__store_query_int(e, "user enrol", "SELECT id FROM users WHERE"
                                 " login = ?1", 0, &id, "t", login)) ||
        (s = hv__store_query_int(e, "user enrol", "SELECT active FROM users"
                                 " WHERE login = ?1", 0, &active, "t", login)))
        goto fail;
    if (!id) {
        s = hv__fail(e, HV_NOTFOUND, "user enrol: no user '%s'",
                     hv__echo_safe(login) ? login : "?");
        goto fail;
    }
    if (!active) {
        s = hv__fail(e, HV_REFUSED, "user enrol: %s is disabled; enable them first",
                     hv__echo_safe(login) ? login : "the user");
        goto fail;
    }
    hv__auth_new_code(code, plain);
    secret_hash(e, "enrol", id, plain, CODE_CHARS, hash);
    sodium_memzero(plain, sizeof plain);
    int64_t expires = wall() + HV_ENROL_CODE_TTL;
    char until[32];
    hv_time_format(expires, until, sizeof until);
    sqlite3_stmt *st = NULL;
    if ((s = hv__store_preparef(e, &st, "UPDATE users SET enrol_hash = ?2,"
                                " enrol_expires = ?3 WHERE id = ?1", "ini", id, NULL, expires)))
        goto fail;
    sqlite3_bind_blob(st, 2, hash, sizeof hash, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    hv__store_finalize(e, st);
    if (rc != SQLITE_DONE) {
        s = hv__sql_fail(e, rc, "issuing an enrolment code");
        goto fail;
    }
    if ((s = hv__store_event_commit(e, 0, "user_enrol_code",
                                    json_pack("{s:s,s:s}", "login", login,
                                              "expires", until))))
        return s;
    if (!(*out_code = hv__strdup(code)))
        return hv__fail(e, HV_NOMEM, "out of memory");
    sodium_memzero(code, sizeof code);
    return HV_OK;
fail:
    hv__store_rollback(e);
    return s;
}

/* The password's hash (Argon2id) into out, or HV_NOMEM. */
static hv_status hash_password(hv_engine *e, const char *password,
                               char out[crypto_pwhash_STRBYTES])
{
    if (crypto_pwhash_str(out, password, strlen(password),
                          crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return hv__fail(e, HV_NOMEM, "enrol: out of memory hashing the password");
    return HV_OK;
}

/* Sets the user's password hash if their code is still the one hashed as
 * enrol (one use only), revokes their tokens, clears their failures and
 * records `user_enrolled`, in one transaction.  *used: the code had gone. */
static hv_status set_password(hv_engine *e, const auth_user *u, const char *pwhash,
                              const char *from, int *used)
{
    sqlite3_stmt *st = NULL;
    int64_t revoked = 0;
    *used = 0;
    hv_status s = hv__store_begin(e);
    if (s)
        return s;
    if ((s = hv__store_preparef(e, &st, "UPDATE users SET password_hash = ?2,"
                                " enrol_hash = NULL, enrol_expires = NULL WHERE"
                                " id = ?1 AND enrol_hash = ?3", "itn", u->id, pwhash, NULL)))
        goto fail;
    sqlite3_bind_blob(st, 3, u->enrol, sizeof u->enrol, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    hv__store_finalize(e, st);
    if (rc != SQLITE_DONE) {
        s = hv__sql_fail(e, rc, "setting a password");
        goto fail;
    }
    if (sqlite3_changes(e->db) == 0) {
        *used = 1;
        hv__store_rollback(e);
        return HV_OK;
    }
    if ((s = hv__auth_revoke_user(e, u->login, &revoked)) ||
        (s = hv__store_execf(e, "setting a password", "DELETE FROM auth_failures"
                             " WHERE user_id = ?1", "i", u->id)))
        goto fail;
    json_t *data = json_pack("{s:s?,s:I}", "from", safe_from(from),
                             "tokens_revoked", (json_int_t)revoked);
    s = data ? append_as(e, u->login, "user_enrolled", data) : HV_NOMEM;
    json_decref(data);
    if (s == HV_OK)
        return hv__store_commit(e);
fail:
    hv__store_rollback(e);
    return s;
}

HV_API hv_status hv_auth_enrol(hv_engine *e, const char *login, const char *code,
                               const char *password, const char *from)
{
    static const char bad[] = "enrol refused: wrong login or code (or too many "
                              "attempts: try again later)";
    char plain[CODE_CHARS + 1], pwhash[crypto_pwhash_STRBYTES];
    unsigned char hash[32];
    auth_user u;
    int found = 0, used = 0;
    int64_t n = 0;
    memset(&u, 0, sizeof u);
    hv__clear_error(e);
    if (sodium_init() < 0)
        return hv__fail(e, HV_INTERNAL, "enrol: libsodium cannot start");
    if (!login || !code || !password)
        return hv__fail(e, HV_USAGE, "enrol: a login, a code and a password are needed");
    size_t len = strlen(password);
    if (len < HV_PASSWORD_MIN || len > PASSWORD_MAX)
        return hv__fail(e, HV_INVALID, "enrol: a password has %d to %d characters",
                        HV_PASSWORD_MIN, PASSWORD_MAX);
    hv_status s = hv__valid_login(login) ? user_by(e, BY_LOGIN, login, NULL, &u, &found)
                                         : HV_OK;
    if (s)
        return s;
    if (!found)
        return refuse(e, NULL, "unknown_user", from, 0, bad);
    if ((s = failures(e, u.id, &n)))
        goto done;
    if (n >= LOCK_FAILURES) {
        s = refuse(e, u.login, "locked", from, 0, bad);
        goto done;
    }
    int ok = normalise_code(code, plain);
    if (ok)
        secret_hash(e, "enrol", u.id, plain, CODE_CHARS, hash);
    sodium_memzero(plain, sizeof plain);
    if (!ok || !u.has_enrol || sodium_memcmp(hash, u.enrol, sizeof hash) != 0) {
        s = refuse(e, u.login, "bad_code", from, u.id, bad);
        goto done;
    }
    if (wall() >= u.enrol_expires) {
        s = refuse(e, u.login, "expired_code", from, 0,
                   "enrol refused: the code has expired; ask an administrator "
                   "for a new one");
        goto done;
    }
    if (!u.active) {
        s = refuse(e, u.login, "disabled_user", from, 0, "enrol refused: the "
                                                         "account is disabled");
        goto done;
    }
    if ((s = hash_password(e, password, pwhash)) ||
        (s = set_password(e, &u, pwhash, from, &used)))
        goto done;
    if (used)
        s = refuse(e, u.login, "bad_code", from, u.id, bad);
done:
    sodium_memzero(pwhash, sizeof pwhash);
    hv__free(u.password_hash);
    return s;
}

/* ---- login and tokens ---------------------------------------------------- */

/* 1 when token has the shape of a Haven token: "hv1." and 43 base64url
 * characters. */
static int token_shape(const char *token)
{
    if (!token || strlen(token) != TOKEN_LEN ||
        strncmp(token, TOKEN_PREFIX, 4))
        return 0;
    return strspn(token + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789-_") == TOKEN_B64;
}

/* Stores a new token for u (hash only), clears u's failures and records
 * `auth_login`, in one transaction; refuses (locked) when failures reached
 * the lock meanwhile.  out: token (TOKEN_LEN + 1). */
static hv_status issue_token(hv_engine *e, const auth_user *u, const char *from,
                             int64_t ttl_s, int64_t idle_s, char token[TOKEN_LEN + 1],
                             char until[32])
{
    unsigned char raw[TOKEN_RAW], hash[32];
    sqlite3_stmt *st = NULL;
    int64_t now = wall(), n = 0;
    randombytes_buf(raw, sizeof raw);
    memcpy(token, TOKEN_PREFIX, 4);
    sodium_bin2base64(token + 4, TOKEN_B64 + 1, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    secret_hash(e, "token", 0, token, TOKEN_LEN, hash);
    hv_time_format(now + ttl_s, until, 32);
    hv_status s = hv__store_begin(e);
    if (s)
        return s;
    if ((s = failures(e, u->id, &n)))
        goto fail;
    if (n >= LOCK_FAILURES) {
        hv__store_rollback(e);
        return refuse(e, u->login, "locked", from, 0, login_refused);
    }
    if ((s = hv__store_preparef(e, &st, "INSERT INTO auth_tokens (hash, user_id,"
                                " created_at, expires_at, idle_timeout, last_used)"
                                " VALUES (?1, ?2, ?3, ?4, ?5, ?3)", "niiii",
                                NULL, u->id, now, now + ttl_s, idle_s)))
        goto fail;
    sqlite3_bind_blob(st, 1, hash, sizeof hash, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    hv__store_finalize(e, st);
    if (rc != SQLITE_DONE) {
        s = hv__sql_fail(e, rc, "storing a token");
        goto fail;
    }
    if ((s = hv__store_execf(e, "logging in", "DELETE FROM auth_failures WHERE"
                             " user_id = ?1", "i", u->id)))
        goto fail;
    json_t *data = json_pack("{s:s?,s:s}", "from", safe_from(from), "expires", until);
    s = data ? append_as(e, u->login, "auth_login", data) : HV_NOMEM;
    json_decref(data);
    if (s == HV_OK)
        return hv__store_commit(e);
fail:
    hv__store_rollback(e);
    return s;
}

HV_API hv_status hv_auth_login(hv_engine *e, const char *login, const char *password,
                               const char *from, int64_t ttl_s, int64_t idle_s,
                               char **out_token, char **out_json)
{
    char token[TOKEN_LEN + 1], until[32];
    auth_user u;
    int found = 0;
    int64_t n = 0;
    *out_token = NULL;
    *out_json = NULL;
    memset(&u, 0, sizeof u);
    hv__clear_error(e);
    if (sodium_init() < 0)
        return hv__fail(e, HV_INTERNAL, "login: libsodium cannot start");
    if (!login || !password || ttl_s <= 0 || idle_s <= 0)
        return hv__fail(e, HV_USAGE, "login: a login, a password and positive "
                                     "lifetimes are needed");
    size_t len = strlen(password);
    hv_status s = hv__valid_login(login) ? user_by(e, BY_LOGIN, login, NULL, &u, &found)
                                         : HV_OK;
    if (s)
        return s;
    if (!found) {
        /* as long as a wrong password takes */
        int ignored = crypto_pwhash_str_verify(dummy_hash, password, len);
        (void)ignored;
        return refuse(e, NULL, "unknown_user", from, 0, login_refused);
    }
    if ((s = failures(e, u.id, &n)))
        goto done;
    if (n >= LOCK_FAILURES) {
        /* as long as a wrong password takes, and the same answer */
        int ignored = crypto_pwhash_str_verify(dummy_hash, password, len);
        (void)ignored;
        s = refuse(e, u.login, "locked", from, 0, login_refused);
        goto done;
    }
    /* (a stored hash in a buffer of the size libsodium reads) */
    char stored[crypto_pwhash_STRBYTES] = {0};
    snprintf(stored, sizeof stored, "%s", u.password_hash ? u.password_hash : dummy_hash);
    int ok = len <= PASSWORD_MAX && crypto_pwhash_str_verify(stored, password, len) == 0 &&
             u.password_hash;
    if (!ok) {
        s = refuse(e, u.login, u.active ? "bad_password" : "disabled_user", from,
                   u.id, login_refused);
        goto done;
    }
    if (!u.active) {
        s = refuse(e, u.login, "disabled_user", from, 0,
                   "login refused: the account is disabled");
        goto done;
    }
    if ((s = issue_token(e, &u, from, ttl_s, idle_s, token, until)))
        goto done;
    json_t *answer = json_pack("{s:s,s:s,s:s}", "user", u.login, "role", u.role,
                               "expires", until);
    if ((s = hv__json_out(e, answer, out_json)) == HV_OK &&
        !(*out_token = hv__strdup(token))) {
        hv__free(*out_json);
        *out_json = NULL;
        s = hv__fail(e, HV_NOMEM, "out of memory");
    }
    json_decref(answer);
done:
    sodium_memzero(token, sizeof token);
    hv__free(u.password_hash);
    return s;
}

/* A token's row as resolution reads it. */
typedef struct {
    int64_t id, expires, idle, last_used, revoked;
    int active, found;
    char login[72];
} token_row;

/* Reads the token's row (by its hash).  out: *t (t->found 0: none). */
static hv_status token_lookup(hv_engine *e, const char *token, token_row *t)
{
    unsigned char hash[32];
    sqlite3_stmt *st = NULL;
    memset(t, 0, sizeof *t);
    secret_hash(e, "token", 0, token, TOKEN_LEN, hash);
    hv_status s = hv__store_prepare(e, "SELECT t.id, u.login, u.active, t.expires_at,"
                                       " t.idle_timeout, t.last_used, coalesce("
                                       "t.revoked_at, 0) FROM auth_tokens t JOIN"
                                       " users u ON u.id = t.user_id WHERE t.hash = ?1",
                                    &st);
    if (s)
        return s;
    sqlite3_bind_blob(st, 1, hash, sizeof hash, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        t->found = 1;
        t->id = sqlite3_column_int64(st, 0);
        snprintf(t->login, sizeof t->login, "%s", sqlite3_column_text(st, 1));
        t->active = sqlite3_column_int(st, 2);
        t->expires = sqlite3_column_int64(st, 3);
        t->idle = sqlite3_column_int64(st, 4);
        t->last_used = sqlite3_column_int64(st, 5);
        t->revoked = sqlite3_column_int64(st, 6);
    }
    hv__store_finalize(e, st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return hv__sql_fail(e, rc, "reading a token");
    return HV_OK;
}

HV_API hv_status hv_auth_token(hv_engine *e, const char *token, const char *from,
                               char **out_login)
{
    token_row t;
    int64_t now = wall();
    *out_login = NULL;
    hv__clear_error(e);
    if (!token_shape(token))
        return refuse(e, NULL, "unknown_token", from, 0, "token refused: not a "
                                                          "valid token; log in again");
    hv_status s = token_lookup(e, token, &t);
    if (s)
        return s;
    if (!t.found)
        return refuse(e, NULL, "unknown_token", from, 0, "token refused: not a "
                                                          "valid token; log in again");
    if (t.revoked)
        return refuse(e, t.login, "revoked_token", from, 0,
                      "token refused: revoked; log in again");
    if (!t.active)
        return refuse(e, t.login, "disabled_user", from, 0,
                      "token refused: the account is disabled");
    if (now >= t.expires)
        return refuse(e, t.login, "expired_token", from, 0,
                      "token refused: expired; log in again");
    if (now - t.last_used >= t.idle)
        return refuse(e, t.login, "idle_token", from, 0,
                      "token refused: unused too long; log in again");
    if (now - t.last_used >= LAST_USED_EVERY) {
        /* a best effort: a busy database does not refuse a good token */
        if (hv__store_begin(e) == HV_OK) {
            if (hv__store_execf(e, "using a token", "UPDATE auth_tokens SET"
                                " last_used = ?2 WHERE id = ?1", "ii", t.id, now) ||
                hv__store_commit(e))
                hv__store_rollback(e);
        }
        hv__clear_error(e);
    }
    if (!(*out_login = hv__strdup(t.login)))
        return hv__fail(e, HV_NOMEM, "out of memory");
    return HV_OK;
}

HV_API hv_status hv_auth_logout(hv_engine *e, const char *token)
{
    token_row t;
    hv__clear_error(e);
    hv_status s = token_shape(token) ? token_lookup(e, token, &t) : HV_OK;
    if (s)
        return s;
    if (!token_shape(token) || !t.found || t.revoked || wall() >= t.expires)
        return refuse(e, token_shape(token) && t.found ? t.login : NULL,
                      "unknown_token", NULL, 0, "logout: not a live token");
    if ((s = hv__store_begin(e)))
        return s;
    if ((s = hv__store_execf(e, "logging out", "UPDATE auth_tokens SET revoked_at"
                             " = ?2 WHERE id = ?1", "ii", t.id, wall())))
        goto fail;
    json_t *data = json_object();
    s = data ? append_as(e, t.login, "auth_logout", data) : HV_NOMEM;
    json_decref(data);
    if (s == HV_OK)
        return hv__store_commit(e);
fail:
    hv__store_rollback(e);
    return s;
}

/* ---- OS logins and single sign-on --------------------------------------- */

/* The Haven user mapped by key (BY_OS_LOGIN, BY_OIDC) if active, else a
 * refusal with reason unmapped (or disabled_user).  out: *out_login. */
static hv_status resolve_mapped(hv_engine *e, enum user_key by, const char *key,
                                const char *alt, const char *from,
                                const char *unmapped, const char *msg,
                                char **out_login)
{
    auth_user u;
    int found = 0;
    *out_login = NULL;
    hv_status s = user_by(e, by, key, alt, &u, &found);
    if (s)
        return s;
    hv__free(u.password_hash);
    if (!found)
        return refuse(e, NULL, unmapped, from, 0, msg);
    if (!u.active)
        return refuse(e, u.login, "disabled_user", from, 0,
                      "refused: the account is disabled");
    if (!(*out_login = hv__strdup(u.login)))
        return hv__fail(e, HV_NOMEM, "out of memory");
    return HV_OK;
}

HV_API hv_status hv_auth_os_login(hv_engine *e, const char *os_login, const char *from,
                                  char **out_login)
{
    *out_login = NULL;
    hv__clear_error(e);
    if (!os_login || !*os_login)
        return refuse(e, NULL, "unmapped_peer", from, 0, "refused: the peer has "
                                                         "no OS login");
    return resolve_mapped(e, BY_OS_LOGIN, os_login, NULL, from, "unmapped_peer",
                          "refused: this OS login is not mapped to a Haven user "
                          "(an administrator runs 'haven user map')",
                          out_login);
}

HV_API hv_status hv_auth_oidc(hv_engine *e, const char *issuer, const char *subject,
                              const char *email, const char *from, char **out_login)
{
    *out_login = NULL;
    hv__clear_error(e);
    if (!issuer || !subject || !*issuer || !*subject)
        return refuse(e, NULL, "unknown_oidc", from, 0, "refused: the identity "
                                                        "has no issuer or subject");
    char *identity = hv__asprintf("%s|%s", issuer, subject);
    if (!identity)
        return hv__fail(e, HV_NOMEM, "out of memory");
    hv_status s = resolve_mapped(e, BY_OIDC, identity, email && *email ? email : NULL,
                                 from, "unknown_oidc",
                                 "refused: this identity is not mapped to a Haven "
                                 "user (an administrator runs 'haven user map')",
                                 out_login);
    hv__free(identity);
    return s;
}

HV_API hv_status hv_auth_refused(hv_engine *e, const char *reason, const char *from)
{
    hv__clear_error(e);
    size_t n = reason ? strlen(reason) : 0;
    if (n == 0 || n > 40 || strspn(reason, "abcdefghijklmnopqrstuvwxyz_") != n)
        return hv__fail(e, HV_USAGE, "auth: a refusal's reason is a short code");
    json_t *data = json_pack("{s:s,s:s?}", "reason", reason, "from", safe_from(from));
    if (!data)
        return hv__fail(e, HV_NOMEM, "out of memory");
    hv_status s = hv__store_begin(e);
    if (s == HV_OK && (s = append_as(e, ANONYMOUS, "auth_refused", data)) == HV_OK)
        s = hv__store_commit(e);
    else if (s != HV_OK)
        hv__store_rollback(e);
    json_decref(data);
    return s;
}

/* ---- mappings ------------------------------------------------------------ */

/* 1 for an OS login: 1 to 32 letters, digits, . _ - not starting with -. */
static int valid_os_login(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 32 && s[0] != '-' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789._-") == n;
}

/* The identity as stored (malloc) into *out: "ISSUER|SUBJECT" as given,
 * or an e-mail in small letters; NULL *out with HV_USAGE when it is
 * neither (printable, no spaces, at most 512 bytes). */
static hv_status identity_key(hv_engine *e, const char *id, char **out)
{
    size_t n = strlen(id);
    *out = NULL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] <= ' ' || (unsigned char)id[i] == 0x7f)
            n = 0;
    const char *bar = strchr(id, '|');
    if (n == 0 || n > 512 || (bar ? bar == id || !bar[1] : !strchr(id, '@')))
        return hv__fail(e, HV_USAGE, "user map: --oidc is ISSUER|SUBJECT or an "
                                     "e-mail address");
    if (!(*out = hv__strdup(id)))
        return hv__fail(e, HV_NOMEM, "out of memory");
    if (!bar)
        for (char *p = *out; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    return HV_OK;
}

HV_API hv_status hv_user_map(hv_engine *e, const char *login, const char *os_login,
                             const char *oidc_identity)
{
    char *ident = NULL;
    int64_t taken = 0;
    hv_status s;
    hv__clear_error(e);
    if (!hv__valid_login(login))
        return hv__fail(e, HV_USAGE, "user map: a login is 1 to 64 letters, "
                                     "digits and . _ - @");
    if (os_login && !valid_os_login(os_login))
        return hv__fail(e, HV_USAGE, "user map: --os-login is 1 to 32 letters, "
                                     "digits and . _ -");
    if (oidc_identity && (s = identity_key(e, oidc_identity, &ident)))
        return s;
    if ((s = hv__begin_admin(e, "user map: only an administrator maps logins")))
        goto out;
    if ((s = hv__store_query_int(e, "user map", "SELECT count(*) FROM users WHERE"
                                 " login <> ?1 AND (os_login = ?2 OR"
                                 " oidc_identity = ?3)", 0, &taken, "ttt",
                                 login, os_login, ident)))
        goto fail;
    if (taken) {
        s = hv__fail(e, HV_INVALID, "user map: that OS login or identity is "
                                    "mapped to another user already");
        goto fail;
    }
    if ((s = hv__store_execf(e, "mapping a user", "UPDATE users SET os_login = ?2,"
                             " oidc_identity = ?3 WHERE login = ?1", "ttt",
                             login, os_login, ident)))
        goto fail;
    if (sqlite3_changes(e->db) == 0) {
        s = hv__fail(e, HV_NOTFOUND, "user map: no user '%s'",
                     hv__echo_safe(login) ? login : "?");
        goto fail;
    }
    s = hv__store_event_commit(e, 0, "user_mapped",
                               json_pack("{s:s,s:s?,s:b}", "login", login,
                                         "os_login", os_login, "sso", ident != NULL));
    goto out;
fail:
    hv__store_rollback(e);
out:
    hv__free(ident);
    return s;
}
