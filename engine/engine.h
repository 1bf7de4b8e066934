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

/* umbrella (to be removed at integration) */
#include "search.h"  /* hv__index_name: import.c */
#include "refs.h"    /* hv__ref_pattern_check: engine.c */

#include "access.h"
#include "context.h"

#endif
