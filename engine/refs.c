/* refs.c - case reference numbers: checking a pattern and expanding it
 * for an agency, a year and a sequence number (text only). */
#include "refs.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"

#define MAX_PATTERN 40

/* Fails a pattern check: *why = a copy of msg (NULL if out of memory). */
static hv_status refuse(char **why, const char *msg)
{
    *why = hv__strdup(msg);
    return HV_INVALID;
}

hv_status hv__ref_pattern_check(const char *pattern, char **why)
{
    int nruns = 0;
    *why = NULL;
    size_t len = strlen(pattern);
    if (len == 0 || len > MAX_PATTERN)
        return refuse(why, "must be 1 to 40 characters");
    for (const char *p = pattern; *p;) {
        if (strncmp(p, "AGENCY", 6) == 0) {
            p += 6;
        } else if (*p == 'Y') {
            size_t n = strspn(p, "Y");
            if (n != 2 && n != 4)
                return refuse(why, "the year is YYYY or YY");
            p += n;
        } else if (*p == 'N') {
            size_t n = strspn(p, "N");
            if (n < 3 || n > 9)
                return refuse(why, "the sequence is 3 to 9 N's");
            nruns++;
            p += n;
        } else if (isupper((unsigned char)*p) || isdigit((unsigned char)*p) ||
                   strchr("-_/.", *p)) {
            p++;
        } else {
            *why = hv__asprintf("character '%c' not allowed (use A-Z, 0-9, - _ "
                                "/ . and the tokens AGENCY, YYYY, YY, NNNNN)",
                                *p);
            return HV_INVALID;
        }
    }
    if (nruns != 1)
        return refuse(why, "needs exactly one sequence (NNN to NNNNNNNNN)");
    return HV_OK;
}

/* Text being written into a fixed buffer; at is clamped to the buffer. */
typedef struct {
    char text[160];
    size_t at;
} ref_buf;

/* Appends printf output to b, cut at the buffer's end. */
static void put(ref_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(ref_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->text + b->at, sizeof b->text - b->at, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->at += (size_t)n;
    if (b->at >= sizeof b->text)
        b->at = sizeof b->text - 1;
}

/* The pattern expanded for agency and year, its sequence run as seq
 * zero-padded to the run's width, or as "#" when seq < 0.  Returns a
 * string for the caller to hv__free, or NULL when out of memory. */
static char *expand(const char *pattern, const char *agency, int year,
                    long long seq)
{
    ref_buf b = {.at = 0};
    b.text[0] = '\0';
    for (const char *p = pattern; *p && b.at < 100;) {
        if (strncmp(p, "AGENCY", 6) == 0) {
            put(&b, "%s", agency);
            p += 6;
        } else if (*p == 'Y') {
            size_t n = strspn(p, "Y");
            put(&b, "%0*d", (int)n, n == 2 ? year % 100 : year);
            p += n;
        } else if (*p == 'N') {
            size_t n = strspn(p, "N");
            if (seq < 0)
                put(&b, "#");
            else
                put(&b, "%0*lld", (int)n, seq);
            p += n;
        } else {
            put(&b, "%c", *p);
            p++;
        }
    }
    return hv__strdup(b.text);
}

char *hv__ref_counter_key(const char *pattern, const char *agency, int year)
{
    return expand(pattern, agency, year, -1);
}

char *hv__ref_make(const char *pattern, const char *agency, int year,
                   long long seq)
{
    return expand(pattern, agency, year, seq < 0 ? 0 : seq);
}

/* How many digits start s[0..n), at most max + 1. */
static size_t digits_at(const char *s, size_t n, size_t max)
{
    size_t k = 0;
    while (k < n && k <= max && isdigit((unsigned char)s[k]))
        k++;
    return k;
}

int hv__ref_matches(const char *pattern, const char *agency, const char *s,
                    size_t n)
{
    size_t at = 0, alen = strlen(agency);
    for (const char *p = pattern; *p;) {
        if (strncmp(p, "AGENCY", 6) == 0) {
            if (n - at < alen || memcmp(s + at, agency, alen))
                return 0;
            at += alen;
            p += 6;
        } else if (*p == 'Y' || *p == 'N') {
            /* the year's digits exactly; the sequence zero-padded to its
             * run's width, or wider once it outgrows it */
            size_t w = strspn(p, *p == 'Y' ? "Y" : "N");
            size_t k = digits_at(s + at, n - at, *p == 'Y' ? w : 18);
            if (k < w || (*p == 'Y' && k != w) || k > 18)
                return 0;
            at += k;
            p += w;
        } else {
            if (at >= n || s[at] != *p)
                return 0;
            at++;
            p++;
        }
    }
    return at == n;
}
