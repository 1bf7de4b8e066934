/*
 * refs.h - case reference numbers (internal).
 *
 * A reference pattern is literal characters (A-Z except N and Y, 0-9, and
 * - _ / .) and the tokens AGENCY, YYYY or YY, and one run of 3 to 9 N's for
 * the sequence number: "AGENCY-YYYY-NNNNN" gives "HVN-2026-00042".  Nothing
 * about the child can appear in a reference.  These functions only work on
 * text; the counter itself (table ref_counters) is the caller's.
 */
#ifndef HV_REFS_H
#define HV_REFS_H

#include "haven.h"

/* Checks a reference pattern.  Returns HV_OK, or HV_INVALID with *why a
 * message for the caller to hv__free (NULL on success, and when the
 * message could not be allocated). */
hv_status hv__ref_pattern_check(const char *pattern, char **why);

/* The key of the pattern's sequence counter for an agency and a year: the
 * pattern expanded with the sequence run written as "#" (so every year, or
 * agency, numbers from 1).  Returns a string for the caller to hv__free,
 * or NULL when out of memory. */
char *hv__ref_counter_key(const char *pattern, const char *agency, int year);

/* The reference of sequence number seq: the pattern expanded for agency
 * and year, the sequence zero-padded to the run's width.  Returns a string
 * for the caller to hv__free, or NULL when out of memory. */
char *hv__ref_make(const char *pattern, const char *agency, int year,
                   long long seq);

/* 1 if s[0..n) is a reference the pattern makes for agency (any year,
 * any sequence number), else 0. */
int hv__ref_matches(const char *pattern, const char *agency, const char *s,
                    size_t n);

#endif
