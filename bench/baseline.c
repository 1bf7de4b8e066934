/*
 * baseline.c - the cost of a change, against figures kept from before it.
 *
 * bench/BASELINE-trust.md is bench/RESULTS.md as `make bench` wrote it
 * before issue 15's protections (the minimised rule view, clean rule calls,
 * sealed values bound to their row, the keyed chain, checkpoints and case
 * digests).  Each figure of this run that it also holds is printed beside
 * the old one with their ratio, so the price of the protections stays in
 * view.  A figure is found by its name, the first cell of its row; the
 * first number of the second cell is the Haven median.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* The last run of digits in s (its start), or NULL. */
static const char *last_number(const char *s, size_t n)
{
    const char *last = NULL;
    for (size_t i = 0; i < n; i++)
        if (isdigit((unsigned char)s[i]) && (i == 0 || !isdigit((unsigned char)s[i - 1])))
            last = s + i;
    return last;
}

/* Whether the figure names a (n bytes) and b (m bytes) are the same figure:
 * equal, or equal but for the numbers inside them (a count of open cases
 * that moved) as long as their last numbers (the caseload size) agree. */
static int same_figure(const char *a, size_t n, const char *b, size_t m)
{
    if (n == m && !memcmp(a, b, n))
        return 1;
    const char *la = last_number(a, n), *lb = last_number(b, m);
    if (!la || !lb || strtol(la, NULL, 10) != strtol(lb, NULL, 10))
        return 0;
    size_t i = 0, j = 0;
    while (i < n && j < m) {
        if (isdigit((unsigned char)a[i]) && isdigit((unsigned char)b[j])) {
            while (i < n && isdigit((unsigned char)a[i]))
                i++;
            while (j < m && isdigit((unsigned char)b[j]))
                j++;
        } else if (a[i++] != b[j++]) {
            return 0;
        }
    }
    return i == n && j == m;
}

/* The Haven median (column 0) or the raw limit (column 1) of the row of
 * path whose figure is what (rates per second, times in seconds); 0 when
 * the file, the row or the number is missing. */
double baseline_figure(const char *path, const char *what, int column)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[1024];
    double v = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "| ", 2))
            continue;
        char *name = line + 2, *bar = strstr(name, " | ");
        if (!bar || !same_figure(name, (size_t)(bar - name), what, strlen(what)))
            continue;
        char *cell = bar + 3, *end; /* the Haven column, or the raw limit's */
        for (int c = 0; c < column && cell; c++)
            if ((cell = strstr(cell, " | ")))
                cell += 3;
        if (!cell)
            break;
        while (*cell && *cell != '|' && !isdigit((unsigned char)*cell))
            cell++;
        v = strtod(cell, &end);
        while (*end == ' ')
            end++;
        if (!strncmp(end, "ms", 2))
            v /= 1e3;
        else if (!strncmp(end, "µs", strlen("µs")))
            v /= 1e6;
        break;
    }
    fclose(f);
    return v;
}
