/*
 * audit.c - the tamper-evident audit trail: the events form a keyed hash
 * chain (events.c) that `audit verify` walks with the checkpoints signed
 * beside the database (chainverify.c); `--deep` recomputes every case's
 * digest; a checkpoint exported (Ed25519, key kept beside the database,
 * outside it) and given back detects a database restored to an older
 * state or rewritten after it, wherever the database went.
 */
#include "audit.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "chainverify.h"
#include "checkpoint.h"
#include "digest.h"
#include "engine.h"
#include "error.h"
#include "events.h"
#include "store.h"
#include "access.h"
#include "context.h"
#include "report_tasks.h"
#include "riskfacts.h"
#include "sealcheck.h"
#include "tasks.h"

/* A checkpoint given with --checkpoint (the JSON of hv_audit_checkpoint,
 * kept elsewhere): signed with this database's audit key, and the chain
 * cs reaches its entry with its hash.  HV_INVALID naming what differs. */
static hv_status check_given(hv_engine *e, const hv_chain_state *cs,
                             const char *checkpoint_json)
{
    char hash[HV_CHECKPOINT_HASH_HEX], sig[HV_CHECKPOINT_SIG_HEX];
    int64_t seq = 0, at = 0;
    unsigned char pk[32];
    hv_status s;
    char *have = NULL;
    if (hv__checkpoint_parse(checkpoint_json, &seq, hash, &at, sig) != 0)
        return hv__fail(e, HV_INVALID, "audit verify: the checkpoint is not a "
                                       "haven checkpoint");
    if ((s = hv__audit_key_load(e, 0)))
        return s;
    hv__audit_public_key(e, pk);
    if (hv__checkpoint_check(pk, seq, hash, at, sig) != 0)
        return hv__fail(e, HV_INVALID, "audit verify: the checkpoint's signature "
                                       "is not valid for this database's key");
    if (seq > cs->head_seq)
        return hv__fail(e, HV_INVALID,
                        "audit verify: the database ends at entry %lld but the "
                        "checkpoint saw entry %lld: it was restored to an older "
                        "state",
                        (long long)cs->head_seq, (long long)seq);
    if ((s = hv__store_query_text(e, "reading the audit chain",
                                  "SELECT hex(hash) FROM events WHERE seq = ?1",
                                  &have, "i", seq)))
        return s;
    if (!have || strcasecmp(have, hash) != 0)
        s = hv__fail(e, HV_INVALID, "audit verify: entry %lld differs from the "
                                    "checkpoint: the log was rewritten after it",
                     (long long)seq);
    hv__free(have);
    return s;
}

/* The counters and summaries kept beside the rows (tasks.h: the open
 * tasks per due day; riskfacts.h: the factors of each case's current risk
 * decision; report_tasks.h: the tasks per due day, kind, assignee and
 * state) against a recount: HV_INVALID when they differ. */
static hv_status check_counters(hv_engine *e)
{
    /* each counter's recount, what differs and in what unit (one line) */
    static const struct {
        hv_status (*check)(hv_engine *e, int64_t *wrong);
        const char *what, *unit;
    } counters[] = {
        {hv__task_due_days_check,
         "the count of open tasks per due day differs from a recount of the tasks on", "day"},
        {hv__risk_factors_check,
         "the risk factors kept per case differ from a recount of the risk decisions in",
         "row"},
        {hv__task_day_counts_check,
         "the counts of tasks per due day, kind, assignee and state differ from a "
         "recount of the tasks in", "row"},
    };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        int64_t wrong = 0;
        hv_status s = counters[i].check(e, &wrong);
        if (s)
            return s;
        if (wrong)
            return hv__fail(e, HV_INVALID,
                            "audit verify --deep: %s %lld %s%s (changed outside haven)",
                            counters[i].what, (long long)wrong, counters[i].unit,
                            wrong == 1 ? "" : "s");
    }
    return HV_OK;
}

/* audit verify [--deep]: the walk, the checkpoints file (unless a
 * checkpoint is given and the file is missing), the given checkpoint,
 * then (deep) every case's rows and the counters. */
static hv_status verify(hv_engine *e, const char *checkpoint_json, int deep,
                        char **out_json)
{
    hv_chain_state cs;
    char head_hex[2 * HV_AUDIT_HASH_BYTES + 1];
    json_t *cases = NULL;
    hv_status s;
    *out_json = NULL;
    hv__clear_error(e);
    if (sodium_init() < 0)
        return hv__fail(e, HV_INTERNAL, "libsodium failed to start");
    /* the sealed values are swept on a second core while this one walks
     * the chain; a failure of the walk comes first, as before */
    hv_seal_job *seals = hv__seals_check_start(e);
    /* (without the file here, the checkpoint given anchors the chain) */
    if ((s = hv__chain_verify(e, &cs, checkpoint_json != NULL,
                              deep ? &cases : NULL)) ||
        (checkpoint_json && (s = check_given(e, &cs, checkpoint_json)))) {
        hv__seals_check_end(e, seals, 0);
        json_decref(cases);
        return s;
    }
    if ((s = hv__seals_check_end(e, seals, 1)) || (s = hv__schema_guard(e)) ||
        (deep && (s = check_counters(e)))) {
        json_decref(cases);
        return s;
    }
    sodium_bin2hex(head_hex, sizeof head_hex, cs.head, sizeof cs.head);
    json_t *r = json_pack("{s:b,s:I,s:I,s:I,s:s,s:I,s:I,s:I,s:b}", "ok", 1,
                          "entries", (json_int_t)cs.entries, "legacy_entries",
                          (json_int_t)cs.legacy, "head_seq",
                          (json_int_t)cs.head_seq, "head_hash", head_hex,
                          "keyed_from", (json_int_t)cs.keyed_from,
                          "checkpoints", (json_int_t)cs.checkpoints,
                          "checkpoint_seq", (json_int_t)cs.checkpoint_seq,
                          "checkpoint", checkpoint_json != NULL);
    if (r && cases && json_object_set_new(r, "deep", cases)) {
        json_decref(r);
        r = NULL;
    } else {
        cases = NULL;
    }
    json_decref(cases);
    s = hv__json_out(e, r, out_json);
    json_decref(r);
    return s;
}

HV_API hv_status hv_audit_verify(hv_engine *e, const char *checkpoint_json,
                                 char **out_json)
{
    return verify(e, checkpoint_json, 0, out_json);
}

HV_API hv_status hv_audit_verify_deep(hv_engine *e, const char *checkpoint_json,
                                      char **out_json)
{
    return verify(e, checkpoint_json, 1, out_json);
}

HV_API hv_status hv_audit_checkpoint(hv_engine *e, char **out_json)
{
    hv_chain_state cs;
    unsigned char pk[32];
    char hash_hex[HV_CHECKPOINT_HASH_HEX], sig_hex[HV_CHECKPOINT_SIG_HEX];
    char pk_hex[65], at_iso[32];
    hv_status s;
    *out_json = NULL;
    hv__clear_error(e);
    if (sodium_init() < 0)
        return hv__fail(e, HV_INTERNAL, "libsodium failed to start");
    if ((s = hv__chain_walk(e, &cs)) || (s = hv__audit_key_load(e, 0)))
        return s;
    hv_time at = hv_now(e);
    hv__checkpoint_sign(e, cs.head_seq, cs.head, at, hash_hex, sig_hex);
    /* signed in upper case (checkpoint.c); printed, as every hash, in
     * lower case (hv__checkpoint_parse reads either) */
    for (char *p = hash_hex; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    hv__audit_public_key(e, pk);
    sodium_bin2hex(pk_hex, sizeof pk_hex, pk, sizeof pk);
    hv_time_format(at, at_iso, sizeof at_iso);
    json_t *r = json_pack("{s:s,s:I,s:s,s:s,s:I,s:s,s:s}", "format", "haven-audit-v1",
                          "seq", (json_int_t)cs.head_seq, "hash", hash_hex, "at",
                          at_iso, "at_seconds", (json_int_t)at, "public_key",
                          pk_hex, "signature", sig_hex);
    s = hv__json_out(e, r, out_json);
    json_decref(r);
    return s;
}

HV_API hv_status hv_audit_log(hv_engine *e, const char *ref, const char *user,
                              hv_time since, char **out_json)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    char role[32];
    *out_json = NULL;
    hv__clear_error(e);
    if ((s = hv__require_role(e, "supervisor manager administrator",
                              "audit log: for supervisors, managers and "
                              "administrators", role, sizeof role)))
        return s;
    int64_t case_id = 0, me = 0;
    int supervisor = !strcmp(role, "supervisor");
    if (supervisor && (s = hv__actor(e, &me, role, sizeof role)))
        return s;
    /* A supervisor reads the log of their team's cases only. */
    if (ref && !strcmp(role, "supervisor") &&
        (s = hv__case_access(e, ref, "audit log", 0, &case_id, NULL)))
        return s;
    if (ref && !case_id && (s = hv__store_case_lookup(e, ref, &case_id, NULL)))
        return s;
    if ((s = hv__store_preparef(
             e, &st,
             "SELECT v.seq, v.at, v.actor, coalesce(json_extract("
             "v.data, '$.by_role'), u.role), c.ref, v.kind,"
             " json_extract(v.data, '$.purpose'), CASE WHEN v.os_uid IS NULL"
             " THEN NULL ELSE coalesce(v.os_login, '') || ' (uid ' || v.os_uid"
             " || ')' END FROM events v"
             " LEFT JOIN cases c ON c.id = v.case_id LEFT JOIN users u ON u.login ="
             " v.actor WHERE (?1 = 0 OR v.case_id = ?1) AND"
             " (?2 IS NULL OR v.actor = ?2) AND v.at >= ?3"
             /* a supervisor: only events of cases in their team's hands */
             " AND (?4 = 0 OR c.assignee_id IN (SELECT id FROM users WHERE"
             " id = ?4 OR supervisor_id = ?4))"
             " ORDER BY v.seq",
             "itii", case_id, user, since, supervisor ? me : (int64_t)0)))
        return s;
    json_t *arr = json_array();
    int rc = SQLITE_DONE;
    while (arr && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        char at[32];
        hv_time_format(sqlite3_column_int64(st, 1), at, sizeof at);
        json_t *row = json_pack("{s:I,s:s,s:s,s:s?,s:s?,s:s?,s:s,s:s?}", "seq",
                                (json_int_t)sqlite3_column_int64(st, 0), "at", at,
                                "user", sqlite3_column_text(st, 2), "role",
                                (const char *)sqlite3_column_text(st, 3),
                                "os_user", (const char *)sqlite3_column_text(st, 7),
                                "ref", (const char *)sqlite3_column_text(st, 4),
                                "kind", sqlite3_column_text(st, 5), "purpose",
                                (const char *)sqlite3_column_text(st, 6));
        if (!row || json_array_append_new(arr, row)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    hv__store_finalize(e, st);
    s = arr && rc != SQLITE_DONE ? hv__sql_fail(e, rc, "reading the audit log")
                                 : hv__json_out(e, arr, out_json);
    json_decref(arr);
    return s;
}
