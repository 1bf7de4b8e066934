/*
 * notes.h - case notes (internal): the dated narrative of a case, sealed
 * at rest.  hv_case_note (haven.h) is the public call; hv__note_add is the
 * one insert of a note, for every step that records a reason or a note
 * with its change (the step kit's add_note is to call it at integration).
 */
#ifndef HV_NOTES_H
#define HV_NOTES_H

#include "engine.h"

/* Adds a note to case_id by author_id, dated now, inside the caller's
 * transaction: the text as given, or "prefix: text" when prefix is not
 * NULL.  NULL text adds nothing.  The text is not checked (hv_case_note
 * checks what a user types).  Returns HV_OK, or a failure with the
 * engine's message set ("recording a note").  out: *note_id, the new
 * note's row (0 when nothing was added); out may be NULL. */
hv_status hv__note_add(hv_engine *e, int64_t case_id, int64_t author_id,
                       const char *prefix, const char *text, int64_t *note_id);

#endif
