/* scenario.h - training scenarios on a simulated clock. */
#ifndef HV_SCENARIO_H
#define HV_SCENARIO_H

/* Runs each scenario file on a fresh temporary database, printing its
 * transcript, then "N passed, N failed" over all of them.  html_path (may
 * be NULL) receives the first scenario's timeline page; show prints each
 * case's file at the end.  Returns the exit
 * code: 0 iff every expectation held. */
int hv_scenario_run(char **files, int nfiles, const char *html_path, int show);

/* The trainee exercise NAME (scenarios/train/NAME.lua): asks for the four
 * parts of the template (from a terminal, or "key: value" lines on stdin),
 * checks them with the engine's rules, shows the model answer.  Returns 0
 * for a complete answer, HV_INVALID's (65) when parts are missing. */
int hv_train_run(const char *name);

#endif
