/* error.c - the engine's last message: setting, clearing and reading it. */
#include "error.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "core.h"

hv_status hv__fail(hv_engine *e, hv_status st, const char *fmt, ...)
{
    va_list ap;
    char buf[1024];
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *copy = hv__strdup(buf);
    if (copy) {
        hv__free(e->errmsg);
        e->errmsg = copy;
    }
    return st;
}

void hv__clear_error(hv_engine *e)
{
    if (e->errmsg && e->errmsg[0])
        e->errmsg[0] = '\0';
}

/* The status for a SQLite primary result code other than busy/locked. */
static hv_status sql_status(int primary)
{
    switch (primary) {
    case SQLITE_NOMEM: return HV_NOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return HV_CORRUPT;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: return HV_DENIED;
    case SQLITE_IOERR:
    case SQLITE_FULL: return HV_IOERR;
    case SQLITE_CANTOPEN: return HV_CANTCREATE;
    case SQLITE_CONSTRAINT: return HV_INVALID;
    default: return HV_INTERNAL;
    }
}

hv_status hv__sql_fail(hv_engine *e, int rc, const char *what)
{
    int primary = rc & 0xff;
    const char *msg = e->db ? sqlite3_errmsg(e->db) : "";
    if (primary == SQLITE_BUSY && !strncmp(msg, "PostgreSQL: ", 12))
        return hv__fail(e, HV_BUSY, "%s: %s: %s", e->path, what, msg); /* pgstore.h */
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        return hv__fail(e, HV_BUSY,
                        "%s: database is locked by another process (%s); "
                        "try again",
                        e->path, what);
    return hv__fail(e, sql_status(primary), "%s: %s: %s", e->path, what,
                    e->db ? sqlite3_errmsg(e->db) : sqlite3_errstr(rc));
}

/* The last message (borrowed until the next call on e); "" when none. */
HV_API const char *hv_errmsg(const hv_engine *e)
{
    if (!e)
        return "no engine";
    return e->errmsg ? e->errmsg : "";
}

hv_status hv__json_out(hv_engine *e, json_t *v, char **out)
{
    /* jansson allocates through hv__malloc (engine_new), so its text is
     * already the caller's to hv_free. */
    *out = v ? json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    return *out ? HV_OK : hv__fail(e, HV_NOMEM, "out of memory");
}

int hv__echo_safe(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    int lower = 0, upper = 0, digit = 0;
    if (n == 0 || n > 40)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (islower(c))
            lower = 1;
        else if (isupper(c))
            upper = 1;
        else if (isdigit(c))
            digit = 1;
        else if (!strchr("_./-", c))
            return 0;
    }
    /* a code (lower case, digits, _) or a reference (upper case with a
     * number); a capitalised word may be a name and is never echoed */
    return (lower && !upper) || (!lower && digit) || (!lower && !upper);
}

hv_status hv__no_such_case(hv_engine *e, const char *ref)
{
    return hv__echo_safe(ref)
               ? hv__fail(e, HV_NOTFOUND, "%s: no such case", ref)
               : hv__fail(e, HV_NOTFOUND,
                          "no such case (the reference given is not shown: "
                          "it does not look like one)");
}
