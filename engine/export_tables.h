/*
 * export_tables.h - what an export holds: its tables, each with the query
 * of one case's rows and a kind per column, and how a column is written
 * or left out when the export is pseudonymous (internal to export.c).
 */
#ifndef HV_EXPORT_TABLES_H
#define HV_EXPORT_TABLES_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>

#define HV__EXPORT_CSV 0x1  /* a file of the CSV export */
#define HV__EXPORT_JSON 0x2 /* a section of each case in the JSON export */
#define HV__EXPORT_ONE 0x4  /* one row per case (a JSON object, not a list) */

typedef struct {
    const char *file;     /* CSV file name without .csv, or NULL */
    const char *json_key; /* the case's key in the JSON export, or NULL */
    unsigned flags;
    const char *contents; /* what the file holds, for its header */
    const char *sql;      /* ?1 the case id, ?2 now */
    const char *kinds;    /* a letter per column (export_tables.c) */
} hv__export_table;

/* The tables, in the order a case's JSON object lists its sections. */
extern const hv__export_table hv__export_tables[];
extern const size_t hv__export_table_count;

/* 1 if a column of kind k is left out of the export (pseudonymous 1),
 * else 0. */
int hv__export_dropped(char k, int pseudonymous);

/* Column i of the row st is on, as JSON for kind k: times as ISO 8601,
 * ages as bands, locations cut to their district when pseudonymous, JSON
 * text embedded, code lists as arrays, flags as booleans (the CSV export
 * writes c and B columns as v: the joined text, 0 or 1).  Returns a new value, NULL for a column left out (see
 * hv__export_dropped) or out of memory. */
json_t *hv__export_column(sqlite3_stmt *st, int i, char k, int pseudonymous);

#endif
