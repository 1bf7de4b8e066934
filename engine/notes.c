/* notes.c - case notes: hv_case_note, the simplest versioned change, and
 * hv__note_add, the one insert of a note.  A note's text is narrative: it
 * is sealed in the notes table and never goes into an event or a
 * message. */
#include "notes.h"

#include <string.h>

#include "alloc.h"
#include "store.h"
#include "error.h"
#include "crypto.h"
#include "context.h"
#include "access.h"
#include "events.h"

#define MAX_NOTE_BYTES 20000

hv_status hv__note_add(hv_engine *e, int64_t case_id, int64_t author_id,
                       const char *prefix, const char *text, int64_t *note_id)
{
    char *full = NULL;
    if (note_id)
        *note_id = 0;
    if (!text)
        return HV_OK;
    if (prefix && !(full = hv__asprintf("%s: %s", prefix, text)))
        return hv__fail(e, HV_NOMEM, "out of memory");
    hv_status s = hv__store_execf(e, "recording a note",
                                  "INSERT INTO notes (id, case_id, at, author_id,"
                                  " text) SELECT new_id, ?1, ?2, ?3,"
                                  " hv_seal(?4, 'notes', 'text', new_id) FROM "
                                  HV_NEW_ROW("notes"),
                                  "iiit", case_id, (int64_t)hv_now(e),
                                  author_id, full ? full : text);
    hv__free(full);
    if (s == HV_OK && note_id)
        *note_id = sqlite3_last_insert_rowid(e->db);
    return s;
}

/* Checks a note's text as a user typed it: not blank, at most
 * MAX_NOTE_BYTES, no control characters but newlines and tabs, UTF-8.
 * Returns HV_OK or HV_INVALID with the message set. */
static hv_status check_note_text(hv_engine *e, const char *text)
{
    if (!text || !text[0] || strspn(text, " \t\n") == strlen(text))
        return hv__fail(e, HV_INVALID, "note: text: must not be empty");
    if (strlen(text) > MAX_NOTE_BYTES)
        return hv__fail(e, HV_INVALID, "note: text: longer than 20000 bytes");
    for (const char *p = text; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
            return hv__fail(e, HV_INVALID,
                            "note: text: control characters not allowed");
    json_t *utf8 = json_string(text);
    if (!utf8)
        return hv__fail(e, HV_INVALID, "note: text: not UTF-8 text");
    json_decref(utf8);
    return HV_OK;
}

HV_API hv_status hv_case_note(hv_engine *e, const char *ref, const char *text,
                              int64_t expected_version, int64_t *out_version)
{
    hv_status s;
    int64_t case_id, version, user_id, note_id;
    char role[32];
    *out_version = 0;
    hv__clear_error(e);
    if ((s = hv__need_key(e, "note")) || (s = check_note_text(e, text)))
        return s;
    if ((s = hv__store_begin(e)))
        return s;
    if ((s = hv__case_access(e, ref, "note", 1, &case_id, &version)) ||
        (s = hv__actor(e, &user_id, role, sizeof role)) ||
        (s = hv__store_case_touch(e, ref, case_id, expected_version, &version)) ||
        (s = hv__note_add(e, case_id, user_id, NULL, text, &note_id)))
        goto fail;
    /* the event holds the note's number, never its text; a laptop copy's
     * outbox records the call (sync.h) */
    e->sync_call = (struct hv_sync_call){1, "note", ref, NULL, text};
    if ((s = hv__store_event_commit(e, case_id, "note_added",
                                    json_pack("{s:I,s:I}", "note",
                                              (json_int_t)note_id, "version",
                                              (json_int_t)version))))
        goto fail;
    e->sync_call = (struct hv_sync_call){0};
    *out_version = version;
    return HV_OK;
fail:
    e->sync_call = (struct hv_sync_call){0};
    hv__store_rollback(e);
    hv__audit_pending_refusal(e, "note");
    return s;
}
