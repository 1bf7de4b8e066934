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

#include <stddef.h>

#include <jansson.h>

/* Appends the keys of every part of name to the JSON array keys, without
 * duplicates.  Returns 0 on success, -1 on allocation failure. */
int hv__name_keys(const char *name, json_t *keys);

/* The district of a location written from the largest area down
 * ("District/Area/Village", "District, Area", "District > Area"): its
 * first part, trimmed, into buf (size bytes).  A location with no
 * separator names a place below the district (a village, a street):
 * returns 0 and keeps nothing; else 1.  The pseudonymous export and the
 * rules' case view both cut a location so. */
int hv__location_district(const char *loc, char *buf, size_t size);

#endif
