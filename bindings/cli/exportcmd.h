/*
 * exportcmd.h - `haven export` and `haven import` (exportcmd.c).
 */
#ifndef HV_EXPORTCMD_H
#define HV_EXPORTCMD_H

#include "haven.h"

/* Opens the engine with the command line's global options applied (main.c's
 * open_engine): 0 and *out, or the exit code after printing the error. */
typedef int (*exportcmd_open)(const void *globals, hv_engine **out);

int exportcmd_export(const void *globals, exportcmd_open open, int json,
                     int argc, char **argv);
int exportcmd_import(const void *globals, exportcmd_open open, int json,
                     int argc, char **argv);

#endif
