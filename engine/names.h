/*
 * names.h - spelling-variant keys for name search and duplicate detection
 * (internal).
 *
 * A name is split into parts (at spaces, hyphens, apostrophes, dots); each
 * part gives two keys: "s:" + its Soundex code (ASCII letters only) and
 * "n:" + a normalised spelling (lower case, letters only, doubled letters
 * collapsed, common transliteration variants folded: ou/oo -> u,
 * ee/ie/y -> i, ph -> f, a final h dropped).  "Noor", "Nour" and "Nur"
 * share their keys.  Keys are stored beside the person, never the name
 * itself in logs or events.
 */
#ifndef HV_NAMES_H
#define HV_NAMES_H

#include <jansson.h>

/* Appends the keys of every part of name to the JSON array keys, without
 * duplicates.  Returns 0 on success, -1 on allocation failure. */
int hv__name_keys(const char *name, json_t *keys);

#endif
