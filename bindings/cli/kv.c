/* kv.c - key=value arguments to JSON. */
#include "kv.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARTS 8

/* 1 if s is a list index: digits without a leading zero (so "1" and "01"
 * cannot both name the same person). */
static int is_index(const char *s)
{
    if (!*s || (s[0] == '0' && s[1]))
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* The declared type of a dotted key; "*" in a field path matches any one
 * part (a list index or a field name). */
static kv_type field_type(const kv_field *fields, char parts[][64], int n)
{
    for (const kv_field *f = fields; f && f->path; f++) {
        const char *p = f->path;
        int i = 0, ok = 1;
        while (ok && i < n && *p) {
            size_t len = strcspn(p, ".");
            if (!(len == 1 && *p == '*') &&
                (strlen(parts[i]) != len || strncmp(p, parts[i], len) != 0))
                ok = 0;
            p += len;
            if (*p == '.')
                p++;
            i++;
        }
        if (ok && i == n && !*p)
            return f->type;
    }
    return KV_TEXT;
}

/* Converts a value to JSON of the given type (the caller's reference);
 * NULL on a bad value (or out of memory). */
static json_t *typed_value(const char *v, kv_type type)
{
    switch (type) {
    case KV_INT: {
        char *end;
        errno = 0;
        if (!*v || !(isdigit((unsigned char)*v) || *v == '-'))
            return NULL;
        long long n = strtoll(v, &end, 10);
        if (*end || errno)
            return NULL;
        return json_integer(n);
    }
    case KV_AUTO: {
        /* agency form fields: true/false and whole numbers as such */
        if (!strcmp(v, "true"))
            return json_true();
        if (!strcmp(v, "false"))
            return json_false();
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (*v && (isdigit((unsigned char)*v) || *v == '-') && !*end && !errno &&
            !(v[0] == '0' && v[1]) && !(v[0] == '-' && v[1] == '0'))
            return json_integer(n);
        return json_string(v);
    }
    case KV_BOOL:
        if (!strcmp(v, "true") || !strcmp(v, "yes"))
            return json_true();
        if (!strcmp(v, "false") || !strcmp(v, "no"))
            return json_false();
        return NULL;
    case KV_LIST: {
        json_t *arr = json_array();
        const char *p = v;
        while (arr && *p) {
            size_t len = strcspn(p, ",");
            while (len > 0 && isspace((unsigned char)*p)) {
                p++;
                len--;
            }
            size_t trimmed = len;
            while (trimmed > 0 && isspace((unsigned char)p[trimmed - 1]))
                trimmed--;
            if (trimmed > 0 && json_array_append_new(arr, json_stringn(p, trimmed))) {
                json_decref(arr); /* out of memory, or not UTF-8 */
                return NULL;
            }
            p += len;
            if (*p == ',')
                p++;
        }
        return arr;
    }
    default:
        return json_string(v);
    }
}

/* Turns objects whose keys are all indices into lists ordered by index,
 * but for an object the field table declares KV_MAP (its numbers stay
 * keys).  parts[0..n) is node's path.  Returns a new reference (the
 * caller's), or NULL when out of memory. */
static json_t *listify(json_t *node, const kv_field *fields,
                       char parts[][64], int n)
{
    if (!json_is_object(node))
        return json_incref(node);
    const char *key;
    json_t *v;
    int all_index = json_object_size(node) > 0 &&
                    !(n > 0 && field_type(fields, parts, n) == KV_MAP);
    json_object_foreach(node, key, v) {
        if (!is_index(key))
            all_index = 0;
    }
    if (!all_index) {
        json_t *obj = json_object();
        int bad = !obj;
        json_object_foreach(node, key, v) {
            if (n < MAX_PARTS)
                snprintf(parts[n], 64, "%s", key);
            if (!bad)
                bad |= json_object_set_new(
                    obj, key, listify(v, fields, parts, n < MAX_PARTS ? n + 1 : n));
        }
        if (bad) {
            json_decref(obj);
            return NULL;
        }
        return obj;
    }
    /* Sort indices numerically (few entries: selection by minimum). */
    json_t *arr = json_array();
    size_t count = json_object_size(node);
    long last = -1;
    int bad = !arr;
    for (size_t i = 0; i < count && !bad; i++) {
        long best = -1;
        json_t *best_v = NULL;
        json_object_foreach(node, key, v) {
            long k = strtol(key, NULL, 10);
            if (k > last && (best < 0 || k < best)) {
                best = k;
                best_v = v;
            }
        }
        last = best;
        if (n < MAX_PARTS)
            snprintf(parts[n], 64, "%ld", best);
        bad |= json_array_append_new(
            arr, listify(best_v, fields, parts, n < MAX_PARTS ? n + 1 : n));
    }
    if (bad) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

/* 1 if the key (argv text up to eq) is letters, digits, _ and dots only,
 * so it can be echoed without echoing what may be a name. */
static int key_is_plain(const char *key, const char *eq)
{
    for (const char *p = key; p < eq; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.')
            return 0;
    return 1;
}

json_t *kv_to_json(int argc, char **argv, const kv_field *fields, char *err,
                   size_t errsize)
{
    json_t *root = json_object();
    if (!root) {
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    for (int a = 0; a < argc; a++) {
        const char *eq = strchr(argv[a], '=');
        char parts[MAX_PARTS][64];
        int n = 0;
        int n_is_arg = a + 1;
        if (!eq || eq == argv[a]) {
            /* The argument itself may be a name: never echo it. */
            snprintf(err, errsize,
                     "argument %d is not key=value (quote values with spaces)",
                     a + 1);
            goto fail;
        }
        const char *p = argv[a];
        while (p < eq) {
            size_t len = strcspn(p, ".=");
            int plain = 1;
            for (size_t c = 0; c < len; c++)
                if (!isalnum((unsigned char)p[c]) && p[c] != '_')
                    plain = 0;
            if (len == 0 || len >= 64 || n == MAX_PARTS || !plain) {
                snprintf(err, errsize,
                         "argument %d: malformed key (parts of letters, "
                         "digits and _ separated by dots)",
                         n_is_arg);
                goto fail;
            }
            memcpy(parts[n], p, len);
            parts[n++][len] = '\0';
            p += len;
            if (*p == '.')
                p++;
        }
        const char *value = eq + 1;
        kv_type type = field_type(fields, parts, n);
        json_t *node = root;
        for (int i = 0; i < n - 1; i++) {
            json_t *next = json_object_get(node, parts[i]);
            if (!next) {
                next = json_object();
                if (json_object_set_new(node, parts[i], next) != 0) {
                    snprintf(err, errsize,
                             "argument %d: the key is not UTF-8 text",
                             n_is_arg);
                    goto fail;
                }
            } else if (!json_is_object(next)) {
                snprintf(err, errsize,
                         "argument %d: its key is both a value and a group",
                         n_is_arg);
                goto fail;
            }
            node = next;
        }
        if (json_object_get(node, parts[n - 1])) {
            snprintf(err, errsize, "argument %d: its key was given before",
                     n_is_arg);
            goto fail;
        }
        json_t *v = typed_value(value, type);
        if (!v) {
            const char *want = type == KV_INT    ? "a whole number"
                               : type == KV_BOOL ? "true or false"
                                                 : "UTF-8 text";
            if (key_is_plain(argv[a], eq))
                snprintf(err, errsize, "%.*s: must be %s", (int)(eq - argv[a]),
                         argv[a], want);
            else
                snprintf(err, errsize, "argument %d: must be %s", n_is_arg,
                         want);
            goto fail;
        }
        if (json_object_set_new(node, parts[n - 1], v) != 0) {
            snprintf(err, errsize, "argument %d: the key is not UTF-8 text",
                     n_is_arg);
            goto fail;
        }
    }
    char path[MAX_PARTS][64];
    json_t *out = listify(root, fields, path, 0);
    json_decref(root);
    if (!out)
        snprintf(err, errsize, "out of memory");
    return out;
fail:
    json_decref(root);
    return NULL;
}
