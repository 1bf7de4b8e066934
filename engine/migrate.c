/* migrate.c - the schema of a Haven database and its migrations. */
#include "migrate.h"

#include <stdio.h>

#include "core.h"
#include "error.h"
#include "events.h"
#include "pgstore_migrate.h"
#include "store.h"

/*
 * JSON columns (form, details, data, decision) hold only JSON the engine
 * produced itself; they carry no json_valid() CHECK because, with
 * trusted_schema off, SQLite 3.40 refuses non-innocuous functions in the
 * schema.
 *
 * Schema migrations, in order: migrations[i] takes user_version i to i+1.
 * Never edit a shipped migration; add a new one.
 */
/* The row of task_due_days (migrate.h) of the task row t (NEW or OLD)
 * changed by counted and hidden, expressions of k (1 when an agency's due
 * list counts the task): TASK_DUE_DAYS_HEAD, then any more of its WHERE
 * (" AND ..."), then TASK_DUE_DAYS_UPSERT. */
#define TASK_DUE_DAYS_UPSERT                                                   \
    " ON CONFLICT (due_day) DO UPDATE SET counted = counted +"                 \
    " excluded.counted, hidden = hidden + excluded.hidden"
#define TASK_DUE_DAYS_HEAD(t, counted, hidden)                                 \
    "INSERT INTO task_due_days (due_day, counted, hidden) SELECT d, "         \
    counted ", " hidden " FROM (SELECT " HV_DUE_DAY(t ".due_at") " AS d,"      \
    " coalesce(" t ".kind = 'final_followup' OR (SELECT status FROM cases"     \
    " WHERE id = " t ".case_id) = 'open', 0) AS k) WHERE true"

/* task_day_counts (migrate.h): the row of the task row t (NEW or OLD)
 * changed by d when t is counted, and the row of t's key dropped at 0. */
#define TASK_DAY_ADD(t, d)                                                     \
    "INSERT INTO task_day_counts (due_day, kind, assignee, state, n) SELECT "  \
    HV_TASK_DAY_KEY(t) ", " d " WHERE " HV_TASK_DAY_COUNTED(t)                 \
    " ON CONFLICT (due_day, kind, assignee, state) DO UPDATE SET n = n +"      \
    " excluded.n"
#define TASK_DAY_DROP(t)                                                       \
    "DELETE FROM task_day_counts WHERE n = 0 AND " HV_TASK_DAY_ROW(t)

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
     * name keys replaced by their blind-index form.  (Sealed bound to each
     * value's table, column and row id since hv_seal took them: the SQL
     * function's arguments changed, the values it makes did only so.) */
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
    "UPDATE persons SET name = hv_seal(name, 'persons', 'name', id),"
    "  birth_date = hv_seal(birth_date, 'persons', 'birth_date', id),"
    "  details = hv_seal(details, 'persons', 'details', id);"
    "UPDATE cases SET location = hv_seal(location, 'cases', 'location', id),"
    "  form = hv_seal(form, 'cases', 'form', id),"
    "  transferred_to = hv_seal(transferred_to, 'cases', 'transferred_to', id);"
    "UPDATE notes SET text = hv_seal(text, 'notes', 'text', id);"
    "UPDATE consents SET withdrawn_reason = hv_seal(withdrawn_reason,"
    "  'consents', 'withdrawn_reason', id);"
    "UPDATE assessments SET data = hv_seal(data, 'assessments', 'data', id);"
    "UPDATE plans SET goal = hv_seal(goal, 'plans', 'goal', id),"
    "  indicators = hv_seal(indicators, 'plans', 'indicators', id),"
    "  addresses = hv_seal(addresses, 'plans', 'addresses', id),"
    "  decision_reason = hv_seal(decision_reason, 'plans', 'decision_reason', id);"
    "UPDATE plan_actions SET title = hv_seal(title, 'plan_actions', 'title', id),"
    "  provider = hv_seal(provider, 'plan_actions', 'provider', id),"
    "  status_reason = hv_seal(status_reason, 'plan_actions', 'status_reason', id);"
    "UPDATE referrals SET provider = hv_seal(provider, 'referrals', 'provider', id),"
    "  outcome = hv_seal(outcome, 'referrals', 'outcome', id),"
    "  consent_override_reason = hv_seal(consent_override_reason, 'referrals',"
    "  'consent_override_reason', id);"
    "UPDATE conferences SET"
    "  participants = hv_seal(participants, 'conferences', 'participants', id),"
    "  decisions = hv_seal(decisions, 'conferences', 'decisions', id);"
    "UPDATE followups SET notes = hv_seal(notes, 'followups', 'notes', id);"
    "UPDATE reviews SET notes = hv_seal(notes, 'reviews', 'notes', id);"
    "UPDATE evaluations SET data = hv_seal(data, 'evaluations', 'data', id);"
    "UPDATE approvals SET reason = hv_seal(reason, 'approvals', 'reason', id);",

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

    /* 9 -> 10: a keyed, anchored chain (events.c): each event records the
     * OS account that ran the command and a keyed digest of its case's
     * rows after the change.  hv__chain_anchor then appends the anchor
     * (audit_chain_anchored, the first keyed entry) and records its
     * number as audit_chain_keyed_from. */
    "ALTER TABLE events ADD COLUMN os_uid INTEGER;"
    "ALTER TABLE events ADD COLUMN os_login TEXT;"
    "ALTER TABLE events ADD COLUMN digest BLOB;",

    /* 10 -> 11: authentication (auth.c): a user's OS login and single
     * sign-on identity (each mapped to one user at most), their Argon2id
     * password hash, the keyed hash of a one-time enrolment code and its
     * expiry; the keyed hashes of bearer tokens (never a token), and the
     * failed logins that lock an account for a while.  Times are the wall
     * clock's, never the case clock's. */
    "ALTER TABLE users ADD COLUMN os_login TEXT;"
    "ALTER TABLE users ADD COLUMN oidc_identity TEXT;"
    "ALTER TABLE users ADD COLUMN password_hash TEXT;"
    "ALTER TABLE users ADD COLUMN enrol_hash BLOB;"
    "ALTER TABLE users ADD COLUMN enrol_expires INTEGER;"
    "CREATE UNIQUE INDEX users_os_login ON users(os_login);"
    "CREATE UNIQUE INDEX users_oidc_identity ON users(oidc_identity);"
    "CREATE TABLE auth_tokens ("
    "  id INTEGER PRIMARY KEY,"
    "  hash BLOB NOT NULL UNIQUE,"
    "  user_id INTEGER NOT NULL REFERENCES users(id),"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  idle_timeout INTEGER NOT NULL,"
    "  last_used INTEGER NOT NULL,"
    "  revoked_at INTEGER"
    ");"
    "CREATE INDEX auth_tokens_user ON auth_tokens(user_id, revoked_at);"
    "CREATE TABLE auth_failures ("
    "  user_id INTEGER NOT NULL REFERENCES users(id),"
    "  at INTEGER NOT NULL"
    ");"
    "CREATE INDEX auth_failures_user ON auth_failures(user_id, at);",

    /* 11 -> 12: offline work (sync.h).  On an agency's database: the
     * devices an administrator enrolled (a laptop bound to one user, its
     * one-time code and its secret as keyed hashes, the key that encrypts
     * its copy sealed under this database's key, the head of its change
     * chain), the receipt of every change a device sent (so an upload sent
     * twice applies once), and the conflict queue: a change refused because
     * its case changed here since the laptop's copy, kept whole (sealed)
     * until a supervisor resolves it.  On a laptop's copy: its outbox (the
     * engine calls made offline, chained) and the server version of each
     * case it holds. */
    "CREATE TABLE devices ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  user_id INTEGER NOT NULL REFERENCES users(id),"
    "  code_hash BLOB,"
    "  code_expires INTEGER,"
    "  secret_hash BLOB,"
    "  key_sealed BLOB,"
    "  status TEXT NOT NULL DEFAULT 'enrolled',"
    "  enrolled_at INTEGER NOT NULL,"
    "  revoked_at INTEGER,"
    "  last_seq INTEGER NOT NULL DEFAULT 0,"
    "  head TEXT,"
    "  last_sync_at INTEGER"
    ");"
    "CREATE TABLE sync_receipts ("
    "  device_id INTEGER NOT NULL REFERENCES devices(id),"
    "  seq INTEGER NOT NULL,"
    "  hash TEXT NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  outcome TEXT NOT NULL,"
    "  local_ref TEXT,"
    "  server_ref TEXT,"
    "  conflict_id INTEGER,"
    "  PRIMARY KEY (device_id, seq)"
    ");"
    "CREATE TABLE sync_conflicts ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id INTEGER REFERENCES cases(id),"
    "  device_id INTEGER NOT NULL REFERENCES devices(id),"
    "  user_id INTEGER NOT NULL REFERENCES users(id),"
    "  reason TEXT NOT NULL,"
    "  base_version INTEGER NOT NULL,"
    "  server_version INTEGER NOT NULL,"
    "  entries BLOB NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  status TEXT NOT NULL DEFAULT 'open',"
    "  resolution TEXT,"
    "  resolved_by INTEGER REFERENCES users(id),"
    "  resolved_at INTEGER"
    ");"
    "CREATE INDEX sync_conflicts_open ON sync_conflicts(status, case_id);"
    "CREATE TABLE sync_outbox ("
    "  seq INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  user TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  ref TEXT,"
    "  step TEXT,"
    "  input BLOB,"
    "  base_version INTEGER NOT NULL DEFAULT 0,"
    "  prev TEXT NOT NULL,"
    "  hash TEXT NOT NULL,"
    "  sent INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE sync_cases ("
    "  ref TEXT PRIMARY KEY,"
    "  server_version INTEGER NOT NULL"
    ");",

    /* 12 -> 13: the open tasks per due day (migrate.h), so an agency's
     * count of what is overdue reads a few hundred rows, not every open
     * task.  Kept by triggers on every write of a task and of a case's
     * status, filled here from a recount. */
    "CREATE TABLE task_due_days ("
    "  due_day INTEGER PRIMARY KEY,"
    "  counted INTEGER NOT NULL DEFAULT 0,"
    "  hidden INTEGER NOT NULL DEFAULT 0"
    ");"
    "INSERT INTO task_due_days (due_day, counted, hidden) "
    HV_TASK_DUE_DAYS_RECOUNT ";"
    "CREATE TRIGGER task_due_days_insert AFTER INSERT ON tasks"
    "  WHEN NEW.status = 'open' BEGIN "
    TASK_DUE_DAYS_HEAD("NEW", "k", "1 - k") TASK_DUE_DAYS_UPSERT "; END;"
    "CREATE TRIGGER task_due_days_delete AFTER DELETE ON tasks"
    "  WHEN OLD.status = 'open' BEGIN "
    TASK_DUE_DAYS_HEAD("OLD", "-k", "k - 1") TASK_DUE_DAYS_UPSERT "; END;"
    "CREATE TRIGGER task_due_days_update AFTER UPDATE OF status, due_at,"
    "  kind, case_id ON tasks WHEN OLD.status = 'open' OR NEW.status ="
    "  'open' BEGIN "
    TASK_DUE_DAYS_HEAD("OLD", "-k", "k - 1") " AND OLD.status = 'open' "
    TASK_DUE_DAYS_UPSERT ";"
    TASK_DUE_DAYS_HEAD("NEW", "k", "1 - k") " AND NEW.status = 'open' "
    TASK_DUE_DAYS_UPSERT "; END;"
    /* a case closed or opened: its open tasks other than the final
     * follow-up move between counted and hidden */
    "CREATE TRIGGER task_due_days_case AFTER UPDATE OF status ON cases"
    "  WHEN (OLD.status = 'open') IS NOT (NEW.status = 'open') BEGIN"
    "  INSERT INTO task_due_days (due_day, counted, hidden)"
    "  SELECT " HV_DUE_DAY("due_at") ", sum(s), -sum(s) FROM"
    "  (SELECT due_at, CASE NEW.status WHEN 'open' THEN 1 ELSE -1 END AS s"
    "   FROM tasks WHERE case_id = NEW.id AND status = 'open' AND kind <>"
    "   'final_followup') WHERE true GROUP BY 1 " TASK_DUE_DAYS_UPSERT "; END;",

    /* 13 -> 14 (registration speed, issue 21): only a child's name is
     * searched and compared (search.h), so the family's name keys go; and
     * the CHECKs
     * of cases and tasks that list more than two values are written as
     * ORs (lean_checks below: SQLite 3.40 builds a temporary b-tree for
     * an IN list of three or more on every INSERT). */
    "DELETE FROM person_name_keys WHERE person_id IN"
    "  (SELECT id FROM persons WHERE role <> 'child');",

    /* 14 -> 15 (report speed, issue 21): the factors of each case's
     * current risk decision (migrate.h), so the report's risk factors read
     * a small table instead of walking every open case's events back to
     * its latest risk decision.  Kept by a trigger on every event appended
     * (any path: registration, assessments, rules apply, import, sync);
     * filled here from a recount.  An event older than the case's latest
     * risk decision (never appended: seq only grows) changes nothing. */
    "CREATE TABLE case_risk_factors ("
    "  for_case INTEGER NOT NULL,"
    "  factor TEXT NOT NULL,"
    "  PRIMARY KEY (for_case, factor)"
    ") WITHOUT ROWID;"
    "INSERT INTO case_risk_factors (for_case, factor) "
    HV_RISK_FACTORS_RECOUNT ";"
    "CREATE TRIGGER case_risk_factors_event AFTER INSERT ON events"
    "  WHEN NEW.case_id IS NOT NULL AND " HV_RISK_DECISION("NEW")
    "  AND NOT EXISTS (SELECT 1 FROM events x WHERE x.case_id = NEW.case_id"
    "   AND x.seq > NEW.seq AND " HV_RISK_DECISION("x") ") BEGIN"
    "  DELETE FROM case_risk_factors WHERE for_case = NEW.case_id;"
    "  INSERT OR IGNORE INTO case_risk_factors (for_case, factor)"
    "  SELECT NEW.case_id, fa.value FROM" HV_RISK_FACTORS_OF("NEW") "; END;",

    /* 15 -> 16 (report speed, issue 21): the tasks the agency report
     * counts, per due day, kind, assignee and state (migrate.h's
     * task_day_counts), so a manager's report reads the counters instead
     * of every task.  Kept by triggers on every write of a task, filled
     * here from a recount.  And schema 15's trigger without its test for
     * a later risk decision of the case: events are appended with a seq
     * that only grows, so the event being appended is always the latest. */
    "CREATE TABLE task_day_counts ("
    "  due_day INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  assignee INTEGER NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  n INTEGER NOT NULL,"
    "  PRIMARY KEY (due_day, kind, assignee, state)"
    ") WITHOUT ROWID;"
    "INSERT INTO task_day_counts (due_day, kind, assignee, state, n) "
    HV_TASK_DAY_COUNTS_RECOUNT ";"
    "CREATE TRIGGER task_day_counts_insert AFTER INSERT ON tasks"
    "  WHEN " HV_TASK_DAY_COUNTED("NEW") " BEGIN "
    TASK_DAY_ADD("NEW", "1") "; END;"
    "CREATE TRIGGER task_day_counts_delete AFTER DELETE ON tasks"
    "  WHEN " HV_TASK_DAY_COUNTED("OLD") " BEGIN "
    TASK_DAY_ADD("OLD", "-1") ";" TASK_DAY_DROP("OLD") "; END;"
    "CREATE TRIGGER task_day_counts_update AFTER UPDATE OF status, due_at,"
    "  done_at, kind, assignee_id ON tasks WHEN " HV_TASK_DAY_COUNTED("OLD")
    "  OR " HV_TASK_DAY_COUNTED("NEW") " BEGIN "
    TASK_DAY_ADD("OLD", "-1") ";" TASK_DAY_DROP("OLD") ";"
    TASK_DAY_ADD("NEW", "1") "; END;"
    "DROP TRIGGER case_risk_factors_event;"
    "CREATE TRIGGER case_risk_factors_event AFTER INSERT ON events"
    "  WHEN NEW.case_id IS NOT NULL AND " HV_RISK_DECISION("NEW") " BEGIN"
    "  DELETE FROM case_risk_factors WHERE for_case = NEW.case_id;"
    "  INSERT OR IGNORE INTO case_risk_factors (for_case, factor)"
    "  SELECT NEW.case_id, fa.value FROM" HV_RISK_FACTORS_OF("NEW") "; END;",
};

#define MIGRATION_COUNT ((int)(sizeof migrations / sizeof migrations[0]))
_Static_assert(MIGRATION_COUNT == HV_SCHEMA_VERSION,
               "one migration per schema version");

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

/* The CHECKs of schema 1 that list three or more values, and the same
 * written as ORs (the same rows pass: a NULL passes both). */
static const char *const lean_checks_from_to[][2] = {
    {"CHECK (status IN ('open',         'not_registered','closed','transferred'))",
     "CHECK (status = 'open' OR status = 'not_registered' OR status = 'closed'"
     " OR status = 'transferred')"},
    {"CHECK (urgency IN ('immediate','high','normal'))",
     "CHECK (urgency = 'immediate' OR urgency = 'high' OR urgency = 'normal')"},
    {"CHECK (risk_level IN ('low','medium','high','critical'))",
     "CHECK (risk_level = 'low' OR risk_level = 'medium' OR risk_level ="
     " 'high' OR risk_level = 'critical')"},
    {"CHECK (status IN ('open','done',         'cancelled'))",
     "CHECK (status = 'open' OR status = 'done' OR status = 'cancelled')"},
};

/* Schema 13's CHECKs of cases and tasks as ORs: the text of the tables'
 * definitions edited in place (SQLite's documented way for a change that
 * leaves every stored row as it is: writable_schema, then the schema
 * version bumped so every connection reads the schema again), inside the
 * migration's transaction.  Defensive mode, which forbids it, is off for
 * these statements only.  A definition already written so is left as it
 * is. */
static hv_status lean_checks(hv_engine *e)
{
    int version = 0;
    hv_status s = HV_OK;
    sqlite3_stmt *st = NULL;
    sqlite3_db_config(e->db, SQLITE_DBCONFIG_DEFENSIVE, 0, (int *)NULL);
    sqlite3_db_config(e->db, SQLITE_DBCONFIG_WRITABLE_SCHEMA, 1, (int *)NULL);
    int rc = sqlite3_prepare_v2(e->db, "PRAGMA schema_version", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        version = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(e->db, "UPDATE sqlite_schema SET sql ="
                                       " replace(sql, ?1, ?2) WHERE type = 'table'"
                                       " AND name IN ('cases', 'tasks')"
                                       " AND instr(sql, ?1) > 0",
                                -1, &st, NULL);
    for (size_t i = 0; rc == SQLITE_OK &&
                       i < sizeof lean_checks_from_to / sizeof lean_checks_from_to[0];
         i++) {
        sqlite3_bind_text(st, 1, lean_checks_from_to[i][0], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, lean_checks_from_to[i][1], -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA schema_version=%d", version + 1);
        rc = sqlite3_exec(e->db, pragma, NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK)
        s = hv__sql_fail(e, rc, "migrating the schema's checks");
    sqlite3_db_config(e->db, SQLITE_DBCONFIG_WRITABLE_SCHEMA, 0, (int *)NULL);
    sqlite3_db_config(e->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    return s;
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
        hv_status st;
        if (v + 1 == HV_SCHEMA_CHAIN_KEYED && (st = hv__chain_anchor(e, from)))
            return st;
        if (v + 1 == HV_SCHEMA_LEAN_CHECKS && (st = lean_checks(e)))
            return st;
    }
    /* An older schema (init for the tests of migrations) has no keyed
     * chain: its events are written as that schema's code wrote them. */
    e->chain_legacy = to < HV_SCHEMA_CHAIN_KEYED;
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", to);
    return hv__store_exec(e, pragma);
}

hv_status hv__migrate_begin(hv_engine *e, int up_to, int *from, int *to)
{
    int version = 0;
    int target = up_to > 0 && up_to < HV_SCHEMA_VERSION ? up_to
                                                          : HV_SCHEMA_VERSION;
    *from = *to = target;
    hv_status st = hv__store_schema_version(e, &version);
    if (st != HV_OK)
        return st;
    if (version < 0)
        return hv__fail(e, HV_CORRUPT, "%s: not a haven database (schema "
                        "version %d)", e->path, version);
    if (version > HV_SCHEMA_VERSION)
        return hv__fail(e, HV_INVALID,
                        "%s: database schema version %d is newer than this "
                        "haven understands (%d); upgrade haven",
                        e->path, version, HV_SCHEMA_VERSION);
    if (version >= target)
        return HV_OK;
    if ((st = hv__store_begin(e)) != HV_OK)
        return st;
    /* Re-read under the write lock: another process may have migrated.
     * (A PostgreSQL store's version is the stored one: pgstore_migrate.h.) */
    st = e->pg ? hv__pg_migrate_lock(e, &version) : hv__store_schema_version(e, &version);
    if (st != HV_OK) {
        hv__store_rollback(e);
        return st;
    }
    if (e->pg && version > HV_SCHEMA_VERSION) {
        hv__store_rollback(e);
        return hv__fail(e, HV_INVALID,
                        "%s: database schema version %d is newer than this "
                        "haven understands (%d); upgrade haven",
                        e->path, version, HV_SCHEMA_VERSION);
    }
    if (version >= target) {
        st = hv__store_commit(e);
        return st == HV_OK && e->pg ? hv__pg_migrate_reattach(e) : st;
    }
    if (version < 0) {
        hv__store_rollback(e);
        return hv__fail(e, HV_CORRUPT, "%s: not a haven database (schema "
                        "version %d)", e->path, version);
    }
    /* On PostgreSQL the steps run on local copies of the stored tables. */
    if (e->pg && (st = hv__pg_migrate_localise(e)) != HV_OK) {
        hv__store_rollback(e);
        return st;
    }
    *from = version;
    return HV_OK;
}

hv_status hv__migrate_finish(hv_engine *e, int from, int to)
{
    hv_status st = hv__store_migrate_steps(e, from, to);
    /* a PostgreSQL store's tables made again from the migrated copies, in
     * the same transaction (pgstore_migrate.h) */
    if (st == HV_OK && e->pg)
        st = hv__pg_migrate_store(e);
    if (st != HV_OK) {
        hv__store_rollback(e);
        return st;
    }
    st = hv__store_commit(e);
    return st == HV_OK && e->pg ? hv__pg_migrate_reattach(e) : st;
}
