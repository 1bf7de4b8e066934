/*
 * crypto.c - identifying data encrypted at rest.
 *
 * Names, dates of birth, locations, form data and free-text narrative are
 * stored sealed with XChaCha20-Poly1305 (libsodium) under a random 256-bit
 * data key.  The data key is kept in the database only wrapped (secretbox)
 * by a key-encryption key that never is: a key file beside the database
 * (<db>.key, or $HAVEN_KEY_FILE), or a passphrase ($HAVEN_PASSPHRASE,
 * Argon2id).  Name lookups use a keyed blind index (HMAC-SHA-256 of the
 * normalised name keys), so search works with the key and reveals nothing
 * without it.  Without the key the database reads as pseudonymous
 * references, stages, risks and dates.
 *
 * The SQL functions hv_seal(text, table, column, row id), hv_open(blob,
 * table, column, row id), hv_blind(text) and hv_wrapped_key() do the work
 * inside statements, on this connection only.
 */
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "engine.h"
#include "error.h"
#include "fileio.h"
#include "store.h"

/* A sealed value is SEAL_MAGIC, a random nonce and the ciphertext.  Its
 * associated data binds it to its table, column and row id (seal_ad), so a
 * value moved or copied elsewhere does not open.  Values sealed before
 * (SEAL_MAGIC_V1) bound only a constant; they are bound once, when a key
 * holder first opens the database (hv__seals_bind), and refused after. */
#define SEAL_MAGIC "HV2"
#define SEAL_MAGIC_V1 "HV1"
#define SEAL_AD_V1 "haven-v1"
#define SEAL_AD_MAX 112
#define SEAL_HEAD (3 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)

/* The key file's path into buf: $HAVEN_KEY_FILE, else "<db>.key". */
static void key_file_path(const hv_engine *e, char *buf, size_t size)
{
    const char *env = getenv("HAVEN_KEY_FILE");
    if (env && *env)
        snprintf(buf, size, "%s", env);
    else
        hv__side_path(e->path, ".key", buf, size);
}

/* Derives the blind-index key and the audit chain's key from the data key
 * (each under its own context, so neither reveals the other or the data
 * key): the chain is keyed by a secret that lives only outside the
 * database, under the same key file or passphrase as the data. */
static void derive_index_key(hv_engine *e)
{
    crypto_generichash(e->index_key, sizeof e->index_key,
                       (const unsigned char *)"haven-blind-index", 17,
                       e->data_key, sizeof e->data_key);
    crypto_auth_hmacsha256_init(&e->index_mac, e->index_key, sizeof e->index_key);
    crypto_generichash(e->chain_key, sizeof e->chain_key,
                       (const unsigned char *)"haven-audit-chain", 17,
                       e->data_key, sizeof e->data_key);
    e->have_chain_key = 1;
}

/* The key-encryption key: from the passphrase (with salt) or the key file.
 * create: make the key file when missing.  Returns 0, -1 (none here), or
 * -2 for a key file that its group or others may read. */
static int get_kek(hv_engine *e, const unsigned char *salt, int passphrase,
                   int create, unsigned char kek[32])
{
    if (passphrase) {
        const char *p = getenv("HAVEN_PASSPHRASE");
        if (!p || !*p || !salt)
            return -1;
        return crypto_pwhash(kek, 32, p, strlen(p), salt,
                             crypto_pwhash_OPSLIMIT_INTERACTIVE,
                             crypto_pwhash_MEMLIMIT_INTERACTIVE,
                             crypto_pwhash_ALG_ARGON2ID13);
    }
    char path[4200], hex[80];
    key_file_path(e, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f && create) {
        /* Written whole to a temporary file, synced, then linked into place
         * (never over an existing key) and the folder synced: a crash leaves
         * either no key file or a complete one. */
        char tmp[4300];
        snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
        int fd = mkstemp(tmp);
        if (fd < 0)
            return -1;
        randombytes_buf(kek, 32);
        sodium_bin2hex(hex, sizeof hex, kek, 32);
        int ok = fchmod(fd, 0600) == 0 && write(fd, hex, 64) == 64 &&
                 (e->scratch || fsync(fd) == 0);
        close(fd);
        sodium_memzero(hex, sizeof hex);
        ok = ok && link(tmp, path) == 0;
        unlink(tmp);
        if (ok && !e->scratch) {
            char dir[4300];
            snprintf(dir, sizeof dir, "%s", path);
            char *slash = strrchr(dir, '/');
            if (slash)
                *slash = '\0';
            else
                snprintf(dir, sizeof dir, ".");
            int dfd = open(dir, O_RDONLY | O_DIRECTORY);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
        }
        return ok ? 0 : -1;
    }
    if (!f)
        return -1;
    /* A key that others may read protects nothing: refuse it. */
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && (sb.st_mode & 077)) {
        fclose(f);
        return -2;
    }
    size_t n = fread(hex, 1, sizeof hex - 1, f);
    fclose(f);
    hex[n] = '\0';
    size_t len = 0;
    int bad = sodium_hex2bin(kek, 32, hex, n, " \n", &len, NULL) != 0 || len != 32;
    sodium_memzero(hex, sizeof hex);
    return bad ? -1 : 0;
}

hv_status hv__keys_create(hv_engine *e)
{
    if (sodium_init() < 0)
        return hv__fail(e, HV_INTERNAL, "libsodium failed to start");
    const char *p = getenv("HAVEN_PASSPHRASE");
    e->key_passphrase = p && *p;
    if (e->key_passphrase)
        randombytes_buf(e->kdf_salt, sizeof e->kdf_salt);
    if (get_kek(e, e->kdf_salt, e->key_passphrase, 1, e->kek) != 0) {
        char path[4200];
        key_file_path(e, path, sizeof path);
        return hv__fail(e, HV_CANTCREATE, "%s: cannot create the data key "
                                          "file (it exists already, or the "
                                          "folder is not writable)",
                        path);
    }
    randombytes_buf(e->data_key, sizeof e->data_key);
    derive_index_key(e);
    e->have_key = 1;
    e->have_kek = 1;
    return HV_OK;
}

hv_status hv__keys_load(hv_engine *e)
{
    sqlite3_stmt *st = NULL;
    char *wrapped = NULL, *mode = NULL, *salt_hex = NULL;
    hv_status s;
    e->have_key = 0;
    e->have_chain_key = 0;
    if (sodium_init() < 0)
        return hv__fail(e, HV_INTERNAL, "libsodium failed to start");
    if ((s = hv__store_prepare(e, "SELECT key, value FROM meta WHERE key IN"
                                  " ('data_key', 'key_mode', 'kdf_salt')", &st)))
        return s;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        char **slot = !strcmp(k, "data_key") ? &wrapped
                      : !strcmp(k, "key_mode") ? &mode
                                               : &salt_hex;
        hv__free(*slot);
        *slot = hv__column_strdup(st, 1);
    }
    hv__store_finalize(e, st);
    unsigned char salt[crypto_pwhash_SALTBYTES], blob[256];
    size_t len = 0, salt_len = 0;
    int passphrase = mode && !strcmp(mode, "passphrase");
    if (!wrapped)
        goto done; /* no data key yet (older schema): made at migration */
    if (passphrase && (!salt_hex || sodium_hex2bin(salt, sizeof salt, salt_hex,
                                                   strlen(salt_hex), NULL,
                                                   &salt_len, NULL) != 0 ||
                       salt_len != sizeof salt))
        goto done; /* a salt cut short (a crafted file) opens nothing */
    if (sodium_hex2bin(blob, sizeof blob, wrapped, strlen(wrapped), NULL, &len,
                       NULL) != 0 ||
        len != crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + 32)
        goto done;
    int got = get_kek(e, passphrase ? salt : NULL, passphrase, 0, e->kek);
    if (got == -2) {
        char path[4200];
        key_file_path(e, path, sizeof path);
        s = hv__fail(e, HV_DENIED, "%s: the key file may be read by others; "
                                   "make it the owner's alone: chmod 600 %s",
                     path, path);
        goto done;
    }
    if (got != 0)
        goto done; /* no key here: pseudonymous reading only */
    if (crypto_secretbox_open_easy(e->data_key, blob + crypto_secretbox_NONCEBYTES,
                                   len - crypto_secretbox_NONCEBYTES, blob, e->kek) != 0)
        goto done; /* the wrong key file or passphrase */
    derive_index_key(e);
    e->have_key = 1;
    e->have_kek = 1;
done:
    sodium_memzero(blob, sizeof blob);
    hv__free(wrapped);
    hv__free(mode);
    hv__free(salt_hex);
    return s;
}

/* The engine of a keyed SQL function (hv_seal, hv_blind) whose argument v
 * is to be used; NULL when the result is already set: null for a null v,
 * or an error (ending with `why`) when the data key is not here. */
static hv_engine *keyed_argument(sqlite3_context *ctx, sqlite3_value *v,
                                 const char *why)
{
    hv_engine *e = sqlite3_user_data(ctx);
    if (sqlite3_value_type(v) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return NULL;
    }
    if (!e->have_key) {
        char msg[160];
        snprintf(msg, sizeof msg, "the data key is not available (key file or "
                                  "passphrase)%s", why);
        sqlite3_result_error(ctx, msg, -1);
        return NULL;
    }
    return e;
}

/* The associated data that binds a sealed value to its place: "haven-v2 "
 * TABLE "." COLUMN "#" ROW into ad (SEAL_AD_MAX bytes).  Returns its
 * length, or 0 when table or column is not a plain lower-case name. */
static size_t seal_ad(char ad[SEAL_AD_MAX], const char *table,
                      const char *column, int64_t row)
{
    const char *names[2] = {table, column};
    size_t lens[2];
    for (int i = 0; i < 2; i++) {
        /* (a loop, not strspn: glibc builds its table of the set on every
         * call, a quarter of a million calls in one audit verify) */
        size_t n = 0;
        for (const char *p = names[i]; p && *p && n <= 40; p++, n++)
            if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
                return 0;
        if (n == 0 || n > 40)
            return 0;
        lens[i] = n;
    }
    /* written by hand (it is made for every value sealed or opened): 9 +
     * 40 + 1 + 40 + 1 + at most 20 characters of the row id fit */
    char digits[24];
    size_t nd = 0;
    uint64_t v = row < 0 ? (uint64_t)0 - (uint64_t)row : (uint64_t)row;
    do {
        digits[nd++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (row < 0)
        digits[nd++] = '-';
    size_t len = 0;
    memcpy(ad, "haven-v2 ", 9);
    len = 9;
    memcpy(ad + len, table, lens[0]);
    len += lens[0];
    ad[len++] = '.';
    memcpy(ad + len, column, lens[1]);
    len += lens[1];
    ad[len++] = '#';
    while (nd)
        ad[len++] = digits[--nd];
    ad[len] = '\0';
    return len;
}

/* Seals text[0..n) under e's data key with the associated data ad, in the
 * bound format (SEAL_MAGIC, nonce, ciphertext).  *out (sqlite3_free) of
 * *outlen bytes, NULL when out of memory. */
static void seal_bytes(hv_engine *e, const unsigned char *text, size_t n,
                       const char *ad, size_t adlen, unsigned char **out,
                       size_t *outlen)
{
    size_t total = SEAL_HEAD + n + crypto_aead_xchacha20poly1305_ietf_ABYTES;
    unsigned char *buf = sqlite3_malloc64(total);
    *out = buf;
    *outlen = total;
    if (!buf)
        return;
    memcpy(buf, SEAL_MAGIC, 3);
    unsigned char *nonce = buf + 3;
    randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        buf + SEAL_HEAD, &clen, text, n, (const unsigned char *)ad, adlen, NULL,
        nonce, e->data_key);
}

/* The binding arguments argv[1..3] of hv_seal, hv_open and hv_reseal (table,
 * column, row id) as associated data into ad; 0 with an error set on ctx
 * when they are not a table, a column and a row id. */
static size_t binding_argument(sqlite3_context *ctx, sqlite3_value **argv,
                               char ad[SEAL_AD_MAX])
{
    size_t n = 0;
    if (sqlite3_value_type(argv[3]) == SQLITE_INTEGER)
        n = seal_ad(ad, (const char *)sqlite3_value_text(argv[1]),
                    (const char *)sqlite3_value_text(argv[2]),
                    sqlite3_value_int64(argv[3]));
    if (!n)
        sqlite3_result_error(ctx, "a sealed value needs its table, column and "
                                  "row id", -1);
    return n;
}

/* hv_seal(text, table, column, row id) -> blob bound to that place */
static void sql_seal(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    char ad[SEAL_AD_MAX];
    hv_engine *e = keyed_argument(ctx, argv[0], "");
    size_t adlen = e ? binding_argument(ctx, argv, ad) : 0;
    if (!adlen)
        return;
    unsigned char *out = NULL;
    size_t total = 0;
    seal_bytes(e, sqlite3_value_text(argv[0]),
               (size_t)sqlite3_value_bytes(argv[0]), ad, adlen, &out, &total);
    if (!out)
        sqlite3_result_error_nomem(ctx);
    else
        sqlite3_result_blob64(ctx, out, total, sqlite3_free);
}

static const char OPEN_NOMEM[] = "out of memory";

/* Opens in[0..n) (of format magic, associated data ad) into *out. */
static const char *open_bytes(hv_engine *e, const unsigned char *in, size_t n,
                              const char *magic, const char *ad, size_t adlen,
                              char **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (n < SEAL_HEAD + crypto_aead_xchacha20poly1305_ietf_ABYTES ||
        memcmp(in, magic, 3) != 0)
        return n >= 3 && memcmp(in, SEAL_MAGIC_V1, 3) == 0
                   ? "the sealed value is in the old format, not bound to its "
                     "row (written around the engine after the upgrade)"
                   : "the sealed value is damaged";
    if (!e->have_key)
        return NULL;
    unsigned char *plain = hv__malloc(n + 1);
    unsigned long long mlen = 0;
    if (!plain)
        return OPEN_NOMEM;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            plain, &mlen, NULL, in + SEAL_HEAD, n - SEAL_HEAD,
            (const unsigned char *)ad, adlen, in + 3, e->data_key) != 0) {
        hv__free(plain);
        return "the sealed value does not open here: it was moved or copied "
               "from another row or column, or changed";
    }
    plain[mlen] = '\0';
    *out = (char *)plain;
    *outlen = (size_t)mlen;
    return NULL;
}

const char *hv__crypto_open(hv_engine *e, const char *table, const char *column,
                            int64_t row, const unsigned char *in, size_t n,
                            char **out, size_t *outlen)
{
    char ad[SEAL_AD_MAX];
    size_t adlen = seal_ad(ad, table, column, row);
    *out = NULL;
    *outlen = 0;
    if (!adlen)
        return "a sealed value needs its table, column and row id";
    return open_bytes(e, in, n, SEAL_MAGIC, ad, adlen, out, outlen);
}

int hv__seal_placeholder(const unsigned char *text, size_t n)
{
    return text && (n == 0 || (n == 2 && (!memcmp(text, "{}", 2) ||
                                          !memcmp(text, "[]", 2))));
}

/* Sets ctx's result to the failure why of table.column in row, as corrupt
 * data (the engine reports HV_CORRUPT): one line, never the value. */
static void open_failed(sqlite3_context *ctx, sqlite3_value **argv,
                        const char *why)
{
    if (why == OPEN_NOMEM) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    char *msg = sqlite3_mprintf("%s.%s of row %lld: %s",
                                sqlite3_value_text(argv[1]),
                                sqlite3_value_text(argv[2]),
                                (long long)sqlite3_value_int64(argv[3]), why);
    if (!msg) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_result_error(ctx, msg, -1);
    sqlite3_result_error_code(ctx, SQLITE_CORRUPT);
    sqlite3_free(msg);
}

/* hv_open(blob, table, column, row id) -> text; NULL for NULL, and without
 * the key; a placeholder as it is.  A value that is not sealed, or not for
 * this place, is an error (SQLITE_CORRUPT) naming the place, never the
 * value. */
static void sql_open(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    hv_engine *e = sqlite3_user_data(ctx);
    char ad[SEAL_AD_MAX];
    int type = sqlite3_value_type(argv[0]);
    if (type == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    size_t adlen = binding_argument(ctx, argv, ad);
    if (!adlen)
        return;
    if (type != SQLITE_BLOB) {
        if (hv__seal_placeholder(sqlite3_value_text(argv[0]),
                                 (size_t)sqlite3_value_bytes(argv[0])))
            sqlite3_result_value(ctx, argv[0]);
        else
            open_failed(ctx, argv, "the value is not sealed (written around "
                                   "the engine)");
        return;
    }
    char *plain = NULL;
    size_t n = 0;
    const char *why =
        open_bytes(e, sqlite3_value_blob(argv[0]),
                   (size_t)sqlite3_value_bytes(argv[0]), SEAL_MAGIC, ad, adlen,
                   &plain, &n);
    if (why)
        open_failed(ctx, argv, why);
    else if (!plain)
        sqlite3_result_null(ctx);
    else
        sqlite3_result_text64(ctx, plain, n, hv__free, SQLITE_UTF8);
}

/* hv_reseal(value, table, column, row id) -> the value bound to its place,
 * for the one-time upgrade (hv__seals_bind): a legacy (SEAL_MAGIC_V1) value
 * that opens, and plain text, are sealed bound; anything else (NULL, a
 * bound value, a value that does not open) is returned as it is, for the
 * sweep to name. */
static void sql_reseal(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    char ad[SEAL_AD_MAX];
    hv_engine *e =
        keyed_argument(ctx, argv[0], ": sealed values cannot be bound");
    size_t adlen = e ? binding_argument(ctx, argv, ad) : 0;
    if (!adlen)
        return;
    char *plain = NULL;
    size_t n = 0;
    const char *why = NULL;
    if (sqlite3_value_type(argv[0]) == SQLITE_BLOB)
        why = open_bytes(e, sqlite3_value_blob(argv[0]),
                         (size_t)sqlite3_value_bytes(argv[0]), SEAL_MAGIC_V1,
                         SEAL_AD_V1, strlen(SEAL_AD_V1), &plain, &n);
    if (why == OPEN_NOMEM) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (why || (sqlite3_value_type(argv[0]) == SQLITE_BLOB && !plain)) {
        sqlite3_result_value(ctx, argv[0]);
        return;
    }
    const unsigned char *text = plain ? (const unsigned char *)plain
                                      : sqlite3_value_text(argv[0]);
    if (!plain)
        n = (size_t)sqlite3_value_bytes(argv[0]);
    unsigned char *out = NULL;
    size_t total = 0;
    seal_bytes(e, text, n, ad, adlen, &out, &total);
    if (plain) {
        sodium_memzero(plain, n);
        hv__free(plain);
    }
    if (!out)
        sqlite3_result_error_nomem(ctx);
    else
        sqlite3_result_blob64(ctx, out, total, sqlite3_free);
}

/* hv_blind(text) -> the first HV_BLIND_BYTES bytes of its HMAC-SHA-256 under
 * the index key, as a blob (96 bits: an equality lookup with no false
 * match at any caseload, in a fifth of the space of the hex text that
 * schema 7-8 kept). */
static void sql_blind(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    hv_engine *e = keyed_argument(ctx, argv[0], ": names cannot be looked up");
    if (!e)
        return;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    /* HMAC-SHA256 under the index key, from the state keyed once (the
     * key's padding blocks are hashed once per engine, not per name). */
    crypto_auth_hmacsha256_state hs = e->index_mac;
    crypto_auth_hmacsha256_update(&hs, sqlite3_value_text(argv[0]),
                                  (unsigned long long)sqlite3_value_bytes(argv[0]));
    crypto_auth_hmacsha256_final(&hs, mac);
    sodium_memzero(&hs, sizeof hs);
    sqlite3_result_blob(ctx, mac, HV_BLIND_BYTES, SQLITE_TRANSIENT);
}

/* hv_blind_from_text(key) -> a blind key of schema 7-8 ("b:" + the hex of
 * the whole HMAC) as hv_blind now makes it (its first HV_BLIND_BYTES
 * bytes); a blob is already one and is returned as it is.  Needs no key:
 * schema 9's migration runs before the data key is unwrapped. */
static void sql_blind_from_text(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_BLOB) {
        sqlite3_result_value(ctx, argv[0]);
        return;
    }
    const char *t = (const char *)sqlite3_value_text(argv[0]);
    unsigned char key[HV_BLIND_BYTES];
    size_t n = 0;
    if (!t || strncmp(t, "b:", 2) ||
        sodium_hex2bin(key, sizeof key, t + 2, 2 * HV_BLIND_BYTES, NULL, &n, NULL) ||
        n != sizeof key) {
        sqlite3_result_error(ctx, "a name key that is not a blind key", -1);
        return;
    }
    sqlite3_result_blob(ctx, key, (int)n, SQLITE_TRANSIENT);
}

/* hv_wrapped_key() -> the data key wrapped by the key-encryption key. */
static void sql_wrapped_key(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    hv_engine *e = sqlite3_user_data(ctx);
    if (!e->have_kek) {
        sqlite3_result_error(ctx, "no key-encryption key", -1);
        return;
    }
    unsigned char blob[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + 32];
    char hex[2 * sizeof blob + 1];
    randombytes_buf(blob, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(blob + crypto_secretbox_NONCEBYTES, e->data_key, 32, blob,
                          e->kek);
    sodium_bin2hex(hex, sizeof hex, blob, sizeof blob);
    sqlite3_result_text(ctx, hex, -1, SQLITE_TRANSIENT);
}

/* hv_key_mode() -> how the data key is wrapped, for the meta rows. */
static void sql_key_mode(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    hv_engine *e = sqlite3_user_data(ctx);
    sqlite3_result_text(ctx, e->key_passphrase ? "passphrase" : "key_file", -1,
                        SQLITE_STATIC);
}

/* hv_kdf_salt() -> the passphrase's salt in hex, for the meta rows. */
static void sql_kdf_salt(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    hv_engine *e = sqlite3_user_data(ctx);
    char hex[2 * crypto_pwhash_SALTBYTES + 1];
    sodium_bin2hex(hex, sizeof hex, e->kdf_salt, sizeof e->kdf_salt);
    sqlite3_result_text(ctx, hex, -1, SQLITE_TRANSIENT);
}

hv_status hv__crypto_register(hv_engine *e)
{
    static const struct {
        const char *name;
        int args;
        void (*fn)(sqlite3_context *, int, sqlite3_value **);
    } fns[] = {{"hv_seal", 4, sql_seal},       {"hv_open", 4, sql_open},
               {"hv_reseal", 4, sql_reseal},
               {"hv_blind", 1, sql_blind},     {"hv_wrapped_key", 0, sql_wrapped_key},
               {"hv_key_mode", 0, sql_key_mode}, {"hv_kdf_salt", 0, sql_kdf_salt},
               {"hv_blind_from_text", 1, sql_blind_from_text}};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        int rc = sqlite3_create_function(e->db, fns[i].name, fns[i].args,
                                         SQLITE_UTF8 | SQLITE_DIRECTONLY, e,
                                         fns[i].fn, NULL, NULL);
        if (rc != SQLITE_OK)
            return hv__sql_fail(e, rc, "setting up encryption");
    }
    return HV_OK;
}

/* 1 when the data key is here (identifying data reads and writes). */
HV_API int hv_engine_has_key(const hv_engine *e) { return e->have_key; }

hv_status hv__need_key(hv_engine *e, const char *action)
{
    if (e->have_key)
        return HV_OK;
    return hv__fail(e, HV_DENIED, "%s: the data key is not available here (the "
                                  "key file %s.key, $HAVEN_KEY_FILE or "
                                  "$HAVEN_PASSPHRASE): identifying data cannot "
                                  "be read or written",
                    action, e->path);
}
