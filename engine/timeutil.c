/* timeutil.c - ISO 8601 times and durations ("48h", "3mo"). */
#include "haven.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* The proleptic Gregorian date of z days since 1970-01-01 (Howard
 * Hinnant).  out: *y, *m (1-12), *d (1-31). */
static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

/* The number of days in month m (1-12) of year y. */
static int days_in_month(int y, unsigned m)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return mdays[m - 1];
}

/* Reads exactly n digits at *p into *out; advances *p. */
static int read_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return 0;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 1;
}

HV_API hv_status hv_time_parse(const char *text, hv_time *out)
{
    int y, mo, d, h = 0, mi = 0, s = 0;
    const char *p = text;
    *out = 0;
    if (!text)
        return HV_INVALID;
    if (!read_digits(&p, 4, &y) || *p++ != '-' || !read_digits(&p, 2, &mo) ||
        *p++ != '-' || !read_digits(&p, 2, &d))
        return HV_INVALID;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, (unsigned)mo))
        return HV_INVALID;
    int64_t offset = 0;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (!read_digits(&p, 2, &h) || *p++ != ':' || !read_digits(&p, 2, &mi))
            return HV_INVALID;
        if (*p == ':') {
            p++;
            if (!read_digits(&p, 2, &s))
                return HV_INVALID;
        }
        if (h > 23 || mi > 59 || s > 59)
            return HV_INVALID;
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om;
            if (!read_digits(&p, 2, &oh))
                return HV_INVALID;
            if (*p == ':')
                p++;
            if (!read_digits(&p, 2, &om) || oh > 23 || om > 59)
                return HV_INVALID;
            offset = sign * (oh * 3600 + om * 60);
        }
    }
    if (*p != '\0')
        return HV_INVALID;
    hv_time t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
                h * 3600 + mi * 60 + s - offset;
    /* Before 1900 or after 2200 is a typing slip or an attempt to date
     * records where no one looks (and years past 9999 cannot be written). */
    if (t < HV_TIME_MIN || t > HV_TIME_MAX)
        return HV_INVALID;
    *out = t;
    return HV_OK;
}

HV_API void hv_time_format(hv_time t, char *buf, size_t size)
{
    int64_t days = t / 86400, secs = t % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    int y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(buf, size, "%04d-%02u-%02uT%02d:%02d:%02dZ", y, m, d,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

HV_API hv_status hv_duration_parse(const char *text, int64_t *out_seconds)
{
    static const struct {
        const char *unit;
        int64_t seconds;
    } units[] = {{"s", 1},          {"min", 60},        {"h", 3600},
                 {"d", 86400},      {"w", 7 * 86400},   {"mo", 30 * 86400},
                 {"y", 365 * 86400}};
    *out_seconds = 0;
    if (!text || !isdigit((unsigned char)text[0]))
        return HV_INVALID;
    int64_t n = 0;
    const char *p = text;
    while (isdigit((unsigned char)*p)) {
        n = n * 10 + (*p++ - '0');
        if (n > 1000000)
            return HV_INVALID;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(p, units[i].unit) == 0) {
            *out_seconds = n * units[i].seconds;
            return HV_OK;
        }
    }
    return HV_INVALID;
}
