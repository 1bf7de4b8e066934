/*
 * pqlib.h - libpq, opened only when a PostgreSQL store is first used.
 *
 * `haven` does not link libpq: a command on a database file never pays
 * for loading it and the dozens of libraries it brings (Kerberos, LDAP,
 * TLS).  A file that talks to PostgreSQL includes this header instead of
 * <libpq-fe.h>: libpq's own declarations are included first, so every
 * call is checked against libpq's prototypes, and then each PQ function
 * the engine uses names a pointer of the same type in hv__pq, filled
 * once by hv__pq_load (dlopen and dlsym).
 *
 * Only hv__pg_connect (pgstore.h) makes connections, and it calls
 * hv__pq_load first: every other PQ call takes a connection or a result,
 * so it comes after a successful load.  PQconninfoParse and
 * PQconninfoFree need no connection: they load libpq themselves, and
 * without it parse nothing (NULL) and free nothing; PQfinish, like
 * libpq's, takes NULL (a store whose connection was never made).
 */
#ifndef HV_PQLIB_H
#define HV_PQLIB_H

#include <libpq-fe.h>

#include "haven.h"

/* Every PQ function the engine calls (add one here before calling it). */
#define HV_PQ_FUNCTIONS(X)                                                     \
    X(PQclear) X(PQcmdStatus) X(PQconnectdbParams) X(PQconninfoFree)           \
    X(PQconninfoParse) X(PQerrorMessage) X(PQexec) X(PQexecParams)             \
    X(PQfinish) X(PQgetisnull) X(PQgetlength) X(PQgetvalue) X(PQntuples)       \
    X(PQreset) X(PQresultErrorField) X(PQresultStatus) X(PQstatus)             \
    X(PQtransactionStatus)

/* Pointers typed as libpq declares each function. */
typedef struct {
#define HV_PQ_FIELD(name) __typeof__(name) *name;
    HV_PQ_FUNCTIONS(HV_PQ_FIELD)
#undef HV_PQ_FIELD
} hv_pq_api;

/* Filled by the first successful hv__pq_load; never written after. */
extern hv_pq_api hv__pq;

/* Opens libpq and resolves every function, once per process (thread
 * safe).  HV_OK; or HV_NOTFOUND (exit 69) with *err (for hv__free, when
 * err is given and *err is NULL) "postgresql:// needs libpq (SONAME):
 * why"; or HV_NOMEM.  Later calls give the first call's outcome. */
hv_status hv__pq_load(char **err);

/* PQconninfoParse and PQconninfoFree that load libpq first: without it
 * the parse gives NULL (as for a URL libpq cannot read), the free does
 * nothing. */
PQconninfoOption *hv__pq_conninfo_parse(const char *conninfo, char **errmsg);
void hv__pq_conninfo_free(PQconninfoOption *options);
/* PQfinish(conn), and nothing for NULL (libpq loaded or not). */
void hv__pq_finish(PGconn *conn);

#ifndef HV_PQLIB_INSIDE
/* From here on, PQfoo(...) calls through the pointer hv__pq.PQfoo (the
 * preprocessor does not expand a macro's name inside its own expansion). */
#define PQclear (hv__pq.PQclear)
#define PQcmdStatus (hv__pq.PQcmdStatus)
#define PQconnectdbParams (hv__pq.PQconnectdbParams)
#define PQconninfoFree hv__pq_conninfo_free
#define PQconninfoParse hv__pq_conninfo_parse
#define PQerrorMessage (hv__pq.PQerrorMessage)
#define PQexec (hv__pq.PQexec)
#define PQexecParams (hv__pq.PQexecParams)
#define PQfinish hv__pq_finish
#define PQgetisnull (hv__pq.PQgetisnull)
#define PQgetlength (hv__pq.PQgetlength)
#define PQgetvalue (hv__pq.PQgetvalue)
#define PQntuples (hv__pq.PQntuples)
#define PQreset (hv__pq.PQreset)
#define PQresultErrorField (hv__pq.PQresultErrorField)
#define PQresultStatus (hv__pq.PQresultStatus)
#define PQstatus (hv__pq.PQstatus)
#define PQtransactionStatus (hv__pq.PQtransactionStatus)
#endif

#endif
