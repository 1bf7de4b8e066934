/*
 * haven.h - the public interface of libhaven, the child protection case
 * management engine.
 *
 * Invariants:
 *  - Every function that can fail returns an hv_status.  On failure the
 *    detailed one-line message is available from hv_errmsg(engine) until the
 *    next call on the same engine; it never contains identifying data (names,
 *    locations, narrative).
 *  - Results come back through trailing out-parameters (marked "out:"), which
 *    are set to NULL/0 on failure.  A returned `char *` belongs to the caller
 *    and is freed with hv_free(); a returned `const char *` is borrowed.
 *  - Every change is one SQLite transaction that also appends an event; a
 *    failing call changes nothing.
 *  - Structured input and output is JSON text (UTF-8).  The JSON shapes are
 *    documented in README.md ("The case record").
 *  - Destructors (hv_engine_close, hv_free, hv_workflow_free) accept NULL.
 */
#ifndef HAVEN_H
#define HAVEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(HV_BUILDING_LIBRARY) && defined(__GNUC__)
#define HV_API __attribute__((visibility("default")))
#else
#define HV_API
#endif

#define HV_VERSION_STRING "0.1.0"

/*
 * Status codes: one table, so names, messages and exit codes never drift.
 * XX(NAME, exit code (sysexits.h), message)
 */
#define HV_STATUS_MAP(XX)                                                    \
    XX(OK, 0, "ok")                                                          \
    XX(USAGE, 64, "usage error")                                             \
    XX(INVALID, 65, "invalid data")                                          \
    XX(REFUSED, 65, "refused")                                               \
    XX(DUPLICATE, 65, "possible duplicate")                                  \
    XX(CONFLICT, 65, "stale version (the case changed since it was read)")   \
    XX(CORRUPT, 65, "not a valid haven database")                            \
    XX(NOINPUT, 66, "missing input file")                                    \
    XX(NOTFOUND, 69, "not found")                                            \
    XX(NOMEM, 70, "out of memory")                                           \
    XX(INTERNAL, 70, "internal error")                                       \
    XX(CANTCREATE, 73, "cannot create")                                      \
    XX(IOERR, 74, "input/output error")                                      \
    XX(BUSY, 75, "database busy (retry)")                                    \
    XX(DENIED, 77, "permission denied")

typedef enum {
#define HV_STATUS_ENUM(name, code, msg) HV_##name,
    HV_STATUS_MAP(HV_STATUS_ENUM)
#undef HV_STATUS_ENUM
        HV_STATUS_COUNT
} hv_status;

/* The fixed message of a status ("not found"); never NULL. */
HV_API const char *hv_strerror(hv_status st);
/* The status's symbolic name ("NOTFOUND"); never NULL. */
HV_API const char *hv_status_name(hv_status st);
/* 1 when something is at path: a file, or a PostgreSQL database
 * (postgresql://...) holding a Haven store; 0 otherwise. */
HV_API int hv_database_exists(const char *path);

/* The process exit code (sysexits.h) for a status. */
HV_API int hv_status_exit_code(hv_status st);

/* Free memory returned by the library (char * results).  NULL is a no-op. */
HV_API void hv_free(void *p);

/* ---- Time ------------------------------------------------------------- */

typedef int64_t hv_time; /* UTC seconds since 1970-01-01 */

/* The times Haven takes: from 1900-01-01T00:00:00Z to 2200-01-01T00:00:00Z
 * (both included).  Every parsed time and every clock set outside them is
 * refused. */
#define HV_TIME_MIN ((hv_time)-2208988800LL)
#define HV_TIME_MAX ((hv_time)7258118400LL)

/* Parses "2026-11-28", "2026-11-28T09:30", "2026-11-28T09:30:00Z" (UTC or
 * with a +hh:mm offset), between HV_TIME_MIN and HV_TIME_MAX.  Returns
 * HV_INVALID on anything else. */
HV_API hv_status hv_time_parse(const char *text, hv_time *out);
/* Formats as "2026-11-28T09:30:00Z" into buf (at least 21 bytes). */
HV_API void hv_time_format(hv_time t, char *buf, size_t size);
/* Parses a duration "48h", "14d", "2w", "3mo", "1y", "90min", "30s".
 * Months are 30 days, years 365 days.  HV_INVALID on anything else. */
HV_API hv_status hv_duration_parse(const char *text, int64_t *out_seconds);

/* ---- The engine -------------------------------------------------------- */

typedef struct hv_engine hv_engine;

/* Options for creating a database with hv_engine_init. */
typedef struct {
    const char *agency;        /* agency code, [A-Z0-9]{2,12} (required) */
    const char *agency_name;   /* display name (optional) */
    const char *workflow_path; /* YAML workflow file (required) */
    const char *rules_dir;     /* rule pack folder (optional: without one the
                                * workflow's defaults decide) */
    const char *ref_pattern;   /* default "AGENCY-YYYY-NNNNN" */
    const char *admin;         /* the first administrator's login */
    int simulated;             /* 0: a live database, whose clock is the
                                * system clock and can never be set; 1: a
                                * simulated one (training, tests, synthetic
                                * data), whose clock may be set
                                * (hv_clock_fix, hv_clock_simulate) */
    const char *now;           /* a simulated database's creation time (ISO
                                * 8601; NULL: the system clock); HV_USAGE
                                * on a live one */
    int scratch;               /* 1: a throwaway simulated database (a
                                * scenario's, deleted after its run): built
                                * without waiting for the disk (no fsync
                                * of its file or folder); every safeguard
                                * (keys, chain, checkpoints, digests, the
                                * pack's vetting) as for any database.
                                * HV_USAGE on a live one */
} hv_init_options;

/* Creates and initialises a new database at path.  Refuses an existing,
 * initialised database (HV_CANTCREATE).  On failure nothing is left behind.
 * out: *err receives a malloc'd message on failure (free with hv_free). */
HV_API hv_status hv_engine_init(const char *path, const hv_init_options *opts,
                                char **err);

/* Opens an existing database, migrating its schema if it is older.
 * out: *out is the engine (NULL on failure); *err a message on failure. */
HV_API hv_status hv_engine_open(const char *path, hv_engine **out, char **err);

/* Closes the engine and its database.  NULL is a no-op. */
HV_API void hv_engine_close(hv_engine *e);

/* The last detailed message (borrowed until the next call on e). */
HV_API const char *hv_errmsg(const hv_engine *e);

/* The acting user's login for later changes (default "system"). */
HV_API hv_status hv_engine_set_actor(hv_engine *e, const char *login);
/* Why the acting user acts (e.g. "court_report"): a short code recorded in
 * every event, the audit trail's "purpose where given".  NULL: none. */
HV_API hv_status hv_engine_set_purpose(hv_engine *e, const char *purpose);
/* Where the log() lines of rules go (NULL, the default: dropped). */
HV_API void hv_engine_set_rules_log(hv_engine *e, FILE *log);
/* 1 if the engine holds the data key (identifying data readable). */
HV_API int hv_engine_has_key(const hv_engine *e);
/* Busy timeout in milliseconds (default 5000). */
HV_API void hv_engine_set_busy_timeout(hv_engine *e, int ms);
/* For a scratch database that is thrown away after use (a training
 * scenario's): commits no longer wait for the disk (synchronous=OFF), so a
 * power cut may lose or damage it.  Never for case records.  Lasts until
 * the engine is closed. */
HV_API hv_status hv_engine_set_scratch(hv_engine *e);

/* Bulk loading: the changes made between hv_engine_batch_begin and
 * hv_engine_batch_commit share one transaction (one fsync).  Each call in
 * the batch still succeeds or fails on its own (a failed call changes
 * nothing), but nothing is durable, or visible to other processes, until
 * the commit.  One exception, for speed: a registration refused (bad
 * input, a duplicate, the rules, access) leaves the batch as it was, but
 * one that fails while writing (disk, memory; a SQLite file only) undoes
 * the whole batch, and hv_engine_batch_commit then says so; hv_engine_batch_rollback (or closing the engine) undoes every
 * change of the batch.  Nested batches are refused (HV_USAGE). */
HV_API hv_status hv_engine_batch_begin(hv_engine *e);
HV_API hv_status hv_engine_batch_commit(hv_engine *e);
HV_API void hv_engine_batch_rollback(hv_engine *e);

/* ---- The clock ---------------------------------------------------------- */

/* A live database (the default of hv_engine_init) runs on the system clock
 * only: every call below that sets its clock is refused (HV_USAGE), so
 * every event carries the system time and retention is measured on it.  A
 * simulated database (hv_init_options.simulated) takes a fixed or
 * simulated time; a time outside HV_TIME_MIN..HV_TIME_MAX is refused
 * (HV_INVALID).  A database made before the distinction is live. */

typedef enum { HV_CLOCK_SYSTEM, HV_CLOCK_FIXED, HV_CLOCK_SIMULATED } hv_clock_mode;

/* The engine's current time. */
HV_API hv_time hv_now(const hv_engine *e);
HV_API hv_clock_mode hv_clock_mode_get(const hv_engine *e);
/* 1 if e's database is simulated, 0 if it is live. */
HV_API int hv_engine_is_simulated(const hv_engine *e);
/* Back to the system clock (always allowed). */
HV_API void hv_clock_use_system(hv_engine *e);
/* A clock fixed at t (--now); simulated databases only. */
HV_API hv_status hv_clock_fix(hv_engine *e, hv_time t);
/* A simulated clock starting at t, moved only by hv_clock_advance/set;
 * simulated databases only. */
HV_API hv_status hv_clock_simulate(hv_engine *e, hv_time t);
/* Sets a fixed or simulated clock to t (HV_INVALID on the system clock). */
HV_API hv_status hv_clock_set(hv_engine *e, hv_time t);
/* Moves a fixed or simulated clock forward by seconds >= 0. */
HV_API hv_status hv_clock_advance(hv_engine *e, int64_t seconds);

/* ---- Cases -------------------------------------------------------------- */

/* Registration flags. */
#define HV_REGISTER_FORCE 0x1u /* register despite possible duplicates */

/* Registers a child from a JSON object (see README, "Registering"):
 *   {"source": "school", "location": "...", "concerns": ["..."],
 *    "child": {"name", "age" | "dob", "sex"}, "family": [{...}],
 *    "consent": {"registration": "caregiver", ...}, "form": {...}}
 * Validates against the workflow, looks for possible duplicates (refused
 * with HV_DUPLICATE unless HV_REGISTER_FORCE; the message lists only their
 * references), then writes the case, persons, consents, the event and the
 * first task in one transaction.
 * out: *out_ref the new reference (free with hv_free). */
HV_API hv_status hv_case_register(hv_engine *e, const char *input_json,
                                  unsigned flags, char **out_ref);

/* Possible duplicates of a registration input, as a JSON array of
 * references.  out: *out_json. */
HV_API hv_status hv_case_find_duplicates(hv_engine *e, const char *input_json,
                                         char **out_json);

/* The case file as JSON (identification, child, family, concerns, consent,
 * stage, tasks, history).  HV_NOTFOUND for an unknown reference. */
HV_API hv_status hv_case_get_json(hv_engine *e, const char *ref,
                                  char **out_json);

/* A case's pseudonymous summary (ref, stage, status, source, assignee,
 * registered_at, version, urgency, risk_level, concerns, open_tasks [{kind,
 * label, due_at, status}]): no names, so not an audited read. */
HV_API hv_status hv_case_summary_json(hv_engine *e, const char *ref,
                                      char **out_json);

/* Filters for hv_case_list; NULL fields do not filter. */
typedef struct {
    const char *stage;
    const char *source;
    const char *concern;
    const char *assignee;
    int limit; /* 0: no limit */
} hv_case_filter;

/* Case summaries (ref, stage, source, assignee, registered_at, version,
 * concerns) as a JSON array, newest first. */
HV_API hv_status hv_case_list(hv_engine *e, const hv_case_filter *filter,
                              char **out_json);

/* Cases whose child's name matches text, honouring spelling variants
 * (soundex and a normalised spelling of each name part), as a JSON array of
 * summaries with the matched name. */
HV_API hv_status hv_case_search(hv_engine *e, const char *text,
                                char **out_json);

/* Adds a dated case note.  expected_version > 0 refuses the change with
 * HV_CONFLICT when the case's version differs (a stale copy);
 * 0 means "the current version".  out: *out_version the new version. */
HV_API hv_status hv_case_note(hv_engine *e, const char *ref, const char *text,
                              int64_t expected_version, int64_t *out_version);

/* The case's events, oldest first, as a JSON array. */
HV_API hv_status hv_case_history_json(hv_engine *e, const char *ref,
                                      char **out_json);

/*
 * The lifecycle steps of hv_case_step: the one list of step verbs, which
 * every front end (the command line, the Lua module, the REPL, scenarios)
 * takes from here.  XX(verb, synopsis of its key=value input, help text).
 */
#define HV_STEP_MAP(XX)                                                        \
    XX(assess,                                                                 \
       "kind=initial|comprehensive|reassessment safety=ok|concern|urgent ...", \
       "Record an assessment (seed 001: initial within 24-48 hours; the Best\n" \
       "Interests Assessment with elements.childs_views, .family_relationships,\n" \
       ".safe_environment, .development_identity, .strengths_resources).  Lists:\n" \
       "needs, risks, strengths, info_needed, sources, verified (comma-separated,\n" \
       "or needs.1=... for text with commas); summary.  Closes the assessment's\n" \
       "task, moves the case on and re-scores risk with risk.lua.")              \
    XX(plan,                                                                   \
       "goal=... indicators.1=... target_date=YYYY-MM-DD addresses.1=... "       \
       "actions.1.title=... actions.1.responsible=caseworker|child|family|provider " \
       "actions.1.type=direct_support|referral|coordination actions.1.due=YYYY-MM-DD", \
       "Make a case plan (a new version each time) with a SMART goal; a refused\n" \
       "plan names the missing SMART part.  Where the workflow asks, it waits for\n" \
       "a supervisor's approval; an approved plan schedules its actions, the\n" \
       "first follow-up (followup.lua) and the first review (review.lua).")       \
    XX(approve, "[note=...] [subject=plan|closure|transfer]",                  \
       "A supervisor approves what waits on the case (a plan, a closure or a\n" \
       "transfer); a manager may approve a closure or a transfer (seed 001:\n"  \
       "\"approval from a supervisor or manager\"), reading that case for the\n" \
       "purpose (audited).  Whoever asked does not approve.  subject= names\n"   \
       "the one decided when several wait.")                                    \
    XX(reject, "reason=... [subject=plan|closure|transfer]",                   \
       "A supervisor (or a manager, for a closure or a transfer) rejects what\n" \
       "waits on the case, with the reason; a rejected transfer leaves the\n"   \
       "case open here.")                                                       \
    XX(act, "action=N status=in_progress|done|dropped [reason=...]",           \
       "Update an action of the plan in force (dropping one needs a reason).")   \
    XX(refer,                                                                  \
       "service=CODE provider=NAME [action=N] [override=REASON] | "             \
       "referral=N status=accepted|declined|completed [outcome=...]",            \
       "Refer to a service, only with consent to share information on record\n" \
       "(a supervisor may override with a reason); then track the referral.")    \
    XX(conference, "participants=... decisions=... [at=DATE]",                 \
       "Record a case conference with its participants and decisions.")         \
    XX(followup, "method=CODE safety=ok|concern|urgent [notes=...] [at=DATE]",  \
       "Record a follow-up (home visit scheduled or unannounced, phone call,\n" \
       "meeting, provider check).  A concern re-scores risk; the next follow-up\n" \
       "is scheduled from followup.lua.  On a closed case: the final follow-up.") \
    XX(review, "outcome=continue|adjust_plan|plan_closure [notes=...]",         \
       "Review the plan; adjust_plan opens a new plan version.")                 \
    XX(evaluate,                                                               \
       "outcome=achieved|partly_achieved|not_achieved [indicators=...]",         \
       "Evaluate the plan's goal against its indicators (workflows with evaluation).") \
    XX(close, "reason=CODE [notes=...]",                                       \
       "Request closure with a reason; closure.lua must agree and a supervisor\n" \
       "approves where the workflow asks.  Closing schedules the final follow-up\n" \
       "and cancels every other task.")                                          \
    XX(reopen, "reason=...", "Reopen a closed case, back to assessment.")       \
    XX(transfer, "agency=NAME [reason=...] [override=REASON]",                 \
       "Request a transfer to another agency (needs consent for transfer given\n" \
       "by both, or a supervisor's override; closure.lua must agree).  Where the\n" \
       "workflow's closure asks approval, it waits for a supervisor or manager;\n" \
       "approved, the case closes here as transferred, with a final follow-up\n" \
       "with the receiving agency.")                                              \
    XX(assign, "to=LOGIN",                                                     \
       "Reassign the case and its open tasks to another caseworker.")            \
    XX(consent,                                                                \
       "scope=CODE given_by=child|caregiver|both|guardian | "                   \
       "scope=CODE withdraw=yes [reason=...]",                                   \
       "Record or withdraw consent for a scope (information_sharing, referral,\n" \
       "transfer, export).")                                                    \
    XX(update,                                                                 \
       "[child.name=...] [child.dob=YYYY-MM-DD|child.age=N] [child.sex=CODE] "  \
       "[location=...] [family.N.FIELD=...] [form.KEY=VALUE]",                   \
       "Change what was recorded at registration, on an open case: the child's\n" \
       "details, the location, family member N as the case file lists them\n"  \
       "(name, relationship, age, sex, lives_with_child=yes|no; N one past the\n" \
       "last adds a member, with a relationship) and form fields (form.KEY=\n" \
       "removes one).  The event names the fields changed (old -> new only for\n" \
       "codes, numbers and yes/no); a scored risk is scored again.")

/* One lifecycle step on a case, with its input as a JSON object:
 *   assess     kind (initial|comprehensive|reassessment), safety, needs,
 *              risks, strengths, info_needed, sources, verified, summary,
 *              elements {childs_views, family_relationships,
 *              safe_environment, development_identity, strengths_resources}
 *   plan       goal, indicators[], target_date, addresses[], actions[{title,
 *              responsible, provider, type, due}]
 *   approve    note | reject: reason; subject (plan|closure|transfer) when
 *              several wait (a supervisor; a manager for closure, transfer)
 *   act        action (number), status, reason
 *   refer      service, provider, action, override | referral, status, outcome
 *   conference at, participants[], decisions[]
 *   followup   method, safety (ok|concern|urgent), notes, at
 *   review     outcome (continue|adjust_plan|plan_closure), notes
 *   evaluate   outcome (achieved|partly_achieved|not_achieved), indicators[]
 *   close      reason, notes  | reopen: reason
 *   transfer   agency, reason, override
 *   assign     to (login)     | consent: scope, given_by, withdraw, reason
 *   update     child {name, dob, age, sex}, location, family {"N": {name,
 *              relationship, age, sex, lives_with_child}}, form {KEY:
 *              value, or null to remove}
 * The workflow decides what is allowed where; a refusal is HV_REFUSED (or
 * HV_INVALID for bad input, HV_DENIED for a missing role) and changes
 * nothing.  expected_version > 0 refuses a stale copy (HV_CONFLICT).
 * out: *out_json {ref, step, event, version, stage, status, ...}. */
HV_API hv_status hv_case_step(hv_engine *e, const char *ref, const char *step,
                              const char *input_json, int64_t expected_version,
                              char **out_json);

/* ---- Deadlines and users -------------------------------------------------- */

typedef struct {
    const char *login;   /* whose tasks (NULL: the acting user) */
    int team;            /* also the cases of the people login supervises */
    int agency;          /* every task of the agency */
    int overdue_only;    /* only what is late */
    int64_t within;      /* only what falls due within this many seconds */
} hv_due_filter;

/* Open tasks as a JSON array, overdue first, then by urgency and due time:
 * {ref, kind, label, due_at, overdue, late_by, urgency, assignee, stage,
 * risk}.  Supervisors also see approvals waiting for any supervisor. */
HV_API hv_status hv_task_list_due(hv_engine *e, const hv_due_filter *f,
                                  char **out_json);
/* How many open tasks the same filter lists (e.g. the agency's overdue
 * tasks), without listing them.  out: *out_count. */
HV_API hv_status hv_task_count_due(hv_engine *e, const hv_due_filter *f,
                                   int64_t *out_count);

/* Adds a user (the acting user must be an administrator). role: caseworker,
 * supervisor, manager, administrator, trainer; supervisor: a login or NULL. */
HV_API hv_status hv_user_add(hv_engine *e, const char *login, const char *role,
                             const char *supervisor);
/* Changes a user (an administrator only): active 1/0 (-1 unchanged), role
 * (NULL unchanged), supervisor login (NULL unchanged, "" none).  A disabled
 * user can no longer act. */
HV_API hv_status hv_user_update(hv_engine *e, const char *login, int active,
                                const char *role, const char *supervisor);
/* A consistent online copy of the database into a new file (mode 0600),
 * through SQLite's backup API; administrators only. */
HV_API hv_status hv_engine_backup(hv_engine *e, const char *path);
/* Erases a closed case's identifying data and narrative irrecoverably
 * (secure_delete; the WAL checkpointed), keeping its codes, stages, dates,
 * risk and audit events.  Administrators only, after the agency's
 * retention period (meta `retention` seconds; 7 years by default). */
HV_API hv_status hv_case_purge(hv_engine *e, const char *ref);
/* Users as a JSON array {login, role, supervisor, active, open_cases,
 * password (set or not), os_login (or null), sso (an OIDC identity mapped)}. */
HV_API hv_status hv_user_list(hv_engine *e, char **out_json);
/* ---- Authentication (the agency server, havend) ---------------------------
 * Token and enrolment times use the wall clock (time(NULL)), never the case
 * clock.  Every refusal is HV_FORBIDDEN (exit 77), recorded as an
 * `auth_refused` event (its reason code and `from`) in its own transaction;
 * no password, code, token or hash of one reaches an event or a message.
 * `from` is an address label ("127.0.0.1", "unix:uid=0") or NULL. */
#define HV_FORBIDDEN HV_DENIED
/* How long an enrolment code is valid (72 h). */
#define HV_ENROL_CODE_TTL (72 * 3600)
/* The minimum length of a password (bytes). */
#define HV_PASSWORD_MIN 10
/* Administrator: a one-time enrolment code for login (printed once; stored as
 * a hash; valid 72 h; issuing a new one voids the old).  *out_code is
 * "XXXX-XXXX-XXXX-XXXX" (malloc, hv_free).  Audited `user_enrol_code`. */
HV_API hv_status hv_user_enrol_code(hv_engine *e, const char *login, char **out_code);
/* Maps an OS login (peer credentials) or an OIDC identity ("ISSUER|SUBJECT"
 * or an e-mail, matched without case) to a Haven user: administrator only,
 * audited `user_mapped`.  Sets both: NULL clears one. */
HV_API hv_status hv_user_map(hv_engine *e, const char *login, const char *os_login,
                             const char *oidc_identity);
/* The user sets their password (>= HV_PASSWORD_MIN bytes) with their code:
 * Argon2id (crypto_pwhash_str).  The code is used up; the user's tokens are
 * revoked.  Audited `user_enrolled`. */
HV_API hv_status hv_auth_enrol(hv_engine *e, const char *login, const char *code,
                               const char *password, const char *from);
/* Password login -> a new bearer token (malloc, "hv1."+43 base64url chars)
 * stored only as a keyed hash, lifetime ttl_s and idle timeout idle_s;
 * *out_json = {"user","role","expires"}.  Wrong password / unknown /
 * disabled / locked (5 failures in 15 min per account): HV_FORBIDDEN,
 * audited `auth_refused` with a reason code.  Audited `auth_login`. */
HV_API hv_status hv_auth_login(hv_engine *e, const char *login, const char *password,
                               const char *from, int64_t ttl_s, int64_t idle_s,
                               char **out_token, char **out_json);
/* Resolves a bearer token: HV_OK and *out_login (malloc), or HV_FORBIDDEN
 * (expired, idle, revoked, unknown/forged, user disabled), audited. */
HV_API hv_status hv_auth_token(hv_engine *e, const char *token, const char *from,
                               char **out_login);
/* Revokes the token (audited `auth_logout`); HV_FORBIDDEN for a token that
 * is not a live one. */
HV_API hv_status hv_auth_logout(hv_engine *e, const char *token);
/* Peer credentials / verified OIDC identity -> Haven user (an active one),
 * or HV_FORBIDDEN audited (unmapped_peer, unknown_oidc, disabled_user). */
HV_API hv_status hv_auth_os_login(hv_engine *e, const char *os_login, const char *from,
                                  char **out_login);
HV_API hv_status hv_auth_oidc(hv_engine *e, const char *issuer, const char *subject,
                              const char *email, const char *from, char **out_login);
/* Records a refusal decided outside the engine (bad JWT, rate limit, forged
 * token): reason is a short code ([a-z_], at most 40). */
HV_API hv_status hv_auth_refused(hv_engine *e, const char *reason, const char *from);

/* Records that the acting user is about to run code outside the sandbox
 * through front_end (a short fixed label such as "repl --unsafe"): an
 * administrator only, recorded as an `unsafe_session` event; anyone else is
 * refused with HV_DENIED (one line naming the role) and the refusal is
 * recorded as `access_refused`.  Call it before handing over. */
HV_API hv_status hv_engine_record_unsafe(hv_engine *e, const char *front_end);

/* Why the case is where it is: every rule decision recorded on the case
 * (hook, pack name, version, content hash, the result with its reasons or
 * factors), oldest first, as a JSON array. */
HV_API hv_status hv_case_explain_json(hv_engine *e, const char *ref,
                                      char **out_json);

/* ---- Rule packs ---------------------------------------------------------- */

/* Loads every hook of the pack in dir and runs it against built-in sample
 * cases, checking each result against its contract; prints each problem
 * as "FILE:LINE: message (sample: ...)" to out.  HV_OK with *problems 0
 * when all is well; a pack that does not load is HV_INVALID with *err. */
HV_API hv_status hv_rules_check_dir(const char *dir, FILE *out, int *problems,
                                    char **err);
/* Runs the pack's tests (dir/tests/ *.lua), a line per test and the closing
 * "N passed, N failed" to out. */
HV_API hv_status hv_rules_test_dir(const char *dir, FILE *out, int *passed,
                                   int *failed, char **err);
/* hv_rules_test_dir where the tests' synthetic cases must use the codes of
 * the workflow file `workflow` (concerns, sources, ...) as register does;
 * NULL: only register's fallback codes (sexes, consent givers).  Every
 * case's members are checked against the case view either way. */
HV_API hv_status hv_rules_test_dir_wf(const char *dir, const char *workflow,
                                      FILE *out, int *passed, int *failed,
                                      char **err);
/* Reloads the engine's rule pack from dir (NULL: the folder recorded at
 * init or the last reload).  A pack that fails to load leaves the pack in
 * force as it is and says why.  out: *out_json {name, version, hash,
 * changed}. */
HV_API hv_status hv_rules_reload(hv_engine *e, const char *dir,
                                 char **out_json);

/* ---- The audit trail ---------------------------------------------------- */

/* Walks the events' keyed hash chain and its anchor, and checks it
 * against the signed checkpoints every change appends to
 * "<db>.checkpoints"; HV_INVALID naming the first bad entry (changed,
 * deleted, reordered, inserted, a moved start or a cut tail) or
 * checkpoint; HV_DENIED when the chain key (the data key's file or
 * passphrase) is not here: the chain cannot be checked; HV_NOINPUT when
 * the checkpoints file or the audit key is missing (with a checkpoint
 * given, a missing file is allowed).  With a checkpoint (the JSON of
 * hv_audit_checkpoint, kept elsewhere), also detects a database restored
 * to an older state or rewritten after it.  out: *out_json {ok, entries,
 * legacy_entries, head_seq, head_hash, keyed_from, checkpoints,
 * checkpoint_seq, checkpoint}. */
HV_API hv_status hv_audit_verify(hv_engine *e, const char *checkpoint_json,
                                 char **out_json);
/* hv_audit_verify, then every case's rows against the digest its last
 * event recorded: HV_INVALID naming (by reference) every case whose rows
 * changed outside Haven.  out: as hv_audit_verify, with deep: {cases,
 * checked, unchecked (last event from before schema 10), mismatched}. */
HV_API hv_status hv_audit_verify_deep(hv_engine *e, const char *checkpoint_json,
                                      char **out_json);
/* A signed head of the chain {seq, hash, at, public_key, signature} (Ed25519,
 * the key in "<db>.audit-key", made at init, outside the database). */
HV_API hv_status hv_audit_checkpoint(hv_engine *e, char **out_json);
/* The events (seq, at, user, role, os_user: the OS account that ran the
 * command, ref, action; no case content) for supervisors, managers and
 * administrators; ref/user NULL: all. */
HV_API hv_status hv_audit_log(hv_engine *e, const char *ref, const char *user,
                              hv_time since, char **out_json);

/* ---- Export and import ---------------------------------------------------- */

/* What hv_export writes (see README, "Export and import"). */
typedef struct {
    const char *format;   /* "csv" or "json" */
    const char *out_path; /* json: the file (NULL: written to `out` once
                           * complete); csv: a directory (made if missing),
                           * one file per table */
    FILE *out;            /* json without out_path (e.g. stdout) */
    int pseudonymous;     /* no names, dates of birth, locations below the
                           * district, or free text; age bands instead */
    hv_time since;        /* > 0: only cases registered or changed since */
    const char *override; /* a supervisor's reason code: also the cases
                           * without export consent (identifiable only) */
} hv_export_options;

/* Exports the cases in the acting user's scope (caseworkers their own,
 * supervisors also their team's, managers every case but pseudonymously
 * only; administrators and trainers none).  An identifiable export needs
 * the data key and leaves out (and counts) the cases without unwithdrawn
 * consent for `export` or `information_sharing`, unless a supervisor gives
 * an override.  Files are written whole (mode 0600, a temporary file
 * renamed) or not at all; the export is audited (an `exported` event, and
 * for identifiable exports a `viewed` event per case).
 * out: *out_json {format, identifiable, cases, left_out_without_consent,
 * overridden, files}. */
HV_API hv_status hv_export(hv_engine *e, const hv_export_options *o,
                           char **out_json);

/* What hv_import reads. */
typedef struct {
    const char *format; /* "csv" (registrations, one per row) or "json" (a
                         * Haven JSON export: whole case histories) */
    const char *path;   /* the file */
    int skip_bad;       /* commit the good rows even if some are rejected */
    FILE *in;           /* not NULL: read this stream (the caller's; path
                         * only names it in messages), not the file */
} hv_import_options;

/* Imports a file in one transaction: every row or case is validated on its
 * own (CSV rows are registrations through hv_case_register); when any is
 * rejected, nothing is written unless skip_bad.  HV_OK when nothing was
 * rejected, or skip_bad was given; HV_REFUSED when rows were rejected (and
 * nothing written); HV_INVALID for a file that is not CSV/JSON at all;
 * HV_NOINPUT for a missing file.  out: *out_json (also on HV_REFUSED)
 * {format, rows, imported, rejected: [{row, field, why}], committed,
 * refs}. */
HV_API hv_status hv_import(hv_engine *e, const hv_import_options *o,
                           char **out_json);

/* ---- Reports -------------------------------------------------------------- */

/* What a caseload report covers.  since/until (0: open-ended) bound the
 * period [since, until) of the registrations, closures, durations, closure
 * reasons and monthly series; caseworker (a login, or NULL) narrows the
 * report to that caseworker's cases within the caller's scope. */
typedef struct {
    hv_time since, until;
    const char *caseworker;
    int compact; /* the JSON on one line: an eighth of the indented text,
                  * for a caller that parses it rather than shows it */
} hv_report_options;

/* The caseload report of the acting user's scope (a caseworker: their
 * cases; a supervisor: their team's; a manager: the agency's) as JSON:
 * open cases by stage, risk and urgency; overdue and due-this-week tasks by
 * kind and caseworker; approvals pending; follow-up compliance; median and
 * 90th-percentile days to the initial assessment, the approved plan and
 * closure; closure reasons; registrations and closures per month (see
 * README, "Reports").  Aggregates only: no names or other identifying data.
 * Administrators and trainers are refused (HV_DENIED); --caseworker outside
 * the scope is HV_DENIED, an unknown one HV_NOTFOUND.  Writes nothing.
 * out: *out_json. */
HV_API hv_status hv_report_json(hv_engine *e, const hv_report_options *o,
                                char **out_json);

/* ---- Dry runs of rule changes ------------------------------------------- */

/* Which decisions hv_rules_diff compares (bit mask; 0 = all). */
#define HV_DIFF_RISK 1u     /* risk.lua on every open case */
#define HV_DIFF_FOLLOWUP 2u /* followup.lua where a follow-up is scheduled */
#define HV_DIFF_REVIEW 4u   /* review.lua where a review is scheduled */
#define HV_DIFF_CLOSURE 8u  /* closure.lua where closure waits for approval */
#define HV_DIFF_ALL 15u

/* Receives each changed case as compact JSON (borrowed for the call). */
typedef void (*hv_rules_diff_fn)(void *ud, const char *case_json);

typedef struct {
    unsigned hooks;            /* HV_DIFF_... mask; 0 = all */
    hv_rules_diff_fn on_change; /* NULL: changed cases go into "changed"
                                 * (memory grows with them; on a large
                                 * caseload stream them here instead) */
    void *ud;
    int full; /* run the rules even when the new pack is the one in force
               * (to time them, or to find the cases the pack in force errs
               * on); 0: such a diff is answered from the digest */
} hv_rules_diff_options;

/* Evaluates every open case in the acting user's scope (caseworkers their
 * own, supervisors their team's, managers and administrators all) under
 * the pack in force and under the pack in new_pack_dir (NULL: the pack in
 * force against itself), and reports the cases whose decision would
 * change.  Writes nothing at all (one read transaction, no audit event).
 * A rule error on a case does not stop the diff: it is listed in "errors"
 * (ref, hook, pack old/new, "FILE:LINE: message") and the call still
 * returns HV_OK.  A new pack that does not load: HV_INVALID with
 * "FILE:LINE: ...".  out: *out_json {old:{name,version,hash}, new:{...},
 * cases_evaluated, cases_changed, counts:{risk_up, risk_down,
 * risk_score_up, risk_score_down, followup_more_often,
 * followup_less_often, followup_method_changed, review_more_often,
 * review_less_often, closure_now_allowed, closure_now_refused,
 * closure_final_followup_changed} (only kinds seen), errors_total, errors,
 * changed:[{ref, risk:{old,new}, followup:{old,new,due:{now,new}},
 * review:{old,new,due:{now,new}}, closure:{old,new,reason}}]} where old
 * and new are the hooks' results (with their reasons or factors).  The
 * same pack as the one in force (the same SHA-256 of its files) is
 * answered without running the rules: every open case in scope counted,
 * none changed, no errors looked for, and "answered_from": "digest". */
HV_API hv_status hv_rules_diff(hv_engine *e, const char *new_pack_dir,
                               const hv_rules_diff_options *o, char **out_json);
/* Administrators only.  In one transaction: stores the pack in
 * new_pack_dir as the pack in force (as hv_rules_reload), and for every
 * open case whose decision changes sets the new risk (where a risk was
 * scored), moves the open follow-up and review tasks to their creation
 * time plus the new interval, and appends one "rules_applied" event citing
 * both packs (name, version, hash) with the new decisions.  A rule error
 * on any case refuses the whole change (HV_REFUSED naming the case, the
 * hook and FILE:LINE); nothing is changed.  out: *out_json {name,
 * version, hash, changed, cases_evaluated, cases_changed}. */
HV_API hv_status hv_rules_apply(hv_engine *e, const char *new_pack_dir,
                                char **out_json);

/* ---- Workflows ---------------------------------------------------------- */

typedef struct hv_workflow hv_workflow;

/* Loads and validates a workflow file.  On failure *err holds
 * "FILE:LINE:COLUMN: message" (free with hv_free). */
HV_API hv_status hv_workflow_load_file(const char *path, hv_workflow **out,
                                       char **err);
/* The same from text in memory; name is used in messages. */
HV_API hv_status hv_workflow_load_string(const char *text, size_t len,
                                         const char *name, hv_workflow **out,
                                         char **err);
HV_API void hv_workflow_free(hv_workflow *wf);
HV_API const char *hv_workflow_id(const hv_workflow *wf);
HV_API const char *hv_workflow_name(const hv_workflow *wf);
HV_API int hv_workflow_version(const hv_workflow *wf);
HV_API size_t hv_workflow_stage_count(const hv_workflow *wf);

/* The workflow the engine's database was initialised with (borrowed). */
HV_API const hv_workflow *hv_engine_workflow(const hv_engine *e);
/* The acting user's login (borrowed). */
HV_API const char *hv_engine_actor(const hv_engine *e);
/* 1 if s[0..n) has the shape of this database's case references (its
 * reference pattern for its agency, any year and number), else 0. */
HV_API int hv_engine_is_reference(const hv_engine *e, const char *s, size_t n);
/* The workflow's lookups: their number, names, and codes (borrowed). */
HV_API size_t hv_workflow_lookup_count(const hv_workflow *wf);
HV_API const char *hv_workflow_lookup_name(const hv_workflow *wf, size_t i);
HV_API const char *const *hv_workflow_lookup_codes(const hv_workflow *wf,
                                                    size_t i, size_t *count);
/* The stage ids and labels (borrowed), i < hv_workflow_stage_count. */
HV_API const char *hv_workflow_stage_id(const hv_workflow *wf, size_t i);
HV_API const char *hv_workflow_stage_label(const hv_workflow *wf, size_t i);

typedef enum { HV_GRAPH_DOT, HV_GRAPH_MERMAID } hv_graph_format;
/* The workflow's stages and transitions as Graphviz DOT or Mermaid. */
HV_API hv_status hv_workflow_graph(const hv_workflow *wf, hv_graph_format fmt,
                                   char **out_text);

/* ---- Lua <-> JSON, for the Lua module (bindings/lua) ----------------------
 * The engine's one conversion between Lua values and JSON, so the module
 * reads and passes the engine's JSON exactly as the rules host does.  Only
 * a forward declaration of lua_State here: include lua.h yourself. */
struct lua_State;

/* Pushes the JSON text json[0..len) onto L as plain Lua values: objects
 * and arrays as fresh tables (arrays from 1; members that are JSON null
 * left out), integers as Lua integers, other numbers as floats, null as
 * nil.  Returns 1; on NULL or text that is not JSON pushes nil and returns
 * 0.  Raises a Lua error on memory or stack exhaustion, as the Lua API does. */
HV_API int hv_lua_push_json(struct lua_State *L, const char *json, size_t len);

/* The Lua value at idx as compact JSON text: nil, booleans, finite numbers,
 * UTF-8 strings, and tables (a sequence as an array, string keys as an
 * object, a read-only table of the engine's as what it stands for) at most
 * max_depth tables deep (the outermost is the first), read without running
 * any metamethod.
 * out: *out_json, the caller's to free with hv_free (NULL on failure).
 * Returns HV_OK; HV_INVALID with *why (static text, never to free) saying
 * what is not plain data; HV_NOMEM with *why NULL when memory ran out. */
HV_API hv_status hv_lua_to_json(struct lua_State *L, int idx, int max_depth,
                                char **out_json, const char **why);

/* ---- Offline work: devices, sync and the conflict queue ------------------
 *
 * A laptop works offline on its own SQLite copy of its user's caseload and
 * syncs through the agency server (README, "Offline work").  The laptop
 * records every engine call that changes a case (hv_case_register,
 * hv_case_step, hv_case_note) in its outbox, chained and keyed with the
 * device's secret; the server replays each one through the same call as
 * the authenticated user, at the laptop's original time, and queues a
 * change whose case changed on the server since the laptop's copy (or that
 * the engine now refuses) for the case's supervisor, never merging it.
 */

/* Server side.  An administrator enrols a device for one user: out:
 * *out_code, a one-time code (valid 72 hours) the laptop gives on its first
 * sync, for hv_free.  name: [a-z0-9][a-z0-9-]{0,31}. */
HV_API hv_status hv_device_enrol(hv_engine *e, const char *name,
                                 const char *login, char **out_code);
/* An administrator revokes a device: its next sync is refused (HV_DENIED)
 * and told to wipe its copy's key. */
HV_API hv_status hv_device_revoke(hv_engine *e, const char *name);
/* An administrator's list of devices as a JSON array of {name, user,
 * status, enrolled_at, revoked_at, last_seq, last_sync_at}. */
HV_API hv_status hv_device_list(hv_engine *e, char **out_json);

/* Answers one sync request of a laptop (the JSON messages of README,
 * "Offline work": op enrol, checkout or upload) as the acting user, who
 * must be the device's user.  out: *out_json the answer, also on a refusal
 * that has one (a revoked device, versions that differ); for hv_free. */
HV_API hv_status hv_sync_serve(hv_engine *e, const char *request_json,
                               char **out_json);

/* The conflict queue in the acting user's scope (a supervisor: their
 * team's cases; a caseworker: their own; a manager: the agency's) as a JSON
 * array: {id, ref, device, user, reason, created_at, status, base_version,
 * server_version, ours: [the refused changes, whole], theirs: [the events
 * of the case since base_version]}.  flags: HV_CONFLICTS_OPEN, only the
 * unresolved ones; HV_CONFLICTS_HEADERS, ours without the changes' input
 * (which changes: seq, time, kind, ref, step) and theirs null, so nothing
 * is audited as viewed (what `due` shows).  Reading the refused changes identifiably is audited (a
 * `viewed` event on the case per conflict). */
#define HV_CONFLICTS_OPEN 1
#define HV_CONFLICTS_HEADERS 2
/* Only the conflicts the caller decides as their team's supervisor (none
 * for another role): what a supervisor's `due` lists. */
#define HV_CONFLICTS_TO_DECIDE 4
HV_API hv_status hv_conflict_list(hv_engine *e, int flags, char **out_json);
/* A supervisor resolves conflict id: how "theirs" (keep the server's case,
 * drop the laptop's change), "ours" (apply the refused changes now, through
 * the engine, on the current case) or "merged" (the supervisor already
 * recorded the merge by hand).  An audited event on the case either way.
 * out: *out_json {id, ref, resolution, applied}. */
HV_API hv_status hv_conflict_resolve(hv_engine *e, int64_t id, const char *how,
                                     const char *note, char **out_json);

/* Laptop side.  Builds the laptop copy at path (which must not exist) from
 * a checkout answer of hv_sync_serve, encrypted under the device key it
 * carries; carry_from (NULL: none) names the copy it replaces, whose unsent
 * outbox, device secret and chain head are carried over.  The file is
 * built beside path and renamed into place whole.  *err for hv_free. */
HV_API hv_status hv_device_build(const char *path, const char *checkout_json,
                                 const char *carry_from, char **err);
/* A laptop copy's next sync request (op: upload or checkout) as JSON, with
 * its unsent outbox entries; op "status": what the copy knows of its
 * device, nothing secret ({op, device, user, server, last_seq, head,
 * acked, unsent}).  HV_USAGE when e is not a laptop copy.  checkout_json
 * of hv_device_build may carry "secret" (the enrol answer's; needed when
 * nothing is carried) and "server" (the URL to remember). */
HV_API hv_status hv_device_request(hv_engine *e, const char *op, char **out_json);
/* Records the server's answer to an upload: marks the entries it received
 * as sent.  HV_INVALID when the answer does not match the outbox. */
HV_API hv_status hv_device_ack(hv_engine *e, const char *answer_json);
/* Wipes a revoked laptop copy's key (its key file), so nothing in it can be
 * read again. */
HV_API hv_status hv_device_wipe(const char *path, char **err);
/* The fault points of a laptop's sync (README, "Offline work"): the
 * process is killed there when $HAVEN_FAULT names point.  Tests only. */
HV_API void hv_device_fault(const char *point);

#ifdef __cplusplus
}
#endif
#endif /* HAVEN_H */
