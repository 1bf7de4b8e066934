/* report.h - `haven report` for people: the text tables and the HTML page
 * (charts as inline SVG) of the caseload report JSON (hv_report_json). */
#ifndef HV_REPORT_H
#define HV_REPORT_H

#include <jansson.h>

/* The report as text tables with headings, on stdout. */
void render_report(json_t *r);

/* Writes the report as one self-contained HTML page (inline CSS and SVG,
 * no script, no external asset) to path, atomically (a temporary file in
 * the same folder, then rename) with mode 0600.  Returns 0, or an exit
 * code after printing one line on stderr. */
int report_write_html(const char *path, json_t *r);

#endif
