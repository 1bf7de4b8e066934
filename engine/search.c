/* search.c - finding children by name: the name index, the duplicate
 * check at registration, and hv_case_search.  Names are looked up only
 * through their blind spelling keys; a name never goes into SQL text, a
 * message or an event. */
#include "search.h"

#include <sodium.h>
#include <string.h>

#include "alloc.h"
#include "casefile.h"
#include "names.h"
#include "store.h"
#include "error.h"
#include "access.h"
#include "crypto.h"
#include "events.h"
#include "core.h"

/* The spelling keys of name as compact JSON array text, for the caller to
 * free(); *n is how many.  Returns NULL when out of memory. */
static char *name_keys_text(const char *name, size_t *n)
{
    json_t *keys = json_array();
    char *text = keys && hv__name_keys(name, keys) == 0
                     ? json_dumps(keys, JSON_COMPACT)
                     : NULL;
    *n = json_array_size(keys);
    json_decref(keys);
    return text;
}

/* The blind key of the n bytes at text into out: the first HV_BLIND_BYTES
 * of their HMAC-SHA-256 under the index key, as SQL's hv_blind makes it
 * (crypto.c), from the state keyed once per engine. */
static void blind(hv_engine *e, const char *text, size_t n,
                  unsigned char out[HV_BLIND_BYTES])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state hs = e->index_mac;
    crypto_auth_hmacsha256_update(&hs, (const unsigned char *)text, n);
    crypto_auth_hmacsha256_final(&hs, mac);
    memcpy(out, mac, HV_BLIND_BYTES);
    sodium_memzero(&hs, sizeof hs);
    sodium_memzero(mac, sizeof mac);
}

/* The text of the duplicate key of a spelling key, a sex and a location
 * ("d:" key "|" sex "|" the location lower-cased (ASCII, as SQL's lower)
 * without spaces or tabs: schema 8's migration makes the same in SQL) into
 * buf (size bytes).  Returns its length, or 0 when it does not fit. */
static size_t duplicate_text(const char *key, const char *sex,
                             const char *location, char *buf, size_t size)
{
    int n = snprintf(buf, size, "d:%s|%s|", key, sex);
    if (n < 0 || (size_t)n >= size)
        return 0;
    size_t used = (size_t)n;
    for (const char *p = location; *p; p++) {
        char c = *p;
        if (c == ' ' || c == '\t')
            continue;
        if (used + 1 >= size)
            return 0;
        buf[used++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    buf[used] = '\0';
    return used;
}

void hv__name_index_free(hv_name_index *x)
{
    if (!x)
        return;
    hv__free(x->keys);
    x->keys = NULL;
    x->nplain = x->ndup = 0;
}

hv_status hv__name_index_make(hv_engine *e, const char *name, const char *sex,
                              const char *location, hv_name_index *x)
{
    json_t *keys = json_array();
    size_t i;
    json_t *v;
    x->keys = NULL;
    x->nplain = x->ndup = 0;
    if (!keys || (name && hv__name_keys(name, keys) != 0)) {
        json_decref(keys);
        return hv__fail(e, HV_NOMEM, "out of memory");
    }
    size_t n = json_array_size(keys);
    int dup = sex && location;
    if (n && !(x->keys = hv__malloc(n * (dup ? 2 : 1) * HV_BLIND_BYTES))) {
        json_decref(keys);
        return hv__fail(e, HV_NOMEM, "out of memory");
    }
    hv_status s = HV_OK;
    json_array_foreach(keys, i, v) {
        const char *k = json_string_value(v);
        blind(e, k, strlen(k), x->keys[x->nplain++]);
    }
    for (i = 0; dup && i < n; i++) {
        char text[1024];
        size_t len = duplicate_text(json_string_value(json_array_get(keys, i)),
                                    sex, location, text, sizeof text);
        if (!len) {
            s = hv__fail(e, HV_INVALID, "a name or location too long to index");
            break;
        }
        blind(e, text, len, x->keys[n + x->ndup++]);
        sodium_memzero(text, len);
    }
    json_decref(keys);
    if (s)
        hv__name_index_free(x);
    return s;
}

/* Name-key rows written by one statement (a child's name of up to four
 * parts in one). */
enum { KEYS_PER_INSERT = 16 };

hv_status hv__index_keys(hv_engine *e, int64_t person_id, const hv_name_index *x)
{
    size_t n = x->nplain + x->ndup;
    hv_status s = HV_OK;
    /* one multi-row INSERT per KEYS_PER_INSERT keys: its text depends only
     * on how many, so the statement cache keeps one of each */
    for (size_t from = 0; from < n && s == HV_OK; from += KEYS_PER_INSERT) {
        size_t k = n - from < KEYS_PER_INSERT ? n - from : KEYS_PER_INSERT;
        static const char head[] = "INSERT OR IGNORE INTO person_name_keys"
                                   " (person_id, key) VALUES";
        char sql[96 + KEYS_PER_INSERT * 12];
        size_t used = sizeof head - 1;
        memcpy(sql, head, used);
        /* " (?1,?2),(?1,?3)...": written by hand, at every registration */
        for (size_t i = 0; i < k; i++) {
            size_t p = i + 2;
            memcpy(sql + used, i ? ",(?1,?" : " (?1,?", 6);
            used += 6;
            if (p >= 10)
                sql[used++] = (char)('0' + p / 10);
            sql[used++] = (char)('0' + p % 10);
            sql[used++] = ')';
        }
        sql[used] = '\0';
        sqlite3_stmt *st = NULL;
        if ((s = hv__store_prepare(e, sql, &st)))
            break;
        sqlite3_bind_int64(st, 1, person_id);
        for (size_t i = 0; i < k; i++)
            sqlite3_bind_blob(st, (int)i + 2, x->keys[from + i], HV_BLIND_BYTES,
                              SQLITE_STATIC);
        int rc = sqlite3_step(st);
        hv__store_finalize(e, st);
        if (rc != SQLITE_DONE)
            s = hv__sql_fail(e, rc, "indexing a name");
    }
    return s;
}

hv_status hv__index_name(hv_engine *e, int64_t person_id, const char *name,
                         const char *sex, const char *location)
{
    char *role = NULL;
    hv_name_index x;
    if (!name)
        return HV_OK;
    /* only a child's name is searched and compared (hv_case_search and
     * the duplicate check look at children alone) */
    hv_status s = hv__store_query_text(e, "indexing a name",
                                       "SELECT role FROM persons WHERE id = ?1",
                                       &role, "i", person_id);
    int child = s == HV_OK && role && !strcmp(role, "child");
    hv__free(role);
    if (s || !child)
        return s;
    if ((s = hv__name_index_make(e, name, sex, location, &x)))
        return s;
    s = hv__index_keys(e, person_id, &x);
    hv__name_index_free(&x);
    return s;
}

/* The newest MAX_DUPLICATES cases, each once, kept in C rather than with
 * DISTINCT and ORDER BY, which cost SQLite two temporary b-trees at every
 * registration for the few rows a name and place match. */
enum { MAX_DUPLICATES = 20 };
typedef struct {
    int n;
    struct {
        int64_t id;
        json_t *ref;
    } top[MAX_DUPLICATES];
} newest_cases;

/* Adds case id with reference ref to the newest cases unless it is there
 * already or older than all of a full list.  Returns 0, or -1 when out of
 * memory. */
static int newest_add(newest_cases *c, int64_t id, const char *ref)
{
    int at = c->n;
    for (int i = 0; i < c->n; i++)
        if (c->top[i].id == id)
            return 0;
    while (at > 0 && c->top[at - 1].id < id)
        at--;
    if (at >= MAX_DUPLICATES)
        return 0;
    json_t *r = json_string(ref);
    if (!r)
        return -1;
    if (c->n == MAX_DUPLICATES)
        json_decref(c->top[--c->n].ref);
    memmove(&c->top[at + 1], &c->top[at], (size_t)(c->n - at) * sizeof c->top[0]);
    c->top[at].id = id;
    c->top[at].ref = r;
    c->n++;
    return 0;
}

/* Moves the references of c into refs, newest first.  Returns 0, or -1
 * when out of memory; c is emptied either way. */
static int newest_move(newest_cases *c, json_t *refs)
{
    int bad = 0;
    for (int i = 0; i < c->n; i++)
        if (bad)
            json_decref(c->top[i].ref);
        else
            bad |= json_array_append_new(refs, c->top[i].ref);
    c->n = 0;
    return bad ? -1 : 0;
}

hv_status hv__duplicates_find_keys(hv_engine *e, const hv_name_index *x,
                                   int age, json_t **out)
{
    newest_cases c;
    json_t *refs = json_array();
    hv_status s = HV_OK;
    int rc = SQLITE_DONE, bad = 0;
    *out = NULL;
    c.n = 0;
    if (!refs)
        return hv__fail(e, HV_NOMEM, "out of memory");
    /* each duplicate key one indexed probe (the key leads the table's
     * primary key); a child found under several keys is kept once */
    for (size_t i = 0; age >= 0 && i < x->ndup && s == HV_OK && !bad; i++) {
        sqlite3_stmt *st = NULL;
        if ((s = hv__store_prepare(
                 e,
                 "SELECT c.id, c.ref FROM person_name_keys k"
                 " JOIN persons p ON p.id = k.person_id"
                 " JOIN cases c ON c.id = p.case_id"
                 " WHERE k.key = ?1"
                 "   AND abs(hv_age_now(hv_open(p.birth_date, 'persons',"
                 "       'birth_date', p.id), p.age, p.age_recorded_at, ?3) - ?2)"
                 "       <= 1",
                 &st)))
            break;
        sqlite3_bind_blob(st, 1, x->keys[x->nplain + i], HV_BLIND_BYTES,
                          SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, age);
        sqlite3_bind_int64(st, 3, hv_now(e));
        while (!bad && (rc = sqlite3_step(st)) == SQLITE_ROW)
            bad = newest_add(&c, sqlite3_column_int64(st, 0),
                             (const char *)sqlite3_column_text(st, 1));
        hv__store_finalize(e, st);
        if (!bad && rc != SQLITE_DONE)
            s = hv__sql_fail(e, rc, "looking for duplicates");
    }
    if (newest_move(&c, refs) || bad)
        s = s ? s : hv__fail(e, HV_NOMEM, "out of memory");
    if (s) {
        json_decref(refs);
        return s;
    }
    *out = refs;
    return HV_OK;
}

hv_status hv__duplicates_find(hv_engine *e, const char *name, const char *sex,
                              int age, const char *location, json_t **out)
{
    hv_name_index x;
    *out = NULL;
    if (!name || !sex || age < 0 || !location) /* not enough to compare */
        return (*out = json_array()) ? HV_OK : hv__fail(e, HV_NOMEM, "out of memory");
    hv_status s = hv__name_index_make(e, name, sex, location, &x);
    if (s == HV_OK)
        s = hv__duplicates_find_keys(e, &x, age, out);
    hv__name_index_free(&x);
    return s;
}

/* The id of the case ref if the duplicate check found it outside the
 * acting user's scope (all: the agency; else me's cases and, for a
 * supervisor, their team's), else 0.  A
 * case they reach anyway tells them nothing new. */
static hv_status hit_outside_scope(hv_engine *e, const char *ref, int all,
                                   int64_t me, int supervisor, int64_t *id)
{
    return hv__store_query_int(
        e, "auditing the duplicate check",
        "SELECT c.id FROM cases c LEFT JOIN users a ON a.id = c.assignee_id"
        " WHERE c.ref = ?1 AND NOT (?2 = 1 OR c.assignee_id = ?3 OR"
        " (?4 = 1 AND a.supervisor_id = ?3))",
        0, id, "tiii", ref, (int64_t)all, me, (int64_t)supervisor);
}

hv_status hv__duplicates_audit(hv_engine *e, const json_t *refs,
                               const char *action, const char *outcome,
                               int in_transaction)
{
    size_t i;
    json_t *ref;
    int all = 0, supervisor = 0;
    int64_t me = 0;
    if (json_array_size(refs) == 0)
        return HV_OK;
    json_t *data = json_pack("{s:s,s:s}", "action", action, "outcome", outcome);
    if (!data)
        return hv__fail(e, HV_NOMEM, "out of memory");
    char role[32];
    hv_status s = in_transaction ? HV_OK : hv__store_begin(e);
    /* a manager sees every case in lists already; an administrator or a
     * trainer none (every hit is news to them) */
    if (s == HV_OK && (s = hv__actor(e, &me, role, sizeof role)) == HV_OK) {
        all = !strcmp(role, "manager");
        supervisor = !strcmp(role, "supervisor");
    }
    json_array_foreach(refs, i, ref) {
        int64_t id = 0;
        if (s == HV_OK &&
            (s = hit_outside_scope(e, json_string_value(ref), all, me, supervisor,
                                   &id)) == HV_OK && id)
            s = hv__store_append_event(e, id, "duplicate_checked", data, NULL);
    }
    json_decref(data);
    if (in_transaction)
        return s;
    if (s == HV_OK)
        return hv__store_commit(e);
    hv__store_rollback(e);
    return s;
}

/* Records one read of a name for each case in hits (the search's
 * answer, objects with a "ref").  Returns HV_OK or the first failure. */
static hv_status audit_hits(hv_engine *e, json_t *hits)
{
    size_t i;
    json_t *hit;
    json_array_foreach(hits, i, hit) {
        int64_t id = 0;
        hv_status s;
        if (hv__store_case_lookup(e, json_string_value(json_object_get(hit, "ref")),
                                  &id, NULL) == HV_OK &&
            (s = hv__case_audit_read(e, id, "search")) != HV_OK)
            return s;
    }
    return HV_OK;
}

/* The acting user if their role searches names (caseworkers and
 * supervisors).  out: *me, *supervisor (1 for a supervisor). */
static hv_status searcher(hv_engine *e, int64_t *me, int *supervisor)
{
    char role[32];
    hv_status s = hv__actor(e, me, role, sizeof role);
    if (s)
        return s;
    if (!hv__role_reads_cases(role))
        return hv__fail(e, HV_DENIED, "search: a%s %s does not search names",
                        role[0] == 'a' ? "n" : "", role);
    *supervisor = !strcmp(role, "supervisor");
    return HV_OK;
}

HV_API hv_status hv_case_search(hv_engine *e, const char *text,
                                char **out_json)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    char *keys_text = NULL;
    size_t nkeys = 0;
    int64_t me = 0;
    int supervisor = 0;
    *out_json = NULL;
    hv__clear_error(e);
    json_t *arr = json_array();
    if (!arr) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto done;
    }
    if ((s = hv__need_key(e, "search")))
        goto done;
    if (text && !(keys_text = name_keys_text(text, &nkeys))) {
        s = hv__fail(e, HV_NOMEM, "out of memory");
        goto done;
    }
    if (!text || nkeys == 0) {
        s = hv__fail(e, HV_USAGE, "search: give a name (letters) to search for");
        goto done;
    }
    /* Names are identifying data: only the roles that read case files
     * search, and only among their own cases. */
    if ((s = searcher(e, &me, &supervisor)))
        goto done;
    /* A child matches when any part of the searched name shares a
     * spelling key with a part of the child's name; the children sharing
     * the most keys come first. */
    if ((s = hv__store_preparef(
             e, &st,
             /* From the user's own cases and their team's (the assignee
              * index), each child's keys looked up by person: the same
              * cost on a national caseload as on a small one. */
             "SELECT * FROM (SELECT " HV_CASE_SUMMARY_COLUMNS ","
             "   hv_open(p.name, 'persons', 'name', p.id),"
             "   (SELECT count(*) FROM person_name_keys k WHERE k.person_id = p.id"
             "    AND +k.key IN (SELECT hv_blind(value) FROM json_each(?1))) AS hits,"
             "   c.id AS case_id FROM ("
             "   SELECT * FROM cases WHERE assignee_id = ?2"
             "   UNION ALL"
             "   SELECT x.* FROM users m CROSS JOIN cases x ON x.assignee_id = m.id"
             "   WHERE ?3 = 1 AND m.supervisor_id = ?2 AND m.id <> ?2"
             " ) c CROSS JOIN persons p ON p.case_id = c.id AND p.role = 'child'"
             " LEFT JOIN users u ON u.id = c.assignee_id)"
             " WHERE hits > 0 ORDER BY hits DESC, case_id DESC LIMIT 200",
             "tii", keys_text, me, (int64_t)supervisor)))
        goto done;
    s = hv__case_summaries(e, st, 1, arr, "searching");
    hv__store_finalize(e, st);
    st = NULL;
    /* Each hit is a read of a name: one audit event per case shown. */
    if (s == HV_OK && (s = audit_hits(e, arr)) == HV_OK)
        s = hv__json_out(e, arr, out_json);
done:
    hv__store_finalize(e, st);
    json_decref(arr);
    free(keys_text);
    return s;
}
