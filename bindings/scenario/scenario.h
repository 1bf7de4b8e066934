/* scenario.h - training scenarios on a simulated clock. */
#ifndef HV_SCENARIO_H
#define HV_SCENARIO_H

/* Runs each scenario file on a fresh temporary database, printing its
 * transcript, then "N passed, N failed" over all of them.  html_path (may
 * be NULL) receives the first scenario's timeline page.  Returns the exit
 * code: 0 iff every expectation held. */
int hv_scenario_run(char **files, int nfiles, const char *html_path);

#endif
