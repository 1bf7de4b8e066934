/*
 * export.h - the tables of an export, shared by export.c and import.c
 * (internal).
 */
#ifndef HV_EXPORT_H
#define HV_EXPORT_H

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
    const char *kinds;    /* a letter per column (export.c) */
} hv__export_table;

extern const hv__export_table hv__export_tables[];
extern const size_t hv__export_table_count;

#endif
