/* names.c - Soundex and normalised-spelling keys of names. */
#include "names.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define PART_MAX 64

/* American Soundex of an ASCII word into out[5]; returns 0 if the word
 * does not start with an ASCII letter. */
static int soundex(const char *word, char out[5])
{
    static const char codes[26] = {
        /* a b c d e f g h i j k l m n o p q r s t u v w x y z */
        0, '1', '2', '3', 0, '1', '2', 0, 0, '2', '2', '4', '5',
        '5', 0, '1', '2', '6', '2', '3', 0, '1', 0, '2', 0, '2'};
    if (!isalpha((unsigned char)word[0]) || (unsigned char)word[0] >= 128)
        return 0;
    int n = 0;
    out[n++] = (char)toupper((unsigned char)word[0]);
    char last = codes[tolower((unsigned char)word[0]) - 'a'];
    for (const char *p = word + 1; *p && n < 4; p++) {
        int c = tolower((unsigned char)*p);
        if (c < 'a' || c > 'z')
            continue;
        char code = codes[c - 'a'];
        if (code && code != last)
            out[n++] = code;
        if (c != 'h' && c != 'w')
            last = code;
    }
    while (n < 4)
        out[n++] = '0';
    out[4] = '\0';
    return 1;
}

/* Replaces every occurrence of `from` in s (in place, to is not longer). */
static void fold(char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to);
    char *p;
    while ((p = strstr(s, from)) != NULL) {
        memcpy(p, to, tl);
        memmove(p + tl, p + fl, strlen(p + fl) + 1);
    }
}

/* The normalised spelling of one name part into out (PART_MAX bytes). */
static void normalise(const char *part, char *out)
{
    size_t n = 0;
    for (const char *p = part; *p && n + 1 < PART_MAX; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 128)
            out[n++] = (char)c; /* keep non-ASCII letters as they are */
        else if (isalpha(c))
            out[n++] = (char)tolower(c);
    }
    out[n] = '\0';
    fold(out, "ph", "f");
    fold(out, "ou", "u");
    fold(out, "oo", "u");
    fold(out, "ee", "i");
    fold(out, "ie", "i");
    for (char *p = out + (out[0] ? 1 : 0); *p; p++)
        if (*p == 'y')
            *p = 'i';
    /* collapse doubled letters */
    size_t w = 0;
    for (size_t r = 0; out[r]; r++)
        if (w == 0 || out[r] != out[w - 1] || (unsigned char)out[r] >= 128)
            out[w++] = out[r];
    out[w] = '\0';
    if (w > 2 && out[w - 1] == 'h')
        out[w - 1] = '\0';
}

/* Appends key to keys unless present; -1 on allocation failure. */
static int add_key(json_t *keys, const char *key)
{
    size_t i;
    json_t *v;
    json_array_foreach(keys, i, v) {
        if (strcmp(json_string_value(v), key) == 0)
            return 0;
    }
    json_t *s = json_string(key);
    if (!s || json_array_append_new(keys, s) != 0)
        return -1;
    return 0;
}

int hv__name_keys(const char *name, json_t *keys)
{
    char part[PART_MAX], key[PART_MAX + 3], code[5];
    const char *p = name;
    while (p && *p) {
        size_t len = strcspn(p, " \t-'.,");
        if (len > 0 && len < PART_MAX) {
            memcpy(part, p, len);
            part[len] = '\0';
            if (soundex(part, code)) {
                strcpy(key, "s:");
                strcat(key, code);
                if (add_key(keys, key) != 0)
                    return -1;
            }
            char norm[PART_MAX];
            normalise(part, norm);
            if (norm[0]) {
                strcpy(key, "n:");
                strcat(key, norm);
                if (add_key(keys, key) != 0)
                    return -1;
            }
        }
        p += len;
        while (*p && strchr(" \t-'.,", *p))
            p++;
    }
    return 0;
}

int hv__location_district(const char *loc, char *buf, size_t size)
{
    size_t n = strcspn(loc, "/,>;|");
    if (!loc[n])
        return 0;
    while (n && (loc[n - 1] == ' ' || loc[n - 1] == '\t'))
        n--;
    while (n && (*loc == ' ' || *loc == '\t'))
        loc++, n--;
    if (!n)
        return 0;
    snprintf(buf, size, "%.*s", (int)n, loc);
    return 1;
}
