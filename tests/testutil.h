/* testutil.h - small helpers shared by the cmocka unit tests. */
#ifndef HV_TESTUTIL_H
#define HV_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Path of a file in the source tree (from $HAVEN_SOURCE_DIR, else ".");
 * returns a static buffer valid until the next call. */
const char *tu_source_path(const char *relative);
/* A fresh empty temporary directory (mkdtemp under $TMPDIR); malloc'd. */
char *tu_tempdir(void);
/* Removes a directory and the files directly in it. */
void tu_rmtree(const char *dir);
/* Reads a whole file into a malloc'd NUL-terminated buffer, or NULL. */
char *tu_read_file(const char *path, size_t *len);

#endif
