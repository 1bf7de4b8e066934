/* syncserver_chain.c - an upload's entries read and verified whole before
 * anything is applied (syncserver.h): each entry's shape, the numbering,
 * the receipt of every entry received before, the chain from the
 * device's head, each keyed hash and the upload's head.  A refusal names
 * the entry's number, never its content. */
#include "syncserver.h"

#include <sodium.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "store.h"

int hv__sync_entry_hmac(const char *secret_hex, const char *prev, json_t *entry,
                        char out[HV_SYNC_HASH_HEX + 1])
{
    unsigned char key[32], mac[crypto_auth_hmacsha256_BYTES];
    size_t n = 0;
    crypto_auth_hmacsha256_state h;
    if (!secret_hex || strlen(secret_hex) != HV_SYNC_HASH_HEX ||
        sodium_hex2bin(key, sizeof key, secret_hex, HV_SYNC_HASH_HEX, NULL, &n,
                       NULL) != 0 || n != sizeof key)
        return -1;
    json_t *copy = json_copy(entry);
    char *text = NULL;
    if (copy) {
        json_object_del(copy, "hash"); /* absent: nothing to leave out */
        text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
    }
    json_decref(copy);
    if (!text) {
        sodium_memzero(key, sizeof key);
        return -1;
    }
    crypto_auth_hmacsha256_init(&h, key, sizeof key);
    crypto_auth_hmacsha256_update(&h, (const unsigned char *)prev, strlen(prev));
    crypto_auth_hmacsha256_update(&h, (const unsigned char *)"\n", 1);
    crypto_auth_hmacsha256_update(&h, (const unsigned char *)text, strlen(text));
    crypto_auth_hmacsha256_final(&h, mac);
    sodium_memzero(key, sizeof key);
    hv__free(text);
    sodium_bin2hex(out, HV_SYNC_HASH_HEX + 1, mac, sizeof mac);
    return 0;
}

/* 1 if s is 64 lower-case hex digits. */
static int hex64(const char *s)
{
    return s && strlen(s) == HV_SYNC_HASH_HEX &&
           strspn(s, "0123456789abcdef") == HV_SYNC_HASH_HEX;
}

/* Reads entry j (index i of the upload) into x: HV_INVALID naming the
 * entry's position when a field is missing or of the wrong type. */
static hv_status entry_read(hv_engine *e, json_t *j, size_t i, hv__sync_entry *x)
{
    memset(x, 0, sizeof *x);
    x->j = j;
    json_t *seq = json_object_get(j, "seq"), *at = json_object_get(j, "at");
    json_t *base = json_object_get(j, "base_version");
    json_t *step = json_object_get(j, "step");
    x->user = json_string_value(json_object_get(j, "user"));
    x->kind = json_string_value(json_object_get(j, "kind"));
    x->ref = json_string_value(json_object_get(j, "ref"));
    x->step = json_string_value(step);
    x->input = json_string_value(json_object_get(j, "input"));
    x->prev = json_string_value(json_object_get(j, "prev"));
    x->hash = json_string_value(json_object_get(j, "hash"));
    const char *why = NULL;
    if (!json_is_object(j) || !json_is_integer(seq) || !json_is_integer(at) ||
        !json_is_integer(base) || !x->user || !x->kind || !x->input || !x->prev ||
        !x->hash || (step && !json_is_null(step) && !x->step))
        why = "a field is missing or of the wrong type";
    else if (strcmp(x->kind, "register") && strcmp(x->kind, "step") &&
             strcmp(x->kind, "note"))
        why = "kind is not register, step or note";
    else if (!x->ref && strcmp(x->kind, "register"))
        why = "a step or a note needs a ref";
    else if (!strcmp(x->kind, "step") && !x->step)
        why = "a step needs its verb";
    else if (!hex64(x->hash) || (x->prev[0] && !hex64(x->prev)))
        why = "prev or hash is not a hex SHA-256";
    if (why)
        return hv__fail(e, HV_INVALID, "sync upload refused: entry %zu: %s",
                        i + 1, why);
    x->seq = json_integer_value(seq);
    x->at = json_integer_value(at);
    x->base_version = json_integer_value(base);
    if (x->seq < 1 || x->base_version < 0)
        return hv__fail(e, HV_INVALID, "sync upload refused: entry %zu: seq or "
                        "base_version out of range", i + 1);
    return HV_OK;
}

/* An entry received before (seq <= the device's last_seq): its receipt's
 * hash must be the entry's. */
static hv_status entry_known(hv_engine *e, const hv__device *d,
                             const hv__sync_entry *x)
{
    char *hash = NULL;
    hv_status s = hv__store_query_text(e, "reading sync receipts",
                                       "SELECT hash FROM sync_receipts WHERE"
                                       " device_id = ?1 AND seq = ?2", &hash,
                                       "ii", d->id, x->seq);
    if (s)
        return s;
    int same = hash && !strcmp(hash, x->hash);
    hv__free(hash);
    if (!same)
        return hv__fail(e, HV_INVALID, "sync upload refused: entry %lld differs "
                        "from the one received", (long long)x->seq);
    return HV_OK;
}

/* Checks the entries' numbers, chain and keyed hashes (see the header).
 * out: *first_new. */
static hv_status chain_check(hv_engine *e, const hv__device *d, const char *secret,
                             hv__sync_entry *xs, size_t n, const char *head,
                             size_t *first_new)
{
    char mac[HV_SYNC_HASH_HEX + 1];
    hv_status s;
    *first_new = n;
    for (size_t i = 0; i < n; i++) {
        hv__sync_entry *x = &xs[i];
        if (i > 0 && x->seq != xs[i - 1].seq + 1)
            return hv__fail(e, HV_INVALID, "sync upload refused: entry %lld "
                            "does not follow entry %lld (reordered or missing "
                            "entries)", (long long)x->seq, (long long)xs[i - 1].seq);
        if (strcmp(x->user, d->login))
            return hv__fail(e, HV_DENIED, "sync upload refused: entry %lld was "
                            "made by another user than the device's",
                            (long long)x->seq);
        if (x->seq <= d->last_seq) {
            /* the receipt's hash, and the content that hash was made of */
            if ((s = entry_known(e, d, x)))
                return s;
            if (hv__sync_entry_hmac(secret, x->prev, x->j, mac) != 0)
                return hv__fail(e, HV_NOMEM, "out of memory");
            if (sodium_memcmp(mac, x->hash, HV_SYNC_HASH_HEX) != 0)
                return hv__fail(e, HV_INVALID, "sync upload refused: entry %lld "
                                "differs from the one received", (long long)x->seq);
            continue;
        }
        if (*first_new == n) {
            *first_new = i;
            if (x->seq != d->last_seq + 1 || strcmp(x->prev, d->head))
                return hv__fail(e, HV_INVALID, "sync upload refused: entry %lld "
                                "does not continue the device's chain (entry "
                                "%lld was the last received)", (long long)x->seq,
                                (long long)d->last_seq);
        } else if (strcmp(x->prev, xs[i - 1].hash)) {
            return hv__fail(e, HV_INVALID, "sync upload refused: entry %lld does "
                            "not chain to entry %lld", (long long)x->seq,
                            (long long)xs[i - 1].seq);
        }
        if (hv__sync_entry_hmac(secret, x->prev, x->j, mac) != 0)
            return hv__fail(e, HV_NOMEM, "out of memory");
        if (sodium_memcmp(mac, x->hash, HV_SYNC_HASH_HEX) != 0)
            return hv__fail(e, HV_INVALID, "sync upload refused: entry %lld: "
                            "its hash does not verify (changed on the way?)",
                            (long long)x->seq);
    }
    const char *want = n ? xs[n - 1].hash : d->head;
    if (strcmp(head, want))
        return hv__fail(e, HV_INVALID, "sync upload refused: the upload's head "
                        "is not its last entry's hash (truncated?)");
    return HV_OK;
}

hv_status hv__sync_chain_verify(hv_engine *e, const hv__device *d,
                                const char *secret, json_t *req,
                                hv__sync_entry **entries, size_t *count,
                                size_t *first_new)
{
    json_t *arr = json_object_get(req, "entries");
    const char *head = json_string_value(json_object_get(req, "head"));
    *entries = NULL;
    *count = *first_new = 0;
    if (!json_is_array(arr) || !head || (head[0] && !hex64(head)))
        return hv__fail(e, HV_INVALID, "sync upload refused: \"entries\" (an "
                                       "array) and \"head\" (a hex hash or \"\") "
                                       "are needed");
    size_t n = json_array_size(arr);
    hv__sync_entry *xs = n ? hv__calloc(n, sizeof *xs) : NULL;
    if (n && !xs)
        return hv__fail(e, HV_NOMEM, "out of memory");
    hv_status s = HV_OK;
    for (size_t i = 0; i < n && !s; i++)
        s = entry_read(e, json_array_get(arr, i), i, &xs[i]);
    if (!s)
        s = chain_check(e, d, secret, xs, n, head, first_new);
    if (s) {
        hv__free(xs);
        return s;
    }
    *entries = xs;
    *count = n;
    return HV_OK;
}
