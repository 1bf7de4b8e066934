/*
 * sealed.h - the columns that hold sealed values (internal, floor 2): the
 * seal check and re-binding sweep them (sealcheck.h), the PostgreSQL
 * store keeps them as bytea (pgstore.h).  A new sealed column is added in
 * sealed.c.
 */
#ifndef HV_SEALED_H
#define HV_SEALED_H

#include <stddef.h>

typedef struct {
    const char *table;
    const char *case_column; /* NULL: the table holds no case's rows */
    const char *columns[5];  /* NULL after the last */
} hv_sealed_table;

extern const hv_sealed_table hv__sealed_tables[];
extern const size_t hv__sealed_count;

/* 1 when table.column holds sealed values. */
int hv__sealed_column(const char *table, const char *column);

#endif
