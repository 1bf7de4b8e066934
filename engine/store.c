/* store.c - opening the SQLite file, the schema and its migrations, and the
 * small write helpers every change uses. */
#include "store.h"

#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "names.h"

/*
 * JSON columns (form, details, data, decision) hold only JSON the engine
 * produced itself; they carry no json_valid() CHECK because, with
 * trusted_schema off, SQLite 3.40 refuses non-innocuous functions in the
 * schema.
 *
 * Schema migrations, in order: migrations[i] takes user_version i to i+1.
 * Never edit a shipped migration; add a new one.
 */
static const char *const migrations[] = {
    /* 0 -> 1: the first schema. */
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL"
    ");"
    "CREATE TABLE agencies ("
    "  id INTEGER PRIMARY KEY,"
    "  code TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE users ("
    "  id INTEGER PRIMARY KEY,"
    "  login TEXT NOT NULL UNIQUE,"
    "  agency_id INTEGER NOT NULL REFERENCES agencies(id),"
    "  role TEXT NOT NULL CHECK (role IN ('caseworker','supervisor','manager',"
    "                                     'administrator','trainer')),"
    "  supervisor_id INTEGER REFERENCES users(id),"
    "  active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0,1)),"
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE workflows ("
    "  id INTEGER PRIMARY KEY,"
    "  code TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  source TEXT NOT NULL,"
    "  loaded_at INTEGER NOT NULL,"
    "  UNIQUE (code, version)"
    ");"
    "CREATE TABLE ref_counters ("
    "  prefix TEXT PRIMARY KEY,"
    "  next INTEGER NOT NULL"
    ");"
    "CREATE TABLE cases ("
    "  id INTEGER PRIMARY KEY,"
    "  ref TEXT NOT NULL UNIQUE,"
    "  agency_id INTEGER NOT NULL REFERENCES agencies(id),"
    "  workflow_id INTEGER NOT NULL REFERENCES workflows(id),"
    "  stage TEXT NOT NULL,"
    "  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open',"
    "         'not_registered','closed','transferred')),"
    "  source TEXT NOT NULL,"
    "  location TEXT,"
    "  urgency TEXT CHECK (urgency IN ('immediate','high','normal')),"
    "  risk_level TEXT CHECK (risk_level IN ('low','medium','high','critical')),"
    "  risk_score REAL,"
    "  assignee_id INTEGER REFERENCES users(id),"
    "  registered_at INTEGER NOT NULL,"
    "  registered_by INTEGER NOT NULL REFERENCES users(id),"
    "  updated_at INTEGER NOT NULL,"
    "  closed_at INTEGER,"
    "  version INTEGER NOT NULL DEFAULT 1,"
    "  form TEXT NOT NULL DEFAULT '{}'"
    ");"
    "CREATE INDEX cases_stage ON cases(stage, status);"
    "CREATE INDEX cases_assignee ON cases(assignee_id, status);"
    "CREATE INDEX cases_source ON cases(source);"
    "CREATE TABLE case_concerns ("
    "  case_id INTEGER NOT NULL REFERENCES cases(id),"
    "  code TEXT NOT NULL,"
    "  PRIMARY KEY (case_id, code)"
    ") WITHOUT ROWID;"
    "CREATE INDEX case_concerns_code ON case_concerns(code, case_id);"
    "CREATE TABLE persons ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id INTEGER NOT NULL REFERENCES cases(id),"
    "  role TEXT NOT NULL CHECK (role IN ('child','family')),"
    "  relationship TEXT,"
    "  name TEXT,"
    "  birth_date TEXT,"
    "  age INTEGER CHECK (age IS NULL OR age BETWEEN 0 AND 120),"
    "  age_recorded_at INTEGER,"
    "  sex TEXT,"
    "  lives_with_child INTEGER CHECK (lives_with_child IN (0,1)),"
    "  details TEXT NOT NULL DEFAULT '{}'"
    ");"
    "CREATE INDEX persons_case ON persons(case_id, role);"
    "CREATE TABLE consents ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id INTEGER NOT NULL REFERENCES cases(id),"
    "  scope TEXT NOT NULL,"
    "  given_by TEXT NOT NULL,"
    "  given_at INTEGER NOT NULL,"
    "  recorded_by INTEGER NOT NULL REFERENCES users(id),"
    "  withdrawn_at INTEGER,"
    "  withdrawn_reason TEXT"
    ");"
    "CREATE INDEX consents_case ON consents(case_id, scope);"
    "CREATE TABLE tasks ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id INTEGER NOT NULL REFERENCES cases(id),"
    "  kind TEXT NOT NULL,"
    "  label TEXT,"
    "  due_at INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','done',"
    "         'cancelled')),"
    "  done_at INTEGER,"
    "  assignee_id INTEGER REFERENCES users(id),"
    "  cancel_reason TEXT"
    ");"
    "CREATE INDEX tasks_due ON tasks(status, due_at);"
    "CREATE INDEX tasks_assignee_due ON tasks(assignee_id, status, due_at);"
    "CREATE INDEX tasks_case ON tasks(case_id, status);"
    "CREATE TABLE notes ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id INTEGER NOT NULL REFERENCES cases(id),"
    "  at INTEGER NOT NULL,"
    "  author_id INTEGER NOT NULL REFERENCES users(id),"
    "  text TEXT NOT NULL"
    ");"
    "CREATE INDEX notes_case ON notes(case_id, at);"
    "CREATE TABLE events ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  at INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  case_id INTEGER REFERENCES cases(id),"
    "  kind TEXT NOT NULL,"
    "  data TEXT NOT NULL DEFAULT '{}',"
    "  decision TEXT,"
    "  prev_hash BLOB,"
    "  hash BLOB"
    ");"
    "CREATE INDEX events_case ON events(case_id, seq);"
    "CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;",

    /* 1 -> 2: spelling-variant keys of names, for search and duplicate
     * detection, back-filled from the names already recorded. */
    "CREATE TABLE person_name_keys ("
    "  person_id INTEGER NOT NULL REFERENCES persons(id),"
    "  key TEXT NOT NULL,"
    "  PRIMARY KEY (key, person_id)"
    ") WITHOUT ROWID;"
    "CREATE INDEX person_name_keys_person ON person_name_keys(person_id);"
    "INSERT INTO person_name_keys (person_id, key)"
    "  SELECT p.id, k.value FROM persons p, json_each(hv_name_keys(p.name)) k"
    "  WHERE p.name IS NOT NULL;",

    /* 2 -> 3: rule packs, stored whole (files and content hash) so the pack
     * in force is exactly the one recorded, and a broken folder on disk
     * never replaces it. */
    "CREATE TABLE rule_packs ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  version TEXT NOT NULL,"
    "  hash TEXT NOT NULL,"
    "  source TEXT NOT NULL,"
    "  loaded_at INTEGER NOT NULL,"
    "  loaded_by TEXT NOT NULL"
    ");",

    /* 3 -> 4: the case lifecycle after registration.  Narrative (summaries,
     * the five BIA elements, notes, goals) lives in these tables; events
     * only point at rows. */
    "CREATE TABLE assessments ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id INTEGER NOT NULL REFERENCES cases(id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('initial','comprehensive',"
    "       'reassessment')),"
    "  at INTEGER NOT NULL,"
    "  by_id INTEGER NOT NULL REFERENCES users(id),"
    "  safety TEXT CHECK (safety IN ('ok','concern','urgent')),"
    "  data TEXT NOT NULL"
    ");"
    "CREATE INDEX assessments_case ON assessments(case_id, at);"
    "CREATE TABLE plans ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id INTEGER NOT NULL REFERENCES cases(id),"
    "  version INTEGER NOT NULL,"
    "  goal TEXT NOT NULL,"
    "  indicators TEXT NOT NULL,"
    "  addresses TEXT NOT NULL,"
    "  target_date INTEGER NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('pending_approval','approved',"
    "         'rejected','superseded')),"
    "  created_at INTEGER NOT NULL,"
    "  created_by INTEGER NOT NULL REFERENCES users(id),"
    "  decided_at INTEGER,"
    "  decided_by INTEGER REFERENCES users(id),"
    "  decision_reason TEXT,"
    "  UNIQUE (case_id, version)"
    ");"
    "CREATE TABLE plan_actions ("
    "  id INTEGER PRIMARY KEY,"
    "  plan_id INTEGER NOT NULL REFERENCES plans(id),"
    "  case_id INTEGER NOT NULL REFERENCES cases(id),"
    "  seq INTEGER NOT NULL,"
    "  title TEXT NOT NULL,"
    "  responsible TEXT NOT NULL CHECK (responsible IN ('caseworker','child',"
    "              'family','provider')),"
    "  provider TEXT,"
    "  type TEXT NOT NULL CHECK (type IN ('direct_support','referral',"
    "       'coordination')),"
    "  due_at INTEGER NOT NULL,"
    "  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending',"
    "         'in_progress','done','dropped')),"
    "  status_reason TEXT,"
    "  updated_at INTEGER NOT NULL,"
    "  UNIQUE (plan_id, seq)"
    ");"
    "CREATE TABLE referrals ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id INTEGER NOT NULL REFERENCES cases(id),"
    "  seq INTEGER NOT NULL,"
    "  service TEXT NOT NULL,"
    "  provider TEXT NOT NULL,"
    "  action_id INTEGER REFERENCES plan_actions(id),"
    "  status TEXT NOT NULL CHECK (status IN ('sent','accepted','declined',"
    "         'completed')),"
    "  sent_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  outcome TEXT,"
    "  consent_override_by INTEGER REFERENCES users(id),"
    "  consent_override_reason TEXT,"
    "  UNIQUE (case_id, seq)"
    ");"
    "CREATE TABLE conferences ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id INTEGER NOT NULL REFERENCES cases(id),"
    "  at INTEGER NOT NULL,"
    "  recorded_by INTEGER NOT NULL REFERENCES users(id),"
    "  participants TEXT NOT NULL,"
    "  decisions TEXT NOT NULL"
    ");"
    "CREATE TABLE followups ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id INTEGER NOT NULL REFERENCES cases(id),"
    "  at INTEGER NOT NULL,"
    "  by_id INTEGER NOT NULL REFERENCES users(id),"
    "  method TEXT NOT NULL,"
    "  safety TEXT NOT NULL CHECK (safety IN ('ok','concern','urgent')),"
    "  notes TEXT,"
    "  final INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX followups_case ON followups(case_id, at);"
    "CREATE TABLE reviews ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id INTEGER NOT NULL REFERENCES cases(id),"
    "  at INTEGER NOT NULL,"
    "  by_id INTEGER NOT NULL REFERENCES users(id),"
    "  outcome TEXT NOT NULL CHECK (outcome IN ('continue','adjust_plan',"
    "          'plan_closure')),"
    "  notes TEXT"
    ");"
    "CREATE TABLE evaluations ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id INTEGER NOT NULL REFERENCES cases(id),"
    "  plan_id INTEGER REFERENCES plans(id),"
    "  at INTEGER NOT NULL,"
    "  by_id INTEGER NOT NULL REFERENCES users(id),"
    "  outcome TEXT NOT NULL CHECK (outcome IN ('achieved','partly_achieved',"
    "          'not_achieved')),"
    "  data TEXT NOT NULL"
    ");"
    "CREATE TABLE approvals ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id INTEGER NOT NULL REFERENCES cases(id),"
    "  subject TEXT NOT NULL CHECK (subject IN ('plan','closure')),"
    "  subject_id INTEGER,"
    "  detail TEXT,"
    "  status TEXT NOT NULL CHECK (status IN ('pending','approved',"
    "         'rejected')),"
    "  requested_at INTEGER NOT NULL,"
    "  requested_by INTEGER NOT NULL REFERENCES users(id),"
    "  decided_at INTEGER,"
    "  decided_by INTEGER REFERENCES users(id),"
    "  reason TEXT"
    ");"
    "CREATE INDEX approvals_case ON approvals(case_id, status);"
    "ALTER TABLE tasks ADD COLUMN subject_id INTEGER;"
    "ALTER TABLE cases ADD COLUMN closure_reason TEXT;"
    "ALTER TABLE cases ADD COLUMN transferred_to TEXT;"
    "ALTER TABLE cases ADD COLUMN closure_planned INTEGER NOT NULL DEFAULT 0;",

    /* 4 -> 5: where the audit hash chain starts.  Events written before
     * (by older versions) stay as they are; every later one is chained, and
     * `audit verify` accepts unchained entries only below this number. */
    "INSERT OR REPLACE INTO meta (key, value)"
    "  SELECT 'audit_chain_from', coalesce(max(seq), 0) + 1 FROM events;",

    /* 5 -> 6: duplicate-detection keys ("d:" + a name key + sex + the
     * normalised location) so the check before each registration is an
     * index lookup, not a scan of every child sharing a common name. */
    "INSERT OR IGNORE INTO person_name_keys (person_id, key)"
    "  SELECT p.id, 'd:' || k.value || '|' || p.sex || '|' ||"
    "         replace(replace(lower(c.location), ' ', ''), char(9), '')"
    "  FROM persons p JOIN cases c ON c.id = p.case_id,"
    "       json_each(hv_name_keys(p.name)) k"
    "  WHERE p.role = 'child' AND p.name IS NOT NULL AND p.sex IS NOT NULL"
    "    AND c.location IS NOT NULL AND k.value NOT LIKE 'd:%';",

    /* 6 -> 7: identifying data and narrative encrypted at rest (crypto.c):
     * the wrapped data key, every such column sealed in place, and the
     * name keys replaced by their blind-index form. */
    "INSERT OR REPLACE INTO meta (key, value) VALUES"
    "  ('data_key', hv_wrapped_key()), ('key_mode', hv_key_mode()),"
    "  ('kdf_salt', hv_kdf_salt());"
    "DELETE FROM person_name_keys;"
    "INSERT OR IGNORE INTO person_name_keys (person_id, key)"
    "  SELECT p.id, hv_blind(k.value) FROM persons p,"
    "         json_each(hv_name_keys(p.name)) k WHERE p.name IS NOT NULL;"
    "INSERT OR IGNORE INTO person_name_keys (person_id, key)"
    "  SELECT p.id, hv_blind('d:' || k.value || '|' || p.sex || '|' ||"
    "         replace(replace(lower(c.location), ' ', ''), char(9), ''))"
    "  FROM persons p JOIN cases c ON c.id = p.case_id,"
    "       json_each(hv_name_keys(p.name)) k"
    "  WHERE p.role = 'child' AND p.name IS NOT NULL AND p.sex IS NOT NULL"
    "    AND c.location IS NOT NULL;"
    "UPDATE persons SET name = hv_seal(name), birth_date = hv_seal(birth_date),"
    "  details = hv_seal(details);"
    "UPDATE cases SET location = hv_seal(location), form = hv_seal(form),"
    "  transferred_to = hv_seal(transferred_to);"
    "UPDATE notes SET text = hv_seal(text);"
    "UPDATE consents SET withdrawn_reason = hv_seal(withdrawn_reason);"
    "UPDATE assessments SET data = hv_seal(data);"
    "UPDATE plans SET goal = hv_seal(goal), indicators = hv_seal(indicators),"
    "  addresses = hv_seal(addresses), decision_reason = hv_seal(decision_reason);"
    "UPDATE plan_actions SET title = hv_seal(title), provider = hv_seal(provider),"
    "  status_reason = hv_seal(status_reason);"
    "UPDATE referrals SET provider = hv_seal(provider), outcome = hv_seal(outcome),"
    "  consent_override_reason = hv_seal(consent_override_reason);"
    "UPDATE conferences SET participants = hv_seal(participants),"
    "  decisions = hv_seal(decisions);"
    "UPDATE followups SET notes = hv_seal(notes);"
    "UPDATE reviews SET notes = hv_seal(notes);"
    "UPDATE evaluations SET data = hv_seal(data);"
    "UPDATE approvals SET reason = hv_seal(reason);",

    /* 7 -> 8: every per-case table indexed by case, so reading one case
     * (a step's view of it, the case file) costs the same on a national
     * caseload as on a small one. */
    "CREATE INDEX IF NOT EXISTS reviews_case ON reviews(case_id, at);"
    "CREATE INDEX IF NOT EXISTS evaluations_case ON evaluations(case_id, at);"
    "CREATE INDEX IF NOT EXISTS conferences_case ON conferences(case_id);"
    "CREATE INDEX IF NOT EXISTS plan_actions_case ON plan_actions(case_id);",

    /* 8 -> 9: blind name keys as 12-byte blobs (crypto.c, hv_blind) instead
     * of the hex text of the whole HMAC: the two b-trees of the name keys
     * were half of a database, and each registration writes about twelve
     * keys at random places in them. */
    "CREATE TABLE person_name_keys_9 ("
    "  person_id INTEGER NOT NULL REFERENCES persons(id),"
    "  key BLOB NOT NULL,"
    "  PRIMARY KEY (key, person_id)"
    ") WITHOUT ROWID;"
    "INSERT OR IGNORE INTO person_name_keys_9 (person_id, key)"
    "  SELECT person_id, hv_blind_from_text(key) FROM person_name_keys;"
    "DROP TABLE person_name_keys;"
    "ALTER TABLE person_name_keys_9 RENAME TO person_name_keys;"
    "CREATE INDEX person_name_keys_person ON person_name_keys(person_id);",
};

#define MIGRATION_COUNT ((int)(sizeof migrations / sizeof migrations[0]))
_Static_assert(MIGRATION_COUNT == HV_SCHEMA_VERSION,
               "one migration per schema version");

/* SQL function hv_name_keys(name): a JSON array of the name's keys. */
static void sql_name_keys(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *name = (const char *)sqlite3_value_text(argv[0]);
    json_t *keys = json_array();
    char *text = NULL;
    if (!keys || (name && hv__name_keys(name, keys) != 0) ||
        !(text = json_dumps(keys, JSON_COMPACT))) {
        json_decref(keys);
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
    free(text);
    json_decref(keys);
}

hv_status hv__store_open(const char *path, int create, int busy_ms,
                         sqlite3 **out_db, char **err)
{
    sqlite3 *db = NULL;
    hv_status st = HV_OK;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                (create ? SQLITE_OPEN_CREATE : 0);
    *out_db = NULL;
    int rc = sqlite3_open_v2(path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        st = rc == SQLITE_NOMEM ? HV_NOMEM
             : rc == SQLITE_READONLY || rc == SQLITE_PERM ? HV_DENIED
                                                          : HV_CANTCREATE;
        *err = hv__asprintf("%s: cannot open database: %s", path,
                            db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(db, 0);
    sqlite3_busy_timeout(db, busy_ms);
    sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FKEY, 1, (int *)NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, (int *)NULL);
    rc = sqlite3_exec(db,
                      "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON; PRAGMA cache_size=-8192;"
                      "PRAGMA trusted_schema=OFF; PRAGMA synchronous=FULL;",
                      NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "hv_name_keys", 1,
                                     SQLITE_UTF8 | SQLITE_DETERMINISTIC |
                                         SQLITE_DIRECTONLY,
                                     NULL, sql_name_keys, NULL, NULL);
    if (rc != SQLITE_OK) {
        st = rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? HV_BUSY
             : rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT ? HV_CORRUPT
             : rc == SQLITE_READONLY || rc == SQLITE_PERM ||
                     rc == SQLITE_CANTOPEN
                 ? HV_DENIED
                 : HV_INTERNAL;
        *err = hv__asprintf("%s: cannot set up database: %s", path,
                            sqlite3_errmsg(db));
        goto fail;
    }
    *out_db = db;
    return HV_OK;
fail:
    sqlite3_close(db);
    return st;
}

/* The statement cache: every query the engine runs is prepared once per
 * connection and kept (SQLite's parser and code generator cost more than
 * most of Haven's queries themselves).  Slots are found by a hash of the
 * SQL text and checked against it; a statement already in use (a query
 * running inside another's loop) is prepared afresh and finalized after. */
static uint32_t sql_hash(const char *sql)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

#define HV_STMT_PROBES 8

hv_status hv__store_prepare(hv_engine *e, const char *sql, sqlite3_stmt **stmt)
{
    uint32_t h = sql_hash(sql);
    hv_stmt_slot *victim = NULL;
    for (uint32_t k = 0; k < HV_STMT_PROBES; k++) {
        hv_stmt_slot *slot = &e->stmts[(h + k) % HV_STMT_CACHE];
        if (!slot->stmt) {
            if (!victim || victim->stmt)
                victim = slot;
            break;
        }
        if (slot->busy)
            continue;
        if (!strcmp(sqlite3_sql(slot->stmt), sql)) {
            slot->busy = 1;
            *stmt = slot->stmt;
            return HV_OK;
        }
        if (!victim)
            victim = slot;
    }
    int rc = sqlite3_prepare_v3(e->db, sql, -1, victim ? SQLITE_PREPARE_PERSISTENT : 0,
                                stmt, NULL);
    if (rc != SQLITE_OK) {
        *stmt = NULL;
        return hv__sql_fail(e, rc, "preparing a query");
    }
    /* Kept only when its text is the whole of sql (hv__store_finalize finds
     * the slot again by the statement's own text). */
    if (victim && *stmt && !strcmp(sqlite3_sql(*stmt), sql)) {
        sqlite3_finalize(victim->stmt);
        victim->stmt = *stmt;
        victim->busy = 1;
    }
    return HV_OK;
}

void hv__store_finalize(hv_engine *e, sqlite3_stmt *stmt)
{
    if (!stmt)
        return;
    uint32_t h = sql_hash(sqlite3_sql(stmt));
    for (uint32_t k = 0; k < HV_STMT_PROBES; k++) {
        hv_stmt_slot *slot = &e->stmts[(h + k) % HV_STMT_CACHE];
        if (slot->stmt == stmt) {
            sqlite3_reset(stmt);
            sqlite3_clear_bindings(stmt);
            slot->busy = 0;
            return;
        }
    }
    sqlite3_finalize(stmt);
}

void hv__store_cache_clear(hv_engine *e)
{
    for (size_t i = 0; i < HV_STMT_CACHE; i++) {
        sqlite3_finalize(e->stmts[i].stmt);
        e->stmts[i].stmt = NULL;
        e->stmts[i].busy = 0;
    }
}

hv_status hv__store_exec(hv_engine *e, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(e->db, sql, NULL, NULL, &msg);
    sqlite3_free(msg);
    if (rc != SQLITE_OK)
        return hv__sql_fail(e, rc, "running a statement");
    return HV_OK;
}

/* Runs sql (through the statement cache) to completion with the bind
 * values described by binds, one letter each: 'i' int64_t, 'd' double,
 * 't' text (a NULL pointer binds null), 'n' null (its argument is skipped).
 * A failure is recorded with `what` (never a bound value).  The one
 * "exec with binds" helper of the engine. */
hv_status hv__store_execf(hv_engine *e, const char *what, const char *sql,
                          const char *binds, ...)
{
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_prepare(e, sql, &st);
    if (s)
        return s;
    va_list ap;
    va_start(ap, binds);
    for (int i = 0; binds[i]; i++) {
        if (binds[i] == 'i') {
            sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
        } else if (binds[i] == 'd') {
            sqlite3_bind_double(st, i + 1, va_arg(ap, double));
        } else if (binds[i] == 't') {
            const char *t = va_arg(ap, const char *);
            if (t)
                sqlite3_bind_text(st, i + 1, t, -1, SQLITE_TRANSIENT);
        } else {
            (void)va_arg(ap, void *);
        }
    }
    va_end(ap);
    int rc = sqlite3_step(st);
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    hv__store_finalize(e, st);
    return rc == SQLITE_DONE ? HV_OK : hv__sql_fail(e, rc, what);
}

hv_status hv__store_schema_version(hv_engine *e, int *version)
{
    sqlite3_stmt *st = NULL;
    *version = 0;
    hv_status s = hv__store_prepare(e, "PRAGMA user_version", &st);
    if (s != HV_OK)
        return s;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    hv__store_finalize(e, st);
    if (rc != SQLITE_ROW)
        return hv__sql_fail(e, rc, "reading the schema version");
    return HV_OK;
}

/* Runs one cached transaction statement; returns SQLite's code. */
static int run_cached(hv_engine *e, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (hv__store_prepare(e, sql, &st) != HV_OK)
        return sqlite3_errcode(e->db);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
    hv__store_finalize(e, st);
    return rc;
}

/* Inside a batch (hv_engine_batch_begin) each change is a savepoint of
 * the batch's one transaction: it succeeds or fails on its own, and the
 * batch commits them together. */
hv_status hv__store_begin(hv_engine *e)
{
    if (e->batch && sqlite3_get_autocommit(e->db))
        return hv__fail(e, HV_INTERNAL, "the batch was undone by an earlier "
                                        "failure; roll it back and start again");
    if (e->batch && e->batch_change)
        return hv__fail(e, HV_INTERNAL, "a change is already open in this batch");
    int rc = run_cached(e, e->batch ? "SAVEPOINT hv_change" : "BEGIN IMMEDIATE");
    if (rc != SQLITE_OK)
        return hv__sql_fail(e, rc, "starting a transaction");
    e->batch_change = e->batch;
    return HV_OK;
}

hv_status hv__store_commit(hv_engine *e)
{
    int rc = run_cached(e, e->batch ? "RELEASE hv_change" : "COMMIT");
    if (rc != SQLITE_OK) {
        hv_status st = hv__sql_fail(e, rc, "committing");
        hv__store_rollback(e);
        return st;
    }
    e->batch_change = 0;
    return HV_OK;
}

void hv__store_rollback(hv_engine *e)
{
    if (e->batch) {
        /* not through the cache: a failed prepare would replace the
         * message of the failure being undone */
        if (e->batch_change)
            sqlite3_exec(e->db, "ROLLBACK TO hv_change; RELEASE hv_change", NULL,
                         NULL, NULL);
        e->batch_change = 0;
        return;
    }
    if (!sqlite3_get_autocommit(e->db))
        sqlite3_exec(e->db, "ROLLBACK", NULL, NULL, NULL);
}

hv_status hv__store_migrate_steps(hv_engine *e, int from, int to)
{
    for (int v = from; v < to; v++) {
        char *msg = NULL;
        int rc = sqlite3_exec(e->db, migrations[v], NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
            hv_status st = hv__fail(e, rc == SQLITE_BUSY ? HV_BUSY : HV_INTERNAL,
                                    "%s: migrating schema %d to %d: %s",
                                    e->path, v, v + 1,
                                    msg ? msg : sqlite3_errstr(rc));
            sqlite3_free(msg);
            return st;
        }
    }
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", to);
    return hv__store_exec(e, pragma);
}

hv_status hv__store_migrate(hv_engine *e, int up_to)
{
    int version = 0;
    int target = up_to > 0 && up_to < HV_SCHEMA_VERSION ? up_to
                                                          : HV_SCHEMA_VERSION;
    hv_status st = hv__store_schema_version(e, &version);
    if (st != HV_OK)
        return st;
    if (version > HV_SCHEMA_VERSION)
        return hv__fail(e, HV_INVALID,
                        "%s: database schema version %d is newer than this "
                        "haven understands (%d); upgrade haven",
                        e->path, version, HV_SCHEMA_VERSION);
    if (version >= target)
        return HV_OK;
    if ((st = hv__store_begin(e)) != HV_OK)
        return st;
    /* Re-read under the write lock: another process may have migrated. */
    if ((st = hv__store_schema_version(e, &version)) != HV_OK)
        goto fail;
    /* Encryption arrives with schema 7: its data key is made here, under
     * the lock, only by the process that really migrates. */
    if (version < 7 && target >= 7 && (st = hv__keys_create(e)) != HV_OK)
        goto fail;
    if (version < target &&
        (st = hv__store_migrate_steps(e, version, target)) != HV_OK)
        goto fail;
    return hv__store_commit(e);
fail:
    hv__store_rollback(e);
    return st;
}

hv_status hv__store_chain_event(hv_engine *e, hv_time at, const char *actor,
                                int64_t case_id, const char *kind,
                                const char *data_text, const char *decision_text)
{
    /* The hash chain: this entry's hash covers the previous hash and the
     * entry itself (audit.c). */
    sqlite3_stmt *st = NULL;
    int64_t seq = 0;
    unsigned char prev[HV_AUDIT_HASH_BYTES], hash[HV_AUDIT_HASH_BYTES];
    int has_prev = 0;
    hv_status s;
    if ((s = hv__audit_next(e, &seq, prev, &has_prev)))
        return s;
    hv__audit_hash(has_prev ? prev : NULL, seq, at, actor, case_id, kind,
                   data_text, decision_text, hash);
    if ((s = hv__store_prepare(e,
                               "INSERT INTO events (seq, at, actor, case_id,"
                               " kind, data, decision, prev_hash, hash) VALUES"
                               " (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                               &st)))
        return s;
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_int64(st, 2, at);
    sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
    if (case_id > 0)
        sqlite3_bind_int64(st, 4, case_id);
    sqlite3_bind_text(st, 5, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, data_text, -1, SQLITE_STATIC);
    if (decision_text)
        sqlite3_bind_text(st, 7, decision_text, -1, SQLITE_STATIC);
    if (has_prev)
        sqlite3_bind_blob(st, 8, prev, sizeof prev, SQLITE_STATIC);
    sqlite3_bind_blob(st, 9, hash, sizeof hash, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        s = hv__sql_fail(e, rc, "appending an event");
    hv__store_finalize(e, st);
    return s;
}

hv_status hv__store_append_event(hv_engine *e, int64_t case_id,
                                 const char *kind, json_t *data,
                                 json_t *decision)
{
    char *data_text = NULL, *decision_text = NULL;
    hv_status s = HV_OK;
    /* Who acted in which role, and why (when a purpose was given): the
     * audit trail's own fields. */
    json_t *full = data ? json_copy(data) : json_object();
    if (full) {
        sqlite3_stmt *r = NULL;
        if (hv__store_prepare(e, "SELECT role FROM users WHERE login = ?1", &r) ==
            HV_OK) {
            sqlite3_bind_text(r, 1, e->actor, -1, SQLITE_STATIC);
            if (sqlite3_step(r) == SQLITE_ROW)
                json_object_set_new(full, "by_role",
                                    json_string((const char *)sqlite3_column_text(r, 0)));
        }
        hv__store_finalize(e, r);
        if (e->purpose)
            json_object_set_new(full, "purpose", json_string(e->purpose));
    }
    data_text = full ? json_dumps(full, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(full);
    if (!data_text)
        return hv__fail(e, HV_NOMEM, "out of memory writing an event");
    if (decision && !(decision_text = json_dumps(decision, JSON_COMPACT |
                                                               JSON_PRESERVE_ORDER))) {
        s = hv__fail(e, HV_NOMEM, "out of memory writing an event");
        goto done;
    }
    s = hv__store_chain_event(e, hv_now(e), e->actor, case_id, kind, data_text,
                              decision_text);
done:
    hv__free(data_text);
    hv__free(decision_text);
    return s;
}

hv_status hv__store_case_lookup(hv_engine *e, const char *ref,
                                int64_t *case_id, int64_t *version)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    *case_id = 0;
    if (version)
        *version = 0;
    if ((s = hv__store_prepare(e, "SELECT id, version FROM cases WHERE ref=?1",
                               &st)))
        return s;
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *case_id = sqlite3_column_int64(st, 0);
        if (version)
            *version = sqlite3_column_int64(st, 1);
        s = HV_OK;
    } else if (rc == SQLITE_DONE) {
        s = hv__echo_safe(ref)
                ? hv__fail(e, HV_NOTFOUND, "%s: no such case", ref)
                : hv__fail(e, HV_NOTFOUND,
                           "no such case (the reference given is not shown: "
                           "it does not look like one)");
    } else {
        s = hv__sql_fail(e, rc, "looking up a case");
    }
    hv__store_finalize(e, st);
    return s;
}

hv_status hv__store_case_touch(hv_engine *e, const char *ref,
                               int64_t case_id, int64_t expected_version,
                               int64_t *new_version)
{
    sqlite3_stmt *st = NULL;
    hv_status s;
    *new_version = 0;
    if ((s = hv__store_prepare(e,
                               "UPDATE cases SET version = version + 1,"
                               " updated_at = ?2 WHERE id = ?1 AND"
                               " (?3 = 0 OR version = ?3) RETURNING version",
                               &st)))
        return s;
    sqlite3_bind_int64(st, 1, case_id);
    sqlite3_bind_int64(st, 2, hv_now(e));
    sqlite3_bind_int64(st, 3, expected_version);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *new_version = sqlite3_column_int64(st, 0);
        rc = sqlite3_step(st);
    }
    hv__store_finalize(e, st);
    if (rc != SQLITE_DONE)
        return hv__sql_fail(e, rc, "updating a case");
    if (*new_version == 0)
        return hv__fail(e, HV_CONFLICT,
                        "%s: stale version: the case changed since version "
                        "%lld; reload it and try again",
                        ref, (long long)expected_version);
    return HV_OK;
}

char *hv__column_strdup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? hv__strdup((const char *)t) : NULL;
}
