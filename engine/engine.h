/*
 * engine.h - the engine object and helpers shared by the engine's files
 * (internal).
 */
#ifndef HV_ENGINE_H
#define HV_ENGINE_H

#include <sqlite3.h>
#include <stdio.h>

#include <jansson.h>
#include <sodium.h>

#include "haven.h"
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
    /* Encryption at rest (crypto.c). */
    unsigned char data_key[32], index_key[32], kek[32];
    unsigned char kdf_salt[16];
    crypto_auth_hmacsha256_state index_mac; /* HMAC keyed with index_key */
#define HV_BLIND_BYTES 12 /* the blind index keeps this much of the HMAC */
    int have_key, have_kek, key_passphrase;
};

/* ---- encryption at rest (crypto.c) ---- */
/* Registers hv_seal/hv_open/hv_blind/... on the engine's connection. */
hv_status hv__crypto_register(hv_engine *e);
/* Makes a new data key (and the key file, or uses $HAVEN_PASSPHRASE). */
hv_status hv__keys_create(hv_engine *e);
/* Unwraps the data key from the database if the key file or passphrase is
 * here; otherwise the engine reads pseudonymously (have_key 0). */
hv_status hv__keys_load(hv_engine *e);
/* Opens a sealed value in C (hv_open in SQL): *out to hv__free, NULL
 * without the key; returns NULL, or why it does not open. */
const char *hv__crypto_open(hv_engine *e, const unsigned char *in, size_t n,
                            char **out, size_t *outlen);
/* HV_DENIED naming the action when the data key is not here. */
hv_status hv__need_key(hv_engine *e, const char *action);
/* Indexes a person's name (nothing when NULL) for search, and with the
 * sex and the case's location (both given only for the child) for the
 * duplicate check (registry.c). */
hv_status hv__index_name(hv_engine *e, int64_t person_id, const char *name,
                         const char *sex, const char *location);

/* The rule pack in force, loaded from the database on first use.  *out is
 * NULL when the database has no pack (the workflow's defaults decide). */
hv_status hv__engine_rules(hv_engine *e, struct hv_rules **out);

/* HV_USAGE when a batch is open: for calls whose effects or audit records
 * must not be undone with a batch (exports, backups, purges, rule packs,
 * audited reads). */
hv_status hv__not_in_batch(hv_engine *e, const char *what);

/* Sets e->errmsg from a printf format and returns st (for `return`). */
hv_status hv__fail(hv_engine *e, hv_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The JSON answer of a public call: v as indented text (key order kept)
 * into *out for the caller to hv_free; HV_NOMEM when v is NULL or cannot
 * be written.  v stays the caller's. */
hv_status hv__json_out(hv_engine *e, json_t *v, char **out);
/* JSON text written directly, in hv__json_out's layout (two-space indent,
 * keys in order), for answers with many rows where building jansson values
 * only to print them costs more than the query.  err is set on a failed
 * allocation (every call after it does nothing). */
typedef struct {
    char *text;
    size_t len, cap;
    int err;
} hv_jbuf;
void hv__jb_raw(hv_jbuf *b, const char *s, size_t n);
void hv__jb_str(hv_jbuf *b, const char *s);   /* "escaped", or null */
void hv__jb_key(hv_jbuf *b, int first, const char *key); /* ,\n    "key": */
void hv__jb_int(hv_jbuf *b, long long v);

/* Clears the last message (start of every public call). */
void hv__clear_error(hv_engine *e);
/* Maps a SQLite result code to a status and records a message naming what
 * was being done; never includes bound values. */
hv_status hv__sql_fail(hv_engine *e, int rc, const char *what);

/* 1 if login is 1-64 of letters, digits, . _ - @. */
int hv__valid_login(const char *login);
/* A short token is echoed in messages only if it looks like a code or a
 * reference (never free text that may be a name): 1 if it does. */
int hv__echo_safe(const char *s);

/* hv_engine_init, stopping the schema at schema_version (0 = latest); tests
 * use it to build databases of older schema versions. */
hv_status hv__engine_init_schema(const char *path, const hv_init_options *o,
                                 int schema_version, char **err);

#endif

/* umbrella (to be removed at integration) */
#include "access.h"
#include "context.h"
