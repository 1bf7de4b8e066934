/*
 * age.h - a person's age today (internal).
 *
 * An age is never stored as a fact that stays true: it is derived at the
 * time of each read and rule call, from the date of birth when it is known
 * (whole years, counted by birthdays), else from the age given plus the
 * whole years since it was recorded (years of 365.2425 days).  Every part
 * of the engine that shows or decides on an age (the case file, the rules'
 * case view on both of its paths, exports, the duplicate check) goes
 * through hv__age_now, or through the SQL function hv_age_now(dob, age,
 * recorded_at, now) that the store registers on it.
 */
#ifndef HV_AGE_H
#define HV_AGE_H

#include <stdint.h>

#include "haven.h"

/* The seconds of an average Gregorian year. */
#define HV_SECONDS_PER_YEAR 31556952

/* The whole years from the date dob (YYYY-MM-DD) to now: a birthday counts
 * from its day (29 February from 1 March in other years).  -1 when dob is
 * not such a date or lies after now. */
int64_t hv__age_from_dob(const char *dob, hv_time now);

/* The age on now of a person with date of birth dob (may be NULL), else
 * recorded as age (< 0: not known) at recorded_at: never less than the age
 * recorded.  -1 when neither is known. */
int64_t hv__age_now(const char *dob, int64_t age, hv_time recorded_at,
                    hv_time now);

#endif
