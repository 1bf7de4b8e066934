/*
 * jbuf.h - JSON text written directly into a growing buffer (internal).
 *
 * For answers with many rows, where building jansson values only to print
 * them costs more than the query: the text follows hv__json_out's layout
 * (two-space indent, keys in order), strings escaped as jansson escapes
 * them.  Knows no engine (floor 0).
 *
 * Invariants (git's strbuf):
 *  - `hv_jbuf b = HV_JBUF_INIT;` (or `{0}`, or hv__jb_init) is an empty
 *    buffer that owns nothing; text is NULL until the first append.
 *  - When text is not NULL it holds len bytes followed by a NUL
 *    (len < cap); the bytes may themselves hold NULs (hv__jb_raw).
 *  - The error is sticky: the first failed allocation sets err, and every
 *    later append does nothing, so a writer appends freely and checks err
 *    once at the end.  The text written before the failure stays valid.
 *  - Lifecycle: hv__jb_release frees and re-initialises; hv__jb_detach
 *    hands the text to the caller ("you now own it") and re-initialises;
 *    hv__jb_reset empties the text but keeps its memory (and the error).
 */
#ifndef HV_JBUF_H
#define HV_JBUF_H

#include <stddef.h>

#include <jansson.h>

typedef struct {
    char *text;
    size_t len, cap;
    int err; /* 1 after a failed allocation (sticky) */
} hv_jbuf;

#define HV_JBUF_INIT {NULL, 0, 0, 0}

/* Makes *b an empty buffer owning nothing (whatever it held is forgotten,
 * not freed). */
void hv__jb_init(hv_jbuf *b);
/* Frees the text and makes *b empty again (err cleared too). */
void hv__jb_release(hv_jbuf *b);
/* The text, now the caller's to hv__free (NULL if nothing was written or
 * an allocation failed: then the partial text is freed); *len (when len
 * is not NULL) gets its length.  *b is empty again. */
char *hv__jb_detach(hv_jbuf *b, size_t *len);
/* Empties the text, keeping its memory for reuse; err stays as it was. */
void hv__jb_reset(hv_jbuf *b);

/* Appends n bytes of s as they are (they may hold NULs). */
void hv__jb_raw(hv_jbuf *b, const char *s, size_t n);
/* Appends printf-formatted text (a formatting failure sets err). */
void hv__jb_printf(hv_jbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string ("escaped"), or null when s is NULL. */
void hv__jb_str(hv_jbuf *b, const char *s);
/* Appends an object key at four spaces' indent: `\n    "key": ` for the
 * first key of an object, `,\n    "key": ` for the others. */
void hv__jb_key(hv_jbuf *b, int first, const char *key);
/* Appends an integer in decimal. */
void hv__jb_int(hv_jbuf *b, long long v);

/* v as compact JSON text for hv__free: byte for byte what
 * json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)
 * makes, written directly (several times faster) when v holds only
 * objects, arrays, ASCII strings, integers, booleans and nulls, else by
 * jansson itself.  NULL when out of memory (or for what jansson cannot
 * write: a string that is not UTF-8). */
char *hv__json_compact(const json_t *v);

/* The one number form of Haven's JSON output: v as a new JSON integer
 * when it is whole (a score 13 prints `13`, never `13.0`), else as a real
 * (`12.5`).  Returns a new value, or NULL out of memory. */
json_t *hv__json_number(double v);

#endif
