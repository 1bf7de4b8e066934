/* fileio.c - one reader for workflow files, rule packs and hooks. */
#include "fileio.h"

#include <errno.h>
#include "pqlib.h"
#include <pwd.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"

/* Sets *err (when err is not NULL) to "path: what: strerror(code)";
 * returns HV_NOINPUT, or HV_NOMEM when the message cannot be made. */
static hv_status say(char **err, const char *path, const char *what, int code)
{
    if (err && !(*err = hv__asprintf("%s: %s: %s", path, what, strerror(code))))
        return HV_NOMEM;
    return HV_NOINPUT;
}

hv_status hv__read_file(const char *path, size_t limit, int missing_ok,
                        char **out, size_t *len, char **err)
{
    *out = NULL;
    *len = 0;
    if (err)
        *err = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return missing_ok && errno == ENOENT ? HV_NOINPUT
                                             : say(err, path, "cannot open", errno);
    char *buf = hv__malloc(limit + 2);
    if (!buf) {
        fclose(f);
        return HV_NOMEM;
    }
    size_t n = fread(buf, 1, limit + 1, f);
    int bad = ferror(f) ? (errno ? errno : EIO) : 0;
    fclose(f);
    if (bad) {
        hv__free(buf);
        return say(err, path, "cannot read", bad);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return HV_OK;
}

int hv__is_pg_url(const char *path)
{
    return path && (!strncmp(path, "postgresql://", 13) || !strncmp(path, "postgres://", 11));
}

/* The database a PostgreSQL URL names, as libpq resolves it without
 * connecting: its dbname, else its user, else $PGDATABASE, $PGUSER, the
 * login.  A copy for hv__free, or NULL. */
static char *pg_database_name(const char *url)
{
    PQconninfoOption *opts = PQconninfoParse(url, NULL);
    const char *db = NULL, *user = NULL;
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (!strcmp(o->keyword, "dbname") && o->val && *o->val)
            db = o->val;
        else if (!strcmp(o->keyword, "user") && o->val && *o->val)
            user = o->val;
    }
    const char *env = getenv("PGDATABASE");
    if (!db)
        db = user ? user : env && *env ? env : getenv("PGUSER");
    if (!db || !*db) {
        struct passwd *pw = getpwuid(geteuid());
        db = pw ? pw->pw_name : "postgres";
    }
    char *name = hv__strdup(db);
    PQconninfoFree(opts);
    return name;
}

void hv__side_path(const char *path, const char *suffix, char *buf, size_t size)
{
    if (!hv__is_pg_url(path)) {
        snprintf(buf, size, "%s%s", path, suffix);
        return;
    }
    const char *dir = getenv("HAVEN_STATE_DIR");
    char *db = pg_database_name(path);
    int n = snprintf(buf, size, "%s/pg-", dir && *dir ? dir : ".");
    for (const char *p = db ? db : "postgres"; *p && n >= 0 && (size_t)n + 1 < size; p++, n++) {
        char c = *p;
        buf[n] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '_'
                     ? c : '_';
    }
    if (n >= 0 && (size_t)n < size) {
        buf[n] = '\0';
        snprintf(buf + n, size - (size_t)n, "%s", suffix);
    }
    hv__free(db);
}
