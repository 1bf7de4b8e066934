/*
 * engine.h - the engine object (internal, floor 2).
 *
 * struct hv_engine is the one handle every call gets: the SQLite
 * connection and its statement cache (store.c), the last message
 * (error.c), the clock (set in engine.c, read by hv_now in store.c), the
 * acting user and purpose (engine.c), the settings and workflow read at
 * open, the rule pack in force, and the keys of encryption at rest
 * (crypto.c).  Functions live in the header of the
 * file that defines them; this one declares engine.c's.
 */
#ifndef HV_ENGINE_H
#define HV_ENGINE_H

#include <sqlite3.h>
#include <stdio.h>

#include <jansson.h>
#include <sodium.h>

#include "haven.h"
#include "rules.h" /* hv_pack, for hv__store_rule_pack below */
#include "workflow.h"

#define HV_STMT_CACHE 512
typedef struct {
    sqlite3_stmt *stmt;
    int busy; /* handed out by hv__store_prepare, not yet finalized */
} hv_stmt_slot;

struct hv_engine {
    sqlite3 *db;
    char *path;
    char *errmsg;          /* last detailed message; "" when none */
    char *actor;           /* acting user's login */
    hv_clock_mode clock_mode;
    hv_time clock_time;    /* fixed / simulated time */
    int busy_ms;
    /* From the database at open. */
    int64_t agency_id;
    char *agency_code;
    char *ref_pattern;
    char *rules_dir;
    int64_t workflow_row;  /* workflows.id of the current workflow */
    hv_workflow *wf;       /* the current workflow, parsed */
    struct hv_rules *rules; /* the rule pack in force (NULL: none) */
    int rules_loaded;      /* rules looked up in the database already */
    FILE *rules_log;       /* where log() lines of rules go (NULL: dropped) */
    int64_t refused_case;  /* an access refusal to audit after a rollback */
    char *purpose;         /* why the user acts (recorded in events), or NULL */
    /* The acting user of the call in progress, resolved once per call by
     * the call context (context.c) and forgotten when the call ends; the
     * event append takes the role from here instead of asking the users
     * table again.  known 0: no call context (look the user up). */
    struct {
        int known;
        int64_t user_id;
        char role[32];
    } who;
    hv_stmt_slot stmts[HV_STMT_CACHE]; /* prepared statements (store.c) */
    int batch;             /* inside hv_engine_batch_begin (one transaction) */
    int batch_change;      /* a change's savepoint is open in the batch */
    /* hv__alloc_failures() when the open change began (hv__store_begin):
     * the event append fails the change if it has grown since. */
    unsigned long alloc_failures_at_begin;
    /* Encryption at rest (crypto.c). */
    unsigned char data_key[32], index_key[32], kek[32];
    unsigned char kdf_salt[16];
    crypto_auth_hmacsha256_state index_mac; /* HMAC keyed with index_key */
#define HV_BLIND_BYTES 12 /* the blind index keeps this much of the HMAC */
    int have_key, have_kek, key_passphrase;
};

/* ---- engine.c (floor 3) ---- */

/* A fresh engine for path in a safe "closed" state (no database yet; the
 * actor "system", the system clock), for hv_engine_close; NULL when out of
 * memory.  Installs hv__malloc/hv__free as jansson's allocator. */
hv_engine *hv__engine_new(const char *path);
/* 1 if login is 1-64 of letters, digits, . _ - @. */
int hv__valid_login(const char *login);
/* HV_USAGE when a batch is open: for calls whose effects or audit records
 * must not be undone with a batch (exports, backups, purges, rule packs,
 * audited reads). */
hv_status hv__not_in_batch(hv_engine *e, const char *what);

/* ---- declared here until their files have headers of their own ---- */

/* access.c: the acting user (must exist and be active; HV_DENIED
 * otherwise).  out: *user_id, role. */
hv_status hv__actor(hv_engine *e, int64_t *user_id, char *role, size_t size);
/* access.c: the acting user's role only. */
hv_status hv__actor_role(hv_engine *e, char *role, size_t size);
/* access.c: the acting user's role if it is one of roles (space
 * separated), else HV_DENIED with refusal. */
hv_status hv__require_role(hv_engine *e, const char *roles, const char *refusal,
                           char *role, size_t size);
/* access.c: 1 for the roles that read case files (caseworker, supervisor). */
int hv__role_reads_cases(const char *role);
/* access.c: the case by reference if the acting user may reach it;
 * otherwise HV_NOTFOUND exactly as for an unknown reference (and the
 * refusal is audited: at once, or by hv__audit_pending_refusal after the
 * caller's rollback when in_transaction), or HV_DENIED for roles that read
 * no case files.  out: *case_id, *version. */
hv_status hv__case_access(hv_engine *e, const char *ref, const char *action,
                          int in_transaction, int64_t *case_id, int64_t *version);
/* access.c: audits a refusal hv__case_access deferred (after rollback). */
void hv__audit_pending_refusal(hv_engine *e, const char *action);
/* access.c: appends an audit event in its own transaction. */
hv_status hv__audit_event(hv_engine *e, int64_t case_id, const char *kind,
                          struct json_t *data);
/* access.c: the acting user's scope for lists: everything (managers), or
 * their own cases and (supervisors) their team's. */
hv_status hv__list_scope(hv_engine *e, int *all, int64_t *me, int *supervisor);
/* registry.c: indexes a person's name (nothing when NULL) for search, and
 * with the sex and the case's location (both given only for the child) for
 * the duplicate check. */
hv_status hv__index_name(hv_engine *e, int64_t person_id, const char *name,
                         const char *sex, const char *location);
/* registry.c: HV_OK if pattern is a valid case reference pattern, else
 * HV_USAGE with *why (for hv__free) saying why. */
hv_status hv__ref_pattern_check(const char *pattern, char **why);
/* rulesapi.c: the rule pack in force, loaded from the database on first
 * use.  *out is NULL when the database has no pack (the workflow's
 * defaults decide). */
hv_status hv__engine_rules(hv_engine *e, struct hv_rules **out);
/* rulesapi.c: stores a rule pack (whole: files and hash) as the one in
 * force, in the caller's transaction. */
hv_status hv__store_rule_pack(hv_engine *e, const hv_pack *pack);

/* umbrella (to be removed at integration) */
#include "error.h"
#include "jbuf.h"
#include "migrate.h"
#include "events.h"
#include "crypto.h"
#include "audit.h"
#include "init.h"

#endif
