/*
 * core.h - the engine object (internal, floor 2).
 *
 * struct hv_engine is the one handle every call gets: the SQLite
 * connection and its statement cache (store.c), the last message
 * (error.c), the clock (set in engine.c, read by hv_now in store.c), the
 * acting user and purpose (engine.c) and the call context's acting user
 * (context.c), the settings and workflow read at open, the rule pack in
 * force, and the keys of encryption at rest (crypto.c).  Only the data:
 * functions live in the header of the file that defines them.
 */
#ifndef HV_CORE_H
#define HV_CORE_H

#include <sqlite3.h>
#include <stdio.h>

#include <jansson.h>
#include <sodium.h>

#include "haven.h"
#include "workflow.h"

struct hv_rules;

#define HV_STMT_CACHE 512
typedef struct {
    sqlite3_stmt *stmt;
    int busy; /* handed out by hv__store_prepare, not yet finalized */
} hv_stmt_slot;

struct hv_engine {
    sqlite3 *db;
    char *path;            /* the file, or a PostgreSQL URL without password */
    char *conninfo;        /* a PostgreSQL store's URL as given; NULL: a file */
    struct hv_pg *pg;      /* a PostgreSQL store's connection (pgstore.h) */
    char *errmsg;          /* last detailed message; "" when none */
    char *actor;           /* acting user's login */
    hv_clock_mode clock_mode;
    hv_time clock_time;    /* fixed / simulated time */
    int simulated;         /* the database is simulated (meta clock): its
                            * clock may be set; 0, live: never */
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
    int batch_change;      /* a change is open in the batch: 1 in its
                            * savepoint, 2 without one (store.h,
                            * hv__store_begin_unguarded) */
    sqlite3_int64 changes_at_begin; /* rows changed before it began (2) */
    /* hv__alloc_failures() when the open change began (hv__store_begin):
     * the event append fails the change if it has grown since. */
    unsigned long alloc_failures_at_begin;
    /* Encryption at rest (crypto.c). */
    unsigned char data_key[32], index_key[32], kek[32];
    unsigned char kdf_salt[16];
    crypto_auth_hmacsha256_state index_mac; /* HMAC keyed with index_key */
#define HV_BLIND_BYTES 12 /* the blind index keeps this much of the HMAC */
    int have_key, have_kek, key_passphrase;
    /* The audit chain (events.c, digest.c, checkpoint.c).  chain_key keys
     * the events' hashes and the case digests: derived from the data key
     * (crypto.c), so only whoever holds the key file or passphrase can
     * extend or rewrite the chain. */
    unsigned char chain_key[32];
    int have_chain_key;
    int chain_legacy;      /* the schema is older than HV_SCHEMA_CHAIN_KEYED
                            * (init of an old schema): unkeyed events */
    struct {               /* the OS account running this process */
        int known;
        int64_t uid;
        char login[64];    /* "" when the account has no name */
    } os;
    /* The chain's head after this transaction's last event, signed into
     * <db>.checkpoints when the transaction commits (checkpoint.c);
     * head_saved: as it was when the open change began. */
    struct hv_chain_head {
        int pending;
        int64_t seq;
        unsigned char hash[32];
    } head, head_saved;
    int no_checkpoints;    /* init's build: the first one is written after */
    int scratch;           /* a throwaway database's init: its key files are
                            * not fsynced (hv_init_options.scratch) */
    char checkpoint_line[400]; /* signed beside COMMIT, appended after */
    struct hv_sign_job *checkpoint_job; /* the line's signing thread, if running */
    unsigned char audit_sk[64]; /* Ed25519 (<db>.audit-key), once loaded */
    int have_audit_sk;
    /* The tables holding a case's rows (digest.c), read once. */
    /* Offline work (sync.h): on a laptop copy, the change in progress to
     * append to the outbox (outbox.c); on a server replaying a device's
     * change, its receipt and original time (syncserver.c).  NULL: none. */
    struct hv_sync_side {
        void *state;                          /* the side's own, or NULL */
        hv_status (*precommit)(hv_engine *e); /* writes its pending row */
        void (*release)(hv_engine *e);        /* frees state (at close) */
    } outbox, replay;
    hv_time replay_at; /* a replayed change's original time; 0: none */
    /* While replay_at is set, every event's data carries "offline": the
     * device, the entry's number in its chain, when the server received
     * it, and for a conflict resolved "ours" the conflict, the resolver
     * and the laptop's original time (events.c). */
    struct hv_replay_mark {
        char device[40];
        int64_t seq;
        hv_time received_at;
        int64_t conflict;       /* 0: none */
        char resolved_by[72];   /* "": none */
        hv_time made_at;        /* 0: none */
    } replay_mark;
    /* The engine call whose change is being committed, for a laptop copy's
     * outbox (outbox.c): hv_case_register, hv_case_step and hv_case_note
     * arm it just before their commit and clear it after; the outbox's
     * precommit records it once (and disarms it).  Borrowed strings. */
    struct hv_sync_call {
        int armed;
        const char *kind;  /* "register", "step" or "note" */
        const char *ref;   /* the case (for a registration, its new ref) */
        const char *step;  /* the step's verb, or NULL */
        const char *input; /* the input's JSON text, or the note's text */
    } sync_call;
    /* The case digest this connection last committed (store.c): the
     * case, the digest its last event records, and PRAGMA data_version
     * then.  While the data version holds, no other connection has
     * committed since, so the case's rows are still the ones digested and
     * the next change of the case need not read them again to check
     * (digest.c).  A SQLite file outside a batch only; case_id 0: none.
     * seen_tx: what the open change's events noted (events.c). */
    struct hv_digest_seen {
        int64_t case_id;
        unsigned char digest[32];
        int64_t data_version;
    } seen;
    struct {
        struct hv_digest_seen last; /* the last change event's fresh digest */
        int changes;                /* change events appended (not reads) */
        int reads;                  /* read events appended */
        int64_t total_changes;      /* sqlite3_total_changes64 at begin */
    } seen_tx;
    /* PRAGMA schema_version when the schema was last compared with the
     * one Haven makes (digest.c; 0: never, as no file's is), and whether
     * it was that one. */
    int64_t schema_checked;
    int schema_havens;
    int schema_foreign; /* triggers and views Haven did not make (-1: unread) */
    char schema_foreign_names[200];
    int digest_ready, digest_tables;
    unsigned digest_keyed; /* bit i: table i's first column is its key */
#define HV_DIGEST_MAX_TABLES 32
    char digest_sql[HV_DIGEST_MAX_TABLES][256];
};

#endif
