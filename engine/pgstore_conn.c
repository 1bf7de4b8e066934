/* pgstore_conn.c - PostgreSQL URLs and connections (pgstore.h). */
#include "pgstore.h"

#include "pqlib.h"
#include <stdio.h>
#include <string.h>

#include "alloc.h"


char *hv__pg_display(const char *url)
{
    /* scheme://[user[:password]@]host...: drop ":password" */
    const char *auth = strstr(url, "://");
    auth = auth ? auth + 3 : url;
    const char *at = strchr(auth, '@'), *slash = strchr(auth, '/');
    if (slash && at && at > slash)
        at = NULL;
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    char *out = hv__strdup(url);
    if (!out)
        return NULL;
    if (colon) {
        size_t head = (size_t)(colon - url);
        memmove(out + head, out + (at - url), strlen(at) + 1);
    }
    /* and any password=... parameter (a query string's, or a key=value one) */
    char *pw;
    while ((pw = strstr(out, "password=")) != NULL) {
        char *end = strpbrk(pw, "& ");
        if (end)
            memmove(pw, end + 1, strlen(end + 1) + 1);
        else
            pw[pw > out && (pw[-1] == '?' || pw[-1] == '&' || pw[-1] == ' ') ? -1 : 0] = '\0';
    }
    return out;
}

/* Haven's session settings on a new (or reset) connection: 0, or -1. */
static int session(PGconn *conn, int busy_ms)
{
    char set[160];
    snprintf(set, sizeof set, "SET client_encoding = 'UTF8'; SET TimeZone = 'UTC';"
             " SET lock_timeout = %d; SET client_min_messages = warning",
             busy_ms > 0 ? busy_ms : 1);
    PGresult *res = PQexec(conn, set);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok ? 0 : -1;
}

hv_status hv__pg_connect(const char *url, int busy_ms, PGconn **out, char **err)
{
    /* Defaults the URL may override (its values come after): a server
     * that does not answer (its machine gone) is given up in seconds, not
     * minutes, so that a failover is found (pgstore.h, hv__pg_reset). */
    static const char *const keys[] = {"connect_timeout", "keepalives_idle",
                                       "keepalives_interval", "keepalives_count",
                                       "tcp_user_timeout", "dbname", NULL};
    const char *values[] = {"10", "30", "10", "3", "30000", url, NULL};
    /* libpq itself is opened now, the first time (pqlib.h) */
    hv_status loaded = hv__pq_load(err);
    if (loaded != HV_OK)
        return loaded;
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    char *shown = hv__pg_display(url);
    if (PQstatus(conn) != CONNECTION_OK) {
        /* libpq's message names the host and the reason, never the password */
        const char *why = PQerrorMessage(conn);
        size_t len = strcspn(why, "\n");
        *err = hv__asprintf("%s: cannot connect: %.*s", shown ? shown : "postgresql",
                            (int)len, why);
        hv__free(shown);
        PQfinish(conn);
        return HV_BUSY;
    }
    hv__free(shown);
    if (session(conn, busy_ms)) {
        *err = hv__asprintf("cannot set up the PostgreSQL session");
        PQfinish(conn);
        return HV_BUSY;
    }
    *out = conn;
    return HV_OK;
}

int hv__pg_reset(PGconn *conn, int busy_ms, char *why, size_t size)
{
    /* PQreset connects again with the same parameters: a URL listing a
     * primary and its standbys with target_session_attrs=read-write finds
     * whichever of them now accepts writes. */
    PQreset(conn);
    if (PQstatus(conn) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(conn);
        snprintf(why, size, "%.*s", (int)strcspn(msg, "\n"), msg);
        return -1;
    }
    if (session(conn, busy_ms)) {
        snprintf(why, size, "cannot set up the session");
        return -1;
    }
    return 0;
}

int hv__pg_code(PGconn *conn, const PGresult *res, int *lost)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    /* the connection is gone: libpq says so, or the server (08: connection
     * exception; 57P0x: shut down, terminated, starting up; 25006: a
     * read-only standby answered, so this is no longer the primary) */
    *lost = PQstatus(conn) != CONNECTION_OK ||
            (state && (!strncmp(state, "08", 2) || !strncmp(state, "57P", 3) ||
                       !strcmp(state, "25006")));
    if (*lost)
        return SQLITE_BUSY;
    if (!state)
        return SQLITE_ERROR;
    if (!strncmp(state, "23", 2))
        return SQLITE_CONSTRAINT;
    if (!strcmp(state, "40001") || !strcmp(state, "40P01") ||
        !strcmp(state, "55P03") || !strcmp(state, "57014"))
        return SQLITE_BUSY;
    if (!strcmp(state, "53100"))
        return SQLITE_FULL;
    return SQLITE_ERROR;
}

int hv__pg_retryable(const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return state && (!strcmp(state, "40001") || !strcmp(state, "40P01"));
}

char *hv__pg_message(PGconn *conn, const PGresult *res, int lost)
{
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (lost)
        return sqlite3_mprintf("PostgreSQL: the connection to the server was lost%s; "
                               "the change (if any) was not saved; try again",
                               PQstatus(conn) == CONNECTION_OK ? " (it is read-only now)" : "");
    if (state && !strcmp(state, "55P03"))
        return sqlite3_mprintf("PostgreSQL: the store is locked by another writer "
                               "(waited too long); try again");
    if (msg && state && !strncmp(state, "22", 2))
        msg = "a value does not fit its column"; /* the primary text quotes it */
    if (msg && state && (!strcmp(state, "40001") || !strcmp(state, "40P01")))
        return sqlite3_mprintf("PostgreSQL: %s; the change (if any) was not saved; try again", msg);
    return sqlite3_mprintf("PostgreSQL: %s", msg ? msg : "failed");
}

int hv__pg_rewrite(const char *sql, char **out)
{
    *out = NULL;
    if (!strstr(sql, "sqlite_sequence") && !strstr(sql, "INDEXED BY"))
        return 0;
    size_t len = strlen(sql);
    char *copy = hv__malloc(len + 1);
    if (!copy)
        return -1;
    size_t n = 0;
    for (const char *p = sql; *p;) {
        if (!strncmp(p, "sqlite_sequence", 15)) {
            memcpy(copy + n, "haven_sequence", 14);
            n += 14;
            p += 15;
        } else if (!strncmp(p, "INDEXED BY", 10)) {
            /* drop "INDEXED BY name" */
            p += 10;
            while (*p == ' ')
                p++;
            while (*p && *p != ' ' && *p != ')' && *p != ',')
                p++;
        } else
            copy[n++] = *p++;
    }
    copy[n] = '\0';
    *out = copy;
    return 0;
}

int hv__pg_exists(const char *url)
{
    PGconn *conn = NULL;
    char *err = NULL;
    if (hv__pg_connect(url, 1000, &conn, &err) != HV_OK) {
        hv__free(err);
        return 0;
    }
    PGresult *res = PQexec(conn, "SELECT to_regclass('haven_store') IS NOT NULL");
    int yes = PQresultStatus(res) == PGRES_TUPLES_OK && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    PQfinish(conn);
    return yes;
}

hv_status hv__pg_run(PGconn *conn, const char *sql, const char *what, char **err)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        PQclear(res);
        return HV_OK;
    }
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    hv_status s = state && (!strncmp(state, "42501", 5)) ? HV_DENIED
                  : state && (!strncmp(state, "55P03", 5) || !strncmp(state, "40", 2))
                      ? HV_BUSY
                      : HV_INTERNAL;
    if (err && !*err)
        *err = hv__asprintf("PostgreSQL: %s: %s", what, msg ? msg : PQerrorMessage(conn));
    PQclear(res);
    return s;
}
