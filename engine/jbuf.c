/* jbuf.c - JSON text written directly into a growing buffer (jbuf.h). */
#include "jbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"

void hv__jb_init(hv_jbuf *b)
{
    b->text = NULL;
    b->len = b->cap = 0;
    b->err = 0;
}

void hv__jb_release(hv_jbuf *b)
{
    hv__free(b->text);
    hv__jb_init(b);
}

char *hv__jb_detach(hv_jbuf *b, size_t *len)
{
    char *text = b->text;
    if (b->err) {
        hv__free(text);
        text = NULL;
    }
    if (len)
        *len = text ? b->len : 0;
    hv__jb_init(b);
    return text;
}

void hv__jb_reset(hv_jbuf *b)
{
    b->len = 0;
    if (b->text)
        b->text[0] = '\0';
}

/* Makes room for n more bytes and the NUL.  Returns 0 when the buffer
 * has failed (err set now or before). */
static int reserve(hv_jbuf *b, size_t n)
{
    if (b->err)
        return 0;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *t = hv__realloc(b->text, cap);
        if (!t) {
            b->err = 1;
            return 0;
        }
        b->text = t;
        b->cap = cap;
    }
    return 1;
}

void hv__jb_raw(hv_jbuf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
}

void hv__jb_printf(hv_jbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        b->err = 1;
    if (n < 0 || !reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->text + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* The escape of a character jansson escapes (quote, backslash, control
 * characters) into esc (at least 8 bytes). */
static void escape_char(unsigned char c, char esc[8])
{
    switch (c) {
    case '"': memcpy(esc, "\\\"", 3); break;
    case '\\': memcpy(esc, "\\\\", 3); break;
    case '\n': memcpy(esc, "\\n", 3); break;
    case '\t': memcpy(esc, "\\t", 3); break;
    case '\r': memcpy(esc, "\\r", 3); break;
    case '\b': memcpy(esc, "\\b", 3); break;
    case '\f': memcpy(esc, "\\f", 3); break;
    default: snprintf(esc, 8, "\\u%04X", c); break;
    }
}

/* As jansson writes strings: quotes, backslashes and control characters
 * escaped, UTF-8 kept as it is. */
void hv__jb_str(hv_jbuf *b, const char *s)
{
    if (!s) {
        hv__jb_raw(b, "null", 4);
        return;
    }
    hv__jb_raw(b, "\"", 1);
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        hv__jb_raw(b, run, (size_t)(p - run));
        char esc[8];
        escape_char(c, esc);
        hv__jb_raw(b, esc, strlen(esc));
        run = p + 1;
    }
    hv__jb_raw(b, run, strlen(run));
    hv__jb_raw(b, "\"", 1);
}

void hv__jb_key(hv_jbuf *b, int first, const char *key)
{
    hv__jb_raw(b, first ? "\n    " : ",\n    ", first ? 5 : 6);
    hv__jb_str(b, key);
    hv__jb_raw(b, ": ", 2);
}

void hv__jb_int(hv_jbuf *b, long long v)
{
    char n[32];
    int k = snprintf(n, sizeof n, "%lld", v);
    hv__jb_raw(b, n, (size_t)k);
}

json_t *hv__json_number(double v)
{
    if (v == v && v >= -9007199254740992.0 && v <= 9007199254740992.0 &&
        v == (double)(long long)v)
        return json_integer((json_int_t)v);
    return json_real(v);
}

/* Appends the n bytes at s as a JSON string, when they are printable
 * ASCII or control characters (escaped as jansson escapes them).  Returns
 * -1 for a byte of 0x80 or more (UTF-8, which jansson checks: left to
 * it), else 0. */
static int compact_str(hv_jbuf *b, const char *s, size_t n)
{
    hv__jb_raw(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80)
            return -1;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        hv__jb_raw(b, s + run, i - run);
        char esc[8];
        escape_char(c, esc);
        hv__jb_raw(b, esc, strlen(esc));
        run = i + 1;
    }
    hv__jb_raw(b, s + run, n - run);
    hv__jb_raw(b, "\"", 1);
    return 0;
}

/* Appends v as json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) writes
 * it.  Returns -1 for what it leaves to jansson (a real, a string or key
 * that is not ASCII, nesting deeper than 32), else 0. */
static int compact(hv_jbuf *b, const json_t *v, int depth)
{
    const char *key;
    size_t key_len, i;
    json_t *m;
    if (depth > 32)
        return -1;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        hv__jb_raw(b, "{", 1);
        i = 0;
        json_object_keylen_foreach((json_t *)v, key, key_len, m) {
            if (i++)
                hv__jb_raw(b, ",", 1);
            if (compact_str(b, key, key_len))
                return -1;
            hv__jb_raw(b, ":", 1);
            if (compact(b, m, depth + 1))
                return -1;
        }
        hv__jb_raw(b, "}", 1);
        return 0;
    case JSON_ARRAY:
        hv__jb_raw(b, "[", 1);
        json_array_foreach((json_t *)v, i, m) {
            if (i)
                hv__jb_raw(b, ",", 1);
            if (compact(b, m, depth + 1))
                return -1;
        }
        hv__jb_raw(b, "]", 1);
        return 0;
    case JSON_STRING:
        return compact_str(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        hv__jb_int(b, (long long)json_integer_value(v));
        return 0;
    case JSON_TRUE:
        hv__jb_raw(b, "true", 4);
        return 0;
    case JSON_FALSE:
        hv__jb_raw(b, "false", 5);
        return 0;
    case JSON_NULL:
        hv__jb_raw(b, "null", 4);
        return 0;
    default:
        return -1;
    }
}

char *hv__json_compact(const json_t *v)
{
    hv_jbuf b = HV_JBUF_INIT;
    if (!v)
        return NULL;
    if (compact(&b, v, 0) == 0)
        return hv__jb_detach(&b, NULL);
    hv__jb_release(&b);
    return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
}
