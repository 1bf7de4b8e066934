/*
 * access.h - need-to-know: who the acting user is, what their role lets
 * them reach, and the audit records of refusals (internal).
 *
 * The acting user must exist and be active.  Within a call context
 * (context.h) the user is resolved once and kept on e->who; these
 * functions then answer from there instead of asking the users table.
 */
#ifndef HV_ACCESS_H
#define HV_ACCESS_H

#include <jansson.h>

#include "engine.h"

/* The acting user (must exist and be active; HV_DENIED otherwise, naming
 * how users are added).  Inside a call context it is e->who, with no
 * query.  out: *user_id (0 on failure), role (NUL-terminated, "" on
 * failure; size bytes). */
hv_status hv__actor(hv_engine *e, int64_t *user_id, char *role, size_t size);
/* The acting user's role into role ("" if they are not an active user
 * here, which is not an error).  HV_OK unless the query fails. */
hv_status hv__actor_role(hv_engine *e, char *role, size_t size);
/* Refuses (HV_DENIED, "<refusal> (<actor> is <role>)") unless the acting
 * user's role is one of the space-separated words in roles.
 * out: role, the acting user's role ("" when not a user here). */
hv_status hv__require_role(hv_engine *e, const char *roles, const char *refusal,
                           char *role, size_t size);
/* Opens the change of an administrator's call (users.c, auth.c): the
 * transaction, then the acting user's role checked (refusal: the message
 * if not an administrator).  On failure nothing is left open. */
hv_status hv__begin_admin(hv_engine *e, const char *refusal);
/* 1 for the roles that read case files (caseworker, supervisor). */
int hv__role_reads_cases(const char *role);
/* The acting user if their role registers children (caseworkers and
 * supervisors); HV_DENIED "<action>: caseworkers and supervisors register
 * children (<login> is <role>)" otherwise.  out: *user_id. */
hv_status hv__registrar(hv_engine *e, const char *action, int64_t *user_id);
/* The one refusal of a case the acting user may not reach (or that does
 * not exist, case_id 0): HV_NOTFOUND "<ref>: no such case", the same
 * either way.  An existing case's refusal is audited (access_refused,
 * naming action): at once, or, when in_transaction, by
 * hv__audit_pending_refusal after the caller's rollback. */
hv_status hv__case_refused(hv_engine *e, int64_t case_id, const char *ref,
                           const char *action, int in_transaction);
/* Audits the refusal hv__case_refused left pending (if any) in its own
 * transaction, keeping the last message; clears it. */
void hv__audit_pending_refusal(hv_engine *e, const char *action);
/* Appends an audit event (data may be NULL; stays the caller's) in its own
 * transaction; HV_USAGE inside a batch. */
hv_status hv__audit_event(hv_engine *e, int64_t case_id, const char *kind,
                          json_t *data);
/* The acting user's scope for lists, as bind values for
 * "(?A = 1 OR c.assignee_id = ?M OR (?S = 1 AND a.supervisor_id = ?M))":
 * everything (managers, and administrators when admin_all: *all), or
 * their own cases and (supervisors: *supervisor) their team's.  HV_DENIED
 * for roles that read no lists.
 * out: *all, *me (the user's id), *supervisor. */
hv_status hv__list_scope(hv_engine *e, int admin_all, int *all, int64_t *me,
                         int *supervisor);

/* The user login, named by an option (what: "report: --caseworker"), as
 * the caller's scope reaches it (all: the agency; sup: the caller's team
 * and themself; else the caller alone).  out: *id.  HV_NOTFOUND for an
 * unknown login, HV_DENIED outside the scope ("a ROLE REACH", e.g.
 * "reports on their team"); the login is echoed only if hv__echo_safe. */
hv_status hv__scope_user(hv_engine *e, const char *what, const char *login,
                         const char *role, const char *reach, int all,
                         int64_t me, int sup, int64_t *id);

#endif
