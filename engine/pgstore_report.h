/*
 * pgstore_report.h - the reporting views of a PostgreSQL store (internal,
 * floor 2): for a ministry's statistics tools, the schema haven_report
 * holds views of a store in the shape of the pseudonymous export
 * (references, codes, stages, risk, dates of steps, staff logins, age
 * bands; never a sealed column, a blind-index key, a name, a date of
 * birth, a location or free text), and the group role haven_reporting
 * (NOLOGIN) may read those views and nothing else.
 *
 * PostgreSQL never holds the data key: every view is computed from the
 * columns stored in clear.  The views run with their owner's rights (the
 * store's own user), so a login in haven_reporting reads them without any
 * right on Haven's tables.  The role is cluster-wide and made when the
 * store's user may (CREATEROLE), else a DBA makes it (README, "PostgreSQL
 * as the store").
 */
#ifndef HV_PGSTORE_REPORT_H
#define HV_PGSTORE_REPORT_H

#include "core.h"

/* The version of the views' definitions, recorded in haven_store as
 * report_views: a store whose views are older is given the new ones. */
#define HV_PG_REPORT_VIEWS 1

struct pg_conn;

/* Makes (or remakes) the schema haven_report and its views on conn, an
 * idle connection to a Haven store, in one transaction; makes the role
 * haven_reporting when it is missing and the connecting user may
 * (otherwise PostgreSQL warns, with the statements a DBA runs), and
 * grants it USAGE on the schema and SELECT on the views.  A view some
 * other object depends on is not dropped: the remaking fails instead.
 * Returns HV_OK, or HV_DENIED/HV_BUSY/HV_INTERNAL with *err (for
 * hv__free; err may be NULL) naming PostgreSQL's reason. */
hv_status hv__pg_report_create(struct pg_conn *conn, char **err);

/* Gives the store on conn its views when they are missing or older than
 * HV_PG_REPORT_VIEWS (hv__pg_report_create), best effort: a failure (no
 * right to create a schema, a read-only standby) changes nothing and is
 * tried again on the next open.  One query when the views are current. */
void hv__pg_report_ensure(struct pg_conn *conn);

#endif
