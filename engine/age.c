/* age.c - a person's age today, from the date of birth or from the age
 * given and when it was recorded (age.h). */
#include "age.h"

#include <stdio.h>
#include <string.h>

int64_t hv__age_from_dob(const char *dob, hv_time now)
{
    hv_time born;
    char n[32];
    int by, bm, bd, ny, nm, nd;
    if (!dob || strlen(dob) != 10 || hv_time_parse(dob, &born) != HV_OK ||
        born > now)
        return -1;
    hv_time_format(now, n, sizeof n);
    if (sscanf(dob, "%4d-%2d-%2d", &by, &bm, &bd) != 3 ||
        sscanf(n, "%d-%d-%d", &ny, &nm, &nd) != 3)
        return -1;
    int64_t age = (int64_t)ny - by;
    if (nm < bm || (nm == bm && nd < bd))
        age--;
    return age < 0 ? -1 : age;
}

int64_t hv__age_now(const char *dob, int64_t age, hv_time recorded_at,
                    hv_time now)
{
    int64_t from_dob = hv__age_from_dob(dob, now);
    if (from_dob >= 0)
        return from_dob;
    if (age < 0)
        return -1;
    if (now > recorded_at)
        age += (now - recorded_at) / HV_SECONDS_PER_YEAR;
    return age;
}
