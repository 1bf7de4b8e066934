/* schemasql.c - the text of the schema a new database is made at
 * (schemasql.h). */
#include "schemasql.h"

#include <string.h>

/* The schema objects of a database built by migrations 0 to
 * HV_NEW_SCHEMA_VERSION one after another, in the order they were made
 * (sqlite_schema's text: the CHECKs as migration 14 rewrote them, the
 * columns later migrations added at the end of their tables).  Made by
 * tools/gen-new-schema.py; tests/test_migrations.c proves it the same. */
const char *const hv__new_schema[] = {
    "CREATE TABLE meta (  key TEXT PRIMARY KEY,  value TEXT NOT NULL)",
    "CREATE TABLE agencies (  id INTEGER PRIMARY KEY,  code TEXT NOT NULL"
    " UNIQUE,  name TEXT NOT NULL,  created_at INTEGER NOT NULL)",
    "CREATE TABLE users (  id INTEGER PRIMARY KEY,  login TEXT NOT NULL"
    " UNIQUE,  agency_id INTEGER NOT NULL REFERENCES agencies(id),  role"
    " TEXT NOT NULL CHECK (role IN ('caseworker','supervisor','manager',    "
    "                                 'administrator','trainer')), "
    " supervisor_id INTEGER REFERENCES users(id),  active INTEGER NOT NULL"
    " DEFAULT 1 CHECK (active IN (0,1)),  created_at INTEGER NOT NULL,"
    " os_login TEXT, oidc_identity TEXT, password_hash TEXT, enrol_hash"
    " BLOB, enrol_expires INTEGER)",
    "CREATE TABLE workflows (  id INTEGER PRIMARY KEY,  code TEXT NOT NULL, "
    " version INTEGER NOT NULL,  source TEXT NOT NULL,  loaded_at INTEGER"
    " NOT NULL,  UNIQUE (code, version))",
    "CREATE TABLE ref_counters (  prefix TEXT PRIMARY KEY,  next INTEGER NOT"
    " NULL)",
    "CREATE TABLE cases (  id INTEGER PRIMARY KEY,  ref TEXT NOT NULL"
    " UNIQUE,  agency_id INTEGER NOT NULL REFERENCES agencies(id), "
    " workflow_id INTEGER NOT NULL REFERENCES workflows(id),  stage TEXT NOT"
    " NULL,  status TEXT NOT NULL DEFAULT 'open' CHECK (status = 'open' OR"
    " status = 'not_registered' OR status = 'closed' OR status ="
    " 'transferred'),  source TEXT NOT NULL,  location TEXT,  urgency TEXT"
    " CHECK (urgency = 'immediate' OR urgency = 'high' OR urgency ="
    " 'normal'),  risk_level TEXT CHECK (risk_level = 'low' OR risk_level ="
    " 'medium' OR risk_level = 'high' OR risk_level = 'critical'), "
    " risk_score REAL,  assignee_id INTEGER REFERENCES users(id), "
    " registered_at INTEGER NOT NULL,  registered_by INTEGER NOT NULL"
    " REFERENCES users(id),  updated_at INTEGER NOT NULL,  closed_at"
    " INTEGER,  version INTEGER NOT NULL DEFAULT 1,  form TEXT NOT NULL"
    " DEFAULT '{}', closure_reason TEXT, transferred_to TEXT,"
    " closure_planned INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX cases_stage ON cases(stage, status)",
    "CREATE INDEX cases_assignee ON cases(assignee_id, status)",
    "CREATE INDEX cases_source ON cases(source)",
    "CREATE TABLE case_concerns (  case_id INTEGER NOT NULL REFERENCES"
    " cases(id),  code TEXT NOT NULL,  PRIMARY KEY (case_id, code)) WITHOUT"
    " ROWID",
    "CREATE INDEX case_concerns_code ON case_concerns(code, case_id)",
    "CREATE TABLE persons (  id INTEGER PRIMARY KEY,  case_id INTEGER NOT"
    " NULL REFERENCES cases(id),  role TEXT NOT NULL CHECK (role IN"
    " ('child','family')),  relationship TEXT,  name TEXT,  birth_date TEXT,"
    "  age INTEGER CHECK (age IS NULL OR age BETWEEN 0 AND 120), "
    " age_recorded_at INTEGER,  sex TEXT,  lives_with_child INTEGER CHECK"
    " (lives_with_child IN (0,1)),  details TEXT NOT NULL DEFAULT '{}')",
    "CREATE INDEX persons_case ON persons(case_id, role)",
    "CREATE TABLE consents (  id INTEGER PRIMARY KEY,  case_id INTEGER NOT"
    " NULL REFERENCES cases(id),  scope TEXT NOT NULL,  given_by TEXT NOT"
    " NULL,  given_at INTEGER NOT NULL,  recorded_by INTEGER NOT NULL"
    " REFERENCES users(id),  withdrawn_at INTEGER,  withdrawn_reason TEXT)",
    "CREATE INDEX consents_case ON consents(case_id, scope)",
    "CREATE TABLE tasks (  id INTEGER PRIMARY KEY,  case_id INTEGER NOT NULL"
    " REFERENCES cases(id),  kind TEXT NOT NULL,  label TEXT,  due_at"
    " INTEGER NOT NULL,  created_at INTEGER NOT NULL,  status TEXT NOT NULL"
    " DEFAULT 'open' CHECK (status = 'open' OR status = 'done' OR status ="
    " 'cancelled'),  done_at INTEGER,  assignee_id INTEGER REFERENCES"
    " users(id),  cancel_reason TEXT, subject_id INTEGER)",
    "CREATE INDEX tasks_due ON tasks(status, due_at)",
    "CREATE INDEX tasks_assignee_due ON tasks(assignee_id, status, due_at)",
    "CREATE INDEX tasks_case ON tasks(case_id, status)",
    "CREATE TABLE notes (  id INTEGER PRIMARY KEY,  case_id INTEGER NOT NULL"
    " REFERENCES cases(id),  at INTEGER NOT NULL,  author_id INTEGER NOT"
    " NULL REFERENCES users(id),  text TEXT NOT NULL)",
    "CREATE INDEX notes_case ON notes(case_id, at)",
    "CREATE TABLE events (  seq INTEGER PRIMARY KEY AUTOINCREMENT,  at"
    " INTEGER NOT NULL,  actor TEXT NOT NULL,  case_id INTEGER REFERENCES"
    " cases(id),  kind TEXT NOT NULL,  data TEXT NOT NULL DEFAULT '{}', "
    " decision TEXT,  prev_hash BLOB,  hash BLOB, os_uid INTEGER, os_login"
    " TEXT, digest BLOB)",
    "CREATE INDEX events_case ON events(case_id, seq)",
    "CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events  BEGIN"
    " SELECT RAISE(ABORT, 'events are append-only'); END",
    "CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events  BEGIN"
    " SELECT RAISE(ABORT, 'events are append-only'); END",
    "CREATE TABLE rule_packs (  id INTEGER PRIMARY KEY,  name TEXT NOT NULL,"
    "  version TEXT NOT NULL,  hash TEXT NOT NULL,  source TEXT NOT NULL, "
    " loaded_at INTEGER NOT NULL,  loaded_by TEXT NOT NULL)",
    "CREATE TABLE assessments (  id INTEGER PRIMARY KEY,  case_id INTEGER"
    " NOT NULL REFERENCES cases(id),  kind TEXT NOT NULL CHECK (kind IN"
    " ('initial','comprehensive',       'reassessment')),  at INTEGER NOT"
    " NULL,  by_id INTEGER NOT NULL REFERENCES users(id),  safety TEXT CHECK"
    " (safety IN ('ok','concern','urgent')),  data TEXT NOT NULL)",
    "CREATE INDEX assessments_case ON assessments(case_id, at)",
    "CREATE TABLE plans (  id INTEGER PRIMARY KEY,  case_id INTEGER NOT NULL"
    " REFERENCES cases(id),  version INTEGER NOT NULL,  goal TEXT NOT NULL, "
    " indicators TEXT NOT NULL,  addresses TEXT NOT NULL,  target_date"
    " INTEGER NOT NULL,  status TEXT NOT NULL CHECK (status IN"
    " ('pending_approval','approved',         'rejected','superseded')), "
    " created_at INTEGER NOT NULL,  created_by INTEGER NOT NULL REFERENCES"
    " users(id),  decided_at INTEGER,  decided_by INTEGER REFERENCES"
    " users(id),  decision_reason TEXT,  UNIQUE (case_id, version))",
    "CREATE TABLE plan_actions (  id INTEGER PRIMARY KEY,  plan_id INTEGER"
    " NOT NULL REFERENCES plans(id),  case_id INTEGER NOT NULL REFERENCES"
    " cases(id),  seq INTEGER NOT NULL,  title TEXT NOT NULL,  responsible"
    " TEXT NOT NULL CHECK (responsible IN ('caseworker','child',            "
    "  'family','provider')),  provider TEXT,  type TEXT NOT NULL CHECK"
    " (type IN ('direct_support','referral',       'coordination')),  due_at"
    " INTEGER NOT NULL,  status TEXT NOT NULL DEFAULT 'pending' CHECK"
    " (status IN ('pending',         'in_progress','done','dropped')), "
    " status_reason TEXT,  updated_at INTEGER NOT NULL,  UNIQUE (plan_id,"
    " seq))",
    "CREATE TABLE referrals (  id INTEGER PRIMARY KEY,  case_id INTEGER NOT"
    " NULL REFERENCES cases(id),  seq INTEGER NOT NULL,  service TEXT NOT"
    " NULL,  provider TEXT NOT NULL,  action_id INTEGER REFERENCES"
    " plan_actions(id),  status TEXT NOT NULL CHECK (status IN"
    " ('sent','accepted','declined',         'completed')),  sent_at INTEGER"
    " NOT NULL,  updated_at INTEGER NOT NULL,  outcome TEXT, "
    " consent_override_by INTEGER REFERENCES users(id), "
    " consent_override_reason TEXT,  UNIQUE (case_id, seq))",
    "CREATE TABLE conferences (  id INTEGER PRIMARY KEY,  case_id INTEGER"
    " NOT NULL REFERENCES cases(id),  at INTEGER NOT NULL,  recorded_by"
    " INTEGER NOT NULL REFERENCES users(id),  participants TEXT NOT NULL, "
    " decisions TEXT NOT NULL)",
    "CREATE TABLE followups (  id INTEGER PRIMARY KEY,  case_id INTEGER NOT"
    " NULL REFERENCES cases(id),  at INTEGER NOT NULL,  by_id INTEGER NOT"
    " NULL REFERENCES users(id),  method TEXT NOT NULL,  safety TEXT NOT"
    " NULL CHECK (safety IN ('ok','concern','urgent')),  notes TEXT,  final"
    " INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX followups_case ON followups(case_id, at)",
    "CREATE TABLE reviews (  id INTEGER PRIMARY KEY,  case_id INTEGER NOT"
    " NULL REFERENCES cases(id),  at INTEGER NOT NULL,  by_id INTEGER NOT"
    " NULL REFERENCES users(id),  outcome TEXT NOT NULL CHECK (outcome IN"
    " ('continue','adjust_plan',          'plan_closure')),  notes TEXT)",
    "CREATE TABLE evaluations (  id INTEGER PRIMARY KEY,  case_id INTEGER"
    " NOT NULL REFERENCES cases(id),  plan_id INTEGER REFERENCES plans(id), "
    " at INTEGER NOT NULL,  by_id INTEGER NOT NULL REFERENCES users(id), "
    " outcome TEXT NOT NULL CHECK (outcome IN ('achieved','partly_achieved',"
    "          'not_achieved')),  data TEXT NOT NULL)",
    "CREATE TABLE approvals (  id INTEGER PRIMARY KEY,  case_id INTEGER NOT"
    " NULL REFERENCES cases(id),  subject TEXT NOT NULL CHECK (subject IN"
    " ('plan','closure')),  subject_id INTEGER,  detail TEXT,  status TEXT"
    " NOT NULL CHECK (status IN ('pending','approved',         'rejected')),"
    "  requested_at INTEGER NOT NULL,  requested_by INTEGER NOT NULL"
    " REFERENCES users(id),  decided_at INTEGER,  decided_by INTEGER"
    " REFERENCES users(id),  reason TEXT)",
    "CREATE INDEX approvals_case ON approvals(case_id, status)",
    "CREATE INDEX reviews_case ON reviews(case_id, at)",
    "CREATE INDEX evaluations_case ON evaluations(case_id, at)",
    "CREATE INDEX conferences_case ON conferences(case_id)",
    "CREATE INDEX plan_actions_case ON plan_actions(case_id)",
    "CREATE TABLE \"person_name_keys\" (  person_id INTEGER NOT NULL"
    " REFERENCES persons(id),  key BLOB NOT NULL,  PRIMARY KEY (key,"
    " person_id)) WITHOUT ROWID",
    "CREATE INDEX person_name_keys_person ON person_name_keys(person_id)",
    "CREATE UNIQUE INDEX users_os_login ON users(os_login)",
    "CREATE UNIQUE INDEX users_oidc_identity ON users(oidc_identity)",
    "CREATE TABLE auth_tokens (  id INTEGER PRIMARY KEY,  hash BLOB NOT NULL"
    " UNIQUE,  user_id INTEGER NOT NULL REFERENCES users(id),  created_at"
    " INTEGER NOT NULL,  expires_at INTEGER NOT NULL,  idle_timeout INTEGER"
    " NOT NULL,  last_used INTEGER NOT NULL,  revoked_at INTEGER)",
    "CREATE INDEX auth_tokens_user ON auth_tokens(user_id, revoked_at)",
    "CREATE TABLE auth_failures (  user_id INTEGER NOT NULL REFERENCES"
    " users(id),  at INTEGER NOT NULL)",
    "CREATE INDEX auth_failures_user ON auth_failures(user_id, at)",
    "CREATE TABLE devices (  id INTEGER PRIMARY KEY,  name TEXT NOT NULL"
    " UNIQUE,  user_id INTEGER NOT NULL REFERENCES users(id),  code_hash"
    " BLOB,  code_expires INTEGER,  secret_hash BLOB,  key_sealed BLOB, "
    " status TEXT NOT NULL DEFAULT 'enrolled',  enrolled_at INTEGER NOT"
    " NULL,  revoked_at INTEGER,  last_seq INTEGER NOT NULL DEFAULT 0,  head"
    " TEXT,  last_sync_at INTEGER)",
    "CREATE TABLE sync_receipts (  device_id INTEGER NOT NULL REFERENCES"
    " devices(id),  seq INTEGER NOT NULL,  hash TEXT NOT NULL,  at INTEGER"
    " NOT NULL,  received_at INTEGER NOT NULL,  outcome TEXT NOT NULL, "
    " local_ref TEXT,  server_ref TEXT,  conflict_id INTEGER,  PRIMARY KEY"
    " (device_id, seq))",
    "CREATE TABLE sync_conflicts (  id INTEGER PRIMARY KEY,  case_id INTEGER"
    " REFERENCES cases(id),  device_id INTEGER NOT NULL REFERENCES"
    " devices(id),  user_id INTEGER NOT NULL REFERENCES users(id),  reason"
    " TEXT NOT NULL,  base_version INTEGER NOT NULL,  server_version INTEGER"
    " NOT NULL,  entries BLOB NOT NULL,  created_at INTEGER NOT NULL, "
    " status TEXT NOT NULL DEFAULT 'open',  resolution TEXT,  resolved_by"
    " INTEGER REFERENCES users(id),  resolved_at INTEGER)",
    "CREATE INDEX sync_conflicts_open ON sync_conflicts(status, case_id)",
    "CREATE TABLE sync_outbox (  seq INTEGER PRIMARY KEY,  at INTEGER NOT"
    " NULL,  user TEXT NOT NULL,  kind TEXT NOT NULL,  ref TEXT,  step TEXT,"
    "  input BLOB,  base_version INTEGER NOT NULL DEFAULT 0,  prev TEXT NOT"
    " NULL,  hash TEXT NOT NULL,  sent INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE sync_cases (  ref TEXT PRIMARY KEY,  server_version"
    " INTEGER NOT NULL)",
    "CREATE TABLE task_due_days (  due_day INTEGER PRIMARY KEY,  counted"
    " INTEGER NOT NULL DEFAULT 0,  hidden INTEGER NOT NULL DEFAULT 0)",
    "CREATE TRIGGER task_due_days_insert AFTER INSERT ON tasks  WHEN"
    " NEW.status = 'open' BEGIN INSERT INTO task_due_days (due_day, counted,"
    " hidden) SELECT d, k, 1 - k FROM (SELECT ((NEW.due_at - ((NEW.due_at %"
    " 86400) + 86400) % 86400) / 86400) AS d, coalesce(NEW.kind ="
    " 'final_followup' OR (SELECT status FROM cases WHERE id = NEW.case_id)"
    " = 'open', 0) AS k) WHERE true ON CONFLICT (due_day) DO UPDATE SET"
    " counted = counted + excluded.counted, hidden = hidden +"
    " excluded.hidden; END",
    "CREATE TRIGGER task_due_days_delete AFTER DELETE ON tasks  WHEN"
    " OLD.status = 'open' BEGIN INSERT INTO task_due_days (due_day, counted,"
    " hidden) SELECT d, -k, k - 1 FROM (SELECT ((OLD.due_at - ((OLD.due_at %"
    " 86400) + 86400) % 86400) / 86400) AS d, coalesce(OLD.kind ="
    " 'final_followup' OR (SELECT status FROM cases WHERE id = OLD.case_id)"
    " = 'open', 0) AS k) WHERE true ON CONFLICT (due_day) DO UPDATE SET"
    " counted = counted + excluded.counted, hidden = hidden +"
    " excluded.hidden; END",
    "CREATE TRIGGER task_due_days_update AFTER UPDATE OF status, due_at, "
    " kind, case_id ON tasks WHEN OLD.status = 'open' OR NEW.status = "
    " 'open' BEGIN INSERT INTO task_due_days (due_day, counted, hidden)"
    " SELECT d, -k, k - 1 FROM (SELECT ((OLD.due_at - ((OLD.due_at % 86400)"
    " + 86400) % 86400) / 86400) AS d, coalesce(OLD.kind = 'final_followup'"
    " OR (SELECT status FROM cases WHERE id = OLD.case_id) = 'open', 0) AS"
    " k) WHERE true AND OLD.status = 'open'  ON CONFLICT (due_day) DO UPDATE"
    " SET counted = counted + excluded.counted, hidden = hidden +"
    " excluded.hidden;INSERT INTO task_due_days (due_day, counted, hidden)"
    " SELECT d, k, 1 - k FROM (SELECT ((NEW.due_at - ((NEW.due_at % 86400) +"
    " 86400) % 86400) / 86400) AS d, coalesce(NEW.kind = 'final_followup' OR"
    " (SELECT status FROM cases WHERE id = NEW.case_id) = 'open', 0) AS k)"
    " WHERE true AND NEW.status = 'open'  ON CONFLICT (due_day) DO UPDATE"
    " SET counted = counted + excluded.counted, hidden = hidden +"
    " excluded.hidden; END",
    "CREATE TRIGGER task_due_days_case AFTER UPDATE OF status ON cases  WHEN"
    " (OLD.status = 'open') IS NOT (NEW.status = 'open') BEGIN  INSERT INTO"
    " task_due_days (due_day, counted, hidden)  SELECT ((due_at - ((due_at %"
    " 86400) + 86400) % 86400) / 86400), sum(s), -sum(s) FROM  (SELECT"
    " due_at, CASE NEW.status WHEN 'open' THEN 1 ELSE -1 END AS s   FROM"
    " tasks WHERE case_id = NEW.id AND status = 'open' AND kind <>  "
    " 'final_followup') WHERE true GROUP BY 1  ON CONFLICT (due_day) DO"
    " UPDATE SET counted = counted + excluded.counted, hidden = hidden +"
    " excluded.hidden; END",
    "CREATE TABLE case_risk_factors (  for_case INTEGER NOT NULL,  factor"
    " TEXT NOT NULL,  PRIMARY KEY (for_case, factor)) WITHOUT ROWID",
    "CREATE TABLE task_day_counts (  due_day INTEGER NOT NULL,  kind TEXT"
    " NOT NULL,  assignee INTEGER NOT NULL,  state INTEGER NOT NULL,  n"
    " INTEGER NOT NULL,  PRIMARY KEY (due_day, kind, assignee, state))"
    " WITHOUT ROWID",
    "CREATE TRIGGER task_day_counts_insert AFTER INSERT ON tasks  WHEN"
    " (NEW.status = 'open' OR (NEW.status = 'done' AND (NEW.kind ="
    " 'followup' OR NEW.kind = 'final_followup'))) BEGIN INSERT INTO"
    " task_day_counts (due_day, kind, assignee, state, n) SELECT"
    " ((NEW.due_at - ((NEW.due_at % 86400) + 86400) % 86400) / 86400),"
    " NEW.kind, CASE WHEN NEW.status = 'open' THEN coalesce(NEW.assignee_id,"
    " 0) ELSE 0 END, CASE WHEN NEW.status = 'open' THEN 0 WHEN NEW.done_at"
    " IS NULL THEN 3 WHEN NEW.done_at <= NEW.due_at THEN 1 ELSE 2 END, 1"
    " WHERE (NEW.status = 'open' OR (NEW.status = 'done' AND (NEW.kind ="
    " 'followup' OR NEW.kind = 'final_followup'))) ON CONFLICT (due_day,"
    " kind, assignee, state) DO UPDATE SET n = n + excluded.n; END",
    "CREATE TRIGGER task_day_counts_delete AFTER DELETE ON tasks  WHEN"
    " (OLD.status = 'open' OR (OLD.status = 'done' AND (OLD.kind ="
    " 'followup' OR OLD.kind = 'final_followup'))) BEGIN INSERT INTO"
    " task_day_counts (due_day, kind, assignee, state, n) SELECT"
    " ((OLD.due_at - ((OLD.due_at % 86400) + 86400) % 86400) / 86400),"
    " OLD.kind, CASE WHEN OLD.status = 'open' THEN coalesce(OLD.assignee_id,"
    " 0) ELSE 0 END, CASE WHEN OLD.status = 'open' THEN 0 WHEN OLD.done_at"
    " IS NULL THEN 3 WHEN OLD.done_at <= OLD.due_at THEN 1 ELSE 2 END, -1"
    " WHERE (OLD.status = 'open' OR (OLD.status = 'done' AND (OLD.kind ="
    " 'followup' OR OLD.kind = 'final_followup'))) ON CONFLICT (due_day,"
    " kind, assignee, state) DO UPDATE SET n = n + excluded.n;DELETE FROM"
    " task_day_counts WHERE n = 0 AND due_day = ((OLD.due_at - ((OLD.due_at"
    " % 86400) + 86400) % 86400) / 86400) AND kind = OLD.kind AND assignee ="
    " CASE WHEN OLD.status = 'open' THEN coalesce(OLD.assignee_id, 0) ELSE 0"
    " END AND state = CASE WHEN OLD.status = 'open' THEN 0 WHEN OLD.done_at"
    " IS NULL THEN 3 WHEN OLD.done_at <= OLD.due_at THEN 1 ELSE 2 END; END",
    "CREATE TRIGGER task_day_counts_update AFTER UPDATE OF status, due_at, "
    " done_at, kind, assignee_id ON tasks WHEN (OLD.status = 'open' OR"
    " (OLD.status = 'done' AND (OLD.kind = 'followup' OR OLD.kind ="
    " 'final_followup')))  OR (NEW.status = 'open' OR (NEW.status = 'done'"
    " AND (NEW.kind = 'followup' OR NEW.kind = 'final_followup'))) BEGIN"
    " INSERT INTO task_day_counts (due_day, kind, assignee, state, n) SELECT"
    " ((OLD.due_at - ((OLD.due_at % 86400) + 86400) % 86400) / 86400),"
    " OLD.kind, CASE WHEN OLD.status = 'open' THEN coalesce(OLD.assignee_id,"
    " 0) ELSE 0 END, CASE WHEN OLD.status = 'open' THEN 0 WHEN OLD.done_at"
    " IS NULL THEN 3 WHEN OLD.done_at <= OLD.due_at THEN 1 ELSE 2 END, -1"
    " WHERE (OLD.status = 'open' OR (OLD.status = 'done' AND (OLD.kind ="
    " 'followup' OR OLD.kind = 'final_followup'))) ON CONFLICT (due_day,"
    " kind, assignee, state) DO UPDATE SET n = n + excluded.n;DELETE FROM"
    " task_day_counts WHERE n = 0 AND due_day = ((OLD.due_at - ((OLD.due_at"
    " % 86400) + 86400) % 86400) / 86400) AND kind = OLD.kind AND assignee ="
    " CASE WHEN OLD.status = 'open' THEN coalesce(OLD.assignee_id, 0) ELSE 0"
    " END AND state = CASE WHEN OLD.status = 'open' THEN 0 WHEN OLD.done_at"
    " IS NULL THEN 3 WHEN OLD.done_at <= OLD.due_at THEN 1 ELSE 2 END;INSERT"
    " INTO task_day_counts (due_day, kind, assignee, state, n) SELECT"
    " ((NEW.due_at - ((NEW.due_at % 86400) + 86400) % 86400) / 86400),"
    " NEW.kind, CASE WHEN NEW.status = 'open' THEN coalesce(NEW.assignee_id,"
    " 0) ELSE 0 END, CASE WHEN NEW.status = 'open' THEN 0 WHEN NEW.done_at"
    " IS NULL THEN 3 WHEN NEW.done_at <= NEW.due_at THEN 1 ELSE 2 END, 1"
    " WHERE (NEW.status = 'open' OR (NEW.status = 'done' AND (NEW.kind ="
    " 'followup' OR NEW.kind = 'final_followup'))) ON CONFLICT (due_day,"
    " kind, assignee, state) DO UPDATE SET n = n + excluded.n; END",
    "CREATE TRIGGER case_risk_factors_event AFTER INSERT ON events  WHEN"
    " NEW.case_id IS NOT NULL AND NEW.decision LIKE '%risk.lua%' AND EXISTS"
    " (SELECT 1 FROM json_each(NEW.decision) y JOIN json_each(y.value) yh"
    " WHERE y.type = 'object' AND yh.key = 'hook' AND yh.type = 'text' AND"
    " yh.value = 'risk.lua') BEGIN  DELETE FROM case_risk_factors WHERE"
    " for_case = NEW.case_id;  INSERT OR IGNORE INTO case_risk_factors"
    " (for_case, factor)  SELECT NEW.case_id, fa.value FROM"
    " json_each(NEW.decision) d JOIN json_each(d.value) dh JOIN"
    " json_each(d.value, '$.result.factors') fa WHERE d.type = 'object' AND"
    " dh.key = 'hook' AND dh.type = 'text' AND dh.value = 'risk.lua' AND"
    " fa.type = 'text'; END",
};

const size_t hv__new_schema_count = sizeof hv__new_schema / sizeof hv__new_schema[0];

/* The index of text among hv__new_schema (those marked in taken, when
 * given, left out), or hv__new_schema_count when it is none of them. */
static size_t index_of(const char *text, const unsigned char *taken)
{
    size_t i = 0;
    while (text && i < hv__new_schema_count &&
           ((taken && taken[i]) || strcmp(text, hv__new_schema[i])))
        i++;
    return text ? i : hv__new_schema_count;
}

int hv__schema_is_new_schema(sqlite3 *db)
{
    /* every object with SQL but SQLite's own bookkeeping tables (whose
     * rows come and go with AUTOINCREMENT and ANALYZE): a name sqlite_%
     * cannot be given by CREATE, only by editing sqlite_schema, so such a
     * trigger or view counts as not Haven's */
    static const char sql[] =
        "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND NOT (type ="
        " 'table' AND name IN ('sqlite_sequence', 'sqlite_stat1',"
        " 'sqlite_stat4'))";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return 0;
    }
    unsigned char seen[sizeof hv__new_schema / sizeof hv__new_schema[0]] = {0};
    size_t matched = 0;
    int rc, same = 1;
    while (same && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t i = index_of((const char *)sqlite3_column_text(st, 0), seen);
        if (i == hv__new_schema_count) {
            same = 0;
        } else {
            seen[i] = 1;
            matched++;
        }
    }
    sqlite3_finalize(st);
    return same && rc == SQLITE_DONE && matched == hv__new_schema_count;
}

int hv__schema_foreign_code(sqlite3 *db, char *names, size_t size)
{
    static const char sql[] =
        "SELECT name, sql FROM sqlite_schema WHERE type IN ('trigger', 'view')"
        " ORDER BY name";
    sqlite3_stmt *st = NULL;
    size_t used = 0;
    int n = 0, rc;
    if (size)
        names[0] = '\0';
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return -1;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (index_of((const char *)sqlite3_column_text(st, 1), NULL) < hv__new_schema_count)
            continue;
        n++;
        /* a name written into the file may hold anything: shown only when
         * it is a plain identifier */
        int plain = name && *name && strlen(name) <= 64;
        for (const char *p = name; plain && *p; p++)
            plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '_';
        const char *shown = plain ? name : "(a name not shown)";
        if (n <= 5 && used + strlen(shown) + 3 < size) {
            memcpy(names + used, n > 1 ? ", " : "", n > 1 ? 2 : 0);
            used += n > 1 ? 2 : 0;
            memcpy(names + used, shown, strlen(shown) + 1);
            used += strlen(shown);
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? n : -1;
}
