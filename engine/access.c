/*
 * access.c - need-to-know (issue: confidentiality).  The acting user must
 * exist and be active.  A caseworker reaches the cases assigned to them; a
 * supervisor those of the caseworkers they supervise and their own; a
 * manager sees pseudonymous lists and counts but no case file; an
 * administrator manages users and configuration and reads no case content;
 * a trainer works only in scenario databases.  A case outside the caller's
 * scope is "not found", exactly like a case that does not exist, and the
 * refusal is audited (hv__case_refused; the decision itself is the call
 * context's, context.c).
 */
#include <string.h>

#include "access.h"
#include "alloc.h"
#include "store.h"
#include "error.h"
#include "events.h"

/* Looks the acting user up: e->who inside a call context, else the users
 * table.  Returns HV_OK with *user_id and role set, HV_NOTFOUND (no
 * message) when e->actor is no active user here, or the query's failure.
 * out: *user_id (0 unless found), role ("" unless found). */
static hv_status lookup_actor(hv_engine *e, int64_t *user_id, char *role,
                              size_t size)
{
    *user_id = 0;
    role[0] = '\0';
    if (e->who.known) {
        *user_id = e->who.user_id;
        snprintf(role, size, "%s", e->who.role);
        return HV_OK;
    }
    sqlite3_stmt *st = NULL;
    hv_status s = hv__store_preparef(e, &st,
                                     "SELECT id, role FROM users WHERE login"
                                     " = ?1 AND active = 1",
                                     "t", e->actor);
    if (s)
        return s;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *user_id = sqlite3_column_int64(st, 0);
        snprintf(role, size, "%s", sqlite3_column_text(st, 1));
    }
    hv__store_finalize(e, st);
    if (rc == SQLITE_ROW)
        return HV_OK;
    if (rc != SQLITE_DONE)
        return hv__sql_fail(e, rc, "looking up the acting user");
    return HV_NOTFOUND;
}

hv_status hv__actor(hv_engine *e, int64_t *user_id, char *role, size_t size)
{
    hv_status s = lookup_actor(e, user_id, role, size);
    if (s != HV_NOTFOUND)
        return s;
    return hv__fail(e, HV_DENIED,
                    "%s: no such active user here (an "
                    "administrator adds users with 'haven user "
                    "add')",
                    hv__echo_safe(e->actor) ? e->actor : "the acting user");
}

hv_status hv__actor_role(hv_engine *e, char *role, size_t size)
{
    int64_t user_id;
    hv_status s = lookup_actor(e, &user_id, role, size);
    return s == HV_NOTFOUND ? HV_OK : s;
}

hv_status hv__begin_admin(hv_engine *e, const char *refusal)
{
    char mine[32];
    hv_status s = hv__store_begin(e);
    if (s == HV_OK &&
        (s = hv__require_role(e, "administrator", refusal, mine, sizeof mine)))
        hv__store_rollback(e);
    return s;
}

hv_status hv__require_role(hv_engine *e, const char *roles, const char *refusal,
                           char *role, size_t size)
{
    hv_status s = hv__actor_role(e, role, size);
    if (s)
        return s;
    size_t n = strlen(role);
    for (const char *w = roles; n && (w = strstr(w, role)); w += n)
        if ((w == roles || w[-1] == ' ') && (w[n] == ' ' || !w[n]))
            return HV_OK;
    return hv__fail(e, HV_DENIED, "%s (%s is %s)", refusal,
                    hv__echo_safe(e->actor) ? e->actor : "the acting user",
                    role[0] ? role : "not a user here");
}

int hv__role_reads_cases(const char *role)
{
    return !strcmp(role, "caseworker") || !strcmp(role, "supervisor");
}

hv_status hv__audit_event(hv_engine *e, int64_t case_id, const char *kind,
                          json_t *data)
{
    hv_status s = hv__not_in_batch(e, kind);
    if (s || (s = hv__store_begin(e)))
        return s;
    if ((s = hv__store_append_event(e, case_id, kind, data, NULL)) == HV_OK)
        return hv__store_commit(e);
    hv__store_rollback(e);
    return s;
}

/* The access_refused audit record's data (a new reference, NULL when out
 * of memory). */
static json_t *refusal_data(const char *action)
{
    return json_pack("{s:s,s:s}", "action", action, "why",
                     "outside the user's cases");
}

hv_status hv__case_refused(hv_engine *e, int64_t case_id, const char *ref,
                           const char *action, int in_transaction)
{
    if (case_id && !in_transaction) {
        json_t *data = refusal_data(action);
        hv__audit_event(e, case_id, "access_refused", data);
        json_decref(data);
    }
    if (case_id && in_transaction)
        e->refused_case = case_id;
    return hv__no_such_case(e, ref);
}

void hv__audit_pending_refusal(hv_engine *e, const char *action)
{
    if (!e->refused_case)
        return;
    json_t *data = refusal_data(action);
    char *keep = hv__strdup(e->errmsg);
    hv__audit_event(e, e->refused_case, "access_refused", data);
    json_decref(data);
    if (keep) {
        hv__free(e->errmsg);
        e->errmsg = keep;
    }
    e->refused_case = 0;
}

hv_status hv__registrar(hv_engine *e, const char *action, int64_t *user_id)
{
    char role[32];
    hv_status s = hv__actor(e, user_id, role, sizeof role);
    if (s)
        return s;
    if (!hv__role_reads_cases(role))
        return hv__fail(e, HV_DENIED,
                        "%s: caseworkers and supervisors "
                        "register children (%s is %s)",
                        action,
                        hv__echo_safe(e->actor) ? e->actor : "the acting user",
                        role);
    return HV_OK;
}

hv_status hv__list_scope(hv_engine *e, int admin_all, int *all, int64_t *me,
                         int *supervisor)
{
    char role[32];
    hv_status s = hv__actor(e, me, role, sizeof role);
    *all = *supervisor = 0;
    if (s)
        return s;
    if (!strcmp(role, "manager") ||
        (admin_all && !strcmp(role, "administrator"))) {
        *all = 1; /* pseudonymous lists and counts of the agency */
        return HV_OK;
    }
    if (!hv__role_reads_cases(role))
        return hv__fail(e, HV_DENIED, "a%s %s reads no case lists",
                        role[0] == 'a' ? "n" : "", role);
    *supervisor = !strcmp(role, "supervisor");
    return HV_OK;
}

hv_status hv__scope_user(hv_engine *e, const char *what, const char *login,
                         const char *role, const char *reach, int all,
                         int64_t me, int sup, int64_t *id)
{
    int64_t supervisor = 0;
    sqlite3_stmt *st = NULL;
    *id = 0;
    hv_status s = hv__store_preparef(e, &st, "SELECT id, coalesce(supervisor_id,"
                                     " 0) FROM users WHERE login = ?1",
                                     "t", login);
    if (s)
        return s;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        supervisor = sqlite3_column_int64(st, 1);
    }
    hv__store_finalize(e, st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return hv__sql_fail(e, rc, what);
    const char *who = hv__echo_safe(login) ? login : "the login given";
    if (!*id)
        return hv__fail(e, HV_NOTFOUND, "%s %s: no such user", what, who);
    if (!all && *id != me && !(sup && supervisor == me)) {
        *id = 0;
        return hv__fail(e, HV_DENIED, "%s %s: outside your scope (a %s %s)",
                        what, who, role, reach);
    }
    return HV_OK;
}
