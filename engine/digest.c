/* digest.c - the keyed digest of a case's rows, which each event of the
 * case records and `audit verify --deep` recomputes. */
#include "digest.h"

#include <stdio.h>
#include <string.h>

#include "core.h"
#include "error.h"
#include "store.h"
#include "schemasql.h"

void hv__hash_u64(crypto_generichash_state *h, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    crypto_generichash_update(h, b, sizeof b);
}

void hv__hash_text(crypto_generichash_state *h, const char *t)
{
    static const unsigned char none = 0xff;
    if (t)
        crypto_generichash_update(h, (const unsigned char *)t, strlen(t) + 1);
    else
        crypto_generichash_update(h, &none, 1);
}

void hv__digest_row(crypto_generichash_state *h, sqlite3_stmt *st, int ncols,
                    int named)
{
    static const unsigned char row_end = 0xfe;
    for (int i = 0; i < ncols; i++) {
        int type = sqlite3_column_type(st, i);
        if (named && type == SQLITE_NULL)
            continue;
        if (named)
            hv__hash_text(h, sqlite3_column_name(st, i));
        unsigned char tag = (unsigned char)type;
        crypto_generichash_update(h, &tag, 1);
        if (type == SQLITE_INTEGER) {
            hv__hash_u64(h, (uint64_t)sqlite3_column_int64(st, i));
        } else if (type == SQLITE_FLOAT) {
            double d = sqlite3_column_double(st, i);
            uint64_t bits;
            memcpy(&bits, &d, sizeof bits);
            hv__hash_u64(h, bits);
        } else if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
            const void *p = type == SQLITE_TEXT
                                ? (const void *)sqlite3_column_text(st, i)
                                : sqlite3_column_blob(st, i);
            int n = sqlite3_column_bytes(st, i);
            hv__hash_u64(h, (uint64_t)n);
            if (p && n > 0)
                crypto_generichash_update(h, p, (unsigned long long)n);
        }
    }
    crypto_generichash_update(h, &row_end, 1);
}

/* 1 when name is a plain identifier (the engine's own tables are). */
static int plain_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '_'))
            return 0;
    return 1;
}

/* Reads once which tables hold a case's rows (a case_id column; not
 * events) and makes each one's query: every row of the case, ordered by
 * all its columns (a total order, whatever the table's keys). */
static hv_status load_tables(hv_engine *e)
{
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_prepare(
        e,
        "SELECT m.name, (SELECT count(*) FROM pragma_table_info(m.name)),"
        " (SELECT count(*) = 1 AND sum(cid = 0 AND upper(type) = 'INTEGER') = 1"
        " FROM pragma_table_info(m.name) WHERE pk > 0)"
        " FROM sqlite_schema m WHERE m.type = 'table' AND m.name <> 'events'"
        " AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) p"
        " WHERE p.name = 'case_id') ORDER BY m.name",
        &st);
    if (s)
        return s;
    int rc, n = 0;
    e->digest_keyed = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        int cols = sqlite3_column_int(st, 1);
        if (!plain_name(name) || cols < 1 || cols > 48 ||
            n >= HV_DIGEST_MAX_TABLES) {
            hv__store_finalize(e, st);
            return hv__fail(e, HV_CORRUPT, "%s: an unexpected table in the "
                                           "schema (case digests)", e->path);
        }
        if (sqlite3_column_int(st, 2))
            e->digest_keyed |= 1u << n;
        char *sql = e->digest_sql[n++];
        size_t used = (size_t)snprintf(sql, sizeof e->digest_sql[0],
                                       "SELECT * FROM %s WHERE case_id = ?1 "
                                       "ORDER BY 1", name);
        for (int c = 2; c <= cols && used < sizeof e->digest_sql[0]; c++)
            used += (size_t)snprintf(sql + used, sizeof e->digest_sql[0] - used,
                                     ",%d", c);
        if (used >= sizeof e->digest_sql[0]) {
            hv__store_finalize(e, st);
            return hv__fail(e, HV_CORRUPT, "%s: an unexpected table in the "
                                           "schema (case digests)", e->path);
        }
    }
    hv__store_finalize(e, st);
    if (rc != SQLITE_DONE)
        return hv__sql_fail(e, rc, "reading the schema");
    e->digest_tables = n;
    e->digest_ready = 1;
    return HV_OK;
}

/* Feeds every row of sql (bound to case_id) into h, then their number,
 * each after the table's name (name_len bytes and a NUL) when name is not
 * NULL.  With skip_empty, a table without a row of the case feeds
 * nothing at all (the name goes in before its first row).  With ordered
 * not NULL, *ordered becomes 0 as soon as a row's first column is not an
 * integer above the row before's, and nothing more is fed. */
static hv_status feed_rows(hv_engine *e, crypto_generichash_state *h,
                           const char *sql, int64_t case_id, const char *name,
                           size_t name_len, int skip_empty, int *ordered)
{
    static const unsigned char nul = 0;
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_prepare(e, sql, &st);
    if (s)
        return s;
    sqlite3_bind_int64(st, 1, case_id);
    int rc;
    uint64_t rows = 0;
    int64_t last = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (ordered) {
            int64_t first = sqlite3_column_int64(st, 0);
            if (sqlite3_column_type(st, 0) != SQLITE_INTEGER ||
                (rows > 0 && first <= last)) {
                *ordered = 0;
                hv__store_finalize(e, st);
                return HV_OK;
            }
            last = first;
        }
        if (name && rows == 0) {
            crypto_generichash_update(h, (const unsigned char *)name, name_len);
            crypto_generichash_update(h, &nul, 1);
        }
        hv__digest_row(h, st, sqlite3_column_count(st), 1);
        rows++;
    }
    hv__store_finalize(e, st);
    if (rc != SQLITE_DONE)
        return hv__sql_fail(e, rc, "reading a case's rows");
    if (rows == 0 && skip_empty)
        return HV_OK;
    if (rows == 0 && name) {
        crypto_generichash_update(h, (const unsigned char *)name, name_len);
        crypto_generichash_update(h, &nul, 1);
    }
    hv__hash_u64(h, rows);
    return HV_OK;
}

/* feed_rows of table i's query (every row of the case, ordered by all its
 * columns).  When the table's first column is its integer key (so ordered
 * by it alone the rows are in that order), the rows are read first as the
 * case's index gives them, without the sort, and taken when their keys
 * ascend (a case's rows mostly come in the order they were added); else
 * the hash is set back and the sorted query read.  Not on a PostgreSQL
 * store, whose rows come in no order. */
static hv_status feed_table(hv_engine *e, crypto_generichash_state *h, int i,
                            int64_t case_id, int version)
{
    const char *sql = e->digest_sql[i];
    const char *name = sql + strlen("SELECT * FROM ");
    size_t len = strcspn(name, " ");
    const char *order = strstr(sql, " ORDER BY ");
    if (version == 2 && !e->pg && (e->digest_keyed & (1u << i)) && order) {
        char unsorted[sizeof e->digest_sql[0]];
        crypto_generichash_state before = *h;
        int ordered = 1;
        memcpy(unsorted, sql, (size_t)(order - sql));
        unsorted[order - sql] = '\0';
        hv_status s = feed_rows(e, h, unsorted, case_id, name, len, 1, &ordered);
        if (s || ordered) {
            sodium_memzero(&before, sizeof before);
            return s;
        }
        *h = before;
        sodium_memzero(&before, sizeof before);
    }
    return feed_rows(e, h, sql, case_id, name, len, version == 2, NULL);
}

/* 1 when the NULL-ended list names the table name (len bytes). */
static int listed(const char *const *list, const char *name, size_t len)
{
    for (; *list; list++)
        if (strlen(*list) == len && !memcmp(*list, name, len))
            return 1;
    return 0;
}

/* The digest of case_id's rows, version 2 (the tables without a row of
 * the case feed nothing, so a table a migration adds changes no digest)
 * or version 1 (every table by name, with its number of rows, written by
 * the first databases with digests). */
static hv_status digest_version(hv_engine *e, int64_t case_id, int version,
                                const char *const *only,
                                unsigned char out[HV_DIGEST_BYTES])
{
    crypto_generichash_state h;
    hv_status s;
    if (!e->have_chain_key)
        return hv__fail(e, HV_DENIED, "the audit chain key is not available "
                                      "here (the key file %s.key, "
                                      "$HAVEN_KEY_FILE or $HAVEN_PASSPHRASE)",
                        e->path);
    if (!e->digest_ready && (s = load_tables(e)))
        return s;
    crypto_generichash_init(&h, e->chain_key, sizeof e->chain_key,
                            HV_DIGEST_BYTES);
    hv__hash_text(&h, version == 2 ? "haven-case-digest-v2" : "haven-case-digest-v1");
    hv__hash_u64(&h, (uint64_t)case_id);
    if ((s = feed_rows(e, &h, "SELECT * FROM cases WHERE id = ?1", case_id,
                       "cases", strlen("cases"), 0, NULL)))
        return s;
    for (int i = 0; i < e->digest_tables; i++) {
        /* the table's name (not its query, whose ORDER BY grows with a
         * column a migration adds) */
        const char *name = e->digest_sql[i] + strlen("SELECT * FROM ");
        /* a table left out holds no row of the case: in version 2 it
         * feeds nothing, as when read */
        if (only && version == 2 && !listed(only, name, strcspn(name, " ")))
            continue;
        if ((s = feed_table(e, &h, i, case_id, version)))
            return s;
    }
    crypto_generichash_final(&h, out, HV_DIGEST_BYTES);
    return HV_OK;
}

hv_status hv__case_digest(hv_engine *e, int64_t case_id,
                          unsigned char out[HV_DIGEST_BYTES])
{
    return digest_version(e, case_id, 2, NULL, out);
}

hv_status hv__case_digest_new(hv_engine *e, int64_t case_id,
                              const char *const *written,
                              unsigned char out[HV_DIGEST_BYTES])
{
    return digest_version(e, case_id, 2, written, out);
}

hv_status hv__case_digest_matches(hv_engine *e, int64_t case_id,
                                  const unsigned char want[HV_DIGEST_BYTES],
                                  int *match)
{
    unsigned char have[HV_DIGEST_BYTES];
    hv_status s;
    *match = 0;
    if ((s = digest_version(e, case_id, 2, NULL, have)))
        return s;
    if (sodium_memcmp(want, have, HV_DIGEST_BYTES) != 0) {
        /* an event written before version 2 */
        if ((s = digest_version(e, case_id, 1, NULL, have)))
            return s;
    }
    *match = sodium_memcmp(want, have, HV_DIGEST_BYTES) == 0;
    return HV_OK;
}

hv_status hv__case_last_digest(hv_engine *e, int64_t case_id,
                               unsigned char out[HV_DIGEST_BYTES], int *last)
{
    sqlite3_stmt *st = NULL;
    *last = HV_LAST_NONE;
    hv_status s = hv__store_prepare(e, "SELECT digest FROM events WHERE case_id"
                                       " = ?1 ORDER BY seq DESC LIMIT 1", &st);
    if (s)
        return s;
    sqlite3_bind_int64(st, 1, case_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == HV_DIGEST_BYTES) {
        memcpy(out, sqlite3_column_blob(st, 0), HV_DIGEST_BYTES);
        *last = HV_LAST_DIGEST;
    } else if (rc == SQLITE_ROW) {
        *last = HV_LAST_UNDIGESTED;
    }
    hv__store_finalize(e, st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE
               ? HV_OK
               : hv__sql_fail(e, rc, "reading the audit chain");
}

void hv__case_name(const char *ref, int64_t case_id, char *buf, size_t size)
{
    if (ref && hv__echo_safe(ref))
        snprintf(buf, size, "%s", ref);
    else
        snprintf(buf, size, "case #%lld", (long long)case_id);
}

/* Reads the file's schema again when PRAGMA schema_version has moved
 * since (e->schema_checked): whether it is exactly the one Haven makes
 * (schemasql.h) and which triggers and views it holds that Haven did not
 * make.  0, or -1 when the version cannot be read. */
static int schema_read(hv_engine *e)
{
    sqlite3_stmt *st = NULL;
    int64_t version = -1;
    if (hv__store_prepare(e, "PRAGMA schema_version", &st) != HV_OK) {
        hv__clear_error(e);
        return -1;
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int64(st, 0);
    hv__store_finalize(e, st);
    if (version < 0)
        return -1;
    if (version != e->schema_checked) {
        e->schema_checked = version;
        e->schema_havens = hv__schema_is_new_schema(e->db);
        e->schema_foreign = hv__schema_foreign_code(e->db, e->schema_foreign_names,
                                                    sizeof e->schema_foreign_names);
    }
    return 0;
}

/* 1 when the file's schema is exactly the one Haven makes.  (After a
 * migration the snapshot has not caught up with, the two differ and every
 * change re-reads its case.) */
static int schema_is_havens(hv_engine *e)
{
    return schema_read(e) == 0 && e->schema_havens;
}

hv_status hv__schema_guard(hv_engine *e)
{
    if (e->pg || schema_read(e) != 0 || e->schema_foreign <= 0)
        return HV_OK;
    return hv__fail(e, HV_INVALID,
                    "%s: the database holds %d trigger%s or view%s Haven did not "
                    "make (%s), which could change rows behind the audit chain; "
                    "nothing is recorded while %s there: drop %s, then run "
                    "haven audit verify --deep",
                    e->path, e->schema_foreign, e->schema_foreign == 1 ? "" : "s",
                    e->schema_foreign == 1 ? "" : "s", e->schema_foreign_names,
                    e->schema_foreign == 1 ? "it is" : "they are",
                    e->schema_foreign == 1 ? "it" : "them");
}

hv_status hv__case_digest_unchanged(hv_engine *e, int64_t case_id,
                                    const char *ref)
{
    unsigned char want[HV_DIGEST_BYTES];
    int last = 0;
    hv_status s;
    /* an old chain records no digests; without the key the event append
     * refuses the change itself */
    if (case_id <= 0 || e->chain_legacy || !e->have_chain_key)
        return HV_OK;
    if ((s = hv__case_last_digest(e, case_id, want, &last)))
        return s;
    /* no event yet, or a last event from before the digests: nothing to
     * compare with */
    if (last != HV_LAST_DIGEST)
        return HV_OK;
    /* this connection wrote those rows and digested them, no other has
     * committed since, and the schema is Haven's own (no trigger planted
     * to edit rows after the digest was taken): they are still the rows
     * digested */
    if (hv__store_digest_seen(e, case_id, want) && schema_is_havens(e))
        return HV_OK;
    int match = 0;
    if ((s = hv__case_digest_matches(e, case_id, want, &match)))
        return s;
    if (match)
        return HV_OK;
    char name[64];
    hv__case_name(ref, case_id, name, sizeof name);
    return hv__fail(e, HV_INVALID, "%s: its rows were changed outside Haven; "
                                   "run haven audit verify --deep", name);
}
