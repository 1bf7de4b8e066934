/*
 * gen.h - a synthetic caseload, made through the engine's public API only
 * (so every row is one the engine itself would write).
 *
 * The caseload is a function of the seed and the number of cases: the same
 * seed on a fresh database gives the same cases, histories, users and
 * times (the ciphertexts differ, since every database has its own key).
 */
#ifndef HV_GEN_H
#define HV_GEN_H

#include <stdio.h>

#include "haven.h"

typedef struct {
    long cases;        /* how many children to register */
    unsigned long long seed;
    int batch;         /* registrations (with their histories) per
                        * transaction; 0 or 1: each change its own */
    hv_time end;       /* the day the caseload is seen (0: 2026-11-28T09:00Z) */
    int span_days;     /* registrations spread over this many days before
                        * end (0: 730) */
    int history_percent; /* share of cases walked through their history
                        * (0: 100; the rest stay as registered) */
    FILE *progress;    /* a line per 10,000 cases (NULL: quiet) */
} gen_options;

typedef struct {
    long registered, not_registered, open, closed;
    long steps, refused;     /* lifecycle steps done, and refused by rules */
    long duplicates_forced;  /* possible duplicates registered anyway */
    long caseworkers, supervisors;
    double seconds;
} gen_stats;

/* Fills the engine's database (acting as its administrator `admin_login`
 * for users).  Users are created when missing: caseworkers cw0001...,
 * supervisors sup001..., one manager "manager1".  On failure returns the
 * status with *err (malloc'd, free with free()) naming what failed;
 * everything committed before stays (a batch in progress is rolled back). */
hv_status gen_run(hv_engine *e, const char *admin_login, const gen_options *o,
                  gen_stats *stats, char **err);

/* The registration input (JSON) gen_run would use for child i with this
 * seed, for the engine's workflow: 0, or -1 if it does not fit. */
int gen_registration_json(hv_engine *e, unsigned long long seed, long i, char *buf,
                          size_t size);

#endif
