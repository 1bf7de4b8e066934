/* render.h - printing case files, case lists and due lists for people. */
#ifndef HV_RENDER_H
#define HV_RENDER_H

#include <stdio.h>

#include <jansson.h>

/* The string member key of obj, or dflt. */
const char *str_or(json_t *obj, const char *key, const char *dflt);
/* "s" unless n is 1: "%lld day%s", n, plural_s(n) ("1 day", "2 days"). */
const char *plural_s(long long n);
/* A case file as in `haven show`. */
void render_case(json_t *c);
/* Case summaries as in `haven list` (with_name: as in `haven search`). */
void render_summaries(json_t *arr, int with_name);
/* A due list as in `haven due`. */
void render_due(json_t *arr);
/* render_summaries without names (`haven list`) and with (`haven search`). */
void render_listed(json_t *arr);
void render_found(json_t *arr);
/* `haven user list`, `haven rules reload`, `haven audit verify` and
 * `haven audit log`. */
void render_users(json_t *arr);
void render_reload(json_t *r);
void render_verify(json_t *r);
void render_audit_log(json_t *arr);


/* ---- text helpers (render.c) ---- */
/* The columns text (UTF-8) takes on a terminal: combining marks take none,
 * wide East Asian characters two, every other character one (never the
 * byte count). */
size_t text_width(const char *text);
/* Prints text on f, then spaces up to width columns. */
void put_padded(FILE *f, const char *text, size_t width);
/* Prints rows (an array of arrays of JSON strings), each line starting
 * with indent, its columns as wide as their widest cell (text_width) and
 * gap apart; the last cell is not padded. */
void print_table(json_t *rows, const char *indent, const char *gap);

/* ---- events, decisions and step outcomes in words (render_event.c) ---- */
/* sec as people count time: "1 day", "14 days (2 weeks)", "90 days (about
 * 3 months)", "36 hours" (into buf of size bytes). */
void format_duration(long long sec, char *buf, size_t size);
/* Prints a code with its underscores as spaces ("home_visit" -> "home visit"). */
void put_words(FILE *f, const char *code);
/* Prints a JSON value in words, never as JSON: text as words, a number
 * under a duration key (every, *_due, *_after, *_every) as a length of
 * time, true/false as yes/no, a list joined with commas, an object as
 * "(key value, ...)". */
void put_value(FILE *f, const char *key, json_t *v);
/* Prints what an event of this kind is called ("plan_submitted" -> "plan
 * submitted"); an unknown kind in words. */
void put_event_title(FILE *f, const char *kind);
/* Prints an event of the history ({kind, data, decision}) in words: its
 * title, then its facts ("follow-up every 14 days (2 weeks) by phone
 * call", "risk high (score 13)", "stage case planning -> implementation"). */
void put_event(FILE *f, json_t *ev);
/* put_event's text (malloc'd, the caller frees; NULL when out of memory). */
char *event_text(json_t *ev);
/* Prints events as aligned lines "[SEQ] AT ACTOR what happened"
 * (numbered: with their sequence numbers, as `haven history`; else
 * indented, as the history of `haven show`). */
void print_events(json_t *events, int numbered);
/* `haven history`, `haven explain` and a step's confirmation (the step's
 * JSON outcome, with its ref and event). */
void render_history(json_t *arr);
void render_explain(json_t *arr);
void render_step(json_t *outcome);

#endif
