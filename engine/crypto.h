/*
 * crypto.h - identifying data encrypted at rest (internal, floor 3).
 *
 * The data key lives on the engine (data_key, have_key); it is kept in the
 * database only wrapped by a key-encryption key from the key file beside
 * the database (<db>.key or $HAVEN_KEY_FILE) or $HAVEN_PASSPHRASE.  The
 * SQL functions hv_seal, hv_open, hv_reseal, hv_blind, hv_blind_from_text,
 * hv_wrapped_key, hv_key_mode and hv_kdf_salt do the work inside
 * statements, on the engine's connection only.
 *
 * A sealed value is bound to its place: hv_seal(value, 'table', 'column',
 * row id) and hv_open(blob, 'table', 'column', row id) take the table,
 * column and row id as the AEAD's associated data, so a value moved or
 * copied to another row, column or table does not open; hv_open then fails
 * with SQLITE_CORRUPT (HV_CORRUPT, exit 65) and a one-line message naming
 * the table, column and row id, never the value.  Text in a sealed column
 * (written around the engine) fails the same way.
 */
#ifndef HV_CRYPTO_H
#define HV_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "haven.h"

/* Registers the SQL functions above on e->db (they read e's keys when
 * called).  HV_INTERNAL (message on e) when SQLite refuses one. */
hv_status hv__crypto_register(hv_engine *e);
/* Makes a new random data key on e (have_key, have_kek set; the blind
 * index and audit chain keys derived from it, have_chain_key), wrapped by
 * the key file (created, 0600, when missing; read when there) or by
 * $HAVEN_PASSPHRASE with a fresh salt.  The wrapped key reaches the
 * database with migration HV_SCHEMA_KEYED (hv_wrapped_key()).
 * HV_CANTCREATE when the key file cannot be made. */
hv_status hv__keys_create(hv_engine *e);
/* Unwraps the data key from the database if the key file or passphrase is
 * here, and derives the index and audit chain keys (have_chain_key);
 * otherwise (or with the wrong key) the engine reads pseudonymously
 * (have_key and have_chain_key 0) and HV_OK is still returned.  Fails
 * when the meta rows cannot be read, and with HV_DENIED (naming the chmod
 * to run) when the key file may be read by its group or others. */
hv_status hv__keys_load(hv_engine *e);
/* An INSERT whose sealed values need the new row's id takes it from here,
 * the id SQLite itself would give the row (the tables' ids are INTEGER
 * PRIMARY KEY without AUTOINCREMENT), named new_id:
 *   "INSERT INTO notes (id, case_id, text) SELECT new_id, ?1,"
 *   " hv_seal(?2, 'notes', 'text', new_id) FROM " HV_NEW_ROW("notes")
 * (in the statement's transaction, so no other writer takes it first). */
#define HV_NEW_ROW(table)                                                      \
    "(SELECT coalesce((SELECT id FROM " table " ORDER BY id DESC LIMIT 1), 0)"  \
    " + 1 AS new_id)"
/* Opens a value sealed for table.column of row in C (hv_open in SQL):
 * *out (NUL-terminated, *outlen bytes) for hv__free, NULL without the key.
 * Returns NULL on success, else why it does not open (a static string,
 * never the value). */
const char *hv__crypto_open(hv_engine *e, const char *table, const char *column,
                            int64_t row, const unsigned char *in, size_t n,
                            char **out, size_t *outlen);
/* 1 when text[0..n) is a placeholder that purge leaves in a sealed column
 * ('', '{}' or '[]'): plain text that says nothing, read as it is.  Any
 * other text in a sealed column does not open. */
int hv__seal_placeholder(const unsigned char *text, size_t n);
/* HV_OK when the data key is here; else HV_DENIED with a message naming
 * the action. */
hv_status hv__need_key(hv_engine *e, const char *action);

#endif
