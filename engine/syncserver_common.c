/* syncserver_common.c - what the parts of the server's side of offline
 * work share (syncserver.h): device names, an audited refusal, the
 * versions a laptop must match, a case's version and an entry's receipt. */
#include "syncserver.h"

#include <sodium.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "events.h"
#include "migrate.h"
#include "store.h"

int hv__device_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > HV_DEVICE_NAME_MAX || name[0] == '-')
        return 0;
    return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

hv_status hv__sync_refuse(hv_engine *e, hv_status st, const char *device,
                          const char *op, const char *reason, const char *msg)
{
    json_t *data = json_pack("{s:s?,s:s?,s:s}", "device",
                             hv__device_name_ok(device) ? device : NULL, "op",
                             op && hv__echo_safe(op) ? op : NULL, "reason", reason);
    /* recorded if it can be; the refusal stands either way */
    if (data && hv__store_begin(e) == HV_OK) {
        hv__store_event_commit(e, 0, "sync_refused", data); /* takes data */
        data = NULL;
    }
    json_decref(data);
    return hv__fail(e, st, "%s", msg);
}

hv_status hv__sync_versions(hv_engine *e, json_t **out)
{
    char *source = NULL, *pack = NULL;
    unsigned char sum[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    *out = NULL;
    hv_status s = hv__store_query_text(e, "reading the workflow",
                                       "SELECT source FROM workflows WHERE id = ?1",
                                       &source, "i", e->workflow_row);
    if (s == HV_OK)
        s = hv__store_query_text(e, "reading the rule pack",
                                 "SELECT hash FROM rule_packs ORDER BY id DESC"
                                 " LIMIT 1", &pack, "");
    if (s == HV_OK && !source)
        s = hv__fail(e, HV_CORRUPT, "%s: the workflow in force is missing", e->path);
    if (s == HV_OK) {
        crypto_hash_sha256(sum, (const unsigned char *)source, strlen(source));
        sodium_bin2hex(hex, sizeof hex, sum, sizeof sum);
        *out = json_pack("{s:i,s:s,s:s?}", "schema", HV_SCHEMA_VERSION,
                         "workflow", hex, "pack", pack);
        if (!*out)
            s = hv__fail(e, HV_NOMEM, "out of memory");
    }
    hv__free(source);
    hv__free(pack);
    return s;
}

hv_status hv__sync_case_version(hv_engine *e, int64_t case_id, int64_t *version)
{
    return hv__store_query_int(e, "reading a case", "SELECT version FROM cases"
                               " WHERE id = ?1", 0, version, "i", case_id);
}

hv_status hv__sync_receipt(hv_engine *e, const hv__device *d,
                           const hv__sync_entry *x, const char *outcome,
                           const char *local_ref, const char *server_ref,
                           int64_t conflict_id)
{
    hv_time received = d->received_at ? d->received_at : hv__wall_now(e);
    /* the device's head moves from the entry before, or another upload of
     * the same device got there first */
    hv_status s = hv__store_execf(e, "moving the device's head",
                                  "UPDATE devices SET last_seq = ?2, head = ?3,"
                                  " last_sync_at = ?4 WHERE id = ?1 AND last_seq"
                                  " = ?2 - 1",
                                  "iiti", d->id, x->seq, x->hash, (int64_t)received);
    if (s == HV_OK && sqlite3_changes(e->db) != 1)
        s = hv__fail(e, HV_BUSY, "sync: another upload of device %s is under "
                     "way; try again", d->name);
    if (s == HV_OK)
        s = hv__store_execf(
            e, "writing a sync receipt",
            "INSERT INTO sync_receipts (device_id, seq, hash, at, received_at,"
            " outcome, local_ref, server_ref, conflict_id) VALUES (?1, ?2, ?3, ?4,"
            " ?5, ?6, ?7, ?8, nullif(?9, 0))",
            "iitiittti", d->id, x->seq, x->hash, x->at, (int64_t)received, outcome,
            local_ref, server_ref, conflict_id);
    return s;
}
