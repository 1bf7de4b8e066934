/*
 * rulesdiff_run.c - hv_rules_diff: the dry run over the open cases
 * (rulesdiff.c evaluates them, rulesdiff_rows.c reads them), on the
 * caller's thread or, for an agency-wide diff, on every core.
 *
 * In parts: a manager's or an administrator's diff (every open case; no
 * log() line kept, errors brief) of a SQLite file, outside a transaction,
 * over enough cases, cuts the case ids into CHUNKS ranges.  Each part (the
 * caller's thread and one more thread per further core, up to PARTS_MAX)
 * has a read-only connection of its own to the file, its own copies of
 * both packs (a Lua state each, the same sandbox, budget and cap) and a
 * shadow of the engine (its connection, its message, the data key), and
 * takes the next range no part has taken until none is left.  Each
 * range keeps its own results; they are put together in range order, so
 * the answer (changes, counts, the errors listed) is the one thread's,
 * byte for byte (test_rulesdiff compares them).
 *
 * One snapshot: every part's connection begins its read while the
 * engine's own connection holds the write lock (BEGIN IMMEDIATE, given
 * back at once, nothing written), so no change commits between them.
 * When that lock is not had, a file does not open again or the machine
 * has one core, the run is the one thread's, as before.
 *
 * Each part runs its own copy of a pack; no state survives from one call
 * to the next in any host (each call runs the chunk afresh), so which
 * part evaluates a case changes nothing.  rules apply stays on one thread
 * (its writes are one transaction on the engine's connection).
 */
#include "rulesdiff.h"

#include <lua.h>
#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "alloc.h"
#include "core.h"
#include "error.h"
#include "store.h"

#define CHUNKS 64    /* ranges of case ids the parts take in turn */
#define PARTS_MAX 8  /* threads at most, the caller's among them */
#define SPAN_MIN 4096 /* case ids below which one thread does it all */
#define LOCK_WAIT_MS 250 /* for the write lock that fixes the snapshot */

static int parts_set;              /* 0: one per core (hv__diff_parts_set) */
static int64_t span_min = SPAN_MIN;
static _Thread_local int parts_last; /* the parts of this thread's last run */

void hv__diff_parts_set(int parts, int64_t min_span)
{
    parts_set = parts < 0 ? 0 : parts > PARTS_MAX ? PARTS_MAX : parts;
    span_min = min_span;
}

int hv__diff_parts_last(void) { return parts_last; }

/* ---- the parts --------------------------------------------------------------- */

enum { RANGE_OPEN, RANGE_DONE, RANGE_FAILED };

/* The results of one range (its JSON NULL once given to the run). */
typedef struct {
    json_t *changed, *errors, *counts;
    int64_t evaluated, nchanged, nerrors;
    int state;       /* RANGE_..., under the lock */
    hv_status s;     /* RANGE_FAILED: the failure and its message */
    char *msg;
} chunk_out;

/* What the parts share: the ranges and the next one to take. */
typedef struct {
    pthread_mutex_t lock;
    int next;        /* the next range no part has taken */
    int stop;        /* a range failed: no part takes another */
    int given;       /* ranges given to the run so far (the caller's) */
    int64_t lo, step; /* range k: ids lo + k * step .. (the last: no end) */
    chunk_out out[CHUNKS];
} shared;

typedef struct {
    shared *sh;
    hv_diff_run *run;   /* part 0 (the caller's thread): the run it gives
                         * the finished ranges to, in order; else NULL */
    hv_engine *e;       /* the shadow engine (shadow_new) */
    hv_rules *host[2];  /* its hosts of the old and the new pack */
    hv_diff_run d;
    pthread_t thread;
    int thread_started;
} part;

/* A shadow of e for a part's thread: a read-only connection of its own to
 * the file, its own statements and message, the data key (to open what a
 * rule reads) and the clock; the path borrowed (messages name the file).
 * NULL when the file does not open again or out of memory. */
static hv_engine *shadow_new(hv_engine *e)
{
    hv_engine *w = hv__calloc(1, sizeof *w);
    if (!w)
        return NULL;
    if (!(w->db = hv__store_reader_open(e))) {
        hv__free(w);
        return NULL;
    }
    w->path = e->path;
    w->clock_mode = e->clock_mode;
    w->clock_time = e->clock_time;
    w->simulated = e->simulated;
    w->have_key = e->have_key;
    memcpy(w->data_key, e->data_key, sizeof w->data_key);
    return w;
}

static void shadow_free(hv_engine *w)
{
    if (!w)
        return;
    hv__store_cache_clear(w);
    sqlite3_close_v2(w->db);
    hv__free(w->errmsg);
    sodium_memzero(w->data_key, sizeof w->data_key);
    hv__free(w);
}

/* Sets part p up as the run d's (its shadow, its hosts).  0, or -1 when
 * it cannot be (the run goes on one thread). */
static int part_init(part *p, shared *sh, hv_diff_run *d)
{
    p->sh = sh;
    if (!(p->e = shadow_new(d->e)))
        return -1;
    for (int i = 0; i < (d->same ? 1 : 2); i++) {
        if (hv__diff_copy_host(d->e, d->s[i].r, &p->host[i]))
            return -1;
        lua_gc(hv__rules_lua(p->host[i]), LUA_GCGEN, 0, 0);
        hv__rules_quiet(p->host[i], 1);
    }
    p->d.e = p->e;
    p->d.hooks = d->hooks;
    p->d.same = d->same;
    p->d.brief_errors = d->brief_errors;
    p->d.view.now = d->view.now;
    p->d.view.base_only = d->view.base_only;
    hv__view_case_init(&p->d.view.rec);
    for (int i = 0; i < 2; i++)
        hv__view_side_init(&p->d.s[i], &p->d.view, p->host[d->same ? 0 : i]);
    return 0;
}

static void part_free(part *p)
{
    if (!p->e)
        return;
    hv__diff_free(&p->d);
    for (int i = 0; i < 2; i++)
        hv__rules_free(p->host[i]);
    shadow_free(p->e);
}

/* Evaluates range k into its results; records how it ended. */
static void run_chunk(part *p, int k)
{
    shared *sh = p->sh;
    chunk_out *o = &sh->out[k];
    hv_diff_run *d = &p->d;
    hv_status s;
    /* (the part's count goes on across its ranges: its GC steps) */
    int64_t evaluated = d->evaluated, nchanged = d->nchanged, nerrors = d->nerrors;
    d->lo = sh->lo + (int64_t)k * sh->step;
    d->hi = k + 1 < CHUNKS ? d->lo + sh->step : 0;
    d->changed = o->changed = json_array();
    d->errors = o->errors = json_array();
    d->counts = o->counts = json_object();
    if (!o->changed || !o->errors || !o->counts)
        s = hv__fail(p->e, HV_NOMEM, "out of memory");
    else if ((s = hv__diff_prepare(d, 1, 0, 0, 0)) == HV_OK)
        s = hv__diff_scan(d);
    hv__diff_close(d);
    o->evaluated = d->evaluated - evaluated;
    o->nchanged = d->nchanged - nchanged;
    o->nerrors = d->nerrors - nerrors;
    o->s = s;
    o->msg = s ? hv__strdup(hv_errmsg(p->e)) : NULL;
    d->changed = d->errors = d->counts = NULL; /* the range's */
    pthread_mutex_lock(&sh->lock);
    o->state = s ? RANGE_FAILED : RANGE_DONE;
    sh->stop |= s != HV_OK;
    pthread_mutex_unlock(&sh->lock);
}

/* Gives range o's results to the run d (its changes to the caller's
 * callback as they come, or listed; its counts; errors up to the listed
 * many), and frees them.  -1 when out of memory. */
static int give_range(hv_diff_run *d, chunk_out *o)
{
    const char *key;
    json_t *v;
    size_t i;
    int bad = 0;
    d->evaluated += o->evaluated;
    d->nchanged += o->nchanged;
    d->nerrors += o->nerrors;
    json_array_foreach(o->errors, i, v)
        if (json_array_size(d->errors) < HV_DIFF_ERRORS_LISTED)
            bad |= json_array_append(d->errors, v);
    json_object_foreach(o->counts, key, v) {
        json_t *had = json_object_get(d->counts, key);
        bad |= json_object_set_new(d->counts, key,
                                   json_integer(json_integer_value(v) +
                                                (had ? json_integer_value(had) : 0)));
    }
    json_array_foreach(o->changed, i, v) {
        if (d->on_change) {
            char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (text)
                d->on_change(d->ud, text);
            free(text);
        } else {
            bad |= json_array_append(d->changed, v);
        }
    }
    json_decref(o->changed);
    json_decref(o->errors);
    json_decref(o->counts);
    o->changed = o->errors = o->counts = NULL;
    return bad ? -1 : 0;
}

/* On the caller's thread: gives the run the ranges finished since the
 * last, in order, stopping at one not finished; a failed range's changes
 * before its failure are given too (as one thread would have). */
static void give_finished(part *p)
{
    shared *sh = p->sh;
    while (sh->given < CHUNKS) {
        chunk_out *o = &sh->out[sh->given];
        pthread_mutex_lock(&sh->lock);
        int state = o->state;
        pthread_mutex_unlock(&sh->lock);
        if (state == RANGE_OPEN)
            return;
        if (give_range(p->run, o) && state == RANGE_DONE) {
            o->state = RANGE_FAILED; /* (no part writes it again) */
            o->s = HV_NOMEM;
            o->msg = hv__strdup("out of memory");
            state = RANGE_FAILED;
            pthread_mutex_lock(&sh->lock);
            sh->stop = 1;
            pthread_mutex_unlock(&sh->lock);
        }
        if (state == RANGE_FAILED)
            return;
        sh->given++;
    }
}

/* A part's loop: takes the next range until none is left or one failed;
 * the caller's part gives the finished ones to the run as it goes. */
static void *part_main(void *arg)
{
    part *p = arg;
    shared *sh = p->sh;
    for (;;) {
        pthread_mutex_lock(&sh->lock);
        int k = sh->stop ? CHUNKS : sh->next++;
        pthread_mutex_unlock(&sh->lock);
        if (k >= CHUNKS)
            break;
        run_chunk(p, k);
        if (p->run)
            give_finished(p);
    }
    sqlite3_exec(p->e->db, "COMMIT", NULL, NULL, NULL); /* (only read) */
    return NULL;
}

/* Begins every part's read while e's own connection holds the write
 * lock: one snapshot for all, checked to be the state e's connection
 * reads (the same file: not one renamed over it since the engine opened
 * it).  0, or -1 when not (then no part is left in a transaction). */
static int begin_snapshot(hv_engine *e, part *parts, int n)
{
    unsigned char mine[HV_FINGERPRINT_BYTES], theirs[HV_FINGERPRINT_BYTES];
    /* (a writer holding the lock long: one thread, not a long wait) */
    sqlite3_busy_timeout(e->db, e->busy_ms < LOCK_WAIT_MS ? e->busy_ms : LOCK_WAIT_MS);
    int ok = sqlite3_exec(e->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK &&
             hv__store_fingerprint(e->db, mine) == 0;
    sqlite3_busy_timeout(e->db, e->busy_ms);
    for (int i = 0; ok && i < n; i++)
        ok = sqlite3_exec(parts[i].e->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
             hv__store_fingerprint(parts[i].e->db, theirs) == 0 && !memcmp(mine, theirs, sizeof mine);
    if (!sqlite3_get_autocommit(e->db))
        sqlite3_exec(e->db, "ROLLBACK", NULL, NULL, NULL);
    if (!ok)
        for (int j = 0; j < n; j++)
            if (!sqlite3_get_autocommit(parts[j].e->db))
                sqlite3_exec(parts[j].e->db, "ROLLBACK", NULL, NULL, NULL);
    return ok ? 0 : -1;
}

/* The cores this process may run on (its affinity), 1 to PARTS_MAX. */
static int cores(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    long n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                         : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > PARTS_MAX ? PARTS_MAX : (int)n;
}

/* How many parts a run over every open case (all) takes: 1 unless a SQLite
 * file outside a transaction, more than one core and case ids spanning
 * span_min or more.  *lo, *step: the ranges. */
static int plan_parts(hv_diff_run *d, int all, int64_t *lo, int64_t *step)
{
    hv_engine *e = d->e;
    int64_t min = 0, max = 0;
    int n = parts_set ? parts_set : cores();
    if (!all || n < 2 || e->pg || !sqlite3_get_autocommit(e->db) ||
        hv__store_query_int(e, "reading the case ids", "SELECT min(id) FROM cases",
                            0, &min, "") ||
        hv__store_query_int(e, "reading the case ids", "SELECT max(id) FROM cases",
                            0, &max, "") ||
        max < min || max - min + 1 < span_min) {
        hv__clear_error(e);
        return 1;
    }
    /* (the first range from the smallest id there is: a case is never
     * given an id below it) */
    *lo = min;
    *step = (max - min) / CHUNKS + 1;
    return n;
}

/* The diff's evaluation in parts (the head of this file).  *done 0: the
 * run was not made (the caller runs it on one thread); else its status:
 * a failure is the lowest failed range's (its message). */
static hv_status run_parts(hv_diff_run *d, int all, int *done)
{
    part parts[PARTS_MAX];
    shared sh;
    hv_status s = HV_OK;
    int64_t lo = 0, step = 0;
    int n = plan_parts(d, all, &lo, &step);
    *done = 0;
    if (n < 2)
        return HV_OK;
    memset(parts, 0, sizeof parts);
    memset(&sh, 0, sizeof sh);
    sh.lo = lo;
    sh.step = step;
    int ready = 0;
    while (ready < n && part_init(&parts[ready], &sh, d) == 0)
        ready++;
    if (ready == n && begin_snapshot(d->e, parts, n) == 0 &&
        pthread_mutex_init(&sh.lock, NULL) == 0) {
        *done = 1;
        parts[0].run = d;
        for (int i = 1; i < n; i++) {
            parts[i].thread_started =
                pthread_create(&parts[i].thread, NULL, part_main, &parts[i]) == 0;
            parts_last += parts[i].thread_started;
        }
        part_main(&parts[0]); /* the caller's thread is part 0 */
        for (int i = 1; i < n; i++) {
            if (parts[i].thread_started)
                pthread_join(parts[i].thread, NULL);
            else /* (no thread: its ranges were taken by the others) */
                sqlite3_exec(parts[i].e->db, "COMMIT", NULL, NULL, NULL);
        }
        give_finished(&parts[0]);
        pthread_mutex_destroy(&sh.lock);
        if (sh.given < CHUNKS) {
            chunk_out *o = &sh.out[sh.given];
            s = hv__fail(d->e, o->s ? o->s : HV_INTERNAL, "%s",
                         o->msg ? o->msg : "a part of the run did not finish");
        }
    } else {
        hv__clear_error(d->e); /* (a part not set up: one thread instead) */
    }
    for (int k = 0; k < CHUNKS; k++) {
        json_decref(sh.out[k].changed);
        json_decref(sh.out[k].errors);
        json_decref(sh.out[k].counts);
        hv__free(sh.out[k].msg);
    }
    for (int i = 0; i < n; i++)
        part_free(&parts[i]);
    return s;
}

/* Audits a diff run over every open case (a manager's or an
 * administrator's): the packs compared, the hooks, the counts.  HV_OK or
 * the failure (message set). */
static hv_status audit_diff(hv_diff_run *d, const char *new_pack_dir)
{
    json_t *data = json_pack("{s:O,s:O,s:s,s:i,s:I,s:I,s:I}", "old", d->old_info,
                             "new", d->new_info, "new_from",
                             new_pack_dir ? "folder" : "the pack in force",
                             "hooks", (int)d->hooks, "cases_evaluated",
                             (json_int_t)d->evaluated, "cases_changed",
                             (json_int_t)d->nchanged, "rule_errors",
                             (json_int_t)d->nerrors);
    if (data && d->from_digest &&
        json_object_set_new(data, "answered_from", json_string("digest"))) {
        json_decref(data);
        data = NULL;
    }
    if (!data)
        return hv__fail(d->e, HV_NOMEM, "out of memory");
    hv_status s = hv__audit_event(d->e, 0, "rules_diffed", data);
    json_decref(data);
    return s;
}

/* The diff's evaluation on the engine's connection: one snapshot, a read
 * transaction that writes nothing, over every open case in scope.  HV_OK
 * or the failure. */
static hv_status run_scan(hv_diff_run *d, int all, int64_t me, int supervisor)
{
    hv_engine *e = d->e;
    hv_status s;
    if ((s = hv__store_exec(e, "BEGIN")))
        return s;
    if ((s = hv__diff_prepare(d, all, me, supervisor, 0)) == HV_OK)
        s = hv__diff_scan(d);
    hv__diff_close(d);
    hv_status c = hv__store_exec(e, "COMMIT");
    if (s == HV_OK)
        s = c;
    if (c)
        sqlite3_exec(e->db, "ROLLBACK", NULL, NULL, NULL);
    return s;
}

HV_API hv_status hv_rules_diff(hv_engine *e, const char *new_pack_dir,
                               const hv_rules_diff_options *o, char **out_json)
{
    hv_diff_run d;
    hv_rules *fresh = NULL;
    hv_status s;
    int all, supervisor, done_in_parts = 0;
    int64_t me;
    *out_json = NULL;
    parts_last = 1;
    hv__clear_error(e);
    memset(&d, 0, sizeof d);
    /* managers and administrators (who change packs) see every open case,
     * by reference and codes only; caseworkers and supervisors their own */
    if ((s = hv__list_scope(e, 1, &all, &me, &supervisor)))
        return s;
    d.hooks = o && o->hooks ? o->hooks : HV_DIFF_ALL;
    d.on_change = o ? o->on_change : NULL;
    d.ud = o ? o->ud : NULL;
    /* a manager's or an administrator's scope holds no case content: rule
     * errors are listed briefly, log() lines dropped, the run audited */
    d.brief_errors = all;
    if ((s = hv__diff_init(&d, e, new_pack_dir, "rules diff", &fresh)))
        goto done;
    /* and the rules see the base view: no declared form field (rules
     * apply keeps them: its decisions are stored, never shown) */
    d.view.base_only = all;
    for (int i = 0; i < 2; i++) {
        lua_gc(hv__rules_lua(d.s[i].r), LUA_GCGEN, 0, 0);
        hv__rules_quiet(d.s[i].r, all);
    }
    if (d.same && !(o && o->full)) {
        /* The same pack (same digest of its files): putting it in force
         * changes no code, so no decision, whatever the rules do; the
         * answer is the open cases in scope, none changed (answered_from
         * "digest"; the rules are not run, so their errors are not looked
         * for). */
        d.from_digest = 1;
        s = hv__diff_count_open(e, all, me, supervisor, &d.evaluated);
    } else {
        s = run_parts(&d, all, &done_in_parts);
        if (!done_in_parts)
            s = run_scan(&d, all, me, supervisor);
    }
    if (s == HV_OK && all)
        s = audit_diff(&d, new_pack_dir);
    if (s == HV_OK) {
        json_t *j = hv__diff_summary(&d);
        s = j ? hv__json_out(e, j, out_json) : hv__fail(e, HV_NOMEM, "out of memory");
        json_decref(j);
    }
done:
    hv__diff_end(&d, fresh);
    return s;
}

