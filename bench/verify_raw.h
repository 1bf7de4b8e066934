/*
 * verify_raw.h - the raw limits under `haven audit verify` (verify_raw.c
 * says exactly what each reads, hashes and opens).  Each returns seconds
 * and exits on failure; the key file is read as the engine reads it
 * (<db>.key or $HAVEN_KEY_FILE).
 */
#ifndef HV_VERIFY_RAW_H
#define HV_VERIFY_RAW_H

/* The same checks as `audit verify`, raw: raw_verify_chain beside
 * raw_verify_seals on a second thread (as the engine runs them on a SQLite
 * file); seconds of wall time; out: *bytes, the bytes hashed plus the
 * sealed bytes opened (may be NULL). */
double raw_verify(const char *db_path, long *bytes);

/* The keyed audit chain of the database at db_path checked with plain
 * SQLite and keyed BLAKE2b (libsodium crypto_generichash); out: *bytes
 * hashed (may be NULL). */
double raw_verify_chain(const char *db_path, long *bytes);

/* Every sealed value of the database at db_path opened with plain SQLite
 * and XChaCha20-Poly1305, bound to its row; out: *bytes of sealed values
 * opened (may be NULL). */
double raw_verify_seals(const char *db_path, long *bytes);

#endif
