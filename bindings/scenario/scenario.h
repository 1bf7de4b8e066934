/* scenario.h - training scenarios on a simulated clock. */
#ifndef HV_SCENARIO_H
#define HV_SCENARIO_H

struct json_t;

/* Runs each scenario (a file, or a name: scenarios/NAME.lua of ./, the
 * installed share folder or the source tree) on a fresh temporary
 * database, printing its transcript, then "N passed, N failed" over all of
 * them.  html_path (may be NULL) receives the timeline page, a section per
 * scenario; show prints each case's file at the end.  With json_out, prints
 * nothing and sets *json_out to {scenarios: [{file, name, passed, failed,
 * steps: [{at, kind, text}], cases (show)}], passed, failed} (a new
 * reference).  Returns the exit code: 0 iff every expectation held. */
int hv_scenario_run(char **files, int nfiles, const char *html_path, int show,
                    struct json_t **json_out);

/* The trainee exercise NAME (scenarios/train/NAME.lua): asks for the four
 * parts of the template (from a terminal, or "key: value" lines on stdin),
 * checks them with the engine's rules, shows the model answer.  Returns 0
 * for a complete answer, HV_INVALID's (65) when parts are missing. */
int hv_train_run(const char *name);

#endif
